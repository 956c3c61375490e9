"""The verdict rules of sevec_helpers.book.claims, each at its boundaries.

The rules were written before the numbers they judge on ConceptWorld 2 existed. The
numbers of the first world (shipped vgg_mini, stop 6) are pinned here where the issue
that fixed the rules named them, and the paper's own numbers must pass their own rule.
"""

import math

import pytest

from sevec_helpers.book import claims as C

EPS = 1e-9


def _t1(sevec, assoc=0.0, perm=0.0, sem=0.01, sem_diff=0.01, rnd=0.0):
    mean = {"associated_neuron": assoc, "random_neuron": rnd, "sevec_mask": sevec, "permuted_mask": perm}
    sems = {k: sem for k in mean}
    return C.table1(mean, sems, sem_diff).verdict


def test_table1_paper_numbers_reproduce_and_first_world_does_not():
    p = C.PAPER["table1"]
    # 50K images, per-image changes of order 0.3: SEMs of order 1e-3
    assert C.table1(p, {k: 1.5e-3 for k in p}, 1.5e-3).verdict == C.REPRODUCED
    first_world = {"associated_neuron": 0.016, "random_neuron": -0.012, "sevec_mask": -0.011, "permuted_mask": -0.717}
    assert C.table1(first_world, {k: 0.004 for k in first_world}, 0.005).verdict == C.NOT


def test_table1_boundaries():
    # raises by exactly 3 SEM is not enough; a hair more is
    assert _t1(0.03, sem=0.01, sem_diff=0.001) == C.NOT
    assert _t1(0.03 + EPS, sem=0.01, sem_diff=0.001) == C.REPRODUCED
    # beats the associated neuron by exactly 3 SEM of the difference: not enough
    assert _t1(0.2, assoc=0.2 - 0.03, sem=0.001, sem_diff=0.01) == C.NOT
    assert _t1(0.2, assoc=0.2 - 0.03 - 1e-6, sem=0.001, sem_diff=0.01) == C.REPRODUCED
    # the permuted control: |perm| <= S/2 passes, below -S/2 is destructive (partly), above +S/2 fails
    assert _t1(0.2, perm=-0.1, sem=0.001, sem_diff=0.001) == C.REPRODUCED
    assert _t1(0.2, perm=0.1, sem=0.001, sem_diff=0.001) == C.REPRODUCED
    assert _t1(0.2, perm=-0.1 - 1e-6, sem=0.001, sem_diff=0.001) == C.PARTLY
    assert _t1(0.2, perm=0.1 + 1e-6, sem=0.001, sem_diff=0.001) == C.NOT
    # no rise at all: not reproduced whatever the controls do
    assert _t1(-0.01, perm=-0.7, sem=0.001, sem_diff=0.001) == C.NOT
    # an undefined SEM (one image) never passes
    assert _t1(0.2, sem=float("nan"), sem_diff=0.001) == C.NOT


def test_table2_ceiling_and_strength():
    assert C.table2(5, -0.9, 1e-9, 24, ceiling_share=0.75).verdict == C.UNTESTABLE
    assert C.table2(5, -0.9, 1e-9, 24, ceiling_share=0.75 - 1e-6).verdict == C.REPRODUCED
    assert C.table2(1, None, None, 24, 0.0).verdict == C.UNTESTABLE
    assert C.table2(1, float("nan"), float("nan"), 24, 0.0).verdict == C.UNTESTABLE
    assert C.table2(1, -0.9, 1e-3, 3, 0.0).verdict == C.UNTESTABLE       # no Fisher-z interval below 4 classes
    assert C.table2(1, 0.4, 1e-4, 40, 0.0).verdict == C.NOT
    p = C.PAPER["table2"]
    assert C.table2(1, p["top1_r"], p["top1_p"], 1000, 0.1).verdict == C.REPRODUCED
    assert C.table2(5, p["top5_r"], p["top5_p"], 1000, 0.3).verdict == C.REPRODUCED
    # the first world: 23 of 24 classes at top-5 = 1.00 -> a ceiling, not a grade
    assert C.table2(5, -0.05, 0.8, 24, 23 / 24).verdict == C.UNTESTABLE


def test_fisher_interval_matches_scipy_and_its_edges():
    from scipy import stats

    x = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
    res = stats.pearsonr(x, [2, 1, 4, 3, 6, 5, 8, 9, 7, 10])
    ci = res.confidence_interval(0.95)
    assert C.fisher_interval(float(res.statistic), 10) == pytest.approx((ci.low, ci.high), abs=1e-12)
    # the numbers: top-5 r = -0.396 over 32 classes is about [-0.65, -0.06]
    assert C.fisher_interval(-0.396, 32) == pytest.approx((-0.6543, -0.0549), abs=1e-4)
    assert C.fisher_interval(1.0, 10) == (1.0, 1.0)
    with pytest.raises(ValueError, match="at least 4 pairs"):
        C.fisher_interval(0.5, 3)
    with pytest.raises(ValueError, match="in \\[-1, 1\\]"):
        C.fisher_interval(1.2, 10)


