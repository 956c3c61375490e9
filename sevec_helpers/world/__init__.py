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

from .datasets import (
    DATASETS,
    ColorsDataset,
    MaterialsDataset,
    ObjectsDataset,
    ScenesDataset,
    TexturesDataset,
    load_tensors,
)
from .generator import SPLITS, ConceptWorld
from .render import render
from .vocabulary import (
    CLASS_NAMES,
    CLASSES,
    COLOR_NAMES,
    COLORS,
    GROUPS,
    MATERIAL_NAMES,
    SHAPE_NAMES,
    SUPERCLASSES,
    TEXTURE_NAMES,
    Facet,
    ObjectClass,
    ground_truth,
)

__all__ = ["DATASETS", "ColorsDataset", "MaterialsDataset", "ObjectsDataset", "ScenesDataset", "TexturesDataset",
           "load_tensors", "SPLITS", "ConceptWorld", "render", "CLASS_NAMES", "CLASSES", "COLOR_NAMES", "COLORS",
           "GROUPS", "MATERIAL_NAMES", "SHAPE_NAMES", "SUPERCLASSES", "TEXTURE_NAMES", "Facet", "ObjectClass",
           "ground_truth"]
