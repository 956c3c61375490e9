"""The execution statistics page: each executed page's measured run time beside the run
time its "Time" note states ("about 30 seconds to run", "about 2 minutes to run").

The directive ``{sevec-exec-table}`` puts a placeholder in a page; once every page has been
executed, it becomes a table (page, stated reading and run time, measured run time, their
ratio, and a flag where the measured time is off the stated one by more than
``FACTOR`` either way). The same comparison is written to the build log, one line per
page, flagged pages marked ``OFF BY MORE THAN 2x``. It is information, not a test: a build
never fails on it (a shared machine's load changes run times many-fold).

A build at reduced sizes (``SEVEC_SIZES`` set, as ``scripts/build_book.sh --small`` does)
shows its measured times but makes no comparison: the stated times are for the book's sizes.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from docutils import nodes
from sphinx.addnodes import pending_xref
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

LOG = logging.getLogger(__name__)
FACTOR = 2.0      # a stated run time is flagged when the measured one is more than 2x off, either way

_NUMBER = {"a": 1.0, "an": 1.0, "one": 1.0, "two": 2.0, "three": 3.0, "four": 4.0, "five": 5.0,
           "half a": 0.5, "a half": 0.5}
_UNIT = {"s": 1.0, "sec": 1.0, "second": 1.0, "seconds": 1.0, "min": 60.0, "minute": 60.0, "minutes": 60.0}
_RUN = re.compile(r"about\s+(?P<n>\d+(?:\.\d+)?|half\s+a|an?|one|two|three|four|five)\s+"
                  r"(?P<unit>seconds?|sec|minutes?|min|s)\s+to\s+run", re.IGNORECASE)
_READ = re.compile(r"about\s+(?P<n>\d+(?:\.\d+)?|an?|one|two|three|four|five)\s+(?P<unit>minutes?|min)\s+to\s+read",
                   re.IGNORECASE)


def _seconds(m: re.Match | None) -> float | None:
    if m is None:
        return None
    n = m.group("n").lower()
    n = re.sub(r"\s+", " ", n)
    value = _NUMBER[n] if n in _NUMBER else float(n)
    return value * _UNIT[m.group("unit").lower()]


def stated_times(text: str) -> tuple[float | None, float | None]:
    """The (reading, run) times, in seconds, that a page's text states first ("about 20
    minutes to read; about 30 seconds to run"); None for one it does not state.

    Parameters
    ----------
    text : str
        The page's source text.

    Returns
    -------
    tuple of (float or None, float or None)
        Reading time and run time in seconds.
    """
    text = re.sub(r"\s+", " ", text)
    return _seconds(_READ.search(text)), _seconds(_RUN.search(text))


def verdict(measured: float | None, stated: float | None, factor: float = FACTOR) -> str:
    """How a measured run time compares with the stated one.

    Parameters
    ----------
    measured, stated : float or None
        Seconds; None when not measured (not executed) or not stated.
    factor : float
        The tolerance, as a ratio either way.

    Returns
    -------
    str
        ``"not stated"``, ``"not measured"``, ``"within 2x"`` or ``"OFF BY MORE THAN 2x"``
        (with the factor written in).

    Raises
    ------
    ValueError
        If ``factor`` is not above 1 or a time is negative.
    """
    if factor <= 1:
        raise ValueError(f"factor must be above 1 (a ratio either way), got {factor}")
    if stated is None:
        return "not stated"
    if measured is None:
        return "not measured"
    if measured < 0 or stated <= 0:
        raise ValueError(f"times must be positive: measured {measured}, stated {stated}")
    f = f"{factor:g}x"
    return f"OFF BY MORE THAN {f}" if not (stated / factor <= measured <= stated * factor) else f"within {f}"


def _say(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 90:
        return f"{seconds:.0f} s"
    minutes = seconds / 60
    return f"{minutes:.0f} min" if abs(minutes - round(minutes)) < 0.05 else f"{minutes:.1f} min"


def reduced_sizes() -> bool:
    """True for a build at sizes other than the book's own (``SEVEC_SIZES`` set)."""
    return bool(os.environ.get("SEVEC_SIZES", "").strip(" {}"))


class ExecTableNode(nodes.General, nodes.Element):
    """Placeholder for the table, replaced once every page has been executed."""


class ExecTable(SphinxDirective):
    has_content = False

    def run(self):
        docs = getattr(self.env, "sevec_exec_table_docs", set())
        docs.add(self.env.docname)
        self.env.sevec_exec_table_docs = docs
        return [ExecTableNode()]


