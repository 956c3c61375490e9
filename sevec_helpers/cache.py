"""A disk cache for SeVecs, features and other tensors, so no chapter refits what another fitted.

Every entry is keyed by what determines it: the model's weights fingerprint, the layer,
the dataset's fingerprint and the parameters. Entries are written atomically (temporary
file, then rename) and read with ``weights_only=True``; a damaged entry is recomputed.
Temporary files left by a process killed mid-write are removed the next time a cache
opens the same folder.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Callable

import torch

from ._fingerprint import dataset_fingerprint, value_digest  # noqa: F401 (dataset_fingerprint re-exported)
from ._io import atomic_write, clean_stale_temporaries
from .sevec import SemanticVectors

STALE_AFTER_S = 60.0  # a temporary file older than this belongs to a process that died


class DiskCache:
    """``get(kind, key, compute)``: the cached value for ``key`` (a JSON-able dict), computed and
    stored on a miss. ``root=None`` keeps entries in memory only. ``kind`` is "sevecs" (a
    :class:`SemanticVectors`) or "tensors" (a dict of tensors / plain values)."""

    def __init__(self, root: str | os.PathLike | None):
        self.root = Path(root) if root is not None else None
        self._memo: dict[str, object] = {}
        self.hits = self.misses = 0
        if self.root is not None:
            self.root.mkdir(parents=True, exist_ok=True)
            clean_stale_temporaries(self.root, older_than_s=STALE_AFTER_S)

    def path(self, kind: str, key: dict) -> Path | None:
        if self.root is None:
            return None
        return self.root / f"{kind}-{value_digest(key)}.pt"

    def get(self, kind: str, key: dict, compute: Callable[[], object]):
        if kind not in ("sevecs", "tensors"):
            raise ValueError(f"kind must be 'sevecs' or 'tensors', got {kind!r}")
        mkey = f"{kind}-{value_digest(key)}"
        if mkey in self._memo:
            self.hits += 1
            return self._memo[mkey]
        p = self.path(kind, key)
        value = self._read(kind, p) if p is not None and p.exists() else None
        if value is None:
            self.misses += 1
            t0 = time.time()
            value = compute()
            if p is not None:
                self._write(kind, p, value, key, time.time() - t0)
        else:
            self.hits += 1
        self._memo[mkey] = value
        return value

    @staticmethod
    def _read(kind: str, p: Path):
        try:
            if kind == "sevecs":
                return SemanticVectors.load(p)
            obj = torch.load(p, map_location="cpu", weights_only=True)
            return obj["value"]
        except Exception:  # damaged or foreign entry: recompute it
            return None

    @staticmethod
    def _write(kind: str, p: Path, value, key: dict, seconds: float) -> None:
        if kind == "sevecs":
            value.save(p)
        else:
            atomic_write(p, lambda fh: torch.save({"value": value, "key": json.dumps(key, default=str),
                                                   "seconds": seconds}, fh))
