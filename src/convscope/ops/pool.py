"""Max, average and min pooling, 1-D and 2-D: forward/backward pairs on arrays.

    y[n,c,i,j] = reduce_{u<KH, v<KW} xpad[n, c, i*SH + u, j*SW + v]

xpad is x padded by P on each side (-inf for max, +inf for min, zeros for avg) and,
with ceil_mode, on the right up to the end of the last window. Per spatial dimension

    out = floor((in + 2P - K) / S) + 1      (ceil with ceil_mode; the last window must
                                             start inside the input or the left padding)

The forward reduces KH*KW strided slices of xpad (one pass per kernel offset, no
window copies). Backward: max/min send each window's gradient to its FIRST extreme
element in row-major order (PyTorch's tie rule; a NaN window's to its last NaN, as
PyTorch's; padding never takes it, even from a -inf input); avg splits it evenly over the
window's divisor. Overlapping windows accumulate; disjoint ones (stride >= kernel) store.
Strided slices beat a (N, C, OH, KH, OW, KW) reshape here: the reshape's reduction over
two inner axes measured ~40x slower for 2x2 max pooling. 1-D pooling is 2-D pooling with H = 1.

When ``kernels.available()`` (Numba installed, CONVSCOPE_JIT not 0) the compiled twins in
``kernels.pool2d`` do the work in one pass: max/min keep each window's argmax, so the
backward is a scatter; the cache records which path made it.
"""

from typing import NamedTuple

import numpy as np

from .. import kernels
from ..backend import default_float, get_xp
from .buffers import scratch
from .geometry import Windows, check_ndim, pool_windows

_LAYOUT = {1: "(N, C, L)", 2: "(N, C, H, W)"}
_PAD_VALUE = {"max": -np.inf, "min": np.inf, "avg": 0.0}
_REDUCE = {"max": "maximum", "min": "minimum", "avg": "add"}  # ufuncs of the array module


def check_pool(op, shape, nd, kernel_size, stride, padding, ceil_mode):
    """The pool family's shape checker -> (kernel, stride, padding, out), tuples of length nd."""
    g = pool_geometry(op, shape, nd, kernel_size, stride, padding, ceil_mode)
    return g.kernel, g.stride, tuple(p for p, _ in g.pads), g.out_size


def pool_geometry(op, shape, nd, kernel_size, stride, padding, ceil_mode, dilation=1):
    """Input (N, C, *spatial) with nd spatial dims, and its Windows (geometry.pool_windows:
    PyTorch's rules; stride defaults to the kernel, 0 <= padding <= kernel // 2)."""
    check_ndim(shape, nd + 2, op, _LAYOUT[nd])
    return pool_windows(op, tuple(shape[2:]), kernel_size, stride, padding, dilation, ceil_mode)


class ExtremeCache(NamedTuple):
    """NumPy max/min: the padded input and the output, to find each window's extreme again."""

    kind: str  # "max" or "min"
    x_shape: tuple  # 4-D shape of the (H = 1 for 1-D) input
    geom: Windows  # 2-D
    xpad: object  # the padded input (a view of x when no padding)
    y: object  # the 4-D output
    squeeze: bool  # True for a 1-D op: y and dx lose the H axis


class AvgCache(NamedTuple):
    """NumPy avg: each window's divisor."""

    x_shape: tuple
    geom: Windows
    divisor: object  # per-window element count, (OH, OW), or a scalar
    squeeze: bool


class CompiledPoolCache(NamedTuple):
    """The compiled path (kernels.pooling()): max/min keep each window's argmax."""

    kind: str
    x_shape: tuple
    geom: Windows
    arg: object  # max/min: flat plane index of each window's extreme; avg: None
    count_include_pad: bool
    squeeze: bool


def _pool_forward(op, kind, x, nd, kernel_size, stride, padding, ceil_mode, count_include_pad=True):
    if x.dtype.kind != "f":
        x = x.astype(default_float(x.dtype))
    g = pool_geometry(op, x.shape, nd, kernel_size, stride, padding, ceil_mode)
    squeeze = nd == 1
    if squeeze:
        x, g = x[:, :, None, :], g.lift()
    forward = _compiled_forward if kernels.available() else _numpy_forward
    y, cache = forward(kind, x, g, count_include_pad, squeeze)
    return (y[:, :, 0] if squeeze else y), cache


def _numpy_forward(kind, x, g, count_include_pad, squeeze):
    xpad = _pad(x, g, _PAD_VALUE[kind])
    y = _reduce(xpad, g, getattr(get_xp(x), _REDUCE[kind]))
    if kind != "avg":
        return y, ExtremeCache(kind, x.shape, g, xpad, y, squeeze)
    divisor = _divisor(g, count_include_pad, x.dtype, get_xp(x))
    y /= divisor
    return y, AvgCache(x.shape, g, divisor, squeeze)


