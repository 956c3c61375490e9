import math
import os

import numpy as np
import pytest
import torch
from conftest import PlantedNet, hook_state, planted_inputs

import sevec_helpers as sh
from sevec_helpers.sevecs import accumulator


def analytic(patterns: np.ndarray, labels: np.ndarray, k: int):
    d = patterns.shape[1]
    A = np.zeros((k, d))
    R = np.zeros((k, d))
    M = np.zeros(k)
    N = np.zeros(k)  # all samples, dead ones included: r_c is over all of them
    for a, y in zip(patterns, labels):
        n = a.sum()
        N[y] += 1
        if n == 0:
            continue
        A[y] += a / math.sqrt(n)
        R[y] += a
        M[y] += 1
    norms = np.linalg.norm(A, axis=1)
    return A / norms[:, None], R / N[:, None], 1 - norms / M


def test_hand_built_exact_values():
    net = PlantedNet(4, k=2)
    pats = torch.tensor([[1, 1, 0, 0], [1, 0, 0, 0], [0, 0, 1, 1]])
    x = planted_inputs(pats, scale=torch.tensor([3.0, 0.5, 2.0, 7.0]))
    y = torch.tensor([0, 0, 1])
    sv = sh.fit_sevecs(net, (x, y), "act", names=["a", "b"], progress=False)
    s = 1 / math.sqrt(2)
    A0 = torch.tensor([1 + s, s, 0, 0], dtype=torch.float64)
    assert torch.allclose(sv.vectors[0].double(), A0 / A0.norm(), atol=1e-7)
    assert torch.allclose(sv.vectors[1], torch.tensor([0, 0, s, s]), atol=1e-7)
    assert sv.rates[0].tolist() == [1.0, 0.5, 0.0, 0.0]
    # |A_0| = sqrt(2 + sqrt 2), D_0 = 1 - |A_0| / 2 ; concept 1 has one direction: D = 0
    assert sv.diversity[0].item() == pytest.approx(1 - math.sqrt(2 + math.sqrt(2)) / 2, abs=1e-7)
    assert sv.diversity[1].item() == pytest.approx(0.0, abs=1e-7)
    assert sv.mask().tolist() == [[True, False, False, False], [False, False, True, True]]
    assert sv.mask(0.4).tolist()[0] == [True, True, False, False]
    assert sv.mask(by="vector").tolist()[0] == [True, False, False, False]  # 0.92 > .5, 0.38 < .5
    assert sv.counts.tolist() == [2, 1] and sv.dead.tolist() == [0, 0]
    assert sv.layer == "act" and sv.names == ["a", "b"]


def test_diversity_is_one_minus_mean_cosine():
    g = torch.Generator().manual_seed(1)
    pats = (torch.rand(50, 30, generator=g) < 0.4).long()
    pats[:, 0] = 1
    y = torch.randint(0, 3, (50,), generator=g)
    net = PlantedNet(30)
    sv = sh.fit_sevecs(net, (planted_inputs(pats), y), "act", progress=False)
    for c in range(3):
        a = pats[y == c].double()
        cos = (a / a.norm(dim=1, keepdim=True)) @ sv.vectors[c].double()
        assert sv.diversity[c].item() == pytest.approx(1 - cos.mean().item(), abs=1e-6)


@pytest.mark.parametrize("batch_size", [1, 7, 1000])
def test_streaming_equals_analytic(batch_size):
    rng = np.random.default_rng(3)
    pats = (rng.random((60, 25)) < 0.3).astype(np.int64)
    pats[5] = 0  # one dead sample
    labels = rng.integers(0, 4, 60)
    for c in range(4):  # every concept has a live sample
        pats[np.flatnonzero(labels == c)[0], c] = 1
    net = PlantedNet(25)
    with pytest.warns(UserWarning, match="1 sample"):
        sv = sh.fit_sevecs(net, (planted_inputs(torch.tensor(pats)), torch.tensor(labels)), "act",
                           batch_size=batch_size, progress=False)
    V, R, D = analytic(pats, labels, 4)
    assert np.allclose(sv.vectors.numpy(), V, atol=1e-6)
    assert np.allclose(sv.rates.numpy(), R, atol=1e-6)
    assert np.allclose(sv.diversity.numpy(), D, atol=1e-6)
    assert int(sv.dead.sum()) == 1 and int(sv.counts.sum()) == 59


def test_merge_of_shards_equals_whole():
    rng = np.random.default_rng(4)
    h = torch.tensor(rng.normal(size=(90, 40)))
    y = torch.tensor(rng.integers(0, 5, 90))
    whole = accumulator.SeVecAccumulator(5, 40)
    whole.update(h, y)
    parts = [accumulator.SeVecAccumulator(None, 40) for _ in range(3)]
    for i, p in enumerate(parts):
        p.update(h[i * 30 : (i + 1) * 30], y[i * 30 : (i + 1) * 30])
    merged = accumulator.SeVecAccumulator(5, 40).merge(parts[0]).merge(parts[1]).merge(parts[2])
    a, b = sh.SemanticVectors.from_accumulator(whole), sh.SemanticVectors.from_accumulator(merged)
    assert torch.equal(a.counts, b.counts)
    assert torch.allclose(a.vectors, b.vectors, atol=1e-7)
    assert torch.allclose(a.rates, b.rates, atol=1e-7)


