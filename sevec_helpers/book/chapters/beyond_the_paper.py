"""Chapter 9, beyond the paper: (1) do semantic saliency maps pass the sanity checks of
Adebayo et al. (2018)? (2) which concept vector (SeVec, CAV, FastCAV, single unit, mean
activation) is best, measured against ConceptWorld's ground truth? (3) which of Fig. 5's
relations and Table 3's explanations are significant against random concepts (TCAV's test,
:mod:`sevec_helpers.sevecs.significance`)? Every row is a check of our own."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from sevec_helpers.book import claims as C
from sevec_helpers.book import figures as viz
from sevec_helpers.book.profiles import CONCEPT_KINDS, Study
from sevec_helpers.book.records import Record, network_of
from sevec_helpers.evaluation import sanity as SC
from sevec_helpers.evaluation import stats as A
from sevec_helpers.sevecs import alternatives as CV
from sevec_helpers.sevecs import significance as SG
from sevec_helpers.sevecs.vectors import SemanticVectors

MASK_LAYER = "pool5"
VEC_LAYER = "fc1"
MEASURES = {"retrieval": "precision@8, class images showing the concept",
            "own": "precision@8, unseen swatches of the concept",
            "stability": "stability (cosine, two halves)", "seconds": "seconds to fit, per concept",
            "megabytes": "MB held while fitting all concepts (estimate)"}
"""What each measure of the concept-vector comparison is, as the tables' first header cell."""


# ---------------------------------------------------------------------------------------
# 1. sanity checks
# ---------------------------------------------------------------------------------------


