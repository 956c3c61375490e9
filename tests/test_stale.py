"""Nothing stale (issue 20): the disk cache knows the code that computed each entry, refuses
damaged entries, survives SIGKILL mid-write and two writers at once; and the small misuse
fixes (SemanticVectors as a container, dead samples in r_c, edit_study's fallback, one SEM)."""

from __future__ import annotations

import json
import logging
import os
import random
import shutil
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn as nn
from torch.utils.data import TensorDataset

import sevec_helpers as sh
from sevec_helpers.core import fingerprint as FP
from sevec_helpers.evaluation import editing, metrics
from sevec_helpers.evaluation import stats as analysis
from sevec_helpers.evaluation.editing import edit_study, mask_edit
from sevec_helpers.sevecs.cache import DiskCache
from sevec_helpers.sevecs.vectors import SemanticVectors
from sevec_helpers.sources import world as W

TESTS = Path(__file__).parent
PKG = Path(FP.__file__).parents[1]   # the package root (fingerprint is core/fingerprint.py)


def _tiny():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(2), nn.Flatten(),
                          nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 3)).eval()
    g = torch.Generator().manual_seed(1)
    return model, TensorDataset(torch.rand(30, 3, 8, 8, generator=g), torch.arange(30) % 3)


def _compute(cache, model, data):
    sv = sh.fit_sevecs(model, data, "5", names=["a", "b", "c"], cache=cache, progress=False)
    f = sh.extract_features(model, data, "5", cache=cache, progress=False)
    acc = sh.accuracy(model, data, 3, cache=cache)
    return sv, f, acc


@pytest.fixture
def package_copy(tmp_path, monkeypatch):
    """A copy of the package's source that code fingerprints read instead of the real one, so a
    test can edit "the code" and see which entries notice."""
    dst = tmp_path / "src" / "sevec_helpers"
    shutil.copytree(PKG, dst, ignore=shutil.ignore_patterns("__pycache__", "weights", "*.pt", "*.pth"))
    monkeypatch.setattr(FP, "_PACKAGE_DIR", dst)
    return dst


def _edit(path: Path, code: str) -> None:
    path.write_text(path.read_text() + "\n" + code + "\n")


# ---------------------------------------------------------------------------------------
# 1. keys that know the code
# ---------------------------------------------------------------------------------------

def test_code_fingerprint_follows_imports_and_ignores_docstrings_and_comments(package_copy):
    before = FP.code_fingerprint("sevec_helpers.sevecs.fit")
    assert {"sevecs/fit.py", "sevecs/vectors.py", "sevecs/accumulator.py", "core/features.py", "core/layers.py"} <= set(before["modules"])
    assert "attribution/saliency.py" not in before["modules"] and "book/chapters/scenes.py" not in before["modules"]
    assert before["versions"]["torch"] == torch.__version__
    _edit(package_copy / "sevecs" / "accumulator.py", "# a comment\n\ndef _helper():\n    \"\"\"Only a docstring.\"\"\"\n")
    mid = FP.code_fingerprint("sevec_helpers.sevecs.fit")
    _edit(package_copy / "sevecs" / "accumulator.py", "X = 1")
    after = FP.code_fingerprint("sevec_helpers.sevecs.fit")
    changed = {m for m in after["modules"] if after["modules"][m] != mid["modules"][m]}
    # the function _helper is new code; a comment or docstring alone is not
    assert mid["modules"]["sevecs/accumulator.py"] != before["modules"]["sevecs/accumulator.py"]
    assert changed == {"sevecs/accumulator.py"}
    p = package_copy / "core" / "layers.py"
    p.write_text(p.read_text().replace('"""', '"""Edited docstring. ', 1) + "\n# trailing comment\n")
    assert FP.code_fingerprint("sevec_helpers.sevecs.fit")["modules"] == after["modules"]


def test_an_imported_module_keeps_the_digest_of_the_code_it_runs(package_copy, monkeypatch):
    """A notebook kernel that imported the package runs that code even if the file is edited later:
    its entries keep the digest of the code that really computed them."""
    import types

    mod = types.ModuleType("sevec_helpers._stale_probe")
    mod.__file__ = str((package_copy / "sevecs" / "accumulator.py").resolve())
    monkeypatch.setitem(sys.modules, mod.__name__, mod)  # as if the copy's accumulator.py were imported
    first = FP.code_fingerprint("sevec_helpers.sevecs.fit")
    _edit(package_copy / "sevecs" / "accumulator.py", "CHANGED = 1")
    _edit(package_copy / "core" / "features.py", "CHANGED = 1")     # not imported: its edit counts at once
    second = FP.code_fingerprint("sevec_helpers.sevecs.fit")
    assert second["modules"]["sevecs/accumulator.py"] == first["modules"]["sevecs/accumulator.py"]
    assert second["modules"]["core/features.py"] != first["modules"]["core/features.py"]


