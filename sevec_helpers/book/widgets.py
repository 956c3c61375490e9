"""Live controls for JupyterLab and Colab (ipywidgets). The static book uses the plotly
views of :mod:`sevec_helpers.book.figures` instead, which need no kernel.
"""

from __future__ import annotations

import os
from typing import Callable, Sequence

STATIC_NOTE = ("*Live view.* This cell draws a control that recomputes the figure for your choice, and a "
               "control needs a running Python kernel, which a static page does not have: open the chapter in "
               "JupyterLab or Colab (the badge at the top of the page) to use it. The figures and views above show "
               "the same measurements.")


def _static() -> bool:
    """In the static book build (``SEVEC_STATIC_BOOK=1``) there is no kernel to answer a widget:
    a note says what the cell does instead of a control that would do nothing."""
    if os.environ.get("SEVEC_STATIC_BOOK") != "1":
        return False
    from IPython.display import Markdown, display

    display(Markdown(STATIC_NOTE))
    return True


def _ipw():
    try:
        import ipywidgets as w
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("the live controls need ipywidgets: pip install 'sevec-helpers[book]'") from e
    return w


def picker(render: Callable[..., None], **options: Sequence):
    """One dropdown per keyword (its choices), re-running ``render(**choices)`` on change.

    Example: ``picker(show_retrieval, concept=sv.names)``. In the static book: a note instead.
    """
    if _static():
        return None
    w = _ipw()
    from IPython.display import display

    controls = {k: w.Dropdown(options=list(v), description=k) for k, v in options.items()}
    out = w.interactive_output(render, controls)
    box = w.VBox([w.HBox(list(controls.values())), out])
    display(box)
    return box


def slider(render: Callable[[float], None], values: Sequence[float], description: str = "energy"):
    """A selection slider over ``values`` that re-runs ``render(value)`` (the static book: a note)."""
    if _static():
        return None
    w = _ipw()
    from IPython.display import display

    s = w.SelectionSlider(options=[(f"{v:.2f}", v) for v in values], description=description)
    out = w.interactive_output(lambda value: render(value), {"value": s})
    box = w.VBox([s, out])
    display(box)
    return box
