"""sevec_helpers: semantic vectors (SeVecs) for global and local interpretation of CNNs.

A re-implementation of Gu & Tresp, "Semantics for Global and Local Interpretation of Deep
Neural Networks". The names below are what a newcomer needs (``import sevec_helpers as sh``);
everything else is importable from its module. The package's folders are its layers, each
importing only those below it (``sevec_helpers._layout``; ``tests/test_architecture.py``):

"""

from sevec_helpers import _layout
from sevec_helpers._version import __version__
from sevec_helpers.attribution.saliency import (
    attribute,
    gradient_x_input,
    guided_backprop,
    reduce_channels,
    vanilla_gradient,
)
from sevec_helpers.core.features import Features, extract_features
from sevec_helpers.core.layers import layer_names
from sevec_helpers.evaluation.editing import PerturbationResult, perturbation_study
from sevec_helpers.evaluation.metrics import Accuracy, accuracy
from sevec_helpers.evaluation.pointing import (
    PointingResult,
    centre_maps,
    generalized_pointing_game,
    pointing_game,
)
from sevec_helpers.sevecs.fit import fit_sevecs
from sevec_helpers.sevecs.vectors import Explanation, SemanticVectors
from sevec_helpers.sources.models import describe_model, load_model

__all__ = [
    # models and layers
    "load_model", "describe_model", "layer_names",
    # semantic vectors (Sec. 3-4)
    "fit_sevecs", "SemanticVectors", "Explanation", "extract_features", "Features", "accuracy", "Accuracy",
    # editing a layer (Table 1)
    "perturbation_study", "PerturbationResult",
    # saliency and its semantic versions (Sec. 5)
    "attribute", "vanilla_gradient", "guided_backprop", "gradient_x_input", "reduce_channels",
    # the pointing game (Sec. 5.2)
    "generalized_pointing_game", "pointing_game", "PointingResult", "centre_maps",
    "__version__",
]

__doc__ += _layout.describe()
