"""The published book as a reader meets it: every page of the small build opened in headless
Chromium (Debian's package, driven by Playwright through ``executable_path``), served on
127.0.0.1, with every request that would leave the machine blocked and recorded.

The small build (``scripts/build_book.sh --small``: every chapter executed at the CI sizes) is
made first when it is missing or older than the sources. Screenshots of every page at 1280 px
and at 390 px (``screenshots/1280/``, ``screenshots/390/``) and a JSON report of load times
and page weights are written to ``_build/small/``.

``SEVEC_BROWSER_BOOK=_build`` checks another build instead (e.g. the full book of
``scripts/build_book.sh``, whose HTML is in ``_build/html``); it is used as it is, never rebuilt,
and the screenshots and report go to that folder.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import sys
import time
from pathlib import Path
from urllib.parse import unquote, urljoin, urlparse

import pytest

pytestmark = pytest.mark.slow   # every page of the small build, in Chromium
import smallbook  # noqa: E402  (tests/smallbook.py: the shared small build)
import yaml

ROOT = smallbook.ROOT
_OTHER = smallbook.OTHER
SMALL = smallbook.SMALL
HTML = smallbook.HTML
SHOTS = SMALL / "screenshots"
sys.path.insert(0, str(ROOT / "scripts"))

MIN_TEXT_PX = 9.0
PAGE_BUDGET = 1.5e6        # bytes, a page without an interactive view, with its assets
SITE_BUDGET = 25e6         # bytes, the whole site
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
SKIP_PAGES = {"genindex.html", "search.html"}
REFERENCES_PAGE = "book/references.html"
MIN_SALIENCY_GREY = 64.0   # of 255: the brightest 1% of a saliency map must render at least this light
MIN_SALIENCY_FIGURES = 3   # chapters 6 and 8 draw saliency maps; fewer marked ones means unmarked maps
MIN_ARTICLE_PX = 900       # the article's width at 1280 px (the theme's was about 750 px)
MIN_SIZE_SPAN = 2.0        # a marker size that encodes a value: largest / smallest diameter
MIN_PICTURE_PX = 80.0      # the smallest side of a picture (thumbnail, map) a reader is asked to look at
MIN_CONTRAST = 3.0         # WCAG's ratio for graphics: a mark or label over a picture against what is under it
MIN_MARKER_PX = 8.0        # a marker drawn over a picture or heat map
MIN_PHONE_PLOT_PX = 200    # at 390 px: a plotly view's plot area and slider rail
_TEXT = re.compile(r"text/|javascript|json|svg|xml")


# ---------------------------------------------------------------------------------------
# the pages (the site and the browser: tests/conftest.py, over tests/smallbook.py)
# ---------------------------------------------------------------------------------------


def _pages() -> list[str]:
    return sorted(str(p.relative_to(HTML)) for p in HTML.rglob("*.html")
                  if p.name not in SKIP_PAGES and not any(part.startswith("_") for part in p.relative_to(HTML).parts))


class Visit:
    """One page opened in a fresh context with the network cut off: what it logged, what it
    asked for, what it weighed."""

    def __init__(self, browser, site: str, page_path: str, viewport=DESKTOP):
        self.outside, self.errors, self.bytes, self.gzip_bytes, self.requests = [], [], 0, 0, []
        self.missing = []   # local requests answered 4xx/5xx (e.g. a favicon.ico the site lacks)
        self.ctx = browser.new_context(viewport=viewport, device_scale_factor=1, service_workers="block")
        self.ctx.route("**/*", self._route)
        self.page = self.ctx.new_page()
        self.page.on("console", lambda m: self.errors.append(f"console {m.type}: {m.text}")
                     if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        self.page.on("response", self._response)
        t = time.perf_counter()
        self.page.goto(urljoin(site, page_path), wait_until="load")
        self.load_s = time.perf_counter() - t
        self._wait_for_math()

    def _route(self, route):
        host = urlparse(route.request.url).hostname
        if route.request.url.startswith("data:") or host == "127.0.0.1":
            route.continue_()
        else:
            self.outside.append(route.request.url)
            route.abort()

    def _response(self, resp):
        self.requests.append(resp.url)
        if resp.url.startswith("http://127.0.0.1") and resp.status >= 400:
            self.missing.append(f"{resp.status} {resp.url.split('/', 3)[-1]}")
        if resp.url.startswith("http://127.0.0.1"):
            try:
                body = resp.body()
            except Exception:  # a redirect or an aborted request has no body
                return
            self.bytes += len(body)
            kind = resp.headers.get("content-type", "")
            # what a static host that compresses text (as GitHub Pages does) would send
            self.gzip_bytes += len(gzip.compress(body, 6)) if _TEXT.search(kind) else len(body)

    def _wait_for_math(self):
        # index.html forwards to the first page (a meta refresh): a check made while it
        # navigates is lost with the page, so it is made again on the page it lands on
        for attempt in range(3):
            try:
                return self._wait_for_math_once()
            except Exception as e:  # playwright's Error
                if "context was destroyed" not in str(e) or attempt == 2:
                    raise
                self.page.wait_for_load_state("load")

    def _wait_for_math_once(self):
        # one call that polls: startup.js replaces the page's window.MathJax (its configuration)
        # with the loaded object, so a promise seen in one call can be gone in the next
        self.page.evaluate("""async () => {
          for (let i = 0; i < 200; i++) {
            if (!window.MathJax) return;
            if (MathJax.startup && MathJax.startup.promise) { await MathJax.startup.promise; return; }
            await new Promise(r => setTimeout(r, 100));
          }
          throw new Error('MathJax did not start within 20 s');
        }""")

    def close(self):
        self.ctx.close()


def _shot_name(page_path: str) -> str:
    return page_path.replace("/", "__")[:-5] + ".png"


@pytest.fixture(scope="module")
def visits(site, browser):
    """Every page at desktop width, once; screenshots and the load report written."""
    (SHOTS / "1280").mkdir(parents=True, exist_ok=True)
    out, report = {}, {}
    for p in _pages():
        v = Visit(browser, site, p)
        v.page.screenshot(path=str(SHOTS / "1280" / _shot_name(p)), full_page=True)
        out[p] = v
        report[p] = {"load_s": round(v.load_s, 3), "bytes": v.bytes, "bytes_gzip": v.gzip_bytes,
                     "plotly": any(u.endswith("plotly.min.js") for u in v.requests)}
    (SMALL / "load_report.json").write_text(json.dumps(report, indent=1))
    yield out
    for v in out.values():
        v.close()


def test_the_small_book_has_every_chapter(visits):
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = re.findall(r"file:\s*(\S+)", (ROOT / "_toc.yml").read_text()) + [toc["root"]]
    for f in files:
        assert f"{f}.html" in visits, f"{f} is in the table of contents but was not built"


# ---------------------------------------------------------------------------------------
# every page
# ---------------------------------------------------------------------------------------


def test_no_javascript_or_console_errors(visits):
    bad = {p: v.errors for p, v in visits.items() if v.errors}
    assert not bad, json.dumps(bad, indent=1)[:4000]


def test_nothing_leaves_the_machine(visits):
    out = {p: v.outside for p, v in visits.items() if v.outside}
    assert not out, f"requests to outside hosts (blocked): {json.dumps(out, indent=1)[:3000]}"


def test_every_image_loads(visits):
    for p, v in visits.items():
        v.page.evaluate("async () => { for (const i of document.images) { i.loading = 'eager'; "
                        "if (!i.complete) await new Promise(r => { i.onload = i.onerror = r; }); } }")
        broken = v.page.evaluate("() => [...document.images].filter(i => !(i.naturalWidth > 0)).map(i => "
                                 "i.getAttribute('src').slice(0, 80))")
        assert not broken, f"{p}: images that did not load: {broken}"


def test_math_is_rendered_offline(visits):
    pages_with_math = 0
    for p, v in visits.items():
        n_math = v.page.locator("main .math").count()
        if not n_math:
            continue
        pages_with_math += 1
        n_out = v.page.locator("main .math mjx-container").count()
        assert n_out == n_math, f"{p}: {n_math - n_out} of {n_math} formulas not rendered by MathJax"
        raw = v.page.evaluate("() => [...document.querySelectorAll('main .math')].filter(e => "
                              "/\\\\[a-zA-Z]+|\\$\\$/.test(e.innerText)).length")
        assert raw == 0, f"{p}: {raw} formulas still show raw TeX"
    assert pages_with_math >= 3, "the book's formulas were not found (notation page, chapters 1 and 6)"


def _ids(path: Path) -> set[str]:
    return set(re.findall(r'\sid="([^"]+)"', path.read_text(errors="replace")))


def test_internal_links_and_toc_resolve(visits, site):
    ids_cache = {}
    for p, v in visits.items():
        hrefs = v.page.evaluate("() => [...document.querySelectorAll('a[href]')].map(a => a.href)")
        for h in hrefs:
            if not h.startswith(site):
                continue
            path, _, frag = h[len(site):].partition("#")
            path = unquote(path.split("?")[0]) or "index.html"
            target = HTML / path
            if target.is_dir():
                target = target / "index.html"
            assert target.exists(), f"{p}: link to {path} which does not exist"
            if frag and target.suffix == ".html":
                ids = ids_cache.setdefault(target, _ids(target))
                assert unquote(frag) in ids, f"{p}: link to {path}#{frag}: no such anchor"
    toc = visits["index.html"].page.evaluate(
        "() => [...document.querySelectorAll('nav.bd-links a, .bd-sidebar a.reference.internal')].map(a => a.href)")
    assert len(toc) >= 10, "the table of contents in the sidebar is missing or short"


def test_one_search_field_per_page(visits):
    """One search field or button, not two stacked in the sidebar."""
    many = {}
    for p, v in visits.items():
        shown = v.page.evaluate("""() => [...document.querySelectorAll(
            '.search-button-field, .bd-search, form.bd-search, input[type=search], button.search-button')]
            .filter(e => e.getClientRects().length && getComputedStyle(e).visibility !== 'hidden'
                     && !e.parentElement.closest('.search-button-field, .bd-search'))
            .map(e => e.tagName.toLowerCase() + '.' + [...e.classList].join('.'))""")
        if len(shown) != 1:
            many[p] = shown
    assert not many, f"pages without exactly one search field: {json.dumps(many)[:2000]}"


def test_no_page_asks_for_a_file_the_site_lacks(visits, site, browser):
    """No request of any page (the search page included) is answered 404, e.g. the favicon.ico
    a browser asks for when a page names no icon."""
    missing = {p: v.missing for p, v in visits.items() if v.missing}
    v = Visit(browser, site, "search.html?q=semantic+vector")
    try:
        v.page.wait_for_timeout(500)
        if v.missing:
            missing["search.html"] = v.missing
    finally:
        v.close()
    assert not missing, f"requests the site cannot answer: {json.dumps(missing, indent=1)[:2000]}"


def test_search_finds_semantic_vector(site, browser):
    v = Visit(browser, site, "search.html?q=semantic+vector")
    try:
        v.page.wait_for_selector("#search-results li, .search li", timeout=20000)
        n = v.page.locator("#search-results li, .search li").count()
        assert n >= 3, f"search for 'semantic vector' found {n} pages"
        assert not v.errors, v.errors
    finally:
        v.close()


def test_phone_width_shows_figures_scaled_not_cut(site, browser):
    """At 390 px every figure fits the screen or the box that scrolls it, and no page scrolls
    sideways as a whole; a screenshot of every page is written to screenshots/390/."""
    (SHOTS / "390").mkdir(parents=True, exist_ok=True)
    problems = []
    for p in _pages():
        v = Visit(browser, site, p, viewport=PHONE)
        try:
            v.page.screenshot(path=str(SHOTS / "390" / _shot_name(p)), full_page=True)
            cut = v.page.evaluate("""() => {
              const w = document.documentElement.clientWidth, bad = [];
              for (const e of document.querySelectorAll('main img, main .plotly-graph-div, main svg.main-svg')) {
                const r = e.getBoundingClientRect();
                if (r.width === 0) continue;
                // a figure is cut when it sticks out of the screen or out of a box that clips it
                let clip = null;
                for (let a = e.parentElement; a && a !== document.body; a = a.parentElement) {
                  const s = getComputedStyle(a);
                  if (s.overflowX !== 'visible') { clip = a.getBoundingClientRect(); break; }
                }
                const right = clip ? Math.min(w, clip.right) : w, left = clip ? Math.max(0, clip.left) : 0;
                if (r.right > right + 1 || r.left < left - 1)
                  bad.push((e.getAttribute('src') || e.className.baseVal || e.className || '').toString().slice(0, 60)
                           + ` [${Math.round(r.left)}, ${Math.round(r.right)}] in [${Math.round(left)}, ${Math.round(right)}]`);
              }
              return bad;
            }""")
            if cut:
                problems.append(f"{p}: figures cut: {cut[:5]}")
            wide = v.page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
            if wide[0] > wide[1] + 1:
                problems.append(f"{p}: the page scrolls sideways ({wide[0]} px of content on a {wide[1]} px screen)")
            problems += [f"{p}: {x}" for x in _phone_usability(v)]
        finally:
            v.close()
    assert not problems, f"at {PHONE['width']} px:\n" + "\n".join(problems[:20])


def _phone_usability(v: Visit) -> list[str]:
    """At phone width: each plotly view keeps a plot area and a slider rail a finger can use
    (a side margin once left the plot 40 px), and a table wider than the text column scrolls in
    a box of its own."""
    out = []
    for k, div in enumerate(v.page.locator("main .plotly-graph-div").all()):
        div.scroll_into_view_if_needed()
        widths = div.evaluate("""gd => ({plot: Math.min(...[...gd.querySelectorAll('.draglayer .nsewdrag')]
                                        .map(e => e.getBoundingClientRect().width)),
                                  rail: Math.min(...[...gd.querySelectorAll('.slider-rail-rect')]
                                        .map(e => e.getBoundingClientRect().width))})""")
        for what in ("plot", "rail"):
            w = widths[what]
            if w is not None and w != float("inf") and w < MIN_PHONE_PLOT_PX:
                out.append(f"plotly view {k + 1}: its {'plot area' if what == 'plot' else 'slider rail'} is "
                           f"{w:.0f} px wide (under {MIN_PHONE_PLOT_PX})")
    tables = v.page.evaluate("""() => {
      const col = document.querySelector('main .bd-article') || document.querySelector('main');
      const c = col.getBoundingClientRect(), bad = [];
      for (const t of col.querySelectorAll('table')) {
        const r = t.getBoundingClientRect();
        if (r.width <= c.width + 1) continue;
        let box = null;
        for (let a = t.parentElement; a && a !== col; a = a.parentElement) {
          const s = getComputedStyle(a);
          if (s.overflowX === 'auto' || s.overflowX === 'scroll') { box = a; break; }
        }
        if (!box || box.getBoundingClientRect().width > c.width + 1)
          bad.push((t.innerText || '').trim().slice(0, 40));
      }
      return bad; }""")
    out += [f"a table wider than the column does not scroll in its own box: {t!r}" for t in tables]
    return out


def test_the_article_is_wide_and_no_code_or_output_line_is_cut_at_1280(visits):
    """At 1280 px the article is at least MIN_ARTICLE_PX wide (the theme's 750 px cut code and
    printed lines at about 80 characters), and no code block or printed output hides a line
    behind its right edge."""
    narrow, cut = {}, {}
    for p, v in visits.items():
        w = v.page.evaluate("() => (document.querySelector('main .bd-article') || document.querySelector('main'))"
                            ".getBoundingClientRect().width")
        if w < MIN_ARTICLE_PX:
            narrow[p] = round(w)
        hidden = v.page.evaluate("""() => [...document.querySelectorAll('main pre')]
            .filter(e => e.getClientRects().length && e.scrollWidth > e.clientWidth + 1)
            .map(e => e.innerText.split('\\n').reduce((a, b) => b.length > a.length ? b : a, '').slice(0, 60))""")
        if hidden:
            cut[p] = hidden[:4]
    assert not narrow, f"articles narrower than {MIN_ARTICLE_PX} px at 1280 px: {narrow}"
    assert not cut, "code or output lines cut at 1280 px (their longest line):\n" + json.dumps(cut, indent=1)[:3000]


def _figure_notes(v: Visit, site: str) -> list[tuple[str, dict, float]]:
    """(file name, notes, shown width / natural width) of every figure file of a page's cells."""
    from sevec_helpers.book.figures.files import notes_of

    figs = v.page.evaluate(r"""() => [...document.querySelectorAll('main .cell_output img')]
        .filter(i => /\.(png|jpe?g)$/.test(i.src) && !i.src.startsWith('data:') && i.getClientRects().length)
        .map(i => [i.src, i.getBoundingClientRect().width, i.naturalWidth])""")
    out = []
    for src, shown, natural in figs:
        if not src.startswith(site):
            continue
        out.append((src.rsplit("/", 1)[-1], notes_of((HTML / unquote(src[len(site):])).read_bytes()),
                    shown / natural if natural else 1.0))
    return out


