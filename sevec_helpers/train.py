"""Train vgg_mini on ConceptWorld objects: ``python -m sevec_helpers.train``.

The recipe is deterministic (fixed seeds, fixed data, one thread count) and finishes in
well under 15 minutes on a 2-core CPU. It writes ``vgg_mini.pt`` (a plain state dict) and
``vgg_mini.json`` (training config, held-out accuracy per class, colour and grayscale,
checksum) atomically into ``--out``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from ._io import atomic_write
from ._version import __version__
from .metrics import accuracy
from .models import VGG_MINI_CFG, WEIGHTS_DIR, VGGMini, sha256_of
from .world import CLASS_NAMES, ConceptWorld, ObjectsDataset, load_tensors

MEAN = (0.5, 0.5, 0.5)
STD = (0.25, 0.25, 0.25)
EVAL_SEED = 1          # the held-out world the metadata's accuracy is measured on
EVAL_PER_CLASS = 200


def normalize(x: torch.Tensor) -> torch.Tensor:
    m = torch.tensor(MEAN)[None, :, None, None]
    s = torch.tensor(STD)[None, :, None, None]
    return (x - m) / s


def evaluate(model, x: torch.Tensor, y: torch.Tensor, batch_size: int = 256) -> dict:
    """Top-1 and top-5 accuracy, overall and per class, of ``model`` on [0, 1] images ``x``."""
    acc = accuracy(model, (normalize(x), y), len(CLASS_NAMES), batch_size=batch_size)
    return acc.as_dict()


def heldout(seed: int = EVAL_SEED, per_class: int = EVAL_PER_CLASS, grayscale: bool = False, image_size: int = 64):
    ds = ObjectsDataset(ConceptWorld(seed, image_size), split="test", per_class=per_class, grayscale=grayscale)
    return load_tensors(ds)


def train(per_class: int = 100, epochs: int = 14, batch_size: int = 64, lr: float = 3e-3, seed: int = 0,
          cfg=VGG_MINI_CFG, hidden: int = 256, image_size: int = 64, threads: int = 2, progress: bool = True):
    """Train a fresh VGGMini; returns (model, history)."""
    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    world = ConceptWorld(seed, image_size)
    x, y = load_tensors(ObjectsDataset(world, "train", per_class), progress=progress)
    model = VGGMini(len(CLASS_NAMES), cfg=cfg, image_size=image_size, hidden=hidden)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=5e-4)
    steps = epochs * (len(x) // batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.15)
    g = torch.Generator().manual_seed(seed)
    history = []
    for ep in range(epochs):
        model.train()
        perm = torch.randperm(len(x), generator=g)
        tot, correct, seen = 0.0, 0, 0
        bar = tqdm(range(len(x) // batch_size), disable=not progress, desc=f"epoch {ep + 1}/{epochs}")
        for b in bar:
            idx = perm[b * batch_size : (b + 1) * batch_size]
            xb, yb = x[idx], y[idx]
            flip = torch.rand(len(idx), generator=g) < 0.5
            xb = torch.where(flip[:, None, None, None], xb.flip(3), xb)
            out = model(normalize(xb))
            loss = F.cross_entropy(out, yb, label_smoothing=0.05)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            tot += loss.item() * len(idx)
            correct += int((out.argmax(1) == yb).sum())
            seen += len(idx)
        history.append({"epoch": ep + 1, "loss": tot / seen, "train_acc": correct / seen})
        if progress:
            print(f"epoch {ep + 1}: loss {tot / seen:.3f} train acc {correct / seen:.3f}", flush=True)
    model.eval()
    return model, history


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m sevec_helpers.train", description=__doc__.split("\n")[0])
    p.add_argument("--per-class", type=int, default=100)
    p.add_argument("--epochs", type=int, default=14)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", default=str(WEIGHTS_DIR))
    p.add_argument("--eval-per-class", type=int, default=EVAL_PER_CLASS)
    a = p.parse_args(argv)
    t0 = time.time()
    model, history = train(a.per_class, a.epochs, a.batch_size, a.lr, a.seed, threads=a.threads)
    train_s = time.time() - t0
    xe, ye = heldout(EVAL_SEED, a.eval_per_class)
    acc = evaluate(model, xe, ye)
    xg, yg = heldout(EVAL_SEED, a.eval_per_class, grayscale=True)
    acc_gray = evaluate(model, xg, yg)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    wpath = out / "vgg_mini.pt"
    atomic_write(wpath, lambda fh: torch.save(model.state_dict(), fh))
    meta = {
        "name": "vgg_mini", "library_version": __version__, "torch_version": torch.__version__,
        "categories": list(CLASS_NAMES), "mean": MEAN, "std": STD, "model_config": model.config,
        "training": {"per_class": a.per_class, "epochs": a.epochs, "batch_size": a.batch_size, "lr": a.lr,
                     "seed": a.seed, "threads": a.threads, "world_seed": a.seed, "optimizer": "AdamW wd=5e-4",
                     "schedule": "OneCycle pct_start=0.15", "label_smoothing": 0.05, "augment": "horizontal flip",
                     "seconds": round(train_s, 1), "history": history},
        "heldout": {"world_seed": EVAL_SEED, "split": "test", "per_class": a.eval_per_class, **acc},
        "heldout_grayscale": {"world_seed": EVAL_SEED, "split": "test", "per_class": a.eval_per_class,
                              **acc_gray},
        "sha256": sha256_of(wpath),
    }
    atomic_write(out / "vgg_mini.json", lambda fh: fh.write(json.dumps(meta, indent=1)), binary=False)
    print(f"trained in {train_s:.0f}s; held-out top-1 {acc['top1']:.3f} (grayscale {acc_gray['top1']:.3f}); "
          f"worst class {CLASS_NAMES[int(np.argmin(acc['per_class_top1']))]} "
          f"{min(acc['per_class_top1']):.3f}; wrote {wpath}")


if __name__ == "__main__":
    main()
