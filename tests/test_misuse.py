"""Misuse a user makes by accident is refused (or warned about) with a message that says what
was wrong and how to fix it; nothing quietly wrong, nothing left behind on disk."""

import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from conftest import PlantedNet, hook_state, planted_inputs

import sevec_helpers as sh
from sevec_helpers.sevecs import accumulator


class Mixed(nn.Module):
    """ReLU modules plus another activation: Guided Backprop would be partial."""

    def __init__(self, act):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.relu = nn.ReLU()
        self.act = act
        self.fc = nn.Linear(4 * 4 * 4, 3)

    def forward(self, x):
        h = self.relu(self.conv(x))
        h = self.act(h) if isinstance(self.act, nn.Module) else self.act(h)
        return self.fc(F.max_pool2d(h, 2).flatten(1))


X = torch.randn(2, 3, 8, 8)


@pytest.mark.parametrize("act", [nn.GELU(), nn.SiLU(), nn.Hardswish(), nn.LeakyReLU()])
def test_partial_guided_backprop_is_refused_then_warned(act):
    m = Mixed(act)
    before = hook_state(m)
    with pytest.raises(ValueError, match=f"{type(act).__name__}.*allow_unguided=True"):
        sh.guided_backprop(m, X, 0)
    assert hook_state(m) == before
    with pytest.warns(UserWarning, match="partial Guided Backprop"):
        a = sh.guided_backprop(m, X, 0, allow_unguided=True)
    assert a.shape == X.shape and hook_state(m) == before
    sh.gradient_x_input(m, X, 0)  # the true gradient needs no guided rule: no complaint


def test_functional_relu_outside_modules_is_refused():
    m = Mixed(torch.relu)  # a functional activation the guided rule cannot hook
    with pytest.raises(ValueError, match="functional relu"):
        sh.guided_backprop(m, X, 0)
    with pytest.warns(UserWarning):
        sh.guided_backprop(m, X, 0, allow_unguided=True)


def test_unnormalised_input_is_refused_and_world_datasets_for_a_model_use_its_transform():
    from sevec_helpers.sources import world as W

    model, spec = sh.load_model("vgg_mini")
    raw = W.ObjectsDataset(split="test", per_class=2)           # [0, 1] tensors: no transform
    with pytest.raises(ValueError, match="un-normalised.*spec.transform"):
        sh.extract_features(model, raw, "fc1", progress=False)
    x255 = torch.stack([raw[i][0] for i in range(4)]) * 255
    with pytest.raises(ValueError, match="0-255"):
        sh.guided_backprop(model, x255, 0)
    ready = W.ObjectsDataset(split="test", per_class=2, spec=spec)   # built for the model: its transform
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sh.extract_features(model, ready, "fc1", progress=False)
    assert ready.transform is spec.transform


def test_sevecs_from_elsewhere_are_refused_with_what_differs():
    from sevec_helpers.sources import world as W

    model, spec = sh.load_model("vgg_mini")
    tex = sh.fit_sevecs(model, W.TexturesDataset(per_class=2, spec=spec), "pool5", progress=False)
    x = torch.stack([W.ObjectsDataset(split="test", per_class=1, spec=spec)[i][0] for i in range(2)])
    assert tex.kind == "textures" and tex.fingerprint and tex.input_size == (64, 64)
    with pytest.raises(ValueError, match="textures SeVecs, and classes SeVecs are needed"):
        sh.guided_backprop(model, x, 0, sevecs=tex)
    sh.guided_backprop(model, x, 0, sevecs=tex, concepts="striped")  # rows named explicitly: allowed
    other, _ = sh.load_model("vgg_mini", weights=None)                 # the same architecture, other weights
    cls = sh.fit_sevecs(model, W.ObjectsDataset(split="train", per_class=2, spec=spec), "pool5", progress=False)
    with pytest.raises(ValueError, match="weights .* this model .* has weights"):
        sh.guided_backprop(other, x, 0, sevecs=cls)
    with pytest.warns(UserWarning, match="check_provenance=False"):
        sh.guided_backprop(other, x, 0, sevecs=cls, check_provenance=False)
    with pytest.raises(ValueError, match="fitted on 64x64 images"):
        sh.guided_backprop(model, F.interpolate(x, size=96), 0, sevecs=cls, mask_layer="fc1")


def _saved(tmp_path):
    net = PlantedNet(6)
    sv = sh.fit_sevecs(net, (planted_inputs(torch.tensor([[1, 1, 0, 0, 1, 0], [0, 1, 1, 0, 0, 1]])),
                             torch.tensor([0, 1])), "act", names=["a", "b"], progress=False)
    p = tmp_path / "sv.pt"
    sv.save(p)
    return p


