"""What chapters 6 and 7 share: the parameters both pass to
:func:`sevec_helpers.evaluation.localization.scene_metrics` (the loop over every (scene, object)
pair, cached, so chapter 7 reads what chapter 6 computed), and the few scenes the figures show."""

from __future__ import annotations

import numpy as np

from sevec_helpers.book.profiles import Study
from sevec_helpers.evaluation import localization as L
from sevec_helpers.evaluation.pointing import DEFAULT_ENERGIES

LAYER = "pool5"
ENERGIES = (0.0,) + tuple(float(e) for e in DEFAULT_ENERGIES)
METHODS = ("guided_backprop", "gradient_x_input")
CLASSIC_TOLERANCE = 15  # pixels at 224 px (Zhang et al. 2016); scaled to the image size


def tolerance(study: Study) -> float:
    """The classic game's tolerance in pixels at the study's input size (15 px at 224 px)."""
    return CLASSIC_TOLERANCE * study.spec.input_size / 224


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