def _compiled_forward(kind, x, g, count_include_pad, squeeze):
    k, before = kernels.pooling(), _before(g)
    arg = None
    if kind == "avg":
        y = k.avg_forward(x, g.kernel, g.stride, before, g.out_size, count_include_pad)
    else:
        arg = scratch(x.shape[:2] + g.out_size, np.int32)  # held by the cache until backward
        y, arg = k.extreme_forward(x, g.kernel, g.stride, before, g.out_size, kind == "min", arg)
    return y, CompiledPoolCache(kind, x.shape, g, arg, count_include_pad, squeeze)


def _pool_backward(dy, cache):
    c = cache
    if c.squeeze:
        dy = dy[:, :, None, :]
    dx = _compiled_backward(dy, c) if isinstance(c, CompiledPoolCache) else _numpy_backward(dy, c)
    return ((dx[:, :, 0] if c.squeeze else dx),)


def _compiled_backward(dy, c):
    k, g = kernels.pooling(), c.geom
    if c.kind == "avg":
        return k.avg_backward(dy, c.x_shape, g.kernel, g.stride, _before(g), c.count_include_pad)
    return k.extreme_backward(dy, c.arg, c.x_shape, g.kernel, g.stride, _before(g))


def _numpy_backward(dy, c):
    xp = get_xp(dy)
    g = c.geom
    dx = xp.zeros(c.x_shape, dtype=dy.dtype)
    (ph, pw), (h, w), need = _before(g), c.x_shape[2:], _extent(g)
    inner = (min(h, need[0] - ph), min(w, need[1] - pw))  # input rows/cols used
    direct = ph == pw == 0 and need == inner
    if direct:
        dxpad = dx[:, :, : inner[0], : inner[1]]  # a view: no copy back needed
    else:
        dxpad = xp.zeros(c.x_shape[:2] + need, dtype=dy.dtype)
    if isinstance(c, AvgCache):
        _spread(dxpad, dy / c.divisor, g)
    else:
        real = None
        if not direct:  # which xpad slots hold input: a padding slot may tie with a +-inf input
            real = xp.zeros((1, 1) + need, dtype=bool)
            real[:, :, ph : ph + inner[0], pw : pw + inner[1]] = True
        _route(dxpad, dy, c.xpad, c.y, g, real)
    if not direct:
        dx[:, :, : inner[0], : inner[1]] = dxpad[:, :, ph : ph + inner[0], pw : pw + inner[1]]
    return dx


def _before(g):
    """The padding before each spatial axis (pool pads are symmetric)."""
    return tuple(lo for lo, _ in g.pads)


def _extent(g):
    """Spatial size of xpad: up to the end of the last window (past the input with ceil_mode)."""
    return tuple(a.tap(a.out - 1, a.kernel - 1) + 1 for a in g.axes)


def _pad(x, g, value):
    """x padded to _extent(g) (left by the padding, right by what remains; a view if none)."""
    xp = get_xp(x)
    (ph, pw), (h, w), need = _before(g), x.shape[2:], _extent(g)
    if ph == pw == 0 and need[0] <= h and need[1] <= w:
        return x[:, :, : need[0], : need[1]]
    xpad = xp.full(x.shape[:2] + need, value, dtype=x.dtype)
    hh, ww = min(h, need[0] - ph), min(w, need[1] - pw)
    xpad[:, :, ph : ph + hh, pw : pw + ww] = x[:, :, :hh, :ww]
    return xpad


def _taps(g):
    """Per kernel offset (u, v), row-major: the (rows, cols) slices it reads, one per window."""
    return [g.taps((u, v)) for u in range(g.kernel[0]) for v in range(g.kernel[1])]


def _reduce(xpad, g, ufunc):
    y = None
    for rows, cols in _taps(g):
        win = xpad[:, :, rows, cols]
        if y is None:
            y = win.copy()
        else:
            ufunc(y, win, out=y)
    return y


