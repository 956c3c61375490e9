"""The generator: every image a pure function of (seed, kind, split, index), with the nuisance
variation that makes ConceptWorld about as hard for a small VGG as ImageNet is for VGG16."""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from dataclasses import asdict, dataclass
from typing import Callable, NamedTuple

import numpy as np

from sevec_helpers.sources.world.draw import (
    _color,
    _grid,
    _smooth_noise,
    _surface,
    _to_uint8,
    blur,
    clutter,
    context_background,
    lighting,
    place_object,
    texture_field,
    texture_overlay,
)
from sevec_helpers.sources.world.vocabulary import (
    _MATERIAL_PALETTE,
    CLASS_NAMES,
    CLASSES,
    COLOR_NAMES,
    DEFAULT_COLOR_INFORMATIVENESS,
    GROUPS,
    LUMINANCE,
    MATERIAL_NAMES,
    MIN_CONTRAST,
    PALETTES,
    SUPERCLASS_CONTEXT,
    SUPERCLASSES,
    TEXTURE_NAMES,
    Facet,
    color_defined,
    ground_truth,
)

SPLITS = {"train": 0, "val": 1, "test": 2}
KINDS = {"objects": 0, "textures": 1, "materials": 2, "colors": 3, "scenes": 4}


@dataclass(frozen=True)
class Nuisance:
    """How an object image varies besides its class (each drawn independently per image).

    Sizes are object diameters as a share of the image side. Defaults are the world's
    design, fixed before any chapter ran on it (``book/world.md`` measures what they give).
    """

    scale: tuple = (0.18, 0.95)         # object size
    aspect: tuple = (0.8, 1.25)         # stretch
    neutral_context: float = 0.2        # share of backgrounds not from the superclass's context
    textured_background: float = 0.35   # share of backgrounds with a faint texture of the vocabulary
    clutter: tuple = (0, 4)             # distractor shapes behind the object
    occlusion: float = 0.5              # share of objects partly covered by 1-2 shapes
    occluder_size: float = 0.55         # occluder size, relative to the object
    blur: float = 0.4                   # share of blurred images
    noise: tuple = (0.01, 0.04)         # pixel noise (std)
    lighting: float = 1.0               # strength of gain, colour cast and gradient


class ObjectSample(NamedTuple):
    image: np.ndarray         # (S, S, 3) uint8
    facet: int                # which facet of the class was drawn
    box: tuple                # (x0, y0, x1, y1)
    colors: tuple             # the colours the object was drawn with (one for a textureless object)


class SceneSample(NamedTuple):
    image: np.ndarray
    boxes: np.ndarray         # (k, 4) int64
    labels: np.ndarray        # (k,)
    facets: list
    colors: list


# number of objects in a scene and their sizes: 1-4 objects, boxes from about 5% to 60% of the image
SCENE_OBJECTS = {1: (0.25, (0.6, 1.0)), 2: (0.35, (0.4, 0.62)), 3: (0.25, (0.3, 0.5)), 4: (0.15, (0.25, 0.42))}


def contrasting_pair(palette, rng) -> tuple[str, str]:
    """Two colours of ``palette`` that differ in luminance by at least MIN_CONTRAST, so a
    texture drawn with them survives in gray, as natural textures mostly do."""
    while True:
        a, b = rng.choice(len(palette), size=2, replace=False)
        if abs(LUMINANCE[palette[a]] - LUMINANCE[palette[b]]) >= MIN_CONTRAST:
            return str(palette[a]), str(palette[b])


MEMO_ENV = "SEVEC_WORLD_MEMO_MB"
DEFAULT_MEMO_MB = 256