def test_damaged_sevec_files_are_refused(tmp_path):
    p = _saved(tmp_path)
    raw = bytearray(p.read_bytes())
    # flip bytes inside the stored vectors (the zip keeps the tensors uncompressed): contents change
    pos = raw.find(b"vectors") + 2000
    for off in range(pos, min(pos + 64, len(raw) - 200)):
        raw[off] ^= 0x55
    bad = tmp_path / "bad.pt"
    bad.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="damaged|not a SemanticVectors file"):
        sh.SemanticVectors.load(bad)
    payload = torch.load(p, weights_only=True)
    for key, value, match in (("vectors", None, "missing vectors"),
                              ("meta_json", "{not json", "not valid JSON"),
                              ("rates", torch.full((2, 6), float("nan")), "NaN"),
                              ("vectors", torch.ones(2, 6, dtype=torch.long), "floating point")):
        d = dict(payload)
        if value is None:
            d.pop(key)
        else:
            d[key] = value
        torch.save(d, tmp_path / "x.pt")
        with pytest.raises(ValueError, match=match):
            sh.SemanticVectors.load(tmp_path / "x.pt")
    d = dict(payload)
    d["rates"] = payload["rates"] * 0.5  # valid-looking numbers that are not what was saved
    torch.save(d, tmp_path / "x.pt")
    with pytest.raises(ValueError, match="do not match the checksum"):
        sh.SemanticVectors.load(tmp_path / "x.pt")


def test_pointing_game_refuses_normalised_boxes_and_bad_tolerances():
    maps = torch.rand(2, 32, 32)
    with pytest.raises(ValueError, match="look normalised.*multiply x by 32"):
        sh.generalized_pointing_game(maps, [[(0.1, 0.2, 0.5, 0.6)], [(0.3, 0.3, 0.9, 0.8)]])
    for tol in (-1, float("nan"), float("inf"), "15"):
        with pytest.raises(ValueError, match="tolerance must be a finite number"):
            sh.pointing_game(maps, [[(0, 0, 8, 8)], [(0, 0, 8, 8)]], tolerance=tol)
    with pytest.raises(ValueError, match="4 numbers"):
        sh.generalized_pointing_game(maps, [[(0, 0, 8)], [(0, 0, 8, 8)]])
    # an integer one-pixel box is a legitimate box, not a normalised one
    sh.generalized_pointing_game(maps, [[(0, 0, 1, 1)], [(0, 0, 1, 1)]])


def test_a_stray_label_allocates_nothing_before_the_error():
    acc = accumulator.SeVecAccumulator(None, 5)
    acc.update(torch.ones(25, 5), torch.tensor(list(range(24)) + [40000]))
    assert acc.sums.shape == (25, 5)  # rows only for the labels seen, not 40001
    with pytest.raises(ValueError, match="39976 concept\\(s\\) have no sample"):
        sh.SemanticVectors.from_accumulator(acc)
    net = PlantedNet(4)
    x = planted_inputs(torch.tensor([[1, 0, 0, 0]] * 3))
    with pytest.raises(ValueError, match="label 40000 is out of range for 2 concepts"):
        sh.fit_sevecs(net, (x, torch.tensor([0, 1, 40000])), "act", names=["a", "b"], progress=False)


@pytest.mark.parametrize("labels,exc,match", [
    (["zebra", "horse"], TypeError, "got strings such as 'zebra'"),
    ({"a": 0}, TypeError, "got a dict"),
    ([0], ValueError, "got 2 images but labels of shape \\(1,\\)"),
    (np.array([0.0, 1.0]), TypeError, "dtype torch.float64"),
])
def test_unclear_labels_get_the_expected_form(labels, exc, match):
    net = PlantedNet(4)
    x = planted_inputs(torch.tensor([[1, 0, 0, 0], [0, 1, 0, 0]]))
    with pytest.raises(exc, match=match):
        sh.fit_sevecs(net, (x, labels), "act", progress=False)


def test_unambiguous_inputs_are_accepted():
    net = PlantedNet(4)
    pats = torch.tensor([[1, 0, 1, 0], [0, 1, 1, 0]])
    x = planted_inputs(pats)
    a = sh.fit_sevecs(net, (x, torch.tensor([0, 1])), "act", progress=False)
    b = sh.fit_sevecs(net, (x.double().numpy(), np.array([0, 1])), "act", progress=False)  # numpy, float64
    assert torch.equal(a.vectors, b.vectors)
    with pytest.raises(TypeError, match="or a tuple \\(images, labels\\).*got a tuple of \\(str"):
        sh.fit_sevecs(net, ("images", "labels"), "act", progress=False)
    with pytest.raises(ValueError, match="integer pixels are ambiguous"):
        sh.extract_features(net, (x * 255).to(torch.uint8), "act", progress=False)


