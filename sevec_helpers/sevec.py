"""Semantic vectors (SeVecs): fitting in one streaming pass, and using them.

The maths (paper Sec. 3, Eq. 3; our reading in GUIDE.md Sec. 3): for a concept c with
samples x_i, a_i = 1[phi(x_i) > 0], a_hat_i = a_i / |a_i|, A_c = sum_i a_hat_i and the
SeVec is v_c = A_c / |A_c|. The activation rate r_c = mean_i a_i over ALL the concept's
samples, dead ones (no active unit, a_i = 0) included: the share of its images on which a unit
fires. v_c and the degree of diversity D_c = 1 - mean_i cos(a_i, v_c) = 1 - |A_c| / M_c are
over the M_c live samples (a zero pattern has no direction); neither needs a second pass.

Fitted SeVecs remember where they came from (model name and weights fingerprint, layer,
input size, concept kind), so that using them on another model, layer or kind of concept
is refused with a message saying what differs.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import warnings
from dataclasses import dataclass, field
from typing import Callable, NamedTuple, Sequence

import numpy as np
import torch
import torch.nn as nn
from tqdm.auto import tqdm

from ._fingerprint import cached_result, model_fingerprint, tensor_digest
from ._io import atomic_write
from ._version import __version__
from .accumulator import SeVecAccumulator
from .features import (
    INFO_ATTR,
    _CallCounter,
    _flat,
    _StopForward,
    as_loader,
    autocast_exact,
    call_model,
    check_finite_activations,
    check_images,
    check_input_scale,
    eval_mode,
    find_producer,
    model_dtype,
    n_batches,
    warn_if_signed,
)
from .layers import LayerRef, layer_aliases, rectifier_modules, resolve_layer

_FORMAT = "sevec_helpers.SemanticVectors/2"
_READS = ("sevec_helpers.SemanticVectors/1", _FORMAT)
_TENSORS = ("vectors", "rates", "counts", "dead", "diversity")


def _concept_names(data) -> list[str] | None:
    ds = getattr(data, "dataset", data)
    classes = getattr(ds, "classes", None)
    if classes is not None and not isinstance(data, torch.Tensor):
        return [str(c) for c in classes]
    return None


def _concept_kind(data) -> str:
    ds = getattr(data, "dataset", data)
    return str(getattr(ds, "concept_kind", ""))


def model_name(model: nn.Module) -> str:
    return (getattr(model, INFO_ATTR, None) or {}).get("name") or type(model).__name__


class Explanation(NamedTuple):
    """Per image, the ``top`` most similar concepts: indices, cosine scores and names."""

    indices: torch.Tensor
    scores: torch.Tensor
    names: list[list[str]]


_FIELDS = ("vectors", "rates", "counts", "dead", "names", "layer", "diversity", "model_name", "fingerprint",
           "input_size", "kind", "extra")
_REQUIRED = ("vectors", "rates", "counts", "dead", "names", "layer", "diversity")


@dataclass(init=False)
class SemanticVectors:
    """Fitted SeVecs of K concepts at one layer of D units.

    Usually made by :func:`fit_sevecs` or :meth:`from_features`; built by hand with keywords
    only, e.g. ``SemanticVectors(vectors=v, rates=r, counts=n, dead=z, diversity=d,
    names=["cat", "dog"], layer="fc1")``.

    Iterating yields the concept names; ``sv["zebra"]`` (a name) or ``sv[3]`` (a row, negative
    counts from the end) is one vector: a ``str`` is always a name and an ``int`` always a row,
    even when a concept is called "3".

    Parameters
    ----------
    vectors : torch.Tensor
        (K, D) unit rows v_c (Eq. 3).
    rates : torch.Tensor
        (K, D) activation rates r_c: per unit, the share of the concept's samples (dead ones
        included) on which it fires.
    counts : torch.Tensor
        (K,) live samples per concept (at least one active unit): M_c.
    dead : torch.Tensor
        (K,) samples with no active unit (left out of v_c and D_c, counted in r_c).
    names : sequence of str
        K concept names.
    layer : str
        The layer the SeVecs belong to.
    diversity : torch.Tensor
        (K,) degree of diversity D_c.
    model_name, fingerprint : str, optional
        Provenance: the model's name and weights fingerprint ("" if unknown).
    input_size : (int, int), optional
        H, W of the images fitted on.
    kind : str, optional
        What the concepts are ("classes", "textures", ...; "" if unknown).
    extra : dict, optional
        Free-form metadata saved with the SeVecs.

    Raises
    ------
    TypeError
        If a required field is missing, or a tensor field is not a floating/integer tensor.
    ValueError
        If the shapes disagree or the vectors / rates are not finite.
    """

    vectors: torch.Tensor
    rates: torch.Tensor
    counts: torch.Tensor
    dead: torch.Tensor
    names: list[str]
    layer: str
    diversity: torch.Tensor
    model_name: str = ""
    fingerprint: str = ""
    input_size: tuple | None = None
    kind: str = ""
    extra: dict = field(default_factory=dict, repr=False)

    def __init__(self, *args, **kwargs):
        if args:
            raise TypeError(f"SemanticVectors takes its fields by keyword only (their order is easy to get wrong): "
                            f"SemanticVectors({', '.join(f + '=...' for f in _REQUIRED)}); got {len(args)} "
                            f"positional argument(s)")
        unknown = sorted(set(kwargs) - set(_FIELDS))
        if unknown:
            raise TypeError(f"SemanticVectors got unknown field(s) {', '.join(unknown)}; its fields are "
                            f"{', '.join(_FIELDS)}")
        missing = [f for f in _REQUIRED if f not in kwargs]
        if missing:
            raise TypeError(f"SemanticVectors needs {', '.join(f + '=' for f in missing)} (required: "
                            f"{', '.join(_REQUIRED)}); to fit SeVecs use fit_sevecs(...) or "
                            f"SemanticVectors.from_features(...)")
        for f in _REQUIRED:
            setattr(self, f, kwargs[f])
        self.model_name = kwargs.get("model_name", "") or ""
        self.fingerprint = kwargs.get("fingerprint", "") or ""
        self.input_size = kwargs.get("input_size")
        self.kind = kwargs.get("kind", "") or ""
        self.extra = dict(kwargs.get("extra") or {})
        self.__post_init__()

    def __post_init__(self):
        for attr in _TENSORS:
            if not isinstance(getattr(self, attr), torch.Tensor):
                raise TypeError(f"{attr} must be a torch.Tensor, got {type(getattr(self, attr)).__name__}")
        if self.vectors.dim() != 2:
            raise ValueError(f"vectors must be (K, D), got shape {tuple(self.vectors.shape)}")
        k, d = self.vectors.shape
        for attr, shape in (("rates", (k, d)), ("counts", (k,)), ("dead", (k,)), ("diversity", (k,))):
            if tuple(getattr(self, attr).shape) != shape:
                raise ValueError(f"{attr} has shape {tuple(getattr(self, attr).shape)}, expected {shape}")
        for attr in ("vectors", "rates"):
            t = getattr(self, attr)
            if not t.is_floating_point():
                raise TypeError(f"{attr} must be floating point, got {t.dtype}")
            if not torch.isfinite(t).all():
                raise ValueError(f"{attr} contain NaN or Inf: these are not valid SeVecs")
        if isinstance(self.names, str):
            raise TypeError(f"names must be a sequence of names, got the string {self.names!r}")
        if len(self.names) != k:
            raise ValueError(f"{len(self.names)} names for {k} vectors")
        self.names = [str(n) for n in self.names]
        if self.input_size is not None:
            self.input_size = tuple(int(v) for v in self.input_size)

    def __len__(self) -> int:
        """The number of concepts K."""
        return self.vectors.shape[0]

    def __iter__(self):
        """The concept names, in row order (``list(sv) == sv.names``)."""
        return iter(list(self.names))

    def __contains__(self, name) -> bool:
        """Whether a concept is called ``name`` (a str)."""
        return isinstance(name, str) and name in self.names

    @property
    def dim(self) -> int:
        """The number of units D of the layer."""
        return self.vectors.shape[1]

    def __repr__(self) -> str:
        kind = f" ({self.kind})" if self.kind else ""
        return (f"SemanticVectors({len(self)} concepts{kind} x {self.dim} units at layer {self.layer!r}"
                f"{', model ' + repr(self.model_name) if self.model_name else ''})")

    @classmethod
    def from_accumulator(cls, acc: SeVecAccumulator, names: Sequence[str] | None = None, *, layer: str = "",
                         allow_empty: bool = False, **provenance) -> "SemanticVectors":
        """The SeVecs of a filled :class:`SeVecAccumulator`.

        Parameters
        ----------
        acc : SeVecAccumulator
            The streaming sums.
        names : sequence of str, optional
            One per concept (default: "0", "1", ...).
        layer : str
            The layer's name.
        allow_empty : bool
            Keep concepts with no live sample as zero vectors instead of refusing.
        **provenance
            ``model_name``, ``fingerprint``, ``input_size``, ``kind``.

        Returns
        -------
        SemanticVectors

        Raises
        ------
        ValueError
            If a concept has no live sample (and not ``allow_empty``) or the names do not match.
        """
        return cls(layer=layer, **acc.finalize(names, allow_empty=allow_empty), **provenance)

    @classmethod
    def from_features(cls, values: torch.Tensor, labels: torch.Tensor, names: Sequence[str], *, layer: str = "",
                      allow_empty: bool = False, **provenance) -> "SemanticVectors":
        """The SeVecs (Eq. 3) of activations already extracted at a layer: the same numbers
        :func:`fit_sevecs` gives from the images, without another pass through the network.

        Parameters
        ----------
        values : torch.Tensor
            (N, D) activations (any (N, ...) shape is flattened).
        labels : torch.Tensor
            (N,) concept rows.
        names : sequence of str
            One per concept.
        layer : str
            The layer's name.
        allow_empty : bool
            Keep concepts with no live sample as zero vectors.
        **provenance
            ``model_name``, ``fingerprint``, ``input_size``, ``kind``.

        Returns
        -------
        SemanticVectors

        Raises
        ------
        ValueError
            If a label is out of range or a concept has no live sample (and not ``allow_empty``).
        """
        h = torch.as_tensor(values).float().reshape(len(values), -1)
        acc = SeVecAccumulator(len(names), h.shape[1])
        acc.update(h, torch.as_tensor(labels).long())
        return cls.from_accumulator(acc, list(names), layer=layer, allow_empty=allow_empty, **provenance)

    def _meta(self) -> dict:
        return {"layer": self.layer, "model_name": self.model_name, "fingerprint": self.fingerprint,
                "input_size": list(self.input_size) if self.input_size else None, "kind": self.kind,
                "extra": self.extra}

    def _replace(self, rows=None, **tensors) -> "SemanticVectors":
        base = {a: getattr(self, a) for a in _TENSORS}
        names = list(self.names)
        if rows is not None:
            base = {a: t[rows] for a, t in base.items()}
            names = [self.names[r] for r in rows]
        base.update(tensors)
        return SemanticVectors(names=names, layer=self.layer, model_name=self.model_name, fingerprint=self.fingerprint,
                               input_size=self.input_size, kind=self.kind, extra=dict(self.extra), **base)

    def index(self, name: str) -> int:
        """The row of concept ``name``.

        Parameters
        ----------
        name : str

        Returns
        -------
        int

        Raises
        ------
        KeyError
            If no concept has that name (the message lists known names).
        """
        if not isinstance(name, str):
            raise TypeError(f"index() takes a concept name (str), got {type(name).__name__}; a row number is "
                            f"already a row")
        try:
            return self.names.index(name)
        except ValueError:
            raise KeyError(f"no concept named {name!r}; known: {', '.join(self.names[:30])}"
                           f"{' ...' if len(self.names) > 30 else ''}") from None

    def rows(self, concepts, n: int | None = None) -> torch.Tensor:
        """Rows for ``concepts``: names (str) and row numbers (int) are told apart by type.

        Parameters
        ----------
        concepts : str, int, or a sequence / integer tensor of them
        n : int, optional
            With ``n``, a single concept is repeated n times and a sequence must have n entries.

        Returns
        -------
        torch.Tensor
            int64 rows, on the CPU.

        Raises
        ------
        KeyError
            For an unknown name.
        ValueError
            For a row out of range, or a sequence whose length is not ``n``.
        TypeError
            For anything that is neither a name nor an integer row.
        """
        if isinstance(concepts, (str, int, np.integer)) and not isinstance(concepts, bool):
            items = [concepts]
        elif isinstance(concepts, torch.Tensor):
            if concepts.dtype == torch.bool or concepts.is_floating_point():
                raise TypeError(f"concepts= must be names or integer rows, got a tensor of {concepts.dtype}")
            items = concepts.reshape(-1).tolist()
        elif isinstance(concepts, (list, tuple, np.ndarray)):
            items = list(concepts)
        else:
            raise TypeError(f"concepts= must be a name, a row, or a sequence of them; got {type(concepts).__name__}")
        out = []
        for c in items:
            if isinstance(c, str):
                out.append(self.index(c))
            elif isinstance(c, (int, np.integer)) and not isinstance(c, bool):
                if not 0 <= int(c) < len(self):
                    raise ValueError(f"concepts= row {int(c)} is out of range: these SeVecs have {len(self)} concepts "
                                     f"(rows 0..{len(self) - 1}); pass a row in range or a concept name")
                out.append(int(c))
            else:
                raise TypeError(f"concepts= entries must be names or integer rows, got {type(c).__name__}")
        rows = torch.tensor(out, dtype=torch.long)
        if n is not None:
            if len(rows) == 1:
                rows = rows.expand(n).clone()
            elif len(rows) != n:
                raise ValueError(f"got {len(rows)} concepts for {n} images; pass one, or one per image")
        return rows

    def __getitem__(self, concept) -> torch.Tensor:
        """One SeVec: ``sv["zebra"]`` by name, ``sv[3]`` by row (``sv[-1]`` is the last).

        Parameters
        ----------
        concept : str or int
            A ``str`` is always a name, an ``int`` (or 0-d integer tensor) always a row.

        Returns
        -------
        torch.Tensor
            (D,) the unit vector v_c.

        Raises
        ------
        KeyError
            For an unknown name.
        IndexError
            For a row out of range.
        TypeError
            For anything else (use :meth:`subset` for several concepts).
        """
        if isinstance(concept, str):
            return self.vectors[self.index(concept)]
        if isinstance(concept, bool) or not hasattr(concept, "__index__") or \
                (isinstance(concept, torch.Tensor) and (concept.dim() or concept.is_floating_point())):
            raise TypeError(f"SemanticVectors[...] takes a concept name (str) or a row (int), got "
                            f"{type(concept).__name__}; for several concepts use .subset(names) or .rows(...)")
        i = concept.__index__()
        if not -len(self) <= i < len(self):
            raise IndexError(f"row {i} is out of range for {len(self)} concepts (rows 0..{len(self) - 1})")
        return self.vectors[i]

    def mask(self, threshold: float = 0.5, by: str = "rate", rows=None) -> torch.Tensor:
        """The units relevant to each concept.

        Parameters
        ----------
        threshold : float
            The cut-off t.
        by : {"rate", "vector"}
            "rate" (default, our reading of the paper's 1[v_c > 0.5]): r_c > t, the unit fires on
            more than a share t of the concept's images. "vector": the paper's literal v_c > t on the
            unit vector (almost always empty in thousands of dimensions).
        rows : sequence of int or tensor, optional
            Only these concepts' rows.

        Returns
        -------
        torch.Tensor
            Bool (K, D), or (len(rows), D).

        Raises
        ------
        ValueError
            For an unknown ``by`` or a non-finite threshold.
        """
        if by not in ("rate", "vector"):
            raise ValueError(f"by must be 'rate' or 'vector', got {by!r}")
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float, np.number)) or not math.isfinite(threshold):
            raise ValueError(f"threshold must be a finite number, got {threshold!r}")
        src = self.rates if by == "rate" else self.vectors
        if rows is not None:
            src = src[torch.as_tensor(rows, device="cpu").long()]
        return src > threshold

    def permuted(self, seed: int = 0) -> "SemanticVectors":
        """A control: each concept's rates and vector entries permuted over the units (one random
        permutation per concept), so every mask keeps its size but picks random units.

        Parameters
        ----------
        seed : int

        Returns
        -------
        SemanticVectors
            With ``extra["permuted_seed"] = seed``.
        """
        g = torch.Generator().manual_seed(seed)
        perm = torch.argsort(torch.rand(len(self), self.dim, generator=g), dim=1)
        out = self._replace(vectors=self.vectors.gather(1, perm), rates=self.rates.gather(1, perm))
        out.extra = dict(self.extra, permuted_seed=seed)
        return out

    def relevance(self, other: "SemanticVectors | None" = None) -> torch.Tensor:
        """Cosine relevance cos(v_a, v_b) of every concept here to every concept of ``other``.

        Parameters
        ----------
        other : SemanticVectors, optional
            Of the same layer and model (default: these).

        Returns
        -------
        torch.Tensor
            (K, K_other).

        Raises
        ------
        ValueError
            If the two belong to different layers or models.
        """
        other = self if other is None else other
        if other.dim != self.dim or (self.layer and other.layer and self.layer != other.layer):
            raise ValueError(f"relevance needs SeVecs of the same layer: {self.layer!r} ({self.dim} units) vs "
                             f"{other.layer!r} ({other.dim} units); fit both at one layer")
        if self.fingerprint and other.fingerprint and self.fingerprint != other.fingerprint:
            raise ValueError(f"relevance needs SeVecs of the same model: fitted on weights {self.fingerprint} and "
                             f"{other.fingerprint}; fit both on one model")
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
        """Cosine similarity of each image's features to each SeVec (Eq. 3's f).

        Parameters
        ----------
        features : torch.Tensor
            (N, D) activations at the SeVecs' layer.
        binarize : bool
            Compare the binary patterns 1[h > 0] (default) or the raw activations.

        Returns
        -------
        torch.Tensor
            (N, K).

        Raises
        ------
        ValueError
            If the features have another number of units or contain NaN / Inf.
        """
        return self._scores(features, binarize)

    def retrieve(self, features: torch.Tensor, k: int = 8, binarize: bool = True) -> torch.Tensor:
        """The k images closest to each SeVec.

        Parameters
        ----------
        features : torch.Tensor
            (N, D) activations at the SeVecs' layer.
        k : int
            Images per concept, 1 <= k <= N.
        binarize : bool
            As in :meth:`scores`.

        Returns
        -------
        torch.Tensor
            (K, k) indices into ``features``, best first.

        Raises
        ------
        ValueError
            If ``k`` is out of range or the features do not fit.
        """
        s = self._scores(features, binarize)
        if not 1 <= k <= s.shape[0]:
            raise ValueError(f"k={k} but there are {s.shape[0]} images; pick 1 <= k <= {s.shape[0]}")
        return s.T.topk(k, dim=1).indices

    def explain(self, features: torch.Tensor, top: int = 3, binarize: bool = True,
                concepts: Sequence[str] | None = None) -> Explanation:
        """Per image, the ``top`` concepts whose SeVecs are closest.

        Parameters
        ----------
        features : torch.Tensor
            (N, D) activations at the SeVecs' layer.
        top : int
            Concepts per image.
        binarize : bool
            As in :meth:`scores`.
        concepts : sequence of str or int, optional
            Choose only among these.

        Returns
        -------
        Explanation
            ``indices`` (N, top), ``scores`` (N, top), ``names`` (N lists of top names).

        Raises
        ------
        ValueError
            If ``top`` is out of range or the features do not fit.
        """
        s = self._scores(features, binarize)
        idx_pool = list(range(len(self))) if concepts is None else self.rows(concepts).tolist()
        s = s[:, idx_pool]
        if not 1 <= top <= s.shape[1]:
            raise ValueError(f"top={top} but there are {s.shape[1]} concepts to choose from")
        val, pos = s.topk(top, dim=1)
        idx = torch.tensor(idx_pool)[pos]
        return Explanation(idx, val, [[self.names[j] for j in row] for row in idx.tolist()])

    def subset(self, names: Sequence[str]) -> "SemanticVectors":
        """Only the given concepts, in that order.

        Parameters
        ----------
        names : sequence of str or int
            Names or rows.

        Returns
        -------
        SemanticVectors

        Raises
        ------
        KeyError
            For an unknown name.
        """
        return self._replace(rows=self.rows(list(names)).tolist())

    def check_model(self, model: nn.Module, x_shape=None, *, kind: str | None = None, what: str = "these SeVecs",
                    strict: bool = True) -> None:
        """Refuse to use these SeVecs on a model, input size or concept kind they were not fitted
        for, saying what differs.

        Parameters
        ----------
        model : nn.Module
        x_shape : tuple, optional
            The shape of the images they will be used on.
        kind : str, optional
            The kind of concept needed here ("classes", ...).
        what : str
            How to name them in the message.
        strict : bool
            False: warn instead of raising.

        Returns
        -------
        None

        Raises
        ------
        ValueError
            If something differs and ``strict``.
        """
        problems = []
        if self.fingerprint:
            fp = model_fingerprint(model)
            if fp != self.fingerprint:
                problems.append(f"they were fitted on {self.model_name or 'a model'} with weights {self.fingerprint}, "
                                f"this model ({model_name(model)}) has weights {fp}")
        if x_shape is not None and self.input_size and tuple(x_shape[-2:]) != tuple(self.input_size):
            problems.append(f"they were fitted on {self.input_size[0]}x{self.input_size[1]} images, these are "
                            f"{x_shape[-2]}x{x_shape[-1]}")
        if kind is not None and self.kind and self.kind != kind:
            problems.append(f"they are {self.kind} SeVecs, and {kind} SeVecs are needed here")
        if not problems:
            return
        msg = f"{what} do not fit: " + "; ".join(problems)
        if strict:
            raise ValueError(msg + ". Refit them for this model and data, or pass check_provenance=False to use them "
                                   "anyway (with a warning)")
        warnings.warn(msg + " (check_provenance=False: used anyway)", UserWarning, stacklevel=3)

    # -- persistence ---------------------------------------------------------------
    def _digest(self, meta: dict) -> str:
        return tensor_digest(*(getattr(self, a) for a in _TENSORS),
                             extra=json.dumps({**meta, "names": self.names}, sort_keys=True))

    def _to_payload(self) -> dict:
        """What :meth:`save` writes: a dict of the tensors and a JSON string of the metadata
        (with a checksum of everything)."""
        meta = {"format": _FORMAT, **self._meta(), "names": list(self.names), "library_version": __version__}
        meta["sha256"] = self._digest(self._meta())
        return {"meta_json": json.dumps(meta), **{a: getattr(self, a) for a in _TENSORS}}

    @classmethod
    def _from_payload(cls, payload, path: str) -> "SemanticVectors":
        what = f"{path} is not a SemanticVectors file written by sevec_helpers"
        if not isinstance(payload, dict) or not isinstance(payload.get("meta_json"), str):
            raise ValueError(f"{what} (no metadata)")
        try:
            meta = json.loads(payload["meta_json"])
            assert isinstance(meta, dict)
        except (ValueError, AssertionError):
            raise ValueError(f"{what} (its metadata is not valid JSON)") from None
        if meta.get("format") not in _READS:
            raise ValueError(f"{path} has format {meta.get('format')!r}; this version reads {', '.join(_READS)}")
        missing = [k for k in _TENSORS if not isinstance(payload.get(k), torch.Tensor)] + \
                  [k for k in ("names", "layer") if k not in meta]
        if missing:
            raise ValueError(f"{path} is damaged or incomplete: missing {', '.join(missing)}")
        try:
            sv = cls(**{k: payload[k] for k in _TENSORS}, names=meta["names"], layer=meta["layer"],
                     model_name=meta.get("model_name", ""), fingerprint=meta.get("fingerprint", ""),
                     input_size=meta.get("input_size"), kind=meta.get("kind", ""), extra=meta.get("extra") or {})
        except (TypeError, ValueError) as e:
            raise ValueError(f"{path} does not hold valid SeVecs: {e}") from None
        if meta["format"] == _FORMAT and sv._digest(sv._meta()) != meta.get("sha256"):
            raise ValueError(f"{path} is damaged: its contents do not match the checksum written with it; "
                             f"refit the SeVecs or restore the file")
        return sv

    def save(self, path: str | os.PathLike) -> None:
        """Write to ``path`` atomically (temporary file in the same folder, then rename), with a
        checksum of the contents that :meth:`load` verifies. The file is a ``torch.save`` dict of
        the tensors (``vectors``, ``rates``, ``counts``, ``dead``, ``diversity``) and ``meta_json``,
        a JSON string of the names, layer and provenance.

        Parameters
        ----------
        path : str or os.PathLike

        Returns
        -------
        None
        """
        payload = self._to_payload()
        atomic_write(path, lambda fh: torch.save(payload, fh))

    @classmethod
    def load(cls, path: str | os.PathLike) -> "SemanticVectors":
        """Read a file written by :meth:`save` (``weights_only=True``: no code is run).

        Parameters
        ----------
        path : str or os.PathLike

        Returns
        -------
        SemanticVectors

        Raises
        ------
        FileNotFoundError
            If there is no such file.
        ValueError
            If the file is damaged (checksum), truncated or foreign, saying so.
        """
        path = os.fspath(path)
        what = f"{path} is not a SemanticVectors file written by sevec_helpers"
        try:
            payload = torch.load(path, map_location="cpu", weights_only=True)
        except FileNotFoundError:
            raise
        except Exception as e:  # pickle errors, truncated files, foreign objects
            raise ValueError(f"{what} (it does not load with weights_only=True: {e})") from e
        return cls._from_payload(payload, path)


class _LayerTaps:
    """Reads the outputs of several layers in ONE forward pass (see :func:`fit_accumulators`).

    Like :class:`sevec_helpers.features.Tap`, per layer: a module that runs several times is
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


