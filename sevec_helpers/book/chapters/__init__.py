"""Each chapter's presentation: one module per notebook, named after it (``02_validating_sevecs``
-> :mod:`.validating_sevecs`), holding its tables, figures and galleries. The method itself
is written once, in the notebook's visible cells; :mod:`sevec_helpers.book.runner` runs those
cells to judge other networks and testbeds. :mod:`.scenes` is shared by chapters 6 and 7,
:mod:`.world` and :mod:`.testbed` are the pages about the testbeds, :mod:`.summary` the summary.
"""
