"""ConceptWorld: a procedural image world with ground truth, the book's embedded default.

Everything is drawn with numpy from a seed: the same (seed, split, index) gives the same
image on any machine, and a fresh seed gives fresh, never-seen images of the same world.

- ``vocabulary``: 11 colour names, 12 textures, 7 materials, shapes, 4 scene contexts, and
  32 classes in a two-level hierarchy (4 superclasses x 2 groups x 4 classes), each with
  its ground truth;
- ``draw``: shapes, texture fields, materials, context backgrounds, lighting, clutter;
- ``generator``: :class:`ConceptWorld`, objects in their nuisance (scale, position,
  rotation, occlusion, clutter, lighting, textured backgrounds, blur), swatches of the
  low-level concepts, and scenes of 1-4 objects with boxes;
- ``datasets``: torchvision-style Dataset classes; ``render``: writing parts to disk.
"""

from __future__ import annotations

from sevec_helpers.sources.world.datasets import (
    DATASETS,
    ColorsDataset,
    MaterialsDataset,
    ObjectsDataset,
    ScenesDataset,
    TexturesDataset,
    load_tensors,
)
from sevec_helpers.sources.world.generator import (
    SCENE_OBJECTS,
    SPLITS,
    ConceptWorld,
    Nuisance,
    ObjectSample,
    SceneSample,
)
from sevec_helpers.sources.world.render import render
from sevec_helpers.sources.world.vocabulary import (
    CLASS_NAMES,
    CLASSES,
    COLOR_DEFINED_ORDER,
    COLOR_NAMES,
    COLORS,
    CONTEXT_NAMES,
    DEFAULT_COLOR_INFORMATIVENESS,
    GROUPS,
    MATERIAL_NAMES,
    PALETTES,
    SHAPE_NAMES,
    SUPERCLASS_CONTEXT,
    SUPERCLASSES,
    TEXTURE_NAMES,
    Facet,
    ObjectClass,
    color_defined,
    ground_truth,
)

__all__ = ["DATASETS", "ColorsDataset", "MaterialsDataset", "ObjectsDataset", "ScenesDataset", "TexturesDataset",
           "load_tensors", "SCENE_OBJECTS", "SPLITS", "ConceptWorld", "Nuisance", "ObjectSample", "SceneSample",
           "render", "COLOR_DEFINED_ORDER", "CONTEXT_NAMES", "DEFAULT_COLOR_INFORMATIVENESS", "PALETTES",
           "SUPERCLASS_CONTEXT", "color_defined", "CLASS_NAMES", "CLASSES", "COLOR_NAMES", "COLORS",
           "GROUPS", "MATERIAL_NAMES", "SHAPE_NAMES", "SUPERCLASSES", "TEXTURE_NAMES", "Facet", "ObjectClass",
           "ground_truth"]
