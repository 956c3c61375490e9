"""ConceptWorld's vocabulary: colours, textures, materials, shapes, scene contexts, the classes
and their ground truth.

The design mirrors the properties of ImageNet that the paper's claims rest on
(``book/world.md`` explains each choice):

- a two-level hierarchy: 4 superclasses, each seen in its own scene context (grassland,
  indoor, street, outdoors), each with 2 groups; the classes of a group mostly share a
  shape family, as birds share a body plan (two classes of one group share a shape in 79%
  of pairs, of different groups in 2%);
- texture and material carry identity: within a group, classes with the same shape family
  and colour distribution differ only by texture or material (robin / magpie, thermos /
  jug, bus / van);
- colour varies within most classes: only the classes listed first in
  :data:`COLOR_DEFINED_ORDER` have colours of their own, and how many of them do is a
  parameter of the world (``color_informativeness``); every other object takes two
  colours at random from its superclass's palette, as a car or a mug comes in many;
- classes are drawn from 1 to 3 facets (shape, texture, material recipes), so their
  diversity differs.

The paper's Table 3 classes (stone_wall, water_bottle, picket_fence, bath_towel,
strawberry, dalmatian, streetcar) are classes here, with the texture and material the
paper names for them.
"""

from __future__ import annotations

from dataclasses import dataclass

COLORS: dict[str, tuple[int, int, int]] = {
    "red": (205, 35, 35), "orange": (240, 140, 25), "yellow": (235, 215, 45), "green": (45, 150, 55),
    "blue": (35, 75, 205), "purple": (125, 45, 160), "pink": (240, 140, 185), "brown": (115, 72, 35),
    "black": (25, 25, 25), "white": (235, 235, 235), "grey": (128, 128, 128),
}
COLOR_NAMES = tuple(COLORS)
LUMINANCE = {n: (0.299 * r + 0.587 * g + 0.114 * b) / 255 for n, (r, g, b) in COLORS.items()}
MIN_CONTRAST = 0.15  # two colours drawn for one object differ at least this much in luminance

TEXTURE_NAMES = ("striped", "grooved", "dotted", "checkered", "zigzag", "wavy", "cracked", "crystalline",
                 "knitted", "bumpy", "freckled", "porous")
MATERIAL_NAMES = ("wood", "stone", "metal", "fabric", "foliage", "glass", "plastic")
SHAPE_NAMES = ("disc", "ellipse", "teardrop", "crescent", "square", "rectangle", "star", "ring", "capsule", "heart",
               "arch", "vehicle")
CONTEXT_NAMES = ("grassland", "indoor", "street", "outdoors")

# palettes for objects whose colour does not define their class, and for material swatches
PALETTES = {
    "animal": ("brown", "black", "white", "grey", "orange", "yellow"),
    "household": COLOR_NAMES, "structure": COLOR_NAMES, "nature": COLOR_NAMES,
}
_MATERIAL_PALETTE = {
    "wood": ("brown", "orange", "yellow"), "stone": ("grey", "white", "brown"), "metal": ("grey", "white", "blue"),
    "fabric": COLOR_NAMES, "foliage": ("green", "yellow", "brown"), "glass": ("blue", "white", "green"),
    "plastic": COLOR_NAMES,
}


@dataclass(frozen=True)
class Facet:
    shape: str
    texture: str | None
    material: str | None


@dataclass(frozen=True)
class ObjectClass:
    name: str
    superclass: str
    group: str
    facets: tuple[Facet, ...]
    signature: tuple[str, str]   # the class's own colours, used when colour defines it

    @property
    def textures(self) -> list[str]:
        return sorted({f.texture for f in self.facets if f.texture})

    @property
    def materials(self) -> list[str]:
        return sorted({f.material for f in self.facets if f.material})

    @property
    def shapes(self) -> list[str]:
        return sorted({f.shape for f in self.facets})


SUPERCLASS_CONTEXT = {"animal": "grassland", "household": "indoor", "structure": "street", "nature": "outdoors"}


def _c(name, sup, grp, signature, *facets):
    return ObjectClass(name, sup, grp, tuple(Facet(*f) for f in facets), tuple(signature))


