"""A concept atlas: what each fitted SeVec means, as a static report anyone can open.

``write_atlas(model, sevecs, holdout, out_dir)`` writes a folder that opens offline from the
file system (no server, no network, no kernel): ``index.html`` (every concept, sortable by
D_c, retrieval precision and significance, with a search field over the names), one page per
concept under ``concepts/``, JPEG thumbnails (``img/``) and maps (``maps/``), and every number
in ``atlas.json`` and ``atlas.csv``.

For each concept, at each layer it has a SeVec at:

- its ``k`` hold-out images with the highest score (the cosine of the image's binarised
  features to the SeVec, Eq. 3: exactly :meth:`SemanticVectors.retrieve`) and the ``k`` with the
  lowest;
- over its top images, a map of the concept (``method``): for a class concept, the semantic
  Guided Backprop (or Gradient*Input, or gradient) map of that class, its gradient at the
  SeVec's layer masked by the class's mask 1[r > threshold] (paper Sec. 5); for a low-level
  concept (a texture, a material, a colour: no class of the model), the map of the image's
  predicted class with the gradient at the SeVec's layer masked by the concept's own mask:
  where the decision draws on the units of that concept (a conditional map, as zennit-crp draws
  for its concepts; not one of the paper's maps);
- its activation-rate profile (the rates r_c sorted, and how many units the mask keeps), D_c,
  its live and dead fitting images;
- the nearest other concepts of each kind at that layer by relevance cos(v_a, v_b)
  (:meth:`SemanticVectors.related`);
- precision@k of its retrieval when the hold-out images are labelled with its name, and its
  significance against random concepts when ``random_sets`` is given
  (:func:`sevec_helpers.sevecs.significance.retrieval_significance`: random SeVecs of the
  concept's size, Holm-corrected over the concepts of one kind at one layer);
- for a class concept, the low-level concepts that explain its images (the paper's Table 3:
  :meth:`SemanticVectors.explain` on the hold-out images of that class, or its top images when
  the hold-out images are not labelled with it).

The report is written into a hidden temporary folder next to ``out_dir`` and renamed into place
when complete, so an interrupted run leaves nothing half-written.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, Dataset
from tqdm.auto import tqdm

from sevec_helpers._version import __version__
from sevec_helpers.attribution.saliency import METHOD_LABELS, METHODS, attribute, reduce_channels
from sevec_helpers.core.atomic import atomic_folder
from sevec_helpers.core.classes import data_class_names, labels_are_outputs, model_categories, model_label, outputs_of
from sevec_helpers.core.features import Features, extract_features
from sevec_helpers.core.fingerprint import model_fingerprint
from sevec_helpers.core.inputs import INFO_ATTR, check_images
from sevec_helpers.evaluation.metrics import predict
from sevec_helpers.report import pages
from sevec_helpers.sevecs import significance as S
from sevec_helpers.sevecs.vectors import SemanticVectors
from sevec_helpers.sources.datasets import IMG_EXT, ImageFolderCapped, load_rgb
from sevec_helpers.sources.models import spec_of

FORMAT = "sevec_helpers.atlas/1"
"""The ``format`` field of ``atlas.json``; :func:`write_atlas` replaces only folders that carry it."""
MAP_METHODS = tuple(METHODS)
"""The maps :func:`write_atlas` draws (``method=``); ``None`` draws none."""
CLASS_KINDS = ("classes", "")
"""The kinds of ``sevecs=`` whose concepts are classes of the model (their maps are class maps)."""


# ---------------------------------------------------------------------------------------
# what the atlas is made of
# ---------------------------------------------------------------------------------------


@dataclass
class _Family:
    """One SemanticVectors: its concepts, layer and kind, and their role in the atlas."""

    sv: SemanticVectors
    kind: str
    role: str                     # "class" (a class of the model: class maps, Table 3) or "low-level"
    scores: torch.Tensor | None = None   # (N, K) on the hold-out images
    outputs: list[list[int]] = field(default_factory=list)   # per concept, the model outputs of its name


def _flatten(obj, what: str) -> list[SemanticVectors]:
    if obj is None:
        return []
    if isinstance(obj, SemanticVectors):
        return [obj]
    if isinstance(obj, Mapping):
        return [sv for v in obj.values() for sv in _flatten(v, what)]
    if isinstance(obj, (list, tuple)):
        return [sv for v in obj for sv in _flatten(v, what)]
    raise TypeError(f"{what} must be SemanticVectors (from fit_sevecs), a dict of them (fit_sevecs(layers=...) "
                    f"returns one), or a list of them; got {type(obj).__name__}")


def _families(sevecs, low_level) -> list[_Family]:
    main = _flatten(sevecs, "sevecs")
    if not main:
        raise ValueError("sevecs is empty: pass the SeVecs to show (fit_sevecs(model, data, layer=...))")
    fams = [_Family(sv, sv.kind or "concepts", "class" if sv.kind in CLASS_KINDS else "low-level") for sv in main]
    # low-level SeVecs fitted from class folders (``sevec fit``) say "classes": they are shown as low-level
    fams += [_Family(sv, "low-level" if sv.kind in CLASS_KINDS else sv.kind, "low-level")
             for sv in _flatten(low_level, "low_level")]
    seen = {}
    for f in fams:
        if not f.sv.layer:
            raise ValueError(f"{f.sv!r} carries no layer name: the atlas reads each SeVec's layer from it; set "
                             f"sv.layer to the layer it was fitted at")
        key = (f.kind, f.sv.layer)
        if key in seen:
            raise ValueError(f"two sets of {f.kind} SeVecs at layer {f.sv.layer!r} ({seen[key]!r} and {f.sv!r}): "
                             f"pass each kind once per layer (or give one a kind of its own, sv.kind = ...)")
        seen[key] = f.sv
    return fams


@dataclass
class _Concept:
    name: str
    kind: str
    role: str
    slug: str
    at: dict[str, tuple[int, int]] = field(default_factory=dict)   # layer -> (family index, row)


def slug(text: str) -> str:
    """A file-name-safe form of a name: lower case ASCII letters, digits and dashes."""
    s = re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-")
    return s or "x"


def _concepts(fams: list[_Family], wanted) -> list[_Concept]:
    out: dict[tuple[str, str], _Concept] = {}
    for fi, f in enumerate(fams):
        for r, name in enumerate(f.sv.names):
            c = out.setdefault((f.kind, name), _Concept(name, f.kind, f.role, ""))
            c.at[f.sv.layer] = (fi, r)
    if wanted is not None:
        if isinstance(wanted, str):
            wanted = [wanted]
        names = {c.name for c in out.values()}
        unknown = [w for w in wanted if w not in names]
        if unknown:
            import difflib

            close = difflib.get_close_matches(str(unknown[0]), sorted(names), n=5, cutoff=0.5)
            shown = ", ".join(sorted(names)[:20]) + (" ..." if len(names) > 20 else "")
            raise ValueError(f"unknown concept {unknown[0]!r}: no SeVec is named so"
                             + (f" (did you mean: {', '.join(close)}?)" if close else "")
                             + f"; the SeVecs given name {len(names)} concepts: {shown}")
        keep = set(wanted)
        out = {k: c for k, c in out.items() if c.name in keep}
    used: set[str] = set()
    for c in out.values():
        base = slug(f"{c.kind}-{c.name}")
        s, n = base, 2
        while s in used:
            s, n = f"{base}-{n}", n + 1
        used.add(s)
        c.slug = s
    return list(out.values())


# ---------------------------------------------------------------------------------------
# the hold-out images
# ---------------------------------------------------------------------------------------


class _FlatFolder(Dataset):
    """A folder of images without class folders: unlabelled images."""

    def __init__(self, files: list[Path], transform):
        self.samples = [(str(f), -1) for f in files]
        self.transform = transform

    def __len__(self):
        return len(self.samples)

    def __getitem__(self, i):
        return self.transform(load_rgb(self.samples[i][0]))

    def fingerprint(self) -> dict:
        import hashlib

        h = hashlib.sha256()
        for p, _ in self.samples:
            st = Path(p).stat()
            h.update(f"{p}|{st.st_size}|{st.st_mtime_ns}\n".encode())
        return {"type": "flat_folder", "files": h.hexdigest()[:16], "n": len(self.samples),
                "transform": repr(self.transform)}


def _holdout_data(holdout, model: nn.Module):
    """The hold-out images as data the library streams: a folder path is read with the model's
    transform (class folders: labelled by folder name; images directly in it: unlabelled)."""
    if isinstance(holdout, DataLoader):
        holdout = holdout.dataset
    if isinstance(holdout, (str, os.PathLike)):
        root = Path(holdout).expanduser()
        if not root.is_dir():
            raise FileNotFoundError(f"hold-out folder {str(holdout)!r} not found: pass a folder of class folders "
                                    f"(root/<class>/<image>) or of images, or a Dataset")
        spec = spec_of(model)
        if spec is None or spec.transform is None:
            raise ValueError(f"{model_label(model)} has no transform to read the images of {root} with: describe it "
                             f"once (sevec_helpers.describe_model(model, mean=..., std=..., input_size=...)), or pass "
                             f"a Dataset that yields normalised images")
        files = sorted(f for f in root.iterdir() if f.is_file() and f.suffix.lower() in IMG_EXT)
        subs = sorted(d for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
        with_images = [d for d in subs if any(f.suffix.lower() in IMG_EXT for f in d.iterdir() if f.is_file())]
        if with_images and not files:
            return ImageFolderCapped(root, spec.transform, what="hold-out folder",
                                     classes=[d.name for d in with_images])
        if files:
            return _FlatFolder(files, spec.transform)
        raise ValueError(f"the hold-out folder {root} holds no images (extensions {', '.join(IMG_EXT)}), neither "
                         f"directly nor in class folders (root/<class>/<image>): the atlas needs images to show")
    if isinstance(holdout, np.ndarray):
        holdout = torch.from_numpy(np.ascontiguousarray(holdout))
    if isinstance(holdout, torch.Tensor):
        if len(holdout) == 0:
            raise ValueError("the hold-out tensor holds no images")
        return holdout
    if isinstance(holdout, (tuple, list)) and len(holdout) == 2 and isinstance(holdout[0], (torch.Tensor, np.ndarray)):
        x = holdout[0] if isinstance(holdout[0], torch.Tensor) else torch.from_numpy(np.ascontiguousarray(holdout[0]))
        y = torch.as_tensor(holdout[1])
        if len(x) == 0:
            raise ValueError("the hold-out tensor holds no images")
        return (x, y)
    if isinstance(holdout, Dataset):
        if len(holdout) == 0:
            raise ValueError("the hold-out data set is empty: the atlas needs images to show")
        return holdout
    raise TypeError(f"holdout must be a folder, a Dataset, a DataLoader, an image tensor (N, 3, H, W) or a tuple "
                    f"(images, labels); got {type(holdout).__name__}")


def _image(data, i: int) -> torch.Tensor:
    if isinstance(data, torch.Tensor):
        return data[i]
    if isinstance(data, tuple):
        return data[0][i]
    item = data[i]
    if item is None:
        raise ValueError(f"hold-out image {i} cannot be read")
    return item[0] if isinstance(item, (tuple, list)) else item


def _label_names(data, labels: torch.Tensor | None, model: nn.Module) -> list[str | None]:
    """The class name of each hold-out image (None where unlabelled)."""
    if labels is None:
        n = len(data) if not isinstance(data, tuple) else len(data[0])
        return [None] * n
    names = data_class_names(data)
    cats = model_categories(model)
    y = labels.tolist()
    if names is not None and not labels_are_outputs(data):
        return [names[v] if 0 <= v < len(names) else None for v in y]
    if cats:   # labels that are model outputs
        return [cats[v] if 0 <= v < len(cats) else str(v) for v in y]
    return [str(v) for v in y]


class _Pictures:
    """Normalised model inputs back to [0, 1] pixels, for display."""

    def __init__(self, model: nn.Module):
        spec = spec_of(model)
        info = getattr(model, INFO_ATTR, None) or {}
        mean = spec.mean if spec is not None and spec.mean is not None else info.get("mean")
        std = spec.std if spec is not None and spec.std is not None else info.get("std")
        self.stats = (torch.tensor(mean).reshape(-1, 1, 1), torch.tensor(std).reshape(-1, 1, 1)) \
            if mean is not None and std is not None else None

    def __call__(self, x: torch.Tensor) -> np.ndarray:
        x = x.detach().float().cpu()
        if self.stats is not None and x.shape[0] == len(self.stats[0]):
            x = x * self.stats[1] + self.stats[0]
        else:   # a model that does not say how its inputs are scaled: stretch each image to [0, 1]
            x = (x - x.min()) / (x.max() - x.min()).clamp(min=1e-12)
        x = x.clamp(0, 1)
        if x.shape[0] == 1:
            x = x.expand(3, -1, -1)
        return x[:3].permute(1, 2, 0).numpy()


def _jpeg(arr: np.ndarray, px: int) -> bytes:
    """An H x W x 3 picture in [0, 1] as a JPEG whose longer side is ``px``."""
    from PIL import Image

    im = Image.fromarray((np.clip(arr, 0, 1) * 255).round().astype(np.uint8))
    w, h = im.size
    s = px / max(w, h)
    im = im.resize((max(1, round(w * s)), max(1, round(h * s))), Image.LANCZOS if s < 1 else Image.BICUBIC)
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=82, optimize=True)
    return buf.getvalue()


def _overlay(pic: np.ndarray, m: np.ndarray) -> np.ndarray:
    """A saliency map over its image: the map divided by its 99th percentile, in matplotlib's
    inferno colours, half over the image dimmed to gray."""
    from matplotlib import colormaps

    top = float(np.percentile(m, 99)) if m.size else 0.0
    m = np.clip(m / top, 0, 1) if top > 0 else np.zeros_like(m)
    heat = colormaps["inferno"](m)[..., :3]
    gray = pic.mean(axis=2, keepdims=True)
    return 0.35 * gray + 0.65 * heat


# ---------------------------------------------------------------------------------------
# checks made before any heavy work
# ---------------------------------------------------------------------------------------


def _check_out(out: Path, overwrite: bool) -> None:
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"{out} is a file, not a folder: choose another out_dir for the atlas")
    if out.is_dir() and any(out.iterdir()):
        if not overwrite:
            raise FileExistsError(f"{out} exists and is not empty: pass overwrite=True to replace it, or choose "
                                  f"another out_dir")
        meta = out / "atlas.json"
        try:
            ours = json.loads(meta.read_text()).get("format") == FORMAT
        except (OSError, ValueError, AttributeError):
            ours = False
        if not ours:
            raise FileExistsError(f"{out} is not an atlas written by sevec_helpers (no atlas.json of format "
                                  f"{FORMAT!r}): overwrite=True replaces only an earlier atlas; choose another out_dir")


def _check_int(name: str, v, lo: int = 1) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or int(v) < lo:
        raise ValueError(f"{name} must be an integer >= {lo}, got {v!r}")
    return int(v)


def _map_layers(map_layer, layers: list[str]) -> list[str] | None:
    if map_layer is None:
        return None
    prefs = [map_layer] if isinstance(map_layer, str) else list(map_layer)
    unknown = [m for m in prefs if m not in layers]
    if unknown:
        raise ValueError(f"map_layer {unknown[0]!r} is not a layer of the SeVecs given (their layers: "
                         f"{', '.join(layers)})")
    return prefs


def _check_classes(model: nn.Module, fams: list[_Family], concepts: list[_Concept], drawn: dict) -> None:
    """A class concept's map is the map of that class: the model must have it (by name)."""
    for fi, f in enumerate(fams):
        if f.role != "class":
            continue
        rows = [r for c in concepts for layer in drawn.get(c.slug, ()) for (g, r) in [c.at[layer]] if g == fi]
        if not rows:
            continue
        try:
            f.outputs = outputs_of(f.sv.names, model)
        except ValueError as e:
            raise ValueError(f"the maps of class concepts are the semantic maps of their classes, and {e}; or pass "
                             f"method=None for an atlas without maps") from None
        missing = [f.sv.names[r] for r in sorted(set(rows)) if not f.outputs[r]]
        if missing:
            cats = model_categories(model) or []
            shown = ", ".join(repr(m) for m in missing[:6]) + (f" and {len(missing) - 6} more" if len(missing) > 6 else "")
            raise ValueError(f"{model_label(model)} has no class named {shown} (its {len(cats)} categories include "
                             f"{', '.join(repr(c) for c in cats[:5])}): the map of a class concept is the semantic "
                             f"map of that class, so the model must have it. Fit the SeVecs on classes the model "
                             f"has, describe the model's classes (sevec_helpers.describe_model(model, "
                             f"categories=...)), or pass method=None for an atlas without maps")


