"""The two studies of chapter 9 on hand-built models and planted features, where the answer
is known: weight randomisation and class sensitivity (sevec_helpers.evaluation.sanity), and the four
concept vectors (sevec_helpers.sevecs.alternatives)."""

import numpy as np
import pytest
import torch
import torch.nn as nn
from scipy.stats import spearmanr

import sevec_helpers as sh
from sevec_helpers.evaluation import sanity as SC
from sevec_helpers.sevecs import alternatives as CV

# ---------------------------------------------------------------------------------------
# randomisation
# ---------------------------------------------------------------------------------------


def _net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(),
                         nn.Linear(4 * 8 * 8, 16), nn.ReLU(), nn.Linear(16, 3)).eval()


def _changed(a: nn.Module, b: nn.Module) -> set[str]:
    sa, sb = a.state_dict(), b.state_dict()
    return {k.rsplit(".", 1)[0] for k in sa if not torch.equal(sa[k], sb[k])}


def test_blocks_run_from_the_output_down_with_batchnorm_in_its_conv_block():
    assert SC.blocks(_net()) == [("6", ["6"]), ("4", ["4"]), ("0", ["0", "1"])]


def test_cascading_and_independent_copies_change_exactly_their_blocks_and_not_the_model():
    net = _net()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    casc = SC.randomized_copies(net, "cascading")
    assert [n for n, _ in casc] == ["6", "4", "0"]
    assert [_changed(net, m) for _, m in casc] == [{"6"}, {"6", "4"}, {"6", "4", "0", "1"}]
    ind = SC.randomized_copies(net, "independent")
    assert [_changed(net, m) for _, m in ind] == [{"6"}, {"4"}, {"0", "1"}]
    # BatchNorm: affine parameters re-drawn, running statistics kept
    bn_before, bn_after = net[1], casc[-1][1][1]
    assert torch.equal(bn_before.running_mean, bn_after.running_mean) and not torch.equal(bn_before.weight,
                                                                                           bn_after.weight)
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())
    with pytest.raises(ValueError, match="cascading' or 'independent'"):
        SC.randomized_copies(net, "top-down")
    with pytest.raises(ValueError, match="no Linear, Conv or BatchNorm"):
        SC.randomized_copies(nn.Sequential(nn.ReLU()))


def test_map_similarity_measures():
    g = torch.Generator().manual_seed(0)
    a = torch.rand(3, 16, 16, generator=g)
    b = torch.rand(3, 16, 16, generator=g)
    same = SC.map_similarity(a, -a)  # absolute values: the sign does not matter
    for k in ("spearman", "ssim", "hog"):
        assert np.allclose(same[k], 1.0)
    sim = SC.map_similarity(a, b)
    ref = [spearmanr(x.ravel(), y.ravel()).statistic for x, y in zip(a.numpy(), b.numpy())]
    assert np.allclose(sim["spearman"], ref)
    assert (sim["ssim"] < 0.5).all()
    const = SC.map_similarity(torch.ones(1, 16, 16), a[:1])
    assert np.isnan(const["spearman"][0])
    with pytest.raises(ValueError, match="same shape"):
        SC.map_similarity(a, b[:2])


# ---------------------------------------------------------------------------------------
# class sensitivity
# ---------------------------------------------------------------------------------------


class TwoHalves(nn.Module):
    """Logit 0 sums the left half of the image, logit 1 the right half (through a ReLU that
    is active on positive images): the plain gradient of target c lives in c's half only."""

    def __init__(self):
        super().__init__()
        w = torch.zeros(2, 3 * 8 * 8)
        cols = torch.arange(8).repeat(3 * 8)
        w[0, cols < 4] = 1.0
        w[1, cols >= 4] = 1.0
        self.lin = nn.Linear(3 * 8 * 8, 2, bias=False)
        with torch.no_grad():
            self.lin.weight.copy_(w)
        self.act = nn.ReLU()

    def forward(self, x):
        return self.act(self.lin(x.flatten(1)))


def _scenes(labels_per_scene):
    g = torch.Generator().manual_seed(1)
    out = []
    for labels in labels_per_scene:
        boxes = [[0, 0, 4, 8] if c == 0 else [4, 0, 8, 8] for c in labels]
        out.append((torch.rand(3, 8, 8, generator=g) + 0.1,
                    {"labels": torch.tensor(labels), "boxes": torch.tensor(boxes, dtype=torch.float32)}))
    return out


def test_class_sensitivity_on_two_objects_and_on_the_runner_up():
    net = TwoHalves().eval()
    x = torch.rand(6, 3, 8, 8) + 0.1
    sv = sh.fit_sevecs(net, (x, torch.tensor([0, 1] * 3)), "act", progress=False)
    plain = (("vanilla_gradient", False),)
    two = SC.class_sensitivity(net, _scenes([[0, 1], [1, 0], [0, 1]]), sv, variants=plain)
    assert two.second == "object" and len(two.scene) == 3
    # disjoint halves: the two maps rank pixels in opposite order
    assert np.allclose(two.rank_corr["Gradient"], -1.0)
    assert np.allclose(two.own_box["Gradient"], 1.0)  # all of each map's energy in its target's box
    one = SC.class_sensitivity(net, _scenes([[0], [1]]), sv, variants=plain)
    assert one.second == "runner-up" and np.allclose(one.rank_corr["Gradient"], -1.0)
    assert one.own_box["Gradient"].shape == (2,) and np.allclose(one.own_box["Gradient"], 1.0)


