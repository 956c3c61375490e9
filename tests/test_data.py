"""Real-data loaders on tiny trees written here in the real on-disk formats."""

import warnings

import fake_datasets as F
import numpy as np
import pytest
import torch
from torchvision import transforms as T

import sevec_helpers as sh
from sevec_helpers.core import layers
from sevec_helpers.sources import datasets as D

TO = T.Compose([T.Resize(32), T.CenterCrop(32), T.ToTensor()])
SYN = F.SYN


_img = F.img


@pytest.fixture
def imagenet(tmp_path):
    F.imagenet_tree(tmp_path)
    _img(tmp_path / "train" / SYN[1] / "gray.JPEG", "L", fmt="JPEG")
    _img(tmp_path / "train" / SYN[2] / "cmyk.JPEG", "CMYK", fmt="JPEG")
    (tmp_path / "train" / SYN[0] / "broken.JPEG").write_bytes(b"\xff\xd8 not really a jpeg")
    xml = tmp_path / "xml"
    xml.mkdir()
    for i in range(1, 7):
        (xml / f"ILSVRC2012_val_{i:08d}.xml").write_text(
            f"<annotation><filename>ILSVRC2012_val_{i:08d}</filename><size><width>400</width>"
            f"<height>300</height></size><object><name>{SYN[i % 3]}</name><bndbox><xmin>101</xmin>"
            f"<ymin>51</ymin><xmax>300</xmax><ymax>250</ymax></bndbox></object></annotation>")
    return tmp_path


def test_image_folder_cap_modes_and_corrupt_files(imagenet):
    ds = D.ImageFolderCapped(imagenet / "train", TO, per_class=10, classes=SYN)
    assert ds.classes == SYN and len(ds) == 3 * 3 + 3
    with pytest.warns(UserWarning, match="skipping unreadable image"):
        items = [ds[i] for i in range(len(ds))]
    assert sum(it is None for it in items) == 1 and len(ds.skipped) == 1
    assert all(it[0].shape == (3, 32, 32) for it in items if it is not None)
    capped = D.ImageFolderCapped(imagenet / "train", TO, per_class=2, classes=SYN)
    assert len(capped) == 6
    with pytest.raises(FileNotFoundError, match="no folder for class"):
        D.ImageFolderCapped(imagenet / "train", TO, classes=SYN + ["n99999999"])
    with pytest.raises(FileNotFoundError, match="not found"):
        D.ImageFolderCapped(imagenet / "nope", TO)


def test_streaming_skips_unreadable_images(imagenet):
    ds = D.ImageFolderCapped(imagenet / "train", T.Compose([T.Resize(32), T.CenterCrop(32), T.ToTensor(),
                                                            T.Normalize((0.5,) * 3, (0.25,) * 3)]),
                             classes=SYN)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(), torch.nn.Flatten())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        feats, labels = sh.extract_features(model, ds, "1", batch_size=4, progress=False)
    assert len(feats) == len(ds) - 1


def test_rgba_and_palette_convert(tmp_path):
    _img(tmp_path / "c" / "a.png", "RGBA", fmt="PNG")
    assert D.load_rgb(tmp_path / "c" / "a.png").mode == "RGB"


