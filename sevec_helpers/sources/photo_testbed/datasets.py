"""The photo testbed's datasets: real photographs of single objects (Tux Paint's stamps) pasted
onto real photographic backgrounds, scenes of several of them with exact masks, and concept
swatches cut from real textures.

Every dataset is deterministic from its seed, renders each item on demand (a few milliseconds)
at the network's own input size and returns the network's normalised tensors (``spec.mean``,
``spec.std``). The data come from Debian's packages, fetched once (``bash
scripts/fetch_photos.sh``); a dataset made without them raises
:class:`~sevec_helpers.sources.photo_testbed.fetch.PhotoTestbedUnavailable`, naming the
packages and the command.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import torch
from torch.utils.data import Dataset

from sevec_helpers.core.fingerprint import code_fingerprint
from sevec_helpers.sources.photo_testbed.fetch import MARKER, load_manifest, package_dir
from sevec_helpers.sources.photo_testbed import images as I
from sevec_helpers.sources.photo_testbed import tables as T

SPLITS = ("fit", "holdout")
_SPLIT_ID = {"fit": 0, "holdout": 1}
_STREAM = {"classes": 1, "scenes": 2, "textures": 3, "materials": 4, "colors": 5}


def _tables_digest() -> str:
    h = hashlib.sha256()
    for name in ("stamps.csv", "classes.csv", "concepts.csv", "manifest.json"):
        h.update((T.HERE / name).read_bytes())
    return h.hexdigest()[:16]


def default_classes() -> list[int]:
    """The ImageNet indices of the testbed's classes, in the testbed's order (ascending)."""
    return [c.imagenet_index for c in T.classes()]


class _PhotoDataset(Dataset):
    """Shared plumbing: input size and normalisation from a model's spec, the seed, tensors."""

    concept_kind = ""

    def __init__(self, spec=None, *, seed: int = 0, size: int | None = None, mean=None, std=None,
                 grayscale: bool = False, root=None):
        if spec is None and size is None:
            raise ValueError("give the model's spec (sh.load_model(...)[1]) or an input size")
        self.size = int(size if size is not None else spec.input_size)
        self.mean = tuple(float(v) for v in (mean if mean is not None else getattr(spec, "mean", (0.5,) * 3)))
        self.std = tuple(float(v) for v in (std if std is not None else getattr(spec, "std", (0.5,) * 3)))
        if self.size < 32:
            raise ValueError(f"input size must be at least 32 pixels, got {self.size}")
        self.seed = int(seed)
        self.grayscale = bool(grayscale)
        self.sources = I.Sources.get(root)

    def _rng(self, *key: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, _STREAM[self._stream], *key])

    def to_tensor(self, image: np.ndarray) -> torch.Tensor:
        """(S, S, 3) uint8 -> the network's input (3, S, S): [0, 1], grey (three equal channels,
        0.299 R + 0.587 G + 0.114 B) when the dataset is grey, then (x - mean) / std. (numpy:
        one thread, as fast under load as alone)"""
        x = np.asarray(image, np.float32) / np.float32(255.0)
        if self.grayscale:
            g = x @ np.array([0.299, 0.587, 0.114], np.float32)
            x = np.repeat(g[..., None], 3, axis=2)
        x = (x - np.array(self.mean, np.float32)) / np.array(self.std, np.float32)
        return torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)))

    def _check(self, i: int) -> int:
        if not 0 <= int(i) < len(self):
            raise IndexError(f"index {i} out of range for {len(self)} items")
        return int(i)

    def _params(self) -> dict:
        return {}

    def image(self, i: int) -> np.ndarray:  # (S, S, 3) uint8, before grey and normalisation
        raise NotImplementedError

    def fingerprint(self) -> dict:
        """What identifies these data for a cache: the dataset's type and parameters, the input
        size and normalisation, the tables and manifest, the code that draws the images, and a
        digest of the last item's pixels (catches a different decoder or resampler)."""
        probe = hashlib.sha256(self.image(len(self) - 1).tobytes()).hexdigest()[:16] if len(self) else ""
        return {"type": type(self).__name__, "seed": self.seed, "size": self.size, "mean": list(self.mean),
                "std": list(self.std), "grayscale": self.grayscale, **self._params(), "n": len(self),
                "tables": _tables_digest(), "probe": probe, "code": code_fingerprint(type(self))}


