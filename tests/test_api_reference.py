"""The public API is small, documented, and reachable from the chapters (issue 18).

- every name of ``sevec_helpers.__all__`` has a numpydoc docstring: functions a
  ``Parameters`` and a ``Returns`` section, classes a docstring that says what they hold;
- the built book's API page (book/api.md, Sphinx autodoc) has a non-empty entry for each;
- every chapter's first use of ``sh.<name>`` links to that entry, and every such link
  lands on an entry that exists.

The built-page checks use the small build of tests/test_browser.py (built once, shared).
"""

from __future__ import annotations

import inspect
import re
from html.parser import HTMLParser

import pytest

import sevec_helpers as sh

PUBLIC = [n for n in sh.__all__ if n != "__version__"]


def test_the_public_api_is_small():
    assert 15 <= len(PUBLIC) <= 24, f"{len(PUBLIC)} public names: keep what a newcomer needs, the rest in modules"


@pytest.mark.parametrize("name", PUBLIC)
def test_public_names_have_numpydoc_sections(name):
    obj = getattr(sh, name)
    doc = inspect.getdoc(obj) or ""
    assert len(doc) > 40, f"sh.{name} has no real docstring"
    if inspect.isfunction(obj):
        for section in ("Parameters", "Returns"):
            assert re.search(rf"^{section}\n-+$", doc, flags=re.M), f"sh.{name}: no numpydoc '{section}' section"
        params = [p for p in inspect.signature(obj).parameters if p not in ("self", "args", "kwargs")]
        documented = set(re.findall(r"^(\w+(?:, \w+)*)(?: :|$)", doc.split("Parameters\n", 1)[1], flags=re.M))
        names = {n.strip() for group in documented for n in group.split(",")}
        missing = [p for p in params if p not in names]
        assert not missing, f"sh.{name}: parameters {missing} are not in its Parameters section"
        assert not any(p.kind == p.VAR_KEYWORD for p in inspect.signature(obj).parameters.values()), \
            f"sh.{name} takes **kwargs: give it an explicit keyword signature"


class _Entries(HTMLParser):
    """``<dt id=...>`` entries of an autodoc page and the text of the ``<dd>`` after each."""

    def __init__(self):
        super().__init__()
        self.entries: dict[str, str] = {}
        self._dd_depth = 0
        self._current = None
        self._last_dt = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "dt" and a.get("id"):
            self._last_dt = a["id"]
        elif tag == "dd":
            if self._dd_depth == 0 and self._last_dt:
                self._current = self._last_dt
                self.entries[self._current] = ""
                self._last_dt = None
            self._dd_depth += 1

    def handle_endtag(self, tag):
        if tag == "dd":
            self._dd_depth -= 1
            if self._dd_depth == 0:
                self._current = None

    def handle_data(self, data):
        if self._current is not None:
            self.entries[self._current] += data


@pytest.fixture(scope="module")
def html_root():
    import smallbook

    smallbook.build_if_needed()
    return smallbook.HTML


@pytest.mark.slow
def test_api_page_has_a_non_empty_entry_for_every_public_name(html_root):
    page = html_root / "book" / "api.html"
    assert page.exists(), "book/api.md was not built"
    p = _Entries()
    p.feed(page.read_text())
    for name in PUBLIC:
        key = f"sevec_helpers.{name}"
        assert key in p.entries, f"the API page has no entry for sh.{name}"
        assert len(p.entries[key].split()) >= 5, f"the API page's entry for sh.{name} is empty"


@pytest.mark.slow
def test_chapters_link_their_first_use_to_the_api_page(html_root):
    api = _Entries()
    api.feed((html_root / "book" / "api.html").read_text())
    pages = sorted((html_root / "notebooks").glob("0[1-8]_*.html"))
    assert pages
    for page in pages:
        text = page.read_text()
        links = re.findall(r'class="api-link[^"]*" href="([^"#]*)#([^"]+)"', text)
        assert links, f"{page.name}: no call of sh.<name> links to the API reference"
        names = [anchor for _, anchor in links]
        assert len(names) == len(set(names)), f"{page.name}: a name is linked more than once"
        for href, anchor in links:
            assert href.endswith("book/api.html"), f"{page.name}: link to {href}"
            assert anchor in api.entries, f"{page.name}: link to #{anchor}, which the API page lacks"