def test_imagenet_val_csv_and_xml_boxes(imagenet):
    syn, names = D.read_synset_mapping(imagenet / "LOC_synset_mapping.txt")
    assert syn == SYN and names[0] == "name64"
    csv_ds = D.ImageNetVal(imagenet / "val", imagenet / "LOC_val_solution.csv", syn, TO, target="boxes",
                           resize=32, crop=32)
    xml_ds = D.ImageNetVal(imagenet / "val", imagenet / "xml", syn, TO, target="boxes", resize=32, crop=32)
    assert len(csv_ds) == len(xml_ds) == 6
    x, t = csv_ds[0]
    # 400x300 -> resize shorter side to 32: 42x32, centre crop 32 (5 px off the left)
    assert x.shape == (3, 32, 32)
    np.testing.assert_allclose(t["boxes"][0].numpy(), [100 * 42 / 400 - 5, 50 * 32 / 300, 300 * 42 / 400 - 5,
                                                       250 * 32 / 300], atol=1e-4)
    assert t["labels"].tolist() == [1]  # the small second box falls outside the crop and is dropped
    x2, t2 = xml_ds[0]  # XML boxes are 1-based inclusive: the same box after conversion
    np.testing.assert_allclose(t2["boxes"][0].numpy(), t["boxes"][0].numpy(), atol=1e-4)
    lab = D.ImageNetVal(imagenet / "val", imagenet / "LOC_val_solution.csv", syn, TO, per_class=1)
    assert sorted(y for _, y in lab.samples) == [0, 1, 2]
    with pytest.raises(ValueError, match="not in the class list"):
        D.ImageNetVal(imagenet / "val", imagenet / "LOC_val_solution.csv", SYN[:1], TO)
    with pytest.raises(FileNotFoundError, match="annotations"):
        D.ImageNetVal(imagenet / "val", imagenet / "missing.csv", syn, TO)


def test_resize_crop_boxes_drops_boxes_outside_the_crop():
    assert D.resize_crop_boxes([(0, 0, 10, 10)], 400, 200, 100, 100) == []
    # 400x200 -> 200x100, centre crop 100 starts 50 px in: (150, 50, 250, 150) -> (25, 25, 75, 75)
    assert D.resize_crop_boxes([(150, 50, 250, 150)], 400, 200, 100, 100) == [(25.0, 25.0, 75.0, 75.0)]
    assert D.resize_crop_boxes([(0, 0, 400, 200)], 400, 200, 100, 100) == [(0, 0, 100, 100)]


def test_dtd_fmd_colors_layouts(tmp_path):
    base = tmp_path / "dtd" / "dtd"
    for c in ("banded", "cracked"):
        for i in range(2):
            _img(base / "images" / c / f"{c}_{i}.jpg", fmt="JPEG")
    (base / "labels").mkdir()
    (base / "labels" / "train1.txt").write_text("banded/banded_0.jpg\ncracked/cracked_0.jpg\n")
    (base / "labels" / "val1.txt").write_text("banded/banded_1.jpg\ncracked/cracked_1.jpg\n")
    d = D.dtd(tmp_path, "train", 1, TO)
    assert d.classes == ["banded", "cracked"] and [y for _, y in d.samples] == [0, 1]
    with pytest.raises(FileNotFoundError, match="test3.txt"):
        D.dtd(tmp_path, "test", 3)
    for m in ("glass", "wood"):
        _img(tmp_path / "fmd" / "image" / m / "a.jpg", fmt="JPEG")
        _img(tmp_path / "fmd" / "mask" / m / "a.jpg", fmt="JPEG")
    f = D.fmd(tmp_path / "fmd", TO)
    assert f.classes == ["glass", "wood"] and len(f) == 2
    _img(tmp_path / "col" / "red" / "1.png", fmt="PNG")
    assert D.colors(tmp_path / "col", TO).classes == ["red"]


def test_imagenette_labels_map_to_imagenet(tmp_path):
    for s in D.IMAGENETTE_SYNSETS:
        _img(tmp_path / "imagenette2-320" / "val" / s / "x.JPEG", fmt="JPEG")
    all_syn = sorted(set(D.IMAGENETTE_SYNSETS) | {f"n0000000{i}" for i in range(5)})
    ds = D.imagenette(tmp_path, "val", TO, imagenet_synsets=all_syn)
    assert [y for _, y in ds.samples] == [all_syn.index(s) for s in D.IMAGENETTE_SYNSETS]


