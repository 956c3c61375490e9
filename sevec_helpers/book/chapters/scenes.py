"""The scene pass that chapters 6 and 7 share: the parameters both chapters pass to
:func:`sevec_helpers.evaluation.localization.scene_metrics` (the loop over every (scene, object)
pair), and that call with the study's disk cache, so the pass is computed once per study
and chapter 7 reads what chapter 6 computed. Also the few scenes the figures show."""

from __future__ import annotations

import numpy as np

from sevec_helpers.book.profiles import Study
from sevec_helpers.evaluation import localization as L
from sevec_helpers.evaluation.pointing import DEFAULT_ENERGIES
from sevec_helpers.sevecs.fit import fit_sevecs

LAYER = "pool5"
ENERGIES = (0.0,) + tuple(float(e) for e in DEFAULT_ENERGIES)
METHODS = ("guided_backprop", "gradient_x_input")
CLASSIC_TOLERANCE = 15  # pixels at 224 px (Zhang et al. 2016); scaled to the image size


def tolerance(study: Study) -> float:
    """The classic game's tolerance in pixels at the study's input size (15 px at 224 px)."""
    return CLASSIC_TOLERANCE * study.spec.input_size / 224


def metrics(study: Study) -> L.SceneMetrics:
    """The two calls chapters 6 and 7 show, made headless (their records call this)::

        sv5 = fit_sevecs(model, study.dataset("class_fit"), layer="pool5", cache=study.cache)
        m = scene_metrics(model, study.dataset("scenes"), sv5, ENERGIES, tolerance=tolerance(study),
                          methods=METHODS, batch_size=32, cache=study.cache)

    Same calls, same cache keys: whichever runs first computes the pass, the others read it."""
    model = study.model
    sv5 = fit_sevecs(model, study.dataset("class_fit"), layer=LAYER, cache=study.cache, progress=study.progress)
    return L.scene_metrics(model, study.dataset("scenes"), sv5, ENERGIES, tolerance=tolerance(study), methods=METHODS,
                           batch_size=32, progress=study.progress, cache=study.cache)


def multi_object_scenes(study: Study, n: int = 6) -> list[int]:
    """The first ``n`` scenes with at least two object classes (or any scenes, when none has two)."""
    scenes = study.dataset("scenes")
    two = [i for i in range(len(scenes)) if scenes[i] is not None and len(set(scenes[i][1]["labels"].tolist())) >= 2]
    return (two or [i for i in range(len(scenes)) if scenes[i] is not None])[:n]


def example_maps(study: Study, scene_ids) -> L.ScenePairs:
    """Every map of the pairs of a few scenes, for display (not cached: a handful of scenes)."""
    return L.scene_maps(study.model, study.dataset("scenes"), study.sevecs("classes", LAYER),
                        scene_ids=[int(i) for i in scene_ids], methods=METHODS, batch_size=16)


def panel(study: Study, pairs: L.ScenePairs, scene: int, names=None):
    """(image, {target name: {map name: map}}, {target name: boxes}) for one scene of ``pairs``."""
    names = names or [n for n in pairs.maps if "(" not in n]
    rows = np.flatnonzero(pairs.scene == scene)
    maps, boxes = {}, {}
    for r in rows:
        t = study.classes[int(pairs.target[r])]
        maps[t] = {n: pairs.maps[n][r].numpy() for n in names}
        boxes[t] = pairs.boxes[r]
    return study.image("scenes", scene), maps, boxes
