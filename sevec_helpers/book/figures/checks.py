"""What a reader can see in a figure, measured on the figure itself when it is stored, and
noted in its file for the book's browser tests (``tests/test_browser.py``), one note per
defect class that a caption can be betrayed by:

- ``SIZE_SPAN_NOTE``: of the scatter plots whose marker size encodes a value, the smallest
  ratio of the largest to the smallest marker diameter (a size legend that nobody can see
  vary shows nothing);
- ``CLIPPED_NOTE``: markers cut by the frame of their axes or drawn outside it;
- ``LEGEND_NOTE``: data points and line samples that a legend inside the axes covers;
- ``IMAGE_NOTE``: the smallest side of a picture in the figure, in image pixels (a thumbnail a
  reader cannot check);
- ``OVERLAP_NOTE``: pairs of (unrotated) texts that overlap each other;
- ``CONTRAST_NOTE``: the lowest contrast ratio (WCAG's, 1 to 21) of a marker or a text drawn
  over a picture or a heat map against what lies under it (white stars on yellow);
- ``MARKER_NOTE``: the smallest marker drawn over a picture or heat map, in image pixels.

Every measurement is made in the saved image's pixels (the figure's dpi), before the tight
crop (which moves the image, not the sizes).
"""

from __future__ import annotations

import numpy as np

SIZE_SPAN_NOTE = "sevec-size-span"
CLIPPED_NOTE = "sevec-clipped-markers"
LEGEND_NOTE = "sevec-legend-over-data"
IMAGE_NOTE = "sevec-min-image-px"
OVERLAP_NOTE = "sevec-text-overlaps"
CONTRAST_NOTE = "sevec-min-contrast"
MARKER_NOTE = "sevec-min-marker-px"

NOTES = (SIZE_SPAN_NOTE, CLIPPED_NOTE, LEGEND_NOTE, IMAGE_NOTE, OVERLAP_NOTE, CONTRAST_NOTE, MARKER_NOTE)

_TOL_PX = 1.0     # a marker may touch the frame by this much


