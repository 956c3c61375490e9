"""What a chapter found, as a record saved to disk: its numbers, its verdicts on the paper's
claims and its own checks (:class:`Record`); reading records back; and one claim over
several networks (:func:`across`).
"""

from __future__ import annotations

import importlib
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from sevec_helpers.book.claims.base import Check, Verdict
from sevec_helpers.core.atomic import atomic_write

CHAPTERS = {name: name[3:] for name in (
    "01_semantic_vectors", "02_validating_sevecs", "03_concept_hierarchy", "04_multifacetedness",
    "05_concept_relations", "06_semantic_saliency", "07_pointing_game", "08_real_network", "09_beyond_the_paper")}
"""Notebook name -> module in this package, in reading order (the summary excluded)."""

PAPER_CHAPTERS = tuple(n for n in CHAPTERS if n < "08")
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


@dataclass
class Record:
    """What a chapter found: its numbers, its verdicts on the paper's claims, its own checks."""

    chapter: str
    profile: str
    numbers: dict = field(default_factory=dict)
    verdicts: list[Verdict] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    network: str = ""   # the network judged (the profile's model)

    def as_dict(self) -> dict:
        return jsonable({"chapter": self.chapter, "profile": self.profile, "network": self.network,
                         "numbers": self.numbers, "verdicts": self.verdicts, "checks": self.checks})

    def save(self, results_dir: str | os.PathLike) -> Path:
        """Write ``results_dir/<chapter>.json`` atomically."""
        return atomic_write(Path(results_dir) / f"{self.chapter}.json",
                            lambda fh: json.dump(self.as_dict(), fh, indent=1), binary=False)

    def show(self, others: dict | None = None):
        """The chapter's verdict table, and its table of own checks (when it has any).

        With ``others`` (``{network: Record}`` of the same chapter on other networks, as
        :func:`on_networks` returns), each verdict row also says on how many of the networks
        it holds, and a table gives every network's verdict per claim."""
        from sevec_helpers.book import figures as viz

        if others and self.verdicts:
            if self.network in others:
                raise ValueError(f"{self.network} is this record's own network: `others` are the other networks")
            rows = across({self.network: self.verdicts, **{n: r.verdicts for n, r in others.items()}})
            return viz.stack([viz.verdict_table(self.verdicts, across=rows), viz.network_table(rows)]
                             + ([viz.checks_table(self.checks)] if self.checks else []))
        out = [viz.verdict_table(self.verdicts)] if self.verdicts else []
        if self.checks:
            out.append(viz.checks_table(self.checks))
        return viz.stack(out) if out else viz.Markdown("This chapter tests none of the paper's claims.")


def load_results(results_dir: str | os.PathLike) -> dict[str, dict]:
    """Every saved chapter record in ``results_dir``, by chapter name."""
    d = Path(results_dir)
    if not d.is_dir():
        return {}
    return {p.stem: json.loads(p.read_text()) for p in sorted(d.glob("*.json"))}


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

NETWORKS_DIR = "networks"
"""Records of a chapter on other networks go to ``results_dir/networks/<network>/``."""


def network_results_dir(results_dir: str | os.PathLike, network: str) -> Path:
    """Where the records of ``network`` (other than the profile's own) are saved."""
    return Path(results_dir) / NETWORKS_DIR / network


def record_on(study, chapter: str, network) -> Record:
    """Chapter ``chapter``'s headless twin (its ``record(study)``: the notebook's public calls
    without figures) on another network of the same world: ``study.on_network(network)``,
    which keeps the data, ground truth, sizes and cache and swaps the model (and its
    gray-retrained partner)."""
    if chapter not in CHAPTERS:
        raise ValueError(f"unknown chapter {chapter!r}; the chapters are {', '.join(CHAPTERS)}")
    mod = importlib.import_module(f"sevec_helpers.book.chapters.{CHAPTERS[chapter]}")
    other = study.on_network(network)
    _prefit(other)
    return mod.record(other)

