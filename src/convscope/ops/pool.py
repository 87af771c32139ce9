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
from ..backend import default_float
from ..errors import ShapeError
from .buffers import scratch
from .shapes import as_tuple, check_ndim, non_negative, out_sizes, positive

_LAYOUT = {1: "(N, C, L)", 2: "(N, C, H, W)"}
_PAD_VALUE = {"max": -np.inf, "min": np.inf, "avg": 0.0}
_REDUCE = {"max": np.maximum, "min": np.minimum, "avg": np.add}


def check_pool(op, shape, nd, kernel_size, stride, padding, ceil_mode):
    """The pool family's shape checker -> (kernel, stride, padding, out), tuples of length nd.

    Rules (PyTorch's): input (N, C, *spatial) with nd spatial dims; kernel and stride
    positive integers (stride defaults to the kernel); 0 <= padding <= kernel // 2;
    the kernel fits in the padded input.
    """
    check_ndim(shape, nd + 2, op, _LAYOUT[nd])
    kernel = positive(as_tuple(kernel_size, nd, op, "kernel_size"), op, "kernel_size")
    stride = (
        kernel if stride is None else positive(as_tuple(stride, nd, op, "stride"), op, "stride")
    )
    padding = non_negative(as_tuple(padding, nd, op, "padding"), op, "padding")
    for p, k in zip(padding, kernel, strict=True):
        if 2 * p > k:
            raise ShapeError(
                f"{op}: padding={p} is more than half of kernel_size={k}; a window would then"
                f" hold more padding than input; use padding <= {k // 2} (kernel_size // 2)"
            )
    out = out_sizes(op, tuple(shape[2:]), kernel, stride, padding, (1,) * nd, bool(ceil_mode))
    return kernel, stride, padding, out


class PoolCache(NamedTuple):
    kind: str  # "max", "min" or "avg"
    x_shape: tuple  # 4-D shape of the (H = 1 for 1-D) input
    padded_shape: tuple  # spatial shape of xpad
    kernel: tuple
    stride: tuple
    padding: tuple
    xpad: np.ndarray | None  # max/min: the padded input (a view of x when no padding)
    y: np.ndarray | None  # max/min: the 4-D output
    divisor: np.ndarray | float | None  # avg: per-window element count, (OH, OW) or a scalar
    squeeze: bool  # True for a 1-D op: y and dx lose the H axis
    compiled: bool = False  # made by the compiled path (kernels.pooling())
    arg: np.ndarray | None = None  # compiled max/min: flat plane index of each window's extreme
    count_include_pad: bool = True  # compiled avg: the divisor rule


def _pool_forward(op, kind, x, nd, kernel_size, stride, padding, ceil_mode, count_include_pad=True):
    if x.dtype.kind != "f":
        x = x.astype(default_float(x.dtype))
    kernel, stride, padding, out = check_pool(
        op, x.shape, nd, kernel_size, stride, padding, ceil_mode
    )
    if nd == 1:
        x = x[:, :, None, :]
        kernel, stride, padding, out = (1, *kernel), (1, *stride), (0, *padding), (1, *out)
    if kernels.available():
        y, cache = _compiled_forward(kind, x, kernel, stride, padding, out, count_include_pad)
        return (y[:, :, 0] if nd == 1 else y), cache._replace(squeeze=nd == 1)
    need = tuple((o - 1) * s + k for o, s, k in zip(out, stride, kernel, strict=True))
    xpad = _pad(x, need, padding, _PAD_VALUE[kind])
    y = _reduce(xpad, kernel, stride, out, _REDUCE[kind])
    divisor = None
    if kind == "avg":
        divisor = _divisor(x.shape[2:], out, kernel, stride, padding, count_include_pad, x.dtype)
        y /= divisor
    cache = PoolCache(
        kind, x.shape, need, kernel, stride, padding,
        None if kind == "avg" else xpad, None if kind == "avg" else y, divisor, nd == 1,
    )  # fmt: skip
    return (y[:, :, 0] if nd == 1 else y), cache


def _compiled_forward(kind, x, kernel, stride, padding, out, count_include_pad):
    k = kernels.pooling()
    arg = None
    if kind == "avg":
        y = k.avg_forward(x, kernel, stride, padding, out, count_include_pad)
    else:
        arg = scratch(x.shape[:2] + tuple(out), np.int32)  # held by the cache until backward
        y, arg = k.extreme_forward(x, kernel, stride, padding, out, kind == "min", arg)
    cache = PoolCache(kind, x.shape, None, kernel, stride, padding, None, None, None, False,
                      compiled=True, arg=arg, count_include_pad=count_include_pad)  # fmt: skip
    return y, cache


def _compiled_backward(dy, c):
    k = kernels.pooling()
    if c.kind == "avg":
        return k.avg_backward(dy, c.x_shape, c.kernel, c.stride, c.padding, c.count_include_pad)
    return k.extreme_backward(dy, c.arg, c.x_shape, c.kernel, c.stride, c.padding)


