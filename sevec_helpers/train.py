"""Train the networks that ship with the book: ``python -m sevec_helpers.train --variant NAME``.

Three networks, one recipe (:data:`VARIANTS`):

- ``vgg_mini``: the default world (colour defines a quarter of the classes), colour images;
- ``vgg_mini_gray``: the same world, trained on gray images (the paper's retraining step);
- ``vgg_mini_colorcoded``: a world where colour defines every class (to show that a network
  leans on colour as much as its data rewards it).

The recipe renders the training images once (two processes), trains with AdamW and a
one-cycle schedule in bfloat16 autocast (channels-last; about 2.8x faster than float32 on
CPUs with bf16 units, and correct, only slower, elsewhere), evaluates a held-out set after
every epoch (the curve shows the plateau), and writes ``NAME.pt`` (a float16 state dict,
under 10 MB) and ``NAME.json`` (recipe, curve, held-out accuracy per class in colour and
gray, timing, checksum) atomically. Each variant takes under 15 minutes on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from ._io import atomic_write
from ._version import __version__
from .metrics import accuracy
from .models import VGG_MINI_CFG, VGG_MINI_HIDDEN, WEIGHTS_DIR, VGGMini, sha256_of
from .world import CLASS_NAMES, ConceptWorld

MEAN = (0.5, 0.5, 0.5)
STD = (0.25, 0.25, 0.25)
EVAL_SEED = 1            # the held-out world the metadata's accuracy is measured on
EVAL_PER_CLASS = 100
CURVE_PER_CLASS = 25     # the held-out images evaluated after every epoch

VARIANTS = {
    "vgg_mini": {"color_informativeness": 0.25, "grayscale": False,
                 "about": "the default world: colour defines 8 of the 32 classes"},
    "vgg_mini_gray": {"color_informativeness": 0.25, "grayscale": True,
                      "about": "the default world, trained and evaluated on gray images"},
    "vgg_mini_colorcoded": {"color_informativeness": 1.0, "grayscale": False,
                            "about": "a world where colour defines every class"},
}
RECIPE = {"per_class": 500, "epochs": 24, "batch_size": 128, "lr": 2e-3, "weight_decay": 5e-4,
          "label_smoothing": 0.05, "shift": 4, "seed": 0, "threads": 2}


def to_gray(x: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) RGB in [0, 1] -> three equal channels of luminance (the paper's ablation)."""
    g = 0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2]
    return g.unsqueeze(1).expand(-1, 3, -1, -1).contiguous()


def normalize(x: torch.Tensor) -> torch.Tensor:
    m = torch.tensor(MEAN, dtype=x.dtype)[None, :, None, None]
    s = torch.tensor(STD, dtype=x.dtype)[None, :, None, None]
    return (x - m) / s


def _render_chunk(args):
    seed, image_size, ci, split, items = args
    w = ConceptWorld(seed, image_size, color_informativeness=ci)
    return np.stack([w.object_image(label, index, split).image for label, index in items])


