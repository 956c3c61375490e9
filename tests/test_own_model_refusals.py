"""Your own model, never a quiet wrong answer (issue 27).

Each test is one defect the issue lists, asserting what a user now sees: SeVec rows matched to
classes by name (a subset of classes in Python and on the command line), un-normalised input
refused for every model, one policy for layers that are not rectified, scores that check
where their features came from, the energy share validated like the pointing game, the
classic game's tolerance scaled with the map, a plain ``nn.Module`` described once
(``describe_model``) to have what a named model has, and the smaller things.
"""

import re
import urllib.error
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn as nn
from conftest import PlantedNet, hook_state, planted_inputs

import sevec_helpers as sh
from sevec_helpers import cli
from sevec_helpers.core.fingerprint import model_fingerprint

ROOT = Path(__file__).resolve().parents[1]
SIX = ["tench", "goldfish", "shark", "Egyptian cat", "bobsled", "espresso"]
FIVE = ["Egyptian cat", "bobsled", "espresso", "missile", "moped"]


# ---------------------------------------------------------------------------------------
# small models, exact answers
# ---------------------------------------------------------------------------------------


def _six():
    """PlantedNet with 4 units and 6 outputs; rows of the SeVecs planted per class."""
    return PlantedNet(4, k=6, seed=3)


PATTERNS = {"Egyptian cat": [1, 1, 0, 0], "bobsled": [0, 1, 1, 0], "espresso": [0, 0, 1, 1],
            "tench": [1, 0, 0, 1], "goldfish": [1, 0, 1, 0], "shark": [0, 1, 0, 1]}


def _sevecs(names, layer="act", **prov):
    pats = torch.tensor([PATTERNS[n] for n in names])
    x = planted_inputs(pats)
    return sh.SemanticVectors.from_features(torch.relu(x.reshape(len(names), -1)), torch.arange(len(names)), names,
                                            layer=layer, kind="classes", **prov)


X = planted_inputs(torch.tensor([[1, 1, 1, 0], [0, 1, 1, 1]]), scale=torch.tensor([1.0, 2.0, 0.5, 1.5]))


@pytest.fixture(scope="module")
def mini():
    from sevec_helpers.sources import world as W

    model, spec = sh.load_model("vgg_mini")
    ds = W.ObjectsDataset(split="test", per_class=2, spec=spec)
    return model, spec, ds


def _subset(ds, names, spec):
    """The images of some of the world's classes as a data set that names them (an ImageFolder of a
    subset of a model's classes)."""
    keep = [i for i, (_, y) in enumerate(ds) if spec.categories[y] in names]

    class Subset(torch.utils.data.Dataset):
        classes = list(names)

        def __len__(self):
            return len(keep)

        def __getitem__(self, i):
            x, y = ds[keep[i]]
            return x, names.index(spec.categories[y])

    return Subset()


# ---------------------------------------------------------------------------------------
# 1. SeVec rows are matched to targets by name
# ---------------------------------------------------------------------------------------


def test_a_target_without_a_sevec_of_its_class_is_refused_with_the_fitted_names(mini):
    """SeVecs of five classes: the map of a sixth class was masked with the first SeVec, quietly."""
    model, spec, ds = mini
    five = spec.categories[4:9]    # zebra, horse, leopard, dalmatian, ...
    sv = sh.fit_sevecs(model, _subset(ds, five, spec), "pool5", kind="classes", progress=False)
    x = torch.stack([ds[i][0] for i in range(2)])
    before = hook_state(model)
    msg = (f"target class 0 ('canary') has no SeVec: these SeVecs were fitted for 5 classes: "
           f"{', '.join(repr(n) for n in five)}. Pick a target among them, fit a SeVec of this class too, or pass "
           f"concepts= to choose each sample's SeVec row or name")
    for target in ("canary", 0, [0, 0]):
        with pytest.raises(ValueError) as e:
            sh.guided_backprop(model, x, target, sevecs=sv)
        assert str(e.value) == msg
    assert hook_state(model) == before
    # targets among them are masked with their own class's SeVec, whatever its row
    for target in ("zebra", "leopard", 4, 6):
        name = target if isinstance(target, str) else spec.categories[target]
        assert torch.equal(sh.gradient_x_input(model, x, target, sevecs=sv),
                           sh.gradient_x_input(model, x, target, sevecs=sv, concepts=name))
    reordered = sv.subset(list(reversed(five)))
    assert torch.equal(sh.guided_backprop(model, x, [4, 6], sevecs=sv),
                       sh.guided_backprop(model, x, [4, 6], sevecs=reordered))
    from sevec_helpers.attribution.captum import SemanticGuidedBackprop   # the Captum-style classes alike

    with pytest.raises(ValueError) as e:
        SemanticGuidedBackprop(model, None, sv).attribute(x, target=0)
    assert str(e.value) == msg
    assert torch.equal(SemanticGuidedBackprop(model, None, reordered).attribute(x, target=4),
                       sh.guided_backprop(model, x, 4, sevecs=sv))


