import math

import numpy as np
import pytest
import torch

import sevec_helpers as sh
from sevec_helpers.book import claims
from sevec_helpers.book.records import Record, flat_numbers, load_records
from sevec_helpers.evaluation import localization as L
from sevec_helpers.evaluation import scene_stats as E
from sevec_helpers.evaluation import stats as A


def _sv(vectors, names=None, layer="l"):
    v = torch.as_tensor(vectors, dtype=torch.float32)
    v = v / v.norm(dim=1, keepdim=True)
    k, d = v.shape
    return sh.SemanticVectors(vectors=v, rates=(v > 0).float(), counts=torch.ones(k, dtype=torch.long),
                              dead=torch.zeros(k, dtype=torch.long), names=names or [str(i) for i in range(k)],
                              layer=layer, diversity=torch.zeros(k))


def test_eq3_closed_form_beats_search():
    g = torch.Generator().manual_seed(0)
    pats = (torch.rand(50, 12, generator=g) < 0.4).long()
    pats[:, 0] = 1
    a = pats.double()
    closed = A.eq3_objective((a / a.norm(dim=1, keepdim=True)).sum(0), pats).item()
    ascent = A.eq3_objective(A.eq3_gradient_ascent(pats), pats).item()
    assert ascent == pytest.approx(closed, rel=1e-6)
    assert A.eq3_objective(torch.rand(500, 12, generator=g), pats).max().item() < closed
    toy = A.eq3_toy(n=40, d=10)
    assert toy["closed_form"] >= max(toy["gradient_ascent"], toy["best_random"]) - 1e-9


def test_bootstrap_is_a_cluster_bootstrap():
    # constant values: a degenerate interval at the value
    assert A.bootstrap_mean([2.0, 2.0, 2.0]) == (2.0, 2.0, 2.0)
    # the estimate is the mean over all values, whatever the grouping
    m, lo, hi = A.bootstrap_mean([1, 0, 1, 1, 0, 1], groups=[0, 0, 1, 1, 2, 2])
    assert m == pytest.approx(4 / 6) and lo <= m <= hi
    # two groups: one all ones, one all zeros -> every resample is 0, 1/2 or 1
    m, lo, hi = A.bootstrap_mean([1, 1, 1, 0], groups=[0, 0, 0, 1], n_boot=4000)
    assert m == 0.75 and lo == 0.0 and hi == 1.0
    # per pair instead of per scene: the interval is much narrower (the pairs are not independent)
    _, lo2, hi2 = A.bootstrap_mean([1, 1, 1, 0], n_boot=4000)
    assert hi2 - lo2 < hi - lo
    m, lo, hi = A.bootstrap_mean(np.array([[1.0, 0.0], [1.0, 1.0]]), groups=[5, 5])
    assert m.tolist() == [1.0, 0.5] and lo.tolist() == [1.0, 0.5]
    with pytest.raises(ValueError, match="group ids"):
        A.bootstrap_mean([1, 2], groups=[0])


def test_precision_at_k_with_relevance_matrices():
    sv = _sv([[1, 0, 0], [0, 1, 0]])
    feats = torch.tensor([[1.0, 0, 0], [0.9, 0.1, 0], [0, 1.0, 0], [0, 0, 1.0]])
    labels = torch.tensor([0, 1, 1, 0])
    # binarised, image 1 is (1, 1, 0): cos 0.707 with both concepts. Concept 0 retrieves
    # images 0 and 1 (labels 0, 1); concept 1 retrieves images 2 and 1 (labels 1, 1)
    rel = A.relevance_matrix(labels, 2)
    assert A.precision_at_k(sv, feats, rel, k=2).tolist() == [0.5, 1.0]
    rel = A.relevance_matrix(labels, 2, relevant=[{0, 1}, {1}])
    assert A.precision_at_k(sv, feats, rel, k=2).tolist() == [1.0, 1.0]
    per_image = [{"t": ["a"]}, {"t": ["a", "b"]}, {"t": []}, {"t": ["b"]}]
    rel = A.relevance_matrix(labels, 2, image_truth=per_image, key="t", names=["a", "b"])
    assert rel.tolist() == [[True, False], [True, True], [False, False], [False, True]]
    assert A.precision_at_k(sv, feats, rel, k=2).tolist() == [1.0, 0.5]
    assert A.chance_precision(rel).tolist() == [0.5, 0.5]
    with pytest.raises(ValueError, match="relevant must be"):
        A.precision_at_k(sv, feats, rel[:2], k=2)


