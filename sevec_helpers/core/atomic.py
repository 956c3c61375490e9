"""Atomic file writes, and the cleaning of temporaries that a killed process left behind.

A write goes to a hidden temporary next to the target, named ``.<target>-<pid>-<random>``,
and is renamed into place when complete. A process killed mid-write (SIGKILL, power
loss) leaves its temporary behind; the next write into the same folder removes every
temporary whose writing process is gone (or that is older than a day).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from pathlib import Path
from typing import IO, Callable

_TMP = re.compile(r"^\.(?P<name>.+)-(?P<pid>\d+)-[A-Za-z0-9_]+(?:\.tmp)?$")
MAX_AGE_S = 24 * 3600.0


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def clean_stale_temporaries(folder: str | os.PathLike, name: str | None = None,
                            older_than_s: float | None = None) -> list[Path]:
    """Remove temporaries in ``folder`` (only those for target ``name``, if given) whose writing
    process no longer runs, or that are older than ``older_than_s`` (default: a day) while
    their process is not this one. Returns what was removed."""
    folder = Path(folder)
    removed: list[Path] = []
    if not folder.is_dir():
        return removed
    limit = MAX_AGE_S if older_than_s is None else max(older_than_s, 0.0)
    now = time.time()
    for p in folder.iterdir():
        m = _TMP.match(p.name)
        if not m or (name is not None and m.group("name") != name):
            continue
        pid = int(m.group("pid"))
        try:
            age = now - p.lstat().st_mtime
        except FileNotFoundError:
            continue
        if _alive(pid) and (pid == os.getpid() or age < limit):
            continue
        try:
            shutil.rmtree(p) if p.is_dir() and not p.is_symlink() else p.unlink()
            removed.append(p)
        except FileNotFoundError:
            pass
    return removed


def temporary_name(target: Path) -> str:
    return f".{target.name}-{os.getpid()}-"


def atomic_write(path: str | os.PathLike, write: Callable[[IO], None], binary: bool = True) -> Path:
    """Call ``write(fh)`` on a temporary file next to ``path`` and rename it into place.

    On any error the temporary file is removed and ``path`` is left as it was. Stale
    temporaries of the same target, left by killed processes, are removed first.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_temporaries(path.parent, path.name)
    fd, tmp = tempfile.mkstemp(prefix=temporary_name(path), suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb" if binary else "w") as fh:
            write(fh)
        os.replace(tmp, path)
        os.chmod(path, 0o644)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def atomic_folder(dest: Path) -> Path:
    """A hidden temporary folder next to ``dest`` (cleaned of stale ones first); the caller
    fills it and renames it to ``dest`` (``os.replace``) when complete."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_temporaries(dest.parent, dest.name)
    return Path(tempfile.mkdtemp(prefix=temporary_name(dest), dir=dest.parent))
