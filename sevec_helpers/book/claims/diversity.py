"""Rules for Sec. 3 and 4.2 of the paper: one dominant cluster per class, the degree of
diversity D_c against accuracy (Table 2), and D_c read as multifacetedness.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from sevec_helpers.book.claims.base import (
    CEILING_ACC,
    CEILING_SHARE,
    FACET_PROBE_SHARE,
    MODERATE_R,
    NEGLIGIBLE_R,
    NOT,
    PAPER,
    PARTLY,
    REPRODUCED,
    TOL,
    UNTESTABLE,
    Verdict,
    _ci,
    _control,
    _finite,
    fisher_interval,
)


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
