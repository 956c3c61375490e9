"""Streaming feature extraction: any of the accepted forms of data as batches, and the
activations of one layer for every image (:func:`extract_features`).

Functions here never move the user's model: they run where it lives (the device of its
parameters), and the inputs are moved there, as in Captum and scikit-learn. Taps are in
:mod:`sevec_helpers.core.taps`, input checks in :mod:`sevec_helpers.core.inputs`.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, Dataset, default_collate
from tqdm.auto import tqdm

from sevec_helpers.core.fingerprint import cached_result, model_fingerprint
from sevec_helpers.core.inputs import (
    INFO_ATTR,
    check_finite_activations,
    check_images,
    check_input_scale,
    check_labels,
    eval_mode,
    model_dtype,
    warn_if_signed,
)
from sevec_helpers.core.layers import LayerRef, layer_aliases, resolve_layer
from sevec_helpers.core.taps import tap


@dataclass(frozen=True)
class FeatureSource:
    """Where activations came from: the layer (every name it goes by: as given, its module
    label, its aliases), the model's name and weights fingerprint, and the input size."""

    layers: tuple
    fingerprint: str = ""
    model_name: str = ""
    input_size: tuple | None = None

    @property
    def layer(self) -> str:
        return self.layers[0] if self.layers else ""


_SOURCES: dict[int, tuple] = {}   # id(values tensor) -> (weak reference to it, FeatureSource)


def _tag(values: torch.Tensor, source: FeatureSource) -> None:
    key = id(values)

    def forget(ref, key=key):
        if _SOURCES.get(key, (None,))[0] is ref:
            del _SOURCES[key]

    _SOURCES[key] = (weakref.ref(values, forget), source)


def source_of(features) -> FeatureSource | None:
    """Where ``features`` came from: a :class:`Features`' ``source``, or that of the very tensor
    ``extract_features`` returned as ``values``; None for any other tensor (its provenance is
    unknown: only its width can be checked)."""
    if isinstance(features, Features):
        return features.source
    if isinstance(features, torch.Tensor):
        entry = _SOURCES.get(id(features))
        if entry is not None and entry[0]() is features:
            return entry[1]
    return None


def feature_values(features):
    """The activations of a :class:`Features` (its ``values``), or ``features`` itself."""
    return features.values if isinstance(features, Features) else features


class _FeaturesTuple(NamedTuple):
    values: torch.Tensor
    labels: torch.Tensor | None


class Features(_FeaturesTuple):
    """Activations of one layer, as :func:`extract_features` returns them.

    A named tuple ``(values, labels)``: ``values`` (N, D) float32 on the CPU, ``labels`` (N,)
    or None; and ``source``, where they came from (a
    :class:`sevec_helpers.core.features.FeatureSource`: the layer and its names, the model's
    name and weights fingerprint, the input size; None when built by hand).
    SeVec scores (``sv.retrieve(f)``, ``sv.explain(f)``, ...) take a ``Features`` (or its
    ``values``) and refuse features of another model, layer or input size.
    """

    source: FeatureSource | None = None

    def __new__(cls, values, labels=None, source: FeatureSource | None = None):
        self = super().__new__(cls, values, labels)
        if source is not None:
            self.source = source
            if isinstance(values, torch.Tensor):
                _tag(values, source)
        return self

    def __repr__(self) -> str:
        where = f", layer {self.source.layer!r} of {self.source.model_name}" if self.source else ""
        n = "no" if self.labels is None else len(self.labels)
        return f"Features({tuple(self.values.shape)} values, {n} labels{where})"


def feature_source(model: nn.Module, layer: str | LayerRef, input_size=None) -> FeatureSource:
    """The :class:`FeatureSource` of activations of ``layer`` of ``model``."""
    ref = resolve_layer(model, layer)
    given = layer if isinstance(layer, str) else ref.label
    names = [given, ref.label]
    for alias, target in layer_aliases(model).items():
        try:
            if resolve_layer(model, target).label == ref.label:
                names.append(alias)
        except ValueError:
            continue
    name = (getattr(model, INFO_ATTR, None) or {}).get("name") or type(model).__name__
    return FeatureSource(tuple(dict.fromkeys(names)), model_fingerprint(model), name,
                         tuple(int(v) for v in input_size) if input_size is not None else None)


