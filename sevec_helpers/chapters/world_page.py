"""The world pages ("The testbed", "ConceptWorld and its networks"): examples and measured properties."""

from __future__ import annotations

import matplotlib.pyplot as plt

from .. import viz
from .. import world as W


def examples(world: W.ConceptWorld, n: int = 6) -> dict:
    """Figures: examples of every class, swatches of every low-level concept, scenes with boxes."""
    figs = {}
    rows = [world.object_image(c, i)[0] for c in range(len(W.CLASS_NAMES)) for i in range(n)]
    figs["classes"] = viz.image_grid(rows, ncols=n * 4, size=0.75,
                                     titles=[W.CLASS_NAMES[c] if i == 0 else "" for c in range(len(W.CLASS_NAMES))
                                             for i in range(n)])
    sw, titles = [], []
    for kind, names in (("textures", W.TEXTURE_NAMES), ("materials", W.MATERIAL_NAMES), ("colors", W.COLOR_NAMES)):
        for c, name in enumerate(names):
            sw += [world.swatch_image(kind, c, i) for i in range(2)]
            titles += [name, ""]
    figs["swatches"] = viz.image_grid(sw, titles=titles, ncols=12, size=0.8)
    fig, axes = plt.subplots(1, 4, figsize=(8, 2.3))
    for k, ax in enumerate(axes):
        img, boxes, labels, _ = world.scene(k)
        ax.imshow(img)
        for b, lab in zip(boxes, labels):
            ax.add_patch(plt.Rectangle((b[0] - 0.5, b[1] - 0.5), b[2] - b[0], b[3] - b[1], fill=False, ec="yellow"))
            ax.text(b[0], b[1] - 1, W.CLASS_NAMES[lab], color="yellow", fontsize=7, va="bottom")
        ax.axis("off")
    fig.tight_layout()
    figs["scenes"] = fig
    return figs
