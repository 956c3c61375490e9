"""Views a reader can change in the static HTML, with no kernel: a gallery with a picker,
heatmaps with a dropdown, lines with a slider (plotly).

``show_interactive(fig)`` emits plotly HTML that uses the plotly.js the book ships in
``_static`` when ``SEVEC_STATIC_BOOK=1`` (set by the book build); elsewhere it shows the
figure with plotly's own renderer.
"""

from __future__ import annotations

import base64
import io
import os
from typing import Sequence

import numpy as np


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
            title: str = "", label: str = "concept", thumb: int = 96):
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


def heatmap_dropdown(matrices: dict[str, tuple[np.ndarray, list[str], list[str]]], title: str = "",
                     marks: dict[str, np.ndarray] | None = None, best: bool = False,
                     hover: dict[str, tuple[list[str], list[str]]] | None = None):
    """Plotly heatmaps, one per key, switched by a menu under the title (client-side).

    ``marks`` (key -> boolean matrix of the same shape) outlines those cells with red squares, and
    ``best`` stars each row's largest value (white with a black rim), as the static
    :func:`sevec_helpers.book.figures.heatmap` does; the menu switches them with their heatmap.
    ``hover`` (key -> row and column names) names the cells on hover where the axis labels are
    shortened (long labels on the side take the plot's width on a phone)."""
    import plotly.graph_objects as go

    fig = go.Figure()
    keys = list(matrices)
    owner = []   # the key each trace belongs to
    for i, key in enumerate(keys):
        m, rows, cols = matrices[key]
        m = np.asarray(m)
        named = None if hover is None else hover.get(key)
        fig.add_trace(go.Heatmap(z=m, x=cols, y=rows, colorscale="Viridis", visible=(i == 0), name=key,
                                 customdata=None if named is None else
                                 [[f"{a} / {b}" for b in named[1]] for a in named[0]],
                                 hovertemplate=("%{y} / %{x}" if named is None else "%{customdata}")
                                 + ": %{z:.3f}<extra></extra>",
                                 # the colour bar lies under the plot, so at phone width the cells keep the
                                 # width a bar at the side would take
                                 colorbar={"orientation": "h", "yref": "container", "y": 0.0, "yanchor": "bottom",
                                           "thickness": 12, "len": 0.6, "x": 0.0, "xanchor": "left"}))
        owner.append(key)
        mk = None if marks is None else marks.get(key)
        if mk is not None and np.asarray(mk).any():
            r, c = np.nonzero(np.asarray(mk))
            fig.add_trace(go.Scatter(x=[cols[j] for j in c], y=[rows[j] for j in r], mode="markers",
                                     visible=(i == 0), name="true (red square)", showlegend=False,
                                     marker={"symbol": "square-open", "size": 15, "color": "red",
                                             "line": {"width": 2.5, "color": "red"}},
                                     hovertemplate="%{y} has %{x}<extra></extra>"))
            owner.append(key)
        if best:
            b = m.argmax(1)
            fig.add_trace(go.Scatter(x=[cols[j] for j in b], y=list(rows), mode="markers", visible=(i == 0),
                                     name="most relevant (star)", showlegend=False,
                                     marker={"symbol": "star", "size": 13, "color": "white",
                                             "line": {"width": 1.5, "color": "black"}},
                                     hovertemplate="%{y}: most relevant %{x}<extra></extra>"))
            owner.append(key)
    buttons = [{"label": key, "method": "update",
                "args": [{"visible": [o == key for o in owner]}, {"title.text": f"{title}: {key}"}]}
               for key in keys]
    n = max(len(matrices[k][1]) for k in keys)
    fig.update_layout(title={"text": f"{title}: {keys[0]}", "y": 0.98, "yanchor": "top", "x": 0.0, "xanchor": "left",
                             "font": {"size": 16}},
                      height=max(420, 16 * n + 200), font={"size": 12},
                      updatemenus=[{"buttons": buttons, "x": 0.0, "xanchor": "left", "y": 1.0, "yanchor": "bottom",
                                    "pad": {"t": 4, "b": 4}, "direction": "down"}],
                      yaxis={"autorange": "reversed", "dtick": 1, "tickfont": {"size": 10}},
                      xaxis={"dtick": 1, "tickfont": {"size": 10}}, margin={"t": 110, "l": 10, "r": 10, "b": 70},
                      plot_bgcolor="white")
    return fig


def slider_lines(x_by_step: Sequence[float], series: dict[str, Sequence[float]], step_label: str, title: str,
                 xlabel: str, ylabel: str, colors: dict[str, str] | None = None):
    """Lines over ``x`` with a slider that moves a marker along the x values (client-side); the
    axes keep their range whatever the slider shows. One layout for every screen: the legend in
    a row between the title and the plot, the values at the slider's position under the slider,
    nothing in a side margin (at 390 px a side margin left the plot about 40 px wide);
    ``colors`` (by name, e.g. the static figure's) fixes each line's colour."""
    import plotly.graph_objects as go

    fig = go.Figure()
    names = list(series)
    xs = list(map(float, x_by_step))
    for n in names:
        style = {"color": colors[n]} if colors and n in colors else {}
        fig.add_trace(go.Scatter(x=xs, y=list(series[n]), mode="lines+markers", name=n, line=style, marker=style))
    steps = []
    for i, xv in enumerate(xs):
        txt = f"<b>at {step_label} = {xv:.2f}</b><br>" + "<br>".join(f"{n}: {series[n][i]:.3f}" for n in names)
        steps.append({"label": f"{xv:.2f}", "method": "relayout",
                      "args": [{"shapes": [{"type": "line", "x0": xv, "x1": xv, "y0": 0, "y1": 1, "yref": "paper",
                                            "line": {"dash": "dot"}}],
                                "annotations": [{"x": 0.0, "xref": "paper", "y": 0.0, "yref": "paper",
                                                 "yshift": -SLIDER_BELOW_PX, "text": txt, "showarrow": False,
                                                 "xanchor": "left", "yanchor": "top", "align": "left"}]}]})
    lo, hi = min(xs), max(xs)
    pad = 0.02 * (hi - lo or 1)
    rows = 1 + len(names) // 3        # legend rows at phone width (about three names a row)
    fig.update_layout(title={"text": title, "font": {"size": 16}, "x": 0.0, "xanchor": "left", "y": 0.99,
                             "yanchor": "top"},
                      xaxis_title=xlabel, yaxis_title=ylabel, height=560 + 20 * rows, font={"size": 12},
                      xaxis={"range": [lo - pad, hi + pad], "autorange": False},
                      legend={"orientation": "h", "x": 0.0, "xanchor": "left", "y": 1.02, "yanchor": "bottom"},
                      margin={"l": 60, "r": 20, "t": 50 + 22 * rows, "b": SLIDER_BELOW_PX + 18 * (len(names) + 1) + 10},
                      sliders=[{"steps": steps, "active": 0, "currentvalue": {"prefix": f"{step_label}: "},
                                "pad": {"t": 60}}])
    fig.update_layout(**steps[0]["args"][0])
    return fig


SLIDER_BELOW_PX = 150
"""How far under the plot area the slider's values are written: below the x-axis title and the
slider (plotly draws the slider in the bottom margin)."""

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
