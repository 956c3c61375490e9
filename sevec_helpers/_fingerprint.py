"""Fingerprints: a short, stable digest of a model's weights, of tensors, of plain values.

Used to record where SeVecs came from (provenance), to key the disk cache, and to check
files for damage. A model's digest is cached on the model and recomputed only when one of
its tensors was replaced or modified in place (torch bumps a tensor's version counter
on every in-place write, ``load_state_dict`` included).
"""

from __future__ import annotations

import hashlib
import json

import torch
import torch.nn as nn

_CACHE_ATTR = "_sevec_fingerprint_cache"


def _update(h, t: torch.Tensor) -> None:
    t = t.detach()
    h.update(f"{t.dtype}{tuple(t.shape)}".encode())
    t = t.cpu().contiguous()
    if t.dtype == torch.bfloat16:  # numpy has no bfloat16: hash its bits
        t = t.view(torch.int16)
    h.update(t.numpy().tobytes())


def tensor_digest(*tensors: torch.Tensor, extra: str = "") -> str:
    """sha256 (hex) of tensors' dtypes, shapes and bytes, plus an optional string."""
    h = hashlib.sha256(extra.encode())
    for t in tensors:
        _update(h, t)
    return h.hexdigest()


def model_fingerprint(model: nn.Module) -> str:
    """16 hex digits identifying the model's weights and buffers (names, dtypes, shapes, values)."""
    state = model.state_dict(keep_vars=True)
    key = tuple((k, id(t), t._version, t.data_ptr()) for k, t in state.items())
    cached = getattr(model, _CACHE_ATTR, None)
    if cached is not None and cached[0] == key:
        return cached[1]
    h = hashlib.sha256()
    for name, t in state.items():
        h.update(name.encode())
        _update(h, t)
    digest = h.hexdigest()[:16]
    object.__setattr__(model, _CACHE_ATTR, (key, digest))
    return digest


def value_digest(obj) -> str:
    """sha256 (16 hex) of a JSON-able value (sorted keys): for cache keys."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]
