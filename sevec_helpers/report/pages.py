"""The HTML of a concept atlas (:mod:`sevec_helpers.report.atlas`): plain pages with a little
inline CSS and, on the index, a little inline JavaScript (search, sort, layer), that open
offline from the file system and fit a phone's screen (390 px).

Everything a page shows comes from the atlas's metadata (what ``atlas.json`` holds): the pages
compute nothing.
"""

from __future__ import annotations

import html
from pathlib import Path

CSS = """
*{box-sizing:border-box}
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d1d1f;background:#fff;
 margin:0 auto;max-width:980px;padding:10px 12px 40px;overflow-wrap:anywhere}
a{color:#0b57d0}
h1{font-size:1.45em;margin:.3em 0}
h2{font-size:1.2em;margin:1.4em 0 .4em;border-bottom:1px solid #ddd;padding-bottom:.2em}
h3{font-size:1em;margin:1em 0 .35em}
small,.meta,.cap,figcaption{color:#555}
.meta{margin:.2em 0 .6em}
.note{background:#f4f6fa;border-left:3px solid #8aa4d6;padding:6px 10px;margin:.6em 0;font-size:14px}
.cap{font-size:13px;margin:.2em 0 .6em}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(96px,1fr));gap:8px;max-width:100%}
figure{margin:0;min-width:0}
[hidden]{display:none!important}
figure img{display:block;width:100%;height:auto;border-radius:3px;background:#eee}
figure img.map{margin-top:3px}
figcaption{font-size:12px;line-height:1.3;margin-top:2px}
.ok{color:#17632a;font-weight:600}.no{color:#a1261b}
dl.nums{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:4px 12px;margin:.4em 0}
dl.nums div{min-width:0}dt{font-size:12px;color:#555}dd{margin:0;font-weight:600}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{text-align:left;padding:3px 5px;border-bottom:1px solid #eee;vertical-align:top}
th{font-weight:600;color:#444}
ol.near{padding-left:1.4em;margin:.3em 0}
svg{display:block;width:100%;max-width:420px;height:auto}
nav{font-size:14px;margin-bottom:.3em}
.controls{display:flex;flex-wrap:wrap;gap:8px;align-items:center;margin:.6em 0}
.controls input{flex:1 1 100%;font-size:16px;padding:7px 9px;border:1px solid #bbb;border-radius:6px;min-width:0}
.controls select,.controls button{font-size:14px;padding:5px 8px;border:1px solid #bbb;border-radius:6px;background:#fafafa}
.controls button[aria-pressed=true]{background:#dfe8fb;border-color:#6d8fd6}
ul.rows{list-style:none;padding:0;margin:0}
ul.rows li{border-bottom:1px solid #eee}
ul.rows a{display:flex;gap:10px;align-items:center;padding:6px 2px;text-decoration:none;color:inherit}
ul.rows img{flex:0 0 56px;width:56px;height:56px;object-fit:cover;border-radius:3px;background:#eee}
ul.rows .t{flex:1 1 auto;min-width:0}
ul.rows b{color:#0b57d0;font-size:15px}
ul.rows i{font-style:normal;font-size:12px;color:#666;margin-left:4px}
ul.rows .n{display:block;font-size:13px;color:#333}
details{margin:1em 0;font-size:14px}
"""

INDEX_JS = """
(function () {
  var list = document.getElementById('list'), q = document.getElementById('q');
  var sel = document.getElementById('layer'), count = document.getElementById('count');
  var rows = Array.prototype.slice.call(list.children), key = 'name', dir = 1;
  var first = {name: 1, d: -1, prec: -1, p: 1};
  function layer() { return sel ? sel.value : '0'; }
  function val(r, k) {
    if (k === 'name') return r.getAttribute('data-name').toLowerCase();
    var v = r.getAttribute('data-' + k + layer());
    return v === null || v === '' ? null : parseFloat(v);
  }
  function show() {
    var s = q.value.trim().toLowerCase(), n = 0, l = layer();
    rows.forEach(function (r) {
      var hit = !s || r.getAttribute('data-name').toLowerCase().indexOf(s) >= 0 ||
                r.getAttribute('data-kind').toLowerCase().indexOf(s) >= 0;
      r.hidden = !hit;
      if (hit) n++;
      Array.prototype.forEach.call(r.querySelectorAll('.n'), function (e) { e.hidden = !e.classList.contains('L' + l); });
    });
    count.textContent = n + ' of ' + rows.length + ' concepts' + (s ? ' match \\u201c' + q.value.trim() + '\\u201d' : '');
  }
  function sort() {
    rows.sort(function (a, b) {
      var x = val(a, key), y = val(b, key);
      if (x === null && y === null) return 0;
      if (x === null) return 1;
      if (y === null) return -1;
      return (x < y ? -1 : x > y ? 1 : 0) * dir;
    });
    rows.forEach(function (r) { list.appendChild(r); });
    Array.prototype.forEach.call(document.querySelectorAll('button[data-key]'), function (b) {
      b.setAttribute('aria-pressed', b.getAttribute('data-key') === key ? 'true' : 'false');
    });
  }
  Array.prototype.forEach.call(document.querySelectorAll('button[data-key]'), function (b) {
    b.addEventListener('click', function () {
      var k = b.getAttribute('data-key');
      dir = k === key ? -dir : first[k];
      key = k;
      sort();
    });
  });
  q.addEventListener('input', show);
  if (sel) sel.addEventListener('change', function () { sort(); show(); });
  sort(); show();
})();
"""