def test_subset_sevecs_mask_each_target_exactly_with_its_class():
    """A described model of six classes, SeVecs of three of them in another order: the mask of each
    target is its class's SeVec, equal to the map with that SeVec named explicitly."""
    net = _six()
    sh.describe_model(net, categories=SIX)
    sv = _sevecs(["espresso", "Egyptian cat", "bobsled"])
    for t in ("Egyptian cat", 3, "espresso", 5):
        name = SIX[t] if isinstance(t, int) else t
        got = sh.gradient_x_input(net, X, t, sevecs=sv)
        assert torch.equal(got, sh.gradient_x_input(net, X, t, sevecs=sv, concepts=name))
        keep = sv.mask()[sv.index(name)].float()
        w = net.head.weight[SIX.index(name)]
        z = X.reshape(2, 4)
        expected = z * ((w * keep) * (z > 0).float())   # x * W^T (mask * relu'(z) * v_t), W = I
        assert torch.allclose(got.reshape(2, 4), expected, atol=1e-6)
    with pytest.raises(ValueError, match=r"^target class 1 \('goldfish'\) has no SeVec: these SeVecs were fitted for "
                                         r"3 classes: 'espresso', 'Egyptian cat', 'bobsled'\."):
        sh.guided_backprop(net, X, 1, sevecs=sv)


def test_a_model_without_class_names_uses_rows_only_when_the_sevecs_name_outputs():
    net = _six()   # undescribed: no category names
    sv = _sevecs(["Egyptian cat", "bobsled", "espresso"])
    with pytest.raises(ValueError) as e:
        sh.guided_backprop(net, X, 3, sevecs=sv)
    assert str(e.value) == (
        "the SeVec of target class 3 cannot be chosen: PlantedNet carries no category names, so its outputs cannot "
        "be matched with the classes 'Egyptian cat', 'bobsled', 'espresso' by name. Describe the model's classes "
        "(sevec_helpers.describe_model(model, categories=[one name per output, in output order])), or name the "
        "classes by output index ('0', '1', ...); or pass concepts= (each sample's SeVec row or name)")
    # SeVecs that say which output each row is (named by output index) are used by that index
    by_index = _sevecs(["Egyptian cat", "bobsled", "espresso"])
    by_index.names = ["3", "4", "5"]
    assert torch.equal(sh.gradient_x_input(net, X, 4, sevecs=by_index),
                       sh.gradient_x_input(net, X, 4, sevecs=sv, concepts="bobsled"))
    with pytest.raises(ValueError, match=r"^target class 0 has no SeVec: these SeVecs were fitted for 3 classes: "
                                         r"'3', '4', '5'\."):
        sh.gradient_x_input(net, X, 0, sevecs=by_index)


def test_perturbation_study_on_a_subset_compares_each_image_with_its_own_class(mini):
    """Held-out images of five classes (labels 0..4 of the data): the true-class probability is the
    model's output of that class, the masks its SeVec, as on the full data."""
    model, spec, ds = mini
    five = spec.categories[4:9]
    sub = _subset(ds, five, spec)
    sv = sh.fit_sevecs(model, sub, "fc1", kind="classes", progress=False)
    r = sh.perturbation_study(model, sub, sv, progress=False)
    x = torch.stack([sub[i][0] for i in range(len(sub))])
    outputs = torch.tensor([spec.categories.index(five[sub[i][1]]) for i in range(len(sub))])
    with torch.no_grad():
        p = torch.softmax(model(x), 1)[torch.arange(len(x)), outputs]
    np.testing.assert_allclose(r.baseline, p.double().numpy(), rtol=1e-5)
    # the same study on every class's data, restricted to these images, gives the same SeVec-mask changes
    full = sh.fit_sevecs(model, ds, "fc1", progress=False)
    keep = [i for i, (_, y) in enumerate(ds) if spec.categories[y] in five]
    ref = sh.perturbation_study(model, (x, outputs), full.subset(five), progress=False)
    np.testing.assert_allclose(r.deltas["sevec_mask"], ref.deltas["sevec_mask"], atol=1e-6)
    assert len(keep) == len(sub)


def test_a_held_out_class_the_model_does_not_have_is_refused(mini):
    model, spec, ds = mini
    names = ["zebra", "horse"]
    sub = _subset(ds, names, spec)
    sub.classes = ["zebra", "unicorn"]
    sv = _sevecs_from(model, sub, ["zebra", "unicorn"])
    with pytest.raises(ValueError, match=r"^the data's classes 'unicorn' are not classes of vgg_mini \(its categories: "
                                         r"'canary', 'robin'"):
        sh.perturbation_study(model, sub, sv, progress=False)
    with pytest.raises(ValueError, match=r"^the data's classes 'unicorn' are not classes of vgg_mini"):
        sh.accuracy(model, sub, 2)


def _sevecs_from(model, data, names):
    f = sh.extract_features(model, data, "fc1", progress=False)
    return sh.SemanticVectors.from_features(f.values, f.labels, names, layer="fc1", kind="classes",
                                            fingerprint=model_fingerprint(model), input_size=(64, 64))


def test_accuracy_on_a_subset_of_classes_scores_the_model_output_of_each_class(mini):
    model, spec, ds = mini
    five = spec.categories[4:9]
    sub = _subset(ds, five, spec)
    acc = sh.accuracy(model, sub, 5)
    x = torch.stack([sub[i][0] for i in range(len(sub))])
    outputs = torch.tensor([spec.categories.index(five[sub[i][1]]) for i in range(len(sub))])
    with torch.no_grad():
        top1 = model(x).argmax(1)
    assert acc.top1 == pytest.approx(float((top1 == outputs).float().mean()))
    assert acc.top1 > 0.5   # a trained network on its own classes (it was ~0 when label c was output c)


