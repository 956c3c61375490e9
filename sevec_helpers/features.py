"""Taps on named layers, input checks, and streaming feature extraction.

Functions here never move the user's model: they run where it lives (the device of its
parameters), and the inputs are moved there, as in Captum and scikit-learn. Every hook
is installed inside a context manager and removed on every path, errors included.
Captured activations are cloned, so a later in-place operation of the network
(torchvision's VGG uses ``ReLU(inplace=True)``) cannot change what was read.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, Dataset, default_collate
from tqdm.auto import tqdm

from ._fingerprint import cached_result
from .layers import LayerRef, resolve_layer

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


class Features(NamedTuple):
    """Activations of one layer: ``values`` (N, D) float32 on the CPU, ``labels`` (N,) or None."""

    values: torch.Tensor
    labels: torch.Tensor | None


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
    was_training = [m.training for m in model.modules()]
    try:
        model.eval()
        yield model_device(model)
    finally:
        for m, t in zip(model.modules(), was_training):
            m.training = t


# ---------------------------------------------------------------------------------------
# input checks
# ---------------------------------------------------------------------------------------


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


def check_input_scale(model: nn.Module, x: torch.Tensor) -> None:
    """Warn (once per call site) when a batch does not look normalised the way ``model``
    expects: pixels in [0, 1] or 0-255 for a model whose inputs are mean/std normalised.
    Only models that carry their input statistics (from :func:`sevec_helpers.load_model`)
    are checked."""
    info = getattr(model, INFO_ATTR, None)
    if not info or not info.get("std"):
        return
    if all(abs(s - 1.0) < 1e-6 for s in info["std"]) and all(abs(m) < 1e-6 for m in info["mean"]):
        return
    lo, hi = float(x.detach().min()), float(x.detach().max())
    name = info.get("name", type(model).__name__)
    if hi > 20:
        warnings.warn(f"inputs to {name} reach {hi:.0f}: they look like 0-255 pixel values, but the model expects "
                      f"images normalised with mean {tuple(info['mean'])} and std {tuple(info['std'])}; build the "
                      f"data with the model's transform (spec.transform)", UserWarning, stacklevel=3)
    elif lo >= 0 and hi <= 1 and hi > lo:  # a constant batch (e.g. zeros, the mean image) is not evidence
        warnings.warn(f"inputs to {name} all lie in [0, 1]: they look like un-normalised images, but the model "
                      f"expects mean {tuple(info['mean'])} / std {tuple(info['std'])} normalisation; use the model's "
                      f"transform (spec.transform), or spec.normalize(x) on [0, 1] tensors", UserWarning, stacklevel=3)


# ---------------------------------------------------------------------------------------
# taps
# ---------------------------------------------------------------------------------------


def _flat(out: Any, ref: LayerRef) -> torch.Tensor:
    if not isinstance(out, torch.Tensor):
        raise TypeError(
            f"layer {ref.label!r} returns {type(out).__name__}, not a tensor; tap a module whose output is one tensor"
        )
    return out.reshape(out.shape[0], -1)


class _CallCounter:
    def __init__(self, ref: LayerRef):
        self.ref = ref
        self.calls = 0

    def selected(self) -> bool:
        """Count one call; True when it is the call this tap reads."""
        k = self.calls
        self.calls += 1
        return self.ref.call is None or self.ref.call == k

    def check(self) -> None:
        ref = self.ref
        if ref.call is None and self.calls > 1:
            raise ValueError(
                f"module {ref.name!r} runs {self.calls} times in one forward pass, so its output is ambiguous; "
                f"name the call you mean, e.g. layer='{ref.name}@{self.calls - 1}' for the last one (0-based)"
            )
        if ref.call is not None and self.calls <= ref.call:
            raise ValueError(
                f"layer {ref.label!r} asks for call {ref.call} of {ref.name!r}, but it ran only {self.calls} time(s)"
            )
        if self.calls == 0:
            raise ValueError(f"layer {ref.name!r} never ran in the forward pass; pick a layer the model uses")


class Tap:
    """Reads one layer's output on every forward pass (see :func:`tap`)."""

    def __init__(self, ref: LayerRef, stop: bool):
        self.ref = ref
        self.stop = stop
        self.output: torch.Tensor | None = None
        self._counter = _CallCounter(ref)
        # with no call index, one full pass first checks that the module runs only once
        self._may_stop = stop and ref.call is not None

    def _hook(self, module, inputs, out):
        if self._counter.selected():
            self.output = _flat(out, self.ref).detach().clone()
            if self._may_stop:
                raise _StopForward

    def run(self, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
        """Forward ``x`` and return the tapped (N, D) activations."""
        self.output = None
        self._counter.calls = 0
        try:
            call_model(model, x)
        except _StopForward:
            return self.output
        self._counter.check()
        self._may_stop = self.stop
        return self.output


@contextlib.contextmanager
def tap(model: nn.Module, layer: str | LayerRef, *, stop: bool = False) -> Iterator[Tap]:
    """Context manager: read ``layer``'s output as (N, D) on each ``tap.run(model, x)``.

    With ``stop=True`` the forward pass ends right after the layer is read (a full first pass
    checks that the module runs once). The hook is removed on exit, errors included.
    """
    ref = resolve_layer(model, layer)
    t = Tap(ref, stop)
    handle = ref.module.register_forward_hook(t._hook)
    try:
        yield t
    finally:
        handle.remove()


@contextlib.contextmanager
def replace_output(model: nn.Module, layer: str | LayerRef, fn: Callable[[torch.Tensor], torch.Tensor]):
    """Context manager: the layer's output ``h`` (flattened to (N, D)) is replaced by ``fn(h)``."""
    ref = resolve_layer(model, layer)
    counter = _CallCounter(ref)

    def hook(module, inputs, out):
        if counter.selected():
            flat = _flat(out, ref)
            return fn(flat).reshape(out.shape).to(out.dtype)
        return None

    handle = ref.module.register_forward_hook(hook)
    try:
        yield counter
    finally:
        handle.remove()


# ---------------------------------------------------------------------------------------
# streaming over data
# ---------------------------------------------------------------------------------------


_AFFINE = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)


