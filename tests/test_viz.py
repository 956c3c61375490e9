"""Figures note their smallest text (what the browser tests check on screen), and the
static book shows a note where a live widget would need a kernel."""

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from PIL import Image  # noqa: E402

from sevec_helpers.book import figures as viz  # noqa: E402
from sevec_helpers.book import widgets


def test_figure_png_notes_its_smallest_text_in_image_pixels():
    viz.use_book_style()
    fig, ax = plt.subplots(figsize=(3, 2), dpi=100)
    ax.plot([0, 1])
    ax.set_title("title", fontsize=12)
    ax.text(0.5, 0.5, "small", fontsize=7.2)  # 7.2 pt at 100 dpi = 10 px
    ax.text(0.2, 0.2, "   ")                  # blank text does not count
    note = viz.font_note_of(viz.figure_png(fig))
    assert float(note) == 10.0
    empty = plt.figure(figsize=(1, 1))
    assert Image.open(io.BytesIO(viz.figure_png(empty))).text[viz.FONT_NOTE] == "none"
    plt.close("all")


def test_widgets_in_the_static_book_show_a_note(monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj: shown.append(obj))
    monkeypatch.setenv("SEVEC_STATIC_BOOK", "1")
    assert widgets.picker(lambda concept: None, concept=["a", "b"]) is None
    assert widgets.slider(lambda v: None, [0.1, 0.2]) is None
    assert len(shown) == 2 and all("Live view" in s.data for s in shown)


def test_grids_of_pictures_are_jpeg_with_the_same_note():
    import numpy as np

    viz.use_book_style()
    fig = viz.image_grid([np.random.default_rng(0).random((16, 16, 3)) for _ in range(6)], titles=list("abcdef"),
                         ncols=3)
    assert viz.is_photographic(fig) and viz.figure_png(fig) is None
    data = viz.figure_jpeg(fig)
    assert data[:2] == b"\xff\xd8" and float(viz.font_note_of(data)) == round(viz.smallest_text_px(fig), 2)
    chart, ax = plt.subplots()
    ax.plot([1, 2])
    assert viz.figure_jpeg(chart) is None and viz.font_note_of(viz.figure_png(chart)) is not None
    plt.close("all")
