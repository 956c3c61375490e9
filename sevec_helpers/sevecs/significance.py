"""Is a SeVec result better than what random image sets give? Significance against random
concepts, as TCAV tests its concept scores (Kim et al. 2018), for SeVecs.

The null of a concept fitted on n images is a set of SeVecs each fitted on n images drawn
at random (without replacement) from the same pool (:func:`random_sevecs`); they come from
features already extracted (:meth:`SemanticVectors.from_features`), with no forward pass.
A SeVec has no randomness of its own (it uses only its concept's images), so each test
compares ONE observed value with R values of random counterparts:

- ``test="t"``: two-sided t-test of the observed value as a new draw from the null,
  t = (x - mean) / (sd * sqrt(1 + 1/R)) with R - 1 degrees of freedom (TCAV's t-test,
  for one observation);
- ``test="empirical"``: the permutation p-value, (1 + #{|null - mean| >= |x - mean|}) / (R + 1),
  exact under exchangeability and never below 1 / (R + 1).

A family of tests is corrected for multiple testing (``correction="holm"``, family-wise, or
``"bh"``, Benjamini-Hochberg false discovery rate, or ``None``) and ``significant`` is
p_adjusted <= alpha. Too few random sets for the family warns, saying how many are needed
(:func:`needed_random_sets`).

Three families: :func:`relation_significance` (cos(v_a, v_b), the null replaces concept b by
random sets of b's size from b's pool), :func:`retrieval_significance` (precision@k of a
concept's retrieval, the null replaces the concept) and :func:`explanation_significance`
(cos(a_i, v_c) of a per-image explanation, the null replaces concept c).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import torch

from sevec_helpers.core.features import feature_values
from sevec_helpers.sevecs.vectors import SemanticVectors

TESTS = ("t", "empirical")
CORRECTIONS = ("holm", "bh", None)


# ---------------------------------------------------------------------------------------
# random counterparts
# ---------------------------------------------------------------------------------------


def random_sevecs(values: torch.Tensor, size: int, n_sets: int, *, seed: int = 0, layer: str = "",
                  **provenance) -> SemanticVectors:
    """``n_sets`` SeVecs, each fitted (Eq. 3) on ``size`` rows of ``values`` drawn at random
    without replacement: the random counterparts of a concept fitted on ``size`` images.

    Parameters
    ----------
    values : torch.Tensor
        The pool: activations (N, D) at the SeVecs' layer, e.g. of every fitting image.
    size : int
        Images per random set (the concept's number of images), 1 <= size <= N.
    n_sets : int
        How many random sets (R).
    seed : int
        The draw (the same seed gives the same sets).
    layer, provenance
        Recorded on the result (see :class:`SemanticVectors`).

    Returns
    -------
    SemanticVectors
        R rows named ``random_0`` ...; a set whose images all have no active unit is kept
        as a zero vector.

    Raises
    ------
    ValueError
        ``size`` outside 1..N or ``n_sets`` < 1.
    """
    h = torch.as_tensor(values).float().reshape(len(values), -1)
    n = h.shape[0]
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or not 1 <= int(size) <= n:
        raise ValueError(f"size must be an int in 1..{n} (the pool has {n} images), got {size!r}")
    if isinstance(n_sets, bool) or not isinstance(n_sets, (int, np.integer)) or n_sets < 1:
        raise ValueError(f"n_sets must be a positive int, got {n_sets!r}")
    g = torch.Generator().manual_seed(int(seed))
    idx = torch.argsort(torch.rand(int(n_sets), n, generator=g), dim=1)[:, : int(size)]  # (R, size)
    labels = torch.arange(int(n_sets)).repeat_interleave(int(size))
    with warnings.catch_warnings():  # dead samples are part of a random draw
        warnings.simplefilter("ignore")
        return SemanticVectors.from_features(h[idx.reshape(-1)], labels, [f"random_{r}" for r in range(int(n_sets))],
                                             layer=layer, allow_empty=True, **provenance)


def concept_sizes(sv: SemanticVectors) -> np.ndarray:
    """The number of images each concept was fitted on (live and dead samples).

    Parameters
    ----------
    sv : SemanticVectors
        Fitted SeVecs.

    Returns
    -------
    numpy.ndarray
        (K,) ints: ``counts + dead``.
    """
    return (sv.counts + sv.dead).numpy().astype(int)


def null_sevecs(pool: torch.Tensor, sv: SemanticVectors, n_sets: int, *, seed: int = 0) -> dict[int, SemanticVectors]:
    """The random counterparts of every concept of ``sv``: {size: :func:`random_sevecs` of that
    size}, one draw per distinct size (concepts of one size share their random sets, as TCAV's
    concepts share their random image sets).

    Parameters
    ----------
    pool : torch.Tensor
        Activations (N, D) of the images the concepts were drawn from (e.g. their fit set).
    sv : SemanticVectors
        The concepts.
    n_sets, seed
        As in :func:`random_sevecs` (the seed is offset by the size).

    Returns
    -------
    dict
        size -> SemanticVectors of ``n_sets`` random sets.

    Raises
    ------
    ValueError
        The pool's width differs from the SeVecs', or a concept has more images than the pool.
    """
    pool = torch.as_tensor(pool).float().reshape(len(pool), -1)
    if pool.shape[1] != sv.dim:
        raise ValueError(f"the pool has {pool.shape[1]} units, the SeVecs {sv.dim} (layer {sv.layer!r}); use features "
                         f"of the same layer")
    return {int(s): random_sevecs(pool, int(s), n_sets, seed=seed + int(s), layer=sv.layer)
            for s in sorted(set(concept_sizes(sv).tolist()))}


# ---------------------------------------------------------------------------------------
# tests and corrections
# ---------------------------------------------------------------------------------------


def p_values(statistic, null, test: str = "t") -> np.ndarray:
    """Two-sided p-values of each observed value against its null sample.

    Parameters
    ----------
    statistic : array (S,)
        Observed values.
    null : array (S, R)
        For each test, the values of R random counterparts.
    test : {"t", "empirical"}
        See the module docstring.

    Returns
    -------
    numpy.ndarray
        (S,) p-values in (0, 1].

    Raises
    ------
    ValueError
        Unknown test, shapes that do not match, fewer than 2 random values, NaN.
    """
    if test not in TESTS:
        raise ValueError(f"test must be one of {TESTS}, got {test!r}")
    x = np.asarray(statistic, dtype=float).reshape(-1)
    if len(x) == 0:  # an empty family: no test, no p-value
        return np.zeros(0)
    nul = np.asarray(null, dtype=float).reshape(len(x), -1) if np.size(null) else np.zeros((len(x), 0))
    if nul.shape[0] != len(x):
        raise ValueError(f"null has {nul.shape[0]} rows for {len(x)} statistics; pass (S, R)")
    r = nul.shape[1]
    if r < 2:
        raise ValueError(f"{r} random value(s) per test: a null needs at least 2 random sets (see needed_random_sets)")
    if not (np.isfinite(x).all() and np.isfinite(nul).all()):
        raise ValueError("statistics or null values contain NaN or Inf")
    mean = nul.mean(1)
    dev = np.abs(x - mean)
    if test == "empirical":
        return (1.0 + (np.abs(nul - mean[:, None]) >= dev[:, None] - 1e-12).sum(1)) / (r + 1.0)
    from scipy import stats

    sd = nul.std(1, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = dev / (sd * math.sqrt(1.0 + 1.0 / r))
    p = 2.0 * stats.t.sf(t, df=r - 1)
    degenerate = sd <= 1e-15  # a constant null: the value either equals it or lies outside it
    p[degenerate] = np.where(dev[degenerate] <= 1e-12, 1.0, 0.0)
    return p


def adjust(p, correction: str | None = "holm") -> np.ndarray:
    """p-values adjusted for multiple testing (same order as ``p``).

    Parameters
    ----------
    p : array
        p-values of one family of tests.
    correction : {"holm", "bh", None}
        Holm's step-down (family-wise error), Benjamini-Hochberg (false discovery rate), or none.

    Returns
    -------
    numpy.ndarray
        Adjusted p-values, capped at 1.

    Raises
    ------
    ValueError
        Unknown correction.
    """
    if correction not in CORRECTIONS:
        raise ValueError(f"correction must be one of {CORRECTIONS}, got {correction!r}")
    p = np.asarray(p, dtype=float)
    flat = p.reshape(-1)
    m = len(flat)
    if correction is None or m == 0:
        return p.copy()
    order = np.argsort(flat, kind="stable")
    ranked = flat[order]
    if correction == "holm":
        adj = np.maximum.accumulate(np.minimum(1.0, (m - np.arange(m)) * ranked))
    else:
        adj = np.minimum.accumulate(np.minimum(1.0, m * ranked / np.arange(1, m + 1))[::-1])[::-1]
    out = np.empty(m)
    out[order] = adj
    return out.reshape(p.shape)


def needed_random_sets(n_tests: int, alpha: float = 0.05, test: str = "t") -> int:
    """How many random sets a family of ``n_tests`` tests at level ``alpha`` needs.

    ``empirical``: a p-value is never below 1/(R+1), and after correction the smallest is
    n_tests/(R+1), so R >= n_tests/alpha - 1 is needed for any test to be able to pass.
    ``t``: enough degrees of freedom that the t threshold at level alpha/n_tests is within
    10% of the normal one (with fewer, the threshold is set by the t-distribution's tails
    rather than by the random values observed).

    Parameters
    ----------
    n_tests : int
        Tests in the family.
    alpha : float
        The level.
    test : {"t", "empirical"}

    Returns
    -------
    int
        The smallest number of random sets R meeting the criterion.
    """
    if test not in TESTS:
        raise ValueError(f"test must be one of {TESTS}, got {test!r}")
    m = max(int(n_tests), 1)
    if test == "empirical":
        return max(2, math.ceil(m / alpha - 1 - 1e-9))
    from scipy import stats

    level = 1 - alpha / (2 * m)
    z = stats.norm.ppf(level)
    r = 3
    while stats.t.ppf(level, df=r - 1) > 1.1 * z:
        r += 1
    return r


@dataclass
class Significance:
    """One family of tests against random counterparts.

    Attributes: ``statistic`` (S,) observed values; ``null`` (S, R) random counterparts' values;
    ``p`` and ``p_adjusted`` (S,); ``significant`` (S,) bool, p_adjusted <= alpha; ``alpha``,
    ``test``, ``correction``, ``n_random`` (R); ``labels`` one string per test; ``what`` the
    statistic's name; ``extra`` per-test columns (e.g. the concept's name).
    """

    statistic: np.ndarray
    null: np.ndarray
    p: np.ndarray
    p_adjusted: np.ndarray
    significant: np.ndarray
    alpha: float
    test: str
    correction: str | None
    n_random: int
    labels: list[str]
    what: str = ""
    extra: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.statistic)

    @property
    def null_mean(self) -> np.ndarray:
        """(S,) mean of each test's random counterparts."""
        return self.null.mean(1)

    @property
    def n_significant(self) -> int:
        return int(self.significant.sum())

    @property
    def above(self) -> np.ndarray:
        """Whether each observed value is above its random counterparts' mean, one bool per test.
        The tests are two-sided: a significant test whose value is below the mean says the
        concept scores LESS than random image sets do."""
        return self.statistic > self.null_mean if len(self) else np.zeros(0, dtype=bool)

    @property
    def n_significant_above(self) -> int:
        """Significant tests whose value is above the random sets' mean."""
        return int((self.significant & self.above).sum())

    @property
    def n_significant_below(self) -> int:
        """Significant tests whose value is below the random sets' mean."""
        return int((self.significant & ~self.above).sum())

    def rows(self) -> list[dict]:
        """One dict per test: label, statistic, null mean and sd, direction ("above" or "below"
        the null mean), p, p_adjusted, significant, and the ``extra`` columns."""
        sd = self.null.std(1, ddof=1)
        out = []
        for i, lab in enumerate(self.labels):
            row = {"test": lab, self.what or "statistic": float(self.statistic[i]), "null_mean": float(self.null_mean[i]),
                   "null_sd": float(sd[i]), "direction": "above" if self.above[i] else "below", "p": float(self.p[i]),
                   "p_adjusted": float(self.p_adjusted[i]), "significant": bool(self.significant[i])}
            row.update({k: v[i] for k, v in self.extra.items()})
            out.append(row)
        return out

    def summary(self) -> str:
        """One line: how many tests are significant, at what level, by which test, and in which
        direction (above or below the random sets' mean: the tests are two-sided)."""
        corr = {"holm": "Holm", "bh": "Benjamini-Hochberg", None: "no"}[self.correction]
        line = (f"{self.n_significant} of {len(self)} {self.what or 'tests'} significant at alpha={self.alpha} "
                f"({self.test} test against {self.n_random} random sets, {corr} correction)")
        if self.n_significant:
            line += (f": {self.n_significant_above} above the random sets' mean, {self.n_significant_below} below "
                     f"(two-sided tests)")
        return line

    def __repr__(self) -> str:
        return f"Significance({self.summary()})"