PREFIT_LAYERS = ("fc1", "pool5")
"""The layers the paper chapters fit class SeVecs at (chapters 1-5: fc1; 6-7: pool5)."""


def _prefit(study) -> None:
    """Fit the class SeVecs of :data:`PREFIT_LAYERS` in one pass over the images (one cache
    entry per layer, the same as single-layer fits), so that the chapters' own single-layer
    fits on another network are cache hits instead of one pass each."""
    from sevec_helpers.core.layers import layer_names
    from sevec_helpers.sevecs.fit import fit_sevecs

    if not study.has("class_fit") or not set(PREFIT_LAYERS) <= set(layer_names(study.model)):
        return
    fit_sevecs(study.model, study.dataset("class_fit"), layers=list(PREFIT_LAYERS),
               cache=study.cache, **study.run)


def network_list(networks) -> list:
    """``networks`` as a list, refusing a single name or path (which would be read letter by letter)."""
    if isinstance(networks, (str, os.PathLike)):
        raise TypeError(f"networks is a list of networks, got the single {type(networks).__name__} {str(networks)!r}: "
                        f"write [{str(networks)!r}]")
    return list(networks)


def on_networks(study, chapter: str, networks=None, *, results_dir: str | os.PathLike | None = None,
                progress=print) -> dict[str, Record]:
    """The chapter judged on other networks: :func:`record_on` for each, saved under
    :func:`network_results_dir` when ``results_dir`` is given.

    Parameters
    ----------
    study : Study
        The chapter's study (its data, sizes and cache are shared).
    chapter : str
        The chapter's notebook name, e.g. ``"01_semantic_vectors"``.
    networks : sequence of str or path-like, optional
        Shipped network names or network files of ``python -m sevec_helpers.sources.train``;
        default the profile's replicates (``study.replicates``: for the world profile
        ``vgg_mini_seed1..3``; none for real-data profiles). ``[]`` judges none.
    results_dir : path-like, optional
        Where to save the records (``results_dir/networks/<network>/<chapter>.json``).
    progress : callable or None
        Called with one line per network (default ``print``).

    Returns
    -------
    dict
        ``{network name: Record}`` in the given order.
    """
    networks = study.replicates if networks is None else network_list(networks)
    out = {}
    for net in networks:
        if progress:
            progress(f"{chapter} on {net} ...")
        rec = record_on(study, chapter, net)
        if results_dir is not None:
            rec.save(network_results_dir(results_dir, rec.network))
        out[rec.network] = rec
    return out


def across(verdicts_by_network: dict) -> list[dict]:
    """One row per claim judged on several networks (rules v3).

    Parameters
    ----------
    verdicts_by_network : dict
        ``{network: [Verdict or row dict, ...]}``; the first network's claims set the order.

    Returns
    -------
    list of dict
        Rows of :func:`sevec_helpers.book.claims.across.across_networks` (the verdict all networks agree
        on, else ``mixed`` with the counts). A claim some network's record lacks counts as
        "not testable" there (so all networks cannot agree on more), and its row names the
        network in ``why`` and in ``numbers["missing"]``.
    """
    from sevec_helpers.book.claims import UNTESTABLE
    from sevec_helpers.book.claims.across import across_networks

    per: dict[str, dict] = {}
    for net, rows in verdicts_by_network.items():
        for r in rows:
            r = r.as_dict() if isinstance(r, Verdict) else dict(r)
            per.setdefault(r["id"], {})[net] = r
    out = []
    for by_net in per.values():
        missing = [n for n in verdicts_by_network if n not in by_net]
        first = next(iter(by_net.values()))
        by_net = {n: by_net.get(n, dict(first, verdict=UNTESTABLE, ours="not judged on this network"))
                  for n in verdicts_by_network}
        row = across_networks(by_net).as_dict()
        if missing:
            row["why"] += f"; not judged on {', '.join(missing)}"
        row["numbers"]["missing"] = missing
        out.append(row)
    return out
