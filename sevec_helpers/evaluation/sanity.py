"""Sanity checks for saliency maps (Adebayo et al. 2018), for every method and its semantic version.

- :func:`randomized_copies`: the model with its layers re-initialised from the top down, one
  block at a time (cascading), or one block alone (independent).
- :func:`map_similarity`: how much a map survives: Spearman rank correlation of absolute
  values, SSIM, and the Pearson correlation of HOG features (the three measures of that
  paper), per image.
- :func:`class_sensitivity`: for scenes with two object classes, how different the maps for
  the two targets are, and how much of each map lies in its own target's box.

A map that barely changes when the weights are randomised cannot be explaining what the
network learned; a map that is the same for two targets is not class-discriminative.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
import torch.nn as nn

from sevec_helpers.attribution.saliency import attribute, reduce_channels
from sevec_helpers.evaluation.localization import energy_share, scene_pairs
from sevec_helpers.sevecs.vectors import SemanticVectors

_PARAM_LAYERS = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear, nn.BatchNorm1d, nn.BatchNorm2d)


def blocks(model: nn.Module) -> list[tuple[str, list[str]]]:
    """The model's layers with parameters, grouped into blocks from the output back to the
    input: each Linear or Conv with the BatchNorm that follows it. Returns (block name,
    module names), top block first."""
    names = [n for n, m in model.named_modules() if isinstance(m, _PARAM_LAYERS)]
    mods = dict(model.named_modules())
    out: list[tuple[str, list[str]]] = []
    for n in names:
        if isinstance(mods[n], (nn.BatchNorm1d, nn.BatchNorm2d)) and out:
            out[-1][1].append(n)
        else:
            out.append((n, [n]))
    return out[::-1]


def _reinit(model: nn.Module, names: Sequence[str], seed: int) -> None:
    mods = dict(model.named_modules())
    torch.manual_seed(seed)
    for n in names:
        m = mods[n]
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            with torch.no_grad():  # affine parameters only: the running statistics stay
                m.weight.normal_(1.0, 0.1)
                m.bias.normal_(0.0, 0.1)
        else:
            m.reset_parameters()


def randomized_copies(model: nn.Module, mode: str = "cascading", seed: int = 0) -> list[tuple[str, nn.Module]]:
    """Copies of ``model`` with parameters re-initialised, one per block (see :func:`blocks`).

    ``cascading``: the k-th copy has the top k blocks randomised (the last copy is fully
    random); ``independent``: the k-th copy has only block k randomised. The model itself
    is not changed; every copy lives on the model's device."""
    if mode not in ("cascading", "independent"):
        raise ValueError(f"mode must be 'cascading' or 'independent', got {mode!r}")
    bl = blocks(model)
    if not bl:
        raise ValueError(f"{type(model).__name__} has no Linear, Conv or BatchNorm layers to randomise")
    out = []
    for k, (name, _) in enumerate(bl):
        m = copy.deepcopy(model)
        chosen = [n for _, ns in (bl[: k + 1] if mode == "cascading" else [bl[k]]) for n in ns]
        _reinit(m, chosen, seed + k)
        out.append((name, m.eval()))
    return out


def _ranks(a: np.ndarray) -> np.ndarray:
    from scipy.stats import rankdata

    return rankdata(a, method="average")