def test_table2_v3_judges_the_interval():
    h = C.Z95 / 5                                    # n = 28: sqrt(n - 3) = 5
    at_neg = math.tanh(math.atanh(-0.1) - h)         # its interval ends exactly at -0.1
    assert at_neg < -0.3
    assert C.table2(1, at_neg, 1e-3, 28, 0.0).verdict == C.REPRODUCED
    assert C.table2(1, at_neg + 1e-6, 1e-3, 28, 0.0).verdict == C.PARTLY
    at_zero = math.tanh(-h)                          # its interval ends at 0
    assert C.table2(1, at_zero - 1e-9, 0.04, 28, 0.0).verdict == C.PARTLY
    assert C.table2(1, at_zero + 1e-9, 0.06, 28, 0.0).verdict == C.NOT
    # the size: r must be at least moderate, even with a tight interval
    assert C.table2(1, -0.3, 1e-20, 1000, 0.0).verdict == C.REPRODUCED
    assert C.table2(1, -0.3 + 1e-6, 1e-20, 1000, 0.0).verdict == C.PARTLY
    # a significant p-value does not rescue an interval that reaches 0 (r = -0.3 over 40 classes)
    assert C.table2(1, -0.3, 0.049, 40, 0.0).verdict == C.NOT
    # the row: top-5 r = -0.396, 32 classes, 41% at the ceiling: no longer graded on the point estimate
    row = C.table2(5, -0.396, 0.025, 32, 0.41)
    assert row.verdict == C.PARTLY
    assert "[-0.654, -0.055]" in row.ours and "41%" in row.ours and "may be weak" in row.why
    assert row.numbers["r_high"] == pytest.approx(-0.0549, abs=1e-4)


PROBE = (0.9, 0.85, 0.95, 0.5)     # a facet probe that tells a class's facets apart: the positive control


def test_multifacetedness_is_its_own_row():
    # the book's check: D_c against the planted facets, r = 0.079 over 32 classes, with a working probe
    row = C.multifacetedness(0.079, 0.67, 32, probe=PROBE)
    assert row.id == "dc_multifaceted" and row.verdict == C.NOT and "planted facets" in row.ours
    assert "probe 0.900" in row.why
    # so Table 2 can be reproduced while its reading as multifacetedness is not
    assert C.table2(1, -0.6, 1e-4, 32, 0.1).verdict == C.REPRODUCED
    assert C.multifacetedness(None, None, 32, probe=PROBE).verdict == C.UNTESTABLE
    assert C.multifacetedness(0.9, 1e-3, 3, probe=PROBE).verdict == C.UNTESTABLE
    h = C.Z95 / 5
    at_low = math.tanh(math.atanh(0.1) + h)
    assert C.multifacetedness(at_low, 1e-3, 28, probe=PROBE).verdict == C.REPRODUCED
    assert C.multifacetedness(at_low - 1e-6, 1e-3, 28, probe=PROBE).verdict == C.PARTLY
    assert C.multifacetedness(math.tanh(h) + 1e-9, 0.04, 28, probe=PROBE).verdict == C.PARTLY
    assert C.multifacetedness(math.tanh(h) - 1e-9, 0.06, 28, probe=PROBE).verdict == C.NOT
    assert C.multifacetedness(0.3, 1e-20, 1000, probe=PROBE).verdict == C.REPRODUCED
    assert C.multifacetedness(0.3 - 1e-6, 1e-20, 1000, probe=PROBE).verdict == C.PARTLY


def test_multifacetedness_v4_needs_a_facet_probe_that_sees_the_facets():
    # rules v4: without the positive control, even r = 0.079 says nothing about D_c: not testable
    row = C.multifacetedness(0.079, 0.67, 32)
    assert row.verdict == C.UNTESTABLE and "no positive control" in row.why
    assert C.multifacetedness(0.9, 1e-9, 1000).verdict == C.UNTESTABLE          # nor does a strong r
    # the probe must close half the gap from chance to 1 (chance 0.5 -> 0.75), its interval above chance
    assert C.facet_probe_ok((0.75, 0.6, 0.9, 0.5)) and not C.facet_probe_ok((0.75 - 1e-6, 0.6, 0.9, 0.5))
    assert not C.facet_probe_ok((0.9, 0.5, 0.95, 0.5)) and C.facet_probe_ok((0.9, 0.5 + EPS, 0.95, 0.5))
    assert C.facet_probe_ok((2 / 3, 0.5, 0.8, 1 / 3)) and not C.facet_probe_ok((2 / 3 - 1e-6, 0.5, 0.8, 1 / 3))
    assert not C.facet_probe_ok(None) and not C.facet_probe_ok((float("nan"), 0.6, 0.9, 0.5))
    failed = C.multifacetedness(0.079, 0.67, 32, probe=(0.6, 0.55, 0.65, 0.5))
    assert failed.verdict == C.UNTESTABLE and "positive control fails" in failed.why and "needs 0.750" in failed.why
    assert C.multifacetedness(0.079, 0.67, 32, probe=(0.75, 0.6, 0.9, 0.5)).verdict == C.NOT
    with pytest.raises(ValueError, match="4 numbers"):
        C.multifacetedness(0.5, 0.01, 32, probe=(0.9, 0.8))


