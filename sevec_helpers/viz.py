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
from typing import Sequence

import matplotlib
import matplotlib.pyplot as plt
import numpy as np

# ---------------------------------------------------------------------------------------
# matplotlib
# ---------------------------------------------------------------------------------------


def image_grid(images: Sequence[np.ndarray], titles: Sequence[str] | None = None, ncols: int = 8,
               size: float = 1.3, row_labels: Sequence[str] | None = None, suptitle: str | None = None,
               border: Sequence[str | None] | None = None):
    """A grid of HxWx3 images in [0, 1] (or uint8), optional titles, row labels and coloured borders."""
    n = len(images)
    nrows = max(1, -(-n // ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(ncols * size, nrows * size * (1.12 if titles else 1.0)),
                             squeeze=False)
    for k, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        if k >= n:
            ax.axis("off")
            continue
        ax.imshow(images[k], interpolation="nearest")
        if titles is not None:
            ax.set_title(titles[k], fontsize=7)
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
    fig, ax = plt.subplots(1, 2, figsize=(8.5, 3))
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
        ax.annotate(lab, (x, y), fontsize=6.5, ha="center", va="bottom", xytext=(0, 4), textcoords="offset points")
    ax.legend(fontsize=8, loc="best")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def heatmap(matrix: np.ndarray, rows: Sequence[str], cols: Sequence[str], title: str = "",
            marks: np.ndarray | None = None, cmap: str = "viridis"):
    """Relevance heatmap; ``marks`` (bool, same shape) outlines the ground-truth cells."""
    fig, ax = plt.subplots(figsize=(0.42 * len(cols) + 2.5, 0.3 * len(rows) + 1.5))
    im = ax.imshow(matrix, cmap=cmap, aspect="auto")
    ax.set_xticks(range(len(cols)), cols, rotation=60, ha="right", fontsize=7)
    ax.set_yticks(range(len(rows)), rows, fontsize=7)
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


def saliency_grid(image: np.ndarray, maps: dict[str, dict[str, np.ndarray]], boxes: dict[str, list] | None = None):
    """Rows: target classes; columns: the image then one map per method (Fig. 6 layout)."""
    targets = list(maps)
    methods = list(next(iter(maps.values())))
    fig, axes = plt.subplots(len(targets), len(methods) + 1, figsize=(2.0 * (len(methods) + 1), 2.1 * len(targets)),
                             squeeze=False)
    for r, t in enumerate(targets):
        axes[r, 0].imshow(image)
        axes[r, 0].set_ylabel(t, fontsize=9)
        for b in (boxes or {}).get(t, []):
            x0, y0, x1, y1 = b
            axes[r, 0].add_patch(plt.Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False, ec="yellow", lw=1.5))
        for c, m in enumerate(methods):
            a = maps[t][m]
            axes[r, c + 1].imshow(a / (a.max() + 1e-12), cmap="inferno")
            if r == 0:
                axes[r, c + 1].set_title(m, fontsize=8)
    axes[0, 0].set_title("image, target box", fontsize=8)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    return fig


def curves(x: Sequence[float], ys: dict[str, Sequence[float]], xlabel: str, ylabel: str, title: str = "",
           bands: dict[str, tuple] | None = None, zero_line: bool = False, ax=None):
    if ax is None:
        fig, ax = plt.subplots(figsize=(5.2, 3.4))
    else:
        fig = ax.figure
    for name, y in ys.items():
        ax.plot(x, y, marker="o", ms=3, label=name)
        if bands and name in bands:
            lo, hi = bands[name]
            ax.fill_between(x, lo, hi, alpha=0.2)
    if zero_line:
        ax.axhline(0, color="k", lw=0.8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------------------
# plotly: interactive in the static book
# ---------------------------------------------------------------------------------------


def _png_uri(img: np.ndarray) -> str:
    from PIL import Image

    arr = np.asarray(img)
    if arr.dtype != np.uint8:
        arr = (np.clip(arr, 0, 1) * 255).round().astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def gallery_dropdown(galleries: dict[str, list[np.ndarray]], captions: dict[str, list[str]] | None = None,
                     title: str = "", label: str = "concept", thumb: int = 64):
    """A plotly figure with a dropdown: pick a key, see its row of images (all client-side)."""
    import plotly.graph_objects as go

    keys = list(galleries)
    k = max(len(v) for v in galleries.values())
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=[0, k], y=[0, 1], mode="markers", marker={"opacity": 0}, hoverinfo="skip",
                             showlegend=False))
    layouts = []
    for key in keys:
        imgs = []
        for j, im in enumerate(galleries[key]):
            imgs.append(dict(source=_png_uri(im), x=j + 0.02, y=1, sizex=0.96, sizey=0.96, xref="x", yref="y",
                             xanchor="left", yanchor="top", layer="above"))
        ann = []
        for j, cap in enumerate((captions or {}).get(key, [])):
            ann.append(dict(x=j + 0.5, y=-0.02, text=cap, showarrow=False, font={"size": 10}, xref="x", yref="y",
                            yanchor="top"))
        layouts.append({"images": imgs, "annotations": ann, "title.text": f"{title}: {label} = {key}"})
    fig.update_layout(images=layouts[0]["images"], annotations=layouts[0]["annotations"],
                      title=layouts[0]["title.text"], height=thumb * 2 + 120, width=max(500, k * thumb * 1.6),
                      xaxis={"visible": False, "range": [0, k]}, yaxis={"visible": False, "range": [-0.2, 1.02],
                                                                          "scaleanchor": "x"},
                      margin={"l": 10, "r": 10, "t": 80, "b": 10},
                      updatemenus=[{"buttons": [{"label": key, "method": "relayout", "args": [lay]}
                                                for key, lay in zip(keys, layouts)],
                                    "direction": "down", "x": 0, "y": 1.25, "xanchor": "left"}])
    return fig


