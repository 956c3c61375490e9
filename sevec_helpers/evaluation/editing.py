"""Editing a layer's output: the paper's Table 1 (single neuron vs SeVec) and its variants."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
import torch.nn as nn
from tqdm.auto import tqdm

from sevec_helpers.core.classes import data_class_names, label_outputs, labels_are_outputs, rows_for_targets
from sevec_helpers.core.features import as_loader, n_batches
from sevec_helpers.core.inputs import (
    call_model,
    check_images,
    check_input_scale,
    check_labels,
    eval_mode,
    model_dtype,
)
from sevec_helpers.core.layers import resolve_layer, same_layer
from sevec_helpers.core.taps import _CallCounter, _flat, replace_output
from sevec_helpers.evaluation.metrics import sem
from sevec_helpers.sevecs.vectors import SemanticVectors

# ---------------------------------------------------------------------------------------

Edit = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]  # (h, labels, predictions) -> h'


@dataclass
class EditResult:
    """True-class probability and correctness of each image before and after each edit."""

    labels: np.ndarray            # (N,) the true class of each image, as a model output
    predictions: np.ndarray       # (N,) top-1 before any edit
    edit_predictions: np.ndarray  # (N,) top-1 among the classes with SeVecs (what the edits were given)
    baseline: np.ndarray          # (N,) true-class probability before any edit
    prob: dict                    # edit -> (N,) true-class probability after it
    correct: dict                 # edit -> (N,) bool, top-1 right after it

    def delta(self, edit: str) -> np.ndarray:
        return self.prob[edit] - self.baseline

    @property
    def accuracy_before(self) -> float:
        return float(np.mean(self.predictions == self.labels))


EDIT_CHUNK_ELEMENTS = 2**26
"""Edited copies of a layer's output run through the rest of the network together, up to
this many elements of the layer's output at a time (256 MB in float32)."""


ClassMap = Callable[[int], tuple]
"""Given a model's number of outputs: (the model output of each data label, or None when
label c is output c; a function from data labels to the labels the edits get)."""


