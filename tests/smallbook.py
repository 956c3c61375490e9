"""The small build of the book, shared by every test that reads it: made once per test run
(``scripts/build_book.sh --small``: every chapter executed at the tiny sizes of
``params/ci.yaml``, each chapter judged on every network of both testbeds), and only when it
is missing or older than the sources.

What a test may read from it: ``HTML`` (the site), ``EXECUTED`` (each page's executed
notebook, as MyST-NB wrote it) and ``RESULTS`` (the chapters' saved records,
``<profile>/<network>/<chapter>.json``).

``SEVEC_BROWSER_BOOK=_build`` points the browser tests at another build instead (e.g. the full
book of ``scripts/build_book.sh``, whose HTML is in ``_build/html``); it is used as it is.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OTHER = os.environ.get("SEVEC_BROWSER_BOOK")
SMALL = Path(OTHER).resolve() if OTHER else ROOT / "_build" / "small"
HTML = SMALL / "html" if OTHER else SMALL / "_build" / "html"
EXECUTED = SMALL / "jupyter_execute" if OTHER else SMALL / "_build" / "jupyter_execute"
RESULTS = SMALL / "results"
sys.path.insert(0, str(ROOT / "scripts"))
from book_digest import digest  # noqa: E402


def build_if_needed() -> None:
    """Build the small book unless a build of the current sources exists (or fail saying why)."""
    if OTHER:
        if not (HTML / "index.html").exists():
            pytest.fail(f"SEVEC_BROWSER_BOOK={OTHER}: no built book in {HTML}; run bash scripts/build_book.sh")
        return
    want = digest()
    if _FAILED.get(want):   # tried once in this run: every later test fails at once with the same reason
        pytest.fail(_FAILED[want])
    stamp = SMALL / "sources.sha256"
    if (HTML / "index.html").exists() and stamp.exists() and stamp.read_text().strip() == want:
        return
    r = subprocess.run(["bash", str(ROOT / "scripts" / "build_book.sh"), "--small"], cwd=ROOT,
                       capture_output=True, text=True, timeout=2400)
    if r.returncode != 0:
        _FAILED[want] = (f"the small book did not build (bash scripts/build_book.sh --small):\n"
                         f"{r.stdout[-4000:]}\n{r.stderr[-4000:]}")
        pytest.fail(_FAILED[want])


_FAILED: dict[str, str] = {}
"""Sources digest -> why their small build failed: a failed build is not retried by every test
module that reads it (a CI run once spent 31 minutes building a broken book again and again)."""


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@contextlib.contextmanager
def serve():
    """The small build (built if needed) served on 127.0.0.1; yields the site's address."""
    build_if_needed()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(HTML)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()


@contextlib.contextmanager
def chromium():
    """Debian's Chromium, headless, through playwright (never a downloaded browser)."""
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        pytest.fail("Chromium is not installed: the browser tests need Debian's package "
                    "(`apt-get install chromium`, which scripts/run_tests.sh does when it can)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, headless=True, args=["--no-sandbox", "--disable-gpu"])
        try:
            yield b
        finally:
            b.close()
