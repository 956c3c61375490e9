"""Every claim judged on several networks (issue 19): network files of `python -m
sevec_helpers.sources.train` load from any folder with their checksums checked, a study swaps its
network and the network's own gray-retrained partner while sharing data and cache, the
rows across networks count a missing verdict as not testable and never a disagreement as
reproduced, the summary recomputes every verdict on a network file, and the world's
renderings are shared through the disk cache exactly."""

import copy
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

import sevec_helpers as sh
from sevec_helpers.book import claims as C
from sevec_helpers.book import figures as viz
from sevec_helpers.book import profiles, runner
from sevec_helpers.book.chapters import summary
from sevec_helpers.book.records import PAPER_CHAPTERS, Record, across, record_path
from sevec_helpers.sevecs.cache import DiskCache
from sevec_helpers.sources import models as M
from sevec_helpers.sources import world as W
from sevec_helpers.sources.datasets import Cached

ROOT = Path(__file__).resolve().parents[1]
TINY = dict(per_class_fit=8, per_class_eval=4, per_concept_fit=6, per_concept_eval=3, n_scenes=6)
PAPER_CLAIMS = ["fig1_classes", "fig2_textures", "fig2_materials", "fig2c_colors", "gray_drop", "gray_recovery",
                "table1", "fig3_superclass", "fig3_group", "dominant_cluster", "table2_top1", "table2_top5",
                "dc_multifaceted", "fig5_textures", "table3_textures", "fig5_materials", "table3_materials",
                "fig6_guidedbp", "fig6_gradient_input", "fig7_guidedbp", "fig7_gradient_input"]
RULES_V3_COMMIT = "4d8125f"   # "claims: rules v3 (issue 19), written and committed before the extra networks"


def _network_file(folder: Path, variant: str, seed: int, src: str) -> Path:
    """A network file as train writes it (name, variant, seeds in the metadata), weights copied
    from a shipped network so that no training runs here."""
    from sevec_helpers.sources.train import run_name

    name = run_name(variant, seed, seed)
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(M.WEIGHTS_DIR / f"{src}.pt", folder / f"{name}.pt")
    meta = json.loads((M.WEIGHTS_DIR / f"{src}.json").read_text())
    meta.update(name=name, variant=variant, world=dict(meta["world"], seed=seed))
    meta["training"] = dict(meta["training"], seed=seed, world_seed=seed, init_seed=seed)
    (folder / f"{name}.json").write_text(json.dumps(meta))
    return folder / f"{name}.pt"


def test_a_network_file_loads_from_any_folder_like_the_shipped_one(tmp_path):
    path = _network_file(tmp_path, "vgg_mini", 5, "vgg_mini")
    a, aspec = sh.load_model(str(path))
    b, _ = sh.load_model("vgg_mini")
    assert aspec.name == "vgg_mini_seed5" and aspec.meta["path"] == str(path)
    assert aspec.aliases == {"pool5": "features.21", "fc1": "classifier.1", "fc2": "classifier.4"}
    x = torch.randn(2, 3, 64, 64)
    with torch.inference_mode():
        assert torch.equal(a(x), b(x))
    assert sh.load_model(path)[1].name == "vgg_mini_seed5"   # a Path works as well


def test_a_network_file_with_a_bad_checksum_or_no_metadata_is_refused(tmp_path):
    path = _network_file(tmp_path, "vgg_mini", 5, "vgg_mini")
    with open(path, "r+b") as fh:
        fh.seek(3000)
        fh.write(b"\x07\x07\x07")
    with pytest.raises(ValueError, match="checksum"):
        M.load_network_file(path)
    path.with_suffix(".json").unlink()
    with pytest.raises(FileNotFoundError, match="metadata"):
        M.load_network_file(path)
    with pytest.raises(ValueError, match=r"ends in \.pt"):
        M.load_network_file(tmp_path / "net.pth")


