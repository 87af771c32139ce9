"""Direct 2-D convolution for layers with few channels (one group, stride 1), compiled with Numba.

    y[n,f,i,j]  = b[f] + sum_{c,u,v} w[f,c,u,v] xp[n, c, i + u*DH, j + v*DW]
    dw[f,c,u,v] = sum_{n,i,j} dy[n,f,i,j] xp[n, c, i + u*DH, j + v*DW]

xp is the zero-padded input. No window copy: the padded input is packed so that one channel
of the whole batch is one flat run of HP*WP*N values, either sample-major (C, HP, N, WP):
each grid row holds that row of every sample side by side, or batch-minor (C, HP, WP, N):
the samples innermost (``pack``; ops.direct picks). One kernel offset (u, v) is then that
run shifted by u*DH*WP*N + v*DW*js (js = 1 or N, the step from one column to the next), and
the sum over offsets a run of long ``acc += w * shifted_run`` loops that LLVM vectorises.
Only the first OH rows are computed. Sample-major also computes the positions that are no
output (columns j >= OW of each sample's segment) and drops them (29% of LeNet conv2's
forward); batch-minor computes only the OW columns of a row, at the price of writing y
from strided accumulators (``_runs``). The dropped sums read only other positions of x:
NaN and inf in them never reach y. Register tiling: four output channels share every load
of the input (a last pair of them two), and up to five kernel columns v are summed in one
pass (fewer loads and stores of the accumulators per multiply). The runs are whole rows
that stay in L1.

dX of a stride-1 conv is this forward on dy laid on the padded input's grid (``spread``)
with the flipped, transposed kernel: the full correlation, read at non-negative offsets
from a front of zeros. dW sums products of the same shifted rows with dy on that grid (zeros
at the dropped positions); a non-finite x would turn those zeros into NaN, so ops.direct
takes dW this way only when x is finite, and dX only when w is. No fastmath except FMA
contraction in the forward; dW also reassociates its sums (vectorised reductions; partial
sums of at most _CHUNK terms keep float32's error at 1-3e-7), NaN/inf semantics kept.
"""

import numba as nb
import numpy as np

_CHUNK = 1024  # flat positions per run: 4 accumulator rows + inputs fit in L1
_SKEW = 24  # accumulator rows apart by a length that is no multiple of 1 KB (4K aliasing)