def test_a_code_change_invalidates_exactly_the_entries_that_depend_on_it(package_copy, tmp_path, caplog):
    model, data = _tiny()
    sv0, f0, a0 = _compute(DiskCache(tmp_path / "c"), model, data)

    _edit(package_copy / "attribution" / "saliency.py", "CHANGED = 1")        # nothing here depends on saliency
    c = DiskCache(tmp_path / "c")
    _compute(c, model, data)
    assert (c.hits, c.misses) == (3, 0)

    _edit(package_copy / "sevecs" / "accumulator.py", "CHANGED = 1")     # the SeVecs do; features and accuracy do not
    c = DiskCache(tmp_path / "c")
    with caplog.at_level(logging.INFO, logger="sevec_helpers.sevecs.cache"):
        sv1, f1, a1 = _compute(c, model, data)
    assert (c.hits, c.misses) == (2, 1)
    assert c.events == [("sevecs @ 5", "code changed (sevecs/accumulator.py)")]
    assert [r.getMessage() for r in caplog.records] == ["cache: sevecs @ 5 recomputed: code changed (sevecs/accumulator.py)"]
    assert caplog.records[0].levelno == logging.WARNING
    assert torch.equal(sv1.vectors, sv0.vectors) and torch.equal(f1.values, f0.values)

    _edit(package_copy / "core" / "features.py", "CHANGED = 1")        # every entry does
    c = DiskCache(tmp_path / "c")
    _compute(c, model, data)
    assert c.misses == 3 and all(r == "code changed (core/features.py)" for _, r in c.events)


def test_a_torch_upgrade_is_a_code_change(tmp_path, monkeypatch):
    model, data = _tiny()
    _compute(DiskCache(tmp_path), model, data)
    old = torch.__version__
    monkeypatch.setattr(torch, "__version__", "99.0")
    c = DiskCache(tmp_path)
    _compute(c, model, data)
    assert c.misses == 3
    assert c.events[0][1] == f"code changed (torch {old} -> 99.0)"


def test_conceptworld_data_is_keyed_by_its_drawing_code(package_copy, tmp_path):
    ds = W.ObjectsDataset(W.ConceptWorld(0), "train", 1)
    fp0 = ds.fingerprint()
    assert {"sources/world/draw.py", "sources/world/generator.py", "sources/world/vocabulary.py"} <= set(fp0["code"]["modules"])
    # a change to how one texture is drawn need not change the probed image: the code digest does
    _edit(package_copy / "sources" / "world" / "draw.py", "def _unused_stripes():\n    return 2")
    fp1 = ds.fingerprint()
    assert fp1["probe"] == fp0["probe"] and fp1 != fp0
    scenes = W.ScenesDataset(W.ConceptWorld(0), "test", 2)
    assert "sources/world/draw.py" in scenes.fingerprint()["code"]["modules"]


def test_no_cache_key_in_the_package_has_a_hand_bumped_version():
    import ast

    bumped = []
    for path in PKG.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Dict):
                keys = {k.value for k in node.keys if isinstance(k, ast.Constant)}
                if "what" in keys and keys & {"version", "library"}:
                    bumped.append(f"{path.relative_to(PKG)}:{node.lineno}")
    assert not bumped, f"cache keys with a hand-kept version (use the code fingerprint): {bumped}"


def test_a_chapter_level_key_without_code_gets_the_code_of_its_compute_function(tmp_path, package_copy):
    c = DiskCache(tmp_path)
    assert c.get("tensors", {"what": "x"}, lambda: {"v": torch.ones(2)})["v"].sum() == 2
    _edit(package_copy / "sevecs" / "cache.py", "CHANGED = 1")  # this lambda lives in tests: only package code counts
    c = DiskCache(tmp_path)
    c.get("tensors", {"what": "x"}, lambda: {"v": torch.ones(2)})
    assert c.misses == 0
    key = {"what": "y"}
    fn = FP.code_fingerprint  # a compute function defined in the package: its module's code is in the key
    full = DiskCache._full_key(key, fn)
    assert "core/fingerprint.py" in full["code"]["modules"]


