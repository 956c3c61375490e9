"""The ``SemanticVectors`` container: masks, retrieval, relevance, explanations, checks of
where they came from, and their files.

The maths (paper Sec. 3, Eq. 3; our reading in GUIDE.md Sec. 3): for a concept c with
samples x_i, a_i = 1[phi(x_i) > 0], a_hat_i = a_i / |a_i|, A_c = sum_i a_hat_i and the
SeVec is v_c = A_c / |A_c|. The activation rate r_c = mean_i a_i over ALL the concept's
samples, dead ones (no active unit, a_i = 0) included: the share of its images on which a unit
fires. v_c and the degree of diversity D_c = 1 - mean_i cos(a_i, v_c) = 1 - |A_c| / M_c are
over the M_c live samples (a zero pattern has no direction); neither needs a second pass.

Fitted SeVecs remember where they came from (model name and weights fingerprint, layer,
input size, concept kind), so that using them on another model, layer or kind of concept
is refused with a message saying what differs. Fitting them is :mod:`sevec_helpers.sevecs.fit`.
"""

from __future__ import annotations

import json
import math
import os
import warnings
from dataclasses import dataclass, field
from typing import NamedTuple, Sequence

import numpy as np
import torch
import torch.nn as nn

from sevec_helpers._version import __version__
from sevec_helpers.core.atomic import atomic_write
from sevec_helpers.core.features import feature_values, source_of
from sevec_helpers.core.fingerprint import model_fingerprint, tensor_digest
from sevec_helpers.core.inputs import INFO_ATTR, check_model_runs
from sevec_helpers.sevecs.accumulator import SeVecAccumulator

