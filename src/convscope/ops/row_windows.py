"""Convolution with stride 1 across, by row windows: the input copied KH times, not KH*KW.

A window's KW columns lie side by side in the padded input's rows, so only its KH rows are
gathered, and the KW kernel columns become KW shifted sums of one GEMM's output:

    R[n,c,u,i,j'] = xpad[n, c, i*SH + u*DH, j']           (N, C, KH, OH, WP)  rows of windows
    Z[n,v,f,i,j'] = sum_{c,u} w[f,c,u,v] R[n,c,u,i,j']      (KW*F) x (C*KH) times (C*KH) x (OH*WP)
    y[n,f,i,j]    = sum_v Z[n,v,f,i,j + v*DW]               KW shifted adds, j < OW

Backward is the adjoint of each step:

    dZ[n,v,f,i,j'] = dy[n,f,i,j' - v*DW]  (0 where j' - v*DW is not an output column)
    dW = sum_n dZ R^T,   dR = W^T dZ,   dx = the KH row blocks of dR added back, cropped

Per group g the GEMMs take channels g*Cg.. and filters g*Fg.. (batched matmul). The GEMM
computes WP columns per output row where the windows path computes OW (WP/OW more
multiplies) and copies KH instead of KH*KW times the input; ops.conv's ``row_rule`` says
where that wins. Everything runs a chunk of the batch at a time, the chunk's Z (and dZ)
about CHUNK_BYTES, so that they are summed while in cache; without a backward to come
(ops.cache_need) the rows are gathered a chunk at a time too and not kept.

Zeros in dZ meet x's entries that no output used, and zeros around x's rows meet w in dR:
0 * inf is nan where the windows path has no such term, so dW needs a finite x and dx a
finite w; ops.conv takes the windows path otherwise.
"""

from typing import NamedTuple

import numpy as np

from .buffers import samples_per_chunk, scratch, zero_padded
from .cache_need import cache_needed

CHUNK_BYTES = 1 << 20

# Which layers win, per output row of one sample, in copied elements: the rows path copies
# Cg*KH*(KW-1)*OW fewer, and spends about half an element per Z element on the shifted
# sums (KW*Fg*WP) and 1/56 per extra multiply-add (Fg*Cg*KH*KW*(WP-OW); 56: OpenBLAS's
# multiply-adds per copied element here). Measured per call (float32, one thread, NumPy
# path, forward / forward + backward, the windows path's in brackets): taken: LeNet conv2
# (64, 6 -> 16, 5x5, 14x14) 0.62 / 2.37 ms (0.79 / 3.45); VGG (32, 64 -> 64, 3x3, 32x32)
# 19.8 / 70 (27 / 100); ResNet (8, 64 -> 64, 56x56) 14.1 / 48 (18.7 / 71); dilated 2 (16,
# 32 -> 32, 32x32) 3.7 / 12.1 (4.5 / 15.9); 4 groups (16, 64 -> 64) 4.8 / 15.9 (8.5 / 27);
# depthwise (16, 64, 32x32) 2.8 / 8.6 (4.5 / 18.6); 5x5 (16, 32 -> 64, 28x28) 11.2 / 38 (11.6
# / 48). Left to windows, the rows' time in brackets: conv1 (64, 1 -> 6, 5x5, pad 2, 28x28)
# 0.57 / 2.3 (0.75 / 2.3), its contraction Cg*KH = 5 too short for the GEMM; (32, 3 -> 32,
# 5x5, 32x32) 2.2 / 8.3 (3.4 / 12); (32, 64 -> 128, 3x3, 8x8) 3.1 / 10.1 (3.2 / 10.5); 1-D
# (32, 4 -> 16, 7, 1000) 0.48 / 1.7 (1.3 / 2.8).
SHIFT_COST = 0.5
MULTIPLY_COST = 1 / 56
MIN_CONTRACTION = 8  # Cg*KH, depthwise layers (Cg = Fg = 1) aside


def applies(geom):
    """True when the rows path computes this conv: stride 1 across."""
    return geom.stride[1] == 1


def rule(geom):
    """True when the rows path is expected to beat the windows path (measured above)."""
    if not applies(geom) or geom.kernel[1] < 2:
        return False
    g, (kh, kw), ow = geom.groups, geom.kernel, geom.out_size[1]
    cg, fg = geom.in_channels // g, geom.out_channels // g
    wp = geom.in_size[1] + sum(geom.pads[1])
    saved = cg * kh * (kw - 1) * ow
    cost = SHIFT_COST * kw * fg * wp + MULTIPLY_COST * fg * cg * kh * kw * (wp - ow)
    return (cg * kh >= MIN_CONTRACTION or cg == fg == 1) and saved > cost


