"""2-D pooling forward and backward, compiled with Numba; one (n, c) plane at a time.

    max/min: y[n,c,i,j] = extreme of x[n, c, i*SH - PT + u, j*SW - PL + v] over the window
             clipped to the input; arg[n,c,i,j] = its flat index h*W + w in the plane (int32).
             The FIRST extreme in row-major order wins (PyTorch's tie rule); a NaN wins
             over numbers and propagates (PyTorch's rule: take v if v > best or v is NaN).
    avg:     y = window sum / divisor, with PyTorch's divisor: the window clipped to the
             padded input (count_include_pad) or to the input itself.

Backward of max/min adds dy[n,c,i,j] at arg (overlapping windows accumulate); backward
of avg spreads dy/divisor over the window. Output sizes come from the caller (ceil_mode
is already in them). Min pooling is max pooling of -x. The common 2x2 stride-2 unpadded
case has its own kernels with fixed loop bounds (LLVM unrolls and vectorises them: 2.9 ms
against 18.6 for the general loops on (64, 64, 32, 32), whose rows of 16 outputs are short).
The general loops run over one window offset's row of outputs at a time, through slices
indexed from 0 and with a constant step where the stride is 1 or 2 (Numba keeps a
negative-index check on computed indices, and LLVM then leaves a loop scalar): 3x3 stride-2
max pool on (32, 64, 56, 56) 58.6 -> 13.7 ms, stride 1 223 -> 30, average pool 2-3x faster;
on (64, 64, 32, 32) only 41 -> 32 ms: with rows of 16 outputs each row's loop setup costs
more than its work (NumPy's nine strided passes take 11 ms there).
"""

import numba as nb
import numpy as np


@nb.njit(inline="always")
def _valid(k, stride, pad, size, out):
    """Outputs j in [lo, hi) whose input j*stride + k - pad lies in [0, size)."""
    off = k - pad
    lo = 0 if off >= 0 else (-off + stride - 1) // stride
    hi = (size - 1 - off) // stride + 1 if size - 1 - off >= 0 else 0
    lo = min(lo, out)
    return lo, max(min(hi, out), lo)


@nb.njit(cache=True)
def _divisor(out, kernel, stride, pad, size, count_include_pad):
    """Per-output window length along one axis (PyTorch's avg_pool divisor factor)."""
    d = np.empty(out, dtype=np.float64)
    for i in range(out):
        start = i * stride - pad
        end = min(start + kernel, size + pad)
        if not count_include_pad:
            start, end = max(start, 0), min(end, size)
        d[i] = end - start
    return d


