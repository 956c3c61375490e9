"""sevec_helpers: semantic vectors (SeVecs) for global and local interpretation of CNNs.

A re-implementation of Gu & Tresp, "Semantics for Global and Local Interpretation of Deep
Neural Networks". The modules form layers, each importing only those below it:

1. core: ``layers`` -> ``features`` -> ``accumulator`` -> ``sevec`` -> ``saliency``,
   ``editing`` (Table 1); ``pointing`` and ``metrics`` beside them; ``distributed``
   (torchrun) on top of ``sevec``;
2. data sources: ``models``, ``world`` (the embedded ConceptWorld), ``data`` (real data
   sets), ``photos``;
3. profiles: ``profiles`` (what a chapter runs on), ``cache``, ``train``;
4. book helpers: ``analysis``, ``scene_eval``, ``claims``, ``viz``, ``widgets``, ``chapters``;
5. the command line: ``cli`` (``sevec ...``).
"""

from ._version import __version__
from .accumulator import SeVecAccumulator
from .editing import EditResult, PerturbationResult, edit_study, perturbation_study
from .features import (
    Features,
    default_device,
    extract_features,
    model_device,
    replace_output,
    tap,
)
from .layers import LayerRef, layer_aliases, layer_names, resolve_layer
from .metrics import Accuracy, accuracy, predict
from .models import ModelSpec, available_models, load_model, register_model
from .pointing import (
    DEFAULT_ENERGIES,
    PointingResult,
    box_mask,
    centre_maps,
    generalized_pointing_game,
    pointing_game,
)
from .saliency import (
    METHODS,
    attribute,
    gradient_x_input,
    guided_backprop,
    saliency_map,
    vanilla_gradient,
)
from .sevec import Explanation, SemanticVectors, fit_sevecs

__all__ = [
    "__version__", "Features", "default_device", "extract_features", "model_device", "replace_output", "tap",
    "LayerRef", "layer_aliases", "layer_names", "resolve_layer", "Accuracy", "accuracy", "predict", "ModelSpec",
    "available_models", "load_model", "register_model", "DEFAULT_ENERGIES", "PointingResult", "box_mask",
    "centre_maps", "generalized_pointing_game", "pointing_game", "METHODS", "attribute", "gradient_x_input",
    "guided_backprop", "saliency_map", "vanilla_gradient", "EditResult", "Explanation", "PerturbationResult",
    "SemanticVectors", "SeVecAccumulator", "edit_study", "fit_sevecs", "perturbation_study",
]
