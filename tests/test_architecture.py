"""The package's layers import only downwards, with no cycle (imports inside functions count),
and no function moves the user's model: every entry point computes where the model lives."""

import ast
import re
import sys
from pathlib import Path

import pytest
import torch

import sevec_helpers as sh
from sevec_helpers import _layout
from sevec_helpers.attribution import saliency
from sevec_helpers.core import inputs

PKG = Path(sh.__file__).parent


def _module_of(path: Path) -> str:
    """Dotted name of a package file, without the package: ``core.features``, ``cli``."""
    rel = path.relative_to(PKG).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def _layer(module: str) -> int:
    return _layout.layer_of(module.split(".")[0])


def _imports(path: Path) -> set[str]:
    """sevec_helpers modules (dotted, without the package) imported anywhere in the file
    (functions included); a name imported from a package counts as that package."""
    tree = ast.parse(path.read_text())
    here = _module_of(path).split(".") if path.name == "__init__.py" else _module_of(path).split(".")[:-1]
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[: len(here) - (node.level - 1)]
                mod = ".".join(base + (node.module.split(".") if node.module else []))
            elif node.module and (node.module == "sevec_helpers" or node.module.startswith("sevec_helpers.")):
                mod = node.module[len("sevec_helpers."):] if node.module != "sevec_helpers" else ""
            else:
                continue
            for a in node.names:
                sub = f"{mod}.{a.name}" if mod else a.name
                is_mod = (PKG / sub.replace(".", "/")).with_suffix(".py").is_file() or (PKG / sub.replace(".", "/")).is_dir()
                out.add(sub if is_mod else mod)
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("sevec_helpers."):
                    out.add(a.name[len("sevec_helpers."):])
    out.discard("")
    return out


def _graph() -> dict[str, set[str]]:
    g: dict[str, set[str]] = {}
    for path in PKG.rglob("*.py"):
        if path.parent == PKG and path.name == "__init__.py":
            continue
        mod = _module_of(path)
        g.setdefault(mod, set()).update(m for m in _imports(path) if m != mod)
    return g


def test_the_folders_are_the_layers():
    """Every file of the package lives in a layer's folder (or is one of the few top-level modules)."""
    names = {name for name, _ in _layout.LAYERS}
    for path in PKG.rglob("*.py"):
        top = path.relative_to(PKG).parts[0].removesuffix(".py")
        assert top in names or top in _layout.TOP_LEVEL or top == "__init__", \
            f"{path.relative_to(PKG)} is in no layer: move it into one of {sorted(names)}"
    # the one list is the one the package docstring prints
    for name, what in _layout.LAYERS:
        assert f"``{name}``: {what}" in sh.__doc__
    # and the modules each layer's description names exist in its folder
    for name, what in _layout.LAYERS:
        for mod in re.findall(r"``(\w+)``", what):
            if mod in ("SemanticVectors", "sevec", name):
                continue
            assert (PKG / name / f"{mod}.py").is_file() or (PKG / name / mod).is_dir(), \
                f"_layout names {name}.{mod}, which does not exist"


def test_imports_only_go_down():
    wrong = [(m, d) for m, deps in _graph().items() for d in deps if _layer(d) > _layer(m)]
    assert not wrong, f"imports against the layering (module -> imported): {wrong}"
    # the package facade: everything below the book (the method, its evaluation and the model registry)
    init = _imports(PKG / "__init__.py")
    book = _layout.layer_of("book")
    assert all(_layer(m) < book for m in init), f"sevec_helpers/__init__ imports {init}"


def test_no_import_cycle():
    g = _graph()
    state: dict[str, int] = {}

    def visit(m, stack):
        state[m] = 1
        for d in g.get(m, ()):
            if state.get(d) == 1:
                raise AssertionError(f"import cycle: {' -> '.join(stack + [m, d])}")
            if state.get(d) is None:
                visit(d, stack + [m])
        state[m] = 2

    for m in g:
        if m not in state:
            visit(m, [])


def test_the_layer_test_sees_a_wrong_import(tmp_path, monkeypatch):
    """The checker itself: a core module importing the book is caught."""
    fake = tmp_path / "sevec_helpers"
    (fake / "core").mkdir(parents=True)
    (fake / "book").mkdir()
    (fake / "core" / "x.py").write_text("from sevec_helpers.book import claims\n")
    (fake / "book" / "claims.py").write_text("")
    (fake / "__init__.py").write_text("")
    monkeypatch.setattr(sys.modules[__name__], "PKG", fake)
    g = _graph()
    assert g["core.x"] == {"book.claims"} and _layer("book.claims") > _layer("core.x")


class _Pinned(torch.nn.Module):
    """A small rectifier CNN that refuses to be moved."""

    def __init__(self):
        super().__init__()
        self.features = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU(),
                                            torch.nn.MaxPool2d(2))
        self.classifier = torch.nn.Sequential(torch.nn.Linear(4 * 4 * 4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))

    def forward(self, x):
        return self.classifier(self.features(x).flatten(1))

    def to(self, *a, **k):
        raise AssertionError("the library moved the model")

    cuda = cpu = to


def test_entry_points_compute_where_the_model_lives(monkeypatch):
    """With the default device pointing elsewhere ('meta', where nothing can be computed), every
    entry point still computes on the model's device (the CPU here) and never moves the model."""
    from sevec_helpers.evaluation import localization, metrics

    monkeypatch.setattr(inputs, "default_device", lambda: torch.device("meta"))
    torch.manual_seed(0)
    m = _Pinned()
    x = torch.randn(12, 3, 8, 8)
    y = torch.arange(12) % 3
    seen = []
    m.features[0].register_forward_pre_hook(lambda mod, inp: seen.append(inp[0].device.type))
    f = sh.extract_features(m, (x, y), "classifier.1", progress=False)
    sv = sh.fit_sevecs(m, (x, y), "features.2", progress=False, allow_empty=True)
    sv1 = sh.fit_sevecs(m, (x, y), "classifier.1", progress=False, allow_empty=True)
    sh.perturbation_study(m, (x, y), sv1, progress=False)
    for method in saliency.METHODS:
        assert sh.attribute(m, x[:2], y[:2], method, sevecs=sv).device.type == "cpu"
    metrics.accuracy(m, (x, y), 3)
    scenes = [(x[i], {"boxes": torch.tensor([[0, 0, 4, 4], [4, 4, 8, 8]]), "labels": torch.tensor([0, 1])})
              for i in range(2)]
    localization.scene_metrics(m, scenes, sv, [0.0, 0.5], tolerance=1.0)
    assert f.values.device.type == "cpu" and set(seen) == {"cpu"}


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_inputs_go_to_the_models_device_on_a_gpu():
    m = _Pinned()
    torch.nn.Module.to(m, "cuda")
    x, y = torch.randn(6, 3, 8, 8), torch.arange(6) % 3
    seen = []
    m.features[0].register_forward_pre_hook(lambda mod, inp: seen.append(inp[0].device.type))
    sv = sh.fit_sevecs(m, (x, y), "features.2", progress=False, allow_empty=True)
    a = sh.guided_backprop(m, x, y, sevecs=sv)
    assert set(seen) == {"cuda"} and a.device.type == "cpu"  # back on the input's device
