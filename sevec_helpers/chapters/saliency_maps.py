"""Chapter 6, semantic saliency maps (paper Sec. 5, Fig. 6): Guided Backprop and Gradient*Input
with the target's pool5 mask in the backward pass, and the two controls that would expose
a spurious effect (another object's mask, a permuted mask of the same size)."""

from __future__ import annotations

import numpy as np

from .. import claims as C
from .. import scene_eval as E
from .. import viz
from ..profiles import Study
from . import Record, toys  # noqa: F401  (toys: the chapter's worked examples)
from . import scenes as S

MAIN = ("GuidedBP", "Semantic GuidedBP", "Gradient*Input", "Semantic Gradient*Input")


def masks_summary(study: Study):
    sv5 = study.sevecs("classes", S.LAYER)
    kept = sv5.mask().sum(1).float()
    return viz.Markdown(f"{sv5!r}: a class mask keeps {kept.mean():.0f} of {sv5.dim} pool5 units on average "
                        f"(from {kept.min():.0f} to {kept.max():.0f}).")


def figure(study: Study, pairs: E.ScenePairs, scene: int):
    """Fig. 6 layout: rows are the scene's target classes, columns the image and the four maps."""
    return viz.saliency_grid(*S.panel(study, pairs, scene, list(MAIN)))


def controls_figure(study: Study, pairs: E.ScenePairs, scene: int, method: str = "guided_backprop"):
    """The semantic map of one method beside its two controls, for each target of a scene."""
    names = [E.map_name(method, v) for v in (E.PLAIN, E.OWN, E.PERMUTED)]
    img, maps, boxes = S.panel(study, pairs, scene, names)
    other = E.map_name(method, E.OTHER)
    rows = np.flatnonzero(pairs.scene == scene)
    oth_rows = {int(r): j for j, r in enumerate(pairs.other_pairs)}
    for r in rows:
        t = study.classes[int(pairs.target[r])]
        if int(r) in oth_rows and other in pairs.maps:
            maps[t]["with another object's mask"] = pairs.maps[other][oth_rows[int(r)]].numpy()
    return viz.saliency_grid(img, maps, boxes)


def energy_table(m: E.SceneMetrics):
    rows = []
    for method in S.METHODS:
        d = E.discriminativeness(m, method)
        plain = E.map_name(method, E.PLAIN)
        rows.append([plain, d["plain"], "", ""])
        rows.append([E.map_name(method, E.OWN), d["own"], *_ci(d["effect"])])
        if d["other"] is not None:
            rows.append([E.map_name(method, E.OTHER), d["other_share"], *_ci(d["other"])])
        if d["permuted"] is not None:
            rows.append([E.map_name(method, E.PERMUTED), d["permuted_share"], *_ci(d["permuted"])])
    rows.append(["(a flat map: the boxes' mean area)", float(m.area.mean()), "", ""])
    return viz.markdown_table(["map", "energy inside the target box", "change vs the plain map", "95% interval "
                               "(over scenes)"], rows)


def _ci(t):
    return [f"{t[0]:+.3f}", f"[{t[1]:+.3f}, {t[2]:+.3f}]"]


def gallery(study: Study, pairs: E.ScenePairs):
    gal, caps = {}, {}
    for scene in np.unique(pairs.scene):
        img, maps, _ = S.panel(study, pairs, int(scene), list(MAIN))
        for name, mm in maps.items():
            key = f"scene {int(scene)}: {name}"
            gal[key] = [img] + [np.stack([v / (v.max() + 1e-12)] * 3, -1) for v in mm.values()]
            caps[key] = ["image"] + list(mm)
    return (viz.gallery(gal, caps, title="Saliency", label="scene / target", thumb=96))


def live(study: Study, pairs: E.ScenePairs):
    from .. import widgets

    def show(scene, target):
        img, maps, boxes = S.panel(study, pairs, scene, list(MAIN))
        if target in maps:
            viz.saliency_grid(img, {target: maps[target]}, boxes)
    return widgets.picker(show, scene=[int(s) for s in np.unique(pairs.scene)], target=study.classes)


def record(study: Study, m: E.SceneMetrics | None = None) -> Record:
    m = m or S.metrics(study)
    verdicts, nums = [], {"pairs": len(m.scene), "scenes": int(len(np.unique(m.scene))),
                          "pairs_with_another_object": int(len(m.other_idx)), "box_area": float(m.area.mean())}
    for method in S.METHODS:
        d = E.discriminativeness(m, method)
        verdicts.append(C.discriminative(E.map_name(method, E.PLAIN), d["effect"], d["other"], d["permuted"]))
        nums[method] = {k: v for k, v in d.items() if v is not None}
    return Record("06_semantic_saliency", study.profile, nums, verdicts)
