"""The paper's claims, its numbers, and the rules that judge ours against them.

Two kinds of rows come out of this module:

- :class:`Verdict`: one of the paper's claims, tested the way the paper tested it, printed
  beside the paper's number. Its verdict is one of ``reproduced``, ``partly``,
  ``not reproduced`` or ``not testable`` (with the reason).
- :class:`Check`: a check of our own (a sanity check, an easier variant, an extension).
  It reports a result and never counts as a reproduction.

Every rule is a function with its boundaries in its docstring, written before the numbers
it judges were seen, and tested at those boundaries in ``tests/test_claims.py``. The rules
take plain numbers (means, intervals, p-values); the measurements that produce them live
in :mod:`sevec_helpers.analysis`. Never loosen a rule to fit a result: change the
measurement or report the failure.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Sequence

import numpy as np

REPRODUCED, PARTLY, NOT, UNTESTABLE = "reproduced", "partly", "not reproduced", "not testable"
VERDICTS = (REPRODUCED, PARTLY, NOT, UNTESTABLE)

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


def retrieval(id: str, kind: str, precision: float, low: float, high: float, chance: float,
              expect_success: bool = True, paper: str = "selected images contain the concept") -> Verdict:
    """Fig. 1-2: SeVecs select hold-out images that contain their concept.

    ``precision`` is the mean precision@k over concepts, [low, high] its 95% bootstrap
    interval over concepts, ``chance`` the precision of a random selection.
    Reproduced: precision >= max(0.5, 2 x chance) and low > chance. Partly: low > chance
    only. Not reproduced: otherwise.

    For colours the paper reports the opposite (colour SeVecs fail, Fig. 2c): with
    ``expect_success=False`` the claim is the failure. Reproduced: low <= chance (no better
    than chance). Partly: better than chance but short of the success bar above. Not
    reproduced: the success bar is met.
    """
    works = _works(precision, low, chance)
    ours = f"precision@k {precision:.3f} {_ci(low, high)} (chance {chance:.3f})"
    nums = {"precision": precision, "low": low, "high": high, "chance": chance}
    if expect_success:
        v = {"yes": REPRODUCED, "partly": PARTLY, "no": NOT}[works]
        why = {"yes": "retrieved images mostly carry the concept",
               "partly": "better than chance, but many retrieved images lack the concept",
               "no": "no better than a random selection"}[works]
        claim = f"Fig. 1-2: {kind} SeVecs select images with that concept"
    else:
        v = {"yes": NOT, "partly": PARTLY, "no": REPRODUCED}[works]
        why = {"yes": "colour SeVecs do select images with their colour here",
               "partly": "colour SeVecs do better than chance, though short of working",
               "no": "colour SeVecs select images no better than chance, as in the paper"}[works]
        claim = f"Fig. 2c: {kind} SeVecs fail to select images with that concept"
    return Verdict(id, claim, paper, ours, v, why, nums)


def relations(id: str, kind: str, agreement: float, low: float, high: float, chance: float, n: int) -> Verdict:
    """Fig. 5: cos(v_class, v_concept) matches common sense: a class's most relevant
    ``kind`` (texture, material) is one the class really has.

    ``agreement`` is the share of classes whose top concept is true, [low, high] its 95%
    bootstrap interval over classes. Reproduced / partly / not as in :func:`retrieval`.
    """
    works = _works(agreement, low, chance)
    v = {"yes": REPRODUCED, "partly": PARTLY, "no": NOT}[works]
    why = {"yes": "the most relevant concept is usually the true one",
           "partly": "better than chance, but often wrong", "no": "no better than chance"}[works]
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
    why = {"yes": "the named concept is usually one the image has",
           "partly": "better than chance, but often wrong", "no": "no better than naming a concept at random"}[works]
    return Verdict(id, f"Table 3: a decision is explained by the image's {kind}",
                   "stone_wall: cracked + stone, ... (7 hand-picked images)",
                   f"right for {right:.3f} {_ci(low, high)} of {n} images (chance {chance:.3f})", v, why,
                   {"right": right, "low": low, "high": high, "chance": chance, "n": n})


# ---------------------------------------------------------------------------------------
# colour (Sec. 3.1)
# ---------------------------------------------------------------------------------------


def color_ablation(acc: float, acc_gray: float, drop_low: float, drop_high: float) -> Verdict:
    """Sec. 3.1: converting images to gray barely lowers VGG16's accuracy.

    ``drop`` = top-1 in colour minus top-1 in gray on the same hold-out images, with its
    95% bootstrap interval over images. Reproduced: the interval's upper bound is below
    0.10 (ten points). Partly: the drop itself is below 0.20. Not reproduced: otherwise.
    """
    drop = acc - acc_gray
    if drop_high < 0.10:
        v, why = REPRODUCED, "colour carries little of the decision"
    elif drop < 0.20:
        v, why = PARTLY, "a clear but moderate drop"
    else:
        v, why = NOT, "this network leans on colour"
    return Verdict("gray_drop", "Sec. 3.1: removing colour barely changes accuracy", "no significant drop (no number)",
                   f"top-1 {acc:.3f} -> {acc_gray:.3f} in gray (drop {drop:.3f} {_ci(drop_low, drop_high)})", v, why,
                   {"acc": acc, "acc_gray": acc_gray, "drop": drop, "low": drop_low, "high": drop_high})


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


def table1(mean: dict, sem: dict, sem_diff: float) -> Verdict:
    """Table 1: multiplying fc1 by the SeVec mask raises the true-class probability; a single
    associated neuron does not; a permuted mask of the same size barely moves it.

    ``mean`` and ``sem`` hold the mean change of the true-class probability and its
    standard error for ``associated_neuron``, ``random_neuron``, ``sevec_mask`` and
    ``permuted_mask``; ``sem_diff`` is the standard error of the per-image difference
    (SeVec mask minus associated neuron). With S = mean["sevec_mask"]:

    - reproduced: S > 3 SEM, S - associated > 3 ``sem_diff``, and |permuted| <= S / 2
      (the paper's permuted control barely moves);
    - partly: the first two hold, but the permuted control is destructive
      (permuted < -S / 2);
    - not reproduced: anything else (including a permuted mask that raises the probability
      as much as the SeVec mask: then the rise is not the concept's).
    """
    keys = ("associated_neuron", "random_neuron", "sevec_mask", "permuted_mask")
    s, a, perm = mean["sevec_mask"], mean["associated_neuron"], mean["permuted_mask"]
    raises = s > TABLE1_SEMS * sem["sevec_mask"]
    beats = (s - a) > TABLE1_SEMS * sem_diff
    fmt_ = lambda d: ", ".join(f"{k.replace('_', ' ')} {_num(d[k])}" for k in keys)
    ours = fmt_(mean) + f" (SEM of the SeVec mask {_num(sem['sevec_mask'])})"
    nums = {**{k: mean[k] for k in keys}, **{f"sem_{k}": sem[k] for k in keys}, "sem_diff": sem_diff}
    if raises and beats and abs(perm) <= s / 2:
        v, why = REPRODUCED, "the SeVec mask raises the true class, a single neuron does not, the permuted control barely moves"
    elif raises and beats and perm < -s / 2:
        v, why = PARTLY, ("the SeVec mask raises the true class and beats one neuron, but a permuted mask of the "
                          "same size destroys the decision, unlike the paper's control")
    elif not raises:
        v, why = NOT, "the SeVec mask does not raise the true-class probability by more than 3 SEM"
    elif not beats:
        v, why = NOT, "the SeVec mask does not beat the single associated neuron by more than 3 SEM"
    else:
        v, why = NOT, "the permuted mask raises the probability by more than half as much: the rise is not the concept's"
    return Verdict("table1", "Table 1: a SeVec mask, not a single neuron, carries the class", fmt_(PAPER["table1"]),
                   ours, v, why, nums)


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
              silhouette_perm: float, nn_perm: float) -> Verdict:
    """Fig. 3: class SeVecs cluster by the class hierarchy at ``level`` (superclass, group).

    Two tests against label permutations: the cosine silhouette of the SeVecs grouped by
    ``level``, and the share of classes whose nearest SeVec shares the ``level``. Their
    p-values are Holm-corrected together. Reproduced: both adjusted p < 0.05 and the
    silhouette > 0. Partly: the silhouette alone is significant and > 0. Not reproduced:
    otherwise (a nearest-neighbour effect alone does not count).
    """
    p_sil, p_nn = holm([silhouette_p, nn_p])
    sil_ok = p_sil < ALPHA and silhouette > 0
    nn_ok = p_nn < ALPHA and nn_agreement > nn_perm
    if sil_ok and nn_ok:
        v, why = REPRODUCED, f"SeVecs of one {level} lie closer together than chance, by both measures"
    elif sil_ok:
        v, why = PARTLY, f"SeVecs of one {level} are closer than chance on average, but a class's nearest SeVec is not"
    else:
        v, why = NOT, f"the silhouette by {level} is not significantly positive"
    return Verdict(f"fig3_{level}", f"Fig. 3: class SeVecs cluster by {level}", "clear clusters in t-SNE (no number)",
                   f"silhouette {silhouette:.3f} vs {silhouette_perm:.3f} shuffled (Holm p = {p_sil:.3f}); nearest "
                   f"neighbour same {level} {nn_agreement:.2f} vs {nn_perm:.2f} (Holm p = {p_nn:.3f})", v, why,
                   {"silhouette": silhouette, "silhouette_p_holm": p_sil, "nn_agreement": nn_agreement,
                    "nn_p_holm": p_nn, "silhouette_perm": silhouette_perm, "nn_perm": nn_perm})


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


def table2(k: int, r: float | None, p: float | None, n: int, ceiling_share: float) -> Verdict:
    """Table 2: the degree of diversity D_c correlates negatively with top-``k`` accuracy.

    ``ceiling_share`` is the share of classes with top-k accuracy >= 0.98. Not testable
    (ceiling) when it is at least 0.75: the accuracies have too little spread to correlate.
    Not testable when r is undefined (fewer than 3 classes, or constant values).
    Reproduced: r <= -0.3 and p < 0.05. Partly: -0.3 < r < 0 and p < 0.05 (significant but
    weak). Not reproduced: otherwise.
    """
    paper_r, paper_p = PAPER["table2"][f"top{k}_r"], PAPER["table2"][f"top{k}_p"]
    claim = f"Table 2: diverse classes have lower top-{k} accuracy"
    paper = f"r = {paper_r} (p = {paper_p:.1e}, 1000 classes)"
    if ceiling_share >= CEILING_SHARE:
        return Verdict(f"table2_top{k}", claim, paper, f"{ceiling_share:.0%} of {n} classes at top-{k} >= {CEILING_ACC}",
                       UNTESTABLE, "ceiling: almost every class is classified right, so accuracy has no spread to "
                                   "correlate with", {"ceiling_share": ceiling_share})
    if not _finite(r, p) or n < 3:
        return Verdict(f"table2_top{k}", claim, paper, f"n = {n}", UNTESTABLE,
                       "the correlation is undefined (too few classes or constant values)",
                       {"ceiling_share": ceiling_share})
    ours = f"r = {r:.3f} (p = {p:.2g}, {n} classes)"
    nums = {"r": r, "p": p, "n": n, "ceiling_share": ceiling_share}
    if r <= -MODERATE_R and p < ALPHA:
        v, why = REPRODUCED, "a significant, at least moderate, negative correlation"
    elif r < 0 and p < ALPHA:
        v, why = PARTLY, "significant but weak"
    else:
        v, why = NOT, "no significant negative correlation"
    return Verdict(f"table2_top{k}", claim, paper, ours, v, why, nums)


# ---------------------------------------------------------------------------------------
# Fig. 6 and Fig. 7: semantic saliency
# ---------------------------------------------------------------------------------------


def discriminative(method: str, effect: tuple, other: tuple | None, permuted: tuple | None) -> Verdict:
    """Fig. 6: the semantic version of ``method`` is more class-discriminative.

    Each argument is (mean, low, high): a change of the share of the map's energy inside the
    target's box, with a 95% bootstrap interval over scenes (not over pairs).
    ``effect``: semantic minus plain. Controls, both relative to the plain map: ``other``,
    the semantic map made with the mask of another object in the same scene, must lower the
    energy in the target box (high < 0); ``permuted``, made with a random permutation of
    the target's mask (same size), must leave it unchanged (low <= 0 <= high). A control
    that could not be run (None) fails.

    Reproduced: effect low > 0 and both controls behave. Partly: effect low > 0 but a
    control misbehaves or is missing. Not reproduced: effect low <= 0.
    """
    m, lo, hi = effect
    nums = {"effect": m, "effect_low": lo, "effect_high": hi}
    parts = [f"energy in the target box {m:+.3f} {_ci(lo, hi, True)}"]
    problems = []
    if other is None:
        problems.append("no scene has a second object to take the mask from")
    else:
        nums.update(other=other[0], other_low=other[1], other_high=other[2])
        parts.append(f"other object's mask {other[0]:+.3f} {_ci(other[1], other[2], True)}")
        if not other[2] < 0:
            problems.append("another object's mask does not lower the energy in the target box")
    if permuted is None:
        problems.append("the permuted control was not run")
    else:
        nums.update(permuted=permuted[0], permuted_low=permuted[1], permuted_high=permuted[2])
        parts.append(f"permuted mask {permuted[0]:+.3f} {_ci(permuted[1], permuted[2], True)}")
        if not permuted[1] <= 0 <= permuted[2]:
            problems.append("a permuted mask of the same size also changes it")
    if lo > 0 and not problems:
        v, why = REPRODUCED, "the target's mask moves energy onto the target; the controls behave"
    elif lo > 0:
        v, why = PARTLY, "the mask moves energy onto the target, but " + "; ".join(problems)
    else:
        v, why = NOT, "the semantic map does not put significantly more energy on the target"
    return Verdict(f"fig6_{_slug(method)}", f"Fig. 6: semantic {method} is more class-discriminative",
                   "visibly (qualitative)", "; ".join(parts), v, why, nums)


def pointing(method: str, energies: Sequence[float], improvement: Sequence[float], low: Sequence[float],
             high: Sequence[float], best_hit: Sequence[float]) -> Verdict:
    """Fig. 7: in the generalized pointing game the semantic version of ``method`` localises
    better than the plain one at every kept energy m (strict game: every kept pixel in
    the box).

    Judged only at the energies where some saliency method hits more than 5% of the pairs
    (``best_hit``: the best method's accuracy per energy): elsewhere every method is at
    the floor. ``low``/``high``: the 95% interval of the improvement, bootstrapped over
    scenes. Not testable when no energy counts. Reproduced: the interval lies above 0 at
    >= 80% of the counted energies and below 0 at none. Partly: above 0 at some and below 0
    at none. Not reproduced: otherwise.
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
    nums = {"judged": int(judged.sum()), "above": int(above.sum()), "below": int(below.sum()),
            "min_improvement": float(imp[judged].min()), "max_improvement": float(imp[judged].max())}
    if share >= FIG7_SHARE and not below.any():
        v, why = REPRODUCED, "significantly better at (nearly) every energy that can be judged"
    elif above.any() and not below.any():
        v, why = PARTLY, f"significantly better at {share:.0%} of the judged energies, never worse"
    elif below.any():
        v, why = NOT, "significantly worse at some energies"
    else:
        v, why = NOT, "never significantly better"
    return Verdict(f"fig7_{_slug(method)}", claim, paper, ours, v, why, nums)


def _slug(s: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in s.lower()).strip("_")


# ---------------------------------------------------------------------------------------
# the summary
# ---------------------------------------------------------------------------------------

HEADLINE = {"table1": "Table 1", "table2_top1": "Table 2 (top-1)", "table2_top5": "Table 2 (top-5)",
            "fig7_guidedbp": "Fig. 7 (GuidedBP)", "fig7_gradient_input": "Fig. 7 (Gradient*Input)"}


def counts(rows: Sequence[dict]) -> dict[str, int]:
    """How many paper claims got each verdict (rows as saved by the chapters)."""
    return {v: sum(r["verdict"] == v for r in rows) for v in VERDICTS}


def headline(rows: Sequence[dict]) -> str:
    """One sentence: the counts, and the verdict of each of the paper's quantitative results."""
    c = counts(rows)
    by_id = {r["id"]: r for r in rows}
    named = [f"{label} {by_id[i]['verdict']}" for i, label in HEADLINE.items() if i in by_id]
    missing = [label for i, label in HEADLINE.items() if i not in by_id]
    text = (f"{len(rows)} of the paper's claims tested: " + ", ".join(f"{n} {v}" for v, n in c.items()) + ". "
            "The paper's quantitative results: " + ("; ".join(named) if named else "none measured") + ".")
    if missing:
        text += " Not measured in this run: " + ", ".join(missing) + "."
    return text
