"""Saliency over scenes (paper Sec. 5): every (scene, object) pair, its maps by each method
plain and semantic, the two controls of Fig. 6, and the scores of Sec. 5.2 (energy in the
target's box, the generalized and the classic pointing game, a centre baseline).

This is the loop a researcher runs on their own detection-style data: ``scenes`` is any
indexable of ``(image (3, H, W), {"boxes": (B, 4), "labels": (B,)})`` (boxes in pixels,
``(x0, y0, x1, y1)``), an item may be ``None`` (skipped). For one scene the same numbers
come from the public calls it is made of::

    pairs = scene_pairs(scenes, [i])
    x = torch.stack([scenes[int(s)][0] for s in pairs.scene])
    maps = reduce_channels(guided_backprop(model, x, pairs.target, sevecs=sv5))
    share = energy_share(maps, pairs.boxes)

The controls: the same semantic pass with the mask of another object in the scene
(``concepts=pairs.other``) and with a permuted mask of the same size
(``sevecs=sv5.permuted(seed)``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator, Sequence

import numpy as np
import torch
import torch.nn as nn
from tqdm.auto import tqdm

from sevec_helpers.attribution.saliency import METHOD_LABELS, METHODS, attribute, reduce_channels
from sevec_helpers.core.classes import rows_for_targets
from sevec_helpers.core.fingerprint import cached_result, tensor_digest
from sevec_helpers.evaluation.pointing import (
    PointingResult,
    _as_maps,
    _check_boxes,
    _box_mask_np,
    box_mask,
    centre_maps,
    generalized_pointing_game,
    pointing_game,
)
from sevec_helpers.sevecs.vectors import SemanticVectors

PLAIN, OWN, OTHER, PERMUTED = "plain", "own mask", "other object's mask", "permuted mask"
"""The four variants of a map: plain, semantic with the target's own mask, and the two controls."""
VARIANTS = (PLAIN, OWN, OTHER, PERMUTED)
CENTRE = "centre baseline"
"""The name of the centre baseline's scores in ``SceneMetrics``."""


def map_name(method: str, variant: str = PLAIN) -> str:
    """Display name of a map.

    Parameters
    ----------
    method : str
        A method id of ``sevec_helpers.attribution.saliency.METHODS`` (e.g. ``"guided_backprop"``).
    variant : {PLAIN, OWN, OTHER, PERMUTED}
        Plain, semantic with the target's own mask, or a control.

    Returns
    -------
    str
        ``"GuidedBP"``, ``"Semantic GuidedBP"``, ``"Semantic GuidedBP (permuted mask)"``, ...

    Raises
    ------
    ValueError
        An unknown method id or variant.
    """
    if method not in METHOD_LABELS:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; choose one of {', '.join(map(repr, VARIANTS))}")
    base = METHOD_LABELS[method]
    if variant == PLAIN:
        return base
    return f"Semantic {base}" + ("" if variant == OWN else f" ({variant})")


@dataclass
class ScenePairs:
    """Every (scene, target class) pair of a scene set, with its boxes and one map per variant.

    Attributes
    ----------
    scene : numpy.ndarray
        (P,) the scene index of each pair.
    target : numpy.ndarray
        (P,) the target class.
    boxes : list
        P lists of the target class's boxes ``(x0, y0, x1, y1)``.
    other : numpy.ndarray
        (P,) the class of another object in the scene (the first other class present), -1
        when the scene has none.
    maps : dict
        Map name -> (P, H, W) maps (filled by :func:`scene_maps`); the "other object's mask"
        maps cover only the pairs in :attr:`other_pairs`.
    """

    scene: np.ndarray
    target: np.ndarray
    boxes: list
    other: np.ndarray
    maps: dict = field(default_factory=dict)

    @property
    def other_pairs(self) -> np.ndarray:
        """The pair indices whose scene has another object (the "other object's mask" control)."""
        return np.flatnonzero(self.other >= 0)

    def __len__(self):
        return len(self.scene)


