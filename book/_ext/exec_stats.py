"""The execution statistics page: each executed page's run time in this build beside the run
time its "Time" note states, a range ("1-3 minutes to run") or a single time ("about 30
seconds to run", read as half to twice that).

The directive ``{sevec-exec-table}`` puts a placeholder in a page; once every page has been
executed, it becomes a table (page, stated reading time, stated run time, this build's run
time, their ratio, and in plain words whether this build ran within the stated time, slower
or faster). The page reports; it does not alarm: a build on a shared or busy machine runs
slower than a reader's laptop, and the page says how busy the machine was (its cores and load
average). Mismatches are for the people who maintain the notes: the build log names each one
on a line starting ``[exec-stats] MISMATCH``. A build never fails on them.

Every number on the page comes from the build that made it (the execution times MyST-NB
records for each page), so the page cannot disagree with the book it is part of; the chapters
state ranges rather than the times of one build.

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
FACTOR = 2.0      # a single stated time ("about 30 seconds") reaches from half to twice itself

_NUMBER = {"a": 1.0, "an": 1.0, "one": 1.0, "two": 2.0, "three": 3.0, "four": 4.0, "five": 5.0,
           "half a": 0.5, "a half": 0.5}
_UNIT = {"s": 1.0, "sec": 1.0, "second": 1.0, "seconds": 1.0, "min": 60.0, "minute": 60.0, "minutes": 60.0}
_NUM = r"(?:\d+(?:\.\d+)?|half\s+a|an?|one|two|three|four|five)"
_RANGE = re.compile(rf"(?P<lo>{_NUM})\s*(?:-|\u2013|to)\s*(?P<n>{_NUM})\s+(?P<unit>seconds?|sec|minutes?|min|s)\s+to\s+run",
                    re.IGNORECASE)
_RUN = re.compile(r"about\s+(?P<n>\d+(?:\.\d+)?|half\s+a|an?|one|two|three|four|five)\s+"
                  r"(?P<unit>seconds?|sec|minutes?|min|s)\s+to\s+run", re.IGNORECASE)
_READ = re.compile(r"about\s+(?P<n>\d+(?:\.\d+)?|an?|one|two|three|four|five)\s+(?P<unit>minutes?|min)\s+to\s+read",
                   re.IGNORECASE)


def _value(n: str) -> float:
    n = re.sub(r"\s+", " ", n.lower())
    return _NUMBER[n] if n in _NUMBER else float(n)


def _seconds(m: re.Match | None) -> float | None:
    if m is None:
        return None
    return _value(m.group("n")) * _UNIT[m.group("unit").lower()]


def stated_range(text: str, factor: float = 2.0) -> tuple[float, float] | None:
    """The run time a page states first, as a range in seconds: "1-3 minutes to run" is
    (60, 180); "about 30 seconds to run" is (30 / factor, 30 * factor); None when not stated.

    Parameters
    ----------
    text : str
        The page's source text.
    factor : float
        How far either way a single stated time reaches.

    Returns
    -------
    tuple of float, or None
    """
    text = re.sub(r"\s+", " ", text)
    r, a = _RANGE.search(text), _RUN.search(text)
    if r and (a is None or r.start() <= a.start()):
        unit = _UNIT[r.group("unit").lower()]
        lo, hi = sorted((_value(r.group("lo")) * unit, _value(r.group("n")) * unit))
        return lo, hi
    if a:
        t = _seconds(a)
        return t / factor, t * factor
    return None


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
    r, a = _RANGE.search(text), _RUN.search(text)
    if r and (a is None or r.start() <= a.start()):
        return _seconds(_READ.search(text)), _seconds(r)
    return _seconds(_READ.search(text)), _seconds(a)


def verdict(measured: float | None, stated: tuple[float, float] | float | None, factor: float = FACTOR) -> str:
    """How a measured run time compares with the stated one, in plain words.

    Parameters
    ----------
    measured : float or None
        Seconds this build took; None when the page was not executed.
    stated : (float, float), float or None
        The stated range in seconds (:func:`stated_range`), or a single stated time (read as
        ``factor`` either way); None when the page states none.
    factor : float
        How far either way a single stated time reaches.

    Returns
    -------
    str
        ``"not stated"``, ``"not measured"``, ``"within the stated time"``, or
        ``"slower than stated (2.4x its upper end)"`` / ``"faster than stated (0.3x its lower
        end)"``.

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
    lo, hi = (stated / factor, stated * factor) if isinstance(stated, (int, float)) else stated
    if measured < 0 or lo <= 0:
        raise ValueError(f"times must be positive: measured {measured}, stated {stated}")
    if measured > hi:
        return f"slower than stated ({measured / hi:.1f}x its upper end)"
    if measured < lo:
        return f"faster than stated ({measured / lo:.1f}x its lower end)"
    return "within the stated time"