def test_holm():
    assert C.holm([0.01, 0.04]) == pytest.approx([0.02, 0.04])
    assert C.holm([0.04, 0.01]) == pytest.approx([0.04, 0.02])
    assert C.holm([0.03, 0.02]) == pytest.approx([0.04, 0.04])  # monotone: never below the step before
    assert C.holm([0.9, 0.8]) == pytest.approx([1.0, 1.0])


def test_hierarchy_rule():
    ok = dict(silhouette=0.1, silhouette_p=0.01, nn_agreement=0.8, nn_p=0.02, silhouette_perm=-0.05, nn_perm=0.3)
    assert C.hierarchy("group", **ok).verdict == C.REPRODUCED
    # Holm: 0.024 alone passes, but with a second p of 0.03 it becomes 0.048 / 0.048 -> still passes
    assert C.hierarchy("group", **dict(ok, silhouette_p=0.024, nn_p=0.03)).verdict == C.REPRODUCED
    # 0.026 doubles to 0.052: the silhouette fails after correction
    assert C.hierarchy("group", **dict(ok, silhouette_p=0.026, nn_p=0.5)).verdict == C.NOT
    assert C.hierarchy("group", **dict(ok, nn_p=0.5)).verdict == C.PARTLY
    # a significant but negative silhouette never counts; a nearest-neighbour effect alone does not either
    assert C.hierarchy("group", **dict(ok, silhouette=-0.08)).verdict == C.NOT
    assert C.hierarchy("group", **dict(ok, silhouette_p=0.5)).verdict == C.NOT
    # the first world's group level: silhouette -0.080, nearest neighbours at chance (p = 0.53)
    first = dict(silhouette=-0.080, silhouette_p=0.9, nn_agreement=0.2, nn_p=0.53, silhouette_perm=-0.06, nn_perm=0.2)
    assert C.hierarchy("group", **first).verdict == C.NOT


def test_agreement_rules_share_one_boundary():
    # works: estimate >= max(0.5, 2 chance) and low > chance
    assert C.retrieval("r", "texture", 0.5, 0.2 + EPS, 0.7, 0.2).verdict == C.REPRODUCED
    assert C.retrieval("r", "texture", 0.5, 0.2, 0.7, 0.2).verdict == C.NOT          # low == chance
    assert C.retrieval("r", "texture", 0.5 - EPS, 0.21, 0.7, 0.2).verdict == C.PARTLY
    assert C.retrieval("r", "texture", 0.6, 0.35, 0.8, 0.3 + EPS).verdict == C.PARTLY  # needs 2 x chance
    assert C.retrieval("r", "texture", 0.12, 0.05, 0.2, 0.08).verdict == C.NOT
    for fn in (C.relations, C.explanations):
        assert fn("x", "texture", 0.6, 0.4, 0.8, 0.1, 24).verdict == C.REPRODUCED
        assert fn("x", "texture", 0.3, 0.15, 0.45, 0.1, 24).verdict == C.PARTLY
        assert fn("x", "texture", 0.3, 0.1, 0.45, 0.1, 24).verdict == C.NOT


GOOD_CONTROL = (0.8, 0.6, 0.95, 0.1)     # colour SeVecs of a network that leans on colour: they work


def test_colour_failure_needs_power_and_a_positive_control():
    # the row: 0.193 [0.080, 0.330] against chance 0.169: the interval reaches 2 x chance,
    # so the test cannot tell failure from a modest success, whatever the control does
    for control in (None, GOOD_CONTROL):
        row = C.retrieval("fig2c_colors", "colors", 0.193, 0.080, 0.330, 0.169, expect_success=False, control=control)
        assert row.verdict == C.UNTESTABLE and "no power" in row.why
    # the paper's claim, expressed as numbers: 11 colours, selections at chance with a tight interval,
    # and colour SeVecs that work on a network that uses colour
    paper = C.retrieval("c", "colors", 1 / 11, 0.06, 0.12, 1 / 11, expect_success=False,
                        control=(0.8, 0.65, 0.9, 1 / 11))
    assert paper.verdict == C.REPRODUCED
    # the bar is 1.5 x chance: the upper bound must lie below it
    assert C.retrieval("c", "colors", 0.1, 0.06, 0.15, 0.1, False, control=GOOD_CONTROL).verdict == C.UNTESTABLE
    assert C.retrieval("c", "colors", 0.1, 0.06, 0.15 - 1e-6, 0.1, False, control=GOOD_CONTROL).verdict == C.REPRODUCED
    # powered, but no control, or a control that does not succeed by the positive rule: no power either
    assert C.retrieval("c", "colors", 0.1, 0.06, 0.14, 0.1, False).verdict == C.UNTESTABLE
    for ctrl, ok in (((0.5, 0.1 + EPS, 0.7, 0.1), True), ((0.5, 0.1, 0.7, 0.1), False),
                     ((0.5 - EPS, 0.2, 0.7, 0.1), False), ((0.6, 0.31, 0.8, 0.3 + EPS), False)):
        v = C.retrieval("c", "colors", 0.1, 0.06, 0.14, 0.1, False, control=ctrl).verdict
        assert v == (C.REPRODUCED if ok else C.UNTESTABLE), ctrl
    # colour SeVecs that do work here: not reproduced (significantly above chance, estimate at the bar)
    assert C.retrieval("c", "colors", 0.77, 0.6, 0.9, 0.25, False, control=GOOD_CONTROL).verdict == C.NOT
    assert C.retrieval("c", "colors", 0.15, 0.1 + EPS, 0.2, 0.1, False).verdict == C.NOT
    assert C.retrieval("c", "colors", 0.15 - 1e-6, 0.1 + EPS, 0.2, 0.1, False).verdict == C.UNTESTABLE
    assert C.retrieval("c", "colors", 0.3, 0.1, 0.5, 0.1, False).verdict == C.UNTESTABLE   # not significant
    with pytest.raises(ValueError, match="only with expect_success=False"):
        C.retrieval("t", "texture", 0.6, 0.4, 0.8, 0.1, control=GOOD_CONTROL)
    with pytest.raises(ValueError, match="4 numbers"):
        C.retrieval("c", "colors", 0.1, 0.06, 0.14, 0.1, False, control=(0.8, 0.6, 0.9))


