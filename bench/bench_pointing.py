"""Generalized pointing game: the vectorised implementation vs a plain per-image loop.

    python bench/bench_pointing.py

1,000 maps of 224x224, 20 energy levels; also checks that both give the same hits.
"""

import sys

import numpy as np
import torch

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from common import best_of, report  # noqa: E402

import sevec_helpers as sh  # noqa: E402
from sevec_helpers.evaluation import pointing  # noqa: E402


def loop(maps: np.ndarray, boxes, energies) -> np.ndarray:
    out = np.zeros((len(maps), len(energies)), dtype=bool)
    for i, m in enumerate(maps):
        inside = pointing.box_mask(boxes[i], *m.shape).numpy()
        vals = np.sort(m.ravel())[::-1]
        cum = np.cumsum(vals)
        for j, e in enumerate(energies):
            if cum[-1] <= 0:
                continue
            cut = vals[int(np.argmax(cum >= e * cum[-1]))]
            kept = m >= cut
            out[i, j] = bool(np.all(inside[kept]))
    return out


if __name__ == "__main__":
    torch.set_num_threads(2)
    rng = np.random.default_rng(0)
    maps = rng.gamma(0.5, size=(1000, 224, 224)).astype(np.float32)
    boxes = []
    for _ in range(1000):
        x0, y0 = rng.integers(0, 150, size=2)
        boxes.append([(int(x0), int(y0), int(x0 + rng.integers(20, 74)), int(y0 + rng.integers(20, 74)))])
        maps[len(boxes) - 1, y0 : y0 + 20, x0 : x0 + 20] += 30
    e = pointing.DEFAULT_ENERGIES
    t_vec = best_of(lambda: sh.generalized_pointing_game(torch.from_numpy(maps), boxes, e), repeat=2)
    t_loop = best_of(lambda: loop(maps, boxes, e), repeat=1)
    same = np.array_equal(sh.generalized_pointing_game(torch.from_numpy(maps), boxes, e).per_image,
                          loop(maps, boxes, e))
    report("pointing game, 1000 maps x 20 energies: plain per-image, per-energy loop / library", t_loop, t_vec)
    print(f"same hits: {same}")