_FORMAT = "sevec_helpers.SemanticVectors/2"
_READS = ("sevec_helpers.SemanticVectors/1", _FORMAT)
_TENSORS = ("vectors", "rates", "counts", "dead", "diversity")


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
            (K, K_other): row i is concept ``self.names[i]``, column j concept ``other.names[j]``
            (:meth:`related` gives one concept's row with the names attached).

        Raises
        ------
        ValueError
            If the two belong to different layers or models.
        """
        other = self if other is None else other
        if not isinstance(other, SemanticVectors):
            raise TypeError(f"relevance takes other SemanticVectors, got {type(other).__name__}")
        if other.dim != self.dim or (self.layer and other.layer and self.layer != other.layer):
            raise ValueError(f"relevance needs SeVecs of the same layer: {self.layer!r} ({self.dim} units) vs "
                             f"{other.layer!r} ({other.dim} units); fit both at one layer")
        if self.fingerprint and other.fingerprint and self.fingerprint != other.fingerprint:
            raise ValueError(f"relevance needs SeVecs of the same model: fitted on weights {self.fingerprint} and "
                             f"{other.fingerprint}; fit both on one model")
        return self.vectors @ other.vectors.T

    def related(self, concept, other: "SemanticVectors | None" = None,
                top: int | None = None) -> list[tuple[str, float]]:
        """The concepts of ``other`` most relevant to one concept here, with their names.

        Parameters
        ----------
        concept : str or int
            A concept of these SeVecs (name or row).
        other : SemanticVectors, optional
            Of the same layer and model (default: these; the concept itself is then left out).
        top : int, optional
            Keep the ``top`` most relevant (default: all).

        Returns
        -------
        list of (str, float)
            (name in ``other``, cos(v_concept, v_name)), most relevant first.

        Raises
        ------
        KeyError, ValueError
            An unknown concept; SeVecs of another layer or model (as :meth:`relevance`).
        """
        row = int(self.rows(concept)[0])
        rel = self.relevance(other)[row]
        other = self if other is None else other
        pairs = [(other.names[j], float(rel[j])) for j in range(len(other)) if not (other is self and j == row)]
        pairs.sort(key=lambda p: -p[1])
        return pairs if top is None else pairs[: int(top)]

    def _check_features(self, features, strict: bool) -> None:
        """Refuse features of another layer, model or input size than these SeVecs' (when the
        features say where they came from: :class:`sevec_helpers.Features` and its values)."""
        src = source_of(features)
        if src is None:
            return
        problems = []
        if self.layer and src.layers and self.layer not in src.layers:
            problems.append(f"they are activations of layer {src.layer!r}, these SeVecs are at layer {self.layer!r}")
        if self.fingerprint and src.fingerprint and self.fingerprint != src.fingerprint:
            problems.append(f"they come from {src.model_name or 'a model'} with weights {src.fingerprint}, these "
                            f"SeVecs from {self.model_name or 'a model'} with weights {self.fingerprint}")
        if self.input_size and src.input_size and tuple(self.input_size) != tuple(src.input_size):
            problems.append(f"they are of {src.input_size[0]}x{src.input_size[1]} images, these SeVecs were fitted "
                            f"on {self.input_size[0]}x{self.input_size[1]} images")
        if not problems:
            return
        msg = "the features do not fit these SeVecs: " + "; ".join(problems)
        if strict:
            raise ValueError(msg + f". Extract them with the SeVecs' model at their layer "
                                   f"(sevec_helpers.extract_features(model, data, {self.layer!r})), or pass "
                                   f"check_provenance=False to score them anyway (with a warning)")
        warnings.warn(msg + " (check_provenance=False: scored anyway)", UserWarning, stacklevel=4)

    def _scores(self, features, binarize: bool, check_provenance: bool = True) -> torch.Tensor:
        self._check_features(features, check_provenance)
        values = feature_values(features)
        if isinstance(values, (tuple, list)) and not isinstance(values, torch.Tensor):
            raise TypeError(f"features must be the Features from extract_features or a tensor (N, D), got a "
                            f"{type(values).__name__}")
        f = torch.as_tensor(values).float()
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

    def scores(self, features, binarize: bool = True, *, check_provenance: bool = True) -> torch.Tensor:
        """Cosine similarity of each image's features to each SeVec (Eq. 3's f).

        Parameters
        ----------
        features : Features or torch.Tensor
            (N, D) activations at the SeVecs' layer: the :class:`sevec_helpers.Features` that
            :func:`sevec_helpers.extract_features` returns (or its ``values``), which say where they
            came from, or any tensor (only its width is checked).
        binarize : bool
            Compare the binary patterns 1[h > 0] (default) or the raw activations.
        check_provenance : bool
            Features of another layer, model or input size are refused; False warns instead.

        Returns
        -------
        torch.Tensor
            (N, K).

        Raises
        ------
        ValueError
            If the features come from another layer, model or input size, have another number
            of units, or contain NaN / Inf.
        """
        return self._scores(features, binarize, check_provenance)

    def retrieve(self, features, k: int = 8, binarize: bool = True, *, check_provenance: bool = True) -> torch.Tensor:
        """The k images closest to each SeVec.

        Parameters
        ----------
        features : Features or torch.Tensor
            (N, D) activations at the SeVecs' layer, as in :meth:`scores`.
        k : int
            Images per concept, 1 <= k <= N.
        binarize : bool
            As in :meth:`scores`.
        check_provenance : bool
            As in :meth:`scores`.

        Returns
        -------
        torch.Tensor
            (K, k) indices into ``features``, best first.

        Raises
        ------
        ValueError
            If ``k`` is out of range or the features do not fit (as in :meth:`scores`).
        """
        s = self._scores(features, binarize, check_provenance)
        if not 1 <= k <= s.shape[0]:
            raise ValueError(f"k={k} but there are {s.shape[0]} images; pick 1 <= k <= {s.shape[0]}")
        return s.T.topk(k, dim=1).indices

    def explain(self, features, top: int = 3, binarize: bool = True, concepts: Sequence[str] | None = None, *,
                check_provenance: bool = True) -> Explanation:
        """Per image, the ``top`` concepts whose SeVecs are closest.

        Parameters
        ----------
        features : Features or torch.Tensor
            (N, D) activations at the SeVecs' layer, as in :meth:`scores`.
        top : int
            Concepts per image.
        binarize : bool
            As in :meth:`scores`.
        concepts : sequence of str or int, optional
            Choose only among these.
        check_provenance : bool
            As in :meth:`scores`.

        Returns
        -------
        Explanation
            ``indices`` (N, top), ``scores`` (N, top), ``names`` (N lists of top names).

        Raises
        ------
        ValueError
            If ``top`` is out of range or the features do not fit (as in :meth:`scores`).
        """
        s = self._scores(features, binarize, check_provenance)
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
        check_model_runs(model)
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