class _Memo:
    """Images drawn recently, kept in memory (least recently used dropped first) up to a byte
    budget: a chapter that evaluates several networks on the same hold-out images draws them
    once. ``SEVEC_WORLD_MEMO_MB`` sets the budget (0 turns it off). Callers get copies, so
    an image they change in place never changes what the next caller gets."""

    def __init__(self):
        self._items: OrderedDict = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    @staticmethod
    def budget() -> int:
        raw = os.environ.get(MEMO_ENV, str(DEFAULT_MEMO_MB))
        try:
            mb = float(raw)
        except ValueError:
            raise ValueError(f"{MEMO_ENV} must be a number of megabytes (0 turns the memo off), got {raw!r}") from None
        return int(max(mb, 0.0) * 2**20)

    def get(self, key, compute: Callable[[], np.ndarray | tuple]):
        budget = self.budget()
        if budget <= 0:
            return compute()
        with self._lock:
            hit = self._items.get(key)
            if hit is not None:
                self._items.move_to_end(key)
                self.hits += 1
                return _copy(hit)
        value = compute()
        size = _nbytes(value)
        with self._lock:
            self.misses += 1
            if key not in self._items and size <= budget:
                self._items[key] = _copy(value)
                self._bytes += size
                while self._bytes > budget:
                    _, old = self._items.popitem(last=False)
                    self._bytes -= _nbytes(old)
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0
            self.hits = self.misses = 0


def _nbytes(v) -> int:
    return v.nbytes if isinstance(v, np.ndarray) else v.image.nbytes + 256


def _copy(v):
    if isinstance(v, np.ndarray):
        return v.copy()
    if isinstance(v, SceneSample):
        return v._replace(image=v.image.copy(), boxes=v.boxes.copy(), labels=v.labels.copy(),
                          facets=list(v.facets), colors=list(v.colors))
    return v._replace(image=v.image.copy())


MEMO = _Memo()


