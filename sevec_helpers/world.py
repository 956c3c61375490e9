"""ConceptWorld: a procedural image world with ground truth, the book's embedded default.

Everything is drawn with numpy from a seed: the same (seed, split, index) gives the same
image on any machine, and a fresh seed gives fresh, never-seen images of the same world.

The world has
- 12 textures (pattern fields: striped, grooved, dotted, ...), 7 materials (surface
  micro-structure and palette: wood, stone, metal, ...), and the 11 basic colour names of
  Google-512;
- 24 object classes in a two-level hierarchy (3 superclasses, 2 groups each). A class is
  one or more *facets*, each a (shape, texture, material, colours) recipe; classes of one
  group share their shape family, as birds share traits in ImageNet. Classes have 1 to 4
  facets, so their degree of diversity differs;
- swatch sets for the low-level concepts (textures, materials, colours), object images
  with pose, scale, position, background and clutter varying, and multi-object scenes
  with boxes for the pointing game.

Seven class names mirror the paper's Table 3 (stone_wall, water_bottle, picket_fence,
bath_towel, strawberry, dalmatian, streetcar) and carry the texture and material the
paper names for them, so Table 3 can be graded against the truth.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

# ---------------------------------------------------------------------------------------
# vocabulary
# ---------------------------------------------------------------------------------------

COLORS: dict[str, tuple[int, int, int]] = {
    "red": (205, 35, 35), "orange": (240, 140, 25), "yellow": (235, 215, 45), "green": (45, 150, 55),
    "blue": (35, 75, 205), "purple": (125, 45, 160), "pink": (240, 140, 185), "brown": (115, 72, 35),
    "black": (25, 25, 25), "white": (235, 235, 235), "grey": (128, 128, 128),
}
COLOR_NAMES = tuple(COLORS)

TEXTURE_NAMES = ("striped", "grooved", "dotted", "checkered", "zigzag", "wavy", "cracked", "crystalline",
                 "knitted", "bumpy", "freckled", "porous")
MATERIAL_NAMES = ("wood", "stone", "metal", "fabric", "foliage", "glass", "plastic")
SHAPE_NAMES = ("disc", "ellipse", "teardrop", "crescent", "square", "rectangle", "triangle", "diamond", "hexagon",
               "cross", "star", "ring", "capsule", "heart", "arch")

# material palettes used for material swatches (objects take their class colours)
_MATERIAL_PALETTE = {
    "wood": ("brown", "orange"), "stone": ("grey", "white"), "metal": ("grey", "white"),
    "fabric": ("red", "blue", "purple", "pink", "white"), "foliage": ("green", "yellow"),
    "glass": ("blue", "white"), "plastic": ("red", "yellow", "blue", "green", "pink", "orange"),
}


@dataclass(frozen=True)
class Facet:
    shape: str
    texture: str | None
    material: str | None
    colors: tuple[str, str]


@dataclass(frozen=True)
class ObjectClass:
    name: str
    superclass: str
    group: str
    facets: tuple[Facet, ...]

    @property
    def textures(self) -> list[str]:
        return sorted({f.texture for f in self.facets if f.texture})

    @property
    def materials(self) -> list[str]:
        return sorted({f.material for f in self.facets if f.material})

    @property
    def colors(self) -> list[str]:
        return sorted({c for f in self.facets for c in f.colors})


def _c(name, sup, grp, *facets):
    return ObjectClass(name, sup, grp, tuple(Facet(s, t, m, tuple(cs)) for s, t, m, cs in facets))


CLASSES: tuple[ObjectClass, ...] = (
    # animal / bird: teardrop bodies
    _c("canary", "animal", "bird", ("teardrop", "dotted", None, ("yellow", "orange"))),
    _c("bluejay", "animal", "bird", ("teardrop", "wavy", None, ("blue", "white"))),
    _c("robin", "animal", "bird", ("teardrop", "freckled", None, ("brown", "red"))),
    _c("parrot", "animal", "bird", ("teardrop", "zigzag", None, ("green", "red")),
       ("teardrop", "zigzag", None, ("blue", "yellow")), ("crescent", "zigzag", None, ("red", "yellow"))),
    # animal / beast: elliptic bodies
    _c("zebra", "animal", "beast", ("ellipse", "striped", None, ("black", "white"))),
    _c("tiger", "animal", "beast", ("ellipse", "striped", None, ("orange", "black"))),
    _c("leopard", "animal", "beast", ("ellipse", "dotted", None, ("yellow", "black")),
       ("ellipse", "porous", None, ("orange", "brown"))),
    _c("dalmatian", "animal", "beast", ("ellipse", "freckled", None, ("white", "black"))),
    # artifact / container: capsules and hexagons
    _c("water_bottle", "artifact", "container", ("capsule", "crystalline", "glass", ("blue", "white"))),
    _c("barrel", "artifact", "container", ("hexagon", "grooved", "wood", ("brown", "orange"))),
    _c("tin_can", "artifact", "container", ("capsule", "checkered", "metal", ("grey", "red")),
       ("hexagon", "striped", "metal", ("grey", "blue"))),
    _c("bath_towel", "artifact", "container", ("rectangle", "knitted", "fabric", ("white", "pink")),
       ("square", "knitted", "fabric", ("blue", "white"))),
    # artifact / structure: squares, arches and crosses
    _c("stone_wall", "artifact", "structure", ("square", "cracked", "stone", ("grey", "white"))),
    _c("picket_fence", "artifact", "structure", ("arch", "grooved", "wood", ("white", "brown"))),
    _c("streetcar", "artifact", "structure", ("rectangle", "porous", "metal", ("red", "grey")),
       ("square", "porous", "metal", ("yellow", "grey")), ("arch", "porous", "metal", ("green", "white"))),
    _c("scale", "artifact", "structure", ("cross", "checkered", "metal", ("grey", "black")),
       ("diamond", "crystalline", "plastic", ("pink", "purple")), ("ring", "bumpy", "stone", ("brown", "grey")),
       ("triangle", "wavy", "plastic", ("green", "yellow"))),
    # nature / plant: stars and hearts
    _c("strawberry", "nature", "plant", ("heart", "bumpy", "foliage", ("red", "green"))),
    _c("fern", "nature", "plant", ("star", "zigzag", "foliage", ("green", "yellow"))),
    _c("sunflower", "nature", "plant", ("star", "dotted", "foliage", ("yellow", "brown")),
       ("disc", "dotted", "foliage", ("yellow", "orange"))),
    _c("cactus", "nature", "plant", ("heart", "grooved", "foliage", ("green", "white"))),
    # nature / terrain: discs, rings and crescents
    _c("boulder", "nature", "terrain", ("disc", "cracked", "stone", ("grey", "brown"))),
    _c("coral", "nature", "terrain", ("ring", "porous", "stone", ("pink", "orange")),
       ("star", "porous", "stone", ("purple", "pink")), ("crescent", "bumpy", "stone", ("orange", "red"))),
    _c("ice_floe", "nature", "terrain", ("crescent", "crystalline", "glass", ("white", "blue"))),
    _c("moss", "nature", "terrain", ("disc", "bumpy", "foliage", ("green", "brown")),
       ("ring", "freckled", "foliage", ("green", "black"))),
)
CLASS_NAMES = tuple(c.name for c in CLASSES)
SUPERCLASSES = tuple(dict.fromkeys(c.superclass for c in CLASSES))
GROUPS = tuple(dict.fromkeys(c.group for c in CLASSES))

_SPLITS = {"train": 0, "val": 1, "test": 2}
_KINDS = {"objects": 0, "textures": 1, "materials": 2, "colors": 3, "scenes": 4}


def ground_truth() -> list[dict]:
    """One row per class: name, superclass, group, textures, materials, colors, n_facets."""
    return [{"class": c.name, "index": i, "superclass": c.superclass, "group": c.group, "textures": c.textures,
             "materials": c.materials, "colors": c.colors, "n_facets": len(c.facets)}
            for i, c in enumerate(CLASSES)]


# ---------------------------------------------------------------------------------------
# drawing primitives (all numpy, float64 in [0, 1])
# ---------------------------------------------------------------------------------------

def _grid(s: int):
    y, x = np.mgrid[0:s, 0:s].astype(np.float64) + 0.5
    return x, y


def _local(x, y, cx, cy, radius, theta):
    c, s = np.cos(theta), np.sin(theta)
    dx, dy = x - cx, y - cy
    return (c * dx + s * dy) / radius, (-s * dx + c * dy) / radius


def _shape_mask(shape: str, u, v, rng) -> np.ndarray:
    r = np.hypot(u, v)
    a = np.arctan2(v, u)
    if shape == "disc":
        return r <= 1.0
    if shape == "ellipse":
        return (u / 1.0) ** 2 + (v / 0.62) ** 2 <= 1.0
    if shape == "teardrop":
        w = 0.62 * np.sqrt(np.clip((1 - u) * (1 + u), 0, None)) * (0.55 + 0.45 * (1 - u) / 2) * 1.35
        return (np.abs(u) <= 1) & (np.abs(v) <= w)
    if shape == "crescent":
        return (r <= 1.0) & (np.hypot(u - 0.45, v + 0.15) > 0.78)
    if shape == "square":
        return (np.abs(u) <= 0.8) & (np.abs(v) <= 0.8)
    if shape == "rectangle":
        return (np.abs(u) <= 1.0) & (np.abs(v) <= 0.55)
    if shape == "triangle":
        return (v <= 0.6) & (v >= -1.0 + 1.6 * np.abs(u) / 0.95 * 1.0) & (np.abs(u) <= 0.95)
    if shape == "diamond":
        return np.abs(u) / 0.75 + np.abs(v) <= 1.0
    if shape == "hexagon":
        return (np.abs(v) <= 0.87) & (np.abs(v) * 0.577 + np.abs(u) <= 1.0)
    if shape == "cross":
        return ((np.abs(u) <= 0.33) & (np.abs(v) <= 1.0)) | ((np.abs(v) <= 0.33) & (np.abs(u) <= 1.0))
    if shape == "star":
        rad = 0.55 + 0.45 * (0.5 + 0.5 * np.cos(5 * a))
        return r <= rad
    if shape == "ring":
        return (r <= 1.0) & (r >= 0.5)
    if shape == "capsule":
        return (np.abs(v) <= 0.5) & ((np.abs(u) <= 0.5) | (np.hypot(np.abs(u) - 0.5, v) <= 0.5))
    if shape == "heart":
        uu, vv = u * 1.15, -v * 1.15 + 0.25
        return (uu ** 2 + vv ** 2 - 0.6) ** 3 - uu ** 2 * vv ** 3 * 1.0 <= 0
    if shape == "arch":
        return ((np.abs(u) <= 0.85) & (v >= -0.2) & (v <= 0.9) & ~((np.abs(u) <= 0.35) & (v >= 0.25))) | \
               ((np.hypot(u, v + 0.2) <= 0.85) & (v < -0.2))
    raise ValueError(f"unknown shape {shape!r}")


def _voronoi(x, y, rng, n, s):
    pts = rng.uniform(-0.1 * s, 1.1 * s, size=(n, 2))
    d = np.hypot(x[..., None] - pts[:, 0], y[..., None] - pts[:, 1])
    part = np.partition(d, 1, axis=-1)
    return part[..., 0], part[..., 1], d.argmin(-1)


def _smooth_noise(s: int, rng, cells: int) -> np.ndarray:
    """Value noise: a coarse random grid upsampled bilinearly to s x s, in [0, 1]."""
    g = rng.uniform(0, 1, size=(cells + 1, cells + 1))
    t = np.linspace(0, cells, s, endpoint=False) + cells / (2 * s)
    i = np.clip(t.astype(int), 0, cells - 1)
    f = t - i
    f = f * f * (3 - 2 * f)
    row = g[i][:, i] * (1 - f)[None, :] + g[i][:, i + 1] * f[None, :]
    row2 = g[i + 1][:, i] * (1 - f)[None, :] + g[i + 1][:, i + 1] * f[None, :]
    return row * (1 - f)[:, None] + row2 * f[:, None]


def texture_field(name: str | None, x, y, rng, period: float, theta: float) -> np.ndarray:
    """Pattern field in [0, 1] over pixel coordinates; 0 -> first colour, 1 -> second."""
    s = x.shape[0]
    if name is None:
        return np.zeros_like(x)
    c, sn = np.cos(theta), np.sin(theta)
    u = (c * x + sn * y) / period
    v = (-sn * x + c * y) / period
    ph = rng.uniform(0, 1, size=2)
    if name == "striped":
        return (np.mod(u + ph[0], 1.0) < 0.5).astype(float)
    if name == "grooved":
        return (np.mod(u + ph[0], 1.0) < 0.18).astype(float)
    if name == "dotted":
        du, dv = np.mod(u + ph[0], 1.0) - 0.5, np.mod(v + ph[1], 1.0) - 0.5
        return (np.hypot(du, dv) < 0.28).astype(float)
    if name == "checkered":
        return ((np.floor(u + ph[0]) + np.floor(v + ph[1])) % 2).astype(float)
    if name == "zigzag":
        tri = np.abs(np.mod(v * 1.0 + ph[1], 1.0) - 0.5)
        return (np.mod(u + tri + ph[0], 1.0) < 0.5).astype(float)
    if name == "wavy":
        return (np.mod(u + 0.35 * np.sin(2 * np.pi * v / 1.6) + ph[0], 1.0) < 0.5).astype(float)
    if name == "cracked":
        d1, d2, _ = _voronoi(x, y, rng, max(6, int((s / period) ** 2 / 3)), s)
        return ((d2 - d1) < 1.4).astype(float)
    if name == "crystalline":
        _, _, idx = _voronoi(x, y, rng, max(6, int((s / period) ** 2 / 2.5)), s)
        levels = rng.uniform(0, 1, size=idx.max() + 1)
        return levels[idx]
    if name == "knitted":
        frac = np.mod(u + ph[0], 1.0)
        vfrac = np.mod(v + ph[1], 1.0)
        return ((np.abs(frac - 0.5) * 1.2 + (vfrac - 0.5)) % 1.0 < 0.5).astype(float)
    if name == "bumpy":
        n = _smooth_noise(s, rng, max(2, int(s / period * 1.2)))
        return np.clip((n - 0.3) * 1.6, 0, 1)
    if name == "freckled":
        k = max(4, int((s / period) ** 2 * 0.9))
        pts = rng.uniform(0, s, size=(k, 2))
        rad = rng.uniform(0.6, 1.6, size=k) * period / 5
        d = np.hypot(x[..., None] - pts[:, 0], y[..., None] - pts[:, 1]) - rad
        return (d.min(-1) < 0).astype(float)
    if name == "porous":
        k = max(5, int((s / period) ** 2 * 0.8))
        pts = rng.uniform(0, s, size=(k, 2))
        rad = rng.uniform(0.18, 0.4, size=k) * period
        d = np.hypot(x[..., None] - pts[:, 0], y[..., None] - pts[:, 1]) - rad
        return (d.min(-1) < 0).astype(float)
    raise ValueError(f"unknown texture {name!r}")


def apply_material(name: str | None, rgb: np.ndarray, x, y, rng, background: np.ndarray | None = None):
    """Modulate an RGB field (H, W, 3) in [0, 1] with a material's micro-structure."""
    if name is None:
        return rgb
    s = x.shape[0]
    lum = rgb.mean(-1, keepdims=True)
    if name == "wood":
        cx, cy = rng.uniform(-s, 2 * s, size=2)
        r = np.hypot((x - cx) * 0.25, y - cy) + 3 * _smooth_noise(s, rng, 4)
        grain = 0.72 + 0.28 * (0.5 + 0.5 * np.sin(r * rng.uniform(0.9, 1.4)))
        tint = np.array([0.55, 0.35, 0.18])
        return np.clip((0.7 * rgb + 0.3 * tint) * grain[..., None], 0, 1)
    if name == "stone":
        d1, d2, idx = _voronoi(x, y, rng, 18, s)
        cell = rng.uniform(0.75, 1.0, size=idx.max() + 1)[idx]
        speck = rng.uniform(0.85, 1.0, size=(s, s))
        out = 0.6 * rgb + 0.4 * lum
        return np.clip(out * (cell * speck)[..., None] * (0.8 + 0.2 * np.clip(d2 - d1, 0, 3) / 3)[..., None], 0, 1)
    if name == "metal":
        streak = np.repeat(rng.uniform(0.85, 1.0, size=(s, 1)), s, axis=1)
        streak = 0.5 * streak + 0.5 * np.roll(streak, 1, axis=0)
        band = np.exp(-((x + y - rng.uniform(0.4, 1.6) * s) / (0.18 * s)) ** 2)
        out = 0.45 * rgb + 0.55 * lum
        return np.clip(out * streak[..., None] + 0.45 * band[..., None], 0, 1)
    if name == "fabric":
        weave = np.where((np.floor(x / 2) + np.floor(y / 2)) % 2 == 0, 1.0, 0.82)
        fuzz = rng.uniform(0.9, 1.0, size=(s, s))
        return np.clip(rgb * (weave * fuzz)[..., None], 0, 1)
    if name == "foliage":
        k = 60
        pts = rng.uniform(0, s, size=(k, 2))
        ang = rng.uniform(0, np.pi, size=k)
        dx, dy = x[..., None] - pts[:, 0], y[..., None] - pts[:, 1]
        uu = dx * np.cos(ang) + dy * np.sin(ang)
        vv = -dx * np.sin(ang) + dy * np.cos(ang)
        leaf = ((uu / 4.0) ** 2 + (vv / 1.8) ** 2 <= 1)
        shade = np.where(leaf.any(-1), rng.uniform(0.75, 1.0, size=k)[leaf.argmax(-1)], 0.65)
        green = np.array([0.2, 0.55, 0.15])
        return np.clip((0.7 * rgb + 0.3 * green) * shade[..., None], 0, 1)
    if name == "glass":
        bg = background if background is not None else np.full_like(rgb, 0.5)
        out = 0.55 * rgb + 0.45 * bg
        streak = np.exp(-((x - y + rng.uniform(-0.3, 0.3) * s) / (0.06 * s)) ** 2)
        return np.clip(out + 0.5 * streak[..., None], 0, 1)
    if name == "plastic":
        hx, hy = rng.uniform(0.25, 0.75, size=2) * s
        spot = np.exp(-((x - hx) ** 2 + (y - hy) ** 2) / (2 * (0.08 * s) ** 2))
        sat = np.clip(lum + 1.3 * (rgb - lum), 0, 1)
        return np.clip(sat + 0.6 * spot[..., None], 0, 1)
    raise ValueError(f"unknown material {name!r}")


