"""Dataset classes over ConceptWorld (torchvision-style: split, transform)."""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

from sevec_helpers.core.fingerprint import code_fingerprint
from sevec_helpers.sources.world.generator import SPLITS, ConceptWorld
from sevec_helpers.sources.world.vocabulary import (
    CLASS_NAMES,
    CLASSES,
    COLOR_NAMES,
    MATERIAL_NAMES,
    TEXTURE_NAMES,
)


def _probe(img: np.ndarray) -> str:
    import hashlib

    return hashlib.sha256(img.tobytes()).hexdigest()[:16]


def _to_tensor(img: np.ndarray, grayscale: bool) -> torch.Tensor:
    t = torch.from_numpy(img).permute(2, 0, 1).float() / 255.0
    if grayscale:
        g = (0.299 * t[0] + 0.587 * t[1] + 0.114 * t[2]).unsqueeze(0)
        t = g.expand(3, -1, -1).clone()
    return t


def _transform(transform, spec):
    """A dataset built for a model takes the model's transform (``spec.transform``) by default."""
    if transform is None and spec is not None:
        return spec.transform
    return transform


def _enc(v):
    """A draw's fields as values ``torch.load(weights_only=True)`` reads back exactly (arrays as
    tensors, tuples and numpy scalars tagged with their type)."""
    if isinstance(v, np.ndarray):
        return {"nd": torch.from_numpy(np.ascontiguousarray(v))}
    if isinstance(v, np.generic):
        return {"np": str(v.dtype), "v": v.item()}
    if isinstance(v, tuple):
        return {"tuple": [_enc(x) for x in v]}
    if isinstance(v, list):
        return [_enc(x) for x in v]
    return v


def _dec(v):
    if isinstance(v, dict):
        if "nd" in v:
            return v["nd"].numpy()
        if "np" in v:
            return np.dtype(v["np"]).type(v["v"])
        return tuple(_dec(x) for x in v["tuple"])
    if isinstance(v, list):
        return [_dec(x) for x in v]
    return v


class _Rendered:
    """Every draw of a world dataset, rendered once and kept in a disk cache (see
    :meth:`_WorldDataset.prefetch`): the book's pages, and the networks each page judges,
    share one rendering instead of drawing the same images again in every kernel."""

    KIND = "tensors"

    @staticmethod
    def pack(draws: list) -> dict:
        first = draws[0]
        kind = type(first).__name__ if isinstance(first, tuple) else "array"
        images = [d if kind == "array" else d.image for d in draws]
        rest = [] if kind == "array" else [_enc(tuple(d)[1:]) for d in draws]
        return {"kind": kind, "images": torch.from_numpy(np.stack(images)), "rest": rest}

    @staticmethod
    def unpack(payload: dict) -> list:
        from sevec_helpers.sources.world.generator import ObjectSample, SceneSample

        images = payload["images"].numpy()
        if payload["kind"] == "array":
            return list(images)
        cls = {"ObjectSample": ObjectSample, "SceneSample": SceneSample}[payload["kind"]]
        return [cls(images[i], *_dec(r)) for i, r in enumerate(payload["rest"])]


class _Prefetch:
    """Datasets whose draws can be rendered at once and adopted from a disk cache."""

    _drawn: list | None = None

    def _draw(self, i: int):  # the world's full draw of item i
        raise NotImplementedError

    def _drawing(self, i: int):
        return self._drawn[i] if self._drawn is not None else self._draw(i)

    def render_key(self) -> dict:
        """What determines the drawn images (not the transform nor gray conversion)."""
        fp = self.fingerprint()
        return {k: v for k, v in fp.items() if k not in ("transform", "grayscale")}

    def prefetch(self, cache) -> None:
        """Render every item once, or read the rendering back from ``cache`` (a
        :class:`sevec_helpers.sevecs.cache.DiskCache`), and serve the items from it. The entry is
        keyed by :meth:`render_key` (world seed and settings, split, size, a probe image and
        the drawing code), so a colour and a gray dataset of the same images share it."""
        if self._drawn is not None:
            return
        key = {"what": "world_render", **self.render_key()}
        payload = cache.get(_Rendered.KIND, key, lambda: _Rendered.pack([self._draw(i) for i in range(len(self))]))
        self._drawn = _Rendered.unpack(payload)


