"""The paper's claims, its numbers, and the rules that judge ours against them.

Two kinds of rows come out of this module:

- :class:`Verdict`: one of the paper's claims, tested the way the paper tested it, printed
  beside the paper's number. Its verdict is one of ``reproduced``, ``partly``,
  ``not reproduced`` or ``not testable`` (with the reason); a claim judged on several
  networks (:func:`across_networks`) is ``mixed`` when they disagree, never counted as
  reproduced.
- :class:`Check`: a check of our own (a sanity check, an easier variant, an extension).
  It reports a result and never counts as a reproduction.

Every rule is a function with its boundaries in its docstring, written before the numbers
it judges were seen, and tested at those boundaries in ``tests/test_claims.py``. The rules
take plain numbers (means, intervals, p-values); the measurements that produce them live
in :mod:`sevec_helpers.analysis`. Never loosen a rule to fit a result: change the
measurement or report the failure.

Rules v3 (issue 19) were written and committed before the extra networks they are judged
on were trained: negative claims need power and a positive control
(:func:`negative_retrieval`, :func:`color_ablation`), Fig. 6's permuted control asks whether
the class's units beat as many random units (:func:`discriminative`, :func:`example_scene`),
Table 2 is judged on the Fisher-z interval of r and D_c's reading as multifacetedness is
its own row (:func:`table2`, :func:`multifacetedness`), Table 1's row names its label
dependence and the other masks (:func:`table1`), and a claim over several networks gets the
verdict they agree on, else ``mixed`` (:func:`agreement`, :func:`across_networks`).

Rules v4 (issue 30) were written and committed before the photo testbed existed, so the
real photographs are a test the rules were not fitted to. A positive claim needs an
effect-size floor, not only an interval that excludes zero (Table 1: :data:`TABLE1_MIN_RISE`;
Fig. 3: :data:`HIERARCHY_MIN_NN`; Fig. 6: :data:`FIG6_MIN_GAIN` and the maps of two targets
must differ more with the mask, :data:`FIG6_MIN_SEPARATION`; Fig. 7: :data:`FIG7_MIN_GAIN`);
a claim whose positive control fails is "not testable" (D_c as multifacetedness needs a
facet probe that sees the facets, :func:`multifacetedness`); every "why" is written from
the numbers beside it; a hierarchy row says what its levels are on its testbed; and every
row, and every headline, names its testbed (:data:`TESTBEDS`). What each verdict word means
is :data:`DEFINITIONS`; what changed from version to version is :data:`CHANGELOG`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Sequence

import numpy as np

REPRODUCED, PARTLY, NOT, UNTESTABLE = "reproduced", "partly", "not reproduced", "not testable"
MIXED = "mixed"       # across networks only: the networks disagree (never counted as reproduced)
VERDICTS = (REPRODUCED, PARTLY, NOT, UNTESTABLE, MIXED)

# The paper's reported numbers (VGG16, fc1 unless noted), printed beside ours.
PAPER = {
    "table1": {"associated_neuron": 1.05e-06, "random_neuron": -6.72e-07, "sevec_mask": 0.1929,
               "permuted_mask": 4.25e-06},
    "table2": {"top1_r": -0.5245, "top1_p": 9.395e-72, "top5_r": -0.4727, "top5_p": 8.485e-57},
    "table3": {"stone_wall": ("cracked", "stone"), "water_bottle": ("crystalline", "glass"),
               "picket_fence": ("grooved", "wood"), "bath_towel": ("knitted", "fabric"),
               "strawberry": ("bumpy", "foliage"), "dalmatian": ("freckled", None),
               "streetcar": ("porous", "metal")},
}

ALPHA = 0.05          # significance level of every test below
TOL = 1e-9            # inclusive boundaries (<=, >=) are read with this tolerance for rounding
TABLE1_SEMS = 3.0     # "by more than 3 SEM"
CEILING_ACC = 0.98    # Table 2: a class at or above this accuracy sits at the ceiling
CEILING_SHARE = 0.75  # ... and a correlation is not testable when this share of classes does
MODERATE_R = 0.3      # Table 2: |r| below this is a weak correlation
FIG7_MIN_HIT = 0.05   # Fig. 7: an energy counts when some method hits more than this share
FIG7_SHARE = 0.8      # Fig. 7: the interval must lie above 0 at this share of the counted energies
# rules v3 (issue 19), written before the extra networks are trained
NEG_RATIO = 1.5       # negative retrieval claim: "fails" must exclude 1.5 x chance (half-way to the 2 x chance bar)
GRAY_BAR = 0.10       # gray ablation: a drop of ten points of top-1 is "colour matters"
NEGLIGIBLE_R = 0.1    # Table 2 / D_c: |r| below this is negligible (Cohen's small effect)
Z95 = 1.959963984540054  # two-sided 95% normal quantile (Fisher-z intervals)
# rules v4 (issue 30), written before the photo testbed exists
RULES_VERSION = 4
TABLE1_MIN_RISE = 0.02    # Table 1: the SeVec mask must raise p(true class) by two points (a tenth of the paper's 0.19)
HIERARCHY_MIN_NN = 0.5    # Fig. 3: most classes' nearest SeVec shares the level, and at least 2 x the shuffled share
FIG6_MIN_GAIN = 0.20      # Fig. 6: the mask adds at least a fifth to the energy share in the target's box
FIG6_MIN_SEPARATION = 0.10  # Fig. 6: two targets' maps differ by 0.10 more total variation with the mask than without
FIG7_MIN_GAIN = 0.02      # Fig. 7: the mean improvement over the judged energies is at least two points of accuracy
FACET_PROBE_SHARE = 0.5   # D_c: the facet probe must close half the gap from chance to a perfect probe

TESTBEDS = {"world": "ConceptWorld", "photos": "real photographs", "imagenet": "ImageNet",
            "imagenette": "Imagenette"}
"""The testbed each profile judges the paper on, as every verdict row and headline names it."""

DEFINITIONS = {
    "reproduced": "the paper's result came out, by the rule written before the number was seen, with an effect at "
                  "least as large as the rule's floor",
    "partly": "part of the result came out: the effect is there but smaller than the rule's floor, or one of the "
              "controls that would expose a spurious effect fails",
    "not reproduced": "the test could have shown the paper's result (every positive control it needs succeeded) and "
                      "it did not come out: the effect is absent, reversed, or explained by a control (for a negative "
                      "claim: the effect the paper says is absent is there)",
    "not testable": "this testbed cannot test the claim, or the test had no power to: no data or ground truth of "
                    "that kind, an interval too wide to exclude the alternative, or a failed positive control",
    "mixed": "across networks only: the networks judged do not agree; never counted as reproduced",
}
"""What each verdict word means, as the summary and the glossary print it (rules v4)."""

CHANGELOG = (
    ("v1", "370e1a8 (the first book): three verdict words; retrieval works at 2 x chance and 0.5, partly at 1.5 x "
           "chance; one row per claim without intervals"),
    ("v2", "b733b8b, before ConceptWorld 2 existed: typed rows (paper claims apart from our own checks), 'not "
           "testable'; Table 1 by 3 SEM against zero and the single neuron with a permuted control; Table 2 per k "
           "with a ceiling rule; Fig. 3 with Holm over two permutation tests; Fig. 6 on a scene-level interval with "
           "two controls; Fig. 7 judged only where some method hits more than 5%; retrieval, relations and Table 3 "
           "on intervals against chance"),
    ("v3", "4d8125f, before the replicate networks were trained: negative claims need power and a positive "
           "control (colour SeVecs, the gray ablation); Fig. 6 asks whether the class's units beat as many random "
           "units; Table 2 judged on the Fisher-z interval of r, and D_c's reading as multifacetedness its own row; "
           "Table 1 names its label dependence; a claim over several networks gets the verdict they agree on, else "
           "mixed"),
    ("v4", "before the photo testbed existed: effect-size floors for Table 1, Fig. 3, Fig. 6 and Fig. 7; Fig. 6 "
           "also asks that two targets' maps differ more with the mask; D_c as multifacetedness needs a facet probe "
           "(a positive control) and is not testable without one; every why is written from its numbers; hierarchy "
           "rows say what their levels are on the testbed; every row and headline names its testbed"),
)
"""What changed from one version of the rules to the next (rules v4)."""


def testbed_of(profile: str) -> str:
    """The testbed a profile judges the paper on (``"world"`` -> ``"ConceptWorld"``)."""
    return TESTBEDS.get(profile, profile)


@dataclass
class Verdict:
    """One of the paper's claims, tested the paper's way, with the paper's number beside ours."""

    id: str
    claim: str
    paper: str
    ours: str
    verdict: str
    why: str
    numbers: dict = field(default_factory=dict)
    testbed: str = ""   # rules v4: the testbed the claim was judged on (set by the chapter's record)

    def __post_init__(self):
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, got {self.verdict!r}")

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class Check:
    """A check of our own: reported with its result, never counted as a reproduction."""

    id: str
    check: str
    ours: str
    reading: str
    numbers: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


