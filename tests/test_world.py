import hashlib
import itertools
import json
import os
from collections import Counter

import numpy as np
import pytest
import torch

from sevec_helpers.sources import world as W
from sevec_helpers.sources.world import vocabulary as V


def test_same_seed_same_bytes_fresh_seed_fresh_images():
    a, b, c = W.ConceptWorld(0), W.ConceptWorld(0), W.ConceptWorld(7)
    for lab in (0, 11, 31):
        ia, ib, ic = a.object_image(lab, 3).image, b.object_image(lab, 3).image, c.object_image(lab, 3).image
        assert ia.tobytes() == ib.tobytes()
        assert not np.array_equal(ia, ic)
    assert not np.array_equal(a.object_image(0, 3, "train").image, a.object_image(0, 3, "test").image)


def test_golden_checksum():
    # pins the generator: a change to the world's drawing code changes this digest
    w = W.ConceptWorld(0)
    h = hashlib.sha256()
    for lab in range(0, 32, 5):
        h.update(w.object_image(lab, 0).image.tobytes())
    h.update(w.swatch_image("textures", 2, 0))
    h.update(w.scene(0).image.tobytes())
    assert h.hexdigest()[:16] == GOLDEN


GOLDEN = "0a73318f431415e3"


def test_vocabulary_and_hierarchy():
    assert len(W.CLASS_NAMES) == 32 and len(W.TEXTURE_NAMES) == 12 and len(W.MATERIAL_NAMES) == 7
    assert len(W.COLOR_NAMES) == 11 and len(W.SUPERCLASSES) == 4 and len(W.GROUPS) == 8
    facets = [len(c.facets) for c in W.CLASSES]
    assert min(facets) == 1 and max(facets) >= 3
    # a group shares a shape family: two classes of one group mostly share a shape, two classes
    # of different groups almost never (birds are teardrops, beasts ellipses, vehicles vehicles)
    same, other = [], []
    for a, b in itertools.combinations(W.CLASSES, 2):
        shared = bool({f.shape for f in a.facets} & {f.shape for f in b.facets})
        (same if a.group == b.group else other).append(shared)
    assert np.mean(same) >= 0.75 and np.mean(other) <= 0.05, (np.mean(same), np.mean(other))
    for sup in W.SUPERCLASSES:  # a superclass shares its scene context, which no other superclass has
        assert len({c.group for c in W.CLASSES if c.superclass == sup}) == 2
    assert len(set(W.SUPERCLASS_CONTEXT.values())) == len(W.SUPERCLASSES)


def test_colour_varies_within_most_classes():
    truth = W.ground_truth()
    defined = [r for r in truth if r["color_defined"]]
    assert len(defined) <= len(truth) / 3  # colour defines only a few classes
    w = W.ConceptWorld(0)
    for r in truth:
        pairs = {tuple(sorted(w.object_image(r["index"], i).colors)) for i in range(30)}
        assert (len(pairs) <= 2) if r["color_defined"] else (len(pairs) >= 5), r["class"]
    coded = W.ConceptWorld(0, color_informativeness=1.0)
    assert all(r["color_defined"] for r in coded.ground_truth())
    horse = W.CLASS_NAMES.index("horse")  # random colours by default, its own colours in the colour-coded world
    assert {tuple(sorted(coded.object_image(horse, i).colors)) for i in range(30)} <= {("black",), ("brown",)}
    with pytest.raises(ValueError, match="color_informativeness"):
        W.color_defined(1.5)


def test_textures_survive_in_gray():
    # the two colours of a textured object differ in luminance, as natural textures mostly do
    w = W.ConceptWorld(0)
    for lab in range(32):
        for i in range(5):
            cols = w.object_image(lab, i).colors
            if len(cols) == 2 and W.CLASSES[lab].name not in W.color_defined():
                assert abs(V.LUMINANCE[cols[0]] - V.LUMINANCE[cols[1]]) >= V.MIN_CONTRAST


def test_texture_or_material_siblings():
    """At least half of the classes have a sibling with the same shape family and colour
    distribution that differs only by texture or material."""
    defined = W.color_defined()
    with_sibling = set()
    for a in W.CLASSES:
        for b in W.CLASSES:
            if a is b or a.group != b.group:
                continue
            same_colours = (a.name in defined) == (b.name in defined) and \
                (a.name not in defined or set(a.signature) == set(b.signature))
            shared_shape = {f.shape for f in a.facets} & {f.shape for f in b.facets}
            differ = any((fa.texture, fa.material) != (fb.texture, fb.material) for fa in a.facets for fb in b.facets
                         if fa.shape == fb.shape)
            if same_colours and shared_shape and differ:
                with_sibling.add(a.name)
    assert len(with_sibling) >= len(W.CLASSES) / 2, sorted(with_sibling)