class ClassImages(_PhotoDataset):
    """Each class's photograph(s) pasted onto random crops of background photographs: items
    (image (3, S, S) normalised, label in 0..K-1 in the order of :attr:`classes`).

    ``split="fit"`` uses the fit photographs and the fit backgrounds, ``"holdout"`` the
    hold-out ones (different photographs where a class has several, see ``stamps.csv``; the
    background photographs always differ). Item ``i`` is class ``i % K``, its ``i // K``-th
    image; the class's photographs take turns. Per image: a background crop (35-100% of the
    photograph's shorter side, mirrored at random), the object's longer side a uniform 50-95% of
    the image side (at most 4x the photograph's own size), a uniform position inside the image,
    mirrored at random where allowed, brightness, contrast and saturation each jittered by up to
    10%. ``grayscale=True`` gives the same images in grey.
    """

    concept_kind = "classes"
    _stream = "classes"

    def __init__(self, spec=None, split: str = "fit", per_class: int = 6, *, grayscale: bool = False,
                 classes: list[int] | None = None, seed: int = 0, size=None, mean=None, std=None, root=None):
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
        if per_class < 1:
            raise ValueError(f"per_class must be >= 1, got {per_class}")
        super().__init__(spec, seed=seed, size=size, mean=mean, std=std, grayscale=grayscale, root=root)
        known = default_classes()
        self.imagenet_indices = list(classes) if classes is not None else known
        unknown = [c for c in self.imagenet_indices if c not in known]
        if unknown or not self.imagenet_indices:
            raise ValueError(f"classes must be ImageNet indices of the testbed's classes {known}, got {unknown or 'none'}")
        names = {c.imagenet_index: c.name for c in T.classes()}
        self.classes = [names[c] for c in self.imagenet_indices]
        self.split, self.per_class = split, int(per_class)
        self._stamps = [T.stamps_of(c, split) for c in self.imagenet_indices]
        self._backgrounds = T.background_paths(split)

    def __len__(self):
        return len(self.classes) * self.per_class

    @property
    def targets(self) -> list[int]:
        return [i % len(self.classes) for i in range(len(self))]

    def _params(self):
        return {"split": self.split, "per_class": self.per_class, "classes": self.imagenet_indices}

    def sample(self, i: int) -> I.Composite:
        """The full drawing of item ``i``: image (uint8, colour), mask, box, label, stamp, background."""
        i = self._check(i)
        k = len(self.classes)
        label, j = i % k, i // k
        stamps = self._stamps[label]
        rng = self._rng(_SPLIT_ID[self.split], self.imagenet_indices[label], j)
        bg = self._backgrounds[int(rng.integers(len(self._backgrounds)))]
        return I.single_object(self.sources, stamps[j % len(stamps)], label, bg, self.size, rng)

    def image(self, i: int) -> np.ndarray:
        return self.sample(i).image

    def photograph(self, i: int) -> str:
        """The stamp (path below Tux Paint's stamps folder) item ``i`` shows."""
        i = self._check(i)
        stamps = self._stamps[i % len(self.classes)]
        return stamps[(i // len(self.classes)) % len(stamps)].path

    def __getitem__(self, i):
        smp = self.sample(i)
        return self.to_tensor(smp.image), int(smp.labels[0])

    def attributes(self, i: int, min_share: float = I.MIN_COLOR_SHARE) -> dict[str, list[str]]:
        """What the object in image ``i`` shows: its textures and materials (by eye, from
        ``stamps.csv``: only concepts the testbed has sets for) and its colours, measured on the
        object's pixels of the colour image (each pixel named by the nearest of ConceptWorld's
        colour names in lightness and hue, :func:`~sevec_helpers.sources.photo_testbed.images.name_pixels`;
        the names covering at least ``min_share`` of them, largest first). A grey dataset gives the
        colours of the same colour image (the grey image shows none)."""
        smp = self.sample(i)
        st = smp.stamps[0]
        return {"textures": list(st.textures), "materials": list(st.materials),
                "colors": I.measured_colors(smp.image, smp.masks[0], min_share)}


class Scenes(_PhotoDataset):
    """Scenes of 1-4 objects of different classes on hold-out background photographs, with
    exact masks and boxes: items ``(image, {"boxes": float (k, 4) x0 y0 x1 y1 in pixels,
    half-open, "labels": long (k,), "masks": bool (k, S, S)})``, labels in 0..K-1 in the order
    of :attr:`classes`.

    Objects are the classes' hold-out photographs; their number follows
    :data:`~sevec_helpers.sources.photo_testbed.images.SCENE_COUNTS`, each box's area
    :data:`~sevec_helpers.sources.photo_testbed.images.SCENE_AREA` (ILSVRC-like: many objects
    fill most of the image). Later objects lie in front; a mask is what the object shows after
    occlusion (alpha >= 128), its box is tight around the mask; an object that could not be
    placed so that every earlier one keeps 60% of its pixels is left out.
    """

    concept_kind = "classes"
    _stream = "scenes"

    def __init__(self, spec=None, n: int = 40, *, classes: list[int] | None = None, seed: int = 0, size=None,
                 mean=None, std=None, grayscale: bool = False, root=None):
        if n < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        super().__init__(spec, seed=seed, size=size, mean=mean, std=std, grayscale=grayscale, root=root)
        known = default_classes()
        self.imagenet_indices = list(classes) if classes is not None else known
        if any(c not in known for c in self.imagenet_indices) or len(self.imagenet_indices) < 4:
            raise ValueError(f"classes must be at least 4 ImageNet indices of the testbed's classes {known}")
        names = {c.imagenet_index: c.name for c in T.classes()}
        self.classes = [names[c] for c in self.imagenet_indices]
        self.n = int(n)
        self._stamps = [T.stamps_of(c, "holdout") for c in self.imagenet_indices]
        self._backgrounds = T.background_paths("holdout")

    def __len__(self):
        return self.n

    def _params(self):
        return {"classes": self.imagenet_indices}

    def sample(self, i: int) -> I.Composite:
        i = self._check(i)
        rng = self._rng(i)
        counts = list(I.SCENE_COUNTS)
        k = int(rng.choice(counts, p=[I.SCENE_COUNTS[c] for c in counts]))
        labels = rng.choice(len(self.classes), size=k, replace=False)
        objects = [(self._stamps[lab][int(rng.integers(len(self._stamps[lab])))], int(lab)) for lab in labels]
        bg = self._backgrounds[int(rng.integers(len(self._backgrounds)))]
        return I.scene(self.sources, objects, bg, self.size, rng)

    def image(self, i: int) -> np.ndarray:
        return self.sample(i).image

    def __getitem__(self, i):
        smp = self.sample(i)
        return self.to_tensor(smp.image), {"boxes": torch.from_numpy(smp.boxes).float(),
                                           "labels": torch.from_numpy(smp.labels),
                                           "masks": torch.from_numpy(smp.masks)}

    def size_distribution(self) -> dict:
        """The box areas of all objects as fractions of the image, measured: their mean,
        quartiles, the share of boxes over half the image, and the objects per scene."""
        fr, per = [], []
        for i in range(len(self)):
            b = self.sample(i).boxes
            per.append(len(b))
            fr += [float((x1 - x0) * (y1 - y0)) / self.size ** 2 for x0, y0, x1, y1 in b]
        fr = np.array(fr)
        return {"objects": int(len(fr)), "mean_area": float(fr.mean()) if len(fr) else 0.0,
                "quartiles": [float(q) for q in np.quantile(fr, [0.25, 0.5, 0.75])] if len(fr) else [],
                "over_half": float((fr > 0.5).mean()) if len(fr) else 0.0,
                "objects_per_scene": {int(k): int(v) for k, v in zip(*np.unique(per, return_counts=True))}}


class Swatches(_PhotoDataset):
    """Concept swatches cut from real textures: items (image, concept index in :attr:`classes`).

    ``kind`` is "textures" or "materials" (concepts and their sources from ``concepts.csv``) or
    "colors" (each of ConceptWorld's colour names given to grey photographic textures, see
    :func:`~sevec_helpers.sources.photo_testbed.images.tint`). A source image is split into two
    halves; ``split="fit"`` cuts only from the first, ``"holdout"`` only from the second, so fit
    and hold-out swatches never share a source pixel (:meth:`window` tells which pixels an item
    used). Item ``i`` is concept ``i % C``, its ``i // C``-th swatch; a concept's sources take
    turns.
    """

    _stream = "textures"

    def __init__(self, spec=None, kind: str = "textures", split: str = "fit", per_concept: int = 8, *,
                 seed: int = 0, size=None, mean=None, std=None, grayscale: bool = False, root=None):
        if kind not in ("textures", "materials", "colors"):
            raise ValueError(f"kind must be 'textures', 'materials' or 'colors', got {kind!r}")
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
        if per_concept < 1:
            raise ValueError(f"per_concept must be >= 1, got {per_concept}")
        self._stream = kind
        super().__init__(spec, seed=seed, size=size, mean=mean, std=std, grayscale=grayscale, root=root)
        self.kind, self.split, self.per_concept = kind, split, int(per_concept)
        if kind == "colors":
            self.classes = list(I.COLOR_NAMES)
            grey = [s for s in T.sources() if self._is_grey(s)]
            self._sources = [tuple(grey)] * len(self.classes)
        else:
            by = T.concept_sources(kind)
            self.classes = list(by)
            self._sources = [tuple(s for s in by[c] if self._big_enough(s)) for c in self.classes]
            empty = [c for c, s in zip(self.classes, self._sources) if not s]
            if empty:
                raise ValueError(f"concepts {empty} have no source large enough to split")

    @property
    def concept_kind(self) -> str:
        return self.kind

    def _is_grey(self, s: T.Source) -> bool:
        img = self.sources.source(s)
        return bool((img[..., 0] == img[..., 1]).all() and (img[..., 1] == img[..., 2]).all())

    def _big_enough(self, s: T.Source) -> bool:
        y0, y1, x0, x1 = I.halves(self.sources.source(s).shape)["holdout"]
        return min(y1 - y0, x1 - x0) >= I.MIN_HALF

    def __len__(self):
        return len(self.classes) * self.per_concept

    @property
    def targets(self) -> list[int]:
        return [i % len(self.classes) for i in range(len(self))]

    def _params(self):
        return {"kind": self.kind, "split": self.split, "per_concept": self.per_concept}

    def sample(self, i: int) -> I.Swatch:
        i = self._check(i)
        c, j = i % len(self.classes), i // len(self.classes)
        srcs = self._sources[c]
        src = srcs[(j + (c if self.kind == "colors" else 0)) % len(srcs)]
        img = self.sources.source(src)
        rng = self._rng(_SPLIT_ID[self.split], c, j)
        sw = I.swatch(img, I.halves(img.shape)[self.split], self.size, rng, src.id,
                      jitter_amount=0.0 if self.kind == "colors" else 0.1)
        if self.kind == "colors":
            sw.image = I.tint(sw.image, I.COLORS[self.classes[c]])
        return sw

    def image(self, i: int) -> np.ndarray:
        return self.sample(i).image

    def window(self, i: int) -> tuple[str, tuple[int, int, int, int]]:
        """(source id, (y0, y1, x0, x1)): the source pixels item ``i`` was made from."""
        sw = self.sample(i)
        return sw.source, sw.window

    def __getitem__(self, i):
        i = self._check(i)
        return self.to_tensor(self.sample(i).image), i % len(self.classes)


def manifest_versions(root=None) -> dict[str, str]:
    """The version of each package in the cache (what was fetched), else the manifest's."""
    m = load_manifest()
    out = {}
    for name, entry in m["packages"].items():
        marker = package_dir(name, root) / MARKER
        try:
            out[name] = json.loads(marker.read_text(encoding="utf-8"))["version"]
        except (OSError, ValueError, KeyError):
            out[name] = entry["version"]
    return out
