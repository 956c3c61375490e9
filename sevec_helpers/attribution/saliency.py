"""Backpropagation saliency and its semantic versions (paper Sec. 5): one interface.

``attribute(model, x, target, method=...)`` with ``method`` one of :data:`METHODS`:

- ``"vanilla_gradient"``: d o_t / d x;
- ``"guided_backprop"``: at every ReLU/ReLU6 the backward signal is
  g_in = g_out * 1[g_out > 0] * 1[x > 0] (ReLU6 also zeroes where x >= 6);
- ``"gradient_x_input"``: x * d o_t / d x with the true gradient.

Every method has a semantic version (``sevecs=...``): the gradient arriving at
``mask_layer`` (pool5 in the paper) is multiplied by the target class's mask
1[r_t > threshold], per sample, inside the same single backward pass. o_t is the target's
logit. :func:`vanilla_gradient`, :func:`guided_backprop` and :func:`gradient_x_input` are
the same call with the method fixed; :func:`reduce_channels` turns an attribution into a map.

The computation runs where the model lives; the attribution comes back on the device of
``x``. All hooks are tensor hooks registered from forward hooks inside a context manager,
so in-place ReLUs and modules called several times per forward are handled, and nothing
is left on the model after a call, errors included.
"""

from __future__ import annotations

import contextlib
import inspect
import warnings
from collections.abc import Iterator

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode

from sevec_helpers.core.classes import model_categories, model_label, rows_for_targets
from sevec_helpers.core.inputs import (
    call_model,
    check_images,
    check_input_scale,
    eval_mode,
    model_dtype,
)
from sevec_helpers.core.layers import rectifier_modules, resolve_layer, same_layer
from sevec_helpers.core.taps import _CallCounter, _flat
from sevec_helpers.sevecs.vectors import SemanticVectors

METHOD_LABELS = {"vanilla_gradient": "Gradient", "guided_backprop": "GuidedBP", "gradient_x_input": "Gradient*Input"}
"""Display name of each method id (tables, legends)."""
METHODS = tuple(METHOD_LABELS)
"""The method ids :func:`attribute` accepts."""
"""Method id -> display name. ``attribute(..., method=id)`` runs it."""

# activations the guided rule is not defined for (it rewrites rectifiers only)
_UNGUIDED_MODULES = (nn.GELU, nn.SiLU, nn.Hardswish, nn.LeakyReLU, nn.ELU, nn.SELU, nn.CELU, nn.Mish, nn.Softplus,
                     nn.PReLU, nn.RReLU, nn.Hardsigmoid, nn.Sigmoid, nn.Tanh, nn.LogSigmoid, nn.Softsign,
                     nn.Tanhshrink, nn.Hardshrink, nn.Softshrink, nn.Threshold, nn.GLU)
_WATCHED_FUNCTIONS = {F.relu: "relu", torch.relu: "relu", torch.relu_: "relu", F.relu_: "relu", F.relu6: "relu6",
                      F.gelu: "gelu", F.silu: "silu", F.hardswish: "hardswish", F.leaky_relu: "leaky_relu",
                      F.elu: "elu", F.selu: "selu", F.celu: "celu", F.mish: "mish", F.softplus: "softplus",
                      F.hardsigmoid: "hardsigmoid", torch.sigmoid: "sigmoid", F.sigmoid: "sigmoid",
                      torch.tanh: "tanh", F.tanh: "tanh", F.prelu: "prelu", F.glu: "glu",
                      torch.Tensor.relu: "relu", torch.Tensor.relu_: "relu", torch.Tensor.sigmoid: "sigmoid",
                      torch.Tensor.tanh: "tanh"}


class _FunctionalActivations(TorchFunctionMode):
    """Records activation functions called outside the rectifier modules being guided."""

    def __init__(self):
        super().__init__()
        self.depth = 0          # > 0 while inside a guided rectifier module
        self.seen: dict[str, int] = {}

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if self.depth == 0:
            name = _WATCHED_FUNCTIONS.get(func)
            if name is not None:
                self.seen[name] = self.seen.get(name, 0) + 1
        return func(*args, **(kwargs or {}))


