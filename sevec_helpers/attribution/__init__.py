"""Layer 3 of sevec_helpers (attribution): backward rules and their semantic versions (``saliency``: Guided Backprop, Gradient*Input, the gradient) and the same as Captum attribution classes (``captum``).

It imports only from the layers below it (``sevec_helpers._layout``).
"""