# ---------------------------------------------------------------------------------------
# the atlas
# ---------------------------------------------------------------------------------------


def write_atlas(model: nn.Module, sevecs, holdout, out_dir: str | os.PathLike, *, low_level=None,
                concepts: Sequence[str] | None = None, random_sets: int | None = None, pool=None, k: int = 6,
                n_maps: int | None = None, method: str | None = "guided_backprop", map_layer=None,
                threshold: float = 0.5, related: int = 5, explain_top: int = 3, title: str | None = None,
                overwrite: bool = False, progress: bool = True, batch_size: int = 64, cache=None,
                allow_unguided: bool = False, check_provenance: bool = True, alpha: float = 0.05,
                seed: int = 0, thumb_px: int = 112) -> Path:
    """Write a concept atlas of fitted SeVecs: a static report that opens offline from the file
    system (``index.html``, one page per concept, JPEG thumbnails and maps, ``atlas.json`` and
    ``atlas.csv``). See the module docstring for what each concept's page shows.

    Parameters
    ----------
    model : torch.nn.Module
        The classifier the SeVecs were fitted on (a model from :func:`sevec_helpers.load_model` or
        described with :func:`sevec_helpers.describe_model`; it is not moved).
    sevecs : SemanticVectors, dict or list of them
        The concepts to show, at one layer or several (``fit_sevecs(..., layers=[...])`` returns a
        dict). SeVecs of kind "classes" (or no kind) are classes of the model: their maps are the
        semantic maps of those classes, and low-level concepts explain their images.
    holdout : folder, Dataset, DataLoader, tensor (N, 3, H, W) or (images, labels)
        The hold-out images to rank. A folder is read with the model's transform: class folders
        (``root/<class>/<image>``, labelled by folder name) or images directly in it (unlabelled).
        Labels named like a concept give its precision@k and its images for Table 3.
    out_dir : path-like
        The report's folder; it must not exist or be empty (or hold an earlier atlas, with
        ``overwrite=True``).
    low_level : SemanticVectors, dict or list of them, optional
        Low-level concepts (textures, materials, colours): shown with pages of their own, and
        explaining the class concepts' images at the layers they share.
    concepts : sequence of str, optional
        Only these concepts get pages (names; default all). The others still count as
        neighbours and explanations.
    random_sets : int, optional
        With R, each concept's precision@k is tested against R random SeVecs of its size
        (:func:`sevec_helpers.sevecs.significance.null_sevecs`, drawn from ``pool``), Holm-corrected
        over the concepts of one kind at one layer (t test; level ``alpha``).
    pool : folder, Dataset or tensor, optional
        The images random sets are drawn from (e.g. the fitting images); default the hold-out
        images themselves.
    k : int
        Top and bottom images per concept and layer (precision@k is over the top ``k``).
    n_maps : int, optional
        How many of the top images get a map (default ``k``; 0: none).
    method : {"guided_backprop", "gradient_x_input", "vanilla_gradient"} or None
        The maps (None: no maps; then the model need not have the classes of the class concepts).
    map_layer : str or sequence of str, optional
        Where maps are drawn: at the first of these layers a concept has a SeVec at (one map
        layer per concept, in this order of preference); default at every layer.
    threshold : float
        The mask 1[r > threshold] (the maps, and the units counted as the mask).
    related, explain_top : int
        Nearest concepts listed per layer and kind; low-level concepts per image in Table 3.
    title : str, optional
        The report's title (default "Concept atlas of <model name>").
    overwrite : bool
        Replace an earlier atlas in ``out_dir``.
    progress : bool
        Progress bars (tqdm) on the feature passes, maps and images.
    batch_size : int
        Images per forward or backward pass.
    cache : DiskCache, optional
        Features and predictions stored for this model and data are read back (and stored).
    allow_unguided, check_provenance
        As in :func:`sevec_helpers.attribute`: Guided Backprop on activations it cannot guide
        (warning); SeVecs of another model or input size (warning instead of refusal).
    alpha, seed
        The significance level after correction; the random sets' draw.
    thumb_px : int
        The longer side of the thumbnails and maps, in pixels.

    Returns
    -------
    pathlib.Path
        ``out_dir/index.html``.

    Raises
    ------
    ValueError
        SeVecs of another model, layer or input size; an unknown concept; an empty hold-out
        folder or data set; a class concept whose class the model does not have (for its map);
        bad sizes.
    FileExistsError
        ``out_dir`` exists and is not empty (and not an earlier atlas with ``overwrite=True``).
    FileNotFoundError
        The hold-out folder does not exist.
    """
    out = Path(out_dir).expanduser()
    _check_out(out, overwrite)
    k = _check_int("k", k)
    n_maps = k if n_maps is None else _check_int("n_maps", n_maps, 0)
    if n_maps > k:
        raise ValueError(f"n_maps={n_maps} but only the top k={k} images are shown; pick n_maps <= k")
    related = _check_int("related", related, 0)
    explain_top = _check_int("explain_top", explain_top)
    thumb_px = _check_int("thumb_px", thumb_px, 16)
    if method is not None and method not in MAP_METHODS:
        hint = " (the gradient's id is 'vanilla_gradient')" if method == "gradient" else ""
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(MAP_METHODS)}{hint}, or None for no maps")
    if random_sets is not None:
        random_sets = _check_int("random_sets", random_sets, 2)
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")

    fams = _families(sevecs, low_level)
    for f in fams:
        f.sv.check_model(model, what=f"the {f.kind} SeVecs at {f.sv.layer!r}", strict=check_provenance)
    layers = list(dict.fromkeys(f.sv.layer for f in fams))
    chosen = _concepts(fams, concepts)
    prefs = _map_layers(map_layer, layers)
    drawn: dict[str, list[str]] = {}   # concept slug -> the layers its maps are drawn at
    if method is not None and n_maps > 0:
        for c in chosen:
            if prefs is None:
                drawn[c.slug] = [layer for layer in layers if layer in c.at]
            else:
                first = next((p for p in prefs if p in c.at), None)
                drawn[c.slug] = [first] if first is not None else []
        _check_classes(model, fams, chosen, drawn)
    data = _holdout_data(holdout, model)

    # --- features, scores, predictions -------------------------------------------------
    run = dict(batch_size=batch_size, progress=progress)
    feats: dict[str, Features] = {}
    for layer in layers:
        feats[layer] = extract_features(model, data, layer, cache=cache, **run)
    n = len(next(iter(feats.values())).values)
    labels = next(iter(feats.values())).labels
    for f in fams:
        fv = feats[f.sv.layer]
        if fv.values.shape[1] != f.sv.dim:
            raise ValueError(f"the {f.kind} SeVecs have {f.sv.dim} units, but layer {f.sv.layer!r} of "
                             f"{model_label(model)} has {fv.values.shape[1]}: they belong to another layer or model; "
                             f"fit them at this layer of this model")
        f.scores = f.sv.scores(fv, check_provenance=check_provenance)
    if not 1 <= k <= n:
        raise ValueError(f"k={k} but the hold-out data has {n} images; pick 1 <= k <= {n}")
    label_names = _label_names(data, labels, model)
    try:
        preds = predict(model, data, batch_size=batch_size, progress=progress, cache=cache).top5[:, 0]
    except ValueError:   # labels the model cannot score (e.g. texture folders): predict the images alone
        preds = predict(model, _unlabelled(data), batch_size=batch_size, progress=progress).top5[:, 0]
    cats = model_categories(model)
    pred_names = [cats[p] if cats and 0 <= p < len(cats) else str(p) for p in preds.tolist()]

    # --- per concept and layer -------------------------------------------------------
    holdout_names = set(v for v in label_names if v is not None)
    sig = _significance(fams, feats, pool, model, random_sets, label_names, k, alpha, seed, run, cache) \
        if random_sets is not None else {}
    records = []
    for c in chosen:
        rec = {"name": c.name, "kind": c.kind, "role": c.role, "page": f"concepts/{c.slug}.html", "layers": {}}
        for layer in layers:
            if layer not in c.at:
                continue
            fi, r = c.at[layer]
            f = fams[fi]
            rec["layers"][layer] = _layer_record(c, f, fi, r, feats[layer], fams, label_names, holdout_names, k,
                                                 threshold, related, explain_top, sig)
        records.append(rec)

    # --- the report, written into a temporary folder ------------------------------------
    tmp = atomic_folder(out)
    try:
        (tmp / "img").mkdir()
        (tmp / "maps").mkdir()
        (tmp / "concepts").mkdir()
        pic = _Pictures(model)
        written: set[int] = set()

        def thumb(i: int, x: torch.Tensor | None = None) -> str:
            name = f"img/{i:05d}.jpg"
            if i not in written:
                arr = pic(_image(data, i) if x is None else x)
                (tmp / name).write_bytes(_jpeg(arr, thumb_px))
                written.add(i)
            return name

        if drawn:
            _draw_maps(model, fams, chosen, records, drawn, data, preds, method, n_maps, threshold, batch_size,
                       allow_unguided, check_provenance, progress, tmp, thumb, pic, thumb_px)
        needed = sorted({e["image"] for rec in records for L in rec["layers"].values() for e in L["top"] + L["bottom"]})
        for i in tqdm(needed, disable=not progress, desc="thumbnails"):
            thumb(i)
        images = [{"index": i, "file": f"img/{i:05d}.jpg", "label": label_names[i], "predicted": pred_names[i]}
                  for i in sorted(written)]
        meta = {"format": FORMAT, "library_version": __version__,
                "title": title or f"Concept atlas of {model_label(model)}",
                "model": {"name": model_label(model), "fingerprint": model_fingerprint(model)},
                "holdout": {"images": n, "labelled": labels is not None,
                            "classes": sorted(holdout_names) if labels is not None else []},
                "layers": [{"layer": layer, "units": int(feats[layer].values.shape[1])} for layer in layers],
                "settings": {"k": k, "n_maps": n_maps if drawn else 0, "method": method if drawn else None,
                             "method_label": METHOD_LABELS.get(method, "") if drawn else "",
                             "map_layer": prefs, "threshold": threshold, "related": related, "explain_top": explain_top, "binarize": True,
                             "random_sets": random_sets, "pool": None if random_sets is None else
                             ("given" if pool is not None else "holdout"), "test": "t", "correction": "holm",
                             "alpha": alpha, "seed": seed, "thumb_px": thumb_px},
                "kinds": {f.kind: f.role for f in fams},
                "concepts": records, "images": images}
        _write_tables(tmp, meta)
        pages.write_pages(tmp, meta)
        os.chmod(tmp, 0o755)
        _replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out / "index.html"


