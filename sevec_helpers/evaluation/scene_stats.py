"""Intervals over scenes for Fig. 6 and Fig. 7, on top of :mod:`sevec_helpers.evaluation.localization`
(the method: pairs, maps, energy shares, pointing-game hits): the changes against the plain
map with 95% bootstrap intervals over scenes (a scene with several objects gives several
pairs, which are not independent).
"""

from __future__ import annotations

import numpy as np

from sevec_helpers.evaluation.localization import OTHER, OWN, PERMUTED, PLAIN, SceneMetrics, map_name
from sevec_helpers.evaluation.pointing import PointingResult
from sevec_helpers.evaluation.stats import N_BOOT, bootstrap_mean


def discriminativeness(m: SceneMetrics, method: str, seed: int = 0) -> dict:
    """Fig. 6 for one method, from the per-pair energy shares of ``m``.

    Parameters
    ----------
    m : SceneMetrics
        From :func:`scene_metrics`.
    method : str
        A method id (``"guided_backprop"``, ``"gradient_x_input"``).
    seed : int
        The bootstrap's seed.

    Returns
    -------
    dict
        ``plain``, ``own`` (mean shares), ``effect`` (semantic minus plain), ``permuted``
        (permuted minus plain), ``vs_permuted`` (semantic minus permuted), ``other`` (the
        other object's mask minus plain, on the pairs that have one): each
        ``(mean, low, high)`` with a 95% bootstrap interval over scenes, or None when that
        map was not made; ``permuted_share`` and ``other_share`` when made.
    """
    plain = m.share[map_name(method, PLAIN)]
    own = m.share[map_name(method, OWN)]
    out = {"plain": float(plain.mean()), "own": float(own.mean()),
           "effect": bootstrap_mean(own - plain, m.scene, seed=seed), "permuted": None, "vs_permuted": None,
           "other": None}
    perm = m.share.get(map_name(method, PERMUTED))
    if perm is not None:
        out["permuted_share"] = float(perm.mean())
        out["permuted"] = bootstrap_mean(perm - plain, m.scene, seed=seed)
        out["vs_permuted"] = bootstrap_mean(own - perm, m.scene, seed=seed)
    other, k = m.share.get(map_name(method, OTHER)), m.other_idx
    if other is not None and len(k):
        out["other_share"] = float(other.mean())
        out["other"] = bootstrap_mean(other - plain[k], m.scene[k], seed=seed)
    return out


def paired_improvement(a: np.ndarray, b: np.ndarray, scenes=None, energies=None, n_boot: int = N_BOOT,
                       seed: int = 0) -> dict:
    """Hit rate of ``a`` minus ``b`` per energy, with a 95% bootstrap interval over scenes.

    Parameters
    ----------
    a, b : numpy.ndarray or PointingResult
        (P, E) bool hits of two maps on the same pairs.
    scenes : sequence, optional
        One scene id per pair (default: each pair its own unit).
    energies : sequence of float, optional
        Copied into the result.
    n_boot, seed : int
        Bootstrap resamples and seed.

    Returns
    -------
    dict
        ``improvement``, ``low``, ``high`` (lists, one per energy) and ``energies`` if given.
    """
    a = a.per_image if isinstance(a, PointingResult) else a
    b = b.per_image if isinstance(b, PointingResult) else b
    diff = np.asarray(a, float) - np.asarray(b, float)
    m, lo, hi = bootstrap_mean(diff, scenes, n_boot=n_boot, seed=seed)
    out = {"improvement": np.atleast_1d(m).tolist(), "low": np.atleast_1d(lo).tolist(),
           "high": np.atleast_1d(hi).tolist()}
    if energies is not None:
        out["energies"] = list(map(float, energies))
    return out
