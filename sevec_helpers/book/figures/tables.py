"""Tables as Markdown: verdict rows beside the paper's numbers, each claim on each network,
our own checks, and plain tables of numbers.
"""

from __future__ import annotations

import re
from typing import Sequence

import numpy as np


def Markdown(text: str):
    """Markdown output for the notebooks (IPython is imported only when used)."""
    from IPython.display import Markdown as _Md

    return _Md(text)


def fmt(v, digits: int = 3) -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "n/a"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        if v != 0 and (abs(v) < 1e-3 or abs(v) >= 1e5):
            return f"{v:.{digits - 1}e}"
        return f"{v:.{digits}f}"
    return str(v)


def _cell(v) -> str:
    """A table cell: numbers formatted, pipes escaped so they cannot split the row."""
    return (v if isinstance(v, str) else fmt(v)).replace("|", "\\|").replace("\n", " ")


def _row(r) -> dict:
    return r.as_dict() if hasattr(r, "as_dict") else dict(r)


def verdict_table(rows: Sequence):
    """The paper's claims on one network: claim | paper | ours | verdict | why (Verdict rows or
    their dicts); the testbed and network are named above the table when the rows carry them."""
    rows = [_row(r) for r in rows]
    beds = list(dict.fromkeys(r.get("testbed") for r in rows if r.get("testbed")))
    head = (f"**Verdicts on {' and '.join(beds)}**\n\n" if beds else "")
    head += "| claim | paper | ours | verdict | why |\n|---|---|---|---|---|\n"
    body = "".join(f"| {_cell(r['claim'])} | {_cell(r['paper'])} | {_cell(r['ours'])} | **{_cell(r['verdict'])}** | "
                   f"{_cell(r.get('why', ''))} |\n" for r in rows)
    return Markdown(head + body)


def network_label(name: str) -> str:
    """A short column label for a network: ``vgg_mini_seed2`` -> ``seed 2``; the shipped
    ``vgg_mini`` -> ``seed 0``; ``efficientnet_lite1`` -> ``Lite1``; any other name as it is."""
    if name == "vgg_mini":
        return "seed 0"
    m = re.fullmatch(r"vgg_mini_seed(\d+)", name)
    if m:
        return f"seed {m.group(1)}"
    m = re.fullmatch(r"efficientnet_lite(\d)", name)
    if m:
        return f"Lite{m.group(1)}"
    m = re.fullmatch(r"vgg_mini_w(\d+)_i(\d+)", name)
    return f"world {m.group(1)}, init {m.group(2)}" if m else name


def _agreed(r: dict) -> str:
    """"reproduced on all 4 networks" / "mixed: reproduced on 3 of 4, ...", the verdict in bold."""
    why, v = _cell(r["why"]), _cell(r["verdict"])
    return f"**{v}**{why[len(v):]}" if why.startswith(v) else f"**{v}**: {why}"


def network_table(rows: Sequence, title: str = "Each claim on each network"):
    """claim | one column per network: its verdict and the number that decided it | across
    networks (rows of :func:`sevec_helpers.book.records.across`). ``mixed`` is never counted
    as reproduced."""
    from sevec_helpers.book.claims import deciding

    rows = [_row(r) for r in rows]
    nets = list(rows[0]["numbers"]["per_network"]) if rows else []

    def cell(r, n):
        v = r["numbers"]["per_network"][n]
        full = (r["numbers"].get("rows") or {}).get(n)
        d = deciding(full) if full else ""
        return _cell(v) + (f" ({_cell(d)})" if d else "")

    head = (f"**{title}**\n\n| claim | " + " | ".join(_cell(network_label(n)) for n in nets) + " | agreed |\n|---|"
            + "---|" * (len(nets) + 1) + "\n")
    body = "".join("| " + _cell(r["claim"]) + " | " + " | ".join(cell(r, n) for n in nets)
                   + f" | {_agreed(r)} |\n" for r in rows)
    return Markdown(head + body)


def testbeds_table(by_testbed: dict, overall: Sequence | None = None,
                   title: str = "Each claim on each testbed (a claim counts only where every network agrees)"):
    """claim | the agreed verdict on each testbed | over every network.

    Parameters
    ----------
    by_testbed : dict
        ``{testbed: rows of :func:`sevec_helpers.book.records.across` over its networks}``.
    overall : sequence, optional
        The same rows over every network of every testbed (last column).
    """
    beds = list(by_testbed)
    def _n(b):
        n = max((_row(r)["numbers"].get("networks", 0) for r in by_testbed[b]), default=0)
        return f"{b} ({n} network{'' if n == 1 else 's'})"

    cols = [_n(b) for b in beds]
    ids: dict[str, str] = {}
    for b in beds:
        for r in map(_row, by_testbed[b]):
            ids.setdefault(r["id"], r["claim"])
    index = {b: {_row(r)["id"]: _row(r) for r in by_testbed[b]} for b in beds}
    over = {_row(r)["id"]: _row(r) for r in (overall or [])}
    head = (f"**{title}**\n\n| claim | " + " | ".join(_cell(c) for c in cols)
            + (" | every network |" if overall else " |") + "\n|---|" + "---|" * (len(beds) + bool(overall)) + "\n")

    def short(r):
        why = r["why"].removesuffix(f" ({r['testbed']})") if r.get("testbed") else r["why"]
        return f"**{_cell(r['verdict'])}**" + (f" ({_cell(why.split(': ', 1)[1])})"
                                                if r["verdict"] == "mixed" and ": " in why else "")

    body = "".join("| " + _cell(claim) + " | " + " | ".join(short(index[b][i]) if i in index[b] else "not judged"
                                                            for b in beds)
                   + (f" | {short(over[i]) if i in over else 'not judged'} |" if overall else " |") + "\n"
                   for i, claim in ids.items())
    return Markdown(head + body)


def checks_table(rows: Sequence, title: str = "Our own checks (not counted as reproductions)"):
    """Checks of our own: check | ours | reading (Check rows or their dicts)."""
    head = f"**{title}**\n\n| check | ours | reading |\n|---|---|---|\n"
    body = "".join(f"| {_cell(r['check'])} | {_cell(r['ours'])} | {_cell(r['reading'])} |\n" for r in map(_row, rows))
    return Markdown(head + body)


def stack(items: Sequence):
    """Several Markdown outputs as one (a cell shows only its last value)."""
    return Markdown("\n\n".join(getattr(i, "data", str(i)) for i in items))


def markdown_table(header: Sequence[str], rows: Sequence[Sequence]):
    h = "| " + " | ".join(_cell(c) for c in header) + " |\n|" + "---|" * len(header) + "\n"
    return Markdown(h + "".join("| " + " | ".join(_cell(c) for c in r) + " |\n" for r in rows))