def test_voc_scenes(tmp_path):
    base = tmp_path / "VOCdevkit" / "VOC2007"
    _img(base / "JPEGImages" / "000001.jpg", size=(64, 64), fmt="JPEG")
    (base / "Annotations").mkdir(parents=True)
    (base / "Annotations" / "000001.xml").write_text(
        "<annotation><filename>000001.jpg</filename><size><width>64</width><height>64</height></size>"
        "<object><name>dog</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>32</xmax><ymax>32</ymax></bndbox></object>"
        "<object><name>cat</name><bndbox><xmin>33</xmin><ymin>33</ymin><xmax>64</xmax><ymax>64</ymax></bndbox>"
        "</object></annotation>")
    (base / "ImageSets" / "Main").mkdir(parents=True)
    (base / "ImageSets" / "Main" / "test.txt").write_text("000001\n")
    ds = D.VOCScenes(tmp_path, "test", TO, class_map={"dog": 5, "cat": 7}, resize=64, crop=64)
    x, t = ds[0]
    assert t["labels"].tolist() == [5, 7] and t["boxes"][0].tolist() == [0, 0, 32, 32]


def test_imagenet_profile_needs_its_paths(imagenet):
    from sevec_helpers.book import profiles

    with pytest.raises(FileNotFoundError, match="ImageNet train"):
        profiles.study("imagenet", sizes=dict(model="alexnet", imagenet_train=str(imagenet / "missing")))
    with pytest.raises(ValueError, match="has no size.*per_clas_fit"):
        profiles.study("imagenet", sizes=dict(per_clas_fit=3))


def test_imagenet_profile_runs_on_a_tiny_tree(imagenet):
    from sevec_helpers.book import profiles

    s = profiles.study("imagenet", sizes=dict(
        model="alexnet", weights=None, imagenet_train=str(imagenet / "train"), imagenet_val=str(imagenet / "val"),
        val_annotations=str(imagenet / "LOC_val_solution.csv"), synset_mapping=str(imagenet / "LOC_synset_mapping.txt"),
        per_class_fit=2, n_scenes=4))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sv = s.sevecs("classes", "fc1")
    # the classes are named by the model's own categories (synset i is output i), so that a
    # target's SeVec is found by name
    assert sv.names == list(s.spec.categories)[: len(SYN)] and sv.dim == 4096 and sv.kind == "classes"
    x, t = s.dataset("scenes")[0]
    assert x.shape == (3, 224, 224) and t["boxes"].shape[1] == 4
    g = s.spec.denormalize(s.dataset("class_holdout_gray")[0][0][None])[0]  # the colour ablation: equal channels
    assert torch.allclose(g[0], g[1], atol=1e-5) and torch.allclose(g[1], g[2], atol=1e-5)
    assert s.truth is None and s.image_truth() is None


def test_restrict_outputs_keeps_aliases_and_picks_columns():
    from sevec_helpers.sources.models import restrict_outputs

    base, spec = sh.load_model("alexnet", weights=None)
    sub, sspec = restrict_outputs(base, spec, [0, 217, 482])
    x = torch.randn(2, 3, 96, 96)
    with torch.no_grad():
        assert torch.equal(sub(x), base(x)[:, [0, 217, 482]])
    assert sspec.categories == ["tench", "English springer", "cassette player"]
    assert layers.layer_aliases(sub)["fc1"] == "base.classifier.2"
    assert sh.extract_features(sub, x, "fc1", progress=False).values.shape == (2, 4096)


@pytest.mark.slow
def test_imagenette_profile_with_paired_scenes(tmp_path):
    from sevec_helpers.book import profiles
    from sevec_helpers.evaluation import localization as L

    F.imagenette_tree(tmp_path)
    s = profiles.study("imagenette", sizes=dict(model="alexnet", weights=None, imagenette_root=str(tmp_path),
                                                n_scenes=3))
    assert len(s.classes) == 10 and len(s.dataset("class_fit")) == 20
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sv = sh.fit_sevecs(s.model, s.dataset("class_fit"), "pool5", progress=False, batch_size=10)
    x, t = s.dataset("scenes")[0]
    assert x.shape == (3, 224, 224) and t["boxes"].tolist()[0] == [0, 56, 112, 168]
    assert t["labels"][0] != t["labels"][1]
    res = L.scene_maps(s.model, s.dataset("scenes"), sv)
    assert res.maps["Semantic GuidedBP"].shape == (6, 224, 224)
    assert res.maps["Semantic GuidedBP (other object's mask)"].shape == (6, 224, 224)
