"""Measurements the chapters report: intervals, retrieval precision, clustering, correlations,
agreement with ground truth, and saliency over scenes.

Each function takes plain tensors or datasets and returns plain numbers, arrays or small
dataclasses; the verdicts on them are in :mod:`sevec_helpers.book.claims`.
"""

from __future__ import annotations

import warnings
from typing import Sequence

import numpy as np
import torch

from sevec_helpers.sevecs.vectors import SemanticVectors

N_BOOT = 2000

# ---------------------------------------------------------------------------------------
# uncertainty
# ---------------------------------------------------------------------------------------


def bootstrap_mean(values, groups=None, n_boot: int = N_BOOT, seed: int = 0) -> tuple:
    """Mean of ``values`` with a 95% percentile bootstrap interval.

    With ``groups`` (one id per value) the independent unit is the group (scenes, classes):
    groups are resampled whole and the mean is pooled over their values (a cluster
    bootstrap), so the estimate is the plain mean of all values. ``values`` may be (N,) or
    (N, E): then each column gets its interval (arrays returned).
    """
    v = np.asarray(values, float)
    if v.shape[0] == 0:
        raise ValueError("no values to bootstrap")
    g = np.arange(v.shape[0]) if groups is None else np.asarray(groups)
    if len(g) != v.shape[0]:
        raise ValueError(f"got {v.shape[0]} values but {len(g)} group ids")
    ids, inv = np.unique(g, return_inverse=True)
    sums = np.zeros((len(ids),) + v.shape[1:])
    np.add.at(sums, inv, v)
    counts = np.bincount(inv, minlength=len(ids)).astype(float)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(ids), size=(n_boot, len(ids)))
    shape = (n_boot,) + (1,) * (v.ndim - 1)
    boots = sums[idx].sum(1) / counts[idx].sum(1).reshape(shape)
    m, lo, hi = v.mean(0), np.percentile(boots, 2.5, axis=0), np.percentile(boots, 97.5, axis=0)
    if v.ndim == 1:
        return float(m), float(lo), float(hi)
    return m, lo, hi


from sevec_helpers.evaluation.metrics import sem  # noqa: E402,F401  (the standard error of the mean: one implementation, in the core)

# ---------------------------------------------------------------------------------------
# Eq. 3 on a toy: the closed form against brute force
# ---------------------------------------------------------------------------------------


def eq3_objective(v: torch.Tensor, patterns: torch.Tensor) -> torch.Tensor:
    """sum_i cos(a_i, v) for binary patterns (M, D) and direction(s) v (D,) or (R, D)."""
    a = patterns.double()
    a_hat = a / a.norm(dim=1, keepdim=True).clamp(min=1e-12)
    v = v.double()
    v = v / v.norm(dim=-1, keepdim=True)
    return (a_hat @ v.T).sum(0) if v.dim() == 2 else (a_hat @ v).sum()


def eq3_gradient_ascent(patterns: torch.Tensor, steps: int = 500, lr: float = 2e-3, seed: int = 0) -> torch.Tensor:
    """Maximise Eq. 3 numerically from a random start (projected gradient ascent on the sphere)."""
    g = torch.Generator().manual_seed(seed)
    v = torch.randn(patterns.shape[1], generator=g, dtype=torch.float64)
    v = (v / v.norm()).requires_grad_(True)
    opt = torch.optim.SGD([v], lr=lr)
    for _ in range(steps):
        loss = -eq3_objective(v, patterns)
        opt.zero_grad()
        loss.backward()
        opt.step()
        with torch.no_grad():
            v /= v.norm()
    return v.detach()


def eq3_toy(n: int = 200, d: int = 60, seed: int = 0) -> dict:
    """Eq. 3 on planted patterns (three facets of one concept, 8% noise): the objective at the
    closed form A/|A|, after gradient ascent, at the best of 20,000 random non-negative
    directions, and at the mean of the raw (un-normalised) patterns."""
    g = torch.Generator().manual_seed(seed)
    facets = torch.rand(3, d, generator=g) < 0.35
    patterns = (facets[torch.randint(0, 3, (n,), generator=g)] ^ (torch.rand(n, d, generator=g) < 0.08)).long()
    a = patterns.double()
    closed = eq3_objective((a / a.norm(dim=1, keepdim=True).clamp(min=1e-12)).sum(0), patterns).item()
    return {"closed_form": closed, "gradient_ascent": eq3_objective(eq3_gradient_ascent(patterns), patterns).item(),
            "best_random": eq3_objective(torch.randn(20000, d, generator=g).abs(), patterns).max().item(),
            "mean_raw": eq3_objective(a.mean(0), patterns).item(), "n": n, "d": d}


