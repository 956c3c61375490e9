"""The world pages ("The testbed", "ConceptWorld and its networks"): examples, and the measured
properties the world was designed to have (accuracy like VGG16's, colour varying within
most classes, textures that a network learns, boxes of many sizes).

Every figure is returned closed (``plt.close``): Jupyter's inline backend then does not show
it at the end of the cell that made it, and a cell shows it once, where it is the cell's value
(under that cell's caption)."""

from __future__ import annotations

import json

import matplotlib.pyplot as plt
from matplotlib import patheffects
import numpy as np

from sevec_helpers.book import figures as viz
from sevec_helpers.core.features import extract_features
from sevec_helpers.evaluation import stats as A
from sevec_helpers.sevecs.vectors import SemanticVectors
from sevec_helpers.sources import world as W
from sevec_helpers.sources.models import BOOK_NETWORKS, SHIPPED, WEIGHTS_DIR, load_model


def _closed(fig):
    """``fig``, closed to pyplot: shown only where a cell returns it, not also when the cell ends."""
    plt.close(fig)
    return fig


def examples(world: W.ConceptWorld, n: int = 6) -> dict:
    """Figures: examples of every class, swatches of every low-level concept, scenes with boxes.

    Parameters
    ----------
    world : ConceptWorld
        The world to draw from.
    n : int
        Examples of each class.

    Returns
    -------
    dict
        ``"classes"``, ``"swatches"`` and ``"scenes"``: closed matplotlib figures, each shown
        where a cell returns it.
    """
    figs = {}
    rows = [world.object_image(c, i).image for c in range(len(W.CLASS_NAMES)) for i in range(n)]
    figs["classes"] = _closed(viz.image_grid(rows, ncols=n * 2, size=1.15,
                                     titles=[W.CLASS_NAMES[c] if i == 0 else "" for c in range(len(W.CLASS_NAMES))
                                             for i in range(n)]))
    sw, titles, cols = [], [], 8   # 8 to a row (about 100 px each); each kind starts a new row
    for kind, names in (("textures", W.TEXTURE_NAMES), ("materials", W.MATERIAL_NAMES), ("colors", W.COLOR_NAMES)):
        for c, name in enumerate(names):
            sw += [world.swatch_image(kind, c, i) for i in range(2)]
            titles += [name, ""]
        pad = -len(sw) % cols
        sw += [None] * pad
        titles += [""] * pad
    figs["swatches"] = _closed(viz.image_grid(sw, titles=titles, ncols=cols, size=1.15))
    fig, axes = plt.subplots(2, 4, figsize=(viz.MAX_WIDTH, 4.8))
    for k, ax in enumerate(axes.flat):
        smp = world.scene(k)
        ax.imshow(smp.image)
        for b in smp.boxes:   # yellow on a black rim: seen on light and dark backgrounds alike
            ax.add_patch(plt.Rectangle((b[0] - 0.5, b[1] - 0.5), b[2] - b[0], b[3] - b[1], fill=False, ec="yellow",
                                       lw=1.4, path_effects=[patheffects.withStroke(linewidth=3.0, foreground="black")]))
        ax.axis("off")
    fig.tight_layout()
    for k, ax in enumerate(axes.flat):
        smp = world.scene(k)
        _label_boxes(ax, smp.boxes, [W.CLASS_NAMES[lab] for lab in smp.labels], smp.image.shape[:2])
    figs["scenes"] = _closed(fig)
    return figs


