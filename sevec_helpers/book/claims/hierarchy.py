"""Rules for Sec. 4.1 of the paper: class SeVecs cluster by the class hierarchy (Fig. 3).
"""

from __future__ import annotations

from sevec_helpers.book.claims.base import ALPHA, HIERARCHY_MIN_NN, NOT, PARTLY, REPRODUCED, TOL, Verdict, holm


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