def _color(name: str, rng, jitter: float = 18.0) -> np.ndarray:
    return np.clip((np.array(COLORS[name], float) + rng.normal(0, jitter, 3)) / 255.0, 0, 1)


def _background(s: int, rng) -> np.ndarray:
    x, y = _grid(s)
    c1 = rng.uniform(0.15, 0.75, size=3)
    c2 = rng.uniform(0.15, 0.75, size=3)
    c1 = 0.5 * c1 + 0.5 * c1.mean()
    c2 = 0.5 * c2 + 0.5 * c2.mean()
    theta = rng.uniform(0, 2 * np.pi)
    t = ((np.cos(theta) * x + np.sin(theta) * y) / s + 1) / 2
    n = _smooth_noise(s, rng, 3)
    t = np.clip(0.7 * t + 0.3 * n, 0, 1)
    return c1 * (1 - t[..., None]) + c2 * t[..., None] + rng.normal(0, 0.02, size=(s, s, 3))


def _surface(facet: Facet, x, y, rng, bg, period=None) -> np.ndarray:
    c1, c2 = _color(facet.colors[0], rng), _color(facet.colors[1], rng)
    period = period or rng.uniform(5.5, 8.0)
    p = texture_field(facet.texture, x, y, rng, period, rng.uniform(0, np.pi))
    rgb = c1 * (1 - p[..., None]) + c2 * p[..., None]
    return apply_material(facet.material, rgb, x, y, rng, bg)