def _unlabelled(data):
    if isinstance(data, tuple):
        return data[0]

    class _Images(Dataset):
        def __len__(self):
            return len(data)

        def __getitem__(self, i):
            return _image(data, i)

    return _Images() if not isinstance(data, torch.Tensor) else data


def _layer_record(c: _Concept, f: _Family, fi: int, r: int, feats: Features, fams: list[_Family],
                  label_names: list, holdout_names: set, k: int, threshold: float, n_related: int,
                  explain_top: int, sig: dict) -> dict:
    sv, s = f.sv, f.scores[:, r]
    top = sv.retrieve(feats, k)[r].tolist()              # exactly what retrieval returns
    bottom = s.topk(k, largest=False).indices.tolist()
    rates = sv.rates[r]
    rec = {"kind": f.kind, "row": r, "units": sv.dim, "diversity": float(sv.diversity[r]),
           "live": int(sv.counts[r]), "dead": int(sv.dead[r]),
           "mask_units": int((rates > threshold).sum()),
           "rate_profile": _profile(rates),
           "rate_quantiles": {q: float(torch.quantile(rates.float(), float(q))) for q in ("0.5", "0.9", "0.99")},
           "top": [{"image": int(i), "score": float(s[i]), "label": label_names[i]} for i in top],
           "bottom": [{"image": int(i), "score": float(s[i]), "label": label_names[i]} for i in bottom],
           "precision": None, "significance": sig.get((fi, r))}
    if c.name in holdout_names:
        rec["precision"] = float(np.mean([label_names[i] == c.name for i in top]))
    near = []   # the nearest of each kind at this layer (a texture's nearest classes are Fig. 5's question)
    for g in fams:
        if g.sv.layer == sv.layer and n_related:
            near += [{"name": name, "kind": g.kind, "relevance": v}
                     for name, v in sv.related(r, g.sv, top=n_related)]
    rec["related"] = near
    if c.role == "class":
        rec.update(_explained(c, f, r, feats, fams, label_names, top, explain_top))
    return rec


