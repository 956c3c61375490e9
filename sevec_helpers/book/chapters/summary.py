"""The summary: every paper claim on every network of both testbeds, one table per testbed,
their agreement, and the book's own checks apart.

Records are read from ``results_dir/<profile>/<network>/<chapter>.json``, where each chapter
saved them; a record that is missing (the page opened alone, in Colab say) is computed by
running that chapter's notebook headless (:mod:`sevec_helpers.book.runner`): the same code
the chapter shows. Judge a network of your own without figures::

    python -m sevec_helpers.book.chapters.summary path/to/vgg_mini_seed7.pt
"""

from __future__ import annotations

import argparse
import time

from sevec_helpers.book import claims as C
from sevec_helpers.book import figures as viz
from sevec_helpers.book import profiles
from sevec_helpers.book.records import PAPER_CHAPTERS, across, by_testbed, load_records, network_list
from sevec_helpers.book.runner import parse_network, record_of

COST_S = {"world": {"first": 330.0, "other": 30.0}, "photos": {"first": 150.0, "other": 180.0}}
"""Seconds to run the seven paper chapters headless on one network at the default sizes on a
2-core CPU with a cold cache (the first network of a testbed also renders its data), from the
book build's execution times (the cold build of 2026-12-06: a replicate vgg_mini about 25 s, an
EfficientNet-Lite1 or Lite2 165-200 s, its features at 240-260 px being its own); used only to
tell a reader what computing missing records costs."""


def wanted(networks=None) -> list[tuple[str, str]]:
    """(profile, network) pairs of ``networks`` (entries as in :func:`sevec_helpers.book.runner.judge`),
    default every network of the book's testbeds that can run here."""
    entries = profiles.book_networks() if networks is None else network_list(networks)
    out = []
    for e in entries:
        prof, net = parse_network(e, "world")
        if networks is None and not profiles.available(prof):
            continue
        out.append((prof, profiles.network_name(net)))
    return out


def missing(results_dir, networks=None) -> list[tuple[str, str, str]]:
    """(profile, network, chapter) of every paper chapter's record not saved under ``results_dir``."""
    have = load_records(results_dir, PAPER_CHAPTERS)
    return [(p, n, c) for p, n in wanted(networks) for c in PAPER_CHAPTERS if c not in have.get((p, n), {})]


def cost_note(todo: list[tuple[str, str, str]]) -> viz.Markdown:
    """What computing the missing records will take, and the cheaper choice."""
    if not todo:
        return viz.Markdown("Every record was saved by its chapter: nothing to compute.")
    nets = list(dict.fromkeys((p, n) for p, n, _ in todo))
    seconds, seen = 0.0, set()
    for p, _ in nets:
        c = COST_S.get(p, {"first": 300.0, "other": 300.0})
        seconds += c["other"] if p in seen else c["first"]
        seen.add(p)
    return viz.Markdown(
        f"{len(todo)} chapter records are not saved yet ({len(nets)} networks); computing them runs each chapter's "
        f"notebook headless, about {seconds / 60:.0f} minutes on a 2-core CPU at the default sizes (less on a GPU "
        f"or with smaller `sizes`). For a quick look, set `networks = [\"world:vgg_mini\"]` (about "
        f"{COST_S['world']['first'] / 60:.0f} minutes) or run the chapters first.")


def collect(results_dir, networks=None, *, compute: bool = True, sizes: dict | None = None, device=None,
            cache_dir=None, progress=None) -> dict[tuple[str, str], dict[str, dict]]:
    """The paper chapters' records on each wanted network, computing the missing ones.

    Parameters
    ----------
    results_dir : path-like
        Where the chapters saved their records (missing ones are saved there too).
    networks : sequence, optional
        As in :func:`wanted` (default: every network of both testbeds).
    compute : bool
        Compute the missing records (``False``: show only what was saved).
    sizes, device, cache_dir
        The chapters' parameters for what is computed here.
    progress : callable, optional
        Called with one line per record computed.

    Returns
    -------
    dict
        ``{(profile, network): {chapter: record dict}}`` in the order of :func:`wanted`.
    """
    have = load_records(results_dir, PAPER_CHAPTERS)
    out = {}
    for prof, net in wanted(networks):
        recs = dict(have.get((prof, net), {}))
        if compute:
            for chapter in PAPER_CHAPTERS:
                if chapter in recs:
                    continue
                t = time.perf_counter()
                rec = record_of(chapter, profile=prof, network=None if net == _own(prof) else net, sizes=sizes,
                                device=device, cache_dir=cache_dir, results_dir=results_dir)
                recs[chapter] = rec.as_dict()
                if progress:
                    progress(f"{chapter} on {prof}:{net}: {time.perf_counter() - t:.0f} s")
        if recs:
            out[(prof, net)] = dict(sorted(recs.items()))
    return out


def _own(profile: str) -> str | None:
    nets = profiles.PROFILES[profile].networks
    return nets[0] if nets else None


def paper_rows(records: dict) -> list[dict]:
    """The verdict rows of one network's records, each claim prefixed by its chapter number and
    naming its testbed."""
    return [dict(r, claim=f"[{name[:2]}] {r['claim']}",
                 testbed=r.get("testbed") or rec.get("testbed") or C.testbed_of(rec.get("profile", "")))
            for name, rec in sorted(records.items()) for r in rec["verdicts"]]


