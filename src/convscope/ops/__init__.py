"""Pure array math: ``<op>_forward(...) -> (y, cache)`` and ``<op>_backward(dy, cache) -> grads``.

No Tensor here. One op family per module; each family validates its input with one
shape checker built from ``shapes``.
"""