def find_producer(model: nn.Module, layer: str | LayerRef, x: torch.Tensor) -> nn.Module | None:
    """The last Linear / Conv layer that runs before ``layer`` on input ``x`` (one sample is
    enough): the layer whose output sign the tap reads. None if there is none."""
    ref = resolve_layer(model, layer)
    order: list[nn.Module] = []
    watched = [m for m in model.modules() if isinstance(m, _AFFINE) and m is not ref.module]
    handles = [m.register_forward_pre_hook(lambda mod, inp: order.append(mod)) for m in watched]

    def stop(module, inputs, out):
        raise _StopForward

    handles.append(ref.module.register_forward_hook(stop))
    try:
        with torch.no_grad():
            model(x)
    except _StopForward:
        pass
    finally:
        for h in handles:
            h.remove()
    return order[-1] if order else None


@contextlib.contextmanager
def autocast_exact(producer: nn.Module | None, device: torch.device, dtype=torch.bfloat16) -> Iterator[None]:
    """Autocast the forward pass to ``dtype``, except ``producer`` (see :func:`find_producer`):
    it runs in float32 on float32 inputs, so the sign of the tapped pre-activation, which
    1[phi(x) > 0] reads, is computed in float32."""
    dev = torch.device(device).type
    saved: list[bool] = []

    def pre(module, inputs):
        saved.append(torch.is_autocast_enabled(dev))
        torch.set_autocast_enabled(dev, False)
        return tuple(t.float() if isinstance(t, torch.Tensor) and t.is_floating_point() else t for t in inputs)

    def post(module, inputs, out):
        torch.set_autocast_enabled(dev, saved.pop())
        return out.float() if isinstance(out, torch.Tensor) and out.is_floating_point() else out

    handles = [] if producer is None else [producer.register_forward_pre_hook(pre),
                                           producer.register_forward_hook(post)]
    try:
        with torch.autocast(dev, dtype=dtype):
            yield
    finally:
        for h in handles:
            h.remove()


def skip_none_collate(batch):
    """Collate that drops the items a dataset could not read (returned as None)."""
    batch = [b for b in batch if b is not None]
    return default_collate(batch) if batch else None


_DATA_FORMS = ("a torch Dataset, a DataLoader, an image tensor or numpy array (N, 3, H, W), or a tuple "
               "(images, labels) of tensors or numpy arrays")


def _as_images(x):
    return torch.from_numpy(np.ascontiguousarray(x)) if isinstance(x, np.ndarray) else x


