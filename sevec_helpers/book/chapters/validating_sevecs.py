"""Chapter 2, validating SeVecs (paper Sec. 3.1, Fig. 2, Table 1): presentation only.

The notebook shows the method as public-library calls: low-level SeVecs fitted on swatches
(``sh.fit_sevecs``) and scored on class hold-out images (``A.precision_at_k``), the gray
ablation (``sh.accuracy``), Table 1 (``sh.perturbation_study``) and its variants
(``sevec_helpers.evaluation.editing.edit_study`` / ``mask_edit``, with the masks of
``sevec_helpers.sevecs.alternatives``), and calls each verdict rule of ``claims`` visibly.
This module draws the tables and figures of those results and assembles the
:class:`Record`; :func:`record` is the headless twin: the same public calls, in the same
order, without figures.
"""

from __future__ import annotations

import numpy as np
import torch

from sevec_helpers.book import claims as C
from sevec_helpers.book import figures as viz
from sevec_helpers.book.profiles import CONCEPT_KINDS, Study
from sevec_helpers.book.records import Record, network_of
from sevec_helpers.core.features import Features
from sevec_helpers.evaluation import stats as A
from sevec_helpers.evaluation.editing import (
    EditResult,
    PerturbationResult,
)
from sevec_helpers.evaluation.metrics import Accuracy
from sevec_helpers.sevecs import alternatives as CV
from sevec_helpers.sevecs.vectors import SemanticVectors

LAYER = "fc1"
K = 8
IDS = {"textures": "fig2_textures", "materials": "fig2_materials", "colors": "fig2c_colors"}
PAPER_FIG2 = "selected val images show the concept (pictures)"
PAPER_FIG2C = "colour SeVecs select images without the colour"
PREDICTED = "r > 0.5 of the predicted class (no label needed)"
RESCALED = "r > 0.5, then h rescaled to its norm"
OTHERS = {"most selective units": "unit", "mean activation": "mean"}
"""Table 1 masks from other vectors (label -> :mod:`sevec_helpers.sevecs.alternatives` method),
each keeping as many units per class as the SeVec mask."""
SWEEP = (("r > 0.01", 0.01, "rate"), ("r > 0.2", 0.2, "rate"), ("r > 0.5 (the book's reading)", 0.5, "rate"),
         ("r > 0.9", 0.9, "rate"), ("v > 0.5 (the paper's literal mask)", 0.5, "vector"))
"""The mask sweep of the variants table: label, threshold, by (rates or the vector's entries)."""
VERDICT_ORDER = ("fig2_textures", "fig2_materials", "fig2c_colors", "gray_drop", "gray_recovery", "table1")


# ---------------------------------------------------------------------------------------
# Fig. 2: low-level SeVecs select class images that show the concept
# ---------------------------------------------------------------------------------------


def low_level_table(sevecs: dict, precision: dict, chance: dict, own: dict, k: int = K):
    """Per kind: graded concepts, precision@k on class images with its interval, chance, and
    the own check (precision on unseen swatches of the kind)."""
    rows = []
    for kind in CONCEPT_KINDS:
        if kind not in sevecs:
            rows.append([kind, "-", "no data", "", "", ""])
            continue
        n = len(sevecs[kind])
        if kind not in precision:
            rows.append([kind, n, "no ground truth", "", float(np.mean(own[kind])), 1 / n])
            continue
        m, lo, hi = A.bootstrap_mean(precision[kind])
        rows.append([kind, f"{len(precision[kind])} of {n}", f"{m:.3f} [{lo:.3f}, {hi:.3f}]",
                     float(np.mean(chance[kind])), float(np.mean(own[kind])), 1 / n])
    return viz.markdown_table(["concepts", "graded", f"precision@{k} on class images [95% interval]", "chance",
                               "precision on unseen swatches (own check)", "chance"], rows)


def _graded(relevant: np.ndarray) -> np.ndarray:
    return np.asarray(relevant, bool).any(0)   # a concept no hold-out image shows has nothing to find