def scene_pairs(scenes, scene_ids: Sequence[int] | None = None) -> ScenePairs:
    """Flatten scenes into (scene, target class, that class's boxes) pairs.

    Parameters
    ----------
    scenes : indexable
        Items ``(image, {"boxes": (B, 4), "labels": (B,)})``; ``None`` items are skipped.
    scene_ids : sequence of int, optional
        Only these scenes (default: all).

    Returns
    -------
    ScenePairs
        One pair per class present in a scene (in increasing class order), with all its
        boxes and the first other class present in the same scene (or -1); no maps yet.
    """
    si, tg, bx, oth = [], [], [], []
    for i in (range(len(scenes)) if scene_ids is None else scene_ids):
        item = scenes[int(i)]
        if item is None:
            continue
        t = item[1]
        labels = [int(v) for v in torch.as_tensor(t["labels"]).tolist()]
        boxes = torch.as_tensor(t["boxes"]).tolist()
        present = sorted(set(labels))
        for c in present:
            si.append(int(i))
            tg.append(c)
            bx.append([tuple(b) for b, lab in zip(boxes, labels) if lab == c])
            others = [o for o in present if o != c]
            oth.append(others[0] if others else -1)
    return ScenePairs(np.array(si, dtype=int), np.array(tg, dtype=int), bx, np.array(oth, dtype=int))


def iter_scene_maps(model: nn.Module, scenes, pairs: ScenePairs, sevecs: SemanticVectors, *,
                    methods: Sequence[str] = ("guided_backprop", "gradient_x_input"), controls: bool = True,
                    batch_size: int = 32, reduce: str = "abs_sum", progress: bool = False,
                    concept_of: dict[int, int] | None = None, seed: int = 0) -> Iterator[tuple]:
    """The maps of every pair, batch by batch: each method plain and semantic and, with
    ``controls``, semantic with another object's mask and with a permuted mask.

    Parameters
    ----------
    model : torch.nn.Module
        The classifier; it is not moved (the maps are computed where it lives).
    scenes : indexable
        As in :func:`scene_pairs`.
    pairs : ScenePairs
        From :func:`scene_pairs` on the same ``scenes``.
    sevecs : SemanticVectors
        Class SeVecs at the mask layer (pool5 in the paper).
    methods : sequence of str
        Method ids (``sevec_helpers.attribution.saliency.METHODS``).
    controls : bool
        Also the two controls: the mask of another object in the scene (only pairs whose
        scene has one) and :meth:`SemanticVectors.permuted` ``(seed)`` with the target's row.
    batch_size : int
        Pairs per backward pass.
    reduce : {"abs_sum", "max_abs", "pos_sum"}
        How :func:`reduce_channels` turns an attribution into a map.
    progress : bool
        A tqdm progress bar.
    concept_of : dict, optional
        Target class -> SeVec row, to choose the rows yourself. Default: each class's SeVec
        by name, as :func:`sevec_helpers.attribution.saliency.attribute` finds it (a class
        without a SeVec is refused, with the fitted names).
    seed : int
        The permutation of the permuted-mask control.

    Yields
    ------
    (numpy.ndarray, str, torch.Tensor)
        The pair indices of the batch, the map's name (:func:`map_name`) and the maps
        (B, H, W) on the CPU. Only one batch of maps is held in memory.

    Raises
    ------
    ValueError
        The scenes have no labelled objects, or a method id is unknown.
    """
    if len(pairs) == 0:
        raise ValueError("the scenes have no labelled objects")
    for m in methods:
        map_name(m)
    permuted = sevecs.permuted(seed) if controls else None
    if concept_of is not None:
        row = lambda c: concept_of[int(c)]  # noqa: E731
    else:   # every class of the scenes, matched with its SeVec by name once (refused up front if one has none)
        present = sorted({int(c) for c in pairs.target} | {int(c) for c in pairs.other if c >= 0})
        n_out = _num_outputs(model, scenes, pairs)
        by_class = dict(zip(present, rows_for_targets(model, sevecs.names, torch.tensor(present), n_out).tolist()))
        row = lambda c: by_class[int(c)]  # noqa: E731
    variants = [(m, v) for m in methods for v in (VARIANTS if controls else (PLAIN, OWN))]
    cache: dict[int, torch.Tensor] = {}
    for s in tqdm(range(0, len(pairs), batch_size), disable=not progress, desc="saliency maps"):
        sel = np.arange(s, min(s + batch_size, len(pairs)))
        for i in np.unique(pairs.scene[sel]):
            if int(i) not in cache:
                cache[int(i)] = scenes[int(i)][0]
        x = torch.stack([cache[int(i)] for i in pairs.scene[sel]])
        t = torch.as_tensor(pairs.target[sel])
        rows = torch.tensor([row(c) for c in pairs.target[sel]])
        for m, v in variants:
            idx = sel
            if v == PLAIN:
                a = attribute(model, x, t, m)
            elif v == OWN:
                a = attribute(model, x, t, m, sevecs=sevecs, concepts=rows)
            elif v == PERMUTED:
                a = attribute(model, x, t, m, sevecs=permuted, concepts=rows)
            else:
                keep = pairs.other[sel] >= 0
                if not keep.any():
                    continue
                idx = sel[keep]
                orow = torch.tensor([row(c) for c in pairs.other[idx]])
                k = torch.as_tensor(keep)
                a = attribute(model, x[k], t[k], m, sevecs=sevecs, concepts=orow)
            yield idx, map_name(m, v), reduce_channels(a, reduce).cpu()
        for i in set(cache) - {int(pairs.scene[sel[-1]])}:
            del cache[i]