class _WorldDataset(_Prefetch, Dataset):
    def __init__(self, world: ConceptWorld | None, split: str, per_class: int, transform, grayscale: bool, spec=None):
        self.world = world or ConceptWorld()
        if split not in SPLITS:
            raise ValueError(f"split must be one of {list(SPLITS)}, got {split!r}")
        if per_class < 1:
            raise ValueError(f"per_class must be >= 1, got {per_class}")
        self.split = split
        self.per_class = int(per_class)
        self.transform = _transform(transform, spec)
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

    def _raw(self, i: int) -> np.ndarray:
        raise NotImplementedError

    def fingerprint(self) -> dict:
        """What identifies this data for a cache: world seed and size, split, sizes, transform,
        the code that draws the images (a digest of the world's generator, drawing and
        vocabulary source, and numpy's version: see :func:`sevec_helpers.core.fingerprint.code_fingerprint`)
        and a digest of one rendered image. Any change to the drawing code changes it, even one
        that alters only some classes' images."""
        return {"type": type(self).__name__, "seed": self.world.seed, **self.world.settings(),
                "split": self.split, "per_class": self.per_class, "grayscale": self.grayscale,
                "transform": repr(self.transform), "probe": _probe(self._raw(len(self) - 1)),
                "code": code_fingerprint(type(self))}


class ObjectsDataset(_WorldDataset):
    """Single-object images of the 24 classes: items (image (3, S, S) in [0, 1], class index)."""

    classes = list(CLASS_NAMES)
    concept_kind = "classes"

    def __init__(self, world=None, split="train", per_class=100, transform=None, grayscale=False, spec=None):
        super().__init__(world, split, per_class, transform, grayscale, spec)

    def _draw(self, i):
        label, index = self._label_index(i)
        return self.world.object_image(label, index, self.split)

    def _raw(self, i):
        self._label_index(i)
        return self._drawing(i)[0]

    def __getitem__(self, i):
        label, index = self._label_index(i)
        return self._finish(self._raw(i)), label

    def sample(self, i):
        """The full draw of image ``i``: image, facet, box, colours."""
        self._label_index(i)
        smp = self._drawing(i)
        return smp._replace(image=smp.image.copy()) if self._drawn is not None else smp

    def facet_of(self, i) -> int:
        return self.sample(i).facet

    def attributes(self, i) -> dict[str, list[str]]:
        """The low-level concepts image ``i`` really shows: its texture, material and colours."""
        label, _ = self._label_index(i)
        smp = self.sample(i)
        f = CLASSES[label].facets[smp.facet]
        return {"textures": [f.texture] if f.texture else [], "materials": [f.material] if f.material else [],
                "colors": sorted(set(smp.colors))}


class _SwatchDataset(_WorldDataset):
    kind = ""

    def __init__(self, world=None, split="train", per_class=60, transform=None, grayscale=False, spec=None):
        super().__init__(world, split, per_class, transform, grayscale, spec)

    @property
    def concept_kind(self) -> str:
        return self.kind

    def _draw(self, i):
        label, index = self._label_index(i)
        return self.world.swatch_image(self.kind, label, index, self.split)

    def _raw(self, i):
        self._label_index(i)
        return self._drawing(i)

    def __getitem__(self, i):
        label, _ = self._label_index(i)
        return self._finish(self._raw(i)), label


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


class ScenesDataset(_Prefetch, Dataset):
    """Multi-object scenes: items (image, {"boxes": (k, 4) x0 y0 x1 y1, "labels": (k,)})."""

    classes = list(CLASS_NAMES)

    def __init__(self, world=None, split="test", n=200, transform=None, grayscale=False, n_objects=None, spec=None):
        self.world = world or ConceptWorld()
        if split not in SPLITS:
            raise ValueError(f"split must be one of {list(SPLITS)}, got {split!r}")
        self.split, self.n, self.grayscale, self.n_objects = split, int(n), grayscale, n_objects
        self.transform = _transform(transform, spec)

    def __len__(self):
        return self.n

    def fingerprint(self) -> dict:
        return {"type": "ScenesDataset", "seed": self.world.seed, **self.world.settings(),
                "split": self.split, "n": self.n, "n_objects": self.n_objects, "grayscale": self.grayscale,
                "transform": repr(self.transform), "probe": _probe(self.world.scene(self.n - 1, self.split,
                                                                                   self.n_objects)[0]),
                "code": code_fingerprint(type(self))}

    def _draw(self, i):
        return self.world.scene(i, self.split, self.n_objects)

    def __getitem__(self, i):
        if not 0 <= i < self.n:
            raise IndexError(f"index {i} out of range for {self.n} scenes")
        smp = self._drawing(i)
        t = _to_tensor(smp.image, self.grayscale)
        if self.transform is not None:
            t = self.transform(t)
        return t, {"boxes": torch.from_numpy(smp.boxes), "labels": torch.from_numpy(smp.labels)}


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