# ---------------------------------------------------------------------------------------
# retrieval
# ---------------------------------------------------------------------------------------


def relevance_matrix(labels: torch.Tensor, n_concepts: int, relevant: Sequence[set] | None = None,
                     image_truth: Sequence[dict] | None = None, key: str = "", names: Sequence[str] = ()) -> np.ndarray:
    """(N, K) bool: is image n relevant to concept k?

    Default: its label is k (classes). ``relevant``: one set of labels per concept (a class
    carries the concept). ``image_truth`` with ``key`` and ``names``: the concepts each image
    really shows (per-image ground truth)."""
    y = np.asarray(labels)
    if image_truth is not None:
        return np.array([[nm in set(t[key]) for nm in names] for t in image_truth], dtype=bool)
    if relevant is None:
        return y[:, None] == np.arange(n_concepts)[None, :]
    return np.array([[int(v) in s for s in relevant] for v in y], dtype=bool)


def precision_at_k(sv: SemanticVectors, features: torch.Tensor, relevant: np.ndarray, k=8) -> np.ndarray:
    """Per concept, the share of its top-k retrieved images that are relevant (``relevant``:
    an (N, K) bool matrix from :func:`relevance_matrix`). ``k`` is one number for every
    concept, or one per concept (e.g. :func:`reachable_k`, so that a concept with only three
    relevant images can still reach precision 1)."""
    rel = np.asarray(relevant, bool)
    if rel.shape != (features.shape[0], len(sv)):
        raise ValueError(f"relevant must be (N, K) = ({features.shape[0]}, {len(sv)}), got {rel.shape}")
    ks = np.broadcast_to(np.asarray(k, int), (len(sv),))
    if (ks < 1).any() or (ks > features.shape[0]).any():
        raise ValueError(f"k must lie in [1, {features.shape[0]}] (the number of images), got {np.unique(ks).tolist()}")
    idx = sv.retrieve(features, k=int(ks.max())).numpy()  # (K, max k)
    hits = rel[idx, np.arange(len(sv))[:, None]]
    return np.array([hits[c, :ks[c]].mean() for c in range(len(sv))])


def reachable_k(relevant: np.ndarray, k: int = 8) -> np.ndarray:
    """Per concept, ``min(k, its number of relevant images)`` (at least 1): the k at which a
    perfect retrieval scores precision 1 (with three images of a class, precision@8 could not
    exceed 3/8)."""
    n = np.asarray(relevant, bool).sum(0)
    return np.clip(np.minimum(k, n), 1, None).astype(int)


def chance_precision(relevant: np.ndarray) -> np.ndarray:
    """Precision of a random retrieval per concept: the share of relevant images in the pool."""
    return np.asarray(relevant, bool).mean(0)


def truth_sets(truth: Sequence[dict], key: str, names: Sequence[str]) -> list[set]:
    """For each concept name, the set of class indices whose ground truth ``key`` lists it."""
    return [{r["index"] for r in truth if n in r[key]} for n in names]


# ---------------------------------------------------------------------------------------
# hierarchy and clustering
# ---------------------------------------------------------------------------------------


def tsne_2d(vectors: torch.Tensor, seed: int = 0, perplexity: float | None = None) -> np.ndarray:
    """2-D t-SNE (cosine metric) of concept vectors; with fewer than 5 concepts, or vectors so
    alike that t-SNE is undefined, the first two principal components instead (with a warning)."""
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    x = vectors.double().numpy()

    def pca():
        warnings.warn("too few or too similar concepts for t-SNE: showing the first two principal components",
                      stacklevel=3)
        out = np.zeros((len(x), 2))
        k = min(2, len(x))
        out[:, :k] = PCA(n_components=k).fit_transform(x) if len(x) > 1 else 0
        return out

    if len(x) < 5:
        return pca()
    p = perplexity or max(1.0, min(30.0, (len(x) - 1) / 3))
    # Barnes-Hut's quad tree can crash on (near-)duplicate points; exact t-SNE is cheap for few concepts
    method = "exact" if len(x) <= 300 else "barnes_hut"
    try:
        out = TSNE(n_components=2, perplexity=p, metric="cosine", init="pca", random_state=seed,
                   method=method).fit_transform(x)
    except ValueError:
        return pca()
    return out if np.all(np.isfinite(out)) else pca()


