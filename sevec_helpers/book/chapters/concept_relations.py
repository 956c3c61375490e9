"""Chapter 5, concept relations and explanations by low-level concepts (paper Sec. 4.3, Fig. 5,
Table 3): presentation only.

The notebook shows the method in its own cells: class and low-level SeVecs from
:func:`sevec_helpers.fit_sevecs`, their relevance ``sv.relevance(other)``, its agreement
with the world's ground truth (:func:`sevec_helpers.evaluation.stats.top_agreement`), the
per-image explanations ``sv.explain(...)`` graded by
:func:`sevec_helpers.evaluation.stats.explanation_agreement`, and the verdict rules
:func:`sevec_helpers.book.claims.relations.relations` and :func:`sevec_helpers.book.claims.relations.explanations`. This
module draws the figures and tables from those results, assembles the chapter's
:class:`Record`, and :func:`record` repeats the notebook's calls, in the same order,
without figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from sevec_helpers.book import claims as C
from sevec_helpers.book import figures as viz
from sevec_helpers.book.profiles import Study
from sevec_helpers.book.records import Record, network_of
from sevec_helpers.evaluation.metrics import Accuracy
from sevec_helpers.sevecs.vectors import Explanation, SemanticVectors

LAYER = "fc1"
GRADED = ("textures", "materials")  # the paper's Fig. 5 and Table 3 use textures and materials


def agreement_table(agree: dict[str, dict]):
    """Per kind: the share of classes whose most relevant concept is a true one.

    Parameters
    ----------
    agree : dict
        Kind -> :func:`sevec_helpers.evaluation.stats.top_agreement`; empty without ground truth.

    Returns
    -------
    Markdown
    """
    if not agree:
        return viz.Markdown("No ground truth of which class has which concept in this profile.")
    return viz.markdown_table(["kind", "classes with a true concept", "top concept is true [95% interval]", "chance"],
                              [[k, a["n_classes"], f"{a['agreement']:.3f} [{a['low']:.3f}, {a['high']:.3f}]",
                                a["chance"]] for k, a in agree.items() if a["n_classes"]])


def heatmap(relevance, sv: SemanticVectors, low: SemanticVectors, truth: Sequence[set] | None = None,
            limit: int = 40):
    """Fig. 5: relevance cos(v_class, v_concept), the true concepts outlined, the top one starred.

    Parameters
    ----------
    relevance : Tensor or ndarray (K, L)
        ``sv.relevance(low)``.
    sv, low : SemanticVectors
        The class SeVecs (rows) and the low-level ones (columns).
    truth : list of set, optional
        Per class, the concepts it really has (outlined in red).
    limit : int
        At most this many rows (those with the highest relevance).

    Returns
    -------
    matplotlib.figure.Figure
    """
    rel = np.asarray(relevance)
    shown = list(range(len(sv))) if len(sv) <= limit else list(np.argsort(-rel.max(1))[:limit])
    marks = np.array([[m in truth[c] for m in low.names] for c in shown]) if truth else None
    return viz.heatmap(rel[shown], [sv.names[c] for c in shown], low.names, f"relevance to {low.kind or 'concepts'}",
                       marks)


def heatmaps(relevance: dict, sv: SemanticVectors, low: dict[str, SemanticVectors],
             truth: dict[str, Sequence[set]] | None = None):
    """The relevance of every kind in one figure with a menu (static view; hover for values): the
    true concepts outlined in red and each class's most relevant concept starred, as in Fig. 5.

    Parameters
    ----------
    relevance : dict
        Kind -> ``sv.relevance(low[kind])``.
    sv : SemanticVectors
    low : dict
        Kind -> its SeVecs.
    truth : dict, optional
        Kind -> per class, the concepts it really has (outlined in red); a kind without it
        shows no squares.

    Returns
    -------
    The interactive figure.
    """
    marks = {k: np.array([[m in t[c] for m in low[k].names] for c in range(len(sv))])
             for k, t in (truth or {}).items() if k in low and t}
    return viz.show_interactive(viz.heatmap_dropdown({k: (np.asarray(relevance[k]), sv.names, low[k].names)
                                                      for k in low}, title="cos(v_class, v_concept)",
                                                     marks=marks, best=True))


def graded_table(graded: dict[str, dict]):
    """Per kind: the share of right explanations over correctly classified hold-out images.

    Parameters
    ----------
    graded : dict
        Kind -> :func:`sevec_helpers.evaluation.stats.explanation_agreement`; empty without per-image truth.

    Returns
    -------
    Markdown
    """
    if not graded:
        return viz.Markdown("No per-image ground truth in this profile: the explanations are shown, not graded.")
    return viz.markdown_table(["kind", "images graded", "explanation right [95% interval]", "chance"],
                              [[k, g["n"], f"{g['right']:.3f} [{g['low']:.3f}, {g['high']:.3f}]", g["chance"]]
                               for k, g in graded.items() if g["n"]])


@dataclass
class PaperExamples:
    """Table 3's seven classes: one correctly classified hold-out image of each that this profile has."""

    rows: list        # (class, paper, ours, what the image shows, right)
    images: list
    captions: list

    def table(self):
        """The rows beside the paper's (Markdown)."""
        return viz.markdown_table(["prediction", "paper (VGG16)", "ours", "the image shows",
                                   "right (texture / material)"], self.rows) if self.rows else \
            viz.Markdown("None of the paper's Table 3 classes is a class of this profile (or none was classified "
                         "right).")

    def figure(self):
        """The images titled with our explanation, four to a row at about 200 px each, large enough
        to check a texture and a material by eye (a figure; None without examples)."""
        return viz.image_grid(self.images, self.captions, ncols=min(4, max(1, len(self.images))), size=2.2) \
            if self.images else None


