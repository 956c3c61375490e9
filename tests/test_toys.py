"""The worked examples of the chapters: the library gives exactly the numbers the text derives by hand."""

import math

import torch

from sevec_helpers import generalized_pointing_game, saliency
from sevec_helpers.accumulator import SeVecAccumulator
from sevec_helpers.chapters import toys
from sevec_helpers.sevec import SemanticVectors


def test_eq3_on_a_4_unit_layer():
    acc = SeVecAccumulator(1, 4)
    acc.update(toys.PHI, torch.zeros(3, dtype=torch.long))
    sv = SemanticVectors.from_accumulator(acc, ["c"])
    s2 = 1 / math.sqrt(2)
    A = torch.tensor([s2 + s2 + 1, s2, s2, 0.0])
    assert torch.allclose(sv.vectors[0], A / A.norm(), atol=1e-6)
    assert torch.allclose(sv.rates[0], torch.tensor([1, 1 / 3, 1 / 3, 0]))
    assert abs(sv.diversity[0].item() - (1 - A.norm().item() / 3)) < 1e-6
    text = toys.eq3_by_hand().data
    assert "r = [1.0, 0.333, 0.333, 0.0]" in text and f"D = 1 - |**A**| / M = 1 - {A.norm():.3f} / 3" in text


def test_relu_rules_and_semantic_mask_by_hand():
    m = toys._Tiny()
    x = torch.tensor([1.0, 0.5]).reshape(1, 1, 1, 2)
    assert saliency.attribute(m, x, 0, "vanilla_gradient").flatten().tolist() == [-3.0, -3.0]
    assert saliency.attribute(m, x, 0, "guided_backprop").flatten().tolist() == [1.0, -1.0]
    assert saliency.attribute(m, x, 0, "gradient_x_input").flatten().tolist() == [-3.0, -1.5]
    assert "(1, -1)" in toys.semantic_mask().data and "[1.0, -1.0]" in toys.semantic_mask().data


def test_pointing_game_on_a_5x5_map_by_hand():
    res = generalized_pointing_game(toys.MAP5[None], [[toys.BOX5]], [0.0, 0.3, 0.5, 0.7, 1.0])
    assert not res.per_image.any()
    no_corner = torch.where(toys.MAP5 == 5, 0.0, toys.MAP5)
    assert generalized_pointing_game(no_corner[None], [[toys.BOX5]], [0.0, 0.5, 1.0]).per_image.all()
    assert "| 0.5 | 5, 4 (= 9 >= 7.5) | no | no |" in toys.pointing_by_hand().data