def cluster_scores(vectors: torch.Tensor, groups: Sequence, n_perm: int = 500, seed: int = 0) -> dict:
    """How well SeVecs cluster by ``groups``: cosine silhouette, and the share of concepts
    whose nearest other SeVec is in the same group, each with a label-permutation test."""
    from sklearn.metrics import silhouette_score

    x = vectors.double().numpy()
    x = x / np.clip(np.linalg.norm(x, axis=1, keepdims=True), 1e-12, None)
    g = np.asarray(groups)
    sim = x @ x.T
    # the cosine distances are computed once; each permutation then costs O(K^2), not O(K^2 D)
    dist = np.clip(1.0 - sim, 0.0, None)
    np.fill_diagonal(dist, 0.0)
    np.fill_diagonal(sim, -np.inf)
    nn_idx = sim.argmax(1)

    def scores(lab):
        return silhouette_score(dist, lab, metric="precomputed"), float(np.mean(lab[nn_idx] == lab))

    sil, nn_agree = scores(g)
    rng = np.random.default_rng(seed)
    perm = np.array([scores(rng.permutation(g)) for _ in range(n_perm)])
    return {"silhouette": float(sil), "nn_agreement": nn_agree,
            "silhouette_perm_mean": float(perm[:, 0].mean()), "nn_agreement_perm_mean": float(perm[:, 1].mean()),
            "silhouette_p": float((1 + np.sum(perm[:, 0] >= sil)) / (n_perm + 1)),
            "nn_agreement_p": float((1 + np.sum(perm[:, 1] >= nn_agree)) / (n_perm + 1))}


def count_facets(binary_features: torch.Tensor, distance_threshold: float = 0.5, min_share: float = 0.05) -> dict:
    """Cosine-distance agglomerative clustering (average linkage) of one concept's binarised
    features: the number of clusters holding at least ``min_share`` of the samples, and the
    share of the largest ("dominant") cluster."""
    from sklearn.cluster import AgglomerativeClustering

    x = binary_features.double().numpy()
    x = x[np.linalg.norm(x, axis=1) > 0]
    if len(x) < 2:
        return {"n_facets": 1, "dominant_share": 1.0}
    lab = AgglomerativeClustering(n_clusters=None, metric="cosine", linkage="average",
                                  distance_threshold=distance_threshold).fit_predict(x)
    counts = np.bincount(lab) / len(lab)
    return {"n_facets": int(np.sum(counts >= min_share)), "dominant_share": float(counts.max())}