def _route(dxpad, dy, xpad, y, g, real=None):
    """Give each window's dy to its first input element (row-major) equal to y: PyTorch's
    tie rule. real: (1, 1, *xpad spatial) bool, True on input slots; None without padding.
    dxpad starts at zero. dy * mask into preallocated arrays (5x faster than a masked copy);
    a masked copy/add only when dy holds inf or NaN (0 * inf = nan)."""
    xp = get_xp(dy, y)
    disjoint = all(s >= k for s, k in zip(g.stride, g.kernel, strict=True))
    finite = bool(xp.isfinite(dy).all())
    part = None if disjoint or not finite else xp.empty_like(dy)
    infinite = None if real is None else xp.isinf(y)
    if infinite is not None and not infinite.any():
        infinite = None
    free = xp.ones(y.shape, dtype=bool)
    hit = xp.empty(y.shape, dtype=bool)
    taps = _taps(g)
    for k, (rows, cols) in enumerate(taps):
        xp.equal(xpad[:, :, rows, cols], y, out=hit)
        if infinite is not None:
            hit &= ~infinite | real[:, :, rows, cols]
        hit &= free
        if k + 1 < len(taps):
            free ^= hit
        target = dxpad[:, :, rows, cols]
        if not finite:
            xp.add(target, dy, out=target, where=hit)
        elif disjoint:  # each target element belongs to one window: store
            xp.multiply(dy, hit, out=target)
        else:
            target += xp.multiply(dy, hit, out=part)
    pending = xp.isnan(y)  # NaN equals nothing; PyTorch lets each NaN replace the max: LAST wins
    if pending.any():
        for rows, cols in reversed(taps):
            hit = xp.isnan(xpad[:, :, rows, cols]) & pending
            pending ^= hit
            target = dxpad[:, :, rows, cols]
            xp.add(target, dy, out=target, where=hit)


def _spread(dxpad, g_dy, g):
    """Add g_dy to every element of each window (the avg pool backward)."""
    disjoint = all(s >= k for s, k in zip(g.stride, g.kernel, strict=True))
    for rows, cols in _taps(g):
        target = dxpad[:, :, rows, cols]
        if disjoint:  # target is still zero: store
            target[...] = g_dy
        else:
            target += g_dy


def _divisor(g, count_include_pad, dtype, xp):
    """Elements per window (PyTorch's rule): windows are clipped to the padded input, and
    with count_include_pad=False also to the input itself. A scalar when all are equal."""
    counts = []
    for a in g.axes:
        i, (lo, hi) = xp.arange(a.out), a.pads
        start = a.tap(i, 0) - lo
        end = xp.minimum(a.tap(i, a.kernel - 1) + 1 - lo, a.size + hi)
        if not count_include_pad:
            start, end = xp.maximum(start, 0), xp.minimum(end, a.size)
        counts.append(end - start)
    div = xp.outer(counts[0], counts[1]).astype(dtype)
    return dtype.type(div.flat[0]) if (div == div.flat[0]).all() else div


def max_pool1d_forward(x, *, kernel_size, stride=None, padding=0, ceil_mode=False):
    """y[n,c,i] = max_u xpad[n,c,i*S+u]; x (N, C, L) -> y (N, C, OL)."""
    return _pool_forward("max_pool1d", "max", x, 1, kernel_size, stride, padding, ceil_mode)


def max_pool2d_forward(x, *, kernel_size, stride=None, padding=0, ceil_mode=False):
    """y[n,c,i,j] = max_{u,v} xpad[n,c,i*SH+u,j*SW+v]; x (N, C, H, W) -> y (N, C, OH, OW)."""
    return _pool_forward("max_pool2d", "max", x, 2, kernel_size, stride, padding, ceil_mode)


def min_pool1d_forward(x, *, kernel_size, stride=None, padding=0, ceil_mode=False):
    """y[n,c,i] = min_u xpad[n,c,i*S+u]; x (N, C, L) -> y (N, C, OL)."""
    return _pool_forward("min_pool1d", "min", x, 1, kernel_size, stride, padding, ceil_mode)


def min_pool2d_forward(x, *, kernel_size, stride=None, padding=0, ceil_mode=False):
    """y[n,c,i,j] = min_{u,v} xpad[n,c,i*SH+u,j*SW+v]; x (N, C, H, W) -> y (N, C, OH, OW)."""
    return _pool_forward("min_pool2d", "min", x, 2, kernel_size, stride, padding, ceil_mode)


def avg_pool1d_forward(
    x, *, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True
):
    """y[n,c,i] = sum_u xpad[n,c,i*S+u] / divisor[i]; x (N, C, L) -> y (N, C, OL)."""
    return _pool_forward(
        "avg_pool1d", "avg", x, 1, kernel_size, stride, padding, ceil_mode, count_include_pad
    )


def avg_pool2d_forward(
    x, *, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True
):
    """y[n,c,i,j] = sum_{u,v} xpad[n,c,i*SH+u,j*SW+v] / divisor[i,j]; x (N,C,H,W) -> (N,C,OH,OW).

    divisor = KH*KW, except for windows that run past the right padding (ceil_mode), or,
    with count_include_pad=False, the number of input (non-padding) elements in the window.
    """
    return _pool_forward(
        "avg_pool2d", "avg", x, 2, kernel_size, stride, padding, ceil_mode, count_include_pad
    )


max_pool1d_backward = max_pool2d_backward = _pool_backward
min_pool1d_backward = min_pool2d_backward = _pool_backward
avg_pool1d_backward = avg_pool2d_backward = _pool_backward
