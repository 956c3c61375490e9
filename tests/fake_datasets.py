"""Tiny data trees in the real on-disk formats (ImageNet, DTD, FMD, a colour set), for tests."""

from pathlib import Path

import numpy as np
from PIL import Image

SYN = ["n01440764", "n01443537", "n01484850"]


def img(path: Path, mode="RGB", size=(40, 30), fmt=None, seed=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed if seed is not None else len(str(path)))
    arr = (rng.random((size[1], size[0], 3)) * 255).astype(np.uint8)
    im = Image.fromarray(arr)
    if mode != "RGB":
        im = im.convert(mode)
    im.save(path, format=fmt)


def imagenet_tree(root: Path, per_class: int = 3, n_val: int = 6) -> Path:
    for s in SYN:
        for i in range(per_class):
            img(root / "train" / s / f"{s}_{i}.JPEG", fmt="JPEG")
    rows = ["ImageId,PredictionString"]
    for i in range(1, n_val + 1):
        img(root / "val" / f"ILSVRC2012_val_{i:08d}.JPEG", size=(400, 300), fmt="JPEG")
        syn = SYN[i % 3]
        rows.append(f"ILSVRC2012_val_{i:08d},{syn} 100 50 300 250 {syn} 0 0 20 20 ")
    (root / "LOC_val_solution.csv").write_text("\n".join(rows) + "\n")
    (root / "LOC_synset_mapping.txt").write_text("\n".join(f"{s} name{s[-2:]}, other" for s in SYN) + "\n")
    return root


def concept_trees(root: Path, per_class: int = 3) -> dict:
    base = root / "dtd" / "dtd"
    tex = ("banded", "cracked", "dotted")
    for c in tex:
        for i in range(per_class * 2):
            img(base / "images" / c / f"{c}_{i}.jpg", fmt="JPEG")
    (base / "labels").mkdir(parents=True, exist_ok=True)
    for split, part in (("train", range(per_class)), ("val", range(per_class, 2 * per_class))):
        (base / "labels" / f"{split}1.txt").write_text("".join(f"{c}/{c}_{i}.jpg\n" for c in tex for i in part))
    for m in ("glass", "wood", "metal"):
        for i in range(per_class):
            img(root / "fmd" / "image" / m / f"{i}.jpg", fmt="JPEG")
    for c in ("red", "green", "blue"):
        for i in range(per_class):
            img(root / "colors" / c / f"{i}.png", fmt="PNG")
    return {"dtd_root": str(root / "dtd"), "fmd_root": str(root / "fmd"), "colors_root": str(root / "colors")}


def imagenette_tree(root: Path, per_class: int = 2) -> Path:
    from sevec_helpers.sources.datasets import IMAGENETTE_SYNSETS

    for split in ("train", "val"):
        for s in IMAGENETTE_SYNSETS:
            for i in range(per_class):
                img(root / "imagenette2-320" / split / s / f"{s}_{i}.JPEG", size=(60, 48), fmt="JPEG")
    return root
