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


def verdict_table(rows: Sequence, across: Sequence | None = None):
    """The paper's claims: claim | paper | ours | verdict | why (Verdict rows or their dicts).

    With ``across`` (rows of :func:`sevec_helpers.book.records.across`: the same claims judged
    on several networks), a last column says on how many networks each verdict holds."""
    by_id = {r["id"]: r for r in map(_row, across or [])}
    n = max((r["numbers"].get("networks", 0) for r in by_id.values()), default=0)
    extra = f" on {n} networks |" if across else ""
    head = f"| claim | paper | ours | verdict | why |{extra}\n|---|---|---|---|---|{'---|' if across else ''}\n"

    def tail(r):
        if not across:
            return ""
        a = by_id.get(r["id"])
        return f" {_cell(a['why']) if a else 'judged on this network only'} |"

    body = "".join(f"| {_cell(r['claim'])} | {_cell(r['paper'])} | {_cell(r['ours'])} | **{_cell(r['verdict'])}** | "
                   f"{_cell(r.get('why', ''))} |{tail(r)}\n" for r in map(_row, rows))
    return Markdown(head + body)


def network_label(name: str) -> str:
    """A short column label for a network: ``vgg_mini_seed2`` -> ``seed 2``; the shipped
    ``vgg_mini`` -> ``seed 0``; any other name as it is."""
    if name == "vgg_mini":
        return "seed 0"
    m = re.fullmatch(r"vgg_mini_seed(\d+)", name)
    if m:
        return f"seed {m.group(1)}"
    m = re.fullmatch(r"vgg_mini_w(\d+)_i(\d+)", name)
    return f"world {m.group(1)}, init {m.group(2)}" if m else name


def _agreed(r: dict) -> str:
    """"reproduced on all 4 networks" / "mixed: reproduced on 3 of 4, ...", the verdict in bold."""
    why, v = _cell(r["why"]), _cell(r["verdict"])
    return f"**{v}**{why[len(v):]}" if why.startswith(v) else f"**{v}**: {why}"


def network_table(rows: Sequence, title: str = "Each claim on each network"):
    """claim | one verdict column per network | across networks (rows of
    :func:`sevec_helpers.book.records.across`). ``mixed`` is never counted as reproduced."""
    rows = [_row(r) for r in rows]
    nets = list(rows[0]["numbers"]["per_network"]) if rows else []
    head = (f"**{title}**\n\n| claim | " + " | ".join(_cell(network_label(n)) for n in nets) + " | across networks |\n|---|"
            + "---|" * (len(nets) + 1) + "\n")
    body = "".join("| " + _cell(r["claim"]) + " | " + " | ".join(_cell(r["numbers"]["per_network"][n]) for n in nets)
                   + f" | {_agreed(r)} |\n" for r in rows)
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