def _label_boxes(ax, boxes, names, shape) -> None:
    """Each box's class name in black on a white label, at the first of its corners (inside the
    box at the top, then at the bottom, then above and below it) where the label lies within the
    image and clear of the labels placed before it."""
    h, w = shape
    renderer = ax.figure.canvas.get_renderer() if hasattr(ax.figure.canvas, "get_renderer") else None
    placed = []
    inv = ax.transData.inverted()
    for (x0, y0, x1, y1), name in zip(boxes, names):
        spots = [(x0 + 1, y0 + 1, "left", "top"), (x1 - 1, y0 + 1, "right", "top"),
                 (x0 + 1, y1 - 1, "left", "bottom"), (x1 - 1, y1 - 1, "right", "bottom"),
                 (x0, y0 - 1, "left", "bottom"), (x0, y1 + 1, "left", "top")]
        t = None
        for x, y, ha, va in spots:
            if t is not None:
                t.remove()
            t = ax.text(x, y, name, fontsize=8, color="black", ha=ha, va=va, clip_on=True,
                        bbox={"boxstyle": "square,pad=0.15", "facecolor": "white", "alpha": 0.85, "linewidth": 0})
            if renderer is None:
                break
            e = t.get_window_extent(renderer).transformed(inv)   # data coordinates (y grows downwards)
            ex0, ex1 = sorted((e.x0, e.x1))
            ey0, ey1 = sorted((e.y0, e.y1))
            inside = ex0 >= -0.5 and ex1 <= w - 0.5 and ey0 >= -0.5 and ey1 <= h - 0.5
            clear = all(ex1 < a0 or ex0 > a1 or ey1 < b0 or ey0 > b1 for a0, a1, b0, b1 in placed)
            if inside and clear:
                break
        if renderer is not None:
            e = t.get_window_extent(renderer).transformed(inv)
            placed.append((*sorted((e.x0, e.x1)), *sorted((e.y0, e.y1))))


def overview(world: W.ConceptWorld, per_class: int = 1):
    """One image of each class, a group per row (4 classes), in one figure the width of a page."""
    groups = list(W.GROUPS)
    fig, axes = plt.subplots(len(groups), 4 * per_class,
                             figsize=(viz.MAX_WIDTH, viz.MAX_WIDTH * len(groups) / (4 * per_class) * 0.62))
    for r, g in enumerate(groups):
        members = [i for i, c in enumerate(W.CLASSES) if c.group == g]
        for j, c in enumerate(members):
            for k in range(per_class):
                ax = axes[r, j * per_class + k]
                ax.imshow(world.object_image(c, k + 1).image)
                ax.set_title(W.CLASS_NAMES[c], fontsize=9)
                ax.set_xticks([])
                ax.set_yticks([])
        axes[r, 0].set_ylabel(g, fontsize=9)
    fig.tight_layout()
    return _closed(fig)


def accuracy_line():
    m = metadata()["vgg_mini"]["heldout"]
    return viz.Markdown(f"`vgg_mini` on {m['per_class']} unseen images per class (of another world seed, when it "
                        f"was trained): top-1 {m['top1']:.1%}, top-5 {m['top5']:.1%}. The chapters' own hold-out set "
                        f"(fewer images per class, another draw) gives a slightly different number, which each "
                        f"chapter prints.")


def metadata() -> dict[str, dict]:
    """The shipped networks' metadata (recipe, curve, held-out accuracy), by name."""
    return {n: json.loads((WEIGHTS_DIR / f"{n}.json").read_text()) for n in SHIPPED}


def networks_table(meta: dict | None = None):
    meta = meta or metadata()
    rows = []
    for n, m in meta.items():
        h = m["heldout"]
        other = m.get("heldout_grayscale") or m.get("heldout_color")
        t = m["training"]
        rows.append([n, f"{m['about']} ({m['input']} input)", h["top1"], h["top5"], h["mean_prob_true"],
                     f"{other['top1']:.3f} ({'gray' if 'heldout_grayscale' in m else 'colour'} images)",
                     f"{(t['render_s'] + t['train_s']) / 60:.1f} min"])
    # seven columns, so the table fits the text column (the weights' size is in the page's text)
    return viz.markdown_table(["network", "trained on", "held-out top-1", "top-5", "mean p(true class)",
                               "top-1 on the other input", "training (2 CPU cores)"], rows)


def curves_figure(meta: dict | None = None):
    """Held-out accuracy after every epoch: the plateau the recipe trains to (the book's
    three networks; the replicates' final accuracies are in the table)."""
    meta = {n: m for n, m in (meta or metadata()).items() if n in BOOK_NETWORKS}
    fig, ax = plt.subplots(1, 2, figsize=(viz.MAX_WIDTH, 3.2), sharey=True)
    for n, m in meta.items():
        h = m["training"]["history"]
        ep = [r["epoch"] for r in h]
        ax[0].plot(ep, [r["heldout_top1"] for r in h], marker="o", ms=3, label=n)
        ax[1].plot(ep, [r["heldout_top5"] for r in h], marker="o", ms=3, label=n)
    for a, t in zip(ax, ("held-out top-1", "held-out top-5")):
        a.set_xlabel("epoch")
        a.set_title(t, fontsize=10)
        a.axhspan(*((0.65, 0.80) if "1" in t else (0.85, 0.97)), color="k", alpha=0.07)
    ax[0].set_ylabel("accuracy")
    ax[1].legend(fontsize=8)
    fig.tight_layout()
    return _closed(fig)


