"""What a chapter found, as a record saved to disk: its numbers, its verdicts on the paper's
claims and its own checks (:class:`Record`); reading records back (:func:`load_records`); and
one claim over several networks and testbeds (:func:`across`, :func:`by_testbed`).

Records live at ``results_dir/<profile>/<network>/<chapter>.json``: the book's own network and
every other network a chapter was judged on, in one layout the summary reads.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from sevec_helpers.book.claims.base import Check, Verdict, testbed_of
from sevec_helpers.core.atomic import atomic_write

CHAPTERS = ("01_semantic_vectors", "02_validating_sevecs", "03_concept_hierarchy", "04_multifacetedness",
            "05_concept_relations", "06_semantic_saliency", "07_pointing_game", "08_real_network",
            "09_beyond_the_paper")
"""The chapters in reading order (the summary excluded); each has a presentation module of the
same name without its number in :mod:`sevec_helpers.book.chapters`."""

PAPER_CHAPTERS = CHAPTERS[:7]
"""The chapters that judge the paper's claims (08 and 09 report checks of our own only)."""


def jsonable(obj):
    """Plain JSON values: tensors and arrays as lists, non-finite floats as None, dataclass rows as dicts."""
    if isinstance(obj, (Verdict, Check)):
        return jsonable(obj.as_dict())
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, (torch.Tensor, np.ndarray)):
        return jsonable(obj.tolist())
    if isinstance(obj, (np.bool_, bool)):
        return bool(obj)
    if isinstance(obj, (np.integer, int)):
        return int(obj)
    if isinstance(obj, (np.floating, float)):
        v = float(obj)
        return v if math.isfinite(v) else None
    return obj


def record_path(results_dir: str | os.PathLike, profile: str, network: str, chapter: str) -> Path:
    """Where a chapter's record on (profile, network) is saved."""
    return Path(results_dir) / profile / (network or "default") / f"{chapter}.json"


@dataclass
class Record:
    """What a chapter found on one network: its numbers, its verdicts on the paper's claims
    (each naming its testbed), its own checks."""

    chapter: str
    profile: str
    numbers: dict = field(default_factory=dict)
    verdicts: list[Verdict] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    network: str = ""   # the network judged (the profile's model)

    def __post_init__(self):
        for v in self.verdicts:
            if isinstance(v, Verdict) and not v.testbed:
                v.testbed = self.testbed

    @property
    def testbed(self) -> str:
        return testbed_of(self.profile)

    def as_dict(self) -> dict:
        return jsonable({"chapter": self.chapter, "profile": self.profile, "network": self.network,
                         "testbed": self.testbed, "numbers": self.numbers, "verdicts": self.verdicts,
                         "checks": self.checks})

    def save(self, results_dir: str | os.PathLike) -> Path:
        """Write ``results_dir/<profile>/<network>/<chapter>.json`` atomically."""
        return atomic_write(record_path(results_dir, self.profile, self.network, self.chapter),
                            lambda fh: json.dump(self.as_dict(), fh, indent=1), binary=False)

    def show(self, others: dict | None = None):
        """The chapter's verdict table on this network, and its table of own checks.

        With ``others`` (``{"profile:network": Record}`` of the same chapter elsewhere, as
        :func:`sevec_helpers.book.runner.judge` returns), a table gives each claim's agreed
        verdict per testbed and over every network, and one table per testbed gives each
        network's verdict with the number that decided it."""
        from sevec_helpers.book import figures as viz

        out = []
        if self.verdicts:
            out.append(viz.verdict_table(self.verdicts))
        if others and self.verdicts:
            mine = f"{self.profile}:{self.network}"
            if mine in others:
                raise ValueError(f"{mine} is this record's own network: `others` are the other networks")
            beds = by_testbed({mine: self, **others})
            out.append(viz.testbeds_table({bed: across(nets) for bed, nets in beds.items()},
                                          across({f"{b}: {n}": v for b, nets in beds.items() for n, v in nets.items()})))
            for bed, nets in beds.items():
                out.append(viz.network_table(across(nets), title=f"Each claim on each network of {bed}"))
        for profile, why in (getattr(others, "skipped", None) or {}).items():
            out.append(viz.Markdown(f"*Not judged on {testbed_of(profile)} here: {why}*"))
        if self.checks:
            out.append(viz.checks_table(self.checks))
        return viz.stack(out) if out else viz.Markdown("This chapter tests none of the paper's claims.")