def _num_outputs(model: nn.Module, scenes, pairs: ScenePairs) -> int:
    """The model's number of outputs, from one forward pass of the first scene's image."""
    from sevec_helpers.core.inputs import call_model, check_images, eval_mode, model_dtype

    x = check_images(scenes[int(pairs.scene[0])][0][None], dtype=model_dtype(model))
    with eval_mode(model) as dev, torch.no_grad():
        out = call_model(model, x.to(dev))
    if not isinstance(out, torch.Tensor) or out.dim() != 2:
        raise ValueError("the model must return logits of shape (N, num_classes)")
    return int(out.shape[1])


def scene_maps(model: nn.Module, scenes, sevecs: SemanticVectors, *, scene_ids: Sequence[int] | None = None,
               **kw) -> ScenePairs:
    """Every map of :func:`iter_scene_maps`, collected (for a few scenes: all maps are kept).

    Parameters
    ----------
    model, scenes, sevecs
        As in :func:`iter_scene_maps`.
    scene_ids : sequence of int, optional
        Only these scenes (default: all).
    **kw
        ``methods``, ``controls``, ``batch_size``, ``reduce``, ``progress``, ``concept_of``,
        ``seed`` of :func:`iter_scene_maps`.

    Returns
    -------
    ScenePairs
        With ``maps`` filled: name -> (P, H, W) (the "other object's mask" maps cover
        :attr:`ScenePairs.other_pairs`).
    """
    pairs = scene_pairs(scenes, scene_ids)
    maps: dict[str, list] = {}
    for _, name, mp in iter_scene_maps(model, scenes, pairs, sevecs, **kw):
        maps.setdefault(name, []).append(mp)
    pairs.maps = {k: torch.cat(v) for k, v in maps.items()}
    return pairs


def energy_share(maps, boxes) -> np.ndarray:
    """Per map, the share of its energy inside its boxes.

    Parameters
    ----------
    maps : torch.Tensor or numpy.ndarray
        (N, H, W) non-negative saliency maps (e.g. from :func:`reduce_channels`).
    boxes : sequence
        N lists of boxes ``(x0, y0, x1, y1)`` in the map's pixels (their union counts).

    Returns
    -------
    numpy.ndarray
        (N,) float64 in [0, 1]; a zero map counts 0.

    Raises
    ------
    ValueError, TypeError
        As the pointing game refuses them (:func:`sevec_helpers.generalized_pointing_game`):
        maps that are not (N, H, W), negative (a signed attribution: reduce it with
        ``reduce_channels``) or not finite; a number of box lists other than the number of
        maps; boxes in normalised [0, 1] coordinates, outside the map or empty.
    """
    m = _as_maps(maps)
    n, h, w = m.shape
    _check_boxes(boxes, n, h, w)
    masks = torch.stack([box_mask(b, h, w) for b in boxes]).to(m.dtype)
    return ((m * masks).sum((1, 2)) / m.sum((1, 2)).clamp(min=1e-12)).double().numpy()


