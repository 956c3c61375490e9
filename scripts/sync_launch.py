"""Derive every chapter's launch material from the repository address in _config.yml.

For each chapter (notebooks/NN_*.md) and each book page with code (book/testbed.md,
book/world.md): the "Open in Colab" badge (a local SVG, so it renders offline)
pointing at the chapter's .ipynb on the configured repository and branch, and the Colab
install cell with the extras that chapter needs. Then the paired .ipynb is re-synced.

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
    (``notebooks/08b_*.md``), and the book pages with code."""
    nb = ROOT / "notebooks"
    return (sorted(nb.glob("[0-9][0-9]_*.md")) + sorted(nb.glob("[0-9][0-9][a-z]_*.md"))
            + [ROOT / "book" / "testbed.md", ROOT / "book" / "world.md"])


def launch_lines(md: Path) -> tuple[str, str]:
    url, slug, branch = repository()
    rel = md.relative_to(ROOT).with_suffix(".ipynb").as_posix()
    badge = (f"[![Open in Colab](../book/_static/colab-badge.svg)](https://colab.research.google.com/github/{slug}/blob/"
             f"{branch}/{rel})")
    install = f'    %pip install -q "sevec-helpers[{EXTRAS.get(md.stem, "notebook")}] @ git+{url}@{branch}"'
    return badge, install


def synced(md: Path) -> str:
    text = md.read_text()
    badge, install = launch_lines(md)
    if not BADGE.search(text) or not INSTALL.search(text):
        raise SystemExit(f"{md}: no Colab badge line or install cell to update")
    return INSTALL.sub(install.replace("\\", "\\\\"), BADGE.sub(badge.replace("\\", "\\\\"), text))


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
            print("launch links differ from _config.yml in: " + ", ".join(differ) + "; run python scripts/sync_launch.py")
            return 1
        return 0
    if differ:
        subprocess.run([sys.executable, "-m", "jupytext", "--sync", *[str(ROOT / d) for d in differ]],
                       check=True, capture_output=True)
    print(f"updated {len(differ)} chapter(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
