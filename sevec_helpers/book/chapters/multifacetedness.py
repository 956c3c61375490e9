"""Chapter 4, multifacetedness (paper Sec. 3 and 4.2, Fig. 4, Table 2): presentation only.

The notebook shows the method in its own cells: D_c of the class SeVecs
(``sv.diversity`` from :func:`sevec_helpers.fit_sevecs`, and by hand), the clusters of each
class's hold-out features (:func:`sevec_helpers.evaluation.stats.count_facets`), per-class accuracy
(:func:`sevec_helpers.accuracy`), the correlations (:func:`sevec_helpers.evaluation.stats.correlation`)
and the verdict rules (:func:`sevec_helpers.book.claims.diversity.dominant_cluster`,
:func:`sevec_helpers.book.claims.diversity.table2`, :func:`sevec_helpers.book.claims.diversity.multifacetedness`). This
module draws the figures and tables from those results, assembles the chapter's
:class:`Record`, and :func:`record` repeats the notebook's calls, in the same order,
without figures.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from sevec_helpers.book import claims as C
from sevec_helpers.book import figures as viz
from sevec_helpers.book.profiles import Study
from sevec_helpers.book.records import Record, network_of
from sevec_helpers.core.features import Features
from sevec_helpers.evaluation.metrics import Accuracy
from sevec_helpers.sevecs.vectors import SemanticVectors

LAYER = "fc1"
KS = (1, 5)            # top-k accuracies of Table 2
ROWS = ("dominant_cluster", "table2_top1", "table2_top5", "dc_multifaceted")


def bars(sv: SemanticVectors, planted: np.ndarray | None = None):
    """D_c of every class, sorted, each bar coloured by the number of facets planted.

    Parameters
    ----------
    sv : SemanticVectors
        The class SeVecs (``sv.diversity`` is D_c).
    planted : ndarray (K,), optional
        Facets each class was drawn from (the world's ground truth); None: one colour.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    D = sv.diversity.numpy()
    o = np.argsort(D)
    fig, ax = plt.subplots(figsize=(viz.MAX_WIDTH, 3.4))
    cmap = plt.get_cmap("viridis")
    top = max(1, int(np.nanmax(planted))) if planted is not None else 1
    cols = cmap((np.asarray(planted)[o] - 1) / max(1, top - 1)) if planted is not None else "tab:blue"
    ax.bar(range(len(o)), D[o], color=cols)
    ax.set_xticks(range(len(o)), [sv.names[i] for i in o], rotation=75, fontsize=8)
    ax.set_ylabel("$D_c$")
    if planted is not None:
        for nf in sorted(set(int(v) for v in planted)):
            ax.bar([0], [0], color=cmap((nf - 1) / max(1, top - 1)), label=f"{nf} facet{'s' if nf > 1 else ''}")
        ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    return fig


def most_diverse_table(sv: SemanticVectors, found: Sequence[dict], planted: np.ndarray | None = None, top: int = 8):
    """The ``top`` most diverse classes: D_c, the facets planted, the clusters found.

    Parameters
    ----------
    sv : SemanticVectors
    found : list of dict
        Per class, :func:`sevec_helpers.evaluation.stats.count_facets` of its hold-out features.
    planted : ndarray (K,), optional
        Facets each class was drawn from (printed as integers); None: "n/a".
    top : int
        How many classes, most diverse first.

    Returns
    -------
    Markdown
    """
    D = sv.diversity.numpy()
    return viz.markdown_table(
        ["class", "D_c", "planted facets", "clusters found (>= 5%)", "dominant share"],
        [[sv.names[c], float(D[c]), int(planted[c]) if planted is not None else "n/a", int(found[c]["n_facets"]),
          float(found[c]["dominant_share"])] for c in np.argsort(-D)[:top]])


def _closest(sv: SemanticVectors, f: Features, c: int, n: int) -> tuple[list[int], list[float]]:
    scores = sv.scores(f.values)
    idx = (f.labels == c).nonzero().flatten()
    idx = idx[scores[idx, c].argsort(descending=True)][:n]
    return idx.tolist(), scores[idx, c].tolist()


def facets_figure(study: Study, sv: SemanticVectors, f: Features, n: int = 8):
    """Fig. 4: hold-out images of the most and the least diverse class, closest to their SeVec first.

    Parameters
    ----------
    study : Study
        Where the hold-out images are drawn from (``class_holdout``).
    sv : SemanticVectors
    f : Features
        The hold-out features at the SeVecs' layer.
    n : int
        Images per row.

    Returns
    -------
    matplotlib.figure.Figure
    """
    D = sv.diversity.numpy()
    hi, lo = int(np.argmax(D)), int(np.argmin(D))
    return viz.retrieval_figure({f"{sv.names[c]} (D={D[c]:.2f})": study.images("class_holdout", _closest(sv, f, c, n)[0])
                                 for c in (hi, lo)})


def facets_gallery(study: Study, sv: SemanticVectors, f: Features, n: int = 8, limit: int = 60):
    """Every class's hold-out images, closest to its SeVec first (a menu; static view).

    Parameters
    ----------
    study, sv, f, n
        As in :func:`facets_figure`.
    limit : int
        At most this many classes, most diverse first.

    Returns
    -------
    The gallery widget.
    """
    D = sv.diversity.numpy()
    gal, caps = {}, {}
    for c in [int(c) for c in np.argsort(-D)[:limit]]:
        idx, s = _closest(sv, f, c, n)
        key = f"{sv.names[c]} (D={D[c]:.2f})"
        gal[key], caps[key] = study.images("class_holdout", idx), [f"{v:.2f}" for v in s]
    return viz.gallery(gal, caps, title="Hold-out images, closest to the SeVec first", label="class")


def table2_table(r: dict, rho: dict, r_prob: dict, ceiling: dict):
    """Table 2 beside the paper's: Pearson r with its Fisher-z interval, p, Spearman's rho,
    the ceiling share, and the mean true-class probability as a check.

    Parameters
    ----------
    r, rho : dict
        k -> :func:`sevec_helpers.evaluation.stats.correlation` of D_c with top-k accuracy (Pearson, Spearman).
    r_prob : dict
        The correlation of D_c with the mean true-class probability.
    ceiling : dict
        k -> the share of classes at top-k >= ``claims.CEILING_ACC``.

    Returns
    -------
    Markdown
    """
    p = C.PAPER["table2"]

    def with_interval(d):
        if d["r"] is None:
            return "n/a"
        if d["n"] < 4:
            return f"{d['r']:+.3f}"
        return "{:+.3f} [{:+.3f}, {:+.3f}]".format(d["r"], *C.fisher_interval(d["r"], d["n"]))

    rows = [[f"top-{k} accuracy", f"{p[f'top{k}_r']:+.3f} ({p[f'top{k}_p']:.1e})", with_interval(r[k]), r[k]["p"],
             rho[k]["r"], ceiling[k], r[k]["n"]] for k in KS]
    rows.append(["mean p(true class)", "", with_interval(r_prob), r_prob["p"], "", "", r_prob["n"]])
    return viz.markdown_table(["", "paper r (p)", "ours r [95% interval]", "ours p", "Spearman rho",
                               f"share >= {C.CEILING_ACC}", "classes"], rows)


def table2_figure(sv: SemanticVectors, acc: Accuracy, r: dict, r_prob: dict, n_named: int = 3):
    """Per-class accuracy (top-1, top-5) and mean true-class probability against D_c.

    The ``n_named`` lowest classes of each panel are marked and named in a legend under
    the panel (never on the points, where names overlap). Classes at exactly 1.0 are drawn as
    open circles and counted in the panel's title (on a ceiling they pile up on one line); the
    axes leave room above 1.0 and below the lowest value, so no marker is cut by the frame.

    Parameters
    ----------
    sv : SemanticVectors
        The class SeVecs (D_c, names).
    acc : Accuracy
        :func:`sevec_helpers.accuracy` on the hold-out images.
    r, r_prob : dict
        The correlations shown in the panel titles.
    n_named : int
        How many of the lowest classes to name per panel.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    D = sv.diversity.numpy()
    panels = ((acc.per_class_top1, "top-1 accuracy", r[1]), (acc.per_class_top5, "top-5 accuracy", r[5]),
              (acc.mean_prob_per_class(len(sv)), "mean p(true class)", r_prob))
    fig, axes = plt.subplots(1, 3, figsize=(viz.MAX_WIDTH, 3.9), sharex=True, layout="constrained")
    marks = ("^", "s", "D", "v", "P")
    span = float(np.nanmax(D) - np.nanmin(D)) or 1.0
    for ax, (y, name, rr) in zip(axes, panels):
        y = np.asarray(y, dtype=float)
        at_top = np.isclose(y, 1.0)
        ax.scatter(D[~at_top], y[~at_top], s=18, color="tab:blue", alpha=0.7)
        if at_top.any():   # classes at 1.0 drawn as open circles, above the frame's line, counted in the title
            ax.scatter(D[at_top], y[at_top], s=22, facecolor="none", edgecolor="tab:blue", linewidth=1.0)
        for j, c in enumerate(np.argsort(y, kind="stable")[:n_named]):
            ax.scatter([D[c]], [y[c]], s=64, marker=marks[j % len(marks)], facecolor="none",
                       edgecolor=f"C{j + 1}", linewidth=1.6, label=f"{sv.names[c]} ({y[c]:.2f})")
        lo = min(float(np.nanmin(y)), 0.0 if name != "top-5 accuracy" else float(np.nanmin(y)))
        pad = 0.08 * max(1.0 - lo, 0.05)
        ax.set_ylim(lo - pad, 1.0 + pad)       # no marker sits on the frame: values at 0 and 1 keep clear of it
        ax.set_xlim(float(np.nanmin(D)) - 0.07 * span, float(np.nanmax(D)) + 0.07 * span)
        ax.set_xlabel("$D_c$", fontsize=9)
        ax.set_ylabel(name, fontsize=9)
        ax.xaxis.set_major_locator(MaxNLocator(nbins=3))
        ax.yaxis.set_major_locator(MaxNLocator(nbins=5))
        ax.tick_params(labelsize=8)
        head = "r undefined" if rr["r"] is None else f"r = {rr['r']:.2f}, p = {rr['p']:.2g}"
        ax.set_title(head + (f"\n{int(at_top.sum())} of {len(y)} classes at 1.0 (open)" if at_top.any() else "\n"),
                     fontsize=9)
        ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.22), frameon=False,
                  title="lowest", title_fontsize=8, handletextpad=0.3)
    return fig


def _checks(rho: dict, r_prob: dict) -> list[C.Check]:
    out = []
    for k in KS:
        if rho[k]["r"] is not None:
            out.append(C.Check(f"table2_spearman_top{k}", f"Table 2 with Spearman's rank correlation (top-{k})",
                               f"rho = {rho[k]['r']:.3f} (p = {rho[k]['p']:.2g})", "robust to outlying classes",
                               {"rho": rho[k]["r"], "p": rho[k]["p"]}))
    if r_prob["r"] is not None:
        out.append(C.Check("table2_prob", "Table 2 with the mean true-class probability instead of accuracy",
                           f"r = {r_prob['r']:.3f} (p = {r_prob['p']:.2g})",
                           "a measure of confidence that has no ceiling", {"r": r_prob["r"], "p": r_prob["p"]}))
    return out


def record(study: Study, verdicts: Sequence[C.Verdict], *, sv: SemanticVectors | None = None,
           found: Sequence[dict] | None = None, acc: Accuracy | None = None, rho: dict | None = None,
           r_prob: dict | None = None, ceiling: dict | None = None) -> Record:
    """The chapter's record, assembled from the verdicts its notebook computed (to judge another
    network, run the notebook itself: :func:`sevec_helpers.book.runner.judge`).

    Parameters
    ----------
    study : Study
    verdicts : list of Verdict
        The rows ``dominant_cluster``, ``table2_top1``, ``table2_top5``, ``dc_multifaceted``.
    sv, found, acc, rho, r_prob, ceiling
        What they were computed from (the class SeVecs, the clusters per
        class, the hold-out accuracy, Spearman's rho per k, the correlation with the mean
        true-class probability, the ceiling share per k). The own checks (Spearman, mean
        probability) are built from ``rho`` and ``r_prob``.

    Returns
    -------
    Record

    Raises
    ------
    ValueError
        ``verdicts`` that are not exactly this chapter's rows, or without the inputs.
    """
    if any(v is None for v in (sv, found, acc, rho, r_prob, ceiling)):
        raise ValueError("pass sv=, found=, acc=, rho=, r_prob= and ceiling= with verdicts= (what they were computed "
                         "from)")
    ids = [v.id for v in verdicts]
    if sorted(ids) != sorted(ROWS):
        raise ValueError(f"chapter 4's rows are {list(ROWS)}, got {ids}")
    rows = sorted(verdicts, key=lambda v: ROWS.index(v.id))
    D = sv.diversity.numpy().astype(float)
    nums = {"diversity": dict(zip(sv.names, D)), "dominant_share": [x["dominant_share"] for x in found],
            "top1": acc.per_class_top1, "top5": acc.per_class_top5,
            "ceiling": {f"top{k}": v for k, v in ceiling.items()}}
    return Record("04_multifacetedness", study.profile, nums, rows, _checks(rho, r_prob), network=network_of(study))
