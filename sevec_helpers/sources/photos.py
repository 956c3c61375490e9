"""Real photographs available offline: the scikit-image sample images.

- ``photos()``: chelsea (a cat), coffee, rocket, astronaut, motorcycle_left, as RGB PIL images.
- ``RealTextures``: random crops of scikit-image's brick, grass and gravel textures; the
  "train" split crops the upper half of each texture, "test" the lower half, so fitting
  and hold-out crops never share pixels.
- ``PhotoViews``: augmented views (crop, scale, flip) of chosen photos, one class per photo,
  for a few-shot SeVec when no class data set is at hand.
- ``side_by_side``: two photos in one image, with each one's box, for a two-object scene.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

PHOTO_NAMES = ("chelsea", "coffee", "rocket", "astronaut", "motorcycle_left")
TEXTURE_NAMES = ("brick", "grass", "gravel")


def _skimage():
    try:
        from skimage import data
    except ImportError as e:
        raise ImportError("the real photos come from scikit-image: pip install 'sevec-helpers[real]'") from e
    return data


def photos(names=PHOTO_NAMES) -> dict[str, Image.Image]:
    data = _skimage()
    out = {}
    for n in names:
        if n not in PHOTO_NAMES:
            raise ValueError(f"unknown photo {n!r}; available: {PHOTO_NAMES}")
        arr = data.stereo_motorcycle()[0] if n == "motorcycle_left" else getattr(data, n)()
        out[n] = Image.fromarray(arr).convert("RGB")
    return out


class RealTextures(Dataset):
    """Crops of the three real textures: items (transformed crop, texture index)."""

    classes = list(TEXTURE_NAMES)

    def __init__(self, split: str = "train", per_class: int = 30, transform=None, seed: int = 0):
        if split not in ("train", "test"):
            raise ValueError(f"split must be 'train' or 'test', got {split!r}")
        data = _skimage()
        self.images = [np.asarray(getattr(data, n)()) for n in TEXTURE_NAMES]
        self.split, self.per_class, self.transform, self.seed = split, per_class, transform, seed

    def __len__(self):
        return len(TEXTURE_NAMES) * self.per_class

    def __getitem__(self, i):
        if not 0 <= i < len(self):
            raise IndexError(i)
        c, j = i % len(TEXTURE_NAMES), i // len(TEXTURE_NAMES)
        img = self.images[c]
        h, w = img.shape[:2]
        rng = np.random.default_rng([self.seed, c, j, 0 if self.split == "train" else 1])
        size = int(rng.integers(96, h // 2))
        y0 = int(rng.integers(0, h // 2 - size + 1)) + (0 if self.split == "train" else h // 2)
        x0 = int(rng.integers(0, w - size + 1))
        crop = Image.fromarray(img[y0 : y0 + size, x0 : x0 + size]).convert("RGB")
        return (self.transform(crop) if self.transform else crop), c


class PhotoViews(Dataset):
    """``per_class`` augmented views of each named photo: items (view, photo index)."""

    def __init__(self, names: list[str], per_class: int = 40, transform=None, seed: int = 0, min_scale: float = 0.5):
        self.imgs = photos(names)
        self.classes = list(names)
        self.per_class, self.transform, self.seed, self.min_scale = per_class, transform, seed, min_scale

    def __len__(self):
        return len(self.classes) * self.per_class

    def __getitem__(self, i):
        c, j = i % len(self.classes), i // len(self.classes)
        img = self.imgs[self.classes[c]]
        w, h = img.size
        rng = np.random.default_rng([self.seed, c, j])
        s = rng.uniform(self.min_scale, 1.0)
        cw, ch = int(w * s), int(h * s)
        x0, y0 = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
        v = img.crop((x0, y0, x0 + cw, y0 + ch))
        if rng.uniform() < 0.5:
            v = v.transpose(Image.FLIP_LEFT_RIGHT)
        return (self.transform(v) if self.transform else v), c


def side_by_side(a: Image.Image, b: Image.Image, size: int = 224) -> tuple[Image.Image, list[tuple]]:
    """Paste ``a`` (left) and ``b`` (right), each squeezed to size x size/2, into one
    size x size image; returns it and the two boxes (x0, y0, x1, y1)."""
    half = size // 2
    out = Image.new("RGB", (size, size), (127, 127, 127))
    pad = (size - half) // 2
    out.paste(a.resize((half, half)), (0, pad))
    out.paste(b.resize((half, half)), (half, pad))
    return out, [(0, pad, half, pad + half), (half, pad, size, pad + half)]


def to_tensor(img: Image.Image, spec) -> torch.Tensor:
    """A square image already at the model's input size -> normalised (1, 3, H, W) tensor."""
    from torchvision.transforms.functional import to_tensor as tt

    return spec.normalize(tt(img)[None])


