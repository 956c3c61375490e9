"""Saving an untouched notebook in JupyterLab leaves the tracked files unchanged.

JupyterLab with Jupytext saves both halves of a pair: the ``.ipynb`` with the running
kernel's kernelspec and language_info, and the ``.md`` re-written from it under the settings of
``jupytext.toml``. Here that save is re-enacted without a browser: the kernel's metadata is
written into a copy of the ``.ipynb`` (as the python3 kernel that ``ipykernel install`` makes
reports it), the copy is made newer, and ``jupytext --sync`` writes the ``.md`` from it, as
Jupytext's contents manager does. The ``.md`` must come back byte for byte; the ``.ipynb``
with nothing changed but ``language_info``, which the kernel reports (its Python version is
the student's; JupyterLab writes it into every notebook it saves).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAIRS = sorted(p.with_suffix("") for p in (ROOT / "notebooks").glob("*.md") if p.with_suffix(".ipynb").exists()) + \
    [ROOT / "book" / "world", ROOT / "book" / "testbed"]
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
LANGUAGE_INFO = {"codemirror_mode": {"name": "ipython", "version": 3}, "file_extension": ".py",
                 "mimetype": "text/x-python", "name": "python", "nbconvert_exporter": "python",
                 "pygments_lexer": "ipython3", "version": "3.11.2"}


def _jupytext(*args, cwd):
    r = subprocess.run([sys.executable, "-m", "jupytext", *args], cwd=cwd, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]


def _copy(tmp: Path, base: Path) -> Path:
    rel = base.relative_to(ROOT)
    (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
    for ext in (".md", ".ipynb"):
        shutil.copy2(base.with_suffix(ext), (tmp / rel).with_suffix(ext))
    shutil.copy2(ROOT / "jupytext.toml", tmp / "jupytext.toml")
    return tmp / rel


def _save_as_jupyterlab(base: Path) -> None:
    """What JupyterLab writes for an untouched notebook run on the python3 kernel, then what
    Jupytext derives from it."""
    ipynb = base.with_suffix(".ipynb")
    nb = json.loads(ipynb.read_text())
    nb["metadata"]["kernelspec"] = dict(KERNELSPEC)
    nb["metadata"]["language_info"] = dict(LANGUAGE_INFO)
    ipynb.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
    later = base.with_suffix(".md").stat().st_mtime + 5
    os.utime(ipynb, (later, later))
    _jupytext("--sync", str(ipynb), cwd=ipynb.parent)


def _without_language_info(path: Path) -> dict:
    nb = json.loads(path.read_text())
    nb["metadata"].pop("language_info", None)
    return nb


def test_the_settings_drop_the_jupytext_version_and_keep_the_kernelspec():
    import tomllib

    cfg = tomllib.loads((ROOT / "jupytext.toml").read_text())
    assert "-jupytext.text_representation.jupytext_version" in cfg["notebook_metadata_filter"]
    assert cfg["formats"] == "ipynb,md:myst"


@pytest.mark.parametrize("base", PAIRS, ids=lambda p: p.name)
def test_a_save_of_a_normalised_pair_changes_nothing(tmp_path, base):
    """Once a pair is written under jupytext.toml with the python3 kernel's spec (what
    ``jupytext --set-kernel python3`` and ``--sync`` do), saving it untouched in JupyterLab
    rewrites neither file."""
    copy = _copy(tmp_path, base)
    _jupytext("--set-kernel", "python3", str(copy.with_suffix(".md")), cwd=copy.parent)
    _jupytext("--sync", str(copy.with_suffix(".md")), cwd=copy.parent)
    md, ipynb = copy.with_suffix(".md").read_text(), _without_language_info(copy.with_suffix(".ipynb"))
    _save_as_jupyterlab(copy)
    assert copy.with_suffix(".md").read_text() == md, f"{base.name}.md changed on save"
    assert _without_language_info(copy.with_suffix(".ipynb")) == ipynb, f"{base.name}.ipynb changed on save"


def test_the_committed_pairs_are_what_a_save_writes(tmp_path):
    changed = []
    for base in PAIRS:
        copy = _copy(tmp_path, base)
        before = copy.with_suffix(".md").read_text()
        _save_as_jupyterlab(copy)
        if copy.with_suffix(".md").read_text() != before:
            changed.append(base.name)
    assert not changed, f"an untouched save rewrites {changed}"
