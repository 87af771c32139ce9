"""Forward/backward pairs behind Tensor arithmetic: pure array math, no Tensor.

Each ``<name>_forward(...) -> (y, cache)`` has a ``<name>_backward(dy, cache) -> grads``
twin, one gradient per array input. Broadcast operands get their gradient summed
back to their own shape by ``unbroadcast``. Where the math leaves the reals or divides by
zero (log 0, sqrt(-1), 1/0, 0 ** -1) the result is inf or nan without a NumPy warning,
as PyTorch gives it (``_ieee``).
"""

import numpy as np

from ..backend import get_xp
from ..errors import ShapeError

_ieee = np.errstate(divide="ignore", invalid="ignore")  # a decorator: inf/nan, no warning


def check_broadcast(op, *shapes):
    """The broadcast shape of the operands, or a ShapeError that names them."""
    try:
        return np.broadcast_shapes(*shapes)
    except ValueError:
        listed = " and ".join(str(tuple(s)) for s in shapes)
        raise ShapeError(
            f"{op}: shapes {listed} do not broadcast (aligned from the right, each pair of sizes"
            f" must be equal or 1); reshape or unsqueeze an operand"
        ) from None


def check_matmul(a_shape, b_shape):
    """Inner sizes must agree: (..., n, k) @ (..., k, m); 1-D operands count as k."""
    if not a_shape or not b_shape:
        raise ShapeError(
            f"matmul: both operands need at least 1 dimension, got {tuple(a_shape)} @"
            f" {tuple(b_shape)}; use * for scaling by a scalar"
        )
    k_a = a_shape[-1]
    k_b = b_shape[0] if len(b_shape) == 1 else b_shape[-2]
    if k_a != k_b:
        raise ShapeError(
            f"matmul: {tuple(a_shape)} @ {tuple(b_shape)}: the inner sizes {k_a} and {k_b}"
            f" differ; transpose an operand (x.T) or fix the shapes"
        )
    check_broadcast("matmul (batch dimensions)", a_shape[:-2], b_shape[:-2])


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
    check_broadcast("add", np.shape(a), np.shape(b))
    return a + b, (np.shape(a), np.shape(b))


def add_backward(dy, cache):
    sa, sb = cache
    return unbroadcast(dy, sa), unbroadcast(dy, sb)


def sub_forward(a, b):
    check_broadcast("sub", np.shape(a), np.shape(b))
    return a - b, (np.shape(a), np.shape(b))


def sub_backward(dy, cache):
    sa, sb = cache
    return unbroadcast(dy, sa), unbroadcast(-dy, sb)


def mul_forward(a, b):
    check_broadcast("mul", np.shape(a), np.shape(b))
    return a * b, (a, b)


def mul_backward(dy, cache):
    a, b = cache
    return unbroadcast(dy * b, np.shape(a)), unbroadcast(dy * a, np.shape(b))


@_ieee
def div_forward(a, b):
    check_broadcast("div", np.shape(a), np.shape(b))
    return a / b, (a, b)


@_ieee
def div_backward(dy, cache):
    a, b = cache
    return unbroadcast(dy / b, np.shape(a)), unbroadcast(-dy * a / (b * b), np.shape(b))


@_ieee
def pow_forward(a, p):
    """y = a ** p with a constant exponent p (a Python or NumPy scalar)."""
    return a**p, (a, p)


@_ieee
def pow_backward(dy, cache):
    a, p = cache
    return (dy * p * a ** (p - 1),)


def neg_forward(a):
    return -a, None


def neg_backward(dy, cache):
    return (-dy,)


def matmul_forward(a, b):
    """y = a @ b with NumPy's matmul rules (1-D operands, batched stacks, broadcasting)."""
    check_matmul(a.shape, b.shape)
    return a @ b, (a, b)


def matmul_backward(dy, cache):
    xp = get_xp(dy)
    a, b = cache
    a2 = a[None, :] if a.ndim == 1 else a  # 1-D operands act as a row / a column
    b2 = b[:, None] if b.ndim == 1 else b
    dy2 = xp.reshape(
        dy, np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2]) + (a2.shape[-2], b2.shape[-1])
    )
    da = unbroadcast(dy2 @ xp.swapaxes(b2, -1, -2), a2.shape)
    db = unbroadcast(xp.swapaxes(a2, -1, -2) @ dy2, b2.shape)
    return da.reshape(a.shape), db.reshape(b.shape)


def exp_forward(a):
    xp = get_xp(a)
    y = xp.exp(a)
    return y, y


def exp_backward(dy, y):
    return (dy * y,)


@_ieee
def log_forward(a):
    xp = get_xp(a)
    return xp.log(a), a


@_ieee
def log_backward(dy, a):
    return (dy / a,)


@_ieee
def sqrt_forward(a):
    xp = get_xp(a)
    y = xp.sqrt(a)
    return y, y


@_ieee
def sqrt_backward(dy, y):
    return (dy / (2 * y),)


def abs_forward(a):
    xp = get_xp(a)
    return xp.abs(a), a


def abs_backward(dy, a):
    xp = get_xp(dy, a)
    return (dy * xp.sign(a),)


def clamp_forward(a, lo=None, hi=None):
    xp = get_xp(a)
    y = xp.clip(a, lo, hi)
    return y, (a, lo, hi)


def clamp_backward(dy, cache):
    xp = get_xp(dy)
    a, lo, hi = cache
    keep = xp.ones(a.shape, dtype=bool)
    if lo is not None:
        keep &= a >= lo
    if hi is not None:
        keep &= a <= hi
    return (dy * keep,)


def where_forward(a, b, *, cond):
    """y = a where cond else b (cond a boolean array, broadcast with a and b)."""
    xp = get_xp(a, b)
    check_broadcast("where", np.shape(cond), np.shape(a), np.shape(b))
    return xp.where(cond, a, b), (cond, np.shape(a), np.shape(b))


def where_backward(dy, cache):
    xp = get_xp(dy)
    cond, sa, sb = cache
    return unbroadcast(xp.where(cond, dy, 0), sa), unbroadcast(xp.where(cond, 0, dy), sb)
