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
from torch.utils.data import Dataset

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


def dataset_fingerprint(ds) -> dict:
    """What identifies ``ds`` for the cache: its own ``fingerprint()`` when it has one; else its
    type, length and a digest of three items (first, middle, last)."""
    fp = getattr(ds, "fingerprint", None)
    if callable(fp):
        return fp()
    if isinstance(ds, torch.utils.data.Subset):
        return {"subset_of": dataset_fingerprint(ds.dataset), "indices": value_digest(list(ds.indices))}
    if not isinstance(ds, Dataset) or not hasattr(ds, "__len__"):
        raise TypeError(f"cannot fingerprint {type(ds).__name__} for the cache; give it a fingerprint() method")
    h = hashlib.sha256()
    n = len(ds)
    for i in sorted({0, n // 2, n - 1} if n else set()):
        item = ds[i]
        for part in item if isinstance(item, (tuple, list)) else (item,):
            if isinstance(part, torch.Tensor):
                h.update(part.detach().cpu().contiguous().numpy().tobytes())
            else:
                h.update(json.dumps(part, default=str, sort_keys=True).encode())
    return {"type": type(ds).__name__, "n": n, "items": h.hexdigest()[:16]}


def cached_result(cache, kind: str, what: str, model: nn.Module, data, compute, **params):
    """``compute()``, or its value from ``cache`` (anything with ``get(kind, key, compute)``,
    e.g. :class:`sevec_helpers.cache.DiskCache`) under a key naming what computed it: ``what``,
    the model's weights fingerprint, the data's fingerprint and ``params``. ``cache=None``
    computes. This is the one place the core's public functions build cache keys."""
    if cache is None:
        return compute()
    if not callable(getattr(cache, "get", None)):
        raise TypeError(f"cache must have a get(kind, key, compute) method (e.g. sevec_helpers.cache.DiskCache), "
                        f"got {type(cache).__name__}")
    from ._version import __version__

    key = {"what": what, "model": model_fingerprint(model), "data": dataset_fingerprint(data),
           "library": __version__, **params}
    return cache.get(kind, key, compute)
