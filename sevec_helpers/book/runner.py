"""Running a chapter's notebook headless: the one copy of the method judges every network.

Each chapter's method is written once, in the visible code cells of its notebook
(``notebooks/NN_name.md``). To judge the same claims on another network or testbed, this
module runs those very cells in a fresh namespace with other parameters (``profile=``,
``network=``), without the presentation: what a reader sees is what judges every network.

What a headless run skips (:func:`is_presentation`), nothing else:

- cells tagged ``remove-cell`` (the Colab install cell) or ``remove-output`` (live widgets);
- figure cells (their ``mystnb: figure:`` metadata);
- cells that only show things: every statement a bare call of the chapter's presentation
  module (``ch.*``), of the figures (``viz.*``) or of ``print`` / ``display``.

Such cells assign no names (``tests/test_runner.py`` checks every chapter), so no later cell
can depend on them. The parameters cell is replaced by the run's parameters; ``networks=[]``
stops a headless run from judging further networks itself. The chapter's record is the
``rec`` its last cells build and save.

The notebooks' sources are found beside the package in a checkout (``notebooks/``), or inside
an installed wheel (``sevec_helpers/book/notebooks/``, copied there when the wheel is built).
"""

from __future__ import annotations

import ast
import contextlib
import io
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

CHAPTERS = ("01_semantic_vectors", "02_validating_sevecs", "03_concept_hierarchy", "04_multifacetedness",
            "05_concept_relations", "06_semantic_saliency", "07_pointing_game", "08_real_network",
            "09_beyond_the_paper")
"""The chapters in reading order (the summary excluded)."""

PAPER_CHAPTERS = CHAPTERS[:7]
"""The chapters that judge the paper's claims (08 and 09 report checks of our own only)."""

SKIP_TAGS = ("remove-cell", "remove-output")
PRESENTATION_CALLS = ("ch", "viz", "print", "display")
"""Names whose bare calls make a cell presentation only (see :func:`is_presentation`)."""

_CELL = re.compile(r"^```\{code-cell\}[^\n]*\n(.*?)^```[ \t]*$", re.S | re.M)


@dataclass
class Cell:
    """One code cell of a MyST notebook: its source, tags and metadata."""

    index: int
    source: str
    tags: tuple = ()
    metadata: dict = field(default_factory=dict)

    @property
    def is_parameters(self) -> bool:
        return "parameters" in self.tags


def notebooks_dir() -> Path:
    """Where the chapters' MyST sources are: the wheel's copy, else the checkout's ``notebooks/``.

    Raises
    ------
    FileNotFoundError
        When neither exists (a broken install), naming both places.
    """
    here = Path(__file__).resolve().parent
    for d in (here / "notebooks", here.parents[1] / "notebooks"):
        if (d / f"{CHAPTERS[0]}.md").is_file():
            return d
    raise FileNotFoundError(f"the chapters' notebooks are in neither {here / 'notebooks'} (an installed wheel) nor "
                            f"{here.parents[1] / 'notebooks'} (a checkout): reinstall sevec-helpers from the repository")


def read_cells(chapter: str, source_dir: str | os.PathLike | None = None) -> list[Cell]:
    """The code cells of ``chapter``'s MyST notebook, in order.

    Parameters
    ----------
    chapter : str
        A notebook name, e.g. ``"02_validating_sevecs"``.
    source_dir : path-like, optional
        Folder of the ``.md`` sources (default :func:`notebooks_dir`).

    Returns
    -------
    list of Cell
    """
    d = Path(source_dir) if source_dir is not None else notebooks_dir()
    path = d / f"{chapter}.md"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in d.glob("[0-9]*.md")))
        raise FileNotFoundError(f"no notebook {chapter!r} in {d}; the chapters are {known}")
    text = path.read_text()
    if text.startswith("---\n"):                       # the file's own front matter
        text = text[text.index("\n---\n", 4) + 5:]
    cells = []
    for i, m in enumerate(_CELL.finditer(text)):
        body, front, tags = m.group(1), "", ()
        if body.startswith("---\n"):
            end = body.index("\n---\n", 4)
            front, body = body[4:end], body[end + 5:]
        while body.startswith(":"):
            line, _, body = body.partition("\n")
            front += "\n" + line[1:]
        tag_line = re.search(r"^\s*tags:\s*\[([^\]]*)\]", front, re.M)
        if tag_line:
            tags = tuple(t.strip().strip("'\"") for t in tag_line.group(1).split(",") if t.strip())
        meta = {"front": front, "figure": bool(re.search(r"^\s+figure:", front, re.M))}
        cells.append(Cell(i, body, tags, meta))
    return cells


