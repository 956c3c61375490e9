"""sevec_helpers: semantic vectors (SeVecs) for global and local interpretation of CNNs.

A re-implementation of Gu & Tresp, "Semantics for Global and Local Interpretation of Deep
Neural Networks". The modules follow the data's path: world -> models -> features ->
sevec -> saliency -> pointing -> viz / widgets.
"""

from ._version import __version__
from .features import default_device, extract_features, replace_output, tap
from .layers import LayerRef, layer_aliases, layer_names, resolve_layer
from .models import ModelSpec, available_models, load_model, register_model
from .pointing import (
    DEFAULT_ENERGIES,
    PointingResult,
    box_mask,
    centre_maps,
    generalized_pointing_game,
    pointing_game,
)
from .saliency import gradient_x_input, guided_backprop, saliency_map, vanilla_gradient
from .sevec import (
    Explanation,
    PerturbationResult,
    SemanticVectors,
    SeVecAccumulator,
    fit_sevecs,
    perturbation_study,
)

__all__ = [
    "__version__", "default_device", "extract_features", "replace_output", "tap", "LayerRef", "layer_aliases",
    "layer_names", "resolve_layer", "ModelSpec", "available_models", "load_model", "register_model",
    "DEFAULT_ENERGIES", "PointingResult", "box_mask", "centre_maps", "generalized_pointing_game",
    "pointing_game", "gradient_x_input", "guided_backprop", "saliency_map", "vanilla_gradient", "Explanation",
    "PerturbationResult", "SemanticVectors", "SeVecAccumulator", "fit_sevecs", "perturbation_study",
]
