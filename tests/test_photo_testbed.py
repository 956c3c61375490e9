"""The photo testbed's data layer: fetching and verifying Debian's packages (on tiny .debs made
here, never the real download), the tables, the .pat reader, exact masks and boxes, disjoint
fit and hold-out pixels, measured colours, determinism, and clear errors without the data.

Tests on the real photographs skip when they are not fetched (``bash scripts/fetch_photos.sh``)."""

from __future__ import annotations

import csv
import hashlib
import importlib
import io
import json
import os
import shutil
import struct
import subprocess
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from sevec_helpers.sources.photo_testbed import images as I
from sevec_helpers.sources.photo_testbed import tables as T
from sevec_helpers.sources.photo_testbed.pat import parse_pat, read_pat

F = importlib.import_module("sevec_helpers.sources.photo_testbed.fetch")
ROOT = Path(__file__).resolve().parents[1]
RULES_V4_COMMIT = "28e3506"   # "claims: rules v4 (issue 30), written and committed before the photo testbed exists"
PACKAGE_DIR = "sevec_helpers/sources/photo_testbed"

real_data = pytest.mark.skipif(F.status() is not None, reason="the photo testbed's files are not fetched "
                                                              "(bash scripts/fetch_photos.sh)")


# --- history --------------------------------------------------------------------------------

def test_the_photo_testbed_was_committed_after_the_rules_v4():
    if not (ROOT / ".git").exists() or shutil.which("git") is None:
        pytest.skip("no git history here")
    git = lambda *a: subprocess.run(["git", "-C", str(ROOT), *a], capture_output=True, text=True)
    if git("cat-file", "-e", f"{RULES_V4_COMMIT}^{{commit}}").returncode != 0:
        pytest.skip("a shallow clone without the rules' commit")
    first = git("log", "--diff-filter=A", "--format=%H", "--", PACKAGE_DIR).stdout.split()
    if not first:
        pytest.skip("the photo testbed is not committed yet")
    assert git("merge-base", "--is-ancestor", RULES_V4_COMMIT, first[-1]).returncode == 0, first[-1]


# --- tables ---------------------------------------------------------------------------------

def test_the_manifest_lists_exactly_the_files_the_tables_use():
    m = F.load_manifest()
    used = T.used_files()
    assert set(m["packages"]) == set(used) == set(T.PACKAGES)
    for pkg, paths in used.items():
        entry = m["packages"][pkg]
        assert sorted(entry["files"]) == paths, pkg
        for rel, f in entry["files"].items():
            assert len(f["sha256"]) == 64 and f["size"] > 0 and f["licence"], rel
        assert entry["version"] and entry["licence"]


def test_stamps_and_classes_agree_and_fit_and_holdout_photographs_differ():
    from torchvision.models import VGG16_Weights

    cats = VGG16_Weights.IMAGENET1K_V1.meta["categories"]
    stamps, classes = T.stamps(), T.classes()
    assert len(stamps) == 107 and len(classes) == 87
    assert len({s.path for s in stamps}) == len(stamps)
    by = {c.imagenet_index: [s for s in stamps if s.imagenet_index == c.imagenet_index] for c in classes}
    for c in classes:
        assert cats[c.imagenet_index] == c.name and c.n_photographs == len(by[c.imagenet_index]) >= 1
        assert c.superclass and c.group and c.wnid.startswith("n") and len(c.wnid) == 9
        fit, hold = T.stamps_of(c.imagenet_index, "fit"), T.stamps_of(c.imagenet_index, "holdout")
        assert fit and hold
        if c.n_photographs > 1:   # several photographs: fit and hold-out use different ones
            assert not {s.path for s in fit} & {s.path for s in hold}, c.name
            assert all(s.use in ("fit", "holdout") for s in by[c.imagenet_index])
        else:
            assert fit == hold and fit[0].use == "both"
        for key in ("materials", "other_materials", "textures"):
            assert set(getattr(c, key)) == {v for s in by[c.imagenet_index] for v in getattr(s, key)}
    assert sum(c.n_photographs > 1 for c in classes) == 15
    for s in stamps:
        assert cats[s.imagenet_index] == s.imagenet_name and s.kind.startswith("photo")
        # the selection rule: recognised alone on white (first with p > 0.3 somewhere, or p given for all)
        assert all(p is not None and 0 <= p <= 1 for p in s.p)
    concepts = {k: set(T.concept_sources(k)) for k in ("textures", "materials")}
    for c in classes:   # a class's textures and materials are concepts the testbed has sets for
        assert set(c.textures) <= concepts["textures"] and set(c.materials) <= concepts["materials"]
        assert not set(c.other_materials) & concepts["materials"]