def as_loader(data, batch_size: int = 64) -> Iterator[tuple[torch.Tensor, torch.Tensor | None]]:
    """Yield (images, labels or None) batches from any of the accepted forms of ``data``.

    Labels, when present, are validated (:func:`check_labels`) on the CPU.
    """
    if isinstance(data, (torch.Tensor, np.ndarray)):
        x = _as_images(data)
        for i in range(0, len(x), batch_size):
            yield x[i : i + batch_size], None
        return
    if isinstance(data, (tuple, list)) and not isinstance(data, Dataset):
        if len(data) != 2 or not isinstance(data[0], (torch.Tensor, np.ndarray)):
            kinds = ", ".join(type(v).__name__ for v in data[:3])
            raise TypeError(f"data must be {_DATA_FORMS}; got a {type(data).__name__} of ({kinds})")
        x = _as_images(data[0])
        y = check_labels(data[1], len(x))
        for i in range(0, len(x), batch_size):
            yield x[i : i + batch_size], y[i : i + batch_size]
        return
    if isinstance(data, DataLoader):
        loader = data
    elif isinstance(data, Dataset):
        loader = DataLoader(data, batch_size=batch_size, shuffle=False, num_workers=0, collate_fn=skip_none_collate)
    else:
        raise TypeError(f"data must be {_DATA_FORMS}; got {type(data).__name__}")
    for batch in loader:
        if batch is None:  # every item of the batch was unreadable (see sevec_helpers.data)
            continue
        if isinstance(batch, (list, tuple)):
            if len(batch) < 1:
                raise ValueError("the data yielded an empty batch")
            x = batch[0]
            y = batch[1] if len(batch) > 1 else None
            yield x, (check_labels(y, len(x)) if y is not None and not isinstance(y, dict) else y)
        else:
            yield batch, None


def n_batches(data, batch_size: int) -> int | None:
    try:
        if isinstance(data, DataLoader):
            return len(data)
        n = len(data[0]) if isinstance(data, (tuple, list)) else len(data)
        return -(-n // batch_size)
    except TypeError:
        return None


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


def extract_features(model: nn.Module, data, layer: str | LayerRef, *, binarize: bool = False, batch_size: int = 64,
                     progress: bool = True, cache=None) -> Features:
    """Activations of ``layer`` for every image, flattened to :class:`Features` (N, D).

    Runs where ``model`` lives, in eval mode under ``torch.inference_mode()``, batch by
    batch; the values come back as float32 on the CPU.

    Parameters
    ----------
    model : torch.nn.Module
        The network; it is not moved.
    data : Dataset, DataLoader, tensor (N, 3, H, W) or (images, labels) tuple
        The images (and labels, if any).
    layer : str
        A module name, an alias (``"pool5"``, ``"fc1"``) or ``"name@k"``; see :func:`layer_names`.
    binarize : bool
        Return 1[phi(x) > 0] as 0./1. instead of the raw activations.
    batch_size, progress
        Batch size of the streaming pass; show a progress bar.
    cache : DiskCache, optional
        Return the features stored for this model's weights, data and layer, or compute
        and store them.

    Returns
    -------
    Features
        ``values`` (N, D) float32 on the CPU; ``labels`` (N,) or None when ``data`` has none.

    Raises
    ------
    ValueError
        Empty data, NaN activations, images of the wrong shape or scale, unknown layer.
    """
    if cache is not None:
        def compute():
            f = extract_features(model, data, layer, binarize=binarize, batch_size=batch_size, progress=progress)
            return {"values": f.values, "labels": f.labels}
        params = {"layer": layer if isinstance(layer, str) else layer.label}
        if binarize:
            params["binarize"] = True
        v = cached_result(cache, "tensors", "features", model, data, compute, **params)
        return Features(v["values"], v["labels"])
    feats, labels = [], []
    dtype = model_dtype(model)
    with eval_mode(model) as dev, tap(model, layer, stop=True) as t, torch.inference_mode():
        first = True
        bar = tqdm(as_loader(data, batch_size), total=n_batches(data, batch_size), disable=not progress,
                   desc=f"features @ {t.ref.label}")
        for x, y in bar:
            x = check_images(x, dtype=dtype).to(dev, non_blocking=True)
            if first:
                check_input_scale(model, x)
            h = t.run(model, x)
            check_finite_activations(h, t.ref.label)
            if first:
                warn_if_signed(h, t.ref.label)
                first = False
            feats.append((h > 0).float().cpu() if binarize else h.float().cpu())
            if y is not None:
                labels.append(y)
    if not feats:
        raise ValueError("data is empty: no images to extract features from")
    out = torch.cat(feats)
    if labels:
        if len(labels) != len(feats):
            raise ValueError("some batches had labels and some did not; yield (image, label) pairs throughout")
        return Features(out, torch.cat(labels).long())
    return Features(out, None)
