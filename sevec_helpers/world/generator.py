"""The generator: every image a pure function of (seed, kind, split, index)."""

from __future__ import annotations

import numpy as np

from .draw import (
    _background,
    _clutter,
    _color,
    _grid,
    _place_object,
    _smooth_noise,
    _surface,
    _to_uint8,
    texture_field,
)
from .vocabulary import (
    _MATERIAL_PALETTE,
    CLASS_NAMES,
    CLASSES,
    COLOR_NAMES,
    GROUPS,
    MATERIAL_NAMES,
    SUPERCLASSES,
    TEXTURE_NAMES,
    Facet,
    ground_truth,
)

SPLITS = {"train": 0, "val": 1, "test": 2}
KINDS = {"objects": 0, "textures": 1, "materials": 2, "colors": 3, "scenes": 4}

class ConceptWorld:
    """The generator. ``ConceptWorld(seed=0, image_size=64)``.

    Every draw is a pure function of (seed, kind, split, index): random access, no files.
    """

    classes = CLASS_NAMES
    textures = TEXTURE_NAMES
    materials = MATERIAL_NAMES
    colors = COLOR_NAMES
    superclasses = SUPERCLASSES
    groups = GROUPS

    def __init__(self, seed: int = 0, image_size: int = 64):
        if not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed must be a non-negative int, got {seed!r}")
        if image_size < 32:
            raise ValueError(f"image_size must be at least 32 pixels, got {image_size}")
        self.seed = int(seed)
        self.image_size = int(image_size)

    def __repr__(self):
        return f"ConceptWorld(seed={self.seed}, image_size={self.image_size})"

    def _rng(self, kind: str, split: str, index: int) -> np.random.Generator:
        if split not in SPLITS:
            raise ValueError(f"split must be one of {list(SPLITS)}, got {split!r}")
        return np.random.default_rng([self.seed, KINDS[kind], SPLITS[split], int(index)])

    @staticmethod
    def ground_truth() -> list[dict]:
        return ground_truth()

    def object_image(self, label: int, index: int, split: str = "train", facet: int | None = None):
        """(image uint8 (S, S, 3), facet index, box) for one object of class ``label``."""
        cls = CLASSES[label]
        rng = self._rng("objects", split, index * 64 + label)
        s = self.image_size
        img = _background(s, rng)
        _clutter(img, rng, int(rng.integers(0, 4)), 0.22 * s)
        k = int(rng.integers(len(cls.facets))) if facet is None else facet
        size = rng.uniform(0.45, 0.85) * s
        half = size / 2
        cx, cy = rng.uniform(half * 0.8, s - half * 0.8, size=2)
        box = _place_object(img, cls.facets[k], cx, cy, size, rng.uniform(-0.6, 0.6), rng)
        img += rng.normal(0, 0.015, size=img.shape)
        return _to_uint8(img), k, box

    def swatch_image(self, kind: str, label: int, index: int, split: str = "train") -> np.ndarray:
        """A full-frame swatch of texture / material / colour ``label``."""
        rng = self._rng(kind, split, index * 64 + label)
        s = self.image_size
        x, y = _grid(s)
        bg = _background(s, rng)
        if kind == "textures":
            names = rng.choice(COLOR_NAMES, size=2, replace=False)
            f = Facet("square", TEXTURE_NAMES[label], None, (str(names[0]), str(names[1])))
            img = _surface(f, x, y, rng, bg, period=rng.uniform(5.0, 9.0))
        elif kind == "materials":
            mat = MATERIAL_NAMES[label]
            pal = _MATERIAL_PALETTE[mat]
            c = [str(rng.choice(pal)) for _ in range(2)]
            tex = None if rng.uniform() < 0.6 else str(rng.choice(TEXTURE_NAMES))
            img = _surface(Facet("square", tex, mat, (c[0], c[1])), x, y, rng, bg)
            if tex is not None:  # low contrast pattern: the material, not the texture, dominates
                img = 0.5 * img + 0.5 * _surface(Facet("square", None, mat, (c[0], c[0])), x, y, rng, bg)
        elif kind == "colors":
            name = COLOR_NAMES[label]
            base = _color(name, rng, jitter=12)
            tex = str(rng.choice(TEXTURE_NAMES))
            p = texture_field(tex, x, y, rng, rng.uniform(5, 9), rng.uniform(0, np.pi))
            shade = 1.0 - 0.12 * p + 0.1 * (_smooth_noise(s, rng, 3) - 0.5)
            img = base[None, None, :] * shade[..., None]
        else:
            raise ValueError(f"kind must be 'textures', 'materials' or 'colors', got {kind!r}")
        img = img + rng.normal(0, 0.015, size=img.shape)
        return _to_uint8(img)

    def scene(self, index: int, split: str = "test", n_objects: int | None = None):
        """A scene with 2-3 objects of different classes: (image, boxes (k, 4), labels (k,), facets)."""
        rng = self._rng("scenes", split, index)
        s = self.image_size
        k = int(rng.integers(2, 4)) if n_objects is None else int(n_objects)
        if not 1 <= k <= 4:
            raise ValueError(f"n_objects must be 1..4, got {n_objects}")
        img = _background(s, rng)
        _clutter(img, rng, int(rng.integers(0, 3)), 0.15 * s)
        labels = rng.choice(len(CLASSES), size=k, replace=False)
        boxes, facets, placed = [], [], []
        slots = [(0.27, 0.27), (0.73, 0.73), (0.73, 0.27), (0.27, 0.73)]
        order = rng.permutation(4)
        for j, lab in enumerate(labels):
            sx, sy = slots[order[j]]
            size = rng.uniform(0.36, 0.46) * s
            cx = (sx + rng.uniform(-0.03, 0.03)) * s
            cy = (sy + rng.uniform(-0.03, 0.03)) * s
            fct = int(rng.integers(len(CLASSES[lab].facets)))
            box = _place_object(img, CLASSES[lab].facets[fct], cx, cy, size, rng.uniform(-0.6, 0.6), rng)
            if box is None:
                continue
            boxes.append(box)
            placed.append(int(lab))
            facets.append(fct)
        img += rng.normal(0, 0.015, size=img.shape)
        return _to_uint8(img), np.array(boxes, dtype=np.int64).reshape(-1, 4), np.array(placed), facets
