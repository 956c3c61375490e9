"""Rules for Sec. 5 of the paper: semantic saliency is more class-discriminative (Fig. 6),
the example scene chosen by a rule, and the generalized pointing game (Fig. 7).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from sevec_helpers.book.claims.base import (
    FIG6_MIN_GAIN,
    FIG6_MIN_SEPARATION,
    FIG7_MIN_GAIN,
    FIG7_MIN_HIT,
    FIG7_SHARE,
    NOT,
    PARTLY,
    REPRODUCED,
    TOL,
    UNTESTABLE,
    Verdict,
    _ci,
    _finite,
    _slug,
)


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
