"""Chapter 1, semantic vectors (paper Sec. 3, Eq. 3, Fig. 1): the closed form on a toy, class
SeVecs at fc1, and retrieval of unseen images of each class."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .. import analysis as A
from .. import claims as C
from .. import viz
from ..profiles import Study
from ..sevec import SemanticVectors
from . import Record, toys  # noqa: F401  (toys: the chapter's worked example)

LAYER = "fc1"


def eq3_toy() -> dict:
    """Eq. 3 on 200 planted binary patterns in 60 units (see :func:`analysis.eq3_toy`)."""
    return A.eq3_toy()


def eq3_table(toy: dict):
    return viz.markdown_table(["direction", f"sum of cosines ({toy['n']} patterns)"],
                              [["closed form A / norm(A)", toy["closed_form"]],
                               ["gradient ascent from a random start", toy["gradient_ascent"]],
                               ["best of 20,000 random non-negative directions", toy["best_random"]],
                               ["mean of the raw (un-normalised) patterns", toy["mean_raw"]]])


def rates_figure(sv: SemanticVectors, concept: str = "zebra"):
    """Activation rate against SeVec entry for every unit of one class."""
    c = sv.index(concept) if concept in sv.names else 0
    return viz.rates_vs_vector(sv.rates[c].numpy(), sv.vectors[c].numpy(), title=f"class {sv.names[c]!r}")


@dataclass
class Retrieval:
    """Fig. 1: the hold-out images closest to each class SeVec."""

    sv: SemanticVectors
    labels: torch.Tensor
    top: torch.Tensor            # (K, k) indices into the hold-out set
    scores: torch.Tensor         # (N, K) cosine of each image to each SeVec
    precision: np.ndarray        # (K,) precision@k
    k: int

    @property
    def interval(self) -> tuple[float, float, float]:
        return A.bootstrap_mean(self.precision)

    def summary(self):
        m, lo, hi = self.interval
        worst = int(self.precision.argmin())
        return viz.Markdown(f"Mean precision@{self.k} over {len(self.sv)} classes: **{m:.3f}** (95% interval over "
                            f"classes {lo:.3f} to {hi:.3f}; chance {1 / len(self.sv):.3f}). Weakest class: "
                            f"{self.sv.names[worst]} ({self.precision[worst]:.2f}).")

    def figure(self, study: Study, shown=("zebra", "horse", "tiger", "stone_wall", "strawberry", "scale")):
        names = [n for n in shown if n in self.sv.names] or self.sv.names[:6]
        rows = {n: study.images("class_holdout", self.top[self.sv.index(n)].tolist()) for n in names}
        ok = {n: [int(self.labels[j]) == self.sv.index(n) for j in self.top[self.sv.index(n)].tolist()] for n in names}
        return viz.retrieval_figure(rows, ok)

    def gallery(self, study: Study, limit: int = 60):
        """Static view: pick a class, see its top hold-out images (at most ``limit`` classes embedded)."""
        pick = range(min(len(self.sv), limit))
        gal = {self.sv.names[i]: study.images("class_holdout", self.top[i].tolist()) for i in pick}
        caps = {self.sv.names[i]: [f"{self.scores[j, i]:.2f}" + ("" if int(self.labels[j]) == i else " x")
                                   for j in self.top[i].tolist()] for i in pick}
        return (viz.gallery(gal, caps, title="Top hold-out images", label="class"))

    def live(self, study: Study):
        """Live control (JupyterLab, Colab): pick a class, see its top images."""
        from .. import widgets

        def show(concept):
            i = self.sv.index(concept)
            viz.image_grid(study.images("class_holdout", self.top[i].tolist()), ncols=self.k, suptitle=concept)
        return widgets.picker(show, concept=self.sv.names)


def retrieval(study: Study, k: int = 8, layer: str = LAYER) -> Retrieval:
    """Fig. 1 at ``layer`` (the paper: fc1)."""
    sv = study.sevecs("classes", layer)
    f = study.features("class_holdout", layer)
    k = min(k, len(f.values))
    rel = A.relevance_matrix(f.labels, len(sv))
    return Retrieval(sv, f.labels, sv.retrieve(f.values, k=k), sv.scores(f.values), A.precision_at_k(sv, f.values, rel, k),
                     k)


def record(study: Study, toy: dict | None = None, retr: Retrieval | None = None) -> Record:
    toy = toy or eq3_toy()
    retr = retr or retrieval(study)
    m, lo, hi = retr.interval
    best = max(toy["gradient_ascent"], toy["best_random"])
    eq3_ok = toy["closed_form"] >= best - 1e-6
    checks = [C.Check("eq3", "Eq. 3: A/|A| is the optimum (a toy with planted patterns)",
                      f"closed form {toy['closed_form']:.4f}; best found by search {best:.4f}",
                      "no search beats the closed form, as the algebra says" if eq3_ok else
                      "a search beat the closed form: the implementation is wrong",
                      {"closed_form": toy["closed_form"], "best_search": best})]
    verdicts = [C.retrieval("fig1_classes", "class", m, lo, hi, 1 / len(retr.sv),
                            paper="selected val images contain the class (pictures, no number)")]
    return Record("01_semantic_vectors", study.profile,
                  {"eq3": toy, "precision_at_k": {"k": retr.k, "mean": m, "low": lo, "high": hi,
                                                  "per_class": dict(zip(retr.sv.names, retr.precision))}},
                  verdicts, checks)
