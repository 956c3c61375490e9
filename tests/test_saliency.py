import copy

import pytest
import torch
import torch.nn as nn
import torchvision
from captum.attr import GuidedBackprop, InputXGradient
from conftest import hook_state

import sevec_helpers as sh
from sevec_helpers.core import layers


def sevecs_with_rates(rates: torch.Tensor, layer: str) -> sh.SemanticVectors:
    k, d = rates.shape
    v = rates / rates.norm(dim=1, keepdim=True).clamp(min=1e-12)
    return sh.SemanticVectors(vectors=v, rates=rates.float(), counts=torch.ones(k, dtype=torch.long),
                              dead=torch.zeros(k, dtype=torch.long), names=[str(i) for i in range(k)], layer=layer,
                              diversity=torch.zeros(k))


class Tiny(nn.Module):
    """x (N,1,1,2) -> W -> ReLU ('act') -> V -> logits (2 classes). Hand-computable gradients."""

    def __init__(self, act=None):
        super().__init__()
        self.w = nn.Linear(2, 2, bias=False)
        self.act = act or nn.ReLU()
        self.v = nn.Linear(2, 2, bias=False)
        with torch.no_grad():
            self.w.weight.copy_(torch.tensor([[1.0, -1.0], [2.0, 1.0]]))
            self.v.weight.copy_(torch.tensor([[1.0, -2.0], [-1.0, 3.0]]))

    def forward(self, x):
        return self.v(self.act(self.w(x.flatten(1))))


X = torch.tensor([1.0, 0.5]).reshape(1, 1, 1, 2)  # pre-activations z = (0.5, 2.5)


def test_exact_maps_on_hand_built_model():
    m = Tiny()
    # vanilla: W^T (V[0] * 1[z>0]) = W^T (1, -2) = (-3, -3)
    assert sh.vanilla_gradient(m, X, 0).flatten().tolist() == [-3.0, -3.0]
    # guided: W^T (clamp(V[0], 0) * 1[z>0]) = W^T (1, 0) = (1, -1)
    assert sh.guided_backprop(m, X, 0).flatten().tolist() == [1.0, -1.0]
    # gradient * input = x * vanilla
    assert sh.gradient_x_input(m, X, 0).flatten().tolist() == [-3.0, -1.5]
    # class 1: V[1] = (-1, 3): guided -> W^T (0, 3) = (6, 3)
    assert sh.guided_backprop(m, X, 1).flatten().tolist() == [6.0, 3.0]


def test_exact_semantic_maps():
    m = Tiny()
    sv = sevecs_with_rates(torch.tensor([[0.2, 0.9], [0.9, 0.9]]), "act")  # class 0 keeps unit 1 only
    # guided with mask (0, 1): clamp(1, -2) * (0, 1) = 0 -> zero map
    assert sh.guided_backprop(m, X, 0, sevecs=sv).abs().sum().item() == 0.0
    # true gradient with mask: W^T (0, -2) = (-4, -2); times input (1, .5) -> (-4, -1)
    assert sh.gradient_x_input(m, X, 0, sevecs=sv).flatten().tolist() == [-4.0, -1.0]
    # class 1 mask is all ones: same as the baseline
    assert torch.equal(sh.guided_backprop(m, X, 1, sevecs=sv), sh.guided_backprop(m, X, 1))


def test_relu6_zeroes_above_six():
    m = Tiny(act=nn.ReLU6())
    x = torch.tensor([5.0, -2.0]).reshape(1, 1, 1, 2)  # z = (7, 8): both saturated
    assert sh.guided_backprop(m, x, 0).abs().sum().item() == 0.0
    x = torch.tensor([3.0, 1.0]).reshape(1, 1, 1, 2)  # z = (2, 7): unit 1 saturated
    # guided: clamp(V[0]) = (1, 0), mask (1, 0) -> W^T (1, 0) = (1, -1)
    assert sh.guided_backprop(m, x, 0).flatten().tolist() == [1.0, -1.0]


