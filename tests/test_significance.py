"""Significance against random concepts (issue 21.2), on planted data where the answer is
known: a planted concept is significant, random sets are significant at the stated rate,
corrections and p-values match hand computations, too few random sets warn."""

import warnings

import numpy as np
import pytest
import torch
from scipy import stats

import sevec_helpers as sh
from sevec_helpers.sevecs import significance as S


def test_random_sevecs_are_seeded_fits_of_random_sets_of_the_given_size():
    g = torch.Generator().manual_seed(0)
    pool = torch.randn(50, 12, generator=g)
    a = S.random_sevecs(pool, 7, 5, seed=3, layer="fc1")
    b = S.random_sevecs(pool, 7, 5, seed=3, layer="fc1")
    assert len(a) == 5 and a.names[0] == "random_0" and a.layer == "fc1" and torch.equal(a.vectors, b.vectors)
    assert (S.concept_sizes(a) == 7).all()
    assert not torch.equal(a.vectors, S.random_sevecs(pool, 7, 5, seed=4).vectors)
    # each row is the SeVec of 7 distinct pool rows: some 7-subset reproduces it exactly
    idx = torch.argsort(torch.rand(5, 50, generator=torch.Generator().manual_seed(3)), dim=1)[:, :7]
    one = sh.SemanticVectors.from_features(pool[idx[2]], torch.zeros(7, dtype=torch.long), ["x"], allow_empty=True)
    assert torch.allclose(one.vectors[0], a.vectors[2]) and len(set(idx[2].tolist())) == 7
    with pytest.raises(ValueError, match="size must be an int in 1..50"):
        S.random_sevecs(pool, 51, 5)
    with pytest.raises(ValueError, match="n_sets must be a positive int"):
        S.random_sevecs(pool, 5, 0)


def test_holm_and_benjamini_hochberg_by_hand():
    p = np.array([0.01, 0.04, 0.03, 0.005])
    assert np.allclose(S.adjust(p, "holm"), [0.03, 0.06, 0.06, 0.02])
    assert np.allclose(S.adjust(p, "bh"), [0.02, 0.04, 0.04, 0.02])
    assert np.allclose(S.adjust(p, None), p)
    assert np.allclose(S.adjust([0.5, 0.9], "holm"), [1.0, 1.0])
    with pytest.raises(ValueError, match="correction must be one of"):
        S.adjust(p, "bonferroni")


def test_p_values_by_hand():
    null = np.array([[0.0, 1.0, 2.0, 3.0]] * 3)
    assert np.allclose(S.p_values([10.0, 1.5, 3.0], null, "empirical"), [1 / 5, 1.0, 3 / 5])
    x = 4.0
    t = abs(x - 1.5) / (np.std([0, 1, 2, 3], ddof=1) * np.sqrt(1 + 1 / 4))
    assert np.isclose(S.p_values([x], null[:1], "t")[0], 2 * stats.t.sf(t, df=3))
    assert S.p_values([1.0, 2.0], np.ones((2, 5)), "t").tolist() == [1.0, 0.0]  # a constant null
    with pytest.raises(ValueError, match="at least 2 random sets"):
        S.p_values([1.0], [[0.5]], "t")
    with pytest.raises(ValueError, match="test must be one of"):
        S.p_values([1.0], [[0.5, 0.2]], "z")


def test_too_few_random_sets_warn_with_the_number_needed():
    assert S.needed_random_sets(10, 0.05, "empirical") == 199   # 10 / (R + 1) <= 0.05
    assert S.needed_random_sets(1, 0.05, "empirical") == 19
    need_t = S.needed_random_sets(10, 0.05, "t")
    lvl = 1 - 0.05 / 20
    assert stats.t.ppf(lvl, need_t - 1) <= 1.1 * stats.norm.ppf(lvl) < stats.t.ppf(lvl, need_t - 2)
    null = np.random.default_rng(0).normal(size=(10, 50))
    with pytest.warns(UserWarning, match="50 random sets are too few for stable p-values of 10 tests at alpha=0.05 "
                                         r"\(empirical test, holm correction\): use at least 199 random sets"):
        S.against_null(np.zeros(10), null, test="empirical")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        S.against_null(np.zeros(10), np.random.default_rng(0).normal(size=(10, 199)), test="empirical")
    with pytest.raises(ValueError, match=r"alpha must be a number in \(0, 1\)"):
        S.against_null(np.zeros(2), null[:2], alpha=5)