def _finite(*vals) -> bool:
    return all(v is not None and isinstance(v, (int, float, np.floating, np.integer)) and math.isfinite(float(v))
               for v in vals)


def _ci(lo, hi, signed: bool = False) -> str:
    return f"[{lo:+.3f}, {hi:+.3f}]" if signed else f"[{lo:.3f}, {hi:.3f}]"


def untestable(id: str, claim: str, paper: str, why: str) -> Verdict:
    """A claim this run cannot test (no ground truth, no data of that kind, ...): say why."""
    return Verdict(id, claim, paper, "not measured", UNTESTABLE, why)


# ---------------------------------------------------------------------------------------
# agreement with the truth: retrieval (Fig. 1-2), relations (Fig. 5), explanations (Table 3)
# ---------------------------------------------------------------------------------------


def _works(estimate: float, low: float, chance: float) -> str:
    """'yes' when the estimate is at least max(0.5, 2 x chance) and the interval's lower
    bound is above chance; 'partly' when only the lower bound is above chance; else 'no'."""
    if low > chance and estimate >= max(0.5, 2 * chance):
        return "yes"
    if low > chance:
        return "partly"
    return "no"


def _works_why(works: str, what: str, estimate: float, low: float, chance: float) -> str:
    """The reason of a :func:`_works` grade, written from its numbers (rules v4): the
    estimate as a multiple of chance, and which bar it meets or misses."""
    times = f"{estimate / chance:.1f} x chance" if chance > 0 else "chance is 0"
    bar = max(0.5, 2 * chance)
    if works == "yes":
        return f"{what} {estimate:.3f} ({times}) reaches the bar max(0.5, 2 x chance) = {bar:.3f}, interval above chance"
    if works == "partly":
        return (f"{what} {estimate:.3f} ({times}) is above chance (interval from {low:.3f}) but below the bar "
                f"max(0.5, 2 x chance) = {bar:.3f}")
    if estimate > chance:
        return f"{what} {estimate:.3f} ({times}), but its interval reaches chance ({low:.3f} <= {chance:.3f})"
    return f"{what} {estimate:.3f} is no better than chance ({chance:.3f})"


def retrieval(id: str, kind: str, precision: float, low: float, high: float, chance: float,
              expect_success: bool = True, paper: str = "selected images contain the concept",
              control: Sequence[float] | None = None) -> Verdict:
    """Fig. 1-2: SeVecs select hold-out images that contain their concept.

    Parameters
    ----------
    id, kind : str
        The row's id and the kind of concept (``"texture"``, ``"colors"``, ...).
    precision, low, high : float
        Mean precision@k over concepts and its 95% bootstrap interval over concepts.
    chance : float
        The precision of a random selection.
    expect_success : bool
        ``True``: the claim is that the SeVecs work. ``False``: the paper's negative claim
        (colour SeVecs fail, Fig. 2c), judged by :func:`negative_retrieval`.
    paper : str
        What the paper reports, printed beside ours.
    control : (precision, low, high, chance), optional
        Only with ``expect_success=False``: the same measurement on a network that leans on
        colour (``vgg_mini_colorcoded``), the positive control of the negative claim.

    Returns
    -------
    Verdict

    Raises
    ------
    ValueError
        When ``control`` is given for a positive claim.

    Notes
    -----
    Positive claim. Reproduced: precision >= max(0.5, 2 x chance) and low > chance.
    Partly: low > chance only. Not reproduced: otherwise.

    Negative claim: see :func:`negative_retrieval` (rules v3).
    """
    if not expect_success:
        return negative_retrieval(id, kind, precision, low, high, chance, control=control, paper=paper)
    if control is not None:
        raise ValueError("control is the positive control of a negative claim: pass it only with "
                         "expect_success=False")
    works = _works(precision, low, chance)
    ours = f"precision@k {precision:.3f} {_ci(low, high)} (chance {chance:.3f})"
    nums = {"precision": precision, "low": low, "high": high, "chance": chance}
    v = {"yes": REPRODUCED, "partly": PARTLY, "no": NOT}[works]
    why = _works_why(works, "precision", precision, low, chance)
    claim = f"Fig. 1-2: {kind} SeVecs select images with that concept"
    return Verdict(id, claim, paper, ours, v, why, nums)


def _control(control, name: str, what: str) -> tuple[float, float, float, float] | None:
    if control is None:
        return None
    try:
        vals = tuple(float(v) for v in control)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a tuple {what} of numbers, got {control!r}") from None
    if len(vals) != 4:
        raise ValueError(f"{name} must be a tuple {what} (4 numbers), got {len(vals)} values")
    return vals


def negative_retrieval(id: str, kind: str, precision: float, low: float, high: float, chance: float,
                       control: Sequence[float] | None = None,
                       paper: str = "colour SeVecs select images without the colour") -> Verdict:
    """Fig. 2c (rules v3): the paper's negative claim, colour SeVecs fail to select images
    with their colour. Reproduced only by a test with the power to see them work.

    Parameters
    ----------
    id, kind : str
        The row's id and the kind of concept (``"colors"``).
    precision, low, high : float
        Mean precision@k over colours and its 95% bootstrap interval over colours, on the
        network the chapter judges.
    chance : float
        The precision of a random selection.
    control : (precision, low, high, chance), optional
        The same measurement on ``vgg_mini_colorcoded``, a network that leans on colour:
        the positive control. ``None``: not measured.
    paper : str
        What the paper reports.

    Returns
    -------
    Verdict

    Raises
    ------
    ValueError
        When ``control`` is not four numbers.

    Notes
    -----
    The bar is ``NEG_RATIO`` x chance = 1.5 x chance: half-way from chance to the 2 x chance
    the positive rule asks of a working SeVec. The rule, in this order:

    - not reproduced: low > chance and precision >= bar (the colour SeVecs do better than
      chance, by more than a trifle: they do not fail);
    - not testable (no power): high >= bar (the interval does not exclude a modest
      success), or there is no control, or the control does not succeed by the positive
      rule (its precision >= max(0.5, 2 x its chance) and its low > its chance): then the
      measurement could not have seen colour SeVecs work;
    - reproduced: high < bar and the control succeeds.
    """
    ctrl = _control(control, "control", "(precision, low, high, chance)")
    bar = NEG_RATIO * chance
    ours = f"precision@k {precision:.3f} {_ci(low, high)} (chance {chance:.3f}, failure must exclude {bar:.3f})"
    nums = {"precision": precision, "low": low, "high": high, "chance": chance, "bar": bar}
    claim = f"Fig. 2c: {kind} SeVecs fail to select images with that concept"
    if ctrl is None:
        ours += "; positive control not measured"
        control_ok, control_text = False, "no positive control on the same measurement (vgg_mini_colorcoded)"
    else:
        cm, cl, ch, cc = ctrl
        nums.update(control_precision=cm, control_low=cl, control_high=ch, control_chance=cc)
        ours += f"; positive control (colour-coded network) {cm:.3f} {_ci(cl, ch)} (chance {cc:.3f})"
        control_ok = _works(cm, cl, cc) == "yes"
        control_text = ("the positive control succeeds" if control_ok else
                        "the positive control (a network that leans on colour) does not succeed either: the "
                        "measurement cannot see colour SeVecs work")
    if not (_finite(precision, low, high, chance)):
        return Verdict(id, claim, paper, ours, UNTESTABLE, "the precision or its interval is undefined", nums)
    if low > chance and precision >= bar - TOL:
        v, why = NOT, (f"colour SeVecs select images with their colour better than chance ({precision:.3f} >= "
                       f"{bar:.3f}, interval above chance): they do not fail here")
    elif high >= bar - TOL:
        v, why = UNTESTABLE, (f"no power: the interval reaches {high:.3f} >= {bar:.3f} (1.5 x chance), so it does "
                              f"not exclude colour SeVecs working modestly; {control_text}")
    elif not control_ok:
        v, why = UNTESTABLE, f"no power: {control_text}"
    else:
        v, why = REPRODUCED, (f"the interval excludes even a modest success ({high:.3f} < {bar:.3f}) and the "
                              f"positive control succeeds on the same measurement")
    return Verdict(id, claim, paper, ours, v, why, nums)


