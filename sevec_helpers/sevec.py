"""Semantic vectors (SeVecs): fitting in one streaming pass, and using them.

The maths (paper Sec. 3, Eq. 3; our reading in GUIDE.md Sec. 3): for a concept c with
samples x_i, a_i = 1[phi(x_i) > 0], a_hat_i = a_i / |a_i|, A_c = sum_i a_hat_i and the
SeVec is v_c = A_c / |A_c|. The activation rate r_c = mean_i a_i. The degree of
diversity D_c = 1 - mean_i cos(a_i, v_c) = 1 - |A_c| / M_c needs no second pass.
"""

from __future__ import annotations

import json
import math
import os
import warnings
from dataclasses import dataclass
from typing import NamedTuple, Sequence

import numpy as np
import torch
import torch.nn as nn
from tqdm.auto import tqdm

from ._io import atomic_write
from ._version import __version__
from .features import (
    as_loader,
    check_finite_activations,
    check_images,
    default_device,
    eval_on,
    n_batches,
    replace_output,
    tap,
    warn_if_signed,
)
from .layers import resolve_layer, same_layer

_FORMAT = "sevec_helpers.SemanticVectors/1"


def _concept_names(data) -> list[str] | None:
    ds = getattr(data, "dataset", data)
    classes = getattr(ds, "classes", None)
    if classes is not None and not isinstance(data, torch.Tensor):
        return [str(c) for c in classes]
    return None