def _profile(rates: torch.Tensor, points: int = 64) -> list[float]:
    """The rates sorted from high to low, at ``points`` evenly spaced ranks (first and last kept)."""
    srt = torch.sort(rates.float(), descending=True).values
    if len(srt) <= points:
        return [round(float(v), 4) for v in srt]
    idx = torch.linspace(0, len(srt) - 1, points).round().long()
    return [round(float(v), 4) for v in srt[idx]]


def _explained(c: _Concept, f: _Family, r: int, feats: Features, fams: list[_Family], label_names: list,
               top: list[int], explain_top: int) -> dict:
    """Table 3: the low-level concepts closest to the class's hold-out images (or its top images)."""
    lows = [g for g in fams if g.role == "low-level" and g.sv.layer == f.sv.layer]
    if not lows:
        return {}
    own = [i for i, v in enumerate(label_names) if v == c.name]
    idx = own if own else list(top)
    rows = []
    for g in lows:
        top_n = min(explain_top, len(g.sv))
        why = g.sv.explain(feats.values[idx], top=top_n)
        counts: dict[str, list[float]] = {}
        for names, scores in zip(why.names, why.scores.tolist()):
            for name, v in zip(names, scores):
                counts.setdefault(name, []).append(v)
        for name, vs in counts.items():
            rows.append({"kind": g.kind, "name": name, "images": len(vs), "mean_score": float(np.mean(vs))})
    rows.sort(key=lambda e: (e["kind"], -e["images"], -e["mean_score"]))
    return {"explained_by": rows, "explained_images": idx, "explained_n": len(idx),
            "explained_what": "hold-out images of this class" if own else "its top images"}


