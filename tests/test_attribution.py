"""The Captum-compatible semantic attributions (issue 21): with an all-ones mask each class is
exactly Captum's own plain method; they compose with NoiseTunnel and Captum's visualiser;
they work without Captum; SeVecs of another model or layer are refused as attribute() does."""

import copy
import subprocess
import sys

import matplotlib
import pytest
import torch
import torch.nn as nn
from captum.attr import GuidedBackprop, InputXGradient, NoiseTunnel, Saliency
from captum.attr import visualization as captum_viz

import sevec_helpers as sh
from sevec_helpers.attribution.captum import SemanticGuidedBackprop, SemanticInputXGradient, SemanticSaliency
from sevec_helpers.sources.world import ObjectsDataset

matplotlib.use("Agg")

PAIRS = [(SemanticGuidedBackprop, GuidedBackprop, "guided_backprop"),
         (SemanticInputXGradient, InputXGradient, "gradient_x_input"),
         (SemanticSaliency, Saliency, "vanilla_gradient")]


@pytest.fixture(scope="module")
def setup():
    model, spec = sh.load_model("vgg_mini")
    ds = ObjectsDataset(split="test", per_class=1, transform=spec.transform)
    x = torch.stack([ds[i][0] for i in range(3)])
    t = torch.tensor([ds[i][1] for i in range(3)])
    fit = ObjectsDataset(split="train", per_class=3, transform=spec.transform)  # other images than x
    sv5 = sh.fit_sevecs(model, fit, "pool5", progress=False)
    return model, spec, x, t, sv5


def _all_ones(k, d, layer="pool5"):
    return sh.SemanticVectors(vectors=torch.full((k, d), d ** -0.5), rates=torch.ones(k, d),
                              counts=torch.ones(k, dtype=torch.long), dead=torch.zeros(k, dtype=torch.long),
                              names=[str(i) for i in range(k)], layer=layer, diversity=torch.zeros(k))


@pytest.mark.parametrize("ours,theirs,method", PAIRS)
def test_all_ones_mask_is_exactly_captums_plain_method(setup, ours, theirs, method):
    model, _, x, t, sv5 = setup
    ones = _all_ones(len(sv5), sv5.dim)
    kw = {"abs": False} if theirs is Saliency else {}
    a = ours(model, "pool5", ones).attribute(x, target=t, **kw)
    b = theirs(model).attribute(x, target=t, **kw)
    assert a.shape == x.shape and torch.equal(a, b)
    if theirs is Saliency:  # Captum's default abs=True, the same here
        assert torch.equal(ours(model, None, ones).attribute(x, target=t), Saliency(model).attribute(x, target=t))
    # composed with NoiseTunnel: the same noise (same seed) gives exactly Captum's SmoothGrad
    torch.manual_seed(0)
    a = NoiseTunnel(ours(model, "pool5", ones)).attribute(x, nt_type="smoothgrad", nt_samples=3, stdevs=0.1, target=t)
    torch.manual_seed(0)
    b = NoiseTunnel(theirs(model)).attribute(x, nt_type="smoothgrad", nt_samples=3, stdevs=0.1, target=t)
    assert torch.equal(a, b)
    assert all(not m._forward_hooks and not m._backward_hooks for m in model.modules())


@pytest.mark.parametrize("ours,theirs,method", PAIRS)
def test_fitted_sevecs_give_attributes_semantic_version(setup, ours, theirs, method):
    model, _, x, t, sv5 = setup
    kw = {"abs": False} if ours is SemanticSaliency else {}
    a = ours(model, "pool5", sv5).attribute(x, target=t, **kw)
    ref = sh.attribute(model, x, t, method, sevecs=sv5)
    assert torch.equal(a, ref)
    plain = theirs(model).attribute(x, target=t, **kw)
    assert (a - plain).abs().max() > 0.05 * plain.abs().max()  # the mask changes the map
    (tup,) = ours(model, "pool5", sv5).attribute((x,), target=t, **kw)  # a tuple in, a tuple out
    assert torch.equal(tup, ref)
    alt = ours(model, "pool5", sv5).attribute(x, target=t, concepts="zebra", **kw)
    assert torch.equal(alt, sh.attribute(model, x, t, method, sevecs=sv5, concepts="zebra"))
    nt = NoiseTunnel(ours(model, "pool5", sv5))
    assert nt.multiplies_by_inputs == (method == "gradient_x_input") and not nt.is_delta_supported
    smooth = nt.attribute(x, nt_type="smoothgrad_sq", nt_samples=2, stdevs=0.05, target=t)
    assert smooth.shape == x.shape and torch.isfinite(smooth).all()


