"""A tiny cached "build" for the kill and concurrency tests of the disk cache (tests/test_stale.py).

``compute_all(cache)`` fits SeVecs and extracts features at three layers of a small seeded
network, measures its accuracy and stores a 4 MB tensor, all through one cache, and returns
a digest of every number. Run as a script it is a zygote: it imports torch once, then for each
``run DIR OUT [DIR OUT ...]`` line on stdin forks one child per pair (concurrently), each child
computing into cache folder DIR and writing its digests as JSON to OUT; it prints
``pids <pid> ...`` when the children start and ``done <status> ...`` once they have ended.
``stop K DIR OUT`` runs one child that, at its K-th cache write, prints ``event <pid> K`` once
the entry is complete in its temporary file but not yet renamed into place, and then waits:
the test SIGKILLs it at exactly that moment (an event, not a guess at timing), without paying
for a fresh interpreter.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback

import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import TensorDataset

import sevec_helpers as sh
from sevec_helpers.core.fingerprint import tensor_digest
from sevec_helpers.sevecs.cache import DiskCache

LAYERS = ("1", "3", "7")
CLASSES = [f"class {i}" for i in range(6)]


def build():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(),
                          nn.AdaptiveAvgPool2d(4), nn.Flatten(), nn.Linear(128, 32), nn.ReLU(), nn.Linear(32, 6)).eval()
    g = torch.Generator().manual_seed(1)
    data = TensorDataset(torch.rand(240, 3, 16, 16, generator=g), torch.arange(240) % 6)
    return model, data


def _digest(*arrays) -> str:
    return tensor_digest(*(torch.as_tensor(np.asarray(a)) if not isinstance(a, torch.Tensor) else a for a in arrays))


def compute_all(cache) -> dict:
    """Digests of every cached number of the tiny build, computed through ``cache``."""
    model, data = build()
    out = {}
    for layer in LAYERS:
        sv = sh.fit_sevecs(model, data, layer, names=CLASSES, cache=cache, progress=False, batch_size=32)
        out[f"sevecs@{layer}"] = _digest(sv.vectors, sv.rates, sv.counts, sv.dead, sv.diversity)
        f = sh.extract_features(model, data, layer, cache=cache, progress=False, batch_size=32)
        out[f"features@{layer}"] = _digest(f.values, f.labels)
    acc = sh.accuracy(model, data, len(CLASSES), cache=cache)
    out["accuracy"] = _digest(acc.predictions, acc.correct1, acc.correct5, acc.prob_true, acc.per_class_top1)
    noise = cache.get("tensors", {"what": "noise", "n": 2**20},
                      lambda: {"noise": torch.randn(2**20, generator=torch.Generator().manual_seed(3))})
    out["noise"] = _digest(noise["noise"])
    return out


def _child(cache_dir: str, out_path: str) -> None:
    t0 = time.perf_counter()
    cache = DiskCache(cache_dir)
    res = compute_all(cache)
    res["_seconds"] = time.perf_counter() - t0
    res["_misses"] = cache.misses
    tmp = f"{out_path}.{os.getpid()}"
    with open(tmp, "w") as fh:
        json.dump(res, fh)
    os.replace(tmp, out_path)


def _stop_at_write(k: int) -> None:
    """In a child: at the k-th rename of a cache entry into place, say so and wait to be killed."""
    real, calls = os.replace, [0]

    def replace(src, dst, *a, **kw):
        if str(dst).endswith(".entry"):
            calls[0] += 1
            if calls[0] == k:
                print("event", os.getpid(), k, flush=True)
                time.sleep(3600)
        return real(src, dst, *a, **kw)

    os.replace = replace


def main() -> None:
    torch.set_num_threads(1)  # children inherit one thread: fork-safe, identical sums, polite on shared CPUs
    print("ready", flush=True)
    for line in sys.stdin:
        cmd, *args = line.split()
        if cmd == "quit":
            break
        stop = None
        if cmd == "stop" and len(args) == 3:
            stop, args = int(args[0]), args[1:]
        elif cmd != "run" or len(args) % 2:
            print(f"error unknown command {line.strip()!r}", flush=True)
            continue
        pids = []
        for cache_dir, out_path in zip(args[::2], args[1::2]):
            pid = os.fork()
            if pid == 0:  # the child: compute, then leave without running the parent's cleanup
                code = 0
                try:
                    if stop is not None:
                        _stop_at_write(stop)
                    _child(cache_dir, out_path)
                except BaseException:
                    traceback.print_exc()
                    code = 1
                finally:
                    sys.stderr.flush()
                    os._exit(code)
            pids.append(pid)
        print("pids", *pids, flush=True)
        print("done", *(os.waitpid(p, 0)[1] for p in pids), flush=True)


if __name__ == "__main__":
    main()