# ---------------------------------------------------------------------------------------
# 2. damaged entries
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("damage", ["flip", "truncate", "empty"])
def test_a_damaged_entry_is_reported_recomputed_and_never_loaded(tmp_path, damage, caplog):
    model, data = _tiny()
    sv0, f0, a0 = _compute(DiskCache(tmp_path), model, data)
    entries = sorted(tmp_path.glob("*.entry"))
    assert len(entries) == 3
    for p in entries:
        b = bytearray(p.read_bytes())
        if damage == "flip":  # one bit inside the payload, far from the header
            b[len(b) * 2 // 3] ^= 0x01
        elif damage == "truncate":
            b = b[: len(b) // 2]
        else:
            b = b""
        p.write_bytes(bytes(b))
    c = DiskCache(tmp_path)
    with caplog.at_level(logging.WARNING, logger="sevec_helpers.sevecs.cache"):
        sv1, f1, a1 = _compute(c, model, data)
    assert c.misses == 3
    want = {"flip": "checksum mismatch", "truncate": "truncated", "empty": "not a sevec_helpers cache entry"}[damage]
    assert all(r.startswith("damaged entry (") and want in r for _, r in c.events), c.events
    assert len(caplog.records) == 3 and all("\n" not in r.getMessage() for r in caplog.records)
    assert torch.equal(sv1.vectors, sv0.vectors) and torch.equal(f1.values, f0.values)
    assert np.array_equal(a1.prob_true, a0.prob_true)
    c = DiskCache(tmp_path)  # rewritten whole
    _compute(c, model, data)
    assert (c.hits, c.misses) == (3, 0)


def test_entries_of_the_old_format_are_removed_not_read(tmp_path):
    old = tmp_path / "tensors-0123456789abcdef.pt"
    torch.save({"value": {"x": torch.ones(1)}, "key": "{}"}, old)
    keep = tmp_path / "notes-0123456789abcdef.pt"
    keep.write_bytes(b"not ours")
    DiskCache(tmp_path)
    assert not old.exists() and keep.exists()


# ---------------------------------------------------------------------------------------
# 3. SIGKILL at random points, and two writers at once
# ---------------------------------------------------------------------------------------

class Zygote:
    """tests/stale_worker.py: forks children that compute the tiny build into a cache folder."""

    def __init__(self, log: Path):
        import queue
        import threading

        self.err = open(log, "w")
        self.p = subprocess.Popen([sys.executable, str(TESTS / "stale_worker.py")], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=self.err, text=True, cwd=TESTS)
        self.lines: queue.Queue = queue.Queue()
        threading.Thread(target=lambda: [self.lines.put(ln) for ln in self.p.stdout] + [self.lines.put("")],
                         daemon=True).start()
        assert self._line() == "ready"

    def _line(self, timeout: float = 600) -> str:
        import queue

        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"the worker said nothing for {timeout} s") from None
        assert line, f"the worker died: {Path(self.err.name).read_text()[-3000:]}"
        return line.strip()

    def start(self, *pairs, stop_at: int | None = None) -> list[int]:
        cmd = "run" if stop_at is None else f"stop {stop_at}"
        self.p.stdin.write(f"{cmd} " + " ".join(f"{d} {o}" for d, o in pairs) + "\n")
        self.p.stdin.flush()
        head, *pids = self._line().split()
        assert head == "pids"
        return [int(p) for p in pids]

    def event(self) -> tuple[int, int]:
        head, pid, k = self._line().split()
        assert head == "event"
        return int(pid), int(k)

    def wait(self) -> list[int]:
        head, *status = self._line().split()
        assert head == "done"
        return [int(s) for s in status]

    def close(self):  # no child runs between tests: end the zygote at once (its exit is slow)
        self.p.kill()
        self.p.wait()
        self.p.stdin.close()
        self.err.close()


@pytest.fixture(scope="module")
def zygote(tmp_path_factory):
    z = Zygote(tmp_path_factory.mktemp("zygote") / "stderr.txt")
    yield z
    z.close()


def _temporaries(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.name.startswith(".") or p.name.endswith(".tmp")]


def _all_entries_whole(folder: Path) -> None:
    """Every entry file that has its final name is complete and passes its checksum."""
    for p in folder.glob("*.entry"):
        head = json.loads(p.read_bytes().split(b"\n", 2)[1])
        DiskCache._read(head["kind"], p, head["key"])  # raises CacheEntryError if partial


def _numbers(out: Path) -> dict:
    return {k: v for k, v in json.loads(out.read_text()).items() if not k.startswith("_")}


def test_sigkill_at_random_points_never_changes_a_number_nor_leaves_a_temporary(zygote, tmp_path):
    """Eight runs, each SIGKILLed at a random one of its cache writes, at the worst moment: the entry
    is whole in its temporary file but not renamed into place (the child says so, then waits, so
    every run is killed at its event whatever the machine's load). No number changes, nothing
    stale is read, and a last run completes the cache."""
    ref_out = tmp_path / "ref.json"
    zygote.start((tmp_path / "ref", ref_out))
    assert zygote.wait() == [0]
    n_entries = len(list((tmp_path / "ref").glob("*.entry")))
    assert n_entries == 8
    cache, rng, kills = tmp_path / "cache", random.Random(20), []
    for _ in range(8):
        pending = n_entries - (len(list(cache.glob("*.entry"))) if cache.exists() else 0)
        k = rng.randint(1, pending)                      # the k-th write this run would make (the last is killed too)
        (pid,) = zygote.start((cache, tmp_path / f"run{len(kills)}.json"), stop_at=k)
        assert zygote.event() == (pid, k)
        os.kill(pid, signal.SIGKILL)
        (status,) = zygote.wait()
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
        kills.append(k)
        _all_entries_whole(cache)
        # the killed run leaves its whole-but-unrenamed temporary; the next reader removes it (its PID is dead)
        assert len(list(cache.glob("*.entry"))) == n_entries - pending + k - 1
    print(f"{len(kills)} runs killed at writes {kills}")
    zygote.start((cache, tmp_path / "final.json"))
    assert zygote.wait() == [0]
    assert _numbers(tmp_path / "final.json") == _numbers(ref_out)
    assert _temporaries(cache) == []
    # a reader of the finished cache computes nothing and gets the same numbers
    import stale_worker

    c = DiskCache(cache)
    assert stale_worker.compute_all(c) == _numbers(ref_out)
    assert c.misses == 0


def test_two_builds_sharing_a_cache_leave_one_a_third_reads_without_a_miss(zygote, tmp_path):
    cache = tmp_path / "shared"
    zygote.start((cache, tmp_path / "a.json"), (cache, tmp_path / "b.json"))
    assert zygote.wait() == [0, 0]
    a, b = _numbers(tmp_path / "a.json"), _numbers(tmp_path / "b.json")
    assert a == b
    import stale_worker

    c = DiskCache(cache)
    assert stale_worker.compute_all(c) == a
    assert (c.misses, c.hits) == (0, 8)
    assert _temporaries(cache) == []


def test_a_live_writers_temporary_is_left_alone_and_a_dead_ones_removed(tmp_path):
    DiskCache(tmp_path)
    writer = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])  # another build, writing
    try:
        live = tmp_path / f".tensors-x.entry-{writer.pid}-abc.tmp"
        live.write_bytes(b"partial")
        gone = subprocess.Popen([sys.executable, "-c", "pass"])
        gone.wait()
        dead = tmp_path / f".tensors-y.entry-{gone.pid}-abc.tmp"
        dead.write_bytes(b"partial")
        old = time.time() - 120  # older than the former 60 s limit: a long write of a live process
        os.utime(live, (old, old))
        DiskCache(tmp_path)
        assert live.exists() and not dead.exists()
    finally:
        writer.kill()
        writer.wait()


