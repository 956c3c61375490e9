"""How far a thread policy could bring the busy-core build ratio, and what it would cost.

    python bench/bench_threads_load.py            # 5 interleaved repeats
    python bench/bench_threads_load.py --repeat 9

The book build is mostly large torch work (forward passes for the SeVec fits, forward and
backward passes for the saliency maps). This times that work, in one run, on an idle machine
and with one CPU-bound process beside it (a busy core), with torch's 2 intra-op threads and
with 1, and prints:

- loaded / idle with 2 threads (what the build does now);
- loaded with 1 thread / idle with 2 (the best a "one thread when busy" policy could do: the
  floor for the build's ratio on 2 cores, since idle it uses both);
- whether the results are bit-identical with 1 and 2 threads (if not, such a policy would make
  the book's numbers depend on how busy the machine was).

Ratios are measured in one run, interleaved, min and median of repeats; absolute times on this
shared machine vary many-fold with other load.
"""

import argparse
import contextlib
import subprocess
import sys

import torch

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from common import report, timings  # noqa: E402

import sevec_helpers as sh  # noqa: E402


@contextlib.contextmanager
def busy_core():
    burner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        yield
    finally:
        burner.kill()
        burner.wait()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()
    vgg = sh.load_model("vgg_mini")[0].eval()
    lite = sh.load_model("efficientnet_lite0")[0].eval()
    g = torch.Generator().manual_seed(0)
    xv = torch.randn(64, 3, 64, 64, generator=g)
    xl = torch.randn(32, 3, 224, 224, generator=g)
    xs = torch.randn(8, 3, 224, 224, generator=g)

    def fit_work():   # forward passes, as the SeVec fits and retrievals make them
        with torch.no_grad():
            for _ in range(5):
                vgg(xv)
            return lite(xl)

    def map_work():   # a forward and backward pass, as each saliency map needs
        x = xs.clone().requires_grad_(True)
        lite(x)[:, 1].sum().backward()
        return x.grad

    def at(threads, fn):
        def run():
            torch.set_num_threads(threads)
            return fn()
        return run

    default = torch.get_num_threads()
    print(f"torch {torch.__version__}, default intra-op threads {default}; {a.repeat} interleaved repeats")
    same = {}
    for name, fn in (("forward (fits)", fit_work), ("forward+backward (maps)", map_work)):
        r1, r2 = at(1, fn)(), at(2, fn)()
        same[name] = (torch.equal(r1, r2), float((r1 - r2).abs().max() / r2.abs().max()))
        fns = {"2 threads": at(2, fn), "1 thread": at(1, fn)}
        idle = timings(fns, repeat=a.repeat)
        with busy_core():
            loaded = timings(fns, repeat=a.repeat)
        report(f"{name}: loaded / idle, 2 threads", loaded["2 threads"], idle["2 threads"])
        report(f"{name}: loaded with 1 thread / idle with 2", loaded["1 thread"], idle["2 threads"], goal="<= 1.3")
        report(f"{name}: idle, 1 thread / 2 threads", idle["1 thread"], idle["2 threads"])
    torch.set_num_threads(default)
    for name, (eq, rel) in same.items():
        print(f"{name}: 1 and 2 threads bit-identical: {eq} (largest difference {rel:.2e} of the largest value)")


if __name__ == "__main__":
    main()