def relations(id: str, kind: str, agreement: float, low: float, high: float, chance: float, n: int) -> Verdict:
    """Fig. 5: cos(v_class, v_concept) matches common sense: a class's most relevant
    ``kind`` (texture, material) is one the class really has.

    ``agreement`` is the share of classes whose top concept is true, [low, high] its 95%
    bootstrap interval over classes. Reproduced / partly / not as in :func:`retrieval`.
    """
    works = _works(agreement, low, chance)
    v = {"yes": REPRODUCED, "partly": PARTLY, "no": NOT}[works]
    why = _works_why(works, "the share of classes whose top concept is true", agreement, low, chance)
    return Verdict(id, f"Fig. 5: relevance finds each class's {kind}", "matches common sense (striped -> zebra)",
                   f"top {kind} right for {agreement:.3f} {_ci(low, high)} of {n} classes (chance {chance:.3f})",
                   v, why, {"agreement": agreement, "low": low, "high": high, "chance": chance, "n": n})


def explanations(id: str, kind: str, right: float, low: float, high: float, chance: float, n: int) -> Verdict:
    """Table 3: single decisions are explained by the image's low-level concepts.

    For each correctly classified hold-out image whose class has a ``kind`` (texture,
    material) in the ground truth, the concept whose SeVec is closest to the image's
    binarised features is right when the image really has it. ``right`` is the share of
    right explanations, [low, high] its 95% bootstrap interval over images, ``chance`` the
    share a random concept would get. Reproduced / partly / not as in :func:`retrieval`.
    """
    works = _works(right, low, chance)
    v = {"yes": REPRODUCED, "partly": PARTLY, "no": NOT}[works]
    why = _works_why(works, "the share of right explanations", right, low, chance)
    return Verdict(id, f"Table 3: a decision is explained by the image's {kind}",
                   "stone_wall: cracked + stone, ... (7 hand-picked images)",
                   f"right for {right:.3f} {_ci(low, high)} of {n} images (chance {chance:.3f})", v, why,
                   {"right": right, "low": low, "high": high, "chance": chance, "n": n})


# ---------------------------------------------------------------------------------------
# colour (Sec. 3.1)
# ---------------------------------------------------------------------------------------


def color_ablation(acc: float, acc_gray: float, drop_low: float, drop_high: float,
                   control: Sequence[float] | None = None, retrained: float | None = None) -> Verdict:
    """Sec. 3.1 (rules v3): converting images to gray barely lowers the accuracy, a negative
    claim ("colour does not matter"), reproduced only by a test with the power to see colour
    matter.

    Parameters
    ----------
    acc, acc_gray : float
        Top-1 on the hold-out images in colour and in gray.
    drop_low, drop_high : float
        The 95% bootstrap interval over images of the drop (colour minus gray, per image).
    control : (acc, acc_gray, drop_low, drop_high), optional
        The same measurement on ``vgg_mini_colorcoded`` (a network that leans on colour),
        on its own world's hold-out images: the positive control. ``None``: not measured.
    retrained : float, optional
        Rules v4: top-1 of a network trained on gray images, on the gray images. It does
        not change the verdict; the reason then says how much of the drop remains even
        for a network trained on gray (information gray images lack).

    Returns
    -------
    Verdict

    Raises
    ------
    ValueError
        When ``control`` is not four numbers.

    Notes
    -----
    The bar is ``GRAY_BAR`` = 0.10 (ten points of top-1). In this order:

    - not reproduced: the drop is significant (drop_low > 0) and at least 0.10;
    - not testable (no power): drop_high >= 0.10 (the interval does not exclude a drop
      of ten points), or no control, or the control's drop_low <= 0.10 (the measurement
      does not see colour matter even where it must);
    - reproduced: drop_high < 0.10 and the control's drop_low > 0.10.
    """
    ctrl = _control(control, "control", "(acc, acc_gray, drop_low, drop_high)")
    drop = acc - acc_gray
    claim = "Sec. 3.1: removing colour barely changes accuracy"
    ours = f"top-1 {acc:.3f} -> {acc_gray:.3f} in gray (drop {drop:.3f} {_ci(drop_low, drop_high)})"
    nums = {"acc": acc, "acc_gray": acc_gray, "drop": drop, "low": drop_low, "high": drop_high, "bar": GRAY_BAR}
    if ctrl is None:
        ours += "; positive control not measured"
        control_ok, control_text = False, "no positive control on the same measurement (vgg_mini_colorcoded)"
    else:
        ca, cg, cl, ch = ctrl
        nums.update(control_acc=ca, control_acc_gray=cg, control_drop=ca - cg, control_low=cl, control_high=ch)
        ours += f"; positive control (colour-coded network) {ca:.3f} -> {cg:.3f} (drop {ca - cg:.3f} {_ci(cl, ch)})"
        control_ok = cl > GRAY_BAR
        control_text = ("the positive control loses more than ten points in gray" if control_ok else
                        "the positive control (a network that leans on colour) does not clearly lose ten points "
                        "in gray either: the measurement cannot see colour matter")
    if not _finite(acc, acc_gray, drop_low, drop_high):
        return Verdict("gray_drop", claim, "no significant drop (no number)", ours, UNTESTABLE,
                       "an accuracy or the interval is undefined", nums)
    if drop_low > 0 and drop >= GRAY_BAR - TOL:
        v, why = NOT, f"removing colour costs {drop:.3f} of top-1 (significant): this network leans on colour"
    elif drop_high >= GRAY_BAR - TOL:
        v, why = UNTESTABLE, (f"no power: the interval reaches a drop of {drop_high:.3f} >= {GRAY_BAR:.2f}; "
                              f"{control_text}")
    elif not control_ok:
        v, why = UNTESTABLE, f"no power: {control_text}"
    else:
        v, why = REPRODUCED, ("the interval excludes a drop of ten points and the positive control shows the "
                              "measurement would see one")
    if retrained is not None and _finite(retrained):
        gap = acc - float(retrained)
        nums.update(acc_gray_retrained=float(retrained), retrained_gap=gap)
        ours += f"; a network trained on gray images {float(retrained):.3f} on them"
        why += (f"; a network trained on gray images reaches {float(retrained):.3f} on them, {gap:.3f} "
                + ("below the colour network in colour: part of the drop is information gray images lack"
                   if gap > 0.02 else "from the colour network in colour: gray images lack little information"))
    return Verdict("gray_drop", claim, "no significant drop (no number)", ours, v, why, nums)


