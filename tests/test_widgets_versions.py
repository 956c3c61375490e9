"""The live controls (``sevec_helpers.book.widgets``) work with ipywidgets 8 (this
environment's) and with ipywidgets 7.7.1 (Colab's): each control built, a value changed as a
reader would, and the figure re-drawn for it. ipywidgets 7 is installed into a folder of its
own (pip --target), never into the environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow   # installs ipywidgets 7 from the package index

ROOT = Path(__file__).resolve().parents[1]
COLAB_IPYWIDGETS = "7.7.1"

SCRIPT = r"""
import ipywidgets, sys
from sevec_helpers.book import widgets
print("ipywidgets", ipywidgets.__version__)
calls = []
box = widgets.picker(lambda concept, layer: calls.append((concept, layer)), concept=["zebra", "canary"],
                     layer=["fc1", "pool5"])
controls = [w for w in box.children[0].children]
assert [type(c).__name__ for c in controls] == ["Dropdown", "Dropdown"], controls
controls[0].value = "canary"
controls[1].value = "pool5"
assert calls[-1] == ("canary", "pool5"), calls
box = widgets.slider(lambda value: calls.append(value), [0.0, 0.25, 0.5], description="energy m")
s = box.children[0]
assert type(s).__name__ == "SelectionSlider" and s.description == "energy m"
s.value = 0.5
assert calls[-1] == 0.5, calls
s.value = 0.25
assert calls[-1] == 0.25, calls
print("ok", len(calls))
"""


def _run(extra_path: str | None) -> str:
    env = {k: v for k, v in os.environ.items() if k != "SEVEC_STATIC_BOOK"}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (extra_path, str(ROOT)) if p)
    r = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    return r.stdout


@pytest.fixture(scope="module")
def ipywidgets7(tmp_path_factory) -> str:
    target = tmp_path_factory.mktemp("ipywidgets7")
    r = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target),
                        f"ipywidgets=={COLAB_IPYWIDGETS}", "ipython_genutils"],
                       capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        pytest.fail(f"could not install ipywidgets {COLAB_IPYWIDGETS} (Colab's) from the package index: "
                    f"{r.stderr[-1500:]}")
    return str(target)


def test_the_controls_work_with_ipywidgets_8():
    out = _run(None)
    assert "ipywidgets 8." in out and "ok" in out


def test_the_controls_work_with_colabs_ipywidgets_7(ipywidgets7):
    out = _run(ipywidgets7)
    assert f"ipywidgets {COLAB_IPYWIDGETS}" in out and "ok" in out


def test_the_static_book_shows_a_note_instead_of_a_control():
    env = {**os.environ, "SEVEC_STATIC_BOOK": "1", "PYTHONPATH": str(ROOT)}
    r = subprocess.run([sys.executable, "-c", "from sevec_helpers.book import widgets\n"
                        "assert widgets.picker(print, concept=['a']) is None\n"
                        "assert widgets.slider(print, [0.0, 1.0]) is None\n"], capture_output=True, text=True,
                       env=env, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    from sevec_helpers.book.widgets import STATIC_NOTE

    assert "needs a running Python kernel" in STATIC_NOTE and "JupyterLab or Colab" in STATIC_NOTE