def is_presentation(cell: Cell) -> bool:
    """Whether a headless run skips ``cell`` (see the module's docstring for the rule)."""
    if any(t in cell.tags for t in SKIP_TAGS) or cell.metadata.get("figure"):
        return True
    try:
        tree = ast.parse(_python(cell.source))
    except SyntaxError:
        return False
    if not tree.body:
        return False
    for node in tree.body:
        call = node.value if isinstance(node, ast.Expr) else None
        if not isinstance(call, ast.Call):
            return False
        f = call.func
        while isinstance(f, ast.Attribute):
            f = f.value
        if not (isinstance(f, ast.Name) and f.id in PRESENTATION_CALLS):
            return False
    return True


def assigned_names(cell: Cell) -> set[str]:
    """Names a cell binds in the notebook's namespace (assignments, imports, loops,
    definitions; not a comprehension's own variables), for the runner's test."""
    out: set[str] = set()

    def visit(node):
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp, ast.Lambda)):
            return                                   # their variables live in their own scope
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            out.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            out.add(node.name)
            return
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            out.update((a.asname or a.name).split(".")[0] for a in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(_python(cell.source)))
    return out


def _python(source: str) -> str:
    """A cell's source as plain Python (an IPython magic becomes ``pass``, indentation kept)."""
    return "\n".join((line[: len(line) - len(line.lstrip())] + "pass  # " + line.lstrip())
                     if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())


class ChapterError(RuntimeError):
    """A chapter's cell failed in a headless run; the message names the chapter, cell and network."""


def run_chapter(chapter: str, *, profile: str = "world", network=None, sizes: dict | None = None, device=None,
                cache_dir=None, results_dir=None, networks=(), source_dir=None, quiet: bool = True) -> dict:
    """Run ``chapter``'s notebook headless on one network and return its namespace.

    Parameters
    ----------
    chapter : str
        A notebook name of :data:`CHAPTERS`.
    profile : str
        The profile (testbed) to run on, as in :func:`sevec_helpers.book.profiles.study`.
    network : str or path-like, optional
        One of the profile's networks (e.g. ``"vgg_mini_seed2"``, ``"efficientnet_lite1"``) or
        a network file of ``python -m sevec_helpers.sources.train``; ``None``: the profile's own.
    sizes, device, cache_dir, results_dir
        The notebook's parameters of the same names (``results_dir=None`` saves nothing:
        records go to a temporary folder that is removed).
    networks : sequence or None
        The notebook's ``networks`` parameter: where else the run judges the chapter (default
        none: a headless run never starts more runs; ``None``: the book's testbeds).
    source_dir : path-like, optional
        Where the notebooks are (default :func:`notebooks_dir`).
    quiet : bool
        Swallow what the cells print (it is shown if a cell fails).

    Returns
    -------
    dict
        The namespace after the last cell; its ``rec`` is the chapter's record.

    Raises
    ------
    ChapterError
        When a cell fails, naming the chapter, the cell and the network, with its output.
    """
    import tempfile

    cells = read_cells(chapter, source_dir)
    tmp = None
    if results_dir is None:
        tmp = tempfile.TemporaryDirectory(prefix="sevec-results-")
        results_dir = tmp.name
    params = dict(profile=profile, network=network, sizes=dict(sizes or {}), device=device,
                  cache_dir=cache_dir, results_dir=str(results_dir), networks=None if networks is None else list(networks))
    ns: dict = {"__name__": f"sevec_chapter_{chapter}"}
    try:
        for cell in cells:
            if cell.is_parameters:
                exec(compile(_python(cell.source), f"<{chapter} parameters>", "exec"), ns)
                ns.update(params)
                continue
            if is_presentation(cell):
                continue
            out = io.StringIO()
            try:
                code = compile(_python(cell.source), f"<{chapter} cell {cell.index}>", "exec")
                with contextlib.redirect_stdout(out) if quiet else contextlib.nullcontext():
                    exec(code, ns)
            except Exception as e:
                where = f"{profile}" + (f", network {network}" if network is not None else "")
                raise ChapterError(f"{chapter}, cell {cell.index} ({where}) failed: {type(e).__name__}: {e}\n"
                                   f"--- the cell ---\n{cell.source}\n--- its output ---\n{out.getvalue()}") from e
    finally:
        if tmp is not None:
            tmp.cleanup()
    return ns