GRAY_CONTROL = (0.9, 0.3, 0.55, 0.65)     # the colour-coded network loses 60 points in gray


def test_gray_ablation_needs_power_and_a_positive_control():
    # the paper's claim as numbers: a small, tight drop, and a network that leans on colour loses a lot
    assert C.color_ablation(0.715, 0.69, 0.015, 0.035, control=GRAY_CONTROL).verdict == C.REPRODUCED
    # the upper bound must lie below ten points
    assert C.color_ablation(0.8, 0.75, 0.03, 0.1, control=GRAY_CONTROL).verdict == C.UNTESTABLE
    assert C.color_ablation(0.8, 0.75, 0.03, 0.1 - 1e-6, control=GRAY_CONTROL).verdict == C.REPRODUCED
    # the control must lose more than ten points (its lower bound)
    assert C.color_ablation(0.8, 0.75, 0.03, 0.07, control=(0.9, 0.7, 0.1, 0.3)).verdict == C.UNTESTABLE
    assert C.color_ablation(0.8, 0.75, 0.03, 0.07, control=(0.9, 0.7, 0.1 + 1e-6, 0.3)).verdict == C.REPRODUCED
    row = C.color_ablation(0.8, 0.75, 0.03, 0.07)
    assert row.verdict == C.UNTESTABLE and "no positive control" in row.why
    # a significant drop of at least ten points: not reproduced
    assert C.color_ablation(0.8, 0.7, 0.05, 0.15, control=GRAY_CONTROL).verdict == C.NOT
    assert C.color_ablation(0.8, 0.7 + 1e-6, 0.05, 0.15, control=GRAY_CONTROL).verdict == C.UNTESTABLE
    assert C.color_ablation(0.8, 0.6, 0.0, 0.4, control=GRAY_CONTROL).verdict == C.UNTESTABLE   # not significant
    assert C.color_ablation(0.900, 0.268, 0.6, 0.66).verdict == C.NOT      # the first world
    row = C.color_ablation(0.737, 0.341, 0.36, 0.43, control=GRAY_CONTROL)   # the world 2 network
    assert row.verdict == C.NOT and "0.396" in row.why
    with pytest.raises(ValueError, match="4 numbers"):
        C.color_ablation(0.8, 0.75, 0.03, 0.07, control=(0.9, 0.3))


def test_gray_recovery():
    assert C.gray_recovery(0.8, 0.79, 0.5).verdict == C.UNTESTABLE
    assert C.gray_recovery(0.8, 0.5, 0.78).verdict == C.REPRODUCED
    assert C.gray_recovery(0.8, 0.5, 0.78 - 1e-6).verdict == C.PARTLY
    assert C.gray_recovery(0.8, 0.5, 0.65).verdict == C.PARTLY
    assert C.gray_recovery(0.8, 0.5, 0.65 - 1e-6).verdict == C.NOT


def test_dominant_cluster():
    assert C.dominant_cluster([0.9] * 9 + [0.4]).verdict == C.REPRODUCED
    assert C.dominant_cluster([0.9] * 8 + [0.4] * 2).verdict == C.PARTLY
    assert C.dominant_cluster([0.5] * 10).verdict == C.NOT  # exactly half is not "most"


SEP = (0.2, 0.12, 0.28)       # two targets' maps differ by 0.2 more total variation with the mask


def _fig6(effect, other=(-0.05, -0.08, -0.02), perm=(-0.041, -0.06, -0.02), beats=(0.063, 0.04, 0.085),
          plain=0.2, separation=SEP):
    return C.discriminative("GuidedBP", effect, other, perm, beats, plain=plain, separation=separation).verdict