def gray_recovery(acc_color: float, acc_gray_before: float, acc_gray_retrained: float) -> Verdict:
    """Sec. 3.1: "the dropped performance is totally recovered after retraining" on gray images.

    ``acc_color``: the colour network on colour images; ``acc_gray_before``: the same
    network on the gray images; ``acc_gray_retrained``: a network trained on gray images,
    on the gray images. Not testable when the drop is under 0.02 (nothing to recover).
    Reproduced: the retrained network is within 0.02 of ``acc_color``. Partly: it recovers
    at least half of the drop. Not reproduced: otherwise.
    """
    drop = acc_color - acc_gray_before
    claim = "Sec. 3.1: retraining on gray images recovers the drop"
    ours = (f"colour {acc_color:.3f}; gray {acc_gray_before:.3f}; retrained on gray {acc_gray_retrained:.3f}")
    nums = {"acc_color": acc_color, "acc_gray_before": acc_gray_before, "acc_gray_retrained": acc_gray_retrained}
    if drop < 0.02:
        return Verdict("gray_recovery", claim, "totally recovered", ours, UNTESTABLE,
                       "removing colour costs under 2 points here: there is nothing to recover", nums)
    share = (acc_gray_retrained - acc_gray_before) / drop
    nums["recovered_share"] = share
    if acc_color - acc_gray_retrained <= 0.02 + TOL:
        v, why = REPRODUCED, "the network trained on gray images is as accurate as the colour one"
    elif share >= 0.5 - TOL:
        v, why = PARTLY, f"retraining recovers {share:.0%} of the drop, not all of it"
    else:
        v, why = NOT, f"retraining recovers only {share:.0%} of the drop: colour carries information here"
    return Verdict("gray_recovery", claim, "totally recovered", ours, v, why, nums)


# ---------------------------------------------------------------------------------------
# Table 1: single neuron vs SeVec
# ---------------------------------------------------------------------------------------


def table1(mean: dict, sem: dict, sem_diff: float, predicted: dict | None = None,
           others: dict | None = None) -> Verdict:
    """Table 1: multiplying fc1 by the SeVec mask raises the true-class probability; a single
    associated neuron does not; a permuted mask of the same size barely moves it.

    Parameters
    ----------
    mean, sem : dict
        Mean change of the true-class probability and its standard error for
        ``associated_neuron``, ``random_neuron``, ``sevec_mask`` and ``permuted_mask``.
    sem_diff : float
        Standard error of the per-image difference (SeVec mask minus associated neuron).
    predicted : dict, optional
        Rules v3: the SeVec mask of the *predicted* class instead of the true label,
        ``{"mean", "sem", "acc_after"}`` and optionally ``"acc_before"`` (top-1 before any
        edit). Written into the row: the label dependence.
    others : dict, optional
        Rules v3: ``{label: {"mean", "sem"}}`` for masks from other vectors on the same
        images (e.g. ``"most selective units"``, ``"mean activation"``). Written into the row.

    Returns
    -------
    Verdict

    Raises
    ------
    ValueError
        When ``predicted`` or an entry of ``others`` lacks ``"mean"`` or ``"sem"``.

    Notes
    -----
    With S = mean["sevec_mask"]:

    - reproduced: S > 3 SEM, S - associated > 3 ``sem_diff``, S >= ``TABLE1_MIN_RISE``
      (rules v4: two points of probability, a tenth of the paper's 0.19) and
      |permuted| <= S / 2 (the paper's permuted control barely moves);
    - partly: the first two hold, but S is below the floor or the permuted control is
      destructive (permuted < -S / 2);
    - not reproduced: anything else (including a permuted mask that raises the probability
      by more than S / 2: then the rise is not the concept's).

    The readings written into the row (they do not change the verdict, which is the
    paper's claim: a SeVec mask versus one neuron), with d = 3 x sqrt(SEM_S^2 + SEM_x^2):
    the effect "needs the true label" when the predicted-class mask's mean is below S - d;
    another mask "does as well as the SeVec mask" when its mean is at least S - d, and
    "does less well" otherwise.
    """
    keys = ("associated_neuron", "random_neuron", "sevec_mask", "permuted_mask")
    s, a, perm = mean["sevec_mask"], mean["associated_neuron"], mean["permuted_mask"]
    raises = s > TABLE1_SEMS * sem["sevec_mask"]
    beats = (s - a) > TABLE1_SEMS * sem_diff
    fmt_ = lambda d: ", ".join(f"{k.replace('_', ' ')} {_num(d[k])}" for k in keys)
    ours = fmt_(mean) + f" (SEM of the SeVec mask {_num(sem['sevec_mask'])})"
    nums = {**{k: mean[k] for k in keys}, **{f"sem_{k}": sem[k] for k in keys}, "sem_diff": sem_diff}
    readings = _table1_readings(s, sem["sevec_mask"], predicted, others, nums)
    large = _finite(s) and s >= TABLE1_MIN_RISE - TOL
    if raises and beats and large and abs(perm) <= s / 2:
        v, why = REPRODUCED, (f"the SeVec mask raises the true class by {_num(s)} (at least the floor "
                              f"{TABLE1_MIN_RISE}), a single neuron does not, the permuted control barely moves")
    elif raises and beats and (perm < -s / 2 or (not large and perm <= s / 2)):
        problems = ([f"the rise {_num(s)} is below the floor of {TABLE1_MIN_RISE} (two points of probability)"]
                    if not large else [])
        if perm < -s / 2:
            problems.append("a permuted mask of the same size destroys the decision, unlike the paper's control")
        v, why = PARTLY, "the SeVec mask raises the true class and beats one neuron, but " + " and ".join(problems)
    elif not raises:
        v, why = NOT, "the SeVec mask does not raise the true-class probability by more than 3 SEM"
    elif not beats:
        v, why = NOT, "the SeVec mask does not beat the single associated neuron by more than 3 SEM"
    else:
        v, why = NOT, "the permuted mask raises the probability by more than half as much: the rise is not the concept's"
    return Verdict("table1", "Table 1: a SeVec mask, not a single neuron, carries the class", fmt_(PAPER["table1"]),
                   ours, v, why + "; " + "; ".join(readings), nums)


def _mean_sem(d, name: str) -> tuple[float, float]:
    if not isinstance(d, dict) or "mean" not in d or "sem" not in d:
        raise ValueError(f"{name} must be a dict with 'mean' and 'sem' (the edit's mean change of p(true class) "
                         f"and its standard error), got {d!r}")
    return float(d["mean"]), float(d["sem"])


def _table1_readings(s: float, sem_s: float, predicted, others, nums: dict) -> list[str]:
    """The label dependence and the other masks' effects, as sentences for the Table 1 row."""
    out = []
    if predicted is None:
        out.append("label dependence not measured (no run with the predicted class's mask)")
    else:
        pm, ps = _mean_sem(predicted, "predicted")
        d = TABLE1_SEMS * math.hypot(sem_s, ps)
        nums.update(predicted_mean=pm, predicted_sem=ps)
        acc = ""
        if predicted.get("acc_after") is not None:
            nums["predicted_acc_after"] = float(predicted["acc_after"])
            acc = (f", top-1 {float(predicted['acc_before']):.3f} -> {float(predicted['acc_after']):.3f}"
                   if predicted.get("acc_before") is not None else f", top-1 after {float(predicted['acc_after']):.3f}")
        needs = _finite(pm, d) and pm < s - d
        nums["needs_true_label"] = bool(needs)
        out.append(("the effect needs the true label" if needs else "the effect does not need the true label")
                   + f": with the predicted class's mask {_num(pm)} (SEM {ps:.3f}){acc} against {_num(s)}")
    if not others:
        out.append("masks from other vectors not measured")
    else:
        parts = []
        for label, d_ in others.items():
            om, os_ = _mean_sem(d_, f"others[{label!r}]")
            d = TABLE1_SEMS * math.hypot(sem_s, os_)
            as_well = _finite(om, d) and om >= s - d
            nums[f"other_{_slug(label)}"] = om
            nums[f"other_{_slug(label)}_as_well"] = bool(as_well)
            parts.append(f"{label} {_num(om)} ({'as well' if as_well else 'less well'})")
        out.append("masks from other vectors against the SeVec mask's " + _num(s) + ": " + ", ".join(parts))
    return out


