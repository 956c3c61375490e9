"""How figures are stored in the book: PNG, or JPEG for grids of pictures, each noting in
the file the size of its smallest text and how dark its darkest saliency map is (read
back by the browser tests); and the book's matplotlib style.
"""

from __future__ import annotations

import io

import matplotlib
import matplotlib.pyplot as plt
import numpy as np

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
    from sevec_helpers.book.figures.checks import measure

    notes = {FONT_NOTE: _font_note(fig), **measure(fig)}
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
    """The notes (``FONT_NOTE``, ``SALIENCY_NOTE`` and those of :mod:`.checks`) of a figure file
    made by :func:`figure_png` (PNG text chunks) or :func:`figure_jpeg` (``key=value;...`` in the
    JPEG comment)."""
    from PIL import Image

    from sevec_helpers.book.figures.checks import NOTES

    keys = (FONT_NOTE, SALIENCY_NOTE) + NOTES
    with Image.open(io.BytesIO(data)) as im:
        if im.format == "PNG":
            return {k: v for k, v in im.text.items() if k in keys}
        comment = im.info.get("comment", b"")
        comment = comment.decode() if isinstance(comment, bytes) else comment
        pairs = (p.split("=", 1) for p in comment.split(";") if "=" in p)
        return {k: v for k, v in pairs if k in keys}


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