def _rows(env) -> list[dict]:
    meta = getattr(env, "nb_metadata", {}) or {}
    rows = []
    for docname in sorted(meta):
        data = meta[docname].get("exec_data")
        if not data:
            continue
        path = Path(env.doc2path(docname))
        read, run = stated_times(path.read_text(encoding="utf-8")) if path.exists() else (None, None)
        measured = data.get("runtime")
        title = env.titles[docname].astext() if docname in env.titles else docname
        rows.append({"docname": docname, "title": title, "read": read, "run": run, "measured": measured,
                     "ok": data.get("succeeded") is True,
                     "verdict": "not compared (reduced sizes)" if reduced_sizes() else verdict(measured, run)})
    return rows


def _log(app, env) -> list[str]:
    rows = _rows(env)
    if rows:
        sizes = "reduced sizes (SEVEC_SIZES): times not compared" if reduced_sizes() else "the book's sizes"
        LOG.info(f"[exec-stats] run times of {len(rows)} executed pages, at {sizes}:")
    for r in rows:
        LOG.info(f"[exec-stats] {r['docname']}: ran {_say(r['measured'])}, states {_say(r['run'])} to run: "
                 f"{r['verdict']}")
    return sorted(getattr(env, "sevec_exec_table_docs", set()))


def _entry(*children) -> nodes.entry:
    p = nodes.paragraph()
    p += list(children)
    return nodes.entry("", p)


def make_table(env, parent: str) -> nodes.table:
    heads = ["page", "stated reading time", "stated run time", "measured run time", "measured / stated",
             f"within {FACTOR:g}x?"]
    table = nodes.table(classes=["sevec-exec-table"])
    group = nodes.tgroup(cols=len(heads))
    table += group
    for _ in heads:
        group += nodes.colspec(colwidth=1)
    thead, tbody = nodes.thead(), nodes.tbody()
    group += thead
    row = nodes.row()
    for h in heads:
        row += _entry(nodes.Text(h))
    thead += row
    group += tbody
    total_read = total_run = 0.0
    for r in _rows(env):
        row = nodes.row()
        link = pending_xref(refdoc=parent, reftarget="/" + r["docname"], reftype="doc", refdomain="std",
                            refexplicit=True, refwarn=True, classes=["xref", "doc"])
        link += nodes.inline(text=r["title"])
        row += _entry(link)
        row += _entry(nodes.Text(_say(r["read"])))
        row += _entry(nodes.Text(_say(r["run"])))
        row += _entry(nodes.Text(_say(r["measured"]) + ("" if r["ok"] else " (failed)")))
        ratio = (f"{r['measured'] / r['run']:.2f}" if r["run"] and r["measured"] is not None else "-")
        row += _entry(nodes.Text(ratio))
        flag = r["verdict"].startswith("OFF")
        row += _entry(nodes.strong(text=r["verdict"]) if flag else nodes.Text(r["verdict"]))
        if flag:
            row["classes"].append("sevec-exec-flag")
        tbody += row
        total_read += r["read"] or 0.0
        total_run += r["measured"] or 0.0
    row = nodes.row()
    row += _entry(nodes.Text("all pages"))
    row += _entry(nodes.Text(_say(total_read)))
    row += _entry(nodes.Text(""))
    row += _entry(nodes.Text(_say(total_run)))
    row += _entry(nodes.Text(""))
    row += _entry(nodes.Text(""))
    tbody += row
    return table


class ExecTableTransform(SphinxPostTransform):
    default_priority = 8  # before the references are resolved

    def run(self, **kwargs) -> None:
        for node in list(self.document.findall(ExecTableNode)):
            new = [make_table(self.env, self.env.docname)]
            if reduced_sizes():
                new.insert(0, nodes.paragraph(text=(
                    "This build ran every page at reduced sizes (SEVEC_SIZES), so its times are not "
                    "compared with the stated ones, which are for the book's sizes.")))
            node.replace_self(new)


def _purge(app, env, docname) -> None:
    getattr(env, "sevec_exec_table_docs", set()).discard(docname)


def _merge(app, env, docnames, other) -> None:
    env.sevec_exec_table_docs = getattr(env, "sevec_exec_table_docs", set()) | \
        (getattr(other, "sevec_exec_table_docs", set()) & set(docnames))


def setup(app):
    app.add_node(ExecTableNode)
    app.add_directive("sevec-exec-table", ExecTable)
    app.add_post_transform(ExecTableTransform)
    app.connect("env-updated", _log)
    app.connect("env-purge-doc", _purge)
    app.connect("env-merge-info", _merge)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
