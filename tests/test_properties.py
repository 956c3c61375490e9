"""Property-based: whatever the inputs (shapes, dtypes, devices, NaN/Inf, empty, odd boxes and
targets), fitting, saliency and the pointing game either return a valid result or raise
ValueError/TypeError with a message: never another exception, never a silent NaN. And an input
that is valid by an independent description of the contract (written here, not read from the
library) must be accepted: a library that refused everything would fail."""

import math

import numpy as np
import pytest
import torch
import torch.nn as nn
from hypothesis import HealthCheck, example, given, settings
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


def _ok_or_clear(fn, valid: bool = False):
    """``fn()``, or None when it refused with a clear error; a ``valid`` input must not be refused."""
    try:
        return fn()
    except (ValueError, TypeError, KeyError) as e:
        assert str(e).strip(), f"{type(e).__name__} without a message"
        assert not valid, f"a valid input was refused: {type(e).__name__}: {e}"
        return None


FLOATS = (torch.float32, torch.float64, torch.float16)


def _valid_images(shape, dtype, special, device) -> bool:
    """The contract for images of MODEL: (N >= 1, 3, 8, 8) floats on a real device, all finite."""
    finite = special is None or (math.isfinite(special) and (dtype != torch.float16 or abs(special) < 6e4))
    return len(shape) == 4 and shape[0] >= 1 and shape[1:] == (3, 8, 8) and dtype in FLOATS and device == "cpu" \
        and finite


def _valid_targets(target, n: int) -> bool:
    """One class index in [0, 3), or one per image."""
    if isinstance(target, bool) or target is None:
        return False
    if isinstance(target, int):
        return 0 <= target < 3
    return isinstance(target, list) and len(target) == n and all(0 <= t < 3 for t in target)


VALID_SEEN = {"saliency": 0, "fitting": 0, "pointing": 0}


@SETTINGS
@given(shape=shapes, dtype=dtypes, special=st.one_of(st.none(), SPECIAL), device=devices,
       target=st.one_of(st.integers(-2, 5), st.lists(st.integers(-1, 4), min_size=0, max_size=3),
                        st.sampled_from(["zebra", 1.5, None, True])),
       method=st.sampled_from(list(saliency.METHODS)))
@example(shape=(2, 3, 8, 8), dtype=torch.float32, special=None, device="cpu", target=1, method="guided_backprop")
@example(shape=(2, 3, 8, 8), dtype=torch.float64, special=1.0, device="cpu", target=[0, 2], method="gradient_x_input")
def test_saliency_inputs(shape, dtype, special, device, target, method):
    x = _tensor(shape, dtype, special, device)
    valid = _valid_images(shape, dtype, special, device) and _valid_targets(target, shape[0])
    VALID_SEEN["saliency"] += valid
    out = _ok_or_clear(lambda: sh.attribute(MODEL, x, target, method), valid)
    if out is not None:
        assert out.shape == x.shape and torch.isfinite(out).all()


@SETTINGS
@given(shape=shapes, dtype=dtypes, special=st.one_of(st.none(), SPECIAL), device=devices,
       labels=st.one_of(st.lists(st.integers(-1, 4), min_size=0, max_size=3), st.sampled_from(
           ["a", {"x": 1}, [0.5, 1.5], np.array([0, 1]), torch.tensor([[0, 1]]), None])),
       layer=st.sampled_from(["features.1", "classifier.1", "nope", "features"]))
@example(shape=(2, 3, 8, 8), dtype=torch.float32, special=None, device="cpu", labels=[0, 1], layer="classifier.1")
@example(shape=(1, 3, 8, 8), dtype=torch.float16, special=-1.0, device="cpu", labels=[2], layer="features.1")
def test_fitting_inputs(shape, dtype, special, device, labels, layer):
    x = _tensor(shape, dtype, special, device)
    valid = (_valid_images(shape, dtype, special, device) and layer in ("features.1", "classifier.1")
             and isinstance(labels, list) and len(labels) == shape[0] and all(0 <= v for v in labels))
    VALID_SEEN["fitting"] += valid
    sv = _ok_or_clear(lambda: sh.fit_sevecs(MODEL, (x, labels), layer, progress=False, allow_empty=True), valid)
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
@example(n=2, h=8, special=None, boxes=[[(0, 0, 4, 4)], [(2, 2, 8, 8), (0, 0, 1, 1)]], energies=[0.0, 0.5, 1.0], q=1.0,
         tolerance=1.0)
@example(n=1, h=12, special=None, boxes=[[(0.5, 1.0, 7.5, 12.0)]], energies=[0.3], q=0.5, tolerance=0.0)
def test_pointing_game_inputs(n, h, special, boxes, energies, q, tolerance):
    maps = torch.rand(n, h, h, generator=torch.Generator().manual_seed(2))
    if special is not None and maps.numel():
        maps.view(-1)[0] = special
    ok_box = lambda b: (isinstance(b, tuple) and len(b) == 4 and all(not isinstance(v, float) or math.isfinite(v)
                                                                      for v in b) and 0 <= b[0] < b[2] <= h
                        and 0 <= b[1] < b[3] <= h)
    valid = (n >= 1 and special is None and isinstance(boxes, list) and len(boxes) == n
             and all(isinstance(bl, list) and bl and all(ok_box(b) for b in bl) for bl in boxes)
             and isinstance(energies, list) and len(energies) >= 1 and all(math.isfinite(e) and 0 <= e <= 1
                                                                           for e in energies)
             and math.isfinite(q) and 0 < q <= 1)
    VALID_SEEN["pointing"] += valid
    res = _ok_or_clear(lambda: sh.generalized_pointing_game(maps, boxes, energies, q=q), valid)
    if res is not None:
        assert np.all(np.isfinite(res.accuracy)) and res.n == n and 0 <= res.accuracy.min()
    res = _ok_or_clear(lambda: sh.pointing_game(maps, boxes, tolerance))
    if res is not None:
        assert np.all(np.isfinite(res.accuracy)) and not math.isnan(float(res.accuracy[0]))


def test_meta_tensors_are_refused_clearly():
    with pytest.raises(ValueError, match="meta"):
        sh.extract_features(MODEL, torch.empty(2, 3, 8, 8, device="meta"), "classifier.1", progress=False)


def test_valid_inputs_were_drawn():
    """The properties above were checked on valid inputs too (their explicit examples at least);
    run after them (pytest keeps file order)."""
    if not any(VALID_SEEN.values()):
        pytest.skip("run with the property tests above")
    assert all(v > 0 for v in VALID_SEEN.values()), VALID_SEEN


def test_the_checker_fails_a_library_that_refuses_valid_input():
    def refuse():
        raise ValueError("refused")

    assert _ok_or_clear(refuse) is None                      # an invalid input may be refused clearly
    with pytest.raises(AssertionError, match="a valid input was refused"):
        _ok_or_clear(refuse, valid=True)
