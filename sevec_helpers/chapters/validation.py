"""Chapter 2, validating SeVecs (paper Sec. 3.1, Fig. 2, Table 1): low-level concepts select
class images that show them; colour and the grayscale ablation; single neuron vs SeVec."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from .. import analysis as A
from .. import claims as C
from .. import viz
from ..editing import edit_study, mask_edit, perturbation_study
from ..profiles import CONCEPT_KINDS, Study
from ..sevec import SemanticVectors
from . import Record

LAYER = "fc1"
SWEEP = (("r > 0.01", 0.01, "rate"), ("r > 0.2", 0.2, "rate"), ("r > 0.5 (the book's reading)", 0.5, "rate"),
         ("r > 0.9", 0.9, "rate"), ("v > 0.5 (the paper's literal mask)", 0.5, "vector"))


# ---------------------------------------------------------------------------------------
# Fig. 2: low-level SeVecs select class images that show the concept
# ---------------------------------------------------------------------------------------


@dataclass
class LowLevel:
    kind: str
    sv: SemanticVectors | None
    precision: np.ndarray | None = None   # (K,) on class hold-out images, graded concepts only
    chance: np.ndarray | None = None
    graded: list = field(default_factory=list)  # concept names with something to find
    own: np.ndarray | None = None          # (K,) on unseen swatches of its own kind
    top: torch.Tensor | None = None        # (K, k) class hold-out images retrieved
    relevant: np.ndarray | None = None     # (N, K) ground truth
    why_untestable: str = ""

    @property
    def interval(self):
        return A.bootstrap_mean(self.precision)


def low_level(study: Study, kind: str, k: int = 8) -> LowLevel:
    if not study.has(f"{kind}_fit"):
        return LowLevel(kind, None, why_untestable=f"profile {study.profile!r} has no {kind} data")
    sv = study.sevecs(kind, LAYER)
    f = study.features("class_holdout", LAYER)
    k = min(k, len(f.values))
    own_f = study.features(f"{kind}_holdout", LAYER)
    own = A.precision_at_k(sv, own_f.values, A.relevance_matrix(own_f.labels, len(sv)), min(k, len(own_f.values)))
    out = LowLevel(kind, sv, own=own, top=sv.retrieve(f.values, k=k))
    per_image = study.image_truth("class_holdout")
    if per_image is not None:
        rel = A.relevance_matrix(f.labels, len(sv), image_truth=per_image, key=kind, names=sv.names)
    elif study.truth is not None:
        rel = A.relevance_matrix(f.labels, len(sv), relevant=A.truth_sets(study.truth, kind, sv.names))
    else:
        out.why_untestable = (f"no ground truth says which {study.profile} class images show which {kind}; only "
                              f"retrieval among unseen {kind} images is measured (own check)")
        return out
    prec, chance = A.precision_at_k(sv, f.values, rel, k), A.chance_precision(rel)
    keep = chance > 0  # a concept no hold-out image shows has nothing to find
    out.precision, out.chance, out.relevant = prec[keep], chance[keep], rel
    out.graded = [n for n, g in zip(sv.names, keep) if g]
    return out


def low_level_table(results: dict[str, LowLevel], k: int = 8):
    rows = []
    for kind, r in results.items():
        if r.sv is None:
            rows.append([kind, "-", "no data", "", "", ""])
            continue
        if r.precision is None:
            rows.append([kind, len(r.sv), "no ground truth", "", float(r.own.mean()), 1 / len(r.sv)])
            continue
        m, lo, hi = r.interval
        rows.append([kind, f"{len(r.graded)} of {len(r.sv)}", f"{m:.3f} [{lo:.3f}, {hi:.3f}]", float(r.chance.mean()),
                     float(r.own.mean()), 1 / len(r.sv)])
    return viz.markdown_table(["concepts", "graded", f"precision@{k} on class images [95% interval]", "chance",
                               "precision on unseen swatches (own check)", "chance"], rows)


def low_level_figure(study: Study, results: dict[str, LowLevel], per_kind: int = 2, k: int = 6):
    """The best ``per_kind`` concepts of each kind: their top class hold-out images."""
    rows, ok = {}, {}
    for kind, r in results.items():
        if r.sv is None or r.precision is None:
            continue
        order = np.argsort(-r.precision)[:per_kind]
        for j in order:
            c = r.sv.index(r.graded[j])
            name = f"{kind[:-1]}: {r.sv.names[c]}"
            idx = r.top[c, :k].tolist()
            rows[name] = study.images("class_holdout", idx)
            ok[name] = [bool(r.relevant[i, c]) for i in idx]
    return viz.retrieval_figure(rows, ok) if rows else None


def low_level_gallery(study: Study, results: dict[str, LowLevel], limit: int = 40):
    gal, caps = {}, {}
    labels = study.features("class_holdout", LAYER).labels
    for kind, r in results.items():
        if r.sv is None:
            continue
        for c, name in enumerate(r.sv.names[:limit]):
            key = f"{kind[:-1]}: {name}"
            idx = r.top[c].tolist()
            gal[key] = study.images("class_holdout", idx)
            caps[key] = [study.classes[int(labels[j])] + ("" if r.relevant is None or r.relevant[j, c] else " x")
                         for j in idx]
    return (viz.gallery(gal, caps, title="Class images selected by", label="concept")) \
        if gal else viz.Markdown("No low-level concept data in this profile.")


def low_level_verdicts(results: dict[str, LowLevel]) -> tuple[list, list]:
    verdicts, checks = [], []
    ids = {"textures": "fig2_textures", "materials": "fig2_materials", "colors": "fig2c_colors"}
    for kind in CONCEPT_KINDS:
        r = results.get(kind)
        colour = kind == "colors"
        claim = (f"Fig. 2c: {kind} SeVecs fail to select images with that concept" if colour else
                 f"Fig. 1-2: {kind} SeVecs select images with that concept")
        if r is None or r.sv is None or r.precision is None:
            why = r.why_untestable if r is not None else f"no {kind} data"
            verdicts.append(C.untestable(ids[kind], claim, "selected images (pictures)", why))
        else:
            m, lo, hi = r.interval
            verdicts.append(C.retrieval(ids[kind], kind, m, lo, hi, float(r.chance.mean()), expect_success=not colour,
                                        paper="colour SeVecs select images without the colour" if colour else
                                        "selected val images show the concept (pictures)"))
        if r is not None and r.sv is not None:
            own = float(r.own.mean())
            checks.append(C.Check(f"own_{kind}", f"{kind} SeVecs retrieve unseen {kind} swatches (easier than the "
                                  f"paper's test)", f"precision {own:.3f} (chance {1 / len(r.sv):.3f})",
                                  "the SeVecs tell their own concepts apart" if own > 2 / len(r.sv) else
                                  "the SeVecs barely tell their own concepts apart",
                                  {"precision": own, "chance": 1 / len(r.sv)}))
    return verdicts, checks


# ---------------------------------------------------------------------------------------
# colour: the grayscale ablation, retraining on gray, and a world where colour decides
# ---------------------------------------------------------------------------------------


@dataclass
class Colour:
    acc: float
    acc_gray: float
    drop: tuple                              # (mean, low, high) over images
    worst: list                              # [(class, colour acc, gray acc)] largest drops
    retrained: float | None = None           # network trained on gray images, on gray images
    other_world: dict | None = None          # the network of a world where colour defines the classes


def colour(study: Study) -> Colour:
    a, g = study.accuracy("class_holdout"), study.accuracy("class_holdout_gray")
    drop = A.bootstrap_mean(a.correct1.astype(float) - g.correct1.astype(float))
    per = a.per_class_top1 - g.per_class_top1
    worst = [(study.classes[c], float(a.per_class_top1[c]), float(g.per_class_top1[c])) for c in np.argsort(-per)[:6]]
    out = Colour(a.top1, g.top1, drop, worst)
    if "gray" in study.networks:
        out.retrained = study.accuracy("class_holdout_gray", network="gray").top1
    if "colorcoded" in study.networks:
        ca, cg = study.accuracy("class_holdout", network="colorcoded"), study.accuracy("class_holdout_gray",
                                                                                      network="colorcoded")
        svc = study.sevecs("colors", LAYER, network="colorcoded")
        f = study.features("colors_holdout", LAYER, network="colorcoded")
        own = float(A.precision_at_k(svc, f.values, A.relevance_matrix(f.labels, len(svc)), 8).mean())
        mine = study.sevecs("colors", LAYER)
        fm = study.features("colors_holdout", LAYER)
        own_main = float(A.precision_at_k(mine, fm.values, A.relevance_matrix(fm.labels, len(mine)), 8).mean())
        out.other_world = {"acc": ca.top1, "acc_gray": cg.top1, "color_precision": own,
                           "color_precision_main": own_main, "about": study.networks["colorcoded"].about}
    return out


def colour_table(c: Colour):
    rows = [["the profile's network, colour images", c.acc], ["the same network, gray images", c.acc_gray]]
    if c.retrained is not None:
        rows.append(["a network trained on gray images, gray images", c.retrained])
    if c.other_world:
        rows += [["network of a world where colour defines the classes, colour images", c.other_world["acc"]],
                 ["the same, gray images", c.other_world["acc_gray"]]]
    return viz.stack([viz.markdown_table(["network and images", "top-1"], rows),
                      viz.markdown_table(["class", "top-1 colour", "top-1 gray"], c.worst)])


def colour_verdicts(c: Colour) -> tuple[list, list]:
    v = [C.color_ablation(c.acc, c.acc_gray, c.drop[1], c.drop[2])]
    if c.retrained is None:
        v.append(C.untestable("gray_recovery", "Sec. 3.1: retraining on gray images recovers the drop",
                              "totally recovered", "this profile ships no network retrained on gray images"))
    else:
        v.append(C.gray_recovery(c.acc, c.acc_gray, c.retrained))
    checks = []
    if c.other_world:
        o = c.other_world
        checks.append(C.Check("colour_world", "Colour matters as much as the data makes it: the same recipe on a "
                              "world where colour defines most classes",
                              f"gray costs {o['acc'] - o['acc_gray']:.3f} there vs {c.acc - c.acc_gray:.3f} here; colour "
                              f"SeVecs retrieve colour swatches at {o['color_precision']:.2f} there vs "
                              f"{o['color_precision_main']:.2f} here",
                              "a network leans on colour when its data rewards it", o))
    return v, checks


# ---------------------------------------------------------------------------------------
# Table 1: single neuron vs SeVec, with its variants
# ---------------------------------------------------------------------------------------


@dataclass
class Table1:
    result: object                    # PerturbationResult
    variants: dict                    # name -> {"units", "share_active", "mean", "sem", "acc_after"}
    accuracy_before: float

    def table(self):
        p, r = C.PAPER["table1"], self.result
        rows = [[k.replace("_", " "), p[k], getattr(r, k), r.sem(k), float(np.mean(r.edits.correct[k]))]
                for k in r.KEYS]
        return viz.markdown_table(["edit", "paper (VGG16)", "ours: mean change of p(true class)", "SEM",
                                   "top-1 after the edit"], rows)

    def variants_table(self):
        rows = [[name, v["units"], v["share_active"], v["mean"], v["sem"], v["acc_after"]]
                for name, v in self.variants.items()]
        return viz.markdown_table(["mask", "units kept (mean over classes)", "share of an image's active units kept",
                                   "mean change of p(true class)", "SEM", "top-1 after"], rows)

    def figure(self):
        """Change per edit for images grouped by quartile of the probability before the edit."""
        import matplotlib.pyplot as plt

        r = self.result
        p0 = r.baseline
        bins = np.quantile(p0, [0, 0.25, 0.5, 0.75, 1.0])
        grp = np.clip(np.digitize(p0, bins[1:-1]), 0, 3)
        fig, ax = plt.subplots(figsize=(6.4, 3.2))
        for j, key in enumerate(r.KEYS):
            means = [r.deltas[key][grp == q].mean() if np.any(grp == q) else np.nan for q in range(4)]
            ax.bar(np.arange(4) + 0.2 * j - 0.3, means, width=0.2, label=key.replace("_", " "))
        ax.set_xticks(range(4), [f"p0 in [{bins[q]:.2f}, {bins[q + 1]:.2f}]" for q in range(4)], fontsize=8)
        ax.axhline(0, color="k", lw=0.6)
        ax.set_ylabel("mean change of p(true class)")
        ax.legend(fontsize=8)
        fig.tight_layout()
        return fig


def table1(study: Study, threshold: float = 0.5, layer: str = LAYER) -> Table1:
    """Table 1 at ``layer`` (the paper: fc1) with the mask 1[r_c > threshold], and its variants."""
    sv = study.sevecs("classes", layer)
    res = perturbation_study(study.model, study.dataset("class_holdout"), sv, threshold=threshold, **study.run)
    f = study.features("class_holdout", layer)
    active = f.values > 0
    y = f.labels
    edits, meta = {}, {}
    for name, t, by in SWEEP:
        m = sv.mask(t, by=by)
        edits[name] = mask_edit(m)
        meta[name] = m
    base = sv.mask(threshold)
    edits["r > 0.5, then h rescaled to its norm"] = mask_edit(base, renormalize=True)
    meta["r > 0.5, then h rescaled to its norm"] = base
    edits["r > 0.5 of the predicted class (no label needed)"] = mask_edit(base, by_prediction=True)
    meta["r > 0.5 of the predicted class (no label needed)"] = base
    ed = edit_study(study.model, study.dataset("class_holdout"), layer, edits, num_classes=len(sv),
                    desc="Table 1 variants", **study.run)
    variants = {}
    for name, m in meta.items():
        rows = m[torch.as_tensor(ed.edit_predictions)] if "predicted" in name else m[y]
        share = ((active & rows).sum(1).float() / active.sum(1).clamp(min=1).float()).mean().item()
        d = ed.delta(name)
        variants[name] = {"units": float(m.sum(1).float().mean()), "share_active": share, "mean": float(d.mean()),
                          "sem": A.sem(d), "acc_after": float(np.mean(ed.correct[name]))}
    return Table1(res, variants, ed.accuracy_before)


def table1_verdict(t: Table1) -> tuple[list, list]:
    r = t.result
    v = C.table1({k: getattr(r, k) for k in r.KEYS}, {k: r.sem(k) for k in r.KEYS}, r.sem_diff)
    checks = []
    for name in ("r > 0.5, then h rescaled to its norm", "r > 0.5 of the predicted class (no label needed)"):
        d = t.variants[name]
        checks.append(C.Check("table1_" + ("renormalised" if "rescaled" in name else "predicted"),
                              f"Table 1 variant: {name}", f"mean change {d['mean']:+.3f} (SEM {d['sem']:.3f}); top-1 "
                              f"{t.accuracy_before:.3f} -> {d['acc_after']:.3f}",
                              "the mask's effect without the shrinking of h" if "rescaled" in name else
                              "the edit a user without labels could make",
                              {"mean": d["mean"], "sem": d["sem"], "acc_after": d["acc_after"]}))
    return [v], checks


def record(study: Study, low: dict | None = None, col: Colour | None = None, t1: Table1 | None = None) -> Record:
    low = low or {kind: low_level(study, kind) for kind in CONCEPT_KINDS}
    col = col or colour(study)
    t1 = t1 or table1(study)
    v1, c1 = low_level_verdicts(low)
    v2, c2 = colour_verdicts(col)
    v3, c3 = table1_verdict(t1)
    nums = {"low_level": {k: {"own": float(r.own.mean()),
                              **({"precision": r.interval, "chance": float(r.chance.mean())}
                                 if r.precision is not None else {})}
                          for k, r in low.items() if r.sv is not None},
            "accuracy": col.acc, "accuracy_gray": col.acc_gray, "table1": t1.result.as_dict(),
            "table1_variants": t1.variants}
    if col.retrained is not None:
        nums["accuracy_gray_retrained"] = col.retrained
    return Record("02_validating_sevecs", study.profile, nums, v1 + v2 + v3, c1 + c2 + c3)