class ConceptWorld:
    """The generator. ``ConceptWorld(seed=0, image_size=64, color_informativeness=0.25)``.

    Every draw is a pure function of (seed, kind, split, index): random access, no files.
    ``color_informativeness`` is the share of classes whose colours define them (see
    :func:`sevec_helpers.sources.world.color_defined`); the rest take random colours.
    """

    classes = CLASS_NAMES
    textures = TEXTURE_NAMES
    materials = MATERIAL_NAMES
    colors = COLOR_NAMES
    superclasses = SUPERCLASSES
    groups = GROUPS

    def __init__(self, seed: int = 0, image_size: int = 64,
                 color_informativeness: float = DEFAULT_COLOR_INFORMATIVENESS, nuisance: Nuisance | None = None):
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed must be a non-negative int, got {seed!r}")
        if isinstance(image_size, bool) or not isinstance(image_size, (int, np.integer)) or image_size < 32:
            raise ValueError(f"image_size must be an int of at least 32 pixels, got {image_size!r}")
        self.seed = int(seed)
        self.image_size = int(image_size)
        self.color_informativeness = float(color_informativeness)
        self.color_defined = color_defined(self.color_informativeness)
        self.nuisance = nuisance or Nuisance()

    def __repr__(self):
        ci = "" if self.color_informativeness == DEFAULT_COLOR_INFORMATIVENESS else \
            f", color_informativeness={self.color_informativeness}"
        return f"ConceptWorld(seed={self.seed}, image_size={self.image_size}{ci})"

    def settings(self) -> dict:
        """What, besides the seed, decides the images (for fingerprints and metadata)."""
        return {"image_size": self.image_size, "color_informativeness": self.color_informativeness,
                "nuisance": asdict(self.nuisance)}

    def _rng(self, kind: str, split: str, index: int) -> np.random.Generator:
        if split not in SPLITS:
            raise ValueError(f"split must be one of {list(SPLITS)}, got {split!r}")
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or index < 0:
            raise ValueError(f"index must be a non-negative int, got {index!r}")
        return np.random.default_rng([self.seed, KINDS[kind], SPLITS[split], int(index)])

    def ground_truth(self) -> list[dict]:
        return ground_truth(self.color_informativeness)

    def object_colors(self, label: int, rng) -> tuple[str, str]:
        """The two colours of one object: its class's signature when colour defines the class,
        else two different colours from its superclass's palette."""
        cls = CLASSES[label]
        if cls.name in self.color_defined:
            c = cls.signature
            return (c[0], c[1]) if rng.uniform() < 0.5 else (c[1], c[0])
        return contrasting_pair(PALETTES[cls.superclass], rng)

    def _backdrop(self, superclass: str | None, rng) -> np.ndarray:
        nu, s = self.nuisance, self.image_size
        ctx = None if superclass is None or rng.uniform() < nu.neutral_context else SUPERCLASS_CONTEXT[superclass]
        img = context_background(ctx, s, rng)
        if rng.uniform() < nu.textured_background:
            img = texture_overlay(img, rng, rng.uniform(0.12, 0.3))
        return img

    def _finish(self, img: np.ndarray, rng) -> np.ndarray:
        nu = self.nuisance
        img = lighting(img, rng, nu.lighting)
        if rng.uniform() < nu.blur:
            img = blur(img)
        return _to_uint8(img + rng.normal(0, rng.uniform(*nu.noise), size=img.shape))

    def _memo_key(self, *what) -> tuple:
        return (self.seed, self.image_size, self.color_informativeness, self.nuisance) + what

    def object_image(self, label: int, index: int, split: str = "train", facet: int | None = None) -> ObjectSample:
        """One object of class ``label`` in its nuisance: (image, facet, box, colours)."""
        if not 0 <= int(label) < len(CLASSES):
            raise ValueError(f"label must be 0..{len(CLASSES) - 1}, got {label}")
        self._rng("objects", split, index)  # checks split and index before the memo sees them
        return MEMO.get(self._memo_key("objects", split, int(index), int(label), facet),
                        lambda: self._draw_object(int(label), int(index), split, facet))

    def _draw_object(self, label: int, index: int, split: str, facet: int | None) -> ObjectSample:
        cls, nu, s = CLASSES[label], self.nuisance, self.image_size
        rng = self._rng("objects", split, index * 64 + int(label))
        img = self._backdrop(cls.superclass, rng)
        clutter(img, rng, int(rng.integers(nu.clutter[0], nu.clutter[1] + 1)), 0.3 * s)
        k = int(rng.integers(len(cls.facets))) if facet is None else int(facet)
        colors = self.object_colors(label, rng)
        size = rng.uniform(*nu.scale) * s
        placed = None
        while placed is None:  # a placement (almost) off the image is redrawn
            cx, cy = rng.uniform(0.35 * size, s - 0.35 * size, size=2)
            aspect = float(np.exp(rng.uniform(np.log(nu.aspect[0]), np.log(nu.aspect[1]))))
            placed = place_object(img, cls.facets[k], colors, cx, cy, size, rng.uniform(0, 2 * np.pi), rng, aspect)
        if rng.uniform() < nu.occlusion:
            clutter(img, rng, int(rng.integers(1, 3)), nu.occluder_size * size, near=(cx, cy, size / 2))
        shown = colors if cls.facets[k].texture is not None else colors[:1]
        return ObjectSample(self._finish(img, rng), k, placed[0], tuple(shown))

    def swatch_image(self, kind: str, label: int, index: int, split: str = "train") -> np.ndarray:
        """A full-frame swatch of texture / material / colour ``label`` (stand-ins for DTD, FMD
        and Google-512: the concept fills the frame, colours and lighting vary)."""
        if kind not in ("textures", "materials", "colors"):
            raise ValueError(f"kind must be 'textures', 'materials' or 'colors', got {kind!r}")
        self._rng(kind, split, index)  # checks split and index before the memo sees them
        return MEMO.get(self._memo_key(kind, split, int(index), int(label)),
                        lambda: self._draw_swatch(kind, int(label), int(index), split))

    def _draw_swatch(self, kind: str, label: int, index: int, split: str) -> np.ndarray:
        rng = self._rng(kind, split, index * 64 + label)
        s = self.image_size
        x, y = _grid(s)
        bg = context_background(None, s, rng)
        if kind == "textures":
            img = _surface(Facet("square", TEXTURE_NAMES[label], None), contrasting_pair(COLOR_NAMES, rng), x, y, rng,
                           bg, period=rng.uniform(4.5, 9.0))
        elif kind == "materials":
            mat = MATERIAL_NAMES[label]
            pal = _MATERIAL_PALETTE[mat]
            c = (str(rng.choice(pal)), str(rng.choice(pal)))
            tex = None if rng.uniform() < 0.6 else str(rng.choice(TEXTURE_NAMES))
            img = _surface(Facet("square", tex, mat), c, x, y, rng, bg)
            if tex is not None:  # low contrast pattern: the material, not the texture, dominates
                img = 0.5 * img + 0.5 * _surface(Facet("square", None, mat), (c[0], c[0]), x, y, rng, bg)
        elif kind == "colors":
            base = _color(COLOR_NAMES[label], rng, jitter=12)
            p = texture_field(str(rng.choice(TEXTURE_NAMES)), x, y, rng, rng.uniform(5, 9), rng.uniform(0, np.pi))
            shade = 1.0 - 0.12 * p + 0.1 * (_smooth_noise(s, rng, 3) - 0.5)
            img = base[None, None, :] * shade[..., None]
        else:
            raise ValueError(f"kind must be 'textures', 'materials' or 'colors', got {kind!r}")
        img = lighting(img, rng, 0.5)
        return _to_uint8(img + rng.normal(0, 0.015, size=img.shape))

    def scene(self, index: int, split: str = "test", n_objects: int | None = None) -> SceneSample:
        """1 to 4 objects of different classes (boxes from about 5% to 60% of the image):
        (image, boxes (k, 4), labels (k,), facets, colours)."""
        self._rng("scenes", split, index)  # checks split and index before the memo sees them
        return MEMO.get(self._memo_key("scenes", split, int(index), n_objects),
                        lambda: self._draw_scene(int(index), split, n_objects))

    def _draw_scene(self, index: int, split: str, n_objects: int | None) -> SceneSample:
        rng = self._rng("scenes", split, index)
        s, nu = self.image_size, self.nuisance
        counts = list(SCENE_OBJECTS)
        k = int(rng.choice(counts, p=[SCENE_OBJECTS[c][0] for c in counts])) if n_objects is None else int(n_objects)
        if k not in SCENE_OBJECTS:
            raise ValueError(f"n_objects must be 1..4, got {n_objects}")
        labels = rng.choice(len(CLASSES), size=k, replace=False)
        img = self._backdrop(CLASSES[labels[0]].superclass, rng)
        clutter(img, rng, int(rng.integers(0, 3)), 0.2 * s)
        lo, hi = SCENE_OBJECTS[k][1]
        boxes, placed, facets, cols = [], [], [], []
        for lab in labels:
            cls = CLASSES[lab]
            size = rng.uniform(lo, hi) * s
            f = int(rng.integers(len(cls.facets)))
            colors = self.object_colors(int(lab), rng)
            for _ in range(40):  # a place that overlaps the objects already there by little
                cx, cy = rng.uniform(0.4 * size, s - 0.4 * size, size=2)
                cand = (cx - size / 2, cy - size / 2, cx + size / 2, cy + size / 2)
                if all(_overlap(cand, b) < 0.15 for b in boxes):
                    break
            res = place_object(img, cls.facets[f], colors, cx, cy, size, rng.uniform(0, 2 * np.pi), rng)
            if res is None:
                continue
            boxes.append(res[0])
            placed.append(int(lab))
            facets.append(f)
            cols.append(colors if cls.facets[f].texture is not None else colors[:1])
        if rng.uniform() < nu.occlusion / 2 and boxes:
            x0, y0, x1, y1 = boxes[int(rng.integers(len(boxes)))]
            clutter(img, rng, 1, nu.occluder_size * (x1 - x0), near=((x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2))
        return SceneSample(self._finish(img, rng), np.array(boxes, dtype=np.int64).reshape(-1, 4), np.array(placed),
                           facets, cols)


def _overlap(a, b) -> float:
    """Intersection over the smaller of two boxes."""
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    small = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return w * h / max(small, 1e-9)


__all__ = ["ConceptWorld", "Nuisance", "ObjectSample", "SceneSample", "SPLITS", "KINDS", "SCENE_OBJECTS",
           "ground_truth", "CLASS_NAMES"]