def against_null(statistic, null, *, alpha: float = 0.05, test: str = "t", correction: str | None = "holm",
                 labels: Sequence[str] | None = None, what: str = "", extra: dict | None = None,
                 warn: bool = True) -> Significance:
    """Test a family of observed values against their random counterparts.

    Parameters
    ----------
    statistic : array (S,)
        Observed values.
    null : array (S, R)
        Each test's R random counterparts.
    alpha : float
        The level (0 < alpha < 1), after correction.
    test : {"t", "empirical"}
        See the module docstring.
    correction : {"holm", "bh", None}
        Multiple-testing correction over the S tests.
    labels : sequence of str, optional
        One label per test.
    what : str
        The statistic's name.
    extra : dict, optional
        Per-test columns to keep (name -> sequence of length S).
    warn : bool
        Warn when R is below :func:`needed_random_sets` for this family.

    Returns
    -------
    Significance

    Raises
    ------
    ValueError
        alpha outside (0, 1), unknown test or correction, bad shapes.
    """
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 < alpha < 1:
        raise ValueError(f"alpha must be a number in (0, 1), got {alpha!r}")
    x = np.asarray(statistic, dtype=float).reshape(-1)
    nul = np.asarray(null, dtype=float)
    nul = nul.reshape(len(x), -1) if len(x) else nul.reshape(0, nul.shape[-1] if nul.ndim == 2 else 0)
    p = p_values(x, nul, test)
    padj = adjust(p, correction)
    r = nul.shape[1]
    need = needed_random_sets(len(x), alpha, test)
    if warn and r < need:
        warnings.warn(f"{r} random sets are too few for stable p-values of {len(x)} tests at alpha={alpha} "
                      f"({test} test, {correction or 'no'} correction): use at least {need} random sets",
                      UserWarning, stacklevel=3)
    labels = [str(v) for v in labels] if labels is not None else [str(i) for i in range(len(x))]
    if len(labels) != len(x):
        raise ValueError(f"{len(labels)} labels for {len(x)} tests")
    return Significance(x, nul, p, padj, padj <= alpha, float(alpha), test, correction, r, labels, what,
                        {k: list(v) for k, v in (extra or {}).items()})