class SeVecAccumulator:
    """Streaming sums for SeVecs: O(K * D) memory whatever the number of images.

    ``update`` takes raw (or already binary) activations (B, D) and concept labels (B,);
    ``merge`` adds another accumulator (e.g. a shard from another process), so fitting
    shards and merging equals one pass over all the data; ``result`` makes the
    :class:`SemanticVectors`.

    ``num_concepts=None`` grows the concept axis as larger labels arrive.
    """

    def __init__(self, num_concepts: int | None, dim: int, *, device=None, dtype: torch.dtype | None = None):
        if num_concepts is not None and (not isinstance(num_concepts, int) or num_concepts < 1):
            raise ValueError(f"num_concepts must be a positive int or None, got {num_concepts!r}")
        if not isinstance(dim, int) or dim < 1:
            raise ValueError(f"dim must be a positive int, got {dim!r}")
        dev = torch.device(device) if device is not None else torch.device("cpu")
        if dtype is None:  # exact sums on the CPU; on accelerators float32 (mps has no float64; cuda is faster)
            dtype = torch.float64 if dev.type == "cpu" else torch.float32
        self.dim = dim
        self.fixed = num_concepts is not None
        k = num_concepts or 0
        self.sums = torch.zeros(k, dim, dtype=dtype, device=dev)        # A_c
        self.active = torch.zeros(k, dim, dtype=dtype, device=dev)      # sum_i a_i
        self.counts = torch.zeros(k, dtype=torch.long, device=dev)      # M_c (live samples)
        self.dead = torch.zeros(k, dtype=torch.long, device=dev)        # samples with |a| = 0

    @property
    def num_concepts(self) -> int:
        return self.sums.shape[0]

    def _grow(self, k: int) -> None:
        extra = k - self.num_concepts
        if extra <= 0:
            return
        z = lambda t: torch.cat([t, torch.zeros((extra,) + t.shape[1:], dtype=t.dtype, device=t.device)])
        self.sums, self.active, self.counts, self.dead = z(self.sums), z(self.active), z(self.counts), z(self.dead)

    @torch.no_grad()
    def update(self, activations: torch.Tensor, labels, *, check_finite: bool = True) -> None:
        """Add a batch: activations (B, D) (any shape (B, ...) is flattened), labels (B,).

        ``check_finite=False`` skips the NaN/Inf check (a host sync on GPUs) for callers that
        check lazily themselves, as :func:`fit_sevecs` does.
        """
        h = activations.reshape(activations.shape[0], -1)
        labels = torch.as_tensor(labels)
        if h.shape[1] != self.dim:
            raise ValueError(f"activations have {h.shape[1]} units per sample, this accumulator expects {self.dim}")
        if labels.dim() != 1 or labels.shape[0] != h.shape[0]:
            raise ValueError(f"got {h.shape[0]} activation rows but labels of shape {tuple(labels.shape)}; "
                             f"pass one integer label per row")
        if labels.is_floating_point() or labels.dtype == torch.bool:
            raise ValueError(f"labels must be integer concept indices, got dtype {labels.dtype}")
        if labels.numel() == 0:
            return
        if check_finite and not torch.isfinite(h).all():
            raise ValueError("activations contain NaN or Inf; check the model and its input scaling")
        lo, hi = int(labels.min()), int(labels.max())  # labels usually live on the CPU: no device sync
        if lo < 0:
            raise ValueError(f"labels must be >= 0, got {lo}")
        if hi >= self.num_concepts:
            if self.fixed:
                raise ValueError(f"label {hi} is out of range for {self.num_concepts} concepts "
                                 f"(valid: 0..{self.num_concepts - 1}); pass num_concepts= or names= that cover it")
            self._grow(hi + 1)
        dev = self.sums.device
        a = (h > 0).to(device=dev, dtype=self.sums.dtype)
        labels = labels.to(dev).long()
        n = a.sum(1)
        live = n > 0
        a_hat = a * n.clamp(min=1).rsqrt().unsqueeze(1)
        self.sums.index_add_(0, labels, a_hat)
        self.active.index_add_(0, labels, a)
        self.counts.index_add_(0, labels, live.long())
        self.dead.index_add_(0, labels, (~live).long())

    def merge(self, other: "SeVecAccumulator") -> "SeVecAccumulator":
        """Add ``other``'s sums into this accumulator (in place) and return self."""
        if other.dim != self.dim:
            raise ValueError(f"cannot merge accumulators of {other.dim} and {self.dim} units")
        k = max(self.num_concepts, other.num_concepts)
        if self.fixed and other.num_concepts > self.num_concepts:
            raise ValueError(f"cannot merge {other.num_concepts} concepts into a fixed set of {self.num_concepts}")
        self._grow(k)
        n = other.num_concepts
        dev = self.sums.device
        self.sums[:n] += other.sums.to(dev, self.sums.dtype)
        self.active[:n] += other.active.to(dev, self.active.dtype)
        self.counts[:n] += other.counts.to(dev)
        self.dead[:n] += other.dead.to(dev)
        return self

    def all_reduce(self, group=None) -> "SeVecAccumulator":
        """Sum this accumulator across a ``torch.distributed`` process group (e.g. under torchrun)."""
        import torch.distributed as dist

        for t in (self.sums, self.active, self.counts, self.dead):
            dist.all_reduce(t, op=dist.ReduceOp.SUM, group=group)
        return self

    def result(self, names: Sequence[str] | None = None, layer: str = "", model_name: str = "",
               *, allow_empty: bool = False) -> "SemanticVectors":
        """The fitted :class:`SemanticVectors`. Raises if a concept has no live sample."""
        k = self.num_concepts
        if k == 0:
            raise ValueError("no samples were seen: the data is empty")
        if names is None:
            names = [str(i) for i in range(k)]
        names = [str(n) for n in names]
        if len(names) != k:
            raise ValueError(f"got {len(names)} names for {k} concepts; pass one name per concept index")
        dead_total = int(self.dead.sum())
        if dead_total:
            warnings.warn(
                f"{dead_total} sample(s) had no active unit at this layer and were excluded "
                f"(see SemanticVectors.dead per concept)", stacklevel=3)
        empty = [names[i] for i in range(k) if int(self.counts[i]) == 0]
        if empty and not allow_empty:
            detail = []
            for i in range(k):
                if int(self.counts[i]) == 0:
                    d = int(self.dead[i])
                    detail.append(f"{names[i]!r} ({d} dead sample(s))" if d else f"{names[i]!r} (no samples)")
            raise ValueError(
                f"{len(empty)} concept(s) have no sample with any active unit: {', '.join(detail[:20])}"
                f"{' ...' if len(detail) > 20 else ''}. Give each concept images, drop it from names/labels, "
                f"or pass allow_empty=True to keep it as a zero vector."
            )
        sums = self.sums.double().cpu()
        norms = sums.norm(dim=1)
        m = self.counts.cpu().double()
        vectors = torch.where(norms[:, None] > 0, sums / norms.clamp(min=1e-300)[:, None], torch.zeros_like(sums))
        rates = self.active.double().cpu() / m.clamp(min=1)[:, None]
        diversity = torch.where(m > 0, 1.0 - norms / m.clamp(min=1), torch.full_like(m, float("nan")))
        return SemanticVectors(
            vectors=vectors.float(), rates=rates.float(), counts=self.counts.cpu().clone(),
            dead=self.dead.cpu().clone(), names=names, layer=layer, diversity=diversity.float(),
            model_name=model_name,
        )


