"""Fitting SeVecs on several processes or machines with PyTorch's own engine (torchrun).

Each process streams its own shard of the images (every world_size-th image, no padding,
so no image counts twice), then the per-concept sums are added with one all-reduce:
the result equals one pass over all the data.

    torchrun --nproc_per_node=8 -m sevec_helpers fit \\
        --model vgg16 --data /data/imagenet/train --per-class 100 --layer fc1 --out sevecs_fc1.pt

Backend: nccl when CUDA is there (each process takes the GPU of its LOCAL_RANK), else gloo.
"""

from __future__ import annotations

import torch.distributed as dist
from torch.utils.data import Subset

from ._fingerprint import model_fingerprint
from .sevec import SemanticVectors, _concept_kind, fit_accumulator, model_name


def shard(dataset, rank: int, world_size: int) -> Subset:
    """Every ``world_size``-th item starting at ``rank``: disjoint shards that cover everything."""
    return Subset(dataset, list(range(rank, len(dataset), world_size)))


def fit_sevecs_distributed(model, dataset, layer: str, *, names=None, num_concepts: int | None = None,
                           kind: str | None = None, batch_size: int = 64, progress: bool = False, group=None,
                           allow_empty: bool = False) -> SemanticVectors:
    """Like :func:`sevec_helpers.fit_sevecs`, inside an initialised process group: every rank
    returns the same SemanticVectors, fitted on all ranks' shards together. Each rank runs
    where its model lives (place it on the rank's device first)."""
    if not dist.is_initialized():
        raise RuntimeError("no process group: start with torchrun, or call torch.distributed.init_process_group")
    names = names if names is not None else getattr(dataset, "classes", None)
    k = len(names) if names is not None else num_concepts
    if k is None:
        raise ValueError("pass names= or num_concepts=: every rank must hold the same number of concepts")
    rank, world = dist.get_rank(group), dist.get_world_size(group)
    acc, label, size = fit_accumulator(model, shard(dataset, rank, world), layer, num_concepts=k,
                                       batch_size=batch_size, progress=progress and rank == 0)
    if acc is None:
        raise ValueError(f"rank {rank} received no images: use fewer processes than images")
    acc.all_reduce(group)
    return SemanticVectors.from_accumulator(acc, names, layer=label, allow_empty=allow_empty,
                                            model_name=model_name(model), fingerprint=model_fingerprint(model),
                                            input_size=size, kind=kind if kind is not None else _concept_kind(dataset))