def test_fig6_v3_the_class_units_beat_as_many_random_units():
    good_other, perm, beats = (-0.05, -0.08, -0.02), (-0.041, -0.06, -0.02), (0.063, 0.04, 0.085)
    # the numbers: a permuted mask lowering the energy is expected; semantic minus permuted is what counts
    row = C.discriminative("GuidedBP", (0.05, 0.008, 0.09), good_other, perm, beats, plain=0.2, separation=SEP)
    assert row.verdict == C.REPRODUCED and "semantic minus permuted +0.063" in row.ours
    assert _fig6((0.05, 0.0, 0.09)) == C.NOT
    assert _fig6((0.05, EPS, 0.09)) == C.REPRODUCED
    # semantic minus permuted must lie above 0
    assert _fig6((0.05, 0.01, 0.09), beats=(0.02, 0.0, 0.04)) == C.PARTLY
    assert _fig6((0.05, 0.01, 0.09), beats=(0.02, EPS, 0.04)) == C.REPRODUCED
    # the permuted-minus-plain numbers are printed, not judged (even a permuted mask that also raises it)
    assert _fig6((0.05, 0.01, 0.09), perm=(0.02, 0.01, 0.03)) == C.REPRODUCED
    assert _fig6((0.05, 0.01, 0.09), perm=None) == C.REPRODUCED
    # the other object's mask must lower it
    assert _fig6((0.05, 0.01, 0.09), other=(-0.01, -0.03, 0.0)) == C.PARTLY
    assert _fig6((0.05, 0.01, 0.09), other=None) == C.PARTLY
    # the old call (no semantic-minus-permuted interval, no size, no separation) cannot reach reproduced
    row = C.discriminative("GuidedBP", (0.05, 0.01, 0.09), good_other, (0.0, -0.01, 0.01))
    assert row.verdict == C.PARTLY and "not measured" in row.why
    assert C.discriminative("Gradient*Input", (0.1, 0.05, 0.15), good_other, perm, beats).id == "fig6_gradient_input"


def test_fig6_v4_needs_an_effect_a_picture_shows_and_maps_that_differ_between_targets():
    # the number: +0.022 on 0.419 plain (5% relative) is significant but below the floor: partly at most
    row = C.discriminative("GuidedBP", (0.022, 0.008, 0.036), (-0.05, -0.08, -0.02), (-0.041, -0.06, -0.02),
                           (0.063, 0.04, 0.085), plain=0.419, separation=SEP)
    assert row.verdict == C.PARTLY and "below the floor" in row.why and "(+5%)" in row.ours
    # the floor is a fifth of the plain share, inclusive
    assert _fig6((0.04, 0.01, 0.07), plain=0.2) == C.REPRODUCED
    assert _fig6((0.04 - 1e-6, 0.01, 0.07), plain=0.2) == C.PARTLY
    assert _fig6((0.05, 0.01, 0.09), plain=None) == C.PARTLY
    # the maps of two targets must differ significantly more with the mask, by at least 0.10
    assert _fig6((0.05, 0.01, 0.09), separation=(0.1, 0.05, 0.15)) == C.REPRODUCED
    assert _fig6((0.05, 0.01, 0.09), separation=(0.1 - 1e-6, 0.05, 0.15)) == C.PARTLY
    assert _fig6((0.05, 0.01, 0.09), separation=(0.2, 0.0, 0.4)) == C.PARTLY
    assert _fig6((0.05, 0.01, 0.09), separation=None) == C.PARTLY
    # separation alone never makes up for no energy on the target
    assert _fig6((0.05, -0.01, 0.09), separation=(0.5, 0.4, 0.6)) == C.NOT
    why = C.discriminative("GuidedBP", (0.05, 0.01, 0.09), None, None, None, plain=0.2,
                           separation=(0.02, -0.01, 0.05)).why
    assert "do not differ significantly more" in why


def test_example_scene_is_the_median_scene():
    # scene means: 0 -> 0.1, 1 -> 0.3, 2 -> -0.2, 3 -> 0.0, 4 -> 0.5: sorted 2, 3, 0, 1, 4 -> median scene 0
    scene = [4, 0, 0, 1, 2, 2, 3]
    imp = [0.5, 0.0, 0.2, 0.3, -0.1, -0.3, 0.0]
    assert C.example_scene(scene, imp) == 0
    rev = slice(None, None, -1)
    assert C.example_scene(scene[rev], imp[rev]) == 0          # the order of the pairs does not matter
    # four scenes: the lower median
    assert C.example_scene([0, 1, 2, 3], [0.4, 0.1, 0.3, 0.2]) == 3
    # equal means: ordered by id
    assert C.example_scene([5, 2, 9], [0.1, 0.1, 0.1]) == 5
    assert C.example_scene([7, 3], [0.2, 0.2]) == 3
    assert "median" in C.EXAMPLE_SCENE_RULE
    with pytest.raises(ValueError, match="one entry per pair"):
        C.example_scene([0, 1], [0.1])
    with pytest.raises(ValueError, match="no pairs"):
        C.example_scene([], [])
    with pytest.raises(ValueError, match="finite"):
        C.example_scene([0, 1], [0.1, float("nan")])


