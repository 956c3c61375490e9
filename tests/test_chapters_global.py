"""Chapters 3-5 (global interpretation): the record each notebook assembles from its visible
verdicts, and the presentation fixes of issue 22 (the most-diverse table, Book figure 9).

The notebooks themselves run in tests/test_notebooks.py; here the chapter modules are
driven with hand-built inputs, so every expectation is exact."""

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from sevec_helpers.book import claims as C
from sevec_helpers.book.chapters import (
    concept_hierarchy as hierarchy,
)
from sevec_helpers.book.chapters import (
    concept_relations as relations,
)
from sevec_helpers.book.chapters import (
    multifacetedness as diversity,
)
from sevec_helpers.evaluation.metrics import Accuracy
from sevec_helpers.sevecs.vectors import SemanticVectors


def _study(profile="world", data=()):
    return SimpleNamespace(profile=profile, has=lambda name: name in data)


def _sv(k=6, d=10, seed=0):
    g = torch.Generator().manual_seed(seed)
    a = (torch.rand(k * 5, d, generator=g) > 0.5).float()
    a[:, 0] = 1                                              # no dead sample
    return SemanticVectors.from_features(a, torch.arange(k).repeat_interleave(5), [f"class_{i}" for i in range(k)],
                                         layer="fc1", kind="classes")


# ---------------------------------------------------------------------------------------
# chapter 3
# ---------------------------------------------------------------------------------------
def test_hierarchy_heatmap_labels_fit_a_phone_and_hover_names_in_full(monkeypatch):
    """The photo testbed's longest label ("art/musical instrument/acoustic guitar") left the cells
    170 px wide at 390 px: the axis labels are cut to TICK_CHARS, the hover keeps the full names."""
    monkeypatch.setattr(hierarchy.viz, "show_interactive", lambda fig: fig)
    names = ["acoustic guitar", "cock", "water_bottle"]
    labels = {"superclass": ["artifact", "animal", "household"], "group": ["musical instrument", "bird", "container"]}
    fig = hierarchy.relevance_heatmaps(np.eye(3), names, labels)
    by_order = fig.data[0]
    assert list(by_order.y) == ["ani/bird/cock", "art/mi./acoustic guitar", "hou/container/water_bottle"]
    assert all(len(t) <= hierarchy.TICK_CHARS for t in by_order.y)
    assert by_order.customdata[1][1] == "artifact/musical instrument/acoustic guitar / " \
                                        "artifact/musical instrument/acoustic guitar"
    assert "%{customdata}" in by_order.hovertemplate
    assert list(fig.data[1].y) == sorted(names) and fig.data[1].customdata is None
    assert hierarchy._tick("a", "b c", "x" * 40) == "a/bc./" + "x" * 19 + "\u2026"



def test_hierarchy_record_keeps_the_notebooks_verdict_and_says_what_it_cannot_test():
    v = C.hierarchy("superclass", 0.3, 0.002, 0.9, 0.002, -0.05, 0.2)
    rec = hierarchy.record(_study("imagenet"), [v], scores={"superclass": {"silhouette": 0.3}}, tsne=np.zeros((3, 2)))
    assert [r.id for r in rec.verdicts] == ["fig3_superclass", "fig3_group"]
    assert rec.verdicts[0] is v
    assert rec.verdicts[1].verdict == C.UNTESTABLE and "hierarchy" in rec.verdicts[1].why


def test_hierarchy_record_refuses_foreign_rows_and_missing_inputs():
    with pytest.raises(ValueError, match="not rows of chapter 3"):
        hierarchy.record(_study(), [C.dominant_cluster([0.9])], scores={}, tsne=np.zeros((1, 2)))
    with pytest.raises(TypeError, match="scores"):   # the numbers the verdicts came from are required
        hierarchy.record(_study(), [C.hierarchy("group", 0.3, 0.002, 0.9, 0.002, -0.05, 0.2)])


# ---------------------------------------------------------------------------------------
# chapter 4
# ---------------------------------------------------------------------------------------

def _acc(per1, per5):
    n = len(per1)
    return Accuracy(0.5, 0.9, np.asarray(per1, float), np.asarray(per5, float), torch.arange(n), torch.arange(n),
                    np.ones(n, bool), np.ones(n, bool), np.linspace(0.2, 0.9, n))


def _ch4_verdicts():
    return [C.multifacetedness(0.5, 0.01, 30), C.table2(5, -0.5, 0.01, 30, 0.2), C.dominant_cluster([0.9, 0.8]),
            C.table2(1, -0.5, 0.01, 30, 0.2)]