@contextlib.contextmanager
def _guided_rectifiers(model: nn.Module, allow_unguided: bool) -> Iterator[_FunctionalActivations]:
    """Clamp the gradient arriving at every rectifier's output to its positive part.

    The rectifier's own backward then applies 1[x > 0] (and x < 6 for ReLU6), giving the
    Guided Backprop rule. A hook per forward call, so a reused module is handled per call.
    Activations that are not rectifier modules are refused (see :func:`attribute`).
    """
    mods = rectifier_modules(model)
    if not mods:
        raise ValueError(
            f"{type(model).__name__} has no nn.ReLU or nn.ReLU6 modules: Guided Backprop needs rectifier "
            f"modules (activations called as torch.nn.functional ops cannot be hooked)")
    other = [f"{n} ({type(m).__name__})" for n, m in model.named_modules() if isinstance(m, _UNGUIDED_MODULES)]
    _refuse_unguided(model, other, allow_unguided)
    mode = _FunctionalActivations()

    def pre_hook(module, inputs):
        mode.depth += 1

    def fwd_hook(module, inputs, out):
        mode.depth -= 1
        if isinstance(out, torch.Tensor) and out.requires_grad:
            out.register_hook(lambda g: g.clamp(min=0))

    handles = [m.register_forward_pre_hook(pre_hook) for _, m in mods]
    handles += [m.register_forward_hook(fwd_hook) for _, m in mods]
    try:
        yield mode
    finally:
        for h in handles:
            h.remove()


def _refuse_unguided(model: nn.Module, found: list[str], allow: bool) -> None:
    if not found:
        return
    shown = ", ".join(found[:8]) + (f" and {len(found) - 8} more" if len(found) > 8 else "")
    msg = (f"{type(model).__name__} has activations the Guided Backprop rule does not cover: {shown}. The guided "
           f"rule would apply only at its ReLU/ReLU6 modules, a partial Guided Backprop")
    if not allow:
        raise ValueError(msg + ". Use method='gradient' or 'gradient_x_input', or pass allow_unguided=True to run "
                               "it anyway (with a warning)")
    warnings.warn(msg + " (allow_unguided=True)", UserWarning, stacklevel=4)


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


def _targets(model: nn.Module, target, n: int, num_outputs: int, device) -> torch.Tensor:
    cats = model_categories(model)
    if isinstance(target, str) or (isinstance(target, (list, tuple)) and target and isinstance(target[0], str)):
        names = [target] if isinstance(target, str) else list(target)
        if not cats:
            raise TypeError(f"target {names[0]!r} is a name, but {model_label(model)} carries no category names; pass "
                            f"class indices (ints), or describe the model's classes once "
                            f"(sevec_helpers.describe_model(model, categories=[one name per output]))")
        missing = [t for t in names if t not in cats]
        if missing:
            close = [c for c in cats if str(missing[0]).lower() in c.lower()][:8]
            raise ValueError(f"unknown target class {missing[0]!r}; " + (f"did you mean: {', '.join(close)}? " if close
                             else "") + f"the model's categories include {', '.join(cats[:10])} ...")
        if len(cats) != num_outputs:
            raise ValueError(f"{model_label(model)} carries {len(cats)} category names but returns {num_outputs} "
                             f"outputs: its description does not fit it; describe it again with one name per output")
        target = [cats.index(t) for t in names]
    if isinstance(target, bool):
        raise TypeError("target must be a class index (int), a class name, or one of them per image; got a bool")
    if isinstance(target, int):
        t = torch.full((n,), target, dtype=torch.long)
    else:
        try:
            t = torch.as_tensor(target)
        except (TypeError, ValueError, RuntimeError):
            raise TypeError(f"target must be a class index, a class name, or one per image; got "
                            f"{type(target).__name__}") from None
        if t.dtype == torch.bool or t.is_floating_point():
            raise ValueError(f"target must be an int or integer class indices, got dtype {t.dtype}")
        t = t.long().reshape(-1).cpu()
        if t.numel() == 1:
            t = t.expand(n).clone()
        if t.numel() != n:
            raise ValueError(f"got {t.numel()} targets for {n} images; pass one int or one target per image")
    if int(t.min()) < 0 or int(t.max()) >= num_outputs:
        bad = int(t.max()) if int(t.max()) >= num_outputs else int(t.min())
        raise ValueError(f"target {bad} is out of range: the model has {num_outputs} outputs (valid 0..{num_outputs - 1})")
    return t.to(device)


