"""Forward/backward pairs behind Tensor arithmetic: pure array math, no Tensor.

Each ``<name>_forward(...) -> (y, cache)`` has a ``<name>_backward(dy, cache) -> grads``
twin, one gradient per array input. Broadcast operands get their gradient summed
back to their own shape by ``unbroadcast``.
"""

import numpy as np


def unbroadcast(grad, shape):
    """Sum grad over the axes that broadcasting added or stretched, so grad.shape == shape."""
    if grad.shape == tuple(shape):
        return grad
    extra = grad.ndim - len(shape)
    if extra:
        grad = grad.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad.reshape(shape)


def add_forward(a, b):
    return a + b, (np.shape(a), np.shape(b))


def add_backward(dy, cache):
    sa, sb = cache
    return unbroadcast(dy, sa), unbroadcast(dy, sb)


def sub_forward(a, b):
    return a - b, (np.shape(a), np.shape(b))


def sub_backward(dy, cache):
    sa, sb = cache
    return unbroadcast(dy, sa), unbroadcast(-dy, sb)


def mul_forward(a, b):
    return a * b, (a, b)


def mul_backward(dy, cache):
    a, b = cache
    return unbroadcast(dy * b, np.shape(a)), unbroadcast(dy * a, np.shape(b))


def div_forward(a, b):
    return a / b, (a, b)


def div_backward(dy, cache):
    a, b = cache
    return unbroadcast(dy / b, np.shape(a)), unbroadcast(-dy * a / (b * b), np.shape(b))


def pow_forward(a, p):
    """y = a ** p with a constant exponent p (a Python or NumPy scalar)."""
    return a**p, (a, p)


def pow_backward(dy, cache):
    a, p = cache
    return (dy * p * a ** (p - 1),)


def neg_forward(a):
    return -a, None


def neg_backward(dy, cache):
    return (-dy,)


def matmul_forward(a, b):
    """y = a @ b with NumPy's matmul rules (1-D operands, batched stacks, broadcasting)."""
    return a @ b, (a, b)


def matmul_backward(dy, cache):
    a, b = cache
    a2 = a[None, :] if a.ndim == 1 else a  # 1-D operands act as a row / a column
    b2 = b[:, None] if b.ndim == 1 else b
    dy2 = np.reshape(
        dy, np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2]) + (a2.shape[-2], b2.shape[-1])
    )
    da = unbroadcast(dy2 @ np.swapaxes(b2, -1, -2), a2.shape)
    db = unbroadcast(np.swapaxes(a2, -1, -2) @ dy2, b2.shape)
    return da.reshape(a.shape), db.reshape(b.shape)


def exp_forward(a):
    y = np.exp(a)
    return y, y


def exp_backward(dy, y):
    return (dy * y,)


def log_forward(a):
    return np.log(a), a


def log_backward(dy, a):
    return (dy / a,)


def sqrt_forward(a):
    y = np.sqrt(a)
    return y, y


def sqrt_backward(dy, y):
    return (dy / (2 * y),)


def abs_forward(a):
    return np.abs(a), a


def abs_backward(dy, a):
    return (dy * np.sign(a),)


def clamp_forward(a, lo=None, hi=None):
    y = np.clip(a, lo, hi)
    return y, (a, lo, hi)


def clamp_backward(dy, cache):
    a, lo, hi = cache
    keep = np.ones(a.shape, dtype=bool)
    if lo is not None:
        keep &= a >= lo
    if hi is not None:
        keep &= a <= hi
    return (dy * keep,)


def sum_forward(a, axis=None, keepdims=False):
    return np.sum(a, axis=axis, keepdims=keepdims), (a.shape, axis, keepdims)


def sum_backward(dy, cache):
    shape, axis, keepdims = cache
    dy = _restore_axes(dy, shape, axis, keepdims)
    return (np.broadcast_to(dy, shape).copy(),)


def mean_forward(a, axis=None, keepdims=False):
    count = a.size if axis is None else int(np.prod([a.shape[i] for i in _axes(axis, a.ndim)]))
    return np.mean(a, axis=axis, keepdims=keepdims), (a.shape, axis, keepdims, count)


def mean_backward(dy, cache):
    shape, axis, keepdims, count = cache
    dy = _restore_axes(dy, shape, axis, keepdims)
    return (np.broadcast_to(dy / count, shape).copy(),)


def max_forward(a, axis=None, keepdims=False):
    """Max over axis; the gradient is split evenly among tied maxima (as PyTorch's amax)."""
    y = np.max(a, axis=axis, keepdims=True)
    mask = a == y
    out = y if keepdims else (y.reshape(()) if axis is None else np.squeeze(y, _axes(axis, a.ndim)))
    return out, (mask, axis, keepdims)


def max_backward(dy, cache):
    mask, axis, keepdims = cache
    dy = _restore_axes(dy, mask.shape, axis, keepdims)
    count = mask.sum(axis=axis, keepdims=True)
    return (mask * (dy / count),)


def reshape_forward(a, shape):
    return np.reshape(a, shape), a.shape


def reshape_backward(dy, shape):
    return (np.reshape(dy, shape),)


def transpose_forward(a, axes):
    """y = a.transpose(axes); axes is a full permutation."""
    return np.transpose(a, axes), np.argsort(axes)


def transpose_backward(dy, inverse):
    return (np.transpose(dy, inverse),)


def getitem_forward(a, index):
    return a[index], (a.shape, a.dtype, index)


def getitem_backward(dy, cache):
    shape, dtype, index = cache
    da = np.zeros(shape, dtype=dy.dtype)
    if _is_basic(index):
        da[index] = dy  # slices and integers never repeat an element
    else:
        np.add.at(da, index, dy)  # repeated (fancy) indices accumulate
    return (da,)


def _is_basic(index):
    parts = index if isinstance(index, tuple) else (index,)
    return all(p is None or p is Ellipsis or isinstance(p, (int, np.integer, slice)) for p in parts)


def _axes(axis, ndim):
    axes = (axis,) if np.isscalar(axis) else tuple(axis)
    return tuple(a % ndim for a in axes)


def _restore_axes(dy, shape, axis, keepdims):
    """Re-insert the reduced axes (size 1) so dy broadcasts against the input shape."""
    if axis is None:
        return np.reshape(dy, (1,) * len(shape))
    if keepdims:
        return dy
    return np.expand_dims(dy, _axes(axis, len(shape)))
