"""Five ways to turn example images of a concept into a direction in a layer's feature space,
fitted on the same features so they can be compared against the truth.

- ``sevec``: the paper's closed form, A/|A| of the normalised binarised activations (Eq. 3);
  images are scored by cos(1[h > 0], v);
- ``cav``: a concept activation vector as TCAV fits it: the normal of a linear classifier
  (scikit-learn's logistic regression) separating the concept's activations from random
  other images; scored by the classifier's decision function;
- ``unit``: the single most selective unit (NetDissect-style): the unit whose activation
  separates the concept's images from the rest best (difference of means over the
  pooled standard deviation); scored by that unit's activation;
- ``mean``: the mean of the raw (not binarised) activations, normalised; scored by cosine;
- ``fastcav``: FastCAV (Schmalwasser et al., ICML 2025), the closed-form stand-in for the CAV:
  the concept's mean activation minus the mean over the same random other images the CAV
  is contrasted with, normalised; scored by the linear function that is zero half-way
  between the two means.

Every method also ranks the units by relevance (``ranking``), which gives each a
Table-1-style mask of any size.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from sevec_helpers.sevecs.vectors import SemanticVectors

METHODS = ("sevec", "cav", "fastcav", "unit", "mean")
LABELS = {"sevec": "SeVec (Eq. 3)", "cav": "CAV (TCAV)", "fastcav": "FastCAV (mean difference)",
          "unit": "most selective unit", "mean": "mean activation"}


@dataclass
class ConceptVectors:
    method: str
    names: list[str]
    vectors: torch.Tensor        # (K, D) unit directions
    ranking: torch.Tensor        # (K, D) relevance of each unit (higher = more relevant)
    bias: torch.Tensor | None    # (K,) CAV / FastCAV intercepts
    seconds: float               # time to fit all K concepts
    bytes_needed: int            # memory the method needs beyond the model (per fit, all concepts)

    def scores(self, features: torch.Tensor) -> torch.Tensor:
        """(N, K): how much each image shows each concept, by this method's own score."""
        h = torch.as_tensor(features).float().reshape(len(features), -1)
        if self.method == "sevec":
            a = (h > 0).float()
            return (a / a.norm(dim=1, keepdim=True).clamp(min=1e-12)) @ self.vectors.T
        if self.method == "mean":
            return (h / h.norm(dim=1, keepdim=True).clamp(min=1e-12)) @ self.vectors.T
        if self.method in ("cav", "fastcav"):
            return h @ self.vectors.T + self.bias[None]
        return h[:, self.vectors.argmax(1)]  # unit: the chosen unit's activation

    def retrieve(self, features: torch.Tensor, k: int) -> torch.Tensor:
        return self.scores(features).T.topk(k, dim=1).indices

    def masks(self, sizes: torch.Tensor) -> torch.Tensor:
        """(K, D) bool: each concept's ``sizes[k]`` most relevant units."""
        order = self.ranking.argsort(dim=1, descending=True)
        keep = torch.arange(self.ranking.shape[1])[None, :] < sizes[:, None]
        out = torch.zeros_like(self.ranking, dtype=torch.bool)
        return out.scatter(1, order, keep)


