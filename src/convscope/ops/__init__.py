"""Pure array math: ``<op>_forward(...) -> (y, cache)`` and ``<op>_backward(dy, cache) -> grads``.

No Tensor here. One op family per module; each family validates its input with one shape
checker built from ``geometry`` (which owns window geometry: pads, output sizes, the window of
a cell, the formula text and their errors). ``naive`` holds the loop twins, the references that
tests and explain compare the ops against. Every op gets its array module from
``backend.get_xp``.
"""
