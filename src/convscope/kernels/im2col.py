"""Window scatter (col2im), the adjoint of conv's window gather, compiled with Numba.

    dx[n, c, i*SH + u*DH - PT, j*SW + v*DW - PL] += dcols[n, c, u, v, i, j]

dx is the unpadded input gradient (N, C, H, W), PT/PL the top/left paddings; sums that
land in the padding are dropped. One (n, c) plane at a time: zeroing, the KH*KW adds
and the crop happen in one pass over a plane that stays in cache, where NumPy needs a
padded buffer, KH*KW passes over all of it and a copy to crop it. The valid column range
of each kernel offset is computed once, so the inner loop is a plain add.

The gather itself stays in NumPy: its strided copies run at memory speed, and a compiled
gather (rows of OW elements) measured 1.5-4x slower on the benchmark shapes.
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


@nb.njit(cache=True)
def _scatter(dcols, dx, sh, sw, dh, dw, pt, pl):
    n, c, h, w = dx.shape
    kh, kw, oh, ow = dcols.shape[2:]
    df, xf = dcols.reshape(-1), dx.reshape(-1)
    for p in range(n * c):
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
                    frm = df[src : src + j1 - j0]  # slices indexed from 0: no negative-index
                    to = xf[dst : dst + (j1 - j0 - 1) * sw + 1]  # wraparound, so LLVM vectorises
                    if sw == 1:
                        for j in range(j1 - j0):
                            to[j] += frm[j]
                    else:
                        for j in range(j1 - j0):
                            to[j * sw] += frm[j]


@nb.njit(cache=True)
def _scatter_stride2(dcols, dx, sh, dh, dw, pt, pl):
    """_scatter with stride 2 across. A kernel column v's adds land on one phase of a row (its
    even or its odd columns: column 2*j + v*DW - PL is phase q = (v*DW - PL) mod 2, index j +
    (v*DW - PL - q) / 2 there), so they go to two half-width planes as contiguous adds (where
    adds at a stride of 2 ran scalar), interleaved into dx once per plane. The same adds in the
    same order as _scatter: the same sums."""
    n, c, h, w = dx.shape
    kh, kw, oh, ow = dcols.shape[2:]
    half = (w + 1) // 2
    phases = np.empty((2, h, half), dtype=dx.dtype)
    df, xf = dcols.reshape(-1), dx.reshape(-1)
    for p in range(n * c):
        phases[:] = 0
        for u in range(kh):
            i0, i1 = _valid(u, sh, dh, pt, h, oh)
            for v in range(kw):
                j0, j1 = _valid(v, 2, dw, pl, w, ow)
                off = v * dw - pl
                q = off % 2
                shift = (off - q) // 2
                base = ((p * kh + u) * kw + v) * oh * ow
                for i in range(i0, i1):
                    to = phases[q, i * sh + u * dh - pt, j0 + shift : j1 + shift]
                    frm = df[base + i * ow + j0 : base + i * ow + j1]
                    for j in range(j1 - j0):
                        to[j] += frm[j]
        for r in range(h):
            even, odd = phases[0, r], phases[1, r]
            row = xf[(p * h + r) * w : (p * h + r + 1) * w]
            for m in range(w // 2):
                row[2 * m] = even[m]
                row[2 * m + 1] = odd[m]
            if w % 2:
                row[w - 1] = even[half - 1]


def scatter_windows(dcols, stride, dilation, pads, size, out=None):
    """The twin of ops.conv.scatter_windows: dcols (N, C, KH, KW, OH, OW) -> dx (N, C, *size),
    written into ``out`` when given (every element is overwritten)."""
    n, c = dcols.shape[:2]
    dx = np.empty((n, c, *size), dtype=dcols.dtype) if out is None else out
    dcols = np.ascontiguousarray(dcols)
    (sh, sw), (dh, dw), (pt, pl) = stride, dilation, (pads[0][0], pads[1][0])
    if sw == 2:
        _scatter_stride2(dcols, dx, sh, dh, dw, pt, pl)
    else:
        _scatter(dcols, dx, sh, sw, dh, dw, pt, pl)
    return dx
