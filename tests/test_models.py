import json
import shutil
import urllib.error

import pytest
import torch

import sevec_helpers as sh
from sevec_helpers.sources import models as M
from sevec_helpers.sources import train as T
from sevec_helpers.sources.world import CLASS_NAMES


def test_vgg_mini_loads_offline_with_aliases():
    model, spec = sh.load_model("vgg_mini")
    assert not model.training and spec.weights_present and spec.categories == list(CLASS_NAMES)
    assert spec.aliases == {"pool5": "features.21", "fc1": "classifier.1", "fc2": "classifier.4"}
    assert isinstance(dict(model.named_modules())["classifier.1"], torch.nn.ReLU)
    assert isinstance(dict(model.named_modules())["features.21"], torch.nn.MaxPool2d)
    assert sh.layer_names(model)[:3] == ["pool5", "fc1", "fc2"]
    meta = json.loads((M.WEIGHTS_DIR / "vgg_mini.json").read_text())
    assert meta["sha256"] == M.sha256_of(M.WEIGHTS_DIR / "vgg_mini.pt")
    # the difficulty the world was built for (VGG16 on ImageNet: 71.6% top-1, 90.4% top-5)
    assert 0.65 <= meta["heldout"]["top1"] <= 0.80 and 0.85 <= meta["heldout"]["top5"] <= 0.97


@pytest.mark.parametrize("name", M.SHIPPED)
def test_every_shipped_network_is_checksummed_small_and_vgg_shaped(name):
    meta = json.loads((M.WEIGHTS_DIR / f"{name}.json").read_text())
    assert meta["sha256"] == M.sha256_of(M.WEIGHTS_DIR / f"{name}.pt")
    assert (M.WEIGHTS_DIR / f"{name}.pt").stat().st_size < 10_000_000
    model, spec = sh.load_model(name)
    units = {a: sh.extract_features(model, torch.zeros(1, 3, 64, 64), a).values.shape[1] for a in ("fc1", "fc2")}
    assert min(units.values()) >= 1024, units


@pytest.mark.slow
def test_shipped_accuracy_reproduces_on_a_fresh_seed():
    model, _ = sh.load_model("vgg_mini")
    meta = json.loads((M.WEIGHTS_DIR / "vgg_mini.json").read_text())
    n_per = meta["heldout"]["per_class"]
    x, y = T.heldout(seed=2, per_class=n_per)
    acc = T.evaluate(model, x, y)
    n = len(y)
    for k in ("top1", "top5"):
        p = meta["heldout"][k]
        # two independent samples of n images: 3 standard deviations of their difference
        tol = 3 * (2 * p * (1 - p) / n) ** 0.5
        assert abs(acc[k] - p) <= tol, (k, acc[k], p, tol)


def test_checksum_and_foreign_checkpoints(tmp_path, monkeypatch):
    shutil.copytree(M.WEIGHTS_DIR, tmp_path / "w")
    monkeypatch.setattr(M, "WEIGHTS_DIR", tmp_path / "w")
    with open(tmp_path / "w" / "vgg_mini.pt", "r+b") as fh:
        fh.seek(2000)
        fh.write(b"\x00\x01\x02\x03")
    with pytest.raises(ValueError, match="checksum"):
        sh.load_model("vgg_mini")
    torch.save({"model": torch.nn.Linear(2, 2)}, tmp_path / "pickled.pt")
    with pytest.raises(ValueError, match="weights_only=True"):
        M.load_state_dict(tmp_path / "pickled.pt")
    torch.save({"a": 1}, tmp_path / "notstate.pt")
    with pytest.raises(ValueError, match="state dict"):
        M.load_state_dict(tmp_path / "notstate.pt")


def test_unknown_model_and_offline_torchvision_weights(monkeypatch, tmp_path):
    with pytest.raises(ValueError, match="available here: .*vgg_mini.*torchvision"):
        sh.load_model("resnet9000")
    model, spec = sh.load_model("vgg16", weights=None)
    assert spec.aliases == {"pool5": "features.30", "fc1": "classifier.1", "fc2": "classifier.4"}
    _, aspec = sh.load_model("alexnet", weights=None)
    assert aspec.aliases == {"pool5": "features.12", "fc1": "classifier.2", "fc2": "classifier.5"}
    assert len(spec.categories) == 1000
    import torchvision.models._api as tv_api

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    calls = []

    def offline(url, *a, **k):  # stands in for the download: the test never touches the network
        calls.append(url)
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(tv_api, "load_state_dict_from_url", offline)
    with pytest.raises(RuntimeError, match="without network, copy that file"):
        sh.load_model("alexnet", weights="DEFAULT")
    assert calls and calls[0].endswith(".pth")


@pytest.mark.slow
def test_short_training_smoke_beats_chance():
    model, history, _ = T.train(per_class=32, epochs=3, batch_size=32, lr=3e-3, progress=False)
    assert len(history) == 3
    x, y = T.heldout(seed=3, per_class=8)
    acc = T.evaluate(model, x, y)
    k = len(CLASS_NAMES)
    # three short epochs on a hard world: well above chance (1/k top-1, 5/k top-5), far from done
    assert acc["top1"] > 1.5 / k and acc["top5"] > 2 * 5 / k


@pytest.mark.slow
def test_alias_and_module_name_are_the_same_layer():
    model, spec = sh.load_model("vgg_mini")
    x, y = T.heldout(seed=4, per_class=2)
    with pytest.raises(ValueError, match="uint8"):
        spec.normalize(x)
    x = spec.normalize(x.float() / 255)
    sv = sh.fit_sevecs(model, (x, y), "fc1", progress=False)
    a = sh.perturbation_study(model, (x, y), sv, "classifier.1", progress=False)
    b = sh.perturbation_study(model, (x, y), sv, progress=False)
    assert a.as_dict() == b.as_dict()
    with torch.no_grad():
        p0 = model(x).softmax(1).gather(1, y[:, None])[:, 0].double().numpy()
    assert abs(a.baseline - p0).max() < 1e-6
    with pytest.raises(ValueError, match="fitted at 'fc1'"):
        sh.perturbation_study(model, (x, y), sv, "fc2", progress=False)
    sv5 = sh.fit_sevecs(model, (x, y), "pool5", progress=False)
    assert torch.equal(sh.guided_backprop(model, x[:2], y[:2], sevecs=sv5, mask_layer="features.21"),
                       sh.guided_backprop(model, x[:2], y[:2], sevecs=sv5))
