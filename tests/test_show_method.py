"""Chapters show their method (issue 18): every verdict a chapter prints is computed in
visible code from the public library, never only by a chapter-module call.

How "visible" and "computed from the public library" are defined here:

- A chapter's *visible code* is every code cell of its MyST source except the parameters
  cell, the Colab install cell and cells tagged ``remove-cell``, ``remove-input`` or
  ``hide-input`` (what a reader of the static book cannot see).
- A *verdict call* is a call of a rule of :mod:`sevec_helpers.book.claims` (a function annotated
  to return a ``Verdict``), through the module (``claims.table1(...)``, ``C.table1(...)``)
  or a name imported from it.
- Its *inputs* are followed backwards through the visible cells: every name an argument
  uses, to every assignment of that name (``=``, ``+=``, ``for`` and ``with`` targets,
  comprehension targets, functions defined in the notebook), and so on until nothing new is
  found.
- Those inputs must include at least one *method call*: a call of the top-level public API
  (``sh.<name>(...)``) or of a core or data-source module of ``sevec_helpers``
  (``sevec_helpers.<layer>.<module>.<name>(...)`` of a layer below the book, however imported), or a method of a value
  computed by one (``sv.retrieve(...)`` where ``sv = sh.fit_sevecs(...)``).
- They must pass through no call of a chapter module (anything imported from
  ``sevec_helpers.book.chapters``): presentation may sit beside the method, never in its path.

Chapter 08 tests none of the paper's claims: its own checks (``claims.Check(...)``) are held
to the same rule.
"""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import pytest

from sevec_helpers.book import claims

ROOT = Path(__file__).resolve().parents[1]
NB = ROOT / "notebooks"
CHAPTERS = sorted(p.stem for p in NB.glob("0[1-8]_*.md"))
HIDDEN_TAGS = ("remove-cell", "remove-input", "hide-input", "parameters")

# the layers whose functions are the method (sevec_helpers._layout); the book layer above them
# is profiles, verdict rules and presentation
METHOD_LAYERS = {"core", "sevecs", "attribution", "evaluation", "sources"}
RULES = {name for name, fn in inspect.getmembers(claims, inspect.isfunction)
         if fn.__module__.startswith(claims.__name__ + ".") and "Verdict" in str(inspect.signature(fn).return_annotation)}


def visible_cells(md_text: str) -> list[str]:
    cells = []
    for header, body in re.findall(r"```\{code-cell\}([^\n]*)\n(.*?)```", md_text, flags=re.S):
        lines = body.splitlines()
        meta = ""
        if lines and lines[0].strip() == "---":
            end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
            meta, lines = "\n".join(lines[1:end]), lines[end + 1:]
        while lines and lines[0].lstrip().startswith(":"):     # :tags: [...] short form
            meta += "\n" + lines.pop(0)
        if any(t in meta for t in HIDDEN_TAGS):
            continue
        code = "\n".join(lines)
        if "google.colab" in code:
            continue
        cells.append(code)
    return cells


def _strip_magics(code: str) -> str:
    return "\n".join("pass" if ln.lstrip().startswith(("%", "!")) else ln for ln in code.splitlines())


class Program:
    """The visible cells of one chapter, as one program: imports, assignments, calls."""

    def __init__(self, cells: list[str]):
        self.tree = ast.parse("\n\n".join(_strip_magics(c) for c in cells))
        self.aliases: dict[str, str] = {}       # local name -> "sevec_helpers[.module[.name]]"
        self.defs: dict[str, list[ast.AST]] = {}
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    if a.name.startswith("sevec_helpers"):
                        self.aliases[a.asname or a.name.split(".")[0]] = a.name if a.asname else "sevec_helpers"
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sevec_helpers"):
                for a in node.names:
                    self.aliases[a.asname or a.name] = f"{node.module}.{a.name}"
            elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for t in targets:
                    for n in self._names(t):
                        self.defs.setdefault(n, []).append(node.value)
            elif isinstance(node, (ast.For, ast.comprehension)):
                for n in self._names(node.target):
                    self.defs.setdefault(n, []).append(node.iter)
            elif isinstance(node, ast.withitem) and node.optional_vars is not None:
                for n in self._names(node.optional_vars):
                    self.defs.setdefault(n, []).append(node.context_expr)
            elif isinstance(node, ast.FunctionDef):
                self.defs.setdefault(node.name, []).append(node)
            elif isinstance(node, ast.NamedExpr):
                self.defs.setdefault(node.target.id, []).append(node.value)

    @staticmethod
    def _names(target) -> list[str]:
        return [n.id for n in ast.walk(target) if isinstance(n, ast.Name)]

    def origin(self, func: ast.AST) -> str | None:
        """What a called expression resolves to ("sevec_helpers.book.chapters.validating_sevecs.table1", ...)."""
        parts = []
        while isinstance(func, ast.Attribute):
            parts.append(func.attr)
            func = func.value
        if isinstance(func, ast.Name) and func.id in self.aliases:
            return ".".join([self.aliases[func.id]] + parts[::-1])
        return None

    def is_chapter(self, call: ast.Call) -> bool:
        o = self.origin(call.func)
        return o is not None and o.startswith("sevec_helpers.book.chapters")

    def is_method(self, call: ast.Call) -> bool:
        o = self.origin(call.func)
        if o is None:
            return False
        parts = o.split(".")
        if len(parts) == 2:                     # sh.fit_sevecs
            return not o.startswith("sevec_helpers.book.chapters")
        return parts[1] in METHOD_LAYERS        # sevec_helpers.attribution.saliency.attribute, A.precision_at_k, ...

    def is_rule(self, call: ast.Call, rules=RULES) -> bool:
        o = self.origin(call.func)
        return o is not None and o.startswith("sevec_helpers.book.claims.") and o.rsplit(".", 1)[1] in rules

    def closure(self, node: ast.AST) -> list[ast.Call]:
        """Every call in ``node`` and in the definitions of every name it uses, transitively."""
        calls, seen, todo = [], set(), [node]
        while todo:
            n = todo.pop()
            for sub in ast.walk(n):
                if isinstance(sub, ast.Call):
                    calls.append(sub)
                if isinstance(sub, ast.Name) and sub.id not in seen:
                    seen.add(sub.id)
                    todo.extend(self.defs.get(sub.id, []))
        return calls

    def rule_calls(self, rules=RULES) -> list[ast.Call]:
        return [n for n in ast.walk(self.tree) if isinstance(n, ast.Call) and self.is_rule(n, rules)]


