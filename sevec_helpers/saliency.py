"""Backpropagation saliency and its semantic versions (paper Sec. 5).

- ``vanilla_gradient``: d o_t / d x.
- ``guided_backprop``: at every ReLU/ReLU6 the backward signal is
  g_in = g_out * 1[g_out > 0] * 1[x > 0] (ReLU6 also zeroes where x >= 6).
- ``gradient_x_input``: x * d o_t / d x with the true gradient.

Semantic versions (``sevecs=...``) multiply the gradient arriving at ``mask_layer`` (pool5
in the paper) by the target class's mask 1[r_t > threshold], per sample, inside the same
single backward pass. o_t is the target's logit (pre-softmax output).

All hooks are tensor hooks registered from forward hooks inside a context manager, so
in-place ReLUs and modules called several times per forward are handled, and nothing is
left on the model after a call, errors included.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
import torch.nn as nn

from .features import _CallCounter, _flat, check_images, eval_on
from .layers import rectifier_modules, resolve_layer, same_layer
from .sevec import SemanticVectors


@contextlib.contextmanager
def _guided_rectifiers(model: nn.Module) -> Iterator[int]:
    """Clamp the gradient arriving at every rectifier's output to its positive part.

    The rectifier's own backward then applies 1[x > 0] (and x < 6 for ReLU6), giving the
    Guided Backprop rule. A hook per forward call, so a reused module is handled per call.
    """
    mods = rectifier_modules(model)
    if not mods:
        raise ValueError(
            f"{type(model).__name__} has no nn.ReLU or nn.ReLU6 modules: Guided Backprop needs rectifier "
            f"modules (activations called as torch.nn.functional ops cannot be hooked)"
        )

    def fwd_hook(module, inputs, out):
        if isinstance(out, torch.Tensor) and out.requires_grad:
            out.register_hook(lambda g: g.clamp(min=0))

    handles = [m.register_forward_hook(fwd_hook) for _, m in mods]
    try:
        yield len(mods)
    finally:
        for h in handles:
            h.remove()


class _MaskState:
    def __init__(self):
        self.masks: torch.Tensor | None = None  # (N, D) 0/1, set after the targets are known


@contextlib.contextmanager
def _gradient_mask(model: nn.Module, layer: str, state: _MaskState):
    ref = resolve_layer(model, layer)
    counter = _CallCounter(ref)

    def fwd_hook(module, inputs, out):
        if not counter.selected():
            return
        flat = _flat(out, ref)
        if not out.requires_grad:
            return

        def mask_grad(g):
            m = state.masks
            if m.shape != flat.shape:
                raise ValueError(
                    f"mask has {m.shape[1]} units per sample but layer {ref.label!r} has {flat.shape[1]}; "
                    f"fit the SeVecs at this layer with the same input size"
                )
            return g * m.reshape(g.shape).to(g.dtype)

        out.register_hook(mask_grad)

    handle = ref.module.register_forward_hook(fwd_hook)
    try:
        yield counter
    finally:
        handle.remove()


def _targets(target, n: int, num_outputs: int, device) -> torch.Tensor:
    if isinstance(target, int) and not isinstance(target, bool):
        t = torch.full((n,), target, dtype=torch.long)
    else:
        t = torch.as_tensor(target)
        if t.dtype == torch.bool or t.is_floating_point():
            raise ValueError(f"target must be an int or integer class indices, got dtype {t.dtype}")
        t = t.long().reshape(-1)
        if t.numel() == 1:
            t = t.expand(n).clone()
        if t.numel() != n:
            raise ValueError(f"got {t.numel()} targets for {n} images; pass one int or one target per image")
    if int(t.min()) < 0 or int(t.max()) >= num_outputs:
        raise ValueError(f"target {int(t.max()) if int(t.max()) >= num_outputs else int(t.min())} is out of "
                         f"range: the model has {num_outputs} outputs (valid 0..{num_outputs - 1})")
    return t.to(device)


def _attribute(model, x, target, *, guided: bool, times_input: bool, sevecs, mask_layer, threshold, by,
               concepts=None):
    x = check_images(x)
    if sevecs is not None and not isinstance(sevecs, SemanticVectors):
        raise TypeError(f"sevecs must be a SemanticVectors (from fit_sevecs), got {type(sevecs).__name__}")
    if sevecs is None and mask_layer is not None:
        raise ValueError("mask_layer is given but sevecs is not; pass the SeVecs fitted at that layer")
    state = _MaskState()
    with contextlib.ExitStack() as stack:
        stack.enter_context(eval_on(model))
        stack.enter_context(torch.enable_grad())
        if guided:
            stack.enter_context(_guided_rectifiers(model))
        counter = None
        if sevecs is not None:
            layer = mask_layer or sevecs.layer
            if not layer:
                raise ValueError("the SeVecs carry no layer name; pass mask_layer=")
            if mask_layer is not None and sevecs.layer and not same_layer(model, mask_layer, sevecs.layer):
                raise ValueError(f"the SeVecs were fitted at {sevecs.layer!r}, not at mask_layer={mask_layer!r}")
            counter = stack.enter_context(_gradient_mask(model, layer, state))
        xin = x.detach().clone().requires_grad_(True)
        out = model(xin)
        if not isinstance(out, torch.Tensor) or out.dim() != 2:
            raise ValueError("the model must return logits of shape (N, num_classes)")
        if counter is not None:
            counter.check()
        t = _targets(target, x.shape[0], out.shape[1], out.device)
        if sevecs is not None:
            rows = t if concepts is None else _targets(concepts, x.shape[0], len(sevecs), out.device)
            if int(rows.max()) >= len(sevecs):
                raise ValueError(f"target {int(rows.max())} has no SeVec: {len(sevecs)} concepts were fitted "
                                 f"(concept i must be class i, or pass concepts= with each sample's SeVec row)")
            state.masks = sevecs.mask(threshold, by=by, rows=rows.cpu()).to(out.device, torch.float32)
        sel = out.gather(1, t[:, None]).sum()
        (grad,) = torch.autograd.grad(sel, xin)
    return (grad * x).detach() if times_input else grad.detach()


def vanilla_gradient(model: nn.Module, x: torch.Tensor, target) -> torch.Tensor:
    """Gradient of the target logit with respect to the input, shaped like ``x``."""
    return _attribute(model, x, target, guided=False, times_input=False, sevecs=None, mask_layer=None,
                      threshold=0.5, by="rate")


def guided_backprop(model: nn.Module, x: torch.Tensor, target, *, sevecs: SemanticVectors | None = None,
                    mask_layer: str | None = None, threshold: float = 0.5, by: str = "rate",
                    concepts=None) -> torch.Tensor:
    """Guided Backprop (Springenberg et al.), or with ``sevecs`` its semantic version.

    With ``sevecs``, sample n's gradient at ``mask_layer`` is multiplied by the mask of SeVec
    row ``target[n]`` (concept i = class i), or of row ``concepts[n]`` when given.
    """
    return _attribute(model, x, target, guided=True, times_input=False, sevecs=sevecs, mask_layer=mask_layer,
                      threshold=threshold, by=by, concepts=concepts)


def gradient_x_input(model: nn.Module, x: torch.Tensor, target, *, sevecs: SemanticVectors | None = None,
                     mask_layer: str | None = None, threshold: float = 0.5, by: str = "rate",
                     concepts=None) -> torch.Tensor:
    """Gradient*Input, or with ``sevecs`` its semantic version (``concepts`` as in guided_backprop)."""
    return _attribute(model, x, target, guided=False, times_input=True, sevecs=sevecs, mask_layer=mask_layer,
                      threshold=threshold, by=by, concepts=concepts)


def saliency_map(attr: torch.Tensor, reduce: str = "abs_sum") -> torch.Tensor:
    """Reduce an attribution (N, C, H, W) to a map (N, H, W).

    ``abs_sum``: sum of absolute values over channels (default); ``max_abs``: the largest
    absolute value; ``pos_sum``: sum of the positive part.
    """
    if not isinstance(attr, torch.Tensor) or attr.dim() != 4:
        raise ValueError(f"attr must be a tensor (N, C, H, W), got {getattr(attr, 'shape', type(attr))}")
    if reduce == "abs_sum":
        return attr.abs().sum(1)
    if reduce == "max_abs":
        return attr.abs().amax(1)
    if reduce == "pos_sum":
        return attr.clamp(min=0).sum(1)
    raise ValueError(f"reduce must be 'abs_sum', 'max_abs' or 'pos_sum', got {reduce!r}")
