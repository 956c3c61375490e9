"""The notebooks read right where students open them: JupyterLab, Notebook 7 and Colab render
Markdown (CommonMark with HTML), not MyST, so a MyST directive or role there shows as raw text
and a solution directive prints its solution in full. ``scripts/sync_launch.py`` writes the
notebooks' markup as Markdown and HTML that both the book and Jupyter render
(:func:`jupyter_markup`), and the Colab badge as Colab's own image, which shows beside a
notebook opened alone (the offline book swaps in its local copy: ``book/_ext/page_fixes.py``).

A Jupyter front end is stood in for by markdown-it in CommonMark mode (what JupyterLab's
renderer follows) and the HTML it gives is read as a browser would: a solution must be inside
a closed ``<details>``, and no MyST syntax may be left in the text.
"""

from __future__ import annotations

import importlib.util
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _sync_launch():
    spec = importlib.util.spec_from_file_location("sync_launch", ROOT / "scripts" / "sync_launch.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


SL = _sync_launch()
PAGES = SL.launchable()
MYST_LEFT = re.compile(r":::\s*\{|\{(?:doc|ref|func|numref|eq|class|meth)\}`|^:(?:label|class):", re.M)


def _markdown_cells(text: str) -> list[str]:
    """The Markdown between code cells (what Jupyter renders as Markdown cells)."""
    body = text.split("\n---\n", 1)[1] if text.startswith("---\n") else text
    return [c for c in re.split(r"^```\{code-cell\}.*?^```$", body, flags=re.M | re.S) if c.strip()]


def _jupyter_html(markdown: str) -> str:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": True}).enable("table").render(markdown)


class _Reader(HTMLParser):
    """Text a reader sees without opening anything (outside closed <details>, <summary> aside),
    and the text inside each <details>."""

    def __init__(self):
        super().__init__()
        self.depth, self.visible, self.hidden, self.details = 0, [], [], 0
        self._summary = False

    def handle_starttag(self, tag, attrs):
        if tag == "details":
            self.depth += 1
            self.details += 1
            assert "open" not in dict(attrs), "a solution opened by default"
        elif tag == "summary":
            self._summary = True

    def handle_endtag(self, tag):
        if tag == "details":
            self.depth -= 1
        elif tag == "summary":
            self._summary = False

    def handle_data(self, data):
        (self.visible if self.depth == 0 or self._summary else self.hidden).append(data)


def _read(html: str) -> _Reader:
    r = _Reader()
    r.feed(html)
    r.close()
    return r


def test_an_exercise_a_solution_and_an_admonition_become_markdown_and_html():
    md = ROOT / "notebooks" / "03_concept_hierarchy.md"
    src = ("Text with {doc}`/book/notation` and {doc}`the API </book/api>` and {func}`sevec_helpers.fit_sevecs`.\n\n"
           ":::{admonition} In this chapter\n:class: tip\n**You will learn** a thing.\n:::\n\n"
           ":::{exercise}\n:label: ex-a\nDo it.\n:::\n\n"
           ":::{solution} ex-a\n:class: dropdown\n```python\nprint(1)  # {doc}`/book/api` stays code\n```\n"
           "Because $x$.\n:::\n")
    out = SL.jupyter_markup(src, md)
    assert "[Notation](../book/notation.md)" in out and "[the API](../book/api.md)" in out
    assert "`sevec_helpers.fit_sevecs`" in out
    assert '<div class="admonition tip">\n<p class="admonition-title">In this chapter</p>\n\n**You will learn**' in out
    assert "**Exercise 1.** Do it." in out
    assert '<details class="sevec-solution">\n<summary>Solution to exercise 1</summary>\n\n```python' in out
    assert "# {doc}`/book/api` stays code" in out, "fenced code is left as it is"
    assert not MYST_LEFT.search(out.replace("# {doc}`/book/api` stays code", ""))
    assert SL.jupyter_markup(out, md) == out, "not idempotent"


def test_a_reference_to_a_page_that_does_not_exist_is_refused():
    with pytest.raises(SystemExit, match="names no page"):
        SL.jupyter_markup("see {doc}`/book/nowhere`", ROOT / "notebooks" / "03_concept_hierarchy.md")


def test_the_colab_badge_is_colabs_image_and_the_book_shows_its_local_copy():
    import sys

    sys.path.insert(0, str(ROOT / "book" / "_ext"))
    import page_fixes

    badge, _ = SL.launch_lines(ROOT / "notebooks" / "03_concept_hierarchy.md")
    assert badge.startswith(f"[![Open in Colab]({SL.COLAB_BADGE_URL})](https://colab.research.google.com/github/")
    assert SL.COLAB_BADGE_URL == page_fixes.COLAB_BADGE_URL
    assert (ROOT / page_fixes.LOCAL_BADGE.lstrip("/")).exists()


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.stem)
def test_jupyter_renders_every_page_as_the_book_does(page):
    """Each launchable page, as sync_launch writes it, rendered as Jupyter renders Markdown: no
    MyST syntax left in any Markdown cell, every solution folded in a closed <details> and none
    of its text visible before it is opened, every exercise numbered."""
    text = SL.synced(page)
    n_solutions = 0
    for cell in _markdown_cells(text):
        left = MYST_LEFT.search(re.sub(r"^(```+).*?^\1$", "", cell, flags=re.M | re.S))
        assert not left, f"{page.name}: MyST left for Jupyter: {cell[max(0, left.start() - 60):left.end() + 60]!r}"
        reader = _read(_jupyter_html(cell))
        n_solutions += reader.details
        visible = "".join(reader.visible)
        for hidden in reader.hidden:
            if hidden.strip() and len(hidden.strip()) > 30:
                assert hidden.strip() not in visible, f"{page.name}: solution text shown unfolded"
    assert n_solutions == text.count('<details class="sevec-solution">')
    assert len(re.findall(r"^\*\*Exercise \d+\.\*\*", text, re.M)) == n_solutions


def test_the_committed_notebooks_are_as_sync_launch_writes_them():
    differ = [p.name for p in PAGES if SL.synced(p) != p.read_text()]
    assert not differ, f"run python scripts/sync_launch.py: {differ}"
