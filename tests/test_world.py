import hashlib
import json
import os

import numpy as np
import pytest
import torch

from sevec_helpers import world as W


def test_same_seed_same_bytes_fresh_seed_fresh_images():
    a, b, c = W.ConceptWorld(0), W.ConceptWorld(0), W.ConceptWorld(7)
    for lab in (0, 11, 23):
        ia, ib, ic = a.object_image(lab, 3)[0], b.object_image(lab, 3)[0], c.object_image(lab, 3)[0]
        assert ia.tobytes() == ib.tobytes()
        assert not np.array_equal(ia, ic)
    assert not np.array_equal(a.object_image(0, 3, "train")[0], a.object_image(0, 3, "test")[0])


def test_golden_checksum():
    # pins the generator: a change to the world's drawing code changes this digest
    w = W.ConceptWorld(0)
    h = hashlib.sha256()
    for lab in range(0, 24, 5):
        h.update(w.object_image(lab, 0)[0].tobytes())
    h.update(w.swatch_image("textures", 2, 0))
    h.update(w.scene(0)[0].tobytes())
    assert h.hexdigest()[:16] == GOLDEN


GOLDEN = "32b9393b24dfe37e"


def test_vocabulary_sizes_and_hierarchy():
    assert len(W.CLASS_NAMES) >= 20 and len(W.TEXTURE_NAMES) >= 10 and len(W.MATERIAL_NAMES) >= 6
    assert len(W.COLOR_NAMES) >= 10 and len(W.SUPERCLASSES) >= 3
    for sup in W.SUPERCLASSES:
        assert len({c.group for c in W.CLASSES if c.superclass == sup}) >= 2
    facets = [len(c.facets) for c in W.CLASSES]
    assert min(facets) == 1 and max(facets) >= 4
    # in every group, some shape is shared by two or more of its classes
    for grp in W.GROUPS:
        per_class = [{f.shape for f in c.facets} for c in W.CLASSES if c.group == grp]
        shapes = set().union(*per_class)
        assert max(sum(s in pc for pc in per_class) for s in shapes) >= 2


def test_ground_truth_table_is_consistent():
    gt = W.ground_truth()
    assert [r["class"] for r in gt] == list(W.CLASS_NAMES)
    for r, c in zip(gt, W.CLASSES):
        assert set(r["textures"]) <= set(W.TEXTURE_NAMES) and set(r["materials"]) <= set(W.MATERIAL_NAMES)
        assert set(r["colors"]) <= set(W.COLOR_NAMES) and r["n_facets"] == len(c.facets)
    row = {r["class"]: r for r in gt}
    assert row["stone_wall"]["textures"] == ["cracked"] and row["stone_wall"]["materials"] == ["stone"]
    assert row["dalmatian"]["materials"] == []


def test_rendered_colours_match_the_table():
    # a one-facet class drawn with no texture noise: its object pixels are near its colours
    w = W.ConceptWorld(0)
    img, facet, box = w.object_image(W.CLASS_NAMES.index("zebra"), 1)
    x0, y0, x1, y1 = box
    patch = img[y0:y1, x0:x1].reshape(-1, 3).astype(float)
    dark = (patch.mean(1) < 70).mean()
    light = (patch.mean(1) > 170).mean()
    assert dark > 0.1 and light > 0.1  # black and white stripes


def test_boxes_inside_images_and_scenes_have_distinct_classes():
    w = W.ConceptWorld(0)
    for i in range(30):
        img, boxes, labels, _ = w.scene(i)
        assert img.shape == (64, 64, 3) and img.dtype == np.uint8
        assert len(boxes) == len(labels) >= 2 and len(set(labels.tolist())) == len(labels)
        assert (boxes[:, 0] >= 0).all() and (boxes[:, 2] <= 64).all() and (boxes[:, 1] >= 0).all()
        assert (boxes[:, 3] <= 64).all() and (boxes[:, 0] < boxes[:, 2]).all()
    for lab in range(24):
        _, _, (x0, y0, x1, y1) = w.object_image(lab, 0)
        assert 0 <= x0 < x1 <= 64 and 0 <= y0 < y1 <= 64


def test_datasets_shapes_transform_and_grayscale():
    ds = W.ObjectsDataset(split="test", per_class=2)
    x, y = ds[5]
    assert x.shape == (3, 64, 64) and 0 <= x.min() and x.max() <= 1 and y == 5 and len(ds) == 48
    g, _ = W.ObjectsDataset(split="test", per_class=2, grayscale=True)[5]
    assert torch.equal(g[0], g[1]) and torch.equal(g[1], g[2])
    t, _ = W.TexturesDataset(per_class=1, transform=lambda im: im * 2)[0]
    assert t.max() > 1
    for cls in (W.TexturesDataset, W.MaterialsDataset, W.ColorsDataset):
        d = cls(per_class=1)
        assert len(d) == len(d.classes)
    img, target = W.ScenesDataset(n=3)[1]
    assert target["boxes"].shape[1] == 4 and len(target["labels"]) == len(target["boxes"])
    with pytest.raises(ValueError, match="split"):
        W.ObjectsDataset(split="dev")
    with pytest.raises(IndexError):
        ds[48]


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
    assert np.array_equal(im, W.ConceptWorld(0).scene(0)[0])
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
