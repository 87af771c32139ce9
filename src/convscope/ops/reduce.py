"""Reductions behind Tensor.sum/mean/amax/amin/max(dim)/min(dim): forward/backward pairs.

Gradients: sum copies dy to every element; mean divides it by the count; amax/amin split it
evenly among tied extremes (as PyTorch's amax); max/min along a dim route it to the one index
they return (the first extreme), as PyTorch's max(dim).
"""

import numpy as np

from ..backend import get_xp
from ..errors import ShapeError


def check_axes(op, axis, ndim):
    """Normalised tuple of axes, or a ShapeError naming the valid range."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if np.isscalar(axis) else tuple(axis)
    low = -max(ndim, 1)
    for a in axes:
        if not isinstance(a, int | np.integer) or not low <= a < max(ndim, 1):
            raise ShapeError(
                f"{op}: dim {a!r} is out of range for a {ndim}-D tensor (valid: {low}..{max(ndim, 1) - 1})"
            )
    norm = tuple(int(a) % max(ndim, 1) for a in axes)
    if len(set(norm)) != len(norm):
        raise ShapeError(f"{op}: dim {axis!r} names an axis twice; give each axis once")
    return norm


def sum_forward(a, axis=None, keepdims=False):
    xp = get_xp(a)
    check_axes("sum", axis, a.ndim)
    return xp.sum(a, axis=axis, keepdims=keepdims), (a.shape, axis, keepdims)


def sum_backward(dy, cache):
    xp = get_xp(dy)
    shape, axis, keepdims = cache
    return (xp.broadcast_to(_restore_axes(dy, shape, axis, keepdims), shape).copy(),)


def mean_forward(a, axis=None, keepdims=False):
    xp = get_xp(a)
    axes = check_axes("mean", axis, a.ndim)
    count = int(np.prod([a.shape[i] for i in axes])) if a.ndim else 1
    return xp.mean(a, axis=axis, keepdims=keepdims), (a.shape, axis, keepdims, count)


def mean_backward(dy, cache):
    xp = get_xp(dy)
    shape, axis, keepdims, count = cache
    return (xp.broadcast_to(_restore_axes(dy, shape, axis, keepdims) / count, shape).copy(),)


def amax_forward(a, axis=None, keepdims=False):
    """Largest value over axis; ties share the gradient evenly."""
    xp = get_xp(a)
    return _extreme(a, axis, keepdims, xp.max, "amax")


def amin_forward(a, axis=None, keepdims=False):
    """Smallest value over axis; ties share the gradient evenly."""
    xp = get_xp(a)
    return _extreme(a, axis, keepdims, xp.min, "amin")


def amax_backward(dy, cache):
    mask, axis, keepdims = cache
    dy = _restore_axes(dy, mask.shape, axis, keepdims)
    return (mask * (dy / mask.sum(axis=axis, keepdims=True)),)


amin_backward = amax_backward


def take_along_forward(a, *, index, axis):
    """y = take_along_axis(a, index, axis) (torch.gather); index holds no repeats per slice
    when it comes from argmax/argmin, but repeats accumulate in backward either way."""
    xp = get_xp(a)
    return xp.take_along_axis(a, index, axis=axis), (a.shape, index, axis)


def take_along_backward(dy, cache):
    xp = get_xp(dy)
    shape, index, axis = cache
    da = xp.zeros(shape, dtype=dy.dtype)
    idx = xp.indices(index.shape, sparse=True)
    full = tuple(index if i == axis % len(shape) else ix for i, ix in enumerate(idx))
    xp.add.at(da, full, dy)
    return (da,)


def _extreme(a, axis, keepdims, fn, op):
    xp = get_xp(a)
    check_axes(op, axis, a.ndim)
    if a.size == 0:
        raise ShapeError(
            f"{op}: the tensor of shape {a.shape} is empty; there is no extreme to take"
        )
    y = fn(a, axis=axis, keepdims=True)
    out = y if keepdims else (y.reshape(()) if axis is None else xp.squeeze(y, axis))
    return out, (a == y, axis, keepdims)


def _restore_axes(dy, shape, axis, keepdims):
    """Re-insert the reduced axes (size 1) so dy broadcasts against the input shape."""
    xp = get_xp(dy)
    if axis is None:
        return xp.reshape(dy, (1,) * len(shape))
    if keepdims:
        return dy
    return xp.expand_dims(
        dy, tuple(a % len(shape) for a in ((axis,) if np.isscalar(axis) else axis))
    )
