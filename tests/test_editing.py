"""edit_study runs the edited copies of a layer's output through the rest of the network
stacked along the batch: the same numbers as one pass per edit, a fall-back where the rest
of the network mixes in tensors from before the layer, and nothing left on the model."""

import numpy as np
import pytest
import torch
import torch.nn as nn

import sevec_helpers as sh
from sevec_helpers.evaluation import editing, metrics
from sevec_helpers.evaluation.editing import edit_study, mask_edit, neuron_edit


class Head(nn.Module):
    """conv -> pool -> fc1 (ReLU) -> fc2: the edit happens at fc1."""

    def __init__(self, skip: bool = False):
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(3, 6, 3, padding=1)
        self.pool = nn.AdaptiveAvgPool2d(2)
        self.fc1 = nn.Linear(24, 16)
        self.act = nn.ReLU()
        self.fc2 = nn.Linear(16, 5)
        self.side = nn.Linear(24, 5)
        self.skip = skip

    def forward(self, x):
        z = self.pool(torch.relu(self.conv(x))).flatten(1)
        out = self.fc2(self.act(self.fc1(z)))
        return out + self.side(z) if self.skip else out  # skip: a tensor from before the edit


def _edits():
    g = torch.Generator().manual_seed(1)
    masks = torch.rand(5, 16, generator=g) > 0.5
    return {"mask": mask_edit(masks), "mask by prediction": mask_edit(masks, by_prediction=True),
            "renormalised": mask_edit(masks, renormalize=True), "neuron": neuron_edit(torch.arange(5) * 3),
            "zero": lambda h, y, p: torch.zeros_like(h)}


def _data(n=37):
    g = torch.Generator().manual_seed(2)
    return torch.randn(n, 3, 8, 8, generator=g), torch.randint(0, 5, (n,), generator=g)


def _manual(model, x, y, fn):
    """The edited model's true-class probabilities, by hand: the layers after fc1 applied to fn(h)."""
    with torch.no_grad():
        z = model.pool(torch.relu(model.conv(x))).flatten(1)
        h = model.act(model.fc1(z))
        pred = model(x).argmax(1)
        out = model.fc2(fn(h, y, pred)) + (model.side(z) if model.skip else 0)
    return torch.softmax(out, 1).gather(1, y[:, None])[:, 0].double().numpy()


@pytest.mark.parametrize("skip", [False, True])
def test_stacked_edits_match_the_edit_done_by_hand(skip):
    model = Head(skip).eval()
    x, y = _data()
    if skip:  # the stacked batch cannot pass the skip connection: one pass per edit, said in a warning
        with pytest.warns(UserWarning, match="cannot run the 5 edited copies stacked.*one pass per edit"):
            res = edit_study(model, (x, y), "act", _edits(), batch_size=16, progress=False)
    else:
        res = edit_study(model, (x, y), "act", _edits(), batch_size=16, progress=False)
    for name, fn in _edits().items():
        np.testing.assert_allclose(res.prob[name], _manual(model, x, y, fn), rtol=1e-5, atol=1e-6)
    assert not model.act._forward_hooks and not model.act._forward_pre_hooks


def test_stacked_and_one_pass_per_edit_agree_and_stacking_saves_passes():
    model = Head().eval()
    x, y = _data()
    calls = []
    h = model.conv.register_forward_hook(lambda m, i, o: calls.append(o.shape[0]))
    a = edit_study(model, (x, y), "act", _edits(), batch_size=16, progress=False, stacked=True)
    stacked_calls = len(calls)
    calls.clear()
    b = edit_study(model, (x, y), "act", _edits(), batch_size=16, progress=False, stacked=False)
    h.remove()
    assert stacked_calls == 3 * 2            # 3 batches: one plain pass, one for all 5 edits
    assert len(calls) == 3 * (1 + 5)         # one pass per edit
    for name in a.prob:
        np.testing.assert_allclose(a.prob[name], b.prob[name], rtol=1e-5, atol=1e-7)
        np.testing.assert_array_equal(a.correct[name], b.correct[name])


def test_a_skip_around_the_layer_falls_back_or_is_refused_when_stacking_is_forced():
    model = Head(skip=True).eval()
    x, y = _data()
    with pytest.raises(ValueError, match="cannot run the edited copies stacked.*stacked=False"):
        edit_study(model, (x, y), "act", _edits(), batch_size=16, progress=False, stacked=True)
    assert not model.act._forward_hooks


