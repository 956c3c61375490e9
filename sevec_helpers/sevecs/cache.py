"""A disk cache for SeVecs, features and other tensors, so no chapter refits what another fitted.

Every entry is keyed by what determines it: the model's weights fingerprint, the layer,
the dataset's fingerprint (for ConceptWorld, the drawing code too), the parameters, and the
code that computed it (:func:`sevec_helpers.core.fingerprint.code_fingerprint`: a digest of the
package modules the result depends on, and the torch / numpy versions). Pulling a fix to
``fit_sevecs`` therefore recomputes the SeVecs, and only the entries that depend on it.

An entry file holds a one-line header (format, key digest, payload size and sha256) and the
payload (``torch.save``, read back with ``weights_only=True``). It is written to a temporary
file and renamed into place, so a reader sees a whole entry or none, a process killed
mid-write leaves only a temporary (removed the next time a cache opens the folder), and
several processes may share one folder at once (each writes whole entries; when two compute
the same entry, the later rename wins and both were complete). An entry whose size or checksum does not match (a
damaged disk, a power cut before the data reached it, an edit by hand) is reported in one
line, recomputed and rewritten, never loaded.

Every miss says why, in one line on the ``sevec_helpers.sevecs.cache`` logger: a new entry (INFO),
or, at WARNING (shown on stderr without any logging set up), ``code changed (sevec.py)``,
``damaged entry (checksum mismatch)`` or ``entry missing``. To tell a code change from a new
entry the cache keeps, per key without its code fingerprint, the code it was last stored
with (``index/`` in the cache folder).
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import re
import time
from pathlib import Path
from typing import Callable

import torch

from sevec_helpers.core.atomic import atomic_write, clean_stale_temporaries
from sevec_helpers.core.fingerprint import code_fingerprint, dataset_fingerprint, value_digest  # noqa: F401 (re-exported)
from sevec_helpers.sevecs.vectors import SemanticVectors

log = logging.getLogger(__name__)
_OLD_ENTRY = re.compile(r"^(sevecs|tensors)-[0-9a-f]{16}\.pt$")

MAGIC = b"sevec_helpers.sevecs.cache/1\n"
KINDS = ("sevecs", "tensors")
STALE_AFTER_S = 3600.0
"""A temporary file of a live process is removed only when untouched this long (its pid was
reused); temporaries of processes that no longer run are removed at once."""


class CacheEntryError(ValueError):
    """A cache entry that cannot be used: truncated, damaged (checksum mismatch) or foreign."""


def _strip_code(obj):
    """``obj`` without any "code" entry (at any depth): what identifies a result apart from the
    code that computed it."""
    if isinstance(obj, dict):
        return {k: _strip_code(v) for k, v in obj.items() if k != "code"}
    if isinstance(obj, (list, tuple)):
        return [_strip_code(v) for v in obj]
    return obj


def _code_parts(obj, prefix: str = "") -> dict:
    """Every "code" fingerprint in ``obj`` (at any depth) flattened to {"where: module": digest,
    "where: [package]": version}."""
    out = {}
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k == "code" and isinstance(v, dict):
                where = f"{prefix}: " if prefix else ""
                out.update({f"{where}{m}": d for m, d in (v.get("modules") or {}).items()})
                out.update({f"{where}[{p}]": ver for p, ver in (v.get("versions") or {}).items()})
            else:
                out.update(_code_parts(v, f"{prefix}.{k}" if prefix else str(k)))
    return out


def _code_change(old: dict, new: dict) -> str:
    """What differs between two flattened code fingerprints, in a few words."""
    mods, vers = [], []
    for k in sorted(set(old) | set(new)):
        if old.get(k) == new.get(k):
            continue
        name = k.rsplit(": ", 1)[-1]
        if name.startswith("["):
            vers.append(f"{name[1:-1]} {old.get(k, '-')} -> {new.get(k, '-')}")
        else:
            mods.append(name)
    mods, vers = sorted(set(mods)), sorted(set(vers))
    parts = []
    if mods:
        parts.append(", ".join(mods[:6]) + (f" and {len(mods) - 6} more" if len(mods) > 6 else ""))
    parts += vers
    return "code changed" + (f" ({'; '.join(parts)})" if parts else "")


def _label(kind: str, key: dict) -> str:
    what = str(key.get("what", kind))
    layer = key.get("layer")
    return f"{what} @ {layer}" if layer else what


class DiskCache:
    """The value for a key, computed once and stored on disk.

    Parameters
    ----------
    root : path or None
        The cache folder (created if needed); ``None`` keeps entries in memory only.

    Attributes
    ----------
    hits : int
        Entries found since the cache was opened.
    misses : int
        Entries computed since the cache was opened.
    events : list of (str, str)
        One ``(label, reason)`` per miss, e.g. ``("features @ fc1", "code changed (features.py)")``.
    """

    def __init__(self, root: str | os.PathLike | None):
        self.root = Path(root) if root is not None else None
        self._memo: dict[str, object] = {}
        self.hits = self.misses = 0
        self.events: list[tuple[str, str]] = []
        if self.root is not None:
            (self.root / "index").mkdir(parents=True, exist_ok=True)
            for folder in (self.root, self.root / "index"):
                clean_stale_temporaries(folder, older_than_s=STALE_AFTER_S)
            old = [p for p in self.root.iterdir() if _OLD_ENTRY.match(p.name)]
            for p in old:  # entries of the first format (no checksum, no code in the key): never read again
                p.unlink(missing_ok=True)
            if old:
                log.info("cache: removed %d entries of an older format from %s", len(old), self.root)

    @staticmethod
    def _full_key(key: dict, compute: Callable) -> dict:
        if not isinstance(key, dict):
            raise TypeError(f"a cache key must be a dict of JSON-able values, got {type(key).__name__}")
        if "code" in key:
            return key
        return {**key, "code": code_fingerprint(compute)}

    def path(self, kind: str, key: dict) -> Path | None:
        """The entry file of ``key`` (as given to :meth:`get`, which adds the code fingerprint of
        the compute function when the key has none), or None for a memory-only cache.

        Parameters
        ----------
        kind : {"sevecs", "tensors"}
        key : dict

        Returns
        -------
        pathlib.Path or None
        """
        if self.root is None:
            return None
        return self.root / f"{kind}-{value_digest(key)}.entry"

    def get(self, kind: str, key: dict, compute: Callable[[], object]):
        """The cached value for ``key``, or ``compute()``'s, stored for next time.

        Parameters
        ----------
        kind : {"sevecs", "tensors"}
            "sevecs": a :class:`SemanticVectors`; "tensors": a dict of tensors and plain values.
        key : dict
            JSON-able; what determines the value. Without a "code" entry, the code fingerprint of
            the module defining ``compute`` (and what it imports) is added.
        compute : callable
            Called with no argument on a miss.

        Returns
        -------
        The value.

        Raises
        ------
        ValueError
            If ``kind`` is unknown.
        """
        if kind not in KINDS:
            raise ValueError(f"kind must be 'sevecs' or 'tensors', got {kind!r}")
        key = self._full_key(key, compute)
        digest = value_digest(key)
        mkey = f"{kind}-{digest}"
        if mkey in self._memo:
            self.hits += 1
            return self._memo[mkey]
        label = _label(kind, key)
        p = self.path(kind, key)
        value, reason = None, "new"
        if p is not None:
            if p.exists():
                try:
                    value = self._read(kind, p, digest)
                except CacheEntryError as e:
                    reason = f"damaged entry ({e})"
            else:
                reason = self._why_missing(kind, key, digest)
        if value is None:
            self.misses += 1
            self.events.append((label, reason))
            log.log(logging.INFO if reason == "new" else logging.WARNING,
                    "cache: %s %s: %s", label, "computed" if reason == "new" else "recomputed", reason)
            t0 = time.time()
            value = compute()
            if p is not None:
                self._write(kind, p, value, key, digest, time.time() - t0)
        else:
            self.hits += 1
        self._memo[mkey] = value
        return value

    # -- the index: which code a key was last stored with --------------------------------
    def _index_path(self, kind: str, key: dict) -> Path:
        return self.root / "index" / f"{kind}-{value_digest(_strip_code(key))}.json"

    def _why_missing(self, kind: str, key: dict, digest: str) -> str:
        try:
            last = json.loads(self._index_path(kind, key).read_text())
        except (OSError, ValueError):
            return "new"
        if not isinstance(last, dict):
            return "new"
        if last.get("digest") == digest:
            return "entry missing"
        return _code_change(last.get("code") or {}, _code_parts(key))

    # -- entries ------------------------------------------------------------------------
    @staticmethod
    def _read(kind: str, p: Path, digest: str):
        """The value stored in ``p``; CacheEntryError if it is truncated, damaged or foreign."""
        try:
            with open(p, "rb") as fh:
                data = fh.read()
        except OSError as e:
            raise CacheEntryError(f"unreadable: {e}") from None
        if not data.startswith(MAGIC):
            raise CacheEntryError("not a sevec_helpers cache entry")
        nl = data.find(b"\n", len(MAGIC))
        if nl < 0:
            raise CacheEntryError("truncated header")
        try:
            head = json.loads(data[len(MAGIC):nl])
            size, sha, key_digest = int(head["size"]), str(head["sha256"]), str(head["key"])
        except (ValueError, KeyError, TypeError):
            raise CacheEntryError("damaged header") from None
        payload = data[nl + 1:]
        if len(payload) != size:
            raise CacheEntryError(f"truncated: {len(payload)} of {size} bytes")
        if hashlib.sha256(payload).hexdigest() != sha:
            raise CacheEntryError("checksum mismatch")
        if key_digest != digest or head.get("kind") != kind:
            raise CacheEntryError("written for another key")
        try:
            obj = torch.load(io.BytesIO(payload), map_location="cpu", weights_only=True)
            if kind == "sevecs":
                return SemanticVectors._from_payload(obj, str(p))
            return obj["value"]
        except Exception as e:  # an entry of an older format: recompute it
            raise CacheEntryError(f"unreadable payload: {type(e).__name__}") from None

    def _write(self, kind: str, p: Path, value, key: dict, digest: str, seconds: float) -> None:
        buf = io.BytesIO()
        torch.save(value._to_payload() if kind == "sevecs" else {"value": value}, buf)
        payload = buf.getvalue()
        head = {"kind": kind, "key": digest, "size": len(payload), "sha256": hashlib.sha256(payload).hexdigest(),
                "seconds": round(seconds, 3), "what": json.dumps(key, default=str, sort_keys=True)}
        atomic_write(p, lambda fh: (fh.write(MAGIC), fh.write(json.dumps(head).encode() + b"\n"), fh.write(payload)))
        index = {"digest": digest, "code": _code_parts(key)}
        atomic_write(self._index_path(kind, key), lambda fh: fh.write(json.dumps(index, sort_keys=True)),
                     binary=False)
