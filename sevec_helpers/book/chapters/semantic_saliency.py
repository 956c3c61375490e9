"""Chapter 6, semantic saliency maps (paper Sec. 5, Fig. 6): presentation only. The method
(the backward passes with and without the pool5 mask, the controls, the energy in the
target's box, the loop over scenes) is :mod:`sevec_helpers.attribution.saliency` and
:mod:`sevec_helpers.evaluation.localization`, called in the notebook's visible cells; :func:`record`
is its headless twin (the same public calls, in the same order, without figures)."""

from __future__ import annotations

import numpy as np

from sevec_helpers.book import claims as C
from sevec_helpers.book import figures as viz
from sevec_helpers.book.chapters import scenes as S
from sevec_helpers.book.profiles import Study
from sevec_helpers.book.records import Record, network_of
from sevec_helpers.evaluation import localization as L
from sevec_helpers.evaluation import scene_stats as E

MAIN = tuple(L.map_name(m, v) for m in S.METHODS for v in (L.PLAIN, L.OWN))
"""The four maps of Fig. 6: GuidedBP, Semantic GuidedBP, Gradient*Input, Semantic Gradient*Input."""
EXAMPLE_METHOD = "guided_backprop"
"""The method whose per-pair improvement chooses the example scene (:func:`claims.example_scene`)."""


def _by_target(study: Study, pairs: L.ScenePairs, maps: dict, rows=None):
    """{target name: {map name: (H, W) array}} and {target name: boxes} for the pairs ``rows``;
    ``maps[name]`` is (P, H, W) over ``pairs``, or over ``pairs.other_pairs`` when shorter."""
    rows = np.arange(len(pairs)) if rows is None else np.asarray(rows)
    other_at = {int(r): j for j, r in enumerate(pairs.other_pairs)}
    out, boxes = {}, {}
    for r in rows:
        t = study.classes[int(pairs.target[r])]
        out[t], boxes[t] = {}, pairs.boxes[r]
        for name, mp in maps.items():
            if len(mp) == len(pairs):
                out[t][name] = np.asarray(mp[r])
            elif int(r) in other_at:
                out[t][name] = np.asarray(mp[other_at[int(r)]])
            else:  # this target's scene has no other object: an empty panel says so
                out[t][name] = np.zeros_like(np.asarray(mp[0]))
    return out, boxes


def figure(study: Study, scene: int, pairs: L.ScenePairs, maps: dict):
    """Fig. 6 layout for one scene: a row per target class, the image (target box in yellow)
    and one map per entry of ``maps`` (name -> (P, H, W) over ``pairs``), each scaled by the
    book's rule (:data:`viz.SALIENCY_PERCENTILE`), one colour bar."""
    by, boxes = _by_target(study, pairs, maps)
    return viz.saliency_grid(study.image("scenes", scene), by, boxes)


def difference_note(pairs: L.ScenePairs, classes, plain, semantic, name: str = "GuidedBP"):
    """One line per target: the share of the map's energy the mask moved, i.e. the total
    variation distance between the plain and the semantic map as energy distributions
    (each divided by its sum; 0: identical up to scale, 1: disjoint), saying so plainly when
    the two are identical."""
    out = []
    for r in range(len(pairs)):
        a, b = np.asarray(plain[r], float), np.asarray(semantic[r], float)
        if a.sum() <= 0 or b.sum() <= 0:
            what = "a zero map" if b.sum() <= 0 else "non-zero where the plain map is zero"
        else:
            tv = 0.5 * float(np.abs(a / a.sum() - b / b.sum()).sum())
            what = ("**identical** to the plain map up to scale (the mask removed nothing the backward signal "
                    "used)" if tv < 1e-6 else f"the plain map with {tv:.0%} of its energy placed differently")
        out.append(f"- {classes[int(pairs.target[r])]}: semantic {name} is {what}.")
    return viz.Markdown("\n".join(out))


def energy_table(m: L.SceneMetrics):
    """The share of each map's energy inside the target's box, over every pair, and its change
    against the plain map (and semantic against the permuted mask) with 95% intervals over scenes."""
    rows = []
    for method in S.METHODS:
        d = E.discriminativeness(m, method)
        rows.append([L.map_name(method), d["plain"], "", ""])
        rows.append([L.map_name(method, L.OWN), d["own"], *_ci(d["effect"])])
        if d["other"] is not None:
            rows.append([L.map_name(method, L.OTHER), d["other_share"], *_ci(d["other"])])
        if d["permuted"] is not None:
            rows.append([L.map_name(method, L.PERMUTED), d["permuted_share"], *_ci(d["permuted"])])
            rows.append([f"{L.map_name(method, L.OWN)} minus the permuted mask", "", *_ci(d["vs_permuted"])])
    rows.append(["(a flat map: the boxes' mean area)", float(m.area.mean()), "", ""])
    return viz.markdown_table(["map", "energy inside the target box", "change vs the plain map", "95% interval "
                               "(over scenes)"], rows)


