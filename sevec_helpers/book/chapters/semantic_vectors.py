"""Chapter 1, semantic vectors (paper Sec. 3, Eq. 3, Fig. 1): presentation only.

The notebook shows the method as public-library calls (``sh.fit_sevecs``,
``sh.extract_features``, ``sv.retrieve`` / ``sv.scores``, ``A.precision_at_k``) and calls
the verdict rule ``claims.retrieval`` visibly. This module draws the figures and tables of
those results and assembles the chapter's :class:`Record`; :func:`record` is the headless
twin: the same public calls in the same order, without figures.
"""

from __future__ import annotations

import numpy as np
import torch

from sevec_helpers.book import claims as C
from sevec_helpers.book import figures as viz
from sevec_helpers.book.profiles import Study
from sevec_helpers.book.records import Record, network_of
from sevec_helpers.evaluation import stats as A
from sevec_helpers.sevecs.vectors import SemanticVectors

LAYER = "fc1"
K = 8
SHOWN = ("zebra", "horse", "leopard", "dalmatian", "stone_wall", "strawberry")
"""The classes of the Fig. 1 figure (the paper shows a handful of ImageNet classes)."""


def eq3_table(toy: dict):
    """The objective of Eq. 3 at the closed form and at what searches reach (``A.eq3_toy()``)."""
    return viz.markdown_table(["direction", f"sum of cosines ({toy['n']} patterns)"],
                              [["closed form A / norm(A)", toy["closed_form"]],
                               ["gradient ascent from a random start", toy["gradient_ascent"]],
                               ["best of 20,000 random non-negative directions", toy["best_random"]],
                               ["mean of the raw (un-normalised) patterns", toy["mean_raw"]]])


def rates_figure(sv: SemanticVectors, concept: str = "zebra"):
    """Activation rate against SeVec entry for every unit of one class."""
    c = sv.index(concept) if concept in sv.names else 0
    return viz.rates_vs_vector(sv.rates[c].numpy(), sv.vectors[c].numpy(), title=f"class {sv.names[c]!r}")


def shown_classes(sv: SemanticVectors, n: int = len(SHOWN)) -> list[str]:
    """The classes the Fig. 1 figure shows: :data:`SHOWN` where the SeVecs have them, filled up
    to ``n`` with the first other classes (so the caption's count holds on any profile)."""
    names = [c for c in SHOWN if c in sv.names]
    names += [c for c in sv.names if c not in names][: max(0, n - len(names))]
    return names[:n]


def precision_summary(sv: SemanticVectors, precision: np.ndarray, chance: np.ndarray, k: int):
    """One sentence: mean precision@k over classes, its interval, chance, the weakest class."""
    m, lo, hi = A.bootstrap_mean(precision)
    worst = int(np.argmin(precision))
    return viz.Markdown(f"Mean precision@{k} over {len(sv)} classes: **{m:.3f}** (95% interval over classes "
                        f"{lo:.3f} to {hi:.3f}; chance {float(np.mean(chance)):.3f}). Weakest class: "
                        f"{sv.names[worst]} ({precision[worst]:.2f}).")


def retrieval_figure(study: Study, sv: SemanticVectors, top: torch.Tensor, labels: torch.Tensor,
                     names=None, dataset: str = "class_holdout"):
    """Fig. 1: for each class in ``names`` (default :func:`shown_classes`), its top hold-out
    images, green border when the image is of the class, red when not."""
    names = list(names) if names is not None else shown_classes(sv)
    rows = {n: study.images(dataset, top[sv.index(n)].tolist()) for n in names}
    ok = {n: [int(labels[j]) == sv.index(n) for j in top[sv.index(n)].tolist()] for n in names}
    return viz.retrieval_figure(rows, ok)


def gallery(study: Study, sv: SemanticVectors, top: torch.Tensor, scores: torch.Tensor, labels: torch.Tensor,
            limit: int = 60, dataset: str = "class_holdout"):
    """Static view: pick a class, see its top hold-out images, each with its cosine to the
    SeVec and an x when it is of another class (at most ``limit`` classes embedded)."""
    pick = range(min(len(sv), limit))
    gal = {sv.names[i]: study.images(dataset, top[i].tolist()) for i in pick}
    caps = {sv.names[i]: [f"{scores[j, i]:.2f}" + ("" if int(labels[j]) == i else " x") for j in top[i].tolist()]
            for i in pick}
    return viz.gallery(gal, caps, title="Top hold-out images", label="class")


def live(study: Study, sv: SemanticVectors, top: torch.Tensor, dataset: str = "class_holdout"):
    """Live control (JupyterLab, Colab): pick a class, see its top images."""
    from sevec_helpers.book import widgets

    def show(concept):
        i = sv.index(concept)
        viz.image_grid(study.images(dataset, top[i].tolist()), ncols=top.shape[1], suptitle=concept)
    return widgets.picker(show, concept=sv.names)


def eq3_check(toy: dict) -> C.Check:
    """The book's own check that no search beats the closed form of Eq. 3 on the toy."""
    best = max(toy["gradient_ascent"], toy["best_random"])
    ok = toy["closed_form"] >= best - 1e-6
    return C.Check("eq3", "Eq. 3: A/|A| is the optimum (a toy with planted patterns)",
                   f"closed form {toy['closed_form']:.4f}; best found by search {best:.4f}",
                   "no search beats the closed form, as the algebra says" if ok else
                   "a search beat the closed form: the implementation is wrong",
                   {"closed_form": toy["closed_form"], "best_search": best})


def _assemble(study: Study, verdicts: list, toy: dict, sv: SemanticVectors, precision: np.ndarray, k: int) -> Record:
    m, lo, hi = A.bootstrap_mean(precision)
    return Record("01_semantic_vectors", study.profile,
                  {"eq3": toy, "precision_at_k": {"k": k, "mean": m, "low": lo, "high": hi,
                                                  "per_class": dict(zip(sv.names, precision))}},
                  list(verdicts), [eq3_check(toy)], network=network_of(study))


def record(study: Study, verdicts: list, **parts) -> Record:
    """The chapter's Record from the verdict rows its notebook computed visibly and ``parts``
    (``toy``, ``sv``, ``precision``, ``k``: the numbers they came from). To judge another
    network, run the notebook itself (:func:`sevec_helpers.book.runner.judge`)."""
    return _assemble(study, verdicts, **parts)
