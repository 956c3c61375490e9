"""Measurements the chapters report: retrieval precision, accuracy per class, clustering
scores, correlations, agreement with ground truth, and saliency over scenes.

Each function takes plain tensors or datasets and returns plain numbers or arrays, so the
notebooks only call and display.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn as nn
from tqdm.auto import tqdm

from .features import as_loader, default_device, eval_on, n_batches
from .pointing import PointingResult, box_mask, generalized_pointing_game, pointing_game
from .saliency import gradient_x_input, guided_backprop, saliency_map
from .sevec import SemanticVectors

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


# ---------------------------------------------------------------------------------------
# classification accuracy
# ---------------------------------------------------------------------------------------


@torch.no_grad()
def predict(model: nn.Module, data, *, batch_size: int = 128, device=None, progress: bool = False):
    """(top-5 predictions (N, 5), labels (N,), probabilities of the label (N,))."""
    dev = torch.device(device) if device is not None else default_device()
    tops, ys, probs = [], [], []
    with eval_on(model, dev), torch.inference_mode():
        for x, y in tqdm(as_loader(data, batch_size), total=n_batches(data, batch_size), disable=not progress,
                         desc="predict"):
            out = model(x.to(dev)).float()
            tops.append(out.topk(min(5, out.shape[1]), dim=1).indices.cpu())
            if y is not None:
                ys.append(y.cpu())
                probs.append(torch.softmax(out, 1).gather(1, y.to(dev)[:, None])[:, 0].cpu())
    return torch.cat(tops), (torch.cat(ys) if ys else None), (torch.cat(probs) if probs else None)


@dataclass
class Accuracy:
    top1: float
    top5: float
    per_class_top1: np.ndarray
    per_class_top5: np.ndarray
    predictions: torch.Tensor  # (N,) top-1

    def as_dict(self):
        return {"top1": self.top1, "top5": self.top5, "per_class_top1": self.per_class_top1.tolist(),
                "per_class_top5": self.per_class_top5.tolist()}


def accuracy(model: nn.Module, data, num_classes: int, **kw) -> Accuracy:
    """Top-1 / top-5 accuracy overall and per class on labelled ``data``."""
    top, y, _ = predict(model, data, **kw)
    if y is None:
        raise ValueError("accuracy needs labelled data")
    t1 = top[:, 0] == y
    t5 = (top == y[:, None]).any(1)
    per1 = np.array([t1[y == c].float().mean().item() if (y == c).any() else np.nan for c in range(num_classes)])
    per5 = np.array([t5[y == c].float().mean().item() if (y == c).any() else np.nan for c in range(num_classes)])
    return Accuracy(t1.float().mean().item(), t5.float().mean().item(), per1, per5, top[:, 0])


# ---------------------------------------------------------------------------------------
# retrieval
# ---------------------------------------------------------------------------------------


def precision_at_k(sv: SemanticVectors, features: torch.Tensor, labels: torch.Tensor, k: int = 8,
                   relevant: Sequence[set] | None = None) -> np.ndarray:
    """Per concept, the fraction of its top-k retrieved images that are relevant.

    By default an image is relevant to concept c when its label is c (classes). With
    ``relevant`` (one set of labels per concept), an image is relevant when its label is in
    the concept's set: e.g. a texture retrieves class images whose class carries it.
    """
    idx = sv.retrieve(features, k=k)
    lab = labels[idx]  # (K, k)
    out = np.zeros(len(sv))
    for c in range(len(sv)):
        good = {c} if relevant is None else relevant[c]
        out[c] = np.mean([int(v) in good for v in lab[c].tolist()])
    return out


def truth_sets(truth: Sequence[dict], key: str, names: Sequence[str]) -> list[set]:
    """For each concept name, the set of class indices whose ground truth ``key`` lists it."""
    return [{r["index"] for r in truth if n in r[key]} for n in names]


def chance_precision(relevant: Sequence[set], labels: torch.Tensor) -> np.ndarray:
    """Precision of a random retrieval: the share of relevant images in the pool."""
    lab = labels.tolist()
    return np.array([np.mean([v in s for v in lab]) for s in relevant])


# ---------------------------------------------------------------------------------------
# hierarchy and clustering
# ---------------------------------------------------------------------------------------


def tsne_2d(vectors: torch.Tensor, seed: int = 0, perplexity: float | None = None) -> np.ndarray:
    """2-D t-SNE (cosine metric) of concept vectors; with fewer than 5 concepts, or vectors so
    alike that t-SNE is undefined, the first two principal components instead (with a warning)."""
    import warnings

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
    whose nearest other SeVec is in the same group, each with a label-permutation baseline."""
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
    """Cosine-distance agglomerative clustering of one concept's binarised features.

    Returns the number of clusters holding at least ``min_share`` of the samples and the
    share of the largest ("dominant") cluster.
    """
    from sklearn.cluster import AgglomerativeClustering

    x = binary_features.double().numpy()
    x = x[np.linalg.norm(x, axis=1) > 0]
    if len(x) < 2:
        return {"n_facets": 1, "dominant_share": 1.0}
    lab = AgglomerativeClustering(n_clusters=None, metric="cosine", linkage="average",
                                  distance_threshold=distance_threshold).fit_predict(x)
    counts = np.bincount(lab) / len(lab)
    return {"n_facets": int(np.sum(counts >= min_share)), "dominant_share": float(counts.max())}