class Explanation(NamedTuple):
    """Per image, the ``top`` most similar concepts: indices, cosine scores and names."""

    indices: torch.Tensor
    scores: torch.Tensor
    names: list[list[str]]


@dataclass
class SemanticVectors:
    """Fitted SeVecs of K concepts at one layer of D units.

    Attributes (plain CPU tensors): ``vectors`` (K, D) unit rows v_c; ``rates`` (K, D)
    activation rates r_c; ``counts`` (K,) live samples; ``dead`` (K,) samples with no active
    unit (excluded); ``diversity`` (K,) D_c; ``names``; ``layer``; ``model_name``.
    """

    vectors: torch.Tensor
    rates: torch.Tensor
    counts: torch.Tensor
    dead: torch.Tensor
    names: list[str]
    layer: str
    diversity: torch.Tensor
    model_name: str = ""

    def __post_init__(self):
        k, d = self.vectors.shape
        for attr, shape in (("rates", (k, d)), ("counts", (k,)), ("dead", (k,)), ("diversity", (k,))):
            if tuple(getattr(self, attr).shape) != shape:
                raise ValueError(f"{attr} has shape {tuple(getattr(self, attr).shape)}, expected {shape}")
        if len(self.names) != k:
            raise ValueError(f"{len(self.names)} names for {k} vectors")

    def __len__(self) -> int:
        return self.vectors.shape[0]

    @property
    def dim(self) -> int:
        return self.vectors.shape[1]

    def __repr__(self) -> str:
        return (f"SemanticVectors({len(self)} concepts x {self.dim} units at layer {self.layer!r}"
                f"{', model ' + repr(self.model_name) if self.model_name else ''})")

    def index(self, name: str) -> int:
        """The row of concept ``name``."""
        try:
            return self.names.index(name)
        except ValueError:
            raise KeyError(f"no concept named {name!r}; known: {', '.join(self.names[:30])}"
                           f"{' ...' if len(self.names) > 30 else ''}") from None

    def __getitem__(self, name: str) -> torch.Tensor:
        return self.vectors[self.index(name)]

    def mask(self, threshold: float = 0.5, by: str = "rate", rows=None) -> torch.Tensor:
        """Bool (K, D): units relevant to each concept (only the given ``rows``, if any).

        ``by="rate"`` (default, our reading of the paper's 1[v_c > 0.5]): r_c > threshold, the
        unit fires on most images of the concept. ``by="vector"``: the paper's literal
        v_c > threshold on the unit vector (almost always empty in thousands of dimensions).
        """
        if by not in ("rate", "vector"):
            raise ValueError(f"by must be 'rate' or 'vector', got {by!r}")
        src = self.rates if by == "rate" else self.vectors
        if rows is not None:
            src = src[torch.as_tensor(rows, device="cpu").long()]
        return src > threshold

    def relevance(self, other: "SemanticVectors | None" = None) -> torch.Tensor:
        """Cosine relevance cos(v_a, v_b) of every concept here (rows) to every one of ``other``."""
        other = self if other is None else other
        if other.dim != self.dim or (self.layer and other.layer and self.layer != other.layer):
            raise ValueError(f"relevance needs SeVecs of the same layer: {self.layer!r} ({self.dim} units) vs "
                             f"{other.layer!r} ({other.dim} units); fit both at one layer")
        return self.vectors @ other.vectors.T

    def _scores(self, features: torch.Tensor, binarize: bool) -> torch.Tensor:
        f = torch.as_tensor(features).float()
        f = f.reshape(f.shape[0], -1)
        if f.shape[1] != self.dim:
            raise ValueError(f"features have {f.shape[1]} units, these SeVecs have {self.dim} "
                             f"(layer {self.layer!r}); extract features at the same layer")
        if not torch.isfinite(f).all():
            raise ValueError("features contain NaN or Inf")
        if binarize:
            f = (f > 0).float()
        f = f / f.norm(dim=1, keepdim=True).clamp(min=1e-12)
        return f @ self.vectors.T  # (N, K)

    def scores(self, features: torch.Tensor, binarize: bool = True) -> torch.Tensor:
        """(N, K) cosine similarity of each image's features to each SeVec (Eq. 3's f)."""
        return self._scores(features, binarize)

    def retrieve(self, features: torch.Tensor, k: int = 8, binarize: bool = True) -> torch.Tensor:
        """(K, k) indices into ``features`` of the k images closest to each SeVec, best first."""
        s = self._scores(features, binarize)
        if not 1 <= k <= s.shape[0]:
            raise ValueError(f"k={k} but there are {s.shape[0]} images; pick 1 <= k <= {s.shape[0]}")
        return s.T.topk(k, dim=1).indices

    def explain(self, features: torch.Tensor, top: int = 3, binarize: bool = True,
                concepts: Sequence[str] | None = None) -> Explanation:
        """Per image, the ``top`` concepts (optionally among ``concepts``) whose SeVecs are closest."""
        s = self._scores(features, binarize)
        idx_pool = list(range(len(self))) if concepts is None else [self.index(c) for c in concepts]
        s = s[:, idx_pool]
        if not 1 <= top <= s.shape[1]:
            raise ValueError(f"top={top} but there are {s.shape[1]} concepts to choose from")
        val, pos = s.topk(top, dim=1)
        idx = torch.tensor(idx_pool)[pos]
        return Explanation(idx, val, [[self.names[j] for j in row] for row in idx.tolist()])

    def subset(self, names: Sequence[str]) -> "SemanticVectors":
        """A new SemanticVectors with only the named concepts, in that order."""
        rows = [self.index(n) for n in names]
        return SemanticVectors(self.vectors[rows], self.rates[rows], self.counts[rows], self.dead[rows],
                               [self.names[r] for r in rows], self.layer, self.diversity[rows], self.model_name)

    def concat(self, other: "SemanticVectors") -> "SemanticVectors":
        """Concepts of both sets, fitted at the same layer (e.g. classes + textures)."""
        if other.dim != self.dim or self.layer != other.layer:
            raise ValueError(f"cannot join SeVecs of layer {self.layer!r} and {other.layer!r}")
        clash = set(self.names) & set(other.names)
        if clash:
            raise ValueError(f"concept names appear in both sets: {sorted(clash)[:10]}; rename one side")
        cat = torch.cat
        return SemanticVectors(cat([self.vectors, other.vectors]), cat([self.rates, other.rates]),
                               cat([self.counts, other.counts]), cat([self.dead, other.dead]),
                               self.names + other.names, self.layer,
                               cat([self.diversity, other.diversity]), self.model_name)

    # -- persistence ---------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> None:
        """Write to ``path`` atomically (temporary file in the same folder, then rename)."""
        path = os.fspath(path)
        meta = {"format": _FORMAT, "layer": self.layer, "model_name": self.model_name,
                "names": list(self.names), "library_version": __version__}
        payload = {"meta_json": json.dumps(meta), "vectors": self.vectors, "rates": self.rates,
                   "counts": self.counts, "dead": self.dead, "diversity": self.diversity}
        atomic_write(path, lambda fh: torch.save(payload, fh))

    @classmethod
    def load(cls, path: str | os.PathLike) -> "SemanticVectors":
        """Read a file written by :meth:`save` (``weights_only=True``: no code is run)."""
        try:
            payload = torch.load(os.fspath(path), map_location="cpu", weights_only=True)
        except FileNotFoundError:
            raise
        except Exception as e:  # pickle errors, truncated files, foreign objects
            raise ValueError(f"{path} is not a SemanticVectors file written by sevec_helpers ({e})") from e
        if not isinstance(payload, dict) or "meta_json" not in payload:
            raise ValueError(f"{path} is not a SemanticVectors file written by sevec_helpers.SemanticVectors.save")
        meta = json.loads(payload["meta_json"])
        if meta.get("format") != _FORMAT:
            raise ValueError(f"{path} has format {meta.get('format')!r}; this version reads {_FORMAT!r}")
        return cls(vectors=payload["vectors"], rates=payload["rates"], counts=payload["counts"],
                   dead=payload["dead"], names=meta["names"], layer=meta["layer"],
                   diversity=payload["diversity"], model_name=meta.get("model_name", ""))