def low_level_figure(study: Study, sevecs: dict, hold: Features, relevant: dict, per_kind: int = 2, k: int = 6):
    """Fig. 2: the best ``per_kind`` graded concepts of each kind and their top class
    hold-out images (green: the object shows the concept; red: it does not)."""
    rows, ok = {}, {}
    for kind, sv in sevecs.items():
        if kind not in relevant:
            continue
        rel = relevant[kind]
        graded = np.flatnonzero(_graded(rel))
        top = sv.retrieve(hold.values, k=min(K, len(hold.values)))
        prec = rel[top.numpy(), np.arange(len(sv))[:, None]].mean(1)
        for c in graded[np.argsort(-prec[graded], kind="stable")][:per_kind]:
            name = f"{kind[:-1]}: {sv.names[c]}"
            idx = top[c, :k].tolist()
            rows[name] = study.images("class_holdout", idx)
            ok[name] = [bool(rel[i, c]) for i in idx]
    return viz.retrieval_figure(rows, ok) if rows else None


def low_level_gallery(study: Study, sevecs: dict, hold: Features, relevant: dict, limit: int = 40):
    """Static view: pick a low-level concept, see the class images its SeVec selects."""
    gal, caps = {}, {}
    for kind, sv in sevecs.items():
        top = sv.retrieve(hold.values, k=min(K, len(hold.values)))
        rel = relevant.get(kind)
        for c, name in enumerate(sv.names[:limit]):
            key = f"{kind[:-1]}: {name}"
            idx = top[c].tolist()
            gal[key] = study.images("class_holdout", idx)
            caps[key] = [study.classes[int(hold.labels[j])] + ("" if rel is None or rel[j, c] else " x") for j in idx]
    return (viz.gallery(gal, caps, title="Class images selected by", label="concept")) \
        if gal else viz.Markdown("No low-level concept data in this profile.")


# ---------------------------------------------------------------------------------------
# colour: the grayscale ablation, retraining on gray, and the colour-coded network
# ---------------------------------------------------------------------------------------


def colour_table(classes, acc: Accuracy, acc_gray: Accuracy, retrained: Accuracy | None = None,
                 coded: Accuracy | None = None, coded_gray: Accuracy | None = None, n_worst: int = 6):
    """Top-1 of each network on colour and gray images, then the classes gray hurts most."""
    rows = [["the profile's network, colour images", acc.top1], ["the same network, gray images", acc_gray.top1]]
    if retrained is not None:
        rows.append(["a network trained on gray images, gray images", retrained.top1])
    if coded is not None:
        rows += [["vgg_mini_colorcoded (its world: colour defines the classes), colour images", coded.top1],
                 ["the same, gray images", coded_gray.top1]]
    per = acc.per_class_top1 - acc_gray.per_class_top1
    worst = [(classes[c], float(acc.per_class_top1[c]), float(acc_gray.per_class_top1[c]))
             for c in np.argsort(-per, kind="stable")[:n_worst]]
    return viz.stack([viz.Markdown("**Top-1 accuracy on the class hold-out images, in colour and in gray**"),
                      viz.markdown_table(["network and images", "top-1"], rows),
                      viz.Markdown(f"**The {len(worst)} classes gray images hurt most** (the profile's network, "
                                   f"top-1 per class)"),
                      viz.markdown_table(["class", "top-1 colour", "top-1 gray"], worst)])


def colour_world_check(acc: Accuracy, acc_gray: Accuracy, coded: Accuracy, coded_gray: Accuracy,
                       coded_own: np.ndarray, own: np.ndarray, about: str) -> C.Check:
    """The book's own check: gray costs (and colour SeVecs retrieve colour swatches) more on
    the colour-coded network than on the profile's."""
    o = {"acc": coded.top1, "acc_gray": coded_gray.top1, "color_precision": float(np.mean(coded_own)),
         "color_precision_main": float(np.mean(own)), "about": about}
    return C.Check("colour_world", "Colour matters as much as the data makes it: the same recipe on a "
                   "world where colour defines every class",
                   f"gray costs {o['acc'] - o['acc_gray']:.3f} there vs {acc.top1 - acc_gray.top1:.3f} here; colour "
                   f"SeVecs retrieve colour swatches at {o['color_precision']:.2f} there vs "
                   f"{o['color_precision_main']:.2f} here",
                   "a network leans on colour when its data rewards it", o)


# ---------------------------------------------------------------------------------------
# Table 1: single neuron vs SeVec, with its variants
# ---------------------------------------------------------------------------------------