def test_reused_activation_module_per_call():
    class Shared(nn.Module):
        def __init__(self, separate: bool):
            super().__init__()
            g = torch.Generator().manual_seed(0)
            self.a, self.b, self.c = nn.Linear(6, 6), nn.Linear(6, 6), nn.Linear(6, 3)
            for lin in (self.a, self.b, self.c):
                with torch.no_grad():
                    lin.weight.copy_(torch.randn(lin.weight.shape, generator=g))
            self.r1 = nn.ReLU()
            self.r2 = nn.ReLU() if separate else self.r1

        def forward(self, x):
            return self.c(self.r2(self.b(self.r1(self.a(x.flatten(1))))))

    x = torch.randn(5, 1, 1, 6, generator=torch.Generator().manual_seed(1))
    shared, separate = Shared(False), Shared(True)
    separate.load_state_dict(shared.state_dict())
    assert torch.allclose(sh.guided_backprop(shared, x, 2), sh.guided_backprop(separate, x, 2))
    ref = GuidedBackprop(separate).attribute(x, target=2)
    assert torch.allclose(sh.guided_backprop(shared, x, 2), ref, atol=1e-6)


def _rel_err(a, b):
    return ((a - b).abs().max() / b.abs().max().clamp(min=1e-12)).item()


@pytest.fixture(scope="module", params=["vgg16", "alexnet"])
def tv_model(request):
    torch.manual_seed(0)
    m = getattr(torchvision.models, request.param)(weights=None).eval()
    side = 64 if request.param == "vgg16" else 96
    x = torch.randn(2, 3, side, side, generator=torch.Generator().manual_seed(2))
    return request.param, m, x


@pytest.mark.slow
def test_captum_cross_check(tv_model):
    name, m, x = tv_model
    target = torch.tensor([3, 17])
    before = hook_state(m)
    ours = sh.guided_backprop(m, x, target)
    assert hook_state(m) == before
    assert _rel_err(ours, GuidedBackprop(m).attribute(x, target=target)) <= 1e-4
    # also against a copy with out-of-place ReLUs (Captum's hooks were designed for those)
    m2 = copy.deepcopy(m)
    for mod in m2.modules():
        if isinstance(mod, nn.ReLU):
            mod.inplace = False
    assert _rel_err(ours, GuidedBackprop(m2).attribute(x, target=target)) <= 1e-4
    assert _rel_err(sh.gradient_x_input(m, x, target), InputXGradient(m).attribute(x, target=target)) <= 1e-4