_E = html.escape


def _num(v, digits: int = 3) -> str:
    return "n/a" if v is None else f"{v:.{digits}f}"


def _p(v) -> str:
    if v is None:
        return "n/a"
    if v == 0:
        return "0"
    return f"{v:.2g}" if v >= 0.001 else f"{v:.1e}"


def _head(title: str) -> str:
    return (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,">'
            f"<title>{_E(title)}</title><style>{CSS}</style></head><body>\n")


def _maps_note(meta: dict, role: str) -> str:
    s = meta["settings"]
    if not s["method"]:
        return "No maps were drawn for this atlas."
    m = s["method_label"]
    if role == "class":
        return (f"Under each top image: the semantic {m} map of this class (its logit's gradient, at the layer of "
                f"the SeVec, multiplied by the class's mask 1[r > {s['threshold']}]: the paper's Sec. 5), brighter "
                f"where the class's evidence in its own units lies.")
    return (f"Under each top image: the {m} map of the class the model predicts for it, its gradient at the layer "
            f"of the SeVec multiplied by this concept's mask 1[r > {s['threshold']}]: where the decision draws on "
            f"the units of this concept. The model has no class of this name, so this is a conditional map (as "
            f"zennit-crp draws for its concepts), not one of the paper's maps.")


def _figure(e: dict, up: str, concept: str, labelled: bool) -> str:
    lines = [f"{e['score']:.3f}"]
    if labelled and e.get("label") is not None:
        ok = e["label"] == concept
        lines.append(f'<span class="{"ok" if ok else "no"}">{"&#10003;" if ok else "&#10007;"} {_E(e["label"])}</span>')
    pics = [f'<img src="{up}img/{e["image"]:05d}.jpg" alt="hold-out image {e["image"]}, score {e["score"]:.3f}" '
            f'width="112" height="112" loading="lazy">']
    if e.get("map"):
        pics.append(f'<img class="map" src="{up}{e["map"]}" alt="map of {_E(e.get("map_class", ""))} over hold-out '
                    f'image {e["image"]}" width="112" height="112" loading="lazy">')
        lines.append(f"map: {_E(e.get('map_class', ''))}")
    return f'<figure>{"".join(pics)}<figcaption>{"<br>".join(lines)}</figcaption></figure>'


def _profile_svg(profile: list[float], threshold: float, units: int, mask: int) -> str:
    w, h, pad = 300, 96, 18
    n = max(len(profile) - 1, 1)
    pts = " ".join(f"{pad + (w - pad - 4) * i / n:.1f},{h - pad - (h - pad - 6) * v:.1f}" for i, v in enumerate(profile))
    ty = h - pad - (h - pad - 6) * threshold
    return (f'<svg viewBox="0 0 {w} {h}" role="img" aria-label="activation rates, sorted">'
            f'<rect x="{pad}" y="6" width="{w - pad - 4}" height="{h - pad - 6}" fill="#f7f7f9" stroke="#ccc"/>'
            f'<line x1="{pad}" x2="{w - 4}" y1="{ty:.1f}" y2="{ty:.1f}" stroke="#c0392b" stroke-dasharray="4 3"/>'
            f'<polyline points="{pts}" fill="none" stroke="#0b57d0" stroke-width="2"/>'
            f'<text x="{pad - 3}" y="12" font-size="10" text-anchor="end" fill="#444">1</text>'
            f'<text x="{pad - 3}" y="{h - pad}" font-size="10" text-anchor="end" fill="#444">0</text>'
            f'<text x="{w - 6}" y="{ty - 3:.1f}" font-size="10" text-anchor="end" fill="#c0392b">r = {threshold:g}</text>'
            f'<text x="{pad}" y="{h - 4}" font-size="10" fill="#444">units, by rate (all {units:,})</text></svg>')