def _each_figure(visits, site, check) -> tuple[list[str], int]:
    bad, n = [], 0
    for p, v in visits.items():
        for name, notes, scale in _figure_notes(v, site):
            said = check(notes, scale)
            if said is None:
                continue
            n += 1
            if said:
                bad.append(f"{p}: {name}: {said}")
    return bad, n


def test_size_encodings_vary_visibly(visits, site):
    """A scatter whose marker size encodes a value (the t-SNE circles' D_c) draws its largest
    marker at least MIN_SIZE_SPAN times the diameter of its smallest."""
    from sevec_helpers.book.figures.checks import SIZE_SPAN_NOTE

    def check(notes, scale):
        if SIZE_SPAN_NOTE not in notes:
            return None
        span = float(notes[SIZE_SPAN_NOTE])
        return "" if span >= MIN_SIZE_SPAN else f"marker diameters span only {span:.2f}x"

    bad, n = _each_figure(visits, site, check)
    assert not bad, "size encodings a reader cannot see:\n" + "\n".join(bad[:20])
    assert n >= 2, f"only {n} figures encode a value by marker size (chapter 3 has two)"


def test_markers_lie_inside_their_axes(visits, site):
    """No marker is cut by its axes' frame or drawn outside it (a class at 0 or 1.0 half hidden)."""
    from sevec_helpers.book.figures.checks import CLIPPED_NOTE

    def check(notes, scale):
        n = int(notes.get(CLIPPED_NOTE, 0))
        return "" if n == 0 else f"{n} markers cut by the frame"

    bad, n = _each_figure(visits, site, check)
    assert not bad, "markers on or past the frame:\n" + "\n".join(bad[:20])
    assert n >= 15, f"only {n} figures checked"


