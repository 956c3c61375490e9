"""Real-data loaders: ImageNet (train, val with boxes), DTD, Flickr Material Database, a
colour set, Imagenette and VOC2007, read from their usual on-disk formats.

Nothing here downloads. Every loader checks its paths up front and says what it expected
to find. Unreadable files (corrupt, truncated) are skipped and counted, never a crash in
the middle of a run; grayscale, CMYK, palette and RGBA images are converted to RGB.
"""

from __future__ import annotations

import csv
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Callable, Sequence

import torch
from torch.utils.data import Dataset

from sevec_helpers.core.features import skip_none_collate  # noqa: F401  (re-exported: the collate for these datasets)

IMG_EXT = (".jpg", ".jpeg", ".png", ".bmp", ".ppm", ".webp", ".tif", ".tiff")


def _need_dir(path, what: str, hint: str) -> Path:
    p = Path(path).expanduser() if path is not None else None
    if p is None or not p.is_dir():
        raise FileNotFoundError(f"{what}: folder {path!r} not found. {hint}")
    return p


def load_rgb(path):
    """Open an image as RGB (converting grayscale, CMYK, palette and RGBA)."""
    from PIL import Image

    with Image.open(path) as im:
        im.load()
        if im.mode == "RGBA" or (im.mode == "P" and "transparency" in im.info):
            bg = Image.new("RGB", im.size, (255, 255, 255))
            rgba = im.convert("RGBA")
            bg.paste(rgba, mask=rgba.split()[3])
            return bg
        return im.convert("RGB")


class _SafeImages(Dataset):
    """Base: (path, label) samples; unreadable images are skipped (None) and listed in ``skipped``."""

    def __init__(self, samples: list[tuple[str, int]], classes: list[str], transform: Callable | None,
                 concept_kind: str = ""):
        self.samples = samples
        self.classes = classes
        self.transform = transform
        self.concept_kind = concept_kind  # "classes", "textures", ... (recorded on the SeVecs fitted here)
        self.skipped: list[str] = []

    def __len__(self):
        return len(self.samples)

    @property
    def targets(self) -> list[int]:
        return [y for _, y in self.samples]

    def fingerprint(self) -> dict:
        """What identifies this data for a cache: the files (path, size, mtime), labels, transform."""
        import hashlib

        h = hashlib.sha256()
        for path, y in self.samples:
            try:
                st = Path(path).stat()
                h.update(f"{path}|{y}|{st.st_size}|{st.st_mtime_ns}\n".encode())
            except OSError:
                h.update(f"{path}|{y}|missing\n".encode())
        out = {"type": type(self).__name__, "files": h.hexdigest()[:16], "n": len(self.samples),
               "classes": len(self.classes), "transform": repr(self.transform),
               "target": getattr(self, "target", "label")}
        folders = getattr(self, "folders", None)
        if folders is not None and list(folders) != list(self.classes):   # classes named otherwise than their folders
            out["names"] = hashlib.sha256("\n".join(self.classes).encode()).hexdigest()[:16]
        return out

    def _read(self, path):
        try:
            img = load_rgb(path)
        except Exception as e:  # corrupt, truncated, not an image
            self.skipped.append(str(path))
            warnings.warn(f"skipping unreadable image {path}: {e}", stacklevel=3)
            return None
        return self.transform(img) if self.transform is not None else img

    def __getitem__(self, i):
        path, y = self.samples[i]
        x = self._read(path)
        return None if x is None else (x, y)