@nb.njit(cache=True)
def _max_forward(x, y, arg, kh, kw, sh, sw, pt, pl):
    n, c, h, w = x.shape
    oh, ow = y.shape[2:]
    cols = _columns(kw, sw, pl, w, ow)
    for p in range(n * c):
        xs, ys, args = x[p // c, p % c], y[p // c, p % c], arg[p // c, p % c]
        for i in range(oh):
            r0 = max(i * sh - pt, 0)
            yrow, arow = ys[i], args[i]
            for j in range(ow):
                yrow[j] = -np.inf
                arow[j] = r0 * w + max(j * sw - pl, 0)  # first in-input element
            for u in range(kh):
                r = i * sh + u - pt
                if r < 0 or r >= h:
                    continue
                xrow = xs[r]
                for v in range(kw):
                    j0, j1, start, length = cols[v, 0], cols[v, 1], cols[v, 2], cols[v, 3]
                    src = xrow[start : start + length]
                    at, yo, ao = r * w + start, yrow[j0:j1], arow[j0:j1]
                    if sw == 1:  # a constant step: LLVM vectorises the strided reads
                        _take_larger(src, yo, ao, at, 1)
                    elif sw == 2:
                        _take_larger(src, yo, ao, at, 2)
                    else:
                        _take_larger(src, yo, ao, at, sw)


@nb.njit(cache=True)
def _columns(kw, sw, pl, w, ow):
    """Per kernel column v: the outputs [j0, j1) whose input column lies in the row, the first
    such input column, and the span of input columns they read (computed once per call)."""
    cols = np.zeros((kw, 4), dtype=np.int64)
    for v in range(kw):
        j0, j1 = _valid(v, sw, pl, w, ow)
        cols[v, 0], cols[v, 1], cols[v, 2] = j0, j1, j0 * sw + v - pl
        cols[v, 3] = max((j1 - j0 - 1) * sw + 1, 0)
    return cols


@nb.njit(inline="always")
def _take_larger(src, best, where, at, step):
    """best[j], where[j] = src[j*step], at + j*step where that is larger or NaN (PyTorch's rule:
    a later NaN wins). A select, not a branch, over slices indexed from 0: vectorised."""
    for j in range(best.size):
        val, cur = src[j * step], best[j]
        take = (val > cur) | (val != val)
        best[j] = val if take else cur
        where[j] = at + j * step if take else where[j]


@nb.njit(cache=True)
def _max_forward_2x2(x, y, arg):
    n, c, h, w = x.shape
    oh, ow = y.shape[2:]
    for p in range(n * c):
        b, ch = p // c, p % c
        for i in range(oh):
            for j in range(ow):
                best = 2 * i * w + 2 * j
                val = x[b, ch, 2 * i, 2 * j]
                for u in range(2):
                    for v in range(2):
                        t = x[b, ch, 2 * i + u, 2 * j + v]
                        if t > val or t != t:  # a later NaN wins, as in PyTorch
                            val = t
                            best = (2 * i + u) * w + 2 * j + v
                y[b, ch, i, j] = val
                arg[b, ch, i, j] = best


@nb.njit(cache=True)
def _extreme_backward(dy, arg, dx):
    n, c, h, w = dx.shape
    oh, ow = dy.shape[2:]
    for p in range(n * c):
        dys, args = dy[p // c, p % c].reshape(-1), arg[p // c, p % c].reshape(-1)
        dxs = dx[p // c, p % c].reshape(-1)
        dxs[:] = 0
        for k in range(oh * ow):
            dxs[args[k]] += dys[k]


@nb.njit(cache=True)
def _extreme_backward_2x2(dy, arg, dx):
    n, c, h, w = dx.shape
    oh, ow = dy.shape[2:]
    zero = dx.dtype.type(0)
    for p in range(n * c):
        b, ch = p // c, p % c
        for i in range(oh):
            for j in range(ow):
                g, at = dy[b, ch, i, j], arg[b, ch, i, j]
                for u in range(2):
                    for v in range(2):
                        here = (2 * i + u) * w + 2 * j + v
                        dx[b, ch, 2 * i + u, 2 * j + v] = g if here == at else zero


@nb.njit(cache=True)
def _avg_forward(x, y, kh, kw, sh, sw, pt, pl, count_include_pad):
    n, c, h, w = x.shape
    oh, ow = y.shape[2:]
    dh = _divisor(oh, kh, sh, pt, h, count_include_pad)
    dw = _divisor(ow, kw, sw, pl, w, count_include_pad)
    cols = _columns(kw, sw, pl, w, ow)
    for p in range(n * c):
        xs, ys = x[p // c, p % c], y[p // c, p % c]
        ys[:] = 0
        for i in range(oh):
            for u in range(kh):
                r = i * sh + u - pt
                if r < 0 or r >= h:
                    continue
                for v in range(kw):
                    j0, j1, start, length = cols[v, 0], cols[v, 1], cols[v, 2], cols[v, 3]
                    src, to = xs[r, start : start + length], ys[i, j0:j1]
                    if sw == 1:
                        _add_from(to, src, 1)
                    elif sw == 2:
                        _add_from(to, src, 2)
                    else:
                        _add_from(to, src, sw)
            for j in range(ow):
                ys[i, j] /= dh[i] * dw[j]


@nb.njit(inline="always")
def _add_from(to, src, step):
    """to[j] += src[j*step] (slices indexed from 0, a constant step where the caller has one)."""
    for j in range(to.size):
        to[j] += src[j * step]


@nb.njit(inline="always")
def _add_into(to, src, step):
    """to[j*step] += src[j], the adjoint of _add_from."""
    for j in range(src.size):
        to[j * step] += src[j]


@nb.njit(cache=True)
def _avg_forward_2x2(x, y):
    n, c = x.shape[:2]
    oh, ow = y.shape[2:]
    for p in range(n * c):
        b, ch = p // c, p % c
        for i in range(oh):
            for j in range(ow):
                top = x[b, ch, 2 * i, 2 * j] + x[b, ch, 2 * i, 2 * j + 1]
                bottom = x[b, ch, 2 * i + 1, 2 * j] + x[b, ch, 2 * i + 1, 2 * j + 1]
                y[b, ch, i, j] = (top + bottom) / 4


@nb.njit(cache=True)
def _avg_backward_2x2(dy, dx):
    n, c = dx.shape[:2]
    oh, ow = dy.shape[2:]
    for p in range(n * c):
        b, ch = p // c, p % c
        for i in range(oh):
            for j in range(ow):
                g = dy[b, ch, i, j] / 4
                dx[b, ch, 2 * i, 2 * j] = g
                dx[b, ch, 2 * i, 2 * j + 1] = g
                dx[b, ch, 2 * i + 1, 2 * j] = g
                dx[b, ch, 2 * i + 1, 2 * j + 1] = g


@nb.njit(cache=True)
def _avg_backward(dy, dx, kh, kw, sh, sw, pt, pl, count_include_pad):
    n, c, h, w = dx.shape
    oh, ow = dy.shape[2:]
    dh = _divisor(oh, kh, sh, pt, h, count_include_pad)
    dw = _divisor(ow, kw, sw, pl, w, count_include_pad)
    cols = _columns(kw, sw, pl, w, ow)
    for p in range(n * c):
        dys, dxs = dy[p // c, p % c], dx[p // c, p % c]
        dxs[:] = 0
        g = np.empty(ow, dtype=dx.dtype)
        for i in range(oh):
            for j in range(ow):
                g[j] = dys[i, j] / (dh[i] * dw[j])
            for u in range(kh):
                r = i * sh + u - pt
                if r < 0 or r >= h:
                    continue
                for v in range(kw):
                    j0, j1, start, length = cols[v, 0], cols[v, 1], cols[v, 2], cols[v, 3]
                    to, frm = dxs[r, start : start + length], g[j0:j1]
                    if sw == 1:
                        _add_into(to, frm, 1)
                    elif sw == 2:
                        _add_into(to, frm, 2)
                    else:
                        _add_into(to, frm, sw)


def _is_2x2(kernel, stride, padding, in_size, out_size):
    """The fast path: 2x2 windows, stride 2, no padding, every window inside the input."""
    inside = 2 * out_size[0] <= in_size[0] and 2 * out_size[1] <= in_size[1]
    return tuple(kernel) == tuple(stride) == (2, 2) and tuple(padding) == (0, 0) and inside


def _fresh(in_shape, dy):
    """dx for the 2x2 kernels, which write every element their windows cover: uninitialised
    when the windows tile the input, zeros when a last odd row/column is left out."""
    full = 2 * dy.shape[2] == in_shape[2] and 2 * dy.shape[3] == in_shape[3]
    return np.empty(in_shape, dtype=dy.dtype) if full else np.zeros(in_shape, dtype=dy.dtype)


def extreme_forward(x, kernel, stride, padding, out_size, minimum=False, arg=None):
    """Max (or min) pool of x (N, C, H, W) -> (y (N, C, OH, OW), arg: int32 flat plane
    indices of each window's extreme, written into ``arg`` when given)."""
    x = -x if minimum else np.ascontiguousarray(x)
    y = np.empty(x.shape[:2] + tuple(out_size), dtype=x.dtype)
    arg = np.empty(y.shape, dtype=np.int32) if arg is None else arg
    if _is_2x2(kernel, stride, padding, x.shape[2:], out_size):
        _max_forward_2x2(x, y, arg)
    else:
        _max_forward(x, y, arg, *kernel, *stride, *padding)
    if minimum:
        np.negative(y, out=y)
    return y, arg


def extreme_backward(dy, arg, in_shape, kernel, stride, padding):
    """dx (N, C, H, W): each dy[n,c,i,j] added at plane index arg[n,c,i,j]."""
    dy = np.ascontiguousarray(dy)
    if _is_2x2(kernel, stride, padding, in_shape[2:], dy.shape[2:]):
        dx = _fresh(in_shape, dy)
        _extreme_backward_2x2(dy, arg, dx)
        return dx
    dx = np.empty(in_shape, dtype=dy.dtype)
    _extreme_backward(dy, arg, dx)
    return dx


def avg_forward(x, kernel, stride, padding, out_size, count_include_pad=True):
    """Average pool of x (N, C, H, W) -> y (N, C, OH, OW) with PyTorch's divisor."""
    x = np.ascontiguousarray(x)
    y = np.empty(x.shape[:2] + tuple(out_size), dtype=x.dtype)
    if _is_2x2(kernel, stride, padding, x.shape[2:], out_size):
        _avg_forward_2x2(x, y)
    else:
        _avg_forward(x, y, *kernel, *stride, *padding, count_include_pad)
    return y


def avg_backward(dy, in_shape, kernel, stride, padding, count_include_pad=True):
    """dx (N, C, H, W): dy[n,c,i,j] / divisor spread over window (i, j)."""
    dy = np.ascontiguousarray(dy)
    if _is_2x2(kernel, stride, padding, in_shape[2:], dy.shape[2:]):
        dx = _fresh(in_shape, dy)
        _avg_backward_2x2(dy, dx)
        return dx
    dx = np.empty(in_shape, dtype=dy.dtype)
    _avg_backward(dy, dx, *kernel, *stride, *padding, count_include_pad)
    return dx