def check_rows(records: dict) -> list[dict]:
    return [dict(r, check=f"[{name[:2]}] {r['check']}") for name, rec in sorted(records.items()) for r in rec["checks"]]


def testbed_rows(collected: dict) -> dict[str, list[dict]]:
    """``{testbed: rows of :func:`sevec_helpers.book.records.across` over its networks}``."""
    beds = by_testbed({f"{p}:{n}": paper_rows(recs) for (p, n), recs in collected.items()})
    return {bed: across(nets) for bed, nets in beds.items()}


def overall_rows(collected: dict) -> list[dict]:
    """Each claim over every network of every testbed."""
    return across({f"{C.testbed_of(p)}: {n}": paper_rows(recs) for (p, n), recs in collected.items()})


def headlines(collected: dict) -> viz.Markdown:
    """One headline per testbed, naming it and its networks (rules v4)."""
    parts = []
    for bed, rows in testbed_rows(collected).items():
        n = max((r["numbers"].get("networks", 0) for r in rows), default=0)
        parts.append(f"**{C.headline(rows, testbed=bed, networks=n)}**")
    return viz.Markdown("\n\n".join(parts) if parts else "No record was found or computed.")


def counts_table(collected: dict):
    """How many claims got each agreed verdict on each testbed and over every network."""
    beds = testbed_rows(collected)
    cols = {bed: C.counts(rows) for bed, rows in beds.items()}
    allc = C.counts(overall_rows(collected)) if len(beds) > 1 else None
    head = ["verdict"] + [f"{bed}" for bed in beds] + (["every network"] if allc else [])
    return viz.markdown_table(head, [[v] + [cols[b][v] for b in beds] + ([allc[v]] if allc else [])
                                     for v in C.VERDICTS])


def own_network_rows(collected: dict) -> dict[str, list[dict]]:
    """The verdict rows of each testbed's own network (the one its chapters show), with numbers."""
    out = {}
    for (p, n), recs in collected.items():
        if n == _own(p) and C.testbed_of(p) not in out:
            out[C.testbed_of(p)] = paper_rows(recs)
    return out


def definitions() -> viz.Markdown:
    """What each verdict word means (rules v4), and what changed between rule versions."""
    words = "\n".join(f"- **{v}**: {C.DEFINITIONS[v]}." for v in C.VERDICTS)
    log = "\n".join(f"- **{v}**: {text}." for v, text in C.CHANGELOG)
    return viz.Markdown(f"{words}\n\n**The rules, version by version** (`sevec_helpers/book/claims/`):\n\n{log}")


def judge(network, *, profile: str = "world", sizes: dict | None = None, device=None, cache_dir=None,
          results_dir=None, progress=print) -> dict:
    """Every paper claim recomputed on one network by running the chapters' notebooks headless.

    Parameters
    ----------
    network : str or path-like
        One of the profile's networks or a ``.pt`` file written by
        ``python -m sevec_helpers.sources.train`` (with its ``.json`` beside it; a gray-retrained
        partner with the same seeds in the same folder is used for the colour ablation).
    profile, sizes, device, cache_dir
        As for :func:`sevec_helpers.book.profiles.study` (``cache_dir=None`` caches in memory).
    results_dir : path-like, optional
        Where to save the records (``results_dir/<profile>/<network>/``).
    progress : callable or None
        Called with a line per chapter and its time.

    Returns
    -------
    dict
        ``{"network": name, "records": {chapter: record dict}, "rows": the verdict rows,
        "seconds": {chapter: time}}``.
    """
    records, seconds, name = {}, {}, None
    for chapter in PAPER_CHAPTERS:
        t = time.perf_counter()
        rec = record_of(chapter, profile=profile, network=network, sizes=sizes, device=device, cache_dir=cache_dir,
                        results_dir=results_dir)
        seconds[chapter] = time.perf_counter() - t
        name = rec.network
        records[chapter] = rec.as_dict()
        if progress:
            progress(f"{chapter}: {seconds[chapter]:.1f} s")
    return {"network": name, "records": records, "rows": paper_rows(records), "seconds": seconds}


def main(argv=None) -> None:
    """``python -m sevec_helpers.book.chapters.summary NETWORK``: every verdict on that network."""
    p = argparse.ArgumentParser(prog="python -m sevec_helpers.book.chapters.summary",
                                description="Recompute every paper claim's verdict on one network (no figures), by "
                                            "running the chapters' notebooks headless.")
    p.add_argument("network", help="a .pt file written by `python -m sevec_helpers.sources.train`, or a network of "
                                   "the profile (e.g. vgg_mini_seed2, efficientnet_lite1)")
    p.add_argument("--profile", default="world", choices=sorted(profiles.PROFILES))
    p.add_argument("--cache-dir", default=None, help="disk cache to share with the book (default: in memory)")
    p.add_argument("--results-dir", default=None, help="save the records under RESULTS_DIR/<profile>/<network>/")
    p.add_argument("--device", default=None)
    a = p.parse_args(argv)
    t0 = time.perf_counter()
    out = judge(a.network, profile=a.profile, cache_dir=a.cache_dir, results_dir=a.results_dir, device=a.device)
    print()
    for r in out["rows"]:
        print(f"{r['verdict']:>15}  {r['claim']}  --  {r['ours']}")
    print(f"\n{out['network']}: {C.headline(out['rows'], networks=1)}")
    print(f"{len(out['rows'])} verdicts in {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()