def map_separation(a: torch.Tensor, b: torch.Tensor) -> np.ndarray:
    """How different two maps are: the total variation distance of the maps divided by their
    sums, ``0.5 * sum(abs(a / sum(a) - b / sum(b)))`` (0: the same map, 1: no pixel in common).

    Fig. 6's claim, judged directly (rules v4): for two objects in one image, a
    class-discriminative method gives the two targets different maps.

    Parameters
    ----------
    a, b : torch.Tensor
        (N, H, W) non-negative maps (or one (H, W) map each).

    Returns
    -------
    numpy.ndarray
        (N,) float64 in [0, 1]; 0.5 when exactly one of the two maps is all zero, 0 when both are.
    """
    a, b = torch.as_tensor(a).double(), torch.as_tensor(b).double()
    if a.shape != b.shape:
        raise ValueError(f"the two maps must have one shape, got {tuple(a.shape)} and {tuple(b.shape)}")
    if a.dim() == 2:
        a, b = a[None], b[None]
    if a.dim() != 3 or (a < 0).any() or (b < 0).any():
        raise ValueError("maps must be non-negative (N, H, W) or (H, W) tensors, e.g. from reduce_channels")
    pa = a / a.sum((1, 2), keepdim=True).clamp(min=1e-300)
    pb = b / b.sum((1, 2), keepdim=True).clamp(min=1e-300)
    return (0.5 * (pa - pb).abs().sum((1, 2))).numpy()


def box_area_share(boxes, h: int, w: int) -> np.ndarray:
    """Per pair, the share of the image its boxes cover: the energy share of a flat map.

    Parameters
    ----------
    boxes : sequence
        Lists of boxes ``(x0, y0, x1, y1)``.
    h, w : int
        The image size.

    Returns
    -------
    numpy.ndarray
        (N,) float64 in [0, 1].

    Raises
    ------
    ValueError
        Boxes outside the H x W image, empty, or in normalised coordinates (as the pointing
        game refuses them).
    """
    if isinstance(h, bool) or isinstance(w, bool) or not isinstance(h, (int, np.integer)) or \
            not isinstance(w, (int, np.integer)) or h < 1 or w < 1:
        raise ValueError(f"h and w must be the image size in pixels (positive integers), got {h!r} and {w!r}")
    _check_boxes(boxes, len(boxes) if hasattr(boxes, "__len__") else 0, int(h), int(w))
    return np.array([float(_box_mask_np(b, h, w).mean()) for b in boxes])   # numpy: small per-box work


@dataclass
class SceneMetrics:
    """Per (scene, target) pair and per map, the scores of Sec. 5.2.

    Maps of the "other object's mask" control cover only :attr:`other_idx` (P' < P); the
    centre baseline is under ``CENTRE`` (``"centre baseline"``).

    Attributes
    ----------
    scene : numpy.ndarray
        (P,) the scene of each pair, as in :class:`ScenePairs`.
    target : numpy.ndarray
        (P,) the target class of each pair.
    other : numpy.ndarray
        (P,) the other object's class, or -1 when the scene has none.
    area : numpy.ndarray
        (P,) the share of the image the target's boxes cover.
    energies : numpy.ndarray
        (E,) the kept energies of the generalized game.
    share : dict
        Map name -> (P',) share of the map's energy inside the target's boxes.
    hits : dict
        Map name -> (P', E) bool, the strict generalized game (q = 1).
    hits_half : dict
        Map name -> (P', E) bool, the lenient game (q = 0.5).
    classic : dict
        Map name -> (P',) bool, the classic game.
    zero_maps : dict
        Map name -> number of all-zero maps (misses, counted apart).
    separation : dict
        Plain and semantic map name -> (T,) :func:`map_separation` of the maps of two
        targets of one scene, for every two targets of every scene with several (rules v4).
    separation_scene : numpy.ndarray
        (T,) the scene of each of those target pairs.
    """

    scene: np.ndarray
    target: np.ndarray
    other: np.ndarray
    area: np.ndarray
    energies: np.ndarray
    share: dict = field(default_factory=dict)
    hits: dict = field(default_factory=dict)
    hits_half: dict = field(default_factory=dict)
    classic: dict = field(default_factory=dict)
    zero_maps: dict = field(default_factory=dict)
    separation: dict = field(default_factory=dict)
    separation_scene: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))

    @property
    def other_idx(self) -> np.ndarray:
        """The pair indices the "other object's mask" control covers."""
        return np.flatnonzero(self.other >= 0)

    def rows(self, name: str) -> np.ndarray:
        """The pair indices a map name covers (all pairs, or :attr:`other_idx`)."""
        return self.other_idx if len(self.share[name]) != len(self.scene) else np.arange(len(self.scene))

    def as_tensors(self) -> dict:
        """A dict of tensors, numbers and dicts (what a disk cache stores)."""
        out = {"scene": self.scene, "target": self.target, "other": self.other, "area": self.area,
               "energies": self.energies, "zero_maps": self.zero_maps, "separation_scene": self.separation_scene}
        for key in ("share", "hits", "hits_half", "classic", "separation"):
            out[key] = {k: torch.as_tensor(v) for k, v in getattr(self, key).items()}
        return {k: (torch.as_tensor(v) if isinstance(v, np.ndarray) else v) for k, v in out.items()}

    @classmethod
    def from_tensors(cls, d: dict) -> "SceneMetrics":
        """The inverse of :meth:`as_tensors`."""
        arr = lambda v: v.numpy() if isinstance(v, torch.Tensor) else np.asarray(v)
        return cls(arr(d["scene"]), arr(d["target"]), arr(d["other"]), arr(d["area"]), arr(d["energies"]),
                   **{k: {n: arr(v) for n, v in d.get(k, {}).items()}
                      for k in ("share", "hits", "hits_half", "classic", "separation")},
                   zero_maps=dict(d["zero_maps"]),
                   separation_scene=arr(d.get("separation_scene", np.zeros(0, dtype=int))).astype(int))


