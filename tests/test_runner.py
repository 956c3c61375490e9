"""One copy of the method (issue 26): every network and testbed is judged by running the
chapter's own notebook cells (``sevec_helpers.book.runner``), never by a re-typed twin.

- a headless run skips only cells that bind no name (so nothing it runs can depend on them);
- every paper chapter takes the runner's parameters and judges elsewhere through ``runner.judge``;
- editing a notebook's cell changes what another network is judged by (the slow test below);
- the chapter modules hold presentation only: no public-API computation on a study.
"""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import pytest

from sevec_helpers.book import runner
from sevec_helpers.book.records import CHAPTERS, PAPER_CHAPTERS

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "sevec_helpers"
TINY = {"per_class_fit": 6, "per_class_eval": 3, "per_concept_fit": 4, "per_concept_eval": 2, "n_scenes": 4}
PARAMETERS = {"profile", "network", "sizes", "device", "results_dir", "cache_dir", "networks"}


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_a_headless_run_skips_only_cells_that_bind_nothing(chapter):
    cells = runner.read_cells(chapter)
    assert cells, f"{chapter}: no code cells found"
    for cell in cells:
        if runner.is_presentation(cell) and "remove-cell" not in cell.tags:
            bound = runner.assigned_names(cell)
            assert not bound, f"{chapter} cell {cell.index} is skipped headless but binds {sorted(bound)}:\n{cell.source}"


@pytest.mark.parametrize("chapter", PAPER_CHAPTERS)
def test_paper_chapters_take_the_runners_parameters_and_judge_elsewhere_with_their_own_cells(chapter):
    cells = runner.read_cells(chapter)
    params = [c for c in cells if c.is_parameters]
    assert len(params) == 1, f"{chapter}: one cell tagged 'parameters'"
    assert PARAMETERS <= runner.assigned_names(params[0]), f"{chapter}: parameters {PARAMETERS - runner.assigned_names(params[0])} missing"
    code = "\n".join(c.source for c in cells)
    assert f'runner.judge("{chapter}", study, networks' in code
    assert "network=network" in code, f"{chapter}: the study must be built for the run's network"


def test_presentation_rule_on_hand_written_cells():
    cell = lambda src, tags=(), fig=False: runner.Cell(0, src, tuple(tags), {"figure": fig})
    assert runner.is_presentation(cell("ch.figure(study, m);"))
    assert runner.is_presentation(cell("viz.stack([viz.verdict_table(v)])\nprint('x')"))
    assert runner.is_presentation(cell("x = 1", tags=["remove-output"]))
    assert runner.is_presentation(cell("fig = 1", fig=True))
    assert not runner.is_presentation(cell("m = ch.metrics(study)"))          # binds a name
    assert not runner.is_presentation(cell("sh.fit_sevecs(model, data)"))    # the method
    assert not runner.is_presentation(cell("ch.table(x)\nsv = sh.fit_sevecs(model, data)"))
    assert runner.assigned_names(cell("import numpy as np\nfor i in range(3): pass\ndef f(): pass")) == {"np", "i", "f"}


def test_notebooks_are_found_and_unknown_chapters_refused(tmp_path):
    assert (runner.notebooks_dir() / "01_semantic_vectors.md").is_file()
    with pytest.raises(FileNotFoundError, match="the chapters are"):
        runner.read_cells("03_hierarchy")
    assert runner.parse_network("photos:efficientnet_lite1", "world") == ("photos", "efficientnet_lite1")
    assert runner.parse_network("vgg_mini_seed2", "world") == ("world", "vgg_mini_seed2")
    assert runner.parse_network("nets/a:b.pt", "world") == ("world", "nets/a:b.pt")


def test_chapter_modules_hold_presentation_only():
    """No chapter module runs the method on a study: no fit, extraction, accuracy, saliency or
    scene pass is called there (those calls live in the notebooks' visible cells)."""
    method = {"fit_sevecs", "extract_features", "accuracy", "scene_metrics", "perturbation_study", "edit_study",
              "guided_backprop", "gradient_x_input", "attribute", "randomization_test", "class_sensitivity"}
    # the pages about the testbeds measure the testbeds themselves (no paper claim), shown on those pages
    allowed = {"world.py", "testbed.py"}
    bad = []
    for path in sorted((PKG / "book" / "chapters").glob("*.py")):
        if path.name in allowed:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                f = node.func
                name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", "")
                if name in method:
                    bad.append(f"{path.name}:{node.lineno} {name}")
    assert not bad, f"chapter modules compute: {bad}"