def table1_table(t: PerturbationResult):
    """Table 1: the paper's number beside ours for each of the four edits."""
    p = C.PAPER["table1"]
    rows = [[k.replace("_", " "), p[k], getattr(t, k), t.sem(k), float(np.mean(t.edits.correct[k]))] for k in t.KEYS]
    return viz.markdown_table(["edit", "paper (VGG16)", "ours: mean change of p(true class)", "SEM",
                               "top-1 after the edit"], rows)


def variant_masks(sv: SemanticVectors, fit_features: Features) -> dict[str, torch.Tensor]:
    """The masks of the variants table: the threshold sweep (:data:`SWEEP`), and the masks of
    the most selective units and of the mean activation (:func:`concept_vectors.fit` on the
    fit images' features), each as large as the class's SeVec mask 1[r > 0.5]."""
    masks = {name: sv.mask(t, by=by) for name, t, by in SWEEP}
    sizes = sv.mask(0.5).sum(1)
    for label, method in OTHERS.items():
        masks[label] = CV.fit(method, fit_features.values, fit_features.labels, sv.names).masks(sizes)
    return masks


def variants(ed: EditResult, masks: dict, hold: Features) -> dict:
    """Per variant: units kept (mean over classes), share of an image's active units kept,
    mean change of p(true class), its SEM, top-1 after the edit. ``masks``: label -> the
    (K, D) mask the edit of that label used (the rescaled and predicted variants use 1[r > 0.5])."""
    active = hold.values.reshape(len(hold.values), -1) > 0
    out = {}
    for name in ed.prob:
        m = masks[name]
        rows = m[torch.as_tensor(ed.edit_predictions)] if name == PREDICTED else m[hold.labels]
        share = ((active & rows).sum(1).float() / active.sum(1).clamp(min=1).float()).mean().item()
        d = ed.delta(name)
        out[name] = {"units": float(m.sum(1).float().mean()), "share_active": share, "mean": float(d.mean()),
                     "sem": A.sem(d), "acc_after": float(np.mean(ed.correct[name]))}
    return out


def variants_table(var: dict):
    rows = [[name, v["units"], v["share_active"], v["mean"], v["sem"], v["acc_after"]] for name, v in var.items()]
    return viz.markdown_table(["mask", "units kept (mean over classes)", "share of an image's active units kept",
                               "mean change of p(true class)", "SEM", "top-1 after"], rows)


def table1_figure(t: PerturbationResult, ed: EditResult):
    """Change of p(true class) per edit (Table 1's four and the rescaled SeVec mask), for
    hold-out images grouped by quartile of the probability before the edit."""
    import matplotlib.pyplot as plt

    p0 = t.baseline
    bins = np.quantile(p0, [0, 0.25, 0.5, 0.75, 1.0])
    grp = np.clip(np.digitize(p0, bins[1:-1]), 0, 3)
    series = {k.replace("_", " ").replace("sevec", "SeVec"): t.deltas[k] for k in t.KEYS}
    series["SeVec mask, h rescaled to its norm"] = ed.delta(RESCALED)
    n = len(series)
    w = 0.8 / n
    fig, ax = plt.subplots(figsize=(viz.MAX_WIDTH, 3.4))
    for j, (label, d) in enumerate(series.items()):
        means = [d[grp == q].mean() if np.any(grp == q) else np.nan for q in range(4)]
        ax.bar(np.arange(4) + w * (j - (n - 1) / 2), means, width=w, label=label)
    ax.set_xticks(range(4), [f"p0 in\n[{bins[q]:.2f}, {bins[q + 1]:.2f}]" for q in range(4)])
    ax.axhline(0, color="k", lw=0.6)
    ax.set_ylabel("mean change of p(true class)")
    ax.set_xlabel("hold-out images by quartile of p(true class) before the edit")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    fig.tight_layout()
    return fig


def _check(id_: str, claim: str, d: dict, acc_before: float, reading: str) -> C.Check:
    return C.Check(id_, claim, f"mean change {d['mean']:+.3f} (SEM {d['sem']:.3f}); top-1 {acc_before:.3f} -> "
                   f"{d['acc_after']:.3f}", reading, {"mean": d["mean"], "sem": d["sem"], "acc_after": d["acc_after"]})


