import json
import shutil
import urllib.error

import pytest
import torch

import sevec_helpers as sh
from sevec_helpers import models as M
from sevec_helpers import train as T
from sevec_helpers.world import CLASS_NAMES


def test_vgg_mini_loads_offline_with_aliases():
    model, spec = sh.load_model("vgg_mini")
    assert not model.training and spec.weights_present and spec.categories == list(CLASS_NAMES)
    assert spec.aliases == {"pool5": "features.18", "fc1": "classifier.1", "fc2": "classifier.4"}
    assert isinstance(dict(model.named_modules())["classifier.1"], torch.nn.ReLU)
    assert isinstance(dict(model.named_modules())["features.18"], torch.nn.MaxPool2d)
    assert sh.layer_names(model)[:3] == ["pool5", "fc1", "fc2"]
    meta = json.loads((M.WEIGHTS_DIR / "vgg_mini.json").read_text())
    assert meta["sha256"] == M.sha256_of(M.WEIGHTS_DIR / "vgg_mini.pt")
    assert (M.WEIGHTS_DIR / "vgg_mini.pt").stat().st_size < 10_000_000
    assert meta["heldout"]["top1"] >= 0.85


def test_shipped_accuracy_reproduces_on_a_fresh_seed():
    model, _ = sh.load_model("vgg_mini")
    meta = json.loads((M.WEIGHTS_DIR / "vgg_mini.json").read_text())
    x, y = T.heldout(seed=2, per_class=meta["heldout"]["per_class"])
    acc = T.evaluate(model, x, y)
    assert abs(acc["top1"] - meta["heldout"]["top1"]) <= 0.02


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


def test_one_epoch_training_smoke_beats_chance():
    model, _ = T.train(per_class=16, epochs=2, batch_size=32, lr=3e-3, progress=False)
    x, y = T.heldout(seed=3, per_class=8)
    acc = T.evaluate(model, x, y)
    assert acc["top1"] > 3 / len(CLASS_NAMES)


def test_alias_and_module_name_are_the_same_layer():
    model, spec = sh.load_model("vgg_mini")
    x, y = T.heldout(seed=4, per_class=2)
    x = spec.normalize(x)
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
    assert torch.equal(sh.guided_backprop(model, x[:2], y[:2], sevecs=sv5, mask_layer="features.18"),
                       sh.guided_backprop(model, x[:2], y[:2], sevecs=sv5))