def _place_object(img, facet: Facet, cx, cy, size, theta, rng) -> tuple[int, int, int, int] | None:
    s = img.shape[0]
    x, y = _grid(s)
    u, v = _local(x, y, cx, cy, size / 2, theta)
    mask = _shape_mask(facet.shape, u, v, rng)
    if mask.sum() < 6:
        return None
    surf = _surface(facet, x, y, rng, img)
    # soft shading gives the object a little volume
    shade = np.clip(1.0 - 0.18 * np.hypot(u + 0.3, v + 0.3), 0.75, 1.0)
    img[mask] = (surf * shade[..., None])[mask]
    ys, xs = np.nonzero(mask)
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def _clutter(img, rng, n: int, max_size: float):
    s = img.shape[0]
    for _ in range(n):
        f = Facet(str(rng.choice(["disc", "square", "triangle", "ring", "cross"])), None, None,
                  (str(rng.choice(COLOR_NAMES)), str(rng.choice(COLOR_NAMES))))
        size = rng.uniform(0.35, 1.0) * max_size
        _place_object(img, f, rng.uniform(0, s), rng.uniform(0, s), size, rng.uniform(0, 2 * np.pi), rng)


def _to_uint8(img: np.ndarray) -> np.ndarray:
    return np.round(np.clip(img, 0, 1) * 255).astype(np.uint8)


