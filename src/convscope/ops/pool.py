"""Max, average and min pooling, 1-D and 2-D: forward/backward pairs on arrays.

    y[n,c,i,j] = reduce_{u<KH, v<KW} xpad[n, c, i*SH + u*DH, j*SW + v*DW]      (D: max/min only)

xpad is x padded by P on each side (-inf for max, +inf for min, zeros for avg) and,
with ceil_mode, on the right up to the end of the last window. Per spatial dimension

    out = floor((in + 2P - D*(K-1) - 1) / S) + 1   (ceil with ceil_mode; the last window
                                                must start inside the input or the left padding)

The NumPy path (ops.pool_numpy) reduces KH*KW strided slices of xpad; max/min send each
window's gradient to its FIRST extreme element in row-major order (PyTorch's tie rule; a NaN
window's to its last NaN), avg splits it evenly over the window's divisor. 1-D pooling is
2-D pooling with H = 1, an unbatched input (C, H, W) a batch of one (reshaped views).
return_indices gives the flat index of each window's maximum in its input plane (PyTorch's;
max_unpool takes it back).

When ``kernels.available()`` (Numba installed, CONVSCOPE_JIT not 0) the compiled twins in
``kernels.pool2d`` do the work (2x2 stride-2 windows in fixed loops, any other window as one
pass per tap over the plane split by stride phase): max/min keep each window's argmax, so the
backward is a scatter; the cache records which path made it. A forward no backward will
follow (ops.cache_need: no_grad, eval) keeps no argmax (return_indices aside). Dilation and
divisor_override take the NumPy path (a dilation argument cost the compiled max loop 3-5% on
every call).
"""

from typing import NamedTuple

import numpy as np

from .. import kernels
from ..backend import default_float
from ..errors import ShapeError
from . import pool_numpy
from .buffers import scratch
from .cache_need import cache_needed
from .geometry import Windows, pool_windows, remembered, spatial_input


def check_pool(op, shape, nd, kernel_size, stride, padding, ceil_mode, dilation=1):
    """The pool family's shape checker -> (kernel, stride, padding, out), tuples of length nd."""
    g = pool_geometry(op, shape, nd, kernel_size, stride, padding, ceil_mode, dilation)
    return g.kernel, g.stride, tuple(p for p, _ in g.pads), g.out_size


def pool_geometry(op, shape, nd, kernel_size, stride, padding, ceil_mode, dilation=1):
    """Input (N, C, *spatial) or unbatched (C, *spatial) with nd spatial dims, none empty but
    the batch axis, and its Windows (geometry.pool_windows: PyTorch's rules; stride defaults
    to the kernel, 0 <= padding <= kernel // 2); remembered per arguments (geometry.remembered)."""
    args = (op, tuple(shape), nd, kernel_size, stride, padding, ceil_mode, dilation)
    if all(type(s) is int for s in args[1]):
        return _pool_geometry(*args)
    return _pool_geometry.__wrapped__(*args)  # 28.0 == 28: such a shape is checked afresh


@remembered(trusted=3)  # the op's name, a shape of Python ints (an array's), its spatial dims
def _pool_geometry(op, shape, nd, kernel_size, stride, padding, ceil_mode, dilation):
    spatial_input(op, shape, nd, nonempty=True)
    return pool_windows(op, tuple(shape[-nd:]), kernel_size, stride, padding, dilation, ceil_mode)


def four_d(shape, nd):
    """The (N, C, H, W) view of an input (N, C, *spatial) or (C, *spatial): N = 1 for an
    unbatched input, H = 1 for a 1-D one (both are views: nothing is copied)."""
    lead = shape[:-nd]
    return (1,) * (2 - len(lead)) + tuple(lead) + (1,) * (2 - nd) + tuple(shape[-nd:])


class CompiledPoolCache(NamedTuple):
    """The compiled path (kernels.pooling()): max/min keep each window's argmax."""

    kind: str
    x_shape: tuple
    geom: Windows
    arg: object  # max/min: flat plane index of each window's extreme; avg: None
    count_include_pad: bool
    shape: tuple


def _pool_forward(op, kind, x, nd, kernel_size, stride, padding, ceil_mode, dilation=1,
                  count_include_pad=True, divisor_override=None, return_indices=False):  # fmt: skip
    if x.dtype.kind != "f":
        x = x.astype(default_float(x.dtype))
    g = _pool_geometry(op, x.shape, nd, kernel_size, stride, padding, ceil_mode, dilation)
    if divisor_override is not None:
        check_divisor(op, divisor_override)
    x4, g4 = (x, g) if x.ndim == 4 else (x.reshape(four_d(x.shape, nd)), g.lift() if nd == 1 else g)
    # the compiled kernels know neither dilation nor divisor_override: NumPy takes those
    compiled = kernels.available() and divisor_override is None and max(g.dilation) == 1
    if compiled and kind != "avg" and not (return_indices or cache_needed()):
        forward = _compiled_values  # no backward follows: no argmax
    else:
        forward = _compiled_forward if compiled else pool_numpy.forward
    y, cache = forward(kind, x4, g4, count_include_pad, divisor_override, x.shape)
    if x4 is not x:
        y = y.reshape(x.shape[:-nd] + g.out_size)
    if return_indices:
        return (y, _indices(cache).reshape(y.shape)), cache
    return y, cache


def check_divisor(op, divisor):
    if isinstance(divisor, bool) or not isinstance(divisor, (int, np.integer)) or divisor == 0:
        raise ShapeError(
            f"{op}: divisor_override={divisor!r} must be a non-zero integer (it replaces each"
            f" window's element count); use None for the count"
        )