def paper_examples(study: Study, sv: SemanticVectors, ex: dict[str, Explanation], acc: Accuracy,
                   shows: Sequence[dict] | None) -> PaperExamples:
    """For each of the paper's Table 3 classes, the first hold-out image predicted (rightly) as it.

    Parameters
    ----------
    study : Study
        Where the images are drawn from (``class_holdout``).
    sv : SemanticVectors
        The class SeVecs (their names).
    ex : dict
        Kind -> ``low[kind].explain(features, top=1)`` on the hold-out images; needs
        "textures" and "materials".
    acc : Accuracy
        :func:`sevec_helpers.accuracy` on the same images.
    shows : list of dict, optional
        Per image, the concepts it shows (``study.image_truth()``).

    Returns
    -------
    PaperExamples
    """
    rows, imgs, caps = [], [], []
    if not all(k in ex for k in GRADED):
        return PaperExamples(rows, imgs, caps)
    pred, right = acc.predictions.numpy(), np.asarray(acc.correct1)
    for name, (p_tex, p_mat) in C.PAPER["table3"].items():
        match = [n for n in (name, name.replace("_", " ")) if n in sv.names]  # ImageNet names use spaces
        if not match:
            continue
        idx = np.flatnonzero((pred == sv.index(match[0])) & right)
        if len(idx) == 0:
            continue
        i = int(idx[0])
        t, m = ex["textures"].names[i][0], ex["materials"].names[i][0]
        s = shows[i] if shows is not None else None
        rows.append([name, f"{p_tex} + {p_mat or '(none fits)'}", f"{t} + {m}",
                     "n/a" if s is None else f"{', '.join(s['textures']) or '-'} + {', '.join(s['materials']) or '(none)'}",
                     "n/a" if s is None else ("yes" if t in s["textures"] else "no") + " / " +
                     ("yes" if m in s["materials"] else "no")])
        imgs.append(study.image("class_holdout", i))
        caps.append(f"{name}\n{t} + {m}")
    return PaperExamples(rows, imgs, caps)


def _untestable_fig5(study: Study, kind: str) -> C.Verdict:
    return C.untestable(f"fig5_{kind}", f"Fig. 5: relevance finds each class's {kind}", "matches common sense",
                        f"no ground truth of which class has which {kind}" if study.has(f"{kind}_fit")
                        else f"no {kind} data")


def _untestable_table3(kind: str) -> C.Verdict:
    return C.untestable(f"table3_{kind}", f"Table 3: a decision is explained by the image's {kind}",
                        "7 hand-picked images", "no per-image ground truth of what each image shows")


def record(study: Study, verdicts: Sequence[C.Verdict], *, agree: dict | None = None,
           graded: dict | None = None) -> Record:
    """The chapter's record, assembled from the verdicts its notebook computed (to judge another
    network, run the notebook itself: :func:`sevec_helpers.book.runner.judge`).

    Parameters
    ----------
    study : Study
    verdicts : list of Verdict
        :func:`sevec_helpers.book.claims.relations.relations` (``fig5_<kind>``) and
        :func:`sevec_helpers.book.claims.relations.explanations` (``table3_<kind>``) for the kinds that could
        be graded.
    agree, graded : dict
        Kind -> :func:`sevec_helpers.evaluation.stats.top_agreement` and kind ->
        :func:`sevec_helpers.evaluation.stats.explanation_agreement` (empty dicts without ground truth).

    Returns
    -------
    Record
        Rows ``fig5_textures``, ``table3_textures``, ``fig5_materials``, ``table3_materials``
        in that order; a row the profile cannot grade is "not testable", saying why. The
        colour relations are an own check.

    Raises
    ------
    ValueError
        ``verdicts`` without ``agree`` and ``graded``, or rows that are not this chapter's.
    """
    if agree is None or graded is None:
        raise ValueError("pass agree= and graded= with verdicts= (what the verdicts were computed from)")
    expected = [f"{row}_{k}" for k in GRADED for row in ("fig5", "table3")]
    by_id = {v.id: v for v in verdicts}
    unknown = sorted(set(by_id) - set(expected))
    if unknown:
        raise ValueError(f"not rows of chapter 5: {unknown}; its rows are {expected}")
    rows = []
    for k in GRADED:
        rows.append(by_id.get(f"fig5_{k}") or _untestable_fig5(study, k))
        rows.append(by_id.get(f"table3_{k}") or _untestable_table3(k))
    checks = []
    a = agree.get("colors")
    if a and a["n_classes"]:
        checks.append(C.Check("fig5_colors", "Relevance finds each class's colours (not a claim of the paper)",
                              f"top colour right for {a['agreement']:.3f} of {a['n_classes']} classes (chance "
                              f"{a['chance']:.3f})", "colour relations, the paper shows none",
                              {"agreement": a["agreement"], "chance": a["chance"]}))
    nums = {"agreement": {k: {kk: a[kk] for kk in ("agreement", "low", "high", "chance", "n_classes")}
                          for k, a in agree.items() if a["n_classes"]},
            "explanations": {k: {kk: g[kk] for kk in ("right", "low", "high", "chance", "n")}
                             for k, g in graded.items() if g["n"]}}
    return Record("05_concept_relations", study.profile, nums, rows, checks, network=network_of(study))