def _significance(fams, feats, pool, model, random_sets, label_names, k, alpha, seed, run, cache) -> dict:
    """(family, row) -> the test of that concept's precision@k against random SeVecs of its size."""
    pool_data = None if pool is None else _holdout_data(pool, model)
    pools: dict[str, torch.Tensor] = {}
    out = {}
    for fi, f in enumerate(fams):
        rel = np.array([[v == name for name in f.sv.names] for v in label_names], dtype=bool)
        rows = np.flatnonzero(rel.any(0)).tolist()
        if not rows:
            continue
        if f.sv.layer not in pools:
            pools[f.sv.layer] = feats[f.sv.layer].values if pool_data is None else \
                extract_features(model, pool_data, f.sv.layer, cache=cache, **run).values
        pv = pools[f.sv.layer]
        sizes = S.concept_sizes(f.sv)
        if int(sizes.max()) > len(pv):
            raise ValueError(f"the {f.kind} SeVecs were fitted on up to {int(sizes.max())} images per concept, but the "
                             f"pool of random images holds {len(pv)}: pass a larger pool= (e.g. the fitting images)")
        nulls = S.null_sevecs(pv, f.sv, random_sets, seed=seed)
        res = S.retrieval_significance(f.sv, nulls, feats[f.sv.layer], rel, k=k, concepts=rows, alpha=alpha, test="t",
                                       correction="holm", warn=False)
        need = S.needed_random_sets(len(rows), alpha, "t")
        for j, r in enumerate(rows):
            out[(fi, r)] = {"p": float(res.p[j]), "p_adjusted": float(res.p_adjusted[j]),
                            "significant": bool(res.significant[j]), "null_mean": float(res.null_mean[j]),
                            "direction": "above" if res.above[j] else "below", "random_sets": random_sets,
                            "tests": len(rows), "enough_random_sets": random_sets >= need}
    return out


