"""The project's promises: pyproject and environment.yml agree; README and CI use one test command."""

import re
from pathlib import Path

import tomllib
import yaml

ROOT = Path(__file__).resolve().parents[1]


def _name(req: str) -> str:
    return re.split(r"[<>=!~\[ ;]", req.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _spec(req: str) -> str:
    return req.strip().replace(" ", "")[len(_name(req)):]


def test_environment_mirrors_pyproject():
    py = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {}
    for req in py["dependencies"] + [r for extra in py["optional-dependencies"].values() for r in extra]:
        if _name(req) != "sevec-helpers":   # an extra that includes another extra
            wanted[_name(req)] = _spec(req)
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    have = {}
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            for req in dep["pip"]:
                if not req.startswith("-e"):
                    have[_name(req)] = _spec(req)
        elif _name(dep) not in ("python", "pip"):
            have[_name(dep)] = _spec(dep)
    missing = sorted(set(wanted) - set(have))
    extra = sorted(set(have) - set(wanted))
    assert not missing and not extra, f"environment.yml lacks {missing}, has extra {extra}"
    differ = {k: (wanted[k], have[k]) for k in wanted if wanted[k] != have[k]}
    assert not differ, f"version ranges differ (pyproject, environment.yml): {differ}"


def test_readme_starts_with_two_commands_and_ci_runs_the_test_one():
    lines = [ln.strip() for ln in (ROOT / "README.md").read_text().splitlines()]
    cmds = [ln for ln in lines if ln.startswith("bash ")]
    assert len(cmds) >= 2
    book, test = cmds[0], cmds[1]
    assert "book" in book and "test" in test
    ci = (ROOT / ".ci" / "run").read_text()
    assert test.split("#")[0].strip() in ci