CLASSES: tuple[ObjectClass, ...] = (
    # animal / bird: teardrop bodies (no material: FMD has none for animals)
    _c("canary", "animal", "bird", ("yellow", "orange"), ("teardrop", "dotted", None)),
    _c("robin", "animal", "bird", ("brown", "orange"), ("teardrop", "freckled", None)),
    _c("magpie", "animal", "bird", ("black", "white"), ("teardrop", "striped", None)),
    _c("parrot", "animal", "bird", ("green", "red"), ("teardrop", "zigzag", None), ("crescent", "zigzag", None)),
    # animal / beast: elliptic bodies
    _c("zebra", "animal", "beast", ("black", "white"), ("ellipse", "striped", None)),
    _c("horse", "animal", "beast", ("brown", "black"), ("ellipse", None, None)),
    _c("leopard", "animal", "beast", ("yellow", "black"), ("ellipse", "dotted", None), ("ellipse", "porous", None)),
    _c("dalmatian", "animal", "beast", ("white", "black"), ("ellipse", "freckled", None)),
    # household / container: capsules
    _c("water_bottle", "household", "container", ("blue", "white"), ("capsule", "crystalline", "glass")),
    _c("vase", "household", "container", ("purple", "white"), ("capsule", "wavy", "glass")),
    _c("thermos", "household", "container", ("grey", "red"), ("capsule", None, "metal")),
    _c("jug", "household", "container", ("yellow", "blue"), ("capsule", None, "plastic")),
    # household / textile: rectangles and squares of fabric
    _c("bath_towel", "household", "textile", ("white", "pink"), ("rectangle", "knitted", "fabric"),
       ("square", "knitted", "fabric")),
    _c("rug", "household", "textile", ("red", "brown"), ("rectangle", "checkered", "fabric")),
    _c("quilt", "household", "textile", ("pink", "purple"), ("square", "zigzag", "fabric"),
       ("rectangle", "dotted", "fabric"), ("square", "striped", "fabric")),
    _c("curtain", "household", "textile", ("purple", "blue"), ("rectangle", "grooved", "fabric")),
    # structure / wall: squares and arches
    _c("stone_wall", "structure", "wall", ("grey", "white"), ("square", "cracked", "stone")),
    _c("brick_wall", "structure", "wall", ("red", "brown"), ("square", "checkered", "stone")),
    _c("picket_fence", "structure", "wall", ("white", "brown"), ("arch", "grooved", "wood")),
    _c("hedge", "structure", "wall", ("green", "brown"), ("square", "bumpy", "foliage")),
    # structure / vehicle: a body on two wheels
    _c("streetcar", "structure", "vehicle", ("red", "grey"), ("vehicle", "porous", "metal")),
    _c("bus", "structure", "vehicle", ("yellow", "black"), ("vehicle", None, "metal")),
    _c("wagon", "structure", "vehicle", ("brown", "orange"), ("vehicle", "grooved", "wood")),
    _c("van", "structure", "vehicle", ("white", "blue"), ("vehicle", "striped", "plastic"), ("vehicle", None, "plastic")),
    # nature / plant: stars, hearts and discs of foliage
    _c("strawberry", "nature", "plant", ("red", "green"), ("heart", "bumpy", "foliage")),
    _c("fern", "nature", "plant", ("green", "yellow"), ("star", "zigzag", "foliage")),
    _c("sunflower", "nature", "plant", ("yellow", "brown"), ("star", "dotted", "foliage"), ("disc", "dotted", "foliage")),
    _c("cactus", "nature", "plant", ("green", "white"), ("heart", "grooved", "foliage")),
    # nature / terrain: discs, rings and crescents
    _c("boulder", "nature", "terrain", ("grey", "brown"), ("disc", "cracked", "stone")),
    _c("coral", "nature", "terrain", ("pink", "orange"), ("ring", "porous", "stone"), ("star", "porous", "stone"),
       ("crescent", "bumpy", "stone")),
    _c("ice_floe", "nature", "terrain", ("white", "blue"), ("crescent", "crystalline", "glass")),
    _c("moss", "nature", "terrain", ("green", "black"), ("disc", "bumpy", "foliage"), ("ring", "freckled", "foliage")),
)
CLASS_NAMES = tuple(c.name for c in CLASSES)
SUPERCLASSES = tuple(dict.fromkeys(c.superclass for c in CLASSES))
GROUPS = tuple(dict.fromkeys(c.group for c in CLASSES))

# Which classes colour defines, in order: the first round(color_informativeness * 32) of
# them draw their signature colours; every other class draws colours at random. The
# default world (0.25) makes the first eight colour-defined, as colour defines a few
# ImageNet classes (goldfinch, lemon, fire engine); the colour-coded world (1.0) all.
COLOR_DEFINED_ORDER = ("canary", "zebra", "dalmatian", "stone_wall", "strawberry", "fern", "coral", "ice_floe",
                       "magpie", "horse", "leopard", "robin", "parrot", "water_bottle", "vase", "thermos", "jug",
                       "bath_towel", "rug", "quilt", "curtain", "brick_wall", "picket_fence", "hedge", "streetcar",
                       "bus", "wagon", "van", "sunflower", "cactus", "boulder", "moss")
DEFAULT_COLOR_INFORMATIVENESS = 0.25


def color_defined(color_informativeness: float = DEFAULT_COLOR_INFORMATIVENESS) -> frozenset[str]:
    """The classes whose colours define them in a world of this colour informativeness (0..1)."""
    if not 0.0 <= color_informativeness <= 1.0:
        raise ValueError(f"color_informativeness must be in [0, 1], got {color_informativeness}")
    return frozenset(COLOR_DEFINED_ORDER[: int(round(color_informativeness * len(CLASSES)))])


def ground_truth(color_informativeness: float = DEFAULT_COLOR_INFORMATIVENESS) -> list[dict]:
    """One row per class: its place in the hierarchy, scene context, shapes, textures, materials,
    colours (its signature pair when colour defines it, else its superclass's palette),
    number of facets, and whether colour defines it."""
    defined = color_defined(color_informativeness)
    return [{"class": c.name, "index": i, "superclass": c.superclass, "group": c.group,
             "context": SUPERCLASS_CONTEXT[c.superclass], "shapes": c.shapes, "textures": c.textures,
             "materials": c.materials,
             "colors": sorted(c.signature) if c.name in defined else sorted(PALETTES[c.superclass]),
             "color_defined": c.name in defined, "n_facets": len(c.facets)}
            for i, c in enumerate(CLASSES)]


assert len(set(COLOR_DEFINED_ORDER)) == len(CLASSES) and set(COLOR_DEFINED_ORDER) == set(CLASS_NAMES)
assert len({c.signature for c in CLASSES if c.name in COLOR_DEFINED_ORDER[:8]}) >= 7