# ---------------------------------------------------------------------------------------
# the world
# ---------------------------------------------------------------------------------------

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
        if split not in _SPLITS:
            raise ValueError(f"split must be one of {list(_SPLITS)}, got {split!r}")
        return np.random.default_rng([self.seed, _KINDS[kind], _SPLITS[split], int(index)])

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


# ---------------------------------------------------------------------------------------
# Dataset classes (torchvision-style: root-less, split, transform)
# ---------------------------------------------------------------------------------------

def _to_tensor(img: np.ndarray, grayscale: bool) -> torch.Tensor:
    t = torch.from_numpy(img).permute(2, 0, 1).float() / 255.0
    if grayscale:
        g = (0.299 * t[0] + 0.587 * t[1] + 0.114 * t[2]).unsqueeze(0)
        t = g.expand(3, -1, -1).clone()
    return t


class _WorldDataset(Dataset):
    def __init__(self, world: ConceptWorld | None, split: str, per_class: int, transform, grayscale: bool):
        self.world = world or ConceptWorld()
        if split not in _SPLITS:
            raise ValueError(f"split must be one of {list(_SPLITS)}, got {split!r}")
        if per_class < 1:
            raise ValueError(f"per_class must be >= 1, got {per_class}")
        self.split = split
        self.per_class = int(per_class)
        self.transform = transform
        self.grayscale = grayscale

    def __len__(self):
        return len(self.classes) * self.per_class

    def _label_index(self, i: int) -> tuple[int, int]:
        if not 0 <= i < len(self):
            raise IndexError(f"index {i} out of range for {len(self)} images")
        return i % len(self.classes), i // len(self.classes)

    def _finish(self, img: np.ndarray):
        t = _to_tensor(img, self.grayscale)
        return self.transform(t) if self.transform is not None else t

    @property
    def targets(self) -> list[int]:
        return [i % len(self.classes) for i in range(len(self))]