def test_the_scene_loop_masks_each_object_with_its_class_and_refuses_a_class_without_sevec(mini):
    from sevec_helpers.evaluation import localization as L

    model, spec, ds = mini
    xs = [ds[i][0] for i in range(4)]
    cls = [ds[i][1] for i in range(4)]
    scenes = [(xs[0], {"boxes": torch.tensor([[0.0, 0, 32, 32], [32.0, 32, 64, 64]]),
                       "labels": torch.tensor([cls[0], cls[2]])}),
              (xs[2], {"boxes": torch.tensor([[8.0, 8, 40, 40]]), "labels": torch.tensor([cls[2]])})]
    names = [spec.categories[cls[2]], spec.categories[cls[0]]]   # two classes, in another order than the outputs
    sv = sh.fit_sevecs(model, _subset(ds, names, spec), "pool5", progress=False)
    pairs = L.scene_maps(model, scenes, sv, methods=("gradient_x_input",), controls=True)
    own = pairs.maps["Semantic Gradient*Input"]
    x = torch.stack([scenes[s][0] for s in pairs.scene])
    by_name = [spec.categories[c] for c in pairs.target]
    expected = sh.reduce_channels(sh.gradient_x_input(model, x, torch.as_tensor(pairs.target), sevecs=sv,
                                                      concepts=by_name))
    assert torch.equal(own, expected)
    other = pairs.maps["Semantic Gradient*Input (other object's mask)"]
    k = pairs.other_pairs
    expected_other = sh.reduce_channels(sh.gradient_x_input(model, x[k], torch.as_tensor(pairs.target[k]), sevecs=sv,
                                                            concepts=[spec.categories[c] for c in pairs.other[k]]))
    assert torch.equal(other, expected_other)
    one = sv.subset([spec.categories[cls[2]]])
    with pytest.raises(ValueError, match=rf"^target class {cls[0]} \({spec.categories[cls[0]]!r}\) has no SeVec: "
                                         rf"these SeVecs were fitted for 1 classes: {spec.categories[cls[2]]!r}\."):
        L.scene_maps(model, scenes, one, methods=("gradient_x_input",))


def _png(path, x, spec):
    from PIL import Image

    pic = spec.denormalize(x[None])[0].clamp(0, 1).permute(1, 2, 0).numpy()
    Image.fromarray((pic * 255).round().astype(np.uint8)).save(path)


def test_the_command_line_matches_by_name_and_refuses_a_target_without_sevec(mini, tmp_path, capsys):
    model, spec, ds = mini
    five = spec.categories[4:9]
    sv = sh.fit_sevecs(model, _subset(ds, five, spec), "pool5", kind="classes", progress=False)
    sv.save(tmp_path / "five.pt")
    _png(tmp_path / "a.png", ds[8][0], spec)
    base = ["saliency", "--model", "vgg_mini", "--image", str(tmp_path / "a.png"), "--method", "gxi", "--semantic",
            "--sevecs", str(tmp_path / "five.pt"), "--quiet"]
    code = cli.main(base + ["--target", "canary", "--out", str(tmp_path / "m0")])
    err = capsys.readouterr().err
    assert code == 1 and not (tmp_path / "m0").exists()
    assert err == (f"sevec: error: target class 0 ('canary') has no SeVec: these SeVecs were fitted for 5 classes: "
                   f"{', '.join(repr(n) for n in five)}. Pick a target among them, fit a SeVec of this class too, or "
                   f"pass --concepts to choose each sample's SeVec row or name\n")
    assert cli.main(base + ["--target", "leopard", "--out", str(tmp_path / "m1")]) == 0
    assert cli.main(base + ["--target", "leopard", "--concepts", "leopard", "--out", str(tmp_path / "m2")]) == 0
    a, b = (np.load(tmp_path / m / "a.gxi_semantic.npy") for m in ("m1", "m2"))
    assert np.array_equal(a, b) and a.any()
    # --concepts: another class's SeVec for the same target
    assert cli.main(base + ["--target", "leopard", "--concepts", "zebra", "--out", str(tmp_path / "m3")]) == 0
    assert not np.array_equal(a, np.load(tmp_path / "m3" / "a.gxi_semantic.npy"))


# ---------------------------------------------------------------------------------------
# 2. One way to describe your model; un-normalised input is treated the same for every model
# ---------------------------------------------------------------------------------------


def _resnet18():
    import torchvision

    torch.manual_seed(0)
    return torchvision.models.resnet18(weights=None, num_classes=6).eval()


def test_unnormalised_pixels_are_refused_on_a_plain_module_as_on_a_named_one(tmp_path):
    net = _resnet18()
    x01 = torch.rand(2, 3, 64, 64)
    msg = ("inputs to ResNet all lie in [0, 1]: they look like un-normalised images, and ResNet does not say what "
           "input it expects. Describe it once with the statistics it was trained with: "
           "sevec_helpers.describe_model(model, mean=..., std=...) (torchvision's ImageNet models: mean=(0.485, 0.456, "
           "0.406), std=(0.229, 0.224, 0.225)) and build the data with the spec's transform; a model that takes [0, 1] "
           "images as they are: describe_model(model, mean=(0, 0, 0), std=(1, 1, 1))")
    for call in (lambda: sh.guided_backprop(net, x01, 0), lambda: sh.extract_features(net, x01, "avgpool", progress=False),
                 lambda: sh.fit_sevecs(net, (x01, torch.tensor([0, 1])), "avgpool", progress=False)):
        with pytest.raises(ValueError) as e:
            call()
        assert str(e.value) == msg
    with pytest.raises(ValueError, match=r"^inputs to ResNet reach 255: they look like un-normalised images"):
        sh.extract_features(net, x01 * 255, "avgpool", progress=False)
    spec = sh.describe_model(net, mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225), input_size=64)
    with pytest.raises(ValueError, match=r"^inputs to ResNet all lie in \[0, 1\]: they look like un-normalised images, "
                                         r"but the model expects mean \(0\.485, 0\.456, 0\.406\) / std \(0\.229, 0\.224, "
                                         r"0\.225\) normalisation; build the data with the model's transform"):
        sh.guided_backprop(net, x01, 0)
    sh.guided_backprop(net, spec.normalize(x01), 0)   # normalised: accepted
    from sevec_helpers.core.inputs import trust_input_scale

    with trust_input_scale():
        sh.guided_backprop(net, x01, 0)
    plain = _resnet18()
    sh.describe_model(plain, mean=(0, 0, 0), std=(1, 1, 1))   # takes [0, 1] images as they are
    sh.guided_backprop(plain, x01, 0)
    with pytest.raises(ValueError, match="0-255 pixel values"):
        sh.guided_backprop(plain, x01 * 255, 0)


