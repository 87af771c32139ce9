"""Elementwise gradients, compiled with Numba: one pass where NumPy needs four.

    relu:  dx = 0 where y <= 0, else dy        (y = relu(x); PyTorch's threshold_backward)

The select keeps PyTorch's non-finite rules without checking for them first: a NaN y
passes dy on (NaN <= 0 is false), an inf dy where y <= 0 gives 0, not NaN. The NumPy
twin (ops.activation.relu_backward) multiplies by a mask when it may, which needs those
checks.
"""

import numba as nb
import numpy as np


@nb.njit(cache=True)
def _relu_grad(dy, y, dx):
    zero = dx.dtype.type(0)
    for i in range(dx.size):
        dx[i] = zero if y[i] <= 0 else dy[i]


def relu_grad(dy, y):
    """dx (dy's shape and dtype) of relu whose output is y; dy and y of one float dtype."""
    dx = np.empty(dy.shape, dtype=dy.dtype)
    _relu_grad(np.ascontiguousarray(dy).reshape(-1), np.ascontiguousarray(y).reshape(-1),
               dx.reshape(-1))  # fmt: skip
    return dx
