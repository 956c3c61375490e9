"""The book's concept atlases as a reader meets them, in headless Chromium: the two reports the
atlas pages write at build time (``book/atlas_world.md``, ``book/atlas_photos.md``, copied into the
site's ``_static/atlas/``), served on 127.0.0.1 from the small build (tests/smallbook.py) with every
request that would leave the machine blocked, as tests/test_browser.py serves the book, and opened
from the file system too (what a reader who downloads a report does).

Every image of every atlas page loads; every concept page is reachable from the index and back;
nothing is wider than a phone's screen (390 px); the search field finds a concept; the sort
buttons and the layer menu reorder the index; the book pages link to their reports.
"""

from __future__ import annotations

import json
import shutil
from urllib.parse import urljoin, urlparse

import pytest

pytestmark = pytest.mark.slow   # the small build, in Chromium
import smallbook  # noqa: E402  (tests/smallbook.py: the shared small build)

HTML = smallbook.HTML
PHONE = {"width": 390, "height": 844}
ATLASES = {"world": "book/atlas_world.html", "photos": "book/atlas_photos.html"}


def _atlases() -> list[str]:
    """The atlases the small build carries: ConceptWorld's always, the photographs' where they were
    fetched (the page then says why there is none)."""
    from sevec_helpers.book import profiles

    return ["world"] + (["photos"] if profiles.available("photos") else [])


class Phone:
    """A page at phone width with the network cut off: what it logged and what it asked for."""

    def __init__(self, browser, url: str):
        self.outside, self.errors, self.missing = [], [], []
        self.ctx = browser.new_context(viewport=PHONE, device_scale_factor=1, service_workers="block")
        self.ctx.route("**/*", self._route)
        self.page = self.ctx.new_page()
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("requestfailed", lambda r: self.missing.append(r.url))
        self.page.on("response", lambda r: self.missing.append(r.url) if r.status >= 400 else None)
        self.page.goto(url, wait_until="load")

    def _route(self, route):
        url = route.request.url
        if url.startswith(("data:", "file:")) or urlparse(url).hostname == "127.0.0.1":
            route.continue_()
        else:
            self.outside.append(url)
            route.abort()

    def images_load(self) -> list[str]:
        self.page.evaluate("async () => { for (const i of document.images) { i.loading = 'eager'; "
                           "if (!i.complete) await new Promise(r => { i.onload = i.onerror = r; }); } }")
        return self.page.evaluate("() => [...document.images].filter(i => !(i.naturalWidth > 0))"
                                  ".map(i => i.getAttribute('src'))")

    def too_wide(self) -> list[str]:
        """Elements that stick out of the phone's screen, and whether the page scrolls sideways."""
        return self.page.evaluate("""() => {
          const w = document.documentElement.clientWidth, out = [];
          if (document.documentElement.scrollWidth > w + 1)
            out.push('the page scrolls sideways: ' + document.documentElement.scrollWidth + ' px');
          for (const e of document.body.querySelectorAll('*')) {
            const r = e.getBoundingClientRect();
            if (r.width > 0 && (r.right > w + 1 || r.left < -1))
              out.push(e.tagName.toLowerCase() + ' [' + Math.round(r.left) + ', ' + Math.round(r.right) + ']');
          }
          return out.slice(0, 5); }""")

    def close(self):
        self.ctx.close()


def _index_url(site: str, name: str) -> str:
    return urljoin(site, f"_static/atlas/{name}/index.html")


@pytest.mark.parametrize("name", ["world", "photos"])
def test_every_concept_page_loads_offline_and_fits_a_phone(site, browser, name):
    if name not in _atlases():
        pytest.skip("the photo testbed's files are not fetched here: its atlas page says so instead")
    root = HTML / "_static" / "atlas" / name
    meta = json.loads((root / "atlas.json").read_text())
    v = Phone(browser, _index_url(site, name))
    problems = []
    try:
        assert not v.images_load(), "index: images that did not load"
        links = v.page.evaluate("() => [...document.querySelectorAll('#list a')].map(a => a.getAttribute('href'))")
        pages = sorted(p.relative_to(root).as_posix() for p in (root / "concepts").glob("*.html"))
        assert sorted(links) == pages == sorted(c["page"] for c in meta["concepts"]), \
            "the index must link every concept page, once"
        problems += [f"index: {x}" for x in v.too_wide()]
        for page in pages:
            v.page.goto(urljoin(_index_url(site, name), page), wait_until="load")
            broken = v.images_load()
            if broken:
                problems.append(f"{page}: images that did not load: {broken[:3]}")
            problems += [f"{page}: {x}" for x in v.too_wide()]
            back = v.page.evaluate("() => [...document.querySelectorAll('a')].map(a => a.getAttribute('href'))")
            if "../index.html" not in back:
                problems.append(f"{page}: no link back to the index")
        assert not v.outside, f"requests that would leave the machine: {v.outside[:5]}"
        assert not v.errors, f"console errors: {v.errors[:5]}"
        assert not v.missing, f"requests the site cannot answer: {v.missing[:5]}"
    finally:
        v.close()
    assert not problems, f"{name} atlas at {PHONE['width']} px:\n" + "\n".join(problems[:20])


