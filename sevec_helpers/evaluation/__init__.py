"""Layer 4 of sevec_helpers (evaluation): the pointing games (``pointing``), saliency over every scene and object (``localization``) with intervals over scenes (``scene_stats``), Table 1's edits of a layer (``editing``), accuracy (``metrics``), statistics (``stats``) and sanity checks of maps (``sanity``).

It imports only from the layers below it (``sevec_helpers._layout``).
"""
