"""Hooks on a named layer: read its output (:func:`tap`), replace it (:func:`replace_output`),
find the layer that produces its sign (:func:`find_producer`) and keep that one in float32
under autocast (:func:`autocast_exact`).

Every hook is installed inside a context manager and removed on every path, errors
included. Captured activations are cloned, so a later in-place operation of the network
(torchvision's VGG uses ``ReLU(inplace=True)``) cannot change what was read.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import torch
import torch.nn as nn

from sevec_helpers.core.inputs import _StopForward, call_model
from sevec_helpers.core.layers import LayerRef, resolve_layer


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
