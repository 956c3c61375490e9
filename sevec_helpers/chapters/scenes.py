"""The scene pass that chapters 6 and 7 share: semantic saliency on every (scene, object) pair,
scored as it is made, computed once per study (cached on disk)."""

from __future__ import annotations

import numpy as np

from .. import scene_eval as E
from .._fingerprint import code_fingerprint, model_fingerprint, tensor_digest
from ..cache import dataset_fingerprint
from ..pointing import DEFAULT_ENERGIES
from ..profiles import Study

LAYER = "pool5"
ENERGIES = (0.0,) + tuple(float(e) for e in DEFAULT_ENERGIES)
METHODS = ("guided_backprop", "gradient_x_input")
CLASSIC_TOLERANCE = 15  # pixels at 224 px (Zhang et al. 2016); scaled to the image size


def tolerance(study: Study) -> float:
    return CLASSIC_TOLERANCE * study.spec.input_size / 224


def metrics(study: Study) -> E.SceneMetrics:
    """Per-pair energy shares, pointing-game hits and classic hits of every map (plain, semantic,
    and the two controls) for both methods, plus the centre baseline."""
    sv = study.sevecs("classes", LAYER)
    scenes = study.dataset("scenes")
    key = {"what": "scene_metrics", "model": model_fingerprint(study.model), "scenes": dataset_fingerprint(scenes),
           "sevecs": tensor_digest(sv.rates, sv.vectors)[:16], "energies": ENERGIES, "methods": METHODS,
           "tolerance": tolerance(study), "code": code_fingerprint(__name__, study.model)}

    def compute():
        m = E.scene_metrics(study.model, scenes, sv, ENERGIES, tolerance=tolerance(study), methods=METHODS,
                            batch_size=min(32, study.batch_size), progress=study.progress)
        return m.as_tensors()
    return E.SceneMetrics.from_tensors(study.cached("tensors", key, compute))


def multi_object_scenes(study: Study, n: int = 6) -> list[int]:
    """The first ``n`` scenes with at least two object classes (or any scenes, when none has two)."""
    scenes = study.dataset("scenes")
    two = [i for i in range(len(scenes)) if scenes[i] is not None and len(set(scenes[i][1]["labels"].tolist())) >= 2]
    return (two or [i for i in range(len(scenes)) if scenes[i] is not None])[:n]


def example_maps(study: Study, scene_ids) -> E.ScenePairs:
    """Every map of the pairs of a few scenes, for display (not cached: a handful of scenes)."""
    return E.scene_maps(study.model, study.dataset("scenes"), study.sevecs("classes", LAYER), scene_ids=list(scene_ids),
                        methods=METHODS, batch_size=16)


def panel(study: Study, pairs: E.ScenePairs, scene: int, names=None):
    """(image, {target name: {map name: map}}, {target name: boxes}) for one scene of ``pairs``."""
    names = names or [n for n in pairs.maps if "(" not in n]
    rows = np.flatnonzero(pairs.scene == scene)
    maps, boxes = {}, {}
    for r in rows:
        t = study.classes[int(pairs.target[r])]
        maps[t] = {n: pairs.maps[n][r].numpy() for n in names}
        boxes[t] = pairs.boxes[r]
    return study.image("scenes", scene), maps, boxes