# ---------------------------------------------------------------------------------------
# the three families
# ---------------------------------------------------------------------------------------


def _null_for(nulls: dict[int, SemanticVectors] | SemanticVectors, sv: SemanticVectors, row: int) -> SemanticVectors:
    if isinstance(nulls, SemanticVectors):
        return nulls
    size = int(concept_sizes(sv)[row])
    if size not in nulls:
        raise ValueError(f"no random sets of size {size} (concept {sv.names[row]!r}); build them with "
                         f"null_sevecs(pool, sv, n_sets)")
    return nulls[size]


def relation_significance(a: SemanticVectors, b: SemanticVectors, null_b, pairs=None, **kw) -> Significance:
    """Relevance cos(v_a, v_b) (paper Sec. 4.3) against cos(v_a, r) for random sets r of b's size
    drawn from b's pool: is concept b more (or less) relevant to a than a random concept?

    Parameters
    ----------
    a, b : SemanticVectors
        The two sets of concepts (same layer and model), e.g. classes and textures.
    null_b : dict or SemanticVectors
        :func:`null_sevecs` of ``b`` (or one SemanticVectors of random sets for every b).
    pairs : sequence of (row or name of a, row or name of b), optional
        The relations to test; default every pair.
    **kw
        ``alpha``, ``test``, ``correction``, ``warn`` of :func:`against_null`.

    Returns
    -------
    Significance
        One test per pair, labelled "a ~ b"; extra columns ``a`` and ``b`` (names).
    """
    rel = a.relevance(b)
    if pairs is None:
        pairs = [(i, j) for i in range(len(a)) for j in range(len(b))]
    rows = [(int(a.rows(i)[0]), int(b.rows(j)[0])) for i, j in pairs]
    stat, null = [], []
    for i, j in rows:
        rnd = _null_for(null_b, b, j)
        stat.append(float(rel[i, j]))
        null.append((a.vectors[i] @ rnd.vectors.T).numpy())
    return against_null(stat, np.stack(null) if null else np.zeros((0, 2)),
                        labels=[f"{a.names[i]} ~ {b.names[j]}" for i, j in rows], what="relevance",
                        extra={"a": [a.names[i] for i, _ in rows], "b": [b.names[j] for _, j in rows]}, **kw)


