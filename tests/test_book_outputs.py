"""What the executed chapters print, as a reader of the published book sees it: no progress
remnants (tqdm bars, "chapter on network ..." lines), no warnings, no paths of the machine that
built the book; and every live cell says, in the static book, why it shows no control.

Reads the small build's executed notebooks (tests/smallbook.py builds it when needed).
"""

from __future__ import annotations

import json
import re

import pytest
import smallbook

pytestmark = pytest.mark.slow

PROGRESS = re.compile(r"\d+%\|[^|]*\||\d+(?:\.\d+)?(?:it|s)/(?:s|it)\b|^\S+ on \S+:\S+ \.\.\.|\b\w+ on vgg_mini\w* \.\.\.",
                      re.M)
WARNING = re.compile(r"\b\w*Warning\b|\bwarnings\.warn\b|^\s*warn(?:ing)?:", re.I | re.M)
PATH = re.compile(r"(?:/work/|/home/|/root/|/tmp/|site-packages|\.venv/|[A-Z]:\\\\Users)")


def _executed() -> dict[str, dict]:
    smallbook.build_if_needed()
    return {p.relative_to(smallbook.EXECUTED).as_posix(): json.loads(p.read_text())
            for p in sorted(smallbook.EXECUTED.rglob("*.ipynb"))}


@pytest.fixture(scope="module")
def executed():
    return _executed()


def _texts(nb: dict):
    """(cell index, kind, text) of every printed output: streams, plain text and Markdown."""
    for i, c in enumerate(nb["cells"]):
        if c["cell_type"] != "code":
            continue
        for o in c.get("outputs", []):
            if o.get("output_type") == "stream":
                yield i, o.get("name", "stream"), "".join(o.get("text", ""))
            elif o.get("output_type") in ("display_data", "execute_result"):
                data = o.get("data", {})
                for kind in ("text/markdown", "text/plain"):
                    if kind in data and not (kind == "text/plain" and len(data) > 1):
                        yield i, kind, "".join(data[kind])


def test_no_progress_remnants_warnings_or_paths_in_outputs(executed):
    found = {}
    for name, nb in executed.items():
        for i, kind, text in _texts(nb):
            for what, rx in (("progress", PROGRESS), ("warning", WARNING), ("path", PATH)):
                if what == "warning" and kind == "text/markdown":   # a table may say "warning" in its words
                    continue
                m = rx.search(text)
                if m:
                    found.setdefault(name, []).append(
                        f"cell {i} ({kind}) {what}: {text[max(0, m.start() - 50):m.end() + 50]!r}")
            if kind == "stderr" and text.strip():
                found.setdefault(name, []).append(f"cell {i}: stderr {text[:120]!r}")
    assert not found, "outputs a reader should not see:\n" + json.dumps(found, indent=1)[:4000]


def test_the_patterns_fire_on_what_they_are_for():
    for s in ("01_semantic_vectors on vgg_mini_seed1 ...", " 45%|####      | 9/20 [00:01<00:02,  4.5it/s]",
              "fit: 12.3it/s"):
        assert PROGRESS.search(s), s
    for s in ("chapter 1 on four networks: 3 reproduced", "probability 0.5 ... then 0.7"):
        assert not PROGRESS.search(s), s
    assert WARNING.search("/x/captum/attr/_core/guided_backprop_deconvnet.py:63: UserWarning: Input Tensor 0")
    assert PATH.search("/work/main/.venv/lib/python3.11/site-packages/captum")


def test_every_live_cell_says_why_it_shows_no_control(executed):
    from sevec_helpers.book.widgets import STATIC_NOTE

    silent = []
    for name, nb in executed.items():
        for i, c in enumerate(nb["cells"]):
            src = "".join(c.get("source", ""))
            if c["cell_type"] == "code" and re.search(r"\bch\.live\(|widgets\.(?:picker|slider)\(", src):
                tags = c.get("metadata", {}).get("tags", [])
                shown = "remove-output" not in tags and any(STATIC_NOTE[:40] in t for _, _, t in _texts({"cells": [c]}))
                if not shown:
                    silent.append(f"{name} cell {i}")
    assert not silent, f"live cells that show nothing in the static book: {silent}"