@dataclass
class Sanity:
    """The sanity checks the notebook computes, for its figures, tables and checks."""

    cascading: SC.Randomization
    independent: SC.Randomization
    sensitivity: SC.ClassSensitivity
    example: dict          # map name -> [original, after each cascading step] for one image
    example_image: np.ndarray

    def curves_figure(self, measure: str = "spearman"):
        """Similarity to the trained network's maps as blocks are randomised from the top down:
        one colour per method, its plain map solid, its semantic map dashed, the semantic map with
        masks refitted on the randomised network dotted (thick enough to see); the legend under
        the axes, where it covers no curve."""
        import matplotlib.pyplot as plt

        r = self.cascading
        fig, ax = plt.subplots(figsize=(viz.MAX_WIDTH, 4.6))
        x = np.arange(len(r.blocks))
        families = list(dict.fromkeys(n.removeprefix("Semantic ") for n in r.similarity))
        colour = {f: f"C{i}" for i, f in enumerate(families)}
        for name, v in r.similarity.items():
            vals = v[measure]
            m = np.nanmean(vals, axis=1)
            ci = [A.bootstrap_mean(row[np.isfinite(row)]) if np.isfinite(row).any() else (np.nan,) * 3 for row in vals]
            c = colour[name.removeprefix("Semantic ")]
            semantic = name.startswith("Semantic")
            ax.plot(x, m, marker="s" if semantic else "o", ms=4, ls="--" if semantic else "-", lw=1.8, color=c,
                    label=name)
            ax.fill_between(x, [q[1] for q in ci], [q[2] for q in ci], alpha=0.12, color=c)
        if r.refit:
            for name, v in r.refit.items():
                ax.plot(x, np.nanmean(v[measure], axis=1), ls=":", lw=2.4, color=colour[name.removeprefix("Semantic ")],
                        label=f"{name}, masks refitted")
        ax.set_xticks(x, ["+ " + b for b in r.blocks], rotation=45, ha="right", fontsize=8)
        ax.set_ylabel(f"similarity to the trained maps\n({measure})")
        ax.set_xlabel("randomised so far (cascading, from the output down)")
        ax.axhline(0, color="k", lw=0.6)
        ax.margins(x=0.03)
        ax.legend(fontsize=8, ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.42), frameon=False)
        fig.tight_layout()
        return fig

    def row_figure(self, columns: int = 5):
        """One image (left of each row): each method's map (rows) on the trained network and after
        ``columns - 1`` randomisation steps spread from the first to the last (the curves above
        show every step), each map by the book's rule (its own 99th percentile, one colour bar),
        about 125 px a panel."""
        import matplotlib.pyplot as plt

        names = list(self.example)
        blocks = self.cascading.blocks
        steps = sorted(set(int(round(v)) for v in np.linspace(0, len(blocks), min(columns, len(blocks) + 1))))
        heads = ["trained" if k == 0 else f"randomised down\nto {blocks[k - 1]}" for k in steps]
        side = (viz.MAX_WIDTH - 2.0) / (len(steps) + 1)
        fig, axes = plt.subplots(len(names), len(steps) + 1, figsize=(viz.MAX_WIDTH, (side + 0.08) * len(names) + 0.6),
                                 squeeze=False)
        im = None
        for r, name in enumerate(names):
            axes[r, 0].imshow(self.example_image)
            axes[r, 0].set_ylabel(name, rotation=0, ha="right", va="center", fontsize=8)
            for c, k in enumerate(steps):
                im = viz.draw_saliency(axes[r, c + 1], self.example[name][k])
                if r == 0:
                    axes[r, c + 1].set_title(heads[c], fontsize=8)
        axes[0, 0].set_title("the image", fontsize=8)
        for ax in axes.flat:
            ax.set_xticks([])
            ax.set_yticks([])
        fig.tight_layout(w_pad=0.8, h_pad=0.3)
        viz.saliency_colorbar(fig, im)
        return fig

    def table(self):
        rows = []
        last = {k: v["spearman"][-1] for k, v in self.cascading.similarity.items()}
        top = {k: v["spearman"][0] for k, v in self.cascading.similarity.items()}
        ind = self.independent.summary("spearman")
        for k in last:
            f = lambda a: A.bootstrap_mean(a[np.isfinite(a)]) if np.isfinite(a).any() else (np.nan,) * 3
            t, lst = f(top[k]), f(last[k])
            refit = "" if not self.cascading.refit or k not in self.cascading.refit else \
                f"{np.nanmean(self.cascading.refit[k]['spearman'][-1]):.3f}"
            rows.append([k, f"{t[0]:.3f} [{t[1]:.3f}, {t[2]:.3f}]", f"{lst[0]:.3f} [{lst[1]:.3f}, {lst[2]:.3f}]",
                         f"{np.nanmean(ind[k]):.3f}", refit])
        return viz.markdown_table(["map", "after randomising the output layer", "after randomising every layer",
                                   "one layer randomised (mean over layers)", "every layer, masks refitted"], rows)

    def sensitivity_table(self):
        rows = []
        for k, v in self.sensitivity.rank_corr.items():
            m, lo, hi = A.bootstrap_mean(v[np.isfinite(v)])
            rows.append([k, f"{m:.3f} [{lo:.3f}, {hi:.3f}]", float(self.sensitivity.own_box[k].mean())])
        second = "two objects of a scene" if self.sensitivity.second == "object" else \
            "the true class and the network's runner-up"
        return viz.markdown_table(["map", f"rank correlation of the maps for two targets ({second}; lower: more "
                                   "class-discriminative) [95% interval over scenes]", "energy in its own target's box"],
                                  rows)

    def checks(self) -> list[C.Check]:
        out = []
        last = {k: np.nanmean(v["spearman"][-1]) for k, v in self.cascading.similarity.items()}
        for method in ("vanilla_gradient", "guided_backprop", "gradient_x_input"):
            plain, sem = SC.variant_name(method, False), SC.variant_name(method, True)
            out.append(C.Check(f"sanity_randomized_{method}", f"Cascading randomisation: {plain} and its semantic "
                               f"version after every layer is random", f"rank correlation with the trained maps "
                               f"{last[plain]:.3f} (plain) and {last[sem]:.3f} (semantic)",
                               "a map that survives randomisation does not explain what the network learned" if
                               max(last[plain], last[sem]) > 0.5 else "the maps depend on the learned weights",
                               {"plain": last[plain], "semantic": last[sem]}))
            rc = self.sensitivity.rank_corr
            out.append(C.Check(f"sanity_classes_{method}", f"Class sensitivity: {plain} vs its semantic version",
                               f"rank correlation between two targets' maps {np.nanmean(rc[plain]):.3f} (plain) and "
                               f"{np.nanmean(rc[sem]):.3f} (semantic)",
                               "the semantic mask makes the map depend on the target" if
                               np.nanmean(rc[sem]) < np.nanmean(rc[plain]) else
                               "the semantic version is no more class-sensitive",
                               {"plain": float(np.nanmean(rc[plain])), "semantic": float(np.nanmean(rc[sem]))}))
        return out