def facet_probe(features: torch.Tensor, labels, facets) -> dict:
    """Can a layer tell the facets of a class apart? The positive control of reading D_c as
    multifacetedness (rules v4): leave-one-out nearest facet centroid, by cosine, on the
    binarised features, within each class drawn from two or more facets.

    Parameters
    ----------
    features : torch.Tensor
        (N, D) activations of the layer (binarised here, as in Eq. 3).
    labels : sequence of int
        (N,) the class of each image.
    facets : sequence of int
        (N,) the planted facet of each image (within its class).

    Returns
    -------
    dict
        ``accuracy`` (share of images whose nearest facet centroid, computed without the
        image, is its own facet; a tie between facets counts as a fair coin), ``low``/``high`` (95% bootstrap interval over classes),
        ``chance`` (naming each class's most common facet), ``n_classes`` and ``n_images``
        of the classes probed, ``per_class`` accuracies. ``accuracy`` is None when no
        class has two facets with two images each.

    Raises
    ------
    ValueError
        When ``labels``, ``facets`` and ``features`` differ in length.
    """
    x = (torch.as_tensor(features).reshape(len(features), -1) > 0).double()
    y, f = np.asarray(labels).reshape(-1), np.asarray(facets).reshape(-1)
    if not (len(y) == len(f) == x.shape[0]):
        raise ValueError(f"got {x.shape[0]} feature rows, {len(y)} labels and {len(f)} facets: one each per image")
    correct, group, chance, per_class = [], [], [], {}
    for c in np.unique(y):
        rows = np.flatnonzero(y == c)
        fc = f[rows]
        kinds, counts = np.unique(fc, return_counts=True)
        kinds = kinds[counts >= 2]
        if len(kinds) < 2:
            continue
        rows = rows[np.isin(fc, kinds)]
        fc = f[rows]
        xc = x[rows]
        sums = {k: xc[fc == k].sum(0) for k in kinds}
        hits = []
        for j in range(len(rows)):
            sims = []
            for k in kinds:
                centre = sums[k] - (xc[j] if fc[j] == k else 0)
                norm = float(centre.norm() * xc[j].norm())
                sims.append(float(centre @ xc[j]) / norm if norm > 0 else -1.0)
            sims = np.asarray(sims)
            tied = np.flatnonzero(sims >= sims.max() - 1e-9)       # ties share the credit (a fair coin)
            hits.append(float(fc[j] in kinds[tied]) / len(tied))
        correct += hits
        group += [int(c)] * len(hits)
        chance += [counts.max() / counts.sum()] * len(hits)
        per_class[int(c)] = float(np.mean(hits))
    if not correct:
        return {"accuracy": None, "low": None, "high": None, "chance": None, "n_classes": 0, "n_images": 0,
                "per_class": {}}
    m, lo, hi = bootstrap_mean(np.asarray(correct, float), group)
    return {"accuracy": m, "low": lo, "high": hi, "chance": float(np.mean(chance)), "n_classes": len(per_class),
            "n_images": len(correct), "per_class": per_class}


def correlation(x, y, method: str = "pearson") -> dict:
    """Pearson's r or Spearman's rho with its two-sided p-value; r and p are None when undefined
    (fewer than 3 finite pairs, or a constant variable)."""
    from scipy.stats import pearsonr, spearmanr

    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 3 or np.std(x[ok]) == 0 or np.std(y[ok]) == 0:
        return {"r": None, "p": None, "n": int(ok.sum())}
    r, p = (pearsonr if method == "pearson" else spearmanr)(x[ok], y[ok])
    return {"r": float(r), "p": float(p), "n": int(ok.sum())}


# ---------------------------------------------------------------------------------------
# relations and explanations graded against ground truth
# ---------------------------------------------------------------------------------------


def top_agreement(relevance: torch.Tensor, truth: Sequence[set], names: Sequence[str], seed: int = 0) -> dict:
    """Rows are classes, columns concepts. For each class with a non-empty truth set, is its
    most relevant concept in the set? The share with a 95% bootstrap interval over classes,
    the count, the chance rate, and each class's top concept."""
    top = relevance.argmax(1).tolist()
    hits, chance = [], []
    for c, good in enumerate(truth):
        if good:
            hits.append(names[top[c]] in good)
            chance.append(len(good) / len(names))
    out = {"n_classes": len(hits), "top": [names[t] for t in top]}
    if hits:
        out.update(zip(("agreement", "low", "high"), bootstrap_mean(hits, seed=seed)))
        out["chance"] = float(np.mean(chance))
    return out


def explanation_agreement(sv: SemanticVectors, features: torch.Tensor, image_truth: Sequence[dict], key: str,
                          keep: np.ndarray, seed: int = 0) -> dict:
    """Table 3 graded per image: for the images ``keep`` (e.g. correctly classified) that show
    some ``key`` concept, is the concept whose SeVec is closest to the image's binarised
    features one it shows? Share right (95% interval over images) and chance."""
    ex = sv.explain(features, top=1)
    right, chance, idx = [], [], []
    for i in np.flatnonzero(keep):
        truth = set(image_truth[i][key]) & set(sv.names)
        if truth:
            right.append(ex.names[i][0] in truth)
            chance.append(len(truth) / len(sv))
            idx.append(int(i))
    out = {"n": len(right), "images": idx, "named": [ex.names[i][0] for i in idx]}
    if right:
        out.update(zip(("right", "low", "high"), bootstrap_mean(right, seed=seed)))
        out["chance"] = float(np.mean(chance))
    return out