def edit_study(model: nn.Module, data, layer: str, edits: dict[str, Edit], *, batch_size: int = 64,
               progress: bool = True, num_classes: int | None = None, desc: str = "edit study",
               stacked: bool | None = None, classes: ClassMap | None = None, cache=None) -> EditResult:
    """Run labelled ``data`` through ``model`` once unedited and once per edit of ``layer``'s
    (flattened) output, where the model lives. Each edit gets (h, labels, predictions);
    with ``num_classes`` the predictions passed to the edits are taken among the first
    ``num_classes`` outputs (the classes that have SeVecs), while ``predictions`` and
    the accuracies use all outputs. With ``classes`` (a ``ClassMap``), a data label is
    compared with the model output it names, and the edits get the labels it maps them to
    (e.g. SeVec rows: :func:`perturbation_study` matches them by name); without it, label c
    is output c and the edits get the labels as they are.

    The edits share the part of the network before ``layer``: the edited copies of h are
    stacked along the batch and run through the rest of the network together (one pass up
    to the layer for all edits). A network whose later part mixes in tensors computed
    before the layer (a skip connection around it) cannot take the stacked batch; it is
    then run once per edit, as ``stacked=False`` forces (``stacked=True`` refuses to fall back).

    With ``cache`` (a :class:`~sevec_helpers.sevecs.cache.DiskCache`), the unedited pass is the
    model's predictions on ``data`` (:func:`~sevec_helpers.evaluation.metrics.predict`, read
    back where :func:`~sevec_helpers.evaluation.metrics.accuracy` stored them, or computed and
    stored): the edits then cost one pass, not two. Where those predictions cannot stand for it
    (unlabelled, other classes than the ones the edits are given, labels naming other outputs),
    the unedited pass is run as without a cache.
    """
    ref = resolve_layer(model, layer)
    pre = _unedited(model, data, batch_size, num_classes, cache, progress)
    seen = 0
    dtype = model_dtype(model)
    labels, preds, preds_k, base = [], [], [], []
    prob = {k: [] for k in edits}
    correct = {k: [] for k in edits}
    names = list(edits)
    use_stack = stacked is not False
    out_of, edit_of = None, None
    with eval_mode(model) as dev, torch.inference_mode():
        bar = tqdm(as_loader(data, batch_size), total=n_batches(data, batch_size), disable=not progress, desc=desc)
        for x, y in bar:
            if y is None or isinstance(y, dict):
                raise ValueError("this study needs labelled images: yield (image, class_index) pairs")
            y = check_labels(y, len(x), num_classes, what="class labels")
            x = check_images(x, dtype=dtype).to(dev)
            if not base:
                check_input_scale(model, x)
            at = slice(seen, seen + len(x))
            seen += len(x)
            if pre is not None and classes is not None and edit_of is None:
                out_of, edit_of = classes(pre.n_outputs)
            if pre is not None and not _matches(pre, at, y, out_of):
                pre = None   # these predictions name other outputs than the edits would: run the pass
            if pre is None:
                out = call_model(model, x).float()
                if classes is not None and edit_of is None:
                    out_of, edit_of = classes(out.shape[1])
                n_out = out.shape[1] if out.dim() == 2 else -1
            else:
                n_out = pre.n_outputs
            y_edit = edit_of(y).to(dev) if edit_of is not None else None
            if out_of is not None:
                y = out_of[y]
            yd = y.to(dev)
            if y_edit is None:
                y_edit = yd
            if n_out < 0 or int(y.max()) >= n_out:
                raise ValueError(f"labels go up to {int(y.max())} but the model has {n_out} outputs")
            if pre is None:
                pred = out.argmax(1)
                pred_k = out[:, :num_classes].argmax(1) if num_classes else pred
                base.append(torch.softmax(out, dim=1).gather(1, yd[:, None])[:, 0].cpu())
            else:
                pred = pred_k = pre.top5[at, 0].to(dev)
                base.append(pre.prob_true[at])
            preds.append(pred.cpu())
            preds_k.append(pred_k.cpu())
            labels.append(y)
            outs = None
            if use_stack and names:
                outs, why = _stacked_edits(model, ref, x, y_edit, pred_k, edits)
                if outs is None:
                    # the fallback exists for networks that cannot take the stacked batch; a failure
                    # that one pass per edit shares (a bad edit, a broken model) is raised by that pass
                    outs = _one_pass_per_edit(model, ref, x, y_edit, pred_k, edits)
                    if stacked:
                        raise ValueError(f"the network's layers after {ref.label!r} cannot run the edited copies "
                                         f"stacked ({why}); use stacked=False")
                    warnings.warn(f"edit_study: the network's layers after {ref.label!r} cannot run the "
                                  f"{len(names)} edited copies stacked along the batch ({why}); running one pass "
                                  f"per edit instead (slower). Pass stacked=False to skip the attempt.",
                                  UserWarning, stacklevel=2)
                    use_stack = False
            if outs is None:
                outs = _one_pass_per_edit(model, ref, x, y_edit, pred_k, edits)
            for name, o in zip(names, outs):
                prob[name].append(torch.softmax(o, 1).gather(1, yd[:, None])[:, 0].cpu())
                correct[name].append((o.argmax(1) == yd).cpu())
    if not base:
        raise ValueError("data is empty")
    cat = lambda v: torch.cat(v).double().numpy()
    return EditResult(labels=torch.cat(labels).numpy(), predictions=torch.cat(preds).numpy(),
                      edit_predictions=torch.cat(preds_k).numpy(), baseline=cat(base),
                      prob={k: cat(v) for k, v in prob.items()},
                      correct={k: torch.cat(v).numpy() for k, v in correct.items()})


