import math

import numpy as np
import pytest
import torch

import sevec_helpers as sh
from sevec_helpers import analysis as A
from sevec_helpers import claims
from sevec_helpers import experiment as X


def _sv(vectors, names=None, layer="l"):
    v = torch.as_tensor(vectors, dtype=torch.float32)
    v = v / v.norm(dim=1, keepdim=True)
    k, d = v.shape
    return sh.SemanticVectors(v, (v > 0).float(), torch.ones(k, dtype=torch.long), torch.zeros(k, dtype=torch.long),
                              names or [str(i) for i in range(k)], layer, torch.zeros(k))


def test_eq3_closed_form_beats_search():
    g = torch.Generator().manual_seed(0)
    pats = (torch.rand(50, 12, generator=g) < 0.4).long()
    pats[:, 0] = 1
    a = pats.double()
    closed = A.eq3_objective((a / a.norm(dim=1, keepdim=True)).sum(0), pats).item()
    ascent = A.eq3_objective(A.eq3_gradient_ascent(pats), pats).item()
    assert ascent == pytest.approx(closed, rel=1e-6)
    assert A.eq3_objective(torch.rand(500, 12, generator=g), pats).max().item() < closed


def test_precision_at_k_with_and_without_relevant_sets():
    sv = _sv([[1, 0, 0], [0, 1, 0]])
    feats = torch.tensor([[1.0, 0, 0], [0.9, 0.1, 0], [0, 1.0, 0], [0, 0, 1.0]])
    labels = torch.tensor([0, 1, 1, 0])
    # binarised, image 1 is (1, 1, 0): cos 0.707 with both concepts. Concept 0 retrieves
    # images 0 and 1 (labels 0, 1); concept 1 retrieves images 2 and 1 (labels 1, 1)
    assert A.precision_at_k(sv, feats, labels, k=2).tolist() == [0.5, 1.0]
    assert A.precision_at_k(sv, feats, labels, k=2, relevant=[{0, 1}, {1}]).tolist() == [1.0, 1.0]
    assert A.precision_at_k(sv, feats, labels, k=2, relevant=[{0}, {0}]).tolist() == [0.5, 0.0]
    assert A.chance_precision([{0}, {0, 1}], labels).tolist() == [0.5, 1.0]


def test_truth_sets_and_top_agreement():
    truth = [{"index": 0, "textures": ["a"]}, {"index": 1, "textures": ["b", "c"]}, {"index": 2, "textures": []}]
    assert A.truth_sets(truth, "textures", ["a", "b", "c"]) == [{0}, {1}, {1}]
    rel = torch.tensor([[0.9, 0.1, 0.0], [0.8, 0.1, 0.2], [0.1, 0.2, 0.3]])
    out = A.top_agreement(rel, [{"a"}, {"b", "c"}, set()], ["a", "b", "c"])
    assert out["agreement"] == 0.5 and out["n_classes"] == 2
    assert out["chance"] == pytest.approx((1 / 3 + 2 / 3) / 2)


def test_cluster_scores_find_planted_groups():
    g = torch.Generator().manual_seed(1)
    centres = torch.randn(3, 40, generator=g)
    vecs = torch.cat([centres[i] + 0.1 * torch.randn(5, 40, generator=g) for i in range(3)])
    vecs = vecs / vecs.norm(dim=1, keepdim=True)
    sc = A.cluster_scores(vecs, np.repeat(["x", "y", "z"], 5), n_perm=100)
    assert sc["nn_agreement"] == 1.0 and sc["silhouette"] > 0.5 and sc["silhouette_p"] < 0.05


def test_count_facets_and_pearson():
    a = torch.zeros(30, 20)
    a[:20, :10] = 1
    a[20:, 10:] = 1
    f = A.count_facets(a)
    assert f["n_facets"] == 2 and f["dominant_share"] == pytest.approx(20 / 30)
    r = A.pearson([1, 2, 3, 4], [2, 4, 6, 8.5])
    assert r["r"] > 0.99 and r["n"] == 4
    assert math.isnan(A.pearson([1, 1, 1], [1, 2, 3])["r"])


def test_paired_improvement_is_the_mean_difference():
    a = sh.PointingResult(np.array([0.0, 0.5]), None, None, None, 0, 4,
                          np.array([[1, 1], [1, 0], [0, 0], [1, 0]], bool))
    b = sh.PointingResult(np.array([0.0, 0.5]), None, None, None, 0, 4,
                          np.array([[1, 0], [0, 0], [0, 0], [1, 0]], bool))
    d = A.paired_improvement(a, b)
    assert d["improvement"] == [0.25, 0.25]
    assert all(lo <= m <= hi for lo, m, hi in zip(d["low"], d["improvement"], d["high"]))


def test_claim_rules():
    assert claims.table1({"associated_neuron": 0.0, "random_neuron": 0.0, "sevec_mask": 0.2,
                          "permuted_mask": 0.0, "sem": {"sevec_mask": 0.01}})["verdict"] == claims.REPRODUCED
    assert claims.table1({"associated_neuron": 0.01, "random_neuron": 0.0, "sevec_mask": -0.01,
                          "permuted_mask": -0.7, "sem": {"sevec_mask": 0.01}})["verdict"] == claims.PARTLY
    assert claims.pointing("x", [0.1, 0.2], [0.05, 0.1], [0.0, 0.5])["verdict"] == claims.REPRODUCED
    assert claims.pointing("x", [0.1, 0.0], [0.05, 0.0], [0.0, 0.5])["verdict"] == claims.PARTLY
    assert claims.pointing("x", [0.0, -0.1], [-0.1, -0.2], [0.0, 0.5])["verdict"] == claims.NOT
    assert claims.retrieval("c", 0.9, 0.1, "")["verdict"] == claims.REPRODUCED
    assert claims.retrieval("c", 0.12, 0.1, "")["verdict"] == claims.NOT


def test_results_roundtrip_and_flat_numbers(tmp_path):
    X.save_results(tmp_path, "ch", {"a": np.float64(0.5), "b": [1, float("nan")], "t": torch.tensor([2.0]),
                                    "v": [{"claim": "x", "verdict": "partly"}]})
    back = X.load_results(tmp_path)["ch"]
    assert back["a"] == 0.5 and back["b"] == [1, None] and back["t"] == [2.0]
    assert X.flat_numbers(back) == {"a": 0.5, "b.0": 1, "b.1": None, "t.0": 2.0}
    with pytest.raises(ValueError, match="unknown profile"):
        X.setup("nope")


def test_energy_inside_boxes():
    m = torch.zeros(2, 4, 4)
    m[0, 0, 0], m[0, 3, 3] = 3.0, 1.0   # 3/4 of the energy in the top-left box
    m[1] = 1.0                          # uniform: the box's area, 4/16
    out = A.energy_inside({"x": m}, [[(0, 0, 2, 2)], [(0, 0, 2, 2)]])
    assert out["x"] == pytest.approx((0.75 + 0.25) / 2) and out["(uniform map)"] == pytest.approx(0.25)
