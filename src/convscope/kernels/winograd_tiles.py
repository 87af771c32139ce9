"""Winograd F(2x2, 3x3) tile transforms for 3x3 stride-1 convolution, compiled with Numba.

A 3x3 correlation over a 4x4 input tile d gives a 2x2 output tile with 16 multiplies
instead of 36 (Lavin & Gray 2015):

    Y = A^T [ (G g G^T) * (B^T d B) ] A          (* elementwise, per tile and channel pair)

so a conv becomes 16 independent GEMMs (one per tile element xi, summing over channels)
between transforms. Tiles start every 2 pixels: tile (a, b) reads padded-input rows
2a..2a+3 and columns 2b..2b+3 and writes output rows 2a, 2a+1 and columns 2b, 2b+1.
The backward pass is the exact adjoint of each step:

    dM = A dY A^T,   dU = sum_tiles dM * V,   dg = G^T dU G,   dV = U^T dM,   dd = B dV B^T

Layouts: V, dV (16, N, C, T) and M, dM (16, N, F, T) with T = TH*TW tiles per image,
TH = ceil(OH/2), TW = ceil(OW/2), stored as (16, C, N, T) (``folded`` views them as 16
matrices (C, N*T) for the GEMMs). The transforms use only adds (and halves in G), so float32
loses no accuracy. One (n, channel) plane at a time. Tile arrays come from ``tile_array``
(planes skewed off power-of-two distances).
"""

import numba as nb
import numpy as np

# y = A^T m A, m = (G g G^T) * (B^T d B)
BT = np.array([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]], dtype=np.float64)
G = np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]], dtype=np.float64)
AT = np.array([[1, 1, 1, 0], [0, 1, -1, -1]], dtype=np.float64)


@nb.njit(inline="always")
def _bt(d0, d1, d2, d3):
    """B^T applied to 4 values."""
    return d0 - d2, d1 + d2, d2 - d1, d1 - d3


@nb.njit(inline="always")
def _b(v0, v1, v2, v3):
    """B applied to 4 values (the adjoint of _bt)."""
    return v0, v1 - v2 + v3, v2 + v1 - v0, -v3


@nb.njit(inline="always")
def _at(m0, m1, m2, m3):
    """A^T applied to 4 values -> 2."""
    return m0 + m1 + m2, m1 - m2 - m3


@nb.njit(inline="always")
def _a(y0, y1):
    """A applied to 2 values -> 4 (the adjoint of _at)."""
    return y0, y0 + y1, y0 - y1, -y1


@nb.njit(cache=True)
def _input_transform(x, v, pt, pl, th, tw):
    n, c, h, w = x.shape
    pad = np.zeros((2 * th + 2, 2 * tw + 2), dtype=x.dtype)  # its border stays 0
    for p in range(n * c):
        b, ch = p // c, p % c
        pad[pt : pt + h, pl : pl + w] = x[b, ch]
        for ta in range(th):
            r = 2 * ta
            for tb in range(tw):
                q, t = 2 * tb, ta * tw + tb
                # B^T on the 4 rows, column by column
                c00, c10, c20, c30 = _bt(pad[r, q], pad[r + 1, q], pad[r + 2, q], pad[r + 3, q])
                c01, c11, c21, c31 = _bt(
                    pad[r, q + 1], pad[r + 1, q + 1], pad[r + 2, q + 1], pad[r + 3, q + 1]
                )
                c02, c12, c22, c32 = _bt(
                    pad[r, q + 2], pad[r + 1, q + 2], pad[r + 2, q + 2], pad[r + 3, q + 2]
                )
                c03, c13, c23, c33 = _bt(
                    pad[r, q + 3], pad[r + 1, q + 3], pad[r + 2, q + 3], pad[r + 3, q + 3]
                )
                # then B on the right: the same combination along each row
                v[0, b, ch, t], v[1, b, ch, t], v[2, b, ch, t], v[3, b, ch, t] = _bt(
                    c00, c01, c02, c03
                )
                v[4, b, ch, t], v[5, b, ch, t], v[6, b, ch, t], v[7, b, ch, t] = _bt(
                    c10, c11, c12, c13
                )
                v[8, b, ch, t], v[9, b, ch, t], v[10, b, ch, t], v[11, b, ch, t] = _bt(
                    c20, c21, c22, c23
                )
                v[12, b, ch, t], v[13, b, ch, t], v[14, b, ch, t], v[15, b, ch, t] = _bt(c30, c31, c32, c33)  # fmt: skip