def _pool_backward(dy, cache):
    c = cache
    if c.squeeze:
        dy = dy[:, :, None, :]
    if c.compiled:
        dx = _compiled_backward(dy, c)
        return ((dx[:, :, 0] if c.squeeze else dx),)
    dx = np.zeros(c.x_shape, dtype=dy.dtype)
    (ph, pw), (h, w) = c.padding, c.x_shape[2:]
    inner = (min(h, c.padded_shape[0] - ph), min(w, c.padded_shape[1] - pw))  # input rows/cols used
    direct = ph == pw == 0 and c.padded_shape == inner
    if direct:
        dxpad = dx[:, :, : inner[0], : inner[1]]  # a view: no copy back needed
    else:
        dxpad = np.zeros(c.x_shape[:2] + c.padded_shape, dtype=dy.dtype)
    out = dy.shape[2:]
    if c.kind == "avg":
        _spread(dxpad, dy / c.divisor, c.kernel, c.stride, out)
    else:
        real = None
        if not direct:  # which xpad slots hold input: a padding slot may tie with a +-inf input
            real = np.zeros((1, 1) + c.padded_shape, dtype=bool)
            real[:, :, ph : ph + inner[0], pw : pw + inner[1]] = True
        _route(dxpad, dy, c.xpad, c.y, c.kernel, c.stride, out, real)
    if not direct:
        dx[:, :, : inner[0], : inner[1]] = dxpad[:, :, ph : ph + inner[0], pw : pw + inner[1]]
    return ((dx[:, :, 0] if c.squeeze else dx),)


def _pad(x, need, padding, value):
    """x padded to spatial size `need` (left by padding, right by what remains; a view if none)."""
    (ph, pw), (h, w) = padding, x.shape[2:]
    if ph == pw == 0 and need[0] <= h and need[1] <= w:
        return x[:, :, : need[0], : need[1]]
    xpad = np.full(x.shape[:2] + need, value, dtype=x.dtype)
    hh, ww = min(h, need[0] - ph), min(w, need[1] - pw)
    xpad[:, :, ph : ph + hh, pw : pw + ww] = x[:, :, :hh, :ww]
    return xpad


def _window(a, u, v, stride, out):
    """The (N, C, OH, OW) strided view of a holding element (u, v) of every window."""
    return a[:, :, u : u + stride[0] * (out[0] - 1) + 1 : stride[0], v : v + stride[1] * (out[1] - 1) + 1 : stride[1]]  # fmt: skip


def _offsets(kernel):
    return ((u, v) for u in range(kernel[0]) for v in range(kernel[1]))


def _reduce(xpad, kernel, stride, out, ufunc):
    y = None
    for u, v in _offsets(kernel):
        win = _window(xpad, u, v, stride, out)
        if y is None:
            y = win.copy()
        else:
            ufunc(y, win, out=y)
    return y


def _route(dxpad, dy, xpad, y, kernel, stride, out, real=None):
    """Give each window's dy to its first input element (row-major) equal to y: PyTorch's
    tie rule. real: (1, 1, *xpad spatial) bool, True on input slots; None without padding.
    dxpad starts at zero. dy * mask into preallocated arrays (5x faster than a masked copy);
    a masked copy/add only when dy holds inf or NaN (0 * inf = nan)."""
    disjoint = all(s >= k for s, k in zip(stride, kernel, strict=True))
    finite = bool(np.isfinite(dy).all())
    part = None if disjoint or not finite else np.empty_like(dy)
    infinite = None if real is None else np.isinf(y)
    if infinite is not None and not infinite.any():
        infinite = None
    free = np.ones(y.shape, dtype=bool)
    hit = np.empty(y.shape, dtype=bool)
    offsets = list(_offsets(kernel))
    for k, (u, v) in enumerate(offsets):
        np.equal(_window(xpad, u, v, stride, out), y, out=hit)
        if infinite is not None:
            hit &= ~infinite | _window(real, u, v, stride, out)
        hit &= free
        if k + 1 < len(offsets):
            free ^= hit
        target = _window(dxpad, u, v, stride, out)
        if not finite:
            np.add(target, dy, out=target, where=hit)
        elif disjoint:  # each target element belongs to one window: store
            np.multiply(dy, hit, out=target)
        else:
            target += np.multiply(dy, hit, out=part)
    pending = np.isnan(y)  # NaN equals nothing; PyTorch lets each NaN replace the max: LAST wins
    if pending.any():
        for u, v in reversed(offsets):
            hit = np.isnan(_window(xpad, u, v, stride, out)) & pending
            pending ^= hit
            target = _window(dxpad, u, v, stride, out)
            np.add(target, dy, out=target, where=hit)


def _spread(dxpad, g, kernel, stride, out):
    """Add g to every element of each window (the avg pool backward)."""
    disjoint = all(s >= k for s, k in zip(stride, kernel, strict=True))
    for u, v in _offsets(kernel):
        _accumulate(_window(dxpad, u, v, stride, out), g, disjoint)


def _accumulate(target, part, disjoint):
    """target += part; a plain store when windows do not overlap (target is still zero)."""
    if disjoint:
        target[...] = part
    else:
        target += part


def _divisor(size, out, kernel, stride, padding, count_include_pad, dtype):
    """Elements per window (PyTorch's rule): windows are clipped to the padded input, and
    with count_include_pad=False also to the input itself. A scalar when all are equal."""
    counts = []
    for n, o, k, s, p in zip(size, out, kernel, stride, padding, strict=True):
        start = np.arange(o) * s - p
        end = np.minimum(start + k, n + p)
        if not count_include_pad:
            start, end = np.maximum(start, 0), np.minimum(end, n)
        counts.append(end - start)
    div = np.outer(counts[0], counts[1]).astype(dtype)
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