def test_the_class_levels_rederive_from_wordnet_where_its_dictionary_is_installed():
    from sevec_helpers.sources.photo_testbed.wordnet import DICT_DIR, derive

    d = Path(os.environ.get("SEVEC_WORDNET_DIR", DICT_DIR))
    if not (d / "data.noun").is_file():
        pytest.skip("WordNet's dictionary files are not installed (apt-get install wordnet-base)")
    rows = derive([c.name for c in T.classes()], d)
    got = [(r["wnid"], r["synset"], r["superclass"], r["group"]) for r in rows]
    assert got == [(c.wnid, c.synset, c.superclass, c.group) for c in T.classes()]


# --- fetching: tiny .debs made here ------------------------------------------------------

def _tar(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(f"./{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def make_deb(path: Path, package: str, version: str, files: dict[str, bytes]) -> Path:
    """A minimal Debian binary package (ar archive: debian-binary, control.tar.gz, data.tar.gz)."""
    control = f"Package: {package}\nVersion: {version}\nArchitecture: all\nMaintainer: t <t@t>\nDescription: t\n"
    members = [("debian-binary", b"2.0\n"), ("control.tar.gz", _tar({"control": control.encode()})),
               ("data.tar.gz", _tar(files))]
    out = io.BytesIO()
    out.write(b"!<arch>\n")
    for name, data in members:
        out.write(f"{name + '/':<16}{0:<12}{0:<6}{0:<6}{'100644':<8}{len(data):<10}`\n".encode())
        out.write(data + (b"\n" if len(data) % 2 else b""))
    path.write_bytes(out.getvalue())
    return path


FAKE = {"usr/share/a/one.png": b"one-pixels", "usr/share/a/two.txt": b"second file", "usr/share/doc/x": b"c"}


def _manifest(files=FAKE, version="1.0-1") -> dict:
    entry = {"version": version, "licence": "GPL-2+",
             "files": {p: {"sha256": hashlib.sha256(d).hexdigest(), "size": len(d), "licence": "GPL-2+"}
                       for p, d in files.items() if p != "usr/share/doc/x"}}
    return {"format": 1, "packages": {"fake-pkg": entry}}


class Downloads:
    """A stand-in for apt-get: counts calls and copies a prepared .deb."""

    def __init__(self, deb: Path):
        self.deb, self.calls = deb, 0

    def __call__(self, package, version, into: Path) -> Path:
        self.calls += 1
        into.mkdir(parents=True, exist_ok=True)
        return Path(shutil.copy(self.deb, into / self.deb.name))


def _leftovers(dest: Path) -> list[str]:
    return sorted(p.name for p in dest.iterdir() if p.name.startswith((".staging-", ".old-"))) if dest.exists() else []


@pytest.mark.parametrize("dpkg", [True, False], ids=["dpkg-deb", "python"])
def test_fetch_unpacks_only_the_used_files_verifies_them_and_is_idempotent(tmp_path, monkeypatch, dpkg):
    if dpkg and shutil.which("dpkg-deb") is None:
        pytest.skip("no dpkg-deb here")
    if not dpkg:
        real_which = shutil.which
        monkeypatch.setattr(F.shutil, "which", lambda name: None if name.startswith("dpkg") else real_which(name))
    deb = make_deb(tmp_path / "fake-pkg_1.0-1_all.deb", "fake-pkg", "1.0-1", FAKE)
    m, dest, get = _manifest(), tmp_path / "cache", Downloads(deb)
    assert "fake-pkg" in F.status(dest, m) and F.COMMAND in F.status(dest, m)
    assert F.fetch(dest, manifest=m, download=get, quiet=True) == dest
    assert F.status(dest, m) is None and get.calls == 1
    pkg = dest / "fake-pkg"
    assert (pkg / "usr/share/a/one.png").read_bytes() == b"one-pixels"
    assert not (pkg / "usr/share/doc/x").exists()                     # only the used files
    assert json.loads((pkg / F.MARKER).read_text())["version"] == "1.0-1"
    assert (dest / "debs" / deb.name).is_file()                       # the .deb is kept: never downloaded twice
    # again: nothing downloaded, nothing unpacked
    monkeypatch.setattr(F, "extract", lambda *a: pytest.fail("unpacked again"))
    F.fetch(dest, manifest=m, download=get, quiet=True)
    assert get.calls == 1 and _leftovers(dest) == []


def test_fetch_refuses_a_tampered_file_by_name_and_leaves_nothing(tmp_path):
    bad = dict(FAKE, **{"usr/share/a/two.txt": b"second file, changed"})
    deb = make_deb(tmp_path / "fake-pkg_1.0-1_all.deb", "fake-pkg", "1.0-1", bad)
    dest = tmp_path / "cache"
    with pytest.raises(F.ChecksumMismatch, match="usr/share/a/two.txt"):
        F.fetch(dest, manifest=_manifest(), download=Downloads(deb), quiet=True)
    assert not (dest / "fake-pkg").exists() and _leftovers(dest) == []
    assert F.status(dest, _manifest()) is not None
    # a file missing from the package is refused by name too
    short = {k: v for k, v in FAKE.items() if k != "usr/share/a/one.png"}
    (tmp_path / "other").mkdir()
    deb2 = make_deb(tmp_path / "other" / "fake-pkg_1.0-2_all.deb", "fake-pkg", "1.0-2", short)
    with pytest.raises(F.ChecksumMismatch, match="one.png"):
        F.fetch(tmp_path / "cache2", manifest=_manifest(), download=Downloads(deb2), quiet=True)


def test_a_newer_version_whose_files_match_is_accepted(tmp_path):
    deb = make_deb(tmp_path / "fake-pkg_2.0-1_all.deb", "fake-pkg", "2.0-1", FAKE)
    dest = tmp_path / "cache"
    F.fetch(dest, manifest=_manifest(version="1.0-1"), download=Downloads(deb), quiet=True)
    assert F.status(dest, _manifest(version="1.0-1")) is None
    assert json.loads((dest / "fake-pkg" / F.MARKER).read_text())["version"] == "2.0-1"


def test_fetch_is_atomic_when_interrupted_and_a_verified_copy_survives_a_failed_refetch(tmp_path, monkeypatch):
    deb = make_deb(tmp_path / "fake-pkg_1.0-1_all.deb", "fake-pkg", "1.0-1", FAKE)
    dest = tmp_path / "cache"
    calls = {"n": 0}
    real = F._sha256

    def dies_midway(p):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt("killed while verifying")
        return real(p)

    monkeypatch.setattr(F, "_sha256", dies_midway)
    with pytest.raises(KeyboardInterrupt):
        F.fetch(dest, manifest=_manifest(), download=Downloads(deb), quiet=True)
    assert not (dest / "fake-pkg").exists() and _leftovers(dest) == []     # nothing half-written
    monkeypatch.setattr(F, "_sha256", real)
    F.fetch(dest, manifest=_manifest(), download=Downloads(deb), quiet=True)
    assert F.status(dest, _manifest()) is None
    # a manifest asking for other files: the refetch fails, the verified copy stays whole
    other = _manifest({"usr/share/a/one.png": b"other pixels"})
    with pytest.raises(F.ChecksumMismatch):
        F.fetch(dest, manifest=other, download=Downloads(deb), quiet=True)
    assert F.status(dest, _manifest()) is None and _leftovers(dest) == []


def test_status_sees_a_file_changed_after_fetching(tmp_path):
    deb = make_deb(tmp_path / "fake-pkg_1.0-1_all.deb", "fake-pkg", "1.0-1", FAKE)
    dest = tmp_path / "cache"
    F.fetch(dest, manifest=_manifest(), download=Downloads(deb), quiet=True)
    (dest / "fake-pkg" / "usr/share/a/one.png").write_bytes(b"one-pixelz")
    assert "one.png differs" in F.status(dest, _manifest())
    (dest / "fake-pkg" / "usr/share/a/one.png").unlink()
    assert "one.png is missing" in F.status(dest, _manifest())


def test_without_apt_get_the_message_names_the_packages_and_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setattr(F.shutil, "which", lambda name: None)
    with pytest.raises(F.PhotoTestbedUnavailable) as e:
        F.apt_download("tuxpaint-stamps-default", "2022.06.04-1", tmp_path)
    msg = str(e.value)
    assert "tuxpaint-stamps-default" in msg and "apt-get" in msg and F.COMMAND in msg and str(tmp_path) in msg
    with pytest.raises(F.PhotoTestbedUnavailable) as e:
        F.fetch(tmp_path / "cache", quiet=True)          # the real manifest: every package is named
    for pkg, entry in F.load_manifest()["packages"].items():
        assert pkg in str(e.value) and entry["version"] in str(e.value)
    assert F.COMMAND in str(e.value) and str(tmp_path / "cache" / "debs") in str(e.value)


def test_a_killed_fetch_leaves_temporaries_that_the_next_fetch_removes(tmp_path):
    deb = make_deb(tmp_path / "fake-pkg_1.0-1_all.deb", "fake-pkg", "1.0-1", FAKE)
    dest = tmp_path / "cache"
    dead = 2 ** 22 + 12345                                            # above Linux's largest process id
    (dest / f".staging-{dead}-fake-pkg-x" / "usr").mkdir(parents=True)
    (dest / "debs" / f".download-{dead}-y").mkdir(parents=True)
    (dest / f".staging-{os.getpid()}-other-z").mkdir()                # a live fetch's: kept
    F.fetch(dest, manifest=_manifest(), download=Downloads(deb), quiet=True)
    assert [p.name for p in dest.iterdir() if p.name.startswith(".")] == [f".staging-{os.getpid()}-other-z"]
    assert not [p for p in (dest / "debs").iterdir() if p.name.startswith(".download")]


def test_status_says_so_when_the_package_lacks_its_manifest(tmp_path):
    assert "manifest is missing" in F.status(tmp_path, tmp_path / "no-manifest.json")


def test_the_cache_location(monkeypatch, tmp_path):
    monkeypatch.setenv(F.ENV_VAR, str(tmp_path / "d"))
    assert F.default_dest() == tmp_path / "d" / "photo_testbed"
    monkeypatch.delenv(F.ENV_VAR)
    if (ROOT / ".git").exists():
        assert F.data_dir() == ROOT / ".cache" / "sevec-data"
    monkeypatch.setattr(F, "_checkout_root", lambda: None)
    assert F.data_dir() == Path.home() / ".cache" / "sevec-helpers"


def test_the_datasets_without_the_data_name_the_packages_and_the_command(tmp_path):
    from sevec_helpers.sources.photo_testbed import ClassImages, PhotoTestbedUnavailable, Scenes, Swatches, testbed

    for make in (lambda: ClassImages(size=224, root=tmp_path), lambda: Scenes(size=224, root=tmp_path),
                 lambda: Swatches(size=224, root=tmp_path), lambda: testbed(None, root=tmp_path)):
        with pytest.raises(PhotoTestbedUnavailable) as e:
            make()
        for pkg in T.PACKAGES:
            assert pkg in str(e.value)
        assert "bash scripts/fetch_photos.sh" in str(e.value)


# --- the .pat reader -----------------------------------------------------------------------

def _pat(name: str, pixels: np.ndarray) -> bytes:
    h, w, c = pixels.shape
    raw = name.encode() + b"\0"
    return struct.pack(">5I", 24 + len(raw), 1, w, h, c) + b"GPAT" + raw + pixels.astype(np.uint8).tobytes()


def test_pat_reader_gives_the_exact_pixels(tmp_path):
    px = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3) * 7
    (tmp_path / "t.pat").write_bytes(_pat("Tiny", px))
    p = read_pat(tmp_path / "t.pat")
    assert p.name == "Tiny" and p.pixels.shape == (2, 3, 3) and (p.pixels == px).all()
    assert (p.rgb() == px).all()
    grey = parse_pat(_pat("g", np.array([[[0], [255]]], np.uint8)))
    assert grey.rgb().tolist() == [[[0, 0, 0], [255, 255, 255]]]
    rgba = parse_pat(_pat("a", np.array([[[200, 0, 0, 255], [200, 0, 0, 0]]], np.uint8)))
    assert rgba.rgb(background=255).tolist() == [[[200, 0, 0], [255, 255, 255]]]
    with pytest.raises(ValueError, match="magic"):
        parse_pat(_pat("x", px).replace(b"GPAT", b"GIMP"))
    with pytest.raises(ValueError, match="expected"):
        parse_pat(_pat("x", px)[:-1])


@real_data
def test_every_gimp_source_reads_with_its_stated_size():
    src = I.Sources.get()
    for s in T.sources():
        img = src.source(s)
        assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3
        w, h = (int(v) for v in s.note.rsplit(", ", 2)[-1 if s.package != T.SKIMAGE else -2].split("x"))
        assert img.shape[:2] == (h, w), s.id


# --- composites on planted images (no data needed) -----------------------------------------

def _stamp(path="planted.png", mirror=True) -> T.Stamp:
    return T.Stamp(path, 0, "planted", "photo", "both", mirror, (), (), (), (None,) * 3, "")


class PlantedSources:
    """Stamps and backgrounds made here: opaque discs of one colour on a grey backdrop."""

    def __init__(self, stamps: dict[str, np.ndarray]):
        self.stamps = stamps

    def stamp(self, st):
        return self.stamps[st.path]

    def background(self, rel):
        return Image.fromarray(np.full((300, 400, 3), 128, np.uint8))


def _disc(d: int, color) -> np.ndarray:
    yy, xx = np.mgrid[:d, :d]
    inside = (yy - d / 2 + 0.5) ** 2 + (xx - d / 2 + 0.5) ** 2 <= (d / 2) ** 2
    out = np.zeros((d, d, 4), np.uint8)
    out[inside] = (*color, 255)
    return out


def test_scene_masks_and_boxes_are_exact_and_occlusion_is_handled():
    src = PlantedSources({"a.png": _disc(60, (205, 35, 35)), "b.png": _disc(60, (35, 75, 205)),
                          "c.png": _disc(40, (45, 150, 55)), "d.png": _disc(50, (235, 215, 45))})
    objects = [(_stamp("a.png"), 0), (_stamp("b.png"), 1), (_stamp("c.png"), 2), (_stamp("d.png"), 3)]
    seen_occlusion = False
    for seed in range(25):
        smp = I.scene(src, objects, "bg", 96, np.random.default_rng(seed))
        k = len(smp.labels)
        assert smp.masks.shape == (k, 96, 96) and smp.boxes.shape == (k, 4) and k >= 1
        assert (smp.masks.sum(0) <= 1).all()                       # each pixel belongs to one object at most
        for m, (x0, y0, x1, y1) in zip(smp.masks, smp.boxes):
            assert m.any()
            inside = np.zeros_like(m)
            inside[y0:y1, x0:x1] = True
            assert not (m & ~inside).any()                          # every mask pixel inside its box
            assert m[y0].any() and m[y1 - 1].any() and m[:, x0].any() and m[:, x1 - 1].any()   # tight
        # occlusion: an object's mask is its own footprint (alpha >= ALPHA_CUT where it was pasted)
        # less the footprints of the objects pasted after it; each keeps >= MIN_VISIBLE of it
        foot = []
        for s, (x, y, w, h, mirror) in zip(smp.stamps, smp.placements):
            f = np.zeros((96, 96), bool)
            f[y:y + h, x:x + w] = I.resized_stamp(src.stamps[s.path], w, h, mirror)[..., 3] >= I.ALPHA_CUT / 255
            foot.append(f)
        for j in range(k):
            later = np.zeros((96, 96), bool)
            for f in foot[j + 1:]:
                later |= f
            assert (smp.masks[j] == (foot[j] & ~later)).all()
            assert smp.masks[j].sum() >= I.MIN_VISIBLE * foot[j].sum()
            seen_occlusion |= bool(smp.masks[j].sum() < foot[j].sum())
        # each object's pixels show its colour where its mask is (alpha 255, before the jitter)
        for m, s in zip(smp.masks, smp.stamps):
            assert I.measured_colors(smp.image, m) == [{"a.png": "red", "b.png": "blue", "c.png": "green",
                                                        "d.png": "yellow"}[s.path]]
    assert seen_occlusion


def test_measured_colours_of_a_planted_object():
    img = np.zeros((10, 10, 3), np.uint8)
    img[:] = (235, 235, 235)                      # white background, outside the mask
    mask = np.zeros((10, 10), bool)
    mask[:7, :] = True
    img[:5, :] = (205, 35, 35)                    # 50 red pixels in the mask
    img[5:7, :] = (35, 75, 205)                   # 20 blue
    assert I.measured_colors(img, mask) == ["red", "blue"]            # 71% and 29%
    assert I.measured_colors(img, mask, min_share=0.5) == ["red"]
    shares = I.color_shares(img[mask])
    assert shares["red"] == pytest.approx(50 / 70) and "white" not in shares
    # a dark red is still red, a dark grey is black or grey, never a hue
    assert list(I.color_shares(np.array([[150, 20, 20]], np.uint8))) == ["red"]
    assert list(I.color_shares(np.array([[60, 60, 60]], np.uint8)))[0] in ("black", "grey")
    # on a composite: a planted orange disc pasted on grey, measured on its mask
    src = PlantedSources({"o.png": _disc(80, (240, 140, 25))})
    smp = I.single_object(src, _stamp("o.png"), 0, "bg", 128, np.random.default_rng(0))
    assert I.measured_colors(smp.image, smp.masks[0]) == ["orange"]
    assert smp.masks[0].sum() > 0 and tuple(smp.boxes[0]) == I.tight_box(smp.masks[0])


def test_swatches_use_only_their_half_of_the_source():
    img = np.zeros((100, 70, 3), np.uint8)
    img[50:] = 255                                # taller than wide: fit = top half (black), hold-out = bottom
    h = I.halves(img.shape)
    assert h == {"fit": (0, 50, 0, 70), "holdout": (50, 100, 0, 70)}
    for seed in range(20):
        for split, value in (("fit", 0), ("holdout", 255)):
            sw = I.swatch(img, h[split], 64, np.random.default_rng(seed), jitter_amount=0.0)
            assert (sw.image == value).all(), (split, seed)
            y0, y1, x0, x1 = sw.window
            ry0, ry1, rx0, rx1 = h[split]
            assert ry0 <= y0 < y1 <= ry1 and rx0 <= x0 < x1 <= rx1
    wide = I.halves((40, 90, 3))
    assert wide == {"fit": (0, 40, 0, 45), "holdout": (0, 40, 45, 90)}


def test_planted_composites_are_deterministic_from_the_seed():
    src = PlantedSources({"a.png": _disc(50, (205, 35, 35)), "b.png": _disc(30, (35, 75, 205))})
    objs = [(_stamp("a.png"), 0), (_stamp("b.png"), 1)]
    a = I.scene(src, objs, "bg", 80, np.random.default_rng(3))
    b = I.scene(src, objs, "bg", 80, np.random.default_rng(3))
    assert (a.image == b.image).all() and (a.masks == b.masks).all() and (a.boxes == b.boxes).all()
    c = I.scene(src, objs, "bg", 80, np.random.default_rng(4))
    assert not (a.image == c.image).all()


def test_tinted_swatches_are_the_named_colour():
    rng = np.random.default_rng(0)
    tex = np.repeat(rng.integers(0, 256, (32, 32, 1), dtype=np.uint8), 3, axis=2)
    for name, rgb in I.COLORS.items():
        assert I.color_shares(I.tint(tex, rgb)).get(name, 0) >= 0.8, name


# --- the real photographs ---------------------------------------------------------------------

@real_data
def test_class_images_split_photographs_and_backgrounds_and_are_deterministic():
    from sevec_helpers.sources.photo_testbed import ClassImages

    fit = ClassImages(size=64, split="fit", per_class=2)
    hold = ClassImages(size=64, split="holdout", per_class=2)
    gray = ClassImages(size=64, split="holdout", per_class=2, grayscale=True)
    k = len(fit.classes)
    assert fit.classes == [c.name for c in T.classes()] and fit.imagenet_indices == [c.imagenet_index for c in T.classes()]
    for c in T.classes():
        j = fit.imagenet_indices.index(c.imagenet_index)
        f = {fit.photograph(j + k * n) for n in range(2)}
        h = {hold.photograph(j + k * n) for n in range(2)}
        assert (f.isdisjoint(h)) == (c.n_photographs > 1), c.name
    bgs_fit = {fit.sample(i).background for i in range(0, len(fit), 7)}
    bgs_hold = {hold.sample(i).background for i in range(0, len(hold), 7)}
    assert bgs_fit <= set(T.background_paths("fit")) and bgs_hold <= set(T.background_paths("holdout"))
    x, y = hold[5]
    assert x.shape == (3, 64, 64) and x.dtype == torch.float32 and y == 5 % k
    assert torch.equal(x, ClassImages(size=64, split="holdout", per_class=2)[5][0])          # same seed
    assert not torch.equal(x, ClassImages(size=64, split="holdout", per_class=2, seed=1)[5][0])
    g = gray[5][0]
    assert torch.equal(g[0], g[1]) and torch.equal(g[1], g[2]) and not torch.equal(x[0], x[1])
    att = hold.attributes(5)
    assert set(att) == {"textures", "materials", "colors"} and att["colors"]
    assert set(att["colors"]) <= set(I.COLOR_NAMES)
    assert fit.fingerprint() == ClassImages(size=64, split="fit", per_class=2).fingerprint()


@real_data
def test_real_scenes_have_exact_masks_and_boxes():
    from sevec_helpers.sources.photo_testbed import Scenes

    sc = Scenes(size=96, n=12)
    for i in range(len(sc)):
        x, t = sc[i]
        assert x.shape == (3, 96, 96)
        k = len(t["labels"])
        assert t["boxes"].dtype == torch.float32 and t["labels"].dtype == torch.int64 and t["masks"].dtype == torch.bool
        assert t["boxes"].shape == (k, 4) and t["masks"].shape == (k, 96, 96) and len(set(t["labels"].tolist())) == k
        assert (t["masks"].sum(0) <= 1).all()
        for m, b in zip(t["masks"].numpy(), t["boxes"].int().tolist()):
            assert tuple(b) == I.tight_box(m)
    assert torch.equal(sc[3][0], Scenes(size=96, n=12)[3][0])
    d = sc.size_distribution()
    assert d["objects"] >= len(sc) and 0 < d["mean_area"] < 1


@real_data
def test_real_swatches_never_share_source_pixels_between_fit_and_holdout():
    from sevec_helpers.sources.photo_testbed import Swatches

    for kind in ("textures", "materials", "colors"):
        fit, hold = Swatches(size=64, kind=kind, split="fit", per_concept=3), \
            Swatches(size=64, kind=kind, split="holdout", per_concept=2)
        assert fit.classes == hold.classes and fit.concept_kind == kind
        used: dict[str, list] = {}
        for ds, split in ((fit, "fit"), (hold, "holdout")):
            for i in range(len(ds)):
                sid, (y0, y1, x0, x1) = ds.window(i)
                used.setdefault(sid, []).append((split, y0, y1, x0, x1))
        for sid, wins in used.items():
            shape = I.Sources.get().source(next(s for s in T.sources() if s.id == sid)).shape
            covered = {"fit": np.zeros(shape[:2], bool), "holdout": np.zeros(shape[:2], bool)}
            for split, y0, y1, x0, x1 in wins:
                covered[split][y0:y1, x0:x1] = True
            assert not (covered["fit"] & covered["holdout"]).any(), sid
        assert torch.equal(fit[4][0], Swatches(size=64, kind=kind, split="fit", per_concept=3)[4][0])


@real_data
@pytest.mark.slow
def test_the_testbed_for_a_real_network():
    import sevec_helpers as sh
    from sevec_helpers.sources.models import restrict_outputs
    from sevec_helpers.sources.photo_testbed import testbed

    model, spec = sh.load_model("efficientnet_lite0")
    tb = testbed(spec, per_class_fit=1, per_class_eval=1, per_concept_fit=1, per_concept_eval=1, n_scenes=3)
    assert set(tb.data) == {"class_fit", "class_holdout", "class_holdout_gray", "scenes", "textures_fit",
                            "textures_holdout", "materials_fit", "materials_holdout", "colors_fit", "colors_holdout"}
    assert tb.classes == [spec.categories[i] for i in tb.imagenet_indices] and len(tb.classes) == 87
    assert set(tb.truth) == set(tb.classes)
    for t in tb.truth.values():
        assert {"superclass", "group", "textures", "materials", "colors", "n_facets"} <= set(t) and t["colors"]
    for pkg in T.PACKAGES:
        assert any(pkg in line for line in tb.credits)
    assert any("GPL-2+" in line for line in tb.credits) and "87 ImageNet classes" in tb.about
    sub, sub_spec = restrict_outputs(model, spec, tb.imagenet_indices)
    x = torch.stack([tb.data["class_holdout"][i][0] for i in range(4)])
    assert x.shape == (4, 3, spec.input_size, spec.input_size)
    with torch.no_grad():
        assert sub(x).shape == (4, 87)
    assert sub_spec.categories == tb.classes