def test_fig7_judges_only_where_some_method_hits():
    e = [0.0, 0.25, 0.5, 0.75, 1.0]
    best = [0.4, 0.3, 0.2, 0.05, 0.0]      # the last two energies are at the floor: not judged
    assert C.pointing("GuidedBP", e, [0.1] * 5, [0.05, 0.05, 0.05, -1, -1], [0.2] * 5, best).verdict == C.REPRODUCED
    # 2 of 3 judged energies above 0 (67% < 80%), none below: partly
    assert C.pointing("GuidedBP", e, [0.1] * 5, [0.05, 0.05, 0.0, 0, 0], [0.2] * 5, best).verdict == C.PARTLY
    # significantly worse at one judged energy: not reproduced
    assert C.pointing("GuidedBP", e, [0.1] * 5, [0.05, 0.05, 0.05, 0, 0], [0.2, 0.2, -0.01, 0, 0],
                      best).verdict == C.NOT
    # 4 of 5 judged (80%) is enough
    best5 = [0.5] * 5
    assert C.pointing("GuidedBP", e, [0.1] * 5, [0.1, 0.1, 0.1, 0.1, 0.0], [0.2] * 5, best5).verdict == C.REPRODUCED
    assert C.pointing("GuidedBP", e, [0.1] * 5, [0.1] * 5, [0.2] * 5, [0.05] * 5).verdict == C.UNTESTABLE
    # the first world: the old rule demanded an improvement at m = 1.0, where every method is 0
    assert C.pointing("GuidedBP", [0.9, 1.0], [0.1, 0.0], [0.05, 0.0], [0.2, 0.0], [0.3, 0.0]).verdict == C.REPRODUCED


def test_fig7_v4_floor_on_the_mean_improvement():
    e, best = [0.0, 0.5], [0.5, 0.5]
    # significant everywhere, but the mean gain over the judged energies must be at least two points
    assert C.pointing("G", e, [0.02, 0.02], [0.01, 0.01], [0.03, 0.03], best).verdict == C.REPRODUCED
    row = C.pointing("G", e, [0.02, 0.02 - 2e-6], [0.01, 0.01], [0.03, 0.03], best)
    assert row.verdict == C.PARTLY and "below the floor" in row.why
    assert row.numbers["mean_improvement"] == pytest.approx(0.02 - 1e-6)
    # the paper's Fig. 7 as numbers: a clear gain at every m
    assert C.pointing("G", [0.1, 0.3, 0.5, 0.7, 0.9], [0.08] * 5, [0.05] * 5, [0.11] * 5, [0.6] * 5).verdict == C.REPRODUCED


def test_rows_are_typed_and_headline_names_the_quantitative_results():
    with pytest.raises(ValueError, match="verdict must be"):
        C.Verdict("x", "c", "p", "o", "sort of", "w")
    rows = [C.table2(1, -0.5, 0.001, 40, 0.0).as_dict(), C.untestable("table1", "Table 1", "0.19", "no labels").as_dict()]
    text = C.headline(rows)
    assert "2 of the paper's claims" in text and "1 reproduced" in text and "1 not testable" in text
    assert "Table 1 not testable" in text and "Table 2 (top-1) reproduced" in text
    assert "Not measured in this run: Table 2 (top-5), Fig. 7 (GuidedBP), Fig. 7 (Gradient*Input)" in text
    assert all(math.isfinite(v) for v in rows[0]["numbers"].values())


def _t1_row(predicted=None, others=None):
    mean = {"associated_neuron": 0.001, "random_neuron": 0.0, "sevec_mask": 0.106, "permuted_mask": -0.5}
    return C.table1(mean, {k: 0.004 for k in mean}, 0.004, predicted=predicted, others=others)


def test_table1_row_names_label_dependence_and_other_masks():
    # the numbers: +0.106 with the true label, +0.020 with the predicted class (top-1 unchanged);
    # most selective units +0.115 and mean activation +0.110 do as well
    row = _t1_row({"mean": 0.020, "sem": 0.003, "acc_before": 0.737, "acc_after": 0.737},
                  {"most selective units": {"mean": 0.115, "sem": 0.004, "acc_after": 0.8},
                   "mean activation": {"mean": 0.110, "sem": 0.004}})
    assert row.verdict == C.PARTLY                      # the verdict is the paper's claim, unchanged
    assert "the effect needs the true label: with the predicted class's mask +0.020" in row.why
    assert "top-1 0.737 -> 0.737" in row.why
    assert "most selective units +0.115 (as well)" in row.why and "mean activation +0.110 (as well)" in row.why
    assert row.numbers["needs_true_label"] is True and row.numbers["other_mean_activation_as_well"] is True
    plain = _t1_row()
    assert plain.verdict == C.PARTLY and "label dependence not measured" in plain.why
    assert "masks from other vectors not measured" in plain.why


