"""The concept atlas (``sevec_helpers.report.atlas.write_atlas`` and ``sevec atlas``): what it writes
for a torchvision model without weights, a network file, EfficientNet-Lite0 and from the shell;
that its numbers are the SeVecs' own (top-k = ``retrieve``, D_c, masks, neighbours, Table 3,
significance); that every file it names exists and nothing leaves the folder; and the refusals,
with the messages a user sees. That it reads well in a browser is tests/test_atlas_browser.py.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
import torch

import sevec_helpers as sh
from sevec_helpers import cli
from sevec_helpers.report import atlas as A
from sevec_helpers.sevecs import significance as S

CLASSES = ["ant", "bee", "cat"]
TEXTURES = ["dots", "stripes"]


# ---------------------------------------------------------------------------------------
# tiny data and a tiny model
# ---------------------------------------------------------------------------------------


def _png_folder(root: Path, names, per: int, seed: int, size: int = 32) -> Path:
    """Class folders of small PNGs: each class its own colour and pattern, with noise."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    for c, name in enumerate(names):
        (root / name).mkdir(parents=True)
        for i in range(per):
            base = np.zeros((size, size, 3))
            base[..., c % 3] = 0.6
            pattern = ((xx + 3 * c + i) % (4 + 2 * c) < 2) if c % 2 else (((xx // 4) + (yy // 4) + i) % 2 == 0)
            img = base + 0.3 * pattern[..., None] + 0.15 * rng.random((size, size, 3))
            Image.fromarray((np.clip(img, 0, 1) * 255).astype(np.uint8)).save(root / name / f"{i:03d}.png")
    return root


def _resnet(seed: int = 0):
    import torchvision

    torch.manual_seed(seed)
    model = torchvision.models.resnet18(num_classes=len(CLASSES)).eval()
    spec = sh.describe_model(model, name=f"tiny_resnet18_{seed}", categories=CLASSES, mean=(0.5, 0.5, 0.5),
                             std=(0.25, 0.25, 0.25), input_size=32, aliases={"pool5": "layer4", "fc1": "avgpool"})
    return model, spec


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A torchvision ResNet-18 with random weights, described once; class and texture folders
    of 32 x 32 PNGs; class SeVecs at pool5 and fc1 and texture SeVecs at fc1."""
    from torchvision.datasets import ImageFolder

    root = tmp_path_factory.mktemp("atlas_data")
    model, spec = _resnet()
    fit = _png_folder(root / "fit", CLASSES, 4, 0)
    hold = _png_folder(root / "hold", CLASSES, 3, 1)
    tex = _png_folder(root / "tex", TEXTURES, 4, 2)
    sv = sh.fit_sevecs(model, ImageFolder(fit, transform=spec.transform), layers=["pool5", "fc1"], progress=False)
    sv_tex = sh.fit_sevecs(model, ImageFolder(tex, transform=spec.transform), layer="fc1", kind="textures",
                           progress=False)
    return {"model": model, "spec": spec, "root": root, "fit": fit, "hold": hold, "tex": tex, "sv": sv, "tex_sv": sv_tex}


@pytest.fixture(scope="module")
def written(tiny, tmp_path_factory):
    out = tmp_path_factory.mktemp("atlas") / "report"
    index = A.write_atlas(tiny["model"], tiny["sv"], tiny["hold"], out, low_level=tiny["tex_sv"], k=3,
                          random_sets=6, progress=False)
    return index, json.loads((out / "atlas.json").read_text())


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.src, self.href, self.ids = [], [], set()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in ("img", "script") and a.get("src"):
            self.src.append(a["src"])
        if tag == "a" and a.get("href"):
            self.href.append(a["href"])
        if a.get("id"):
            self.ids.add(a["id"])


def _parse(path: Path) -> _Links:
    p = _Links()
    p.feed(path.read_text(encoding="utf-8"))
    return p


def _holdout_features(tiny, layer):
    from torchvision.datasets import ImageFolder

    data = ImageFolder(tiny["hold"], transform=tiny["spec"].transform)
    return sh.extract_features(tiny["model"], data, layer, progress=False), data


# ---------------------------------------------------------------------------------------
# what it writes, and that its numbers are the SeVecs' own
# ---------------------------------------------------------------------------------------


def test_the_atlas_of_a_torchvision_model_without_weights(tiny, written):
    index, meta = written
    out = index.parent
    assert index.name == "index.html" and meta["format"] == A.FORMAT
    assert [L["layer"] for L in meta["layers"]] == ["pool5", "fc1"]
    names = {(c["kind"], c["name"]) for c in meta["concepts"]}
    assert names == {("concepts", n) for n in CLASSES} | {("textures", n) for n in TEXTURES}
    # every concept has its page, linked from the index; every file a page names exists
    pages = {p.name for p in (out / "concepts").glob("*.html")}
    linked = {Path(h).name for h in _parse(index).href if h.startswith("concepts/")}
    assert pages == linked == {Path(c["page"]).name for c in meta["concepts"]}
    for page in [index, *sorted((out / "concepts").glob("*.html"))]:
        links = _parse(page)
        for ref in links.src + [h.split("#")[0] for h in links.href if h.split("#")[0]]:
            assert not re.match(r"^[a-z]+:", ref), f"{page.name} names {ref}: the report must not leave its folder"
            assert (page.parent / ref).is_file(), f"{page.name} names {ref}, which is not there"
        for h in links.href:
            if h.startswith("#"):
                assert h[1:] in links.ids, f"{page.name}: no anchor {h}"
        text = page.read_text()
        assert "http://" not in text and "https://" not in text, f"{page.name} names a web address"
    # images are small JPEGs; no temporary folder is left beside the report
    from PIL import Image

    for f in list((out / "img").iterdir()) + list((out / "maps").iterdir()):
        with Image.open(f) as im:
            assert im.format == "JPEG" and max(im.size) <= 112
    assert [p.name for p in out.parent.iterdir()] == ["report"]
    assert A.summary(index).startswith("5 concepts at 2 layer(s) (pool5, fc1), 9 hold-out images;")


def test_the_numbers_are_the_sevecs_own(tiny, written):
    _, meta = written
    by = {(c["kind"], c["name"]): c for c in meta["concepts"]}
    for layer in ("pool5", "fc1"):
        sv = tiny["sv"][layer]
        f, data = _holdout_features(tiny, layer)
        top = sv.retrieve(f, k=3)
        scores = sv.scores(f)
        labels = [data.classes[y] for y in f.labels.tolist()]
        for r, name in enumerate(sv.names):
            L = by[("concepts", name)]["layers"][layer]
            assert [e["image"] for e in L["top"]] == top[r].tolist()
            assert [e["score"] for e in L["top"]] == [float(scores[i, r]) for i in top[r]]
            assert [e["image"] for e in L["bottom"]] == scores[:, r].topk(3, largest=False).indices.tolist()
            assert L["diversity"] == float(sv.diversity[r])
            assert (L["live"], L["dead"]) == (int(sv.counts[r]), int(sv.dead[r]))
            assert L["mask_units"] == int(sv.mask(0.5)[r].sum()) and L["units"] == sv.dim
            assert L["precision"] == np.mean([labels[i] == name for i in top[r]])
            near = [("concepts", n, v) for n, v in sv.related(name, top=5)]
            if layer == "fc1":                   # the nearest textures too
                near += [("textures", n, v) for n, v in sv.related(name, tiny["tex_sv"], top=5)]
            assert [(e["kind"], e["name"], e["relevance"]) for e in L["related"]] == near
    # Table 3: the textures in the top 3 of each hold-out image of the class, at the layer both share
    f, data = _holdout_features(tiny, "fc1")
    for name in CLASSES:
        L = by[("concepts", name)]["layers"]["fc1"]
        own = [i for i, y in enumerate(f.labels.tolist()) if data.classes[y] == name]
        why = tiny["tex_sv"].explain(f.values[own], top=2)
        counts = {}
        for row in why.names:
            for n in row:
                counts[n] = counts.get(n, 0) + 1
        assert {e["name"]: e["images"] for e in L["explained_by"]} == counts and L["explained_n"] == len(own)
        assert "explained_by" not in by[("concepts", name)]["layers"]["pool5"]   # no textures at pool5
    # the significance is the library's test, on the hold-out images as the pool
    sv = tiny["sv"]["fc1"]
    f, data = _holdout_features(tiny, "fc1")
    rel = np.array([[data.classes[y] == n for n in sv.names] for y in f.labels.tolist()])
    res = S.retrieval_significance(sv, S.null_sevecs(f.values, sv, 6, seed=0), f, rel, k=3,
                                   concepts=list(range(3)), warn=False)
    for j, name in enumerate(sv.names):
        sig = by[("concepts", name)]["layers"]["fc1"]["significance"]
        assert sig["p_adjusted"] == float(res.p_adjusted[j]) and sig["significant"] == bool(res.significant[j])
    assert by[("textures", "dots")]["layers"]["fc1"]["significance"] is None   # no image is labelled 'dots'
    # the CSV holds the same numbers
    rows = list(csv.DictReader((Path(written[0]).parent / "atlas.csv").open()))
    assert len(rows) == 3 * 2 + 2
    for row in rows:
        L = by[(row["kind"], row["concept"])]["layers"][row["layer"]]
        assert float(row["diversity"]) == L["diversity"] and int(row["mask_units"]) == L["mask_units"]
        assert row["top_images"] == " ".join(str(e["image"]) for e in L["top"])


def test_the_maps_are_the_library_maps(tiny, written):
    """A class concept's map is the semantic Guided Backprop of its class; a texture's, that of
    the predicted class through the texture's mask."""
    index, meta = written
    by = {(c["kind"], c["name"]): c for c in meta["concepts"]}
    L = by[("concepts", "bee")]["layers"]["pool5"]
    assert L["map_target"] == "class" and all(e["map_class"] == "bee" for e in L["top"])
    assert all((index.parent / e["map"]).is_file() for e in L["top"])
    T = by[("textures", "stripes")]["layers"]["fc1"]
    assert T["map_target"] == "predicted" and T["map_layer"] == "fc1"
    from sevec_helpers.evaluation.metrics import predict
    from torchvision.datasets import ImageFolder

    data = ImageFolder(tiny["hold"], transform=tiny["spec"].transform)
    pred = predict(tiny["model"], data).top5[:, 0]
    assert [e["map_class"] for e in T["top"]] == [CLASSES[int(pred[e["image"]])] for e in T["top"]]
    # the overlay is drawn from the library's map: the same pixels light up
    i = L["top"][0]["image"]
    x = data[i][0][None]
    m = sh.reduce_channels(sh.guided_backprop(tiny["model"], x, "bee", sevecs=tiny["sv"]["pool5"]))[0].numpy()
    assert m.max() > 0


def test_concepts_map_layer_and_n_maps(tiny, tmp_path):
    out = tmp_path / "a"
    A.write_atlas(tiny["model"], tiny["sv"], tiny["hold"], out, low_level=tiny["tex_sv"], concepts=["bee", "dots"],
                  k=2, n_maps=1, map_layer=["pool5", "fc1"], method="gradient_x_input", progress=False)
    meta = json.loads((out / "atlas.json").read_text())
    assert [c["name"] for c in meta["concepts"]] == ["bee", "dots"]
    bee, dots = meta["concepts"]
    assert bee["layers"]["pool5"]["map_layer"] == "pool5" and "map_layer" not in bee["layers"]["fc1"]
    assert dots["layers"]["fc1"]["map_layer"] == "fc1"          # textures have no pool5: their first choice there
    assert [bool(e.get("map")) for e in bee["layers"]["pool5"]["top"]] == [True, False]
    assert meta["settings"]["method"] == "gradient_x_input" and len(list((out / "maps").iterdir())) == 2
    # neighbours outside the chosen concepts are named, not linked
    page = (out / bee["page"]).read_text()
    assert "ant" in page and 'href="concepts-ant.html"' not in page


def test_random_concepts_drawn_from_a_pool(tiny, tmp_path):
    """random_sets with pool=: the random concepts are SeVecs of random sets of the pool's images
    (here the fitting images), as the significance module draws them."""
    from torchvision.datasets import ImageFolder

    out = A.write_atlas(tiny["model"], tiny["sv"]["fc1"], tiny["hold"], tmp_path / "a", k=3, method=None,
                        random_sets=5, pool=tiny["fit"], seed=3, progress=False)
    meta = json.loads((out.parent / "atlas.json").read_text())
    assert meta["settings"]["pool"] == "given" and meta["settings"]["random_sets"] == 5
    sv = tiny["sv"]["fc1"]
    pool = sh.extract_features(tiny["model"], ImageFolder(tiny["fit"], transform=tiny["spec"].transform), "fc1",
                               progress=False)
    f, data = _holdout_features(tiny, "fc1")
    rel = np.array([[data.classes[y] == n for n in sv.names] for y in f.labels.tolist()])
    res = S.retrieval_significance(sv, S.null_sevecs(pool.values, sv, 5, seed=3), f, rel, k=3, concepts=[0, 1, 2],
                                   warn=False)
    got = [c["layers"]["fc1"]["significance"]["p"] for c in meta["concepts"]]
    assert got == [float(v) for v in res.p]
    with pytest.raises(ValueError, match=r"fitted on up to 4 images per concept, but the pool of random images "
                                         r"holds 3: pass a larger pool="):
        A.write_atlas(tiny["model"], tiny["sv"]["fc1"], tiny["hold"], tmp_path / "b", method=None, random_sets=5,
                      pool=torch.stack([ImageFolder(tiny["fit"], transform=tiny["spec"].transform)[i][0]
                                        for i in range(3)]), progress=False)


def test_unlabelled_flat_folder_and_tensors(tiny, tmp_path):
    flat = tmp_path / "flat"
    flat.mkdir()
    for p in sorted(tiny["hold"].rglob("*.png"))[:5]:
        shutil.copy(p, flat / f"{p.parent.name}_{p.name}")
    out = A.write_atlas(tiny["model"], tiny["sv"]["fc1"], flat, tmp_path / "a", k=2, method=None, progress=False)
    meta = json.loads((out.parent / "atlas.json").read_text())
    assert meta["holdout"] == {"images": 5, "labelled": False, "classes": []}
    assert all(L["precision"] is None for c in meta["concepts"] for L in c["layers"].values())
    assert not list((out.parent / "maps").iterdir()) and meta["settings"]["method"] is None
    from sevec_helpers.sources.datasets import load_rgb

    x = torch.stack([tiny["spec"].transform(load_rgb(p)) for p in sorted(flat.iterdir())])
    out2 = A.write_atlas(tiny["model"], tiny["sv"]["fc1"], (x, torch.tensor([0, 0, 0, 1, 1])), tmp_path / "b", k=2,
                         progress=False)
    meta2 = json.loads((out2.parent / "atlas.json").read_text())
    assert meta2["holdout"]["labelled"] and meta2["holdout"]["classes"] == ["ant", "bee"]   # labels are outputs


def test_overwrite_replaces_an_earlier_atlas_only(tiny, tmp_path):
    out = tmp_path / "a"
    A.write_atlas(tiny["model"], tiny["sv"]["fc1"], tiny["hold"], out, k=2, method=None, progress=False)
    with pytest.raises(FileExistsError, match=r"exists and is not empty: pass overwrite=True to replace it"):
        A.write_atlas(tiny["model"], tiny["sv"]["fc1"], tiny["hold"], out, k=2, method=None, progress=False)
    A.write_atlas(tiny["model"], tiny["sv"]["fc1"], tiny["hold"], out, k=3, method=None, progress=False,
                  overwrite=True)
    assert json.loads((out / "atlas.json").read_text())["settings"]["k"] == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a"]
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("years of work")
    with pytest.raises(FileExistsError, match="is not an atlas written by sevec_helpers"):
        A.write_atlas(tiny["model"], tiny["sv"]["fc1"], tiny["hold"], mine, method=None, overwrite=True,
                      progress=False)
    assert (mine / "thesis.tex").read_text() == "years of work"
    (tmp_path / "empty").mkdir()
    A.write_atlas(tiny["model"], tiny["sv"]["fc1"], tiny["hold"], tmp_path / "empty", k=1, method=None,
                  progress=False)   # an empty folder is filled
    assert (tmp_path / "empty" / "index.html").is_file()


def test_nothing_half_written(tiny, tmp_path, monkeypatch):
    from sevec_helpers.report import pages

    def broken(root, meta):
        (root / "index.html").write_text("half")
        raise RuntimeError("disk full")

    monkeypatch.setattr(pages, "write_pages", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        A.write_atlas(tiny["model"], tiny["sv"], tiny["hold"], tmp_path / "a", k=2, progress=False)
    assert list(tmp_path.iterdir()) == []
    # an earlier atlas survives a failed overwrite
    monkeypatch.undo()
    A.write_atlas(tiny["model"], tiny["sv"]["fc1"], tiny["hold"], tmp_path / "a", k=2, method=None, progress=False)
    before = (tmp_path / "a" / "atlas.json").read_text()
    monkeypatch.setattr(pages, "write_pages", broken)
    with pytest.raises(RuntimeError):
        A.write_atlas(tiny["model"], tiny["sv"]["fc1"], tiny["hold"], tmp_path / "a", k=1, method=None,
                      overwrite=True, progress=False)
    assert (tmp_path / "a" / "atlas.json").read_text() == before and sorted(p.name for p in tmp_path.iterdir()) == ["a"]


# ---------------------------------------------------------------------------------------
# refusals, with the messages a user sees
# ---------------------------------------------------------------------------------------


def test_refuses_sevecs_of_another_model(tiny, tmp_path):
    other, _ = _resnet(seed=1)
    with pytest.raises(ValueError, match=r"the concepts SeVecs at 'fc1' do not fit: they were fitted on "
                                         r"tiny_resnet18_0 with weights \w+, this model \(tiny_resnet18_1\)"):
        A.write_atlas(other, tiny["sv"]["fc1"], tiny["hold"], tmp_path / "a", progress=False)
    assert not (tmp_path / "a").exists()


def test_refuses_sevecs_of_another_layer(tiny, tmp_path):
    sv = tiny["sv"]["fc1"]
    moved = sh.SemanticVectors(vectors=sv.vectors, rates=sv.rates, counts=sv.counts, dead=sv.dead,
                               diversity=sv.diversity, names=sv.names, layer="layer3", model_name=sv.model_name,
                               fingerprint=sv.fingerprint, input_size=sv.input_size, kind=sv.kind)
    with pytest.raises(ValueError, match=r"the concepts SeVecs have 512 units, but layer 'layer3' of tiny_resnet18_0 "
                                         r"has 1024: they belong to another layer or model"):
        A.write_atlas(tiny["model"], moved, tiny["hold"], tmp_path / "a", progress=False)
    with pytest.raises(ValueError, match=r"unknown layer 'layer9'|layer9"):
        moved.layer = "layer9"
        A.write_atlas(tiny["model"], moved, tiny["hold"], tmp_path / "a", progress=False)
    assert not (tmp_path / "a").exists()


def test_refuses_an_empty_or_missing_folder(tiny, tmp_path):
    (tmp_path / "empty" / "ant").mkdir(parents=True)
    with pytest.raises(ValueError, match=r"the hold-out folder .*empty holds no images \(extensions .jpg"):
        A.write_atlas(tiny["model"], tiny["sv"]["fc1"], tmp_path / "empty", tmp_path / "a", progress=False)
    with pytest.raises(FileNotFoundError, match=r"hold-out folder '.*nowhere' not found"):
        A.write_atlas(tiny["model"], tiny["sv"]["fc1"], tmp_path / "nowhere", tmp_path / "a", progress=False)
    with pytest.raises(ValueError, match="the hold-out tensor holds no images"):
        A.write_atlas(tiny["model"], tiny["sv"]["fc1"], torch.zeros(0, 3, 32, 32), tmp_path / "a", progress=False)
    assert not (tmp_path / "a").exists()


def test_refuses_an_unknown_concept(tiny, tmp_path):
    with pytest.raises(ValueError, match=r"unknown concept 'bees': no SeVec is named so \(did you mean: bee\?\); "
                                         r"the SeVecs given name 5 concepts: ant, bee, cat, dots, stripes"):
        A.write_atlas(tiny["model"], tiny["sv"], tiny["hold"], tmp_path / "a", low_level=tiny["tex_sv"],
                      concepts=["bee", "bees"], progress=False)


def test_refuses_class_maps_the_model_cannot_draw(tiny, tmp_path):
    """Class SeVecs whose classes the model does not have: no class map can be drawn."""
    from torchvision.datasets import ImageFolder

    fit = _png_folder(tmp_path / "other", ["dog", "eel"], 3, 5)
    sv = sh.fit_sevecs(tiny["model"], ImageFolder(fit, transform=tiny["spec"].transform), layer="pool5",
                       progress=False)
    with pytest.raises(ValueError, match=r"tiny_resnet18_0 has no class named 'dog', 'eel' \(its 3 categories include "
                                         r"'ant', 'bee', 'cat'\): the map of a class concept is the semantic map of "
                                         r"that class.*or pass method=None for an atlas without maps"):
        A.write_atlas(tiny["model"], sv, fit, tmp_path / "a", progress=False)
    A.write_atlas(tiny["model"], sv, fit, tmp_path / "a", method=None, k=2, progress=False)   # without maps: fine
    import torchvision

    plain = torchvision.models.resnet18(num_classes=3).eval()
    with pytest.raises(ValueError, match=r"carries no category names"), pytest.warns(UserWarning, match="do not fit"):
        A.write_atlas(plain, sv, torch.randn(4, 3, 32, 32), tmp_path / "b", check_provenance=False, progress=False)


def test_refuses_bad_sizes_and_arguments(tiny, tmp_path):
    run = lambda **kw: A.write_atlas(tiny["model"], tiny["sv"]["fc1"], tiny["hold"], tmp_path / "a",  # noqa: E731
                                     progress=False, **kw)
    with pytest.raises(ValueError, match=r"k=10 but the hold-out data has 9 images; pick 1 <= k <= 9"):
        run(k=10)
    with pytest.raises(ValueError, match=r"n_maps=4 but only the top k=3 images are shown"):
        run(k=3, n_maps=4)
    with pytest.raises(ValueError, match=r"unknown method 'gradient'.*\(the gradient's id is 'vanilla_gradient'\)"):
        run(method="gradient")
    with pytest.raises(ValueError, match=r"map_layer 'pool5' is not a layer of the SeVecs given \(their layers: fc1\)"):
        run(map_layer="pool5")
    with pytest.raises(ValueError, match=r"random_sets must be an integer >= 2"):
        run(random_sets=1)
    with pytest.raises(TypeError, match=r"sevecs must be SemanticVectors .* got str"):
        A.write_atlas(tiny["model"], "fc1.pt", tiny["hold"], tmp_path / "a", progress=False)
    with pytest.raises(ValueError, match=r"two sets of concepts SeVecs at layer 'fc1'"):
        A.write_atlas(tiny["model"], [tiny["sv"]["fc1"], tiny["sv"]["fc1"]], tiny["hold"], tmp_path / "a",
                      progress=False)
    (tmp_path / "file").write_text("x")
    with pytest.raises(FileExistsError, match=r"is a file, not a folder"):
        A.write_atlas(tiny["model"], tiny["sv"]["fc1"], tiny["hold"], tmp_path / "file", progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


# ---------------------------------------------------------------------------------------
# other models: a network file, EfficientNet-Lite0; the command line
# ---------------------------------------------------------------------------------------


@pytest.mark.slow
def test_the_atlas_of_a_network_file(tmp_path):
    from sevec_helpers.sources import world as W
    from sevec_helpers.sources.models import WEIGHTS_DIR

    for ext in (".pt", ".json"):
        shutil.copy(WEIGHTS_DIR / f"vgg_mini{ext}", tmp_path / f"my_net{ext}")
    model, spec = sh.load_model(str(tmp_path / "my_net.pt"))
    fit = W.ObjectsDataset(W.ConceptWorld(0), "train", 2, spec=spec)
    hold = W.ObjectsDataset(W.ConceptWorld(1), "test", 1, spec=spec)
    sv = sh.fit_sevecs(model, fit, layers=["pool5", "fc1"], progress=False)
    low = sh.fit_sevecs(model, W.ColorsDataset(W.ConceptWorld(0), "train", 2, spec=spec), layer="fc1", progress=False)
    index = A.write_atlas(model, sv, hold, tmp_path / "atlas", low_level=low, k=2, progress=False,
                          concepts=["zebra", "red", "fern"])
    meta = json.loads((index.parent / "atlas.json").read_text())
    assert meta["model"]["name"] == "my_net"
    assert [c["name"] for c in meta["concepts"]] == [n for n in sv["fc1"].names if n in ("zebra", "fern")] + ["red"]
    zebra = next(c for c in meta["concepts"] if c["name"] == "zebra")["layers"]
    f = sh.extract_features(model, hold, "pool5", progress=False)
    assert [e["image"] for e in zebra["pool5"]["top"]] == sv["pool5"].retrieve(f, 2)[sv["pool5"].index("zebra")].tolist()
    assert zebra["fc1"]["explained_by"] and zebra["pool5"]["top"][0]["map_class"] == "zebra"


@pytest.mark.slow
def test_the_atlas_of_efficientnet_lite0(tmp_path):
    model, spec = sh.load_model("efficientnet_lite0")
    names = ["tench", "goldfish", "great white shark"]
    fit = _png_folder(tmp_path / "fit", names, 2, 0, size=64)
    hold = _png_folder(tmp_path / "hold", names, 2, 1, size=64)
    from torchvision.datasets import ImageFolder

    sv = sh.fit_sevecs(model, ImageFolder(fit, transform=spec.transform), layers=["pool5", "fc1"], progress=False)
    index = A.write_atlas(model, sv, hold, tmp_path / "atlas", k=2, n_maps=1, random_sets=4, progress=False)
    meta = json.loads((index.parent / "atlas.json").read_text())
    assert meta["model"]["name"] == "efficientnet_lite0" and meta["layers"][0]["units"] == 1280 * 7 * 7
    shark = next(c for c in meta["concepts"] if c["name"] == "great white shark")
    assert shark["layers"]["pool5"]["top"][0]["map_class"] == "great white shark"
    assert (index.parent / shark["page"]).is_file() and shark["page"] == "concepts/concepts-great-white-shark.html"


def test_the_command_line_end_to_end(tiny, tmp_path, capsys):
    d = tmp_path
    tiny["sv"]["pool5"].save(d / "pool5.pt")
    tiny["sv"]["fc1"].save(d / "fc1.pt")
    tiny["tex_sv"].save(d / "tex.pt")
    from sevec_helpers.sources import models as M

    M.register_model("tiny_resnet18_cli", lambda weights: (tiny["model"], tiny["spec"]))
    args = ["atlas", "--model", "tiny_resnet18_cli", "--device", "cpu", "--sevecs", d / "pool5.pt", d / "fc1.pt",
            "--low-level", d / "tex.pt", "--data", tiny["hold"], "--out", d / "atlas", "--k", "2", "--maps", "1",
            "--random-sets", "4", "--quiet"]
    assert cli.main([str(a) for a in args]) == 0
    said = capsys.readouterr().out
    assert said.startswith(f"wrote {d / 'atlas' / 'index.html'}: 5 concepts at 2 layer(s) (pool5, fc1), 9 hold-out")
    meta = json.loads((d / "atlas" / "atlas.json").read_text())
    assert meta["settings"]["n_maps"] == 1 and meta["settings"]["random_sets"] == 4
    assert {c["kind"] for c in meta["concepts"]} == {"concepts", "textures"}   # ImageFolder names no kind
    # again: refused without --overwrite, in the command's words
    assert cli.main([str(a) for a in args]) == 1
    assert capsys.readouterr().err == f"sevec: error: {d / 'atlas'} exists; pass --overwrite to replace it\n"
    assert cli.main([str(a) for a in args] + ["--overwrite", "--concepts", "bee,wasp"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("sevec: error: unknown concept 'wasp'") and err.count("\n") == 1
    assert cli.main([str(a) for a in args] + ["--overwrite", "--method", "none"]) == 0
    assert json.loads((d / "atlas" / "atlas.json").read_text())["settings"]["method"] is None
    (d / "mine").mkdir()
    (d / "mine" / "notes.txt").write_text("keep")
    bad = [str(a) for a in args[: args.index("--out")]] + ["--out", str(d / "mine"), "--overwrite", "--quiet"]
    assert cli.main(bad) == 1
    assert "overwrite=True" not in capsys.readouterr().err and (d / "mine" / "notes.txt").exists()


@pytest.mark.slow
def test_sevec_atlas_in_a_shell(tmp_path):
    """The installed command, from folders rendered and SeVecs fitted by the command itself."""
    import os
    import subprocess
    import sys

    env = dict(os.environ, OMP_NUM_THREADS="1")
    run = lambda *a: subprocess.run([sys.executable, "-m", "sevec_helpers", *map(str, a)], capture_output=True,  # noqa
                                    text=True, env=env, timeout=600)
    for split, n in (("train", 3), ("test", 1)):
        assert run("world", "render", "--out", tmp_path, "--part", "objects", "--split", split, "--per-class", n,
                   "--quiet").returncode == 0
    r = run("fit", "--model", "vgg_mini", "--layer", "pool5", "--layer", "fc1", "--data", tmp_path / "objects/train",
            "--out", tmp_path / "sv_{layer}.pt", "--quiet")
    assert r.returncode == 0, r.stderr
    r = run("atlas", "--model", "vgg_mini", "--sevecs", tmp_path / "sv_pool5.pt", tmp_path / "sv_fc1.pt",
            "--data", tmp_path / "objects/test", "--out", tmp_path / "atlas", "--k", "1", "--concepts", "zebra,fern",
            "--quiet")
    assert r.returncode == 0, r.stderr
    assert "wrote" in r.stdout and (tmp_path / "atlas" / "concepts" / "classes-zebra.html").is_file()
    r = run("atlas", "--model", "vgg_mini", "--sevecs", tmp_path / "sv_fc1.pt", "--data", tmp_path / "nowhere",
            "--out", tmp_path / "atlas2", "--quiet")
    assert r.returncode == 1 and r.stderr.startswith("sevec: error: hold-out folder") and not (tmp_path / "atlas2").exists()