def _precision(scores: torch.Tensor, relevant: np.ndarray, k: int) -> np.ndarray:
    top = scores.T.topk(k, dim=1).indices.numpy()  # (C, k)
    return relevant[top, np.arange(top.shape[0])[:, None]].mean(1)


def retrieval_significance(sv: SemanticVectors, nulls, features: torch.Tensor, relevant, k: int = 8,
                           concepts=None, **kw) -> Significance:
    """Precision@k of each concept's retrieval (its k images with the highest score) against the
    precision@k random SeVecs of the same size reach on the same relevant images.

    Parameters
    ----------
    sv : SemanticVectors
        The concepts.
    nulls : dict or SemanticVectors
        :func:`null_sevecs` of ``sv``.
    features : Features or torch.Tensor
        Activations (N, D) of the images to retrieve from (features of another layer or model
        than ``sv``'s are refused, as by :meth:`SemanticVectors.scores`).
    relevant : array (N, K) bool
        Which images show which concept.
    k : int
        Retrieved images per concept.
    concepts : optional
        Names or rows to test (default: every concept some image shows).
    **kw
        ``alpha``, ``test``, ``correction``, ``warn`` of :func:`against_null`.

    Returns
    -------
    Significance
        One test per concept; extra column ``concept``.

    Raises
    ------
    ValueError
        ``relevant`` of the wrong shape, k out of range.
    """
    sv._check_features(features, True)
    features = feature_values(features)
    rel = np.asarray(relevant, dtype=bool)
    n = len(features)
    if rel.shape != (n, len(sv)):
        raise ValueError(f"relevant must be (images, concepts) = ({n}, {len(sv)}), got {rel.shape}")
    if not 1 <= k <= n:
        raise ValueError(f"k={k} but there are {n} images")
    rows = sv.rows(list(concepts)).tolist() if concepts is not None else np.flatnonzero(rel.any(0)).tolist()
    real = _precision(sv.scores(features), rel, k)
    stat, null, tops = [], [], {}
    for c in rows:
        rnd = _null_for(nulls, sv, c)
        if id(rnd) not in tops:  # concepts of one size share their random sets
            tops[id(rnd)] = rnd.scores(features).T.topk(k, dim=1).indices.numpy()  # (R, k)
        top = tops[id(rnd)]
        stat.append(float(real[c]))
        null.append(rel[top, c].mean(1))
    return against_null(stat, np.stack(null) if null else np.zeros((0, 2)), labels=[sv.names[c] for c in rows],
                        what="precision@k", extra={"concept": [sv.names[c] for c in rows]}, **kw)


