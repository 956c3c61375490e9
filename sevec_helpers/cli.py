"""The ``sevec`` command (also ``python -m sevec_helpers``): fit, explain and evaluate from the shell.

    sevec fit --model vgg16 --layer fc1 --data /data/imagenet/train --per-class 100 --out fc1.pt
    sevec fit --model vgg16 --layer pool5 --layer fc1 --data ... --out sevecs_{layer}.pt  # two layers, one pass
    torchrun --nproc_per_node=8 -m sevec_helpers fit ...      # the same, sharded, one all-reduce
    sevec saliency --model vgg16 --sevecs pool5.pt --image cat.jpg --target "tiger cat" --method guided --semantic --out maps/
    sevec pointing-game --model vgg_mini --sevecs pool5.pt --data scenes/test --method gxi --semantic --out game.json
    sevec world render --out cw --part scenes --n 100
    sevec atlas --model vgg_mini --sevecs pool5.pt fc1.pt --low-level textures.pt --data holdout/ --out atlas/

Exit codes: 0 done, 1 failure (its message on stderr; ``--debug`` shows the traceback), 2 usage.
``--model`` takes a registered name, a torchvision classifier, a ``.pt`` network file, or
``package.module:function``, a function of yours returning ``(model, describe_model(model, ...))``.
Progress bars go to stderr, off with ``--quiet`` or when stderr is not a terminal. Outputs
are written atomically and never overwritten without ``--overwrite``. ``sevec fit``
checkpoints every ``--checkpoint-every`` batches; after an interruption ``--resume``
continues and ends with the same file as an uninterrupted run.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from pathlib import Path
from typing import Sequence

from sevec_helpers._version import __version__

METHOD_IDS = {"gradient": "vanilla_gradient", "guided": "guided_backprop", "gxi": "gradient_x_input"}


class CommandError(Exception):
    """A failure to report as one line (exit code 1)."""


def _progress(a) -> bool:
    return not a.quiet and sys.stderr.isatty()


def _refuse_existing(path: Path, overwrite: bool) -> None:
    if path.exists() and not overwrite:
        raise CommandError(f"{path} exists; pass --overwrite to replace it")


def _model(a):
    import torch

    from sevec_helpers.core.inputs import default_device
    from sevec_helpers.sources.models import load_model

    model, spec = load_model(a.model, weights=None if a.weights == "none" else a.weights)
    local = int(os.environ.get("LOCAL_RANK", 0))
    if a.device:
        device = torch.device(a.device)
    elif torch.cuda.is_available():
        device = torch.device("cuda", local)
    else:
        device = default_device()
    return model.to(device), spec, device


# ---------------------------------------------------------------------------------------
# sevec fit
# ---------------------------------------------------------------------------------------


def _split_folders(root: Path) -> list[str]:
    """Sub-folders of ``root`` that hold class folders of images themselves (``train/``,
    ``test/``, ...) while ``root`` holds no images one level down: a folder of splits."""
    from sevec_helpers.sources.datasets import IMG_EXT

    subs = sorted(d for d in root.iterdir() if d.is_dir()) if root.is_dir() else []
    if not subs or any(f.suffix.lower() in IMG_EXT for d in subs for f in d.iterdir() if f.is_file()):
        return []
    return [d.name for d in subs if any(f.suffix.lower() in IMG_EXT for c in d.iterdir() if c.is_dir()
                                        for f in c.iterdir() if f.is_file())]


def _fit_data(a, spec):
    if a.data == "world":
        from sevec_helpers.sources.world import ConceptWorld, ObjectsDataset

        return ObjectsDataset(ConceptWorld(a.world_seed), a.world_split, a.per_class or 100, spec=spec)
    from sevec_helpers.sources.datasets import ImageFolderCapped

    root = Path(a.data)
    splits = _split_folders(root)
    if splits:
        pick = next((s for s in ("train", "training", "fit") if s in splits), splits[0])
        raise CommandError(f"{root} holds split folders ({', '.join(splits)}), not class folders: pass one split, "
                           f"e.g. --data {root / pick}")
    return ImageFolderCapped(a.data, spec.transform, a.per_class, concept_kind="classes")


def _outputs(a) -> dict[str, Path]:
    """Each --layer's output file: --out itself for one layer; with several, --out must hold
    ``{layer}``, replaced by each layer's name."""
    if len(a.layer) > 1 and "{layer}" not in a.out:
        raise CommandError(f"with several --layer, --out must contain {{layer}} (one file per layer), e.g. --out "
                           f"sevecs_{{layer}}.pt; got --out {a.out}")
    return {layer: Path(a.out.replace("{layer}", layer)) for layer in a.layer}