# ---------------------------------------------------------------------------------------
# planted data
# ---------------------------------------------------------------------------------------


def _planted(seed=0, d=40, per=20, k=8, width=5):
    """k concepts; concept c fires units [c*width, (c+1)*width) on every image, plus 30% of
    the other units at random (background)."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(k).repeat_interleave(per)
    h = torch.where(torch.rand(len(y), d, generator=g) < 0.3, 1.0, -1.0) * (torch.rand(len(y), d, generator=g) + 0.1)
    for i, c in enumerate(y.tolist()):
        h[i, c * width:(c + 1) * width] = torch.rand(width, generator=g) + 0.5
    return h, y, [f"c{c}" for c in range(k)]


def test_planted_relation_retrieval_and_explanation_are_significant():
    h, y, names = _planted()
    low = sh.SemanticVectors.from_features(h, y, names, layer="fc1")            # e.g. textures
    g = torch.Generator().manual_seed(1)
    cls_h = torch.where(torch.rand(40, 40, generator=g) < 0.3, 1.0, -1.0)
    cls_h[:20, 0:5] = 1.0                                                        # class A has concept c0's units
    cls = sh.SemanticVectors.from_features(cls_h, torch.arange(2).repeat_interleave(20), ["A", "B"], layer="fc1")
    nulls = S.null_sevecs(h, low, 200, seed=0)
    assert list(nulls) == [20] and len(nulls[20]) == 200
    rel = S.relation_significance(cls, low, nulls, pairs=[("A", "c0"), ("B", "c0"), ("A", "c3")])
    assert rel.labels == ["A ~ c0", "B ~ c0", "A ~ c3"] and rel.n_random == 200
    assert rel.significant.tolist()[0] and rel.statistic[0] > rel.null_mean[0]
    assert rel.p_adjusted[0] < 1e-3 and rel.rows()[0]["b"] == "c0"
    ret = S.retrieval_significance(low, nulls, h, (y[:, None] == torch.arange(8)[None]).numpy(), k=10)
    assert ret.significant.all() and (ret.statistic >= 0.9).all() and (ret.null_mean < 0.5).all()
    ex = S.explanation_significance(low, nulls, h, images=[0, 25, 60])
    assert ex.extra["concept"] == ["c0", "c1", "c3"] and ex.significant.all()
    assert "3 of 3 explanation cosine significant at alpha=0.05 (t test against 200 random sets, Holm" in ex.summary()


@pytest.mark.slow
@pytest.mark.parametrize("test", ["t", "empirical"])
def test_a_random_set_is_significant_at_the_stated_rate(test):
    """200 random 'concepts' (random sets of the pool), each against its own 99 random sets,
    uncorrected at alpha = 0.1: about 10% come out significant (3 standard errors)."""
    h, y, names = _planted(seed=2)
    fixed = sh.SemanticVectors.from_features(h, y, names, layer="fc1")
    trials, r, alpha = 200, 99, 0.1
    sets = S.random_sevecs(h, 20, trials * (r + 1), seed=5, layer="fc1")
    hits = 0
    for t in range(trials):
        rows = list(range(t * (r + 1), (t + 1) * (r + 1)))
        concept, null = sets._replace(rows=rows[:1]), sets._replace(rows=rows[1:])
        res = S.relation_significance(fixed, concept, null, pairs=[("c0", 0)], alpha=alpha, test=test,
                                      correction=None, warn=False)
        hits += int(res.significant[0])
    se = np.sqrt(alpha * (1 - alpha) / trials)
    assert abs(hits / trials - alpha) <= 3 * se, f"{hits} of {trials} random sets significant"


def test_no_image_to_explain_is_an_empty_family_not_a_crash():
    """A network that classifies no hold-out image correctly leaves Table 3 nothing to test:
    an empty family (0 of 0 significant), which the chapter reports as such."""
    g = torch.Generator().manual_seed(0)
    values = (torch.rand(40, 12, generator=g) > 0.5).float()
    labels = torch.arange(40) % 4
    sv = sh.SemanticVectors.from_features(values, labels, ["a", "b", "c", "d"], layer="l")
    nulls = S.null_sevecs(values, sv, 50, seed=0)
    sig = S.explanation_significance(sv, nulls, values, images=[])
    assert len(sig) == 0 and sig.n_significant == 0 and sig.n_random == 50
    assert sig.summary().startswith("0 of 0")