def test_diversity_record_orders_rows_and_builds_the_checks_from_the_visible_numbers():
    sv = _sv()
    found = [{"n_facets": 1, "dominant_share": 0.9}] * len(sv)
    rho = {1: {"r": -0.4, "p": 0.03, "n": 6}, 5: {"r": None, "p": None, "n": 6}}
    rec = diversity.record(_study(), _ch4_verdicts(), sv=sv, found=found, acc=_acc([0.5] * 6, [0.9] * 6), rho=rho,
                           r_prob={"r": -0.2, "p": 0.4, "n": 6}, ceiling={1: 0.0, 5: 0.5})
    assert [r.id for r in rec.verdicts] == list(diversity.ROWS)
    assert [c.id for c in rec.checks] == ["table2_spearman_top1", "table2_prob"]   # rho undefined at top-5: no row
    assert rec.numbers["ceiling"] == {"top1": 0.0, "top5": 0.5}
    assert rec.numbers["diversity"] == dict(zip(sv.names, sv.diversity.numpy().astype(float)))


def test_diversity_record_refuses_a_missing_row():
    with pytest.raises(ValueError, match="chapter 4's rows"):
        diversity.record(_study(), _ch4_verdicts()[:3], sv=_sv(), found=[], acc=_acc([1.0], [1.0]), rho={},
                         r_prob={}, ceiling={})
    with pytest.raises(ValueError, match="pass sv="):
        diversity.record(_study(), _ch4_verdicts())


def test_most_diverse_table_shows_only_the_most_diverse_with_integer_facets():
    sv = _sv(k=12)
    found = [{"n_facets": 2, "dominant_share": 0.75}] * 12
    text = diversity.most_diverse_table(sv, found, np.arange(12) % 3 + 1.0, top=5).data
    rows = [ln for ln in text.splitlines() if ln.startswith("| class_")]
    assert len(rows) == 5
    order = np.argsort(-sv.diversity.numpy())[:5]
    assert [r.split("|")[1].strip() for r in rows] == [sv.names[c] for c in order]
    assert [r.split("|")[3].strip() for r in rows] == [str(int(c % 3 + 1)) for c in order]   # "2", never "2.000"


def _boxes(fig, artists):
    r = fig.canvas.get_renderer()
    return [a.get_window_extent(r) for a in artists]


def _overlap(a, b) -> bool:
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


def test_table2_figure_names_lie_apart_from_the_data_and_ticks_do_not_touch():
    """Book figure 9 (issue 22): tick labels ran together and point labels overlapped."""
    import matplotlib.pyplot as plt

    sv = _sv(k=20, d=30)
    per1 = np.r_[np.full(17, 0.9), 0.1, 0.1, 0.1]             # three tied lowest classes: one spot, three names
    fig = diversity.table2_figure(sv, _acc(per1, np.full(20, 0.95)), {1: {"r": -0.3, "p": 0.1}, 5: {"r": None}},
                                  {"r": -0.2, "p": 0.3})
    fig.canvas.draw()
    assert not [t for ax in fig.axes for t in ax.texts]       # no names written on the points
    for ax in fig.axes:
        (legend,) = _boxes(fig, [ax.get_legend()])
        (frame,) = _boxes(fig, [ax])
        assert legend.y1 <= frame.y0, "the names' legend must sit under the panel, off the data"
        assert len(ax.get_legend().get_texts()) == 3
        for axis in (ax.xaxis, ax.yaxis):
            labels = [t for t in axis.get_ticklabels() if t.get_visible() and t.get_text()]
            boxes = _boxes(fig, labels)
            assert not any(_overlap(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1:]), "tick labels touch"
    legends = _boxes(fig, [ax.get_legend() for ax in fig.axes])
    assert not any(_overlap(a, b) for i, a in enumerate(legends) for b in legends[i + 1:])
    plt.close(fig)


# ---------------------------------------------------------------------------------------
# chapter 5
# ---------------------------------------------------------------------------------------

def test_relations_record_fills_rows_it_cannot_grade_and_says_why():
    v = C.relations("fig5_textures", "textures", 0.7, 0.5, 0.85, 0.1, 28)
    rec = relations.record(_study(data=("textures_fit",)), [v], agree={}, graded={})
    assert [r.id for r in rec.verdicts] == ["fig5_textures", "table3_textures", "fig5_materials", "table3_materials"]
    assert rec.verdicts[0] is v
    why = {r.id: r.why for r in rec.verdicts[1:]}
    assert all(r.verdict == C.UNTESTABLE for r in rec.verdicts[1:])
    assert why["fig5_materials"] == "no materials data"
    assert "per-image ground truth" in why["table3_textures"]
    assert rec.checks == []


def test_relations_record_refuses_foreign_rows():
    with pytest.raises(ValueError, match="not rows of chapter 5"):
        relations.record(_study(), [C.dominant_cluster([0.9])], agree={}, graded={})
    with pytest.raises(ValueError, match="agree= and graded="):
        relations.record(_study(), [])