def _ci(t):
    return [f"{t[0]:+.3f}", f"[{t[1]:+.3f}, {t[2]:+.3f}]"]


def _with_boxes(img: np.ndarray, boxes, colour=(1.0, 0.9, 0.0)) -> np.ndarray:
    """The image with its boxes drawn as 1-pixel yellow rectangles (as in the figure above)."""
    out = np.array(img, dtype=float, copy=True)
    h, w = out.shape[:2]
    for x0, y0, x1, y1 in boxes:
        c0, c1 = int(np.clip(round(x0), 0, w - 1)), int(np.clip(round(x1) - 1, 0, w - 1))
        r0, r1 = int(np.clip(round(y0), 0, h - 1)), int(np.clip(round(y1) - 1, 0, h - 1))
        out[r0, c0:c1 + 1] = out[r1, c0:c1 + 1] = colour
        out[r0:r1 + 1, c0] = out[r0:r1 + 1, c1] = colour
    return out


def _coloured(m) -> np.ndarray:
    """A map as an RGB picture by the book's rule: scaled by its 99th percentile, inferno."""
    import matplotlib

    return matplotlib.colormaps["inferno"](viz.saliency_scaled(m))[..., :3]


def gallery(study: Study, pairs: L.ScenePairs):
    """Every (scene, target) of ``pairs`` (from :func:`scenes.example_maps`): the colour image
    with the target's box and the four maps, drawn as in the figure above."""
    gal, caps = {}, {}
    bar = _coloured(np.tile(np.linspace(0.0, 1.0, 96), (12, 1)))   # the colour bar: 0 (left) to 1 (right)
    bar_caption = f"colour bar: 0 (left) to 1 = the map's {viz.SALIENCY_PERCENTILE:g}th percentile"
    for scene in np.unique(pairs.scene):
        img = study.image("scenes", int(scene))
        by, boxes = _by_target(study, pairs, {n: pairs.maps[n] for n in MAIN}, np.flatnonzero(pairs.scene == scene))
        for name, mm in by.items():
            key = f"scene {int(scene)}: {name}"
            gal[key] = [_with_boxes(img, boxes[name])] + [_coloured(v) for v in mm.values()] + [bar]
            caps[key] = ["image, target box"] + list(mm) + [bar_caption]
    return viz.gallery(gal, caps, title=f"Saliency (each map / its {viz.SALIENCY_PERCENTILE:g}th percentile, inferno)",
                       label="scene / target", thumb=96)


def live(study: Study, pairs: L.ScenePairs):
    from sevec_helpers.book import widgets

    def show(scene, target):
        by, boxes = _by_target(study, pairs, {n: pairs.maps[n] for n in MAIN}, np.flatnonzero(pairs.scene == scene))
        if target in by:
            viz.saliency_grid(study.image("scenes", scene), {target: by[target]}, boxes)
    return widgets.picker(show, scene=[int(s) for s in np.unique(pairs.scene)], target=study.classes)


def record(study: Study, m: L.SceneMetrics, rows: list) -> Record:
    """The chapter's record: the verdict rows its notebook computed from the scene pass ``m``,
    and the numbers behind them (to judge another network, run the notebook itself:
    :func:`sevec_helpers.book.runner.judge`)."""
    rows = list(rows)
    nums = {"pairs": len(m.scene), "scenes": int(len(np.unique(m.scene))),
            "pairs_with_another_object": int(len(m.other_idx)), "box_area": float(m.area.mean())}
    multi = m.other >= 0
    multi = multi if multi.any() else np.ones_like(multi)
    imp = m.share[L.map_name(EXAMPLE_METHOD, L.OWN)] - m.share[L.map_name(EXAMPLE_METHOD, L.PLAIN)]
    nums["example_scene"] = C.example_scene(m.scene[multi], imp[multi])
    for method in S.METHODS:
        d = E.discriminativeness(m, method)
        nums[method] = {k: v for k, v in d.items() if v is not None}
    return Record("06_semantic_saliency", study.profile, nums, rows, network=network_of(study))
