"""Chapter 3, the concept hierarchy (paper Sec. 4.1, Fig. 3): t-SNE of the class SeVecs,
and whether they cluster by superclass and by group (permutation tests, Holm-corrected)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import analysis as A
from .. import claims as C
from .. import viz
from ..profiles import Study
from ..sevec import SemanticVectors
from . import Record

LAYER = "fc1"
LEVELS = ("superclass", "group")


@dataclass
class Hierarchy:
    sv: SemanticVectors
    xy: np.ndarray                      # t-SNE of the SeVecs
    labels: dict[str, list[str]]        # level -> label per class ("(no hierarchy given)" without truth)
    scores: dict[str, dict]             # level -> cluster_scores (empty without truth)

    def scatter(self, level: str):
        sizes = 40 + 900 * np.nan_to_num(self.sv.diversity.numpy())
        return viz.scatter_2d(self.xy, self.sv.names, self.labels[level], sizes, title=f"class SeVecs by {level}")

    def table(self):
        if not self.scores:
            return viz.Markdown("This profile gives no class hierarchy, so there is nothing to test the clusters "
                                "against.")
        return viz.markdown_table(["grouped by", "silhouette", "shuffled", "p", "nearest neighbour same", "shuffled",
                                   "p"], [[lvl, d["silhouette"], d["silhouette_perm_mean"], d["silhouette_p"],
                                           d["nn_agreement"], d["nn_agreement_perm_mean"], d["nn_agreement_p"]]
                                          for lvl, d in self.scores.items()])

    def heatmaps(self):
        sup, grp, names = self.labels["superclass"], self.labels["group"], self.sv.names
        order = sorted(range(len(names)), key=lambda i: (sup[i], grp[i], names[i]))
        by_name = sorted(range(len(names)), key=lambda i: names[i])
        rel = self.sv.relevance().numpy()
        lab = [f"{sup[i][:3]}/{grp[i]}/{names[i]}" for i in order]
        return viz.show_interactive(viz.heatmap_dropdown({
            "ordered by hierarchy": (rel[np.ix_(order, order)], lab, lab),
            "ordered by name": (rel[np.ix_(by_name, by_name)], [names[i] for i in by_name],
                                [names[i] for i in by_name])}, title="cos(v_a, v_b) between class SeVecs"))


def hierarchy(study: Study, n_perm: int = 500, layer: str = LAYER) -> Hierarchy:
    """Fig. 3 at ``layer`` (the paper: fc1)."""
    sv = study.sevecs("classes", layer)
    xy = A.tsne_2d(sv.vectors, seed=0)
    if study.truth is None:
        none = ["(no hierarchy given)"] * len(sv)
        return Hierarchy(sv, xy, {lvl: none for lvl in LEVELS}, {})
    labels = {lvl: [r[lvl] for r in study.truth] for lvl in LEVELS}
    return Hierarchy(sv, xy, labels, {lvl: A.cluster_scores(sv.vectors, labels[lvl], n_perm=n_perm) for lvl in LEVELS})


def record(study: Study, h: Hierarchy | None = None) -> Record:
    h = h or hierarchy(study)
    verdicts = []
    for lvl in LEVELS:
        if lvl not in h.scores:
            verdicts.append(C.untestable(f"fig3_{lvl}", f"Fig. 3: class SeVecs cluster by {lvl}", "clear clusters in "
                                         "t-SNE (no number)", f"profile {study.profile!r} gives no class hierarchy"))
            continue
        d = h.scores[lvl]
        verdicts.append(C.hierarchy(lvl, d["silhouette"], d["silhouette_p"], d["nn_agreement"], d["nn_agreement_p"],
                                    d["silhouette_perm_mean"], d["nn_agreement_perm_mean"]))
    return Record("03_concept_hierarchy", study.profile, {"scores": h.scores, "tsne": h.xy}, verdicts)