def test_ground_truth_table_is_consistent():
    gt = W.ground_truth()
    assert [r["class"] for r in gt] == list(W.CLASS_NAMES)
    for r, c in zip(gt, W.CLASSES):
        assert set(r["textures"]) <= set(W.TEXTURE_NAMES) and set(r["materials"]) <= set(W.MATERIAL_NAMES)
        assert set(r["colors"]) <= set(W.COLOR_NAMES) and r["n_facets"] == len(c.facets)
        assert r["context"] == W.SUPERCLASS_CONTEXT[r["superclass"]]
    row = {r["class"]: r for r in gt}
    for name, (tex, mat) in {"stone_wall": ("cracked", "stone"), "water_bottle": ("crystalline", "glass"),
                             "picket_fence": ("grooved", "wood"), "bath_towel": ("knitted", "fabric"),
                             "strawberry": ("bumpy", "foliage"), "streetcar": ("porous", "metal")}.items():
        assert row[name]["textures"] == [tex] and row[name]["materials"] == [mat]
    assert row["dalmatian"]["textures"] == ["freckled"] and row["dalmatian"]["materials"] == []


def test_rendered_colours_match_the_sample():
    w = W.ConceptWorld(0)
    smp = w.object_image(W.CLASS_NAMES.index("zebra"), 1)   # colour-defined: black and white stripes
    assert set(smp.colors) == {"black", "white"}
    x0, y0, x1, y1 = smp.box
    patch = smp.image[y0:y1, x0:x1].reshape(-1, 3).astype(float)
    assert (patch.mean(1) < 70).mean() > 0.05 and (patch.mean(1) > 150).mean() > 0.05


def test_scenes_hold_one_to_four_objects_of_many_sizes():
    w = W.ConceptWorld(1)
    counts, areas = Counter(), []
    for i in range(300):
        smp = w.scene(i)
        assert smp.image.shape == (64, 64, 3) and smp.image.dtype == np.uint8
        assert len(smp.boxes) == len(smp.labels) == len(smp.facets) >= 1
        assert len(set(smp.labels.tolist())) == len(smp.labels)
        b = smp.boxes
        assert (b[:, 0] >= 0).all() and (b[:, 2] <= 64).all() and (b[:, 0] < b[:, 2]).all() and (b[:, 1] < b[:, 3]).all()
        counts[len(smp.labels)] += 1
        areas += [(x1 - x0) * (y1 - y0) / 64 ** 2 for x0, y0, x1, y1 in b]
    assert set(counts) == {1, 2, 3, 4} and counts[1] >= 30
    lo, hi = np.percentile(areas, [2, 98])
    assert lo <= 0.06 and hi >= 0.5  # from about 5% to 60% of the image


def test_datasets_shapes_transform_grayscale_and_attributes():
    ds = W.ObjectsDataset(split="test", per_class=2)
    x, y = ds[5]
    assert x.shape == (3, 64, 64) and 0 <= x.min() and x.max() <= 1 and y == 5 and len(ds) == 64
    g, _ = W.ObjectsDataset(split="test", per_class=2, grayscale=True)[5]
    assert torch.equal(g[0], g[1]) and torch.equal(g[1], g[2])
    t, _ = W.TexturesDataset(per_class=1, transform=lambda im: im * 2)[0]
    assert t.max() > 1
    for cls in (W.TexturesDataset, W.MaterialsDataset, W.ColorsDataset):
        d = cls(per_class=1)
        assert len(d) == len(d.classes) and d.concept_kind == cls.kind
    a = ds.attributes(4)  # zebra
    assert a["textures"] == ["striped"] and a["materials"] == [] and set(a["colors"]) == {"black", "white"}
    img, target = W.ScenesDataset(n=3)[1]
    assert target["boxes"].shape[1] == 4 and len(target["labels"]) == len(target["boxes"])
    with pytest.raises(ValueError, match="split"):
        W.ObjectsDataset(split="dev")
    with pytest.raises(IndexError):
        ds[64]
    assert ds.fingerprint() != W.ObjectsDataset(W.ConceptWorld(0, color_informativeness=1.0), "test", 2).fingerprint()


