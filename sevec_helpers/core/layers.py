"""Naming layers: module names, the aliases a model family defines, and call indices.

A layer is named the way ``model.named_modules()`` names it (``"features.30"``) or by an
alias that the model registry defines (``"pool5"``, ``"fc1"``, ``"fc2"``). A module that
runs more than once in one forward pass (one activation module reused in several places)
is addressed with a call index: ``"_swish@1"`` is its second call (0-based).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import torch
import torch.nn as nn

from sevec_helpers.core.inputs import INFO_ATTR, _StopForward, call_model, eval_mode, model_dtype

ALIAS_ATTR = "_sevec_aliases"
_RECTIFIERS = (nn.ReLU, nn.ReLU6)
# positive by construction, but not a rectifier: 1[phi(x) > 0] of these is all ones
_POSITIVE_SQUASHERS = (nn.Sigmoid, nn.Hardsigmoid, nn.Softmax, nn.Softmax2d, nn.Softplus)
# return their input unchanged in eval mode (as does any module returning its very input, not in place):
# the layer before them says the same
_PASS_THROUGH = tuple(getattr(nn, n) for n in ("Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout",
                                                "Identity", "ZeroPad1d", "ZeroPad2d", "ZeroPad3d", "ConstantPad1d",
                                                "ConstantPad2d", "ConstantPad3d") if hasattr(nn, n))


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


@dataclass
class LayerCall:
    """One call of a module in a forward pass, as :func:`survey` saw it."""

    name: str
    call: int
    calls: int = 1
    nonnegative: bool = False
    positive_squasher: bool = False
    pass_through: bool = False
    same_as: list = field(default_factory=list)

    @property
    def label(self) -> str:
        return self.name if self.calls == 1 else f"{self.name}@{self.call}"


def survey(model: nn.Module, x: torch.Tensor) -> list[LayerCall]:
    """Every module call of one forward pass of ``x`` (see :func:`module_calls`)."""
    return module_calls(model, x)[0]


def module_calls(model: nn.Module, x: torch.Tensor) -> tuple[list[LayerCall], dict[str, int]]:
    """Every module call of one forward pass of ``x``, in order: its label (``name@k`` for a
    module that runs several times) and whether its output is non-negative. A container whose
    output is the very tensor one of its modules returned (``layer4`` and ``layer4.1.relu@1``
    of a ResNet) is one entry under the container's name (the others in ``same_as``).
    Hooks are removed on every path; the model runs in eval mode, without gradients. Also
    returns how many times each module ran (those whose output is no tensor included)."""
    calls: list[LayerCall] = []
    count: dict[str, int] = {}
    last: dict[int, int] = {}   # id of an output tensor -> index in calls of the module that returned it

    def hook(name):
        def fn(module, inputs, out):
            k = count.get(name, 0)
            count[name] = k + 1
            if not isinstance(out, torch.Tensor) or not out.is_floating_point():
                return
            entry = LayerCall(name, k, nonnegative=bool((out >= 0).all()),
                              positive_squasher=isinstance(module, _POSITIVE_SQUASHERS),
                              pass_through=isinstance(module, _PASS_THROUGH) or (
                                  bool(inputs) and out is inputs[0] and not getattr(module, "inplace", False)))
            prev = last.get(id(out))
            if prev is not None and calls[prev] is not None and calls[prev].name.startswith(name + "."):
                inner = calls[prev]
                entry.same_as = [inner] + inner.same_as
                entry.positive_squasher = entry.positive_squasher or inner.positive_squasher
                calls[prev] = None
            last[id(out)] = len(calls)
            calls.append(entry)
        return fn

    handles = [m.register_forward_hook(hook(n)) for n, m in model.named_modules() if n]
    try:
        with eval_mode(model) as dev, torch.no_grad():
            call_model(model, x.to(dev, model_dtype(model)))
    except _StopForward:
        pass
    finally:
        for h in handles:
            h.remove()
    out = [c for c in calls if c is not None]
    for c in out:
        for d in [c] + c.same_as:
            d.calls = count.get(d.name, 1)
    return out, dict(count)


def _probe_input(model: nn.Module, example) -> torch.Tensor | None:
    if isinstance(example, torch.Tensor):
        return example
    if example is not None:
        shape = tuple(int(v) for v in example)
        return torch.randn((1,) + shape if len(shape) == 3 else shape, generator=torch.Generator().manual_seed(0))
    size = (getattr(model, INFO_ATTR, None) or {}).get("input_size")
    if not size:
        return None
    h, w = (size, size) if isinstance(size, int) else tuple(size)
    return torch.randn(1, 3, h, w, generator=torch.Generator().manual_seed(0))


def layer_names(model: nn.Module, example=None) -> list[str]:
    """Every name ``layer=`` accepts for ``model``.

    Parameters
    ----------
    model : torch.nn.Module
        Any network.
    example : torch.Tensor or tuple, optional
        An input batch (or its shape, e.g. ``(3, 224, 224)``) to run once, to see which modules
        run several times per forward pass. Default: for a model that carries its input size
        (:func:`load_model`, ``describe_model``), one random image of that size; otherwise the
        model is not run and no call index is shown.

    Returns
    -------
    list of str
        Its aliases first (``"pool5"``, ``"fc1"``, ``"fc2"`` where they exist), then its module
        names (``"features.30"``) in definition order. A module that runs several times per
        forward pass is listed as ``"name@0"``, ``"name@1"``, ... (its calls, 0-based; its bare
        name is ambiguous and refused), and a module that did not run is left out.
    """
    names = list(layer_aliases(model))
    modules = [n for n, _ in model.named_modules() if n]
    x = _probe_input(model, example)
    if x is None:
        return names + modules
    try:
        _, calls = module_calls(model, x)
    except Exception as e:
        if example is not None:
            raise
        warnings.warn(f"layer_names could not run {type(model).__name__} on a {tuple(x.shape)} input to find the "
                      f"modules that run several times ({e}); listing module names only (pass example=)",
                      UserWarning, stacklevel=2)
        return names + modules
    for n in modules:
        if n not in calls:
            continue
        k = calls[n]
        names += [n] if k == 1 else [f"{n}@{i}" for i in range(k)]
    return names


def nonnegative_layers(model: nn.Module, x: torch.Tensor) -> list[str]:
    """The layers whose outputs on ``x`` are non-negative (rectified): aliases first, then
    module labels in forward order (``name@k`` for a module that runs several times),
    leaving out sigmoid-like activations (positive by construction, so 1[phi(x) > 0] is all
    ones), dropout, identity and padding modules (the layer before them says the same) and
    modules an alias already names."""
    seen = survey(model, x)
    nonneg = [c for c in seen if c.nonnegative and not c.positive_squasher]
    labels = {lab for c in nonneg for lab in [c.label] + [d.label for d in c.same_as]}   # an alias may name a dropout
    ok = [c for c in nonneg if not c.pass_through]
    aliases = layer_aliases(model)
    out = [a for a, t in aliases.items() if t in labels]
    targets = set(aliases.values())
    out += [c.label for c in ok if not ({c.label} | {d.label for d in c.same_as}) & targets]
    return out


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
