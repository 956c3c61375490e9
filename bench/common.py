"""Shared helpers for the benchmarks: interleaved repeats of callables on the same data, reported
as min and median (this machine is shared and noisy: absolute times vary many-fold with other
load, so only ratios measured in one run mean something)."""

import statistics
import time


def timings(fns: dict, repeat: int = 7, warmup: int = 1) -> dict[str, list[float]]:
    """Run each callable ``repeat`` times, interleaved (a, b, c, a, b, c, ...), after ``warmup``
    calls each; returns the list of seconds per name."""
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    out = {k: [] for k in fns}
    for _ in range(repeat):
        for k, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            out[k].append(time.perf_counter() - t0)
    return out


def best_of(fn, repeat: int = 3) -> float:
    return min(timings({"f": fn}, repeat=repeat, warmup=0)["f"])


def report(name: str, a, b, goal: str = "") -> None:
    """Ratio of a to b: of their minima and of their medians (a and b: seconds or lists of them)."""
    a = a if isinstance(a, list) else [a]
    b = b if isinstance(b, list) else [b]
    rmin, rmed = min(a) / min(b), statistics.median(a) / statistics.median(b)
    print(f"{name}: min {min(a):.4f}s / {min(b):.4f}s = {rmin:.3f}; median {statistics.median(a):.4f}s / "
          f"{statistics.median(b):.4f}s = {rmed:.3f}" + (f"   (goal {goal})" if goal else ""), flush=True)