def test_the_gray_partner_is_the_same_seeds_gray_network_in_the_same_folder(tmp_path):
    colour = _network_file(tmp_path, "vgg_mini", 5, "vgg_mini")
    spec = sh.load_model(colour)[1]
    assert M.gray_partner(spec) is None                       # not trained: none
    gray = _network_file(tmp_path, "vgg_mini_gray", 5, "vgg_mini_gray")
    _network_file(tmp_path, "vgg_mini_gray", 6, "vgg_mini_gray")   # other seeds: never taken
    assert M.gray_partner(spec) == str(gray)
    assert M.gray_partner(sh.load_model(gray)[1]) is None     # a gray network has no gray partner
    coded = _network_file(tmp_path / "c", "vgg_mini_colorcoded", 0, "vgg_mini_colorcoded")
    assert M.gray_partner(sh.load_model(coded)[1]) is None    # another world: no partner
    assert M.gray_partner(sh.load_model("vgg_mini")[1]) == "vgg_mini_gray"
    for r in M.REPLICATES:
        assert M.gray_partner(sh.load_model(r)[1]) == M.GRAY_PARTNERS[r]


def test_a_study_on_another_network_shares_data_and_cache_and_swaps_the_partner(tmp_path):
    st = profiles.study("world", sizes=TINY, cache_dir=tmp_path / "cache")
    assert profiles.study("world", sizes=TINY, cache_dir=tmp_path / "cache") is st        # reused in a process
    seed2 = profiles.study("world", network="vgg_mini_seed2", sizes=TINY, cache_dir=tmp_path / "cache")
    assert seed2.network == "vgg_mini_seed2" and seed2.data is st.data and seed2.testbed == "ConceptWorld"
    assert profiles.study("world", network="vgg_mini", sizes=TINY, cache_dir=tmp_path / "cache") is st
    other = st.on_network("vgg_mini_seed2")
    assert other.data is st.data and other.cache is st.cache and other.sizes == st.sizes
    assert other.spec.name == "vgg_mini_seed2" and other.replicates == ()
    assert other.networks["gray"].spec.name == "vgg_mini_gray_seed2"
    assert other.networks["colorcoded"] is st.networks["colorcoded"]   # the positive control is shared
    assert st.spec.name == "vgg_mini" and st.networks["gray"].spec.name == "vgg_mini_gray"   # untouched
    assert st.replicates == M.REPLICATES
    lone = st.on_network(_network_file(tmp_path / "nets", "vgg_mini", 9, "vgg_mini_seed1"))
    assert "gray" not in lone.networks and lone.spec.name == "vgg_mini_seed9"


