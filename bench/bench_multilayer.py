"""Two layers in one pass against two single-layer passes (issue 21.3).

    python bench/bench_multilayer.py [--per-class N] [--repeat R]

``fit_sevecs(model, data, layers=["pool5", "fc1"])`` against ``fit_sevecs(..., "pool5")``
followed by ``fit_sevecs(..., "fc1")``, on the same in-memory images (vgg_mini, ConceptWorld
objects), interleaved repeats; prints the ratio of the minima and of the medians measured in
this one run (below 1: the single pass is faster). Also checks that both give the same SeVecs.
"""

import argparse
import sys

import torch

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from common import report, timings  # noqa: E402

import sevec_helpers as sh  # noqa: E402
from sevec_helpers.sources.world import ObjectsDataset, load_tensors  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--per-class", type=int, default=20, help="images per class (32 classes)")
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()
    model, spec = sh.load_model("vgg_mini")
    x, y = load_tensors(ObjectsDataset(split="test", per_class=a.per_class))
    x = spec.normalize(x)
    data = (x, y)
    names = list(ObjectsDataset(split="test", per_class=1).classes)

    def one_pass():
        return sh.fit_sevecs(model, data, layers=["pool5", "fc1"], names=names, progress=False)

    def two_passes():
        return {layer: sh.fit_sevecs(model, data, layer, names=names, progress=False) for layer in ("pool5", "fc1")}

    a_sv, b_sv = one_pass(), two_passes()
    same = all(torch.equal(a_sv[k].vectors, b_sv[k].vectors) and torch.equal(a_sv[k].rates, b_sv[k].rates)
               for k in ("pool5", "fc1"))
    print(f"{len(x)} images, torch {torch.__version__}, {torch.get_num_threads()} threads; identical SeVecs: {same}")
    t = timings({"one": one_pass, "two": two_passes}, repeat=a.repeat, warmup=1)
    report("layers=[pool5, fc1] in one pass / two single-layer passes", t["one"], t["two"], "< 1")


if __name__ == "__main__":
    main()