def load_records(results_dir: str | os.PathLike, chapters=CHAPTERS) -> dict[tuple[str, str], dict[str, dict]]:
    """Every saved record under ``results_dir``: ``{(profile, network): {chapter: record dict}}``."""
    root = Path(results_dir)
    out: dict[tuple[str, str], dict[str, dict]] = {}
    if not root.is_dir():
        return out
    for p in sorted(root.glob("*/*/*.json")):
        if p.stem in chapters:
            out.setdefault((p.parent.parent.name, p.parent.name), {})[p.stem] = json.loads(p.read_text())
    return out


def flat_numbers(payload, prefix: str = "") -> dict[str, float | None]:
    """Every number in a saved record, keyed by its path (for checks and the summary)."""
    out: dict[str, float | None] = {}
    if isinstance(payload, dict):
        for k, v in payload.items():
            out.update(flat_numbers(v, f"{prefix}{k}."))
    elif isinstance(payload, list):
        for i, v in enumerate(payload):
            out.update(flat_numbers(v, f"{prefix}{i}."))
    elif isinstance(payload, bool):
        pass
    elif isinstance(payload, (int, float)) or payload is None:
        out[prefix.rstrip(".")] = payload
    return out


def network_of(study) -> str:
    """The name of the network a study judges (its model's spec), or "" when it has none."""
    return getattr(getattr(study, "spec", None), "name", "") or ""


def network_list(networks) -> list:
    """``networks`` as a list, refusing a single name or path (which would be read letter by letter)."""
    if isinstance(networks, (str, os.PathLike)):
        raise TypeError(f"networks is a list of networks, got the single {type(networks).__name__} {str(networks)!r}: "
                        f"write [{str(networks)!r}]")
    return list(networks)


def _verdicts(rec) -> list:
    if isinstance(rec, Record):
        return rec.verdicts
    if isinstance(rec, dict) and "verdicts" in rec:
        return rec["verdicts"]
    return list(rec)


def by_testbed(records: dict) -> dict[str, dict[str, list]]:
    """Records (or lists of verdict rows) keyed ``"profile:network"``, grouped by testbed:
    ``{testbed: {network: verdicts}}``, testbeds in the order they first appear."""
    out: dict[str, dict[str, list]] = {}
    for key, rec in records.items():
        profile, _, network = str(key).partition(":")
        bed = rec.testbed if isinstance(rec, Record) else testbed_of(profile)
        out.setdefault(bed, {})[network or profile] = _verdicts(rec)
    return out


def across(verdicts_by_network: dict) -> list[dict]:
    """One row per claim judged on several networks (rules v3; testbed named, rules v4).

    Parameters
    ----------
    verdicts_by_network : dict
        ``{network: [Verdict or row dict, ...]}``; the first network's claims set the order.

    Returns
    -------
    list of dict
        Rows of :func:`sevec_helpers.book.claims.across_networks` (the verdict all networks agree
        on, else ``mixed`` with the counts). A claim some network's record lacks counts as
        "not testable" there (so all networks cannot agree on more), and its row names the
        network in ``why`` and in ``numbers["missing"]``.
    """
    from sevec_helpers.book.claims import UNTESTABLE, across_networks

    per: dict[str, dict] = {}
    for net, rows in verdicts_by_network.items():
        for r in rows:
            r = r.as_dict() if isinstance(r, Verdict) else dict(r)
            per.setdefault(r["id"], {})[net] = r
    out = []
    for by_net in per.values():
        missing = [n for n in verdicts_by_network if n not in by_net]
        first = next(iter(by_net.values()))
        by_net = {n: by_net.get(n, dict(first, verdict=UNTESTABLE, ours="not judged on this network", numbers={}))
                  for n in verdicts_by_network}
        row = across_networks(by_net).as_dict()
        if missing:
            row["why"] += f"; not judged on {', '.join(missing)}"
        row["numbers"]["missing"] = missing
        row["numbers"]["rows"] = by_net
        out.append(row)
    return out
