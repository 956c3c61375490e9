"""The photo testbed in one call: every dataset for one network, the classes, their ground
truth and the credits."""

from __future__ import annotations

from dataclasses import dataclass, field

from torch.utils.data import Dataset

from sevec_helpers.sources.photo_testbed import images as I
from sevec_helpers.sources.photo_testbed import tables as T
from sevec_helpers.sources.photo_testbed.datasets import (
    ClassImages,
    Scenes,
    Swatches,
    default_classes,
    manifest_versions,
)

DEFAULT_SIZES = {"per_class_fit": 6, "per_class_eval": 3, "per_concept_fit": 8, "per_concept_eval": 4,
                 "n_scenes": 40}
"""Sizes that keep the testbed on three networks within a CPU budget (see ``testbed``)."""


@dataclass
class Testbed:
    """The photo testbed for one network (see :func:`testbed`)."""

    data: dict[str, Dataset]
    classes: list[str]
    imagenet_indices: list[int]
    truth: dict[str, dict]
    about: str
    credits: list[str]
    sizes: dict = field(default_factory=dict)

    @property
    def concepts(self) -> dict[str, list[str]]:
        """Concept names per kind: textures, materials, colors (those the testbed has sets for)."""
        return {k: list(self.data[f"{k}_fit"].classes) for k in ("textures", "materials", "colors")
                if f"{k}_fit" in self.data}


def class_truth(root=None, min_share: float = I.MIN_COLOR_SHARE) -> dict[str, dict]:
    """Per class name: its WordNet ``superclass`` and ``group``, the ``textures`` and
    ``materials`` its photographs show by eye (only concepts the testbed has sets for;
    ``other_materials`` lists metal, plastic, glass, which have none), its ``colors`` measured on
    its photographs' own pixels (alpha >= 128; each pixel named by the nearest of ConceptWorld's
    colour names in lightness and hue, ``images.name_pixels``; the names covering at least
    ``min_share`` of some photograph, in order of first appearance), ``n_facets`` None (not planted), its ``wnid`` and its number of
    ``photographs``."""
    src = I.Sources.get(root)
    out = {}
    for c in T.classes():
        colors: list[str] = []
        for st in (s for s in T.stamps() if s.imagenet_index == c.imagenet_index):
            rgba = src.stamp(st)
            for name in I.measured_colors(rgba[..., :3], rgba[..., 3] >= I.ALPHA_CUT, min_share):
                if name not in colors:
                    colors.append(name)
        out[c.name] = {"superclass": c.superclass, "group": c.group, "textures": list(c.textures),
                       "materials": list(c.materials), "colors": colors, "n_facets": None,
                       "other_materials": list(c.other_materials), "wnid": c.wnid,
                       "photographs": c.n_photographs}
    return out


def credits(root=None) -> list[str]:
    """One line per source: package, version, what the testbed takes from it, licence."""
    v = manifest_versions(root)
    n_stamps = len(T.stamps())
    n_gimp = sum(1 for s in T.sources() if s.package == T.GIMP)
    return [
        f"Tux Paint stamps: Debian package {T.TUXPAINT} {v[T.TUXPAINT]}, {n_stamps} photographs of single objects "
        f"with alpha masks; GPL-2+, (c) 2002-2022 Bill Kendrick and the Tux Paint contributors.",
        f"MATE backgrounds: Debian package {T.MATE} {v[T.MATE]}, the 12 photographs of its nature folder; GPL-2+, "
        f"photographs by Charles Barbin, Lennart Poettering and Andrea Cimitan, Marco Cogoni and Hylke Bons, "
        f"Jens Ansorg, Timothy Schellhase and Lapo Calamandrei, \"blackcombwhistler07\", Sergey Nazarov and "
        f"Jean-Francois Fortin Tam.",
        f"GIMP patterns and Gimpressionist paper textures: Debian package {T.GIMP} {v[T.GIMP]}, {n_gimp} images; "
        f"{T.LICENCES[T.GIMP]} (the package's licence for its files).",
        "scikit-image's brick, grass and gravel textures (skimage.data): CC0-1.0 (from CC0Textures and "
        "DeviantArt).",
        "Class hierarchy: WordNet 3.0, (c) 2006 Princeton University (WordNet 3.0 licence), read from Debian's "
        "wordnet-base package.",
    ]


