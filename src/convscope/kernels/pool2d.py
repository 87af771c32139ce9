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
case has its own kernels with fixed loop bounds (LLVM unrolls and vectorises them),
compiled noalias (kernels.noalias: the max forward on (64, 64, 32, 32) 3.0 -> 1.0 ms); where
those windows tile the input, max/min split each row pair into two flat runs and keep each
window's winning tap (_row_split), and a forward without a backward keeps no argmax at all. Every
other window goes through phase planes (below): each plane copied once into SH*SW planes of
its padded input split by row and column phase, then one flat pass per tap over the plane's
outputs. Against the loops over each tap's row of outputs they replace (one thread,
float32, hot): 3x3 stride-2 max pool forward on (64, 64, 32, 32) 30.8 -> 4.5 ms, on (32,
64, 56, 56) 13.9 -> 5.2, stride 1 28.9 -> 17.3, ResNet's stem pool (8, 64, 112, 112) 7.4 ->
5.8; average pool forward 1.3-1.6x and backward 1.2-1.8x faster on the same shapes. The max
backward stays a scatter of dy at arg (1.3 against 4.4 ms for masked passes on the first).
"""

import numba as nb
import numpy as np

from .noalias import njit_noalias


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


# ---- any window: phase planes and flat passes --------------------------------------------------
#
# Output (i, j) of tap (u, v) reads padded input (i*SH + u, j*SW + v). Split the padded plane by
# row phase R % SH and column phase C % SW into SH*SW phase planes of (HR, WQ), element (R, C) at
# plane (R % SH)*SW + C % SW, position (R // SH, C // SW): tap (u, v) of output (i, j) is then
# at (i + u // SH, j + v // SW) of one plane, i.e. flat position q + (u // SH)*WQ + v // SW
# with q = i*WQ + j. Each tap is one pass over a flat run of OH*WQ elements (the WQ - OW extra
# columns per row are computed and dropped), a loop LLVM vectorises whatever the window, where
# loops over each output row (16 outputs in a 32x32 plane's 3x3 stride-2 pool) spent more on
# their setup than on their work.


@nb.njit(cache=True)
def _phase_layout(kh, kw, sh, sw, pt, pl, h, w, oh, ow):
    """(WQ, plane length) of the phase planes: HR = rows enough for every tap and the input,
    WQ likewise, and each plane (kw - 1) // sw elements longer than HR*WQ for the last tap."""
    hr = max(oh + (kh - 1) // sh, (pt + h + sh - 1) // sh)
    wq = max(ow + (kw - 1) // sw, (pl + w + sw - 1) // sw)
    return wq, hr * wq + (kw - 1) // sw


@nb.njit(inline="always")
def _phase_copy(xs, planes, sh, sw, pt, pl, wq, plen, into_planes):
    """into_planes: planes[phase][(r + PT) // SH, (c + PL) // SW] = xs[r, c] for every input
    element (the rest of the planes keeps its fill); else the reverse, xs from the planes."""
    h, w = xs.shape
    for r in range(h):
        a, rr = (r + pt) % sh, (r + pt) // sh
        row = xs[r]
        for b in range(sw):
            c0 = (b - pl) % sw  # the row's first input column in column phase b
            if c0 >= w:
                continue
            cnt = (w - c0 + sw - 1) // sw
            start = (a * sw + b) * plen + rr * wq + (c0 + pl) // sw
            run, part = planes[start : start + cnt], row[c0:]
            if into_planes:
                for k in range(cnt):
                    run[k] = part[k * sw]
            else:
                for k in range(cnt):
                    part[k * sw] = run[k]


@nb.njit(inline="always")
def _split(xs, planes, sh, sw, pt, pl, wq, plen, into_planes):
    """_phase_copy with a constant column step for strides 1 and 2 (vectorised copies)."""
    if sw == 1:
        _phase_copy(xs, planes, sh, 1, pt, pl, wq, plen, into_planes)
    elif sw == 2:
        _phase_copy(xs, planes, sh, 2, pt, pl, wq, plen, into_planes)
    else:
        _phase_copy(xs, planes, sh, sw, pt, pl, wq, plen, into_planes)


@nb.njit(inline="always")
def _tap_start(u, v, sh, sw, wq, plen):
    """Flat position in the phase planes of tap (u, v) of output (0, 0)."""
    return ((u % sh) * sw + v % sw) * plen + (u // sh) * wq + v // sw


@nb.njit(cache=True)
def _max_forward(x, y, arg, kh, kw, sh, sw, pt, pl):
    n, c, h, w = x.shape
    oh, ow = y.shape[2:]
    wq, plen = _phase_layout(kh, kw, sh, sw, pt, pl, h, w, oh, ow)
    planes = np.full(sh * sw * plen, -np.inf, dtype=x.dtype)  # the padding never wins
    size = oh * wq
    best, tap = np.empty(size, dtype=x.dtype), np.empty(size, dtype=np.int32)
    offset = np.empty(kh * kw, dtype=np.int64)  # tap t's flat offset in the input plane
    for t in range(kh * kw):
        offset[t] = (t // kw) * w + t % kw
    for p in range(n * c):
        xs, ys, args = x[p // c, p % c], y[p // c, p % c], arg[p // c, p % c]
        _split(xs, planes, sh, sw, pt, pl, wq, plen, True)
        best[:] = -np.inf
        tap[:] = -1
        for u in range(kh):  # row-major: the first extreme wins, a later NaN wins
            for v in range(kw):
                start, t = _tap_start(u, v, sh, sw, wq, plen), u * kw + v
                src = planes[start : start + size]
                for q in range(size):
                    val, cur = src[q], best[q]
                    take = (val > cur) | (val != val)
                    best[q] = val if take else cur
                    tap[q] = t if take else tap[q]
        for i in range(oh):
            r0 = i * sh - pt
            yrow, arow = ys[i], args[i]
            brow, trow = best[i * wq : i * wq + ow], tap[i * wq : i * wq + ow]
            for j in range(ow):
                t, c0 = trow[j], j * sw - pl
                yrow[j] = brow[j]
                # no tap taken (all -inf): the window's first element inside the input
                arow[j] = (r0 * w + c0 + offset[t]) if t >= 0 else max(r0, 0) * w + max(c0, 0)


@nb.njit(inline="always")
def _avg_layout(kh, kw, sh, sw, pt, pl, h, w, oh, ow, count_include_pad):
    """An average pool's per-row and per-column divisors and its phase planes' (WQ, length)."""
    dh = _divisor(oh, kh, sh, pt, h, count_include_pad)
    dw = _divisor(ow, kw, sw, pl, w, count_include_pad)
    return (dh, dw, *_phase_layout(kh, kw, sh, sw, pt, pl, h, w, oh, ow))


@nb.njit(inline="always")
def _tap_sums(flat, planes, kh, kw, sh, sw, wq, plen, into_planes):
    """For each tap: flat[q] += its run of the planes (into_planes: the adjoint, the run += flat)."""
    size = flat.size
    for u in range(kh):
        for v in range(kw):
            start = _tap_start(u, v, sh, sw, wq, plen)
            run = planes[start : start + size]
            if into_planes:
                for q in range(size):
                    run[q] += flat[q]
            else:
                for q in range(size):
                    flat[q] += run[q]


@nb.njit(cache=True)
def _avg_forward(x, y, kh, kw, sh, sw, pt, pl, count_include_pad):
    n, c, h, w = x.shape
    oh, ow = y.shape[2:]
    dh, dw, wq, plen = _avg_layout(kh, kw, sh, sw, pt, pl, h, w, oh, ow, count_include_pad)
    planes = np.zeros(sh * sw * plen, dtype=x.dtype)
    size = oh * wq
    acc = np.empty(size, dtype=x.dtype)
    for p in range(n * c):
        xs, ys = x[p // c, p % c], y[p // c, p % c]
        _split(xs, planes, sh, sw, pt, pl, wq, plen, True)
        acc[:] = 0
        _tap_sums(acc, planes, kh, kw, sh, sw, wq, plen, False)
        for i in range(oh):
            yrow, arow = ys[i], acc[i * wq : i * wq + ow]
            for j in range(ow):
                yrow[j] = arow[j] / (dh[i] * dw[j])


@nb.njit(cache=True)
def _avg_backward(dy, dx, kh, kw, sh, sw, pt, pl, count_include_pad):
    n, c, h, w = dx.shape
    oh, ow = dy.shape[2:]
    dh, dw, wq, plen = _avg_layout(kh, kw, sh, sw, pt, pl, h, w, oh, ow, count_include_pad)
    planes = np.empty(sh * sw * plen, dtype=dx.dtype)
    size = oh * wq
    g = np.zeros(size, dtype=dx.dtype)  # dy / divisor; the WQ - OW extra columns stay 0
    for p in range(n * c):
        dys, dxs = dy[p // c, p % c], dx[p // c, p % c]
        for i in range(oh):
            grow, drow = g[i * wq : i * wq + ow], dys[i]
            for j in range(ow):
                grow[j] = drow[j] / (dh[i] * dw[j])
        planes[:] = 0
        _tap_sums(g, planes, kh, kw, sh, sw, wq, plen, True)  # the adjoint, then of the split
        _split(dxs, planes, sh, sw, pt, pl, wq, plen, False)


@njit_noalias
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


@njit_noalias
def _max_values_2x2(x, y):
    n, c = x.shape[:2]
    oh, ow = y.shape[2:]
    for p in range(n * c):
        b, ch = p // c, p % c
        for i in range(oh):
            r0, r1, yrow = x[b, ch, 2 * i], x[b, ch, 2 * i + 1], y[b, ch, i]
            for j in range(ow):
                val = r0[2 * j]
                for t in (r0[2 * j + 1], r1[2 * j], r1[2 * j + 1]):
                    val = t if (t > val or t != t) else val
                yrow[j] = val


@njit_noalias
def _max_taps_flat(top, bottom, y, tap):
    """y[q] and its winning tap (0..3, row-major) of window q, whose rows are top[2q:2q+2] and
    bottom[2q:2q+2]: one flat loop over every window, so LLVM's vector loop takes them all."""
    for q in range(y.size):
        val, k = top[2 * q], 0
        t = top[2 * q + 1]
        take = t > val or t != t  # a later NaN wins, as in PyTorch
        val, k = (t, 1) if take else (val, k)
        t = bottom[2 * q]
        take = t > val or t != t
        val, k = (t, 2) if take else (val, k)
        t = bottom[2 * q + 1]
        take = t > val or t != t
        val, k = (t, 3) if take else (val, k)
        y[q] = val
        tap[q] = k


@njit_noalias
def _scatter_taps_flat(dy, tap, top, bottom):
    """The adjoint of _max_taps_flat: dy[q] to its window's winning tap, zeros elsewhere."""
    zero = top.dtype.type(0)
    for q in range(dy.size):
        g, k = dy[q], tap[q]
        top[2 * q] = g if k == 0 else zero
        top[2 * q + 1] = g if k == 1 else zero
        bottom[2 * q] = g if k == 2 else zero
        bottom[2 * q + 1] = g if k == 3 else zero


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


@njit_noalias
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


@njit_noalias
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


@njit_noalias
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


def _is_2x2(kernel, stride, padding, in_size, out_size):
    """The fast path: 2x2 windows, stride 2, no padding, every window inside the input."""
    inside = 2 * out_size[0] <= in_size[0] and 2 * out_size[1] <= in_size[1]
    return tuple(kernel) == tuple(stride) == (2, 2) and tuple(padding) == (0, 0) and inside


def _fresh(in_shape, dy):
    """dx for the 2x2 kernels, which write every element their windows cover: uninitialised
    when the windows tile the input, zeros when a last odd row/column is left out."""
    full = 2 * dy.shape[2] == in_shape[2] and 2 * dy.shape[3] == in_shape[3]
    return np.empty(in_shape, dtype=dy.dtype) if full else np.zeros(in_shape, dtype=dy.dtype)


def _row_split(in_shape, kernel, stride, padding, out_size):
    """True when 2x2 windows tile the input: each row pair is then split into a top and a
    bottom run (a chunk of row pairs at a time, SPLIT_CHUNK_BYTES a run) and every window goes
    through one flat loop each way (_max_taps_flat, _scatter_taps_flat), which LLVM vectorises
    whole; _max_forward_2x2's vector loop takes whole vectors of a row's outputs and runs the
    rest scalar with branches the data make unpredictable (7.6 ns an output at 14 a row, 17 at
    5, 1.4-1.9 at 16 and 32), and its backward scatter is slow at any width. Measured on Zen 3,
    one thread, forward / backward in us, before -> after: (64, 6, 28, 28) 595 / 679 -> 162 /
    142; (64, 16, 10, 10) 420 / 274 -> 99 / 95; the VGG's (64, 16, 28, 28) 1676 / 1968 -> 391 /
    365; (64, 64, 32, 32) 1733 / 9099 -> 2572 / 2544; (32, 64, 56, 56) 5367 / 13272 -> 3785 /
    3883. A forward without a backward keeps no taps (extreme_values)."""
    n, c, h, w = in_shape
    tiled = h == 2 * out_size[0] and w == 2 * out_size[1]
    return _is_2x2(kernel, stride, padding, (h, w), out_size) and tiled


SPLIT_CHUNK_BYTES = 1 << 19  # each of the top and bottom runs: a chunk of row pairs in cache


def _row_pair_chunks(pairs, w, ow, dtype):
    """The row split a chunk at a time: (the chunk's row pairs, its windows in the flat
    output, its top run, its bottom run (m, W)), the runs in two buffers of about
    SPLIT_CHUNK_BYTES reused from chunk to chunk."""
    step = max(1, SPLIT_CHUNK_BYTES // (w * np.dtype(dtype).itemsize))
    top, bottom = np.empty((step, w), dtype=dtype), np.empty((step, w), dtype=dtype)
    for r0 in range(0, pairs, step):
        m = min(step, pairs - r0)
        yield slice(r0, r0 + m), slice(r0 * ow, (r0 + m) * ow), top[:m], bottom[:m]


def arg_dtype(in_shape, kernel, stride, padding, out_size):
    """The dtype of extreme_forward's arg: uint8 winning taps (0..3) where the rows are split
    (_row_split), else int32 flat plane indices."""
    return np.uint8 if _row_split(in_shape, kernel, stride, padding, out_size) else np.int32


def extreme_forward(x, kernel, stride, padding, out_size, minimum=False, arg=None):
    """Max (or min) pool of x (N, C, H, W) -> (y (N, C, OH, OW), arg: each window's extreme as
    an int32 flat plane index, or as a uint8 tap 0..3 (arg_dtype), written into ``arg`` when
    given; plane_indices turns either into PyTorch's indices)."""
    x = -x if minimum else np.ascontiguousarray(x)
    y = np.empty(x.shape[:2] + tuple(out_size), dtype=x.dtype)
    dtype = arg_dtype(x.shape, kernel, stride, padding, out_size)
    arg = np.empty(y.shape, dtype=dtype) if arg is None else arg
    if dtype == np.uint8:  # each row pair split into a top and a bottom run, then flat
        rows, ys, taps = x.reshape(-1, 2, x.shape[3]), y.reshape(-1), arg.reshape(-1)
        chunks = _row_pair_chunks(len(rows), x.shape[3], out_size[1], x.dtype)
        for pairs, out, top, bottom in chunks:
            np.copyto(top, rows[pairs, 0])
            np.copyto(bottom, rows[pairs, 1])
            _max_taps_flat(top.reshape(-1), bottom.reshape(-1), ys[out], taps[out])
    elif _is_2x2(kernel, stride, padding, x.shape[2:], out_size):
        _max_forward_2x2(x, y, arg)
    else:
        _max_forward(x, y, arg, *kernel, *stride, *padding)
    if minimum:
        np.negative(y, out=y)
    return y, arg


def plane_indices(arg, in_shape):
    """extreme_forward's arg as int64 flat plane indices h*W + w (PyTorch's return_indices)."""
    if arg.dtype != np.uint8:
        return arg.astype(np.int64)
    w = in_shape[3]
    i = np.arange(arg.shape[2], dtype=np.int64)[:, None]
    j = np.arange(arg.shape[3], dtype=np.int64)[None, :]
    tap = arg.astype(np.int64)
    return (2 * i + (tap >> 1)) * w + 2 * j + (tap & 1)


def extreme_values(x, kernel, stride, padding, out_size, minimum=False):
    """extreme_forward's y alone, for a forward no backward will follow: the 2x2 windows by a
    kernel that keeps no argmax (LLVM vectorises it: LeNet's (64, 6, 28, 28) 0.59 -> 0.09 ms)."""
    if not _is_2x2(kernel, stride, padding, x.shape[2:], out_size):
        return extreme_forward(x, kernel, stride, padding, out_size, minimum)[0]
    x = -x if minimum else np.ascontiguousarray(x)
    y = np.empty(x.shape[:2] + tuple(out_size), dtype=x.dtype)
    _max_values_2x2(x, y)
    if minimum:
        np.negative(y, out=y)
    return y


def extreme_backward(dy, arg, in_shape, kernel, stride, padding):
    """dx (N, C, H, W): each dy[n,c,i,j] added at plane index arg[n,c,i,j] (or at its tap)."""
    dy = np.ascontiguousarray(dy)
    if arg.dtype == np.uint8:  # the row split's taps: flat runs, then interleaved into dx
        dx = np.empty(in_shape, dtype=dy.dtype)
        rows, dys, taps = dx.reshape(-1, 2, in_shape[3]), dy.reshape(-1), arg.reshape(-1)
        chunks = _row_pair_chunks(len(rows), in_shape[3], dy.shape[3], dy.dtype)
        for pairs, out, top, bottom in chunks:
            _scatter_taps_flat(dys[out], taps[out], top.reshape(-1), bottom.reshape(-1))
            rows[pairs, 0] = top
            rows[pairs, 1] = bottom
        return dx
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
