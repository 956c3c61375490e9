"""The live controls with a kernel, in JupyterLab, in Chromium: as a student meets them.

JupyterLab 4 is installed from the package index into a folder of its own (pip --target, never
into the environment) and served on 127.0.0.1 from an empty folder holding one notebook that
calls ``sevec_helpers.book.widgets.picker`` and ``slider`` as the chapters' ``live`` cells do.
Chromium (Debian's, driven by Playwright) runs every cell, changes the dropdown and moves the
slider with the keyboard, and each time the output must show the new choice, drawn by the
kernel. Outside requests are blocked, as in the book's browser tests.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
JUPYTERLAB = "jupyterlab>=4,<5"

CELLS = [
    "from sevec_helpers.book import widgets\n"
    "def show(concept):\n"
    "    print(f'shown: {concept}')\n"
    "widgets.picker(show, concept=['zebra', 'canary', 'fern']);",
    "widgets.slider(lambda value: print(f'kept energy: {value:.2f}'), [0.0, 0.25, 0.5, 0.75], "
    "description='energy m');",
]


def _notebook(path: Path) -> None:
    nb = {"cells": [{"cell_type": "code", "execution_count": None, "id": f"c{i}", "metadata": {}, "outputs": [],
                     "source": src} for i, src in enumerate(CELLS)],
          "metadata": {"kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python",
                                      "name": "python3"}},
          "nbformat": 4, "nbformat_minor": 5}
    path.write_text(json.dumps(nb, indent=1))


@pytest.fixture(scope="module")
def jupyterlab_site(tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("jupyterlab")
    r = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--target", str(target), JUPYTERLAB],
                       capture_output=True, text=True, timeout=900)
    if r.returncode != 0:
        pytest.fail(f"JupyterLab could not be installed from the package index: {r.stderr[-1500:]}")
    return target


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


CHAPTER = ROOT / "notebooks" / "03_concept_hierarchy.md"


def _chapter_pair(folder: Path) -> Path:
    """Chapter 3 as scripts/sync_launch.py writes it, paired under jupytext.toml with the python3
    kernel (what a student's clone holds once the pairs are synced)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("sync_launch", ROOT / "scripts" / "sync_launch.py")
    sl = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sl)
    (folder / "notebooks").mkdir()
    md = folder / "notebooks" / CHAPTER.name
    md.write_text(sl.synced(CHAPTER))
    shutil.copy2(ROOT / "jupytext.toml", folder / "jupytext.toml")
    for args in (["--set-kernel", "python3", str(md)], ["--to", "ipynb", "--update", str(md)], ["--sync", str(md)]):
        r = subprocess.run([sys.executable, "-m", "jupytext", *args], cwd=folder, capture_output=True, text=True,
                           timeout=120)
        assert r.returncode == 0, r.stderr[-1500:]
    return md