def test_an_image_folder_with_only_to_tensor_is_refused_for_a_plain_resnet(tmp_path):
    from PIL import Image
    from torchvision import transforms as T
    from torchvision.datasets import ImageFolder

    for c in ("a", "b"):
        (tmp_path / c).mkdir()
        for i in range(2):
            Image.fromarray(np.random.default_rng(i).integers(0, 255, (40, 40, 3), dtype=np.uint8)).save(
                tmp_path / c / f"{i}.png")
    net = _resnet18()
    with pytest.raises(ValueError, match=r"^inputs to ResNet all lie in \[0, 1\]"):
        sh.fit_sevecs(net, ImageFolder(tmp_path, T.ToTensor()), "avgpool", progress=False)


def test_describe_model_gives_a_plain_module_what_a_named_one_has(tmp_path):
    from PIL import Image

    net = _resnet18()
    spec = sh.describe_model(net, name="my_resnet18", categories=SIX, mean=(0.485, 0.456, 0.406),
                             std=(0.229, 0.224, 0.225), input_size=64, aliases={"pool5": "layer4", "fc1": "avgpool"})
    assert spec.name == "my_resnet18" and spec.categories == SIX and spec.input_size == 64
    x = spec.transform(Image.new("RGB", (80, 100), (120, 30, 200)))
    assert x.shape == (3, 64, 64)
    names = sh.layer_names(net)
    assert names[:2] == ["pool5", "fc1"] and "layer1.0.relu@1" in names and "layer1.0.relu" not in names
    xb = torch.stack([x, spec.normalize(torch.rand(3, 64, 64))])
    a = sh.guided_backprop(net, xb, "shark")          # a class name as target
    assert torch.equal(a, sh.guided_backprop(net, xb, 2))
    f = sh.extract_features(net, xb, "fc1", progress=False)
    assert f.values.shape == (2, 512) and f.source.model_name == "my_resnet18"
    sv = sh.SemanticVectors.from_features(f.values, torch.tensor([0, 1]), ["shark", "espresso"], layer="fc1",
                                          fingerprint=model_fingerprint(net), input_size=(64, 64), kind="classes")
    assert sv.retrieve(f, k=1).shape == (2, 1)
    # described again: only what is given changes
    again = sh.describe_model(net, aliases={"pooled": "avgpool"})
    assert again.categories == SIX and again.mean == spec.mean and set(again.aliases) == {"pool5", "fc1", "pooled"}


def test_describe_model_refuses_what_does_not_fit_the_model():
    net = _resnet18()
    with pytest.raises(ValueError, match=r"^5 categories for a model with 6 outputs: give one class name per output, "
                                         r"in output order$"):
        sh.describe_model(net, categories=SIX[:5], mean=(0.5,) * 3, std=(0.25,) * 3, input_size=64)
    with pytest.raises(ValueError, match=r"^alias 'pool5' -> 'layer9': unknown layer 'layer9' for ResNet"):
        sh.describe_model(net, aliases={"pool5": "layer9"})
    with pytest.raises(ValueError, match="alias 'fc' is already a module name of ResNet"):
        sh.describe_model(net, aliases={"fc": "avgpool"})
    with pytest.raises(ValueError, match="give both mean= and std="):
        sh.describe_model(net, mean=(0.5, 0.5, 0.5))
    with pytest.raises(ValueError, match="std must be > 0"):
        sh.describe_model(net, mean=(0.5,) * 3, std=(0.2, 0.0, 0.2))
    with pytest.raises(TypeError, match="categories must be a sequence of class names"):
        sh.describe_model(net, categories="cat")
    # a description whose categories do not fit the outputs (no input size to check it) is refused in use
    other = _six()
    sh.describe_model(other, categories=SIX[:4])
    with pytest.raises(ValueError, match=r"PlantedNet carries 4 category names but returns 6 outputs"):
        sh.guided_backprop(other, X, 0, sevecs=_sevecs(["tench"]))


