"""Notebook promises: pairs in sync and committed without outputs; and, on the small build
that executes every chapter once (tests/smallbook.py, shared with the browser tests), each
chapter saves every expected verdict row with finite numbers on every network of both
testbeds, its by-hand checks hold, and the summary shows every claim on every testbed. That
chapters show their method is tests/test_show_method.py; that other networks are judged by
the notebooks' own cells is tests/test_runner.py."""

import json
import math
import re
from pathlib import Path

import jupytext
import pytest
import smallbook

from sevec_helpers.book import profiles
from sevec_helpers.book.claims.base import VERDICTS
from sevec_helpers.book.records import CHAPTERS, PAPER_CHAPTERS, flat_numbers, load_records

ROOT = Path(__file__).resolve().parents[1]
NB = ROOT / "notebooks"
NOTEBOOKS = sorted(p.stem for p in NB.glob("[0-9][0-9]_*.md"))

# every row each chapter must save (paper claims; own checks apart), on either testbed
EXPECTED_VERDICTS = {
    "01_semantic_vectors": {"fig1_classes"},
    "02_validating_sevecs": {"fig2_textures", "fig2_materials", "fig2c_colors", "gray_drop", "gray_recovery", "table1"},
    "03_concept_hierarchy": {"fig3_superclass", "fig3_group"},
    "04_multifacetedness": {"dominant_cluster", "table2_top1", "table2_top5", "dc_multifaceted"},
    "05_concept_relations": {"fig5_textures", "fig5_materials", "table3_textures", "table3_materials"},
    "06_semantic_saliency": {"fig6_guidedbp", "fig6_gradient_input"},
    "07_pointing_game": {"fig7_guidedbp", "fig7_gradient_input"},
}
EXPECTED_CHECKS = {
    "01_semantic_vectors": {"eq3"},
    "02_validating_sevecs": {"own_textures", "own_materials", "own_colors", "table1_renormalised", "table1_predicted"},
    "07_pointing_game": {"centre", "classic_guided_backprop", "classic_gradient_x_input"},
}


def _code(nb):
    return [(c.cell_type, c.source.strip()) for c in nb.cells]


