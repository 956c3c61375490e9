"""Input checks and where a model lives: images, labels, the input scale a model expects,
finite activations; the model's device and dtype, eval mode restored on every path, and a
failure of the model on its inputs reported with their shape.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator

import numpy as np
import torch
import torch.nn as nn

INFO_ATTR = "_sevec_info"  # what load_model knows of a model: name, input mean/std/size, categories


class _StopForward(Exception):
    """Raised inside a hook to end a forward pass once the tapped layer has been read."""


class ModelInputError(ValueError, RuntimeError):
    """The model could not run on the inputs it was given (a wrong size or number of channels)."""


def call_model(model: nn.Module, x: torch.Tensor):
    """``model(x)``, with a failure of the model on these inputs reported as :class:`ModelInputError`
    naming the batch's shape and dtype (out-of-memory errors pass through unchanged)."""
    try:
        return model(x)
    except (_StopForward, torch.OutOfMemoryError):
        raise
    except RuntimeError as e:
        raise ModelInputError(f"the model failed on a batch of shape {tuple(x.shape)} ({x.dtype}): {e}. Check the image "
                              f"size and channels against what the model expects (its transform)") from e


def default_device() -> torch.device:
    """cuda if present, then Apple's mps, then cpu (for callers that place a model themselves)."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def model_device(model: nn.Module) -> torch.device:
    """The device the model's parameters (else buffers) live on; cpu for a parameter-free model."""
    for p in model.parameters():
        return p.device
    for b in model.buffers():
        return b.device
    return torch.device("cpu")


def model_dtype(model: nn.Module) -> torch.dtype:
    for p in model.parameters():
        if p.is_floating_point():
            return p.dtype
    return torch.float32


@contextlib.contextmanager
def eval_mode(model: nn.Module) -> Iterator[torch.device]:
    """Eval mode for the block; every module's training flag is restored after, errors included.
    Yields the model's device. The model is never moved."""
    check_model_runs(model)
    was_training = [m.training for m in model.modules()]
    try:
        model.eval()
        yield model_device(model)
    finally:
        for m, t in zip(model.modules(), was_training):
            m.training = t


