"""Small fixes to every HTML page of the book, so that a reader's browser fetches only what
the page uses and logs no error.

- Inline scripts added by extensions after the builder started (sphinx-thebe's and
  sphinx-togglebutton's configuration lines) reach Sphinx 7 twice: once through the
  application's registry and once straight to the builder. The second copy of
  ``const THEBE_JS_URL = ...`` is a JavaScript error on every page ("Identifier
  'THEBE_JS_URL' has already been declared"). The first copy of each script is kept.
- sphinx-thebe's script and style load on every page although the book does not use thebe
  (``launch_buttons.thebe`` is off); sphinx-design's load on pages without a design
  element. Both are left out where unused.
- The theme loads ``fontawesome.js`` (1.5 MB) on every page only "so that users can add
  custom icons"; the book has none, and the theme's icons come from its stylesheet's web
  fonts. The script tag and the file are removed after the build, with the source maps
  (``*.map``, for developers' tools), the TrueType copies of the icon fonts (every browser
  the theme supports takes the WOFF2 ones) and Sphinx's translations for other languages.
- Every page names the book's icon (``book/_static/favicon.svg``); without one a browser asks
  for a ``favicon.ico`` the site does not have (a 404 on every visit).
- Tables are numbered "Book table N." as figures are "Book figure N.": a plain "Table 1"
  collides with the paper's Table 1, which the chapters re-make.
- The "Open in Colab" badge of each chapter names Colab's own badge image
  (``COLAB_BADGE_URL``), which Jupyter and Colab show beside a notebook opened alone; the
  offline book shows its local copy (``book/_static/colab-badge.svg``) instead, so no page
  fetches anything from another host.
- The book's verdict words and the changelog of its verdict rules are rendered from
  ``sevec_helpers.book.claims.base`` (``DEFINITIONS``, ``CHANGELOG``) by the directives of
  ``rules_pages``, loaded here.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from docutils import nodes
from sphinx.transforms import SphinxTransform

COLAB_BADGE_URL = "https://colab.research.google.com/assets/colab-badge.svg"
LOCAL_BADGE = "/book/_static/colab-badge.svg"   # from the book's root (Sphinx's source folder)
FAVICON = "book/_static/favicon.svg"
TABLE_NUMBER = "Book table %s."

FONTAWESOME_TAG = re.compile(r'\n?\s*<script defer src="[^"]*_static/scripts/fontawesome\.js[^"]*"></script>')


def _key(js) -> tuple:
    """What a script is (its file or body and attributes), whatever its priority."""
    if isinstance(js, str):
        return (js, ())
    name = object.__getattribute__(js, "filename")   # plain getattr warns on Sphinx's str interface
    attrs = object.__getattribute__(js, "attributes") or {}
    return (str(name or ""), tuple(sorted((k, str(v)) for k, v in attrs.items())))  # None and "" alike


def _thebe_on(app) -> bool:
    return bool((app.config.html_theme_options or {}).get("launch_buttons", {}).get("thebe"))


def _page_assets(app, pagename, templatename, context, doctree) -> None:
    body = context.get("body") or ""
    drop = []
    if not _thebe_on(app):
        drop += ["sphinx-thebe", "THEBE_JS_URL"]
    if "sd-" not in body:
        drop += ["sphinx-design", "design-tabs"]

    def unused(name: str) -> bool:
        return any(d in name for d in drop)

    scripts = context.get("script_files")
    if scripts:
        seen, kept = set(), []
        for js in scripts:
            k = _key(js)
            if k in seen or unused(k[0] + str(k[1])):
                continue
            seen.add(k)
            kept.append(js)
        scripts[:] = kept
    css = context.get("css_files")
    if css:
        css[:] = [c for c in css if not unused(_key(c)[0])]


def _trim_site(app, exc) -> None:
    if exc is not None or app.builder.format != "html":
        return
    out = Path(app.outdir)
    for page in out.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        new = FONTAWESOME_TAG.sub("", text)
        if new != text:
            page.write_text(new, encoding="utf-8")
    static = out / "_static"
    if not any("fontawesome.js" in p.read_text(encoding="utf-8") for p in out.rglob("*.html")):
        for f in (static / "scripts").glob("fontawesome.js*"):
            f.unlink()
    for f in list(static.rglob("*.map")) + list((static / "vendor").rglob("*.ttf")):
        f.unlink()
    if (app.config.language or "en") == "en" and (static / "locales").is_dir():
        shutil.rmtree(static / "locales")


class LocalBadge(SphinxTransform):
    """Colab's badge image, where a page names it, becomes the book's local copy."""

    default_priority = 100   # before the image collector reads the node's uri

    def apply(self, **kwargs) -> None:
        for img in self.document.findall(nodes.image):
            if img.get("uri") == COLAB_BADGE_URL:
                img["uri"] = LOCAL_BADGE
                if "candidates" in img:
                    del img["candidates"]


def _config(app, config) -> None:
    if not config.html_favicon and (Path(app.confdir) / FAVICON).exists():
        config.html_favicon = FAVICON
    formats = dict(config.numfig_format or {})
    if formats.get("table") in (None, "Table %s", "Table %s."):
        formats["table"] = TABLE_NUMBER
        config.numfig_format = formats


def setup(app):
    app.setup_extension("rules_pages")
    app.add_transform(LocalBadge)
    app.connect("config-inited", _config)
    app.connect("html-page-context", _page_assets, priority=900)
    app.connect("build-finished", _trim_site)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
