"""The ``sevec`` command: help, exit codes, one-line errors, no silent overwrite, the commands'
outputs, torchrun, and resuming after SIGKILL to the same file as an uninterrupted run."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

import sevec_helpers as sh
from sevec_helpers import cli

ENV = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")


def sevec(*args, check=True, **kw):
    r = subprocess.run([sys.executable, "-m", "sevec_helpers", *map(str, args)], capture_output=True, text=True,
                       env=ENV, timeout=600, **kw)
    if check and r.returncode != 0:
        raise AssertionError(f"exit {r.returncode}: {r.stderr[-3000:]}")
    return r


@pytest.mark.parametrize("args", [[], ["fit"], ["saliency"], ["pointing-game"], ["world", "render"]])
def test_help_for_every_command(args):
    with pytest.raises(SystemExit) as e:
        cli.main([*args, "--help"])
    assert e.value.code == 0


def test_usage_errors_exit_2_failures_exit_1_with_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["fit", "--model", "vgg_mini"])  # no --layer, --data, --out
    assert e.value.code == 2
    assert "the following arguments are required: --layer, --data, --out" in capsys.readouterr().err
    code = cli.main(["fit", "--model", "nope", "--layer", "fc1", "--data", "world", "--out", str(tmp_path / "a.pt"),
                     "--quiet"])
    err = capsys.readouterr().err
    assert code == 1 and err.startswith("sevec: error: unknown model 'nope'") and err.count("\n") == 1
    with pytest.raises(ValueError, match="unknown model"):
        cli.main(["fit", "--model", "nope", "--layer", "fc1", "--data", "world", "--out", str(tmp_path / "a.pt"),
                  "--debug"])


def test_fit_world_and_no_silent_overwrite(tmp_path, capsys):
    out = tmp_path / "sv.pt"
    args = ["fit", "--model", "vgg_mini", "--layer", "fc1", "--data", "world", "--per-class", "2",
            "--world-split", "test", "--out", str(out), "--quiet"]
    assert cli.main(args) == 0
    sv = sh.SemanticVectors.load(out)
    assert len(sv) == 32 and sv.kind == "classes" and sv.input_size == (64, 64)
    model, spec = sh.load_model("vgg_mini")
    from sevec_helpers.sources import world as W

    direct = sh.fit_sevecs(model, W.ObjectsDataset(split="test", per_class=2, spec=spec), "fc1", progress=False)
    assert torch.equal(direct.vectors, sv.vectors) and direct.fingerprint == sv.fingerprint
    before = out.stat().st_mtime_ns
    assert cli.main(args) == 1 and "exists; pass --overwrite" in capsys.readouterr().err
    assert out.stat().st_mtime_ns == before
    assert cli.main(args + ["--overwrite"]) == 0


@pytest.mark.slow
def test_fit_on_an_image_folder_with_the_shipped_network(tmp_path):
    """The bug the issue reports: PIL images from a folder through vgg_mini's transform."""
    sevec("world", "render", "--out", tmp_path / "cw", "--part", "objects", "--per-class", "2", "--quiet")
    sevec("fit", "--model", "vgg_mini", "--layer", "pool5", "--data", tmp_path / "cw" / "objects" / "test",
          "--out", tmp_path / "sv.pt", "--workers", "2", "--quiet")
    sv = sh.SemanticVectors.load(tmp_path / "sv.pt")
    assert len(sv) == 32 and sv.dim == 128 * 4 * 4