# ---------------------------------------------------------------------------------------
# 4. SemanticVectors as a container
# ---------------------------------------------------------------------------------------

def _sv(names=("1", "0", "zebra"), kind="classes"):
    v = torch.eye(3, 4)
    return SemanticVectors(vectors=v, rates=v.clone(), counts=torch.ones(3, dtype=torch.long),
                           dead=torch.zeros(3, dtype=torch.long), diversity=torch.zeros(3), names=list(names),
                           layer="fc1", kind=kind, model_name="toy")


def test_iteration_yields_names_and_indexing_is_unambiguous_by_type():
    sv = _sv()
    assert list(sv) == ["1", "0", "zebra"]
    assert "zebra" in sv and 0 not in sv
    assert torch.equal(sv[0], torch.eye(3, 4)[0])      # the int 0 is row 0 (named "1")
    assert torch.equal(sv["0"], torch.eye(3, 4)[1])    # the str "0" is the concept named "0"
    assert torch.equal(sv[-1], sv["zebra"])
    assert torch.equal(sv[np.int64(2)], sv["zebra"]) and torch.equal(sv[torch.tensor(1)], sv["0"])
    with pytest.raises(IndexError, match="row 3 is out of range for 3 concepts"):
        sv[3]
    with pytest.raises(KeyError, match="no concept named 'lion'"):
        sv["lion"]
    for bad in (1.0, True, slice(0, 2), ["zebra"]):
        with pytest.raises(TypeError, match="name \\(str\\) or a row \\(int\\)"):
            sv[bad]
    assert dict(zip(sv, sv.vectors))["zebra"] is not None


