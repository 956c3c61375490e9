"""Rules for Sec. 3.1 of the paper: SeVecs select images of their concept (Fig. 1-2), colour
SeVecs fail and gray images cost little (Fig. 2c and the gray ablation), retraining on
gray recovers the drop, and a SeVec mask, not one neuron, carries the class (Table 1).
"""

from __future__ import annotations

import math
from typing import Sequence

from sevec_helpers.book.claims.base import (
    GRAY_BAR,
    NEG_RATIO,
    NOT,
    PAPER,
    PARTLY,
    REPRODUCED,
    TABLE1_MIN_RISE,
    TABLE1_SEMS,
    TOL,
    UNTESTABLE,
    Verdict,
    _ci,
    _control,
    _finite,
    _num,
    _slug,
    _works,
    _works_why,
)


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
