"""Fitting SeVecs on several processes or machines with PyTorch's own engine (torchrun).

Each process streams its own shard of the images (every world_size-th image, no padding,
so no image counts twice), then the per-concept sums are added with one all-reduce:
the result equals one pass over all the data.

    torchrun --nproc_per_node=8 -m sevec_helpers.distributed \\
        --model vgg16 --data /data/imagenet/train --per-class 100 --layer fc1 --out sevecs_fc1.pt

Backend: nccl when CUDA is there (each process takes the GPU of its LOCAL_RANK), else gloo.
"""

from __future__ import annotations

import argparse
import os

import torch
import torch.distributed as dist
from torch.utils.data import Subset

from .sevec import SemanticVectors, fit_accumulator


def shard(dataset, rank: int, world_size: int) -> Subset:
    """Every ``world_size``-th item starting at ``rank``: disjoint shards that cover everything."""
    return Subset(dataset, list(range(rank, len(dataset), world_size)))


def fit_sevecs_distributed(model, dataset, layer: str, *, names=None, num_concepts: int | None = None,
                           batch_size: int = 64, device=None, progress: bool = False, group=None,
                           allow_empty: bool = False) -> SemanticVectors:
    """Like :func:`sevec_helpers.fit_sevecs`, inside an initialised process group: every rank
    returns the same SemanticVectors, fitted on all ranks' shards together."""
    if not dist.is_initialized():
        raise RuntimeError("no process group: start with torchrun, or call torch.distributed.init_process_group")
    names = names if names is not None else getattr(dataset, "classes", None)
    k = len(names) if names is not None else num_concepts
    if k is None:
        raise ValueError("pass names= or num_concepts=: every rank must hold the same number of concepts")
    rank, world = dist.get_rank(group), dist.get_world_size(group)
    acc, label = fit_accumulator(model, shard(dataset, rank, world), layer, num_concepts=k, batch_size=batch_size,
                                 device=device, progress=progress and rank == 0)
    if acc is None:
        raise ValueError(f"rank {rank} received no images: use fewer processes than images")
    acc.all_reduce(group)
    return acc.result(names, layer=label, model_name=getattr(model, "_sevec_name", type(model).__name__),
                      allow_empty=allow_empty)


def main(argv=None) -> None:
    from .data import ImageFolderCapped
    from .models import load_model

    p = argparse.ArgumentParser(prog="torchrun ... -m sevec_helpers.distributed", description=__doc__.split("\n")[0])
    p.add_argument("--model", default="vgg16")
    p.add_argument("--weights", default="DEFAULT")
    p.add_argument("--data", required=True, help="class folders (ImageNet train layout)")
    p.add_argument("--per-class", type=int, default=None)
    p.add_argument("--layer", default="fc1")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--out", required=True)
    a = p.parse_args(argv)
    cuda = torch.cuda.is_available()
    dist.init_process_group("nccl" if cuda else "gloo")
    try:
        local = int(os.environ.get("LOCAL_RANK", 0))
        device = torch.device("cuda", local) if cuda else torch.device("cpu")
        model, spec = load_model(a.model, weights=None if a.weights == "none" else a.weights)
        data = ImageFolderCapped(a.data, spec.transform, a.per_class)
        sv = fit_sevecs_distributed(model, data, a.layer, batch_size=a.batch_size, device=device, progress=True)
        if dist.get_rank() == 0:
            sv.save(a.out)
            print(f"wrote {a.out}: {sv}")
    finally:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