def test_keyword_construction_and_clear_errors():
    sv = _sv()
    assert repr(sv) == "SemanticVectors(3 concepts (classes) x 4 units at layer 'fc1', model 'toy')"
    assert repr(_sv(kind="")) == "SemanticVectors(3 concepts x 4 units at layer 'fc1', model 'toy')"
    with pytest.raises(TypeError, match="needs counts=, dead=, diversity="):
        SemanticVectors(vectors=sv.vectors, rates=sv.rates, names=sv.names, layer="fc1")
    with pytest.raises(TypeError, match="unknown field\\(s\\) rate"):
        SemanticVectors(vectors=sv.vectors, rate=sv.rates)
    args = (sv.vectors, sv.rates, sv.counts, sv.dead, sv.names, "fc1", sv.diversity)
    with pytest.raises(TypeError, match="by keyword only"):
        SemanticVectors(*args)


def test_save_and_load_keep_their_readable_format(tmp_path):
    sv = _sv()
    sv.save(tmp_path / "sv.pt")
    raw = torch.load(tmp_path / "sv.pt", weights_only=True)
    assert json.loads(raw["meta_json"])["names"] == ["1", "0", "zebra"]
    back = SemanticVectors.load(tmp_path / "sv.pt")
    assert list(back) == list(sv) and torch.equal(back.vectors, sv.vectors) and back.kind == "classes"


def test_every_public_method_has_numpydoc_sections():
    import inspect

    missing = []
    for name, obj in vars(SemanticVectors).items():
        if name.startswith("_") and name not in ("__init__", "__getitem__", "__iter__", "__len__", "__contains__"):
            continue
        fn = obj.__func__ if isinstance(obj, (classmethod, staticmethod)) else obj
        if isinstance(fn, property) or not callable(fn):
            continue
        doc = inspect.getdoc(fn) or ""
        params = [p for p in inspect.signature(fn).parameters if p not in ("self", "cls")]
        if name in ("__iter__", "__len__", "__contains__"):  # one-line protocol methods
            assert doc, name
            continue
        doc = doc if name != "__init__" else inspect.getdoc(SemanticVectors)
        if params and "Parameters\n----------" not in doc:
            missing.append(f"{name}: Parameters")
        if name != "__init__" and "Returns\n-------" not in doc:
            missing.append(f"{name}: Returns")
    assert not missing, missing


# ---------------------------------------------------------------------------------------
# 5. activation rates with dead samples
# ---------------------------------------------------------------------------------------

def test_rates_count_dead_samples_vectors_and_diversity_do_not():
    # concept 0: a unit active on 1 of its 3 samples, the other two dead; concept 1: no dead sample
    values = torch.tensor([[1.0, 0.0], [0.0, 0.0], [0.0, 0.0], [1.0, 1.0], [0.0, 2.0]])
    labels = torch.tensor([0, 0, 0, 1, 1])
    with pytest.warns(UserWarning, match="2 sample"):
        sv = SemanticVectors.from_features(values, labels, ["a", "b"], layer="l")
    assert sv.rates[0].tolist() == pytest.approx([1 / 3, 0.0])   # not 1.0: the dead samples are the concept's
    assert sv.rates[1].tolist() == pytest.approx([0.5, 1.0])
    assert sv.counts.tolist() == [1, 2] and sv.dead.tolist() == [2, 0]
    assert sv.vectors[0].tolist() == pytest.approx([1.0, 0.0])   # v_c over live samples only
    assert sv.diversity[0].item() == pytest.approx(0.0)
    a = torch.tensor([1.0, 1.0]) / 2 ** 0.5 + torch.tensor([0.0, 1.0])
    assert sv.diversity[1].item() == pytest.approx(1 - a.norm().item() / 2, abs=1e-6)
    assert not sv.mask(0.5)[0].any()                            # 1 of 3 images is not "most"
    notation = (PKG.parent / "book" / "notation.md").read_text()
    assert r"r_c = \frac{1}{N_c}" in notation and "dead" in notation