def test_legends_cover_no_data(visits, site):
    """No legend drawn inside the axes lies over a data point or a line."""
    from sevec_helpers.book.figures.checks import LEGEND_NOTE

    def check(notes, scale):
        n = int(notes.get(LEGEND_NOTE, 0))
        return "" if n == 0 else f"its legend covers {n} data points or line samples"

    bad, _ = _each_figure(visits, site, check)
    assert not bad, "legends over data:\n" + "\n".join(bad[:20])


def test_texts_do_not_collide(visits, site):
    """No two texts of a figure (titles, labels) overlap."""
    from sevec_helpers.book.figures.checks import OVERLAP_NOTE

    def check(notes, scale):
        n = int(notes.get(OVERLAP_NOTE, 0))
        return "" if n == 0 else f"{n} pairs of texts overlap"

    bad, _ = _each_figure(visits, site, check)
    assert not bad, "colliding texts:\n" + "\n".join(bad[:20])


def test_pictures_are_large_enough_to_check(visits, site):
    """Every picture in a figure (a retrieved image, a saliency map, a scene) is shown at least
    MIN_PICTURE_PX on its smaller side at 1280 px, and so is every picture of a gallery view."""
    from sevec_helpers.book.figures.checks import IMAGE_NOTE

    def check(notes, scale):
        if IMAGE_NOTE not in notes:
            return None
        px = float(notes[IMAGE_NOTE]) * scale
        return "" if px >= MIN_PICTURE_PX - 0.5 else f"pictures shown {px:.0f} px"

    bad, n = _each_figure(visits, site, check)
    for p, v in visits.items():
        small = v.page.evaluate("""() => [...document.querySelectorAll('main .sevec-gallery img')]
            .map(i => i.style.width ? parseFloat(i.style.width) : i.getBoundingClientRect().width)""")
        if small and min(small) < MIN_PICTURE_PX:
            bad.append(f"{p}: gallery thumbnails {min(small):.0f} px")
    assert not bad, f"pictures under {MIN_PICTURE_PX:.0f} px:\n" + "\n".join(bad[:20])
    assert n >= 8, f"only {n} figures with pictures"