def _negatives(yn: np.ndarray, c: int, rng: np.random.Generator, n_random: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Concept ``c``'s images and the random other images it is contrasted with (CAV and
    FastCAV draw the same ones for the same seed)."""
    pos = np.flatnonzero(yn == c)
    others = np.flatnonzero(yn != c)
    return pos, rng.choice(others, size=min(len(others), n_random or len(pos)), replace=False)


def fit(method: str, features: torch.Tensor, labels: torch.Tensor, names, *, seed: int = 0,
        n_random: int | None = None) -> ConceptVectors:
    """Fit ``method``'s vector for every concept (label k = names[k]) on raw activations (N, D).

    Parameters
    ----------
    method : str
        One of :data:`METHODS`.
    features : torch.Tensor
        Raw activations (N, D) (any (N, ...) is flattened).
    labels : torch.Tensor
        Concept index of each row (N,).
    names : sequence of str
        One name per concept.
    seed : int
        The random negative images of ``cav`` and ``fastcav``.
    n_random : int, optional
        How many random negatives per concept (default: as many as the concept's images).

    Returns
    -------
    ConceptVectors
        Unit vectors (K, D), the unit ranking, intercepts (cav, fastcav), the fitting time
        and an estimate of the memory the fit holds.

    Raises
    ------
    ValueError
        An unknown method.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    h = torch.as_tensor(features).float().reshape(len(features), -1)
    y = torch.as_tensor(labels).long()
    k, d = len(names), h.shape[1]
    t0 = time.perf_counter()
    bias = None
    if method == "sevec":
        sv = SemanticVectors.from_features(h, y, names, allow_empty=True)
        vectors, ranking = sv.vectors, sv.rates
        need = 4 * k * d * 8  # running sums (float64): O(K D), images streamed
    elif method == "mean":
        sums = torch.zeros(k, d).index_add_(0, y, h)
        vectors = sums / sums.norm(dim=1, keepdim=True).clamp(min=1e-12)
        ranking = vectors
        need = k * d * 8
    elif method == "unit":
        n_c = torch.bincount(y, minlength=k).float().clamp(min=1)[:, None]
        s1 = torch.zeros(k, d).index_add_(0, y, h)
        s2 = torch.zeros(k, d).index_add_(0, y, h * h)
        mean_c = s1 / n_c
        tot1, tot2, n = s1.sum(0), s2.sum(0), float(len(h))
        mean_o = (tot1[None] - s1) / (n - n_c).clamp(min=1)
        var = (tot2 / n - (tot1 / n) ** 2).clamp(min=1e-12)
        ranking = (mean_c - mean_o) / var.sqrt()[None]
        vectors = torch.nn.functional.one_hot(ranking.argmax(1), d).float()
        need = 3 * k * d * 8
    elif method == "fastcav":  # closed form: difference of the two means, threshold half-way between them
        rng = np.random.default_rng(seed)
        hn, yn = h.double().numpy(), y.numpy()
        vecs, biases = [], []
        for c in range(k):
            pos, neg = _negatives(yn, c, rng, n_random)
            mu_c = hn[pos].mean(0) if len(pos) else np.zeros(d)
            mu_r = hn[neg].mean(0) if len(neg) else np.zeros(d)
            w = torch.from_numpy(mu_c - mu_r)
            norm = w.norm().clamp(min=1e-12)
            vecs.append(w / norm)
            biases.append(float(-(w / norm) @ torch.from_numpy((mu_c + mu_r) / 2)))
        vectors, bias = torch.stack(vecs), torch.tensor(biases)
        ranking = vectors
        need = 2 * k * d * 8  # per concept, the running sums of its images and of its random set
    else:
        from sklearn.linear_model import LogisticRegression
        from threadpoolctl import threadpool_limits

        rng = np.random.default_rng(seed)
        vecs, biases = [], []
        hn, yn = h.numpy(), y.numpy()
        for c in range(k):
            pos, neg = _negatives(yn, c, rng, n_random)
            xs = np.concatenate([hn[pos], hn[neg]])
            ys = np.concatenate([np.ones(len(pos)), np.zeros(len(neg))])
            with threadpool_limits(1):  # multithreaded OpenBLAS runs this small fit ~50x slower on 2 cores
                clf = LogisticRegression(max_iter=2000, C=1.0).fit(xs, ys)
            w = torch.tensor(clf.coef_[0], dtype=torch.float32)
            vecs.append(w / w.norm().clamp(min=1e-12))
            biases.append(float(clf.intercept_[0]) / float(w.norm().clamp(min=1e-12)))
        vectors, bias = torch.stack(vecs), torch.tensor(biases)
        ranking = vectors
        need = 2 * int(np.bincount(yn).max()) * d * 4  # a concept's and its random set's features in memory
    return ConceptVectors(method, list(names), vectors.float(), ranking.float(), bias, time.perf_counter() - t0,
                          int(need))


def stability(method: str, features: torch.Tensor, labels: torch.Tensor, names, seed: int = 0) -> np.ndarray:
    """Per concept, the cosine between the vectors fitted on two disjoint random halves of its images.

    Parameters
    ----------
    method, features, labels, names, seed
        As :func:`fit` (the two halves are fitted with seeds ``seed`` and ``seed + 1``).

    Returns
    -------
    numpy.ndarray
        (K,) cosines.
    """
    y = torch.as_tensor(labels).long()
    g = torch.Generator().manual_seed(seed)
    half = torch.zeros(len(y), dtype=torch.bool)
    for c in y.unique():
        idx = (y == c).nonzero().flatten()
        half[idx[torch.randperm(len(idx), generator=g)[: len(idx) // 2]]] = True
    a = fit(method, features[half], y[half], names, seed=seed).vectors
    b = fit(method, features[~half], y[~half], names, seed=seed + 1).vectors
    return (a * b).sum(1).numpy()