# ---------------------------------------------------------------------------------------
# streaming over data
# ---------------------------------------------------------------------------------------


def skip_none_collate(batch):
    """Collate that drops the items a dataset could not read (returned as None)."""
    batch = [b for b in batch if b is not None]
    return default_collate(batch) if batch else None


_DATA_FORMS = ("a torch Dataset, a DataLoader, an image tensor or numpy array (N, 3, H, W), or a tuple "
               "(images, labels) of tensors or numpy arrays")


def _item_path(ds, i: int) -> str | None:
    """The file behind item ``i`` of a data set, where it says (``samples`` or ``imgs`` of
    (path, label) pairs, as torchvision's ImageFolder and this package's folders have)."""
    for attr in ("samples", "imgs"):
        items = getattr(ds, attr, None)
        try:
            first = items[i][0] if items is not None else None
        except (TypeError, IndexError, KeyError):
            continue
        if isinstance(first, (str, bytes)) or hasattr(first, "__fspath__"):
            return str(first)
    return None


class _NamedItems(Dataset):
    """A data set whose failure to read an item names the item (and its file, where known)."""

    def __init__(self, ds: Dataset):
        self.ds = ds

    def __len__(self):
        return len(self.ds)

    def __getitem__(self, i):
        try:
            return self.ds[i]
        except Exception as e:
            path = _item_path(self.ds, i)
            where = f"item {i} of the data" + (f" ({path})" if path else "")
            if isinstance(e, OSError):   # PIL: truncated, corrupt or not an image
                raise OSError(f"cannot read {where}: {e}. Fix or remove the file, or read the folder with "
                              f"sevec_helpers.sources.datasets.ImageFolderCapped, which skips unreadable images and "
                              f"lists them in .skipped") from e
            if hasattr(e, "add_note"):
                e.add_note(f"(while reading {where})")
            raise


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
        loader = DataLoader(_NamedItems(data), batch_size=batch_size, shuffle=False, num_workers=0,
                            collate_fn=skip_none_collate)
    else:
        raise TypeError(f"data must be {_DATA_FORMS}; got {type(data).__name__}")
    for batch in loader:
        if batch is None:  # every item of the batch was unreadable (see sevec_helpers.sources.datasets)
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
            return {"values": f.values, "labels": f.labels, "input_size": torch.tensor(f.source.input_size)}
        params = {"layer": layer if isinstance(layer, str) else layer.label}
        if binarize:
            params["binarize"] = True
        v = cached_result(cache, "tensors", "features", model, data, compute, **params)
        return Features(v["values"], v["labels"], feature_source(model, layer, v.get("input_size")))
    feats, labels = [], []
    size = None
    dtype = model_dtype(model)
    with eval_mode(model) as dev, tap(model, layer, stop=True) as t, torch.inference_mode():
        first = True
        bar = tqdm(as_loader(data, batch_size), total=n_batches(data, batch_size), disable=not progress,
                   desc=f"features @ {t.ref.label}")
        for x, y in bar:
            x = check_images(x, dtype=dtype).to(dev, non_blocking=True)
            if first:
                check_input_scale(model, x)
                size = tuple(x.shape[-2:])
            h = t.run(model, x)
            check_finite_activations(h, t.ref.label)
            if first:
                if binarize:
                    warn_if_signed(h, t.ref.label)
                first = False
            feats.append((h > 0).float().cpu() if binarize else h.float().cpu())
            if y is not None:
                labels.append(y)
    if not feats:
        raise ValueError("data is empty: no images to extract features from")
    out = torch.cat(feats)
    source = feature_source(model, layer, size)
    if labels:
        if len(labels) != len(feats):
            raise ValueError("some batches had labels and some did not; yield (image, label) pairs throughout")
        return Features(out, torch.cat(labels).long(), source)
    return Features(out, None, source)
