"""How long does a concept atlas take, and how heavy is it? (issue 28: 1,000 images and 50
concepts on 2 CPU cores should finish in minutes)

    python bench/bench_atlas.py [--testbed world|photos] [--images 1000] [--concepts 50] [--repeat 2]

The SeVecs are fitted first (not timed: the atlas starts from fitted SeVecs): the testbed's
classes at pool5 and fc1 and its textures, materials and colours at fc1. Then ``write_atlas``
runs on about ``--images`` hold-out images with ``--concepts`` concept pages (all classes
first, then low-level concepts), with its defaults: six top and bottom images per concept and
layer, a semantic Guided Backprop map over each top image (classes at pool5, low-level
concepts at fc1), and each class's precision@6 tested against as many random concepts as a
family of this size needs. Each repeat writes a fresh report without a disk cache; the first
also renders the hold-out images (the testbed's datasets keep them in memory after), so it is
the cold number and the others the warm one.

Prints seconds per repeat (min and median of the warm ones: this machine is shared and other
load changes absolute times many-fold) and the report's size (files, MB).
"""

import argparse
import math
import statistics
import tempfile
import time
from pathlib import Path

import sevec_helpers as sh
from sevec_helpers.book import profiles
from sevec_helpers.report.atlas import write_atlas
from sevec_helpers.sevecs.significance import needed_random_sets


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--testbed", default="world", choices=["world", "photos"])
    ap.add_argument("--images", type=int, default=1000)
    ap.add_argument("--concepts", type=int, default=50)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    n_classes = len(profiles.study(a.testbed, sizes={"n_scenes": 1, "per_class_fit": 1, "per_class_eval": 1,
                                                     "per_concept_fit": 1, "per_concept_eval": 1},
                                   device="cpu", cache_dir=None).classes)
    per_class = math.ceil(a.images / n_classes)
    study = profiles.study(a.testbed, sizes={"per_class_eval": per_class, "n_scenes": 1}, device="cpu",
                           cache_dir=None)
    model, run = study.model, dict(study.run, progress=False)
    t0 = time.perf_counter()
    classes = sh.fit_sevecs(model, study.dataset("class_fit"), layers=["pool5", "fc1"], **run)
    low = [sh.fit_sevecs(model, study.dataset(f"{kind}_fit"), layer="fc1", **run)
           for kind in ("textures", "materials", "colors")]
    fit_s = time.perf_counter() - t0
    names = list(classes["fc1"].names) + [n for sv in low for n in sv.names]
    chosen = names[:a.concepts]
    holdout = study.dataset("class_holdout")
    r = needed_random_sets(len(study.classes))
    print(f"{a.testbed}: {len(holdout)} hold-out images, {len(chosen)} concept pages "
          f"({min(len(chosen), len(study.classes))} classes at pool5 and fc1, the rest low-level at fc1), "
          f"{r} random concepts per class; SeVecs fitted beforehand in {fit_s:.0f} s (not timed)", flush=True)
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(a.repeat):
            t0 = time.perf_counter()
            index = write_atlas(model, classes, holdout, Path(tmp) / f"atlas{i}", low_level=low, concepts=chosen,
                                map_layer=["pool5", "fc1"], random_sets=r, progress=False, batch_size=study.batch_size)
            times.append(time.perf_counter() - t0)
            print(f"repeat {i + 1}: {times[-1]:.1f} s" + (" (cold: renders the hold-out images)" if i == 0 else ""),
                  flush=True)
        files = [p for p in index.parent.rglob("*") if p.is_file()]
        size = sum(p.stat().st_size for p in files)
    warm = times[1:] or times
    print(f"write_atlas: cold {times[0]:.1f} s; warm min {min(warm):.1f} s, median {statistics.median(warm):.1f} s "
          f"over {len(warm)} repeat(s); report: {len(files):,} files, {size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
