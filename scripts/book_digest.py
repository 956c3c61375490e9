"""Digest of everything the built book depends on (sources, package, configuration).

``python scripts/book_digest.py`` prints it. ``scripts/build_book.sh --small`` writes it next to
the small build, and the browser tests rebuild the small book when the two differ.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PATTERNS = ["_config.yml", "_toc.yml", "params/ci.yaml", "notebooks/*.md", "book/**/*.md", "book/_ext/*.py",
            "book/_static/*.svg", "book/_static/*.css", "sevec_helpers/**/*.py", "sevec_helpers/weights/*",
            "scripts/build_book.sh"]


def digest(root: Path = ROOT) -> str:
    h = hashlib.sha256()
    files = sorted({p for pat in PATTERNS for p in root.glob(pat) if p.is_file()})
    for p in files:
        h.update(str(p.relative_to(root)).encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()


if __name__ == "__main__":
    print(digest())