def test_marks_and_labels_on_pictures_stand_out(visits, site):
    """A marker or a label drawn over a picture or heat map (Fig. 5's stars, the scenes' class
    names) contrasts with what lies under it (WCAG ratio >= MIN_CONTRAST) and a marker is at
    least MIN_MARKER_PX across."""
    from sevec_helpers.book.figures.checks import CONTRAST_NOTE, MARKER_NOTE

    def check(notes, scale):
        if CONTRAST_NOTE not in notes and MARKER_NOTE not in notes:
            return None
        said = []
        if CONTRAST_NOTE in notes and float(notes[CONTRAST_NOTE]) < MIN_CONTRAST:
            said.append(f"contrast {float(notes[CONTRAST_NOTE]):.2f}")
        if MARKER_NOTE in notes and float(notes[MARKER_NOTE]) * scale < MIN_MARKER_PX:
            said.append(f"markers {float(notes[MARKER_NOTE]) * scale:.1f} px")
        return ", ".join(said)

    bad, n = _each_figure(visits, site, check)
    assert not bad, "marks on pictures that do not stand out:\n" + "\n".join(bad[:20])
    assert n >= 2, f"only {n} figures mark a picture (Fig. 5, the scenes)"


# ---------------------------------------------------------------------------------------
# legibility and weight
# ---------------------------------------------------------------------------------------


def _font_note(src_url: str, site: str) -> float | None:
    from sevec_helpers.book.figures.files import FONT_NOTE, font_note_of

    path = HTML / unquote(src_url[len(site):])
    note = font_note_of(path.read_bytes())
    if note is None:
        raise AssertionError(f"{path.name}: a figure without the {FONT_NOTE} note (not shown through "
                             f"viz.use_book_style), its text size cannot be checked")
    return None if note == "none" else float(note)