def test_load_model_takes_a_function_of_yours_and_so_does_the_command_line(tmp_path, monkeypatch, capsys):
    mod = tmp_path / "my_nets_27.py"
    mod.write_text("import torch, torchvision\nimport sevec_helpers as sh\n\n"
                   "def build(weights):\n    torch.manual_seed(0)\n"
                   "    m = torchvision.models.resnet18(weights=None, num_classes=3)\n"
                   "    return m, sh.describe_model(m, name='mine', categories=['a', 'b', 'c'], mean=(0.5,) * 3, "
                   "std=(0.25,) * 3, input_size=64, aliases={'pool5': 'layer4'})\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    model, spec = sh.load_model("my_nets_27:build")
    assert spec.name == "mine" and sh.layer_names(model)[0] == "pool5"
    with pytest.raises(ValueError, match=r"model 'my_nets_27:nope': cannot import nope from my_nets_27"):
        sh.load_model("my_nets_27:nope")
    from PIL import Image

    Image.new("RGB", (64, 64), (10, 200, 30)).save(tmp_path / "p.png")
    assert cli.main(["saliency", "--model", "my_nets_27:build", "--image", str(tmp_path / "p.png"), "--target", "b",
                     "--out", str(tmp_path / "maps"), "--quiet"]) == 0
    assert "(target 'b')" in capsys.readouterr().out


# ---------------------------------------------------------------------------------------
# 3. One policy for layers that are not rectified, whatever their number
# ---------------------------------------------------------------------------------------


def test_a_layer_that_is_not_rectified_is_refused_alone_as_among_several_listing_layers_that_work():
    net = _resnet18()
    sh.describe_model(net, mean=(0.5,) * 3, std=(0.25,) * 3, input_size=64)
    x = torch.randn(4, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    y = torch.tensor([0, 1, 0, 1])
    expected = ("layer 'fc' is not rectified: it has negative activations, so 1[phi(x) > 0] would read its sign "
                "pattern, not firing units. SeVecs are fitted at rectified layers only (the paper taps post-ReLU "
                "layers). Layers of ResNet with non-negative outputs on these images: relu, maxpool, layer1.0.relu@0, "
                "layer1.0, layer1.1.relu@0, layer1, layer2.0.relu@0, layer2.0, layer2.1.relu@0, layer2, "
                "layer3.0.relu@0, layer3.0, layer3.1.relu@0, layer3, layer4.0.relu@0, layer4.0, layer4.1.relu@0, "
                "layer4, avgpool")
    before = hook_state(net)
    for kw in ({"layer": "fc"}, {"layers": ["fc"]}, {"layers": ["avgpool", "fc"]}):
        with pytest.raises(ValueError) as e:
            sh.fit_sevecs(net, (x, y), progress=False, **kw)
        assert str(e.value) == expected
    assert hook_state(net) == before
    # every layer listed works, the @k names included
    both = sh.fit_sevecs(net, (x, y), layers=["layer4", "avgpool", "layer1.0.relu@0"], progress=False)
    assert set(both) == {"layer4", "avgpool", "layer1.0.relu@0"}
    with pytest.raises(ValueError, match=r"module 'layer1\.0\.relu' runs 2 times in one forward pass"):
        sh.fit_sevecs(net, (x, y), "layer1.0.relu", progress=False)


def test_a_layer_negative_only_on_a_later_batch_is_refused_too():
    net = PlantedNet(4)
    pos = planted_inputs(torch.tensor([[1, 1, 1, 1]] * 3))
    neg = planted_inputs(torch.tensor([[1, 0, 1, 1]]))
    x = torch.cat([pos, neg])
    with pytest.raises(ValueError, match=r"^layer 'lin' is not rectified: .* on these images: act$"):
        sh.fit_sevecs(net, (x, torch.tensor([0, 1, 0, 1])), "lin", batch_size=2, progress=False)


def test_mobilenet_v3_late_hardswish_layers_are_refused_alone_too():
    import torchvision

    torch.manual_seed(0)
    net = torchvision.models.mobilenet_v3_small(weights=None, num_classes=4).eval()
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(2))
    for kw in ({"layer": "features.12"}, {"layer": "avgpool"}, {"layers": ["features.12", "avgpool"]}):
        with pytest.raises(ValueError, match=r"^layer '(features\.12|avgpool)' is not rectified: .* Layers of "
                                             r"MobileNetV3 with non-negative outputs on these images: "
                                             r"features\.1\.block\.0, "):
            sh.fit_sevecs(net, (x, torch.tensor([0, 1])), progress=False, **kw)


def test_layer_names_marks_modules_that_run_several_times():
    net = _resnet18()
    names = sh.layer_names(net, example=(3, 64, 64))
    assert [n for n in names if n.startswith("layer4.1.relu")] == ["layer4.1.relu@0", "layer4.1.relu@1"]
    assert "relu" in names and "relu@0" not in names      # the stem's ReLU runs once
    assert "layer1.0.conv1" in names
    assert sh.layer_names(net)[:3] == ["conv1", "bn1", "relu"]   # without an input size: not run, no call index
    assert "layer4.1.relu" in sh.layer_names(net)


# ---------------------------------------------------------------------------------------
# 4. Scores check provenance and take Features
# ---------------------------------------------------------------------------------------


def test_scores_take_features_and_refuse_those_of_another_layer_or_model(mini):
    model, spec, ds = mini
    sv = sh.fit_sevecs(model, ds, "fc1", progress=False)
    f = sh.extract_features(model, ds, "fc1", progress=False)
    assert torch.equal(sv.retrieve(f, k=2), sv.retrieve(f.values.clone(), k=2))
    assert sv.explain(f, top=2).names == sv.explain(f.values.clone(), top=2).names
    assert torch.equal(sv.scores(f), sv.scores(f.values))
    f2 = sh.extract_features(model, ds, "fc2", progress=False)   # another layer of the same width
    assert f2.values.shape == f.values.shape
    for feats in (f2, f2.values):
        with pytest.raises(ValueError) as e:
            sv.retrieve(feats, k=2)
        assert str(e.value) == ("the features do not fit these SeVecs: they are activations of layer 'fc2', these "
                                "SeVecs are at layer 'fc1'. Extract them with the SeVecs' model at their layer "
                                "(sevec_helpers.extract_features(model, data, 'fc1')), or pass check_provenance=False "
                                "to score them anyway (with a warning)")
        with pytest.raises(ValueError, match="activations of layer 'fc2'"):
            sv.explain(feats)
    other, _ = sh.load_model("vgg_mini_seed1")
    fo = sh.extract_features(other, ds, "fc1", progress=False)
    with pytest.raises(ValueError, match=r"they come from vgg_mini_seed1 with weights [0-9a-f]{16}, these SeVecs from "
                                         r"vgg_mini with weights"):
        sv.scores(fo)
    with pytest.warns(UserWarning, match=r"check_provenance=False: scored anyway"):
        sv.retrieve(fo, k=2, check_provenance=False)
    # the module name and the alias are one layer
    fm = sh.extract_features(model, ds, "classifier.1", progress=False)
    assert torch.equal(sv.scores(fm), sv.scores(f))


# ---------------------------------------------------------------------------------------
# 5. energy_share and friends validate like the pointing game; the classic game's tolerance
# ---------------------------------------------------------------------------------------


def test_energy_share_refuses_what_the_pointing_game_refuses():
    from sevec_helpers.evaluation.localization import box_area_share, energy_share

    maps = torch.rand(2, 32, 32, generator=torch.Generator().manual_seed(0))
    with pytest.raises(ValueError, match=r"^every box lies within \[0, 1\] but the maps are 32x32 pixels: the boxes look "
                                         r"normalised\. Boxes are in the map's pixel coordinates: multiply x by 32 and y "
                                         r"by 32$"):
        energy_share(maps, [[(0.1, 0.2, 0.5, 0.6)], [(0.3, 0.3, 0.9, 0.8)]])
    with pytest.raises(ValueError, match=r"^maps must be non-negative energies; use reduce_channels"):
        energy_share(maps - 0.5, [[(0, 0, 8, 8)], [(0, 0, 8, 8)]])
    with pytest.raises(ValueError, match=r"^box \(40\.0, 0\.0, 48\.0, 8\.0\) of image 1 is not inside the 32x32 map"):
        energy_share(maps, [[(0, 0, 8, 8)], [(40, 0, 48, 8)]])
    with pytest.raises(ValueError, match=r"^got 2 maps but boxes for 1 images"):
        energy_share(maps, [[(0, 0, 8, 8)]])
    with pytest.raises(ValueError, match="not inside the 32x32 map"):
        box_area_share([[(0, 0, 40, 8)]], 32, 32)
    share = energy_share(maps, [[(0, 0, 16, 32)], [(0, 0, 32, 32)]])
    assert share[1] == pytest.approx(1.0) and 0 < share[0] < 1
    with pytest.raises(ValueError, match=r"^sigma \(the Gaussian's width as a fraction of the image side\) must be > 0, "
                                         r"got 0$"):
        sh.centre_maps(2, 32, 32, sigma=0)        # NaN maps, scored as misses, before
    with pytest.raises(ValueError, match=r"^h must be a positive integer"):
        sh.centre_maps(2, 0, 32)


def test_the_classic_games_tolerance_scales_with_the_map_unless_given_in_pixels():
    m = torch.zeros(1, 64, 64)
    m[0, 10, 44] = 1.0        # the maximum, 14 px right of the box (its centre at x = 44.5, box ends at 30)
    boxes = [[(0, 0, 30.5, 64)]]
    r = sh.pointing_game(m, boxes)
    assert r.accuracy[0] == 0.0 and r.tolerance == pytest.approx(15 * 64 / 224)
    assert sh.pointing_game(m, boxes, tolerance=15).accuracy[0] == 1.0     # in pixels, as given
    big = torch.zeros(1, 224, 224)
    big[0, 10, 44] = 1.0
    r224 = sh.pointing_game(big, boxes)
    assert r224.tolerance == 15.0 and r224.accuracy[0] == 1.0


# ---------------------------------------------------------------------------------------
# 6. The smaller things
# ---------------------------------------------------------------------------------------


def test_several_layers_return_a_dict_that_says_to_pick_a_layer(mini):
    model, spec, ds = mini
    both = sh.fit_sevecs(model, ds, layers=["pool5", "fc1"], progress=False)
    assert isinstance(both, dict) and list(both) == ["pool5", "fc1"]
    with pytest.raises(AttributeError) as e:
        both.retrieve(torch.zeros(2, 5))
    assert str(e.value) == ("fit_sevecs(..., layers=[...]) returns one SemanticVectors per layer, a dict of "
                            "['pool5', 'fc1']: pick a layer first, e.g. sv['pool5'].retrieve")


def test_relevance_has_a_labelled_reading():
    sv = _sevecs(["Egyptian cat", "bobsled", "espresso", "tench"])
    rel = sv.relevance()
    got = sv.related("bobsled")
    assert [n for n, _ in got] == ["Egyptian cat", "espresso", "tench"]
    assert got[0][1] == pytest.approx(float(rel[1, 0])) and got[-1][1] == pytest.approx(0.0)
    assert sv.related(1, top=1) == got[:1]


def test_significance_says_the_direction_of_what_is_significant():
    from sevec_helpers.sevecs.significance import against_null

    rng = np.random.default_rng(0)
    null = rng.normal(0.5, 0.01, size=(3, 200))
    sig = against_null([0.2, 0.1, 0.8], null, warn=False)
    assert sig.summary() == ("3 of 3 tests significant at alpha=0.05 (t test against 200 random sets, Holm correction): "
                             "1 above the random sets' mean, 2 below (two-sided tests)")
    assert [r["direction"] for r in sig.rows()] == ["below", "below", "above"]


def test_noise_tunnel_takes_per_image_concepts():
    pytest.importorskip("captum")
    from captum.attr import NoiseTunnel

    from sevec_helpers.attribution.captum import SemanticInputXGradient

    net = _six()
    sh.describe_model(net, categories=SIX)
    sv = _sevecs(["Egyptian cat", "bobsled", "espresso"])
    method = SemanticInputXGradient(net, None, sv)
    concepts = ["bobsled", "espresso"]
    direct = method.attribute(X, target=[3, 3], concepts=concepts)
    smooth = NoiseTunnel(method).attribute(X, nt_type="smoothgrad", nt_samples=4, stdevs=0.0, target=[3, 3],
                                           concepts=concepts)
    assert torch.allclose(smooth, direct, atol=1e-6)
    assert not torch.equal(direct[0], method.attribute(X, target=[3, 3], concepts="espresso")[0])


def _fit_args(tmp_path, out):
    return ["fit", "--model", "vgg_mini", "--layer", "fc1", "--data", "world", "--per-class", "2", "--world-split",
            "test", "--batch-size", "16", "--checkpoint-every", "1", "--out", str(out), "--quiet"]


def test_resume_says_where_it_resumed(tmp_path, monkeypatch, capsys):
    from sevec_helpers.sevecs import vectors

    out = tmp_path / "sv.pt"
    real = vectors.SemanticVectors.from_accumulator

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(vectors.SemanticVectors, "from_accumulator", interrupted)
    assert cli.main(_fit_args(tmp_path, out)) == 1          # interrupted after the last checkpoint
    monkeypatch.setattr(vectors.SemanticVectors, "from_accumulator", real)
    capsys.readouterr()
    assert cli.main(_fit_args(tmp_path, out) + ["--resume"]) == 0
    err = capsys.readouterr().err
    ckpt = tmp_path / "sv.pt.ckpt"
    assert f"resuming from {ckpt}: 4 batch(es) of 16 images per process already fitted (the first 64 images), " \
           f"continuing with batch 5" in err


def test_command_line_errors_are_whole_and_in_the_commands_words(mini, tmp_path, capsys):
    import torchvision

    model, spec, ds = mini
    torch.save(torchvision.models.resnet18(weights=None, num_classes=10).state_dict(), tmp_path / "r10.pt")
    _png(tmp_path / "a.png", ds[0][0], spec)
    code = cli.main(["saliency", "--model", "resnet18", "--weights", str(tmp_path / "r10.pt"), "--image",
                     str(tmp_path / "a.png"), "--target", "0", "--out", str(tmp_path / "m"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 1
    assert err == (f"sevec: error: the weights {tmp_path / 'r10.pt'} do not fit resnet18: size mismatch for fc.weight: "
                   f"copying a param with shape torch.Size([10, 512]) from checkpoint, the shape in current model is "
                   f"torch.Size([1000, 512]); size mismatch for fc.bias: copying a param with shape torch.Size([10]) "
                   f"from checkpoint, the shape in current model is torch.Size([1000]). They belong to another "
                   f"architecture or number of classes\n")
    other, _ = sh.load_model("vgg_mini", weights=None)
    sh.SemanticVectors.from_features(torch.rand(4, 2048), torch.tensor([0, 1, 0, 1]), ["canary", "robin"],
                                     layer="pool5", fingerprint=model_fingerprint(other), model_name="vgg_mini",
                                     input_size=(64, 64), kind="classes").save(tmp_path / "other.pt")
    args = ["saliency", "--model", "vgg_mini", "--image", str(tmp_path / "a.png"), "--target", "canary",
            "--semantic", "--sevecs", str(tmp_path / "other.pt"), "--quiet"]
    assert cli.main(args + ["--out", str(tmp_path / "m1")]) == 1
    err = capsys.readouterr().err
    assert err.endswith("Refit them for this model and data, or pass --ignore-provenance to use them anyway (with a "
                        "warning)\n") and "check_provenance" not in err
    with pytest.warns(UserWarning, match="used anyway"):
        assert cli.main(args + ["--ignore-provenance", "--out", str(tmp_path / "m2")]) == 0
    code = cli.main(["saliency", "--model", "mobilenet_v3_small", "--weights", "none", "--image",
                     str(tmp_path / "a.png"), "--target", "0", "--out", str(tmp_path / "m3"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 1 and "Use --method gradient or --method gxi, or pass --allow-unguided to run it anyway" in err
    assert "allow_unguided" not in err


def test_a_corrupt_image_in_python_names_its_file(tmp_path):
    from PIL import Image
    from torchvision import transforms as T
    from torchvision.datasets import ImageFolder

    (tmp_path / "c").mkdir()
    for i in range(3):
        Image.new("RGB", (40, 40), (i * 40, 90, 160)).save(tmp_path / "c" / f"{i}.jpg")
    bad = tmp_path / "c" / "1.jpg"
    bad.write_bytes(bad.read_bytes()[:200])                 # truncated
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten())
    ds = ImageFolder(tmp_path, T.Compose([T.Resize(36), T.ToTensor(), T.Normalize((0.5,) * 3, (0.25,) * 3)]))
    with pytest.raises(OSError, match=rf"^cannot read item 1 of the data \({re.escape(str(bad))}\): .*Fix or remove "
                                      rf"the file, or read the folder with "
                                      rf"sevec_helpers\.sources\.datasets\.ImageFolderCapped"):
        sh.extract_features(net, ds, "1", progress=False)


def test_a_model_on_the_meta_device_is_refused_with_what_to_do():
    net = _six().to("meta")
    msg = ("PlantedNet's weights are on the 'meta' device, which holds shapes but no values, so it cannot run: load "
           "its weights first (model.to_empty(device='cpu'), then model.load_state_dict(...))")
    for call in (lambda: sh.guided_backprop(net, X, 0), lambda: sh.extract_features(net, X, "act", progress=False),
                 lambda: sh.guided_backprop(net, X, 0, sevecs=_sevecs(["tench"], fingerprint="0" * 16))):
        with pytest.raises(ValueError) as e:
            call()
        assert str(e.value) == msg


def test_offline_weights_raise_the_value_error_the_docstring_names(monkeypatch, tmp_path):
    import torchvision.models._api as tv_api

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))

    def offline(url, *a, **k):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(tv_api, "load_state_dict_from_url", offline)
    with pytest.raises(ValueError, match="without network, copy that file"):
        sh.load_model("alexnet", weights="DEFAULT")
    assert "ValueError" in sh.load_model.__doc__.split("Raises")[1]


def test_what_differs_from_captum_is_documented_where_a_user_looks():
    assert "Captum's ``GuidedBackprop`` guides ``nn.ReLU`` modules only" in sh.guided_backprop.__doc__
    assert "Captum's ``Saliency`` returns its absolute value" in sh.vanilla_gradient.__doc__
    api = (ROOT / "book" / "api.md").read_text()
    assert "ReLU6" in api and "Captum" in api and "describe_model" in api
    ch8 = (ROOT / "notebooks" / "08_real_network.md").read_text()
    assert re.search(r"Captum's `GuidedBackprop`.*ReLU6", ch8, flags=re.S)


def test_imagenet_synsets_match_by_index_only_all_1000_in_order(tmp_path):
    """ImageNet train folders are named by synset: all 1000 in their sorted order are the outputs of
    any ImageNet classifier; a subset of them is refused with what to do (Imagenette is named by class)."""
    from torchvision.models import VGG16_Weights

    from sevec_helpers.sources.datasets import IMAGENETTE_CLASSES, IMAGENETTE_SYNSETS, imagenette

    cats = list(VGG16_Weights.IMAGENET1K_V1.meta["categories"])
    net = nn.Sequential(nn.Flatten(), nn.Linear(4, 4, bias=False), nn.ReLU(), nn.Linear(4, 1000))
    sh.describe_model(net, categories=cats)
    wnids = [f"n{i:08d}" for i in range(1000)]
    x = torch.randn(2, 1, 1, 4)
    rates = torch.rand(1000, 4, generator=torch.Generator().manual_seed(0))
    sv = sh.SemanticVectors(vectors=rates / rates.norm(dim=1, keepdim=True), rates=rates,
                            counts=torch.ones(1000, dtype=torch.long), dead=torch.zeros(1000, dtype=torch.long),
                            names=wnids, layer="2", diversity=torch.zeros(1000), kind="classes")
    assert torch.equal(sh.gradient_x_input(net, x, 7, sevecs=sv), sh.gradient_x_input(net, x, 7, sevecs=sv, concepts=7))
    with pytest.raises(ValueError, match=r"^target class 7 \('cock'\) has no SeVec: .* These look like ImageNet synsets: "
                                         r"only all 1000 of them in their standard order are matched by index"):
        sh.gradient_x_input(net, x, 7, sevecs=sv.subset(wnids[:10]))
    for s in IMAGENETTE_SYNSETS:
        (tmp_path / "imagenette2-320" / "train" / s).mkdir(parents=True)
        from PIL import Image

        Image.new("RGB", (8, 8)).save(tmp_path / "imagenette2-320" / "train" / s / "a.png")
    ds = imagenette(tmp_path, "train")
    assert ds.classes == list(IMAGENETTE_CLASSES) and ds.folders == list(IMAGENETTE_SYNSETS)


@pytest.mark.slow
def test_efficientnet_refusal_lists_its_aliases_and_deepest_calls_without_padding_or_dropout():
    pytest.importorskip("efficientnet_lite_pytorch")
    model, spec = sh.load_model("efficientnet_lite0")
    x = spec.normalize(torch.rand(2, 3, 224, 224, generator=torch.Generator().manual_seed(0)))
    with pytest.raises(ValueError) as e:
        sh.fit_sevecs(model, (x, torch.tensor([0, 1])), "_fc", progress=False)
    listed = str(e.value).split("on these images: ")[1].split(", ")
    assert listed[:5] == ["pool5", "head", "fc1", "pooled", "... (12 earlier)"]
    assert listed[-2:] == ["_blocks.15._swish@0", "_blocks.15._swish@1"]
    assert not any("padding" in n or "dropout" in n for n in listed)
    sh.fit_sevecs(model, (x, torch.tensor([0, 1])), "_blocks.15._swish@1", progress=False)   # a listed layer works