def testbed(spec, *, per_class_fit: int = DEFAULT_SIZES["per_class_fit"],
            per_class_eval: int = DEFAULT_SIZES["per_class_eval"],
            per_concept_fit: int = DEFAULT_SIZES["per_concept_fit"],
            per_concept_eval: int = DEFAULT_SIZES["per_concept_eval"],
            n_scenes: int = DEFAULT_SIZES["n_scenes"], seed: int = 0, colors: bool = True, root=None) -> Testbed:
    """The photo testbed at the input size and normalisation of a network.

    Parameters
    ----------
    spec : ModelSpec
        The network's spec (``sh.load_model(name)[1]``): its ``input_size``, ``mean`` and ``std``.
        Outputs are not restricted here: pass ``Testbed.imagenet_indices`` to
        ``sevec_helpers.sources.models.restrict_outputs`` so that output j is class j.
    per_class_fit, per_class_eval : int
        Images per class of ``class_fit`` and of ``class_holdout`` (and ``class_holdout_gray``).
    per_concept_fit, per_concept_eval : int
        Swatches per concept of the ``*_fit`` and ``*_holdout`` concept sets.
    n_scenes : int
        Scenes in ``scenes``.
    seed : int
        Everything is drawn from it.
    colors : bool
        Also ``colors_fit`` / ``colors_holdout`` (grey photographic textures given each colour).

    Returns
    -------
    Testbed
        ``data``: ``class_fit``, ``class_holdout``, ``class_holdout_gray``, ``scenes``,
        ``textures_fit``, ``textures_holdout``, ``materials_fit``, ``materials_holdout`` (and
        ``colors_fit``, ``colors_holdout``); ``classes`` (ImageNet category names, labels
        0..K-1 in this order), ``imagenet_indices``, ``truth`` (:func:`class_truth`), ``about``,
        ``credits``.

    Raises
    ------
    PhotoTestbedUnavailable
        The Debian packages' files are not fetched (the message names them and the command).
    """
    I.Sources.get(root)   # the files first: without them, say which packages and how to fetch them
    kw = {"seed": seed, "root": root}
    data: dict[str, Dataset] = {
        "class_fit": ClassImages(spec, "fit", per_class_fit, **kw),
        "class_holdout": ClassImages(spec, "holdout", per_class_eval, **kw),
        "class_holdout_gray": ClassImages(spec, "holdout", per_class_eval, grayscale=True, **kw),
        "scenes": Scenes(spec, n_scenes, **kw),
    }
    kinds = ("textures", "materials", "colors") if colors else ("textures", "materials")
    for kind in kinds:
        data[f"{kind}_fit"] = Swatches(spec, kind, "fit", per_concept_fit, **kw)
        data[f"{kind}_holdout"] = Swatches(spec, kind, "holdout", per_concept_eval, **kw)
    single = sum(1 for c in T.classes() if c.n_photographs == 1)
    k = len(T.classes())
    about = (f"Real photographs (Debian packages): {len(T.stamps())} Tux Paint photographs of single objects "
             f"of {k} ImageNet classes pasted onto 12 real background photographs (6 for fitting, 6 for "
             f"hold-out); {k - single} classes have several photographs (fit and hold-out use different ones), "
             f"{single} have one, whose hold-out images differ from the fit images only by background, scale, "
             f"position and augmentation; {len(data['textures_fit'].classes)} textures and "
             f"{len(data['materials_fit'].classes)} materials cut from real textures (fit and hold-out from "
             f"disjoint halves); no network was trained on any of it.")
    sizes = {"per_class_fit": per_class_fit, "per_class_eval": per_class_eval, "per_concept_fit": per_concept_fit,
             "per_concept_eval": per_concept_eval, "n_scenes": n_scenes, "seed": seed}
    return Testbed(data, list(data["class_fit"].classes), default_classes(), class_truth(root), about,
                   credits(root), sizes)
