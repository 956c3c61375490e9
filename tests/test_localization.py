"""The scene loop of Sec. 5 (sevec_helpers.evaluation.localization): it makes exactly the maps and scores
that the public calls make on one scene, caches by what computed it, and says what was wrong."""

import numpy as np
import pytest
import torch
import torch.nn as nn

import sevec_helpers as sh
from sevec_helpers.evaluation import localization as L
from sevec_helpers.sevecs.cache import DiskCache


def _net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(4 * 4 * 4, 3)).eval()


def _scenes():
    g = torch.Generator().manual_seed(1)
    out = []
    for i in range(4):
        x = torch.rand(3, 8, 8, generator=g)
        if i == 2:   # one object only: no "other object's mask" pair
            t = {"boxes": torch.tensor([[0, 0, 4, 4]]), "labels": torch.tensor([1])}
        else:        # class 2 twice: its boxes form one region
            t = {"boxes": torch.tensor([[0, 0, 4, 4], [4, 4, 8, 8], [0, 4, 2, 8]]), "labels": torch.tensor([0, 2, 2])}
        out.append((x, t))
    out.append(None)  # an unreadable scene is skipped
    return out


def _sevecs(model):
    g = torch.Generator().manual_seed(2)
    x = torch.rand(12, 3, 8, 8, generator=g)
    return sh.fit_sevecs(model, (x, torch.arange(12) % 3), layer="2", progress=False, allow_empty=True)


def test_pairs_flatten_scenes_by_class():
    p = L.scene_pairs(_scenes())
    assert p.scene.tolist() == [0, 0, 1, 1, 2, 3, 3] and p.target.tolist() == [0, 2, 0, 2, 1, 0, 2]
    assert p.other.tolist() == [2, 0, 2, 0, -1, 2, 0] and p.other_pairs.tolist() == [0, 1, 2, 3, 5, 6]
    assert p.boxes[1] == [(4, 4, 8, 8), (0, 4, 2, 8)]