def test_truth_sets_and_top_agreement():
    truth = [{"index": 0, "textures": ["a"]}, {"index": 1, "textures": ["b", "c"]}, {"index": 2, "textures": []}]
    assert A.truth_sets(truth, "textures", ["a", "b", "c"]) == [{0}, {1}, {1}]
    rel = torch.tensor([[0.9, 0.1, 0.0], [0.8, 0.1, 0.2], [0.1, 0.2, 0.3]])
    out = A.top_agreement(rel, [{"a"}, {"b", "c"}, set()], ["a", "b", "c"])
    assert out["agreement"] == 0.5 and out["n_classes"] == 2 and out["low"] == 0.0 and out["high"] == 1.0
    assert out["chance"] == pytest.approx((1 / 3 + 2 / 3) / 2)


def test_explanation_agreement_per_image():
    sv = _sv([[1, 0, 0], [0, 1, 0], [0, 0, 1]], names=["a", "b", "c"])
    feats = torch.tensor([[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0], [1.0, 0, 0]])
    truth = [{"k": ["a"]}, {"k": ["a"]}, {"k": []}, {"k": ["a", "c"]}]
    out = A.explanation_agreement(sv, feats, truth, "k", keep=np.array([True, True, True, False]))
    # image 2 shows nothing (not graded), image 3 is not kept: images 0 (right) and 1 (wrong)
    assert out["n"] == 2 and out["right"] == 0.5 and out["chance"] == pytest.approx(1 / 3)
    assert out["named"] == ["a", "b"]


def test_cluster_scores_find_planted_groups():
    g = torch.Generator().manual_seed(1)
    centres = torch.randn(3, 40, generator=g)
    vecs = torch.cat([centres[i] + 0.1 * torch.randn(5, 40, generator=g) for i in range(3)])
    vecs = vecs / vecs.norm(dim=1, keepdim=True)
    sc = A.cluster_scores(vecs, np.repeat(["x", "y", "z"], 5), n_perm=100)
    assert sc["nn_agreement"] == 1.0 and sc["silhouette"] > 0.5 and sc["silhouette_p"] < 0.05


def test_count_facets_and_correlations():
    a = torch.zeros(30, 20)
    a[:20, :10] = 1
    a[20:, 10:] = 1
    f = A.count_facets(a)
    assert f["n_facets"] == 2 and f["dominant_share"] == pytest.approx(20 / 30)
    r = A.correlation([1, 2, 3, 4], [2, 4, 6, 8.5])
    assert r["r"] > 0.99 and r["n"] == 4
    assert A.correlation([1, 2, 3, 4], [1, 10, 100, 1000], "spearman")["r"] == pytest.approx(1.0)
    assert A.correlation([1, 1, 1], [1, 2, 3]) == {"r": None, "p": None, "n": 3}
    assert A.correlation([1, 2, float("nan")], [1, 2, 3])["r"] is None


def test_paired_improvement_is_the_mean_difference():
    a = np.array([[1, 1], [1, 0], [0, 0], [1, 0]], bool)
    b = np.array([[1, 0], [0, 0], [0, 0], [1, 0]], bool)
    d = E.paired_improvement(a, b, energies=[0.0, 0.5])
    assert d["improvement"] == [0.25, 0.25] and d["energies"] == [0.0, 0.5]
    assert all(lo <= m <= hi for lo, m, hi in zip(d["low"], d["improvement"], d["high"]))
    # pairs 0 and 1 are one scene: resampled together
    d2 = E.paired_improvement(a, b, scenes=[0, 0, 1, 2])
    assert d2["improvement"] == [0.25, 0.25]


def test_energy_share_and_box_area():
    m = torch.zeros(2, 4, 4)
    m[0, 0, 0], m[0, 3, 3] = 3.0, 1.0   # 3/4 of the energy in the top-left box
    m[1] = 1.0                          # uniform: the box's area, 4/16
    assert L.energy_share(m, [[(0, 0, 2, 2)], [(0, 0, 2, 2)]]).tolist() == [0.75, 0.25]
    assert L.box_area_share([[(0, 0, 2, 2)], [(0, 0, 4, 4), (0, 0, 1, 1)]], 4, 4).tolist() == [0.25, 1.0]


