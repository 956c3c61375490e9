"""Each notebook run alone, as Colab runs it: the package installed from a wheel (not the
repository), the ``.ipynb`` copied into an empty folder and executed there with nothing else
beside it, at the tiny sizes of ``params/ci.yaml`` (``SEVEC_SIZES``); the paper chapters with
``networks = []`` (their judging of other networks is the small build's job), so the whole
run takes minutes (the summary, opened alone, computes every chapter on the book's network).

The wheel is built from a copy of the sources (``pip wheel --no-deps --no-build-isolation``)
and installed into a folder of its own (``pip install --target``) that the kernel puts first on
its path; the first thing each run checks is that ``sevec_helpers`` comes from there.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

F = importlib.import_module("sevec_helpers.sources.photo_testbed.fetch")   # (the package's fetch() hides the module)

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb")) + [ROOT / "book" / "world.ipynb", ROOT / "book" / "testbed.ipynb"]
PAPER = {p.stem for p in (ROOT / "notebooks").glob("0[1-9]_*.ipynb")} | {"99_summary"}
TIMEOUT_S = 900   # one notebook, cell by cell at most this
NEED_PHOTOS = {"08_real_network"}   # its default profile is the photo testbed (fetched at set-up)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The package as a wheel would install it, in a folder of its own."""
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "setup.py", "README.md", "MANIFEST.in"):
        if (ROOT / name).exists():
            shutil.copy2(ROOT / name, src / name)
    shutil.copytree(ROOT / "sevec_helpers", src / "sevec_helpers",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    (src / "notebooks").mkdir()
    for md in (ROOT / "notebooks").glob("*.md"):   # setup.py puts the chapters' MyST sources into the wheel
        shutil.copy2(md, src / "notebooks" / md.name)
    wheels = tmp_path_factory.mktemp("wheel")
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w",
                        str(wheels), str(src)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    wheel = next(wheels.glob("sevec_helpers-*.whl"))
    target = tmp_path_factory.mktemp("site")
    r = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    assert (target / "sevec_helpers" / "weights" / "vgg_mini.pt").exists(), "the wheel lacks the shipped weights"
    assert (target / "sevec_helpers" / "book" / "notebooks" / "01_semantic_vectors.md").exists(), \
        "the wheel lacks the chapters' sources (the summary runs them to judge a network)"
    return target


def _run_alone(nb_path: Path, site: Path, folder: Path) -> dict:
    """Execute a copy of ``nb_path`` alone in the empty ``folder`` with the installed package."""
    import nbformat
    from nbclient import NotebookClient

    folder.mkdir(parents=True)
    nb = nbformat.read(nb_path, as_version=4)
    check = nbformat.v4.new_code_cell(
        "import sevec_helpers, os\n"
        f"assert sevec_helpers.__file__.startswith({str(site)!r}), sevec_helpers.__file__\n"
        "assert sorted(os.listdir('.')) == ['notebook.ipynb'], os.listdir('.')")
    cells = [check]
    for c in nb.cells:
        cells.append(c)
        if c.cell_type == "code" and "parameters" in c.metadata.get("tags", []) and nb_path.stem in PAPER:
            cells.append(nbformat.v4.new_code_cell(
                'networks = ["world:vgg_mini"]   # injected: one network (the summary computes it alone)'
                if nb_path.stem == "99_summary" else "networks = []   # injected: other networks are the book's job"))
    nb.cells = cells
    nbformat.write(nb, folder / "notebook.ipynb")
    sizes = yaml.safe_load((ROOT / "params" / "ci.yaml").read_text())
    env_sizes = {**sizes["sizes"], **({"photos": sizes["photos_sizes"]} if "photos_sizes" in sizes else {})}
    saved = {k: os.environ.get(k) for k in ("PYTHONPATH", "SEVEC_SIZES", "SEVEC_STATIC_BOOK", "MPLBACKEND", F.ENV_VAR)}
    os.environ["PYTHONPATH"] = str(site)
    os.environ["SEVEC_SIZES"] = json.dumps(env_sizes)
    # the photographs where set-up fetched them (the wheel alone would look in ~/.cache, as on Colab after
    # its fetch cell, which runs only there)
    os.environ[F.ENV_VAR] = str(F.data_dir())
    os.environ.pop("SEVEC_STATIC_BOOK", None)
    os.environ.pop("MPLBACKEND", None)
    try:
        client = NotebookClient(nb, timeout=TIMEOUT_S, kernel_name="python3", resources={"metadata": {"path": str(folder)}})
        client.execute()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return nb


def _errors_and_noise(nb) -> list[str]:
    out = []
    for i, c in enumerate(nb.cells):
        for o in c.get("outputs", []):
            if o.get("output_type") == "error":
                out.append(f"cell {i}: {o.get('ename')}: {o.get('evalue')}")
            elif o.get("output_type") == "stream" and o.get("name") == "stderr":
                text = "".join(o.get("text", ""))
                if "Warning" in text or "/site-packages/" in text or str(ROOT) in text:
                    out.append(f"cell {i} stderr: {text[:200]}")
    return out


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=lambda p: p.stem)
def test_each_notebook_runs_alone_from_the_installed_wheel(installed, tmp_path, nb_path):
    if nb_path.stem in NEED_PHOTOS and F.status() is not None:
        pytest.skip(f"{nb_path.name} needs the photo testbed's files: {F.status()}")
    nb = _run_alone(nb_path, installed, tmp_path / "empty")
    problems = _errors_and_noise(nb)
    assert not problems, f"{nb_path.name} run alone: {problems[:5]}"
    left = sorted(p.name for p in (tmp_path / "empty").iterdir())
    assert "notebook.ipynb" in left