def test_a_failing_cell_names_the_chapter_the_cell_and_the_network(tmp_path):
    src = tmp_path / "nb"
    shutil.copytree(runner.notebooks_dir(), src)
    p = src / "03_concept_hierarchy.md"
    text = p.read_text()
    p.write_text(text.replace("sv = sh.fit_sevecs(", "sv = sh.fit_sevecs_typo(", 1))
    with pytest.raises(runner.ChapterError, match=r"03_concept_hierarchy, cell \d+ \(world, network vgg_mini_seed1\)"):
        runner.record_of("03_concept_hierarchy", network="vgg_mini_seed1", sizes=TINY, source_dir=src)


@pytest.mark.slow
def test_another_networks_record_comes_from_the_notebooks_own_code(tmp_path):
    """Edit chapter 3's verdict cell in a copy of the notebooks: the record of a replicate
    network judged from that copy changes exactly as the edit says, and deleting the cell
    leaves the chapter without its verdicts. No second copy of the chapter could see this."""
    src = tmp_path / "nb"
    shutil.copytree(runner.notebooks_dir(), src)
    kw = dict(network="vgg_mini_seed1", sizes=TINY, cache_dir=tmp_path / "cache")
    before = runner.record_of("03_concept_hierarchy", **kw)
    assert before.network == "vgg_mini_seed1" and before.testbed == "ConceptWorld"
    assert [v.id for v in before.verdicts] == ["fig3_superclass", "fig3_group"]
    p = src / "03_concept_hierarchy.md"
    text = p.read_text()
    call = 'verdicts = [claims.hierarchy(lvl, s["silhouette"], s["silhouette_p"]'
    assert call in text
    # the edit: a silhouette p-value of 1 for every level can never be significant
    p.write_text(text.replace(call, 'verdicts = [claims.hierarchy(lvl, s["silhouette"], 1.0'))
    after = runner.record_of("03_concept_hierarchy", source_dir=src, **kw)
    assert [v.verdict for v in after.verdicts] == ["not reproduced", "not reproduced"]
    assert all(v.numbers["silhouette_p_holm"] == 1.0 for v in after.verdicts)
    assert [v.numbers["silhouette"] for v in after.verdicts] == [v.numbers["silhouette"] for v in before.verdicts]
    # without the verdict cell the chapter has nothing to record
    cells = runner.read_cells("03_concept_hierarchy", src)
    verdict_cell = next(c for c in cells if "claims.hierarchy(" in c.source)
    p.write_text(p.read_text().replace(verdict_cell.source, "pass\n"))
    with pytest.raises(runner.ChapterError, match="NameError|built no record"):
        runner.record_of("03_concept_hierarchy", source_dir=src, **kw)


@pytest.mark.slow
def test_the_wheel_carries_the_notebooks_and_tables_the_runner_needs(tmp_path):
    import subprocess
    import sys
    import zipfile

    had_build = (ROOT / "build").exists()
    try:
        r = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w",
                            str(tmp_path), str(ROOT)], capture_output=True, text=True, timeout=600)
    finally:
        if not had_build:   # setuptools builds in the checkout's build/: leave nothing behind
            shutil.rmtree(ROOT / "build", ignore_errors=True)
    assert r.returncode == 0, r.stderr[-2000:]
    (wheel,) = tmp_path.glob("sevec_helpers-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for chapter in CHAPTERS:
        assert f"sevec_helpers/book/notebooks/{chapter}.md" in names, chapter
    # the photo testbed's written tables and checksums travel with the code that reads them
    for table in ("stamps.csv", "classes.csv", "concepts.csv", "manifest.json"):
        assert f"sevec_helpers/sources/photo_testbed/{table}" in names, table


def test_a_testbed_that_cannot_run_here_is_named_with_its_reason(monkeypatch):
    from sevec_helpers.book import profiles
    from sevec_helpers.book.claims import Verdict
    from sevec_helpers.book.records import Record

    monkeypatch.setattr(profiles, "unavailable_reason", lambda p: "its files were not fetched" if p == "photos" else None)
    st = profiles.study("world", sizes=TINY)
    got = runner.judge("03_concept_hierarchy", st, ["photos:efficientnet_lite1"])
    assert dict(got) == {} and got.skipped == {"photos": "its files were not fetched"}
    rec = Record("03_concept_hierarchy", "world", verdicts=[Verdict("x", "c", "p", "o", "reproduced", "w")],
                 network="vgg_mini")
    assert "*Not judged on real photographs here: its files were not fetched*" in rec.show(got).data
