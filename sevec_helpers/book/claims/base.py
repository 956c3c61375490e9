"""What every verdict rule shares: the verdict words and what they mean, the paper's numbers,
the thresholds and floors (each with the rules version that set it), the testbeds, the
rows (:class:`Verdict`, :class:`Check`), and small helpers (intervals, Holm, Fisher-z).
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


def _num(v) -> str:
    if not _finite(v):
        return "n/a"
    v = float(v)
    return f"{v:.2e}" if v != 0 and abs(v) < 1e-3 else f"{v:+.3f}"


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


def _slug(s: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in s.lower()).strip("_")
