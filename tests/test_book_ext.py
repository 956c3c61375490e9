"""The book's Sphinx extensions (book/_ext): the execution statistics page reads each page's
stated times and flags a measured run time off by more than 2x."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "book" / "_ext"))
import exec_stats as X  # noqa: E402


@pytest.mark.parametrize("text, want", [
    ("**Time**: about 20 minutes to read; about 30 seconds to run on a 2-core laptop (a minute\nmore)", (1200, 30)),
    ("**Time**: about 15 minutes to read; about 2 minutes to run", (900, 120)),
    ("about 30 minutes to read; about a minute to run the first time (the scene pass", (1800, 60)),
    ("about 15 minutes to read; about 20\nseconds to run (once the SeVecs are cached).", (900, 20)),
    ("about half a minute to run", (None, 30)),
    ("about 1.5 minutes to run", (None, 90)),
    ("nothing stated here; it runs in 3 minutes", (None, None)),
])
def test_stated_times(text, want):
    assert X.stated_times(text) == want


def test_only_the_first_statement_counts():
    assert X.stated_times("about 2 minutes to run; later: about 10 minutes to run") == (None, 120)


@pytest.mark.parametrize("measured, stated, want", [
    (171, 120, "within 2x"), (240, 120, "within 2x"), (60, 120, "within 2x"),
    (241, 120, "OFF BY MORE THAN 2x"), (59, 120, "OFF BY MORE THAN 2x"),
    (10, None, "not stated"), (None, 30, "not measured"),
])
def test_verdict(measured, stated, want):
    assert X.verdict(measured, stated) == want


def test_verdict_refuses_nonsense():
    with pytest.raises(ValueError, match="factor must be above 1"):
        X.verdict(1, 1, factor=1)
    with pytest.raises(ValueError, match="positive"):
        X.verdict(1, 0)


@pytest.mark.slow
def test_the_page_shows_each_executed_page_and_flags_the_slow_one(tmp_path, monkeypatch):
    """A two-notebook Sphinx project: one page states 'about 1 second to run' and sleeps 3 s
    (flagged), one states 'about 3 seconds to run' and sleeps 3 s (within 2x)."""
    monkeypatch.delenv("SEVEC_SIZES", raising=False)
    src = tmp_path / "src"
    src.mkdir()
    head = ("---\njupytext:\n  text_representation:\n    format_name: myst\nkernelspec:\n  name: python3\n"
            "  display_name: Python 3\n---\n\n")
    (src / "slow.md").write_text(head + "# Slow\n\nAbout 5 minutes to read; about 1 second to run.\n\n"
                                 "```{code-cell} ipython3\nimport time; time.sleep(3)\n```\n")
    (src / "fair.md").write_text(head + "# Fair\n\nAbout 5 minutes to read; about 3 seconds to run.\n\n"
                                 "```{code-cell} ipython3\nimport time; time.sleep(3)\n```\n")
    (src / "index.md").write_text("# Stats\n\n```{toctree}\nslow\nfair\n```\n\n```{sevec-exec-table}\n```\n")
    (src / "conf.py").write_text(f"import sys\nsys.path.insert(0, {str(ROOT / 'book' / '_ext')!r})\n"
                                 "extensions = ['myst_nb', 'exec_stats']\nnb_execution_mode = 'force'\n"
                                 "nb_execution_raise_on_error = True\n")
    out = tmp_path / "html"
    r = subprocess.run([sys.executable, "-m", "sphinx", "-b", "html", str(src), str(out)],
                       capture_output=True, text=True, timeout=300,
                       env={**__import__("os").environ, "PYTHONPATH": str(ROOT)})
    assert r.returncode == 0, r.stderr[-3000:]
    html = (out / "index.html").read_text()
    assert html.count('class="sevec-exec-flag') == 1, html[-3000:]
    flagged = html[html.index('class="sevec-exec-flag'):]
    flagged = flagged[:flagged.index("</tr>")]
    assert "Slow" in flagged and "OFF BY MORE THAN 2x" in flagged and "Fair" not in flagged
    assert "within 2x" in html and "10 min" in html   # the reading times add up
    assert "[exec-stats] slow: ran" in r.stdout and "OFF BY MORE THAN 2x" in r.stdout, r.stdout[-2000:]
    assert "[exec-stats] fair: ran" in r.stdout
