"""The ``sevec`` command (also ``python -m sevec_helpers``): fit SeVecs and render the world from
the shell. ``sevec --help`` and ``sevec COMMAND --help`` describe each command."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Sequence

from ._version import __version__


def _fit(a) -> int:
    import torch
    import torch.distributed as dist

    from .data import ImageFolderCapped
    from .distributed import fit_sevecs_distributed
    from .features import default_device
    from .models import load_model
    from .sevec import fit_sevecs

    distributed = "RANK" in os.environ and "WORLD_SIZE" in os.environ  # started by torchrun
    if distributed:
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    try:
        local = int(os.environ.get("LOCAL_RANK", 0))
        device = torch.device(a.device) if a.device else (torch.device("cuda", local) if torch.cuda.is_available()
                                                          else default_device())
        model, spec = load_model(a.model, weights=None if a.weights == "none" else a.weights)
        model.to(device)
        data = ImageFolderCapped(a.data, spec.transform, a.per_class, concept_kind="classes")
        if distributed:
            sv = fit_sevecs_distributed(model, data, a.layer, batch_size=a.batch_size, progress=not a.quiet)
        else:
            sv = fit_sevecs(model, data, a.layer, batch_size=a.batch_size, progress=not a.quiet)
        if not distributed or dist.get_rank() == 0:
            sv.save(a.out)
            print(f"wrote {a.out}: {sv}")
    finally:
        if distributed:
            dist.destroy_process_group()
    return 0


def _world_render(a) -> int:
    from .world import render

    dest = render(a.out, a.part, split=a.split, per_class=a.per_class, n=a.n, seed=a.seed, image_size=a.image_size,
                  progress=not a.quiet)
    print(f"wrote {dest}")
    return 0


def parser() -> argparse.ArgumentParser:
    from .world import DATASETS, SPLITS

    p = argparse.ArgumentParser(prog="sevec", description="Semantic vectors (SeVecs) from the shell.")
    p.add_argument("--version", action="version", version=f"sevec_helpers {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    f = sub.add_parser("fit", help="fit SeVecs of the classes of an ImageFolder tree (torchrun-aware)")
    f.add_argument("--model", required=True)
    f.add_argument("--weights", default="DEFAULT")
    f.add_argument("--layer", required=True)
    f.add_argument("--data", required=True, help="class folders (ImageNet train layout)")
    f.add_argument("--out", required=True)
    f.add_argument("--per-class", type=int, default=None)
    f.add_argument("--batch-size", type=int, default=64)
    f.add_argument("--device", default=None)
    f.add_argument("--quiet", action="store_true")
    f.set_defaults(run=_fit)
    w = sub.add_parser("world", help="ConceptWorld: write parts of it to disk")
    wsub = w.add_subparsers(dest="world_command", required=True)
    r = wsub.add_parser("render", help="write PNGs as an ImageFolder tree (scenes: + annotations.json)")
    r.add_argument("--out", required=True)
    r.add_argument("--part", choices=list(DATASETS), required=True)
    r.add_argument("--split", default="test", choices=list(SPLITS))
    r.add_argument("--per-class", type=int, default=10)
    r.add_argument("--n", type=int, default=50, help="number of scenes")
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--image-size", type=int, default=64)
    r.add_argument("--quiet", action="store_true")
    r.set_defaults(run=_world_render)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    a = parser().parse_args(argv)
    return a.run(a)


if __name__ == "__main__":
    sys.exit(main())
