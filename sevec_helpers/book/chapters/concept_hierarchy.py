"""Chapter 3, the concept hierarchy (paper Sec. 4.1, Fig. 3): presentation only.

The notebook shows the method in its own cells: the class SeVecs from
:func:`sevec_helpers.fit_sevecs`, their t-SNE (:func:`sevec_helpers.evaluation.stats.tsne_2d`), the
clustering scores against label shuffles (:func:`sevec_helpers.evaluation.stats.cluster_scores`)
and the verdict rule :func:`sevec_helpers.book.claims.hierarchy.hierarchy`. This module draws the
figures and tables from those results, assembles the chapter's :class:`Record`, and
:func:`record` repeats the notebook's calls, in the same order, without figures.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from sevec_helpers.book import claims as C
from sevec_helpers.book import figures as viz
from sevec_helpers.book.profiles import Study
from sevec_helpers.book.records import Record, network_of
from sevec_helpers.sevecs.vectors import SemanticVectors

LAYER = "fc1"
LEVELS = ("superclass", "group")
N_PERM = 500          # label shuffles per permutation test
NO_HIERARCHY = "(no hierarchy given)"


def scatter(xy: np.ndarray, sv: SemanticVectors, labels: dict[str, list[str]], level: str):
    """Fig. 3: the t-SNE points of the class SeVecs, coloured by ``level``; circle area grows
    linearly with D_c from the smallest D_c to the largest (a legend gives three sizes).

    Parameters
    ----------
    xy : ndarray (K, 2)
        The projection (:func:`sevec_helpers.evaluation.stats.tsne_2d`).
    sv : SemanticVectors
        The class SeVecs (names and D_c).
    labels : dict
        Level -> one label per class; a level missing (no hierarchy) colours every point alike.
    level : str
        "superclass" or "group".

    Returns
    -------
    matplotlib.figure.Figure
    """
    colour = labels.get(level, [NO_HIERARCHY] * len(sv))
    return viz.scatter_2d(xy, sv.names, colour, size_by=sv.diversity.numpy(), size_label="D_c",
                          title=f"class SeVecs by {level}")


def scores_table(scores: dict[str, dict]):
    """The clustering scores of :func:`sevec_helpers.evaluation.stats.cluster_scores`, one row per level.

    Parameters
    ----------
    scores : dict
        Level -> the scores; empty when the profile gives no hierarchy.

    Returns
    -------
    Markdown
    """
    if not scores:
        return viz.Markdown("This profile gives no class hierarchy, so there is nothing to test the clusters against.")
    return viz.markdown_table(
        ["grouped by", "silhouette", "shuffled", "p", "nearest neighbour same", "shuffled", "p"],
        [[lvl, d["silhouette"], d["silhouette_perm_mean"], d["silhouette_p"], d["nn_agreement"],
          d["nn_agreement_perm_mean"], d["nn_agreement_p"]] for lvl, d in scores.items()])


def relevance_heatmaps(relevance, names: Sequence[str], labels: dict[str, list[str]]):
    """cos(v_a, v_b) between all classes, ordered by the hierarchy or by name (a menu).

    Parameters
    ----------
    relevance : Tensor or ndarray (K, K)
        ``sv.relevance()``.
    names : list of str
        The class names.
    labels : dict
        Level -> one label per class (may be empty: then both orders are by name).

    Returns
    -------
    The interactive figure (static view in the book).
    """
    rel = np.asarray(relevance)
    none = [NO_HIERARCHY] * len(names)
    sup, grp = labels.get("superclass", none), labels.get("group", none)
    order = sorted(range(len(names)), key=lambda i: (sup[i], grp[i], names[i]))
    by_name = sorted(range(len(names)), key=lambda i: names[i])
    full = [f"{sup[i]}/{grp[i]}/{names[i]}" if labels else names[i] for i in order]
    lab = [_tick(sup[i], grp[i], names[i]) if labels else names[i] for i in order]
    return viz.show_interactive(viz.heatmap_dropdown({
        "ordered by hierarchy": (rel[np.ix_(order, order)], lab, lab),
        "ordered by name": (rel[np.ix_(by_name, by_name)], [names[i] for i in by_name],
                            [names[i] for i in by_name])}, title="cos(v_a, v_b) between class SeVecs",
        hover={"ordered by hierarchy": (full, full)}))


TICK_CHARS = 26
"""The longest axis label of the hierarchy-ordered heatmap: at 390 px a longer one (the photo
testbed's "art/musical instrument/acoustic guitar") left the cells under 200 px."""


def _tick(superclass: str, group: str, name: str) -> str:
    """``sup/group/name`` with the superclass cut to three letters and, where that is longer than
    :data:`TICK_CHARS`, the group to its initials (the full names show on hover)."""
    lab = f"{superclass[:3]}/{group}/{name}"
    if len(lab) > TICK_CHARS:
        lab = f"{superclass[:3]}/{''.join(w[0] for w in group.split())}./{name}"
    return lab if len(lab) <= TICK_CHARS else lab[:TICK_CHARS - 1] + "\u2026"


def _untestable(level: str, study: Study) -> C.Verdict:
    return C.untestable(f"fig3_{level}", f"Fig. 3: class SeVecs cluster by {level}", "clear clusters in t-SNE (no "
                        "number)", f"profile {study.profile!r} gives no class hierarchy")


def record(study: Study, verdicts: Sequence[C.Verdict], *, scores: dict[str, dict], tsne: np.ndarray) -> Record:
    """The chapter's record, assembled from the verdicts its notebook computed (to judge another
    network, run the notebook itself: :func:`sevec_helpers.book.runner.judge`).

    Parameters
    ----------
    study : Study
    verdicts : list of Verdict
        :func:`sevec_helpers.book.claims.hierarchy.hierarchy` for each level the profile gives.
    scores : dict
        Level -> the cluster scores the verdicts came from.
    tsne : ndarray (K, 2)
        The projection.

    Returns
    -------
    Record
        One row per level of :data:`LEVELS`, in that order; a level without labels (no
        hierarchy in the profile) is a "not testable" row saying so.

    Raises
    ------
    ValueError
        A verdict that is not one of this chapter's rows.
    """
    by_id = {v.id: v for v in verdicts}
    unknown = sorted(set(by_id) - {f"fig3_{lvl}" for lvl in LEVELS})
    if unknown:
        raise ValueError(f"not rows of chapter 3: {unknown}; expected fig3_superclass and fig3_group")
    rows = [by_id.get(f"fig3_{lvl}") or _untestable(lvl, study) for lvl in LEVELS]
    return Record("03_concept_hierarchy", study.profile, {"scores": scores, "tsne": tsne}, rows, network=network_of(study))
