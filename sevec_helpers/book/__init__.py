"""Layer 6 of sevec_helpers (book): the book: what a chapter runs on (``profiles``), the verdict rules (``claims``), figures and tables (``figures``), live widgets (``widgets``), running a chapter's notebook headless (``runner``), records of results (``records``) and each chapter's presentation (``chapters``, one module per notebook).

It imports only from the layers below it (``sevec_helpers._layout``).
"""
