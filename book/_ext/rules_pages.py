"""The verdict words and the changelog of the verdict rules, rendered from the one place they
are written (``sevec_helpers.book.claims.base``: ``DEFINITIONS``, ``CHANGELOG``), so that no
page retypes them:

- ``{sevec-verdict-words}``: a definition list, one entry per verdict word, in the order of
  ``DEFINITIONS``;
- ``{sevec-rules-changelog}``: a list, one entry per version of the rules, oldest first.
"""

from __future__ import annotations

from docutils import nodes
from sphinx.util.docutils import SphinxDirective


def _definitions() -> dict[str, str]:
    from sevec_helpers.book.claims.base import DEFINITIONS

    return dict(DEFINITIONS)


def _changelog() -> list[tuple[str, str]]:
    from sevec_helpers.book.claims.base import CHANGELOG

    return list(CHANGELOG)


def _sentence(text: str, capital: bool = True) -> str:
    text = text.strip()
    return (text[:1].upper() if capital else text[:1]) + text[1:] + ("" if text.endswith(".") else ".")


class VerdictWords(SphinxDirective):
    has_content = False

    def run(self):
        out = nodes.definition_list(classes=["sevec-verdict-words"])
        for word, meaning in _definitions().items():
            item = nodes.definition_list_item()
            item += nodes.term("", "", nodes.strong(text=word))
            body = nodes.definition()
            body += nodes.paragraph(text=_sentence(meaning))
            item += body
            out += item
        return [out]


class RulesChangelog(SphinxDirective):
    has_content = False

    def run(self):
        out = nodes.bullet_list(classes=["sevec-rules-changelog"])
        for version, what in _changelog():
            item = nodes.list_item()
            para = nodes.paragraph()
            para += nodes.strong(text=f"Rules {version}")
            para += nodes.Text(": " + _sentence(what, capital=False))   # it may open with a commit id
            item += para
            out += item
        return [out]


def setup(app):
    app.add_directive("sevec-verdict-words", VerdictWords)
    app.add_directive("sevec-rules-changelog", RulesChangelog)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
