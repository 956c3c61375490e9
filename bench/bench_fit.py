"""Fitting SeVecs: time overhead over a plain forward pass, and peak memory at 1x vs 10x images.

    python bench/bench_fit.py

Prints ratios measured in this one run (goals: time <= 1.05, memory 10x/1x <= 1.1).
"""

import subprocess
import sys

import torch

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from common import best_of, report  # noqa: E402

import sevec_helpers as sh  # noqa: E402
from sevec_helpers.sources.world import ObjectsDataset, load_tensors  # noqa: E402


def time_ratio(layer: str) -> None:
    model, spec = sh.load_model("vgg_mini")
    x, y = load_tensors(ObjectsDataset(split="test", per_class=40))
    x = spec.normalize(x)
    batches = [(x[i : i + 64], y[i : i + 64]) for i in range(0, len(x), 64)]

    def plain():
        with torch.inference_mode():
            for xb, _ in batches:
                model(xb)

    def fit():
        sh.fit_sevecs(model, (x, y), layer, batch_size=64, progress=False)

    report(f"fit_sevecs @ {layer} / plain forward ({len(x)} images)", best_of(fit), best_of(plain), "<= 1.05")


CHILD = r"""
import resource, sys, torch, sevec_helpers as sh
from sevec_helpers.sources.world import ObjectsDataset
model, spec = sh.load_model("vgg_mini")
n = int(sys.argv[1])
ds = ObjectsDataset(split="test", per_class=n, spec=spec)
loader = torch.utils.data.DataLoader(ds, batch_size=64)
first = next(iter(loader))  # warm up allocators with one batch before the baseline
with torch.inference_mode():
    model(first[0])
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
sh.fit_sevecs(model, loader, "pool5", progress=False)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(peak - base, peak)
"""


def memory_ratio() -> None:
    out = {}
    for n in (10, 100):
        r = subprocess.run([sys.executable, "-c", CHILD, str(n)], capture_output=True, text=True, check=True)
        growth, peak = map(int, r.stdout.split())
        out[n] = peak
        print(f"fit_sevecs on {n * 32} images: peak RSS {peak / 1024:.0f} MiB (growth during fit {growth / 1024:.1f} MiB)")
    print(f"peak memory 10x images / 1x images: ratio {out[100] / out[10]:.3f}   (goal <= 1.1)")


if __name__ == "__main__":
    torch.set_num_threads(2)
    time_ratio("fc1")
    time_ratio("pool5")
    memory_ratio()