def _agg(fig) -> None:
    """Give ``fig`` a canvas that draws to pixels (a figure closed to pyplot keeps a bare one)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    if not isinstance(fig.canvas, FigureCanvasAgg):
        FigureCanvasAgg(fig)


def _renderer(fig):
    _agg(fig)
    fig.canvas.draw()
    return fig.canvas.get_renderer()


def _legends(fig):
    out = [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None]
    return out + list(fig.legends)


def _in_legend(artist, legends) -> bool:
    return any(artist in leg.get_children() or artist in getattr(leg, "legend_handles", []) for leg in legends)


def _scatters(ax):
    """Scatter collections of ``ax`` with points: (display xy (N, 2), radii in px (N,), collection)."""
    from matplotlib.collections import PathCollection

    dpi = ax.figure.dpi
    for c in ax.collections:
        if not isinstance(c, PathCollection) or not c.get_visible():
            continue
        off = np.asarray(c.get_offsets(), dtype=float).reshape(-1, 2)
        if not len(off):
            continue
        xy = c.get_offset_transform().transform(off)
        sizes = np.asarray(c.get_sizes(), dtype=float)
        if not len(sizes):
            continue
        sizes = np.resize(sizes, len(xy))
        yield xy, np.sqrt(sizes) * dpi / 72 / 2, c


def _line_markers(ax):
    """Lines of ``ax`` drawn with markers: (display xy, radius in px, line)."""
    dpi = ax.figure.dpi
    for ln in ax.get_lines():
        if not ln.get_visible() or ln.get_marker() in (None, "None", "", " ") or ln.get_markersize() <= 0:
            continue
        xy = ln.get_transform().transform(np.column_stack([ln.get_xdata(), ln.get_ydata()]).astype(float))
        yield xy, ln.get_markersize() * dpi / 72 / 2, ln


def size_span(fig) -> float | None:
    """Of the scatter collections whose sizes vary, the smallest ratio of the largest to the smallest
    marker diameter; None when no scatter encodes a value by size."""
    spans = []
    legends = _legends(fig)
    for ax in fig.axes:
        r = [rad for _, rad, c in _scatters(ax) if not _in_legend(c, legends) and len(np.unique(c.get_sizes())) > 1]
        r = np.concatenate(r) if r else np.zeros(0)
        r = r[np.isfinite(r) & (r > 0)]
        if len(r) > 1 and r.max() > r.min() * 1.001:
            spans.append(float(r.max() / r.min()))
    return min(spans, default=None)


def clipped_markers(fig) -> int:
    """How many markers (scatter points, line markers) stick out of their axes' frame by more than
    a pixel or lie outside it (a marker on the frame is cut in half)."""
    n = 0
    for ax in fig.axes:
        if not ax.get_visible() or not ax.axison:
            continue
        b = ax.bbox
        for xy, r, art in list(_scatters(ax)) + list(_line_markers(ax)):
            if not art.get_clip_on():
                continue
            r = np.broadcast_to(r, len(xy))
            ok = np.isfinite(xy).all(1)
            xy, r = xy[ok], r[ok]
            out = ((xy[:, 0] - r < b.x0 - _TOL_PX) | (xy[:, 0] + r > b.x1 + _TOL_PX)
                   | (xy[:, 1] - r < b.y0 - _TOL_PX) | (xy[:, 1] + r > b.y1 + _TOL_PX))
            n += int(out.sum())
    return n


def _line_samples(ln, per_segment: int = 12) -> np.ndarray:
    xy = ln.get_transform().transform(np.column_stack([ln.get_xdata(), ln.get_ydata()]).astype(float))
    xy = xy[np.isfinite(xy).all(1)]
    if len(xy) < 2 or ln.get_linestyle() in ("None", "", " "):
        return xy
    t = np.linspace(0, 1, per_segment, endpoint=False)[:, None, None]
    seg = xy[:-1][None] + t * (xy[1:] - xy[:-1])[None]
    return np.concatenate([seg.reshape(-1, 2), xy[-1:]])


def legend_over_data(fig) -> int:
    """How many data points (scatter points, line vertices and samples along each line) lie
    under a legend drawn inside the axes they belong to."""
    r = _renderer(fig)
    legends = _legends(fig)
    n = 0
    for leg in legends:
        box = leg.get_window_extent(r)
        for ax in fig.axes:
            if not ax.bbox.overlaps(box):
                continue
            pts = [xy for xy, _, c in _scatters(ax) if not _in_legend(c, legends)]
            pts += [_line_samples(ln) for ln in ax.get_lines() if ln.get_visible() and not _in_legend(ln, legends)
                    and ln.get_label() and not ln.get_label().startswith("_")]
            for xy in pts:
                inside = ((xy[:, 0] >= box.x0) & (xy[:, 0] <= box.x1) & (xy[:, 1] >= box.y0) & (xy[:, 1] <= box.y1)
                          & (xy[:, 0] >= ax.bbox.x0) & (xy[:, 0] <= ax.bbox.x1)
                          & (xy[:, 1] >= ax.bbox.y0) & (xy[:, 1] <= ax.bbox.y1))
                n += int(inside.sum())
    return n


def min_image_px(fig) -> float | None:
    """The smallest side, in image pixels, of a picture drawn in the figure (``imshow``), as far as
    its axes show it; None without pictures."""
    r = _renderer(fig)
    sides = []
    for ax in fig.axes:
        for im in ax.images:
            if not im.get_visible():
                continue
            e = im.get_window_extent(r)
            x0, x1 = max(e.x0, ax.bbox.x0), min(e.x1, ax.bbox.x1)
            y0, y1 = max(e.y0, ax.bbox.y0), min(e.y1, ax.bbox.y1)
            if x1 > x0 and y1 > y0:
                sides.append(min(x1 - x0, y1 - y0))
    return min(sides, default=None)


def _upright(t) -> bool:
    return round(t.get_rotation()) % 90 == 0


def _tick_labels(fig) -> set:
    """Tick labels (matplotlib keeps labels of ticks outside the view among the figure's texts;
    the locator spaces the drawn ones)."""
    out = set()
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                out |= {tick.label1, tick.label2}
    return out


def _texts(fig) -> list:
    from matplotlib.text import Text

    ticks = _tick_labels(fig)
    return [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip() and _upright(t)
            and t.figure is fig and t not in ticks]


def overlapping_texts(fig) -> list[tuple[str, str]]:
    """The pairs that :func:`text_overlaps` counts, by their text."""
    r = _renderer(fig)
    texts = _texts(fig)
    out = []
    for i, a in enumerate(texts):
        ea = a.get_window_extent(r)
        for b in texts[i + 1:]:
            eb = b.get_window_extent(r)
            w = min(ea.x1, eb.x1) - max(ea.x0, eb.x0)
            h = min(ea.y1, eb.y1) - max(ea.y0, eb.y0)
            if w > 0 and h > 0 and w * h > 0.1 * min(ea.width * ea.height, eb.width * eb.height):
                out.append((a.get_text(), b.get_text()))
    return out


def text_overlaps(fig) -> int:
    """Pairs of visible, unrotated texts whose boxes overlap by more than a tenth of the smaller one
    (titles that collide, labels on top of each other); tick labels apart."""
    r = _renderer(fig)
    texts = _texts(fig)
    boxes = []
    for t in texts:
        try:
            boxes.append(t.get_window_extent(r))
        except Exception:   # a text outside the canvas maths (rare): not measured
            continue
    n = 0
    for i in range(len(boxes)):
        a = boxes[i]
        if a.width <= 0 or a.height <= 0:
            continue
        for b in boxes[i + 1:]:
            if b.width <= 0 or b.height <= 0:
                continue
            w = min(a.x1, b.x1) - max(a.x0, b.x0)
            h = min(a.y1, b.y1) - max(a.y0, b.y0)
            if w > 0 and h > 0 and w * h > 0.1 * min(a.width * a.height, b.width * b.height):
                n += 1
    return n


def _luminance(rgb) -> float:
    c = np.clip(np.asarray(rgb, dtype=float)[:3], 0, 1)
    c = np.where(c <= 0.03928, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return float(0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2])


def contrast(a, b) -> float:
    """WCAG's contrast ratio of two colours (RGB in [0, 1]): 1 (same) to 21 (black on white)."""
    la, lb = _luminance(a), _luminance(b)
    return (max(la, lb) + 0.05) / (min(la, lb) + 0.05)


