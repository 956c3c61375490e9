"""Taps on named layers and streaming feature extraction.

Every hook here is installed inside a context manager and removed on every path, errors
included. Captured activations are cloned, so a later in-place operation of the network
(torchvision's VGG uses ``ReLU(inplace=True)``) cannot change what was read.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import torch
import torch.nn as nn
from torch.utils.data import DataLoader, Dataset
from tqdm.auto import tqdm

from .layers import LayerRef, resolve_layer


class _StopForward(Exception):
    """Raised inside a hook to end a forward pass once the tapped layer has been read."""


def default_device() -> torch.device:
    """cuda if present, then Apple's mps, then cpu."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def model_device(model: nn.Module) -> torch.device:
    for p in model.parameters():
        return p.device
    for b in model.buffers():
        return b.device
    return torch.device("cpu")


@contextlib.contextmanager
def eval_on(model: nn.Module, device: torch.device | str | None = None) -> Iterator[torch.device]:
    """Put ``model`` in eval mode (and on ``device``) for the block; restore both after."""
    was_training = [m.training for m in model.modules()]
    home = model_device(model)
    dev = torch.device(device) if device is not None else home
    try:
        model.eval()
        if dev != home:
            model.to(dev)
        yield dev
    finally:
        if dev != home:
            model.to(home)
        for m, t in zip(model.modules(), was_training):
            m.training = t


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
            model(x)
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


def as_loader(data, batch_size: int = 64) -> Iterator[tuple[torch.Tensor, torch.Tensor | None]]:
    """Yield (images, labels or None) batches from a Dataset, a DataLoader, a tensor, or (tensor, labels)."""
    if isinstance(data, torch.Tensor):
        for i in range(0, len(data), batch_size):
            yield data[i : i + batch_size], None
        return
    if isinstance(data, tuple) and len(data) == 2 and isinstance(data[0], torch.Tensor):
        x, y = data
        y = torch.as_tensor(y)
        if len(x) != len(y):
            raise ValueError(f"got {len(x)} images but {len(y)} labels; pass one label per image")
        for i in range(0, len(x), batch_size):
            yield x[i : i + batch_size], y[i : i + batch_size]
        return
    if isinstance(data, DataLoader):
        loader = data
    elif isinstance(data, Dataset):
        from .data import skip_none_collate

        loader = DataLoader(data, batch_size=batch_size, shuffle=False, num_workers=0, collate_fn=skip_none_collate)
    else:
        raise TypeError(
            f"data must be a torch Dataset, a DataLoader, an image tensor (N, 3, H, W) or a tuple "
            f"(images, labels); got {type(data).__name__}"
        )
    for batch in loader:
        if batch is None:  # every item of the batch was unreadable (see sevec_helpers.data)
            continue
        if isinstance(batch, (list, tuple)):
            if len(batch) < 1:
                raise ValueError("the data yielded an empty batch")
            x = batch[0]
            y = batch[1] if len(batch) > 1 else None
            yield x, (torch.as_tensor(y) if y is not None else None)
        else:
            yield batch, None


def n_batches(data, batch_size: int) -> int | None:
    try:
        if isinstance(data, DataLoader):
            return len(data)
        n = len(data[0]) if isinstance(data, tuple) else len(data)
        return -(-n // batch_size)
    except TypeError:
        return None


def check_images(x: torch.Tensor, what: str = "images") -> torch.Tensor:
    """Validate a batch of images: (N, C, H, W), floating point, finite."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{what} must be a torch.Tensor of shape (N, C, H, W), got {type(x).__name__}")
    if x.dim() != 4:
        hint = " (add a batch dimension with x.unsqueeze(0))" if x.dim() == 3 else ""
        raise ValueError(f"{what} must have shape (N, C, H, W); got shape {tuple(x.shape)}{hint}")
    if not x.is_floating_point():
        raise ValueError(
            f"{what} have dtype {x.dtype}; convert to float and normalise them with the model's transform first"
        )
    if not torch.isfinite(x).all():
        raise ValueError(f"{what} contain NaN or Inf values; clean the input (e.g. torch.nan_to_num) before use")
    return x


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


def extract_features(
    model: nn.Module,
    data,
    layer: str | LayerRef,
    *,
    binarize: bool = False,
    batch_size: int = 64,
    device: torch.device | str | None = None,
    progress: bool = True,
):
    """Activations of ``layer`` for every image, flattened to (N, D).

    Returns a float tensor (N, D) on the CPU, or ``(features, labels)`` when ``data`` yields
    labels. ``binarize=True`` returns 1[phi(x) > 0] as 0./1. floats. Runs in eval mode under
    ``torch.inference_mode()``, batch by batch, on ``device`` (default: cuda, mps, cpu).
    """
    feats, labels = [], []
    dev = torch.device(device) if device is not None else default_device()
    with eval_on(model, dev), tap(model, layer, stop=True) as t, torch.inference_mode():
        first = True
        bar = tqdm(as_loader(data, batch_size), total=n_batches(data, batch_size), disable=not progress,
                   desc=f"features @ {t.ref.label}")
        for x, y in bar:
            x = check_images(x.to(dev, non_blocking=True))
            h = t.run(model, x)
            check_finite_activations(h, t.ref.label)
            if first:
                warn_if_signed(h, t.ref.label)
                first = False
            feats.append((h > 0).float().cpu() if binarize else h.float().cpu())
            if y is not None:
                labels.append(y.cpu())
    if not feats:
        raise ValueError("data is empty: no images to extract features from")
    out = torch.cat(feats)
    if labels:
        if len(labels) != len(feats):
            raise ValueError("some batches had labels and some did not; yield (image, label) pairs throughout")
        return out, torch.cat(labels).long()
    return out