def test_a_network_of_another_world_or_a_real_data_profile_is_refused(tmp_path):
    st = profiles.study("world", sizes=TINY)
    path = _network_file(tmp_path, "vgg_mini", 4, "vgg_mini")
    meta = json.loads(path.with_suffix(".json").read_text())
    meta["categories"] = meta["categories"][::-1]
    path.with_suffix(".json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="classes"):
        st.on_network(path)
    meta["categories"] = meta["categories"][::-1]
    meta["mean"] = [0.4, 0.4, 0.4]
    path.with_suffix(".json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="mean"):
        st.on_network(path)
    real = copy.copy(st)   # not st itself: profiles.study hands the same Study to later callers
    real.profile = "imagenet"
    with pytest.raises(ValueError, match="ConceptWorld profile"):
        real.on_network("vgg_mini_seed1")
    assert st.profile == "world"


def _v(id_, verdict):
    return C.Verdict(id_, f"claim {id_}", "paper", f"ours {verdict}", verdict, "why")


def test_rows_across_networks_agree_count_mixed_and_a_missing_verdict_as_not_testable():
    rows = across({"a": [_v("x", C.REPRODUCED), _v("y", C.REPRODUCED), _v("z", C.NOT)],
                   "b": [_v("x", C.REPRODUCED), _v("y", C.PARTLY), _v("z", C.NOT)],
                   "c": [_v("x", C.REPRODUCED), _v("y", C.REPRODUCED)]})
    by = {r["id"]: r for r in rows}
    assert [r["id"] for r in rows] == ["x", "y", "z"]
    assert by["x"]["verdict"] == C.REPRODUCED and by["x"]["why"] == "reproduced on all 3 networks"
    assert by["y"]["verdict"] == C.MIXED and by["y"]["why"] == "mixed: reproduced on 2 of 3, partly on 1 of 3"
    assert by["z"]["verdict"] == C.MIXED and by["z"]["numbers"]["missing"] == ["c"]
    assert by["z"]["why"] == "mixed: not reproduced on 2 of 3, not testable on 1 of 3; not judged on c"
    assert by["y"]["numbers"]["per_network"] == {"a": C.REPRODUCED, "b": C.PARTLY, "c": C.REPRODUCED}
    assert C.counts(rows)[C.REPRODUCED] == 1 and C.counts(rows)[C.MIXED] == 2


def test_a_chapters_verdict_table_shows_each_testbed_and_each_network_with_its_number():
    rec = Record("01_x", "world", verdicts=[_v("x", C.REPRODUCED), _v("y", C.NOT)], network="vgg_mini")
    others = {f"world:{n}": Record("01_x", "world", verdicts=[_v("x", C.REPRODUCED), _v("y", v)], network=n)
              for n, v in (("vgg_mini_seed1", C.NOT), ("vgg_mini_seed2", C.REPRODUCED))}
    others["photos:efficientnet_lite0"] = Record("01_x", "photos", verdicts=[_v("x", C.PARTLY), _v("y", C.NOT)],
                                                 network="efficientnet_lite0")
    md = rec.show(others).data
    assert "**Verdicts on ConceptWorld**" in md
    assert "| claim | ConceptWorld (3 networks) | real photographs (1 network) | every network |" in md
    assert "| claim x | **reproduced** | **partly** | **mixed** (reproduced on 3 of 4, partly on 1 of 4) |" in md
    assert "Each claim on each network of ConceptWorld" in md and "| claim | seed 0 | seed 1 | seed 2 | agreed |" in md
    assert "Each claim on each network of real photographs" in md and "| claim | Lite0 | agreed |" in md
    assert "**mixed**: reproduced on 1 of 3, not reproduced on 2 of 3 (ConceptWorld)" in md
    assert rec.show().data == viz.verdict_table(rec.verdicts).data   # one network: its own table only
    with pytest.raises(ValueError, match="own network"):
        rec.show({"world:vgg_mini": rec})


@pytest.mark.slow
def test_the_summary_recomputes_every_verdict_on_a_network_file(tmp_path, capsys):
    path = _network_file(tmp_path / "nets", "vgg_mini", 7, "vgg_mini_seed3")
    out = summary.judge(path, sizes=TINY, results_dir=tmp_path / "results", progress=None)
    assert out["network"] == "vgg_mini_seed7" and set(out["seconds"]) == set(PAPER_CHAPTERS)
    assert sorted(r["id"] for r in out["rows"]) == sorted(PAPER_CLAIMS)
    rows = {r["id"]: r for r in out["rows"]}
    # no gray partner beside the file: the retraining claim says so instead of borrowing one
    assert rows["gray_recovery"]["verdict"] == C.UNTESTABLE
    assert all(record_path(tmp_path / "results", "world", "vgg_mini_seed7", c).exists() for c in PAPER_CHAPTERS)
    # the same record as the chapter's own notebook run on that network
    again = runner.record_of("01_semantic_vectors", network=path, sizes=TINY)
    assert again.as_dict()["verdicts"] == out["records"]["01_semantic_vectors"]["verdicts"]


@pytest.mark.slow
def test_judge_runs_the_chapter_on_each_network_and_none_for_an_empty_list(tmp_path):
    st = profiles.study("world", sizes=TINY)
    assert runner.judge("03_concept_hierarchy", st, [], results_dir=tmp_path) == {}
    got = runner.judge("03_concept_hierarchy", st, ["vgg_mini_seed1", "world:vgg_mini"], results_dir=tmp_path)
    assert list(got) == ["world:vgg_mini_seed1"] and got["world:vgg_mini_seed1"].network == "vgg_mini_seed1"
    assert record_path(tmp_path, "world", "vgg_mini_seed1", "03_concept_hierarchy").exists()
    with pytest.raises(FileNotFoundError, match="the chapters are"):
        runner.judge("03_hierarchy", st, ["vgg_mini_seed1"])
    with pytest.raises(TypeError, match=r"write \['vgg_mini_seed1'\]"):
        runner.judge("03_concept_hierarchy", st, "vgg_mini_seed1")


@pytest.mark.slow
def test_the_command_line_prints_every_verdict_of_a_network(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SEVEC_SIZES", json.dumps(TINY))
    summary.main(["vgg_mini_seed1"])
    out = capsys.readouterr().out
    assert "vgg_mini_seed1:" in out and "Table 1" in out and "Fig. 7" in out
    assert "verdicts in" in out


# --- the shipped replicates ---------------------------------------------------------------

@pytest.mark.parametrize("name", M.REPLICATES)
def test_each_replicate_is_the_recipe_with_its_own_seeds(name):
    from sevec_helpers.sources.train import RECIPE

    meta = json.loads((M.WEIGHTS_DIR / f"{name}.json").read_text())
    gray = json.loads((M.WEIGHTS_DIR / f"{M.GRAY_PARTNERS[name]}.json").read_text())
    seed = int(name.removeprefix("vgg_mini_seed"))
    for m, variant in ((meta, "vgg_mini"), (gray, "vgg_mini_gray")):
        assert m["variant"] == variant and m["world"]["seed"] == seed and m["training"]["init_seed"] == seed
        assert {k: m["training"][k] for k in RECIPE if k not in ("seed", "threads")} == \
            {k: v for k, v in RECIPE.items() if k not in ("seed", "threads")}
    # trained to the shipped network's difficulty: held-out top-1 within 10 points of seed 0's
    base = json.loads((M.WEIGHTS_DIR / "vgg_mini.json").read_text())["heldout"]["top1"]
    assert abs(meta["heldout"]["top1"] - base) < 0.10


def test_the_replicates_were_committed_after_the_rules_v3():
    if not (ROOT / ".git").exists() or shutil.which("git") is None:
        pytest.skip("no git history here")
    git = lambda *a: subprocess.run(["git", "-C", str(ROOT), *a], capture_output=True, text=True)
    if git("cat-file", "-e", f"{RULES_V3_COMMIT}^{{commit}}").returncode != 0:
        pytest.skip("a shallow clone without the rules' commit")
    for name in (*M.REPLICATES, *(M.GRAY_PARTNERS[r] for r in M.REPLICATES)):
        first = git("log", "--diff-filter=A", "--format=%H", "--", f"sevec_helpers/weights/{name}.pt").stdout.split()
        if not first:
            pytest.skip(f"{name} is not committed yet")
        assert git("merge-base", "--is-ancestor", RULES_V3_COMMIT, first[-1]).returncode == 0, name


# --- one rendering for every page and network ----------------------------------------------

def test_world_renderings_are_shared_through_the_disk_cache_exactly(tmp_path, monkeypatch):
    spec = sh.load_model("vgg_mini")[1]
    makers = [lambda w: W.ObjectsDataset(w, "test", 3, spec=spec),
              lambda w: W.ObjectsDataset(w, "test", 3, spec=spec, grayscale=True),
              lambda w: W.TexturesDataset(w, "train", 2, spec=spec),
              lambda w: W.ScenesDataset(w, "test", 5, spec=spec)]
    plain = [m(W.ConceptWorld(1)) for m in makers]
    first = [Cached(m(W.ConceptWorld(1)), store=DiskCache(tmp_path)) for m in makers]
    for p, f in zip(plain, first):
        f[0]
    assert len(list(tmp_path.glob("tensors-*.entry"))) == 3          # colour and gray share one
    # a second reader (another kernel) draws only each dataset's probe image (of its key)
    from sevec_helpers.sources.world import generator as G

    monkeypatch.setattr(G.MEMO, "budget", lambda: 0)
    drawn = []
    for name in ("_draw_object", "_draw_swatch", "_draw_scene"):
        real = getattr(G.ConceptWorld, name)
        monkeypatch.setattr(G.ConceptWorld, name, lambda *a, real=real, name=name, **k: drawn.append(name) or real(*a, **k))
    second = [Cached(m(W.ConceptWorld(1)), store=DiskCache(tmp_path)) for m in makers]
    for s in second:
        s[0]
    assert sorted(drawn) == ["_draw_object", "_draw_object", "_draw_scene", "_draw_swatch"], drawn
    monkeypatch.undo()
    for p, s in zip(plain, second):
        for i in range(len(p)):
            a, b = p[i], s[i]
            assert torch.equal(a[0], b[0])
            if isinstance(a[1], dict):
                assert all(torch.equal(a[1][k], b[1][k]) and a[1][k].dtype == b[1][k].dtype for k in a[1])
            else:
                assert a[1] == b[1]
    objs, objs2 = plain[0], second[0]
    assert [objs.attributes(i) for i in range(len(objs))] == [objs2.attributes(i) for i in range(len(objs))]
    a, b = objs.sample(5), objs2.sample(5)
    assert a.facet == b.facet and a.box == b.box and a.colors == b.colors
    assert [type(v) for v in a.box] == [type(v) for v in b.box]
    b.image[:] = 0                                              # a caller's edit never reaches the store
    assert np.array_equal(objs2.sample(5).image, a.image)