def attribute(model: nn.Module, x: torch.Tensor, target, method: str = "guided_backprop", *,
              sevecs: SemanticVectors | None = None, concepts=None, mask_layer: str | None = None,
              threshold: float = 0.5, by: str = "rate", allow_unguided: bool = False,
              check_provenance: bool = True) -> torch.Tensor:
    """Attribution of the target logit to the input, shaped like ``x``, by ``method``.

    With ``sevecs`` (SeVecs fitted on this model, e.g. at pool5) it is the semantic version
    (paper Sec. 5): sample n's gradient at the SeVecs' layer is multiplied by the mask
    1[r > threshold] of its target class's SeVec, inside the same single backward pass.

    Parameters
    ----------
    model : torch.nn.Module
        A classifier returning logits (N, num_classes); it is not moved.
    x : torch.Tensor
        Normalised images (N, 3, H, W).
    target : int, str, or a sequence of them
        A class index, a class name (models from :func:`load_model` or described with
        ``describe_model`` carry their category names), or one per image.
    method : {"vanilla_gradient", "guided_backprop", "gradient_x_input"}
        The backpropagation method.
    sevecs : SemanticVectors, optional
        Class SeVecs fitted on this model at the mask layer: gives the semantic version. They
        may cover any subset of the model's classes: the SeVec of each target is found by
        name (the model's category names; SeVecs named by output index, ``"0"``, ``"7"``,
        or the 1000 ImageNet synsets in order, by index). A target without a SeVec is refused
        with the fitted names, and so is a model that carries no category names (describe it
        with ``describe_model``, or pass ``concepts=``).
    concepts : str, int or a sequence of them, optional
        Which SeVec rows mask each sample (names or rows; one, or one per image), instead of
        the SeVec of each target's class.
    mask_layer : str, optional
        The layer whose incoming gradient is masked; default the SeVecs' layer (they must agree).
    threshold, by : float, {"rate", "vector"}
        The mask is 1[rate > threshold] (``by="rate"``, the book's reading) or
        1[vector > threshold] (the paper's literal formula).
    allow_unguided : bool
        Guided Backprop refuses models with activations it cannot guide; True warns instead.
    check_provenance : bool
        SeVecs of another model, input size or kind of concept are refused; False warns instead.

    Returns
    -------
    torch.Tensor
        The attribution, shaped like ``x``, on ``x``'s device.

    Raises
    ------
    ValueError, TypeError
        Unknown method, targets out of range, a target without a SeVec of its class, SeVecs of
        another model or layer, un-guidable activations, wrong image shape or dtype,
        un-normalised images.
    """
    if method not in METHODS:
        hint = " (the vanilla gradient's id is 'vanilla_gradient')" if method == "gradient" else ""
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}{hint}")
    x_in = x
    x = check_images(x, dtype=model_dtype(model))
    if sevecs is not None and not isinstance(sevecs, SemanticVectors):
        raise TypeError(f"sevecs must be a SemanticVectors (from fit_sevecs), got {type(sevecs).__name__}")
    if sevecs is None and (mask_layer is not None or concepts is not None):
        raise ValueError("mask_layer= and concepts= need sevecs=: pass the SeVecs fitted at the mask layer")
    if sevecs is not None:
        sevecs.check_model(model, x.shape, kind="classes" if concepts is None else None, strict=check_provenance)
    state = _MaskState()
    with contextlib.ExitStack() as stack:
        dev = stack.enter_context(eval_mode(model))
        stack.enter_context(torch.enable_grad())
        mode = stack.enter_context(_guided_rectifiers(model, allow_unguided)) if method == "guided_backprop" else None
        counter = None
        if sevecs is not None:
            layer = mask_layer or sevecs.layer
            if not layer:
                raise ValueError("the SeVecs carry no layer name; pass mask_layer=")
            if mask_layer is not None and sevecs.layer and not same_layer(model, mask_layer, sevecs.layer):
                raise ValueError(f"the SeVecs were fitted at {sevecs.layer!r}, not at mask_layer={mask_layer!r}")
            counter = stack.enter_context(_gradient_mask(model, layer, state))
        xin = x.detach().to(dev).requires_grad_(True)
        check_input_scale(model, xin)
        if mode is not None:
            with mode:
                out = call_model(model, xin)
            if mode.seen:
                _refuse_unguided(model, [f"functional {k} (x{v})" for k, v in mode.seen.items()], allow_unguided)
        else:
            out = call_model(model, xin)
        if not isinstance(out, torch.Tensor) or out.dim() != 2:
            raise ValueError("the model must return logits of shape (N, num_classes)")
        if counter is not None:
            counter.check()
        t = _targets(model, target, x.shape[0], out.shape[1], out.device)
        if sevecs is not None:
            if concepts is None:   # the SeVec of each target's class, matched by name (core.classes)
                rows = rows_for_targets(model, sevecs.names, t.cpu(), out.shape[1])
            else:
                rows = sevecs.rows(concepts, x.shape[0])
            state.masks = sevecs.mask(threshold, by=by, rows=rows).to(out.device, torch.float32)
        sel = out.gather(1, t[:, None]).sum()
        (grad,) = torch.autograd.grad(sel, xin)
    res = (grad * xin).detach() if method == "gradient_x_input" else grad.detach()
    return res.to(x_in.device if isinstance(x_in, torch.Tensor) else "cpu")