def map_similarity(a: torch.Tensor, b: torch.Tensor) -> dict[str, np.ndarray]:
    """Per image, the similarity of two sets of maps (N, H, W) (e.g. before and after
    randomisation): ``spearman`` of absolute values, ``ssim`` of the maps scaled to [0, 1],
    ``hog`` (Pearson correlation of their HOG features). Undefined values (a constant map)
    are NaN, and left out of means by the callers."""
    from skimage.feature import hog
    from skimage.metrics import structural_similarity

    a = a.detach().abs().double().cpu().numpy()
    b = b.detach().abs().double().cpu().numpy()
    if a.shape != b.shape or a.ndim != 3:
        raise ValueError(f"maps must have the same shape (N, H, W), got {a.shape} and {b.shape}")
    out = {"spearman": [], "ssim": [], "hog": []}
    for x, y in zip(a, b):
        rx, ry = _ranks(x.ravel()), _ranks(y.ravel())
        out["spearman"].append(np.corrcoef(rx, ry)[0, 1] if rx.std() > 0 and ry.std() > 0 else np.nan)
        sx, sy = x / x.max() if x.max() > 0 else x, y / y.max() if y.max() > 0 else y
        out["ssim"].append(structural_similarity(sx, sy, data_range=1.0, win_size=min(7, x.shape[0] // 2 * 2 - 1)))
        cell = max(2, x.shape[0] // 8)
        hx = hog(sx, pixels_per_cell=(cell, cell), cells_per_block=(1, 1))
        hy = hog(sy, pixels_per_cell=(cell, cell), cells_per_block=(1, 1))
        out["hog"].append(np.corrcoef(hx, hy)[0, 1] if hx.std() > 0 and hy.std() > 0 else np.nan)
    return {k: np.array(v, float) for k, v in out.items()}


VARIANTS = (("vanilla_gradient", False), ("vanilla_gradient", True), ("guided_backprop", False), ("guided_backprop", True),
            ("gradient_x_input", False), ("gradient_x_input", True))


def variant_name(method: str, semantic: bool) -> str:
    from sevec_helpers.attribution.saliency import METHOD_LABELS

    return ("Semantic " if semantic else "") + METHOD_LABELS[method]


def masks_of_the_trained_network(model: nn.Module, x: torch.Tensor, target: torch.Tensor, sv: SemanticVectors,
                                  **kw) -> dict[str, torch.Tensor]:
    """:func:`all_maps` on a randomised copy with the trained network's SeVecs, on purpose:
    the provenance check (which would warn that they were fitted on other weights) is off."""
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="these SeVecs do not fit", category=UserWarning)
        return all_maps(model, x, target, sv, check_provenance=False, **kw)


def all_maps(model: nn.Module, x: torch.Tensor, target: torch.Tensor, sv: SemanticVectors,
             variants=VARIANTS, **kw) -> dict[str, torch.Tensor]:
    """Maps (N, H, W) of every method, plain and semantic (``kw`` go to :func:`attribute`)."""
    return {variant_name(m, s): reduce_channels(attribute(model, x, target, m, sevecs=sv if s else None, **kw)).cpu()
            for m, s in variants}


@dataclass
class Randomization:
    """Similarity of each method's maps to the trained network's maps, block by block."""

    mode: str
    blocks: list[str]
    similarity: dict          # method -> measure -> (L, N) per block and image
    refit: dict | None        # the semantic methods with masks refitted on each randomised network

    def summary(self, measure: str = "spearman") -> dict[str, np.ndarray]:
        return {m: np.nanmean(v[measure], axis=1) for m, v in self.similarity.items()}


def randomization_test(model: nn.Module, x: torch.Tensor, target: torch.Tensor, sv: SemanticVectors,
                       mode: str = "cascading", refit_data=None, seed: int = 0, progress: bool = False) -> Randomization:
    """For each randomised copy (see :func:`randomized_copies`): every method's maps against the
    trained network's maps. The semantic masks come from ``sv`` (fitted on the trained
    network); with ``refit_data`` the semantic methods are also run with masks refitted on
    each randomised copy."""
    from tqdm.auto import tqdm

    from sevec_helpers.sevecs.fit import fit_sevecs

    base = all_maps(model, x, target, sv)
    copies = randomized_copies(model, mode, seed)
    sim = {k: {m: [] for m in ("spearman", "ssim", "hog")} for k in base}
    refit = {variant_name(m, True): {k: [] for k in ("spearman", "ssim", "hog")} for m, s in VARIANTS if s} \
        if refit_data is not None else None
    for name, m in tqdm(copies, disable=not progress, desc=f"{mode} randomisation"):
        maps = masks_of_the_trained_network(m, x, target, sv)
        for k, mp in maps.items():
            for meas, v in map_similarity(base[k], mp).items():
                sim[k][meas].append(v)
        if refit is not None:
            sv_r = fit_sevecs(m, refit_data, sv.layer, kind="classes", progress=False, allow_empty=True)
            maps_r = all_maps(m, x, target, sv_r, variants=[(mm, True) for mm, s in VARIANTS if s])
            for k, mp in maps_r.items():
                for meas, v in map_similarity(base[k], mp).items():
                    refit[k][meas].append(v)
    stack = lambda d: {k: {meas: np.stack(v) for meas, v in dd.items()} for k, dd in d.items()}
    return Randomization(mode, [n for n, _ in copies], stack(sim), stack(refit) if refit else None)


@dataclass
class ClassSensitivity:
    """Per scene and method: how alike the maps for two target classes are (Spearman of
    absolute values; lower = more class-discriminative), and the share of each map's energy
    in its own target's box.

    ``second`` says where the second target comes from: ``"object"`` (scenes with two object
    classes: both targets have boxes) or ``"runner-up"`` (no scene has two: the network's
    most probable other class, without a box; ``own_box`` then holds the first target only)."""

    rank_corr: dict      # method -> (S,) one value per scene
    own_box: dict        # method -> one value per map that has a box
    scene: np.ndarray    # (S,)
    second: str = "object"


@torch.no_grad()
def _runner_up(model: nn.Module, x: torch.Tensor, true: torch.Tensor, n_rows: int) -> torch.Tensor:
    """Per image, the most probable class other than ``true`` among the classes that have a
    SeVec (rows 0 .. n_rows - 1)."""
    from sevec_helpers.core.inputs import call_model, eval_mode

    with eval_mode(model) as dev:
        logits = call_model(model, x.to(dev)).float().cpu()[:, :n_rows]
    if logits.shape[1] < 2:
        raise ValueError("class sensitivity needs SeVecs of at least two classes")
    logits[torch.arange(len(x)), true] = -float("inf")
    return logits.argmax(1)


def class_sensitivity(model: nn.Module, scenes, sv: SemanticVectors, variants=VARIANTS,
                      max_scenes: int | None = None) -> ClassSensitivity:
    pairs = scene_pairs(scenes)
    rows_by_scene: dict[int, list[int]] = {}
    for i, s in enumerate(pairs.scene):
        rows_by_scene.setdefault(int(s), []).append(i)
    two = [(s, r[:2]) for s, r in rows_by_scene.items() if len(r) >= 2][:max_scenes]
    if two:
        x = torch.stack([scenes[s][0] for s, _ in two for _ in range(2)])
        t = torch.tensor([int(pairs.target[r]) for _, rs in two for r in rs])
        boxes = [pairs.boxes[r] for _, rs in two for r in rs]
        ids, second, boxed = [s for s, _ in two], "object", slice(None)
    else:  # single-object scenes (ImageNet val): the true class against the network's runner-up
        one = [(s, r[0]) for s, r in rows_by_scene.items()][:max_scenes]
        if not one:
            raise ValueError("no scene with an object: class sensitivity needs scenes with labelled boxes")
        xs = torch.stack([scenes[s][0] for s, _ in one])
        true = torch.tensor([int(pairs.target[r]) for _, r in one])
        runner = _runner_up(model, xs, true, len(sv))
        x = xs.repeat_interleave(2, 0)
        t = torch.stack([true, runner], 1).reshape(-1)
        boxes = [pairs.boxes[r] for _, r in one]
        ids, second, boxed = [s for s, _ in one], "runner-up", slice(0, None, 2)
    maps = all_maps(model, x, t, sv, variants=variants)
    corr, own = {}, {}
    for k, mp in maps.items():
        a, b = mp[0::2], mp[1::2]
        corr[k] = map_similarity(a, b)["spearman"]
        own[k] = energy_share(mp[boxed], boxes)
    return ClassSensitivity(corr, own, np.array(ids), second)
