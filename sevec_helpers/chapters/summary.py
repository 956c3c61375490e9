"""The summary: every paper claim tested, one row each, counted; and the book's own checks apart."""

from __future__ import annotations

import importlib
from pathlib import Path

from .. import claims as C
from .. import viz
from ..profiles import Study
from . import CHAPTERS, Record, load_results


def compute(name: str, study: Study) -> Record:
    """Run chapter ``name`` end to end (no figures) and return its record."""
    mod = importlib.import_module(f"{__package__}.{CHAPTERS[name]}")
    return mod.record(study)


def collect(results_dir: str | Path, study: Study | None = None, progress=None) -> tuple[dict, list[str]]:
    """Saved records of every chapter; with a ``study``, the missing ones are computed (and saved)
    now. Returns (records by chapter, the chapters computed here)."""
    records = {k: v for k, v in load_results(results_dir).items() if k in CHAPTERS}
    done = []
    if study is not None:
        for name in CHAPTERS:
            if name not in records:
                if progress:
                    progress(name)
                rec = compute(name, study)
                rec.save(results_dir)
                records[name] = rec.as_dict()
                done.append(name)
    return dict(sorted(records.items())), done


def paper_rows(records: dict) -> list[dict]:
    return [dict(r, claim=f"[{name[:2]}] {r['claim']}") for name, rec in records.items() for r in rec["verdicts"]]


def network_rows(records_by_network: dict) -> list[dict]:
    """One row per paper claim judged on several networks (rules v3, issue 19).

    Parameters
    ----------
    records_by_network : dict
        ``{network: records}``, each ``records`` as returned by :func:`collect` for that network.

    Returns
    -------
    list of dict
        Rows of :func:`sevec_helpers.claims.across_networks`: the verdict all networks agree
        on, else ``mixed`` with the counts (never counted as reproduced by
        :func:`sevec_helpers.claims.counts`); a claim some network did not judge says so.
    """
    per: dict[str, dict] = {}
    for net, records in records_by_network.items():
        for r in paper_rows(records):
            per.setdefault(r["id"], {})[net] = r
    rows = []
    for by_net in per.values():
        row = C.across_networks(by_net).as_dict()
        missing = [n for n in records_by_network if n not in by_net]
        if missing:
            row["why"] += f"; not judged on {', '.join(missing)}"
        rows.append(row)
    return rows


def check_rows(records: dict) -> list[dict]:
    return [dict(r, check=f"[{name[:2]}] {r['check']}") for name, rec in records.items() for r in rec["checks"]]


def headline(records: dict):
    rows = paper_rows(records)
    profiles = sorted({rec["profile"] for rec in records.values()})
    missing = [n for n in CHAPTERS if n not in records]
    text = f"**{C.headline(rows)}**"
    text += f" Profile(s) of the saved results: {', '.join(profiles) or 'none'}."
    if missing:
        text += f" Chapters without saved results (not counted): {', '.join(missing)}."
    return viz.Markdown(text)


def counts_table(records: dict):
    c = C.counts(paper_rows(records))
    return viz.markdown_table(["verdict", "claims"], [[v, n] for v, n in c.items()])
