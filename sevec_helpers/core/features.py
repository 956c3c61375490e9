"""Streaming feature extraction: any of the accepted forms of data as batches, and the
activations of one layer for every image (:func:`extract_features`).

Functions here never move the user's model: they run where it lives (the device of its
parameters), and the inputs are moved there, as in Captum and scikit-learn. Taps are in
:mod:`sevec_helpers.core.taps`, input checks in :mod:`sevec_helpers.core.inputs`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, Dataset, default_collate
from tqdm.auto import tqdm

from sevec_helpers.core.fingerprint import cached_result
from sevec_helpers.core.inputs import (
    check_finite_activations,
    check_images,
    check_input_scale,
    check_labels,
    eval_mode,
    model_dtype,
    warn_if_signed,
)
from sevec_helpers.core.layers import LayerRef
from sevec_helpers.core.taps import tap


class Features(NamedTuple):
    """Activations of one layer: ``values`` (N, D) float32 on the CPU, ``labels`` (N,) or None."""

    values: torch.Tensor
    labels: torch.Tensor | None


# ---------------------------------------------------------------------------------------
# streaming over data
# ---------------------------------------------------------------------------------------


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