def _inputs(call: ast.Call) -> ast.AST:
    return ast.Tuple(elts=list(call.args) + [k.value for k in call.keywords], ctx=ast.Load())


@pytest.mark.parametrize("name", CHAPTERS)
def test_verdict_inputs_are_visible_public_api_code(name):
    prog = Program(visible_cells((NB / f"{name}.md").read_text()))
    calls = prog.rule_calls() or (prog.rule_calls({"Check"}) if name.startswith("08") else [])
    assert calls, f"{name}: no visible call of a verdict rule (claims.<rule>(...)); the verdicts are computed out of sight"
    for call in calls:
        where = f"{name} line {call.lineno}: {ast.unparse(call)[:90]}"
        path = prog.closure(_inputs(call))
        hidden = [ast.unparse(c.func) for c in path if prog.is_chapter(c)]
        assert not hidden, f"{where}\n  its inputs pass through chapter-module calls {sorted(set(hidden))}"
        assert any(prog.is_method(c) for c in path), \
            f"{where}\n  its inputs reach no call of the public library (sh.<name>(...) or a core module)"


@pytest.mark.parametrize("name", CHAPTERS)
def test_chapter_calls_the_library_visibly(name):
    prog = Program(visible_cells((NB / f"{name}.md").read_text()))
    method = {prog.origin(n.func) for n in ast.walk(prog.tree) if isinstance(n, ast.Call) and prog.is_method(n)}
    assert len(method) >= 3, f"{name}: only {sorted(method)} of the library's method are called visibly"


# ---------------------------------------------------------------------------------------
# the checker itself, on hand-written chapters
# ---------------------------------------------------------------------------------------


def _cell(code: str, tags: str = "") -> str:
    return f"```{{code-cell}} ipython3\n{tags}{code}\n```\n"


GOOD = (_cell("import sevec_helpers as sh\nfrom sevec_helpers.book import claims\nfrom sevec_helpers.evaluation import stats as A\n"
              "from sevec_helpers.book.chapters import validating_sevecs as ch")
        + _cell("sv = sh.fit_sevecs(model, data, layer='fc1')\nf = sh.extract_features(model, hold, 'fc1')\n"
                "prec = A.precision_at_k(sv, f.values, rel, 8)\nm, lo, hi = A.bootstrap_mean(prec)")
        + _cell("v = claims.retrieval('fig1', 'classes', m, lo, hi, 0.1)\nch.show(v)"))
HIDDEN = (_cell("import sevec_helpers as sh\nfrom sevec_helpers.book import claims\n"
                "from sevec_helpers.book.chapters import validating_sevecs as ch")
          + _cell("sv = sh.fit_sevecs(model, data, layer='fc1')\nt1 = ch.table1(study)")
          + _cell("v = claims.table1(t1.mean, t1.sem, t1.sem_diff)"))
COLLAPSED = (_cell("import sevec_helpers as sh\nfrom sevec_helpers.book import claims")
             + _cell("r = sh.perturbation_study(model, hold, sv)\nv = claims.table1(r.mean, r.sem, r.sem_diff)",
                     ":tags: [remove-input]\n"))


def test_checker_accepts_a_visible_method_and_refuses_hidden_ones():
    good = Program(visible_cells(GOOD))
    (call,) = good.rule_calls()
    path = good.closure(_inputs(call))
    assert any(good.is_method(c) for c in path) and not any(good.is_chapter(c) for c in path)

    hidden = Program(visible_cells(HIDDEN))
    (call,) = hidden.rule_calls()
    assert any(hidden.is_chapter(c) for c in hidden.closure(_inputs(call)))

    assert Program(visible_cells(COLLAPSED)).rule_calls() == []   # a collapsed cell is not shown
    assert {"table1", "retrieval", "table2", "discriminative", "pointing"} <= RULES
