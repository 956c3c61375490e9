"""The book's chapters as code: what each chapter measures, shows and judges.

One module per chapter (the notebook of the same topic calls it): a notebook cell is one
call here, so the notebooks stay thin and prose-first. Every module has
``record(study) -> Record`` that runs the whole chapter without figures; the summary uses
it to compute what a reader opened without running the chapters first.

| notebook | module |
|---|---|
| 01_semantic_vectors | :mod:`.semantic_vectors` |
| 02_validating_sevecs | :mod:`.validation` |
| 03_concept_hierarchy | :mod:`.hierarchy` |
| 04_multifacetedness | :mod:`.diversity` |
| 05_concept_relations | :mod:`.relations` |
| 06_semantic_saliency | :mod:`.saliency_maps` |
| 07_pointing_game | :mod:`.pointing_game` |
| 08_real_network | :mod:`.real_network` |
| 09_beyond_the_paper | :mod:`.beyond` |
| 99_summary | :mod:`.summary` |
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from .._io import atomic_write
from ..claims import Check, Verdict

CHAPTERS = {"01_semantic_vectors": "semantic_vectors", "02_validating_sevecs": "validation",
            "03_concept_hierarchy": "hierarchy", "04_multifacetedness": "diversity",
            "05_concept_relations": "relations", "06_semantic_saliency": "saliency_maps",
            "07_pointing_game": "pointing_game", "08_real_network": "real_network",
            "09_beyond_the_paper": "beyond"}
"""Notebook name -> module in this package, in reading order (the summary excluded)."""


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

    def as_dict(self) -> dict:
        return jsonable({"chapter": self.chapter, "profile": self.profile, "numbers": self.numbers,
                         "verdicts": self.verdicts, "checks": self.checks})

    def save(self, results_dir: str | os.PathLike) -> Path:
        """Write ``results_dir/<chapter>.json`` atomically."""
        return atomic_write(Path(results_dir) / f"{self.chapter}.json",
                            lambda fh: json.dump(self.as_dict(), fh, indent=1), binary=False)

    def show(self):
        """The chapter's verdict table, and its table of own checks (when it has any)."""
        from .. import viz

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
