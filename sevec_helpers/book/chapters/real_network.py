"""Chapter 8, a real ImageNet network on real photographs: the photo testbed seen by its
networks (EfficientNet-Lite0/1/2 with their real ImageNet weights): its images, how well the
networks know its classes, what it can and cannot stand in for, Fig. 6's effect measured
on the objects' exact masks as well as their boxes, and the classic pointing game in
TorchRay's protocol as context. Every row is a check of our own: the paper's claims are
judged on this testbed by chapters 1-7.

The notebook computes in visible cells (``sh.accuracy``, ``sh.guided_backprop`` /
``sh.vanilla_gradient`` / ``sh.gradient_x_input`` with and without ``sevecs=``,
``sh.reduce_channels``, ``sh.pointing_game``); this module draws and tabulates.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from sevec_helpers.book import figures as viz
from sevec_helpers.book.profiles import Study
from sevec_helpers.book.records import Record, network_of

TORCHRAY_VOC07 = {"centre baseline": 69.6, "gradient": 76.3, "Guided Backprop": 75.9}
"""TorchRay's published classic pointing game on PASCAL VOC 2007 test, VGG16, all images
(Fong et al. 2019, TorchRay's benchmark table): context, never a verdict."""

CLASSIC_TOLERANCE = 15
"""The classic pointing game's tolerance: 15 pixels at 224 px (Zhang et al. 2016, TorchRay)."""


# ---------------------------------------------------------------------------------------
# the testbed
# ---------------------------------------------------------------------------------------


def _outline(img: np.ndarray, mask: np.ndarray, colour=(0.1, 0.9, 1.0)) -> np.ndarray:
    """The image with the border pixels of ``mask`` painted (a 1-pixel outline)."""
    out = np.array(img, dtype=float, copy=True)
    m = np.asarray(mask, bool)
    inner = m.copy()
    inner[1:, :] &= m[:-1, :]
    inner[:-1, :] &= m[1:, :]
    inner[:, 1:] &= m[:, :-1]
    inner[:, :-1] &= m[:, 1:]
    out[m & ~inner] = colour
    return out


def testbed_figure(study: Study, n_classes: int = 4, per_split: int = 3, seed: int = 0):
    """A few classes with photographs for fitting and for hold-out: each row a class, its first
    fitting images, then its first hold-out images (another photograph where the class has two
    or more, else the same one on other backgrounds, scales and positions)."""
    fit, hold = study.dataset("class_fit"), study.dataset("class_holdout")
    by_fit = {}
    for i in range(len(fit)):
        by_fit.setdefault(int(fit[i][1]), []).append(i)
    by_hold = {}
    for i in range(len(hold)):
        by_hold.setdefault(int(hold[i][1]), []).append(i)
    several = [c for c, t in enumerate(study.truth) if (t.get("photographs") or 1) > 1]
    rng = np.random.default_rng(seed)
    chosen = list(rng.choice(several, size=min(n_classes // 2, len(several)), replace=False)) if several else []
    rest = [c for c in range(len(study.classes)) if c not in chosen]
    chosen += list(rng.choice(rest, size=n_classes - len(chosen), replace=False))
    cols = 2 * per_split
    side = viz.MAX_WIDTH / (cols + 1.2)
    fig, axes = plt.subplots(len(chosen), cols, figsize=(viz.MAX_WIDTH, len(chosen) * (side + 0.3)), squeeze=False)
    for r, c in enumerate(chosen):
        fi, hi = by_fit.get(c, [])[:per_split], by_hold.get(c, [])[:per_split]
        pics = [study.image("class_fit", i) for i in fi] + [study.image("class_holdout", i) for i in hi]
        for k, ax in enumerate(axes[r]):
            ax.set_xticks([])
            ax.set_yticks([])
            if k < len(pics):
                ax.imshow(pics[k])
            if r == 0:
                ax.set_title("fitting" if k < per_split else "hold-out", fontsize=9)
        n_photos = study.truth[c].get("photographs") or 1
        axes[r, 0].set_ylabel(f"{study.classes[c]}\n({n_photos} photo{'s' if n_photos > 1 else ''})", fontsize=9,
                              rotation=0, ha="right", va="center")
    fig.tight_layout()
    return fig


def scenes_figure(study: Study, n: int = 4):
    """The first scenes with two or more objects: the image, each object's box (yellow) and its
    exact mask (outlined in cyan), the class names under the image."""
    from sevec_helpers.book.chapters.semantic_saliency import _with_boxes

    scenes = study.dataset("scenes")
    ids = [i for i in range(len(scenes)) if len(set(scenes[i][1]["labels"].tolist())) >= 2][:n] or list(range(n))
    fig, axes = plt.subplots(1, len(ids), figsize=(viz.MAX_WIDTH, viz.MAX_WIDTH / len(ids) + 0.7), squeeze=False)
    for ax, i in zip(axes[0], ids):
        target = scenes[i][1]
        img = study.image("scenes", i)
        for m in target["masks"]:
            img = _outline(img, m.numpy())
        ax.imshow(_with_boxes(img, target["boxes"].tolist()))
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_xlabel(", ".join(dict.fromkeys(study.classes[int(c)] for c in target["labels"])), fontsize=8)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------------------
# tables
# ---------------------------------------------------------------------------------------


def accuracy_table(rows: dict):
    """Per network: hold-out top-1 / top-5 among the testbed's classes and among all of
    ImageNet's 1000, and the classes it gets wrong most often."""
    return viz.markdown_table(["network", "input", "top-1 (testbed classes)", "top-5 (testbed classes)",
                               "top-1 (all 1000)", "top-5 (all 1000)", "classes never right (top-1, of 1000)"],
                              [[net, f"{r['size']} px", r["top1"], r["top5"], r["top1_1000"], r["top5_1000"],
                                ", ".join(r["worst"][:6]) + (" ..." if len(r["worst"]) > 6 else "") or "none"]
                               for net, r in rows.items()])


def per_group_table(study: Study, per_class: dict):
    """Per WordNet group: its classes, and each network's top-1 (among all 1000) over the group's
    hold-out images (``per_class``: network -> per-class top-1, in the study's class order)."""
    groups: dict[str, list[int]] = {}
    for c, t in enumerate(study.truth):
        groups.setdefault(f"{t['superclass']}: {t['group']}", []).append(c)
    nets = list(per_class)
    rows = []
    for g, cs in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        rows.append([g, len(cs)] + [float(np.nanmean(np.asarray(per_class[n])[cs])) for n in nets])
    return viz.markdown_table(["WordNet group", "classes"] + [f"{n} top-1" for n in nets], rows)


def masks_table(boxes: dict, masks: dict, area_box: float, area_mask: float):
    """Energy share inside the target's boxes and inside its exact masks, each map, with the
    share of the image each covers (a flat map's score)."""
    rows = [[name, boxes[name], masks[name]] for name in boxes]
    rows.append(["a flat map (the area covered)", area_box, area_mask])
    return viz.markdown_table(["map", "energy in the target's boxes (the paper's measure)",
                               "energy in the target's exact masks (our check)"], rows)


def torchray_table(ours: dict, pairs: int, classes: int):
    """The classic pointing game, per-class mean, beside TorchRay's VOC07 numbers (context)."""
    rows = [[name, 100 * v, TORCHRAY_VOC07.get(name, "")] for name, v in ours.items()]
    return viz.markdown_table([f"map ({pairs} pairs, {classes} classes)", "hits, mean over classes (%)",
                               "TorchRay, VGG16 on VOC07 test (%), context only"], rows)


# ---------------------------------------------------------------------------------------
# the chapter's own checks and its record
# ---------------------------------------------------------------------------------------


READINGS = {
    "accuracy": "the photos are a fair test of these networks where they recognise most of them (ImageNet's own "
                "validation top-1 of Lite0 is about 0.75)",
    "masks": "the same sign in the masks as in the boxes says the box measure is not an artefact of the pixels a box "
             "adds around the object",
    "torchray": "context, not a verdict: the photos are not VOC07 and the networks are not VGG16",
}
"""How each of the chapter's own checks is to be read (the notebook's ``claims.Check`` rows use them)."""


def record(study: Study, checks: list, numbers: dict) -> Record:
    """The chapter's record of its own checks (no paper claim: those are judged by chapters 1-7)."""
    return Record("08_real_network", study.profile, numbers, [], list(checks), network=network_of(study))
