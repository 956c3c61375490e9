"""Semantic saliency with Captum's interface: ``SemanticGuidedBackprop``,
``SemanticInputXGradient`` and ``SemanticSaliency``.

A Captum user writes ``GuidedBackprop(model).attribute(inputs, target=...)``; here the
semantic version (paper Sec. 5) is ``SemanticGuidedBackprop(model, "pool5", sv5).attribute(
inputs, target=...)``, with the same ``attribute`` signature and the same return shape, so it
can be composed with ``captum.attr.NoiseTunnel`` (SmoothGrad over semantic maps) and drawn
with ``captum.attr.visualization.visualize_image_attr``. The backward rules are those of
:func:`sevec_helpers.attribution.saliency.attribute`, called underneath: nothing is re-implemented here.

Captum is optional: these classes do not import it. They carry what Captum's wrappers read
from an attribution method (``forward_func``, ``has_convergence_delta()``,
``multiplies_by_inputs``, and ``attribute.__wrapped__``, which ``NoiseTunnel`` calls).
"""

from __future__ import annotations

import contextlib
import functools

import torch
import torch.nn as nn

from sevec_helpers.attribution.saliency import attribute as _attribute
from sevec_helpers.core.layers import same_layer
from sevec_helpers.sevecs.vectors import SemanticVectors

__all__ = ["SemanticGuidedBackprop", "SemanticInputXGradient", "SemanticSaliency"]


def _captum_attribute(fn):
    """Mark ``fn`` as an ``attribute`` method the way Captum's own are (``__wrapped__`` is the
    plain function; ``NoiseTunnel`` calls it to skip Captum's usage logging)."""

    @functools.wraps(fn)
    def attribute(self, *args, **kwargs):
        return fn(self, *args, **kwargs)

    return attribute


@contextlib.contextmanager
def _forward_args(model: nn.Module, args):
    """While active, ``model(x)`` runs ``model.forward(x, *args)`` (Captum's
    ``additional_forward_args``); the model's own forward comes back on exit, errors included."""
    if args is None:
        yield
        return
    args = args if isinstance(args, tuple) else (args,)
    had, saved = "forward" in model.__dict__, model.__dict__.get("forward")
    inner = model.forward
    model.__dict__["forward"] = lambda x: inner(x, *args)
    try:
        yield
    finally:
        if had:
            model.__dict__["forward"] = saved
        else:
            del model.__dict__["forward"]


def _expand_concepts(concepts, inputs):
    """Per-image ``concepts=`` for a batch that ``captum.attr.NoiseTunnel`` expanded: it repeats
    each image k times in a row (``repeat_interleave``) and expands ``target=`` so, but passes
    other keywords as they are; the concepts are expanded the same way."""
    if concepts is None or isinstance(concepts, (str, int)) or not isinstance(inputs, torch.Tensor):
        return concepts
    if isinstance(concepts, torch.Tensor):
        if concepts.dim() == 0:
            return concepts
        seq = concepts.reshape(-1).tolist()
    else:
        try:
            seq = list(concepts)
        except TypeError:
            return concepts
    n = inputs.shape[0]
    if len(seq) in (0, 1, n) or n % len(seq):
        return concepts
    k = n // len(seq)
    return [c for c in seq for _ in range(k)]


class _SemanticAttribution:
    """Shared by the three classes: the model, the mask layer and the SeVecs at construction;
    Captum's ``attribute(inputs, target=..., additional_forward_args=...)`` per call."""

    method = ""
    multiplies = False

    def __init__(self, model: nn.Module, layer: str | None, sevecs: SemanticVectors, *, threshold: float = 0.5,
                 by: str = "rate", allow_unguided: bool = False, check_provenance: bool = True):
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        if not isinstance(sevecs, SemanticVectors):
            raise TypeError(f"sevecs must be a SemanticVectors (from fit_sevecs), got {type(sevecs).__name__}")
        if check_provenance:  # as attribute() refuses them (the input size is checked per call)
            sevecs.check_model(model, strict=True)
        if layer is not None and sevecs.layer and not same_layer(model, layer, sevecs.layer):
            raise ValueError(f"the SeVecs were fitted at {sevecs.layer!r}, not at mask_layer={layer!r}")
        if layer is None and not sevecs.layer:
            raise ValueError("the SeVecs carry no layer name; pass the mask layer")
        self.forward_func = model
        self.layer = layer
        self.sevecs = sevecs
        self.threshold, self.by = threshold, by
        self.allow_unguided, self.check_provenance = allow_unguided, check_provenance

    def has_convergence_delta(self) -> bool:
        """False: like Captum's gradient methods, there is no convergence delta."""
        return False

    @property
    def multiplies_by_inputs(self) -> bool:
        """Whether the attribution is multiplied by the input (True for Input x Gradient)."""
        return self.multiplies

    def __repr__(self) -> str:
        return f"{type(self).__name__}({type(self.forward_func).__name__}, mask at {self.layer or self.sevecs.layer!r})"

    def _run(self, inputs, target, additional_forward_args, concepts) -> torch.Tensor | tuple[torch.Tensor]:
        as_tuple = isinstance(inputs, tuple)
        if as_tuple:
            if len(inputs) != 1:
                raise TypeError(f"{type(self).__name__} takes one input tensor of images (N, 3, H, W) (or a tuple "
                                f"holding one), got a tuple of {len(inputs)}")
            inputs = inputs[0]
        if target is None:
            raise ValueError(f"{type(self).__name__}.attribute needs target=: the semantic mask is the SeVec mask of "
                             f"the target class (an int, a class name, or one per image)")
        concepts = _expand_concepts(concepts, inputs)
        with _forward_args(self.forward_func, additional_forward_args):
            out = _attribute(self.forward_func, inputs, target, self.method, sevecs=self.sevecs, concepts=concepts,
                             mask_layer=self.layer, threshold=self.threshold, by=self.by,
                             allow_unguided=self.allow_unguided, check_provenance=self.check_provenance)
        return (out,) if as_tuple else out