def test_concepts_out_of_range_names_the_sevecs_not_the_model():
    net = PlantedNet(4, k=3)
    sv = sh.fit_sevecs(net, (planted_inputs(torch.tensor([[1, 1, 0, 0], [0, 0, 1, 1]])), torch.tensor([0, 1])), "act",
                       progress=False)
    x = planted_inputs(torch.tensor([[1, 1, 1, 1]]))
    with pytest.raises(ValueError, match="concepts= row 5 is out of range: these SeVecs have 2 concepts"):
        sh.guided_backprop(net, x, 0, sevecs=sv, concepts=5)
    with pytest.raises(KeyError, match="no concept named 'zz'"):
        sh.guided_backprop(net, x, 0, sevecs=sv, concepts="zz")


def test_render_refuses_an_empty_request(tmp_path, capsys):
    from sevec_helpers import cli
    from sevec_helpers.sources.world import render

    with pytest.raises(ValueError, match="n must be a positive number"):
        render(tmp_path, "scenes", n=0, progress=False)
    with pytest.raises(ValueError, match="per_class must be a positive number"):
        render(tmp_path, "objects", per_class=0, progress=False)
    assert cli.main(["world", "render", "--out", str(tmp_path), "--part", "scenes", "--n", "0", "--quiet"]) == 1
    assert "n must be a positive number" in capsys.readouterr().err
    assert not (tmp_path / "scenes").exists() or not any((tmp_path / "scenes").iterdir())


# ---------------------------------------------------------------------------------------
# kill -9 mid-save and mid-render: the target is complete or absent, and no temporary stays
# ---------------------------------------------------------------------------------------

_SAVER = textwrap.dedent("""
    import sys, torch
    import sevec_helpers as sh
    k, d = 200, 40000                      # a 64 MB file: the save takes a moment
    sv = sh.SemanticVectors(vectors=torch.rand(k, d), rates=torch.rand(k, d), counts=torch.ones(k, dtype=torch.long),
                            dead=torch.zeros(k, dtype=torch.long), names=[str(i) for i in range(k)], layer="l",
                            diversity=torch.zeros(k))
    print("ready", flush=True)
    while True:
        sv.save(sys.argv[1])
""")

_RENDERER = textwrap.dedent("""
    import shutil, sys
    from sevec_helpers.sources import world as W
    print("ready", flush=True)
    while True:
        W.render(sys.argv[1], "objects", per_class=20, progress=False)
        shutil.rmtree(sys.argv[1] + "/objects/test")
""")


def _kill_mid_write(script: str, target: str, tmp_path, times: int = 3, delays=(0.6, 1.1, 1.7)):
    path = tmp_path / "job.py"
    path.write_text(script)
    for i in range(times):
        p = subprocess.Popen([sys.executable, str(path), target], stdout=subprocess.PIPE, text=True)
        assert p.stdout.readline().strip() == "ready"
        time.sleep(delays[i % len(delays)])
        os.kill(p.pid, signal.SIGKILL)
        p.wait()


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


@pytest.mark.slow
def test_kill_mid_save_leaves_nothing_stale(tmp_path):
    target = tmp_path / "big.pt"
    _kill_mid_write(_SAVER, str(target), tmp_path)
    (tmp_path / f".big.pt-{_dead_pid()}-abcd1234.tmp").write_bytes(b"x" * 1000)  # surely left by a dead writer
    if target.exists():  # complete or absent
        assert len(sh.SemanticVectors.load(target)) == 200
    net = PlantedNet(4)
    sv = sh.fit_sevecs(net, (planted_inputs(torch.tensor([[1, 1, 0, 0]])), torch.tensor([0])), "act", progress=False)
    sv.save(target)  # the next save into the same place removes what killed processes left
    assert [f.name for f in tmp_path.iterdir() if f.name.startswith(".")] == []
    assert sh.SemanticVectors.load(target).names == ["0"]


@pytest.mark.slow
def test_kill_mid_render_leaves_nothing_stale(tmp_path):
    from sevec_helpers.sources import world as W

    out = tmp_path / "cw"
    _kill_mid_write(_RENDERER, str(out), tmp_path, delays=(1.0, 1.5, 2.0))
    parent = out / "objects"
    parent.mkdir(parents=True, exist_ok=True)
    stale = parent / f".test-{_dead_pid()}-abcd1234"
    stale.mkdir()
    (stale / "x.png").write_bytes(b"png")
    done = parent / "test"
    if done.exists():  # complete or absent: a finished tree has every image
        assert sum(1 for _ in done.rglob("*.png")) == 20 * len(W.CLASS_NAMES)
        import shutil

        shutil.rmtree(done)
    W.render(out, "objects", per_class=1, progress=False)
    assert [p.name for p in parent.iterdir()] == ["test"]