def _fit(a) -> int:
    import torch
    import torch.distributed as dist

    from sevec_helpers.core.atomic import atomic_write
    from sevec_helpers.core.fingerprint import model_fingerprint, value_digest
    from sevec_helpers.sevecs.accumulator import SeVecAccumulator
    from sevec_helpers.sevecs.cache import dataset_fingerprint
    from sevec_helpers.sevecs.distributed import fit_shard
    from sevec_helpers.sevecs.fit import resolve_layers
    from sevec_helpers.sevecs.vectors import SemanticVectors, model_name

    outs = _outputs(a)
    distributed = "RANK" in os.environ and "WORLD_SIZE" in os.environ  # started by torchrun
    if distributed:
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    stack = contextlib.ExitStack()
    try:
        rank, world = (dist.get_rank(), dist.get_world_size()) if distributed else (0, 1)
        for out in outs.values():
            _refuse_existing(out, a.overwrite)
        model, spec, device = _model(a)
        layers = [n for n, _ in resolve_layers(model, a.layer)]  # unknown or repeated: refused with the valid names
        data = _fit_data(a, spec)
        names = list(data.classes)
        first = Path(a.out.replace("{layer}", "+".join(layers)))
        ckpt = first.with_name(first.name + (f".rank{rank}" if world > 1 else "") + ".ckpt")
        key = value_digest({"model": model_fingerprint(model), "layer": layers if len(layers) > 1 else layers[0],
                            "data": dataset_fingerprint(data), "batch_size": a.batch_size, "rank": rank,
                            "world": world, "amp": a.amp})
        stack.enter_context(_run_lock(ckpt))
        accs, done, size = None, 0, None
        if ckpt.exists() and a.resume:
            try:
                state = torch.load(ckpt, map_location="cpu", weights_only=True)
            except Exception as e:
                raise CommandError(f"cannot read the checkpoint {ckpt} ({e}); delete it and start again") from e
            if state.get("key") != key:
                raise CommandError(f"{ckpt} belongs to another run (model, layers, data, batch size or process count "
                                   f"differ); delete it, or run the same command again with --resume")
            accs = {n: SeVecAccumulator.from_state(s, device=device) for n, s in state["accs"].items()}
            done, size = int(state["batches"]), tuple(state["size"])
            if rank == 0:
                print(f"resuming from {ckpt}: {done} batch(es) of {a.batch_size} images per process already fitted "
                      f"(the first {done * a.batch_size * world} images), continuing with batch {done + 1}",
                      file=sys.stderr)
        elif ckpt.exists() and not a.overwrite:
            raise CommandError(f"{ckpt} holds an interrupted run: pass --resume to continue it, or --overwrite to "
                               f"start again")

        def on_batch(accs_now, n, size_now):
            if n % a.checkpoint_every == 0:
                payload = {"key": key, "accs": {k: v.state() for k, v in accs_now.items()}, "batches": n,
                           "size": list(size_now)}
                atomic_write(ckpt, lambda fh: torch.save(payload, fh))

        accs, size = fit_shard(model, data, layers, num_concepts=len(names), rank=rank, world_size=world,
                               batch_size=a.batch_size, progress=_progress(a) and rank == 0, amp=a.amp,
                               workers=a.workers, accs=accs, skip_batches=done, size=size, on_batch=on_batch)
        if rank == 0:
            for layer in layers:
                sv = SemanticVectors.from_accumulator(accs[layer], names, layer=layer, model_name=model_name(model),
                                                      fingerprint=model_fingerprint(model), input_size=size,
                                                      kind="classes")
                sv.save(outs[layer])
                print(f"wrote {outs[layer]}: {sv}")
        if distributed:
            dist.barrier()
        if ckpt.exists():
            ckpt.unlink()
    finally:
        stack.close()
        if distributed:
            dist.destroy_process_group()
    return 0


