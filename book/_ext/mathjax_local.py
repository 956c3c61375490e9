"""Serve MathJax from the book itself, so math renders offline.

The MathJax 3 files come from the PyPI package ``sphinx-mathjax-offline``; instead of all
of them (24 MB), only the components the book loads are copied into ``_static/mathjax``:
the loader, the core, the TeX input, the CHTML output and its fonts (about 0.75 MB).
"""

from __future__ import annotations

import importlib.util
import os
import shutil

FILES = ("startup.js", "core.js", "input/tex.js", "output/chtml.js", "output/chtml/fonts/tex.js")
FONTS = "output/chtml/fonts/woff-v2"


def _source() -> str:
    spec = importlib.util.find_spec("sphinx-mathjax-offline")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the offline MathJax needs the package sphinx-mathjax-offline: pip install 'sevec-helpers[book]'")
    return os.path.join(list(spec.submodule_search_locations)[0], "static", "mathjax")


def _configure(app, config) -> None:
    config.mathjax_path = "mathjax/startup.js"
    cfg = dict(config.mathjax3_config or {})
    loader = dict(cfg.get("loader", {}))
    loader["load"] = ["input/tex", "output/chtml"]
    cfg["loader"] = loader
    cfg.setdefault("options", {})
    # no chtml fontURL: the output component then finds its fonts next to startup.js in _static,
    # whatever the page's folder (a relative URL would be resolved against the page)
    cfg.get("chtml", {}).pop("fontURL", None)
    config.mathjax3_config = cfg


def _copy(app, exc) -> None:
    if exc is not None or app.builder.format != "html":
        return
    src, dest = _source(), os.path.join(app.outdir, "_static", "mathjax")
    for f in FILES:
        os.makedirs(os.path.dirname(os.path.join(dest, f)), exist_ok=True)
        shutil.copyfile(os.path.join(src, f), os.path.join(dest, f))
    shutil.copytree(os.path.join(src, FONTS), os.path.join(dest, FONTS), dirs_exist_ok=True)


def setup(app):
    app.connect("config-inited", _configure, priority=900)
    app.connect("build-finished", _copy)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