def _layer_section(rec: dict, layer: str, L: dict, meta: dict, pages_of: dict) -> str:
    s = meta["settings"]
    k = s["k"]
    labelled = meta["holdout"]["labelled"]
    name = rec["name"]
    out = [f'<section id="at-{_E(layer)}"><h2>At {_E(layer)} <small>({L["units"]:,} units)</small></h2>']
    sig = L.get("significance")
    unlabelled = "no hold-out image is labelled so" if labelled else "the hold-out images are unlabelled"
    nums = [("D<sub>c</sub> (diversity)", _num(L["diversity"])),
            (f"mask: units with r &gt; {s['threshold']:g}", f"{L['mask_units']:,} of {L['units']:,}"),
            ("fitting images (live / dead)", f"{L['live']} / {L['dead']}"),
            (f"precision@{k}", _num(L["precision"], 2) if L["precision"] is not None else f"n/a ({unlabelled})")]
    if sig:
        verdict = ("significant" if sig["significant"] else "not significant") + f", {sig['direction']} random sets"
        nums.append((f"vs {sig['random_sets']} random concepts (Holm)", f"p = {_p(sig['p_adjusted'])} ({verdict})"))
    elif s["random_sets"]:
        nums.append(("vs random concepts", f"n/a ({unlabelled})"))
    out.append('<dl class="nums">' + "".join(f"<div><dt>{a}</dt><dd>{b}</dd></div>" for a, b in nums) + "</dl>")
    if sig and not sig.get("enough_random_sets", True):
        out.append(f'<p class="cap">{sig["random_sets"]} random sets are few for {sig["tests"]} tests: the p-values '
                   f"are rough.</p>")
    q = L["rate_quantiles"]
    out.append("<h3>Activation rates</h3>" + _profile_svg(L["rate_profile"], s["threshold"], L["units"], L["mask_units"]))
    out.append(f'<p class="cap">Each unit\'s rate r: the share of the concept\'s fitting images it fires on, sorted '
               f"from high to low. {L['mask_units']:,} of {L['units']:,} units fire on more than "
               f"{s['threshold']:g} of them (the mask); median rate {q['0.5']:.2f}, 90th percentile "
               f"{q['0.9']:.2f}.</p>")
    with_maps = [e for e in L["top"] if e.get("map")]
    out.append(f"<h3>Top {k} of {meta['holdout']['images']:,} hold-out images</h3>")
    cap = ("By the cosine of each image's binarised features to the SeVec: the score under each"
           + (", with the image's label (&#10003;: this concept)" if labelled else "") + ".")
    if with_maps:
        what = "its own class" if L.get("map_target") == "class" else "the class the model predicts for it"
        cap += (f" Below the first {len(with_maps)}: the {_E(s['method_label'])} map of {what} (named under it), "
                f"the gradient at {_E(L['map_layer'])} passed through this concept's mask only.")
    elif L.get("map_note"):
        cap += " " + _E(L["map_note"]) + "."
    out.append(f'<p class="cap">{cap}</p>')
    out.append('<div class="grid">' + "".join(_figure(e, "../", name, labelled) for e in L["top"]) + "</div>")
    out.append(f"<h3>Bottom {k}</h3>")
    out.append('<div class="grid">' + "".join(_figure(e, "../", name, labelled) for e in L["bottom"]) + "</div>")
    if L["related"]:
        out.append(f"<h3>Nearest concepts at {_E(layer)}</h3>")
        out.append('<p class="cap">Of each kind, by relevance cos(v<sub>a</sub>, v<sub>b</sub>) of the SeVecs.</p>')
        groups: dict[str, list[str]] = {}
        for e in L["related"]:
            page = pages_of.get((e["kind"], e["name"]))
            label = f'<a href="{_E(Path(page).name)}">{_E(e["name"])}</a>' if page else _E(e["name"])
            groups.setdefault(e["kind"], []).append(f"<li>{label} {e['relevance']:.3f}</li>")
        for kind, items in groups.items():
            out.append(f'<p class="cap"><b>{_E(kind)}</b></p><ol class="near">' + "".join(items) + "</ol>")
    if L.get("explained_by"):
        out.append("<h3>Low-level concepts in its images (Table 3)</h3>")
        out.append(f'<p class="cap">For each of its {L["explained_n"]} {_E(L["explained_what"])}, the '
                   f"{s['explain_top']} low-level concepts of each kind whose SeVecs at {_E(layer)} are closest to "
                   f"the image's features; how many of the images have each among theirs, and its mean cosine to "
                   f"them.</p>")
        rows = []
        shown: dict[str, int] = {}
        for e in L["explained_by"]:
            shown[e["kind"]] = shown.get(e["kind"], 0) + 1
            if shown[e["kind"]] > 4:
                continue
            page = pages_of.get((e["kind"], e["name"]))
            label = f'<a href="{_E(Path(page).name)}">{_E(e["name"])}</a>' if page else _E(e["name"])
            rows.append(f"<tr><td>{_E(e['kind'])}</td><td>{label}</td><td>{e['images']} of {L['explained_n']}</td>"
                        f"<td>{e['mean_score']:.3f}</td></tr>")
        out.append("<table><tr><th>kind</th><th>concept</th><th>images</th><th>mean cos</th></tr>" + "".join(rows)
                   + "</table>")
    out.append("</section>")
    return "\n".join(out)


