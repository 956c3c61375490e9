"""The package's layers import only downwards, with no cycle (imports inside functions count),
and no function moves the user's model: every entry point computes where the model lives."""

import ast
from pathlib import Path

import pytest
import torch

import sevec_helpers as sh
from sevec_helpers import features

PKG = Path(sh.__file__).parent

# layer of each top-level module (a package counts as one module)
LAYERS = {
    "_version": 0, "_io": 0, "_fingerprint": 0,
    "layers": 1, "features": 1, "accumulator": 1, "sevec": 1, "saliency": 1, "editing": 1, "pointing": 1,
    "localization": 1,
    "metrics": 1, "distributed": 1, "attribution": 1, "significance": 1,
    "models": 2, "world": 2, "data": 2, "photos": 2,
    "cache": 3, "profiles": 3, "train": 3,
    "analysis": 4, "scene_eval": 4, "claims": 4, "viz": 4, "widgets": 4, "sanity": 4, "concept_vectors": 4,
    "chapters": 5,
    "cli": 6, "__main__": 7,
}


def _module_of(path: Path) -> str:
    rel = path.relative_to(PKG)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def _imports(path: Path) -> set[str]:
    """Top-level sevec_helpers modules imported anywhere in the file (functions included)."""
    tree = ast.parse(path.read_text())
    pkg_parts = path.relative_to(PKG).parts[:-1]
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the file's package
                base = list(pkg_parts[: len(pkg_parts) - (node.level - 1)])
                target = base + (node.module.split(".") if node.module else [])
                if target:
                    out.add(target[0])
                else:  # "from . import x, y" at the top of the package: modules x and y
                    out |= {a.name for a in node.names}
            elif node.module and node.module.startswith("sevec_helpers"):
                parts = node.module.split(".")
                out |= {parts[1]} if len(parts) > 1 else {a.name for a in node.names}
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("sevec_helpers."):
                    out.add(a.name.split(".")[1])
    return out


def _graph() -> dict[str, set[str]]:
    g: dict[str, set[str]] = {}
    for path in PKG.rglob("*.py"):
        if path.name == "__init__.py" and path.parent == PKG:
            continue
        mod = _module_of(path)
        g.setdefault(mod, set()).update(m for m in _imports(path) if m != mod)
    return g


def test_every_module_has_a_layer():
    assert set(_graph()) <= set(LAYERS), f"modules without a layer: {set(_graph()) - set(LAYERS)}"


def test_imports_only_go_down():
    wrong = [(m, d) for m, deps in _graph().items() for d in deps if LAYERS[d] > LAYERS[m]]
    assert not wrong, f"imports against the layering (module -> imported): {wrong}"
    # the package facade: the core and the model registry (load_model), nothing of worlds or books
    allowed = {m for m, layer in LAYERS.items() if layer <= 1} | {"models"}
    init = _imports(PKG / "__init__.py")
    assert init <= allowed, f"sevec_helpers/__init__ imports {init - allowed}"


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
    from sevec_helpers import metrics, scene_eval

    monkeypatch.setattr(features, "default_device", lambda: torch.device("meta"))
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
    for method in sh.saliency.METHODS:
        assert sh.attribute(m, x[:2], y[:2], method, sevecs=sv).device.type == "cpu"
    metrics.accuracy(m, (x, y), 3)
    scenes = [(x[i], {"boxes": torch.tensor([[0, 0, 4, 4], [4, 4, 8, 8]]), "labels": torch.tensor([0, 1])})
              for i in range(2)]
    scene_eval.scene_metrics(m, scenes, sv, [0.0, 0.5], tolerance=1.0)
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
