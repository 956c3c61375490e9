"""The package's layers, bottom to top: the one list that the package docstring prints and the
architecture test (``tests/test_architecture.py``) enforces. Each layer is a folder of
``sevec_helpers`` and imports only from the layers below it (and from itself, without a cycle);
``cli`` is the command line on top. A new module goes into the folder of its layer.
"""

LAYERS = (
    ("core", "layer names and aliases (``layers``), input checks (``inputs``), which class is which "
             "between data, model outputs and SeVecs (``classes``), hooks on a layer (``taps``), streaming "
             "feature extraction (``features``), atomic files (``atomic``) and the fingerprints of code and "
             "data that cached results are keyed by (``fingerprint``)"),
    ("sevecs", "semantic vectors: the Eq. 3 accumulator (``accumulator``), the ``SemanticVectors`` "
               "container and its files (``vectors``), fitting in one process or under torchrun "
               "(``fit``, ``distributed``), other concept vectors (CAV, FastCAV: ``alternatives``), "
               "significance against random concepts (``significance``) and the disk cache (``cache``)"),
    ("attribution", "backward rules and their semantic versions (``saliency``: Guided Backprop, "
                    "Gradient*Input, the gradient) and the same as Captum attribution classes (``captum``)"),
    ("evaluation", "the pointing games (``pointing``), saliency over every scene and object "
                   "(``localization``) with intervals over scenes (``scene_stats``), Table 1's edits of "
                   "a layer (``editing``), accuracy (``metrics``), statistics (``stats``) and sanity "
                   "checks of maps (``sanity``)"),
    ("sources", "where models and images come from: the model registry and shipped weights "
                "(``models``), ConceptWorld (``world``), real-data loaders (``datasets``), the real "
                "photographs (``photos``), the photo testbed from Debian's packages (``photo_testbed``) and "
                "training the shipped networks (``train``)"),
    ("report", "static reports of fitted SeVecs that open offline from the file system: the concept atlas "
               "(``atlas``) and its HTML pages (``pages``)"),
    ("book", "the book: what a chapter runs on (``profiles``), the verdict rules (``claims``), "
             "figures and tables (``figures``), live widgets (``widgets``), running a chapter's "
             "notebook headless (``runner``), records of results (``records``) and each chapter's "
             "presentation (``chapters``, one module per notebook)"),
    ("cli", "the ``sevec`` command"),
)
"""(folder or module, what it holds), bottom to top."""

TOP_LEVEL = {"_version": 0, "_layout": 0, "__main__": len(LAYERS)}
"""Modules at the package's top that are not a layer, with the layer they count as."""


def layer_of(part: str) -> int:
    """The layer index of a top-level name of the package (a folder or a module)."""
    names = [name for name, _ in LAYERS]
    if part in names:
        return names.index(part)
    if part in TOP_LEVEL:
        return TOP_LEVEL[part]
    raise KeyError(f"{part!r} is not a layer of sevec_helpers: add it to _layout.LAYERS or move it into a layer")


def describe() -> str:
    """The layers as a numbered list, for the package docstring."""
    return "\n".join(f"{i + 1}. ``{name}``: {what};" for i, (name, what) in enumerate(LAYERS))