def test_render_imagefolder_and_scene_annotations(tmp_path):
    from PIL import Image
    from torchvision.datasets import ImageFolder

    W.render(tmp_path, "textures", per_class=2)
    folder = ImageFolder(tmp_path / "textures" / "test")
    assert folder.classes == sorted(W.TEXTURE_NAMES) and len(folder) == 2 * len(W.TEXTURE_NAMES)
    W.render(tmp_path, "scenes", n=4)
    ann = json.loads((tmp_path / "scenes" / "test" / "annotations.json").read_text())
    assert len(ann["images"]) == 4
    first = ann["images"][0]
    im = np.asarray(Image.open(tmp_path / "scenes" / "test" / first["file"]))
    assert np.array_equal(im, W.ConceptWorld(0).scene(0).image)
    with pytest.raises(FileExistsError):
        W.render(tmp_path, "scenes", n=4)
    assert not [p for p in os.listdir(tmp_path / "scenes") if p.startswith(".")]


def test_render_failure_leaves_nothing(tmp_path, monkeypatch):
    calls = {"n": 0}
    real = W.ConceptWorld.scene

    def flaky(self, *a, **k):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("interrupted")
        return real(self, *a, **k)

    monkeypatch.setattr(W.ConceptWorld, "scene", flaky)
    with pytest.raises(RuntimeError):
        W.render(tmp_path, "scenes", n=5)
    assert os.listdir(tmp_path / "scenes") == []


def test_the_memo_returns_the_same_draws_as_drawing_afresh_and_copies(monkeypatch):
    from sevec_helpers.sources.world import generator as G

    w = W.ConceptWorld(seed=5)
    G.MEMO.clear()
    first = (w.object_image(3, 7, "test"), w.swatch_image("textures", 2, 4, "val"), w.scene(9))
    again = (w.object_image(3, 7, "test"), w.swatch_image("textures", 2, 4, "val"), w.scene(9))
    assert G.MEMO.hits == 3 and G.MEMO.misses == 3
    monkeypatch.setenv(G.MEMO_ENV, "0")
    fresh = (w.object_image(3, 7, "test"), w.swatch_image("textures", 2, 4, "val"), w.scene(9))
    assert G.MEMO.hits == 3 and G.MEMO.misses == 3  # off: neither read nor filled
    for a, b, c in zip(first, again, fresh):
        ia, ib, ic = (v if isinstance(v, np.ndarray) else v.image for v in (a, b, c))
        assert np.array_equal(ia, ib) and np.array_equal(ia, ic)
    assert first[2].boxes.tolist() == fresh[2].boxes.tolist() and first[0].box == fresh[0].box
    monkeypatch.delenv(G.MEMO_ENV)
    first[0].image[:] = 0  # a caller scribbling on its copy changes nothing for the next caller
    first[2].boxes[:] = -1
    assert np.array_equal(w.object_image(3, 7, "test").image, fresh[0].image)
    assert np.array_equal(w.scene(9).boxes, fresh[2].boxes)
    # a different world (seed, colour informativeness) is a different key
    assert not np.array_equal(W.ConceptWorld(seed=6).object_image(3, 7, "test").image, fresh[0].image)
    coded = W.ConceptWorld(seed=5, color_informativeness=1.0).object_image(3, 7, "test").image
    assert np.array_equal(coded, W.ConceptWorld(seed=5, color_informativeness=1.0).object_image(3, 7, "test").image)


def test_the_memo_keeps_to_its_budget_and_refuses_a_bad_setting(monkeypatch):
    from sevec_helpers.sources.world import generator as G

    G.MEMO.clear()
    w = W.ConceptWorld(seed=5)
    one = w.object_image(0, 0).image.nbytes
    monkeypatch.setenv(G.MEMO_ENV, str(3.5 * one / 2**20))  # room for three images
    for i in range(10):
        w.object_image(1, i)
    assert len(G.MEMO._items) == 3 and G.MEMO._bytes <= 3.5 * one
    w.object_image(1, 9)  # the most recent ones stay
    assert G.MEMO.hits == 1
    monkeypatch.setenv(G.MEMO_ENV, "lots")
    with pytest.raises(ValueError, match="SEVEC_WORLD_MEMO_MB must be a number of megabytes"):
        w.object_image(1, 11)
    monkeypatch.delenv(G.MEMO_ENV)
    with pytest.raises(ValueError, match="split must be one of"):
        w.object_image(1, 0, "holdout")
    with pytest.raises(ValueError, match="index must be a non-negative int"):
        w.swatch_image("colors", 1, -1)
    G.MEMO.clear()


def test_facet_of_is_the_facet_the_image_was_drawn_with():
    ds = W.ObjectsDataset(W.ConceptWorld(seed=2), "val", per_class=3)
    for i in (0, 17, len(ds) - 1):
        label, index = i % len(ds.classes), i // len(ds.classes)
        assert ds.facet_of(i) == ds.world.object_image(label, index, "val").facet == ds.sample(i).facet
        assert 0 <= ds.facet_of(i) < len(V.CLASSES[label].facets)
