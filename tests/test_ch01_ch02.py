"""Chapters 1 and 2's presentation modules: the Fig. 1 figure shows as many classes as its
caption names, and chapter 2's record says "not testable", with the reason, for every row a
profile cannot compute (no data, no per-image truth, no gray network)."""

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from sevec_helpers.book import claims
from sevec_helpers.book.chapters import semantic_vectors
from sevec_helpers.book.chapters import validating_sevecs as validation
from sevec_helpers.sevecs.vectors import SemanticVectors


def _sv(names):
    return SemanticVectors.from_features(torch.rand(2 * len(names), 5), torch.arange(len(names)).repeat(2), names)


def test_fig1_shows_six_classes_preferring_the_named_ones():
    names = ["zebra", "a", "b", "horse", "c", "d", "e", "f"]
    assert semantic_vectors.shown_classes(_sv(names)) == ["zebra", "horse", "a", "b", "c", "d"]
    assert semantic_vectors.shown_classes(_sv(["a", "b"])) == ["a", "b"]   # fewer classes than six: all of them


class _T1:
    KEYS = ("associated_neuron", "random_neuron", "sevec_mask", "permuted_mask")

    def as_dict(self):
        return {k: 0.0 for k in self.KEYS}


def _assemble(profile, sevecs, precision, verdicts, retrained=None):
    study = SimpleNamespace(profile=profile)
    acc = SimpleNamespace(top1=0.7)
    var = {validation.RESCALED: {"mean": 0.1, "sem": 0.01, "acc_after": 0.9},
           validation.PREDICTED: {"mean": 0.0, "sem": 0.01, "acc_after": 0.7}}
    own = {k: np.array([0.5, 1.0]) for k in sevecs}
    chance = {k: np.array([0.1, 0.2]) for k in precision}
    return validation.record(study, verdicts, sevecs=sevecs, precision=precision, chance=chance, own=own, acc=acc,
                             acc_gray=acc, retrained=retrained, t1=_T1(), var=var, acc_before=0.7)


def test_record_names_what_a_profile_cannot_test():
    gray = claims.color_ablation(0.7, 0.69, -0.01, 0.03)
    t1 = claims.table1({k: 0.0 for k in _T1.KEYS}, {k: 0.01 for k in _T1.KEYS}, 0.01)
    # colour swatches given but no per-image truth; no texture or material data; no gray network
    rec = _assemble("imagenet", {"colors": _sv(["red", "blue"])}, {}, [t1, gray])
    rows = {v.id: v for v in rec.verdicts}
    assert [v.id for v in rec.verdicts] == list(validation.VERDICT_ORDER)
    assert rows["fig2_textures"].verdict == claims.UNTESTABLE and "no textures data" in rows["fig2_textures"].why
    assert rows["fig2c_colors"].verdict == claims.UNTESTABLE and "no ground truth" in rows["fig2c_colors"].why
    assert rows["gray_recovery"].verdict == claims.UNTESTABLE and "retrained on gray" in rows["gray_recovery"].why
    assert rows["table1"] is t1 and rows["gray_drop"] is gray
    assert {c.id for c in rec.checks} == {"own_colors", "table1_renormalised", "table1_predicted"}
    assert rec.numbers["low_level"] == {"colors": {"own": 0.75}}


def test_record_keeps_every_computed_row():
    sv = _sv(["x", "y"])
    rows = [claims.retrieval(validation.IDS[k], k, 0.6, 0.5, 0.7, 0.1) for k in ("textures", "materials")]
    rows.append(claims.retrieval("fig2c_colors", "colors", 0.1, 0.05, 0.12, 0.1, expect_success=False))
    rows += [claims.color_ablation(0.7, 0.69, -0.01, 0.03), claims.gray_recovery(0.7, 0.6, 0.69),
             claims.table1({k: 0.0 for k in _T1.KEYS}, {k: 0.01 for k in _T1.KEYS}, 0.01)]
    prec = {k: np.array([0.5, 0.7]) for k in ("textures", "materials", "colors")}
    rec = _assemble("world", {k: sv for k in prec}, prec, rows[::-1], retrained=SimpleNamespace(top1=0.69))
    assert rec.verdicts == rows   # nothing added, in the chapter's order
    assert rec.numbers["accuracy_gray_retrained"] == pytest.approx(0.69)
    assert rec.numbers["low_level"]["textures"]["precision"][0] == pytest.approx(0.6)