@pytest.fixture(scope="module")
def lab(jupyterlab_site, tmp_path_factory):
    folder = tmp_path_factory.mktemp("lab")
    _notebook(folder / "live.ipynb")
    _chapter_pair(folder)
    port = _free_port()
    data = jupyterlab_site / "share" / "jupyter"   # where pip --target puts JupyterLab's assets
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(jupyterlab_site), str(ROOT)]),
           "JUPYTER_CONFIG_DIR": str(folder / ".config"), "JUPYTER_RUNTIME_DIR": str(folder / ".runtime"),
           "JUPYTER_PATH": str(data), "JUPYTERLAB_WORKSPACES_DIR": str(folder / ".workspaces"),
           "JUPYTERLAB_SETTINGS_DIR": str(folder / ".settings")}
    env.pop("SEVEC_STATIC_BOOK", None)
    log = open(folder.parent / "jupyterlab.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
                             "--allow-root", f"--LabApp.app_dir={data / 'lab'}",
                             "--IdentityProvider.token=", "--ServerApp.password=", "--ServerApp.disable_check_xsrf=True",
                             f"--ServerApp.root_dir={folder}", "--LabApp.news_url=", "--LabApp.check_for_updates_class="
                             "jupyterlab.NeverCheckForUpdate"], cwd=folder, env=env, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(base + "api/status", timeout=2)
                break
            except Exception:
                if proc.poll() is not None:
                    pytest.fail(f"JupyterLab exited: {(folder.parent / 'jupyterlab.log').read_text()[-2000:]}")
                time.sleep(1)
        else:
            pytest.fail("JupyterLab did not answer within 2 minutes")
        yield base, folder
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@contextlib.contextmanager
def _lab_page(browser, url: str, ready: str):
    """``url`` of the running JupyterLab in a 1280 px page (every request that would leave the
    machine aborted), once ``ready`` shows and the kernel is idle; the page is closed after."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    ctx.route("**/*", lambda r: r.continue_() if urlparse(r.request.url).hostname == "127.0.0.1"
              or r.request.url.startswith("data:") else r.abort())
    try:
        page = ctx.new_page()
        page.goto(url, wait_until="domcontentloaded")
        page.wait_for_selector(ready, timeout=120000)
        page.wait_for_function("() => document.body.textContent.includes('Kernel status: Idle')", timeout=120000)
        yield page
    finally:
        ctx.close()


def _run_all(page) -> None:
    """Run > Run All Cells, until the first cell's prompt says it ran or is running. (A menu
    click that lands while JupyterLab is still laying the page out can be lost: it is made
    again, at most three times, and then the test fails saying so.)"""
    prompt = page.locator(".jp-Notebook:visible .jp-Cell").first.locator(".jp-InputPrompt")
    for _ in range(3):
        page.locator(".jp-Notebook:visible .jp-Cell").first.click()
        page.keyboard.press("Escape")
        page.get_by_role("menuitem", name="Run", exact=True).click()
        page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
        try:
            page.wait_for_function("p => /\\[(\\*|\\d+)\\]/.test(p.textContent)", arg=prompt.element_handle(),
                                   timeout=20000)
            return
        except Exception:
            continue
    pytest.fail(f"Run All Cells did not start the first cell (its prompt: {prompt.inner_text()!r})")


def test_the_live_controls_answer_in_jupyterlab(lab, browser):
    base, folder = lab
    with _lab_page(browser, base + "lab/tree/live.ipynb?reset", ".jp-Notebook .jp-Cell") as page:
        select = page.locator(".jp-OutputArea select").first
        for attempt in range(2):
            # a widget whose first message reaches the page before JupyterLab's widget manager is
            # ready can stay unrendered; a reader would run the cells again, and so does the test
            # (once): a picker that never renders still fails
            _run_all(page)
            try:
                select.wait_for(timeout=60000)
                break
            except Exception:
                cells = page.locator(".jp-Notebook:visible .jp-Cell").all_inner_texts()
        else:
            page.screenshot(path=str(folder.parent / "jupyterlab_live_failed.png"), full_page=True)
            log = (folder.parent / "jupyterlab.log").read_text()[-1500:]
            pytest.fail(f"no dropdown a minute after each of two Run All Cells; the cells show {cells!r}; "
                        f"JupyterLab's log ends: {log}")
        outputs = page.locator(".jp-OutputArea-output")
        page.wait_for_function("() => document.body.innerText.includes('shown: zebra')", timeout=60000)
        select.select_option("canary")
        page.wait_for_function("() => document.body.innerText.includes('shown: canary')", timeout=30000)
        assert "shown: zebra" not in page.locator(".jp-Cell").first.inner_text(), "the old output stayed"

        handle = page.locator(".jp-OutputArea .noUi-handle, .jp-OutputArea .widget-slider [role=slider]").first
        handle.wait_for(timeout=60000)
        page.wait_for_function("() => document.body.innerText.includes('kept energy: 0.00')", timeout=30000)
        handle.focus()
        page.keyboard.press("ArrowRight")
        page.wait_for_function("() => document.body.innerText.includes('kept energy: 0.25')", timeout=30000)
        page.screenshot(path=str(folder.parent / "jupyterlab_live.png"), full_page=True)
        assert outputs.count() >= 2


def test_a_chapter_reads_right_in_jupyterlab_and_an_untouched_save_changes_nothing(lab, browser):
    """Chapter 3 opened from its .ipynb in JupyterLab (Jupytext pairs it with the .md): no MyST
    syntax shows, each solution is folded under "Solution" until clicked, the admonition has its
    title; saving it untouched leaves the .md byte for byte and the .ipynb but for the kernel's
    language_info."""
    base, folder = lab
    md = folder / "notebooks" / CHAPTER.name
    ipynb = md.with_suffix(".ipynb")
    before_md = md.read_bytes()
    before_nb = json.loads(ipynb.read_text())
    with _lab_page(browser, base + f"lab/tree/notebooks/{ipynb.name}?reset", ".jp-Notebook .jp-MarkdownOutput") as page:
        # JupyterLab renders Markdown cells lazily (as they scroll into view): render them all
        page.evaluate("async () => { const nb = document.querySelector('.jp-WindowedPanel-outer, .jp-Notebook');"
                      "for (let y = 0; y < nb.scrollHeight; y += 400) { nb.scrollTop = y; "
                      "await new Promise(r => setTimeout(r, 30)); } }")
        page.wait_for_timeout(500)
        text = page.evaluate("() => [...document.querySelectorAll('.jp-MarkdownOutput')].map(e => e.innerText)"
                             ".join('\\n')")
        assert ":::{" not in text and "{doc}`" not in text and ":label:" not in text, "MyST shown raw"
        solutions = page.locator(".jp-MarkdownOutput details")
        assert solutions.count() >= 2, f"{solutions.count()} folded solutions"
        assert not any(solutions.nth(i).evaluate("d => d.open") for i in range(solutions.count()))
        # a closed <details> keeps its content out of view (Chromium: content-visibility), so
        # checkVisibility() is false for it, and true once the reader opens it
        shown = "d => [...d.children].filter(c => c.tagName !== 'SUMMARY').some(c => c.checkVisibility())"
        assert not solutions.first.evaluate(shown), "a folded solution's text is visible"
        solutions.first.locator("summary").click()
        assert solutions.first.evaluate("d => d.open"), "a solution does not open on click"
        assert solutions.first.evaluate(shown), "an opened solution shows nothing"
        solutions.first.locator("summary").click()
        assert "In this chapter" in text
        page.locator(".jp-Notebook:visible .jp-Cell").first.click()
        page.keyboard.press("Escape")
        page.keyboard.press("Control+s")
        page.wait_for_timeout(3000)
    after_nb = json.loads(ipynb.read_text())
    assert "language_info" in after_nb["metadata"], "JupyterLab did not save the notebook (no language_info)"
    after_nb["metadata"].pop("language_info", None)
    before_nb["metadata"].pop("language_info", None)
    assert md.read_bytes() == before_md, "saving the untouched notebook rewrote its .md"
    assert after_nb == before_nb, "saving the untouched notebook changed its .ipynb beyond language_info"