def scene_metrics(model: nn.Module, scenes, sevecs: SemanticVectors, energies: Sequence[float], *,
                  tolerance: float | None, centre_sigma: float = 0.25, methods: Sequence[str] = ("guided_backprop",
                                                                                          "gradient_x_input"),
                  controls: bool = True, reduce: str = "abs_sum", concept_of: dict[int, int] | None = None,
                  seed: int = 0, batch_size: int = 32, progress: bool = False, cache=None) -> SceneMetrics:
    """Every map of every (scene, object) pair, scored as it is made.

    One streaming pass over :func:`iter_scene_maps`: each batch of maps is scored (the
    energy share inside the target's box, the generalized pointing game at q = 1 and
    q = 0.5, the classic game) and dropped, so memory stays at one batch of maps (and the
    maps of the scene in progress) whatever the number of scenes. For a scene with several
    targets, the plain and semantic maps of every two targets are compared
    (:func:`map_separation`). The centre baseline (:func:`centre_maps`) is scored on the
    same pairs.

    Parameters
    ----------
    model : torch.nn.Module
        The classifier (not moved).
    scenes : indexable
        As in :func:`scene_pairs`.
    sevecs : SemanticVectors
        Class SeVecs at the mask layer.
    energies : sequence of float
        Kept energies of the generalized game, each in [0, 1].
    tolerance : float or None
        The classic game's tolerance in pixels; None: 15 px at 224 px scaled to the maps
        (:func:`sevec_helpers.pointing_game`'s default).
    centre_sigma : float
        Width of the centre baseline, as a fraction of the image side.
    methods, controls, reduce, concept_of, seed, batch_size, progress
        As in :func:`iter_scene_maps`.
    cache : DiskCache, optional
        Reuse a disk cache (e.g. ``study.cache``): the result is keyed by the model's
        weights, the scenes, the SeVecs, every parameter above but ``batch_size`` and
        ``progress``, and the code that computes it.

    Returns
    -------
    SceneMetrics

    Raises
    ------
    ValueError
        The scenes have no labelled objects, a method is unknown, or the energies or
        tolerance are out of range.
    """
    e = np.asarray(energies, float).reshape(-1)
    params = dict(sevecs=tensor_digest(sevecs.rates, sevecs.vectors, extra="\n".join(sevecs.names))[:16],  # rows by name
                  energies=[float(v) for v in e],
                  tolerance=None if tolerance is None else float(tolerance), centre_sigma=float(centre_sigma),
                  methods=list(methods),
                  controls=bool(controls), reduce=reduce, seed=int(seed),
                  concept_of=None if concept_of is None else {int(k): int(v) for k, v in concept_of.items()})

    def compute():
        return _scene_metrics(model, scenes, sevecs, e, tolerance=tolerance, centre_sigma=centre_sigma,
                              methods=methods, controls=controls, reduce=reduce, concept_of=concept_of, seed=seed,
                              batch_size=batch_size, progress=progress).as_tensors()

    return SceneMetrics.from_tensors(cached_result(cache, "tensors", "scene_metrics", model, scenes, compute,
                                                   **params))