@pytest.mark.slow
def test_saliency_and_pointing_game_commands(tmp_path):
    sevec("world", "render", "--out", tmp_path / "cw", "--part", "scenes", "--n", "4", "--quiet")
    sevec("fit", "--model", "vgg_mini", "--layer", "pool5", "--data", "world", "--per-class", "3",
          "--out", tmp_path / "p5.pt", "--quiet")
    scenes = tmp_path / "cw" / "scenes" / "test"
    imgs = sorted(scenes.glob("*.png"))[:2]
    sevec("saliency", "--model", "vgg_mini", "--sevecs", tmp_path / "p5.pt", "--image", *imgs, "--target", "zebra",
          "--method", "guided", "--semantic", "--out", tmp_path / "maps", "--quiet")
    files = sorted(p.name for p in (tmp_path / "maps").iterdir())
    assert len(files) == 8 and files[0] == "scene_00000.guided_semantic.image.png"
    arr = np.load(tmp_path / "maps" / "scene_00000.guided_semantic.npy")
    assert arr.shape == (64, 64) and np.isfinite(arr).all()
    before = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "maps").iterdir()}
    r = sevec("saliency", "--model", "vgg_mini", "--sevecs", tmp_path / "p5.pt", "--image", imgs[1], "--target",
              "zebra", "--method", "guided", "--semantic", "--out", tmp_path / "maps", "--quiet", check=False)
    assert r.returncode == 1 and "exists; pass --overwrite" in r.stderr
    assert before == {p.name: p.stat().st_mtime_ns for p in (tmp_path / "maps").iterdir()}
    sevec("saliency", "--model", "vgg_mini", "--image", imgs[0], "--target", "zebra", "--out", tmp_path / "maps",
          "--quiet")  # another method: other files, no clash
    assert len(list((tmp_path / "maps").iterdir())) == 12
    for out in ("game.json", "game.csv"):
        sevec("pointing-game", "--model", "vgg_mini", "--sevecs", tmp_path / "p5.pt", "--data", scenes, "--method",
              "gxi", "--semantic", "--energies", "0,0.5", "--out", tmp_path / out, "--quiet")
    res = json.loads((tmp_path / "game.json").read_text())
    assert res["energies"] == [0.0, 0.5] and res["pairs"] >= 4 and all(0 <= a <= 1 for a in res["accuracy"])
    assert (tmp_path / "game.csv").read_text().splitlines()[0] == "energy,accuracy,hits,pairs"


