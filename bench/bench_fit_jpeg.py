"""Fitting SeVecs from JPEG files: fit_sevecs at a layer against a bare forward pass over the
same DataLoader (JPEG decoding, resizing and cropping in worker processes, pinned memory on
CUDA), as a researcher runs it on ImageNet.

    python bench/bench_fit_jpeg.py [--device cuda] [--images 2048] [--batch 64] [--workers 8] [--amp]

Writes ``--images`` JPEGs (500x375 px, smooth random colour fields, quality 90, in
``--classes`` class folders) into a temporary ImageFolder tree, then times, interleaved:
``bare``: every batch to the device and ``model(x)`` under inference_mode;
``fit``: ``sevec_helpers.fit_sevecs(model, loader, layer)`` (stops after the layer).
Model: torchvision VGG16, random weights (nothing is downloaded), its ImageNet transform.
Prints images per second (min and median over repeats) and the ratio of fit time to bare
forward time (goal on a GPU: <= 1.05, i.e. fitting costs no more than reading the data).
"""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from common import report  # noqa: E402

import sevec_helpers as sh  # noqa: E402


def write_jpegs(root: Path, n: int, classes: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    for i in range(n):
        d = root / f"c{i % classes:03d}"
        d.mkdir(parents=True, exist_ok=True)
        small = rng.integers(0, 256, size=(12, 16, 3), dtype=np.uint8)
        img = Image.fromarray(small).resize((500, 375), Image.BICUBIC)
        img.save(d / f"{i:06d}.jpg", quality=90)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--images", type=int, default=2048)
    p.add_argument("--classes", type=int, default=64)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--workers", type=int, default=8)
    p.add_argument("--layer", default="fc1")
    p.add_argument("--amp", action="store_true", help="bfloat16 autocast for both (fit keeps the tap exact)")
    p.add_argument("--repeat", type=int, default=3)
    a = p.parse_args()
    dev = torch.device(a.device)
    import torchvision

    model, spec = sh.load_model("vgg16", weights=None)
    model.to(dev)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        write_jpegs(Path(tmp), a.images, a.classes)
        print(f"wrote {a.images} JPEGs in {time.perf_counter() - t0:.1f}s; device {dev}, batch {a.batch}, "
              f"{a.workers} workers, layer {a.layer}, amp {a.amp}", flush=True)
        ds = torchvision.datasets.ImageFolder(tmp, transform=spec.transform)
        loader = torch.utils.data.DataLoader(ds, batch_size=a.batch, num_workers=a.workers,
                                             pin_memory=dev.type == "cuda", persistent_workers=a.workers > 0)

        def sync():
            if dev.type == "cuda":
                torch.cuda.synchronize()

        def bare():
            with torch.inference_mode(), torch.autocast(dev.type, dtype=torch.bfloat16, enabled=a.amp):
                for x, _ in loader:
                    model(x.to(dev, non_blocking=True))
            sync()

        def fit():
            sh.fit_sevecs(model, loader, a.layer, num_concepts=a.classes, progress=False, amp=a.amp)
            sync()

        bare(), fit()  # warm-up: workers started, cuDNN autotuned, pages cached
        times = {"bare": [], "fit": []}
        for _ in range(a.repeat):
            for k, fn in (("bare", bare), ("fit", fit)):
                t0 = time.perf_counter()
                fn()
                times[k].append(time.perf_counter() - t0)
        for k, v in times.items():
            print(f"{k}: {a.images / min(v):.1f} img/s best, {a.images / statistics.median(v):.1f} img/s median")
        report(f"fit_sevecs @ {a.layer} / bare forward, JPEGs through a DataLoader", times["fit"], times["bare"],
               "<= 1.05")


if __name__ == "__main__":
    main()
