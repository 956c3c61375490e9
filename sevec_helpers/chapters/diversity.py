"""Chapter 4, multifacetedness (paper Sec. 3 and 4.2, Fig. 4, Table 2): the dominant cluster,
the degree of diversity D_c, and its correlation with per-class accuracy."""

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


@dataclass
class Diversity:
    sv: SemanticVectors
    D: np.ndarray                       # (K,) D_c
    planted: np.ndarray | None          # (K,) facets each class was drawn from (world only)
    found: list[dict]                   # per class: clusters found and the dominant share
    facet_corr: dict | None

    def bars(self):
        import matplotlib.pyplot as plt

        o = np.argsort(self.D)
        fig, ax = plt.subplots(figsize=(viz.MAX_WIDTH, 3.4))
        cmap = plt.get_cmap("viridis")
        top = max(1, int(np.nanmax(self.planted))) if self.planted is not None else 1
        cols = cmap((self.planted[o] - 1) / max(1, top - 1)) if self.planted is not None else "tab:blue"
        ax.bar(range(len(o)), self.D[o], color=cols)
        ax.set_xticks(range(len(o)), [self.sv.names[i] for i in o], rotation=75, fontsize=8)
        ax.set_ylabel("$D_c$")
        if self.planted is not None:
            for nf in sorted(set(self.planted.tolist())):
                ax.bar([0], [0], color=cmap((nf - 1) / max(1, top - 1)), label=f"{int(nf)} facet(s)")
            ax.legend(fontsize=8)
        fig.tight_layout()
        return fig

    def table(self, limit: int = 40):
        planted = self.planted if self.planted is not None else [None] * len(self.D)
        return viz.markdown_table(["class", "D_c", "planted facets", "clusters found (>= 5%)", "dominant share"],
                                  [[self.sv.names[c], self.D[c], planted[c] if planted[c] is not None else "n/a",
                                    self.found[c]["n_facets"], self.found[c]["dominant_share"]]
                                   for c in np.argsort(-self.D)[:limit]])


def diversity(study: Study, layer: str = LAYER) -> Diversity:
    """D_c, the planted facets and the clusters found, at ``layer`` (the paper: fc1)."""
    sv = study.sevecs("classes", layer)
    f = study.features("class_holdout", layer)
    binary = (f.values > 0).float()
    found = [A.count_facets(binary[f.labels == c]) for c in range(len(sv))]
    D = sv.diversity.numpy().astype(float)
    planted = np.array([r["n_facets"] for r in study.truth], float) if study.truth else None
    return Diversity(sv, D, planted, found, A.correlation(D, planted) if planted is not None else None)


def facets_figure(study: Study, d: Diversity, n: int = 8):
    """Fig. 4: hold-out images of the most and the least diverse class, closest to their SeVec first."""
    f = study.features("class_holdout", d.sv.layer)
    scores = d.sv.scores(f.values)
    hi, lo = int(np.argmax(d.D)), int(np.argmin(d.D))

    def ordered(c):
        idx = (f.labels == c).nonzero().flatten()
        return idx[scores[idx, c].argsort(descending=True)][:n].tolist()
    return viz.retrieval_figure({f"{d.sv.names[hi]} (D={d.D[hi]:.2f})": study.images("class_holdout", ordered(hi)),
                                 f"{d.sv.names[lo]} (D={d.D[lo]:.2f})": study.images("class_holdout", ordered(lo))})


def facets_gallery(study: Study, d: Diversity, n: int = 8, limit: int = 60):
    f = study.features("class_holdout", d.sv.layer)
    scores = d.sv.scores(f.values)
    gal, caps = {}, {}
    for c in [int(c) for c in np.argsort(-d.D)[:limit]]:
        idx = (f.labels == c).nonzero().flatten()
        idx = idx[scores[idx, c].argsort(descending=True)][:n].tolist()
        key = f"{d.sv.names[c]} (D={d.D[c]:.2f})"
        gal[key], caps[key] = study.images("class_holdout", idx), [f"{scores[j, c]:.2f}" for j in idx]
    return (viz.gallery(gal, caps, title="Hold-out images, closest to the SeVec first",
                                                     label="class"))