def _draw_maps(model, fams, chosen, records, drawn, data, preds, method, n_maps, threshold, batch_size,
               allow_unguided, check_provenance, progress, tmp, thumb, pic, thumb_px) -> None:
    """Every map of every concept, batched per family: (image, target, SeVec row) triples."""
    by_slug = {c.slug: (c, rec) for c, rec in zip(chosen, records)}
    jobs: dict[int, list[tuple]] = {}
    for c in chosen:
        for layer in drawn.get(c.slug, []):
            fi, r = c.at[layer]
            f = fams[fi]
            entry = by_slug[c.slug][1]["layers"][layer]
            outs = f.outputs[r] if f.role == "class" else None
            if f.role == "class" and len(outs) != 1:
                entry["map_note"] = (f"no map: the model has {len(outs)} classes named {c.name!r}, so which class's "
                                     f"map to draw is not known")
                continue
            entry["map_layer"] = layer
            entry["map_target"] = "class" if f.role == "class" else "predicted"
            for rank, e in enumerate(entry["top"][:n_maps]):
                target = outs[0] if outs is not None else int(preds[e["image"]])
                jobs.setdefault(fi, []).append((e["image"], target, r, e, f"maps/{c.slug}-{slug(layer)}-{rank + 1}.jpg"))
    total = sum(len(v) for v in jobs.values())
    bar = tqdm(total=total, disable=not progress, desc=f"maps ({METHOD_LABELS[method]})")
    cats = model_categories(model)
    try:
        for fi, todo in jobs.items():
            f = fams[fi]
            for s in range(0, len(todo), batch_size):
                part = todo[s : s + batch_size]
                x = check_images(torch.stack([_image(data, i) for i, *_ in part]))
                attr = attribute(model, x, [t for _, t, *_ in part], method, sevecs=f.sv,
                                 concepts=[r for _, _, r, *_ in part], threshold=threshold,
                                 allow_unguided=allow_unguided, check_provenance=check_provenance)
                maps = reduce_channels(attr).cpu().numpy()
                for j, (i, t, r, e, name) in enumerate(part):
                    p = pic(x[j])
                    thumb(i, x[j])
                    (tmp / name).write_bytes(_jpeg(_overlay(p, maps[j]), thumb_px))
                    e["map"] = name
                    e["map_class"] = cats[t] if cats and 0 <= t < len(cats) else str(t)
                bar.update(len(part))
    finally:
        bar.close()


