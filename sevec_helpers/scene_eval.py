"""Saliency over scenes: every (scene, object) pair, the maps of each method plain and semantic
and the two controls of Fig. 6, scored as they are made (energy in the box, the pointing
games), with intervals over scenes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import torch
import torch.nn as nn
from tqdm.auto import tqdm

from .analysis import N_BOOT, bootstrap_mean
from .pointing import PointingResult, box_mask, generalized_pointing_game, pointing_game
from .saliency import METHOD_LABELS, attribute, reduce_channels
from .sevec import SemanticVectors

PLAIN, OWN, OTHER, PERMUTED = "plain", "own mask", "other object's mask", "permuted mask"


def map_name(method: str, variant: str) -> str:
    """Display name of a map: "GuidedBP", "Semantic GuidedBP", "Semantic GuidedBP (permuted mask)"."""
    base = METHOD_LABELS[method]
    if variant == PLAIN:
        return base
    return f"Semantic {base}" + ("" if variant == OWN else f" ({variant})")


@dataclass
class ScenePairs:
    """Every (scene, target class) pair of a scene set, with its boxes and one map per variant.

    ``maps[name]`` is (P, H, W); for the "other object's mask" control it covers only the
    pairs in ``other_pairs`` (scenes with a second object class)."""

    scene: np.ndarray                  # (P,) scene index of each pair
    target: np.ndarray                 # (P,) target class
    boxes: list                        # P lists of the target's boxes
    other: np.ndarray                  # (P,) class of another object in the scene, -1 if none
    maps: dict = field(default_factory=dict)

    @property
    def other_pairs(self) -> np.ndarray:
        return np.flatnonzero(self.other >= 0)

    def __len__(self):
        return len(self.scene)


def scene_pairs(scenes, scene_ids: Sequence[int] | None = None) -> ScenePairs:
    """Flatten scenes into (scene, target class, that class's boxes) pairs; for each pair, the
    first other class present in the same scene (or -1). Unreadable scenes (None) are skipped."""
    si, tg, bx, oth = [], [], [], []
    for i in (range(len(scenes)) if scene_ids is None else scene_ids):
        item = scenes[i]
        if item is None:
            continue
        t = item[1]
        labels = [int(v) for v in t["labels"].tolist()]
        boxes = t["boxes"].tolist()
        present = sorted(set(labels))
        for c in present:
            si.append(i)
            tg.append(c)
            bx.append([tuple(b) for b, lab in zip(boxes, labels) if lab == c])
            others = [o for o in present if o != c]
            oth.append(others[0] if others else -1)
    return ScenePairs(np.array(si, dtype=int), np.array(tg, dtype=int), bx, np.array(oth, dtype=int))


def iter_scene_maps(model: nn.Module, scenes, pairs: ScenePairs, sv_mask: SemanticVectors, *,
                    methods: Sequence[str] = ("guided_backprop", "gradient_x_input"), controls: bool = True,
                    batch_size: int = 32, reduce: str = "abs_sum", progress: bool = False,
                    concept_of: dict[int, int] | None = None, seed: int = 0):
    """Yield ``(pair indices, map name, maps (B, H, W) on the CPU)`` batch by batch, for each
    method plain and semantic and, with ``controls``, semantic with another object's mask
    (only pairs whose scene has one) and with a permuted mask (:meth:`SemanticVectors.permuted`).

    ``concept_of`` maps a target class to its SeVec row when the rows are not the classes.
    Runs where the model lives; nothing but one batch of maps is held in memory.
    """
    if len(pairs) == 0:
        raise ValueError("the scenes have no labelled objects")
    permuted = sv_mask.permuted(seed) if controls else None
    row = (lambda c: concept_of[int(c)]) if concept_of is not None else (lambda c: int(c))
    variants = [(m, v) for m in methods for v in ((PLAIN, OWN, OTHER, PERMUTED) if controls else (PLAIN, OWN))]
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
                a = attribute(model, x, t, m, sevecs=sv_mask, concepts=rows)
            elif v == PERMUTED:
                a = attribute(model, x, t, m, sevecs=permuted, concepts=rows)
            else:
                keep = pairs.other[sel] >= 0
                if not keep.any():
                    continue
                idx = sel[keep]
                orow = torch.tensor([row(c) for c in pairs.other[idx]])
                k = torch.as_tensor(keep)
                a = attribute(model, x[k], t[k], m, sevecs=sv_mask, concepts=orow)
            yield idx, map_name(m, v), reduce_channels(a, reduce).cpu()
        for i in set(cache) - set(int(j) for j in pairs.scene[sel[-1]:sel[-1] + 1]):
            del cache[i]


def scene_maps(model: nn.Module, scenes, sv_mask: SemanticVectors, *, scene_ids: Sequence[int] | None = None,
               **kw) -> ScenePairs:
    """:func:`iter_scene_maps` collected: the pairs (of all scenes, or of ``scene_ids``) with
    every map in ``pairs.maps`` (the "other object's mask" maps cover ``pairs.other_pairs``)."""
    pairs = scene_pairs(scenes, scene_ids)
    maps: dict[str, list] = {}
    for _, name, mp in iter_scene_maps(model, scenes, pairs, sv_mask, **kw):
        maps.setdefault(name, []).append(mp)
    pairs.maps = {k: torch.cat(v) for k, v in maps.items()}
    return pairs


def energy_share(maps: torch.Tensor, boxes) -> np.ndarray:
    """Per map, the share of its energy inside its boxes (a zero map counts 0)."""
    h, w = maps.shape[1:]
    masks = torch.stack([box_mask(b, h, w) for b in boxes]).to(maps.dtype)
    return ((maps * masks).sum((1, 2)) / maps.sum((1, 2)).clamp(min=1e-12)).double().numpy()


def box_area_share(boxes, h: int, w: int) -> np.ndarray:
    """Per pair, the share of the image the target's boxes cover (the energy of a flat map)."""
    return np.array([float(box_mask(b, h, w).double().mean()) for b in boxes])


@dataclass
class SceneMetrics:
    """Per (scene, target) pair and per map: the energy share inside the target's box, the
    generalized pointing game's hits at each energy (strict q = 1 and q = 0.5), the classic
    game's hit. Maps of the "other object's mask" control cover only ``other_idx``."""

    scene: np.ndarray
    target: np.ndarray
    other: np.ndarray
    area: np.ndarray                     # (P,) box area share
    energies: np.ndarray
    share: dict = field(default_factory=dict)      # name -> (P',)
    hits: dict = field(default_factory=dict)       # name -> (P', E) bool, q = 1
    hits_half: dict = field(default_factory=dict)  # name -> (P', E) bool, q = 0.5
    classic: dict = field(default_factory=dict)    # name -> (P',) bool
    zero_maps: dict = field(default_factory=dict)  # name -> count

    @property
    def other_idx(self) -> np.ndarray:
        return np.flatnonzero(self.other >= 0)

    def rows(self, name: str) -> np.ndarray:
        """The pair indices a map name covers."""
        return self.other_idx if len(self.share[name]) != len(self.scene) else np.arange(len(self.scene))

    def as_tensors(self) -> dict:
        out = {"scene": self.scene, "target": self.target, "other": self.other, "area": self.area,
               "energies": self.energies, "zero_maps": self.zero_maps}
        for key in ("share", "hits", "hits_half", "classic"):
            out[key] = {k: torch.as_tensor(v) for k, v in getattr(self, key).items()}
        return {k: (torch.as_tensor(v) if isinstance(v, np.ndarray) else v) for k, v in out.items()}

    @classmethod
    def from_tensors(cls, d: dict) -> "SceneMetrics":
        arr = lambda v: v.numpy() if isinstance(v, torch.Tensor) else np.asarray(v)
        return cls(arr(d["scene"]), arr(d["target"]), arr(d["other"]), arr(d["area"]), arr(d["energies"]),
                   **{k: {n: arr(v) for n, v in d[k].items()} for k in ("share", "hits", "hits_half", "classic")},
                   zero_maps=dict(d["zero_maps"]))


def scene_metrics(model: nn.Module, scenes, sv_mask: SemanticVectors, energies: Sequence[float], *,
                  tolerance: float, centre_sigma: float = 0.25, **kw) -> SceneMetrics:
    """One streaming pass: every map of :func:`iter_scene_maps` scored as it is made (energy
    share in the box, generalized game at q = 1 and 0.5, classic game), plus the centre
    baseline. Memory stays at one batch of maps, whatever the number of scenes."""
    from .pointing import centre_maps

    pairs = scene_pairs(scenes)
    e = np.asarray(energies, float)
    acc: dict[str, dict[str, list]] = {k: {} for k in ("share", "hits", "hits_half", "classic", "idx")}
    zero: dict[str, int] = {}
    hw = None
    for idx, name, mp in iter_scene_maps(model, scenes, pairs, sv_mask, **kw):
        hw = mp.shape[1:]
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
    out.hits["centre baseline"] = generalized_pointing_game(centre, pairs.boxes, e).per_image
    out.hits_half["centre baseline"] = generalized_pointing_game(centre, pairs.boxes, e, q=0.5).per_image
    out.classic["centre baseline"] = pointing_game(centre, pairs.boxes, tolerance).per_image[:, 0]
    out.share["centre baseline"] = energy_share(centre, pairs.boxes)
    return out


def discriminativeness(m: SceneMetrics, method: str, seed: int = 0) -> dict:
    """Fig. 6 for one method: the change of the energy share inside the target's box, semantic
    minus plain, and the two controls (another object's mask, a permuted mask) minus plain;
    each a mean with a 95% bootstrap interval over scenes."""
    plain = m.share[map_name(method, PLAIN)]
    own = m.share[map_name(method, OWN)]
    out = {"plain": float(plain.mean()), "own": float(own.mean()),
           "effect": bootstrap_mean(own - plain, m.scene, seed=seed), "permuted": None, "other": None}
    perm = m.share.get(map_name(method, PERMUTED))
    if perm is not None:
        out["permuted_share"] = float(perm.mean())
        out["permuted"] = bootstrap_mean(perm - plain, m.scene, seed=seed)
    other, k = m.share.get(map_name(method, OTHER)), m.other_idx
    if other is not None and len(k):
        out["other_share"] = float(other.mean())
        out["other"] = bootstrap_mean(other - plain[k], m.scene[k], seed=seed)
    return out


def paired_improvement(a: np.ndarray, b: np.ndarray, scenes=None, energies=None, n_boot: int = N_BOOT,
                       seed: int = 0) -> dict:
    """Hit rate of ``a`` minus ``b`` (both (P, E) bool, the same pairs) per energy, with a 95%
    bootstrap interval over ``scenes`` (one id per pair; default: each pair its own unit)."""
    a = a.per_image if isinstance(a, PointingResult) else a
    b = b.per_image if isinstance(b, PointingResult) else b
    diff = np.asarray(a, float) - np.asarray(b, float)
    m, lo, hi = bootstrap_mean(diff, scenes, n_boot=n_boot, seed=seed)
    out = {"improvement": np.atleast_1d(m).tolist(), "low": np.atleast_1d(lo).tolist(),
           "high": np.atleast_1d(hi).tolist()}
    if energies is not None:
        out["energies"] = list(map(float, energies))
    return out
