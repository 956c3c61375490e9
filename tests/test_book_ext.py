"""The book's Sphinx extensions (book/_ext): the execution statistics page reads each page's
stated times (a range, or a single time read as half to twice itself) and says in plain words
whether this build ran within them; mismatches go to the build log."""

from __future__ import annotations

import re
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


@pytest.mark.parametrize("text, want", [
    ("**Time**: about 20 minutes to read; 1-3 minutes to run on a 2-core laptop", (60, 180)),
    ("about 15 minutes to read; 10 to 40 seconds to run", (10, 40)),
    ("about 15 minutes to read; about 30 seconds to run", (15, 60)),
    ("nothing stated here", None),
])
def test_stated_range(text, want):
    assert X.stated_range(text) == want


def test_times_are_said_in_one_unit():
    assert X._say_range((60, 180), 180) == "1-3 min" and X._say_range((30, 120), 60) == "about 1 min"
    assert X._say_range((10, 40), 40) == "10-40 s" and X._say_range((30, 90), 90) == "30 s to 1.5 min"


def test_a_range_also_gives_its_upper_end_as_the_stated_time():
    assert X.stated_times("about 20 minutes to read; 1-3 minutes to run") == (1200, 180)


@pytest.mark.parametrize("measured, stated, want", [
    (171, 120, "within the stated time"), (240, 120, "within the stated time"), (60, 120, "within the stated time"),
    (480, 120, "slower than stated (2.0x its upper end)"), (30, 120, "faster than stated (0.5x its lower end)"),
    (100, (60, 180), "within the stated time"), (200, (60, 180), "slower than stated (1.1x its upper end)"),
    (10, None, "not stated"), (None, 30, "not measured"),
])
def test_verdict(measured, stated, want):
    assert X.verdict(measured, stated) == want
    assert X.mismatch(want) == want.startswith(("slower", "faster"))


def test_the_page_words_are_calm():
    """A published page reports; it does not shout (capitals) about the load of the machine
    that built it."""
    words = [X.verdict(m, s) for m, s in ((1, 100), (1000, 1), (5, 5), (1, None), (None, 1))]
    assert not any(re.search(r"[A-Z]{3,}", w) for w in words), words


def test_verdict_refuses_nonsense():
    with pytest.raises(ValueError, match="factor must be above 1"):
        X.verdict(1, 1, factor=1)
    with pytest.raises(ValueError, match="positive"):
        X.verdict(1, 0)


@pytest.mark.slow
def test_the_page_shows_each_executed_page_and_the_log_names_the_mismatch(tmp_path, monkeypatch):
    """A two-notebook Sphinx project: one page states 'about 1 second to run' and sleeps 3 s
    (slower than stated), one states '2-6 seconds to run' and sleeps 3 s (within). The page says
    so in plain words; the build log names the mismatch."""
    monkeypatch.delenv("SEVEC_SIZES", raising=False)
    src = tmp_path / "src"
    src.mkdir()
    head = ("---\njupytext:\n  text_representation:\n    format_name: myst\nkernelspec:\n  name: python3\n"
            "  display_name: Python 3\n---\n\n")
    (src / "slow.md").write_text(head + "# Slow\n\nAbout 5 minutes to read; about 1 second to run.\n\n"
                                 "```{code-cell} ipython3\nimport time; time.sleep(3)\n```\n")
    (src / "fair.md").write_text(head + "# Fair\n\nAbout 5 minutes to read; 2-6 seconds to run.\n\n"
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
    body = html[html.index("<tbody"):]
    rows = {name: body[body.index(f">{name}<"):][:body[body.index(f">{name}<"):].index("</tr>")]
            for name in ("Slow", "Fair")}
    assert "slower than stated" in rows["Slow"] and "within the stated time" in rows["Fair"], rows
    assert "2-6 s" in rows["Fair"] and "about 1 s" in rows["Slow"]
    assert not re.search(r"OFF BY|[A-Z]{4,}", re.sub(r"<[^>]+>", " ", html[html.index("<table"):])), \
        "the page shouts"
    assert "This build ran on" in html and "CPU core" in html and "10 min" in html   # the reading times add up
    assert "[exec-stats] MISMATCH slow: ran" in r.stdout, r.stdout[-2000:]
    assert "[exec-stats] fair: ran" in r.stdout


def test_the_glossary_renders_the_verdict_words_and_the_rules_changelog_from_the_rules(tmp_path):
    """The glossary's verdict words and changelog are the rules' own DEFINITIONS and CHANGELOG
    (book/_ext/rules_pages.py), never a retyped copy; the intro names all five words."""
    from sevec_helpers.book.claims.base import CHANGELOG, DEFINITIONS

    glossary = (ROOT / "book" / "glossary.md").read_text()
    assert "```{sevec-verdict-words}" in glossary and "```{sevec-rules-changelog}" in glossary
    intro = (ROOT / "book" / "intro.md").read_text()
    assert all(f"**{w}**" in intro for w in DEFINITIONS), "the intro names every verdict word"
    src = tmp_path / "src"
    src.mkdir()
    (src / "index.md").write_text("# Words\n\n```{sevec-verdict-words}\n```\n\n```{sevec-rules-changelog}\n```\n")
    (src / "conf.py").write_text(f"import sys\nsys.path.insert(0, {str(ROOT / 'book' / '_ext')!r})\n"
                                 "extensions = ['myst_parser', 'rules_pages']\n")
    out = tmp_path / "html"
    r = subprocess.run([sys.executable, "-m", "sphinx", "-q", "-b", "html", str(src), str(out)],
                       capture_output=True, text=True, timeout=300,
                       env={**__import__("os").environ, "PYTHONPATH": str(ROOT)})
    assert r.returncode == 0, r.stderr[-2000:]
    import html

    text = html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", (out / "index.html").read_text())))
    text = text.replace("\u2019", "'").replace("\u2018", "'").lower()
    for word, meaning in DEFINITIONS.items():
        assert word in text and meaning.split(",")[0][:40].lower() in text, word
    for version, what in CHANGELOG:
        assert f"rules {version}" in text and what[:30].lower() in text, version
