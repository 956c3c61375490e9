"""Static figures (matplotlib) for the printed book: image grids, retrieval rows, scatter
plots, heatmaps, curves, and saliency maps drawn by one rule (each map over its own 99th
percentile, inferno, with a colour bar). Figures are at most ``MAX_WIDTH`` wide and no
text is smaller than ``MIN_FONT``.
"""

from __future__ import annotations

import textwrap
from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np

from sevec_helpers.book.figures.files import SALIENCY_GID

MAX_WIDTH = 9.2   # inches: at 100 dpi a figure is never wider than the book's text column at 1280 px (960 px)

MIN_FONT = 8      # points: with MAX_WIDTH, at least 9 px on screen


def image_grid(images: Sequence[np.ndarray], titles: Sequence[str] | None = None, ncols: int = 8,
               size: float = 1.3, row_labels: Sequence[str] | None = None, suptitle: str | None = None,
               border: Sequence[str | None] | None = None):
    """A grid of HxWx3 images in [0, 1] (or uint8), optional titles, row labels and coloured borders;
    an image that is None leaves its cell empty."""
    n = len(images)
    nrows = max(1, -(-n // ncols))
    size = min(size, MAX_WIDTH / (ncols + (0.9 if row_labels is not None else 0)))
    fig, axes = plt.subplots(nrows, ncols, figsize=(ncols * size + (0.9 if row_labels is not None else 0),
                                                    nrows * size * (1.25 if titles else 1.0)),
                             squeeze=False)
    for k, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        if k >= n or images[k] is None:   # None: an empty cell (e.g. to start a new group on a new row)
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


SIZE_AREAS = (25.0, 520.0)
"""Marker areas (points^2) of the smallest and the largest value a scatter encodes by size: a
diameter ratio of about 4.5, which a reader sees (a value spanning 0.21-0.29 drawn as 40 + 900 x
value varied the diameter by 15%, and every circle looked the same)."""


def size_areas(values, areas: tuple[float, float] = SIZE_AREAS) -> np.ndarray:
    """Marker areas for ``values``: linear in the value from its smallest (``areas[0]``) to its
    largest (``areas[1]``); the middle area where every value is the same or missing."""
    v = np.asarray(values, dtype=float)
    lo, hi = (np.nanmin(v), np.nanmax(v)) if np.isfinite(v).any() else (0.0, 0.0)
    mid = (areas[0] + areas[1]) / 2
    if not hi > lo:
        return np.full(len(v), mid)
    return np.where(np.isfinite(v), areas[0] + (v - lo) / (hi - lo) * (areas[1] - areas[0]), mid)


def scatter_2d(points: np.ndarray, labels: Sequence[str], colour_by: Sequence[str], size_by=None, title: str = "",
               size_label: str = "value"):
    """t-SNE style scatter: one labelled dot per concept, coloured by a higher-level group; with
    ``size_by`` (one value per point) the dot's area grows linearly from the smallest value to the
    largest (:func:`size_areas`), and a second legend shows three sizes with their values."""
    groups = list(dict.fromkeys(colour_by))
    cmap = plt.get_cmap("tab10")
    fig, ax = plt.subplots(figsize=(MAX_WIDTH, 6.4))
    s = size_areas(size_by) if size_by is not None else np.full(len(points), 60.0)
    for gi, g in enumerate(groups):
        m = np.array([c == g for c in colour_by])
        ax.scatter(points[m, 0], points[m, 1], s=s[m], color=cmap(gi % 10), alpha=0.55, label=g,
                   edgecolor="k", linewidth=0.4)
    for (x, y), lab, si in zip(points, labels, s):
        ax.annotate(lab, (x, y), fontsize=8, ha="center", va="bottom", xytext=(0, np.sqrt(si) / 2 + 1),
                    textcoords="offset points")
    ax.margins(0.08)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=10)
    fig.tight_layout(rect=(0.0, 0.0, 0.83, 1.0))   # the legends live in the figure's right sixth
    handles, names = ax.get_legend_handles_labels()
    colours = fig.legend(handles, names, fontsize=8, title="colour", title_fontsize=8, loc="upper left",
                         bbox_to_anchor=(0.84, 0.97), frameon=False)
    for h in colours.legend_handles:
        h.set_sizes([60.0])
    if size_by is not None:
        v = np.asarray(size_by, dtype=float)
        if np.isfinite(v).any() and np.nanmax(v) > np.nanmin(v):
            lo, hi = float(np.nanmin(v)), float(np.nanmax(v))
            refs = [lo, (lo + hi) / 2, hi]
            sizes = size_areas(refs + [lo, hi])[:3]
            handles = [plt.Line2D([], [], ls="none", marker="o", markersize=np.sqrt(a), markerfacecolor="0.7",
                                  markeredgecolor="k", markeredgewidth=0.4) for a in sizes]
            fig.legend(handles, [f"{r:.3f}" for r in refs], title=f"size: {size_label}", title_fontsize=8,
                       fontsize=8, loc="lower left", bbox_to_anchor=(0.84, 0.05), frameon=False, labelspacing=1.3,
                       borderpad=0.8)
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
            ax.add_patch(plt.Rectangle((c - 0.45, r - 0.45), 0.9, 0.9, fill=False, ec="red", lw=2.0))
    best = matrix.argmax(1)
    for r, c in enumerate(best):   # white with a black rim: seen on dark and on light (yellow) cells alike
        ax.plot(c, r, marker="*", color="white", ms=11, mec="k", mew=1.2, ls="none")
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