def mismatch(word: str) -> bool:
    """Whether a :func:`verdict` is a mismatch the build log names."""
    return word.startswith(("slower", "faster"))


def _say_range(r: tuple[float, float] | None, exact: float | None) -> str:
    if r is None:
        return "-"
    if exact is not None and abs(r[0] * FACTOR - exact) < 1e-6 and abs(r[1] / FACTOR - exact) < 1e-6:
        return f"about {_say(exact)}"
    lo, hi = _say(r[0]), _say(r[1])
    if lo.split()[-1] == hi.split()[-1]:   # one unit: "1-3 min", "10-40 s"
        return f"{lo.split()[0]}-{hi}"
    return f"{lo} to {hi}"


def _say(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 60:
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
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        read, run = stated_times(text)
        span = stated_range(text)
        measured = data.get("runtime")
        title = env.titles[docname].astext() if docname in env.titles else docname
        rows.append({"docname": docname, "title": title, "read": read, "run": run, "range": span,
                     "measured": measured, "ok": data.get("succeeded") is True,
                     "verdict": "not compared (reduced sizes)" if reduced_sizes() else verdict(measured, span)})
    return rows


def machine() -> str:
    """The machine that ran the build, as the page states it: its cores and load average."""
    cores = os.cpu_count() or 0
    try:
        load = os.getloadavg()
        busy = f"; load average {load[0]:.1f} over the last minute and {load[2]:.1f} over 15 minutes when the " \
               f"build finished (a load above the core count means other work shared the machine)"
    except OSError:   # not on every system
        busy = ""
    return f"{cores} CPU core{'s' if cores != 1 else ''}{busy}"


def _log(app, env) -> list[str]:
    rows = _rows(env)
    if rows:
        sizes = "reduced sizes (SEVEC_SIZES): times not compared" if reduced_sizes() else "the book's sizes"
        LOG.info(f"[exec-stats] run times of {len(rows)} executed pages, at {sizes}, on {machine()}:")
    for r in rows:
        flag = "MISMATCH " if mismatch(r["verdict"]) else ""
        LOG.info(f"[exec-stats] {flag}{r['docname']}: ran {_say(r['measured'])}, its note states "
                 f"{_say_range(r['range'], r['run'])} to run: {r['verdict']}")
    return sorted(getattr(env, "sevec_exec_table_docs", set()))


def _entry(*children) -> nodes.entry:
    p = nodes.paragraph()
    p += list(children)
    return nodes.entry("", p)


def make_table(env, parent: str) -> nodes.table:
    heads = ["page", "stated reading time", "stated run time", "run time in this build", "this build / stated",
             "compared with the note"]
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
        row += _entry(nodes.Text(_say_range(r["range"], r["run"])))
        row += _entry(nodes.Text(_say(r["measured"]) + ("" if r["ok"] else " (failed)")))
        ratio = (f"{r['measured'] / r['run']:.2f}" if r["run"] and r["measured"] is not None and not reduced_sizes()
                 else "-")
        row += _entry(nodes.Text(ratio))
        row += _entry(nodes.Text(r["verdict"]))
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
            new = [nodes.paragraph(text=f"This build ran on {machine()}."), make_table(self.env, self.env.docname)]
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