def test_accumulator_grows_and_validates():
    acc = accumulator.SeVecAccumulator(None, 3)
    acc.update(torch.ones(2, 3), torch.tensor([0, 4]))
    assert acc.num_concepts == 5
    with pytest.raises(ValueError, match="out of range"):
        accumulator.SeVecAccumulator(2, 3).update(torch.ones(1, 3), torch.tensor([2]))
    with pytest.raises(ValueError, match="NaN"):
        acc.update(torch.tensor([[float("nan"), 1, 1]]), torch.tensor([0]))
    with pytest.raises(ValueError, match="one integer label per image"):
        acc.update(torch.ones(2, 3), torch.tensor([0]))
    with pytest.raises(ValueError, match="units per sample"):
        acc.update(torch.ones(2, 4), torch.tensor([0, 1]))


def test_empty_concept_is_named():
    net = PlantedNet(4)
    x = planted_inputs(torch.tensor([[1, 0, 0, 0], [0, 0, 0, 0]]))
    with pytest.raises(ValueError, match="'beta'.*1 dead"):
        with pytest.warns(UserWarning):
            sh.fit_sevecs(net, (x, torch.tensor([0, 1])), "act", names=["alpha", "beta"], progress=False)
    with pytest.raises(ValueError, match="'gamma' \\(no samples\\)"):
        sh.fit_sevecs(net, (x[:1], torch.tensor([0])), "act", names=["alpha", "gamma"], progress=False)


def test_signed_layer_is_refused_and_unknown_layer_lists_names():
    net = PlantedNet(4)
    x = planted_inputs(torch.tensor([[1, 0, 1, 0]]))
    with pytest.raises(ValueError, match="layer 'lin' is not rectified.*non-negative outputs on these images: act$"):
        sh.fit_sevecs(net, (x, torch.tensor([0])), "lin", progress=False)
    with pytest.raises(ValueError, match="unknown layer 'fc9'.*Module names: lin, act, head"):
        sh.fit_sevecs(net, (x, torch.tensor([0])), "fc9", progress=False)


def test_nan_input_rejected():
    net = PlantedNet(4)
    x = torch.full((1, 1, 1, 4), float("nan"))
    with pytest.raises(ValueError, match="NaN or Inf"):
        sh.fit_sevecs(net, (x, torch.tensor([0])), "act", progress=False)
    with pytest.raises(ValueError, match="shape \\(N, C, H, W\\)"):
        sh.extract_features(net, torch.ones(2, 4), "act", progress=False)


def test_retrieve_relevance_explain():
    net = PlantedNet(6)
    pats = torch.tensor([[1, 1, 0, 0, 0, 0], [0, 0, 1, 1, 0, 0], [0, 0, 0, 0, 1, 1]])
    sv = sh.fit_sevecs(net, (planted_inputs(pats), torch.tensor([0, 1, 2])), "act", names=list("abc"),
                       progress=False)
    feats = torch.tensor([[0, 0, 5.0, 1, 0, 0], [2.0, 1, 0, 0, 0, 0], [0, 0, 0, 0, 3, 0.1], [1.0, 0, 1, 0, 0, 0]])
    assert sv.retrieve(feats, k=1).flatten().tolist() == [1, 0, 2]
    rel = sv.relevance()
    assert torch.allclose(rel, torch.eye(3), atol=1e-7)
    ex = sv.explain(feats, top=2)
    assert ex.names[0][0] == "b" and ex.names[2][0] == "c"
    assert ex.indices.shape == (4, 2)
    with pytest.raises(ValueError, match="k=9"):
        sv.retrieve(feats, k=9)
    with pytest.raises(ValueError, match="units"):
        sv.retrieve(torch.ones(2, 5))


