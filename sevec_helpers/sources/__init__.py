"""Layer 5 of sevec_helpers (sources): where models and images come from: the model registry and shipped weights (``models``), ConceptWorld (``world``), real-data loaders (``datasets``), the real photographs (``photos``) and training the shipped networks (``train``).

It imports only from the layers below it (``sevec_helpers._layout``).
"""