# ---------------------------------------------------------------------------------------
# 6. edit_study's fallback
# ---------------------------------------------------------------------------------------

class _Head(nn.Module):
    def __init__(self, skip=False, oom_above=None):
        super().__init__()
        torch.manual_seed(0)
        self.fc1, self.act, self.fc2, self.side = nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3), nn.Linear(6, 3)
        self.skip, self.oom_above = skip, oom_above

    def forward(self, x):
        z = x.flatten(1)
        h = self.act(self.fc1(z))
        if self.oom_above is not None and h.shape[0] > self.oom_above:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")
        out = self.fc2(h)
        return out + self.side(z) if self.skip else out


def _edit_data():
    g = torch.Generator().manual_seed(2)
    return torch.randn(12, 1, 2, 3, generator=g), torch.arange(12) % 3


def _edits():
    return {"mask": mask_edit(torch.rand(3, 8, generator=torch.Generator().manual_seed(1)) > 0.5),
            "zero": lambda h, y, p: torch.zeros_like(h)}


def test_the_fallback_is_announced_and_gives_the_one_pass_per_edit_numbers():
    x, y = _edit_data()
    with pytest.warns(UserWarning, match=r"cannot run the 2 edited copies stacked .*size of tensor.*one pass per edit"):
        a = edit_study(_Head(skip=True), (x, y), "act", _edits(), batch_size=6, progress=False)
    b = edit_study(_Head(skip=True), (x, y), "act", _edits(), batch_size=6, progress=False, stacked=False)
    for k in a.prob:
        np.testing.assert_array_equal(a.prob[k], b.prob[k])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no fallback, no warning
        edit_study(_Head(), (x, y), "act", _edits(), batch_size=6, progress=False)


def test_out_of_memory_and_errors_of_the_edits_are_not_taken_for_a_skip_connection():
    x, y = _edit_data()
    with pytest.raises(torch.OutOfMemoryError):  # the stacked batch (12 rows) runs out: said, not hidden
        edit_study(_Head(oom_above=6), (x, y), "act", _edits(), batch_size=6, progress=False)

    def broken(h, y, p):
        raise RuntimeError("a bug in the edit")

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(RuntimeError, match="a bug in the edit"):
            edit_study(_Head(), (x, y), "act", {"broken": broken}, batch_size=6, progress=False)
    assert editing._out_of_memory(RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried 9 GB"))
    assert not editing._out_of_memory(RuntimeError("The size of tensor a (12) must match the size of tensor b (6)"))


# ---------------------------------------------------------------------------------------
# 7. one standard error of the mean
# ---------------------------------------------------------------------------------------

def test_one_standard_error_of_the_mean():
    assert analysis.sem is metrics.sem and editing.sem is metrics.sem
    assert metrics.sem([1.0, 2.0, 3.0, 4.0]) == pytest.approx(np.sqrt(5 / 3) / 2)
    assert np.isnan(metrics.sem([1.0])) and np.isnan(metrics.sem([]))
    d = {k: np.array([0.1, 0.3, 0.2]) * (i + 1) for i, k in enumerate(editing.PerturbationResult.KEYS)}
    r = editing.PerturbationResult(0, 0, 0, 0, 0, 3, deltas=d, baseline=np.zeros(3))
    assert r.sem("sevec_mask") == metrics.sem(d["sevec_mask"])
    assert r.sem_diff == pytest.approx(metrics.sem(d["sevec_mask"] - d["associated_neuron"]))
    copies = [p.relative_to(PKG).as_posix() for p in PKG.rglob("*.py") if "ddof=1) / " in p.read_text()]
    assert copies == ["evaluation/metrics.py"]  # no second copy of the formula
