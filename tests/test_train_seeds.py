"""More networks by the shipped recipe with other seeds (issue 19): the command line parses the
seeds, names the runs, and hands the world seed to the images and the initialisation seed to
the network. Nothing is trained here."""

import json

import pytest
import torch

from sevec_helpers.sources import train as T


def test_default_run_is_the_shipped_network():
    a = T.parse_args([])
    assert a.runs == [("vgg_mini", "vgg_mini", 0, 0)]
    assert T.run_name("vgg_mini_gray") == "vgg_mini_gray"


def test_seed_options_are_parsed_into_runs():
    assert T.parse_args(["--seed", "3"]).runs == [("vgg_mini", "vgg_mini_seed3", 3, 3)]
    assert T.parse_args(["--world-seed", "2", "--init-seed", "5"]).runs == [("vgg_mini", "vgg_mini_w2_i5", 2, 5)]
    # one of the two overrides --seed
    assert T.parse_args(["--seed", "1", "--init-seed", "0"]).runs == [("vgg_mini", "vgg_mini_w1_i0", 1, 0)]
    assert T.parse_args(["--seed", "4", "--world-seed", "4"]).runs == [("vgg_mini", "vgg_mini_seed4", 4, 4)]
    runs = T.parse_args(["--variant", "all", "--seed", "2"]).runs
    assert [r[1] for r in runs] == ["vgg_mini_seed2", "vgg_mini_gray_seed2", "vgg_mini_colorcoded_seed2"]
    assert T.parse_args(["--variant", "vgg_mini_gray", "--seed", "1", "--name", "gray_b"]).runs == [
        ("vgg_mini_gray", "gray_b", 1, 1)]


@pytest.mark.parametrize("argv", [["--seed", "-1"], ["--init-seed", "x"], ["--variant", "all", "--name", "n"],
                                  ["--name", "../escape"], ["--name", ".hidden"]])
def test_bad_seed_options_are_refused(argv, capsys):
    with pytest.raises(SystemExit):
        T.parse_args(argv)
    assert "error" in capsys.readouterr().err


def test_run_name_refuses_bad_input():
    with pytest.raises(ValueError, match="unknown variant"):
        T.run_name("vgg_maxi", 1, 1)
    with pytest.raises(ValueError, match="non-negative int"):
        T.run_name("vgg_mini", -2, 0)


def test_the_seeds_change_the_images_and_the_initialisation():
    kw = {"color_informativeness": 0.25, "workers": 1, "progress": False}
    x0, y0 = T.render_objects(0, "train", 1, **kw)
    x0b, _ = T.render_objects(0, "train", 1, **kw)
    x1, y1 = T.render_objects(1, "train", 1, **kw)
    assert torch.equal(x0, x0b) and torch.equal(y0, y1) and not torch.equal(x0, x1)
    a, b, c = (T.init_model(s).state_dict() for s in (0, 0, 1))
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert any(not torch.equal(a[k], c[k]) for k in a if a[k].is_floating_point())


class _Stop(Exception):
    pass


def test_train_hands_each_seed_to_its_use(monkeypatch):
    seen = {}

    def fake_render(seed, split, per_class, **kw):
        seen.setdefault("render", []).append((seed, split))
        return torch.zeros(1, 3, 8, 8, dtype=torch.uint8), torch.zeros(1, dtype=torch.long)

    def fake_init(init_seed, image_size=64):
        seen["init"] = init_seed
        raise _Stop

    monkeypatch.setattr(T, "render_objects", fake_render)
    monkeypatch.setattr(T, "init_model", fake_init)
    threads = torch.get_num_threads()
    try:
        with pytest.raises(_Stop):
            T.train(world_seed=7, init_seed=3, progress=False)
        assert seen == {"render": [(7, "train"), (T.EVAL_SEED, "val")], "init": 3}
        seen.clear()
        with pytest.raises(_Stop):
            T.train(seed=5, progress=False)
        assert seen == {"render": [(5, "train"), (T.EVAL_SEED, "val")], "init": 5}
    finally:
        torch.set_num_threads(threads)


def test_main_trains_and_writes_the_named_run(monkeypatch, tmp_path):
    calls = []

    def fake_train(variant, **kw):
        calls.append(("train", variant, kw["world_seed"], kw["init_seed"]))
        return None, [], {}

    def fake_write(variant, model, history, timings, out, per_class, epochs, seed, threads, eval_per_class, *,
                   name, world_seed, init_seed):
        calls.append(("write", variant, name, world_seed, init_seed))
        wpath = out / f"{name}.pt"
        wpath.write_bytes(b"")
        wpath.with_suffix(".json").write_text(json.dumps({"heldout": {"top1": 0.5, "top5": 0.9}}))
        return wpath

    monkeypatch.setattr(T, "train", fake_train)
    monkeypatch.setattr(T, "write", fake_write)
    T.main(["--world-seed", "2", "--init-seed", "9", "--out", str(tmp_path), "--quiet"])
    assert calls == [("train", "vgg_mini", 2, 9), ("write", "vgg_mini", "vgg_mini_w2_i9", 2, 9)]