class ImageFolderCapped(_SafeImages):
    """Class folders (``root/<class>/<image>``) with at most ``per_class`` images per class.

    ``classes`` fixes which folders and in which order (e.g. ImageNet's synset order);
    by default all sub-folders, sorted. ``names`` names the classes (one per folder, e.g. the
    model's category name of each synset folder): what ``classes`` then holds, and what SeVecs
    fitted here are called, so that they are matched with a model's classes by name (default:
    the folder names). ``label_map`` maps folder names to model output indices (e.g.
    Imagenette's 10 synsets to ImageNet's 1000 classes): the labels are then those outputs.
    Unreadable images are skipped and listed in ``skipped``.
    """

    def __init__(self, root, transform=None, per_class: int | None = None, classes: Sequence[str] | None = None,
                 label_map: dict[str, int] | None = None, what: str = "image folder", concept_kind: str = "",
                 names: Sequence[str] | None = None):
        root = _need_dir(root, what, "Expected one sub-folder of images per class.")
        found = sorted(d.name for d in root.iterdir() if d.is_dir())
        classes = list(classes) if classes is not None else found
        missing = [c for c in classes if c not in found]
        if missing:
            raise FileNotFoundError(f"{what} {root}: no folder for class(es) {missing[:5]}"
                                    f"{' ...' if len(missing) > 5 else ''}")
        samples = []
        for idx, c in enumerate(classes):
            files = sorted(f for f in (root / c).iterdir() if f.suffix.lower() in IMG_EXT)
            if per_class is not None:
                files = files[:per_class]
            label = label_map[c] if label_map is not None else idx
            samples += [(str(f), label) for f in files]
        if not samples:
            raise FileNotFoundError(f"{what} {root}: no images with extensions {IMG_EXT}")
        if names is not None:
            names = [str(n) for n in names]
            if len(names) != len(classes):
                raise ValueError(f"{what} {root}: {len(names)} names for {len(classes)} class folders; give one name "
                                 f"per folder, in the order of classes=")
        super().__init__(samples, names if names is not None else classes, transform, concept_kind)
        self.folders = classes
        self.label_map = label_map
        self.root = root


def read_synset_mapping(path) -> tuple[list[str], list[str]]:
    """``LOC_synset_mapping.txt`` lines 'n01440764 tench, Tinca tinca' -> (synsets, names)."""
    syn, names = [], []
    for line in Path(path).read_text().splitlines():
        if line.strip():
            s, _, n = line.strip().partition(" ")
            syn.append(s)
            names.append(n.split(",")[0].strip())
    return syn, names


