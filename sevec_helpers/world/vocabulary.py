"""ConceptWorld's vocabulary: colours, textures, materials, shapes, the classes and their ground truth."""

from __future__ import annotations

from dataclasses import dataclass

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


def ground_truth() -> list[dict]:
    """One row per class: name, superclass, group, textures, materials, colors, n_facets."""
    return [{"class": c.name, "index": i, "superclass": c.superclass, "group": c.group, "textures": c.textures,
             "materials": c.materials, "colors": c.colors, "n_facets": len(c.facets)}
            for i, c in enumerate(CLASSES)]