def _over_pictures(fig, r):
    """Markers and texts drawn inside axes that show a picture or heat map: (artist, kind)."""
    from matplotlib.text import Text

    out = []
    for ax in fig.axes:
        if not ax.images or not ax.get_visible():
            continue
        for ln in ax.get_lines():
            if ln.get_visible() and ln.get_marker() not in (None, "None", "", " ") and ln.get_markersize() > 0:
                out.append((ln, "marker"))
        for t in ax.findobj(Text):
            if t is ax.title or not t.get_visible() or not t.get_text().strip() or t.axes is not ax:
                continue
            e = t.get_window_extent(r)
            if e.width > 0 and ax.bbox.overlaps(e):
                out.append((t, "text"))
    return out


def _rgb(c):
    from matplotlib.colors import to_rgba

    rgba = to_rgba(c)
    return None if rgba[3] < 0.5 else np.asarray(rgba[:3])


def contrast_over_pictures(fig) -> tuple[float | None, float | None]:
    """(lowest contrast, smallest marker in px) of the markers and texts drawn over pictures and heat
    maps: each against the median colour beneath it (drawn without them); a text on its own box
    against that box; a marker by the better of its face and edge colours."""
    r = _renderer(fig)
    arts = _over_pictures(fig, r)
    if not arts:
        return None, None
    shown = [a.get_visible() for a, _ in arts]
    for a, _kind in arts:
        a.set_visible(False)
    fig.canvas.draw()
    bg = np.asarray(fig.canvas.buffer_rgba(), dtype=float)[..., :3] / 255
    for (a, _), v in zip(arts, shown):
        a.set_visible(v)
    fig.canvas.draw()
    H, W = bg.shape[:2]

    def under(x0, y0, x1, y1):
        xa, xb = int(max(0, np.floor(x0))), int(min(W, np.ceil(x1)))
        ya, yb = int(max(0, np.floor(H - y1))), int(min(H, np.ceil(H - y0)))
        if xb <= xa or yb <= ya:
            return None
        return np.median(bg[ya:yb, xa:xb].reshape(-1, 3), axis=0)

    worst, smallest = None, None
    for a, kind in arts:
        if kind == "marker":
            xy = a.get_transform().transform(np.column_stack([a.get_xdata(), a.get_ydata()]).astype(float))
            rad = a.get_markersize() * fig.dpi / 72 / 2
            smallest = 2 * rad if smallest is None else min(smallest, 2 * rad)
            edge = _rgb(a.get_markeredgecolor()) if a.get_markeredgewidth() > 0.3 else None
            colours = [c for c in (_rgb(a.get_markerfacecolor()), edge) if c is not None]
            for x, y in xy[np.isfinite(xy).all(1)]:
                b = under(x - rad / 3, y - rad / 3, x + rad / 3, y + rad / 3)
                if b is None or not colours:
                    continue
                c = max(contrast(col, b) for col in colours)
                worst = c if worst is None else min(worst, c)
        else:
            col = _rgb(a.get_color())
            patch = a.get_bbox_patch()
            if col is None:
                continue
            if patch is not None and patch.get_visible() and _rgb(patch.get_facecolor()) is not None:
                b = _rgb(patch.get_facecolor())
            else:
                e = a.get_window_extent(r)
                b = under(e.x0, e.y0, e.x1, e.y1)
            if b is None:
                continue
            c = contrast(col, b)
            worst = c if worst is None else min(worst, c)
    return worst, smallest


def measure(fig) -> dict[str, str]:
    """Every note of this module for ``fig`` (those that apply), as strings for the file."""
    _agg(fig)
    notes = {CLIPPED_NOTE: str(clipped_markers(fig)), LEGEND_NOTE: str(legend_over_data(fig)),
             OVERLAP_NOTE: str(text_overlaps(fig))}
    span = size_span(fig)
    if span is not None:
        notes[SIZE_SPAN_NOTE] = f"{span:.2f}"
    side = min_image_px(fig)
    if side is not None:
        notes[IMAGE_NOTE] = f"{side:.0f}"
    low, small = contrast_over_pictures(fig)
    if low is not None:
        notes[CONTRAST_NOTE] = f"{low:.2f}"
    if small is not None:
        notes[MARKER_NOTE] = f"{small:.1f}"
    return notes