def _refuse_signed(h: torch.Tensor, label: str, model: nn.Module) -> None:
    if (h < 0).any():
        valid = rectified_layer_names(model)
        shown = ", ".join(valid[:20]) + (f", ... ({len(valid) - 20} more)" if len(valid) > 20 else "")
        raise ValueError(f"layer {label!r} is not rectified (it has negative activations), so 1[phi(x) > 0] would read "
                         f"its sign pattern, not firing units; layers= takes rectified layers only. Rectified layers "
                         f"of {model_name(model)}: {shown or 'none found'}")


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
        Refuse a layer with negative activations (True) or warn (False, the single-layer
        behaviour of :func:`fit_sevecs`).

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
    dtype = model_dtype(model)
    with contextlib.ExitStack() as stack:
        dev = stack.enter_context(eval_mode(model))
        taps = stack.enter_context(_layer_taps(model, [r for _, r in pairs]))
        stack.enter_context(torch.inference_mode())
        labels = ", ".join(r.label for _, r in pairs)
        bar = tqdm(as_loader(data, batch_size), total=n_batches(data, batch_size), disable=not progress,
                   desc=desc or f"fit SeVecs @ {labels}")
        nonfinite = torch.zeros((), dtype=torch.bool, device=dev)
        for n, (x, y) in enumerate(bar, 1):
            if y is None or isinstance(y, dict):
                raise ValueError("fit_sevecs needs labelled data: yield (image, concept_index) pairs")
            if size is None:  # the first batch is checked at once, later ones without a host sync
                x = check_images(x, dtype=dtype).to(dev, non_blocking=True)
                check_input_scale(model, x)
                size = tuple(x.shape[-2:])
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
                    if rectified_only and len(pairs) > 1:
                        _refuse_signed(h, r.label, model)
                    else:
                        warn_if_signed(h, r.label)
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
                for h in hs:
                    nonfinite |= ~torch.isfinite(h).all()
            for name, h in zip(names, hs):
                accs[name].update(h, y, check_finite=False)
            if on_batch is not None:
                on_batch(accs, n, size)
        if bool(nonfinite):
            raise ValueError(f"activations of layer(s) {labels} contained NaN or Inf in some batch; check the input "
                             f"images (e.g. torch.nan_to_num) and the model's weights")
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
        As :func:`fit_accumulators` (a signed layer only warns here).
    """
    label = layer if isinstance(layer, str) else resolve_layer(model, layer).label
    hook = None if on_batch is None else (lambda accs, n, size: on_batch(accs[label], n, size))
    accs, size = fit_accumulators(model, data, [layer], num_concepts=num_concepts, batch_size=batch_size,
                                  progress=progress, desc=desc, amp=amp, accs=None if acc is None else {label: acc},
                                  on_batch=hook, rectified_only=False)
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
        One layer: a module name, an alias ("pool5", "fc1") or ``name@k``.
    layers : list of str, optional
        Several layers instead of ``layer``: one accumulator per layer, filled in the same
        single forward pass (memory per layer as for one layer). Unknown, repeated or
        non-rectified layers are refused with the valid names.
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
        With ``layer=``, the SeVecs; with ``layers=``, {layer as given: SemanticVectors},
        each equal to a single-layer fit of that layer.

    Raises
    ------
    ValueError
        Empty data, unknown layer, a concept without live samples (unless ``allow_empty``),
        images of the wrong shape or scale, NaN activations.
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
            return _fit_layers(model, data, [n for n, _ in pairs], **opts)
        done: dict[str, SemanticVectors] = {}

        def compute(name):
            # the first miss fits every layer not yet fitted, in one pass; later misses reuse it
            if name not in done:
                todo = [n for n, _ in pairs if n not in done]
                done.update(_fit_layers(model, data, todo, **opts))
            return done[name]

        return {n: cached_result(cache, "sevecs", "sevecs", model, data, lambda n=n: compute(n), layer=n,
                                 concept_kind=kind_, names=list(names) if names is not None else None)
                for n, _ in pairs}
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