def render_objects(seed: int, split: str, per_class: int, *, color_informativeness: float, image_size: int = 64,
                   workers: int = 2, progress: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """Object images of every class as uint8 (N, 3, S, S) and labels (N,), drawn by ``workers``
    processes (the same bytes whatever their number)."""
    k = len(CLASS_NAMES)
    items = [(i % k, i // k) for i in range(k * per_class)]
    chunks = [items[i : i + 256] for i in range(0, len(items), 256)]
    args = [(seed, image_size, color_informativeness, split, c) for c in chunks]
    if workers > 1:
        with mp.get_context("fork").Pool(workers) as pool:
            parts = list(tqdm(pool.imap(_render_chunk, args), total=len(args), disable=not progress,
                              desc=f"render {split} images"))
    else:
        parts = [_render_chunk(a) for a in tqdm(args, disable=not progress, desc=f"render {split} images")]
    x = torch.from_numpy(np.concatenate(parts)).permute(0, 3, 1, 2).contiguous()
    return x, torch.tensor([lab for lab, _ in items])


def _prepare(x_uint8: torch.Tensor, grayscale: bool) -> torch.Tensor:
    x = x_uint8.float() / 255.0
    return normalize(to_gray(x) if grayscale else x)


def evaluate(model, x_uint8: torch.Tensor, y: torch.Tensor, grayscale: bool = False, batch_size: int = 500) -> dict:
    """Top-1 and top-5 accuracy, overall and per class, and the mean true-class probability."""
    acc = accuracy(model, (_prepare(x_uint8, grayscale), y), len(CLASS_NAMES), batch_size=batch_size)
    return {**acc.as_dict(), "mean_prob_true": float(acc.prob_true.mean())}


def _augment(xb: torch.Tensor, shift: int, g: torch.Generator) -> torch.Tensor:
    """Random horizontal flips and random shifts of up to ``shift`` pixels (reflect padding)."""
    n, _, h, w = xb.shape
    flip = torch.rand(n, generator=g) < 0.5
    xb = torch.where(flip[:, None, None, None], xb.flip(3), xb)
    if shift:
        p = F.pad(xb, (shift,) * 4, mode="reflect")
        dx = torch.randint(0, 2 * shift + 1, (n,), generator=g).tolist()
        dy = torch.randint(0, 2 * shift + 1, (n,), generator=g).tolist()
        xb = torch.stack([p[i, :, dy[i] : dy[i] + h, dx[i] : dx[i] + w] for i in range(n)])
    return xb


def train(variant: str = "vgg_mini", *, per_class: int = RECIPE["per_class"], epochs: int = RECIPE["epochs"],
          batch_size: int = RECIPE["batch_size"], lr: float = RECIPE["lr"], seed: int = RECIPE["seed"],
          threads: int = RECIPE["threads"], image_size: int = 64, bf16: bool = True, progress: bool = True,
          curve_per_class: int = CURVE_PER_CLASS):
    """Train one variant from scratch; returns (model in eval mode, history, timings)."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; choose one of {', '.join(VARIANTS)}")
    v = VARIANTS[variant]
    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    t0 = time.time()
    x, y = render_objects(seed, "train", per_class, color_informativeness=v["color_informativeness"],
                          image_size=image_size, workers=threads, progress=progress)
    xc, yc = render_objects(EVAL_SEED, "val", curve_per_class, color_informativeness=v["color_informativeness"],
                            image_size=image_size, workers=threads, progress=False)
    render_s = time.time() - t0
    model = VGGMini(len(CLASS_NAMES), cfg=VGG_MINI_CFG, image_size=image_size, hidden=VGG_MINI_HIDDEN)
    model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=RECIPE["weight_decay"])
    steps_per_epoch = len(x) // batch_size
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=epochs * steps_per_epoch, pct_start=0.2)
    g = torch.Generator().manual_seed(seed)
    history = []
    t1 = time.time()
    for ep in range(epochs):
        model.train()
        perm = torch.randperm(len(x), generator=g)
        tot, correct, seen = 0.0, 0, 0
        for b in tqdm(range(steps_per_epoch), disable=not progress, desc=f"epoch {ep + 1}/{epochs}", leave=False):
            idx = perm[b * batch_size : (b + 1) * batch_size]
            xb = _augment(_prepare(x[idx], v["grayscale"]), RECIPE["shift"], g).contiguous(
                memory_format=torch.channels_last)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                out = model(xb)
            loss = F.cross_entropy(out.float(), y[idx], label_smoothing=RECIPE["label_smoothing"])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            tot += loss.item() * len(idx)
            correct += int((out.argmax(1) == y[idx]).sum())
            seen += len(idx)
        model.eval()
        ev = evaluate(model, xc, yc, v["grayscale"])
        history.append({"epoch": ep + 1, "loss": round(tot / seen, 4), "train_acc": round(correct / seen, 4),
                        "heldout_top1": round(ev["top1"], 4), "heldout_top5": round(ev["top5"], 4)})
        if progress:
            print(f"{variant} epoch {ep + 1}: loss {tot / seen:.3f}, train {correct / seen:.3f}, held-out top-1 "
                  f"{ev['top1']:.3f} top-5 {ev['top5']:.3f} ({time.time() - t0:.0f}s)", flush=True)
    model.eval()
    model = model.to(memory_format=torch.contiguous_format)
    return model, history, {"render_s": round(render_s, 1), "train_s": round(time.time() - t1, 1)}


def heldout(variant: str = "vgg_mini", seed: int = EVAL_SEED, per_class: int = EVAL_PER_CLASS, image_size: int = 64,
            workers: int = 2):
    """The held-out images of a variant's world as uint8 (N, 3, S, S) and labels."""
    return render_objects(seed, "test", per_class, color_informativeness=VARIANTS[variant]["color_informativeness"],
                          image_size=image_size, workers=workers, progress=False)


def write(variant: str, model, history, timings: dict, out: Path, per_class: int, epochs: int, seed: int,
          threads: int, eval_per_class: int = EVAL_PER_CLASS) -> Path:
    """Save the float16 weights, then measure the saved (rounded) network and write the metadata."""
    v = VARIANTS[variant]
    out.mkdir(parents=True, exist_ok=True)
    wpath = out / f"{variant}.pt"
    state = {k: (t.half() if t.is_floating_point() else t) for k, t in model.state_dict().items()}
    atomic_write(wpath, lambda fh: torch.save(state, fh))
    model.load_state_dict(state)  # measure exactly what ships: float16 weights in a float32 model
    xe, ye = heldout(variant, per_class=eval_per_class, workers=threads)
    acc = evaluate(model, xe, ye, v["grayscale"])
    acc_other = evaluate(model, xe, ye, not v["grayscale"])
    meta = {
        "name": variant, "about": v["about"], "library_version": __version__, "torch_version": torch.__version__,
        "categories": list(CLASS_NAMES), "mean": MEAN, "std": STD, "model_config": model.config,
        "input": "gray images (three equal channels)" if v["grayscale"] else "colour images",
        "world": {"seed": seed, "color_informativeness": v["color_informativeness"], "image_size": 64},
        "training": {**RECIPE, "per_class": per_class, "epochs": epochs, "seed": seed, "threads": threads,
                     "optimizer": "AdamW", "schedule": "OneCycle pct_start=0.2", "precision": "bfloat16 autocast",
                     "augment": "horizontal flip, shifts of up to 4 px", **timings, "history": history},
        "heldout": {"world_seed": EVAL_SEED, "split": "test", "per_class": eval_per_class, **acc},
        ("heldout_color" if v["grayscale"] else "heldout_grayscale"): {"world_seed": EVAL_SEED, "split": "test",
                                                                      "per_class": eval_per_class, **acc_other},
        "weights": "float16 state dict", "sha256": sha256_of(wpath),
    }
    atomic_write(out / f"{variant}.json", lambda fh: fh.write(json.dumps(meta, indent=1)), binary=False)
    return wpath


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m sevec_helpers.train", description=__doc__.split("\n")[0])
    p.add_argument("--variant", choices=list(VARIANTS) + ["all"], default="vgg_mini")
    p.add_argument("--per-class", type=int, default=RECIPE["per_class"])
    p.add_argument("--epochs", type=int, default=RECIPE["epochs"])
    p.add_argument("--seed", type=int, default=RECIPE["seed"])
    p.add_argument("--threads", type=int, default=RECIPE["threads"])
    p.add_argument("--out", default=str(WEIGHTS_DIR))
    p.add_argument("--eval-per-class", type=int, default=EVAL_PER_CLASS)
    p.add_argument("--quiet", action="store_true")
    a = p.parse_args(argv)
    for variant in (list(VARIANTS) if a.variant == "all" else [a.variant]):
        t0 = time.time()
        model, history, timings = train(variant, per_class=a.per_class, epochs=a.epochs, seed=a.seed,
                                        threads=a.threads, progress=not a.quiet)
        wpath = write(variant, model, history, timings, Path(a.out), a.per_class, a.epochs, a.seed, a.threads,
                      a.eval_per_class)
        meta = json.loads(wpath.with_suffix(".json").read_text())
        print(f"{variant}: {time.time() - t0:.0f}s in all; held-out top-1 {meta['heldout']['top1']:.3f}, top-5 "
              f"{meta['heldout']['top5']:.3f}; wrote {wpath} ({wpath.stat().st_size / 1e6:.1f} MB)", flush=True)


if __name__ == "__main__":
    main()