def read_loc_csv(path) -> dict[str, list[tuple[str, tuple[float, float, float, float]]]]:
    """``LOC_val_solution.csv``: ImageId, 'syn x0 y0 x1 y1 syn x0 y0 x1 y1 ...' -> {image id: [(syn, box)]}."""
    out = {}
    with open(path, newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        if [h.strip() for h in header[:2]] != ["ImageId", "PredictionString"]:
            raise ValueError(f"{path}: expected the header 'ImageId,PredictionString', got {header}")
        for row in reader:
            toks = row[1].split()
            if len(toks) % 5:
                raise ValueError(f"{path}: row {row[0]} has {len(toks)} fields, not a multiple of 5")
            out[row[0]] = [(toks[i], tuple(float(v) for v in toks[i + 1 : i + 5])) for i in range(0, len(toks), 5)]
    return out


def read_voc_xml(path) -> tuple[str, tuple[int, int], list[tuple[str, tuple[float, float, float, float]]]]:
    """A Pascal VOC / ILSVRC annotation file -> (filename, (width, height), [(name, box)]).

    VOC boxes are 1-based and inclusive; they are returned half-open and 0-based
    (x0 - 1, y0 - 1, x1, y1), the convention of :mod:`sevec_helpers.evaluation.pointing`.
    """
    root = ET.parse(path).getroot()
    fname = root.findtext("filename") or Path(path).stem
    size = root.find("size")
    wh = (int(size.findtext("width")), int(size.findtext("height"))) if size is not None else (0, 0)
    objs = []
    for o in root.findall("object"):
        b = o.find("bndbox")
        box = tuple(float(b.findtext(k)) for k in ("xmin", "ymin", "xmax", "ymax"))
        objs.append((o.findtext("name"), (box[0] - 1, box[1] - 1, box[2], box[3])))
    return fname, wh, objs


def resize_crop_boxes(boxes, width: int, height: int, resize: int, crop: int) -> list[tuple[float, ...]]:
    """Map boxes through torchvision's ``Resize(resize)`` + ``CenterCrop(crop)``; clip and drop empty ones."""
    new_w, new_h = (resize, int(resize * height / width)) if width <= height else (int(resize * width / height), resize)
    sx, sy = new_w / width, new_h / height
    left, top = int(round((new_w - crop) / 2.0)), int(round((new_h - crop) / 2.0))
    out = []
    for x0, y0, x1, y1 in boxes:
        b = (min(max(x0 * sx - left, 0), crop), min(max(y0 * sy - top, 0), crop),
             min(max(x1 * sx - left, 0), crop), min(max(y1 * sy - top, 0), crop))
        if b[2] - b[0] >= 1 and b[3] - b[1] >= 1:
            out.append(b)
    return out


def _boxes_target(objs, wh, label_of: dict, resize: int, crop: int) -> dict | None:
    """(name, box) pairs of one image -> {"boxes", "labels"} in the transformed image's pixels
    (None when every box falls outside the crop)."""
    boxes, labels = [], []
    for name, b in objs:
        mapped = resize_crop_boxes([b], wh[0], wh[1], resize, crop)
        if mapped:
            boxes.append(mapped[0])
            labels.append(label_of[name])
    if not boxes:
        return None
    return {"boxes": torch.tensor(boxes, dtype=torch.float32), "labels": torch.tensor(labels)}


class ImageNetVal(_SafeImages):
    """ILSVRC2012 validation images with labels and boxes.

    ``root``: the folder of ``ILSVRC2012_val_*.JPEG`` files. ``annotations``: either
    ``LOC_val_solution.csv`` or a folder of per-image XML files. ``synsets``: the class
    order (e.g. from :func:`read_synset_mapping` or the train folder's sorted names).
    ``target="label"`` yields (image, class index) for fitting and accuracy;
    ``target="boxes"`` yields (image, {"boxes", "labels"}) in the pixel coordinates of the
    transformed image (``resize`` then centre ``crop``), for the pointing game. ``names``: the
    classes' names, one per synset (e.g. the model's category names), what ``classes`` holds
    (default: the synsets), so that they are matched with a model's classes by name.
    """

    def __init__(self, root, annotations, synsets: Sequence[str], transform=None, target: str = "label",
                 per_class: int | None = None, resize: int = 256, crop: int = 224, limit: int | None = None,
                 names: Sequence[str] | None = None):
        root = _need_dir(root, "ImageNet val", "Expected the ILSVRC2012_val_*.JPEG files in one folder.")
        ann = Path(annotations) if annotations is not None else None
        if ann is None or not ann.exists():
            raise FileNotFoundError(f"ImageNet val annotations {annotations!r} not found: pass LOC_val_solution.csv "
                                    f"or the folder of ILSVRC val XML files")
        if target not in ("label", "boxes"):
            raise ValueError(f"target must be 'label' or 'boxes', got {target!r}")
        index = {s: i for i, s in enumerate(synsets)}
        records = {}
        if ann.is_dir():
            for x in sorted(ann.glob("*.xml")):
                fname, wh, objs = read_voc_xml(x)
                records[Path(fname).stem] = (objs, wh)
        else:
            for k, objs in read_loc_csv(ann).items():
                records[k] = (objs, None)
        files = {f.stem: f for f in root.iterdir() if f.suffix.lower() in IMG_EXT}
        samples, self.objects, counts = [], [], {}
        for stem in sorted(records):
            if stem not in files:
                continue
            objs, wh = records[stem]
            unknown = [s for s, _ in objs if s not in index]
            if unknown:
                raise ValueError(f"{stem}: synset {unknown[0]} is not in the class list ({len(synsets)} synsets)")
            y = index[objs[0][0]]
            if per_class is not None and counts.get(y, 0) >= per_class:
                continue
            counts[y] = counts.get(y, 0) + 1
            samples.append((str(files[stem]), y))
            self.objects.append((objs, wh))
            if limit is not None and len(samples) >= limit:
                break
        if not samples:
            raise FileNotFoundError(f"ImageNet val: none of the annotated images were found in {root}")
        if names is not None and len(names) != len(synsets):
            raise ValueError(f"ImageNet val: {len(names)} names for {len(synsets)} synsets; give one name per synset")
        super().__init__(samples, [str(n) for n in names] if names is not None else list(synsets), transform,
                         "classes")
        self.folders = list(synsets)
        self.target, self.resize, self.crop, self.index = target, resize, crop, index

    def __getitem__(self, i):
        path, y = self.samples[i]
        if self.target == "label":
            x = self._read(path)
            return None if x is None else (x, y)
        from PIL import Image

        objs, wh = self.objects[i]
        if wh is None or wh == (0, 0):
            try:
                with Image.open(path) as im:
                    wh = im.size
            except Exception:
                wh = None
        x = self._read(path)
        if x is None or wh is None:
            return None
        target = _boxes_target(objs, wh, self.index, self.resize, self.crop)
        return None if target is None else (x, target)


def dtd(root, split: str = "train", partition: int = 1, transform=None) -> _SafeImages:
    """The Describable Textures Dataset as torchvision lays it out (``root/dtd/dtd`` or
    ``root/dtd``: ``images/<texture>/*.jpg`` and ``labels/{split}{partition}.txt``)."""
    root = _need_dir(root, "DTD", "Expected the extracted dtd-r1.0.1 archive (images/ and labels/).")
    base = next((b for b in (root / "dtd" / "dtd", root / "dtd", root) if (b / "images").is_dir()), None)
    if base is None:
        raise FileNotFoundError(f"DTD: no images/ folder under {root} (looked in dtd/dtd, dtd and the root)")
    if split not in ("train", "val", "test") or not 1 <= partition <= 10:
        raise ValueError(f"DTD split must be train/val/test and partition 1..10, got {split!r}, {partition}")
    listing = base / "labels" / f"{split}{partition}.txt"
    if not listing.exists():
        raise FileNotFoundError(f"DTD: {listing} not found")
    classes = sorted(d.name for d in (base / "images").iterdir() if d.is_dir())
    idx = {c: i for i, c in enumerate(classes)}
    samples = []
    for line in listing.read_text().split():
        c = line.split("/")[0]
        samples.append((str(base / "images" / line), idx[c]))
    return _SafeImages(samples, classes, transform, "textures")


def fmd(root, transform=None, per_class: int | None = None) -> ImageFolderCapped:
    """Flickr Material Database: ``root/image/<material>/*.jpg`` (the ``mask/`` folder is ignored)."""
    root = _need_dir(root, "FMD", "Expected the extracted FMD folder with image/ and mask/.")
    return ImageFolderCapped(root / "image" if (root / "image").is_dir() else root, transform, per_class,
                             what="FMD images", concept_kind="materials")


def colors(root, transform=None, per_class: int | None = None) -> ImageFolderCapped:
    """A colour-name set laid out as class folders (``root/<colour>/*``), e.g. Google-512."""
    return ImageFolderCapped(root, transform, per_class, what="colour set", concept_kind="colors")


IMAGENETTE_SYNSETS = ("n01440764", "n02102040", "n02979186", "n03000684", "n03028079", "n03394916", "n03417042",
                      "n03425413", "n03445777", "n03888605")
# their names in torchvision's ImageNet category list, in the same order
IMAGENETTE_CLASSES = ("tench", "English springer", "cassette player", "chain saw", "church", "French horn",
                      "garbage truck", "gas pump", "golf ball", "parachute")


def imagenette(root, split: str = "train", transform=None, per_class: int | None = None,
               imagenet_synsets: Sequence[str] | None = None, size: str = "320px") -> ImageFolderCapped:
    """Imagenette as torchvision lays it out (``root/imagenette2[-320|-160]/{train,val}/<synset>``).

    Its classes are named by their ImageNet category names (``IMAGENETTE_CLASSES``: "tench",
    "English springer", ...), so SeVecs fitted here match an ImageNet model's classes by name.
    With ``imagenet_synsets`` (the 1000 ImageNet synsets in order) labels are ImageNet
    indices, so a 1000-class model can be used directly.
    """
    root = _need_dir(root, "Imagenette", "Expected the extracted imagenette2 archive.")
    folder = {"full": "imagenette2", "320px": "imagenette2-320", "160px": "imagenette2-160"}[size]
    base = root / folder if (root / folder).is_dir() else root
    if split not in ("train", "val"):
        raise ValueError(f"Imagenette split must be 'train' or 'val', got {split!r}")
    lm = {s: list(imagenet_synsets).index(s) for s in IMAGENETTE_SYNSETS} if imagenet_synsets else None
    return ImageFolderCapped(base / split, transform, per_class, classes=IMAGENETTE_SYNSETS, label_map=lm,
                             what="Imagenette", concept_kind="classes", names=IMAGENETTE_CLASSES)


class VOCScenes(_SafeImages):
    """VOC2007 detection (``root/VOCdevkit/VOC2007``): (image, {"boxes", "labels"}) per image,
    boxes in the transformed image's pixels; ``class_map`` maps VOC names to model classes
    (objects of unmapped classes are dropped)."""

    def __init__(self, root, image_set: str = "test", transform=None, class_map: dict[str, int] | None = None,
                 resize: int = 256, crop: int = 224, limit: int | None = None):
        root = _need_dir(root, "VOC2007", "Expected VOCdevkit/VOC2007 with JPEGImages, Annotations, ImageSets.")
        base = next((b for b in (root / "VOCdevkit" / "VOC2007", root / "VOC2007", root)
                     if (b / "Annotations").is_dir()), None)
        if base is None:
            raise FileNotFoundError(f"VOC2007: no Annotations/ folder under {root}")
        ids = (base / "ImageSets" / "Main" / f"{image_set}.txt").read_text().split()
        self.objects, samples = [], []
        names = sorted({o for i in ids for o, _ in read_voc_xml(base / "Annotations" / f"{i}.xml")[2]})
        cmap = class_map or {n: k for k, n in enumerate(names)}
        for i in ids[:limit]:
            fname, wh, objs = read_voc_xml(base / "Annotations" / f"{i}.xml")
            objs = [(n, b) for n, b in objs if n in cmap]
            if objs:
                samples.append((str(base / "JPEGImages" / fname), cmap[objs[0][0]]))
                self.objects.append((objs, wh))
        super().__init__(samples, names, transform, "classes")
        self.cmap, self.resize, self.crop = cmap, resize, crop

    def __getitem__(self, i):
        path, _ = self.samples[i]
        objs, wh = self.objects[i]
        x = self._read(path)
        if x is None:
            return None
        target = _boxes_target(objs, wh, self.cmap, self.resize, self.crop)
        return None if target is None else (x, target)


class PairedScenes(Dataset):
    """Two-object scenes built from a single-object data set: two images of different
    classes side by side (each squeezed into half the width), with each one's box.

    ``base`` yields (PIL image, label) (build it with ``transform=None``); ``to_tensor`` turns
    the composite PIL image into the model's input. Deterministic from ``seed``.
    """

    def __init__(self, base: Dataset, n: int, to_tensor: Callable, size: int = 224, seed: int = 0):
        import numpy as np

        labels = [y for _, y in base.samples] if hasattr(base, "samples") else [base[i][1] for i in range(len(base))]
        if len(set(labels)) < 2:
            raise ValueError("PairedScenes needs images of at least two classes")
        rng = np.random.default_rng(seed)
        self.pairs = []
        while len(self.pairs) < n:
            i, j = (int(v) for v in rng.integers(0, len(labels), size=2))
            if labels[i] != labels[j]:
                self.pairs.append((i, j))
        self.base, self.to_tensor, self.size = base, to_tensor, size
        self.classes = getattr(base, "classes", None)

    def __len__(self):
        return len(self.pairs)

    def __getitem__(self, k):
        from PIL import Image

        a, b = (self.base[i] for i in self.pairs[k])
        if a is None or b is None:
            return None
        half = self.size // 2
        top = (self.size - half) // 2
        out = Image.new("RGB", (self.size, self.size), (124, 116, 104))
        out.paste(a[0].resize((half, half)), (0, top))
        out.paste(b[0].resize((half, half)), (half, top))
        boxes = torch.tensor([[0, top, half, top + half], [half, top, self.size, top + half]], dtype=torch.float32)
        return self.to_tensor(out), {"boxes": boxes, "labels": torch.tensor([a[1], b[1]])}


class Cached(Dataset):
    """Reads every item once and keeps it in memory: the chapters read their datasets many times.

    With a ``store`` (a :class:`sevec_helpers.sevecs.cache.DiskCache`; :class:`sevec_helpers.book.profiles.Study`
    gives its own) and a base that can render all its items at once (the ConceptWorld
    datasets' ``prefetch``), the first read renders the whole dataset, or reads it back from
    the store, so every page of the book, and every network a page judges, shares one rendering.
    """

    _PREFETCHING = ("sample", "attributes", "facet_of")   # reads of the base that draw images

    def __init__(self, base: Dataset, store=None):
        self.base = base
        self.store = store
        self.classes = getattr(base, "classes", None)
        self.concept_kind = getattr(base, "concept_kind", "")
        self._items: list = [None] * len(base)

    def __len__(self):
        return len(self.base)

    def _prefetch(self):
        if self.store is not None and callable(getattr(self.base, "prefetch", None)):
            self.base.prefetch(self.store)

    def __getitem__(self, i):
        if self._items[i] is None:
            self._prefetch()
            self._items[i] = self.base[i]
        return self._items[i]

    def __getattr__(self, name):  # attributes of the wrapped dataset (fingerprint, attributes, ...)
        if name.startswith("_") or name in ("base", "store"):
            raise AttributeError(name)
        if name in self._PREFETCHING:
            self._prefetch()
        return getattr(self.base, name)


class BoxFolder(_SafeImages):
    """Images with boxes: a folder of images plus ``annotations.json``, the format
    ``sevec world render --part scenes`` and :func:`sevec_helpers.sources.photos.render` write::

        {"images": [{"file": "a.png", "boxes": [[x0, y0, x1, y1], ...], "labels": ["cat", ...]}, ...]}

    (boxes in the file's pixels, half-open). Each image is resized to ``size`` x ``size``
    (boxes scaled with it), turned into a [0, 1] tensor and passed through ``normalize``.

    Parameters
    ----------
    root : str or path-like
        The folder holding ``annotations.json`` and the images.
    classes : sequence of str
        The model's class names (e.g. ``spec.categories``): a box's label is the index of
        its name here.
    size : int
        The model's input side in pixels (e.g. ``spec.input_size``).
    normalize : callable, optional
        (N, 3, H, W) [0, 1] images -> the model's input (e.g. ``spec.normalize``).

    Raises
    ------
    FileNotFoundError
        No folder or no ``annotations.json``.
    ValueError
        A malformed annotation file, or labels that are not in ``classes``.

    Items are ``(image (3, size, size), {"boxes": (B, 4) float, "labels": (B,) int64})``;
    an unreadable image gives None (skipped by the library's loops, listed in ``skipped``).
    """

    def __init__(self, root, classes: Sequence[str], size: int, normalize: Callable | None = None):
        import json

        root = _need_dir(root, "box folder", "Expected images and annotations.json "
                         "(write one with: sevec world render --part scenes).")
        ann = root / "annotations.json"
        if not ann.is_file():
            raise FileNotFoundError(f"{root}: no annotations.json (write one with: sevec world render --part scenes)")
        try:
            items = json.loads(ann.read_text())["images"]
            items = [(str(it["file"]), [tuple(float(v) for v in b) for b in it["boxes"]], list(it["labels"]))
                     for it in items]
        except (ValueError, KeyError, TypeError) as e:
            raise ValueError(f"{ann} is not an annotation file of the form {{\"images\": [{{\"file\", \"boxes\", "
                             f"\"labels\"}}]}} ({type(e).__name__}: {e})") from None
        index = {c: i for i, c in enumerate(classes)}
        unknown = sorted({n for _, _, labs in items for n in labs if n not in index})
        if unknown:
            raise ValueError(f"labels {unknown[:5]} of {ann} are not among the {len(index)} classes given")
        bad = [f for f, b, labs in items if len(b) != len(labs) or any(len(x) != 4 for x in b)]
        if bad:
            raise ValueError(f"{ann}: images {bad[:3]} need one [x0, y0, x1, y1] box per label")
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ValueError(f"size must be the model's input side in pixels, got {size!r}")
        samples = [(str(root / f), index[labs[0]] if labs else -1) for f, _, labs in items]
        super().__init__(samples, list(classes), None, "classes")
        self.root, self.size, self.normalize = root, size, normalize
        self.objects = [(b, [index[n] for n in labs]) for _, b, labs in items]

    def fingerprint(self) -> dict:
        """The files, boxes, labels, size and normalisation (for a cache key)."""
        import hashlib

        return dict(super().fingerprint(), size=self.size, normalize=repr(self.normalize),
                    boxes=hashlib.sha256(repr(self.objects).encode()).hexdigest()[:16])

    def __getitem__(self, i):
        from torchvision.transforms.functional import to_tensor

        path, _ = self.samples[i]
        img = self._read(path)
        if img is None:
            return None
        boxes, labels = self.objects[i]
        sx, sy = self.size / img.size[0], self.size / img.size[1]
        x = to_tensor(img.resize((self.size, self.size)) if img.size != (self.size, self.size) else img)
        if self.normalize is not None:
            x = self.normalize(x[None])[0]
        target = {"boxes": torch.tensor([[b[0] * sx, b[1] * sy, b[2] * sx, b[3] * sy] for b in boxes],
                                        dtype=torch.float32).reshape(-1, 4),
                  "labels": torch.tensor(labels, dtype=torch.long)}
        return x, target