def test_the_loop_makes_exactly_what_the_public_calls_make_on_one_scene():
    model, scenes = _net(), _scenes()
    sv = _sevecs(model)
    m = L.scene_metrics(model, scenes, sv, [0.0, 0.5, 1.0], tolerance=1.0, batch_size=3)
    pairs = L.scene_pairs(scenes, [3])
    x = torch.stack([scenes[3][0]] * len(pairs))
    t = torch.as_tensor(pairs.target)
    rows = np.flatnonzero(m.scene == 3)
    direct = {
        "GuidedBP": sh.guided_backprop(model, x, t),
        "Semantic GuidedBP": sh.guided_backprop(model, x, t, sevecs=sv),
        "Semantic GuidedBP (permuted mask)": sh.guided_backprop(model, x, t, sevecs=sv.permuted(0)),
        "Semantic GuidedBP (other object's mask)": sh.guided_backprop(model, x, t, sevecs=sv, concepts=pairs.other),
        "Gradient*Input": sh.gradient_x_input(model, x, t),
        "Semantic Gradient*Input": sh.gradient_x_input(model, x, t, sevecs=sv),
    }
    other_rows = np.flatnonzero(np.isin(m.other_idx, rows))
    for name, a in direct.items():
        mp = sh.reduce_channels(a)
        at = other_rows if "other" in name else rows
        np.testing.assert_allclose(m.share[name][at], L.energy_share(mp, pairs.boxes), atol=1e-6)
        g = sh.generalized_pointing_game(mp, pairs.boxes, [0.0, 0.5, 1.0])
        assert np.array_equal(m.hits[name][at], g.per_image)
        assert np.array_equal(m.classic[name][at], sh.pointing_game(mp, pairs.boxes, 1.0).per_image[:, 0])
    # the "other object's mask" covers only pairs whose scene has another object
    assert len(m.share["Semantic GuidedBP (other object's mask)"]) == len(m.other_idx) == 6
    assert m.rows("Semantic GuidedBP (other object's mask)").tolist() == m.other_idx.tolist()
    assert m.share[L.CENTRE].shape == (7,) and m.hits[L.CENTRE].shape == (7, 3)
    # rules v4: two targets' maps compared in the loop equal map_separation on the public calls
    k = np.flatnonzero(m.separation_scene == 3)
    assert len(pairs) == 2 and len(k) == 1      # scene 3 holds two classes: one pair of targets
    for name in ("GuidedBP", "Semantic GuidedBP", "Gradient*Input", "Semantic Gradient*Input"):
        mp = sh.reduce_channels(direct[name])
        np.testing.assert_allclose(m.separation[name][k], L.map_separation(mp[0], mp[1]), atol=1e-9)
    # batches of 3 pairs split scenes: every scene with several targets is still compared once per two targets
    n_targets = np.unique(m.scene, return_counts=True)[1]
    assert len(m.separation_scene) == sum(c * (c - 1) // 2 for c in n_targets)
    back = L.SceneMetrics.from_tensors(m.as_tensors())
    assert np.array_equal(back.separation_scene, m.separation_scene)
    assert all(np.array_equal(back.separation[n], v) for n, v in m.separation.items())


def test_map_separation_by_hand():
    a = torch.zeros(1, 2, 2)
    b = torch.zeros(1, 2, 2)
    a[0, 0, 0], b[0, 1, 1] = 2.0, 5.0            # disjoint: 1
    assert L.map_separation(a, b).tolist() == [1.0]
    assert L.map_separation(a, 3 * a).tolist() == [0.0]   # the same map at another scale: 0
    c = torch.ones(2, 2)
    assert L.map_separation(c, torch.tensor([[2.0, 0.0], [1.0, 1.0]])).tolist() == [0.25]  # 0.5 * (0.25+0.25+0+0)
    assert L.map_separation(a, torch.zeros(1, 2, 2)).tolist() == [0.5]
    with pytest.raises(ValueError, match="non-negative"):
        L.map_separation(-a, b)
    with pytest.raises(ValueError, match="one shape"):
        L.map_separation(a, torch.zeros(1, 3, 3))


class _SceneSet(torch.utils.data.Dataset):
    def __init__(self, items):
        self.items = items

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        return self.items[i]


def test_cached_by_what_computed_it(tmp_path):
    model, scenes = _net(), _SceneSet(_scenes()[:4])
    sv = _sevecs(model)
    cache = DiskCache(tmp_path)
    a = L.scene_metrics(model, scenes, sv, [0.0, 0.5], tolerance=1.0, cache=cache)
    files = sorted(p.name for p in tmp_path.glob("*.entry"))
    b = L.scene_metrics(model, scenes, sv, [0.0, 0.5], tolerance=1.0, cache=cache, batch_size=2)
    assert sorted(p.name for p in tmp_path.glob("*.entry")) == files      # a hit: batch size is not in the key
    assert all(np.array_equal(a.hits[k], b.hits[k]) for k in a.hits)
    L.scene_metrics(model, scenes, sv, [0.0, 0.5], tolerance=2.0, cache=cache)   # another tolerance: a miss
    assert len(list(tmp_path.glob("*.entry"))) == len(files) + 1
    d = L.scene_metrics(model, scenes, sv.permuted(3), [0.0, 0.5], tolerance=1.0, cache=cache)  # other SeVecs
    assert len(list(tmp_path.glob("*.entry"))) == len(files) + 2
    assert d.share["GuidedBP"].tolist() == a.share["GuidedBP"].tolist()      # plain maps do not use the SeVecs


def test_clear_errors():
    model = _net()
    sv = _sevecs(model)
    with pytest.raises(ValueError, match="no labelled objects"):
        L.scene_metrics(model, [None], sv, [0.0], tolerance=1.0)
    with pytest.raises(ValueError, match="unknown method 'gradient'"):
        L.scene_metrics(model, _scenes(), sv, [0.0], tolerance=1.0, methods=("gradient",))
    with pytest.raises(ValueError, match="unknown variant"):
        L.map_name("guided_backprop", "own")
    with pytest.raises(ValueError, match="one list of boxes per map"):
        L.energy_share(torch.ones(2, 4, 4), [[(0, 0, 2, 2)]])
    assert L.map_name("gradient_x_input", L.PERMUTED) == "Semantic Gradient*Input (permuted mask)"


def test_discriminativeness_has_semantic_minus_permuted():
    from sevec_helpers.evaluation import scene_stats as E

    scene = np.array([0, 0, 1, 1, 2, 2])
    plain = np.array([0.3, 0.4, 0.2, 0.5, 0.3, 0.3])
    m = L.SceneMetrics(scene, np.array([0, 1, 2, 3, 0, 4]), np.array([1, 0, 3, 2, -1, -1]), np.full(6, 0.2),
                       np.array([0.0]))
    m.share = {"GuidedBP": plain, "Semantic GuidedBP": plain + 0.2, "Semantic GuidedBP (permuted mask)": plain - 0.05,
               "Semantic GuidedBP (other object's mask)": plain[:4] - 0.1}
    d = E.discriminativeness(m, "guided_backprop")
    assert d["effect"] == pytest.approx((0.2, 0.2, 0.2)) and d["permuted"] == pytest.approx((-0.05, -0.05, -0.05))
    assert d["vs_permuted"] == pytest.approx((0.25, 0.25, 0.25)) and d["other"] == pytest.approx((-0.1, -0.1, -0.1))
