"""Fitting SeVecs on several processes or machines with PyTorch's own engine (torchrun).

Each process streams its own shard of the images (every world_size-th image, no padding,
so no image counts twice), then the per-concept sums are added with one all-reduce per
layer: the result equals one pass over all the data.

    torchrun --nproc_per_node=8 -m sevec_helpers fit \\
        --model vgg16 --data /data/imagenet/train --per-class 100 --layer fc1 --out sevecs_fc1.pt

Backend: nccl when CUDA is there (each process takes the GPU of its LOCAL_RANK), else gloo.
:func:`fit_shard` is the one implementation of the sharded pass and its all-reduce; the
``sevec fit`` command and :func:`fit_sevecs_distributed` both call it. A rank whose shard
is empty (more processes than images) contributes zero sums and still takes part in the
all-reduce, so every rank ends with the SeVecs of all the images.
"""

from __future__ import annotations

from typing import Callable, Sequence

import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, Subset

from sevec_helpers.core.features import skip_none_collate
from sevec_helpers.core.fingerprint import model_fingerprint
from sevec_helpers.sevecs.accumulator import SeVecAccumulator
from sevec_helpers.sevecs.fit import _concept_kind, fit_accumulators, resolve_layers
from sevec_helpers.sevecs.vectors import SemanticVectors, model_name


def shard(dataset, rank: int, world_size: int) -> Subset:
    """Every ``world_size``-th item starting at ``rank``: disjoint shards that cover everything.

    Parameters
    ----------
    dataset : Dataset or sequence
        What to split.
    rank, world_size : int
        This process's rank and the number of processes (0 <= rank < world_size).

    Returns
    -------
    torch.utils.data.Subset
        Items rank, rank + world_size, ... (empty when rank >= len(dataset)).

    Raises
    ------
    ValueError
        A rank outside 0..world_size-1.
    """
    if not 0 <= rank < world_size:
        raise ValueError(f"rank {rank} is not in 0..{world_size - 1} (world_size={world_size})")
    return Subset(dataset, list(range(rank, len(dataset), world_size)))


def fit_shard(model, dataset, layers: Sequence[str], *, num_concepts: int, rank: int = 0, world_size: int = 1,
              group=None, batch_size: int = 64, progress: bool = False, amp: bool = False, workers: int = 0,
              accs: dict[str, SeVecAccumulator] | None = None, skip_batches: int = 0, size: tuple | None = None,
              on_batch: Callable[[dict, int, tuple], None] | None = None,
              ) -> tuple[dict[str, SeVecAccumulator], tuple]:
    """Fill one accumulator per layer from this rank's shard of ``dataset`` and (with more
    than one process) sum them over the process group.

    Parameters
    ----------
    model : torch.nn.Module
        The network, on this rank's device.
    dataset : Dataset
        Every rank passes the same dataset; each streams :func:`shard` (rank, world_size).
    layers : list of str
        The layers, fitted together in one forward pass per batch.
    num_concepts : int
        The same on every rank (the all-reduce adds fixed-size sums).
    rank, world_size, group
        This process in the group (world_size 1: no all-reduce).
    batch_size, progress, amp, workers
        The streaming pass (``workers``: DataLoader worker processes).
    accs, skip_batches, size
        A resumed run: the accumulators of the first ``skip_batches`` batches of the shard
        and the input size they were fitted at; those batches are not read again.
    on_batch : callable, optional
        ``on_batch(accs, n, size)`` after the n-th batch of the shard (counted from its
        start, resumed batches included), e.g. to checkpoint.

    Returns
    -------
    (dict, tuple)
        {layer: SeVecAccumulator} summed over all ranks, and the input size (H, W).

    Raises
    ------
    ValueError
        Empty data (on every rank alike, before any collective call), or as
        :func:`sevec_helpers.sevecs.fit.fit_accumulators`.
    """
    if len(dataset) == 0:
        raise ValueError("the data is empty: no images to fit SeVecs on")
    part = shard(dataset, rank, world_size)
    start = min(skip_batches * batch_size, len(part))
    rest = Subset(part, list(range(start, len(part))))
    dev = next((p.device for p in model.parameters()), torch.device("cpu"))
    loader = DataLoader(rest, batch_size=batch_size, shuffle=False, num_workers=workers,
                        pin_memory=dev.type == "cuda", collate_fn=skip_none_collate)
    hook = None if on_batch is None else (lambda a, n, s: on_batch(a, skip_batches + n, s))
    accs, seen = fit_accumulators(model, loader, list(layers), num_concepts=num_concepts, batch_size=batch_size,
                                  progress=progress, amp=amp, accs=accs, on_batch=hook)
    size = seen or size
    if accs is None:
        # more processes than images: this rank has none. It learns each layer's width from one
        # image of another shard, contributes zero sums, and takes part in the all-reduce.
        probe, size = fit_accumulators(model, Subset(dataset, [0]), list(layers), num_concepts=num_concepts,
                                       batch_size=1, progress=False, amp=amp)
        accs = {n: SeVecAccumulator(num_concepts, a.dim, device=a.sums.device) for n, a in probe.items()}
    if world_size > 1:
        for name in sorted(accs):  # the same order on every rank
            accs[name].all_reduce(group)
    return accs, size


