"""The photo testbed's written tables (committed beside this file) and the files they name.

- ``stamps.csv``: each Tux Paint stamp used, mapped to one ImageNet-1k class (index and name),
  with ``kind`` (every one a photograph; one is greyscale), ``use`` (``fit`` or ``holdout``
  where the class has several photographs, else ``both``: the same photograph serves fit and
  hold-out), ``mirror`` (``no`` where mirroring would show mirrored text or the stamp's
  ``.dat`` forbids it), its size, the materials and textures it shows by eye, each network's
  probability of the class with the stamp alone on white (``p_lite0/1/2``, measured by
  :func:`sevec_helpers.sources.photo_testbed.images.on_white`) and a note.
- ``classes.csv``: per class, its WordNet synset (``wnid``, found by name, see
  :mod:`~sevec_helpers.sources.photo_testbed.wordnet`), the WordNet levels ``superclass`` and
  ``group``, the materials (with a concept set: wood, stone, fabric, leather, paper, foliage)
  and other materials (metal, plastic, glass: no concept set here) and textures its photographs
  show by eye, and how many photographs it has.
- ``concepts.csv``: the texture and material concepts and their source images (GIMP patterns,
  GIMP's Gimpressionist paper textures, scikit-image's brick, grass and gravel).

Stamps were chosen by the rule: a photograph (not a drawing or a render), whose ImageNet class
is clear by eye, and that the networks recognise alone on white (first in at least one
EfficientNet-Lite's output with p > 0.3, or among all three networks' top 5).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

HERE = Path(__file__).resolve().parent

TUXPAINT = "tuxpaint-stamps-default"
MATE = "mate-backgrounds"
GIMP = "gimp-data"
SKIMAGE = "scikit-image"
PACKAGES = (TUXPAINT, MATE, GIMP)

STAMP_DIR = "usr/share/tuxpaint/stamps"
BACKGROUND_DIR = "usr/share/backgrounds/mate/nature"
BACKGROUNDS = {
    # the 12 photographs of mate-backgrounds' nature folder, split 6 / 6 so that each half has two
    # of foliage or grass, two of flowers and two others
    "fit": ("Blinds", "GreenMeadow", "FreshFlower", "TwoWings", "Storm", "Aqua"),
    "holdout": ("RainDrops", "LadyBird", "Garden", "YellowFlower", "Dune", "Wood"),
}
COPYRIGHT = {p: f"usr/share/doc/{p}/copyright" for p in PACKAGES}

LICENCES = {
    TUXPAINT: "GPL-2+",
    MATE: "GPL-2+",
    GIMP: "GPL-3+ and GPL-2+ and LGPL-3+ and MIT and Expat and BSD-2-clause",
    SKIMAGE: "CC0-1.0",
}


def _split(cell: str) -> tuple[str, ...]:
    return tuple(v for v in cell.split(";") if v)


@dataclass(frozen=True)
class Stamp:
    path: str                 # below usr/share/tuxpaint/stamps
    imagenet_index: int
    imagenet_name: str
    kind: str
    use: str                  # "fit", "holdout" or "both"
    mirror: bool
    materials: tuple[str, ...]
    other_materials: tuple[str, ...]
    textures: tuple[str, ...]
    p: tuple[float | None, float | None, float | None]
    note: str

    @property
    def package_path(self) -> str:
        return f"{STAMP_DIR}/{self.path}"

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1].removesuffix(".png")


@dataclass(frozen=True)
class ClassInfo:
    imagenet_index: int
    name: str
    wnid: str
    synset: str
    superclass: str
    group: str
    materials: tuple[str, ...]
    other_materials: tuple[str, ...]
    textures: tuple[str, ...]
    n_photographs: int


@dataclass(frozen=True)
class Source:
    """An image that concept swatches are cut from."""

    id: str
    package: str              # a Debian package, or "scikit-image"
    path: str                 # inside the package (for scikit-image: the name in skimage.data)
    texture: str
    material: str
    note: str


def _read(name: str) -> list[dict]:
    with open(HERE / name, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _p(v: str) -> float | None:
    return float(v) if v else None


@lru_cache(maxsize=None)
def stamps() -> tuple[Stamp, ...]:
    """Every stamp of ``stamps.csv``, in the table's order (by class index, then path)."""
    return tuple(Stamp(r["stamp"], int(r["imagenet_index"]), r["imagenet_name"], r["kind"], r["use"],
                       r["mirror"] == "yes", _split(r["materials"]), _split(r["other_materials"]),
                       _split(r["textures"]), (_p(r["p_lite0"]), _p(r["p_lite1"]), _p(r["p_lite2"])), r["note"])
                 for r in _read("stamps.csv"))


@lru_cache(maxsize=None)
def classes() -> tuple[ClassInfo, ...]:
    """Every class of ``classes.csv``, by ImageNet index."""
    return tuple(ClassInfo(int(r["imagenet_index"]), r["name"], r["wnid"], r["synset"], r["superclass"], r["group"],
                           _split(r["materials"]), _split(r["other_materials"]), _split(r["textures"]),
                           int(r["n_photographs"]))
                 for r in _read("classes.csv"))


@lru_cache(maxsize=None)
def sources() -> tuple[Source, ...]:
    """Every concept source of ``concepts.csv``."""
    return tuple(Source(r["source"], r["package"], r["path"], r["texture"], r["material"], r["note"])
                 for r in _read("concepts.csv"))


def concept_sources(kind: str) -> dict[str, tuple[Source, ...]]:
    """Concept name -> its sources, for ``kind`` "textures" or "materials" (concepts sorted by name)."""
    if kind not in ("textures", "materials"):
        raise ValueError(f"kind must be 'textures' or 'materials', got {kind!r}")
    attr = "texture" if kind == "textures" else "material"
    out: dict[str, list[Source]] = {}
    for s in sources():
        name = getattr(s, attr)
        if name:
            out.setdefault(name, []).append(s)
    return {k: tuple(out[k]) for k in sorted(out)}


def stamps_of(imagenet_index: int, split: str) -> tuple[Stamp, ...]:
    """The class's photographs used for ``split`` ("fit" or "holdout")."""
    if split not in ("fit", "holdout"):
        raise ValueError(f"split must be 'fit' or 'holdout', got {split!r}")
    return tuple(s for s in stamps() if s.imagenet_index == imagenet_index and s.use in (split, "both"))


def background_paths(split: str) -> tuple[str, ...]:
    if split not in BACKGROUNDS:
        raise ValueError(f"split must be 'fit' or 'holdout', got {split!r}")
    return tuple(f"{BACKGROUND_DIR}/{name}.jpg" for name in BACKGROUNDS[split])


def used_files() -> dict[str, list[str]]:
    """Per Debian package, every file the testbed reads (the manifest lists exactly these)."""
    out = {p: [COPYRIGHT[p]] for p in PACKAGES}
    out[TUXPAINT] += [s.package_path for s in stamps()]
    out[MATE] += [*background_paths("fit"), *background_paths("holdout")]
    out[GIMP] += [s.path for s in sources() if s.package == GIMP]
    return {p: sorted(set(v)) for p, v in out.items()}