# ---------------------------------------------------------------------------------------
# concept vectors on planted features
# ---------------------------------------------------------------------------------------


def _planted(k=3, per=10, width=4, d=16, seed=0):
    """Concept c fires units [c*width, (c+1)*width) with random positive strength; every
    other unit is negative (inactive)."""
    g = torch.Generator().manual_seed(seed)
    h = -torch.rand(k * per, d, generator=g) - 0.1
    y = torch.arange(k).repeat_interleave(per)
    for i, c in enumerate(y.tolist()):
        h[i, c * width:(c + 1) * width] = torch.rand(width, generator=g) + 0.5
    return h, y, [f"c{c}" for c in range(k)]


@pytest.mark.parametrize("method", CV.METHODS)
def test_every_method_finds_the_planted_units_and_retrieves_perfectly(method):
    h, y, names = _planted()
    cv = CV.fit(method, h, y, names)
    assert cv.vectors.shape == (3, 16) and cv.seconds >= 0 and cv.bytes_needed > 0
    top = cv.retrieve(h, 10)
    for c in range(3):
        assert set(y[top[c]].tolist()) == {c}, f"{method}: concept {c} retrieves other concepts"
    masks = cv.masks(torch.full((3,), 4))
    for c in range(3):
        expected = torch.zeros(16, dtype=torch.bool)
        expected[c * 4:(c + 1) * 4] = True
        assert torch.equal(masks[c], expected), f"{method}: mask of concept {c}"
    if method == "sevec":  # Eq. 3 exactly: rate 1 on the concept's units, the unit vector on them
        ind = torch.zeros(3, 16)
        for c in range(3):
            ind[c, c * 4:(c + 1) * 4] = 0.5
        assert torch.allclose(cv.vectors, ind)
    if method == "unit":
        assert all(c * 4 <= int(cv.vectors[c].argmax()) < (c + 1) * 4 for c in range(3))


def test_stability_on_disjoint_halves():
    h, y, names = _planted(per=20)
    assert np.allclose(CV.stability("sevec", h, y, names), 1.0)  # the same units fire in both halves
    mean = CV.stability("mean", h, y, names)
    assert (mean > 0.9).all() and (mean < 1.0).all()             # strengths differ between halves


def test_unknown_method_is_refused():
    h, y, names = _planted()
    with pytest.raises(ValueError, match="method must be one of"):
        CV.fit("pca", h, y, names)


def test_fastcav_is_the_normalised_difference_of_means_with_a_half_way_threshold():
    h, y, names = _planted(per=8)
    cv = CV.fit("fastcav", h, y, names, n_random=10_000)  # every other image is a negative: no randomness
    for c in range(3):
        mu_c, mu_r = h[y == c].double().mean(0), h[y != c].double().mean(0)
        w = (mu_c - mu_r) / (mu_c - mu_r).norm()
        assert torch.allclose(cv.vectors[c].double(), w, atol=1e-6)
        mid = ((mu_c + mu_r) / 2).float()
        assert abs(float(cv.scores(mid[None])[0, c])) < 1e-5  # zero half-way between the two means
    assert cv.bias is not None and cv.bytes_needed == 2 * 3 * 16 * 8
    # with random negatives it contrasts the same images the CAV does (same seed)
    a = CV.fit("fastcav", h, y, names, seed=3)
    rng = np.random.default_rng(3)  # concept 0 draws first, then concept 1
    CV._negatives(y.numpy(), 0, rng, None)
    pos1, neg1 = CV._negatives(y.numpy(), 1, rng, None)
    ref = h[pos1].double().mean(0) - h[neg1].double().mean(0)
    assert torch.allclose(a.vectors[1].double(), ref / ref.norm(), atol=1e-6)


def test_significance_presentation_counts_true_and_significant_results():
    from types import SimpleNamespace

    from sevec_helpers.book.chapters import beyond_the_paper as ch
    from sevec_helpers.sevecs import significance as S

    h, y, names = _planted(per=10)
    low = sh.SemanticVectors.from_features(h, y, names)
    cls = sh.SemanticVectors.from_features(h, y, ["A", "B", "C"])  # class k has exactly concept k's units
    nulls = S.null_sevecs(h, low, 60, seed=0)
    rel = S.relation_significance(cls, low, nulls, pairs=[(0, 0), (1, 2)], warn=False)
    ex = S.explanation_significance(low, nulls, h, images=[0, 15], warn=False)
    study = SimpleNamespace(classes=["A", "B", "C"], truth=[{"textures": ["c0"]}, {"textures": ["c1"]},
                                                            {"textures": ["c2"]}],
                            image_truth=lambda name: [{"textures": [f"c{int(c)}"]} for c in y])
    assert ch.relation_truth(study, rel, "textures") == [True, False]
    assert ch.explanation_truth(study, ex, "textures") == [True, True]
    table = ch.significance_table(study, {"Fig. 5 relations": {"textures": rel},
                                          "Table 3 explanations": {"textures": ex}}).data
    n0 = rel.n_significant
    assert f"| Fig. 5 relations | textures | 2 | {n0} |" in table and "| Table 3 explanations | textures | 2 | 2 | 2 of 2 |" \
        in table
    ones = ch.unmasked(low)
    assert torch.equal(ones.vectors, low.vectors) and bool(ones.mask().all())
