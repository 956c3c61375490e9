"""Profiles that the chapters run under, the paper's numbers, and the saved results.

A chapter's parameters cell names a ``profile``; :func:`setup` turns it into a model and
datasets. ``"world"`` (the default) is the embedded offline ConceptWorld with the shipped
``vgg_mini``; other profiles point the same code at real data (see :mod:`sevec_helpers.data`).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from torch.utils.data import Dataset

from ._io import atomic_write
from .models import ModelSpec, load_model

# The paper's reported numbers (VGG16, fc1 unless noted), printed beside ours.
PAPER = {
    "table1": {"associated_neuron": 1.05e-06, "random_neuron": -6.72e-07, "sevec_mask": 0.1929,
               "permuted_mask": 4.25e-06},
    "table2": {"top1_r": -0.5245, "top1_p": 9.395e-72, "top5_r": -0.4727, "top5_p": 8.485e-57},
    "table3": {"stone_wall": ("cracked", "stone"), "water_bottle": ("crystalline", "glass"),
               "picket_fence": ("grooved", "wood"), "bath_towel": ("knitted", "fabric"),
               "strawberry": ("bumpy", "foliage"), "dalmatian": ("freckled", None),
               "streetcar": ("porous", "metal")},
}


@dataclass
class Setup:
    """Everything a chapter needs: the model, its spec, and the datasets of one profile.

    Datasets yield model-ready tensors (already normalised) and labels; ``image(ds, i)``
    gives the [0, 1] HxWx3 picture for display.
    """

    profile: str
    model: torch.nn.Module
    spec: ModelSpec
    classes: list[str]
    class_fit: Dataset
    class_holdout: Dataset
    concept_sets: dict[str, tuple[Dataset, Dataset]]  # kind -> (fit, hold-out)
    scenes: Dataset | None
    truth: list[dict] | None
    superclass: list[str] | None
    group: list[str] | None
    grayscale_holdout: Dataset | None
    batch_size: int = 64
    device: str | None = None
    progress: bool = False
    results_dir: str = "_results"

    @property
    def run(self) -> dict:
        """Keyword arguments for the library's streaming functions."""
        return {"batch_size": self.batch_size, "device": self.device, "progress": self.progress}

    def image(self, ds: Dataset, i: int) -> np.ndarray:
        x = ds[i][0]
        return self.spec.denormalize(x[None])[0].clamp(0, 1).permute(1, 2, 0).numpy()

    def images(self, ds: Dataset, idx) -> list[np.ndarray]:
        return [self.image(ds, int(i)) for i in idx]


class Cached(Dataset):
    """Renders every item once and keeps the tensors: the chapters read datasets many times."""

    def __init__(self, base: Dataset):
        self.base = base
        self.classes = getattr(base, "classes", None)
        self._items: list[Any] = [None] * len(base)

    def __len__(self):
        return len(self.base)

    def __getitem__(self, i):
        if self._items[i] is None:
            self._items[i] = self.base[i]
        return self._items[i]


def _world(per_class_fit=100, per_class_eval=50, per_concept_fit=60, per_concept_eval=20, n_scenes=100,
           world_seed=0, holdout_seed=1, **_) -> dict:
    from . import world as W

    model, spec = load_model("vgg_mini")
    train_w, hold_w = W.ConceptWorld(world_seed), W.ConceptWorld(holdout_seed)
    t = spec.transform  # normalises the world's [0, 1] tensors with the model's mean and std
    sets = {}
    for kind, cls in (("textures", W.TexturesDataset), ("materials", W.MaterialsDataset),
                      ("colors", W.ColorsDataset)):
        sets[kind] = (Cached(cls(train_w, "train", per_concept_fit, transform=t)),
                      Cached(cls(hold_w, "test", per_concept_eval, transform=t)))
    scenes = Cached(W.ScenesDataset(hold_w, "test", n_scenes, transform=t))
    truth = W.ground_truth()
    return dict(model=model, spec=spec, classes=list(W.CLASS_NAMES),
                class_fit=Cached(W.ObjectsDataset(train_w, "train", per_class_fit, transform=t)),
                class_holdout=Cached(W.ObjectsDataset(hold_w, "test", per_class_eval, transform=t)), concept_sets=sets,
                scenes=scenes, truth=truth, superclass=[r["superclass"] for r in truth],
                group=[r["group"] for r in truth],
                grayscale_holdout=Cached(W.ObjectsDataset(hold_w, "test", per_class_eval, transform=t, grayscale=True)))


PROFILES: dict[str, Callable[..., dict]] = {"world": _world}


def register_profile(name: str, builder: Callable[..., dict]) -> None:
    """Add a profile: ``builder(**params)`` returns the fields of :class:`Setup`."""
    PROFILES[name] = builder


def setup(profile: str = "world", *, batch_size: int = 64, device: str | None = None, progress: bool = False,
          results_dir: str = "_results", seed: int = 0, **params) -> Setup:
    """Build the model and datasets of ``profile`` (see ``PROFILES``) with the chapter's parameters."""
    if profile not in PROFILES:
        from . import data  # noqa: F401  (registers the real-data profiles)
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; available: {', '.join(sorted(PROFILES))}")
    torch.manual_seed(seed)
    fields = PROFILES[profile](**params)
    return Setup(profile=profile, batch_size=batch_size, device=device, progress=progress,
                 results_dir=results_dir, **fields)


# ---------------------------------------------------------------------------------------
# results: one small JSON per chapter, written atomically
# ---------------------------------------------------------------------------------------


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, torch.Tensor):
        return _jsonable(obj.tolist())
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, (np.floating, float)):
        v = float(obj)
        return v if math.isfinite(v) else None
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj


def save_results(results_dir: str | os.PathLike, chapter: str, payload: dict) -> Path:
    """Write ``results_dir/chapter.json`` atomically; returns its path."""
    return atomic_write(Path(results_dir) / f"{chapter}.json",
                        lambda fh: json.dump(_jsonable(payload), fh, indent=1), binary=False)


def load_results(results_dir: str | os.PathLike) -> dict[str, dict]:
    d = Path(results_dir)
    if not d.is_dir():
        return {}
    return {p.stem: json.loads(p.read_text()) for p in sorted(d.glob("*.json"))}


def flat_numbers(payload, prefix: str = "") -> dict[str, float | None]:
    """Every number in a results payload, keyed by its path (for checks and the summary)."""
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