def heatmap_dropdown(matrices: dict[str, tuple[np.ndarray, list[str], list[str]]], title: str = ""):
    """Plotly heatmaps, one per key, switched by a dropdown (client-side)."""
    import plotly.graph_objects as go

    fig = go.Figure()
    keys = list(matrices)
    for i, key in enumerate(keys):
        m, rows, cols = matrices[key]
        fig.add_trace(go.Heatmap(z=m, x=cols, y=rows, colorscale="Viridis", visible=(i == 0), name=key,
                                 hovertemplate="%{y} / %{x}: %{z:.3f}<extra></extra>"))
    buttons = [{"label": key, "method": "update",
                "args": [{"visible": [j == i for j in range(len(keys))]}, {"title": f"{title}: {key}"}]}
               for i, key in enumerate(keys)]
    fig.update_layout(title=f"{title}: {keys[0]}", height=650, updatemenus=[{"buttons": buttons, "x": 0, "y": 1.12,
                                                                             "xanchor": "left"}],
                      yaxis={"autorange": "reversed"}, margin={"t": 90})
    return fig


def slider_lines(x_by_step: Sequence[float], series: dict[str, Sequence[float]], step_label: str, title: str,
                 xlabel: str, ylabel: str):
    """Lines over ``x`` with a slider that moves a marker along the x values (client-side)."""
    import plotly.graph_objects as go

    fig = go.Figure()
    names = list(series)
    for n in names:
        fig.add_trace(go.Scatter(x=list(x_by_step), y=list(series[n]), mode="lines+markers", name=n))
    steps = []
    for i, xv in enumerate(x_by_step):
        txt = "<br>".join(f"{n}: {series[n][i]:.3f}" for n in names)
        steps.append({"label": f"{xv:.2f}", "method": "relayout",
                      "args": [{"shapes": [{"type": "line", "x0": xv, "x1": xv, "y0": 0, "y1": 1, "yref": "paper",
                                            "line": {"dash": "dot"}}],
                                "annotations": [{"x": xv, "y": 1.0, "yref": "paper", "text": txt, "showarrow": False,
                                                 "xanchor": "left", "align": "left", "bgcolor": "white"}]}]})
    fig.update_layout(title=title, xaxis_title=xlabel, yaxis_title=ylabel, height=460,
                      sliders=[{"steps": steps, "active": 0, "currentvalue": {"prefix": f"{step_label}: "}}])
    fig.update_layout(**steps[0]["args"][0])
    return fig


def show_interactive(fig):
    """Display a plotly figure: as self-contained HTML for the static book, else natively."""
    from IPython.display import HTML, display

    if os.environ.get("SEVEC_STATIC_BOOK") == "1":
        display(HTML(fig.to_html(include_plotlyjs=False, full_html=False, config={"responsive": True})))
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


def verdict_table(rows: Sequence):
    """The paper's claims: claim | paper | ours | verdict | why (Verdict rows or their dicts)."""
    head = "| claim | paper | ours | verdict | why |\n|---|---|---|---|---|\n"
    body = "".join(f"| {_cell(r['claim'])} | {_cell(r['paper'])} | {_cell(r['ours'])} | **{_cell(r['verdict'])}** | "
                   f"{_cell(r.get('why', ''))} |\n" for r in map(_row, rows))
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


def use_book_style() -> None:
    matplotlib.rcParams.update({"figure.dpi": 100, "savefig.dpi": 100, "font.size": 9})