def _scene_metrics(model, scenes, sevecs, e, *, tolerance, centre_sigma, **kw) -> SceneMetrics:
    pairs = scene_pairs(scenes)
    acc: dict[str, dict[str, list]] = {k: {} for k in ("share", "hits", "hits_half", "classic")}
    zero: dict[str, int] = {}
    hw = None
    methods = kw.get("methods", ("guided_backprop", "gradient_x_input"))
    compared = {map_name(m, v) for m in methods for v in (PLAIN, OWN)}
    n_of = dict(zip(*np.unique(pairs.scene, return_counts=True)))
    pending: dict[str, dict[int, dict[int, torch.Tensor]]] = {n: {} for n in compared}
    sep: dict[str, list] = {n: [] for n in compared}
    sep_scene: dict[str, list] = {n: [] for n in compared}
    for idx, name, mp in iter_scene_maps(model, scenes, pairs, sevecs, **kw):
        hw = mp.shape[1:]
        if name in compared:   # keep a scene's maps until all its targets are in, then compare every two
            for j, i in enumerate(idx):
                sc = int(pairs.scene[i])
                if n_of[sc] < 2:
                    continue
                got = pending[name].setdefault(sc, {})
                got[int(i)] = mp[j]
                if len(got) == n_of[sc]:
                    keys = sorted(got)
                    for u in range(len(keys)):
                        for v in range(u + 1, len(keys)):
                            sep[name].append(float(map_separation(got[keys[u]], got[keys[v]])[0]))
                            sep_scene[name].append(sc)
                    del pending[name][sc]
        bx = [pairs.boxes[i] for i in idx]
        g = generalized_pointing_game(mp, bx, e)
        acc["share"].setdefault(name, []).append(energy_share(mp, bx))
        acc["hits"].setdefault(name, []).append(g.per_image)
        acc["hits_half"].setdefault(name, []).append(generalized_pointing_game(mp, bx, e, q=0.5).per_image)
        acc["classic"].setdefault(name, []).append(pointing_game(mp, bx, tolerance).per_image[:, 0])
        zero[name] = zero.get(name, 0) + g.zero_maps
    h, w = hw
    centre = centre_maps(len(pairs), h, w, centre_sigma)
    out = SceneMetrics(pairs.scene, pairs.target, pairs.other, box_area_share(pairs.boxes, h, w), e, zero_maps=zero)
    for key in ("share", "hits", "hits_half", "classic"):
        getattr(out, key).update({n: np.concatenate(v) for n, v in acc[key].items()})
    out.hits[CENTRE] = generalized_pointing_game(centre, pairs.boxes, e).per_image
    out.hits_half[CENTRE] = generalized_pointing_game(centre, pairs.boxes, e, q=0.5).per_image
    out.classic[CENTRE] = pointing_game(centre, pairs.boxes, tolerance).per_image[:, 0]
    out.share[CENTRE] = energy_share(centre, pairs.boxes)
    out.separation = {n: np.asarray(v, float) for n, v in sep.items()}
    scenes_of = {tuple(v) for v in sep_scene.values()}
    assert len(scenes_of) <= 1, "every compared map must cover the same target pairs"
    out.separation_scene = np.asarray(next(iter(sep_scene.values()), []), dtype=int)
    return out


__all__ = ["PLAIN", "OWN", "OTHER", "PERMUTED", "VARIANTS", "CENTRE", "map_name", "ScenePairs", "scene_pairs",
           "iter_scene_maps", "scene_maps", "energy_share", "map_separation", "box_area_share", "SceneMetrics",
           "scene_metrics",
           "PointingResult"]
