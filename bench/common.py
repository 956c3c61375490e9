"""Shared helpers for the benchmarks: best-of-N timing of two callables on the same data."""

import time


def best_of(fn, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def report(name: str, a: float, b: float, goal: str = "") -> None:
    print(f"{name}: {a:.3f}s / {b:.3f}s = ratio {a / b:.3f}" + (f"   (goal {goal})" if goal else ""), flush=True)
