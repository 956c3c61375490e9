"""The summary: every paper claim tested, one row each, counted; and the book's own checks apart.

Every claim is judged on the profile's network and on its replicates (for the world profile
``vgg_mini`` and ``vgg_mini_seed1..3``, one recipe, four seeds); the headline verdict of a
claim is the one all networks agree on, else "mixed". Point it at any network file of
``python -m sevec_helpers.sources.train`` to recompute every verdict on that network, without
figures::

    python -m sevec_helpers.book.chapters.summary path/to/vgg_mini_seed7.pt
"""

from __future__ import annotations

import argparse
import importlib
import time
from pathlib import Path

from sevec_helpers.book import claims as C
from sevec_helpers.book import figures as viz
from sevec_helpers.book.profiles import Study
from sevec_helpers.book.records import (
    CHAPTERS,
    NETWORKS_DIR,
    PAPER_CHAPTERS,
    Record,
    across,
    load_results,
    network_list,
    network_results_dir,
    record_on,
)


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


def collect_networks(results_dir: str | Path, study: Study | None = None, networks=None,
                     progress=None) -> dict[str, dict]:
    """The paper chapters' records on the profile's network and on each of ``networks``
    (default ``study.replicates``; without a study, every network with saved records): saved ones are read back from
    ``results_dir/networks/<network>/``, missing ones computed with :func:`record_on` (and
    saved) when a ``study`` is given. Returns ``{network: {chapter: record dict}}``; the
    profile's own network first."""
    own, _ = collect(results_dir, study, progress)
    own = {k: v for k, v in own.items() if k in PAPER_CHAPTERS}
    first = next((r.get("network") for r in own.values() if r.get("network")), None)
    first = first or (study.spec.name if study is not None else "this network")
    out = {first: own}
    if networks is not None:
        nets = network_list(networks)
    elif study is not None:
        nets = study.replicates
    else:   # no study: every network whose records were saved
        root = Path(results_dir) / NETWORKS_DIR
        nets = sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else ()
    for net in nets:
        name = Path(net).stem if str(net).endswith(".pt") else str(net)
        recs = {k: v for k, v in load_results(network_results_dir(results_dir, name)).items() if k in PAPER_CHAPTERS}
        if study is not None:
            for chapter in PAPER_CHAPTERS:
                if chapter not in recs:
                    if progress:
                        progress(f"{chapter} on {name}")
                    rec = record_on(study, chapter, net)
                    rec.save(network_results_dir(results_dir, rec.network))
                    recs[chapter] = rec.as_dict()
        out[name] = dict(sorted(recs.items()))
    return out


def network_rows(records_by_network: dict) -> list[dict]:
    """One row per paper claim judged on several networks (rules v3, issue 19).

    Parameters
    ----------
    records_by_network : dict
        ``{network: records}``, each ``records`` as returned by :func:`collect` for that network.

    Returns
    -------
    list of dict
        Rows of :func:`sevec_helpers.book.records.across`: the verdict all networks agree on,
        else ``mixed`` with the counts (never counted as reproduced by
        :func:`sevec_helpers.book.claims.across.counts`); a claim some network did not judge counts as
        not testable there and says so.
    """
    return across({net: paper_rows(records) for net, records in records_by_network.items()})


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


def counts_table(records: dict, rows: list[dict] | None = None):
    """How many claims got each verdict: on the book's network, and (with ``rows`` of
    :func:`network_rows`) across the networks."""
    c = C.counts(paper_rows(records))
    if rows is None:
        return viz.markdown_table(["verdict", "claims"], [[v, n] for v, n in c.items()])
    a = C.counts(rows)
    n = max((r["numbers"].get("networks", 0) for r in rows), default=0)
    return viz.markdown_table(["verdict", "claims (book's network)", f"claims (agreed on {n} networks)"],
                              [[v, c.get(v, 0), a.get(v, 0)] for v in C.VERDICTS])


def networks_headline(rows: list[dict], networks) -> viz.Markdown:
    """The headline over networks: the counts of the agreed verdicts (``mixed`` apart)."""
    networks = list(networks)
    if len(networks) == 1:
        return viz.Markdown(f"**On {networks[0]} (no other network judged): {C.headline(rows)}**")
    names = ", ".join(viz.network_label(n) for n in networks)
    return viz.Markdown(f"**Across {len(networks)} networks ({names}): {C.headline(rows)}**")


def judge(network, *, profile: str = "world", sizes: dict | None = None, device=None,
          cache_dir: str | Path | None = None, results_dir: str | Path | None = None, progress=print) -> dict:
    """Every paper claim recomputed on one network, without figures.

    Parameters
    ----------
    network : str or path-like
        A shipped network name or a ``.pt`` file written by ``python -m sevec_helpers.sources.train``
        (with its ``.json`` beside it; a gray-retrained partner with the same seeds in the
        same folder is used for the colour ablation, when there is one).
    profile, sizes, device, cache_dir
        As for :func:`sevec_helpers.book.profiles.study` (the world's default sizes unless
        given; ``cache_dir=None`` caches in memory only).
    results_dir : path-like, optional
        Where to save the records (``results_dir/networks/<network>/``).
    progress : callable or None
        Called with a line per chapter and its time.

    Returns
    -------
    dict
        ``{"network": name, "records": {chapter: record dict}, "rows": the verdict rows,
        "seconds": {chapter: time}}``.
    """
    from sevec_helpers.book import profiles

    st = profiles.study(profile, sizes=sizes, device=device, cache_dir=cache_dir)
    records, seconds, name = {}, {}, None
    for chapter in PAPER_CHAPTERS:
        t = time.perf_counter()
        rec = record_on(st, chapter, network)
        seconds[chapter] = time.perf_counter() - t
        name = rec.network
        if results_dir is not None:
            rec.save(network_results_dir(results_dir, name))
        records[chapter] = rec.as_dict()
        if progress:
            progress(f"{chapter}: {seconds[chapter]:.1f} s")
    return {"network": name, "records": records, "rows": paper_rows(records), "seconds": seconds}


def main(argv=None) -> None:
    """``python -m sevec_helpers.book.chapters.summary NETWORK``: every verdict on that network."""
    p = argparse.ArgumentParser(prog="python -m sevec_helpers.book.chapters.summary",
                                description="Recompute every paper claim's verdict on one network (no figures).")
    p.add_argument("network", help="a .pt file written by `python -m sevec_helpers.sources.train`, or a shipped name")
    p.add_argument("--cache-dir", default=None, help="disk cache to share with the book (default: in memory)")
    p.add_argument("--results-dir", default=None, help="save the records under RESULTS_DIR/networks/<network>/")
    p.add_argument("--device", default=None)
    a = p.parse_args(argv)
    t0 = time.perf_counter()
    out = judge(a.network, cache_dir=a.cache_dir, results_dir=a.results_dir, device=a.device)
    print()
    for r in out["rows"]:
        print(f"{r['verdict']:>15}  {r['claim']}  --  {r['ours']}")
    print(f"\n{out['network']}: {C.headline(out['rows'])}")
    print(f"{len(out['rows'])} verdicts in {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