def _num(v) -> str:
    if not _finite(v):
        return "n/a"
    v = float(v)
    return f"{v:.2e}" if v != 0 and abs(v) < 1e-3 else f"{v:+.3f}"


# ---------------------------------------------------------------------------------------
# Fig. 3: the hierarchy
# ---------------------------------------------------------------------------------------


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values (same order as given)."""
    p = np.asarray(pvalues, float)
    m = len(p)
    order = np.argsort(p)
    adj = np.empty(m)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        adj[i] = running
    return adj.tolist()


def hierarchy(level: str, silhouette: float, silhouette_p: float, nn_agreement: float, nn_p: float,
              silhouette_perm: float, nn_perm: float, meaning: str | None = None) -> Verdict:
    """Fig. 3: class SeVecs cluster by the class hierarchy at ``level`` (superclass, group).

    Parameters
    ----------
    level : str
        The level's name (``"superclass"``, ``"group"``).
    silhouette, silhouette_p : float
        The cosine silhouette of the SeVecs grouped by ``level`` and its permutation p-value.
    nn_agreement, nn_p : float
        The share of classes whose nearest SeVec shares the ``level``, and its p-value.
    silhouette_perm, nn_perm : float
        The same two numbers with the labels shuffled (their permutation means).
    meaning : str, optional
        Rules v4: what the level is on this testbed, written into the row (e.g. on
        ConceptWorld the superclass is the scene background the world plants; on real
        photographs, WordNet's hierarchy).

    Returns
    -------
    Verdict

    Notes
    -----
    The two p-values are Holm-corrected together. Reproduced: both adjusted p < 0.05, the
    silhouette > 0, and (rules v4 floor) ``nn_agreement`` >= max(``HIERARCHY_MIN_NN``,
    2 x ``nn_perm``): most classes' nearest SeVec shares the level, at least twice as
    often as with shuffled labels. Partly: the silhouette is significant and > 0 but the
    rest fails. Not reproduced: otherwise (a nearest-neighbour effect alone does not count).
    """
    p_sil, p_nn = holm([silhouette_p, nn_p])
    sil_ok = p_sil < ALPHA and silhouette > 0
    nn_ok = p_nn < ALPHA and nn_agreement > nn_perm
    floor = max(HIERARCHY_MIN_NN, 2 * nn_perm)
    nn_large = nn_agreement >= floor - TOL
    if sil_ok and nn_ok and nn_large:
        v, why = REPRODUCED, (f"SeVecs of one {level} lie closer together than chance by both measures, and the "
                              f"nearest SeVec shares the {level} for {nn_agreement:.2f} of classes (floor {floor:.2f})")
    elif sil_ok and nn_ok:
        v, why = PARTLY, (f"SeVecs of one {level} are closer than chance by both measures, but the nearest SeVec "
                          f"shares the {level} for only {nn_agreement:.2f} of classes (floor max(0.5, 2 x "
                          f"{nn_perm:.2f}) = {floor:.2f})")
    elif sil_ok:
        v, why = PARTLY, (f"SeVecs of one {level} are closer than chance on average (Holm p = {p_sil:.3f}), but a "
                          f"class's nearest SeVec is not significantly more often of its {level} (Holm p = {p_nn:.3f})")
    elif silhouette > 0:
        v, why = NOT, f"the silhouette by {level}, {silhouette:.3f}, is not significant (Holm p = {p_sil:.3f})"
    else:
        v, why = NOT, f"the silhouette by {level}, {silhouette:.3f}, is not positive"
    claim = f"Fig. 3: class SeVecs cluster by {level}" + (f" ({meaning})" if meaning else "")
    nums = {"silhouette": silhouette, "silhouette_p_holm": p_sil, "nn_agreement": nn_agreement,
            "nn_p_holm": p_nn, "silhouette_perm": silhouette_perm, "nn_perm": nn_perm, "nn_floor": floor}
    return Verdict(f"fig3_{level}", claim, "clear clusters in t-SNE (no number)",
                   f"silhouette {silhouette:.3f} vs {silhouette_perm:.3f} shuffled (Holm p = {p_sil:.3f}); nearest "
                   f"neighbour same {level} {nn_agreement:.2f} vs {nn_perm:.2f} (Holm p = {p_nn:.3f})", v, why, nums)


def dominant_cluster(shares: Sequence[float]) -> Verdict:
    """Sec. 3: clustering a class's features finds "a dominant cluster containing most of
    the samples". ``shares``: per class, the share of its images in its largest cluster.
    Reproduced: the share exceeds 0.5 for at least 90% of classes. Partly: for at least
    half. Not reproduced: otherwise.
    """
    s = np.asarray(shares, float)
    frac = float(np.mean(s > 0.5))
    v = REPRODUCED if frac >= 0.9 else PARTLY if frac >= 0.5 else NOT
    why = {REPRODUCED: "nearly every class has one cluster holding most of its images",
           PARTLY: "many classes, not nearly all, have a dominant cluster",
           NOT: "most classes split into clusters of similar size"}[v]
    return Verdict("dominant_cluster", "Sec. 3: each class has a dominant cluster of features", "always",
                   f"a cluster holds most images in {frac:.2f} of {len(s)} classes (median share {np.median(s):.2f})",
                   v, why, {"share_of_classes": frac, "median_share": float(np.median(s))})


# ---------------------------------------------------------------------------------------
# Table 2: diversity and accuracy
# ---------------------------------------------------------------------------------------


def fisher_interval(r: float, n: int, z: float = Z95) -> tuple[float, float]:
    """The Fisher-z confidence interval of a Pearson correlation.

    Parameters
    ----------
    r : float
        The correlation, in [-1, 1].
    n : int
        The number of pairs it was computed from (at least 4).
    z : float
        The normal quantile (default: two-sided 95%).

    Returns
    -------
    (low, high) : tuple of float
        tanh(atanh(r) -/+ z / sqrt(n - 3)); (r, r) when |r| = 1.

    Raises
    ------
    ValueError
        When r is not a finite number in [-1, 1] or n < 4.
    """
    if not _finite(r) or abs(float(r)) > 1:
        raise ValueError(f"r must be a finite correlation in [-1, 1], got {r!r}")
    if int(n) < 4:
        raise ValueError(f"a Fisher-z interval needs at least 4 pairs, got n = {n}")
    r = float(r)
    if abs(r) == 1.0:
        return r, r
    c, h = math.atanh(r), z / math.sqrt(int(n) - 3)
    return math.tanh(c - h), math.tanh(c + h)


def table2(k: int, r: float | None, p: float | None, n: int, ceiling_share: float) -> Verdict:
    """Table 2 (rules v3): the degree of diversity D_c correlates negatively with top-``k``
    accuracy, judged on the Fisher-z 95% interval of r as well as its sign and size.

    Parameters
    ----------
    k : int
        1 or 5 (top-k accuracy).
    r, p : float or None
        Pearson r of D_c with per-class top-k accuracy and its p-value (reported; the
        verdict uses the interval).
    n : int
        The number of classes.
    ceiling_share : float
        The share of classes with top-k accuracy >= 0.98.

    Returns
    -------
    Verdict

    Notes
    -----
    Not testable (ceiling) when ``ceiling_share`` >= 0.75: the accuracies have too little
    spread to correlate. Not testable when r is undefined (constant values) or n < 4 (no
    interval). With [lo, hi] = :func:`fisher_interval` (r, n):

    - reproduced: r <= -0.3 (at least moderate) and hi <= -0.1 (negative, and the
      interval excludes negligible correlations, |r| < 0.1);
    - partly: hi < 0 but not the above (negative, but possibly weak or negligible);
    - not reproduced: hi >= 0 (the interval reaches zero or above).

    That D_c measures multifacetedness is a separate row (:func:`multifacetedness`).
    """
    paper_r, paper_p = PAPER["table2"][f"top{k}_r"], PAPER["table2"][f"top{k}_p"]
    claim = f"Table 2: diverse classes have lower top-{k} accuracy"
    paper = f"r = {paper_r} (p = {paper_p:.1e}, 1000 classes; Fisher-z interval {_ci(*fisher_interval(paper_r, 1000), True)})"
    if ceiling_share >= CEILING_SHARE:
        return Verdict(f"table2_top{k}", claim, paper, f"{ceiling_share:.0%} of {n} classes at top-{k} >= {CEILING_ACC}",
                       UNTESTABLE, "ceiling: almost every class is classified right, so accuracy has no spread to "
                                   "correlate with", {"ceiling_share": ceiling_share})
    if not _finite(r, p) or n < 4 or abs(float(r)) > 1:
        return Verdict(f"table2_top{k}", claim, paper, f"n = {n}", UNTESTABLE,
                       "the correlation or its interval is undefined (fewer than 4 classes or constant values)",
                       {"ceiling_share": ceiling_share})
    lo, hi = fisher_interval(r, n)
    ours = (f"r = {r:.3f} {_ci(lo, hi, True)} (p = {p:.2g}, {n} classes; {ceiling_share:.0%} of them at top-{k} "
            f">= {CEILING_ACC})")
    nums = {"r": r, "p": p, "n": n, "r_low": lo, "r_high": hi, "ceiling_share": ceiling_share}
    if r <= -MODERATE_R + TOL and hi <= -NEGLIGIBLE_R + TOL:
        v, why = REPRODUCED, "a negative correlation, at least moderate, whose interval excludes negligible ones"
    elif hi < 0:
        v, why = PARTLY, (f"negative, but the interval reaches {hi:+.3f}: the correlation may be weak"
                          if r <= -MODERATE_R + TOL else "negative but weak")
    else:
        v, why = NOT, "the interval of r reaches zero: no clear negative correlation"
    return Verdict(f"table2_top{k}", claim, paper, ours, v, why, nums)


def facet_probe_ok(probe: Sequence[float] | None) -> bool:
    """Rules v4: does a facet probe show that the layer represents the planted facets?

    ``probe`` is (accuracy, low, high, chance): the probe's accuracy at telling apart the
    facets of a class from the layer's features (over images of the classes drawn from two
    or more facets), its 95% interval, and the accuracy of always naming the class's most
    common facet. It succeeds when low > chance and the accuracy closes at least
    ``FACET_PROBE_SHARE`` (half) of the gap from chance to a perfect probe.
    """
    if probe is None:
        return False
    acc, low, _, chance = _control(probe, "probe", "(accuracy, low, high, chance)")
    if not _finite(acc, low, chance):
        return False
    return low > chance and acc >= chance + FACET_PROBE_SHARE * (1 - chance) - TOL


def multifacetedness(r: float | None, p: float | None, n: int, probe: Sequence[float] | None = None) -> Verdict:
    """Sec. 4.2: D_c measures multifacetedness. Tested on the world, where each class is
    drawn from a known number of facets.

    Parameters
    ----------
    r, p : float or None
        Pearson r of D_c with the number of planted facets per class, and its p-value
        (reported). ``None``: no planted facets (real data).
    n : int
        The number of classes.
    probe : (accuracy, low, high, chance), optional
        Rules v4, the positive control: a facet probe at the layer (see
        :func:`facet_probe_ok`). D_c can only be expected to follow the facets when the
        layer represents them.

    Returns
    -------
    Verdict
        Row ``dc_multifaceted``. Table 2's correlation can be reproduced while this row,
        its reading as multifacetedness, is not.

    Notes
    -----
    Not testable when r is undefined (no planted facets, constant values) or n < 4, and
    (rules v4) when the probe is missing or fails: then the layer is not shown to tell the
    facets apart, so D_c not following them says nothing about D_c. Otherwise, with
    [lo, hi] = :func:`fisher_interval` (r, n): reproduced: r >= 0.3 and lo >= 0.1; partly:
    lo > 0 but not the above; not reproduced: lo <= 0.
    """
    claim = "Sec. 4.2: D_c measures multifacetedness (classes of more facets have higher D_c)"
    paper = "D_c read as the number of facets (no direct test)"
    if not _finite(r, p) or n < 4 or abs(float(r)) > 1:
        return Verdict("dc_multifaceted", claim, paper, "not measured", UNTESTABLE,
                       "no planted facets to compare with (or fewer than 4 classes, or constant values)", {})
    lo, hi = fisher_interval(r, n)
    ours = f"r(D_c, planted facets) = {r:.3f} {_ci(lo, hi, True)} (p = {p:.2g}, {n} classes)"
    nums = {"r": r, "p": p, "n": n, "r_low": lo, "r_high": hi}
    if probe is None:
        return Verdict("dc_multifaceted", claim, paper, ours + "; facet probe not measured", UNTESTABLE,
                       "no positive control: nothing shows that the layer tells the planted facets apart", nums)
    acc, plo, phi, pch = _control(probe, "probe", "(accuracy, low, high, chance)")
    nums.update(probe=acc, probe_low=plo, probe_high=phi, probe_chance=pch)
    ours += f"; facet probe {acc:.3f} {_ci(plo, phi)} (chance {pch:.3f})"
    if not facet_probe_ok(probe):
        need = pch + FACET_PROBE_SHARE * (1 - pch)
        return Verdict("dc_multifaceted", claim, paper, ours, UNTESTABLE,
                       f"the positive control fails: a facet probe at the layer tells a class's facets apart "
                       f"{acc:.3f} of the time (needs {need:.3f} with its interval above chance {pch:.3f}), so the "
                       f"layer is not shown to represent the facets D_c should follow", nums)
    if r >= MODERATE_R - TOL and lo >= NEGLIGIBLE_R - TOL:
        v, why = REPRODUCED, (f"the layer tells the facets apart (probe {acc:.3f}) and classes drawn from more "
                              f"facets have clearly higher D_c (r = {r:.3f}, interval from {lo:+.3f})")
    elif lo > 0:
        v, why = PARTLY, (f"the layer tells the facets apart (probe {acc:.3f}) and D_c rises with them, but possibly "
                          f"only weakly (r = {r:.3f}, interval from {lo:+.3f})")
    else:
        v, why = NOT, (f"the layer tells the facets apart (probe {acc:.3f}), yet D_c does not follow them (the "
                       f"interval of r reaches {lo:+.3f}): whatever D_c measures, it is not shown to be "
                       f"multifacetedness")
    return Verdict("dc_multifaceted", claim, paper, ours, v, why, nums)


# ---------------------------------------------------------------------------------------
# Fig. 6 and Fig. 7: semantic saliency
# ---------------------------------------------------------------------------------------


def discriminative(method: str, effect: tuple, other: tuple | None, permuted: tuple | None,
                   vs_permuted: tuple | None = None, *, plain: float | None = None,
                   separation: tuple | None = None) -> Verdict:
    """Fig. 6 (rules v4): the semantic version of ``method`` is more class-discriminative.

    Parameters
    ----------
    method : str
        The saliency method's name (``"GuidedBP"``, ``"Gradient*Input"``).
    effect : (mean, low, high)
        Semantic minus plain: the change of the share of the map's energy inside the
        target's box, with a 95% bootstrap interval over scenes (not over pairs).
    other : (mean, low, high) or None
        The semantic map made with the mask of another object in the same scene, minus
        plain. ``None``: no scene has a second object.
    permuted : (mean, low, high) or None
        A random permutation of the target's mask (same size), minus plain. Printed, not
        judged: a wrong mask lowering the energy is what one expects.
    vs_permuted : (mean, low, high) or None
        Semantic minus permuted (per pair, bootstrapped over scenes): do the class's units
        do better than as many random units? ``None``: not measured.
    plain : float, optional
        Rules v4: the plain map's mean energy share in the target's box, against which the
        effect's size is judged. ``None``: the size is not judged (at most partly).
    separation : (mean, low, high) or None
        Rules v4, class-discriminativity judged directly: for two objects of one scene,
        how different the maps for the two targets are (total variation distance of the
        two maps, each divided by its sum: 0 identical, 1 disjoint), semantic minus plain,
        with a 95% interval over scenes. ``None``: not measured (at most partly).

    Returns
    -------
    Verdict

    Notes
    -----
    Reproduced: effect low > 0 and effect mean >= ``FIG6_MIN_GAIN`` x ``plain`` (the mask
    adds at least a fifth to the energy on the target: a 5% relative change that no
    picture shows is not enough); vs_permuted low > 0; other high < 0; and separation
    low > 0 with mean >= ``FIG6_MIN_SEPARATION`` (the two targets' maps differ by at
    least 0.10 more of their mass with the mask). Partly: effect low > 0 but any of the
    rest fails or is missing. Not reproduced: effect low <= 0.
    """
    m, lo, hi = effect
    nums = {"effect": m, "effect_low": lo, "effect_high": hi}
    parts = [f"energy in the target box {m:+.3f} {_ci(lo, hi, True)}"]
    problems = []
    if plain is None or not _finite(plain):
        problems.append("the effect's size against the plain map was not measured")
    else:
        floor = FIG6_MIN_GAIN * float(plain)
        nums.update(plain=float(plain), effect_floor=floor, relative_effect=m / plain if plain else None)
        parts[0] += f" on {float(plain):.3f} plain ({m / plain:+.0%})" if plain else ""
        if not m >= floor - TOL:
            problems.append(f"the gain {m:+.3f} is below the floor of a fifth of the plain share ({floor:.3f}): too "
                            f"small to see in a map")
    if other is None:
        problems.append("no scene has a second object to take the mask from")
    else:
        nums.update(other=other[0], other_low=other[1], other_high=other[2])
        parts.append(f"other object's mask {other[0]:+.3f} {_ci(other[1], other[2], True)}")
        if not other[2] < 0:
            problems.append("another object's mask does not lower the energy in the target box")
    if permuted is not None:
        nums.update(permuted=permuted[0], permuted_low=permuted[1], permuted_high=permuted[2])
        parts.append(f"permuted mask {permuted[0]:+.3f} {_ci(permuted[1], permuted[2], True)}")
    if vs_permuted is None:
        problems.append("semantic minus permuted (the class's units against as many random units) was not measured")
    else:
        nums.update(vs_permuted=vs_permuted[0], vs_permuted_low=vs_permuted[1], vs_permuted_high=vs_permuted[2])
        parts.append(f"semantic minus permuted {vs_permuted[0]:+.3f} {_ci(vs_permuted[1], vs_permuted[2], True)}")
        if not vs_permuted[1] > 0:
            problems.append("the class's units do not do significantly better than as many random units")
    if separation is None:
        problems.append("how different two targets' maps are (with and without the mask) was not measured")
    else:
        sm, sl, sh_ = separation
        nums.update(separation=sm, separation_low=sl, separation_high=sh_)
        parts.append(f"two targets' maps differ by {sm:+.3f} {_ci(sl, sh_, True)} more with the mask")
        if not sl > 0:
            problems.append("the maps of two targets in one image do not differ significantly more with the mask")
        elif not sm >= FIG6_MIN_SEPARATION - TOL:
            problems.append(f"the maps of two targets differ more with the mask, but by {sm:.3f}, below the floor "
                            f"of {FIG6_MIN_SEPARATION}")
    if lo > 0 and not problems:
        v, why = REPRODUCED, (f"the target's mask moves energy onto the target ({m:+.3f}, at least a fifth of the "
                              f"plain share), more than as many random units do; another object's mask moves it "
                              f"away; and two targets' maps differ clearly more with the mask")
    elif lo > 0:
        v, why = PARTLY, f"the mask moves energy onto the target ({m:+.3f}), but " + "; ".join(problems)
    else:
        v, why = NOT, f"the semantic map does not put significantly more energy on the target (interval from {lo:+.3f})"
    return Verdict(f"fig6_{_slug(method)}", f"Fig. 6: semantic {method} is more class-discriminative",
                   "visibly (qualitative)", "; ".join(parts), v, why, nums)


EXAMPLE_SCENE_RULE = ("the example scene is chosen by a stated rule, not by hand: the scene whose mean improvement "
                      "(semantic minus plain energy share in the target box) is the median over scenes (the lower "
                      "median for an even count; ties to the smaller scene id)")


def example_scene(scene: Sequence[int], improvement: Sequence[float]) -> int:
    """The scene Fig. 6's example figure shows: the one whose improvement is the median.

    Parameters
    ----------
    scene : sequence of int
        The scene id of each (scene, target) pair.
    improvement : sequence of float
        Per pair: semantic minus plain share of the map's energy in the target's box.

    Returns
    -------
    int
        The scene whose mean improvement over its pairs is the median over scenes (the
        lower median for an even number of scenes; among equal means, the smaller id).
        See :data:`EXAMPLE_SCENE_RULE`.

    Raises
    ------
    ValueError
        When the two have different lengths, are empty, or an improvement is not finite.
    """
    sc = np.asarray(scene).ravel()
    imp = np.asarray(improvement, float).ravel()
    if len(sc) != len(imp):
        raise ValueError(f"scene and improvement must have one entry per pair, got {len(sc)} and {len(imp)}")
    if len(sc) == 0:
        raise ValueError("no pairs: compute the per-pair improvement over at least one scene first")
    if not np.isfinite(imp).all():
        raise ValueError("every improvement must be finite (a pair with an undefined energy share?)")
    ids = np.unique(sc)
    means = np.array([imp[sc == i].mean() for i in ids])
    order = np.lexsort((ids, means))          # by mean, then by id
    return int(ids[order[(len(ids) - 1) // 2]])


def pointing(method: str, energies: Sequence[float], improvement: Sequence[float], low: Sequence[float],
             high: Sequence[float], best_hit: Sequence[float]) -> Verdict:
    """Fig. 7: in the generalized pointing game the semantic version of ``method`` localises
    better than the plain one at every kept energy m (strict game: every kept pixel in
    the box).

    Judged only at the energies where some saliency method hits more than 5% of the pairs
    (``best_hit``: the best method's accuracy per energy): elsewhere every method is at
    the floor. ``low``/``high``: the 95% interval of the improvement, bootstrapped over
    scenes. Not testable when no energy counts. Reproduced: the interval lies above 0 at
    >= 80% of the counted energies and below 0 at none, and (rules v4 floor) the mean
    improvement over the counted energies is at least ``FIG7_MIN_GAIN`` (two points of
    accuracy). Partly: above 0 at some and below 0 at none (or all of that below the
    floor). Not reproduced: otherwise.
    """
    e = np.asarray(energies, float)
    imp, lo, hi = (np.asarray(v, float) for v in (improvement, low, high))
    judged = np.asarray(best_hit, float) > FIG7_MIN_HIT
    claim = f"Fig. 7: semantic {method} localises better at every kept energy"
    paper = "improvement > 0 for every m (VGG16, AlexNet)"
    if not judged.any():
        return Verdict(f"fig7_{_slug(method)}", claim, paper, "every method hits at most 5% at every energy",
                       UNTESTABLE, "the game is at its floor for every method", {"judged": 0})
    above, below = lo[judged] > 0, hi[judged] < 0
    share = float(above.mean())
    ours = (f"improvement {imp[judged].min():+.3f} .. {imp[judged].max():+.3f} over the {int(judged.sum())} energies "
            f"m in [{e[judged].min():.2f}, {e[judged].max():.2f}] where some method hits > 5%; interval above 0 at "
            f"{int(above.sum())}, below 0 at {int(below.sum())}")
    mean_gain = float(imp[judged].mean())
    ours += f"; mean improvement {mean_gain:+.3f}"
    nums = {"judged": int(judged.sum()), "above": int(above.sum()), "below": int(below.sum()),
            "min_improvement": float(imp[judged].min()), "max_improvement": float(imp[judged].max()),
            "mean_improvement": mean_gain}
    large = mean_gain >= FIG7_MIN_GAIN - TOL
    if share >= FIG7_SHARE and not below.any() and large:
        v, why = REPRODUCED, (f"significantly better at {share:.0%} of the judged energies, never worse, by "
                              f"{mean_gain:+.3f} on average (floor {FIG7_MIN_GAIN})")
    elif share >= FIG7_SHARE and not below.any():
        v, why = PARTLY, (f"significantly better at {share:.0%} of the judged energies, never worse, but by "
                          f"{mean_gain:+.3f} on average, below the floor of {FIG7_MIN_GAIN}")
    elif above.any() and not below.any():
        v, why = PARTLY, f"significantly better at {share:.0%} of the judged energies, never worse"
    elif below.any():
        v, why = NOT, f"significantly worse at {int(below.sum())} of the {int(judged.sum())} judged energies"
    else:
        v, why = NOT, f"never significantly better at the {int(judged.sum())} judged energies"
    return Verdict(f"fig7_{_slug(method)}", claim, paper, ours, v, why, nums)


def _slug(s: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in s.lower()).strip("_")


# ---------------------------------------------------------------------------------------
# the summary
# ---------------------------------------------------------------------------------------

HEADLINE = {"table1": "Table 1", "table2_top1": "Table 2 (top-1)", "table2_top5": "Table 2 (top-5)",
            "fig7_guidedbp": "Fig. 7 (GuidedBP)", "fig7_gradient_input": "Fig. 7 (Gradient*Input)"}


def counts(rows: Sequence[dict]) -> dict[str, int]:
    """How many paper claims got each verdict.

    Parameters
    ----------
    rows : sequence of dict
        Verdict rows as saved by the chapters (or made by :func:`across_networks`).

    Returns
    -------
    dict
        Verdict -> number of rows, for every verdict of :data:`VERDICTS`. ``mixed`` (the
        networks disagree) is its own entry and never counted as reproduced.

    Raises
    ------
    ValueError
        When a row's verdict is not one of :data:`VERDICTS` (it would otherwise go uncounted).
    """
    bad = [r.get("id", "?") for r in rows if r["verdict"] not in VERDICTS]
    if bad:
        raise ValueError(f"rows {bad} have a verdict outside {VERDICTS}: make them with the rules of "
                         f"sevec_helpers.claims (across networks: across_networks)")
    return {v: sum(r["verdict"] == v for r in rows) for v in VERDICTS}


def agreement(verdicts) -> tuple[str, str]:
    """The headline verdict of one claim judged on several networks (rules v3).

    Parameters
    ----------
    verdicts : mapping or sequence of str
        One verdict per network (``{network: verdict}`` or a list).

    Returns
    -------
    (verdict, text) : tuple of str
        The verdict all networks agree on, with e.g. "reproduced on all 3 networks"; else
        :data:`MIXED` with the count of each verdict, e.g. "mixed: reproduced on 2 of 3,
        not reproduced on 1 of 3". ``mixed`` is never counted as reproduced.

    Raises
    ------
    ValueError
        When there is no verdict, or one is not a single network's verdict.
    """
    vs = list(verdicts.values()) if isinstance(verdicts, dict) else list(verdicts)
    if not vs:
        raise ValueError("no verdicts: judge the claim on at least one network")
    single = [v for v in VERDICTS if v != MIXED]
    bad = [v for v in vs if v not in single]
    if bad:
        raise ValueError(f"each network's verdict must be one of {tuple(single)}, got {bad}")
    n = len(vs)
    if len(set(vs)) == 1:
        return vs[0], (f"{vs[0]} on all {n} networks" if n > 2 else f"{vs[0]} on both networks" if n == 2
                       else f"{vs[0]} on the only network judged")
    c = {v: vs.count(v) for v in single if v in vs}
    return MIXED, "mixed: " + ", ".join(f"{v} on {k} of {n}" for v, k in c.items())


def across_networks(rows) -> Verdict:
    """One claim's row over several networks: each network's verdict, and the agreed headline.

    Parameters
    ----------
    rows : mapping
        ``{network: Verdict or row dict}``, the same claim (same ``id``) judged on each
        network by its single-network rule.

    Returns
    -------
    Verdict
        Same id, claim and paper number; ``verdict`` from :func:`agreement` (``mixed``
        when the networks disagree); ``ours`` lists each network's verdict and result;
        ``why`` says on how many networks it holds; ``numbers["per_network"]`` maps
        network -> verdict and ``numbers["networks"]`` is their number.

    Raises
    ------
    ValueError
        When ``rows`` is empty or its rows are not all of one claim.

    Notes
    -----
    Rules v4: the row names its testbed(s), from the rows' ``testbed`` fields, in
    ``testbed`` and in ``why`` ("reproduced on all 4 networks (ConceptWorld)").
    """
    if not rows:
        raise ValueError("no rows: judge the claim on at least one network")
    d = {net: (r.as_dict() if isinstance(r, Verdict) else dict(r)) for net, r in rows.items()}
    ids = sorted({r["id"] for r in d.values()})
    if len(ids) != 1:
        raise ValueError(f"the rows must be one claim judged on each network, got ids {ids}")
    first = next(iter(d.values()))
    verdict, text = agreement({net: r["verdict"] for net, r in d.items()})
    beds = list(dict.fromkeys(r.get("testbed") or "" for r in d.values()))
    testbed = " and ".join(b for b in beds if b)
    if testbed:
        text += f" ({testbed})"
    ours = "; ".join(f"{net}: {r['verdict']} ({r['ours']})" for net, r in d.items())
    nums = {"per_network": {net: r["verdict"] for net, r in d.items()}, "networks": len(d),
            "reproduced_on": sum(r["verdict"] == REPRODUCED for r in d.values())}
    return Verdict(ids[0], first["claim"], first["paper"], ours, verdict, text, nums, testbed=testbed)


def headline(rows: Sequence[dict], testbed: str | None = None, networks: int | None = None) -> str:
    """One sentence: where the claims were judged, the counts, and the verdict of each of
    the paper's quantitative results.

    Parameters
    ----------
    rows : sequence of dict
        Verdict rows (one network's, or :func:`across_networks` rows).
    testbed : str, optional
        The testbed's name; default the rows' ``testbed`` fields (rules v4: every headline
        names its testbed).
    networks : int, optional
        On how many networks the rows were judged (named in the sentence).

    Returns
    -------
    str
    """
    c = counts(rows)
    if testbed is None:
        testbed = " and ".join(dict.fromkeys(r.get("testbed") for r in rows if r.get("testbed")))
    where = ", ".join(x for x in (testbed, (f"{networks} network" + ("s" if networks != 1 else ""))
                                  if networks else "") if x)
    by_id = {r["id"]: r for r in rows}
    named = [f"{label} {by_id[i]['verdict']}" for i, label in HEADLINE.items() if i in by_id]
    missing = [label for i, label in HEADLINE.items() if i not in by_id]
    text = ((f"On {where}: " if where else "") +
            f"{len(rows)} of the paper's claims tested: " + ", ".join(f"{n} {v}" for v, n in c.items()) + ". "
            "The paper's quantitative results: " + ("; ".join(named) if named else "none measured") + ".")
    if missing:
        text += " Not measured in this run: " + ", ".join(missing) + "."
    return text