def fit_accumulator(model: nn.Module, data, layer: str, *, num_concepts: int | None = None, batch_size: int = 64,
                    device=None, progress: bool = True) -> tuple[SeVecAccumulator | None, str]:
    """The streaming pass of :func:`fit_sevecs`: returns the filled accumulator (None if the
    data was empty) and the layer's label. Shards fitted this way can be merged, or summed
    across processes with :meth:`SeVecAccumulator.all_reduce`."""
    dev = torch.device(device) if device is not None else default_device()
    acc = None
    with eval_on(model, dev), tap(model, layer, stop=True) as t, torch.inference_mode():
        bar = tqdm(as_loader(data, batch_size), total=n_batches(data, batch_size), disable=not progress,
                   desc=f"fit SeVecs @ {t.ref.label}")
        nonfinite = torch.zeros((), dtype=torch.bool, device=dev)
        for x, y in bar:
            if y is None:
                raise ValueError("fit_sevecs needs labelled data: yield (image, concept_index) pairs")
            x = x.to(dev, non_blocking=True)
            if acc is None:  # the first batch is checked at once, later ones without a host sync
                h = t.run(model, check_images(x))
                check_finite_activations(h, t.ref.label)
                warn_if_signed(h, t.ref.label)
                acc = SeVecAccumulator(num_concepts, h.shape[1], device=dev)
            else:
                if not x.is_floating_point() or x.dim() != 4:
                    check_images(x)
                h = t.run(model, x)
                nonfinite |= ~torch.isfinite(h).all()
            acc.update(h, y, check_finite=False)
        if bool(nonfinite):
            raise ValueError(f"activations of layer {t.ref.label!r} contained NaN or Inf in some batch; check the "
                             f"input images (e.g. torch.nan_to_num) and the model's weights")
        label = layer if isinstance(layer, str) else t.ref.label
    return acc, label