def vanilla_gradient(model: nn.Module, x: torch.Tensor, target, *, sevecs: SemanticVectors | None = None,
                     concepts=None, mask_layer: str | None = None, threshold: float = 0.5, by: str = "rate",
                     check_provenance: bool = True) -> torch.Tensor:
    return attribute(model, x, target, "vanilla_gradient", sevecs=sevecs, concepts=concepts, mask_layer=mask_layer,
                     threshold=threshold, by=by, check_provenance=check_provenance)


def guided_backprop(model: nn.Module, x: torch.Tensor, target, *, sevecs: SemanticVectors | None = None,
                    concepts=None, mask_layer: str | None = None, threshold: float = 0.5, by: str = "rate",
                    allow_unguided: bool = False, check_provenance: bool = True) -> torch.Tensor:
    return attribute(model, x, target, "guided_backprop", sevecs=sevecs, concepts=concepts, mask_layer=mask_layer,
                     threshold=threshold, by=by, allow_unguided=allow_unguided, check_provenance=check_provenance)


def gradient_x_input(model: nn.Module, x: torch.Tensor, target, *, sevecs: SemanticVectors | None = None,
                     concepts=None, mask_layer: str | None = None, threshold: float = 0.5, by: str = "rate",
                     check_provenance: bool = True) -> torch.Tensor:
    return attribute(model, x, target, "gradient_x_input", sevecs=sevecs, concepts=concepts, mask_layer=mask_layer,
                     threshold=threshold, by=by, check_provenance=check_provenance)


def _method_doc(summary: str, method: str, guided: bool) -> str:
    """A method wrapper's docstring: ``summary`` and :func:`attribute`'s sections, less the
    parameters the wrapper fixes or does not take."""
    doc = inspect.cleandoc(attribute.__doc__)
    sections = doc[doc.index("Parameters\n"):]
    drop = ["method"] + ([] if guided else ["allow_unguided"])
    kept, skip = [], False
    for line in sections.splitlines():
        if line and not line.startswith(" ") and " : " in line:
            skip = line.split(" : ")[0].strip() in drop
        elif line and not line.startswith(" "):
            skip = False
        if not skip:
            kept.append(line)
    return f"{summary}\n\nThe same call as ``attribute(..., method={method!r})``.\n\n" + "\n".join(kept)


vanilla_gradient.__doc__ = _method_doc(
    "The gradient of the target logit with respect to the input; with ``sevecs=`` its semantic version.\n\n"
    "The gradient is returned signed. Captum's ``Saliency`` returns its absolute value by default "
    "(``abs=True``): ``vanilla_gradient(...).abs()`` is that (and :func:`reduce_channels` takes absolute values "
    "anyway); :class:`sevec_helpers.attribution.captum.SemanticSaliency` follows Captum's default.",
    "vanilla_gradient", guided=False)
guided_backprop.__doc__ = _method_doc(
    "Guided Backprop (Springenberg et al. 2014); with ``sevecs=`` its semantic version (paper Sec. 5).\n\n"
    "The guided rule g_in = g_out * 1[g_out > 0] * 1[x > 0] is applied at every ``nn.ReLU`` and ``nn.ReLU6`` "
    "module (ReLU6 also zeroes where x >= 6). Captum's ``GuidedBackprop`` guides ``nn.ReLU`` modules only, so on "
    "a ReLU6 network (MobileNetV2, EfficientNet-Lite) it passes the true gradient through every ReLU6 and its maps "
    "differ from these; on ReLU networks the two are equal. A network with other activations (GELU, SiLU, "
    "Hardswish, ...) is refused: the rule is not defined there.", "guided_backprop", guided=True)
gradient_x_input.__doc__ = _method_doc("Gradient*Input: the input times the true gradient; with ``sevecs=`` its "
                                       "semantic version (paper Sec. 5).", "gradient_x_input", guided=False)


def reduce_channels(attr: torch.Tensor, how: str = "abs_sum") -> torch.Tensor:
    """Reduce an attribution (N, C, H, W) to a saliency map (N, H, W).

    Parameters
    ----------
    attr : torch.Tensor
        An attribution from :func:`attribute` (N, C, H, W).
    how : {"abs_sum", "max_abs", "pos_sum"}
        Sum of absolute values over channels (the book's default), the largest absolute
        value, or the sum of the positive part.

    Returns
    -------
    torch.Tensor
        The map (N, H, W), non-negative, on ``attr``'s device.
    """
    if not isinstance(attr, torch.Tensor) or attr.dim() != 4:
        raise ValueError(f"attr must be a tensor (N, C, H, W), got {getattr(attr, 'shape', type(attr))}")
    if how == "abs_sum":
        return attr.abs().sum(1)
    if how == "max_abs":
        return attr.abs().amax(1)
    if how == "pos_sum":
        return attr.clamp(min=0).sum(1)
    raise ValueError(f"how must be 'abs_sum', 'max_abs' or 'pos_sum', got {how!r}")