# ---------------------------------------------------------------------------------------
# 2. which concept vector?
# ---------------------------------------------------------------------------------------


@dataclass
class Comparison:
    """The concept-vector comparison the notebook computes, for its tables and checks."""

    rows: list = field(default_factory=list)     # dicts: kind, method, measure, value
    edit: dict = field(default_factory=dict)     # method -> {"mean", "sem", "acc_after"}
    relations: dict = field(default_factory=dict)  # (kind, method) -> agreement

    def value(self, kind, method, measure):
        v = [r["value"] for r in self.rows if (r["kind"], r["method"], r["measure"]) == (kind, method, measure)]
        return v[0] if v else None

    def table(self, measure: str, kinds=("classes",) + CONCEPT_KINDS, fmt=".3f"):
        """One measure (a key of :data:`MEASURES`) for each kind of concept (rows) and vector
        (columns); the first header cell names the measure."""
        body = []
        for kind in kinds:
            vals = [self.value(kind, m, measure) for m in CV.METHODS]
            if all(v is None for v in vals):
                continue
            body.append([kind] + ["" if v is None else format(v, fmt) for v in vals])
        return viz.markdown_table([MEASURES.get(measure, measure)] + [CV.LABELS[m] for m in CV.METHODS], body)

    def edit_table(self):
        return viz.markdown_table(["vector", "mean change of p(true class)", "SEM", "top-1 after the edit"],
                                  [[CV.LABELS[m], d["mean"], d["sem"], d["acc_after"]] for m, d in self.edit.items()])

    def relations_table(self):
        kinds = sorted({k for k, _ in self.relations})
        return viz.markdown_table(["concepts"] + [CV.LABELS[m] for m in CV.METHODS],
                                  [[k] + [f"{self.relations.get((k, m), float('nan')):.3f}" for m in CV.METHODS]
                                   for k in kinds])

    def verdict_lines(self):
        """Where the SeVec wins and where it loses, measure by measure (computed, not written)."""
        lines = []
        measures = {"retrieval": "selecting class images that show the concept (the paper's test)",
                    "own": "retrieving unseen swatches of the concept's own kind",
                    "stability": "stability across disjoint halves of the fitting images",
                    "seconds": "fitting time per concept"}
        for meas, text in measures.items():
            for kind in ("classes",) + CONCEPT_KINDS:
                vals = {m: self.value(kind, m, meas) for m in CV.METHODS}
                if any(v is None for v in vals.values()):
                    continue
                better_low = meas == "seconds"
                best = min(vals, key=vals.get) if better_low else max(vals, key=vals.get)
                rank = sorted(vals, key=vals.get, reverse=not better_low).index("sevec") + 1
                show = (lambda v: f"{v * 1e3:.2g} ms") if meas == "seconds" else (lambda v: f"{v:.3f}")
                lines.append(f"- {text}, {kind}: the SeVec ranks {rank} of {len(vals)} ({show(vals['sevec'])}; best: "
                             f"{CV.LABELS[best]}, {show(vals[best])})")
        e = {m: d["mean"] for m, d in self.edit.items()}
        if e:
            best = max(e, key=e.get)
            lines.append(f"- Table-1 edit with each vector's mask: SeVec {e['sevec']:+.3f}; best: {CV.LABELS[best]} "
                         f"{e[best]:+.3f}")
        return viz.Markdown("\n".join(lines))

    def checks(self) -> list[C.Check]:
        out = []
        for kind in ("classes",) + CONCEPT_KINDS:
            vals = {m: self.value(kind, m, "retrieval") for m in CV.METHODS}
            if any(v is None for v in vals.values()):
                continue
            best = max(vals, key=vals.get)
            out.append(C.Check(f"vectors_retrieval_{kind}", f"Which vector selects {kind} best (the paper's test)",
                               ", ".join(f"{CV.LABELS[m]} {v:.3f}" for m, v in vals.items()),
                               f"best: {CV.LABELS[best]}", {m: v for m, v in vals.items()}))
        if self.edit:
            out.append(C.Check("vectors_edit", "Table-1 edit with each vector's mask (same size as the SeVec's)",
                               ", ".join(f"{CV.LABELS[m]} {d['mean']:+.3f}" for m, d in self.edit.items()),
                               "which units matter to the class", {m: d["mean"] for m, d in self.edit.items()}))
        return out