def test_captums_visualiser_takes_the_maps(setup):
    model, spec, x, t, sv5 = setup
    attr = SemanticGuidedBackprop(model, "pool5", sv5).attribute(x[:1], target=t[:1])
    img = spec.denormalize(x[:1])[0].clamp(0, 1).permute(1, 2, 0).numpy()
    fig, ax = captum_viz.visualize_image_attr(attr[0].permute(1, 2, 0).numpy(), img, method="blended_heat_map",
                                              sign="absolute_value", use_pyplot=False)
    assert isinstance(fig, matplotlib.figure.Figure) and ax.images
    fig, _ = captum_viz.visualize_image_attr_multiple(attr[0].permute(1, 2, 0).numpy(), img,
                                                      ["original_image", "heat_map"], ["all", "absolute_value"],
                                                      use_pyplot=False)
    assert len(fig.axes) >= 2


def _message(fn):
    with pytest.raises(ValueError) as e:
        fn()
    return str(e.value)


def test_sevecs_of_another_model_or_layer_are_refused_as_attribute_refuses_them(setup):
    model, _, x, t, sv5 = setup
    other = copy.deepcopy(model)
    with torch.no_grad():
        next(other.parameters()).add_(0.01)
    for cls, _, method in PAIRS:
        want = _message(lambda: sh.attribute(other, x, t, method, sevecs=sv5))
        assert "do not fit" in want and _message(lambda: cls(other, "pool5", sv5)) == want
        want = _message(lambda: sh.attribute(model, x, t, method, sevecs=sv5, mask_layer="fc1"))
        assert "not at mask_layer='fc1'" in want and _message(lambda: cls(model, "fc1", sv5)) == want
        with pytest.raises(TypeError, match="sevecs must be a SemanticVectors"):
            cls(model, "pool5", sv5.vectors)
        with pytest.raises(ValueError, match="needs target="):
            cls(model, "pool5", sv5).attribute(x)
        with pytest.raises(TypeError, match="one input tensor"):
            cls(model, "pool5", sv5).attribute((x, x), target=t)
    with pytest.warns(UserWarning, match="check_provenance=False"):
        SemanticGuidedBackprop(other, "pool5", sv5, check_provenance=False).attribute(x, target=t)


class Scaled(nn.Module):
    """forward(x, scale): a model with an extra forward argument (Captum's additional_forward_args)."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.lin, self.act, self.head = nn.Linear(12, 6), nn.ReLU(), nn.Linear(6, 3)

    def forward(self, x, scale):
        return self.head(self.act(self.lin(x.flatten(1) * scale)))


class Fixed(nn.Module):
    def __init__(self, inner, scale):
        super().__init__()
        self.inner, self.scale = inner, scale

    def forward(self, x):
        return self.inner(x, self.scale)


def test_additional_forward_args_reach_the_model_and_forward_is_restored():
    net = Scaled().eval()
    x = torch.rand(5, 3, 2, 2) + 0.1
    y = torch.tensor([0, 1, 2, 0, 1])
    sv = sh.fit_sevecs(Fixed(net, 2.0), (x, y), "inner.act", progress=False)
    sv_local = sh.SemanticVectors(vectors=sv.vectors, rates=sv.rates, counts=sv.counts, dead=sv.dead, names=sv.names,
                                  layer="act", diversity=sv.diversity)
    a = SemanticInputXGradient(net, "act", sv_local).attribute(x, target=y, additional_forward_args=2.0)
    b = sh.gradient_x_input(Fixed(net, 2.0), x, y, sevecs=sv)
    assert torch.allclose(a, b, atol=1e-7) and "forward" not in net.__dict__
    c = SemanticInputXGradient(net, "act", sv_local).attribute(x, target=y, additional_forward_args=(3.0,))
    assert not torch.allclose(a, c)
    with pytest.raises(TypeError):  # the model needs its argument: the failure passes through, forward restored
        SemanticInputXGradient(net, "act", sv_local).attribute(x, target=y)
    assert "forward" not in net.__dict__


def test_the_classes_work_without_captum_installed():
    code = ("import sys; sys.modules['captum'] = None\n"  # any import of captum now fails
            "import torch, sevec_helpers as sh\n"
            "from sevec_helpers.attribution.captum import SemanticGuidedBackprop, SemanticSaliency\n"
            "from sevec_helpers.sources.world import ObjectsDataset\n"
            "model, spec = sh.load_model('vgg_mini')\n"
            "ds = ObjectsDataset(split='test', per_class=1, transform=spec.transform)\n"
            "sv = sh.fit_sevecs(model, ds, 'pool5', progress=False)\n"
            "x = torch.stack([ds[i][0] for i in range(2)]); t = [ds[i][1] for i in range(2)]\n"
            "a = SemanticGuidedBackprop(model, 'pool5', sv).attribute(x, target=t)\n"
            "assert torch.equal(a, sh.guided_backprop(model, x, t, sevecs=sv))\n"
            "assert SemanticSaliency(model, None, sv).attribute(x, target=t).min() >= 0\n"
            "print('ok')\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr[-2000:]
