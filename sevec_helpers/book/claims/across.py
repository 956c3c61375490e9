"""The summary of the verdicts: counts, one claim judged on several networks (the verdict
they agree on, else mixed), and the headline sentence naming the testbed.
"""

from __future__ import annotations

from typing import Sequence

from sevec_helpers.book.claims.base import MIXED, REPRODUCED, VERDICTS, Verdict

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
                         f"sevec_helpers.book.claims (across networks: across_networks)")
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


_DECIDING = (
    # (id prefix, the numbers the verdict turned on, written short)
    ("fig2c_", lambda n: f"{n['precision']:.3f}, interval to {n['high']:.3f} (bar {n['bar']:.3f})"),
    ("fig1_", lambda n: f"{n['precision']:.3f} ({n['precision'] / n['chance']:.1f} x chance)"),
    ("fig2_", lambda n: f"{n['precision']:.3f} ({n['precision'] / n['chance']:.1f} x chance)"),
    ("gray_drop", lambda n: f"drop {n['drop']:.3f}, interval to {n['high']:.3f}"),
    ("gray_recovery", lambda n: f"retrained {n['acc_gray_retrained']:.3f} vs colour {n['acc_color']:.3f}"),
    ("table1", lambda n: f"SeVec mask {n['sevec_mask']:+.3f}, permuted {n['permuted_mask']:+.3f}"),
    ("fig3_", lambda n: f"silhouette {n['silhouette']:.3f}, nearest same {n['nn_agreement']:.2f}"),
    ("dominant_cluster", lambda n: f"{n['share_of_classes']:.2f} of classes"),
    ("table2_", lambda n: (f"r = {n['r']:+.3f}, interval to {n['r_high']:+.3f}" if "r" in n
                           else f"{n['ceiling_share']:.0%} of classes at the ceiling")),
    ("dc_multifaceted", lambda n: f"r = {n['r']:+.3f}" + (f", probe {n['probe']:.2f}" if "probe" in n else "")),
    ("fig5_", lambda n: f"{n['agreement']:.2f} (chance {n['chance']:.2f})"),
    ("table3_", lambda n: f"{n['right']:.2f} (chance {n['chance']:.2f})"),
    ("fig6_", lambda n: f"gain {n['effect']:+.3f}" + (f", maps differ {n['separation']:+.3f}" if "separation" in n
                                                      else "")),
    ("fig7_", lambda n: (f"mean gain {n['mean_improvement']:+.3f}, above 0 at {n['above']} of {n['judged']}"
                         if n.get("judged") else "no energy judged")),
)


def deciding(row) -> str:
    """The number(s) a claim's verdict turned on, written short (``"r = -0.396, interval to
    -0.055"``), for tables that show each network's verdict; ``""`` when not measured."""
    r = row.as_dict() if isinstance(row, Verdict) else dict(row)
    n = r.get("numbers") or {}
    for prefix, fmt in _DECIDING:
        if r["id"].startswith(prefix):
            try:
                return fmt(n)
            except (KeyError, TypeError, ZeroDivisionError, ValueError):
                return ""
    return ""
