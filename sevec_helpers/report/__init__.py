"""Layer 6 of sevec_helpers: reports. What it holds is listed once, in ``sevec_helpers._layout``
(and printed by ``help(sevec_helpers)``); it imports only from the layers below it.
"""