def per_class_table(meta: dict | None = None):
    meta = meta or metadata()
    main, gray = meta["vgg_mini"], meta["vgg_mini_gray"]
    truth = W.ground_truth()
    rows = [[r["class"], f"{r['superclass']} / {r['group']}", "yes" if r["color_defined"] else "no", r["n_facets"],
             main["heldout"]["per_class_top1"][i], main["heldout"]["per_class_top5"][i],
             main["heldout_grayscale"]["per_class_top1"][i], gray["heldout"]["per_class_top1"][i]]
            for i, r in enumerate(truth)]
    return viz.markdown_table(["class", "superclass / group", "colour defines it", "facets", "top-1", "top-5",
                               "top-1 in gray", "top-1 of the gray-trained network"], rows)


def texture_probe(layer: str = "fc1", n_fit: int = 60, n_eval: int = 20, k: int = 8):
    """Do the networks carry texture? Texture SeVecs (fitted on swatches of one world seed)
    retrieve unseen swatches (another seed), and a linear probe reads a swatch's texture."""
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    rows = []
    for n in BOOK_NETWORKS:
        model, spec = load_model(n)
        gray = "gray" in n
        fit = W.TexturesDataset(W.ConceptWorld(0), "train", n_fit, spec=spec, grayscale=gray)
        hold = W.TexturesDataset(W.ConceptWorld(1), "test", n_eval, spec=spec, grayscale=gray)
        ff, fh = extract_features(model, fit, layer, progress=False), extract_features(model, hold, layer, progress=False)
        sv = SemanticVectors.from_features(ff.values, ff.labels, fit.classes, layer=layer)  # one pass, not two
        prec = A.precision_at_k(sv, fh.values, A.relevance_matrix(fh.labels, len(sv)), k).mean()
        with threadpool_limits(1):  # multithreaded OpenBLAS runs this small fit ~50x slower on 2 cores
            clf = LogisticRegression(max_iter=2000, C=0.5).fit((ff.values > 0).numpy(), ff.labels.numpy())
        probe = clf.score((fh.values > 0).numpy(), fh.labels.numpy())
        rows.append([n, f"{prec:.3f}", f"{prec * len(sv):.1f}x", f"{probe:.3f}", f"{1 / len(sv):.3f}"])
    return viz.markdown_table([f"network ({layer})", f"texture SeVecs: precision@{k} on unseen swatches",
                               "times chance", "linear probe on binarised features", "chance"], rows)


def scene_statistics(world: W.ConceptWorld, n: int = 500):
    """Objects per scene and the share of the image each box covers."""
    counts, areas = np.zeros(5, int), []
    s2 = world.image_size ** 2
    for i in range(n):
        smp = world.scene(i)
        counts[len(smp.labels)] += 1
        areas += [(x1 - x0) * (y1 - y0) / s2 for x0, y0, x1, y1 in smp.boxes]
    areas = np.array(areas)
    fig, ax = plt.subplots(1, 2, figsize=(viz.MAX_WIDTH, 2.8))
    ax[0].bar(range(1, 5), counts[1:])
    ax[0].set_xlabel("objects in the scene")
    ax[0].set_ylabel(f"scenes (of {n})")
    ax[1].hist(areas, bins=30)
    ax[1].set_xlabel("box area / image area")
    ax[1].set_ylabel("boxes")
    for q in (5, 50, 95):
        ax[1].axvline(np.percentile(areas, q), color="k", ls=":", lw=0.8)
    fig.tight_layout()
    return _closed(fig), {**{f"p{q}": float(np.percentile(areas, q)) for q in (5, 10, 50, 90, 95)},
                          "min": float(areas.min()), "max": float(areas.max())}