def test_no_figure_text_under_9px_at_1280(visits, site):
    checked = 0
    for p, v in visits.items():
        figs = v.page.evaluate(r"""() => [...document.querySelectorAll('main .cell_output img')]
            .filter(i => /\.(png|jpe?g)$/.test(i.src) && !i.src.startsWith('data:'))
            .map(i => [i.src, i.getBoundingClientRect().width, i.naturalWidth])""")
        for src, shown, natural in figs:
            px = _font_note(src, site)
            checked += 1
            if px is not None:
                assert px * shown / natural >= MIN_TEXT_PX - 0.05, (
                    f"{p}: {src.rsplit('/', 1)[-1]} shows its smallest text at {px * shown / natural:.1f} px "
                    f"({px:.1f} px in a {natural} px image shown {shown:.0f} px wide)")
        small = v.page.evaluate(f"""() => {{
            const bad = [];
            const walker = document.createTreeWalker(document.querySelector('main') || document.body,
                                                     NodeFilter.SHOW_TEXT);
            while (walker.nextNode()) {{
              const t = walker.currentNode, e = t.parentElement;
              if (!t.textContent.trim() || !e || !e.getClientRects().length) continue;
              const s = getComputedStyle(e);
              if (s.visibility === 'hidden' || s.display === 'none') continue;
              const px = parseFloat(s.fontSize);
              if (px < {MIN_TEXT_PX}) bad.push(t.textContent.trim().slice(0, 30) + ' (' + px + ' px)');
            }}
            return bad;
        }}""")
        assert not small, f"{p}: text under {MIN_TEXT_PX} px: {small[:8]}"
    assert checked >= 15, f"only {checked} figures found in the chapters"


def test_plotly_only_where_a_view_needs_it_and_pages_are_light(visits):
    heavy = []
    for p, v in visits.items():
        has_view = v.page.locator(".plotly-graph-div").count() > 0
        loads = any(u.endswith("plotly.min.js") for u in v.requests)
        assert has_view == loads, f"{p}: plotly.js loaded={loads} but interactive view present={has_view}"
        # what a reader downloads: text compressed as any static host sends it (the raw bytes,
        # MathJax and the theme's stylesheet alone about 1.2 MB, are in load_report.json)
        if not has_view and v.gzip_bytes > PAGE_BUDGET:
            heavy.append(f"{p}: {v.gzip_bytes / 1e6:.2f} MB ({v.bytes / 1e6:.2f} MB uncompressed)")
    assert not heavy, f"pages over {PAGE_BUDGET / 1e6} MB with their assets: {heavy}"


def test_the_site_is_light():
    total = sum(f.stat().st_size for f in HTML.rglob("*") if f.is_file())
    assert total < SITE_BUDGET, f"the site weighs {total / 1e6:.1f} MB (budget {SITE_BUDGET / 1e6:.0f} MB)"
    assert not (HTML / "_sources").exists() or sum(f.stat().st_size for f in (HTML / "_sources").rglob("*")) < 1e6


# ---------------------------------------------------------------------------------------
# what each page shows: once, unhidden, uncut, visible, cited
# ---------------------------------------------------------------------------------------


def _picture_digests(v: Visit, site: str) -> list[tuple[str, str, str]]:
    """(digest, name, where) of every picture shown on the page: images by their bytes,
    plotly views by their data; pictures hidden (a gallery's other options) left out."""
    shown = v.page.evaluate(r"""() => {
      const out = [], where = e => { const c = e.closest('.cell'); const all = [...document.querySelectorAll('main .cell')];
        return c ? 'cell ' + (all.indexOf(c) + 1) : 'text'; };
      for (const i of document.querySelectorAll('main img'))
        if (i.getClientRects().length && i.getBoundingClientRect().width > 0) out.push(['img', i.src, where(i)]);
      for (const d of document.querySelectorAll('main .plotly-graph-div'))
        out.push(['plotly', JSON.stringify((d.data || []).map(t => [t.x, t.y, t.z, t.type])), where(d)]);
      return out; }""")
    out = []
    for kind, what, where in shown:
        if kind == "img" and what.startswith(site):
            path = HTML / unquote(what[len(site):].split("?")[0])
            if path.suffix == ".svg":   # badges and icons
                continue
            out.append((hashlib.sha256(path.read_bytes()).hexdigest(), path.name, where))
        elif kind == "img":
            out.append((hashlib.sha256(what.encode()).hexdigest(), what[:40] + "...", where))
        else:
            out.append((hashlib.sha256(what.encode()).hexdigest(), "a plotly view", where))
    return out


def test_no_picture_is_shown_twice(visits, site):
    """A figure shown again on its page (e.g. once by the cell that made it and once under its
    caption, or twice in one cell's output) is a defect wherever it happens."""
    twice = []
    for p, v in visits.items():
        seen = {}
        for pic, name, where in _picture_digests(v, site):
            if pic in seen:
                twice.append(f"{p}: {name} shown in {seen[pic]} and again in {where}")
            else:
                seen[pic] = where
    assert not twice, "pictures shown twice:\n" + "\n".join(twice[:20])


