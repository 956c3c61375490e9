"""Property-based: whatever the inputs (shapes, dtypes, devices, NaN/Inf, empty, odd boxes and
targets), fitting, saliency and the pointing game either return a valid result or raise
ValueError/TypeError with a message: never another exception, never a silent NaN."""

import math

import numpy as np
import pytest
import torch
import torch.nn as nn
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sevec_helpers as sh
from sevec_helpers.attribution import saliency

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SPECIAL = st.sampled_from([0.0, -1.0, 1.0, 1e30, -1e30, float("nan"), float("inf"), -float("inf")])


class Small(nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.features = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
        self.classifier = nn.Sequential(nn.Linear(4 * 4 * 4, 6), nn.ReLU(), nn.Linear(6, 3))

    def forward(self, x):
        return self.classifier(self.features(x).flatten(1))


MODEL = Small().eval()


def _tensor(shape, dtype, special, device):
    if dtype in (torch.int64, torch.uint8, torch.bool):
        t = torch.ones(shape, dtype=dtype)
    else:
        t = torch.randn(shape, generator=torch.Generator().manual_seed(1)).to(dtype)
        if special is not None and t.numel():
            t.view(-1)[0] = special
    return t.to(device)


shapes = st.sampled_from([(2, 3, 8, 8), (1, 3, 8, 8), (0, 3, 8, 8), (3, 8, 8), (2, 3, 16, 16), (2, 1, 8, 8),
                          (2, 3, 8), (2, 3, 8, 8, 1)])
dtypes = st.sampled_from([torch.float32, torch.float64, torch.float16, torch.int64, torch.uint8, torch.bool])
devices = st.sampled_from(["cpu", "meta"])


def _ok_or_clear(fn):
    try:
        return fn()
    except (ValueError, TypeError, KeyError) as e:
        assert str(e).strip(), f"{type(e).__name__} without a message"
        return None


@SETTINGS
@given(shape=shapes, dtype=dtypes, special=st.one_of(st.none(), SPECIAL), device=devices,
       target=st.one_of(st.integers(-2, 5), st.lists(st.integers(-1, 4), min_size=0, max_size=3),
                        st.sampled_from(["zebra", 1.5, None, True])),
       method=st.sampled_from(list(saliency.METHODS)))
def test_saliency_inputs(shape, dtype, special, device, target, method):
    x = _tensor(shape, dtype, special, device)
    out = _ok_or_clear(lambda: sh.attribute(MODEL, x, target, method))
    if out is not None:
        assert out.shape == x.shape and torch.isfinite(out).all()


@SETTINGS
@given(shape=shapes, dtype=dtypes, special=st.one_of(st.none(), SPECIAL), device=devices,
       labels=st.one_of(st.lists(st.integers(-1, 4), min_size=0, max_size=3), st.sampled_from(
           ["a", {"x": 1}, [0.5, 1.5], np.array([0, 1]), torch.tensor([[0, 1]]), None])),
       layer=st.sampled_from(["features.1", "classifier.1", "nope", "features"]))
def test_fitting_inputs(shape, dtype, special, device, labels, layer):
    x = _tensor(shape, dtype, special, device)
    sv = _ok_or_clear(lambda: sh.fit_sevecs(MODEL, (x, labels), layer, progress=False, allow_empty=True))
    if sv is not None:
        assert torch.isfinite(sv.vectors).all() and torch.isfinite(sv.rates).all()
        assert ((sv.vectors.norm(dim=1) - 1).abs() < 1e-4).logical_or(sv.counts == 0).all()


NAN = st.just(float("nan"))
box = st.tuples(*[st.one_of(st.floats(-2, 40), st.integers(-2, 40), NAN)] * 4)
box_lists = st.one_of(st.lists(st.lists(box, min_size=0, max_size=2), min_size=0, max_size=3),
                      st.sampled_from(["boxes", [[(0, 0, 4)]], [[[0, 0, 4, 4, 5]]], None]))


@SETTINGS
@given(n=st.integers(0, 3), h=st.integers(1, 12), special=st.one_of(st.none(), SPECIAL), boxes=box_lists,
       energies=st.one_of(st.lists(st.one_of(st.floats(-0.5, 1.5), NAN), min_size=0, max_size=3),
                          st.just([0.0, 0.5, 1.0])),
       q=st.one_of(st.floats(-1, 2), NAN, st.just(1.0)), tolerance=st.one_of(st.floats(-5, 30), NAN))
def test_pointing_game_inputs(n, h, special, boxes, energies, q, tolerance):
    maps = torch.rand(n, h, h, generator=torch.Generator().manual_seed(2))
    if special is not None and maps.numel():
        maps.view(-1)[0] = special
    res = _ok_or_clear(lambda: sh.generalized_pointing_game(maps, boxes, energies, q=q))
    if res is not None:
        assert np.all(np.isfinite(res.accuracy)) and res.n == n and 0 <= res.accuracy.min()
    res = _ok_or_clear(lambda: sh.pointing_game(maps, boxes, tolerance))
    if res is not None:
        assert np.all(np.isfinite(res.accuracy)) and not math.isnan(float(res.accuracy[0]))


def test_meta_tensors_are_refused_clearly():
    with pytest.raises(ValueError, match="meta"):
        sh.extract_features(MODEL, torch.empty(2, 3, 8, 8, device="meta"), "classifier.1", progress=False)