def concept_page(rec: dict, meta: dict, pages_of: dict) -> str:
    """The page of one concept."""
    layers = list(rec["layers"])
    out = [_head(f"{rec['name']} ({rec['kind']}) - {meta['title']}")]
    out.append(f'<nav><a href="../index.html">&larr; all concepts</a></nav>')
    out.append(f"<h1>{_E(rec['name'])}</h1>")
    out.append(f'<p class="meta">{_E(rec["kind"])} &middot; {_E(meta["model"]["name"])} &middot; SeVecs at '
               f"{', '.join(_E(x) for x in layers)}</p>")
    if any(L["top"] and L["top"][0].get("map") for L in rec["layers"].values()):
        out.append(f'<p class="note">{_E(_maps_note(meta, rec["role"]))}</p>')
    if len(layers) > 1:
        out.append("<nav>" + " &middot; ".join(f'<a href="#at-{_E(x)}">{_E(x)}</a>' for x in layers) + "</nav>")
    for layer, L in rec["layers"].items():
        out.append(_layer_section(rec, layer, L, meta, pages_of))
    out.append(f'<p class="cap"><a href="../index.html">&larr; all concepts</a> &middot; every number in '
               f'<a href="../atlas.json">atlas.json</a> and <a href="../atlas.csv">atlas.csv</a></p>')
    out.append("</body></html>\n")
    return "\n".join(out)