def test_no_control_covers_a_legend_a_title_the_plot_or_another_control(visits):
    """Each plotly view's menus and sliders (with their labels) keep clear of its legend, its
    title, its plot area and one another."""
    clashes, n_views = [], 0
    for p, v in visits.items():
        for k, div in enumerate(v.page.locator(".plotly-graph-div").all()):
            n_views += 1
            div.scroll_into_view_if_needed()
            boxes = div.evaluate("""gd => {
              const box = (e, name) => { const r = e.getBoundingClientRect();
                return r.width > 0 && r.height > 0 ? {name, x: r.x, y: r.y, width: r.width, height: r.height} : null; };
              const out = [];
              gd.querySelectorAll('g.legend').forEach((e, i) => out.push(box(e, 'legend ' + i)));
              gd.querySelectorAll('g.updatemenu-header-group, g.updatemenu-button').forEach((e, i) => out.push(box(e, 'menu ' + i)));
              gd.querySelectorAll('g.slider-group').forEach((e, i) => out.push(box(e, 'slider ' + i)));
              gd.querySelectorAll('g.g-gtitle').forEach((e, i) => out.push(box(e, 'title')));
              gd.querySelectorAll('.draglayer .nsewdrag').forEach((e, i) => out.push(box(e, 'plot area ' + i)));
              return out.filter(b => b);
            }""")
            controls = [b for b in boxes if b["name"].startswith(("menu", "slider"))]
            for i, c in enumerate(controls):
                for other in controls[i + 1:] + [b for b in boxes if not b["name"].startswith(("menu", "slider"))]:
                    if _boxes_overlap(c, other):
                        clashes.append(f"{p}, view {k + 1}: {c['name']} overlaps {other['name']}")
    assert not clashes, "controls drawn over other things:\n" + "\n".join(clashes[:20])
    assert n_views >= 2, f"only {n_views} plotly views in the book"


def test_nothing_is_wider_than_its_column(visits):
    """At 1280 px every element of a page's text column fits in it (a table that needs a
    scroll bar is too wide), and no box clips its own content; code blocks may scroll."""
    bad = {}
    for p, v in visits.items():
        found = v.page.evaluate("""() => {
          const col = document.querySelector('main .bd-article') || document.querySelector('main');
          if (!col) return [];
          const c = col.getBoundingClientRect(), out = [];
          const skip = 'mjx-assistive-mml, .visually-hidden, .sr-only, .headerlink, script, style';
          const whole = 'pre, .highlight, .plotly-graph-div, mjx-container, svg';   // checked as one box, not inside
          const name = e => e.tagName.toLowerCase() + (e.className && typeof e.className === 'string' && e.className.trim()
                             ? '.' + e.className.trim().split(/\\s+/)[0] : '') + ' "' + (e.innerText || '').trim().slice(0, 40) + '"';
          const walk = e => {
            for (const k of e.children) {
              if (k.matches(skip)) continue;
              const s = getComputedStyle(k);
              if (s.display === 'none' || s.visibility === 'hidden' || s.position === 'fixed') continue;
              const r = k.getBoundingClientRect();
              if (r.width > 0 && (r.right > c.right + 1 || r.left < c.left - 1)) {
                out.push(name(k) + ` spans [${Math.round(r.left)}, ${Math.round(r.right)}] in a column [${Math.round(c.left)}, ${Math.round(c.right)}]`);
                continue;   // its children are part of the same defect
              }
              if ((s.overflowX === 'hidden' || s.overflowX === 'clip') && !k.matches(whole) &&
                  k.scrollWidth > k.clientWidth + 1 && k.clientWidth > 0) {
                out.push(name(k) + ` clips its content (${k.scrollWidth} px in ${k.clientWidth} px)`);
                continue;
              }
              if (!k.matches(whole)) walk(k);
            }
          };
          walk(col);
          return out;
        }""")
        if found:
            bad[p] = found[:6]
    assert not bad, "wider than the text column at 1280 px:\n" + json.dumps(bad, indent=1)[:5000]


def test_saliency_maps_are_visible(visits, site):
    """A saliency map (an image viz marks with SALIENCY_GID) whose brightest 1% of pixels renders
    darker than MIN_SALIENCY_GREY of 255 looks black to a reader. viz writes each figure's darkest
    map's 99th-percentile grey level into the file (SALIENCY_NOTE)."""
    from sevec_helpers.book.figures.files import SALIENCY_NOTE, notes_of

    dark, n_marked = [], 0
    for p, v in visits.items():
        srcs = v.page.evaluate("() => [...document.querySelectorAll('main .cell_output img')].map(i => i.src)")
        for src in srcs:
            if not src.startswith(site) or not re.search(r"\.(png|jpe?g)$", src):
                continue
            grey = notes_of((HTML / unquote(src[len(site):])).read_bytes()).get(SALIENCY_NOTE)
            if grey is None:
                continue
            n_marked += 1
            if float(grey) < MIN_SALIENCY_GREY:
                dark.append(f"{p}: {src.rsplit('/', 1)[-1]}: its darkest map's 99th percentile renders at grey "
                            f"{float(grey):.0f} of 255")
    assert not dark, f"saliency maps that look black (under {MIN_SALIENCY_GREY:.0f} of 255):\n" + "\n".join(dark[:20])
    assert n_marked >= MIN_SALIENCY_FIGURES, (
        f"only {n_marked} figures with marked saliency maps (draw each map with "
        f"imshow(..., gid=sevec_helpers.book.figures.files.SALIENCY_GID), or viz.draw_saliency)")


# a citation in the text: "Kim et al. 2018", "Adebayo et al. (2018", "Tan and Le 2019", "Holm (1979)"
_SURNAME = r"(?:van |van der |van de |de )?[A-Z][A-Za-z\u00c0-\u017f'\-]+"
_CITATION = re.compile(rf"({_SURNAME})(?: et al\.| and {_SURNAME}| & {_SURNAME})[, ]*\(?((?:19|20)\d\d)\b"
                       rf"|({_SURNAME}) \(((?:19|20)\d\d)[a-z]?[),;]")