# ---------------------------------------------------------------------------------------
# 3. significance against random concepts
# ---------------------------------------------------------------------------------------

N_RANDOM = 500
"""Random sets per kind of concept (bench/bench_significance.py: at 500 the spread of
log10 p across independent draws is below 0.1 and about 3% of flags differ from a
4000-set reference; at 100, 0.13 and 3%; at 10, 0.37 and 20%)."""
SIG_KINDS = ("textures", "materials")


def unmasked(sv: SemanticVectors) -> SemanticVectors:
    """SeVecs like ``sv`` whose masks keep every unit (all rates 1): the semantic map then is
    the plain one, which is how chapter 9 checks the Captum classes against Captum."""
    return sv._replace(rates=torch.ones_like(sv.rates))


def smoothgrad_figure(images: np.ndarray, maps: dict):
    """One column per image: the image, then each map (name -> (N, H, W) array) under it, each
    map by the book's rule (its own 99th percentile, inferno, one colour bar), about 170 px a
    panel."""
    import matplotlib.pyplot as plt

    n, names = len(images), list(maps)
    side = min(1.7, (viz.MAX_WIDTH - 2.2) / max(1, n))
    fig, axes = plt.subplots(len(names) + 1, n, figsize=(side * n + 2.2, (side + 0.1) * (len(names) + 1) + 0.3),
                             squeeze=False)
    im = None
    for c in range(n):
        axes[0, c].imshow(images[c])
        for r, name in enumerate(names):
            im = viz.draw_saliency(axes[r + 1, c], np.asarray(maps[name][c]))
    axes[0, 0].set_ylabel("image", rotation=0, ha="right", va="center", fontsize=8)
    for r, name in enumerate(names):
        axes[r + 1, 0].set_ylabel(name, rotation=0, ha="right", va="center", fontsize=8)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    viz.saliency_colorbar(fig, im)
    return fig


def relation_truth(study: Study, sig: SG.Significance, kind: str) -> list:
    """Per tested relation (class ~ concept), whether the class really has the concept (None
    without ground truth)."""
    if study.truth is None:
        return [None] * len(sig)
    names = list(study.classes)
    return [b in set(study.truth[names.index(a)][kind]) for a, b in zip(sig.extra["a"], sig.extra["b"])]


def explanation_truth(study: Study, sig: SG.Significance, kind: str) -> list:
    """Per tested explanation (image, concept), whether the image really shows the concept."""
    shows = study.image_truth("class_holdout")
    if shows is None:
        return [None] * len(sig)
    return [c in set(shows[i][kind]) for i, c in zip(sig.extra["image"], sig.extra["concept"])]


