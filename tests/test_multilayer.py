"""Several layers in one forward pass (issue 21): ``fit_sevecs(model, data, layers=[...])``
gives exactly the SeVecs of separate single-layer fits, in one pass over the data; bad
``layers=`` are refused with the valid names; the disk cache keeps one entry per layer."""

import pytest
import torch
import torch.nn as nn

import sevec_helpers as sh
from sevec_helpers.sevecs.cache import DiskCache
from sevec_helpers.sevecs.fit import fit_accumulators, rectified_layer_names
from sevec_helpers.sources.world import ObjectsDataset


@pytest.fixture(scope="module")
def mini():
    model, spec = sh.load_model("vgg_mini")
    return model, ObjectsDataset(split="test", per_class=2, transform=spec.transform)


class _Passes:
    """Counts forward passes: calls of the model's first module."""

    def __init__(self, model):
        self.n = 0
        self.h = next(m for m in model.modules() if not list(m.children())).register_forward_pre_hook(self._pre)

    def _pre(self, module, inputs):
        self.n += 1


@pytest.mark.slow
def test_two_layers_in_one_pass_equal_two_single_layer_fits(mini):
    model, ds = mini
    passes = _Passes(model)
    both = sh.fit_sevecs(model, ds, layers=["pool5", "fc1"], batch_size=16, progress=False)
    n_multi = passes.n
    singles = {layer: sh.fit_sevecs(model, ds, layer, batch_size=16, progress=False) for layer in ("pool5", "fc1")}
    passes.h.remove()
    assert n_multi == -(-len(ds) // 16)  # one forward per batch for both layers
    assert list(both) == ["pool5", "fc1"]
    for layer, one in singles.items():
        sv = both[layer]
        assert sv.layer == one.layer == layer and sv.names == one.names and sv.input_size == one.input_size
        assert sv.fingerprint == one.fingerprint and sv.kind == one.kind == "classes"
        for attr in ("vectors", "rates", "counts", "dead", "diversity"):
            assert torch.equal(getattr(sv, attr), getattr(one, attr)), f"{layer}: {attr} differ"
    assert both["pool5"].dim == 128 * 4 * 4 and both["fc1"].dim == singles["fc1"].dim
    # no hook left behind
    assert all(not m._forward_hooks for m in model.modules())


def test_accumulators_are_one_per_layer_of_that_layers_size(mini):
    model, ds = mini
    accs, size = fit_accumulators(model, ds, ["fc1", "pool5"], num_concepts=len(ds.classes), progress=False)
    assert size == (64, 64) and list(accs) == ["fc1", "pool5"]
    assert tuple(accs["pool5"].sums.shape) == (32, 2048) and tuple(accs["fc1"].sums.shape) == (32, accs["fc1"].dim)


def test_bad_layers_are_refused_with_the_valid_names(mini):
    model, ds = mini
    with pytest.raises(ValueError, match=r"unknown layer 'fc9'.*Aliases: pool5 -> features\.21"):
        sh.fit_sevecs(model, ds, layers=["pool5", "fc9"], progress=False)
    with pytest.raises(ValueError, match=r"names one layer twice: 'pool5' and 'features\.21' are both 'features\.21'"):
        sh.fit_sevecs(model, ds, layers=["pool5", "features.21"], progress=False)
    with pytest.raises(ValueError, match="names one layer twice: 'fc1' and 'fc1'"):
        sh.fit_sevecs(model, ds, layers=["fc1", "fc1"], progress=False)
    # features.0 is a convolution: its outputs are signed
    with pytest.raises(ValueError, match=r"layer 'features\.0' is not rectified.*Layers of vgg_mini with non-negative "
                                         r"outputs on these images: pool5, fc1, fc2, features\.2, features\.3, "
                                         r"features\.6, .*, features\.20, avgpool$"):
        sh.fit_sevecs(model, ds, layers=["fc1", "features.0"], progress=False)
    with pytest.raises(TypeError, match="single name 'fc1'; pass layer='fc1' or layers=\\['fc1'\\]"):
        sh.fit_sevecs(model, ds, layers="fc1", progress=False)
    with pytest.raises(ValueError, match="layers= is empty"):
        sh.fit_sevecs(model, ds, layers=[], progress=False)
    with pytest.raises(TypeError, match="exactly one of layer= .* and layers="):
        sh.fit_sevecs(model, ds, "fc1", layers=["pool5"], progress=False)
    with pytest.raises(TypeError, match="exactly one of layer= .* and layers="):
        sh.fit_sevecs(model, ds, progress=False)
    assert rectified_layer_names(model)[:3] == ["pool5", "fc1", "fc2"]


def test_cache_holds_one_entry_per_layer_under_the_single_layer_key(mini, tmp_path):
    model, ds = mini
    cache = DiskCache(tmp_path)
    passes = _Passes(model)
    first = sh.fit_sevecs(model, ds, "fc1", cache=cache, progress=False)   # fc1 cached alone first
    n0 = passes.n
    both = sh.fit_sevecs(model, ds, layers=["pool5", "fc1"], cache=cache, progress=False)
    assert passes.n - n0 == -(-len(ds) // 64)  # one pass, for pool5 only... but fc1 came from the cache
    assert both["fc1"] is first or torch.equal(both["fc1"].vectors, first.vectors)
    assert len(list(tmp_path.glob("sevecs-*"))) == 2
    n1 = passes.n
    fresh = DiskCache(tmp_path)  # a new process: every layer from disk, no forward pass
    again = sh.fit_sevecs(model, ds, layers=["fc1", "pool5"], cache=fresh, progress=False)
    one = sh.fit_sevecs(model, ds, "pool5", cache=fresh, progress=False)
    passes.h.remove()
    assert passes.n == n1 and fresh.misses == 0 and fresh.hits == 3
    assert torch.equal(again["pool5"].vectors, both["pool5"].vectors) and torch.equal(one.rates, both["pool5"].rates)


def test_a_layer_called_twice_needs_its_call_index_also_among_several():
    class Reuse(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b, self.act = nn.Linear(4, 4), nn.Linear(4, 4), nn.ReLU()

        def forward(self, x):
            return self.act(self.b(self.act(self.a(x.flatten(1)))))

    torch.manual_seed(0)
    net = Reuse()
    x, y = torch.rand(6, 1, 1, 4), torch.tensor([0, 1, 0, 1, 0, 1])
    with pytest.raises(ValueError, match="runs 2 times"):
        sh.fit_sevecs(net, (x, y), layers=["act", "a"], progress=False, allow_empty=True)
    both = sh.fit_sevecs(net, (x, y), layers=["act@0", "act@1"], progress=False, allow_empty=True, batch_size=4)
    for layer in ("act@0", "act@1"):
        one = sh.fit_sevecs(net, (x, y), layer, progress=False, allow_empty=True, batch_size=4)
        assert torch.equal(both[layer].rates, one.rates) and torch.equal(both[layer].vectors, one.vectors)