def _unedited(model, data, batch_size: int, num_classes: int | None, cache, progress: bool):
    """The model's stored (or computed and stored) predictions on ``data``, where they can stand
    for edit_study's unedited pass: labelled, and the edits given the top-1 of every output."""
    if cache is None:
        return None
    from sevec_helpers.evaluation.metrics import predict

    pre = predict(model, data, batch_size=batch_size, progress=progress, cache=cache)   # a bar when computed
    if pre.labels is None or pre.prob_true is None or pre.n_outputs is None:
        return None
    if num_classes is not None and num_classes != pre.n_outputs:
        return None   # the edits get the top-1 among the first num_classes outputs: not stored
    return pre


def _matches(pre, at: slice, y: torch.Tensor, out_of) -> bool:
    """Whether the stored predictions' rows ``at`` are these labels' images, scored on the outputs
    edit_study scores them on (its label -> output map ``out_of``; None: label c is output c)."""
    if len(pre.labels) < at.stop or not torch.equal(pre.labels[at], y.cpu()):
        return False
    want = y.cpu() if out_of is None else out_of[y.cpu()]
    return torch.equal(pre.true_outputs[at], want)


def _out_of_memory(e: BaseException) -> bool:
    types = tuple(t for t in (getattr(torch, "OutOfMemoryError", None), getattr(torch.cuda, "OutOfMemoryError", None))
                  if isinstance(t, type))
    msg = str(e).lower()
    return isinstance(e, types) or any(m in msg for m in ("out of memory", "can't allocate memory",
                                                           "not enough memory", "failed to allocate"))


def _one_pass_per_edit(model, ref, x, y, pred, edits: dict[str, Edit]) -> list[torch.Tensor]:
    outs = []
    for fn in edits.values():
        with replace_output(model, ref, lambda h, fn=fn: fn(h, y, pred)) as calls:
            outs.append(call_model(model, x).float())
        calls.check()
    return outs