@contextlib.contextmanager
def _run_lock(ckpt: Path):
    """One fit per checkpoint at a time: an exclusive lock on ``<checkpoint>.lock``, held
    while the fit runs and released by the system if the process dies. A second run (or a
    worker left running: torchrun starts its workers in sessions of their own, so a
    ``kill -9`` of torchrun alone does not stop them) is refused instead of writing the same
    checkpoint."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock
        yield
        return
    path = ckpt.with_name(ckpt.name + ".lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    fh = open(path, "a+")
    try:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise CommandError(f"another process is running this fit (it holds {path}); stop it first (after a kill "
                               f"-9 of torchrun, its workers may still run: kill them too)") from None
        try:
            yield
        finally:
            path.unlink(missing_ok=True)
    finally:
        fh.close()


# ---------------------------------------------------------------------------------------
# sevec saliency
# ---------------------------------------------------------------------------------------


def _target(spec, t: str) -> int:
    if t.lstrip("-").isdigit():
        return int(t)
    cats = list(spec.categories or [])
    if t not in cats:
        close = [c for c in cats if t.lower() in c.lower()][:8]
        raise CommandError(f"unknown target class {t!r} for {spec.name}" + (f"; did you mean: {', '.join(close)}"
                                                                              if close else ""))
    return cats.index(t)


def _sevecs(a):
    from sevec_helpers.sevecs.vectors import SemanticVectors

    if not a.sevecs:
        raise CommandError("--semantic needs --sevecs FILE (SeVecs of the classes, fitted at the mask layer)")
    return SemanticVectors.load(a.sevecs)


def _saliency(a) -> int:
    import numpy as np
    import torch
    from PIL import Image

    from sevec_helpers.attribution.saliency import attribute, reduce_channels
    from sevec_helpers.sources.datasets import load_rgb

    out = Path(a.out)
    model, spec, device = _model(a)
    sv = _sevecs(a) if a.semantic else None
    tag = f"{a.method}{'_semantic' if a.semantic else ''}"
    stems = [Path(p).stem for p in a.image]
    files = [out / f"{s}.{tag}.{ext}" for s in stems for ext in ("image.png", "map.png", "overlay.png", "npy")]
    for f in files:
        _refuse_existing(f, a.overwrite)
    imgs = []
    for p in a.image:
        try:
            imgs.append(load_rgb(p))
        except Exception as e:
            raise CommandError(f"cannot read the image {p}: {e}") from e
    x = torch.stack([spec.transform(im) for im in imgs])
    target = _target(spec, a.target)
    concepts = None
    if a.concepts is not None:
        if not a.semantic:
            raise CommandError("--concepts chooses the SeVec that masks each image: it needs --semantic and --sevecs")
        concepts = [int(c) if c.strip().lstrip("-").isdigit() else c.strip() for c in a.concepts.split(",")]
        if len(concepts) not in (1, len(imgs)):
            raise CommandError(f"--concepts names {len(concepts)} SeVecs for {len(imgs)} images: give one, or one per "
                               f"image (comma-separated names or rows)")
    attr = attribute(model, x, target, METHOD_IDS[a.method], sevecs=sv, concepts=concepts, threshold=a.threshold,
                     allow_unguided=a.allow_unguided, check_provenance=not a.ignore_provenance)
    maps = reduce_channels(attr).cpu().numpy()
    out.mkdir(parents=True, exist_ok=True)
    from matplotlib import colormaps

    from sevec_helpers.core.atomic import atomic_write

    for i, s in enumerate(stems):
        pic = spec.denormalize(x[i : i + 1])[0].clamp(0, 1).permute(1, 2, 0).numpy()
        m = maps[i] / (maps[i].max() + 1e-12)
        heat = colormaps["inferno"](m)[..., :3]
        over = 0.5 * pic + 0.5 * heat
        for name, arr in (("image", pic), ("map", heat), ("overlay", over)):
            im = Image.fromarray((np.clip(arr, 0, 1) * 255).round().astype(np.uint8))
            atomic_write(out / f"{s}.{tag}.{name}.png", lambda fh, im=im: im.save(fh, format="PNG"))
        atomic_write(out / f"{s}.{tag}.npy", lambda fh, i=i: np.save(fh, maps[i].astype(np.float32)))
    what = repr(spec.categories[target]) if spec.categories and 0 <= target < len(spec.categories) else target
    print(f"wrote {len(files)} files for {len(stems)} image(s) to {out} (target {what})")
    return 0


# ---------------------------------------------------------------------------------------
# sevec pointing-game
# ---------------------------------------------------------------------------------------


def _scenes(root: Path, spec):
    """A scenes folder (images plus ``annotations.json``, as ``sevec world render --part scenes``
    writes it) for ``spec``'s model: :class:`sevec_helpers.sources.datasets.BoxFolder`, which resizes each
    image to the model's input and scales its boxes with it (a resize-and-crop transform would
    move the boxes)."""
    from sevec_helpers.sources.datasets import BoxFolder

    try:
        return BoxFolder(root, list(spec.categories or []), spec.input_size, spec.normalize)
    except (FileNotFoundError, ValueError) as e:
        raise CommandError(f"{e} (model {spec.name})") from None


def _pointing_game(a) -> int:
    import csv
    import io

    import numpy as np

    from sevec_helpers.attribution.saliency import attribute, reduce_channels
    from sevec_helpers.core.atomic import atomic_write
    from sevec_helpers.evaluation.localization import scene_pairs
    from sevec_helpers.evaluation.pointing import generalized_pointing_game

    out = Path(a.out)
    if out.suffix not in (".json", ".csv"):
        raise CommandError(f"--out must end in .json or .csv, got {out.name}")
    _refuse_existing(out, a.overwrite)
    model, spec, device = _model(a)
    sv = _sevecs(a) if a.semantic else None
    scenes = _scenes(Path(a.data), spec)
    pairs = scene_pairs(scenes)
    try:
        energies = [float(e) for e in a.energies.split(",")]
    except ValueError:
        raise CommandError(f"--energies must be comma-separated numbers in [0, 1], got {a.energies!r}") from None
    from tqdm.auto import tqdm

    hits = []
    for s in tqdm(range(0, len(pairs), a.batch_size), disable=not _progress(a), desc="pointing game"):
        sel = np.arange(s, min(s + a.batch_size, len(pairs)))
        import torch

        x = torch.stack([scenes[int(i)][0] for i in pairs.scene[sel]])
        attr = attribute(model, x, torch.as_tensor(pairs.target[sel]), METHOD_IDS[a.method], sevecs=sv,
                         allow_unguided=a.allow_unguided, check_provenance=not a.ignore_provenance)
        g = generalized_pointing_game(reduce_channels(attr), [pairs.boxes[i] for i in sel], energies, q=a.q)
        hits.append(g.per_image)
    per = np.concatenate(hits)
    acc = per.mean(0)
    res = {"model": spec.name, "method": a.method, "semantic": a.semantic, "q": a.q, "pairs": len(pairs),
           "scenes": len(scenes), "energies": energies, "accuracy": acc.tolist(), "hits": per.sum(0).tolist()}
    if out.suffix == ".json":
        atomic_write(out, lambda fh: json.dump(res, fh, indent=1), binary=False)
    else:
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(["energy", "accuracy", "hits", "pairs"])
        for e, ac, h in zip(energies, acc, per.sum(0)):
            w.writerow([e, f"{ac:.6f}", int(h), len(pairs)])
        atomic_write(out, lambda fh: fh.write(buf.getvalue()), binary=False)
    print(f"wrote {out}: {len(pairs)} (scene, object) pairs, accuracy {acc.min():.3f} .. {acc.max():.3f}")
    return 0


# ---------------------------------------------------------------------------------------
# sevec atlas
# ---------------------------------------------------------------------------------------

_ATLAS_WORDS = (("overwrite=True", "--overwrite"), ("method=None", "--method none"), ("pass a larger pool=",
                "pass a larger --pool"), ("n_maps=", "--maps "), ("map_layer ", "--map-layer "))


def _atlas(a) -> int:
    from sevec_helpers.report.atlas import summary, write_atlas
    from sevec_helpers.sevecs.vectors import SemanticVectors

    out = Path(a.out)
    if out.is_dir() and any(out.iterdir()) and not a.overwrite:
        raise CommandError(f"{out} exists; pass --overwrite to replace it")
    load = lambda files: [SemanticVectors.load(f) for f in files or []]   # noqa: E731
    sevecs, low = load(a.sevecs), load(a.low_level)
    model, spec, device = _model(a)
    concepts = [c.strip() for c in a.concepts.split(",") if c.strip()] if a.concepts else None
    try:
        index = write_atlas(model, sevecs, a.data, out, low_level=low or None, concepts=concepts,
                            random_sets=a.random_sets, pool=a.pool, k=a.k, n_maps=a.maps,
                            method=None if a.method == "none" else METHOD_IDS[a.method],
                            map_layer=a.map_layer or None, threshold=a.threshold, title=a.title,
                            overwrite=a.overwrite, progress=_progress(a), batch_size=a.batch_size,
                            allow_unguided=a.allow_unguided, check_provenance=not a.ignore_provenance)
    except (ValueError, FileExistsError, FileNotFoundError) as e:
        if a.debug:
            raise
        msg = str(e)
        for py, words in _ATLAS_WORDS:
            msg = msg.replace(py, words)
        raise CommandError(msg) from None
    print(f"wrote {index}: {summary(index)}")
    return 0


# ---------------------------------------------------------------------------------------
# sevec world
# ---------------------------------------------------------------------------------------


def _world_render(a) -> int:
    from sevec_helpers.sources.world import render

    dest = Path(a.out) / a.part / a.split
    if dest.exists() and a.overwrite:
        import shutil

        shutil.rmtree(dest)
    elif dest.exists():
        raise CommandError(f"{dest} exists; pass --overwrite to replace it")
    dest = render(a.out, a.part, split=a.split, per_class=a.per_class, n=a.n, seed=a.seed, image_size=a.image_size,
                  progress=_progress(a))
    print(f"wrote {dest}")
    return 0


def _world_truth(a) -> int:
    from sevec_helpers.sources.world import ground_truth

    print(json.dumps(ground_truth(), indent=1))
    return 0


# ---------------------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    from sevec_helpers.sources.world import DATASETS, SPLITS

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--quiet", action="store_true", help="no progress bars")
    common.add_argument("--debug", action="store_true", help="show the traceback of a failure")
    common.add_argument("--overwrite", action="store_true", help="replace outputs that exist")
    model = argparse.ArgumentParser(add_help=False)
    model.add_argument("--model", required=True, help="a registered or torchvision classification model")
    model.add_argument("--weights", default="DEFAULT", help="DEFAULT, none, a torchvision weights name or a path")
    model.add_argument("--device", default=None, help="default: cuda (the rank's GPU under torchrun), mps, cpu")
    maps = argparse.ArgumentParser(add_help=False)
    maps.add_argument("--allow-unguided", action="store_true",
                      help="run Guided Backprop on a model with activations it cannot guide (with a warning)")
    maps.add_argument("--ignore-provenance", action="store_true",
                      help="use SeVecs fitted on another model, input size or kind of concept (with a warning)")

    p = argparse.ArgumentParser(prog="sevec", description="Semantic vectors (SeVecs) from the shell.",
                                epilog="Each command has its own --help.")
    p.add_argument("--version", action="version", version=f"sevec_helpers {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    f = sub.add_parser("fit", parents=[common, model], help="fit SeVecs of the classes of a data set (torchrun-aware)",
                       description="Fit one SeVec per class at each --layer in one streaming pass (several --layer: "
                                   "one forward pass for all). Under torchrun each process takes every WORLD_SIZE-th "
                                   "image; one all-reduce per layer sums them; rank 0 writes.")
    f.add_argument("--layer", required=True, action="append",
                   help="module name or alias (fc1, pool5, fc2); repeat it to fit several layers in one pass")
    f.add_argument("--data", required=True, help="class folders (ImageNet train layout), or 'world'")
    f.add_argument("--out", required=True,
                   help="the SeVecs file to write; with several --layer a name containing {layer}, e.g. sv_{layer}.pt")
    f.add_argument("--per-class", type=int, default=None, help="at most this many images per class")
    f.add_argument("--batch-size", type=int, default=64)
    f.add_argument("--workers", type=int, default=0, help="DataLoader worker processes (JPEG decoding)")
    f.add_argument("--amp", action="store_true", help="bfloat16 autocast; the layer feeding the tap stays float32")
    f.add_argument("--resume", action="store_true", help="continue an interrupted run from its checkpoint")
    f.add_argument("--checkpoint-every", type=int, default=50, help="batches between checkpoints")
    f.add_argument("--world-seed", type=int, default=0, help="with --data world")
    f.add_argument("--world-split", default="train", choices=list(SPLITS), help="with --data world")
    f.set_defaults(run=_fit)

    s = sub.add_parser("saliency", parents=[common, model, maps], help="saliency maps of images as PNG and .npy",
                       description="For each image: the image, the map and an overlay as PNG, and the map as .npy.")
    s.add_argument("--image", nargs="+", required=True)
    s.add_argument("--target", required=True, help="class index or name (the model's categories)")
    s.add_argument("--method", choices=list(METHOD_IDS), default="guided")
    s.add_argument("--semantic", action="store_true", help="mask the backward signal with the target's SeVec")
    s.add_argument("--sevecs", help="SeVecs of the classes at the mask layer (pool5), for --semantic")
    s.add_argument("--threshold", type=float, default=0.5, help="mask: units with activation rate above this")
    s.add_argument("--concepts", default=None,
                   help="with --semantic: the SeVec (name or row) that masks each image instead of the target's own, "
                        "one or one per image, comma-separated (by default the target's SeVec, found by name)")
    s.add_argument("--out", required=True, help="a folder")
    s.set_defaults(run=_saliency)

    g = sub.add_parser("pointing-game", parents=[common, model, maps], help="the generalized pointing game on scenes",
                       description="Every (scene, object class) pair of a scenes folder (annotations.json).")
    g.add_argument("--data", required=True, help="a scenes folder written by `sevec world render --part scenes`")
    g.add_argument("--method", choices=list(METHOD_IDS), default="guided")
    g.add_argument("--semantic", action="store_true", help="mask the backward signal with each target's SeVec")
    g.add_argument("--sevecs", help="SeVecs of the classes at the mask layer (pool5), for --semantic; each target's "
                                    "SeVec is found by its class name")
    g.add_argument("--energies", default="0,0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9,1.0")
    g.add_argument("--q", type=float, default=1.0, help="share of kept pixels that must lie in the box")
    g.add_argument("--batch-size", type=int, default=32)
    g.add_argument("--out", required=True, help="FILE.json or FILE.csv")
    g.set_defaults(run=_pointing_game)

    at = sub.add_parser("atlas", parents=[common, model, maps], help="a static report of what each SeVec means",
                        description="A concept atlas: for each concept of the SeVecs, its top and bottom hold-out "
                                    "images with a map of the concept over the top ones, its activation rates, D_c, "
                                    "nearest concepts, precision and significance, and (for classes) the low-level "
                                    "concepts in its images; an index to search and sort. Static HTML with JPEGs, "
                                    "atlas.json and atlas.csv: it opens offline from the file system.")
    at.add_argument("--sevecs", nargs="+", required=True, help="SeVec files (sevec fit), one per layer or kind")
    at.add_argument("--low-level", nargs="+", default=None,
                    help="SeVec files of low-level concepts (textures, materials, colours): pages of their own, and "
                         "they explain the class concepts' images")
    at.add_argument("--data", required=True, help="the hold-out images: class folders, or a folder of images")
    at.add_argument("--out", required=True, help="the report's folder (written whole, or not at all)")
    at.add_argument("--concepts", default=None, help="only these concepts get pages (comma-separated names)")
    at.add_argument("--k", type=int, default=6, help="top and bottom images per concept and layer")
    at.add_argument("--maps", type=int, default=None, help="how many of the top images get a map (default --k)")
    at.add_argument("--method", choices=[*METHOD_IDS, "none"], default="guided",
                    help="the maps (semantic, masked at each SeVec's layer); none: no maps")
    at.add_argument("--map-layer", nargs="+", default=None,
                    help="draw maps at the first of these layers a concept has (default: at each of its layers)")
    at.add_argument("--random-sets", type=int, default=None,
                    help="test each concept's precision@k against this many random concepts of its size")
    at.add_argument("--pool", default=None, help="the images random concepts are drawn from (default --data)")
    at.add_argument("--threshold", type=float, default=0.5, help="mask: units with activation rate above this")
    at.add_argument("--batch-size", type=int, default=64)
    at.add_argument("--title", default=None)
    at.set_defaults(run=_atlas)

    w = sub.add_parser("world", help="ConceptWorld: write parts of it to disk, print its ground truth")
    wsub = w.add_subparsers(dest="world_command", required=True)
    r = wsub.add_parser("render", parents=[common], help="write PNGs as an ImageFolder tree (scenes: + annotations.json)")
    r.add_argument("--out", required=True)
    r.add_argument("--part", choices=list(DATASETS), required=True)
    r.add_argument("--split", default="test", choices=list(SPLITS))
    r.add_argument("--per-class", type=int, default=10)
    r.add_argument("--n", type=int, default=50, help="number of scenes")
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--image-size", type=int, default=64)
    r.set_defaults(run=_world_render)
    t = wsub.add_parser("truth", parents=[common], help="print the ground-truth table as JSON")
    t.set_defaults(run=_world_truth)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run a command; returns the exit code (0 done, 1 failure; usage errors exit 2)."""
    a = parser().parse_args(argv)
    try:
        return a.run(a)
    except KeyboardInterrupt:
        print("sevec: interrupted", file=sys.stderr)
        return 1
    except Exception as e:  # the message in full, in the command's words; the traceback only under --debug
        if a.debug:
            raise
        msg = _in_cli_words(str(e).strip(), a) if str(e).strip() else type(e).__name__
        print(f"sevec: error: {msg}", file=sys.stderr)
        return 1


# the library's messages name Python keywords; the command has options for them
_CLI_WORDS = (("pass check_provenance=False", "pass --ignore-provenance"),
              ("check_provenance=False", "--ignore-provenance"),
              ("pass allow_unguided=True", "pass --allow-unguided"),
              ("allow_unguided=True", "--allow-unguided"),
              ("Use method='gradient' or 'gradient_x_input'", "Use --method gradient or --method gxi"))


def _in_cli_words(msg: str, a) -> str:
    for py, cli in _CLI_WORDS:
        msg = msg.replace(py, cli)
    if getattr(a, "command", "") == "saliency":
        msg = msg.replace("pass concepts=", "pass --concepts").replace("concepts=", "--concepts")
    return msg


if __name__ == "__main__":
    sys.exit(main())