def test_table1_readings_boundaries():
    # d = 3 * sqrt(0.004^2 + 0.003^2) = 0.015: below 0.106 - 0.015 the effect needs the true label
    d = 3 * math.hypot(0.004, 0.003)
    assert "does not need the true label" in _t1_row({"mean": 0.106 - d, "sem": 0.003, "acc_after": 0.7}).why
    assert "needs the true label" in _t1_row({"mean": 0.106 - d - 1e-6, "sem": 0.003, "acc_after": 0.7}).why
    assert "(as well)" in _t1_row(others={"x": {"mean": 0.106 - d, "sem": 0.003}}).why
    assert "(less well)" in _t1_row(others={"x": {"mean": 0.106 - d - 1e-6, "sem": 0.003}}).why
    with pytest.raises(ValueError, match="'mean' and 'sem'"):
        _t1_row({"mean": 0.02})
    with pytest.raises(ValueError, match="others\\['x'\\]"):
        _t1_row(others={"x": 0.1})


def test_agreement_across_networks():
    R, N, U = C.REPRODUCED, C.NOT, C.UNTESTABLE
    assert C.agreement([R, R, R]) == (R, "reproduced on all 3 networks")
    assert C.agreement({"a": R, "b": R, "c": N}) == (C.MIXED, "mixed: reproduced on 2 of 3, not reproduced on 1 of 3")
    assert C.agreement([U, R, U]) == (C.MIXED, "mixed: reproduced on 1 of 3, not testable on 2 of 3")
    assert C.agreement([N]) == (N, "not reproduced on the only network judged")
    with pytest.raises(ValueError, match="at least one network"):
        C.agreement([])
    with pytest.raises(ValueError, match="each network's verdict"):
        C.agreement([R, C.MIXED])


def test_across_networks_rows_and_mixed_is_never_counted_as_reproduced():
    rows = {"vgg_mini": C.table2(5, -0.6, 1e-4, 32, 0.1), "vgg_mini_seed1": C.table2(5, -0.55, 1e-3, 32, 0.1).as_dict(),
            "vgg_mini_seed2": C.table2(5, 0.1, 0.6, 32, 0.1)}
    row = C.across_networks(rows)
    assert row.id == "table2_top5" and row.verdict == C.MIXED and row.why == "mixed: reproduced on 2 of 3, not reproduced on 1 of 3"
    assert row.numbers["per_network"] == {"vgg_mini": C.REPRODUCED, "vgg_mini_seed1": C.REPRODUCED,
                                          "vgg_mini_seed2": C.NOT}
    assert row.numbers["networks"] == 3 and row.numbers["reproduced_on"] == 2
    assert "vgg_mini_seed2: not reproduced (r = 0.100" in row.ours
    agreed = C.across_networks({k: C.table1(C.PAPER["table1"], {q: 1e-3 for q in C.PAPER["table1"]}, 1e-3)
                                for k in ("a", "b", "c")})
    assert agreed.verdict == C.REPRODUCED and agreed.why == "reproduced on all 3 networks"
    c = C.counts([row.as_dict(), agreed.as_dict()])
    assert c[C.REPRODUCED] == 1 and c[C.MIXED] == 1
    text = C.headline([row.as_dict(), agreed.as_dict()])
    assert "1 reproduced" in text and "1 mixed" in text and "Table 2 (top-5) mixed" in text
    with pytest.raises(ValueError, match="one claim"):
        C.across_networks({"a": C.table2(1, -0.6, 1e-4, 32, 0.1), "b": C.table2(5, -0.6, 1e-4, 32, 0.1)})
    with pytest.raises(ValueError, match="at least one network"):
        C.across_networks({})
    # a verdict outside the rules' vocabulary is an error, not a row that goes uncounted
    with pytest.raises(ValueError, match="outside"):
        C.counts([{"id": "x", "verdict": "reproduced on 2 of 3"}])


def test_summary_rows_combine_each_claim_per_testbed_and_count_mixed_apart():
    from sevec_helpers.book.chapters import summary

    def rec(*rows):
        return {"04_multifacetedness": {"verdicts": [r.as_dict() for r in rows], "checks": [], "profile": "world"}}

    collected = {("world", "a"): rec(C.table2(1, -0.6, 1e-4, 32, 0.1), C.multifacetedness(0.05, 0.7, 32, probe=PROBE)),
                 ("world", "b"): rec(C.table2(1, -0.6, 1e-4, 32, 0.1), C.multifacetedness(0.6, 1e-4, 60, probe=PROBE)),
                 ("world", "c"): rec(C.table2(1, -0.6, 1e-4, 32, 0.1))}
    (bed, rows), = summary.testbed_rows(collected).items()
    rows = {r["id"]: r for r in rows}
    assert bed == "ConceptWorld"
    assert rows["table2_top1"]["verdict"] == C.REPRODUCED and rows["table2_top1"]["claim"].startswith("[04] ")
    assert rows["dc_multifaceted"]["verdict"] == C.MIXED
    # a network that did not judge the claim counts as "not testable" there: no agreement without it
    assert rows["dc_multifaceted"]["why"] == ("mixed: reproduced on 1 of 3, not reproduced on 1 of 3, "
                                              "not testable on 1 of 3 (ConceptWorld); not judged on c")
    c = C.counts(list(rows.values()))
    assert c[C.REPRODUCED] == 1 and c[C.MIXED] == 1 and sum(c.values()) == 2
    assert summary.headlines(collected).data.startswith("**On ConceptWorld, 3 networks: 2 of the paper's claims")