BOOK_PAGES_WITH_CODE = ["book/testbed", "book/world", "book/atlas_world", "book/atlas_photos",   # launchable
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


# ---------------------------------------------------------------------------------------
# the small build: every chapter executed once, judged on every network of both testbeds
# ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def built():
    smallbook.build_if_needed()
    return load_records(smallbook.RESULTS)


def _executed(name: str) -> dict:
    path = smallbook.EXECUTED / "notebooks" / f"{name}.ipynb"
    assert path.exists(), f"no executed notebook {path}"
    return json.loads(path.read_text())


def _networks() -> list[tuple[str, str]]:
    return [tuple(e.split(":", 1)) for e in profiles.book_networks() if profiles.available(e.split(":", 1)[0])]


@pytest.mark.slow
@pytest.mark.parametrize("name", PAPER_CHAPTERS)
def test_every_chapter_saves_every_claim_with_finite_numbers_on_every_network(built, name):
    """Each paper chapter saves its record on every network of both testbeds (its own and those
    ``runner.judge`` ran it on), with every expected verdict row and check; every number is
    finite (an undefined statistic makes its row 'not testable' instead)."""
    for profile, net in _networks():
        rec = built.get((profile, net), {}).get(name)
        assert rec is not None, f"{name} saved no record on {profile}:{net}"
        assert rec["network"] == net and rec["testbed"]
        ids = {r["id"] for r in rec["verdicts"]}
        assert ids == EXPECTED_VERDICTS[name], f"{name} on {profile}:{net}: verdict rows {sorted(ids)}"
        assert all(r["verdict"] in VERDICTS and r["testbed"] == rec["testbed"] for r in rec["verdicts"])
        if profile == "world":
            assert EXPECTED_CHECKS.get(name, set()) <= {c["id"] for c in rec["checks"]}
        nums = flat_numbers({"numbers": rec["numbers"], "verdicts": [r["numbers"] for r in rec["verdicts"]],
                             "checks": [c["numbers"] for c in rec["checks"]]})
        bad = [k for k, v in nums.items() if v is None or not math.isfinite(v)]
        assert not bad, f"{name} on {profile}:{net}: non-finite numbers {bad[:10]}"


_BY_HAND = re.compile(r"\b(equal|allclose|same)\b", re.I)


@pytest.mark.slow
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_by_hand_checks_hold(built, name):
    """The chapters print their by-hand answers beside the library's with an equality check
    ("equal: True", "torch.allclose(...): True"); no such line may read False."""
    nb = _executed(name)
    lines = [ln for c in nb["cells"] if c["cell_type"] == "code" for o in c.get("outputs", [])
             if o.get("output_type") == "stream" for ln in "".join(o.get("text", "")).splitlines()]
    # what follows the last "equal"/"allclose"/"same" on a line is the check's answer (the
    # values before it may be booleans themselves, e.g. hits by hand [False, True])
    bad = [ln for ln in lines if _BY_HAND.search(ln)
           and re.search(r"\bFalse\b", ln[list(_BY_HAND.finditer(ln))[-1].end():])]
    assert not bad, f"{name}: a by-hand check failed: {bad[:3]}"


def _markdown_outputs(nb: dict) -> str:
    return "".join("".join(o.get("data", {}).get("text/markdown", "")) for c in nb["cells"] for o in c.get("outputs", []))


@pytest.mark.slow
@pytest.mark.parametrize("name", PAPER_CHAPTERS)
def test_each_chapter_shows_its_claims_on_each_testbed(built, name):
    text = _markdown_outputs(_executed(name))
    assert "Each claim on each testbed" in text
    from sevec_helpers.book.claims import testbed_of

    for bed in dict.fromkeys(testbed_of(p) for p, _ in _networks()):
        assert f"Each claim on each network of {bed}" in text, f"{name} does not show its networks of {bed}"


IMAGENET_CHAPTERS = [c for c in PAPER_CHAPTERS]


@pytest.fixture(scope="module")
def imagenet_records(tmp_path_factory):
    """The paper chapters under the imagenet profile, run headless on a tiny tree in ImageNet's
    on-disk format with a random-weight AlexNet (no download): the real-data code path end to end."""
    import fake_datasets as F

    from sevec_helpers.book import runner

    root = tmp_path_factory.mktemp("imagenet")
    F.imagenet_tree(root, per_class=4, n_val=9)
    sizes = dict(model="alexnet", weights=None, imagenet_train=str(root / "train"), imagenet_val=str(root / "val"),
                 val_annotations=str(root / "LOC_val_solution.csv"),
                 synset_mapping=str(root / "LOC_synset_mapping.txt"), per_class_fit=4, per_class_eval=3,
                 per_concept_fit=3, n_scenes=4, **F.concept_trees(root))
    out, failures = {}, {}
    for name in IMAGENET_CHAPTERS:
        try:
            out[name] = runner.record_of(name, profile="imagenet", sizes=sizes)
        except runner.ChapterError as e:   # keep going: report every failing chapter at once
            failures[name] = str(e)[-3000:]
    return out, failures


@pytest.mark.slow
@pytest.mark.parametrize("name", IMAGENET_CHAPTERS)
def test_chapter_runs_under_the_imagenet_profile(imagenet_records, name):
    out, failures = imagenet_records
    assert name not in failures, failures.get(name)
    assert {r.id for r in out[name].verdicts} == EXPECTED_VERDICTS[name]
    assert all(r.testbed == "ImageNet" for r in out[name].verdicts)


@pytest.mark.slow
def test_imagenet_profile_says_what_it_cannot_test(imagenet_records):
    out, failures = imagenet_records
    rows = {r.id: r for rec in out.values() for r in rec.verdicts}
    # no hierarchy and no per-image truth for ImageNet here: those rows say so instead of grading
    assert rows["fig3_group"].verdict == "not testable" and "hierarchy" in rows["fig3_group"].why
    assert rows["table3_textures"].verdict == "not testable"
    assert rows["gray_recovery"].verdict == "not testable"


@pytest.mark.slow
def test_the_summary_shows_every_claim_on_every_network(built):
    from sevec_helpers.book.chapters import summary

    assert not summary.missing(smallbook.RESULTS)
    collected = summary.collect(smallbook.RESULTS, compute=False)
    assert list(collected) == _networks()
    n_claims = sum(len(v) for v in EXPECTED_VERDICTS.values())
    for bed, rows in summary.testbed_rows(collected).items():
        assert len(rows) == n_claims and all(not r["numbers"]["missing"] for r in rows), bed
    text = _markdown_outputs(_executed("99_summary"))
    assert "On ConceptWorld, 4 networks:" in text and "Each claim on each testbed" in text


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


# the third-party packages a notebook may import, by module -> distribution
_DIST = {"torch": "torch", "torchvision": "torchvision", "numpy": "numpy", "scipy": "scipy", "sklearn": "scikit-learn",
         "matplotlib": "matplotlib", "tqdm": "tqdm", "PIL": "pillow", "captum": "captum", "plotly": "plotly",
         "ipywidgets": "ipywidgets", "skimage": "scikit-image", "IPython": "ipykernel", "yaml": "pyyaml"}


def _imported(source: str) -> set[str]:
    import ast

    out = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            out.add(node.module.split(".")[0])
    return out


@pytest.mark.parametrize("name", NOTEBOOKS + BOOK_PAGES_WITH_CODE)
def test_colab_installs_the_light_notebook_extra_and_it_brings_what_the_page_imports(name):
    """Every launchable page installs ``sevec-helpers[notebook]`` in Colab: no book-building
    stack, no pin that would replace Colab's own torch or ipywidgets; and that extra (with the
    base dependencies) holds every third-party package the page's code imports."""
    import tomllib

    from sevec_helpers.book import runner

    path = (ROOT / name).with_suffix(".md") if "/" in name else NB / f"{name}.md"
    text = path.read_text()
    assert re.search(r'%pip install -q "sevec-helpers\[notebook\] @ git\+', text), f"{name}: Colab cell"
    py = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    have = {re.split(r"[<>=!~\[ ;]", r, maxsplit=1)[0].lower() for r in
            py["dependencies"] + py["optional-dependencies"]["notebook"]} | {"ipykernel"}   # Colab and Jupyter have it
    assert not any(re.search(r"torch[^,]*<", r) for r in py["dependencies"]), "no upper bound on torch"
    widgets = next(r for r in py["optional-dependencies"]["notebook"] if r.startswith("ipywidgets"))
    assert "<" not in widgets and ">=7" in widgets, "Colab's ipywidgets 7 must satisfy the extra"
    d = path.parent
    cells = runner.read_cells(path.stem, d) if (d / f"{path.stem}.md").exists() else []
    mods = set().union(*(_imported(runner._python(c.source)) for c in cells)) if cells else set()
    needed = {_DIST[m] for m in mods if m in _DIST}
    assert needed <= have, f"{name} imports {sorted(needed - have)}, which sevec-helpers[notebook] does not bring"
