"""Rules for Sec. 4.3 of the paper: relevance finds a class's low-level concepts (Fig. 5),
and single decisions are explained by the image's low-level concepts (Table 3).
"""

from __future__ import annotations

from sevec_helpers.book.claims.base import NOT, PARTLY, REPRODUCED, Verdict, _ci, _works, _works_why


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