def fit_sevecs(
    model: nn.Module,
    data,
    layer: str,
    *,
    names: Sequence[str] | None = None,
    num_concepts: int | None = None,
    batch_size: int = 64,
    device=None,
    progress: bool = True,
    allow_empty: bool = False,
) -> SemanticVectors:
    """Fit one SeVec per concept at ``layer`` in ONE streaming pass over ``data``.

    ``data`` yields (image, concept index) pairs (a Dataset, a DataLoader, or a tuple of
    tensors). Concept names come from ``names``, else the dataset's ``classes``; the number
    of concepts from those, ``num_concepts``, or the largest label seen. The forward pass
    stops right after ``layer``, so fitting costs at most one forward pass.
    """
    if names is None:
        names = _concept_names(data)
    if names is not None and num_concepts is not None and len(names) != num_concepts:
        raise ValueError(f"names has {len(names)} entries but num_concepts={num_concepts}")
    k = len(names) if names is not None else num_concepts
    acc, label = fit_accumulator(model, data, layer, num_concepts=k, batch_size=batch_size, device=device,
                                 progress=progress)
    if acc is None:
        raise ValueError("data is empty: no images to fit SeVecs on")
    model_name = getattr(model, "_sevec_name", type(model).__name__)
    return acc.result(names, layer=label, model_name=model_name, allow_empty=allow_empty)


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

    def as_dict(self) -> dict:
        keys = ("associated_neuron", "random_neuron", "sevec_mask", "permuted_mask")
        out = {k: getattr(self, k) for k in keys}
        out["sem"] = {k: float(np.std(self.deltas[k], ddof=1) / math.sqrt(len(self.deltas[k])))
                      if len(self.deltas[k]) > 1 else float("nan") for k in keys}
        out.update(baseline_prob=self.baseline_prob, n_images=self.n_images)
        return out