class ObjectsDataset(_WorldDataset):
    """Single-object images of the 24 classes: items (image (3, S, S) in [0, 1], class index)."""

    classes = list(CLASS_NAMES)

    def __init__(self, world=None, split="train", per_class=100, transform=None, grayscale=False):
        super().__init__(world, split, per_class, transform, grayscale)

    def __getitem__(self, i):
        label, index = self._label_index(i)
        img, _, _ = self.world.object_image(label, index, self.split)
        return self._finish(img), label

    def facet_of(self, i) -> int:
        label, index = self._label_index(i)
        return self.world.object_image(label, index, self.split)[1]


class _SwatchDataset(_WorldDataset):
    kind = ""

    def __init__(self, world=None, split="train", per_class=60, transform=None, grayscale=False):
        super().__init__(world, split, per_class, transform, grayscale)

    def __getitem__(self, i):
        label, index = self._label_index(i)
        return self._finish(self.world.swatch_image(self.kind, label, index, self.split)), label


class TexturesDataset(_SwatchDataset):
    """Texture swatches (a DTD stand-in): items (image, texture index)."""

    kind = "textures"
    classes = list(TEXTURE_NAMES)


class MaterialsDataset(_SwatchDataset):
    """Material swatches (a Flickr Material Database stand-in): items (image, material index)."""

    kind = "materials"
    classes = list(MATERIAL_NAMES)