def _torchrun(*args, nproc=2, **kw):
    return subprocess.Popen([sys.executable, "-m", "torch.distributed.run", f"--nproc_per_node={nproc}",
                             "--master_port=29571", "-m", "sevec_helpers", *map(str, args)], env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


@pytest.mark.slow
def test_torchrun_two_processes_equal_one(tmp_path):
    """Two layers in one pass, on one process and on two (torchrun): the same SeVecs."""
    base = ["fit", "--model", "vgg_mini", "--layer", "fc1", "--layer", "pool5", "--data", "world", "--per-class", "3",
            "--quiet"]
    sevec(*base, "--out", tmp_path / "one_{layer}.pt")
    p = _torchrun(*base, "--out", tmp_path / "two_{layer}.pt")
    out, err = p.communicate(timeout=600)
    assert p.returncode == 0, err[-3000:]
    for layer in ("fc1", "pool5"):
        a, b = sh.SemanticVectors.load(tmp_path / f"one_{layer}.pt"), sh.SemanticVectors.load(tmp_path / f"two_{layer}.pt")
        assert a.layer == b.layer == layer
        assert torch.equal(a.counts, b.counts) and torch.allclose(a.vectors, b.vectors, atol=1e-6)
    assert not list(tmp_path.glob("*.ckpt"))


@pytest.mark.slow
def test_fit_several_layers_in_one_pass_equals_single_layer_fits(tmp_path, capsys):
    base = ["fit", "--model", "vgg_mini", "--data", "world", "--per-class", "2", "--world-split", "test", "--quiet"]
    assert cli.main([*base, "--layer", "pool5", "--layer", "fc1", "--out", str(tmp_path / "sv.pt")]) == 1
    assert "with several --layer, --out must contain {layer}" in capsys.readouterr().err
    assert cli.main([*base, "--layer", "fc1", "--layer", "classifier.1", "--out", str(tmp_path / "{layer}.pt")]) == 1
    assert "names one layer twice: 'fc1' and 'classifier.1'" in capsys.readouterr().err
    assert cli.main([*base, "--layer", "pool5", "--layer", "fc1", "--out", str(tmp_path / "sv_{layer}.pt")]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sv_fc1.pt", "sv_pool5.pt"]
    model, spec = sh.load_model("vgg_mini")
    from sevec_helpers.sources import world as W

    ds = W.ObjectsDataset(split="test", per_class=2, spec=spec)
    for layer in ("pool5", "fc1"):
        direct = sh.fit_sevecs(model, ds, layer, progress=False)
        sv = sh.SemanticVectors.load(tmp_path / f"sv_{layer}.pt")
        assert sv.layer == layer and torch.equal(direct.vectors, sv.vectors) and torch.equal(direct.rates, sv.rates)
    before = (tmp_path / "sv_fc1.pt").stat().st_mtime_ns
    assert cli.main([*base, "--layer", "pool5", "--layer", "fc1", "--out", str(tmp_path / "sv_{layer}.pt")]) == 1
    assert "sv_pool5.pt exists; pass --overwrite" in capsys.readouterr().err
    assert (tmp_path / "sv_fc1.pt").stat().st_mtime_ns == before


def test_fit_on_a_folder_of_splits_names_them_and_suggests_one(tmp_path, capsys):
    assert cli.main(["world", "render", "--out", str(tmp_path / "cw"), "--part", "colors", "--split", "test",
                     "--per-class", "1", "--quiet"]) == 0
    assert cli.main(["world", "render", "--out", str(tmp_path / "cw"), "--part", "colors", "--split", "train",
                     "--per-class", "1", "--quiet"]) == 0
    root = tmp_path / "cw" / "colors"
    code = cli.main(["fit", "--model", "vgg_mini", "--layer", "fc1", "--data", str(root), "--out",
                     str(tmp_path / "sv.pt"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1
    assert f"{root} holds split folders (test, train), not class folders: pass one split, e.g. --data {root / 'train'}" \
        in err


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (Linux /proc): torchrun starts its workers in sessions of
    their own, so killing torchrun's process group leaves them running."""
    children: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                stat = open(f"/proc/{d}/stat").read()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(d))
    out, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def _kill_after_checkpoint(start, ckpts, timeout=300):
    p = start()
    t0 = time.time()
    while not any(c.exists() for c in ckpts):
        if p.poll() is not None:
            raise AssertionError(f"finished before a checkpoint could be killed: {p.communicate()[1][-2000:]}")
        if time.time() - t0 > timeout:
            raise AssertionError("no checkpoint appeared")
        time.sleep(0.05)
    victims = _descendants(p.pid)
    os.killpg(p.pid, signal.SIGKILL)
    for pid in victims:  # the workers too: the whole run dies at once, as on a crashed machine
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    p.wait()
    for pid in victims:  # gone before the test goes on (they are not our children: poll /proc)
        while _alive(pid):
            time.sleep(0.02)


def _alive(pid: int) -> bool:
    try:
        state = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.slow
@pytest.mark.parametrize("nproc", [1, 2])
def test_resume_after_sigkill_gives_the_same_file(tmp_path, nproc):
    """Two layers in one pass (--layer twice), killed after a checkpoint and resumed."""
    base = ["fit", "--model", "vgg_mini", "--layer", "fc1", "--layer", "pool5", "--data", "world", "--per-class", "30",
            "--batch-size", "8", "--checkpoint-every", "3", "--quiet"]
    full, part = str(tmp_path / "full_{layer}.pt"), str(tmp_path / "part_{layer}.pt")
    if nproc == 1:
        sevec(*base, "--out", full)
        start = lambda: subprocess.Popen([sys.executable, "-m", "sevec_helpers", *base, "--out", part], env=ENV,
                                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                         start_new_session=True)
        ckpts = [tmp_path / "part_fc1+pool5.pt.ckpt"]
    else:
        p = _torchrun(*base, "--out", full)
        assert p.wait(timeout=600) == 0, p.communicate()[1][-2000:]
        start = lambda: _torchrun(*base, "--out", part, start_new_session=True)
        ckpts = [tmp_path / f"part_fc1+pool5.pt.rank{r}.ckpt" for r in range(2)]
    _kill_after_checkpoint(start, ckpts)
    assert not list(tmp_path.glob("part_*.pt"))
    r = sevec(*base, "--out", part, check=False) if nproc == 1 else None
    if nproc == 1:
        assert r.returncode == 1 and "pass --resume" in r.stderr  # an interrupted run is never silently restarted
        sevec(*base, "--out", part, "--resume")
    else:
        p = _torchrun(*base, "--out", part, "--resume")
        assert p.wait(timeout=600) == 0, p.communicate()[1][-2000:]
    for layer in ("fc1", "pool5"):
        fa, fb = tmp_path / f"full_{layer}.pt", tmp_path / f"part_{layer}.pt"
        a, b = sh.SemanticVectors.load(fa), sh.SemanticVectors.load(fb)
        assert torch.equal(a.counts, b.counts) and torch.equal(a.vectors, b.vectors) and torch.equal(a.rates, b.rates)
        if nproc == 1:
            assert fa.read_bytes() == fb.read_bytes()
    assert not list(tmp_path.glob("*.ckpt")) and not list(tmp_path.glob(".*"))


@pytest.mark.slow
def test_a_second_fit_into_the_same_checkpoint_is_refused_while_the_first_runs(tmp_path):
    import fcntl

    out = tmp_path / "sv.pt"
    lock = tmp_path / "sv.pt.ckpt.lock"
    with open(lock, "a+") as fh:  # what a running fit (or a worker torchrun left behind) holds
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        r = sevec("fit", "--model", "vgg_mini", "--layer", "fc1", "--data", "world", "--per-class", "1", "--quiet",
                  "--out", out, check=False)
    assert r.returncode == 1 and "another process is running this fit" in r.stderr
    assert not out.exists() and not (tmp_path / "sv.pt.ckpt").exists()
    sevec("fit", "--model", "vgg_mini", "--layer", "fc1", "--data", "world", "--per-class", "1", "--quiet",
          "--out", out)  # the lock is free again: the fit runs and leaves only its output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sv.pt"]


def test_pointing_game_scenes_keep_boxes_on_their_objects(tmp_path):
    """A model whose transform resizes and centre-crops (EfficientNet's 256 -> 224): the scenes
    reader must give the image and its boxes in the same frame, so the object's pixels lie in
    its box (the old reader ran the transform's crop on the image but only rescaled the box)."""
    from PIL import Image
    from torchvision import transforms as T

    from sevec_helpers.cli import _scenes
    from sevec_helpers.sources.models import ModelSpec

    img = np.zeros((256, 320, 3), dtype=np.uint8)
    img[20:80, 10:70] = 255                                   # the object, near a corner
    Image.fromarray(img).save(tmp_path / "a.png")
    (tmp_path / "annotations.json").write_text(json.dumps(
        {"images": [{"file": "a.png", "boxes": [[10, 20, 70, 80]], "labels": ["cat"]}]}))
    spec = ModelSpec("cropper", {}, T.Compose([T.Resize(256), T.CenterCrop(224), T.ToTensor()]), ["cat", "dog"],
                     True, 224, (0.0, 0.0, 0.0), (1.0, 1.0, 1.0))
    x, target = _scenes(tmp_path, spec)[0]
    assert x.shape == (3, 224, 224)
    (x0, y0, x1, y1), = target["boxes"].tolist()
    ys, xs = np.nonzero(x[0].numpy() > 0.5)
    assert xs.min() >= int(x0) - 1 and xs.max() <= int(np.ceil(x1)) and ys.min() >= int(y0) - 1 \
        and ys.max() <= int(np.ceil(y1))
    assert target["labels"].tolist() == [0]