@dataclass
class Table2:
    D: np.ndarray
    top1: np.ndarray
    top5: np.ndarray
    prob: np.ndarray
    r: dict            # k -> pearson
    rho: dict          # k -> spearman
    r_prob: dict
    ceiling: dict      # k -> share of classes at >= 0.98

    def table(self):
        p = C.PAPER["table2"]
        rows = []
        for k in (1, 5):
            rows.append([f"top-{k} accuracy", p[f"top{k}_r"], p[f"top{k}_p"], self.r[k]["r"], self.r[k]["p"],
                         self.rho[k]["r"], self.ceiling[k], self.r[k]["n"]])
        rows.append(["mean p(true class)", "", "", self.r_prob["r"], self.r_prob["p"], "", "", self.r_prob["n"]])
        return viz.markdown_table(["", "paper r", "paper p", "ours r", "ours p", "Spearman rho",
                                   f"share of classes >= {C.CEILING_ACC}", "classes"], rows)

    def figure(self, names):
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(1, 3, figsize=(viz.MAX_WIDTH, 2.8), sharex=True)
        for a, y, name, rr in ((ax[0], self.top1, "top-1 accuracy", self.r[1]), (ax[1], self.top5, "top-5 accuracy",
                                                                                  self.r[5]),
                               (ax[2], self.prob, "mean p(true class)", self.r_prob)):
            a.scatter(self.D, y, s=18)
            for c in np.argsort(y)[:3]:
                a.annotate(names[c], (self.D[c], y[c]), fontsize=8)
            a.set_xlabel("$D_c$")
            a.set_ylabel(name)
            a.set_title("r undefined" if rr["r"] is None else f"r = {rr['r']:.2f}, p = {rr['p']:.2g}", fontsize=9)
        fig.tight_layout()
        return fig


def table2(study: Study, d: Diversity) -> Table2:
    acc = study.accuracy("class_holdout")
    prob = acc.mean_prob_per_class(len(study.classes))
    per = {1: acc.per_class_top1, 5: acc.per_class_top5}
    return Table2(d.D, per[1], per[5], prob, {k: A.correlation(d.D, v) for k, v in per.items()},
                  {k: A.correlation(d.D, v, "spearman") for k, v in per.items()}, A.correlation(d.D, prob),
                  {k: float(np.mean(v >= C.CEILING_ACC)) for k, v in per.items()})


def record(study: Study, d: Diversity | None = None, t2: Table2 | None = None) -> Record:
    d = d or diversity(study)
    t2 = t2 or table2(study, d)
    verdicts = [C.dominant_cluster([f["dominant_share"] for f in d.found])]
    verdicts += [C.table2(k, t2.r[k]["r"], t2.r[k]["p"], t2.r[k]["n"], t2.ceiling[k]) for k in (1, 5)]
    checks = []
    for k in (1, 5):
        rho = t2.rho[k]
        if rho["r"] is not None:
            checks.append(C.Check(f"table2_spearman_top{k}", f"Table 2 with Spearman's rank correlation (top-{k})",
                                  f"rho = {rho['r']:.3f} (p = {rho['p']:.2g})", "robust to outlying classes",
                                  {"rho": rho["r"], "p": rho["p"]}))
    if t2.r_prob["r"] is not None:
        checks.append(C.Check("table2_prob", "Table 2 with the mean true-class probability instead of accuracy",
                              f"r = {t2.r_prob['r']:.3f} (p = {t2.r_prob['p']:.2g})",
                              "a measure of confidence that has no ceiling", {"r": t2.r_prob["r"], "p": t2.r_prob["p"]}))
    if d.facet_corr is not None and d.facet_corr["r"] is not None:
        fc = d.facet_corr
        checks.append(C.Check("dc_facets", "D_c measures multifacetedness: correlation with the facets each class "
                              "was drawn from", f"r = {fc['r']:.3f} (p = {fc['p']:.2g}, {fc['n']} classes)",
                              "classes drawn from more facets have higher D_c" if fc["r"] > 0 and fc["p"] < 0.05
                              else "D_c does not follow the planted facets", {"r": fc["r"], "p": fc["p"]}))
    nums = {"diversity": dict(zip(d.sv.names, d.D)), "dominant_share": [f["dominant_share"] for f in d.found],
            "top1": t2.top1, "top5": t2.top5, "ceiling": {f"top{k}": v for k, v in t2.ceiling.items()}}
    return Record("04_multifacetedness", study.profile, nums, verdicts, checks)