class ColorsDataset(_SwatchDataset):
    """Colour swatches with the Google-512 names: items (image, colour index)."""

    kind = "colors"
    classes = list(COLOR_NAMES)


class ScenesDataset(Dataset):
    """Multi-object scenes: items (image, {"boxes": (k, 4) x0 y0 x1 y1, "labels": (k,)})."""

    classes = list(CLASS_NAMES)

    def __init__(self, world=None, split="test", n=200, transform=None, grayscale=False, n_objects=None):
        self.world = world or ConceptWorld()
        if split not in _SPLITS:
            raise ValueError(f"split must be one of {list(_SPLITS)}, got {split!r}")
        self.split, self.n, self.transform, self.grayscale, self.n_objects = split, int(n), transform, grayscale, n_objects

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if not 0 <= i < self.n:
            raise IndexError(f"index {i} out of range for {self.n} scenes")
        img, boxes, labels, _ = self.world.scene(i, self.split, self.n_objects)
        t = _to_tensor(img, self.grayscale)
        if self.transform is not None:
            t = self.transform(t)
        return t, {"boxes": torch.from_numpy(boxes), "labels": torch.from_numpy(labels)}


DATASETS = {"objects": ObjectsDataset, "textures": TexturesDataset, "materials": MaterialsDataset,
            "colors": ColorsDataset, "scenes": ScenesDataset}