def _write_tables(tmp: Path, meta: dict) -> None:
    (tmp / "atlas.json").write_text(json.dumps(meta, separators=(",", ":"), allow_nan=False))
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["concept", "kind", "layer", "units", "diversity", "live", "dead", "mask_units", "precision_at_k",
                "p", "p_adjusted", "significant", "direction", "top_images", "bottom_images", "nearest"])
    for rec in meta["concepts"]:
        for layer, L in rec["layers"].items():
            sg = L["significance"] or {}
            w.writerow([rec["name"], rec["kind"], layer, L["units"], repr(L["diversity"]), L["live"], L["dead"],
                        L["mask_units"], "" if L["precision"] is None else repr(L["precision"]),
                        repr(sg["p"]) if sg else "", repr(sg["p_adjusted"]) if sg else "",
                        sg.get("significant", ""), sg.get("direction", ""),
                        " ".join(str(e["image"]) for e in L["top"]), " ".join(str(e["image"]) for e in L["bottom"]),
                        "; ".join(f"{e['name']} ({e['kind']}) {e['relevance']:.4f}" for e in L["related"])])
    (tmp / "atlas.csv").write_text(buf.getvalue())


def _replace(tmp: Path, out: Path) -> None:
    """Move the finished report into place; an earlier atlas there is removed only after."""
    if out.is_dir() and any(out.iterdir()):
        old = tmp.with_name(tmp.name + "_old")   # a temporary's name: cleaned up if this process dies here
        os.replace(out, old)
        try:
            os.replace(tmp, out)
        except BaseException:
            os.replace(old, out)
            raise
        shutil.rmtree(old, ignore_errors=True)
    else:
        if out.is_dir():
            out.rmdir()
        os.replace(tmp, out)


def folder_size(path: str | os.PathLike) -> tuple[int, int]:
    """(bytes, files) of everything under ``path``."""
    files = [p for p in Path(path).rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files), len(files)


def summary(index: str | os.PathLike) -> str:
    """One line about a written atlas: its concepts, layers, images and size on disk."""
    root = Path(index).parent
    meta = json.loads((root / "atlas.json").read_text())
    size, files = folder_size(root)
    return (f"{len(meta['concepts'])} concepts at {len(meta['layers'])} layer(s) "
            f"({', '.join(L['layer'] for L in meta['layers'])}), {meta['holdout']['images']} hold-out images; "
            f"{files} files, {size / 1e6:.2f} MB")