_INIT_DOC = """
    Parameters
    ----------
    model : torch.nn.Module
        A classifier returning logits (N, num_classes); it is not moved.
    layer : str or None
        The mask layer (pool5 in the paper); None: the layer the SeVecs were fitted at.
    sevecs : SemanticVectors
        Class SeVecs fitted on this model at ``layer``, of any subset of its classes: each
        target's SeVec is found by name, as in :func:`sevec_helpers.attribution.saliency.attribute`.
    threshold, by : float, {"rate", "vector"}
        The mask is 1[rate > threshold] (default) or 1[vector > threshold].
    allow_unguided, check_provenance : bool
        As in :func:`sevec_helpers.attribution.saliency.attribute`.

    Raises
    ------
    TypeError
        ``sevecs`` is not a SemanticVectors.
    ValueError
        SeVecs of another model or another layer, refused as
        :func:`sevec_helpers.attribution.saliency.attribute` refuses them.
"""

_ATTR_DOC = """
        Parameters
        ----------
        inputs : torch.Tensor or tuple of one tensor
            Normalised images (N, 3, H, W).
        target : int, str, sequence or tensor
            The target class (its logit is explained, its SeVec gives the mask), or one per image.
        additional_forward_args : any, optional
            Further arguments of ``model.forward`` after the images (a tuple, or one value).
        concepts : optional
            Mask with these SeVec rows instead of the target's (names or rows; one or one per image;
            under ``captum.attr.NoiseTunnel``, one per original image: expanded with the batch).

        Returns
        -------
        torch.Tensor or tuple of one tensor
            Shaped like ``inputs`` (a tuple if ``inputs`` was one), on the inputs' device.

        Raises
        ------
        ValueError, TypeError
            As :func:`sevec_helpers.attribution.saliency.attribute`; no target; a tuple of several inputs.
"""


class SemanticGuidedBackprop(_SemanticAttribution):
    __doc__ = ("Semantic Guided Backprop with Captum's interface: Guided Backprop whose gradient at the mask layer "
               "is multiplied by the target class's SeVec mask.\n" + _INIT_DOC)
    method = "guided_backprop"

    @_captum_attribute
    def attribute(self, inputs, target=None, additional_forward_args=None, *, concepts=None):
        return self._run(inputs, target, additional_forward_args, concepts)

    attribute.__doc__ = "Semantic Guided Backprop of ``target`` (as ``captum.attr.GuidedBackprop.attribute``).\n" + \
        _ATTR_DOC


class SemanticInputXGradient(_SemanticAttribution):
    __doc__ = ("Semantic Gradient*Input with Captum's interface (as ``captum.attr.InputXGradient``): the input "
               "times the gradient masked at the mask layer by the target's SeVec mask.\n" + _INIT_DOC)
    method = "gradient_x_input"
    multiplies = True

    @_captum_attribute
    def attribute(self, inputs, target=None, additional_forward_args=None, *, concepts=None):
        return self._run(inputs, target, additional_forward_args, concepts)

    attribute.__doc__ = "Semantic Gradient*Input of ``target`` (as ``captum.attr.InputXGradient.attribute``).\n" + \
        _ATTR_DOC


class SemanticSaliency(_SemanticAttribution):
    __doc__ = ("Semantic vanilla gradient with Captum's interface (as ``captum.attr.Saliency``; like it, "
               "``attribute`` returns the absolute value unless ``abs=False``).\n" + _INIT_DOC)
    method = "vanilla_gradient"

    @_captum_attribute
    def attribute(self, inputs, target=None, abs: bool = True, additional_forward_args=None, *, concepts=None):
        out = self._run(inputs, target, additional_forward_args, concepts)
        if not abs:
            return out
        return tuple(t.abs() for t in out) if isinstance(out, tuple) else out.abs()

    attribute.__doc__ = ("The semantic gradient of ``target`` (as ``captum.attr.Saliency.attribute``; ``abs=True``, "
                         "Captum's default, returns its absolute value).\n" + _ATTR_DOC.replace(
                             "        additional_forward_args", "        abs : bool\n            Return the absolute "
                             "value (Captum's default) or the signed gradient.\n        additional_forward_args", 1))
