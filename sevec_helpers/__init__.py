"""sevec_helpers: semantic vectors (SeVecs) for global and local interpretation of CNNs.

A re-implementation of Gu & Tresp, "Semantics for Global and Local Interpretation of Deep
Neural Networks". The names below are what a newcomer needs (``import sevec_helpers as sh``);
everything else is importable from its module. The modules form layers, each importing
only those below it:

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
from .editing import PerturbationResult, perturbation_study
from .features import Features, extract_features
from .layers import layer_names
from .metrics import Accuracy, accuracy
from .models import load_model
from .pointing import PointingResult, centre_maps, generalized_pointing_game, pointing_game
from .saliency import attribute, gradient_x_input, guided_backprop, reduce_channels, vanilla_gradient
from .sevec import Explanation, SemanticVectors, fit_sevecs

__all__ = [
    # models and layers
    "load_model", "layer_names",
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