def check_images(x, what: str = "images", dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Validate a batch of images and return it as a float tensor of ``dtype``.

    Accepted: a tensor or numpy array (N, C, H, W) of floats (float64 and float16 are
    converted). Refused with the expected form: other types, other shapes, integer or
    bool pixels (their scaling is ambiguous), an empty batch, NaN or Inf.
    """
    if isinstance(x, np.ndarray):
        if x.dtype == object:
            raise TypeError(f"{what} must be a numeric array (N, C, H, W), got an object array")
        x = torch.from_numpy(np.ascontiguousarray(x))
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{what} must be a torch.Tensor or numpy array of shape (N, C, H, W), got {type(x).__name__}")
    if x.dim() != 4:
        hint = " (add a batch dimension with x.unsqueeze(0))" if x.dim() == 3 else ""
        raise ValueError(f"{what} must have shape (N, C, H, W); got shape {tuple(x.shape)}{hint}")
    if x.shape[0] == 0:
        raise ValueError(f"{what}: the batch is empty (N = 0)")
    if x.device.type == "meta":
        raise ValueError(f"{what} are on the 'meta' device, which holds shapes but no values; pass real tensors")
    if not x.is_floating_point():
        raise ValueError(
            f"{what} have dtype {x.dtype}: integer pixels are ambiguous (0-255 or 0-1?); convert to float and "
            f"normalise with the model's transform (spec.transform) first")
    if x.dtype != dtype:
        x = x.to(dtype)
    if not torch.isfinite(x).all():
        raise ValueError(f"{what} contain NaN or Inf values; clean the input (e.g. torch.nan_to_num) before use")
    return x


def check_labels(y, n: int, num_concepts: int | None = None, what: str = "labels") -> torch.Tensor:
    """Validate ``n`` integer labels (tensor, numpy array, list) and return them as int64 on the CPU.

    Refused with the expected form: strings, dicts, floats, bools, a count other than
    ``n``, negative labels, and labels >= ``num_concepts`` (checked before anything is
    allocated for them).
    """
    if isinstance(y, dict) or isinstance(y, str):
        raise TypeError(f"{what} must be integer concept indices, one per image; got a {type(y).__name__}. "
                        f"Map names to indices first (e.g. dataset.class_to_idx)")
    if isinstance(y, (list, tuple)) and any(isinstance(v, str) for v in y):
        raise TypeError(f"{what} must be integer concept indices, got strings such as {next(v for v in y if isinstance(v, str))!r}; "
                        f"map names to indices first (e.g. {{name: i for i, name in enumerate(names)}})")
    if isinstance(y, np.ndarray) and y.dtype.kind in "USO":
        raise TypeError(f"{what} must be integer concept indices, got a numpy array of {y.dtype}")
    try:
        t = torch.as_tensor(y)
    except (TypeError, ValueError, RuntimeError) as e:
        raise TypeError(f"{what} must be integer concept indices (a tensor, array or list of ints): {e}") from None
    if t.dtype == torch.bool or t.is_floating_point() or t.is_complex():
        raise TypeError(f"{what} must be integer concept indices, got dtype {t.dtype}; convert with .long() if they "
                        f"are whole numbers")
    t = t.reshape(-1) if t.dim() <= 1 else t
    if t.dim() != 1 or t.numel() != n:
        raise ValueError(f"got {n} images but {what} of shape {tuple(torch.as_tensor(y).shape)}; pass one integer "
                         f"label per image")
    t = t.long().cpu()
    if n and int(t.min()) < 0:
        raise ValueError(f"{what} must be >= 0, got {int(t.min())}")
    if n and num_concepts is not None and int(t.max()) >= num_concepts:
        raise ValueError(f"{what} must be < {num_concepts} (the number of concepts); got {int(t.max())}. Fix the "
                         f"label, or pass names= / num_concepts= that include it")
    return t


_TRUSTED = [0]


@contextlib.contextmanager
def trust_input_scale() -> Iterator[None]:
    """Inside the block, inputs are not checked for their scale (:func:`check_input_scale`):
    for normalised images that all happen to lie in [0, 1], which look un-normalised."""
    _TRUSTED[0] += 1
    try:
        yield
    finally:
        _TRUSTED[0] -= 1


def _expected_range(mean, std) -> tuple[float, float]:
    """The range of [0, 1] images after (x - mean) / std, over the channels."""
    lo = min((0.0 - m) / s for m, s in zip(mean, std))
    hi = max((1.0 - m) / s for m, s in zip(mean, std))
    return lo, hi


def check_input_scale(model: nn.Module, x: torch.Tensor) -> None:
    """Refuse a batch that does not look scaled the way ``model`` expects, the same way for
    every model.

    A model that carries its input statistics (:func:`sevec_helpers.load_model`,
    :func:`sevec_helpers.sources.models.describe_model`) refuses 0-255 pixel values, and
    images in [0, 1] when it expects normalised ones. A model that does not say what it
    expects refuses image batches (3 channels, at least 32 x 32) that are in [0, 1] or reach
    255, with how to describe it. A constant batch (zeros, the mean image) is not evidence.

    Raises
    ------
    ValueError
        The batch looks un-normalised; the message says how to normalise it or describe the
        model (and :func:`trust_input_scale` lets normalised images that look otherwise through).
    """
    if _TRUSTED[0]:
        return
    info = getattr(model, INFO_ATTR, None) or {}
    name = info.get("name") or type(model).__name__
    lo, hi = float(x.detach().min()), float(x.detach().max())
    if hi <= lo:  # a constant batch
        return
    in_unit = lo >= 0 and hi <= 1
    if info.get("std") and info.get("mean"):
        mean, std = tuple(info["mean"]), tuple(info["std"])
        e_lo, e_hi = _expected_range(mean, std)
        fix = "build the data with the model's transform (spec.transform)"
        if hi > 20 and hi > 2 * e_hi:
            raise ValueError(f"inputs to {name} reach {hi:.0f}: they look like 0-255 pixel values, but the model "
                             f"expects images normalised with mean {mean} and std {std}; {fix}, or spec.normalize(x / "
                             f"255) on 0-255 tensors")
        identity = e_lo > -1e-6 and abs(e_hi - 1) < 1e-6
        if in_unit and not identity:
            raise ValueError(f"inputs to {name} all lie in [0, 1]: they look like un-normalised images, but the model "
                             f"expects mean {mean} / std {std} normalisation; {fix}, or spec.normalize(x) on [0, 1] "
                             f"tensors (normalised images that happen to lie in [0, 1] pass inside "
                             f"`with sevec_helpers.core.inputs.trust_input_scale():`)")
        return
    if x.dim() != 4 or x.shape[1] != 3 or min(x.shape[-2:]) < 32 or not (in_unit or hi > 20):
        return
    raise ValueError(f"inputs to {name} {'all lie in [0, 1]' if in_unit else f'reach {hi:.0f}'}: they look like "
                     f"un-normalised images, and {name} does not say what input it expects. Describe it once with "
                     f"the statistics it was trained with: sevec_helpers.describe_model(model, mean=..., std=...) "
                     f"(torchvision's ImageNet models: mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225)) and "
                     f"build the data with the spec's transform; a model that takes [0, 1] images as they are: "
                     f"describe_model(model, mean=(0, 0, 0), std=(1, 1, 1))")


def check_model_runs(model: nn.Module) -> None:
    """Refuse a model whose weights are on the 'meta' device (shapes without values)."""
    if model_device(model).type == "meta":
        name = (getattr(model, INFO_ATTR, None) or {}).get("name") or type(model).__name__
        raise ValueError(f"{name}'s weights are on the 'meta' device, which holds shapes but no values, so it "
                         f"cannot run: load its weights first (model.to_empty(device='cpu'), then "
                         f"model.load_state_dict(...))")


def check_finite_activations(h: torch.Tensor, label: str) -> None:
    if not torch.isfinite(h).all():
        raise ValueError(
            f"activations of layer {label!r} contain NaN or Inf; check the model's weights and input scaling"
        )


def warn_if_signed(h: torch.Tensor, label: str) -> None:
    if (h < 0).any():
        warnings.warn(
            f"layer {label!r} has negative activations: binarisation 1[phi(x) > 0] reads its sign pattern, "
            f"not rectified firing. The paper taps post-ReLU layers (e.g. 'fc1', 'pool5'); prefer one of those.",
            stacklevel=3,
        )