def test_table1_v4_floor_on_the_rise():
    # significant and beating one neuron, but under two points of probability: partly
    assert _t1(0.02, sem=0.001, sem_diff=0.001) == C.REPRODUCED
    assert _t1(0.02 - 1e-6, sem=0.001, sem_diff=0.001) == C.PARTLY
    row = C.table1({"associated_neuron": 0.0, "random_neuron": 0.0, "sevec_mask": 0.01, "permuted_mask": -0.3},
                   {k: 1e-4 for k in ("associated_neuron", "random_neuron", "sevec_mask", "permuted_mask")}, 1e-4)
    assert row.verdict == C.PARTLY and "below the floor" in row.why and "destroys the decision" in row.why
    # a permuted mask that raises it by more than half as much is still not reproduced, floor or not
    assert _t1(0.01, perm=0.006, sem=0.001, sem_diff=0.001) == C.NOT


def test_hierarchy_v4_floor_and_meaning():
    ok = dict(silhouette=0.1, silhouette_p=0.01, nn_agreement=0.8, nn_p=0.02, silhouette_perm=-0.05, nn_perm=0.3)
    # the nearest SeVec must share the level for most classes and at least twice as often as shuffled
    assert C.hierarchy("group", **dict(ok, nn_agreement=0.6)).verdict == C.REPRODUCED     # floor max(0.5, 0.6)
    assert C.hierarchy("group", **dict(ok, nn_agreement=0.6 - 1e-6)).verdict == C.PARTLY
    assert C.hierarchy("group", **dict(ok, nn_agreement=0.5, nn_perm=0.1)).verdict == C.REPRODUCED
    row = C.hierarchy("group", **dict(ok, nn_agreement=0.5 - 1e-6, nn_perm=0.1))
    assert row.verdict == C.PARTLY and "floor" in row.why
    row = C.hierarchy("superclass", **ok, meaning="on ConceptWorld: the scene background the world plants")
    assert row.claim == "Fig. 3: class SeVecs cluster by superclass (on ConceptWorld: the scene background the world plants)"
    assert "0.80 of classes" in row.why


def test_v4_whys_agree_with_their_numbers():
    # the materials row: 0.357 is 3.3 x chance, above chance, below the 0.5 bar
    row = C.retrieval("fig2_materials", "materials", 0.357, 0.2, 0.5, 0.108)
    assert row.verdict == C.PARTLY
    assert "3.3 x chance" in row.why and "below the bar max(0.5, 2 x chance) = 0.500" in row.why
    # above chance on average, but the interval reaches it: not reproduced, and the why says so
    row = C.retrieval("r", "texture", 0.3, 0.1, 0.5, 0.1)
    assert row.verdict == C.NOT and "interval reaches chance" in row.why and "3.0 x chance" in row.why
    assert "no better than chance" in C.retrieval("r", "texture", 0.05, 0.0, 0.1, 0.1).why
    assert "reaches the bar" in C.relations("x", "texture", 0.6, 0.4, 0.8, 0.1, 24).why
    assert "share of right explanations 0.300" in C.explanations("x", "texture", 0.3, 0.15, 0.45, 0.1, 24).why
    # the colour ablation names what a network trained on gray loses
    row = C.color_ablation(0.737, 0.341, 0.36, 0.43, control=GRAY_CONTROL, retrained=0.675)
    assert row.verdict == C.NOT and "trained on gray images reaches 0.675 on them, 0.062 below" in row.why
    assert row.numbers["retrained_gap"] == pytest.approx(0.062)


def test_v4_every_row_and_headline_names_its_testbed():
    assert C.testbed_of("world") == "ConceptWorld" and C.testbed_of("photos") == "real photographs"
    row = C.table2(1, -0.6, 1e-4, 32, 0.1)
    row.testbed = "ConceptWorld"
    assert row.as_dict()["testbed"] == "ConceptWorld"
    agreed = C.across_networks({n: row for n in ("a", "b", "c", "d")})
    assert agreed.why == "reproduced on all 4 networks (ConceptWorld)" and agreed.testbed == "ConceptWorld"
    text = C.headline([agreed.as_dict()], networks=4)
    assert text.startswith("On ConceptWorld, 4 networks: 1 of the paper's claims tested")
    photo = C.table2(1, -0.6, 1e-4, 90, 0.1)
    photo.testbed = "real photographs"
    both = C.across_networks({"a": row, "lite0": photo})
    assert both.testbed == "ConceptWorld and real photographs"
    assert C.headline([both.as_dict()], testbed="real photographs", networks=3).startswith("On real photographs, 3 networks:")


def test_v4_definitions_cover_every_verdict_and_the_changelog_every_version():
    assert set(C.DEFINITIONS) == set(C.VERDICTS)
    assert "positive control" in C.DEFINITIONS[C.UNTESTABLE] and "positive control" in C.DEFINITIONS[C.NOT]
    assert [v for v, _ in C.CHANGELOG] == [f"v{i}" for i in range(1, C.RULES_VERSION + 1)]