def _stacked_edits(model, ref, x, y, pred, edits: dict[str, Edit]) -> tuple[list[torch.Tensor] | None, str]:
    """The model's outputs under each edit, from passes where the layer returns the edited
    copies of h stacked along the batch, so the network before the layer runs once per chunk
    of edits; and "". (None, why) when the rest of the network cannot take the stacked rows
    (it mixes in tensors from before the layer: a shape error, or not one output row per
    stacked row). Out-of-memory errors are raised, not taken for that."""
    fns = list(edits.values())
    n = x.shape[0]
    outs: list[torch.Tensor] = []
    i = 0
    while i < len(fns):
        state = {}

        def hook(module, inputs, out, i=i):
            if not counter.selected():
                return None
            h = _flat(out, ref)
            per = max(1, EDIT_CHUNK_ELEMENTS // max(1, h.numel()))
            chunk = fns[i: i + per]
            state["k"] = len(chunk)
            return torch.cat([fn(h, y, pred).reshape(out.shape).to(out.dtype) for fn in chunk])

        counter = _CallCounter(ref)
        handle = ref.module.register_forward_hook(hook)
        try:
            o = call_model(model, x)
        except RuntimeError as e:
            if _out_of_memory(e):
                raise
            root = e.__cause__ if isinstance(e.__cause__, RuntimeError) else e  # call_model's wrapper: the cause
            return None, f"{type(root).__name__}: {str(root).splitlines()[0] if str(root) else ''}"[:200]
        finally:
            handle.remove()
        counter.check()
        k = state["k"]
        if not isinstance(o, torch.Tensor) or o.dim() != 2 or o.shape[0] != k * n:
            got = tuple(o.shape) if isinstance(o, torch.Tensor) else type(o).__name__
            return None, f"{k} stacked copies of {n} images gave an output of shape {got}"
        outs += list(o.float().reshape(k, n, -1).unbind(0))
        i += k
    return outs, ""


def mask_edit(masks: torch.Tensor, *, by_prediction: bool = False, renormalize: bool = False) -> Edit:
    """h * masks[c], c the true class (or the predicted class); optionally rescaled so each
    edited row keeps the L2 norm of the original h."""
    cache = {}

    def fn(h, y, pred):
        m = cache.setdefault(h.device, masks.to(h.device))
        out = h * m[pred if by_prediction else y].to(h.dtype)
        if renormalize:
            out = out * (h.norm(dim=1, keepdim=True) / out.norm(dim=1, keepdim=True).clamp(min=1e-12))
        return out
    return fn


def neuron_edit(units: torch.Tensor | Callable[[int], torch.Tensor], scale: float = 1.5) -> Edit:
    """Set h[unit] := scale * max(h): ``units`` per class (a (K,) tensor indexed by the true
    class) or a callable giving one unit per image of a batch of size B."""
    def fn(h, y, pred):
        u = units(h.shape[0]).to(h.device) if callable(units) else units.to(h.device)[y]
        h = h.clone()
        h[torch.arange(h.shape[0], device=h.device), u] = scale * h.max(dim=1).values
        return h
    return fn


def _sevec_classes(model: nn.Module, data, sevecs: SemanticVectors) -> ClassMap:
    """The :data:`ClassMap` of the perturbation study: each data label's model output (by the
    data's class names) and the row of its class's SeVec (by name)."""
    def resolve(num_outputs: int):
        out_of = label_outputs(model, data, num_outputs)
        names = data_class_names(data)
        if names is not None and not labels_are_outputs(data) and all(n in sevecs for n in names):
            table = torch.tensor([sevecs.index(n) for n in names])
            return out_of, (lambda y: table[y.cpu()])

        def rows(y):
            outputs = y.cpu() if out_of is None else out_of[y.cpu()]
            return rows_for_targets(model, sevecs.names, outputs, num_outputs, what="the SeVecs")
        return out_of, rows
    return resolve


@dataclass
class PerturbationResult:
    """Table 1: mean change of the true-class softmax probability under four edits of a layer."""

    associated_neuron: float
    random_neuron: float
    sevec_mask: float
    permuted_mask: float
    baseline_prob: float
    n_images: int
    deltas: dict  # name -> (N,) numpy array of per-image changes
    baseline: np.ndarray  # (N,) true-class probability before any edit
    edits: EditResult = field(repr=False, default=None)

    KEYS = ("associated_neuron", "random_neuron", "sevec_mask", "permuted_mask")

    def sem(self, key: str) -> float:
        """Standard error of the mean change under edit ``key`` (:func:`sevec_helpers.evaluation.metrics.sem`)."""
        return sem(self.deltas[key])

    @property
    def sem_diff(self) -> float:
        """Standard error of the per-image difference SeVec mask minus associated neuron."""
        return sem(self.deltas["sevec_mask"] - self.deltas["associated_neuron"])

    def as_dict(self) -> dict:
        out = {k: getattr(self, k) for k in self.KEYS}
        out["sem"] = {k: self.sem(k) for k in self.KEYS}
        out.update(sem_diff=self.sem_diff, baseline_prob=self.baseline_prob, n_images=self.n_images)
        return out


def table1_edits(sevecs: SemanticVectors, *, seed: int = 0, threshold: float = 0.5, by: str = "rate",
                 scale: float = 1.5) -> dict[str, Edit]:
    """The paper's four edits of Table 1 for SeVecs of the classes: each edit indexes the SeVecs
    by the labels it gets (their rows: :func:`perturbation_study` maps each image's class to its
    SeVec's row by name)."""
    g = torch.Generator().manual_seed(seed)
    masks = sevecs.mask(threshold, by=by)
    d = sevecs.dim

    def permuted(h, y, pred):
        perm = torch.argsort(torch.rand(h.shape[0], d, generator=g), dim=1).to(h.device)
        return h * masks.to(h.device)[y].gather(1, perm).to(h.dtype)

    return {"associated_neuron": neuron_edit(sevecs.vectors.argmax(dim=1), scale),
            "random_neuron": neuron_edit(lambda b: torch.randint(0, d, (b,), generator=g), scale),
            "sevec_mask": mask_edit(masks), "permuted_mask": permuted}


def perturbation_study(model: nn.Module, data, sevecs: SemanticVectors, layer: str | None = None, *, seed: int = 0,
                       threshold: float = 0.5, by: str = "rate", scale: float = 1.5, batch_size: int = 64,
                       progress: bool = True, check_provenance: bool = True, cache=None) -> PerturbationResult:
    """Single neuron vs SeVec (paper Sec. 3.1, Table 1), on held-out labelled images.

    At ``layer`` (default: the SeVecs' layer, e.g. post-ReLU fc1) with activations h of an
    image of class c: associated neuron sets h[argmax v_c] = scale * max(h); random neuron
    does the same on a random unit; SeVec mask multiplies h by 1[r_c > threshold]; permuted
    mask multiplies by a random permutation of that mask. Returns the mean change of the
    true-class softmax probability for each edit. The SeVecs must be class SeVecs of this
    model; they may cover a subset of its classes. Which class is which is matched by name:
    an image's class (the data's class names, e.g. an ImageFolder's folders) is the model
    output of that name and masked with the SeVec of that name (data and SeVecs named by
    output index, or by ImageNet's synsets in order, by index); a class the model or the
    SeVecs do not have is refused, never matched by position.

    Parameters
    ----------
    model : torch.nn.Module
        The classifier (it is not moved).
    data : Dataset, DataLoader or (images, labels) tuple
        Held-out labelled images.
    sevecs : SemanticVectors
        Class SeVecs of this model at ``layer``.
    layer : str, optional
        The layer to edit; default the SeVecs' layer.
    seed : int
        Seed of the random neuron and of the permutation.
    threshold, by : float, {"rate", "vector"}
        The SeVec mask is 1[rate > threshold] (the book's reading) or 1[vector > threshold]
        (the paper's literal formula).
    scale : float
        The associated and random neurons are set to ``scale`` times the largest activation.
    batch_size, progress
        Batch size; show a progress bar.
    check_provenance : bool
        SeVecs of another model are refused; False warns instead.
    cache : DiskCache, optional
        The unedited pass is the model's stored predictions on ``data`` (see :func:`edit_study`).

    Returns
    -------
    PerturbationResult
        The mean change per edit (``associated_neuron``, ``random_neuron``, ``sevec_mask``,
        ``permuted_mask``), per-image ``deltas``, the ``baseline`` probabilities, ``sem(key)``
        and ``sem_diff`` (SeVec mask minus associated neuron, per image).

    Raises
    ------
    ValueError
        SeVecs fitted at another layer or on another model, labels out of range, a class
        without a SeVec or that the model does not have.
    """
    if not isinstance(sevecs, SemanticVectors):
        raise TypeError(f"sevecs must be a SemanticVectors (from fit_sevecs), got {type(sevecs).__name__}")
    layer = layer or sevecs.layer
    ref = resolve_layer(model, layer)
    if sevecs.layer and not same_layer(model, ref, sevecs.layer):
        raise ValueError(f"the SeVecs were fitted at {sevecs.layer!r}, not {layer!r}; fit them at the layer you perturb")
    sevecs.check_model(model, kind="classes", strict=check_provenance)
    res = edit_study(model, data, ref, table1_edits(sevecs, seed=seed, threshold=threshold, by=by, scale=scale),
                     batch_size=batch_size, progress=progress, num_classes=None, desc="perturbation study",
                     classes=_sevec_classes(model, data, sevecs), cache=cache)
    deltas = {k: res.delta(k) for k in PerturbationResult.KEYS}
    return PerturbationResult(**{k: float(v.mean()) for k, v in deltas.items()}, baseline_prob=float(res.baseline.mean()),
                              n_images=len(res.baseline), deltas=deltas, baseline=res.baseline, edits=res)