class RowsCache(NamedTuple):
    x: np.ndarray  # the input (the windows path's backward needs it when x or w is not finite)
    rows: np.ndarray  # R (N, C, KH, OH, WP)
    w: np.ndarray
    geom: object  # the ConvGeometry
    dtypes: tuple  # the inputs' dtypes (x, w, b)


def _rows_view(xpad, geom):
    """R as a strided view of the padded input: (N, C, KH, OH, WP)."""
    n, c, _, wp = xpad.shape
    s_n, s_c, s_h, s_w = xpad.strides
    (sh, _), (dh, _) = geom.stride, geom.dilation
    return np.lib.stride_tricks.as_strided(
        xpad, (n, c, geom.kernel[0], geom.out_size[0], wp), (s_n, s_c, s_h * dh, s_h * sh, s_w)
    )


def _weight_rows(w, groups):
    """w (F, Cg, KH, KW) -> Wm (G, KW*Fg, Cg*KH): Wm[g, v*Fg + f, c*KH + u] = w[g*Fg+f, c, u, v]."""
    f, cg, kh, kw = w.shape
    wm = w.reshape(groups, f // groups, cg, kh, kw).transpose(0, 4, 1, 2, 3)
    return np.ascontiguousarray(wm).reshape(groups, kw * (f // groups), cg * kh)


def _step(n, per_sample):
    """Samples per chunk: about CHUNK_BYTES of per_sample bytes, at least one."""
    return min(n, samples_per_chunk(per_sample, CHUNK_BYTES))


def forward(x, w, b, geom, dtypes):
    """(y, RowsCache) of a conv with stride 1 across; x and w already in one dtype. Without
    a backward to come (ops.cache_need) the cache keeps no rows."""
    n, c, wp = x.shape[0], x.shape[1], x.shape[3] + sum(geom.pads[1])
    g, f, kh, kw = geom.groups, w.shape[0], geom.kernel[0], geom.kernel[1]
    (oh, ow), dw = geom.out_size, geom.dilation[1]
    rows_view = _rows_view(zero_padded(x, geom.pads), geom)
    keep = cache_needed()
    rows = _copied(rows_view) if keep else None
    wm = _weight_rows(w, g)
    y = np.empty((n, f, oh, ow), dtype=x.dtype)
    step = _step(n, kw * f * oh * wp * x.itemsize)
    z_buf = scratch((step, g, kw * (f // g), oh * wp), x.dtype)
    acc_buf = scratch((step, (f // g) * oh * wp), x.dtype) if g == 1 else None  # _shifted_sum
    r_buf = None if keep else scratch((step, *rows_view.shape[1:]), x.dtype)
    for n0 in range(0, n, step):  # chunks of the batch sized to the cache, not single items
        m = min(step, n - n0)
        if keep:
            r = rows[n0 : n0 + m]
        else:
            r = r_buf[:m]
            r[...] = rows_view[n0 : n0 + m]
        z = np.matmul(wm, r.reshape(m, g, (c // g) * kh, oh * wp), out=z_buf[:m])
        yc = y[n0 : n0 + m].reshape(m, g, f // g, oh, ow)
        _shifted_sum(yc, z.reshape(m, g, kw, f // g, oh, wp), dw, acc_buf)
    if b is not None:
        y += b.astype(x.dtype, copy=False)[:, None, None]
    return y, RowsCache(x, rows, w, geom, dtypes)


def _copied(view):
    """A contiguous copy of a strided view, in a reused buffer (ops.buffers)."""
    out = scratch(view.shape, view.dtype)
    out[...] = view
    return out


def backward(dy, cache, needs):
    """(dx, dw) in the common dtype (None where not needed) of a forward that kept its rows;
    the caller checks the finiteness rules above."""
    x, rows, w, geom = cache[:4]
    if rows is None:
        rows = _copied(_rows_view(zero_padded(x, geom.pads), geom))
    n, c, h, wd = x.shape
    g, f, kh, kw = geom.groups, w.shape[0], geom.kernel[0], geom.kernel[1]
    (oh, ow), (_, dw), wp = geom.out_size, geom.dilation, rows.shape[4]
    fg, k = f // g, (c // g) * kh
    dy = dy.astype(w.dtype, copy=False)
    wm = _weight_rows(w, g)
    step = _step(n, kw * f * oh * wp * w.itemsize)
    dz_buf = scratch((step, g, kw, fg, oh, wp), w.dtype)
    grad_w = np.zeros((g, kw * fg, k), dtype=w.dtype) if needs[1] else None
    dxpad = None
    if needs[0]:
        (pt, pb), (pl, pr) = geom.pads
        if pt or pb or pl or pr:  # a reused buffer, cropped into a fresh dx below
            dxpad = scratch((n, c, h + pt + pb, wd + pl + pr), w.dtype)
            dxpad.fill(0)
        else:  # dx itself
            dxpad = np.zeros((n, c, h, wd), dtype=w.dtype)
        dr_buf = scratch((step, g, k, oh * wp), w.dtype)
    for n0 in range(0, n, step):
        m = min(step, n - n0)
        dz = dz_buf[:m]
        _shifted_copies(dz, dy[n0 : n0 + m].reshape(m, g, fg, oh, ow), dw)
        dzm = dz.reshape(m, g, kw * fg, oh * wp)
        if needs[1]:
            r = rows[n0 : n0 + m].reshape(m, g, k, oh * wp)
            grad_w += np.matmul(dzm, r.transpose(0, 1, 3, 2)).sum(axis=0)
        if needs[0]:
            dr = np.matmul(wm.transpose(0, 2, 1), dzm, out=dr_buf[:m])
            _add_rows(dxpad[n0 : n0 + m], dr.reshape(m, c, kh, oh, wp), geom)
    dx = grad_w_out = None
    if needs[0]:
        (pt, pb), (pl, pr) = geom.pads
        dx = dxpad[:, :, pt : pt + h, pl : pl + wd]
        if pt or pb or pl or pr:
            dx = dx.copy()
    if needs[1]:
        grad_w_out = grad_w.reshape(g, kw, fg, c // g, kh).transpose(0, 2, 3, 4, 1)
        grad_w_out = grad_w_out.reshape(f, c // g, kh, kw)
    return dx, grad_w_out


def _shifted_sum(y, z, dw, acc):
    """y[:, :, f, i, j] = sum_v z[:, :, v, f, i, j + v*DW]: z (m, G, KW, Fg, OH, WP) -> y (m, G,
    Fg, OH, OW). With one group the sums run over each block flat, (Fg*OH*WP) long, into the
    first m rows of acc (>= m, Fg*OH*WP), and the columns past OW (they mix a row with the next) are cropped: LeNet
    conv2's chunk 89 -> 54 us, VGG's 47 -> 27 against a sum per row of OW; with groups the
    blocks are G rows of an array and NumPy runs them slower than per row (depthwise (64
    groups, 32x32) 50 -> 80 us), so they keep the sums per row."""
    m, g, kw, fg, oh, wp = z.shape
    ow = y.shape[4]
    if g > 1 or kw == 1:
        np.copyto(y, z[:, :, 0, :, :, :ow])
        for v in range(1, kw):
            y += z[:, :, v, :, :, v * dw : v * dw + ow]
        return
    flat, acc = z.reshape(m, kw, fg * oh * wp), acc[:m]
    length = flat.shape[2]
    np.add(flat[:, 0, : length - dw], flat[:, 1, dw:], out=acc[:, : length - dw])
    for v in range(2, kw):
        acc[:, : length - v * dw] += flat[:, v, v * dw :]
    np.copyto(y, acc.reshape(m, 1, fg, oh, wp)[..., :ow])


def _shifted_copies(dz, dy, dw):
    """dz[:, :, v, f, i, j + v*DW] = dy[:, :, f, i, j], 0 elsewhere (the adjoint of
    _shifted_sum and the crop): dy laid once on rows WP wide, zeros past OW, then KW flat
    shifted copies of it (a shift of v*DW <= WP - OW moves only those zeros into the next
    row): LeNet conv2's chunk 148 -> 67 us, depthwise 51 -> 42 against three copies per row.
    dz (m, G, KW, Fg, OH, WP), dy (m, G, Fg, OH, OW)."""
    m, g, kw, fg, oh, wp = dz.shape
    ow = dy.shape[4]
    wide = dz[:, :, 0]
    wide[..., ow:] = 0
    wide[..., :ow] = dy
    flat = dz.reshape(m, g, kw, fg * oh * wp)
    for v in range(kw - 1, 0, -1):
        shift = v * dw
        flat[:, :, v, :shift] = 0
        flat[:, :, v, shift:] = flat[:, :, 0, :-shift]


def _add_rows(dxpad, dr, geom):
    """dxpad[n, c, i*SH + u*DH, :] += dr[n, c, u, i, :]: the adjoint of the row gather."""
    (sh, _), (dh, _), oh = geom.stride, geom.dilation, geom.out_size[0]
    for u in range(dr.shape[2]):
        top = u * dh
        dxpad[:, :, top : top + sh * (oh - 1) + 1 : sh] += dr[:, :, u]
