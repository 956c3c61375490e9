"""Figures: matplotlib for the printed book, plotly for views a reader can change in the
static HTML (no kernel needed), and verdict tables.

``show_interactive(fig)`` emits plotly HTML that uses the plotly.js the book ships in
``_static`` when ``SEVEC_STATIC_BOOK=1`` (set by the book build); elsewhere it shows the
figure with plotly's own renderer.
"""

from __future__ import annotations

import base64
import io
import os
import re
import textwrap
from typing import Sequence

import matplotlib
import matplotlib.pyplot as plt
import numpy as np

MAX_WIDTH = 7.2   # inches: at 100 dpi a figure is never wider than the book's text column at 1280 px
MIN_FONT = 8      # points: with MAX_WIDTH, at least 9 px on screen

# ---------------------------------------------------------------------------------------
# matplotlib
# ---------------------------------------------------------------------------------------


def image_grid(images: Sequence[np.ndarray], titles: Sequence[str] | None = None, ncols: int = 8,
               size: float = 1.3, row_labels: Sequence[str] | None = None, suptitle: str | None = None,
               border: Sequence[str | None] | None = None):
    """A grid of HxWx3 images in [0, 1] (or uint8), optional titles, row labels and coloured borders."""
    n = len(images)
    nrows = max(1, -(-n // ncols))
    size = min(size, MAX_WIDTH / (ncols + (0.9 if row_labels is not None else 0)))
    fig, axes = plt.subplots(nrows, ncols, figsize=(ncols * size + (0.9 if row_labels is not None else 0),
                                                    nrows * size * (1.25 if titles else 1.0)),
                             squeeze=False)
    for k, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        if k >= n:
            ax.axis("off")
            continue
        ax.imshow(images[k], interpolation="nearest")
        if titles is not None:
            ax.set_title(titles[k], fontsize=8)
        if border is not None and border[k]:
            for s in ax.spines.values():
                s.set_edgecolor(border[k])
                s.set_linewidth(2.5)
    if row_labels is not None:
        for r, lab in enumerate(row_labels):
            axes[r, 0].set_ylabel(lab, fontsize=8, rotation=0, ha="right", va="center")
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)
    fig.tight_layout()
    return fig


def retrieval_figure(rows: dict[str, list[np.ndarray]], correct: dict[str, list[bool]] | None = None, size=1.1):
    """One row per concept: its top retrieved images, green/red borders for right/wrong."""
    names = list(rows)
    k = max(len(v) for v in rows.values())
    imgs, borders = [], []
    for n in names:
        imgs += rows[n] + [np.ones_like(rows[n][0])] * (k - len(rows[n]))
        ok = (correct or {}).get(n)
        borders += [("#2ca02c" if c else "#d62728") for c in ok] if ok is not None else [None] * len(rows[n])
        borders += [None] * (k - len(rows[n]))
    return image_grid(imgs, ncols=k, size=size, row_labels=names, border=borders)


def rates_vs_vector(rates: np.ndarray, vector: np.ndarray, threshold: float = 0.5, title: str = ""):
    """Scatter of activation rate r_c against the SeVec entry v_c for every unit of one concept."""
    fig, ax = plt.subplots(1, 2, figsize=(MAX_WIDTH, 3))
    ax[0].scatter(rates, vector, s=6, alpha=0.6)
    ax[0].axvline(threshold, color="k", ls="--", lw=0.8)
    ax[0].axhline(threshold, color="r", ls=":", lw=0.8)
    ax[0].set_xlabel("activation rate $r_c$ of the unit")
    ax[0].set_ylabel("SeVec entry $v_c$")
    ax[0].set_title(title or "each dot is a unit", fontsize=9)
    ax[1].plot(np.sort(vector)[::-1], lw=1)
    ax[1].axhline(threshold, color="r", ls=":", lw=0.8)
    ax[1].set_xlabel("units, sorted")
    ax[1].set_ylabel("$v_c$")
    ax[1].set_title(f"{int((rates > threshold).sum())} units with r > {threshold}; "
                    f"{int((vector > threshold).sum())} with v > {threshold}", fontsize=9)
    fig.tight_layout()
    return fig


def scatter_2d(points: np.ndarray, labels: Sequence[str], colour_by: Sequence[str], sizes=None, title: str = ""):
    """t-SNE style scatter: one labelled dot per concept, coloured by a higher-level group."""
    groups = list(dict.fromkeys(colour_by))
    cmap = plt.get_cmap("tab10")
    fig, ax = plt.subplots(figsize=(6.5, 5))
    s = np.asarray(sizes) if sizes is not None else np.full(len(points), 60.0)
    for gi, g in enumerate(groups):
        m = np.array([c == g for c in colour_by])
        ax.scatter(points[m, 0], points[m, 1], s=s[m], color=cmap(gi % 10), alpha=0.55, label=g,
                   edgecolor="k", linewidth=0.4)
    for (x, y), lab in zip(points, labels):
        ax.annotate(lab, (x, y), fontsize=8, ha="center", va="bottom", xytext=(0, 4), textcoords="offset points")
    ax.legend(fontsize=8, loc="best")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def heatmap(matrix: np.ndarray, rows: Sequence[str], cols: Sequence[str], title: str = "",
            marks: np.ndarray | None = None, cmap: str = "viridis"):
    """Relevance heatmap; ``marks`` (bool, same shape) outlines the ground-truth cells."""
    fig, ax = plt.subplots(figsize=(min(MAX_WIDTH, 0.42 * len(cols) + 2.5), 0.3 * len(rows) + 1.5))
    im = ax.imshow(matrix, cmap=cmap, aspect="auto")
    ax.set_xticks(range(len(cols)), cols, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(len(rows)), rows, fontsize=8)
    if marks is not None:
        for r, c in zip(*np.nonzero(marks)):
            ax.add_patch(plt.Rectangle((c - 0.5, r - 0.5), 1, 1, fill=False, ec="red", lw=1.5))
    best = matrix.argmax(1)
    for r, c in enumerate(best):
        ax.plot(c, r, marker="*", color="white", ms=6, mec="k", mew=0.4)
    fig.colorbar(im, ax=ax, fraction=0.03)
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


SALIENCY_PERCENTILE = 99.0
"""The book's one rule for drawing a saliency map: the map divided by its own 99th percentile,
clipped at 1, on a dark-to-bright colour map (inferno, zero is black) with a colour bar.
Dividing by the maximum instead leaves a peaky map almost black."""

SALIENCY_BAR_LABEL = "map / its 99th percentile"


def saliency_scaled(m) -> np.ndarray:
    """A saliency map scaled by the book's rule (:data:`SALIENCY_PERCENTILE`).

    Parameters
    ----------
    m : array-like (H, W)
        A non-negative saliency map (e.g. a row of :func:`sevec_helpers.reduce_channels`).

    Returns
    -------
    numpy.ndarray
        ``m`` divided by its 99th percentile and clipped to [0, 1]; divided by its maximum
        when the percentile is 0 (a map with under 1% non-zero pixels); a zero map stays zero.
    """
    a = np.asarray(m, dtype=float)
    hi = float(np.percentile(a, SALIENCY_PERCENTILE))
    if not hi > 0:
        hi = float(a.max())
    return np.clip(a / hi, 0.0, 1.0) if hi > 0 else np.zeros_like(a)


def draw_saliency(ax, m):
    """Draw a saliency map on ``ax`` by the book's rule (:func:`saliency_scaled`, inferno, marked
    with :data:`SALIENCY_GID` for the browser tests).

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    m : array-like (H, W)

    Returns
    -------
    matplotlib.image.AxesImage
        The drawn image (pass it to :func:`saliency_colorbar`).
    """
    ax.set_xticks([])
    ax.set_yticks([])
    return ax.imshow(saliency_scaled(m), cmap="inferno", vmin=0.0, vmax=1.0, gid=SALIENCY_GID)


def saliency_colorbar(fig, im, label: str = SALIENCY_BAR_LABEL):
    """One colour bar at the right edge of ``fig`` for maps drawn by :func:`draw_saliency`
    (call it after ``fig.tight_layout()``).

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    im : matplotlib.image.AxesImage
        One of the figure's maps.
    label : str
        The bar's label.

    Returns
    -------
    matplotlib.colorbar.Colorbar
    """
    fig.subplots_adjust(right=0.88)
    cax = fig.add_axes([0.9, 0.2, 0.018, 0.6])
    bar = fig.colorbar(im, cax=cax)
    bar.set_label(label, fontsize=8)
    bar.ax.tick_params(labelsize=8)
    return bar


def saliency_grid(image: np.ndarray, maps: dict[str, dict[str, np.ndarray]], boxes: dict[str, list] | None = None):
    """Rows: target classes; columns: the image then one map per method (Fig. 6 layout), each
    map drawn by :func:`draw_saliency` (its own 99th percentile), with one colour bar."""
    targets = list(maps)
    methods = list(next(iter(maps.values())))
    side = min(2.0, MAX_WIDTH / (len(methods) + 1))
    wrap = max(10, int(side * 15))  # characters of an 8 pt title that fit over one panel
    titles = [textwrap.fill(m, wrap) for m in methods]
    extra = 0.13 * (max(t.count("\n") for t in titles) if titles else 0)
    fig, axes = plt.subplots(len(targets), len(methods) + 1,
                             figsize=(side * (len(methods) + 1), (side + 0.3) * len(targets) + extra), squeeze=False)
    for r, t in enumerate(targets):
        axes[r, 0].imshow(image)
        axes[r, 0].set_ylabel(t, fontsize=9)
        for b in (boxes or {}).get(t, []):
            x0, y0, x1, y1 = b
            axes[r, 0].add_patch(plt.Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False, ec="yellow", lw=1.5))
        for c, m in enumerate(methods):
            im = draw_saliency(axes[r, c + 1], maps[t][m])
            if r == 0:
                axes[r, c + 1].set_title(titles[c], fontsize=8)
    axes[0, 0].set_title("image, target box", fontsize=8)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    saliency_colorbar(fig, im)
    return fig