def test_discriminativeness_on_hand_built_metrics():
    # 3 scenes, 2 pairs each; the semantic map adds 0.2 in every pair; controls: other -0.1, permuted 0
    scene = np.array([0, 0, 1, 1, 2, 2])
    plain = np.array([0.3, 0.4, 0.2, 0.5, 0.3, 0.3])
    m = L.SceneMetrics(scene, np.array([0, 1, 2, 3, 0, 4]), np.array([1, 0, 3, 2, 4, 0]), np.full(6, 0.2),
                       np.array([0.0]))
    m.share = {"GuidedBP": plain, "Semantic GuidedBP": plain + 0.2, "Semantic GuidedBP (permuted mask)": plain.copy(),
               "Semantic GuidedBP (other object's mask)": plain - 0.1}
    d = E.discriminativeness(m, "guided_backprop")
    assert d["effect"] == pytest.approx((0.2, 0.2, 0.2)) and d["permuted"] == pytest.approx((0, 0, 0))
    assert d["other"] == pytest.approx((-0.1, -0.1, -0.1))
    # rules v3: without semantic minus permuted (here +0.2 in every pair) the rule stops at partly
    assert claims.discriminative("GuidedBP", d["effect"], d["other"], d["permuted"]).verdict == claims.PARTLY
    v = claims.discriminative("GuidedBP", d["effect"], d["other"], d["permuted"], vs_permuted=(0.2, 0.2, 0.2))
    assert v.verdict == claims.PARTLY            # rules v4: no effect size against plain, no separation measured
    v = claims.discriminative("GuidedBP", d["effect"], d["other"], d["permuted"], vs_permuted=(0.2, 0.2, 0.2),
                              plain=float(plain.mean()), separation=(0.2, 0.2, 0.2))
    assert v.verdict == claims.REPRODUCED
    back = L.SceneMetrics.from_tensors(m.as_tensors())
    assert np.array_equal(back.share["GuidedBP"], plain) and back.rows("GuidedBP").tolist() == list(range(6))


def test_records_roundtrip_and_flat_numbers(tmp_path):
    v = claims.table2(1, -0.5, 0.001, 40, 0.0)
    c = claims.Check("x", "a check", "ours", "reading", {"n": 3})
    rec = Record("ch", "world", {"a": np.float64(0.5), "b": [1, float("nan")], "t": torch.tensor([2.0])}, [v], [c],
                 network="net")
    path = rec.save(tmp_path)
    assert path == tmp_path / "world" / "net" / "ch.json"
    back = load_records(tmp_path, chapters=("ch",))[("world", "net")]["ch"]
    assert back["testbed"] == "ConceptWorld" and back["verdicts"][0]["testbed"] == "ConceptWorld"
    assert back["numbers"] == {"a": 0.5, "b": [1, None], "t": [2.0]}
    assert back["verdicts"][0]["id"] == "table2_top1" and back["checks"][0]["numbers"] == {"n": 3}
    flat = flat_numbers(back["numbers"])
    assert flat == {"a": 0.5, "b.0": 1, "b.1": None, "t.0": 2.0} and math.isnan(float("nan"))
    assert [p.name for p in path.parent.iterdir()] == ["ch.json"]  # nothing half-written beside it


def test_facet_probe_on_planted_facets():
    # class 0: two facets firing disjoint units (the layer tells them apart: 1.0);
    # class 1: two facets with one pattern (a tie at every image: a fair coin, 0.5);
    # class 2: one facet only (not probed)
    x = torch.zeros(15, 6)
    y = [0] * 6 + [1] * 6 + [2] * 3
    f = [0, 0, 0, 1, 1, 1, 0, 0, 0, 1, 1, 1, 0, 0, 0]
    x[0:3, 0:2] = 1
    x[3:6, 2:4] = 2.5        # any positive activation counts as firing
    x[6:12, 4:6] = 1
    x[12:15, 0] = 1
    p = A.facet_probe(x, y, f)
    assert p["per_class"] == {0: 1.0, 1: 0.5} and p["n_classes"] == 2 and p["n_images"] == 12
    assert p["accuracy"] == 0.75 and p["chance"] == 0.5 and p["low"] <= 0.75 <= p["high"]
    none = A.facet_probe(x[12:], [2, 2, 2], [0, 0, 0])
    assert none["accuracy"] is None and none["n_classes"] == 0
    with pytest.raises(ValueError, match="one each per image"):
        A.facet_probe(x, y[:-1], f)


def test_precision_at_a_reachable_k():
    from sevec_helpers.sevecs.vectors import SemanticVectors

    # two concepts, six images: concept 0 has 2 relevant images, concept 1 has 4
    acts = torch.tensor([[1.0, 0], [1, 0], [1, 0.1], [0, 1], [0, 1], [0.1, 1]])
    sv = SemanticVectors.from_features(torch.tensor([[1.0, 0], [0, 1]]), torch.tensor([0, 1]), ["a", "b"], layer="x")
    rel = np.array([[1, 0], [1, 0], [0, 1], [0, 1], [0, 1], [0, 1]], bool)
    assert A.reachable_k(rel, 8).tolist() == [2, 4] and A.reachable_k(rel, 3).tolist() == [2, 3]
    assert A.precision_at_k(sv, acts, rel, k=A.reachable_k(rel, 8)).tolist() == [1.0, 1.0]
    assert A.precision_at_k(sv, acts, rel, k=4).tolist() == [0.5, 1.0]   # concept 0 cannot fill 4 places
    with pytest.raises(ValueError, match="k must lie in"):
        A.precision_at_k(sv, acts, rel, k=7)