def load_tensors(ds: Dataset, progress: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Materialise a labelled world dataset as (images (N, 3, S, S), labels (N,))."""
    from tqdm.auto import tqdm

    xs, ys = [], []
    for i in tqdm(range(len(ds)), disable=not progress, desc=type(ds).__name__):
        x, y = ds[i]
        xs.append(x)
        ys.append(y)
    return torch.stack(xs), torch.as_tensor(ys)


# ---------------------------------------------------------------------------------------
# rendering to disk (ImageFolder trees, scenes with a JSON box file)
# ---------------------------------------------------------------------------------------

def render(out: str | os.PathLike, part: str, *, split: str = "test", per_class: int = 10, n: int = 50,
           seed: int = 0, image_size: int = 64, progress: bool = True) -> Path:
    """Write a part of the world to ``out/part/split`` as PNGs: an ImageFolder tree for
    labelled parts; for scenes, images plus ``annotations.json`` with boxes and labels.

    The tree is built in a temporary folder and moved into place, so nothing half-written
    is left on disk.
    """
    from PIL import Image
    from tqdm.auto import tqdm

    if part not in DATASETS:
        raise ValueError(f"part must be one of {list(DATASETS)}, got {part!r}")
    world = ConceptWorld(seed, image_size)
    dest = Path(out) / part / split
    if dest.exists():
        raise FileExistsError(f"{dest} already exists; remove it or choose another --out")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{split}-", dir=dest.parent))
    try:
        if part == "scenes":
            ann = {"classes": list(CLASS_NAMES), "box_format": "x0 y0 x1 y1, half-open pixel coordinates",
                   "images": []}
            for i in tqdm(range(n), disable=not progress, desc=f"render {part}"):
                img, boxes, labels, _ = world.scene(i, split)
                fname = f"scene_{i:05d}.png"
                Image.fromarray(img).save(tmp / fname)
                ann["images"].append({"file": fname, "boxes": boxes.tolist(),
                                      "labels": [CLASS_NAMES[j] for j in labels]})
            (tmp / "annotations.json").write_text(json.dumps(ann, indent=1))
        else:
            ds = DATASETS[part](world, split, per_class)
            for c in ds.classes:
                (tmp / c).mkdir()
            for i in tqdm(range(len(ds)), disable=not progress, desc=f"render {part}"):
                label, index = ds._label_index(i)
                if part == "objects":
                    img = world.object_image(label, index, split)[0]
                else:
                    img = world.swatch_image(part, label, index, split)
                Image.fromarray(img).save(tmp / ds.classes[label] / f"{index:05d}.png")
        os.chmod(tmp, 0o755)
        os.replace(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return dest


def main(argv: Sequence[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m sevec_helpers.world",
                                description="Render part of ConceptWorld to disk, or print its ground truth.")
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("render", help="write PNGs as an ImageFolder tree (scenes: + annotations.json)")
    r.add_argument("--out", required=True)
    r.add_argument("--part", choices=list(DATASETS), required=True)
    r.add_argument("--split", default="test", choices=list(_SPLITS))
    r.add_argument("--per-class", type=int, default=10)
    r.add_argument("--n", type=int, default=50, help="number of scenes")
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--image-size", type=int, default=64)
    sub.add_parser("truth", help="print the ground-truth table as JSON")
    a = p.parse_args(argv)
    if a.cmd == "render":
        dest = render(a.out, a.part, split=a.split, per_class=a.per_class, n=a.n, seed=a.seed,
                      image_size=a.image_size)
        print(f"wrote {dest}")
    else:
        print(json.dumps(ground_truth(), indent=1))


if __name__ == "__main__":
    main()