# ---------------------------------------------------------------------------------------
# the record
# ---------------------------------------------------------------------------------------


def _missing_verdicts(study: Study, ids: set, sevecs: dict) -> list:
    """Rows the notebook could not compute on this profile, each saying why."""
    out = []
    for kind in CONCEPT_KINDS:
        if IDS[kind] in ids:
            continue
        claim = (f"Fig. 2c: {kind} SeVecs fail to select images with that concept" if kind == "colors" else
                 f"Fig. 1-2: {kind} SeVecs select images with that concept")
        why = (f"profile {study.profile!r} has no {kind} data" if kind not in sevecs else
               f"no ground truth says which {study.profile} class images show which {kind}; only retrieval among "
               f"unseen {kind} images is measured (own check)")
        out.append(C.untestable(IDS[kind], claim, "selected images (pictures)", why))
    if "gray_recovery" not in ids:
        out.append(C.untestable("gray_recovery", "Sec. 3.1: retraining on gray images recovers the drop",
                                "totally recovered",
                                f"no network retrained on gray images by the recipe and seeds of {network_of(study)} "
                                f"(for a network file: `python -m sevec_helpers.sources.train --variant vgg_mini_gray` "
                                f"with the same seeds, into the same folder)"
                                if study.profile == "world" else
                                "this profile ships no network retrained on gray images"))
    return out


def _assemble(study: Study, verdicts: list, *, sevecs: dict, precision: dict, chance: dict, own: dict,
                acc: Accuracy, acc_gray: Accuracy, retrained: Accuracy | None, t1: PerturbationResult, var: dict,
                acc_before: float, colour_world: C.Check | None = None) -> Record:
    """The chapter's Record from the verdicts the notebook computed and the numbers they came
    from; rows a profile cannot compute (no data, no truth, no gray network) are added as
    "not testable" with the reason."""
    got = {v.id for v in verdicts}
    rows = list(verdicts) + _missing_verdicts(study, got, sevecs)
    rows.sort(key=lambda v: VERDICT_ORDER.index(v.id) if v.id in VERDICT_ORDER else len(VERDICT_ORDER))
    checks = []
    for kind in CONCEPT_KINDS:
        if kind in sevecs:
            o, n = float(np.mean(own[kind])), len(sevecs[kind])
            checks.append(C.Check(f"own_{kind}", f"{kind} SeVecs retrieve unseen {kind} swatches (easier than the "
                                  f"paper's test)", f"precision {o:.3f} (chance {1 / n:.3f})",
                                  "the SeVecs tell their own concepts apart" if o > 2 / n else
                                  "the SeVecs barely tell their own concepts apart", {"precision": o, "chance": 1 / n}))
    if colour_world is not None:
        checks.append(colour_world)
    checks.append(_check("table1_renormalised", f"Table 1 variant: {RESCALED}", var[RESCALED], acc_before,
                         "the mask's effect without the shrinking of h"))
    checks.append(_check("table1_predicted", f"Table 1 variant: {PREDICTED}", var[PREDICTED], acc_before,
                         "the edit a user without labels could make"))
    nums = {"low_level": {k: {"own": float(np.mean(own[k])),
                              **({"precision": A.bootstrap_mean(precision[k]), "chance": float(np.mean(chance[k]))}
                                 if k in precision else {})} for k in sevecs},
            "accuracy": acc.top1, "accuracy_gray": acc_gray.top1, "table1": t1.as_dict(), "table1_variants": var}
    if retrained is not None:
        nums["accuracy_gray_retrained"] = retrained.top1
    return Record("02_validating_sevecs", study.profile, nums, rows, checks, network=network_of(study))


def record(study: Study, verdicts: list, **parts) -> Record:
    """The chapter's Record from the verdict rows its notebook computed visibly and ``parts``
    (the numbers they came from: ``sevecs``, ``precision``, ``chance``, ``own``, ``acc``,
    ``acc_gray``, ``retrained``, ``t1``, ``var``, ``acc_before``, ``colour_world``); rows a
    profile cannot compute (no data, no per-image truth, no gray network) are added as "not
    testable" with the reason. To judge another network, run the notebook itself
    (:func:`sevec_helpers.book.runner.judge`)."""
    return _assemble(study, verdicts, **parts)
