"""How many random sets does the significance test need for stable p-values, and what do
they cost? (issue 21.2)

    python bench/bench_significance.py [--per-class N] [--seeds S]

On vgg_mini's fc1 features of ConceptWorld (class and texture fit images, extracted once),
the family of Fig. 5 relations (each class and its most relevant texture, Holm, alpha 0.05,
t test) is tested with R random texture sets, for R from 10 to 1000, with several seeds
(independent draws of the random sets). Per R it prints: the spread of log10(p) across
seeds (median over the tests), how many significance flags differ from a reference run
with 4000 random sets (summed over seeds), and the seconds to draw the R random SeVecs and
run the tests (median over seeds; no forward pass: from already-extracted features).
"""

import argparse
import statistics
import time
import warnings

import numpy as np
import torch

import sevec_helpers as sh
from sevec_helpers.sevecs import significance as S
from sevec_helpers.sources.world import ObjectsDataset, TexturesDataset


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--per-class", type=int, default=10)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--test", default="t", choices=S.TESTS)
    a = ap.parse_args()
    model, spec = sh.load_model("vgg_mini")
    cls_ds = ObjectsDataset(split="train", per_class=a.per_class, spec=spec)
    tex_ds = TexturesDataset(split="train", per_class=a.per_class, spec=spec)
    t0 = time.perf_counter()
    fc = sh.extract_features(model, cls_ds, "fc1", progress=False)
    ft = sh.extract_features(model, tex_ds, "fc1", progress=False)
    t_extract = time.perf_counter() - t0
    sv = sh.SemanticVectors.from_features(fc.values, fc.labels, cls_ds.classes, layer="fc1")
    tex = sh.SemanticVectors.from_features(ft.values, ft.labels, tex_ds.classes, layer="fc1")
    rel = sv.relevance(tex)
    pairs = [(c, int(rel[c].argmax())) for c in range(len(sv))]
    m = len(pairs)
    print(f"{len(sv)} classes x {len(tex)} textures, {a.per_class} images each; {m} relations tested "
          f"({a.test} test, Holm, alpha 0.05); features extracted once in {t_extract:.1f}s "
          f"({len(fc.values) + len(ft.values)} images). needed_random_sets({m}) = "
          f"{S.needed_random_sets(m, 0.05, a.test)}", flush=True)

    def run(r, seed):
        t = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            nulls = S.null_sevecs(ft.values, tex, r, seed=seed)
            res = S.relation_significance(sv, tex, nulls, pairs=pairs, test=a.test)
        return res, time.perf_counter() - t

    ref, t_ref = run(4000, 10_000)
    print(f"reference: 4000 random sets, {ref.n_significant} of {m} significant, {t_ref:.2f}s")
    print(f"{'R':>6} {'median sd log10 p':>18} {'flags differing':>16} {'max |p_adj - ref|':>18} {'seconds':>8}")
    for r in (10, 20, 50, 100, 200, 500, 1000):
        ps, flips, secs, dev = [], 0, [], 0.0
        for seed in range(a.seeds):
            res, s = run(r, seed)
            ps.append(np.log10(np.clip(res.p, 1e-300, 1)))
            flips += int((res.significant != ref.significant).sum())
            dev = max(dev, float(np.abs(res.p_adjusted - ref.p_adjusted).max()))
            secs.append(s)
        spread = float(np.median(np.std(np.stack(ps), axis=0, ddof=1)))
        print(f"{r:>6} {spread:>18.3f} {flips:>9} of {a.seeds * m:<4} {dev:>18.3f} {statistics.median(secs):>8.3f}",
              flush=True)


if __name__ == "__main__":
    torch.manual_seed(0)
    main()
