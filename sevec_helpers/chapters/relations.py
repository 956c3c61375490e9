"""Chapter 5, concept relations and explanations by low-level concepts (paper Sec. 4.3, Fig. 5,
Table 3): cos(v_class, v_concept) against the ground truth, and per-image explanations."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import analysis as A
from .. import claims as C
from .. import viz
from ..profiles import CONCEPT_KINDS, Study
from ..sevec import SemanticVectors
from . import Record

LAYER = "fc1"
GRADED = ("textures", "materials")  # the paper's Fig. 5 and Table 3 use textures and materials


@dataclass
class Relations:
    classes: SemanticVectors
    low: dict[str, SemanticVectors]
    relevance: dict[str, np.ndarray]          # kind -> (classes, concepts)
    truth: dict[str, list[set]] | None        # kind -> per class, the concepts it has
    agreement: dict[str, dict]                # kind -> top_agreement

    def table(self):
        if not self.truth:
            return viz.Markdown("No ground truth of which class has which concept in this profile.")
        return viz.markdown_table(["kind", "classes with a true concept", "top concept is true [95% interval]",
                                   "chance"], [[k, a["n_classes"], f"{a['agreement']:.3f} [{a['low']:.3f}, "
                                                f"{a['high']:.3f}]", a["chance"]]
                                               for k, a in self.agreement.items() if a["n_classes"]])

    def heatmap(self, kind: str = "materials", limit: int = 40):
        rel = self.relevance[kind]
        shown = list(range(len(self.classes))) if len(self.classes) <= limit else \
            list(np.argsort(-rel.max(1))[:limit])
        marks = None
        if self.truth:
            marks = np.array([[m in self.truth[kind][c] for m in self.low[kind].names] for c in shown])
        return viz.heatmap(rel[shown], [self.classes.names[c] for c in shown], self.low[kind].names,
                           f"relevance to {kind}", marks)

    def heatmaps(self):
        return viz.show_interactive(viz.heatmap_dropdown({k: (self.relevance[k], self.classes.names, self.low[k].names)
                                                          for k in self.low}, title="cos(v_class, v_concept)"))


def relations(study: Study) -> Relations:
    sv = study.sevecs("classes", LAYER)
    low = {k: study.sevecs(k, LAYER) for k in CONCEPT_KINDS if study.has(f"{k}_fit")}
    rel = {k: sv.relevance(v).numpy() for k, v in low.items()}
    truth = {k: [set(r[k]) for r in study.truth] for k in low} if study.truth else None
    agree = {k: A.top_agreement(sv.relevance(v), truth[k], v.names) for k, v in low.items()} if truth else {}
    return Relations(sv, low, rel, truth, agree)


@dataclass
class Explanations:
    """Table 3: per correctly classified hold-out image, the closest texture and material."""

    graded: dict[str, dict]          # kind -> explanation_agreement (empty without per-image truth)
    examples: list                   # rows for the paper's seven classes: (class, paper, ours, truth, right)
    images: list                     # their pictures
    captions: list

    def table(self):
        if not self.graded:
            return viz.Markdown("No per-image ground truth in this profile: the explanations are shown, not graded.")
        return viz.markdown_table(["kind", "images graded", "explanation right [95% interval]", "chance"],
                                  [[k, g["n"], f"{g['right']:.3f} [{g['low']:.3f}, {g['high']:.3f}]", g["chance"]]
                                   for k, g in self.graded.items() if g["n"]])

    def paper_table(self):
        return viz.markdown_table(["prediction", "paper (VGG16)", "ours", "the image shows", "right (texture / "
                                   "material)"], self.examples) if self.examples else \
            viz.Markdown("None of the paper's Table 3 classes is a class of this profile.")

    def figure(self):
        return viz.image_grid(self.images, self.captions, ncols=max(1, len(self.images)), size=1.8) \
            if self.images else None


def explanations(study: Study, r: Relations) -> Explanations:
    f = study.features("class_holdout", LAYER)
    acc = study.accuracy("class_holdout")
    right = acc.correct1
    per_image = study.image_truth("class_holdout")
    graded = {k: A.explanation_agreement(r.low[k], f.values, per_image, k, right) for k in GRADED if k in r.low} \
        if per_image is not None else {}
    rows, imgs, caps = [], [], []
    ex = {k: r.low[k].explain(f.values, top=1) for k in GRADED if k in r.low}
    if len(ex) == 2:
        pred = acc.predictions.numpy()
        for name, (p_tex, p_mat) in C.PAPER["table3"].items():
            match = [n for n in (name, name.replace("_", " ")) if n in r.classes.names]  # ImageNet names use spaces
            if not match:
                continue
            c = r.classes.index(match[0])
            idx = np.flatnonzero((pred == c) & right)
            if len(idx) == 0:
                continue
            i = int(idx[0])
            t, m = ex["textures"].names[i][0], ex["materials"].names[i][0]
            shows = per_image[i] if per_image is not None else None
            rows.append([name, f"{p_tex} + {p_mat or '(none fits)'}", f"{t} + {m}",
                         "n/a" if shows is None else f"{', '.join(shows['textures']) or '-'} + "
                                                      f"{', '.join(shows['materials']) or '(none)'}",
                         "n/a" if shows is None else ("yes" if t in shows["textures"] else "no") + " / " +
                         ("yes" if m in shows["materials"] else "no")])
            imgs.append(study.image("class_holdout", i))
            caps.append(f"{name}\n{t} + {m}")
    return Explanations(graded, rows, imgs, caps)


def record(study: Study, r: Relations | None = None, e: Explanations | None = None) -> Record:
    r = r or relations(study)
    e = e or explanations(study, r)
    verdicts, checks = [], []
    for kind in GRADED:
        a = r.agreement.get(kind)
        if a and a["n_classes"]:
            verdicts.append(C.relations(f"fig5_{kind}", kind, a["agreement"], a["low"], a["high"], a["chance"],
                                        a["n_classes"]))
        else:
            verdicts.append(C.untestable(f"fig5_{kind}", f"Fig. 5: relevance finds each class's {kind}",
                                         "matches common sense", f"no ground truth of which class has which {kind}"
                                         if kind in r.low else f"no {kind} data"))
        g = e.graded.get(kind)
        if g and g["n"]:
            verdicts.append(C.explanations(f"table3_{kind}", kind, g["right"], g["low"], g["high"], g["chance"], g["n"]))
        else:
            verdicts.append(C.untestable(f"table3_{kind}", f"Table 3: a decision is explained by the image's {kind}",
                                         "7 hand-picked images", "no per-image ground truth of what each image shows"))
    a = r.agreement.get("colors")
    if a and a["n_classes"]:
        checks.append(C.Check("fig5_colors", "Relevance finds each class's colours (not a claim of the paper)",
                              f"top colour right for {a['agreement']:.3f} of {a['n_classes']} classes (chance "
                              f"{a['chance']:.3f})", "colour relations, the paper shows none",
                              {"agreement": a["agreement"], "chance": a["chance"]}))
    nums = {"agreement": {k: {kk: a[kk] for kk in ("agreement", "low", "high", "chance", "n_classes")}
                          for k, a in r.agreement.items() if a["n_classes"]},
            "explanations": {k: {kk: g[kk] for kk in ("right", "low", "high", "chance", "n")}
                             for k, g in e.graded.items() if g["n"]}}
    return Record("05_concept_relations", study.profile, nums, verdicts, checks)
