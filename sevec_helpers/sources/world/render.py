"""Writing parts of the world to disk: ImageFolder trees, and scenes with a JSON box file."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from sevec_helpers.core.atomic import atomic_folder
from sevec_helpers.sources.world.datasets import DATASETS
from sevec_helpers.sources.world.generator import ConceptWorld
from sevec_helpers.sources.world.vocabulary import CLASS_NAMES


def render(out: str | os.PathLike, part: str, *, split: str = "test", per_class: int = 10, n: int = 50,
           seed: int = 0, image_size: int = 64, progress: bool = True) -> Path:
    """Write a part of the world to ``out/part/split`` as PNGs: an ImageFolder tree for
    labelled parts; for scenes, images plus ``annotations.json`` with boxes and labels.

    The tree is built in a temporary folder and moved into place, so nothing half-written
    is left on disk.
    """
    from PIL import Image
    from tqdm.auto import tqdm

    if part not in DATASETS:
        raise ValueError(f"part must be one of {list(DATASETS)}, got {part!r}")
    count = n if part == "scenes" else per_class
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError(f"{'n' if part == 'scenes' else 'per_class'} must be a positive number of images, got {count!r}")
    world = ConceptWorld(seed, image_size)
    dest = Path(out) / part / split
    if dest.exists():
        raise FileExistsError(f"{dest} already exists; remove it or choose another --out")
    tmp = atomic_folder(dest)
    try:
        if part == "scenes":
            ann = {"classes": list(CLASS_NAMES), "box_format": "x0 y0 x1 y1, half-open pixel coordinates",
                   "images": []}
            for i in tqdm(range(n), disable=not progress, desc=f"render {part}"):
                smp = world.scene(i, split)
                fname = f"scene_{i:05d}.png"
                Image.fromarray(smp.image).save(tmp / fname)
                ann["images"].append({"file": fname, "boxes": smp.boxes.tolist(),
                                      "labels": [CLASS_NAMES[j] for j in smp.labels]})
            (tmp / "annotations.json").write_text(json.dumps(ann, indent=1))
        else:
            ds = DATASETS[part](world, split, per_class)
            for c in ds.classes:
                (tmp / c).mkdir()
            for i in tqdm(range(len(ds)), disable=not progress, desc=f"render {part}"):
                label, index = ds._label_index(i)
                if part == "objects":
                    img = world.object_image(label, index, split)[0]
                else:
                    img = world.swatch_image(part, label, index, split)
                Image.fromarray(img).save(tmp / ds.classes[label] / f"{index:05d}.png")
        os.chmod(tmp, 0o755)
        os.replace(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return dest
