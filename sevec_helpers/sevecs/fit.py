"""Fitting SeVecs in one streaming pass over the data (:func:`fit_sevecs`), at one layer or
several at once, where the model lives; the Eq. 3 sums are :mod:`sevec_helpers.sevecs.accumulator`.
"""

from __future__ import annotations

import contextlib
from typing import Callable, Sequence

import torch
import torch.nn as nn
from tqdm.auto import tqdm

from sevec_helpers.core.classes import data_class_names
from sevec_helpers.core.features import as_loader, n_batches
from sevec_helpers.core.fingerprint import cached_result, model_fingerprint
from sevec_helpers.core.inputs import (
    _StopForward,
    call_model,
    check_finite_activations,
    check_images,
    check_input_scale,
    eval_mode,
    model_dtype,
    warn_if_signed,
)
from sevec_helpers.core.layers import LayerRef, layer_aliases, nonnegative_layers, rectifier_modules, resolve_layer
from sevec_helpers.core.taps import _CallCounter, _flat, autocast_exact, find_producer
from sevec_helpers.sevecs.accumulator import SeVecAccumulator
from sevec_helpers.sevecs.vectors import SemanticVectors, model_name


def _concept_names(data) -> list[str] | None:
    return data_class_names(data)


class SeVecsByLayer(dict):
    """What ``fit_sevecs(model, data, layers=[...])`` returns: ``{layer as given: SemanticVectors}``,
    a dict. Asking it for what a SemanticVectors has (``.retrieve``, ``.names``, ...) says to
    pick a layer first."""

    def __getattr__(self, name):
        known = name in SemanticVectors.__dataclass_fields__ or hasattr(SemanticVectors, name)
        if not name.startswith("_") and known:
            first = next(iter(self), "pool5")
            raise AttributeError(f"fit_sevecs(..., layers=[...]) returns one SemanticVectors per layer, a dict of "
                                 f"{list(self)}: pick a layer first, e.g. sv[{first!r}].{name}")
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")


def _concept_kind(data) -> str:
    ds = getattr(data, "dataset", data)
    return str(getattr(ds, "concept_kind", ""))