def fit_sevecs_distributed(model, dataset, layer: str | None = None, *, layers: Sequence[str] | None = None,
                           names=None, num_concepts: int | None = None, kind: str | None = None, batch_size: int = 64,
                           progress: bool = False, group=None, allow_empty: bool = False,
                           amp: bool = False) -> SemanticVectors | dict[str, SemanticVectors]:
    """Like :func:`sevec_helpers.fit_sevecs`, inside an initialised process group: every rank
    returns the same SeVecs, fitted on all ranks' shards together.

    Parameters
    ----------
    model : torch.nn.Module
        The network, placed on the rank's device first.
    dataset : Dataset
        The same dataset on every rank.
    layer, layers
        One layer, or a list of layers fitted in one pass (as in :func:`fit_sevecs`).
    names, num_concepts
        The concepts (every rank must hold the same number); default the dataset's classes.
    kind, batch_size, progress, allow_empty, amp
        As in :func:`fit_sevecs` (the progress bar shows on rank 0 only).
    group : optional
        The process group (default: the world).

    Returns
    -------
    SemanticVectors or dict
        As :func:`fit_sevecs` returns them for ``layer=`` or ``layers=``.

    Raises
    ------
    RuntimeError
        No initialised process group.
    ValueError
        No way to know the number of concepts, empty data, bad layers.
    """
    if not dist.is_initialized():
        raise RuntimeError("no process group: start with torchrun, or call torch.distributed.init_process_group")
    if (layer is None) == (layers is None):
        raise TypeError("pass exactly one of layer= (one layer) and layers= (a list, fitted in one pass)")
    names = names if names is not None else getattr(dataset, "classes", None)
    k = len(names) if names is not None else num_concepts
    if k is None:
        raise ValueError("pass names= or num_concepts=: every rank must hold the same number of concepts")
    todo = [n for n, _ in resolve_layers(model, [layer] if layers is None else layers)]
    rank, world = dist.get_rank(group), dist.get_world_size(group)
    accs, size = fit_shard(model, dataset, todo, num_concepts=k, rank=rank, world_size=world, group=group,
                           batch_size=batch_size, progress=progress and rank == 0, amp=amp)
    prov = dict(model_name=model_name(model), fingerprint=model_fingerprint(model), input_size=size,
                kind=kind if kind is not None else _concept_kind(dataset))
    out = {n: SemanticVectors.from_accumulator(accs[n], names, layer=n, allow_empty=allow_empty, **prov) for n in todo}
    return out[todo[0]] if layers is None else out