# works the book names without an author-year citation; each mention needs its reference
NAMED_WORKS = ("TCAV", "FastCAV", "EfficientNet", "Holm", "t-SNE", "Captum", "VGG16", "DTD", "Google-512",
               "Flickr Material Database", "Network Dissection", "Guided Backprop", "DeepLIFT", "ImageNet",
               "Imagenette", "VOC", "pointing game", "sanity checks", "SmoothGrad", "silhouette")


def _main_text(v: Visit) -> str:
    return v.page.evaluate("() => (document.querySelector('main .bd-article') || document.querySelector('main')).innerText")


def test_every_citation_is_on_the_references_page(visits):
    assert REFERENCES_PAGE in visits, f"no references page ({REFERENCES_PAGE})"
    entries = visits[REFERENCES_PAGE].page.evaluate(
        "() => [...document.querySelectorAll('main .bd-article li')].map(li => li.innerText.replace(/\\s+/g, ' '))")
    assert len(entries) >= 10, f"the references page lists {len(entries)} works"
    missing = {}
    for p, v in visits.items():
        if p == REFERENCES_PAGE:
            continue
        text = _main_text(v).replace("\n", " ")
        for m in _CITATION.finditer(text):
            name, year = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
            surname = name.split()[-1]
            if not any(surname in e and year in e for e in entries):
                missing.setdefault(p, set()).add(f"{m.group(0).strip()} (no entry by {surname} from {year})")
        for work in NAMED_WORKS:
            if re.search(rf"(?<![\w-]){re.escape(work)}(?![\w-])", text, re.IGNORECASE) and \
                    not any(re.search(rf"(?<![\w-]){re.escape(work)}", e, re.IGNORECASE) for e in entries):
                missing.setdefault(p, set()).add(f"{work} (named, not on the references page)")
    assert not missing, "cited but not listed on the references page:\n" + \
        "\n".join(f"{p}: {sorted(m)}" for p, m in missing.items())


# how the book was made is no part of it: words of the process that wrote it, never of the book
MAKING_OF = re.compile(
    r"\bwaves?\b(?! ?(?:length|form|let))"
    r"|\bissues? #?\d+"
    r"|\b(?:the|this|another|each|every|our|chapter|lead|other) engineers?\b"
    r"|\bhelper [A-Z]\b"
    r"|\b(?:this|that|our|each|every|previous|earlier|last|a later) session\b"
    r"|\bworktree\b|\bthe brief\b|\bcoding agent\b|\bLLM\b|\bprompted\b"
    r"|\bwhen (?:this|the) (?:book|page|chapter) was (?:written|made)\b"
    r"|\bwas written by\b|\bthe (?:people|team|authors) who wrote (?:it|this)\b"
    r"|\bwhoever (?:files|filed)\b|\bfiled (?:an|the) issue\b",
    re.IGNORECASE)


def test_no_page_speaks_of_how_the_book_was_made(visits):
    found = {}
    for p, v in visits.items():
        text = _main_text(v)
        hits = [text[max(0, m.start() - 40):m.end() + 40].replace("\n", " ") for m in MAKING_OF.finditer(text)]
        if hits:
            found[p] = hits[:5]
    assert not found, "page text about how the book was made:\n" + json.dumps(found, indent=1)[:4000]


def test_the_making_of_phrases_fire_on_process_text_only():
    for said in ("no GPU machine was available to the wave that wrote it", "fixed in issue 13",
                 "the chapter engineer added it", "as helper E found", "in the previous session"):
        assert MAKING_OF.search(said), said
    for book in ("Run the chapters in one Colab session", "a wavelength of light", "the issues button",
                 "what an engineer would call a unit", "Kim et al. 2018 wrote"):
        assert not MAKING_OF.search(book), book
    m = _CITATION.search("as TCAV fits it (the normal of a linear classifier, Kim et al. 2018), and")
    assert m and (m.group(1), m.group(2)) == ("Kim", "2018")
    m = _CITATION.search("Adebayo et al. (2018, \"Sanity checks for saliency maps\")")
    assert m and (m.group(1), m.group(2)) == ("Adebayo", "2018")
    m = _CITATION.search("a correction by Holm (1979).")
    assert m and (m.group(3), m.group(4)) == ("Holm", "1979")
    assert _CITATION.search("Tan and Le 2019").group(1, 2) == ("Tan", "2019")
    assert not _CITATION.search("ILSVRC 2014 and VGG16 in 2015")


# ---------------------------------------------------------------------------------------
# interactive views
# ---------------------------------------------------------------------------------------


def test_every_gallery_option_changes_the_view(visits):
    n_galleries = 0
    for p, v in visits.items():
        for g in v.page.locator(".sevec-gallery").all():
            n_galleries += 1
            title = g.locator(".sevec-title").inner_text()
            sel = g.locator("select")
            values = sel.evaluate("s => [...s.options].map(o => o.value)")
            assert len(values) >= 2, f"{p}: a gallery with {len(values)} option"
            seen = set()
            for val in values:
                sel.select_option(val)
                shown = g.evaluate("r => [...r.querySelectorAll('[data-key]')].filter(d => "
                                   "getComputedStyle(d).display !== 'none').map(d => d.getAttribute('data-key'))")
                assert shown == [val], f"{p}: option {val} shows panels {shown}"
                html = g.locator(f'[data-key="{val}"]').inner_html()
                assert html not in seen, f"{p}: option {val} shows the same images as another option"
                seen.add(html)
                assert g.locator(".sevec-title").inner_text() == title and title
    assert n_galleries >= 4, f"only {n_galleries} galleries in the book"


