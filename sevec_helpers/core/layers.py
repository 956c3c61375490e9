"""Naming layers: module names, the aliases a model family defines, and call indices.

A layer is named the way ``model.named_modules()`` names it (``"features.30"``) or by an
alias that the model registry defines (``"pool5"``, ``"fc1"``, ``"fc2"``). A module that
runs more than once in one forward pass (one activation module reused in several places)
is addressed with a call index: ``"_swish@1"`` is its second call (0-based).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch.nn as nn

ALIAS_ATTR = "_sevec_aliases"
_RECTIFIERS = (nn.ReLU, nn.ReLU6)


@dataclass(frozen=True)
class LayerRef:
    """A resolved layer: its module name, the module, and which call of it (None = the only one)."""

    name: str
    module: nn.Module
    call: int | None = None

    @property
    def label(self) -> str:
        return self.name if self.call is None else f"{self.name}@{self.call}"


def infer_vgg_style_aliases(model: nn.Module) -> dict[str, str]:
    """Aliases for networks laid out like torchvision's VGG and AlexNet.

    ``pool5`` is the last max-pool of ``features``; ``fc1`` and ``fc2`` are the first and
    second rectifiers of ``classifier`` (the post-ReLU outputs of the first two fully
    connected layers). Returns {} for any other layout.
    """
    features = getattr(model, "features", None)
    classifier = getattr(model, "classifier", None)
    if not isinstance(features, nn.Sequential) or not isinstance(classifier, nn.Sequential):
        return {}
    aliases: dict[str, str] = {}
    pools = [i for i, m in enumerate(features) if isinstance(m, nn.MaxPool2d)]
    if pools:
        aliases["pool5"] = f"features.{pools[-1]}"
    relus = [i for i, m in enumerate(classifier) if isinstance(m, _RECTIFIERS)]
    for alias, idx in zip(("fc1", "fc2"), relus):
        aliases[alias] = f"classifier.{idx}"
    return aliases


def layer_aliases(model: nn.Module) -> dict[str, str]:
    """The aliases defined for ``model``: set by :func:`sevec_helpers.load_model`, else inferred."""
    explicit = getattr(model, ALIAS_ATTR, None)
    if explicit:
        return dict(explicit)
    return infer_vgg_style_aliases(model)


def layer_names(model: nn.Module) -> list[str]:
    """Every name ``layer=`` accepts for ``model``.

    Parameters
    ----------
    model : torch.nn.Module
        Any network.

    Returns
    -------
    list of str
        Its aliases first (``"pool5"``, ``"fc1"``, ``"fc2"`` where they exist), then its
        module names (``"features.30"``). A module called several times per forward pass
        also takes ``"name@k"`` (the k-th call).
    """
    names = list(layer_aliases(model))
    names += [n for n, _ in model.named_modules() if n]
    return names


def resolve_layer(model: nn.Module, layer: str | LayerRef) -> LayerRef:
    """Turn a module name, an alias, or ``name@k`` into a ``LayerRef`` (name, module, call).

    Raises ``ValueError`` listing the valid names when ``layer`` is unknown.
    """
    if isinstance(layer, LayerRef):
        return layer
    if not isinstance(layer, str) or not layer:
        raise ValueError(f"layer must be a non-empty string such as 'fc1' or 'features.30', got {layer!r}")
    aliases = layer_aliases(model)
    spec = aliases.get(layer, layer)
    name, call = spec, None
    if "@" in spec:
        name, _, idx = spec.rpartition("@")
        name = aliases.get(name, name)
        if not idx.isdigit():
            raise ValueError(f"layer {layer!r}: the call index after '@' must be a non-negative integer, e.g. 'act@1'")
        call = int(idx)
        if "@" in name:  # an alias that already carries a call index, used with another one
            raise ValueError(f"layer {layer!r} names a call index twice")
    modules = dict(model.named_modules())
    if not name or name not in modules:
        alias_txt = ", ".join(f"{a} -> {t}" for a, t in aliases.items()) or "none"
        mods = [n for n in modules if n]
        shown = ", ".join(mods[:60]) + (f", ... ({len(mods) - 60} more)" if len(mods) > 60 else "")
        raise ValueError(
            f"unknown layer {layer!r} for {type(model).__name__}. Aliases: {alias_txt}. "
            f"Module names: {shown}. Use sevec_helpers.layer_names(model) to list them all."
        )
    return LayerRef(name=name, module=modules[name], call=call)


def same_layer(model: nn.Module, a: str | LayerRef, b: str | LayerRef) -> bool:
    """Whether two names (module names, aliases, ``name@k``) point at the same layer of ``model``."""
    return resolve_layer(model, a).label == resolve_layer(model, b).label


def rectifier_modules(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The ReLU and ReLU6 modules of ``model`` (the places Guided Backprop changes the rule)."""
    return [(n, m) for n, m in model.named_modules() if isinstance(m, _RECTIFIERS)]