def test_search_sort_and_layer(site, browser):
    root = HTML / "_static" / "atlas" / "world"
    meta = json.loads((root / "atlas.json").read_text())
    v = Phone(browser, _index_url(site, "world"))
    try:
        page = v.page
        shown = lambda: page.evaluate("() => [...document.querySelectorAll('#list li')]"  # noqa: E731
                                      ".filter(li => !li.hidden).map(li => li.dataset.name)")
        assert len(shown()) == len(meta["concepts"])
        page.fill("#q", "zeb")
        assert shown() == ["zebra"], "search for 'zeb' must show the zebra alone"
        assert page.inner_text("#count").startswith(f"1 of {len(meta['concepts'])} concepts")
        page.click("#list li:not([hidden]) a")
        page.wait_for_load_state("load")
        assert page.url.endswith("concepts/classes-zebra.html") and page.inner_text("h1") == "zebra"
        page.go_back()
        page.fill("#q", "textures")                   # the kind is searched too
        assert set(shown()) == {c["name"] for c in meta["concepts"] if c["kind"] == "textures"}
        page.fill("#q", "")
        # sort by D_c at the layer chosen: most diverse first, then least diverse first
        for layer_index, layer in enumerate(L["layer"] for L in meta["layers"]):
            page.select_option("#layer", str(layer_index))
            page.click("button[data-key=d]")
            if page.get_attribute("button[data-key=d]", "aria-pressed") != "true":
                page.click("button[data-key=d]")
            order = shown()
            d = {c["name"]: c["layers"][layer]["diversity"] for c in meta["concepts"] if layer in c["layers"]}
            ranked = [n for n in order if n in d]
            assert ranked == sorted(d, key=lambda n: (-d[n], ranked.index(n))), f"sorted by D_c at {layer}"
            assert order[len(ranked):] == [n for n in order if n not in d], "concepts without this layer come last"
            page.click("button[data-key=d]")
            ranked = [n for n in shown() if n in d]
            assert [d[n] for n in ranked] == sorted(d[n] for n in ranked)
        page.click("button[data-key=p]")
        last = meta["layers"][-1]["layer"]
        p = {c["name"]: c["layers"].get(last, {}).get("significance") for c in meta["concepts"]}
        with_p = [n for n in shown() if p.get(n)]
        assert [p[n]["p_adjusted"] for n in with_p] == sorted(p[n]["p_adjusted"] for n in with_p)
        assert not v.errors, v.errors
    finally:
        v.close()


def test_the_atlas_opens_from_the_file_system(browser, tmp_path):
    """A reader who downloads the report opens index.html from disk: no server, no network."""
    smallbook.build_if_needed()
    copy = tmp_path / "atlas"
    shutil.copytree(HTML / "_static" / "atlas" / "world", copy)
    v = Phone(browser, (copy / "index.html").as_uri())
    try:
        assert not v.images_load()
        v.page.fill("#q", "zebra")
        v.page.click("#list li:not([hidden]) a")
        v.page.wait_for_load_state("load")
        assert not v.images_load() and v.page.inner_text("h1") == "zebra"
        assert not v.outside and not v.errors and not v.missing, (v.outside, v.errors, v.missing)
    finally:
        v.close()


def test_the_book_pages_link_their_reports(site, browser):
    for name in _atlases():
        v = Phone(browser, urljoin(site, ATLASES[name]))
        try:
            hrefs = v.page.evaluate("() => [...document.querySelectorAll('a')].map(a => a.href)")
            assert _index_url(site, name) in hrefs, f"{ATLASES[name]} does not link its atlas"
            v.page.locator("iframe").scroll_into_view_if_needed()
            frame = v.page.frame_locator("iframe")
            frame.locator("#list li").first.wait_for(timeout=20000)
            assert frame.locator("#list li").count() > 10, f"{ATLASES[name]}: the embedded atlas is empty"
            assert not v.errors and not v.outside, (v.errors, v.outside)
        finally:
            v.close()
    for chapter in ("notebooks/01_semantic_vectors.html", "notebooks/08b_your_own_model.html"):
        text = (HTML / chapter).read_text()
        assert "atlas_world.html" in text, f"{chapter} does not link the atlas"


def test_the_reports_are_light():
    smallbook.build_if_needed()
    for name in _atlases():
        root = HTML / "_static" / "atlas" / name
        files = [p for p in root.rglob("*") if p.is_file()]
        size = sum(p.stat().st_size for p in files)
        said = (root / "index.html").read_text()
        assert f"{len(files):,} files, {size / 1e6:.1f} MB" in said, "the index states the report's size"
        assert size < 8e6, f"the {name} atlas weighs {size / 1e6:.1f} MB"
        assert max(p.stat().st_size for p in files if p.suffix == ".jpg") < 20_000
