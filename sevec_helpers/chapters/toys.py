"""Worked examples small enough to check by hand, each computed by the library itself so a
student can compare the two: Eq. 3 on a 4-unit layer, the Guided Backprop rule through one
ReLU, Gradient*Input, the semantic mask at a 2-channel pool5, and the generalized pointing
game on a 5 x 5 map."""

from __future__ import annotations

import torch
import torch.nn as nn

from .. import viz
from ..accumulator import SeVecAccumulator
from ..pointing import generalized_pointing_game
from ..saliency import attribute
from ..sevec import SemanticVectors

# three images of one concept at a layer of 4 units (post-ReLU activations phi)
PHI = torch.tensor([[2.0, 0.0, 0.5, 0.0], [1.0, 3.0, 0.0, 0.0], [0.7, 0.0, 0.0, 0.0]])


def eq3_by_hand():
    """a_i, |a_i|, a_hat_i; then A, |A|, v, r and D, from :data:`PHI`."""
    acc = SeVecAccumulator(1, 4)
    acc.update(PHI, torch.zeros(3, dtype=torch.long))
    sv = SemanticVectors.from_accumulator(acc, ["c"], layer="toy")
    a = (PHI > 0).float()
    rows = [[f"image {i + 1}", [round(v, 3) for v in PHI[i].tolist()], a[i].int().tolist(), f"{a[i].norm():.3f}",
             [round(v, 3) for v in (a[i] / a[i].norm()).tolist()]] for i in range(3)]
    A = (a / a.norm(dim=1, keepdim=True)).sum(0)
    text = (f"Summing the normalised patterns: **A** = {[round(v, 3) for v in A.tolist()]}, |**A**| = {A.norm():.3f}, "
            f"so **v** = **A**/|**A**| = {[round(v, 3) for v in (A / A.norm()).tolist()]} (the library: "
            f"{[round(v, 3) for v in sv.vectors[0].tolist()]}). The activation rates are r = "
            f"{[round(v, 3) for v in sv.rates[0].tolist()]} (how many of the 3 images fire each unit), and "
            f"D = 1 - |**A**| / M = 1 - {A.norm():.3f} / 3 = {1 - A.norm().item() / 3:.3f} (the library: "
            f"{sv.diversity[0]:.3f}).")
    return viz.stack([viz.markdown_table(["", "phi(x)", "a = 1[phi > 0]", "|a|", "a / |a|"], rows), viz.Markdown(text)])


class _Tiny(nn.Module):
    """x (2 inputs) -> z = W x -> ReLU -> logits = V relu(z); small enough to differentiate by hand."""

    def __init__(self):
        super().__init__()
        self.w = nn.Linear(2, 2, bias=False)
        self.act = nn.ReLU()
        self.v = nn.Linear(2, 2, bias=False)
        with torch.no_grad():
            self.w.weight.copy_(torch.tensor([[1.0, -1.0], [2.0, 1.0]]))
            self.v.weight.copy_(torch.tensor([[1.0, -2.0], [-1.0, 3.0]]))

    def forward(self, x):
        return self.v(self.act(self.w(x.flatten(1))))


def relu_rules():
    """The plain gradient, Guided Backprop and Gradient*Input on :class:`_Tiny` at x = (1, 0.5)."""
    m = _Tiny()
    x = torch.tensor([1.0, 0.5]).reshape(1, 1, 1, 2)
    g = {meth: attribute(m, x, 0, meth).flatten().tolist() for meth in ("vanilla_gradient", "guided_backprop",
                                                                        "gradient_x_input")}
    text = ("With x = (1, 0.5): z = Wx = (0.5, 2.5), both positive, so both ReLUs pass. The output for class 0 is "
            "o = V[0] relu(z) with V[0] = (1, -2): the signal arriving at the ReLUs is (1, -2).\n\n"
            "- **plain gradient**: multiply by 1[z > 0] = (1, 1) and by W^T: W^T (1, -2) = (1 - 4, -1 - 2) = "
            f"(-3, -3). The library: {g['gradient']}.\n"
            "- **Guided Backprop**: also drop the negative part of the arriving signal: (1, -2) -> (1, 0), then "
            f"W^T (1, 0) = (1, -1). The library: {g['guided_backprop']}.\n"
            "- **Gradient*Input**: the plain gradient times the input, elementwise: (-3 x 1, -3 x 0.5) = (-3, -1.5). "
            f"The library: {g['gradient_x_input']}.")
    return viz.Markdown(text)


def semantic_mask():
    """The pool5 mask on a 2-channel toy: the class's mask keeps channel 0 only."""
    m = _Tiny()
    x = torch.tensor([1.0, 0.5]).reshape(1, 1, 1, 2)
    rates = torch.tensor([[0.9, 0.2], [0.3, 0.8]])   # class 0 fires channel 0, class 1 channel 1
    sv = SemanticVectors(rates / rates.norm(dim=1, keepdim=True), rates, torch.ones(2, dtype=torch.long),
                         torch.zeros(2, dtype=torch.long), ["class 0", "class 1"], "act", torch.zeros(2))
    plain = attribute(m, x, 0, "vanilla_gradient").flatten().tolist()
    sem = attribute(m, x, 0, "vanilla_gradient", sevecs=sv).flatten().tolist()
    text = ("Let the ReLU layer play pool5, with 2 channels. Class 0's activation rates are r = (0.9, 0.2): its "
            "mask 1[r > 0.5] = (1, 0). In the backward pass the signal arriving at pool5, (1, -2), is multiplied by "
            "the mask: (1, 0). Channel 1, irrelevant to class 0, passes nothing back. Then W^T (1, 0) = (1, -1) "
            f"instead of the plain (-3, -3). The library: plain {plain}, semantic {sem}. The same single backward "
            "pass, one multiplication more.")
    return viz.Markdown(text)


MAP5 = torch.tensor([[0, 0, 0, 0, 0], [0, 4, 3, 0, 0], [0, 2, 1, 0, 0], [0, 0, 0, 0, 0], [0, 0, 0, 0, 5]], dtype=torch.float64)
BOX5 = (1, 1, 3, 3)   # columns 1-2, rows 1-2


def pointing_by_hand():
    """The generalized pointing game on a 5 x 5 map with energy 15 (box holds 4 + 3 + 2 + 1)."""
    energies = [0.0, 0.3, 0.5, 0.7, 1.0]
    res = generalized_pointing_game(MAP5[None], [[BOX5]], energies)
    rows = [["0 (keep the maximum)", "5 (corner)", "no"], ["0.3", "5 (corner)", "no"],
            ["0.5", "5, 4 (= 9 >= 7.5)", "no"], ["0.7", "5, 4, 3 (= 12 >= 10.5)", "no"],
            ["1.0", "every pixel with energy", "no"]]
    rows = [r + ["yes" if h else "no"] for r, h in zip(rows, res.per_image[0])]
    text = ("The map's total energy is 4 + 3 + 2 + 1 + 5 = 15; the target's box covers the 2 x 2 block with 4, 3, "
            "2, 1. Sort the pixels by value and keep the fewest whose values sum to at least m x 15. Because the "
            "corner pixel (5) is the largest and lies outside the box, every kept set contains it: a miss at every "
            "m. Remove it (set it to 0) and the box holds all the energy: a hit at every m.")
    res2 = generalized_pointing_game(torch.where(MAP5 == 5, 0.0, MAP5)[None], [[BOX5]], energies)
    return viz.stack([viz.markdown_table(["kept energy m", "pixels kept", "by hand: hit?", "the library"], rows),
                      viz.Markdown(text + f" The library, without the corner: {res2.per_image[0].tolist()}.")])