class _LayerTaps:
    """Reads the outputs of several layers in ONE forward pass (see :func:`fit_accumulators`).

    Like :class:`sevec_helpers.core.taps.Tap`, per layer: a module that runs several times is
    refused unless its call is named; the pass ends as soon as every layer has been read
    (after a first full pass has checked the call counts)."""

    def __init__(self, refs):
        self.refs = list(refs)
        self.counters = [_CallCounter(r) for r in self.refs]
        self.outputs: list[torch.Tensor | None] = [None] * len(self.refs)
        self.may_stop = all(r.call is not None for r in self.refs)

    def hook(self, i: int):
        def read(module, inputs, out):
            if self.counters[i].selected():
                self.outputs[i] = _flat(out, self.refs[i]).detach().clone()
                if self.may_stop and all(o is not None for o in self.outputs):
                    raise _StopForward
        return read

    def run(self, model: nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
        self.outputs = [None] * len(self.refs)
        for c in self.counters:
            c.calls = 0
        try:
            call_model(model, x)
        except _StopForward:
            return list(self.outputs)
        for c in self.counters:
            c.check()
        self.may_stop = True
        return list(self.outputs)


@contextlib.contextmanager
def _layer_taps(model: nn.Module, refs):
    taps = _LayerTaps(refs)
    handles = []
    try:
        for i, r in enumerate(taps.refs):
            handles.append(r.module.register_forward_hook(taps.hook(i)))
        yield taps
    finally:
        for h in handles:
            h.remove()


def rectified_layer_names(model: nn.Module) -> list[str]:
    """Names of layers that are rectified (post-ReLU) by construction: the model's aliases,
    then its ReLU/ReLU6 modules. The layers the paper taps (pool5, fc1) are among them.

    Parameters
    ----------
    model : torch.nn.Module
        The network.

    Returns
    -------
    list of str
        Aliases first, then module names (what ``layers=`` suggests when it refuses a layer).
    """
    return list(layer_aliases(model)) + [n for n, _ in rectifier_modules(model)]


def resolve_layers(model: nn.Module, layers) -> list[tuple[str, LayerRef]]:
    """``layers=`` of :func:`fit_sevecs` checked: a non-empty list of distinct, known layers.
    Returns (the name as given, its LayerRef) pairs.

    Raises
    ------
    TypeError
        ``layers`` is a single string (use ``layer=``) or not a list.
    ValueError
        An unknown layer (the message lists the valid names), none, or one layer twice
        (also under two names, e.g. an alias and its module name).
    """
    if isinstance(layers, (str, LayerRef)):
        raise TypeError(f"layers= takes a list of layer names, got the single name {layers!r}; pass layer={layers!r} "
                        f"or layers=[{layers!r}]")
    if not isinstance(layers, (list, tuple)):
        raise TypeError(f"layers= takes a list of layer names such as ['pool5', 'fc1'], got {type(layers).__name__}")
    if not layers:
        raise ValueError(f"layers= is empty; name at least one layer, e.g. {rectified_layer_names(model)[:4]}")
    out, seen = [], {}
    for layer in layers:
        ref = resolve_layer(model, layer)  # unknown: ValueError listing the valid names
        name = layer if isinstance(layer, str) else ref.label
        if ref.label in seen:
            raise ValueError(f"layers= names one layer twice: {seen[ref.label]!r} and {name!r} are both {ref.label!r}; "
                             f"give each layer once (valid names: sevec_helpers.layer_names(model))")
        seen[ref.label] = name
        out.append((name, ref))
    return out


def _refuse_signed(label: str, model: nn.Module, x: torch.Tensor) -> None:
    """Refuse a layer with negative activations, listing the layers whose outputs on ``x`` are
    non-negative (with ``name@k`` for modules that run several times)."""
    try:
        valid = nonnegative_layers(model, x)
        # the layer refused may be non-negative on these first images (negative on a later one)
        valid = [v for v in valid if resolve_layer(model, v).label != label]
    except Exception:  # the list is a courtesy: never hide the refusal behind another error
        valid = [v for v in rectified_layer_names(model) if v != label]
    aliases = [v for v in valid if v in layer_aliases(model)]
    rest = [v for v in valid if v not in aliases]
    keep = max(24 - len(aliases), 8)
    if len(rest) > keep:   # the deepest layers, the ones the paper's pool5 and fc1 stand for
        rest = [f"... ({len(rest) - keep} earlier)"] + rest[-keep:]
    shown = ", ".join(aliases + rest)
    raise ValueError(f"layer {label!r} is not rectified: it has negative activations, so 1[phi(x) > 0] would read its "
                     f"sign pattern, not firing units. SeVecs are fitted at rectified layers only (the paper taps "
                     f"post-ReLU layers). Layers of {model_name(model)} with non-negative outputs on these images: "
                     f"{shown or 'none'}")


def fit_accumulators(model: nn.Module, data, layers, *, num_concepts: int | None = None, batch_size: int = 64,
                     progress: bool = True, desc: str | None = None, amp: bool = False,
                     accs: dict[str, SeVecAccumulator] | None = None,
                     on_batch: Callable[[dict[str, SeVecAccumulator], int, tuple], None] | None = None,
                     rectified_only: bool = True,
                     ) -> tuple[dict[str, SeVecAccumulator] | None, tuple | None]:
    """The streaming pass of :func:`fit_sevecs` for several layers at once: ONE forward pass
    per batch (stopped after the deepest of the layers), one accumulator per layer.

    Parameters
    ----------
    model : torch.nn.Module
        The network, where it lives (it is not moved).
    data
        Labelled data, as :func:`fit_sevecs` takes it.
    layers : list of str
        Distinct layers (names, aliases or ``name@k``), see :func:`resolve_layers`.
    num_concepts : int, optional
        The number of concepts (None: as labels arrive).
    batch_size, progress, desc
        The streaming pass and its progress bar.
    amp : bool
        bfloat16 autocast, with the layer feeding each tap in float32 (:func:`autocast_exact`).
    accs : dict, optional
        Accumulators to continue (a resumed run), keyed like the result.
    on_batch : callable, optional
        ``on_batch(accs, n, size)`` after the n-th batch (e.g. to checkpoint).
    rectified_only : bool
        Refuse a layer with negative activations on any image (True, what :func:`fit_sevecs`
        does for one layer or several), listing the layers with non-negative outputs; or
        only warn (False).

    Returns
    -------
    (dict or None, tuple or None)
        {name as given: filled :class:`SeVecAccumulator`} (None if the data was empty, and
        ``accs`` was None), and the input size (H, W) of the images.

    Raises
    ------
    ValueError
        Unknown, repeated or (``rectified_only``) non-rectified layers, unlabelled data,
        images changing size, NaN activations, ``accs`` of other layers.
    """
    pairs = resolve_layers(model, layers)
    names = [n for n, _ in pairs]
    if accs is not None and sorted(accs) != sorted(names):
        raise ValueError(f"the accumulators to continue are for layers {sorted(accs)}, not {names}")
    size = None
    signed = None   # the first layer found with negative activations: refused once the hooks are gone
    sample = None   # a few images of the first batch, to list the layers that work when one does not
    dtype = model_dtype(model)
    with contextlib.ExitStack() as stack:
        dev = stack.enter_context(eval_mode(model))
        taps = stack.enter_context(_layer_taps(model, [r for _, r in pairs]))
        stack.enter_context(torch.inference_mode())
        labels = ", ".join(r.label for _, r in pairs)
        bar = tqdm(as_loader(data, batch_size), total=n_batches(data, batch_size), disable=not progress,
                   desc=desc or f"fit SeVecs @ {labels}")
        nonfinite = torch.zeros((), dtype=torch.bool, device=dev)
        negative = torch.zeros(len(pairs), dtype=torch.bool, device=dev)
        for n, (x, y) in enumerate(bar, 1):
            if y is None or isinstance(y, dict):
                raise ValueError("fit_sevecs needs labelled data: yield (image, concept_index) pairs")
            if size is None:  # the first batch is checked at once, later ones without a host sync
                x = check_images(x, dtype=dtype).to(dev, non_blocking=True)
                check_input_scale(model, x)
                size = tuple(x.shape[-2:])
                sample = x[:4]
                if amp:
                    producers = {}
                    for _, r in pairs:
                        p = find_producer(model, r, x[:1])
                        producers.setdefault(id(p), p)
                    for p in producers.values():
                        stack.enter_context(autocast_exact(p, dev))
                hs = [h.float() for h in taps.run(model, x)]
                for (name, r), h in zip(pairs, hs):
                    check_finite_activations(h, r.label)
                    if rectified_only and bool((h < 0).any()):
                        signed = r.label
                        break
                    elif not rectified_only:
                        warn_if_signed(h, r.label)
                if signed is not None:
                    break
                if accs is None:
                    accs = {name: SeVecAccumulator(num_concepts, h.shape[1], device=dev) for (name, _), h in zip(pairs, hs)}
                for (name, r), h in zip(pairs, hs):
                    if accs[name].dim != h.shape[1]:
                        raise ValueError(f"the accumulator to continue has {accs[name].dim} units, layer {r.label!r} "
                                         f"has {h.shape[1]}: it belongs to another layer or model")
            else:
                if not isinstance(x, torch.Tensor) or x.dtype != dtype or x.dim() != 4:
                    x = check_images(x, dtype=dtype)
                if tuple(x.shape[-2:]) != size:
                    raise ValueError(f"images change size within the data ({size[0]}x{size[1]}, then "
                                     f"{x.shape[-2]}x{x.shape[-1]}): resize them all to one size (the model's transform)")
                hs = [h.float() for h in taps.run(model, x.to(dev, non_blocking=True))]
                for i, h in enumerate(hs):
                    nonfinite |= ~torch.isfinite(h).all()
                    if rectified_only:
                        negative[i] |= (h < 0).any()
            for name, h in zip(names, hs):
                accs[name].update(h, y, check_finite=False)
            if on_batch is not None:
                on_batch(accs, n, size)
        if bool(nonfinite):
            raise ValueError(f"activations of layer(s) {labels} contained NaN or Inf in some batch; check the input "
                             f"images (e.g. torch.nan_to_num) and the model's weights")
        if signed is None and bool(negative.any()):   # negative on an image of a later batch: refused all the same
            signed = pairs[int(negative.nonzero()[0])][1].label
    if signed is not None:
        _refuse_signed(signed, model, sample)
    return accs, size


def fit_accumulator(model: nn.Module, data, layer: str, *, num_concepts: int | None = None, batch_size: int = 64,
                    progress: bool = True, desc: str | None = None, amp: bool = False,
                    acc: SeVecAccumulator | None = None,
                    on_batch: Callable[[SeVecAccumulator, int, tuple], None] | None = None
                    ) -> tuple[SeVecAccumulator | None, str, tuple | None]:
    """The streaming pass of :func:`fit_sevecs` for one layer, where the model lives.

    Parameters
    ----------
    model, data, layer
        As :func:`fit_sevecs`.
    num_concepts, batch_size, progress, desc, amp
        As :func:`fit_accumulators`.
    acc : SeVecAccumulator, optional
        An accumulator to continue (a resumed run).
    on_batch : callable, optional
        ``on_batch(acc, n, size)`` after the n-th batch (e.g. to checkpoint).

    Returns
    -------
    (SeVecAccumulator or None, str, tuple or None)
        The filled accumulator (None if the data was empty), the layer's label and the
        input size (H, W). Shards fitted this way can be merged, or summed across
        processes with :meth:`SeVecAccumulator.all_reduce`.

    Raises
    ------
    ValueError
        As :func:`fit_accumulators` (a layer with negative activations is refused).
    """
    label = layer if isinstance(layer, str) else resolve_layer(model, layer).label
    hook = None if on_batch is None else (lambda accs, n, size: on_batch(accs[label], n, size))
    accs, size = fit_accumulators(model, data, [layer], num_concepts=num_concepts, batch_size=batch_size,
                                  progress=progress, desc=desc, amp=amp, accs=None if acc is None else {label: acc},
                                  on_batch=hook)
    return (None if accs is None else accs[label]), label, size


def _concept_count(data, names, num_concepts):
    if names is None:
        names = _concept_names(data)
    if names is not None and num_concepts is not None and len(names) != num_concepts:
        raise ValueError(f"names has {len(names)} entries but num_concepts={num_concepts}")
    return names, (len(names) if names is not None else num_concepts)


def fit_sevecs(
    model: nn.Module,
    data,
    layer: str | None = None,
    *,
    layers: Sequence[str] | None = None,
    names: Sequence[str] | None = None,
    num_concepts: int | None = None,
    kind: str | None = None,
    batch_size: int = 64,
    progress: bool = True,
    allow_empty: bool = False,
    amp: bool = False,
    cache=None,
) -> SemanticVectors | dict[str, SemanticVectors]:
    """Fit one SeVec per concept at ``layer`` (or at each of ``layers``) in ONE streaming
    pass over ``data``, where the model lives.

    Parameters
    ----------
    model : torch.nn.Module
        The network; it is not moved. The forward pass stops right after the (deepest) layer.
    data : Dataset, DataLoader, or (images, labels) tuple of tensors or arrays
        Yields (image, concept index) pairs.
    layer : str, optional
        One layer: a module name, an alias ("pool5", "fc1") or ``name@k``. One layer or several,
        a layer with negative activations on any image is refused (1[phi(x) > 0] would read its
        sign, not firing units), listing the layers of this model that are non-negative on the
        data (``name@k`` for a module that runs several times).
    layers : list of str, optional
        Several layers instead of ``layer``: one accumulator per layer, filled in the same
        single forward pass (memory per layer as for one layer). Unknown or repeated layers
        are refused with the valid names.
    names : sequence of str, optional
        Concept names (default: the dataset's ``classes``).
    num_concepts : int, optional
        The number of concepts when there are no names (default: the largest label seen + 1).
    kind : str, optional
        What the concepts are ("classes", "textures", ...; default the dataset's ``concept_kind``).
    batch_size, progress
        The streaming pass; a progress bar.
    allow_empty : bool
        Keep a concept without live samples as a zero vector instead of refusing it.
    amp : bool
        bfloat16 autocast, with the layer feeding each tap in float32 (with ``layers=``, the
        layer feeding each of them: the layers read in float32 then differ from a
        single-layer ``amp`` fit's, so their SeVecs may differ in a few units; without
        ``amp`` they are identical).
    cache : DiskCache, optional
        Return the SeVecs stored for this model's weights, this data and this layer, or fit
        and store them. With ``layers=`` each layer has its own entry, under the same key
        as a single-layer fit of that layer; layers not cached are fitted together in one pass.

    Returns
    -------
    SemanticVectors or dict
        With ``layer=``, the SeVecs; with ``layers=``, a dict {layer as given: SemanticVectors}
        (:class:`sevec_helpers.sevecs.fit.SeVecsByLayer`: asked for ``.retrieve`` or any other SemanticVectors
        attribute, it says to pick a layer first), each equal to a single-layer fit of that layer.

    Raises
    ------
    ValueError
        Empty data, unknown layer, a layer with negative activations, a concept without live
        samples (unless ``allow_empty``), images of the wrong shape or scale, NaN activations.
    TypeError
        Both or neither of ``layer`` and ``layers``; ``layers`` a single string.
    """
    if (layer is None) == (layers is None):
        raise TypeError("pass exactly one of layer= (one layer) and layers= (a list, fitted in one pass)")
    kind_ = kind if kind is not None else _concept_kind(data)
    opts = dict(names=names, num_concepts=num_concepts, kind=kind, batch_size=batch_size, progress=progress,
                allow_empty=allow_empty, amp=amp)
    if layers is not None:
        pairs = resolve_layers(model, layers)
        if cache is None:
            return SeVecsByLayer(_fit_layers(model, data, [n for n, _ in pairs], **opts))
        done: dict[str, SemanticVectors] = {}

        def compute(name):
            # the first miss fits every layer not yet fitted, in one pass; later misses reuse it
            if name not in done:
                todo = [n for n, _ in pairs if n not in done]
                done.update(_fit_layers(model, data, todo, **opts))
            return done[name]

        return SeVecsByLayer({n: cached_result(cache, "sevecs", "sevecs", model, data, lambda n=n: compute(n), layer=n,
                                               concept_kind=kind_, names=list(names) if names is not None else None)
                              for n, _ in pairs})
    if cache is not None:
        return cached_result(cache, "sevecs", "sevecs", model, data,
                             lambda: fit_sevecs(model, data, layer, **opts),
                             layer=layer if isinstance(layer, str) else layer.label,
                             concept_kind=kind_, names=list(names) if names is not None else None)
    names, k = _concept_count(data, names, num_concepts)
    acc, label, size = fit_accumulator(model, data, layer, num_concepts=k, batch_size=batch_size, progress=progress,
                                       amp=amp)
    if acc is None:
        raise ValueError("data is empty: no images to fit SeVecs on")
    return SemanticVectors.from_accumulator(acc, names, layer=label, allow_empty=allow_empty, model_name=model_name(model),
                                            fingerprint=model_fingerprint(model), input_size=size, kind=kind_)


def _fit_layers(model, data, layers, *, names, num_concepts, kind, batch_size, progress, allow_empty, amp):
    names, k = _concept_count(data, names, num_concepts)
    accs, size = fit_accumulators(model, data, list(layers), num_concepts=k, batch_size=batch_size, progress=progress,
                                  amp=amp)
    if accs is None:
        raise ValueError("data is empty: no images to fit SeVecs on")
    prov = dict(model_name=model_name(model), fingerprint=model_fingerprint(model), input_size=size,
                kind=kind if kind is not None else _concept_kind(data))
    return {n: SemanticVectors.from_accumulator(a, names, layer=n, allow_empty=allow_empty, **prov)
            for n, a in accs.items()}
