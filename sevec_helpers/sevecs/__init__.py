"""Layer 2 of sevec_helpers (sevecs): semantic vectors: the Eq. 3 accumulator (``accumulator``), the ``SemanticVectors`` container and its files (``vectors``), fitting in one process or under torchrun (``fit``, ``distributed``), other concept vectors (CAV, FastCAV: ``alternatives``), significance against random concepts (``significance``) and the disk cache (``cache``).

It imports only from the layers below it (``sevec_helpers._layout``).
"""