def test_save_load_roundtrip_and_foreign_files(tmp_path):
    net = PlantedNet(4)
    sv = sh.fit_sevecs(net, (planted_inputs(torch.tensor([[1, 1, 0, 0], [0, 1, 1, 0]])), torch.tensor([0, 1])),
                       "act", names=["x", "y"], progress=False)
    p = tmp_path / "sv.pt"
    sv.save(p)
    back = sh.SemanticVectors.load(p)
    assert back.names == ["x", "y"] and back.layer == "act" and torch.equal(back.vectors, sv.vectors)
    assert [f for f in os.listdir(tmp_path) if f.startswith(".")] == []
    torch.save({"weights": torch.ones(2)}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a SemanticVectors file"):
        sh.SemanticVectors.load(tmp_path / "other.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="not a SemanticVectors file"):
        sh.SemanticVectors.load(tmp_path / "junk.pt")


def test_save_failure_leaves_nothing(tmp_path, monkeypatch):
    net = PlantedNet(4)
    sv = sh.fit_sevecs(net, (planted_inputs(torch.tensor([[1, 1, 0, 0]])), torch.tensor([0])), "act",
                       progress=False)

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", boom)
    with pytest.raises(OSError):
        sv.save(tmp_path / "sv.pt")
    assert os.listdir(tmp_path) == []


def _manual_table1(net, x, y, sv):
    with torch.no_grad():
        h = net.act(net.lin(x.flatten(1)))
        p0 = torch.softmax(net.head(h), 1).gather(1, y[:, None])[:, 0]
        h1 = h.clone()
        rows = torch.arange(len(y))
        h1[rows, sv.vectors.argmax(1)[y]] = 1.5 * h.max(1).values
        p1 = torch.softmax(net.head(h1), 1).gather(1, y[:, None])[:, 0]
        h3 = h * sv.mask()[y].float()
        p3 = torch.softmax(net.head(h3), 1).gather(1, y[:, None])[:, 0]
    return (p1 - p0).mean().item(), (p3 - p0).mean().item()


def test_perturbation_study_matches_manual_computation():
    g = torch.Generator().manual_seed(0)
    net = PlantedNet(12, k=3)
    x = torch.randn(40, 1, 1, 12, generator=g).abs() * (torch.rand(40, 1, 1, 12, generator=g) < 0.6)
    x = x - 0.1 * (x == 0)
    y = torch.randint(0, 3, (40,), generator=g)
    sv = sh.fit_sevecs(net, (x, y), "act", progress=False)
    before = hook_state(net)
    res = sh.perturbation_study(net, (x, y), sv, batch_size=16, progress=False)
    assoc, mask = _manual_table1(net, x, y, sv)
    assert res.associated_neuron == pytest.approx(assoc, abs=1e-6)
    assert res.sevec_mask == pytest.approx(mask, abs=1e-6)
    assert res.n_images == 40
    again = sh.perturbation_study(net, (x, y), sv, batch_size=16, progress=False)
    assert again.random_neuron == res.random_neuron and again.permuted_mask == res.permuted_mask
    assert hook_state(net) == before


def test_reused_module_needs_call_index():
    class Twice(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.a = torch.nn.Linear(3, 3)
            self.b = torch.nn.Linear(3, 3)
            self.act = torch.nn.ReLU()

        def forward(self, x):
            x = self.act(self.a(x.flatten(1)))
            return self.act(self.b(x))

    m = Twice()
    x = torch.randn(4, 1, 1, 3)
    with pytest.raises(ValueError, match="runs 2 times.*act@1"):
        sh.extract_features(m, x, "act", progress=False)
    f0 = sh.extract_features(m, x, "act@0", progress=False).values
    f1 = sh.extract_features(m, x, "act@1", progress=False).values
    with torch.no_grad():
        h0 = torch.relu(m.a(x.flatten(1)))
        assert torch.allclose(f0, h0) and torch.allclose(f1, torch.relu(m.b(h0)))
    with pytest.raises(ValueError, match="ran only 2"):
        sh.extract_features(m, x, "act@5", progress=False)


def test_nan_in_a_later_batch_is_caught():
    net = PlantedNet(4)
    x = planted_inputs(torch.tensor([[1, 0, 0, 0], [0, 1, 0, 0], [1, 1, 0, 0]]))
    x[2, 0, 0, 1] = float("inf")
    with pytest.raises(ValueError, match="NaN or Inf in some batch"):
        sh.fit_sevecs(net, (x, torch.tensor([0, 1, 0])), "act", batch_size=1, progress=False)


def test_sevecs_from_features_are_what_fitting_the_images_gives_and_subset_keeps_rows():
    g = torch.Generator().manual_seed(3)
    net = PlantedNet(10, k=4)
    x = torch.randn(50, 1, 1, 10, generator=g)
    y = torch.arange(50) % 4
    fitted = sh.fit_sevecs(net, (x, y), "act", names=["a", "b", "c", "d"], batch_size=7, progress=False)
    f = sh.extract_features(net, x, "act", progress=False).values
    direct = sh.SemanticVectors.from_features(f, y, ["a", "b", "c", "d"], layer="act")
    for attr in ("vectors", "rates", "counts", "diversity"):
        assert torch.allclose(getattr(direct, attr).double(), getattr(fitted, attr).double(), atol=1e-6), attr
    assert direct.names == fitted.names and direct.layer == "act"
    sub = fitted.subset(["c", "a"])
    assert sub.names == ["c", "a"] and torch.equal(sub.vectors, fitted.vectors[[2, 0]])
    assert torch.equal(sub.rates, fitted.rates[[2, 0]]) and sub.fingerprint == fitted.fingerprint
    with pytest.raises((KeyError, ValueError), match="zebra"):
        fitted.subset(["zebra"])
