"""The same results on a GPU as on the CPU (skipped where there is no CUDA device)."""

import pytest
import torch

import sevec_helpers as sh
from sevec_helpers.core import inputs
from sevec_helpers.sources.world import ObjectsDataset, load_tensors

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")


@pytest.fixture(scope="module")
def setup():
    model, spec = sh.load_model("vgg_mini")
    x, y = load_tensors(ObjectsDataset(split="test", per_class=6))
    return model, spec.normalize(x), y


@cuda
def test_default_device_is_cuda():
    assert inputs.default_device().type == "cuda"


@cuda
@pytest.mark.parametrize("layer", ["fc1", "pool5"])
def test_fit_on_gpu_equals_cpu(setup, layer):
    model, x, y = setup
    a = sh.fit_sevecs(model, (x, y), layer, progress=False)
    model.cuda()
    try:
        b = sh.fit_sevecs(model, (x, y), layer, progress=False)  # runs where the model lives
        assert next(model.parameters()).device.type == "cuda"  # never moved by the library
    finally:
        model.cpu()
    assert torch.equal(a.counts, b.counts)
    # TF32 and reduction order can flip a unit sitting at exactly 0; allow a sliver of the entries
    assert (a.vectors - b.vectors).abs().max() < 1e-2 and (a.rates != b.rates).float().mean() < 1e-3


@cuda
def test_saliency_on_gpu_equals_cpu(setup):
    model, x, y = setup
    sv = sh.fit_sevecs(model, (x, y), "pool5", progress=False)
    xs, ts = x[:8], y[:8]
    for fn in (sh.guided_backprop, sh.gradient_x_input):
        cpu = fn(model, xs, ts, sevecs=sv)
        m = model.cuda()
        try:
            gpu = fn(m, xs.cuda(), ts.cuda(), sevecs=sv).cpu()
        finally:
            model.cpu()
        assert ((cpu - gpu).abs().max() / cpu.abs().max()).item() < 1e-2


@cuda
def test_pointing_game_on_gpu_maps(setup):
    maps = torch.rand(16, 64, 64, device="cuda")
    a = sh.generalized_pointing_game(maps, [[(0, 0, 32, 32)]] * 16)
    b = sh.generalized_pointing_game(maps.cpu(), [[(0, 0, 32, 32)]] * 16)
    assert (a.per_image == b.per_image).all()