def perturbation_study(
    model: nn.Module,
    data,
    sevecs: SemanticVectors,
    layer: str | None = None,
    *,
    seed: int = 0,
    threshold: float = 0.5,
    by: str = "rate",
    scale: float = 1.5,
    batch_size: int = 64,
    device=None,
    progress: bool = True,
) -> PerturbationResult:
    """Single neuron vs SeVec (paper Sec. 3.1, Table 1), on held-out labelled images.

    At ``layer`` (default: the SeVecs' layer, e.g. post-ReLU fc1) with activations h of an
    image of class c: associated neuron sets h[argmax v_c] = scale * max(h); random neuron
    does the same on a random unit; SeVec mask multiplies h by 1[r_c > threshold]; permuted
    mask multiplies by a random permutation of that mask. Returns the mean change of the
    true-class softmax probability for each edit.
    """
    layer = layer or sevecs.layer
    ref = resolve_layer(model, layer)
    if sevecs.layer and not same_layer(model, ref, sevecs.layer):
        raise ValueError(f"the SeVecs were fitted at {sevecs.layer!r}, not {layer!r}; fit them at the layer you perturb")
    gen = torch.Generator().manual_seed(seed)
    dev = torch.device(device) if device is not None else default_device()
    masks = sevecs.mask(threshold, by=by).to(dev)     # moved to the device once, not per batch
    assoc = sevecs.vectors.argmax(dim=1).to(dev)
    deltas = {k: [] for k in ("associated_neuron", "random_neuron", "sevec_mask", "permuted_mask")}
    base_probs = []

    def edit(kind, labels, rnd_unit, perm):
        def fn(h):
            if h.shape[1] != sevecs.dim:
                raise ValueError(f"layer {layer!r} has {h.shape[1]} units, the SeVecs {sevecs.dim}")
            if kind in ("associated_neuron", "random_neuron"):
                h = h.clone()
                unit = assoc[labels] if kind == "associated_neuron" else rnd_unit
                h[torch.arange(h.shape[0], device=h.device), unit] = scale * h.max(dim=1).values
                return h
            m = masks[labels]
            if kind == "permuted_mask":
                m = m.gather(1, perm)
            return h * m.to(h.dtype)
        return fn

    with eval_on(model, dev), torch.inference_mode():
        bar = tqdm(as_loader(data, batch_size), total=n_batches(data, batch_size), disable=not progress,
                   desc="perturbation study")
        for x, y in bar:
            if y is None:
                raise ValueError("perturbation_study needs labelled images: yield (image, class_index) pairs")
            if int(y.min()) < 0 or int(y.max()) >= len(sevecs):  # checked on the CPU labels: no device sync
                raise ValueError(f"labels must index the {len(sevecs)} SeVecs (concept i = class i); got {int(y.max())}")
            x = check_images(x.to(dev))
            y = y.to(dev).long()
            p0 = torch.softmax(model(x).float(), dim=1).gather(1, y[:, None])[:, 0]
            base_probs.append(p0.cpu())
            b = x.shape[0]
            rnd_unit = torch.randint(0, sevecs.dim, (b,), generator=gen).to(dev)
            perm = torch.argsort(torch.rand(b, sevecs.dim, generator=gen), dim=1).to(dev)
            for kind in deltas:
                with replace_output(model, ref, edit(kind, y, rnd_unit, perm)) as calls:
                    p = torch.softmax(model(x).float(), dim=1).gather(1, y[:, None])[:, 0]
                calls.check()
                deltas[kind].append((p - p0).cpu())
    if not base_probs:
        raise ValueError("data is empty")
    arr = {k: torch.cat(v).double().numpy() for k, v in deltas.items()}
    base = torch.cat(base_probs).double().numpy()
    return PerturbationResult(
        associated_neuron=float(arr["associated_neuron"].mean()), random_neuron=float(arr["random_neuron"].mean()),
        sevec_mask=float(arr["sevec_mask"].mean()), permuted_mask=float(arr["permuted_mask"].mean()),
        baseline_prob=float(base.mean()), n_images=len(base), deltas=arr, baseline=base,
    )