def index_page(meta: dict, size: tuple[int, int]) -> str:
    """The index: every concept with its numbers at the chosen layer; search, sort, layer."""
    s = meta["settings"]
    layers = [L["layer"] for L in meta["layers"]]
    kinds: dict[str, int] = {}
    for rec in meta["concepts"]:
        kinds[rec["kind"]] = kinds.get(rec["kind"], 0) + 1
    out = [_head(meta["title"]), f"<h1>{_E(meta['title'])}</h1>"]
    maps = (f"maps: {_E(s['method_label'])} over the top {s['n_maps']}" if s["method"] else "no maps")
    out.append(f'<p class="meta">{len(meta["concepts"])} concepts ('
               + ", ".join(f"{v} {_E(k)}" for k, v in kinds.items())
               + f") of {_E(meta['model']['name'])}, at {', '.join(_E(x) for x in layers)}; each ranks "
               f"{meta['holdout']['images']:,} hold-out images (top and bottom {s['k']}; {maps}). "
               f"{size[1]:,} files, {size[0] / 1e6:.1f} MB. Every number: "
               f'<a href="atlas.json">atlas.json</a>, <a href="atlas.csv">atlas.csv</a>.</p>')
    out.append('<div class="controls"><input type="search" id="q" placeholder="Search concepts by name or kind" '
               'aria-label="Search concepts" autocomplete="off">')
    if len(layers) > 1:   # shown first: the layer most concepts have a SeVec at
        most = max(range(len(layers)), key=lambda i: (sum(layers[i] in c["layers"] for c in meta["concepts"]), -i))
        out.append('<label>Layer <select id="layer">' + "".join(
            f'<option value="{i}"{" selected" if i == most else ""}>{_E(x)}</option>' for i, x in enumerate(layers))
            + "</select></label>")
    out.append('<span>Sort:</span><button type="button" data-key="name">name</button>'
               '<button type="button" data-key="d">D<sub>c</sub></button>'
               f'<button type="button" data-key="prec">precision@{s["k"]}</button>'
               '<button type="button" data-key="p">significance</button></div>')
    out.append('<p id="count" class="cap" aria-live="polite"></p><ul id="list" class="rows">')
    for rec in meta["concepts"]:
        attrs = [f'data-name="{_E(rec["name"])}"', f'data-kind="{_E(rec["kind"])}"']
        spans = []
        for i, layer in enumerate(layers):
            L = rec["layers"].get(layer)
            if L is None:
                spans.append(f'<span class="n L{i}">not fitted at {_E(layer)}</span>')
                continue
            sig = L.get("significance")
            attrs.append(f'data-d{i}="{L["diversity"]!r}"')
            if L["precision"] is not None:
                attrs.append(f'data-prec{i}="{L["precision"]!r}"')
            if sig:
                attrs.append(f'data-p{i}="{sig["p_adjusted"]!r}"')
            parts = [f"D<sub>c</sub> {L['diversity']:.3f}", f"mask {L['mask_units']:,}"]
            if L["precision"] is not None:
                parts.append(f"P@{s['k']} {L['precision']:.2f}")
            if sig:
                parts.append(f"p {_p(sig['p_adjusted'])}{'*' if sig['significant'] else ''}")
            spans.append(f'<span class="n L{i}">' + " &middot; ".join(parts) + "</span>")
        first = next(iter(rec["layers"].values()))
        thumb = f"img/{first['top'][0]['image']:05d}.jpg"
        out.append(f'<li {" ".join(attrs)}><a href="{_E(rec["page"])}"><img src="{thumb}" alt="" width="56" '
                   f'height="56" loading="lazy"><span class="t"><b>{_E(rec["name"])}</b><i>{_E(rec["kind"])}</i>'
                   + "".join(spans) + "</span></a></li>")
    out.append("</ul>")
    sig_line = (f"p: the concept's precision@{s['k']} against {s['random_sets']} random concepts of its size (SeVecs "
                f"of random image sets drawn from the {'hold-out' if s['pool'] == 'holdout' else 'given'} images), "
                f"t test, Holm-corrected over the concepts of one kind at one layer; * significant at "
                f"{s['alpha']:g}." if s["random_sets"] else "No significance tests (no random concepts given).")
    out.append("<details><summary>What the numbers mean</summary><ul>"
               "<li>A SeVec (Gu and Tresp, Eq. 3) is the normalised sum of a concept's binarised, normalised "
               "activation patterns; an image's score is the cosine of its binarised features to it.</li>"
               "<li>D<sub>c</sub>: the degree of diversity, 1 &minus; the mean cosine of the concept's fitting "
               "images to its SeVec (0: all alike).</li>"
               f"<li>mask: the units that fire on more than {s['threshold']:g} of its fitting images; the semantic "
               "maps pass the gradient through these units only.</li>"
               f"<li>P@{s['k']}: the share of its top {s['k']} hold-out images labelled with its name.</li>"
               f"<li>{sig_line}</li></ul></details>")
    out.append(f"<script>{INDEX_JS}</script></body></html>\n")
    return "\n".join(out)


def write_pages(root: Path, meta: dict) -> None:
    """Write ``concepts/*.html`` and ``index.html`` into ``root`` (where the images and tables
    already are); the index states the report's size, itself included."""
    pages_of = {(rec["kind"], rec["name"]): rec["page"] for rec in meta["concepts"]}
    for rec in meta["concepts"]:
        (root / rec["page"]).write_text(concept_page(rec, meta, pages_of), encoding="utf-8")
    files = [p for p in root.rglob("*") if p.is_file()]
    rest = sum(p.stat().st_size for p in files)
    size = (rest, len(files) + 1)
    for _ in range(3):   # the index's own size is part of the total it states
        text = index_page(meta, size)
        new = (rest + len(text.encode("utf-8")), len(files) + 1)
        if new == size:
            break
        size = new
    (root / "index.html").write_text(text, encoding="utf-8")