def explanation_significance(sv: SemanticVectors, nulls, features: torch.Tensor, concepts=None, images=None,
                             **kw) -> Significance:
    """Per-image explanations (paper Table 3): cos(a_i, v_c) of image i and the concept c that
    explains it, against cos(a_i, r) for random sets r of c's size.

    Parameters
    ----------
    sv : SemanticVectors
        The explaining concepts (e.g. textures).
    nulls : dict or SemanticVectors
        :func:`null_sevecs` of ``sv``.
    features : Features or torch.Tensor
        Activations (N, D) of the images explained (checked as by :meth:`SemanticVectors.scores`).
    concepts : optional
        One concept (name or row) per image; default each image's top-1 ``sv.explain``.
    images : sequence of int, optional
        Which images to test (default all).
    **kw
        ``alpha``, ``test``, ``correction``, ``warn`` of :func:`against_null`.

    Returns
    -------
    Significance
        One test per image; extra columns ``image`` (index) and ``concept`` (name).
    """
    sv._check_features(features, True)
    f = torch.as_tensor(feature_values(features)).float()
    idx = list(range(len(f))) if images is None else [int(i) for i in images]
    if not idx:  # nothing to explain (e.g. no image classified correctly): an empty family, not an error
        n_random = len(nulls) if isinstance(nulls, SemanticVectors) else len(next(iter(nulls.values()), ()))
        return against_null(np.zeros(0), np.zeros((0, n_random)), labels=[], what="explanation cosine",
                            extra={"image": [], "concept": []}, **{"warn": False, **kw})
    if concepts is None:
        rows = sv.explain(f[idx], top=1).indices[:, 0].tolist()
    else:
        rows = sv.rows(concepts, len(idx)).tolist()
    scores = sv.scores(f[idx])
    stat, null, by_null = [], [], {}
    for n, c in enumerate(rows):
        rnd = _null_for(nulls, sv, c)
        if id(rnd) not in by_null:  # every image's cosine to each random set, once per null
            by_null[id(rnd)] = rnd.scores(f[idx]).numpy()
        stat.append(float(scores[n, c]))
        null.append(by_null[id(rnd)][n])
    return against_null(stat, np.stack(null) if null else np.zeros((0, 2)),
                        labels=[f"image {i}: {sv.names[c]}" for i, c in zip(idx, rows)], what="explanation cosine",
                        extra={"image": idx, "concept": [sv.names[c] for c in rows]}, **kw)
