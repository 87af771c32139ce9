"""Window gather (im2col) and scatter (col2im) for 2-D convolution, compiled with Numba.

    cols[n, c, u, v, i, j] = x[n, c, i*SH + u*DH - PT, j*SW + v*DW - PL]   (0 outside x)
    dx[n, c, i*SH + u*DH - PT, j*SW + v*DW - PL] += dcols[n, c, u, v, i, j]

x is the unpadded input (N, C, H, W); PT/PL are the top/left paddings, and the
bottom/right paddings are implied by the output size (OH, OW) = cols.shape[4:]. Both
work in place on C-contiguous arrays of one float dtype and run one (n, c) plane per
thread; the valid column range of each kernel offset is computed once, so the inner
loop is a plain (vectorisable) copy or add.
"""

import numba as nb
import numpy as np


@nb.njit(inline="always")
def _valid(k, stride, dilation, pad, size, out):
    """Output positions j in [lo, hi) whose input j*stride + k*dilation - pad lies in [0, size)."""
    off = k * dilation - pad
    lo = 0 if off >= 0 else (-off + stride - 1) // stride
    hi = (size - 1 - off) // stride + 1 if size - 1 - off >= 0 else 0
    return min(lo, out), max(min(hi, out), min(lo, out))


@nb.njit(cache=True, parallel=True)
def _gather(x, cols, sh, sw, dh, dw, pt, pl):
    n, c, h, w = x.shape
    kh, kw, oh, ow = cols.shape[2:]
    xf, cf = x.reshape(-1), cols.reshape(-1)
    zero = cf.dtype.type(0)
    for p in nb.prange(n * c):
        for u in range(kh):
            i0, i1 = _valid(u, sh, dh, pt, h, oh)
            for v in range(kw):
                j0, j1 = _valid(v, sw, dw, pl, w, ow)
                base = ((p * kh + u) * kw + v) * oh * ow
                for k in range(base, base + i0 * ow):
                    cf[k] = zero
                for k in range(base + i1 * ow, base + oh * ow):
                    cf[k] = zero
                for i in range(i0, i1):
                    dst = base + i * ow
                    src = (p * h + i * sh + u * dh - pt) * w + j0 * sw + v * dw - pl
                    for j in range(j0):
                        cf[dst + j] = zero
                    for j in range(j1, ow):
                        cf[dst + j] = zero
                    if sw == 1:
                        for j in range(j1 - j0):
                            cf[dst + j0 + j] = xf[src + j]
                    else:
                        for j in range(j1 - j0):
                            cf[dst + j0 + j] = xf[src + j * sw]


@nb.njit(cache=True, parallel=True)
def _scatter(dcols, dx, sh, sw, dh, dw, pt, pl):
    n, c, h, w = dx.shape
    kh, kw, oh, ow = dcols.shape[2:]
    df, xf = dcols.reshape(-1), dx.reshape(-1)
    for p in nb.prange(n * c):
        for k in range(p * h * w, (p + 1) * h * w):
            xf[k] = 0
        for u in range(kh):
            i0, i1 = _valid(u, sh, dh, pt, h, oh)
            for v in range(kw):
                j0, j1 = _valid(v, sw, dw, pl, w, ow)
                base = ((p * kh + u) * kw + v) * oh * ow
                for i in range(i0, i1):
                    src = base + i * ow + j0
                    dst = (p * h + i * sh + u * dh - pt) * w + j0 * sw + v * dw - pl
                    if sw == 1:
                        for j in range(j1 - j0):
                            xf[dst + j] += df[src + j]
                    else:
                        for j in range(j1 - j0):
                            xf[dst + j * sw] += df[src + j]


def gather_windows(x, kernel, stride, dilation, pads, out_size, out=None):
    """The twin of ops.conv.gather_windows: x (N, C, H, W), pads ((PT, PB), (PL, PR))
    -> cols (N, C, KH, KW, OH, OW), written into ``out`` when given."""
    n, c = x.shape[:2]
    cols = np.empty((n, c, *kernel, *out_size), dtype=x.dtype) if out is None else out
    _gather(np.ascontiguousarray(x), cols, *stride, *dilation, pads[0][0], pads[1][0])
    return cols


def scatter_windows(dcols, stride, dilation, pads, size, out=None):
    """The twin of ops.conv.scatter_windows: dcols (N, C, KH, KW, OH, OW) -> dx (N, C, *size),
    written into ``out`` when given (every element is overwritten)."""
    n, c = dcols.shape[:2]
    dx = np.empty((n, c, *size), dtype=dcols.dtype) if out is None else out
    _scatter(np.ascontiguousarray(dcols), dx, *stride, *dilation, pads[0][0], pads[1][0])
    return dx