def resize_normalize(spec, size: int | None = None):
    """A transform for [0, 1] image tensors (e.g. ConceptWorld's): resize to the model's
    input size (bilinear), then normalise with its mean and std."""
    import torch.nn.functional as F

    side = size or spec.input_size

    def t(x: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x[None], size=(side, side), mode="bilinear", align_corners=False)
        return spec.normalize(x)[0]

    return t


class Composites(Dataset):
    """Every ordered pair of photos side by side: items (image tensor, {"boxes", "labels"}),
    labels being each photo's class index from ``classes`` (e.g. the model's top-1)."""

    def __init__(self, names: list[str], classes: dict[str, int], spec, size: int = 224):
        ims = photos(names)
        self.items = []
        for a in names:
            for b in names:
                if a != b and classes[a] != classes[b]:
                    img, boxes = side_by_side(ims[a], ims[b], size)
                    self.items.append((to_tensor(img, spec)[0], {"boxes": torch.tensor(boxes, dtype=torch.float32),
                                                                "labels": torch.tensor([classes[a], classes[b]])},
                                       (a, b)))

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        return self.items[i][:2]

    def pair(self, i) -> tuple[str, str]:
        return self.items[i][2]


RENDER_PARTS = ("views", "textures", "composites")


def render(out, part: str, *, labels: dict[str, str] | None = None, split: str = "train", per_class: int = 30,
           size: int = 224) -> Path:
    """Write part of the photo material to ``out/part/split`` as PNG files, in the formats a
    reader's own data would have (the same as :func:`sevec_helpers.sources.world.render`).

    Parameters
    ----------
    out : str or path-like
        The folder to write into.
    part : {"views", "textures", "composites"}
        ``"views"``: an ImageFolder tree, one folder per photo named by its class in
        ``labels``, holding ``per_class`` augmented views (crops, scales, flips) of it;
        ``"textures"``: an ImageFolder tree of ``per_class`` crops of each real texture
        (brick, grass, gravel; "train" crops the upper half, "test" the lower half);
        ``"composites"``: every ordered pair of the photos in ``labels`` with different
        classes side by side, plus ``annotations.json`` with each photo's box and class
        (``{"classes", "box_format", "images": [{"file", "boxes", "labels"}]}``).
    labels : dict, optional
        Photo name -> class name (e.g. the model's top-1 category), for "views" and
        "composites".
    split : {"train", "test"}
        Which views or crops: "train" and "test" never share a random view or texture pixels.
    per_class : int
        Images per class ("views", "textures").
    size : int
        Side of a composite image in pixels.

    Returns
    -------
    pathlib.Path
        ``out/part/split``.

    Raises
    ------
    ValueError
        Unknown part, photo or split; a class name that cannot be a folder name; missing labels.
    FileExistsError
        When ``out/part/split`` exists already. Nothing half-written is left on disk.
    """
    import json
    import os
    import shutil

    from sevec_helpers.core.atomic import atomic_folder

    if part not in RENDER_PARTS:
        raise ValueError(f"part must be one of {RENDER_PARTS}, got {part!r}")
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    if isinstance(per_class, bool) or not isinstance(per_class, int) or per_class < 1:
        raise ValueError(f"per_class must be a positive number of images, got {per_class!r}")
    if part != "textures":
        if not labels:
            raise ValueError(f"part {part!r} needs labels={{photo name: class name}}, e.g. the model's top-1 classes")
        unknown = [n for n in labels if n not in PHOTO_NAMES]
        if unknown:
            raise ValueError(f"unknown photo(s) {unknown}; available: {PHOTO_NAMES}")
        bad = [c for c in labels.values() if not c or "/" in c or c in (".", "..")]
        if bad:
            raise ValueError(f"class names {bad} cannot be folder names")
    dest = Path(out) / part / split
    if dest.exists():
        raise FileExistsError(f"{dest} already exists; remove it or choose another folder")
    tmp = atomic_folder(dest)
    try:
        if part == "composites":
            names = list(labels)
            ims = photos(names)
            ann = {"classes": sorted(set(labels.values())), "box_format": "x0 y0 x1 y1, half-open pixel coordinates",
                   "images": []}
            for a in names:
                for b in names:
                    if a != b and labels[a] != labels[b]:
                        img, boxes = side_by_side(ims[a], ims[b], size)
                        fname = f"{a}+{b}.png"
                        img.save(tmp / fname)
                        ann["images"].append({"file": fname, "boxes": [list(bx) for bx in boxes],
                                              "labels": [labels[a], labels[b]]})
            (tmp / "annotations.json").write_text(json.dumps(ann, indent=1))
        else:
            if part == "views":
                ds = PhotoViews(list(labels), per_class, seed=0 if split == "train" else 1)
                folders = [labels[n] for n in ds.classes]
            else:
                ds = RealTextures(split, per_class)
                folders = list(ds.classes)
            for f in set(folders):
                (tmp / f).mkdir()
            for i in range(len(ds)):
                img, c = ds[i]
                img.save(tmp / folders[c] / f"{ds.classes[c]}_{i:05d}.png")
        os.chmod(tmp, 0o755)
        os.replace(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return dest