def colour_informativeness(world: W.ConceptWorld, n_fit: int = 40, n_eval: int = 20, bins: int = 4):
    """How much does colour alone tell about each class? A classifier that sees only an
    image's colour histogram (bins^3 cells), trained on one seed, tested on another."""
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    def hist(seed, split, per):
        w = W.ConceptWorld(seed, world.image_size, world.color_informativeness)
        x, y = [], []
        for i in range(per * len(W.CLASS_NAMES)):
            lab, idx = i % len(W.CLASS_NAMES), i // len(W.CLASS_NAMES)
            img = w.object_image(lab, idx, split).image.reshape(-1, 3) // (256 // bins)
            h = np.bincount(img[:, 0] * bins * bins + img[:, 1] * bins + img[:, 2], minlength=bins ** 3)
            x.append(h / h.sum())
            y.append(lab)
        return np.array(x), np.array(y)

    xf, yf = hist(0, "train", n_fit)
    xe, ye = hist(1, "test", n_eval)
    with threadpool_limits(1):  # as in texture_probe: one BLAS thread is many times faster here
        pred = LogisticRegression(max_iter=3000, C=10.0).fit(xf, yf).predict(xe)
    per = np.array([np.mean(pred[ye == c] == c) for c in range(len(W.CLASS_NAMES))])
    truth = world.ground_truth()
    return per, {"defined": float(np.mean([per[i] for i, r in enumerate(truth) if r["color_defined"]])),
                 "varied": float(np.mean([per[i] for i, r in enumerate(truth) if not r["color_defined"]])),
                 "chance": 1 / len(W.CLASS_NAMES)}


def colour_figure(per: np.ndarray, world: W.ConceptWorld):
    """Per-class accuracy from colour alone, sorted; the classes colour defines in red, their
    names in red too (a class at 0 has no bar to colour), chance dotted."""
    truth = world.ground_truth()
    o = np.argsort(per, kind="stable")
    fig, ax = plt.subplots(figsize=(viz.MAX_WIDTH, 3.4))
    red = [bool(truth[i]["color_defined"]) for i in o]
    ax.bar(range(len(o)), per[o], color=["tab:red" if r else "tab:gray" for r in red])
    ax.set_xticks(range(len(o)), [W.CLASS_NAMES[i] for i in o], rotation=75, fontsize=8)
    for lab, r in zip(ax.get_xticklabels(), red):
        if r:
            lab.set_color("tab:red")
            lab.set_fontweight("bold")
    ax.axhline(1 / len(o), color="k", ls=":", lw=0.8)
    ax.set_ylabel("accuracy from colour alone")
    ax.bar([0], [0], color="tab:red", label="colour defines the class (name in red)")
    ax.bar([0], [0], color="tab:gray", label="colours drawn at random")
    ax.set_ylim(0, max(0.05, float(per.max())) * 1.35)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    return _closed(fig)


def colour_note(per: np.ndarray, world: W.ConceptWorld, top: int = 10):
    """What the colour figure shows, in numbers: the mean accuracy from colour alone of the
    colour-defined classes and of the others, how many colour-defined classes are among the
    ``top`` highest, the lowest of them and the highest of the others (Markdown)."""
    truth = world.ground_truth()
    defined = np.array([bool(r["color_defined"]) for r in truth])
    o = np.argsort(-per, kind="stable")
    in_top = int(defined[o[:top]].sum())
    lo = min(np.flatnonzero(defined), key=lambda i: per[i])
    hi = max(np.flatnonzero(~defined), key=lambda i: per[i])
    return viz.Markdown(
        f"From colour alone: {per[defined].mean():.2f} for the {int(defined.sum())} colour-defined classes, "
        f"{per[~defined].mean():.2f} for the other {int((~defined).sum())} (chance {1 / len(per):.3f}). "
        f"{in_top} of the colour-defined classes are among the {top} highest; the lowest of them, "
        f"{W.CLASS_NAMES[lo]}, scores {per[lo]:.2f}, and the highest of the others, {W.CLASS_NAMES[hi]}, "
        f"{per[hi]:.2f}. Colour is a cue for most colour-defined classes, not an identifier: no class is told "
        f"apart by colour alone more than {per.max():.0%} of the time.")
