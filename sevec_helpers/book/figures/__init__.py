"""The book's presentation: figures, interactive views and tables, one module each.

- :mod:`.plots`: static matplotlib figures (image grids, scatter plots, heatmaps, curves,
  saliency maps drawn by one rule);
- :mod:`.interactive`: views a reader can change in the static HTML (plotly, no kernel);
- :mod:`.tables`: verdict tables and plain tables as Markdown;
- :mod:`.files`: how figures are stored (PNG / JPEG with notes the browser tests read)
  and the book's matplotlib style.

Chapters use them through this namespace (``from sevec_helpers.book import figures as viz``).
"""

from sevec_helpers.book.figures.files import (  # noqa: F401  (the namespace the chapters use)
    FONT_NOTE,
    PHOTO_MIN_IMAGES,
    SALIENCY_GID,
    SALIENCY_NOTE,
    figure_jpeg,
    figure_png,
    font_note_of,
    is_photographic,
    notes_of,
    saliency_grey_p99,
    smallest_text_px,
    use_book_style,
)
from sevec_helpers.book.figures.interactive import (  # noqa: F401  (the namespace the chapters use)
    gallery,
    heatmap_dropdown,
    show_interactive,
    slider_lines,
)
from sevec_helpers.book.figures.plots import (  # noqa: F401  (the namespace the chapters use)
    MAX_WIDTH,
    MIN_FONT,
    SALIENCY_BAR_LABEL,
    SALIENCY_PERCENTILE,
    curves,
    draw_saliency,
    heatmap,
    image_grid,
    rates_vs_vector,
    retrieval_figure,
    saliency_colorbar,
    saliency_grid,
    saliency_scaled,
    scatter_2d,
)
from sevec_helpers.book.figures.tables import (  # noqa: F401  (the namespace the chapters use)
    Markdown,
    checks_table,
    fmt,
    markdown_table,
    network_label,
    network_table,
    stack,
    testbeds_table,
    verdict_table,
)