def record_of(chapter: str, **kw):
    """The :class:`~sevec_helpers.book.records.Record` of :func:`run_chapter` (its ``rec``)."""
    ns = run_chapter(chapter, **kw)
    if "rec" not in ns:
        raise ChapterError(f"{chapter} built no record (no `rec` after its last cell)")
    return ns["rec"]


def parse_network(entry, default_profile: str) -> tuple[str, str]:
    """``"photos:efficientnet_lite1"`` -> ("photos", "efficientnet_lite1"); a bare name or a
    network file belongs to ``default_profile``."""
    s = str(entry)
    head, sep, rest = s.partition(":")
    from sevec_helpers.book.profiles import PROFILES

    if sep and head in PROFILES:
        return head, rest
    return default_profile, s


class Judged(dict):
    """``{"profile:network": Record}`` of :func:`judge`, with ``skipped``: profile -> why it could
    not run here (e.g. the photo testbed's files were not fetched)."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.skipped: dict[str, str] = {}


def judge(chapter: str, study, networks=None, *, results_dir=None, progress=None) -> Judged:
    """``chapter`` judged headless on other networks (its own cells, see :func:`run_chapter`).

    Parameters
    ----------
    chapter : str
        The notebook's name.
    study : Study
        The chapter's own study: its profile, network, sizes, device and cache are used,
        and its own (profile, network) is skipped.
    networks : sequence, optional
        Entries ``"profile:network"`` (or a bare network of the study's profile, or a
        network file); default every network of the book's testbeds
        (:func:`sevec_helpers.book.profiles.book_networks`). ``[]``: none.
    results_dir : path-like, optional
        Where each record is saved (``results_dir/<profile>/<network>/<chapter>.json``).
    progress : callable, optional
        Called with one line per network and its time (default: silent).

    Returns
    -------
    Judged
        ``{"profile:network": Record}`` in order; ``.skipped`` names each testbed that could
        not run here, and why.
    """
    from sevec_helpers.book import profiles
    from sevec_helpers.book.records import network_list

    entries = profiles.book_networks() if networks is None else network_list(networks)
    own = (study.profile, study.network)
    out = Judged()
    for entry in entries:
        prof, net = parse_network(entry, study.profile)
        if (prof, profiles.network_name(net)) == own:
            continue
        if not profiles.available(prof):
            out.skipped[prof] = profiles.unavailable_reason(prof)
            if progress:
                progress(f"{chapter} on {prof}:{net}: skipped ({out.skipped[prof]})")
            continue
        t = time.perf_counter()
        sizes = study.sizes_given if prof == study.profile else None
        profiles.prefit(profiles.study(prof, network=net, sizes=sizes, device=study.device,
                                       cache_dir=study.cache.root))
        rec = record_of(chapter, profile=prof, network=net, sizes=sizes, device=study.device,
                        cache_dir=study.cache.root, results_dir=results_dir)
        out[f"{prof}:{rec.network}"] = rec
        if progress:
            progress(f"{chapter} on {prof}:{rec.network}: {time.perf_counter() - t:.0f} s")
    return out
