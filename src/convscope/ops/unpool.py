"""Max unpooling, 1-D and 2-D: the partial inverse of max pooling (PyTorch's max_unpool).

    y[n, c].flat[indices[n, c, i]] = x[n, c, i]       every other output cell is 0
    x, indices (N, C, *spatial) or (C, *spatial) -> y (N, C, *out) or (C, *out)
    out = (in - 1)*S - 2P + K per axis (geometry.unpool_size), or output_size within S of it

indices are the flat plane indices that max_pool(..., return_indices=True) returns (h*W + w
of the output plane here). The forward is one scatter, the backward one gather over the
flattened planes (put_along_axis / take_along_axis, no loop):

    dx[n, c, i] = dy[n, c].flat[indices[n, c, i]]

Where indices repeat, the last element written wins (as PyTorch's CPU loop) and each one
still reads dy there.
"""

from typing import NamedTuple

import numpy as np

from ..backend import default_float, get_xp
from ..errors import ShapeError
from .geometry import as_tuple, non_negative, positive, spatial_input, unpool_size


class UnpoolCache(NamedTuple):
    index: object  # (planes, input cells per plane) int64
    shape: tuple  # the input's shape


def max_unpool1d_forward(x, *, indices, kernel_size, stride=None, padding=0, output_size=None):
    """x, indices (N, C, L) or (C, L) -> y (N, C, OL) or (C, OL)."""
    return _forward("max_unpool1d", 1, x, indices, kernel_size, stride, padding, output_size)


def max_unpool2d_forward(x, *, indices, kernel_size, stride=None, padding=0, output_size=None):
    """x, indices (N, C, H, W) or (C, H, W) -> y (N, C, OH, OW) or (C, OH, OW)."""
    return _forward("max_unpool2d", 2, x, indices, kernel_size, stride, padding, output_size)


def max_unpool_backward(dy, cache):
    """dx = dy gathered at the indices (the input's shape); the indices take no gradient."""
    xp = get_xp(dy)
    planes = cache.index.shape[0]
    dx = xp.take_along_axis(dy.reshape(planes, -1), cache.index, axis=1)
    return (dx.reshape(cache.shape),)


max_unpool1d_backward = max_unpool2d_backward = max_unpool_backward


def _forward(op, nd, x, indices, kernel_size, stride, padding, output_size):
    xp = get_xp(x)
    if x.dtype.kind != "f":
        x = x.astype(default_float(x.dtype))
    spatial_input(op, x.shape, nd, nonempty=True)
    kernel = positive(as_tuple(kernel_size, nd, op, "kernel_size"), op, "kernel_size")
    if stride is None or (isinstance(stride, (tuple, list)) and not stride):
        stride = kernel
    stride = positive(as_tuple(stride, nd, op, "stride"), op, "stride")
    padding = non_negative(as_tuple(padding, nd, op, "padding"), op, "padding")
    sizes = unpool_size(op, x.shape[-nd:], kernel, stride, padding, output_size)
    lead = x.shape[:-nd]
    planes, cells = int(np.prod(lead)), int(np.prod(sizes))
    index = _check_indices(op, indices, x, cells, sizes).reshape(planes, -1)
    y = xp.zeros((planes, cells), dtype=x.dtype)
    xp.put_along_axis(y, index, x.reshape(planes, -1), axis=1)
    return y.reshape(lead + sizes), UnpoolCache(index, x.shape)


def _check_indices(op, indices, x, cells, sizes):
    """indices: integers of x's shape, each in 0 .. cells - 1 -> an int64 array."""
    index = get_xp(x).asarray(indices)
    if index.dtype.kind not in "iu":
        raise ShapeError(
            f"{op}: indices must be integers (the indices max_pool returns with"
            f" return_indices=True), got dtype {index.dtype}"
        )
    if index.shape != x.shape:
        raise ShapeError(
            f"{op}: indices of shape {index.shape} must have the input's shape {x.shape}"
        )
    bad = (index < 0) | (index >= cells)
    if bad.any():
        at = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ShapeError(
            f"{op}: index {int(index[at])} at position {at} is outside the output plane of"
            f" {'x'.join(map(str, sizes))} = {cells} cells; pass the indices of the max_pool"
            f" call with this kernel_size, stride and padding, or its input's size as output_size"
        )
    return index.astype(np.int64, copy=False)
