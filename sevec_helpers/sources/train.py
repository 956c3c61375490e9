"""Train the networks that ship with the book: ``python -m sevec_helpers.sources.train --variant NAME``.

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

More networks by the same recipe, for judging a claim on several training runs (issue 19):
``--seed S`` draws the training images from world seed S and initialises (and shuffles,
and augments) from seed S, writing ``NAME_seedS``; ``--world-seed W --init-seed I`` set the
two apart (``NAME_wW_iI``); ``--name`` overrides the file name. Seed 0 is the shipped
network, written as ``NAME``. The held-out set of the metadata is always world seed
:data:`EVAL_SEED`'s ``test`` split, so every run is measured on the same images.
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

from sevec_helpers._version import __version__
from sevec_helpers.core.atomic import atomic_write
from sevec_helpers.evaluation.metrics import accuracy
from sevec_helpers.sources.models import (
    VGG_MINI_CFG,
    VGG_MINI_HIDDEN,
    WEIGHTS_DIR,
    VGGMini,
    seeded_name,
    sha256_of,
)
from sevec_helpers.sources.world import CLASS_NAMES, ConceptWorld

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


def run_name(variant: str, world_seed: int = RECIPE["seed"], init_seed: int = RECIPE["seed"]) -> str:
    """The file name (without suffix) of a run of ``variant`` with these seeds.

    Parameters
    ----------
    variant : str
        One of :data:`VARIANTS`.
    world_seed, init_seed : int
        The seed the training images are drawn from, and the seed of the initialisation,
        shuffling and augmentation.

    Returns
    -------
    str
        ``variant`` for the shipped seeds (both 0), ``variant_seedS`` when both are S,
        ``variant_wW_iI`` otherwise.

    Raises
    ------
    ValueError
        For an unknown variant or a negative seed.
    """
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; choose one of {', '.join(VARIANTS)}")
    for what, v in (("world_seed", world_seed), ("init_seed", init_seed)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise ValueError(f"{what} must be a non-negative int, got {v!r}")
    return seeded_name(variant, world_seed, init_seed)


def init_model(init_seed: int = RECIPE["seed"], image_size: int = 64) -> VGGMini:
    """A fresh network of the recipe, initialised from ``init_seed`` (channels-last).

    Parameters
    ----------
    init_seed : int
        Seeds torch's global generator before the layers are built.
    image_size : int
        Input size in pixels.

    Returns
    -------
    VGGMini
    """
    torch.manual_seed(init_seed)
    model = VGGMini(len(CLASS_NAMES), cfg=VGG_MINI_CFG, image_size=image_size, hidden=VGG_MINI_HIDDEN)
    return model.to(memory_format=torch.channels_last)


def train(variant: str = "vgg_mini", *, per_class: int = RECIPE["per_class"], epochs: int = RECIPE["epochs"],
          batch_size: int = RECIPE["batch_size"], lr: float = RECIPE["lr"], seed: int = RECIPE["seed"],
          threads: int = RECIPE["threads"], image_size: int = 64, bf16: bool = True, progress: bool = True,
          curve_per_class: int = CURVE_PER_CLASS, world_seed: int | None = None, init_seed: int | None = None):
    """Train one variant from scratch; returns (model in eval mode, history, timings).

    ``seed`` sets both the world seed (which training images are drawn) and the
    initialisation seed (weights, shuffling, augmentation); ``world_seed`` / ``init_seed``
    override one of them. The defaults reproduce the shipped networks.
    """
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; choose one of {', '.join(VARIANTS)}")
    world_seed = seed if world_seed is None else world_seed
    init_seed = seed if init_seed is None else init_seed
    run_name(variant, world_seed, init_seed)   # validates the seeds
    v = VARIANTS[variant]
    torch.manual_seed(init_seed)
    torch.set_num_threads(threads)
    t0 = time.time()
    x, y = render_objects(world_seed, "train", per_class, color_informativeness=v["color_informativeness"],
                          image_size=image_size, workers=threads, progress=progress)
    xc, yc = render_objects(EVAL_SEED, "val", curve_per_class, color_informativeness=v["color_informativeness"],
                            image_size=image_size, workers=threads, progress=False)
    render_s = time.time() - t0
    model = init_model(init_seed, image_size)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=RECIPE["weight_decay"])
    steps_per_epoch = len(x) // batch_size
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=epochs * steps_per_epoch, pct_start=0.2)
    g = torch.Generator().manual_seed(init_seed)
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
          threads: int, eval_per_class: int = EVAL_PER_CLASS, *, name: str | None = None,
          world_seed: int | None = None, init_seed: int | None = None) -> Path:
    """Save the float16 weights, then measure the saved (rounded) network and write the metadata.

    ``name`` is the file name (default :func:`run_name` of the seeds); ``world_seed`` and
    ``init_seed`` default to ``seed``. The metadata records both seeds."""
    v = VARIANTS[variant]
    world_seed = seed if world_seed is None else world_seed
    init_seed = seed if init_seed is None else init_seed
    name = name or run_name(variant, world_seed, init_seed)
    out.mkdir(parents=True, exist_ok=True)
    wpath = out / f"{name}.pt"
    state = {k: (t.half() if t.is_floating_point() else t) for k, t in model.state_dict().items()}
    atomic_write(wpath, lambda fh: torch.save(state, fh))
    model.load_state_dict(state)  # measure exactly what ships: float16 weights in a float32 model
    xe, ye = heldout(variant, per_class=eval_per_class, workers=threads)
    acc = evaluate(model, xe, ye, v["grayscale"])
    acc_other = evaluate(model, xe, ye, not v["grayscale"])
    meta = {
        "name": name, "variant": variant, "about": v["about"], "library_version": __version__,
        "torch_version": torch.__version__,
        "categories": list(CLASS_NAMES), "mean": MEAN, "std": STD, "model_config": model.config,
        "input": "gray images (three equal channels)" if v["grayscale"] else "colour images",
        "world": {"seed": world_seed, "color_informativeness": v["color_informativeness"], "image_size": 64},
        "training": {**RECIPE, "per_class": per_class, "epochs": epochs, "seed": init_seed, "world_seed": world_seed,
                     "init_seed": init_seed, "threads": threads,
                     "optimizer": "AdamW", "schedule": "OneCycle pct_start=0.2", "precision": "bfloat16 autocast",
                     "augment": "horizontal flip, shifts of up to 4 px", **timings, "history": history},
        "heldout": {"world_seed": EVAL_SEED, "split": "test", "per_class": eval_per_class, **acc},
        ("heldout_color" if v["grayscale"] else "heldout_grayscale"): {"world_seed": EVAL_SEED, "split": "test",
                                                                      "per_class": eval_per_class, **acc_other},
        "weights": "float16 state dict", "sha256": sha256_of(wpath),
    }
    atomic_write(out / f"{name}.json", lambda fh: fh.write(json.dumps(meta, indent=1)), binary=False)
    return wpath


def _seed(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a seed must be a non-negative integer, got {text!r}") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"a seed must be a non-negative integer, got {v}")
    return v


def parse_args(argv=None) -> argparse.Namespace:
    """The command line of ``python -m sevec_helpers.sources.train``, with the seeds resolved.

    Parameters
    ----------
    argv : list of str, optional
        Arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    argparse.Namespace
        As parsed, plus ``variants`` (the variants to train) and ``runs``: one
        ``(variant, name, world_seed, init_seed)`` per network to train.

    Raises
    ------
    SystemExit
        On bad arguments (argparse's usage message): a negative or non-integer seed,
        ``--name`` with ``--variant all``, or a name that is not a plain file name.
    """
    p = argparse.ArgumentParser(prog="python -m sevec_helpers.sources.train", description=__doc__.split("\n")[0])
    p.add_argument("--variant", choices=list(VARIANTS) + ["all"], default="vgg_mini")
    p.add_argument("--per-class", type=int, default=RECIPE["per_class"])
    p.add_argument("--epochs", type=int, default=RECIPE["epochs"])
    p.add_argument("--seed", type=_seed, default=RECIPE["seed"],
                   help="world and initialisation seed (0: the shipped networks); other seeds write NAME_seedS")
    p.add_argument("--world-seed", type=_seed, default=None, help="the world seed the training images are drawn "
                   "from (default: --seed)")
    p.add_argument("--init-seed", type=_seed, default=None, help="the seed of initialisation, shuffling and "
                   "augmentation (default: --seed)")
    p.add_argument("--name", default=None, help="file name of the network (default: the variant, with the seeds "
                   "when they are not 0)")
    p.add_argument("--threads", type=int, default=RECIPE["threads"])
    p.add_argument("--out", default=str(WEIGHTS_DIR))
    p.add_argument("--eval-per-class", type=int, default=EVAL_PER_CLASS)
    p.add_argument("--quiet", action="store_true")
    a = p.parse_args(argv)
    a.variants = list(VARIANTS) if a.variant == "all" else [a.variant]
    if a.name is not None:
        if a.variant == "all":
            p.error("--name names one network: use it with a single --variant, not 'all'")
        if not a.name or a.name != Path(a.name).name or a.name.startswith("."):
            p.error(f"--name must be a plain file name without a directory, got {a.name!r}")
    w = a.seed if a.world_seed is None else a.world_seed
    i = a.seed if a.init_seed is None else a.init_seed
    a.world_seed, a.init_seed = w, i
    a.runs = [(v, a.name or run_name(v, w, i), w, i) for v in a.variants]
    return a


def main(argv=None) -> None:
    a = parse_args(argv)
    for variant, name, world_seed, init_seed in a.runs:
        t0 = time.time()
        model, history, timings = train(variant, per_class=a.per_class, epochs=a.epochs, world_seed=world_seed,
                                        init_seed=init_seed, threads=a.threads, progress=not a.quiet)
        wpath = write(variant, model, history, timings, Path(a.out), a.per_class, a.epochs, init_seed, a.threads,
                      a.eval_per_class, name=name, world_seed=world_seed, init_seed=init_seed)
        meta = json.loads(wpath.with_suffix(".json").read_text())
        print(f"{name}: {time.time() - t0:.0f}s in all; held-out top-1 {meta['heldout']['top1']:.3f}, top-5 "
              f"{meta['heldout']['top5']:.3f}; wrote {wpath} ({wpath.stat().st_size / 1e6:.1f} MB)", flush=True)


if __name__ == "__main__":
    main()