@nb.njit(inline="always")
def _runs(oh, ow, n, wp, js, limit):
    """How a kernel walks a plane in flat runs of about ``limit`` elements: (rows per run KR,
    pieces per row, piece width, its step, the number of runs). ``_run`` gives run r.

    Sample-major (js = 1, also one sample): KR = limit // (WP*N) whole rows at a time (each
    sample's columns j >= OW computed and dropped), a longer row in pieces of whole samples.
    Batch-minor (js = N > 1): as many whole rows, the last cut after its OW outputs (the rows
    before it compute the columns j >= OW too, and drop them), a longer row in pieces of
    whole columns."""
    row = wp * n
    kr = max(1, limit // row)
    if js == 1:
        per, across, step = (n if row <= limit else max(1, limit // wp)), n, wp
    else:
        per, across, step = (ow if row <= limit else max(1, limit // n)), ow, n
    pieces = (across + per - 1) // per
    return kr, pieces, per, step, ((oh + kr - 1) // kr) * pieces


@nb.njit(inline="always")
def _run(r, oh, ow, n, wp, js, kr_max, pieces, per, step):
    """Run r of ``_runs``: (start, length, first output row, rows, output columns [j0, j1),
    samples [n0, n1)). Computed, not looked up: LLVM then optimises the loops around it."""
    i0, a0 = (r // pieces) * kr_max, (r % pieces) * per
    kr = min(kr_max, oh - i0)
    if js == 1:
        a1 = min(a0 + per, n)
        j0, j1, n0, n1 = 0, ow, a0, a1
    else:
        a1 = min(a0 + per, ow)
        j0, j1, n0, n1 = a0, a1, 0, n
    return i0 * wp * n + a0 * step, (kr - 1) * wp * n + (a1 - a0) * step, i0, kr, j0, j1, n0, n1


@nb.njit(inline="always", fastmath={"contract"})
def _pair_pass(a0, a1, xc, o, dw, m, wq, v, kw):
    """Two filters' accumulators += their weights at kernel columns v..v+4 (or v alone, when
    fewer than five are left) times the shifted rows from o; returns the columns done."""
    if v + 4 < kw:
        x0, x1, x2 = xc[o : o + m], xc[o + dw : o + dw + m], xc[o + 2 * dw : o + 2 * dw + m]
        x3, x4 = xc[o + 3 * dw : o + 3 * dw + m], xc[o + 4 * dw : o + 4 * dw + m]
        p0, q0, r0, s0, e0 = wq[0, v], wq[0, v + 1], wq[0, v + 2], wq[0, v + 3], wq[0, v + 4]
        p1, q1, r1, s1, e1 = wq[1, v], wq[1, v + 1], wq[1, v + 2], wq[1, v + 3], wq[1, v + 4]
        for t in range(m):
            va, vb, vc, vd, ve = x0[t], x1[t], x2[t], x3[t], x4[t]
            a0[t] += p0 * va + q0 * vb + r0 * vc + s0 * vd + e0 * ve
            a1[t] += p1 * va + q1 * vb + r1 * vc + s1 * vd + e1 * ve
        return 5
    x0, p0, p1 = xc[o : o + m], wq[0, v], wq[1, v]
    for t in range(m):
        a0[t] += p0 * x0[t]
        a1[t] += p1 * x0[t]
    return 1


@nb.njit(cache=True, fastmath={"contract"})
def _forward(xc, w, b, y, hp, wp, js, dh, dw, lo, hi):
    n, f, oh, ow = y.shape
    c, kh, kw = w.shape[1:]
    row = wp * n  # one row of the grid: WP columns of N samples
    plane = hp * row  # one channel
    cs = dw * js  # one kernel column further
    # runs of whole rows (longer than _CHUNK where a row is: measured faster, LeNet conv1)
    kr_max, pieces, per, step, count = _runs(oh, ow, n, wp, js, max(_CHUNK, row))
    acc = np.empty((4, (kr_max - 1) * row + per * step + _SKEW), dtype=y.dtype)
    a0, a1, a2, a3 = acc[0], acc[1], acc[2], acc[3]
    wq = np.empty((4, kw), dtype=y.dtype)
    for f0 in range(0, f, 4):
        nf = min(4, f - f0)
        for r in range(count):
            t0, m, i0, kr, j0, j1, n0, n1 = _run(r, oh, ow, n, wp, js, kr_max, pieces, per, step)
            for g in range(4):
                bv = b[f0 + min(g, nf - 1)]
                for t in range(m):
                    acc[g, t] = bv
            for ci in range(c):
                for u in range(kh):
                    span = t0 + u * dh * row  # what the passes of this row read, in a plane
                    if span + m + (kw - 1) * cs <= lo or span >= hi:
                        continue  # only zeros there (dX: the rows around dy)
                    for g in range(4):
                        for v in range(kw):
                            wq[g, v] = w[f0 + min(g, nf - 1), ci, u, v]
                    base = ci * plane + span
                    v = 0
                    while v < kw:
                        o = base + v * cs
                        if nf <= 2:  # a last pair (LeNet's 6 filters: 4 + 2, not 4 + 4)
                            v += _pair_pass(a0, a1, xc, o, cs, m, wq, v, kw)
                        elif v + 4 < kw:
                            x0, x1 = xc[o : o + m], xc[o + cs : o + cs + m]
                            x2, x3 = (
                                xc[o + 2 * cs : o + 2 * cs + m],
                                xc[o + 3 * cs : o + 3 * cs + m],
                            )
                            x4 = xc[o + 4 * cs : o + 4 * cs + m]
                            p0, q0, r0, s0, e0 = (
                                wq[0, v],
                                wq[0, v + 1],
                                wq[0, v + 2],
                                wq[0, v + 3],
                                wq[0, v + 4],
                            )
                            p1, q1, r1, s1, e1 = (
                                wq[1, v],
                                wq[1, v + 1],
                                wq[1, v + 2],
                                wq[1, v + 3],
                                wq[1, v + 4],
                            )
                            p2, q2, r2, s2, e2 = (
                                wq[2, v],
                                wq[2, v + 1],
                                wq[2, v + 2],
                                wq[2, v + 3],
                                wq[2, v + 4],
                            )
                            p3, q3, r3, s3, e3 = (
                                wq[3, v],
                                wq[3, v + 1],
                                wq[3, v + 2],
                                wq[3, v + 3],
                                wq[3, v + 4],
                            )
                            for t in range(m):
                                va, vb, vc, vd, ve = x0[t], x1[t], x2[t], x3[t], x4[t]
                                a0[t] += p0 * va + q0 * vb + r0 * vc + s0 * vd + e0 * ve
                                a1[t] += p1 * va + q1 * vb + r1 * vc + s1 * vd + e1 * ve
                                a2[t] += p2 * va + q2 * vb + r2 * vc + s2 * vd + e2 * ve
                                a3[t] += p3 * va + q3 * vb + r3 * vc + s3 * vd + e3 * ve
                            v += 5
                        elif v + 2 < kw:
                            x0, x1 = xc[o : o + m], xc[o + cs : o + cs + m]
                            x2 = xc[o + 2 * cs : o + 2 * cs + m]
                            p0, q0, r0 = wq[0, v], wq[0, v + 1], wq[0, v + 2]
                            p1, q1, r1 = wq[1, v], wq[1, v + 1], wq[1, v + 2]
                            p2, q2, r2 = wq[2, v], wq[2, v + 1], wq[2, v + 2]
                            p3, q3, r3 = wq[3, v], wq[3, v + 1], wq[3, v + 2]
                            for t in range(m):
                                va, vb, vc = x0[t], x1[t], x2[t]
                                a0[t] += p0 * va + q0 * vb + r0 * vc
                                a1[t] += p1 * va + q1 * vb + r1 * vc
                                a2[t] += p2 * va + q2 * vb + r2 * vc
                                a3[t] += p3 * va + q3 * vb + r3 * vc
                            v += 3
                        else:
                            x0 = xc[o : o + m]
                            p0, p1, p2, p3 = wq[0, v], wq[1, v], wq[2, v], wq[3, v]
                            for t in range(m):
                                va = x0[t]
                                a0[t] += p0 * va
                                a1[t] += p1 * va
                                a2[t] += p2 * va
                                a3[t] += p3 * va
                            v += 1
            for g in range(nf):  # rows of y written in order
                for k in range(kr):
                    if js == 1:  # sample-major: a copy per row of a sample
                        for sn in range(n0, n1):
                            at = k * row + (sn - n0) * wp
                            to, frm = y[sn, f0 + g, i0 + k], acc[g, at : at + ow]
                            for j in range(ow):  # slices from 0: a vectorised copy
                                to[j] = frm[j]
                    else:  # batch-minor: strided reads (from L1)
                        for sn in range(n):
                            at = k * row + sn
                            to = y[sn, f0 + g, i0 + k, j0:j1]
                            frm = acc[g, at : at + (j1 - j0 - 1) * n + 1 : n]
                            for j in range(j1 - j0):  # from 0: no wraparound check
                                to[j] = frm[j]


@nb.njit(cache=True, fastmath={"contract", "reassoc"})
def _grad_weight(xc, dyc, out, hp, wp, js, dh, dw, n, oh):
    """out[f,c,u,v] = sum_t dyc[f*P + t] xc[c*P + t + u*DH*WP*N + v*DW*js] over the positions t
    of dy's OH rows (``_runs``; P: one channel of the grid, dy 0 at its columns j >= OW)."""
    f, c, kh, kw = out.shape
    row = wp * n
    plane = hp * row
    total = oh * row
    cs = dw * js
    ow = wp - (kw - 1) * dw
    kr_max, pieces, per, step, count = _runs(oh, ow, n, wp, js, _CHUNK)
    zero = np.zeros(1, dtype=out.dtype)
    for f0 in range(0, f, 4):
        nf = min(4, f - f0)
        g0, g1, g2, g3 = f0, f0 + min(1, nf - 1), f0 + min(2, nf - 1), f0 + min(3, nf - 1)
        d0 = dyc[g0 * plane : g0 * plane + total]
        d1 = dyc[g1 * plane : g1 * plane + total]
        d2 = dyc[g2 * plane : g2 * plane + total]
        d3 = dyc[g3 * plane : g3 * plane + total]
        for ci in range(c):
            for u in range(kh):
                base = ci * plane + u * dh * row
                v = 0
                while v < kw:
                    o = base + v * cs
                    if v + 4 < kw:
                        for r in range(count):  # short partial sums (float32)
                            t0, m = _run(r, oh, ow, n, wp, js, kr_max, pieces, per, step)[:2]
                            b0 = o + t0
                            y0, y1 = xc[b0 : b0 + m], xc[b0 + cs : b0 + cs + m]
                            y2, y3 = (
                                xc[b0 + 2 * cs : b0 + 2 * cs + m],
                                xc[b0 + 3 * cs : b0 + 3 * cs + m],
                            )
                            y4 = xc[b0 + 4 * cs : b0 + 4 * cs + m]
                            c0, c1 = d0[t0 : t0 + m], d1[t0 : t0 + m]
                            c2, c3 = d2[t0 : t0 + m], d3[t0 : t0 + m]
                            z = zero[0]
                            p0 = q0 = r0 = s0 = k0 = p1 = q1 = r1 = s1 = k1 = z
                            p2 = q2 = r2 = s2 = k2 = p3 = q3 = r3 = s3 = k3 = z
                            for t in range(m):
                                va, vb, vc, vd, ve = y0[t], y1[t], y2[t], y3[t], y4[t]
                                e0, e1, e2, e3 = c0[t], c1[t], c2[t], c3[t]
                                p0 += e0 * va
                                q0 += e0 * vb
                                r0 += e0 * vc
                                s0 += e0 * vd
                                k0 += e0 * ve
                                p1 += e1 * va
                                q1 += e1 * vb
                                r1 += e1 * vc
                                s1 += e1 * vd
                                k1 += e1 * ve
                                p2 += e2 * va
                                q2 += e2 * vb
                                r2 += e2 * vc
                                s2 += e2 * vd
                                k2 += e2 * ve
                                p3 += e3 * va
                                q3 += e3 * vb
                                r3 += e3 * vc
                                s3 += e3 * vd
                                k3 += e3 * ve
                            sums = (
                                (p0, q0, r0, s0, k0),
                                (p1, q1, r1, s1, k1),
                                (p2, q2, r2, s2, k2),
                                (p3, q3, r3, s3, k3),
                            )
                            for g in range(nf):
                                for e in range(5):
                                    out[f0 + g, ci, u, v + e] += sums[g][e]
                        v += 5
                    elif v + 2 < kw:
                        x0, x1 = xc[o : o + total], xc[o + cs : o + cs + total]
                        x2 = xc[o + 2 * cs : o + 2 * cs + total]
                        for r in range(count):  # short partial sums (float32)
                            z = zero[0]
                            p0 = q0 = r0 = p1 = q1 = r1 = p2 = q2 = r2 = p3 = q3 = r3 = z
                            t0, m = _run(r, oh, ow, n, wp, js, kr_max, pieces, per, step)[:2]
                            y0, y1, y2 = x0[t0 : t0 + m], x1[t0 : t0 + m], x2[t0 : t0 + m]
                            c0, c1 = d0[t0 : t0 + m], d1[t0 : t0 + m]
                            c2, c3 = d2[t0 : t0 + m], d3[t0 : t0 + m]
                            for t in range(m):
                                va, vb, vc = y0[t], y1[t], y2[t]
                                e0, e1, e2, e3 = c0[t], c1[t], c2[t], c3[t]
                                p0 += e0 * va
                                q0 += e0 * vb
                                r0 += e0 * vc
                                p1 += e1 * va
                                q1 += e1 * vb
                                r1 += e1 * vc
                                p2 += e2 * va
                                q2 += e2 * vb
                                r2 += e2 * vc
                                p3 += e3 * va
                                q3 += e3 * vb
                                r3 += e3 * vc
                            sums = ((p0, q0, r0), (p1, q1, r1), (p2, q2, r2), (p3, q3, r3))
                            for g in range(nf):
                                out[f0 + g, ci, u, v] += sums[g][0]
                                out[f0 + g, ci, u, v + 1] += sums[g][1]
                                out[f0 + g, ci, u, v + 2] += sums[g][2]
                        v += 3
                    else:
                        x0 = xc[o : o + total]
                        for r in range(count):
                            z = zero[0]
                            p0 = p1 = p2 = p3 = z
                            t0, m = _run(r, oh, ow, n, wp, js, kr_max, pieces, per, step)[:2]
                            y0 = x0[t0 : t0 + m]
                            c0, c1 = d0[t0 : t0 + m], d1[t0 : t0 + m]
                            c2, c3 = d2[t0 : t0 + m], d3[t0 : t0 + m]
                            for t in range(m):
                                va = y0[t]
                                p0 += c0[t] * va
                                p1 += c1[t] * va
                                p2 += c2[t] * va
                                p3 += c3[t] * va
                            sums1 = (p0, p1, p2, p3)
                            for g in range(nf):
                                out[f0 + g, ci, u, v] += sums1[g]
                        v += 1


def _lay_out(x, pt, pl, hp, wp, js, front, out):
    """x[n, c, i, j] at out[front + (c*HP + PT + i)*WP*N + (PL + j)*js + n*(WP if js == 1 else 1)];
    every other element 0. NumPy: one strided copy of x into the (C, HP, N, WP) grid (js = 1)
    or the (C, HP, WP, N) grid (js = N), after zeroing the whole of ``out`` when the zeros are
    a quarter of it or more, or it is small, else its front, tail and borders (2-3x faster than
    a compiled element loop over rows of 10-28 values; one fill against six strided ones:
    LeNet conv1's pack at batch 1 11.6 -> 4.5 us, at batch 64 47 -> 29)."""
    n, c, h, w = x.shape
    body = c * hp * wp * n
    if js == 1:  # (C, HP, N, WP): rows of (C, HP, WP, N) with the last two axes swapped
        grid = out[front : front + body].reshape(c, hp, n, wp).transpose(0, 1, 3, 2)
    else:
        grid = out[front : front + body].reshape(c, hp, wp, n)
    if 4 * (out.size - x.size) >= out.size or out.size <= SMALL_LAYOUT:
        out.fill(0)
    else:
        out[:front] = 0
        out[front + body :] = 0
        grid[:, :pt] = 0
        grid[:, pt + h :] = 0
        grid[:, pt : pt + h, :pl] = 0
        grid[:, pt : pt + h, pl + w :] = 0
    grid[:, pt : pt + h, pl : pl + w] = x.transpose(1, 2, 3, 0)


SMALL_LAYOUT = 1 << 14  # elements: below, one fill costs less than six slice assignments


def packed_size(shape, pads, reach):
    """The length of ``pack``'s flat array for an input of this shape (either layout)."""
    n, c, h, w = shape
    hp, wp = h + pads[0][0] + pads[0][1], w + pads[1][0] + pads[1][1]
    return (c * hp * wp + reach[0] * wp + reach[1] + 1) * n


def pack(x, pads, reach, out=None, batch_minor=False):
    """x (N, C, H, W) zero-padded by pads ((PT, PB), (PL, PR)), laid out flat as (C, HP, N, WP)
    (each grid row holds that row of every sample side by side) or, batch_minor, as
    (C, HP, WP, N), with a tail of zeros that the last shifted rows read: (flat array, HP, WP,
    js), js = 1 or N the step from one column to the next. ``out``: a flat array of
    ``packed_size`` to write into (a reused buffer: a fresh one costs page faults)."""
    n, c, h, w = x.shape
    (pt, pb), (pl, pr) = pads
    hp, wp, js = h + pt + pb, w + pl + pr, (n if batch_minor else 1)
    if out is None:
        out = np.empty(packed_size(x.shape, pads, reach), dtype=x.dtype)
    _lay_out(x, pt, pl, hp, wp, js, 0, out)
    return out, hp, wp, js


def spread_size(dy_shape, packed, pads, reach):
    """The length of ``spread``'s flat array, and its front."""
    _, hp, wp, js = packed
    n, f = dy_shape[:2]
    row = wp * n
    front = max((reach[0] - pads[0][0]) * row + (reach[1] - pads[1][0]) * js, 0)  # 0: no dX
    return front + f * hp * row + reach[0] * row + (reach[1] + 1) * n, front


def spread(dy, packed, pads, reach, out=None):
    """dy (N, F, OH, OW) on the padded input's grid in ``pack``'s layout, zeros at the other
    positions, flat, after ``front`` zeros: (flat, front).

    front = (RH - PT)*WP*N + (RW - PL)*js (R: the kernel's reach; pads <= R) lets ``input_grad``
    read the full correlation at non-negative offsets; the zeros below and right of dy in
    each plane are the full correlation's padding (a window that runs off a row or off the
    rows lands there).
    """
    _, hp, wp, js = packed
    size, front = spread_size(dy.shape, packed, pads, reach)
    if out is None:
        out = np.empty(size, dtype=packed[0].dtype)
    _lay_out(dy, 0, 0, hp, wp, js, front, out)
    return out, front


def forward(packed, w, b, out_size, dilation, batch):
    """y (N, F, OH, OW) = the stride-1 conv of ``pack``'s (flat, HP, WP, js) with w
    (F, C, KH, KW) and b (F,) or None."""
    xc, hp, wp, js = packed
    f = w.shape[0]
    y = np.empty((batch, f, *out_size), dtype=xc.dtype)
    bias = np.zeros(f, dtype=xc.dtype) if b is None else b.astype(xc.dtype, copy=False)
    w = np.ascontiguousarray(w, dtype=xc.dtype)
    _forward(xc, w, np.ascontiguousarray(bias), y, hp, wp, js, *dilation, 0, xc.size)
    return y


def input_grad(spreaded, packed, w, in_size, dilation, batch):
    """dx (N, C, H, W) of a stride-1 conv with a finite w (F, C, KH, KW): the full correlation
    of ``spread``'s dy with the flipped kernel, read at non-negative offsets from the front.
    The passes whose rows hold no dy (its OH rows lie after the front: 29% of LeNet conv2's)
    are skipped."""
    (dyc, front), (xc, hp, wp, js) = spreaded, packed
    n, c = batch, w.shape[1]
    flipped = np.ascontiguousarray(w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3), dtype=xc.dtype)
    dx = np.empty((n, c, *in_size), dtype=xc.dtype)
    oh = hp - (w.shape[2] - 1) * dilation[0]  # dy's rows (stride 1)
    _forward(dyc, flipped, np.zeros(c, dtype=xc.dtype), dx, hp, wp, js, *dilation, front,
             front + oh * wp * n)  # fmt: skip
    return dx


def grad_weight(packed, spreaded, w_shape, dilation, batch_rows):
    """dw of shape w_shape (F, C, KH, KW) from ``pack``'s result of a finite x and ``spread``'s
    dy; batch_rows: (N, OH), the batch and dy's rows."""
    (xc, hp, wp, js), (dyc, front) = packed, spreaded
    batch, oh = batch_rows
    out = np.zeros(w_shape, dtype=xc.dtype)
    _grad_weight(xc, dyc[front:], out, hp, wp, js, *dilation, batch, oh)
    return out