def _compiled_forward(kind, x, g, count_include_pad, divisor_override, shape):
    k, before = kernels.pooling(), pool_numpy.before(g)
    arg = None
    if kind == "avg":
        y = k.avg_forward(x, g.kernel, g.stride, before, g.out_size, count_include_pad)
    else:
        dtype = k.arg_dtype(x.shape, g.kernel, g.stride, before, g.out_size)
        arg = scratch(x.shape[:2] + g.out_size, dtype)  # held by the cache until backward
        y, arg = k.extreme_forward(x, g.kernel, g.stride, before, g.out_size, kind == "min", arg)
    return y, CompiledPoolCache(kind, x.shape, g, arg, count_include_pad, shape)


def _compiled_values(kind, x, g, *_):
    """(y, None): max/min pooling's values alone, for a forward without a backward."""
    k = kernels.pooling()
    return k.extreme_values(
        x, g.kernel, g.stride, pool_numpy.before(g), g.out_size, kind == "min"
    ), None


def _indices(cache):
    """PyTorch's return_indices: the flat index h*W + w (1-D: l) of each window's maximum in
    its input plane, int64, the one backward routes the gradient to."""
    if isinstance(cache, CompiledPoolCache):
        return kernels.pooling().plane_indices(cache.arg, cache.x_shape)
    return pool_numpy.indices(cache)


def _pool_backward(dy, cache):
    c = cache
    if dy.ndim != 4:  # 1-D or one sample: the (N, C, H, W) view
        dy = dy.reshape(c.x_shape[:2] + c.geom.out_size)
    dx = (
        _compiled_backward(dy, c)
        if isinstance(c, CompiledPoolCache)
        else pool_numpy.backward(dy, c)
    )
    return (dx if dx.shape == c.shape else dx.reshape(c.shape),)


def _compiled_backward(dy, c):
    k, g = kernels.pooling(), c.geom
    if c.kind == "avg":
        return k.avg_backward(
            dy, c.x_shape, g.kernel, g.stride, pool_numpy.before(g), c.count_include_pad
        )
    return k.extreme_backward(dy, c.arg, c.x_shape, g.kernel, g.stride, pool_numpy.before(g))


def max_pool1d_forward(
    x, *, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False
):
    """y[n,c,i] = max_u xpad[n,c,i*S+u*D]; x (N, C, L) or (C, L) -> y (N, C, OL) or (C, OL);
    with return_indices, (y, the index l of each window's maximum)."""
    return _pool_forward("max_pool1d", "max", x, 1, kernel_size, stride, padding, ceil_mode,
                         dilation, return_indices=return_indices)  # fmt: skip


def max_pool2d_forward(
    x, *, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False
):
    """y[n,c,i,j] = max_{u,v} xpad[n,c,i*SH+u*DH,j*SW+v*DW]; x (N, C, H, W) or (C, H, W) ->
    y (N, C, OH, OW) or (C, OH, OW); with return_indices, (y, the flat index h*W + w of each
    window's maximum in its input plane), PyTorch's."""
    return _pool_forward("max_pool2d", "max", x, 2, kernel_size, stride, padding, ceil_mode,
                         dilation, return_indices=return_indices)  # fmt: skip


def min_pool1d_forward(x, *, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """y[n,c,i] = min_u xpad[n,c,i*S+u*D]; x (N, C, L) or (C, L) -> y (N, C, OL) or (C, OL)."""
    return _pool_forward(
        "min_pool1d", "min", x, 1, kernel_size, stride, padding, ceil_mode, dilation
    )


def min_pool2d_forward(x, *, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """y[n,c,i,j] = min_{u,v} xpad[n,c,i*SH+u*DH,j*SW+v*DW]; x (N, C, H, W) or (C, H, W)."""
    return _pool_forward(
        "min_pool2d", "min", x, 2, kernel_size, stride, padding, ceil_mode, dilation
    )


def avg_pool1d_forward(
    x, *, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True
):
    """y[n,c,i] = sum_u xpad[n,c,i*S+u] / divisor[i]; x (N, C, L) or (C, L) -> (N, C, OL)."""
    return _pool_forward("avg_pool1d", "avg", x, 1, kernel_size, stride, padding, ceil_mode,
                         count_include_pad=count_include_pad)  # fmt: skip


def avg_pool2d_forward(x, *, kernel_size, stride=None, padding=0, ceil_mode=False,
                       count_include_pad=True, divisor_override=None):  # fmt: skip
    """y[n,c,i,j] = sum_{u,v} xpad[n,c,i*SH+u,j*SW+v] / divisor[i,j]; x (N,C,H,W) -> (N,C,OH,OW)
    (or unbatched (C, H, W) -> (C, OH, OW)).

    divisor = KH*KW, except for windows that run past the right padding (ceil_mode), or,
    with count_include_pad=False, the number of input (non-padding) elements in the window;
    divisor_override (a non-zero integer) replaces it for every window.
    """
    return _pool_forward("avg_pool2d", "avg", x, 2, kernel_size, stride, padding, ceil_mode,
                         count_include_pad=count_include_pad,
                         divisor_override=divisor_override)  # fmt: skip


max_pool1d_backward = max_pool2d_backward = _pool_backward
min_pool1d_backward = min_pool2d_backward = _pool_backward
avg_pool1d_backward = avg_pool2d_backward = _pool_backward