def significance_table(study: Study, families: dict[str, dict[str, SG.Significance]]):
    """For each family (e.g. "Fig. 5 relations" -> {kind: Significance}) and kind: how many
    results were tested, how many are significant, and how many of each are true."""
    rows = []
    for fam, by_kind in families.items():
        for kind, sig in by_kind.items():
            truth = (relation_truth if "a" in sig.extra else explanation_truth)(study, sig, kind)
            known = [t for t in truth if t is not None]
            sig_true = sum(1 for t, g in zip(truth, sig.significant) if g and t)
            non_true = sum(1 for t, g in zip(truth, sig.significant) if not g and t)
            rows.append([fam, kind, len(sig), sig.n_significant,
                         f"{sig_true} of {sig.n_significant}" if known else "",
                         f"{non_true} of {len(sig) - sig.n_significant}" if known else ""])
    any_sig = next(iter(next(iter(families.values())).values()))
    corr = {"holm": "Holm", "bh": "Benjamini-Hochberg", None: "no"}[any_sig.correction]
    return viz.markdown_table([f"family ({any_sig.test} test against {any_sig.n_random} random sets, {corr} "
                               f"correction, alpha {any_sig.alpha})", "concepts", "tested", "significant",
                               "true among the significant", "true among the rest"], rows)


def significance_detail(study: Study, sig: SG.Significance, kind: str, n: int = 12):
    """The first ``n`` tests of one family: value, random sets' mean, adjusted p, significant, true."""
    truth = (relation_truth if "a" in sig.extra else explanation_truth)(study, sig, kind)
    rows = [[r["test"], f"{r[sig.what]:.3f}", f"{r['null_mean']:.3f}", f"{r['p_adjusted']:.2g}",
             "yes" if r["significant"] else "no", "" if t is None else ("yes" if t else "no")]
            for r, t in list(zip(sig.rows(), truth))[:n]]
    return viz.markdown_table([f"{kind}: {sig.what}", "value", "mean of the random sets", "p (adjusted)",
                               "significant", "true"], rows)


@dataclass
class Significances:
    relations: dict = field(default_factory=dict)      # kind -> Significance of Fig. 5's relations
    explanations: dict = field(default_factory=dict)   # kind -> Significance of Table 3's explanations


def significance_checks(study: Study, g: Significances) -> list[C.Check]:
    out = []
    for fam, by_kind, truth_of in (("fig5", g.relations, relation_truth), ("table3", g.explanations,
                                                                           explanation_truth)):
        for kind, sig in by_kind.items():
            truth = truth_of(study, sig, kind)
            true_sig = sum(1 for t, s in zip(truth, sig.significant) if s and t)
            what = "Fig. 5 relations (each class and its most relevant" if fam == "fig5" else \
                "Table 3 explanations (each correctly classified hold-out image and its closest"
            out.append(C.Check(f"significance_{fam}_{kind}", f"{what} {kind[:-1]}) against random {kind}",
                               f"{sig.summary()}; {true_sig} of the significant are true",
                               "nothing to test here" if len(sig) == 0 else
                               "a result that random image sets reach as often is no evidence" if
                               sig.n_significant < len(sig) else "every result beats random sets",
                               {"tested": len(sig), "significant": sig.n_significant, "true_significant": true_sig,
                                "n_random": sig.n_random}))
    return out


def record(study: Study, s: Sanity, c: Comparison, g: Significances) -> Record:
    """The chapter's record of its own checks, from what its notebook computed visibly: the
    sanity checks ``s``, the comparison of concept vectors ``c`` and the significances ``g``."""
    nums = {"cascading_spearman": s.cascading.summary("spearman"), "independent_spearman": s.independent.summary(),
            "class_sensitivity": {k: float(np.nanmean(v)) for k, v in s.sensitivity.rank_corr.items()},
            "vectors": [r for r in c.rows if np.isfinite(r["value"])], "edit": c.edit,
            "significance": {fam: {kind: {"tested": len(v), "significant": v.n_significant, "n_random": v.n_random,
                                          "p_adjusted": v.p_adjusted.tolist()} for kind, v in d.items()}
                             for fam, d in (("fig5", g.relations), ("table3", g.explanations))}}
    return Record("09_beyond_the_paper", study.profile, nums, [], s.checks() + c.checks() +
                  significance_checks(study, g), network=network_of(study))