@nb.njit(cache=True)
def _output_transform(m, bias, y, tw):
    n, f, oh, ow = y.shape
    for p in range(n * f):
        b, ch = p // f, p % f
        for r in range(0, oh, 2):
            for q in range(0, ow, 2):
                t = (r // 2) * tw + q // 2
                # A^T on the 4 rows of m, column by column
                a00, a10 = _at(m[0, b, ch, t], m[4, b, ch, t], m[8, b, ch, t], m[12, b, ch, t])
                a01, a11 = _at(m[1, b, ch, t], m[5, b, ch, t], m[9, b, ch, t], m[13, b, ch, t])
                a02, a12 = _at(m[2, b, ch, t], m[6, b, ch, t], m[10, b, ch, t], m[14, b, ch, t])
                a03, a13 = _at(m[3, b, ch, t], m[7, b, ch, t], m[11, b, ch, t], m[15, b, ch, t])
                y00, y01 = _at(a00, a01, a02, a03)
                y10, y11 = _at(a10, a11, a12, a13)
                y[b, ch, r, q] = y00 + bias[ch]
                if q + 1 < ow:
                    y[b, ch, r, q + 1] = y01 + bias[ch]
                if r + 1 < oh:
                    y[b, ch, r + 1, q] = y10 + bias[ch]
                    if q + 1 < ow:
                        y[b, ch, r + 1, q + 1] = y11 + bias[ch]


@nb.njit(cache=True)
def _grad_output_transform(dy, dm, tw):
    n, f, oh, ow = dy.shape
    zero = dy.dtype.type(0)
    for p in range(n * f):
        b, ch = p // f, p % f
        for r in range(0, oh, 2):
            for q in range(0, ow, 2):
                t = (r // 2) * tw + q // 2
                g00 = dy[b, ch, r, q]
                g01 = dy[b, ch, r, q + 1] if q + 1 < ow else zero
                g10 = dy[b, ch, r + 1, q] if r + 1 < oh else zero
                g11 = dy[b, ch, r + 1, q + 1] if r + 1 < oh and q + 1 < ow else zero
                # A on the 2 rows, column by column, then A^T on the right
                c00, c10, c20, c30 = _a(g00, g10)
                c01, c11, c21, c31 = _a(g01, g11)
                dm[0, b, ch, t], dm[1, b, ch, t], dm[2, b, ch, t], dm[3, b, ch, t] = _a(c00, c01)
                dm[4, b, ch, t], dm[5, b, ch, t], dm[6, b, ch, t], dm[7, b, ch, t] = _a(c10, c11)
                dm[8, b, ch, t], dm[9, b, ch, t], dm[10, b, ch, t], dm[11, b, ch, t] = _a(c20, c21)
                dm[12, b, ch, t], dm[13, b, ch, t], dm[14, b, ch, t], dm[15, b, ch, t] = _a(c30, c31)  # fmt: skip


@nb.njit(cache=True)
def _grad_input_transform(dv, dx, pt, pl, th, tw):
    n, c, h, w = dx.shape
    acc = np.empty((2 * th + 2, 2 * tw + 2), dtype=dx.dtype)
    for p in range(n * c):
        b, ch = p // c, p % c
        acc[:] = 0
        for ta in range(th):
            r = 2 * ta
            for tb in range(tw):
                q, t = 2 * tb, ta * tw + tb
                # B on the 4 rows of dv, column by column, then B^T on the right
                c00, c10, c20, c30 = _b(
                    dv[0, b, ch, t], dv[4, b, ch, t], dv[8, b, ch, t], dv[12, b, ch, t]
                )
                c01, c11, c21, c31 = _b(
                    dv[1, b, ch, t], dv[5, b, ch, t], dv[9, b, ch, t], dv[13, b, ch, t]
                )
                c02, c12, c22, c32 = _b(
                    dv[2, b, ch, t], dv[6, b, ch, t], dv[10, b, ch, t], dv[14, b, ch, t]
                )
                c03, c13, c23, c33 = _b(
                    dv[3, b, ch, t], dv[7, b, ch, t], dv[11, b, ch, t], dv[15, b, ch, t]
                )
                for i, (e0, e1, e2, e3) in enumerate(
                    (
                        (c00, c01, c02, c03),
                        (c10, c11, c12, c13),
                        (c20, c21, c22, c23),
                        (c30, c31, c32, c33),
                    )
                ):
                    d0, d1, d2, d3 = _b(e0, e1, e2, e3)
                    acc[r + i, q] += d0
                    acc[r + i, q + 1] += d1
                    acc[r + i, q + 2] += d2
                    acc[r + i, q + 3] += d3
        dx[b, ch] = acc[pt : pt + h, pl : pl + w]  # fmt: skip


SKEW = 32  # elements between the 16 planes of a tile array beyond their size


def tile_array(n, c, t, dtype, flat=None):
    """A (16, N, C, T) array laid out as (16, C, N, T): each plane's channel c holds the tiles
    of all N samples in one run, so the GEMMs over channels are 16 of (.., C) x (C, N*T)
    (``folded``) rather than 16*N small ones. Its 16 planes are SKEW elements further apart
    than their size: with planes a power-of-two apart, a tile's 16 values map to one cache
    set and the transforms ran ~4x slower. flat: a 1-D buffer of tile_array_size(...)
    elements to use."""
    size = n * c * t
    if flat is None:
        flat = np.empty(tile_array_size(n, c, t), dtype=dtype)
    it = flat.itemsize
    return np.lib.stride_tricks.as_strided(
        flat, shape=(16, n, c, t), strides=((size + SKEW) * it, t * it, n * t * it, it)
    )


def folded(tiles):
    """The (16, C, N*T) view of a tile_array (16, N, C, T): channel rows of all samples' tiles."""
    _, n, c, t = tiles.shape
    s_xi, _, s_c, s_t = tiles.strides
    return np.lib.stride_tricks.as_strided(tiles, shape=(16, c, n * t), strides=(s_xi, s_c, s_t))


def tile_array_size(n, c, t):
    return 16 * (n * c * t + SKEW)


def tiles(out_size):
    """(TH, TW): 2x2 output tiles per image, the last row/column of tiles may stick out."""
    return (out_size[0] + 1) // 2, (out_size[1] + 1) // 2


def input_transform(x, pads_before, out_size, out=None):
    """V = B^T d B for every 4x4 tile of the zero-padded x (N, C, H, W) -> (16, N, C, T)."""
    th, tw = tiles(out_size)
    n, c = x.shape[:2]
    v = tile_array(n, c, th * tw, x.dtype) if out is None else out
    _input_transform(np.ascontiguousarray(x), v, *pads_before, th, tw)
    return v


def output_transform(m, out_size, bias=None, out=None):
    """y = A^T m A (+ bias) per tile: m (16, N, F, T) -> y (N, F, OH, OW), into ``out`` (C-
    contiguous) when given."""
    _, n, f, _ = m.shape
    y = np.empty((n, f, *out_size), dtype=m.dtype) if out is None else out
    bias = np.zeros(f, dtype=m.dtype) if bias is None else bias.astype(m.dtype, copy=False)
    _output_transform(m, bias, y, tiles(out_size)[1])
    return y


def grad_output_transform(dy, out=None):
    """dM = A dY A^T per 2x2 tile of dy (N, F, OH, OW) (zero beyond OH, OW) -> (16, N, F, T)."""
    n, f = dy.shape[:2]
    th, tw = tiles(dy.shape[2:])
    dm = tile_array(n, f, th * tw, dy.dtype) if out is None else out
    _grad_output_transform(np.ascontiguousarray(dy), dm, tw)
    return dm


def grad_input_transform(dv, pads_before, in_size, out_size, out=None):
    """dx = sum over tiles of B dV B^T, cropped to the input: dv (16, N, C, T) -> (N, C, H, W),
    into ``out`` (C-contiguous) when given."""
    _, n, c, _ = dv.shape
    dx = np.empty((n, c, *in_size), dtype=dv.dtype) if out is None else out
    _grad_input_transform(dv, dx, *pads_before, *tiles(out_size))
    return dx