class _GuidedReLU(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.clamp(min=0)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g.clamp(min=0) * (x > 0).to(g.dtype)


class _GuidedModule(nn.Module):
    def forward(self, x):
        return _GuidedReLU.apply(x)


def _manual_semantic(m, x, target, mask, guided: bool):
    """Independent computation: split the network at pool5 and multiply its gradient by hand."""
    m = copy.deepcopy(m)
    if guided:
        for seq in (m.features, m.classifier):
            for i, mod in enumerate(seq):
                if isinstance(mod, nn.ReLU):
                    seq[i] = _GuidedModule()
    pool5 = int(layers.layer_aliases(m)["pool5"].split(".")[1])
    xin = x.clone().requires_grad_(True)
    p5 = m.features[: pool5 + 1](xin)
    rest = m.features[pool5 + 1 :](p5)
    out = m.classifier(torch.flatten(m.avgpool(rest), 1))
    sel = out.gather(1, target[:, None]).sum()
    (g5,) = torch.autograd.grad(sel, p5, retain_graph=True)
    (gx,) = torch.autograd.grad(p5, xin, grad_outputs=g5 * mask.reshape(g5.shape))
    return gx if guided else gx * x


@pytest.mark.slow
def test_semantic_versions_on_vgg_and_alexnet(tv_model):
    name, m, x = tv_model
    target = torch.tensor([3, 17])
    d = sh.extract_features(m, x, "pool5", progress=False).values.shape[1]
    ones = sevecs_with_rates(torch.ones(1000, d), "pool5")
    zeros = sevecs_with_rates(torch.zeros(1000, d), "pool5")
    for fn in (sh.guided_backprop, sh.gradient_x_input):
        assert torch.allclose(fn(m, x, target, sevecs=ones), fn(m, x, target), atol=1e-6)
        assert fn(m, x, target, sevecs=zeros).abs().max().item() == 0.0
    rates = torch.rand(1000, d, generator=torch.Generator().manual_seed(5))
    rnd = sevecs_with_rates(rates, "pool5")
    mask = (rates[target] > 0.5).float()
    ours = sh.guided_backprop(m, x, target, sevecs=rnd)
    assert _rel_err(ours, _manual_semantic(m, x, target, mask, guided=True)) <= 1e-4
    ours = sh.gradient_x_input(m, x, target, sevecs=rnd, mask_layer="pool5")
    assert _rel_err(ours, _manual_semantic(m, x, target, mask, guided=False)) <= 1e-4


def test_bad_inputs_and_hook_hygiene():
    m = Tiny()
    before = hook_state(m)
    with pytest.raises(ValueError, match="out of range.*2 outputs"):
        sh.guided_backprop(m, X, 5)
    with pytest.raises(ValueError, match="NaN or Inf"):
        sh.guided_backprop(m, torch.full_like(X, float("nan")), 0)
    with pytest.raises(ValueError, match="2 targets for 1 images"):
        sh.gradient_x_input(m, X, torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="shape \\(N, C, H, W\\).*unsqueeze"):
        sh.vanilla_gradient(m, X[0], 0)
    sv = sevecs_with_rates(torch.ones(2, 3), "act")
    with pytest.raises(ValueError, match="units"):
        sh.guided_backprop(m, X, 0, sevecs=sv)
    assert hook_state(m) == before


def test_hooks_removed_when_model_raises():
    class Exploding(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(inplace=True), nn.MaxPool2d(2))
            self.classifier = nn.Sequential(nn.Linear(4, 4), nn.ReLU(inplace=True), nn.Linear(4, 2))
            self.boom = False

        def forward(self, x):
            h = self.features(x)
            if self.boom:
                raise RuntimeError("inside the model")
            return self.classifier(h.mean((2, 3)))

    m = Exploding()
    m.train()
    before = hook_state(m)
    m.boom = True
    x = torch.randn(2, 3, 8, 8)
    sv = sevecs_with_rates(torch.ones(2, 4 * 3 * 3), "pool5")
    for call in (lambda: sh.guided_backprop(m, x, 0, sevecs=sv), lambda: sh.gradient_x_input(m, x, 0),
                 lambda: sh.extract_features(m, x, "fc1", progress=False),
                 lambda: sh.fit_sevecs(m, (x, torch.tensor([0, 1])), "fc1", progress=False)):
        with pytest.raises(RuntimeError, match="inside the model"):
            call()
        assert hook_state(m) == before
    assert m.training


def test_reduce_channels():
    a = torch.tensor([[[[1.0]], [[-3.0]], [[2.0]]]])
    assert sh.reduce_channels(a).item() == 6.0
    assert sh.reduce_channels(a, "max_abs").item() == 3.0
    assert sh.reduce_channels(a, "pos_sum").item() == 3.0
    with pytest.raises(ValueError, match="how must be"):
        sh.reduce_channels(a, "mean")


def test_concepts_argument_picks_the_sevec_row():
    m = Tiny()
    sv = sevecs_with_rates(torch.tensor([[0.9, 0.9], [0.2, 0.9], [0.0, 0.0]]), "act")
    # target class 0 with the mask of row 1 (0, 1): W^T (0, -2) = (-4, -2); x * that = (-4, -1)
    assert sh.gradient_x_input(m, X, 0, sevecs=sv, concepts=1).flatten().tolist() == [-4.0, -1.0]
    assert sh.gradient_x_input(m, X, 0, sevecs=sv, concepts=2).abs().sum().item() == 0.0
    with pytest.raises(ValueError, match="out of range"):
        sh.gradient_x_input(m, X, 0, sevecs=sv, concepts=3)