def test_chunks_of_edits_when_the_layer_is_large(monkeypatch):
    model = Head().eval()
    x, y = _data(20)
    monkeypatch.setattr(editing, "EDIT_CHUNK_ELEMENTS", 2 * 20 * 16)  # two edited copies per pass
    calls = []
    h = model.fc2.register_forward_hook(lambda m, i, o: calls.append(o.shape[0]))
    res = edit_study(model, (x, y), "act", _edits(), batch_size=20, progress=False)
    h.remove()
    assert calls == [20, 40, 40, 20]      # plain pass, then the 5 edits as 2 + 2 + 1
    for name, fn in _edits().items():
        np.testing.assert_allclose(res.prob[name], _manual(model, x, y, fn), rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_perturbation_study_on_the_shipped_network_is_the_same_stacked_or_not():
    model, spec = sh.load_model("vgg_mini")
    from sevec_helpers.sources.world import ConceptWorld, ObjectsDataset, load_tensors

    x, y = load_tensors(ObjectsDataset(ConceptWorld(3), "test", 2, spec=spec))
    sv = sh.fit_sevecs(model, (x, y), "fc1", progress=False, allow_empty=True)
    a = edit_study(model, (x, y), "fc1", editing.table1_edits(sv), progress=False, stacked=True)
    b = edit_study(model, (x, y), "fc1", editing.table1_edits(sv), progress=False, stacked=False)  # same seeds
    for name in a.prob:
        np.testing.assert_allclose(a.prob[name], b.prob[name], rtol=1e-4, atol=1e-6)


def test_a_study_reads_accuracy_back_from_its_cache(tmp_path):
    """Chapters share accuracies through the disk cache: a second study (another chapter's
    kernel) gets the same numbers without running the network."""
    from sevec_helpers.book import profiles

    sizes = dict(per_class_fit=2, per_class_eval=2, per_concept_fit=2, per_concept_eval=2, n_scenes=2)
    a = profiles.study("world", sizes=sizes, cache_dir=tmp_path, results_dir=tmp_path / "r")
    first = a.accuracy("class_holdout")
    b = profiles.study("world", sizes=sizes, cache_dir=tmp_path, results_dir=tmp_path / "r")
    calls = []
    h = b.model.register_forward_hook(lambda m, i, o: calls.append(1))
    second = b.accuracy("class_holdout")
    h.remove()
    assert calls == []
    assert (first.top1, first.top5) == (second.top1, second.top5)
    np.testing.assert_array_equal(first.correct1, second.correct1)
    np.testing.assert_array_equal(first.prob_true, second.prob_true)
    direct = metrics.accuracy(b.model, b.dataset("class_holdout"), len(b.classes))
    assert direct.top1 == first.top1 and np.array_equal(direct.per_class_top5, first.per_class_top5, equal_nan=True)


def _same(a, b):
    """Two EditResults equal to the bit."""
    for f in ("labels", "predictions", "edit_predictions", "baseline"):
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f), err_msg=f)
    assert a.prob.keys() == b.prob.keys()
    for name in a.prob:
        np.testing.assert_array_equal(a.prob[name], b.prob[name], err_msg=name)
        np.testing.assert_array_equal(a.correct[name], b.correct[name], err_msg=name)


def test_with_a_cache_the_unedited_pass_is_the_stored_predictions():
    """With cache=, the probabilities before the edits are predict's stored ones (accuracy's, in
    the book): one pass per batch instead of two, and every number equal to the bit."""
    from sevec_helpers.sevecs.cache import DiskCache

    model = Head().eval()
    ds = torch.utils.data.TensorDataset(*_data())   # a Dataset: the cache fingerprints it
    plain = edit_study(model, ds, "act", _edits(), batch_size=16, progress=False)
    cache = DiskCache(None)
    metrics.accuracy(model, ds, 5, batch_size=16, cache=cache)   # what a chapter computes first
    calls = []
    h = model.conv.register_forward_hook(lambda m, i, o: calls.append(o.shape[0]))
    got = edit_study(model, ds, "act", _edits(), batch_size=16, progress=False, cache=cache)
    h.remove()
    assert calls == [16, 16, 5]             # the stacked passes only: no unedited pass
    _same(got, plain)
    # the edits given the top-1 of every output (num_classes = the model's outputs): the same
    _same(edit_study(model, ds, "act", _edits(), batch_size=16, progress=False, cache=cache, num_classes=5),
          edit_study(model, ds, "act", _edits(), batch_size=16, progress=False, num_classes=5))
    # the edits given the top-1 among the first 3 outputs: not stored, so the pass is run
    x, y = ds.tensors
    ds3 = torch.utils.data.TensorDataset(x, y % 3)
    metrics.accuracy(model, ds3, 5, batch_size=16, cache=cache)
    calls.clear()
    h = model.conv.register_forward_hook(lambda m, i, o: calls.append(o.shape[0]))
    sub = edit_study(model, ds3, "act", _edits(), batch_size=16, progress=False, cache=cache, num_classes=3)
    h.remove()
    assert calls == [16, 16, 16, 16, 5, 5]
    _same(sub, edit_study(model, ds3, "act", _edits(), batch_size=16, progress=False, num_classes=3))


def test_a_cache_without_predictions_computes_them_once_for_both_studies():
    from sevec_helpers.sevecs.cache import DiskCache

    model = Head().eval()
    ds = torch.utils.data.TensorDataset(*_data(20))
    cache = DiskCache(None)
    a = edit_study(model, ds, "act", _edits(), batch_size=20, progress=False, cache=cache)
    assert cache.misses == 1
    b = edit_study(model, ds, "act", _edits(), batch_size=20, progress=False, cache=cache)
    assert cache.hits == 1 and cache.misses == 1
    _same(a, b)
    _same(a, edit_study(model, ds, "act", _edits(), batch_size=20, progress=False))


@pytest.mark.slow
def test_perturbation_study_with_the_books_cache_is_the_same_to_the_bit(tmp_path):
    """The chapters' Table 1 reads the unedited pass back from accuracy's stored predictions: on the
    shipped network, by class name through the SeVecs' rows, every number is unchanged."""
    from sevec_helpers.sevecs.cache import DiskCache
    from sevec_helpers.sources.world import ConceptWorld, ObjectsDataset

    model, spec = sh.load_model("vgg_mini")
    data = ObjectsDataset(ConceptWorld(3), "test", 2, spec=spec)
    sv = sh.fit_sevecs(model, data, "fc1", progress=False, allow_empty=True)
    cache = DiskCache(tmp_path)
    sh.accuracy(model, data, len(sv), batch_size=64, cache=cache)
    a = sh.perturbation_study(model, data, sv, progress=False, cache=cache)
    b = sh.perturbation_study(model, data, sv, progress=False)
    _same(a.edits, b.edits)
    assert a.as_dict() == b.as_dict()
