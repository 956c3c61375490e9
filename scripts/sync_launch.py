"""Derive every chapter's launch material from the repository address in _config.yml, and
write its markup in a form that Jupyter front ends render as the book does.

For each chapter (notebooks/NN_*.md) and each book page with code (book/testbed.md,
book/world.md, book/atlas_world.md, book/atlas_photos.md): the "Open in Colab" badge pointing at the chapter's .ipynb on the configured
repository and branch, and the Colab install cell with the extras that chapter needs. The
badge's image is Colab's own (``COLAB_BADGE_URL``), which shows beside a notebook opened alone
in Colab or JupyterLab; the offline book shows its local copy instead (book/_ext/page_fixes.py
rewrites that one address), so the book fetches nothing from another host.

MyST markup that JupyterLab, Notebook 7 and Colab show as raw text (and whose solutions they
print in full) is written as Markdown and HTML that both the book and Jupyter render
(:func:`jupyter_markup`): an exercise becomes a paragraph led by "**Exercise N.**"; its
solution an HTML ``<details class="sevec-solution">`` folded under "Solution" (Jupyter folds it
too); an admonition a ``<div class="admonition ...">`` with its title (the book's theme styles
it as before); a ``{doc}`` reference a Markdown link to the page's source file, titled as the
page is; a ``{func}`` reference its name as code. Then the paired .ipynb is re-synced.

    python scripts/sync_launch.py          # rewrite
    python scripts/sync_launch.py --check  # exit 1 and list the chapters that differ
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
EXTRAS = {}   # every page installs the light "notebook" extra (no book-building stack; Colab's ipywidgets 7 stays)
BADGE = re.compile(r"^\[!\[Open in Colab\]\([^)]*\)\]\([^)]*\)$", re.M)
COLAB_BADGE_URL = "https://colab.research.google.com/assets/colab-badge.svg"   # page_fixes.COLAB_BADGE_URL
_FENCE = re.compile(r"^(```+|~~~+)")
_DIRECTIVE = re.compile(r"^(:::+)\{(exercise|solution|admonition)\}[ \t]*(.*)$")
_DOC = re.compile(r"\{doc\}`(?:([^`<]*?)\s*<([^`>]+)>|([^`]+))`")
_FUNC = re.compile(r"\{(?:func|class|meth|mod|attr)\}`~?([^`]+)`")
INSTALL = re.compile(r'^    %pip install -q "sevec-helpers\[[^\]]*\] @ git\+[^"]*"$', re.M)


def repository() -> tuple[str, str, str]:
    cfg = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]
    url = cfg["url"].rstrip("/")
    m = re.match(r"https://github\.com/([^/]+)/([^/]+)$", url)
    if not m:
        raise SystemExit(f"_config.yml repository.url must be https://github.com/OWNER/REPO, got {url!r}")
    return url, f"{m.group(1)}/{m.group(2)}", cfg.get("branch", "main")


def launchable() -> list[Path]:
    """The pages a reader can open in Colab or Binder: every chapter, the pages between chapters
    (``notebooks/08b_*.md``), and the book pages with code (the testbeds, the two atlases)."""
    nb = ROOT / "notebooks"
    return (sorted(nb.glob("[0-9][0-9]_*.md")) + sorted(nb.glob("[0-9][0-9][a-z]_*.md"))
            + [ROOT / "book" / n for n in ("testbed.md", "world.md", "atlas_world.md", "atlas_photos.md")])


def launch_lines(md: Path) -> tuple[str, str]:
    url, slug, branch = repository()
    rel = md.relative_to(ROOT).with_suffix(".ipynb").as_posix()
    badge = f"[![Open in Colab]({COLAB_BADGE_URL})](https://colab.research.google.com/github/{slug}/blob/{branch}/{rel})"
    install = f'    %pip install -q "sevec-helpers[{EXTRAS.get(md.stem, "notebook")}] @ git+{url}@{branch}"'
    return badge, install


def _title(target: Path) -> str:
    for line in target.read_text().splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    return target.stem


def _doc_link(m: re.Match, md: Path) -> str:
    text, target = (m.group(1), m.group(2)) if m.group(2) else (None, m.group(3))
    target = target.strip()
    path = (ROOT / target.lstrip("/")) if target.startswith("/") else (md.parent / target)
    path = path.with_suffix(".md")
    if not path.exists():
        raise SystemExit(f"{md}: {{doc}}`{target}` names no page ({path} is missing)")
    rel = Path(__import__("os").path.relpath(path, md.parent)).as_posix()
    return f"[{(text or '').strip() or _title(path)}]({rel})"


def _directive(kind: str, arg: str, opts: dict, body: list[str], n: int) -> list[str]:
    text = "\n".join(body).strip("\n")
    if kind == "exercise":
        return [f"**Exercise {n}.** {text}"]
    if kind == "solution":
        return ['<details class="sevec-solution">', f"<summary>Solution to exercise {n}</summary>", "", text, "",
                "</details>"]
    classes = " ".join(["admonition"] + opts.get("class", "").split())
    title = arg.strip() or "Note"
    return [f'<div class="{classes}">', f'<p class="admonition-title">{title}</p>', "", text, "", "</div>"]


def jupyter_markup(text: str, md: Path) -> str:
    """``text`` (a MyST notebook) with its exercises, solutions, admonitions and cross-references
    in a form both the book and Jupyter front ends render (see the module's docstring); code
    cells and fenced code are left as they are. Idempotent."""
    out, lines, i, n_ex = [], text.split("\n"), 0, 0
    fence = None
    while i < len(lines):
        line = lines[i]
        f = _FENCE.match(line)
        if fence is not None:
            out.append(line)
            if f and line.strip() == fence:
                fence = None
            i += 1
            continue
        if f:
            fence = f.group(1)
            out.append(line)
            i += 1
            continue
        d = _DIRECTIVE.match(line)
        if not d:
            out.append(_FUNC.sub(r"`\1`", _DOC.sub(lambda m: _doc_link(m, md), line)))
            i += 1
            continue
        colons, kind, arg = d.groups()
        i += 1
        opts = {}
        while i < len(lines) and re.match(r"^:[\w-]+:", lines[i]):
            key, _, val = lines[i][1:].partition(":")
            opts[key] = val.strip()
            i += 1
        body, inner = [], None
        while i < len(lines) and not (inner is None and lines[i].strip() == colons):
            g = _FENCE.match(lines[i])
            if inner is not None and g and lines[i].strip() == inner:
                inner = None
            elif inner is None and g:
                inner = g.group(1)
            body.append(lines[i])
            i += 1
        i += 1   # the closing fence
        if kind == "exercise":
            n_ex += 1
        converted = jupyter_markup("\n".join(body), md).split("\n")
        out += _directive(kind, arg, opts, converted, n_ex)
    return "\n".join(out)


def synced(md: Path) -> str:
    text = md.read_text()
    badge, install = launch_lines(md)
    if not BADGE.search(text) or not INSTALL.search(text):
        raise SystemExit(f"{md}: no Colab badge line or install cell to update")
    text = INSTALL.sub(install.replace("\\", "\\\\"), BADGE.sub(badge.replace("\\", "\\\\"), text))
    return jupyter_markup(text, md)


def main(argv) -> int:
    check = "--check" in argv
    differ = []
    for md in launchable():
        new = synced(md)
        if new != md.read_text():
            differ.append(md.relative_to(ROOT).as_posix())
            if not check:
                md.write_text(new)
    if check:
        if differ:
            print("launch links or Jupyter markup differ from what scripts/sync_launch.py writes in: "
                  + ", ".join(differ) + "; run python scripts/sync_launch.py")
            return 1
        return 0
    if differ:
        subprocess.run([sys.executable, "-m", "jupytext", "--sync", *[str(ROOT / d) for d in differ]],
                       check=True, capture_output=True)
    print(f"updated {len(differ)} chapter(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