def test_every_plotly_view_draws_its_data(visits):
    """Each interactive view shows its traces (a plotly.js that cannot read the figure's JSON
    draws empty axes without an error)."""
    import plotly

    blank, n = [], 0
    for p, v in visits.items():
        for k, div in enumerate(v.page.locator(".plotly-graph-div").all()):
            n += 1
            drawn = div.evaluate("gd => [...gd.querySelectorAll('g.trace, g.hm')].filter(t => [...t.querySelectorAll("
                                 "'path')].some(p => (p.getAttribute('d') || '').length > 2) || t.querySelector('image')).length")
            if not drawn:
                blank.append(f"{p}: view {k + 1}")
    assert not blank, f"plotly views drawn blank (plotly {plotly.__version__}): {blank}"
    assert n >= 2, f"only {n} plotly views in the book"


def _plotly_state(div):
    return div.evaluate("gd => JSON.stringify([gd.data.map(t => t.visible), gd.layout.title && gd.layout.title.text, "
                        "gd.layout.shapes, gd.layout.annotations && gd.layout.annotations.map(a => a.text)])")


def _boxes_overlap(a, b) -> bool:
    return not (a["x"] + a["width"] <= b["x"] or b["x"] + b["width"] <= a["x"] or
                a["y"] + a["height"] <= b["y"] or b["y"] + b["height"] <= a["y"])


def test_every_plotly_menu_option_changes_the_view_and_keeps_the_title(visits):
    n_menus = 0
    for p, v in visits.items():
        for div in v.page.locator(".plotly-graph-div").all():
            n_buttons = div.evaluate("gd => (gd.layout.updatemenus || []).reduce((n, m) => n + m.buttons.length, 0)")
            if not n_buttons:
                continue
            n_menus += 1
            div.scroll_into_view_if_needed()
            header = div.locator(".updatemenu-header-group").first
            title = div.locator(".gtitle").first
            assert not _boxes_overlap(header.bounding_box(), title.bounding_box()), f"{p}: the menu covers the title"
            states = set()
            for i in range(n_buttons):
                header.click()
                buttons = div.locator(".updatemenu-dropdown-button-group .updatemenu-dropdown-button")
                assert buttons.count() == n_buttons, f"{p}: {buttons.count()} of {n_buttons} options reachable"
                buttons.nth(i).click()
                v.page.wait_for_timeout(150)
                states.add(_plotly_state(div))
                label = div.evaluate(f"gd => gd.layout.updatemenus[0].buttons[{i}].label")
                shown_title = div.locator(".gtitle").first.text_content()
                assert shown_title and label in shown_title, f"{p}: after '{label}' the title reads {shown_title!r}"
            assert len(states) == n_buttons, f"{p}: {n_buttons} menu options but {len(states)} distinct views"
    assert n_menus >= 2, f"only {n_menus} plotly menus in the book"


def test_every_slider_step_changes_the_view_and_keeps_the_axes(visits):
    n_sliders = 0
    for p, v in visits.items():
        for div in v.page.locator(".plotly-graph-div").all():
            n_steps = div.evaluate("gd => (gd.layout.sliders || []).reduce((n, s) => n + s.steps.length, 0)")
            if not n_steps:
                continue
            n_sliders += 1
            div.scroll_into_view_if_needed()
            x_range = div.evaluate("gd => gd._fullLayout.xaxis.range.slice()")
            rail = div.locator(".slider-rail-touch-rect").first.bounding_box()
            ticks = div.locator(".slider-tick-rect")   # one tick per step, where the step sits on the rail
            assert ticks.count() == n_steps, f"{p}: {ticks.count()} ticks for {n_steps} steps"
            states = set()
            for i in range(n_steps):
                box = ticks.nth(i).bounding_box()
                v.page.mouse.click(box["x"] + box["width"] / 2, rail["y"] + rail["height"] / 2)
                v.page.wait_for_timeout(150)
                assert div.evaluate("gd => gd._fullLayout.sliders[0].active") == i, f"{p}: step {i} not reached"
                states.add(_plotly_state(div))
                assert div.evaluate("gd => gd._fullLayout.xaxis.range.slice()") == x_range, f"{p}: the x-axis moved"
                assert div.locator(".gtitle").first.text_content(), f"{p}: the title vanished"
            assert len(states) == n_steps, f"{p}: {n_steps} slider steps but {len(states)} distinct views"
    assert n_sliders >= 1, "no slider in the book"


# ---------------------------------------------------------------------------------------
# launching
# ---------------------------------------------------------------------------------------


def test_launch_links_point_at_notebooks_that_exist(visits):
    cfg = yaml.safe_load((ROOT / "_config.yml").read_text())
    repo, branch = cfg["repository"]["url"].rstrip("/"), cfg["repository"]["branch"]
    slug = urlparse(repo).path.strip("/")
    n = 0
    for p, v in visits.items():
        hrefs = v.page.evaluate("() => [...document.querySelectorAll('a[href]')].map(a => a.href)")
        for h in hrefs:
            if "colab.research.google.com" in h or "mybinder.org" in h:
                n += 1
                assert f"/github/{slug}/" in h or f"/gh/{slug}/" in h, f"{p}: launch link to another repository: {h}"
                m = re.search(r"(?:blob/|urlpath=lab/tree/|filepath=|labpath=)" + rf"(?:{branch}/)?([^?&#]+\.ipynb)", h)
                assert m, f"{p}: launch link does not name a notebook: {h}"
                nb = unquote(m.group(1))
                assert (ROOT / nb).exists(), f"{p}: launch link to {nb}, which is not in the repository"
            elif h.startswith(repo) and "/blob/" in h:
                path = h.split(f"/blob/{branch}/", 1)[-1].split("#")[0]
                assert (ROOT / unquote(path)).exists(), f"{p}: link to {path}, not in the repository"
            elif "github.com" in h and "/issues" not in h:
                assert h.startswith(repo), f"{p}: link to another repository: {h}"
    assert n >= 9, f"only {n} launch links in the book"