def curves(x: Sequence[float], ys: dict[str, Sequence[float]], xlabel: str, ylabel: str, title: str = "",
           bands: dict[str, tuple] | None = None, zero_line: bool = False, ax=None,
           colors: dict[str, str] | None = None, styles: dict[str, str] | None = None):
    """Lines over ``x`` (one per key of ``ys``), optional 95% bands, with the legend below the
    axes so that it never hides a curve. ``colors`` / ``styles`` (line style, e.g. ``"--"``)
    by name; names without a colour take the next colour of the cycle."""
    if ax is None:
        fig, ax = plt.subplots(figsize=(6.0, 3.4 + 0.2 * ((len(ys) + 1) // 2)))
    else:
        fig = ax.figure
    for name, y in ys.items():
        kw = {"color": colors[name]} if colors and name in colors else {}
        ls = (styles or {}).get(name, "-")
        line, = ax.plot(x, y, marker="o" if ls == "-" else None, ms=3, ls=ls, lw=1.5 if ls == "-" else 1.3,
                        label=name, **kw)
        if bands and name in bands:
            lo, hi = bands[name]
            ax.fill_between(x, lo, hi, alpha=0.2, color=line.get_color())
    if zero_line:
        ax.axhline(0, color="k", lw=0.8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2, frameon=False)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------------------
# plotly: interactive in the static book
# ---------------------------------------------------------------------------------------


def _image_uri(img: np.ndarray, max_side: int | None = None, quality: int = 88) -> str:
    """A data URI of an image (H x W x 3 in [0, 1] or uint8), shrunk to ``max_side`` pixels if
    larger. JPEG: the book's images are photographs, noisy renderings and heat maps, which
    JPEG stores in a fraction of a PNG's bytes (a gallery holds hundreds of them)."""
    from PIL import Image

    arr = np.asarray(img)
    if arr.dtype != np.uint8:
        arr = (np.clip(arr, 0, 1) * 255).round().astype(np.uint8)
    im = Image.fromarray(arr).convert("RGB")
    if max_side and max(im.size) > max_side:
        im.thumbnail((max_side, max_side), Image.LANCZOS)
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=quality, optimize=True)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode()


_VIEW_ID = [0]


def gallery(galleries: dict[str, list[np.ndarray]], captions: dict[str, list[str]] | None = None,
            title: str = "", label: str = "concept", thumb: int = 64):
    """A static view: a menu of keys, and for the chosen key its row of images with captions.

    Plain HTML with a native select element and a few lines of JavaScript: no library, every
    option reachable (scrolling, typing, the keyboard), the title kept. Returns an object
    that Jupyter displays as HTML (``.html`` holds the markup)."""
    from html import escape

    _VIEW_ID[0] += 1
    vid = f"sevec-gallery-{_VIEW_ID[0]}"
    keys = list(galleries)
    opts = "".join(f'<option value="{i}">{escape(str(k))}</option>' for i, k in enumerate(keys))
    panels = []
    for i, k in enumerate(keys):
        cells = []
        for j, im in enumerate(galleries[k]):
            cap = escape((captions or {}).get(k, [""] * len(galleries[k]))[j] if captions else "")
            cells.append(f'<figure style="margin:2px;text-align:center"><img src="{_image_uri(im, 2 * thumb)}" alt="{cap}" '
                         f'style="width:{thumb}px;height:auto;image-rendering:pixelated"><figcaption '
                         f'style="font-size:12px;max-width:{thumb + 8}px">{cap}</figcaption></figure>')
        panels.append(f'<div data-key="{i}" style="display:{"flex" if i == 0 else "none"};flex-wrap:wrap">'
                      f'{"".join(cells)}</div>')
    html = (f'<div id="{vid}" class="sevec-gallery" style="max-width:100%">'
            f'<div style="font-weight:600;font-size:15px;margin:4px 0" class="sevec-title">{escape(title)}</div>'
            f'<label style="font-size:14px">{escape(label)}: <select aria-label="{escape(label)}">{opts}</select>'
            f'</label><div class="sevec-panels" style="margin-top:6px">{"".join(panels)}</div></div>'
            f'<script>(function(){{var r=document.getElementById("{vid}");var s=r.querySelector("select");'
            f's.addEventListener("change",function(){{r.querySelectorAll("[data-key]").forEach(function(d){{'
            f'd.style.display=d.getAttribute("data-key")===s.value?"flex":"none";}});}});}})();</script>')
    return _HTML(html)


class _HTML:
    """HTML for Jupyter (``_repr_html_``) that is also plain markup (``.html``)."""

    def __init__(self, html: str):
        self.html = html

    def _repr_html_(self):
        return self.html


def heatmap_dropdown(matrices: dict[str, tuple[np.ndarray, list[str], list[str]]], title: str = ""):
    """Plotly heatmaps, one per key, switched by a menu under the title (client-side)."""
    import plotly.graph_objects as go

    fig = go.Figure()
    keys = list(matrices)
    for i, key in enumerate(keys):
        m, rows, cols = matrices[key]
        fig.add_trace(go.Heatmap(z=m, x=cols, y=rows, colorscale="Viridis", visible=(i == 0), name=key,
                                 hovertemplate="%{y} / %{x}: %{z:.3f}<extra></extra>"))
    buttons = [{"label": key, "method": "update",
                "args": [{"visible": [j == i for j in range(len(keys))]}, {"title.text": f"{title}: {key}"}]}
               for i, key in enumerate(keys)]
    n = max(len(matrices[k][1]) for k in keys)
    fig.update_layout(title={"text": f"{title}: {keys[0]}", "y": 0.98, "yanchor": "top", "x": 0.0, "xanchor": "left",
                             "font": {"size": 16}},
                      height=max(420, 16 * n + 200), font={"size": 12},
                      updatemenus=[{"buttons": buttons, "x": 0.0, "xanchor": "left", "y": 1.0, "yanchor": "bottom",
                                    "pad": {"t": 4, "b": 4}, "direction": "down"}],
                      yaxis={"autorange": "reversed", "dtick": 1, "tickfont": {"size": 10}},
                      xaxis={"dtick": 1, "tickfont": {"size": 10}}, margin={"t": 110, "l": 10, "r": 10, "b": 10})
    return fig


def slider_lines(x_by_step: Sequence[float], series: dict[str, Sequence[float]], step_label: str, title: str,
                 xlabel: str, ylabel: str, colors: dict[str, str] | None = None):
    """Lines over ``x`` with a slider that moves a marker along the x values (client-side); the
    axes keep their range whatever the slider shows. The legend sits in the right margin under
    the values at the slider's position, clear of the slider; ``colors`` (by name, e.g. the
    static figure's) fixes each line's colour."""
    import plotly.graph_objects as go

    fig = go.Figure()
    names = list(series)
    xs = list(map(float, x_by_step))
    for n in names:
        style = {"color": colors[n]} if colors and n in colors else {}
        fig.add_trace(go.Scatter(x=xs, y=list(series[n]), mode="lines+markers", name=n, line=style, marker=style))
    steps = []
    for i, xv in enumerate(xs):
        txt = "<br>".join(f"{n}: {series[n][i]:.3f}" for n in names)
        steps.append({"label": f"{xv:.2f}", "method": "relayout",
                      "args": [{"shapes": [{"type": "line", "x0": xv, "x1": xv, "y0": 0, "y1": 1, "yref": "paper",
                                            "line": {"dash": "dot"}}],
                                "annotations": [{"x": 1.02, "xref": "paper", "y": 1.0, "yref": "paper", "text": txt,
                                                 "showarrow": False, "xanchor": "left", "yanchor": "top",
                                                 "align": "left", "bgcolor": "white"}]}]})
    lo, hi = min(xs), max(xs)
    pad = 0.02 * (hi - lo or 1)
    fig.update_layout(title={"text": title, "font": {"size": 16}}, xaxis_title=xlabel, yaxis_title=ylabel, height=480,
                      font={"size": 12}, xaxis={"range": [lo - pad, hi + pad], "autorange": False},
                      legend={"x": 1.02, "xanchor": "left", "y": 0.0, "yanchor": "bottom"}, margin={"r": 230},
                      sliders=[{"steps": steps, "active": 0, "currentvalue": {"prefix": f"{step_label}: "},
                                "pad": {"t": 60}}])
    fig.update_layout(**steps[0]["args"][0])
    return fig


_PLOTLY_LOADED = [False]


def show_interactive(fig):
    """Display a plotly figure: in the static book as HTML that loads the plotly.js shipped
    with the book (once per page, only on pages that have such a view), else natively."""
    from IPython.display import HTML, display

    if os.environ.get("SEVEC_STATIC_BOOK") == "1":
        script = "" if _PLOTLY_LOADED[0] else '<script src="../_static/plotly.min.js"></script>'
        _PLOTLY_LOADED[0] = True
        display(HTML(script + fig.to_html(include_plotlyjs=False, full_html=False, config={"responsive": True})))
    else:
        try:
            fig.show()
        except Exception:  # no renderer available (e.g. plain terminal): fall back to HTML with the library
            display(HTML(fig.to_html(include_plotlyjs="cdn", full_html=False)))


# ---------------------------------------------------------------------------------------
# verdict tables
# ---------------------------------------------------------------------------------------


def Markdown(text: str):
    """Markdown output for the notebooks (IPython is imported only when used)."""
    from IPython.display import Markdown as _Md

    return _Md(text)


def fmt(v, digits: int = 3) -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "n/a"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        if v != 0 and (abs(v) < 1e-3 or abs(v) >= 1e5):
            return f"{v:.{digits - 1}e}"
        return f"{v:.{digits}f}"
    return str(v)


def _cell(v) -> str:
    """A table cell: numbers formatted, pipes escaped so they cannot split the row."""
    return (v if isinstance(v, str) else fmt(v)).replace("|", "\\|").replace("\n", " ")


def _row(r) -> dict:
    return r.as_dict() if hasattr(r, "as_dict") else dict(r)


def verdict_table(rows: Sequence, across: Sequence | None = None):
    """The paper's claims: claim | paper | ours | verdict | why (Verdict rows or their dicts).

    With ``across`` (rows of :func:`sevec_helpers.chapters.across`: the same claims judged
    on several networks), a last column says on how many networks each verdict holds."""
    by_id = {r["id"]: r for r in map(_row, across or [])}
    n = max((r["numbers"].get("networks", 0) for r in by_id.values()), default=0)
    extra = f" on {n} networks |" if across else ""
    head = f"| claim | paper | ours | verdict | why |{extra}\n|---|---|---|---|---|{'---|' if across else ''}\n"

    def tail(r):
        if not across:
            return ""
        a = by_id.get(r["id"])
        return f" {_cell(a['why']) if a else 'judged on this network only'} |"

    body = "".join(f"| {_cell(r['claim'])} | {_cell(r['paper'])} | {_cell(r['ours'])} | **{_cell(r['verdict'])}** | "
                   f"{_cell(r.get('why', ''))} |{tail(r)}\n" for r in map(_row, rows))
    return Markdown(head + body)


def network_label(name: str) -> str:
    """A short column label for a network: ``vgg_mini_seed2`` -> ``seed 2``; the shipped
    ``vgg_mini`` -> ``seed 0``; any other name as it is."""
    if name == "vgg_mini":
        return "seed 0"
    m = re.fullmatch(r"vgg_mini_seed(\d+)", name)
    if m:
        return f"seed {m.group(1)}"
    m = re.fullmatch(r"vgg_mini_w(\d+)_i(\d+)", name)
    return f"world {m.group(1)}, init {m.group(2)}" if m else name


def _agreed(r: dict) -> str:
    """"reproduced on all 4 networks" / "mixed: reproduced on 3 of 4, ...", the verdict in bold."""
    why, v = _cell(r["why"]), _cell(r["verdict"])
    return f"**{v}**{why[len(v):]}" if why.startswith(v) else f"**{v}**: {why}"


def network_table(rows: Sequence, title: str = "Each claim on each network"):
    """claim | one verdict column per network | across networks (rows of
    :func:`sevec_helpers.chapters.across`). ``mixed`` is never counted as reproduced."""
    rows = [_row(r) for r in rows]
    nets = list(rows[0]["numbers"]["per_network"]) if rows else []
    head = (f"**{title}**\n\n| claim | " + " | ".join(_cell(network_label(n)) for n in nets) + " | across networks |\n|---|"
            + "---|" * (len(nets) + 1) + "\n")
    body = "".join("| " + _cell(r["claim"]) + " | " + " | ".join(_cell(r["numbers"]["per_network"][n]) for n in nets)
                   + f" | {_agreed(r)} |\n" for r in rows)
    return Markdown(head + body)


def checks_table(rows: Sequence, title: str = "Our own checks (not counted as reproductions)"):
    """Checks of our own: check | ours | reading (Check rows or their dicts)."""
    head = f"**{title}**\n\n| check | ours | reading |\n|---|---|---|\n"
    body = "".join(f"| {_cell(r['check'])} | {_cell(r['ours'])} | {_cell(r['reading'])} |\n" for r in map(_row, rows))
    return Markdown(head + body)


def stack(items: Sequence):
    """Several Markdown outputs as one (a cell shows only its last value)."""
    return Markdown("\n\n".join(getattr(i, "data", str(i)) for i in items))


def markdown_table(header: Sequence[str], rows: Sequence[Sequence]):
    h = "| " + " | ".join(_cell(c) for c in header) + " |\n|" + "---|" * len(header) + "\n"
    return Markdown(h + "".join("| " + " | ".join(_cell(c) for c in r) + " |\n" for r in rows))


FONT_NOTE = "sevec-min-font-px"   # noted in each figure file: its smallest text, in image pixels
PHOTO_MIN_IMAGES = 4              # a figure with this many pictures in it is stored as JPEG
SALIENCY_GID = "sevec-saliency"   # ax.imshow(map, ..., gid=SALIENCY_GID) marks a drawn saliency map
SALIENCY_NOTE = "sevec-saliency-p99"  # noted in the file: the darkest marked map's 99th-percentile grey level


def smallest_text_px(fig) -> float | None:
    """The size, in pixels of the saved image, of the smallest visible text in ``fig``."""
    sizes = [t.get_fontsize() * fig.dpi / 72 for t in fig.findobj(matplotlib.text.Text)
             if t.get_visible() and t.get_text().strip()]
    return min(sizes, default=None)


def is_photographic(fig) -> bool:
    """A grid of pictures (renderings, photos, saliency maps) rather than a chart: JPEG keeps
    it at a fraction of a PNG's bytes."""
    return sum(len(ax.images) for ax in fig.axes) >= PHOTO_MIN_IMAGES


def _font_note(fig) -> str:
    px = smallest_text_px(fig)
    return "none" if px is None else f"{px:.2f}"


def saliency_grey_p99(fig) -> float | None:
    """Of every saliency map drawn in ``fig`` (an image whose gid is ``SALIENCY_GID``), the 99th
    percentile of the grey level (0-255, ITU-R 601 luma) its pixels render at, through the
    image's own colour map and normalisation; the lowest over the maps. None without a marked map."""
    levels = []
    for ax in fig.axes:
        for im in ax.images:
            if im.get_gid() == SALIENCY_GID and im.get_visible():
                rgb = np.asarray(im.to_rgba(im.get_array()), dtype=float)[..., :3]
                grey = 255 * (0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2])
                levels.append(float(np.percentile(grey, 99)))
    return min(levels, default=None)


def _notes(fig) -> dict[str, str]:
    notes = {FONT_NOTE: _font_note(fig)}
    grey = saliency_grey_p99(fig)
    if grey is not None:
        notes[SALIENCY_NOTE] = f"{grey:.1f}"
    return notes


def figure_png(fig) -> bytes | None:
    """``fig`` as PNG (as Jupyter shows it: tight box, the figure's dpi), with the size of its
    smallest text written into the file (``FONT_NOTE``), so the book's browser tests can check
    that no figure text is shown under 9 px. None for a photographic figure (see
    :func:`figure_jpeg`)."""
    if is_photographic(fig):
        return None
    buf = io.BytesIO()
    fig.canvas.print_figure(buf, format="png", dpi=fig.dpi, bbox_inches="tight", facecolor="white",
                            metadata=_notes(fig))
    return buf.getvalue()


def figure_jpeg(fig, quality: int = 88) -> bytes | None:
    """A photographic ``fig`` as JPEG, its smallest text noted in the file's comment
    (``FONT_NOTE=...``); None for other figures (see :func:`figure_png`)."""
    if not is_photographic(fig):
        return None
    buf = io.BytesIO()
    fig.canvas.print_figure(buf, format="jpeg", dpi=fig.dpi, bbox_inches="tight", facecolor="white",
                            pil_kwargs={"quality": quality, "optimize": True,
                                        "comment": ";".join(f"{k}={v}" for k, v in _notes(fig).items())})
    return buf.getvalue()


def notes_of(data: bytes) -> dict[str, str]:
    """The notes (``FONT_NOTE``, ``SALIENCY_NOTE``) of a figure file made by :func:`figure_png`
    (PNG text chunks) or :func:`figure_jpeg` (``key=value;...`` in the JPEG comment)."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        if im.format == "PNG":
            return {k: v for k, v in im.text.items() if k in (FONT_NOTE, SALIENCY_NOTE)}
        comment = im.info.get("comment", b"")
        comment = comment.decode() if isinstance(comment, bytes) else comment
        pairs = (p.split("=", 1) for p in comment.split(";") if "=" in p)
        return {k: v for k, v in pairs if k in (FONT_NOTE, SALIENCY_NOTE)}


def font_note_of(data: bytes) -> str | None:
    """The ``FONT_NOTE`` of a figure file made by :func:`figure_png` or :func:`figure_jpeg`."""
    return notes_of(data).get(FONT_NOTE)


def use_book_style() -> None:
    """100 dpi and legible defaults: figures at most MAX_WIDTH wide, no text under MIN_FONT.
    In Jupyter, figures are shown through ``figure_png`` or, for grids of pictures,
    ``figure_jpeg`` (both note the size of their smallest text in the file)."""
    matplotlib.rcParams.update({"figure.dpi": 100, "savefig.dpi": 100, "font.size": 10, "axes.titlesize": 10,
                                "axes.labelsize": 10, "xtick.labelsize": 9, "ytick.labelsize": 9,
                                "legend.fontsize": 9})
    try:
        from IPython import get_ipython
    except ImportError:
        return
    ip = get_ipython()
    if ip is not None:
        from matplotlib.figure import Figure

        # let the inline backend set itself up first (it does on the first figure), so that
        # it cannot replace these formatters afterwards
        plt.close(plt.figure())
        ip.display_formatter.formatters["image/png"].for_type(Figure, figure_png)
        ip.display_formatter.formatters["image/jpeg"].for_type(Figure, figure_jpeg)
