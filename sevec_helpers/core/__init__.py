"""Layer 1 of sevec_helpers (core): layer names and aliases (``layers``), input checks (``inputs``), hooks on a layer (``taps``), streaming feature extraction (``features``), atomic files (``atomic``) and the fingerprints of code and data that cached results are keyed by (``fingerprint``).

It imports only from the layers below it (``sevec_helpers._layout``).
"""
