"""The pointing games against plain per-image numpy references, on an idle machine and with one
CPU-bound process beside them (a busy core: where small per-image torch work used to stall on
torch's second worker thread, 54 times slower).

    python bench/bench_pointing.py

1,000 maps of 224x224 with one box each: the generalized game at 20 energy levels (against a
per-image sort-and-cumulate loop) and the classic game (against a per-image argmax-and-distance
loop); also checks that library and reference give the same hits. Goal: library / reference
<= 2 both idle and loaded. Ratios are measured in one run, interleaved, min and median of
repeats; absolute times on this shared machine vary many-fold with other load.
"""

import subprocess
import sys

import numpy as np
import torch

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from common import report, timings  # noqa: E402

import sevec_helpers as sh  # noqa: E402
from sevec_helpers.evaluation import pointing  # noqa: E402


def generalized_reference(maps: np.ndarray, boxes, energies) -> np.ndarray:
    out = np.zeros((len(maps), len(energies)), dtype=bool)
    h, w = maps.shape[1:]
    cy, cx = np.mgrid[0:h, 0:w] + 0.5
    for i, m in enumerate(maps):
        (x0, y0, x1, y1), = boxes[i]
        inside = (cx >= x0) & (cx <= x1) & (cy >= y0) & (cy <= y1)
        vals = np.sort(m.ravel())[::-1]
        cum = np.cumsum(vals)
        for j, e in enumerate(energies):
            if cum[-1] <= 0:
                continue
            cut = vals[int(np.argmax(cum >= e * cum[-1]))]
            out[i, j] = bool(np.all(inside[m >= cut]))
    return out


def classic_reference(maps: np.ndarray, boxes, tol: float) -> np.ndarray:
    out = np.zeros(len(maps), dtype=bool)
    h, w = maps.shape[1:]
    cy, cx = np.mgrid[0:h, 0:w] + 0.5
    for i, m in enumerate(maps):
        (x0, y0, x1, y1), = boxes[i]
        d = np.hypot(np.clip(np.maximum(x0 - cx, cx - x1), 0, None), np.clip(np.maximum(y0 - cy, cy - y1), 0, None))
        out[i] = bool(np.all(d[m == m.max()] <= tol))
    return out


def measure(maps, boxes, e, label):
    t = torch.from_numpy(maps)
    times = timings({"gen_lib": lambda: sh.generalized_pointing_game(t, boxes, e),
                     "gen_ref": lambda: generalized_reference(maps, boxes, e),
                     "cls_lib": lambda: sh.pointing_game(t, boxes, tolerance=15.0),
                     "cls_ref": lambda: classic_reference(maps, boxes, 15.0)}, repeat=3, warmup=1)
    report(f"[{label}] generalized game, 1000 maps x 20 energies: library / reference", times["gen_lib"],
           times["gen_ref"], goal="<= 2")
    report(f"[{label}] classic game, 1000 maps: library / reference", times["cls_lib"], times["cls_ref"],
           goal="<= 2")


if __name__ == "__main__":
    rng = np.random.default_rng(0)
    maps = rng.gamma(0.5, size=(1000, 224, 224)).astype(np.float32)
    boxes = []
    for i in range(1000):
        x0, y0 = rng.integers(0, 150, size=2)
        boxes.append([(int(x0), int(y0), int(x0 + rng.integers(20, 74)), int(y0 + rng.integers(20, 74)))])
        maps[i, y0: y0 + 20, x0: x0 + 20] += 30
    e = pointing.DEFAULT_ENERGIES
    same = (np.array_equal(sh.generalized_pointing_game(torch.from_numpy(maps), boxes, e).per_image,
                           generalized_reference(maps, boxes, e))
            and np.array_equal(sh.pointing_game(torch.from_numpy(maps), boxes, tolerance=15.0).per_image[:, 0],
                               classic_reference(maps, boxes, 15.0)))
    print(f"torch threads {torch.get_num_threads()}; library and references give the same hits: {same}")
    measure(maps, boxes, e, "idle")
    burner = subprocess.Popen([sys.executable, "-c", "while True: pass"])   # one CPU-bound process beside
    try:
        measure(maps, boxes, e, "one busy core beside")
    finally:
        burner.kill()