def pearson(x, y) -> dict:
    from scipy.stats import pearsonr

    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 3 or np.std(x[ok]) == 0 or np.std(y[ok]) == 0:
        return {"r": float("nan"), "p": float("nan"), "n": int(ok.sum())}
    r, p = pearsonr(x[ok], y[ok])
    return {"r": float(r), "p": float(p), "n": int(ok.sum())}


# ---------------------------------------------------------------------------------------
# relations and explanations graded against ground truth
# ---------------------------------------------------------------------------------------


def top_agreement(relevance: torch.Tensor, truth: Sequence[set], names: Sequence[str]) -> dict:
    """Rows are classes, columns concepts. For each class with a non-empty truth set, is its
    most relevant concept in the set? Returns the fraction, the count, and the chance rate."""
    hits, n, chance = [], 0, []
    top = relevance.argmax(1).tolist()
    for c, good in enumerate(truth):
        if not good:
            continue
        n += 1
        hits.append(names[top[c]] in good)
        chance.append(len(good) / len(names))
    return {"agreement": float(np.mean(hits)) if hits else float("nan"), "n_classes": n,
            "chance": float(np.mean(chance)) if chance else float("nan"),
            "top": [names[t] for t in top]}


# ---------------------------------------------------------------------------------------
# saliency on scenes and the pointing game
# ---------------------------------------------------------------------------------------

METHODS: dict[str, Callable] = {
    "GuidedBP": lambda m, x, t, sv, rows=None: guided_backprop(m, x, t),
    "Semantic GuidedBP": lambda m, x, t, sv, rows=None: guided_backprop(m, x, t, sevecs=sv, concepts=rows),
    "Gradient*Input": lambda m, x, t, sv, rows=None: gradient_x_input(m, x, t),
    "Semantic Gradient*Input": lambda m, x, t, sv, rows=None: gradient_x_input(m, x, t, sevecs=sv, concepts=rows),
}


def scene_targets(scenes) -> tuple[list[int], list[int], list[list[tuple]]]:
    """Flatten scenes into (scene index, target class, that class's boxes) triples."""
    si, tg, bx = [], [], []
    for i in range(len(scenes)):
        _, t = scenes[i]
        labels = t["labels"].tolist()
        boxes = t["boxes"].tolist()
        for c in sorted(set(labels)):
            si.append(i)
            tg.append(c)
            bx.append([tuple(b) for b, lab in zip(boxes, labels) if lab == c])
    return si, tg, bx


def scene_maps(model: nn.Module, scenes, sv_mask: SemanticVectors, *, methods: Sequence[str] | None = None,
               batch_size: int = 32, reduce: str = "abs_sum", progress: bool = False,
               concept_of: dict[int, int] | None = None) -> dict:
    """Saliency maps for every (scene, object class) pair, for each method.

    ``concept_of`` maps a target class to its SeVec row when the rows are not the classes.

    Returns {"maps": {method: (P, H, W)}, "boxes": [...], "scene": [...], "target": [...]}.
    """
    methods = list(methods or METHODS)
    si, tg, bx = scene_targets(scenes)
    images = torch.stack([scenes[i][0] for i in range(len(scenes))])
    maps = {m: [] for m in methods}
    for s in tqdm(range(0, len(si), batch_size), disable=not progress, desc="saliency"):
        x = images[si[s : s + batch_size]]
        t = torch.tensor(tg[s : s + batch_size])
        rows = None if concept_of is None else torch.tensor([concept_of[int(c)] for c in t])
        for name in methods:
            maps[name].append(saliency_map(METHODS[name](model, x, t, sv_mask, rows), reduce))
    return {"maps": {k: torch.cat(v) for k, v in maps.items()}, "boxes": bx, "scene": si, "target": tg}


def energy_inside(maps: dict, boxes) -> dict[str, float]:
    """Per method, the mean share of each map's energy that lies inside its target's boxes.

    The key ``"(uniform map)"`` is the same share for a flat map: the boxes' mean area.
    """
    out = {}
    for name, mp in maps.items():
        h, w = mp.shape[1:]
        masks = torch.stack([box_mask(b, h, w) for b in boxes]).to(mp.dtype)
        out[name] = float(((mp * masks).sum((1, 2)) / mp.sum((1, 2)).clamp(min=1e-12)).mean())
        out["(uniform map)"] = float(masks.mean())
    return out


def pointing_results(maps: dict, boxes, energies) -> dict[str, PointingResult]:
    return {name: generalized_pointing_game(m, boxes, energies) for name, m in maps.items()}


def classic_pointing(maps: dict, boxes, tolerance: float) -> dict[str, float]:
    return {name: float(pointing_game(m, boxes, tolerance).accuracy[0]) for name, m in maps.items()}


def paired_improvement(a: PointingResult, b: PointingResult, n_boot: int = 1000, seed: int = 0) -> dict:
    """Accuracy of ``a`` minus ``b`` per energy, on the same images, with a bootstrap 95% interval."""
    diff = a.per_image.astype(float) - b.per_image.astype(float)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(diff), size=(n_boot, len(diff)))
    boots = diff[idx].mean(1)
    return {"energies": a.energies.tolist(), "improvement": diff.mean(0).tolist(),
            "low": np.percentile(boots, 2.5, axis=0).tolist(), "high": np.percentile(boots, 97.5, axis=0).tolist()}
