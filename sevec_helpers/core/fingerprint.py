"""Fingerprints: a short, stable digest of a model's weights, of tensors, of plain values.

Used to record where SeVecs came from (provenance), to key the disk cache, and to check
files for damage. A model's digest is cached on the model and recomputed only when one of
its tensors was replaced or modified in place (torch bumps a tensor's version counter
on every in-place write, ``load_state_dict`` included).
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import sys
import types
from pathlib import Path

import numpy as np
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


# ---------------------------------------------------------------------------------------
# what computed it: a digest of the package source a result depends on
# ---------------------------------------------------------------------------------------

PACKAGE = __name__.split(".")[0]
_PACKAGE_DIR = Path(__file__).resolve().parents[1]   # the package root (this file is core/fingerprint.py)
_SOURCE_MEMO: dict = {}  # file -> ((mtime_ns, size), (digest, imported modules))


def _module_file(name: str, root: Path) -> Path | None:
    """The source file of package module ``name`` ("sevec_helpers.x.y") under ``root``, or None."""
    parts = name.split(".")
    if parts[0] != PACKAGE:
        return None
    base = root.joinpath(*parts[1:])
    for p in (base.with_suffix(".py"), base / "__init__.py"):
        if p.is_file():
            return p
    return None


def _strip_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                node.body = node.body[1:] or [ast.Pass()]
    return tree


def _loaded_files() -> set:
    """The source files of the package modules this process has imported."""
    out = set()
    for name, mod in list(sys.modules.items()):
        f = getattr(mod, "__file__", None) if name.split(".")[0] == PACKAGE else None
        if f:
            out.add(Path(f).resolve())
    return out


def _parse_source(name: str, path: Path, root: Path) -> tuple[str, frozenset]:
    """(digest of the code, package modules it imports). The digest is of the syntax tree with
    docstrings removed, so editing a comment, a docstring or the layout does not count as a code
    change; imports are read anywhere in the file (functions included), like the layering test."""
    st = path.stat()
    memo = _SOURCE_MEMO.get(path)
    if memo is not None and (memo[0] == (st.st_mtime_ns, st.st_size) or path in _loaded_files()):
        # a module this process has imported runs the code it was imported with: a later edit of its
        # file (say, in a long-lived notebook kernel) must not relabel what the old code computes
        return memo[1]
    tree = ast.parse(path.read_bytes(), filename=str(path))
    is_pkg = path.name == "__init__.py"
    here = name.split(".") if is_pkg else name.split(".")[:-1]
    deps = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [(a.name, ()) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[: len(here) - (node.level - 1)]
                mod = ".".join(base + (node.module.split(".") if node.module else []))
            else:
                mod = node.module or ""
            targets = [(mod, tuple(a.name for a in node.names))]
        else:
            continue
        for mod, names in targets:
            if mod.split(".")[0] != PACKAGE:
                continue
            subs = [f"{mod}.{n}" for n in names if _module_file(f"{mod}.{n}", root) is not None]
            deps.update(subs)
            if len(subs) < len(names) or not names:  # names taken from the module itself
                deps.add(mod)
    deps.discard(name)
    digest = hashlib.sha256(ast.dump(_strip_docstrings(tree)).encode()).hexdigest()[:12]
    out = (digest, frozenset(deps))
    _SOURCE_MEMO[path] = ((st.st_mtime_ns, st.st_size), out)
    return out


def _root_modules(obj) -> tuple[set, set]:
    """(package modules, other top-level packages) that define ``obj``: a module name, a
    module, a function or class, a model (every submodule's class) or a dataset / loader."""
    mods, external = set(), set()

    def add(modname):
        if not modname:
            return
        top = modname.split(".")[0]
        if top == PACKAGE:
            mods.add(modname)
        elif top not in ("builtins", "__main__", "torch", "numpy"):
            external.add(top)

    if isinstance(obj, str):
        add(obj)
    elif isinstance(obj, types.ModuleType):
        add(obj.__name__)
    elif isinstance(obj, nn.Module):
        for m in obj.modules():
            add(type(m).__module__)
    elif callable(obj) and not isinstance(obj, type) and hasattr(obj, "__module__") and hasattr(obj, "__code__"):
        add(obj.__module__)
    elif isinstance(obj, type):
        add(obj.__module__)
    else:  # a dataset, a loader, a wrapper: its class and those of what it wraps
        seen = 0
        while obj is not None and seen < 8:
            add(type(obj).__module__)
            obj = getattr(obj, "dataset", None) or (obj.__dict__.get("base") if hasattr(obj, "__dict__") else None)
            seen += 1
    return mods, external


def code_fingerprint(*roots, root: str | os.PathLike | None = None) -> dict:
    """What code computes a result, for a cache key: per package module that ``roots`` depend on
    (the modules defining them and, transitively, every package module those import, read
    statically), a digest of its code (docstrings, comments and layout excluded), plus the
    versions of torch, numpy and of any other package a root comes from (e.g. torchvision
    for its models).

    Parameters
    ----------
    *roots : str, module, function, class, nn.Module or dataset
        What the result was computed by: module names ("sevec_helpers.sevecs.vectors"), the compute
        function, the model (the classes of all its submodules), the data.
    root : path, optional
        The package's source folder (default: the installed package); for tests.

    Returns
    -------
    dict
        ``{"modules": {relative path: digest}, "versions": {package: version}}``, JSON-able.
        Two results computed by the same code and libraries get equal fingerprints; an edit to
        the code of one module changes the fingerprint of exactly the results that depend on it.
    """
    pkg_dir = Path(root) if root is not None else _PACKAGE_DIR
    mods, external = set(), set()
    for r in roots:
        m, e = _root_modules(r)
        mods |= m
        external |= e
    todo, seen, digests = sorted(mods), set(), {}
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        path = _module_file(name, pkg_dir)
        if path is None:
            continue
        digest, deps = _parse_source(name, path, pkg_dir)
        digests[path.relative_to(pkg_dir).as_posix()] = digest
        todo.extend(d for d in deps if d not in seen)
    versions = {"torch": torch.__version__, "numpy": np.__version__}
    for top in sorted(external):  # e.g. torchvision for its models; scripts and notebooks have no version
        version = getattr(sys.modules.get(top), "__version__", None)
        if version is not None:
            versions[top] = str(version)
    return {"modules": dict(sorted(digests.items())), "versions": versions}


def cached_result(cache, kind: str, what: str, model: nn.Module, data, compute, /, **params):
    """``compute()``, or its value from ``cache`` (anything with ``get(kind, key, compute)``,
    e.g. :class:`sevec_helpers.sevecs.cache.DiskCache`) under a key naming what computed it: ``what``,
    the model's weights fingerprint, the data's fingerprint and ``params``. ``cache=None``
    computes. This is the one place the core's public functions build cache keys."""
    if cache is None:
        return compute()
    if not callable(getattr(cache, "get", None)):
        raise TypeError(f"cache must have a get(kind, key, compute) method (e.g. sevec_helpers.sevecs.cache.DiskCache), "
                        f"got {type(cache).__name__}")
    key = {"what": what, "model": model_fingerprint(model), "data": dataset_fingerprint(data), **params,
           "code": code_fingerprint(compute, model, data)}
    return cache.get(kind, key, compute)
