"""Winograd F(2x2, 3x3) tile transforms for 3x3 stride-1 convolution, compiled with Numba.

A 3x3 correlation over a 4x4 input tile d gives a 2x2 output tile with 16 multiplies
instead of 36 (Lavin & Gray 2015):

    Y = A^T [ (G g G^T) * (B^T d B) ] A          (* elementwise, per tile and channel pair)

so a conv becomes 16 independent GEMMs (one per tile element xi, summing over channels)
between transforms. Tiles start every 2 pixels: tile (a, b) reads padded-input rows
2a..2a+3 and columns 2b..2b+3 and writes output rows 2a, 2a+1 and columns 2b, 2b+1.
The backward pass is the exact adjoint of each step:

    dM = A dY A^T,   dU = sum_tiles dM * V,   dg = G^T dU G,   dV = U^T dM,   dd = B dV B^T

Layouts: V, dV (16, N, C, T) and M, dM (16, N, F, T), stored as (16, C, N, T) (``folded``
views them as 16 matrices (C, N*T) for the GEMMs). T = TH*(TW+1): TH rows of TW tiles,
TH = ceil(OH/2), TW = ceil(OW/2), and one spare tile closing each row. With the spare,
tile t = a*(TW+1) + b reads the padded input's even and odd rows (stored apart, 2*(TW+1)
columns each) at 2t..2t+3 of the row pair a: one flat, vectorised pass over a plane's T
tiles, where loops over each row of 14 tiles (a 28x28 image) ran scalar (measured below).
The spare tiles cost the GEMMs 1/TW more columns (7% at 28x28, 14% at 14x14). Their V
holds whatever the pass read (finite: x is), their dM is zero (dy beyond OW is), so they
add nothing to dU; their dV is ignored. The transforms use only adds (and halves in G), so
float32 loses no accuracy, and compute each value with the same operations as the direct
per-tile loops they replace (equal to the last bit; dx sums its four tiles in tile order).

One (n, channel) plane at a time, the samples of a channel in turn (their tiles are one run
per plane of the tile array: written in order, where going channel by channel within a
sample scattered runs of T values over the array and ran 2.5x slower from memory), through
even/odd row buffers of the kernel's own. Every kernel is compiled ``noalias``
(kernels.noalias: its arrays never overlap), without which none of the 16-run loops
vectorises. Against the per-tile loops they replace (one thread, float32, warm, a whole
batch per call; input / output / grad output / grad input transform, ms): (64, 16, 28, 28)
1.67 / 1.53 / 1.57 / 1.99 -> 0.78 / 0.76 / 0.79 / 1.15; (64, 32, 14, 14) 1.05 / 0.84 / 0.99
/ 1.16 -> 0.51 / 0.39 / 0.48 / 0.67; (32, 64, 32, 32) 5.7 / 4.2 / 4.6 / 5.4 -> 2.2 / 1.9 /
1.8 / 2.9. In the bundled VGG's training step the four took 21.0 ms, now 10.7.
Tile arrays come from ``tile_array`` (planes skewed off power-of-two distances).
"""

import numba as nb
import numpy as np

from .noalias import njit_noalias

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


@nb.njit(inline="always")
def _runs(flat, start, step, n):
    """The 16 runs flat[start + k*step :][:n], k = 0..15: one sample's and channel's tiles
    in the 16 planes of a tile array."""
    s, e = step, start + n
    return (
        flat[start:e], flat[start + s : e + s], flat[start + 2 * s : e + 2 * s],
        flat[start + 3 * s : e + 3 * s], flat[start + 4 * s : e + 4 * s],
        flat[start + 5 * s : e + 5 * s], flat[start + 6 * s : e + 6 * s],
        flat[start + 7 * s : e + 7 * s], flat[start + 8 * s : e + 8 * s],
        flat[start + 9 * s : e + 9 * s], flat[start + 10 * s : e + 10 * s],
        flat[start + 11 * s : e + 11 * s], flat[start + 12 * s : e + 12 * s],
        flat[start + 13 * s : e + 13 * s], flat[start + 14 * s : e + 14 * s],
        flat[start + 15 * s : e + 15 * s],
    )  # fmt: skip


@nb.njit(inline="always")
def _padded_row(even, odd, r, left, width, w):
    """Padded row r's columns left..left+w: in even (r even) or odd, at (r // 2)*width + left."""
    start = (r // 2) * width + left
    return (even if r % 2 == 0 else odd)[start : start + w]


@nb.njit(inline="always")
def _rows_in(plane, even, odd, top, left, width):
    """Copy plane (H, W) into its padding by (top, left), stored as even and odd rows; the
    rest keeps its zeros."""
    h, w = plane.shape
    for i in range(h):
        src, out = plane[i], _padded_row(even, odd, i + top, left, width, w)
        for j in range(w):
            out[j] = src[j]


@nb.njit(inline="always")
def _rows_out(even, odd, plane, top, left, width):
    """The adjoint crop of _rows_in: plane[i, j] = padded row i + top, column j + left."""
    h, w = plane.shape
    for i in range(h):
        row, part = plane[i], _padded_row(even, odd, i + top, left, width, w)
        for j in range(w):
            row[j] = part[j]


@njit_noalias
def _input_transform(x, v, sp, sn, sc, pt, pl, th, tw):
    n, c = x.shape[:2]
    width, t = 2 * (tw + 1), th * (tw + 1)
    rows = np.zeros((2, (th + 1) * width + 4), dtype=x.dtype)  # its padding stays 0
    even, odd = rows[0], rows[1]
    for p in range(n * c):
        ch, b = p // n, p % n
        _rows_in(x[b, ch], even, odd, pt, pl, width)
        v0, v1, v2, v3, v4, v5, v6, v7, v8, v9, v10, v11, v12, v13, v14, v15 = _runs(
            v, b * sn + ch * sc, sp, t
        )
        for s in range(t):  # tile s: rows 2a..2a+3 are even[e], odd[e], even[e + width], ...
            e, f = 2 * s, 2 * s + width
            # B^T on the 4 rows, column by column
            c00, c10, c20, c30 = _bt(even[e], odd[e], even[f], odd[f])
            c01, c11, c21, c31 = _bt(even[e + 1], odd[e + 1], even[f + 1], odd[f + 1])
            c02, c12, c22, c32 = _bt(even[e + 2], odd[e + 2], even[f + 2], odd[f + 2])
            c03, c13, c23, c33 = _bt(even[e + 3], odd[e + 3], even[f + 3], odd[f + 3])
            # then B on the right: the same combination along each row
            v0[s], v1[s], v2[s], v3[s] = _bt(c00, c01, c02, c03)
            v4[s], v5[s], v6[s], v7[s] = _bt(c10, c11, c12, c13)
            v8[s], v9[s], v10[s], v11[s] = _bt(c20, c21, c22, c23)
            v12[s], v13[s], v14[s], v15[s] = _bt(c30, c31, c32, c33)


@njit_noalias
def _output_transform(m, sp, sn, sc, bias, y, th, tw):
    n, f = y.shape[:2]
    width, t = 2 * (tw + 1), th * (tw + 1)
    rows = np.empty((2, th * width), dtype=y.dtype)
    even, odd = rows[0], rows[1]
    for p in range(n * f):
        ch, b = p // n, p % n
        m0, m1, m2, m3, m4, m5, m6, m7, m8, m9, m10, m11, m12, m13, m14, m15 = _runs(
            m, b * sn + ch * sc, sp, t
        )
        bc = bias[ch]
        for s in range(t):
            # A^T on the 4 rows of m, column by column, then on the right
            a00, a10 = _at(m0[s], m4[s], m8[s], m12[s])
            a01, a11 = _at(m1[s], m5[s], m9[s], m13[s])
            a02, a12 = _at(m2[s], m6[s], m10[s], m14[s])
            a03, a13 = _at(m3[s], m7[s], m11[s], m15[s])
            y00, y01 = _at(a00, a01, a02, a03)
            y10, y11 = _at(a10, a11, a12, a13)
            even[2 * s], even[2 * s + 1] = y00 + bc, y01 + bc
            odd[2 * s], odd[2 * s + 1] = y10 + bc, y11 + bc
        _rows_out(even, odd, y[b, ch], 0, 0, width)


@njit_noalias
def _grad_output_transform(dy, dm, sp, sn, sc, th, tw):
    n, f = dy.shape[:2]
    width, t = 2 * (tw + 1), th * (tw + 1)
    rows = np.zeros((2, th * width), dtype=dy.dtype)  # zero beyond OH, OW: the spare tiles
    even, odd = rows[0], rows[1]
    for p in range(n * f):
        ch, b = p // n, p % n
        _rows_in(dy[b, ch], even, odd, 0, 0, width)
        d0, d1, d2, d3, d4, d5, d6, d7, d8, d9, d10, d11, d12, d13, d14, d15 = _runs(
            dm, b * sn + ch * sc, sp, t
        )
        for s in range(t):
            g00, g01, g10, g11 = even[2 * s], even[2 * s + 1], odd[2 * s], odd[2 * s + 1]
            # A on the 2 rows, column by column, then A^T on the right
            c00, c10, c20, c30 = _a(g00, g10)
            c01, c11, c21, c31 = _a(g01, g11)
            d0[s], d1[s], d2[s], d3[s] = _a(c00, c01)
            d4[s], d5[s], d6[s], d7[s] = _a(c10, c11)
            d8[s], d9[s], d10[s], d11[s] = _a(c20, c21)
            d12[s], d13[s], d14[s], d15[s] = _a(c30, c31)


@njit_noalias
def _grad_input_transform(dv, sp, sn, sc, dx, pt, pl, th, tw):
    n, c = dx.shape[:2]
    w1 = tw + 1
    width, t, lead = 2 * w1, th * w1, w1 + 1
    # E[k] = (B dv B^T)[k] per tile, after `lead` zeros (tiles above and left of the first)
    # and followed by a row of zeros (tiles below the last): a tile's neighbours up and left
    # are then E at s - w1 and s - 1, and the spare tile (zeroed) is the one left of b = 0
    e = np.zeros((16, lead + t + w1), dtype=dx.dtype)
    e0, e1, e2, e3 = e[0, lead:], e[1, lead:], e[2, lead:], e[3, lead:]
    e4, e5, e6, e7 = e[4, lead:], e[5, lead:], e[6, lead:], e[7, lead:]
    e8, e9, e10, e11 = e[8, lead:], e[9, lead:], e[10, lead:], e[11, lead:]
    e12, e13, e14, e15 = e[12, lead:], e[13, lead:], e[14, lead:], e[15, lead:]
    rows = np.empty((2, (th + 1) * width), dtype=dx.dtype)
    even, odd = rows[0], rows[1]
    for p in range(n * c):
        ch, b = p // n, p % n
        d0, d1, d2, d3, d4, d5, d6, d7, d8, d9, d10, d11, d12, d13, d14, d15 = _runs(
            dv, b * sn + ch * sc, sp, t
        )
        for s in range(t):
            # B on the 4 rows of dv, column by column, then B^T on the right
            c00, c10, c20, c30 = _b(d0[s], d4[s], d8[s], d12[s])
            c01, c11, c21, c31 = _b(d1[s], d5[s], d9[s], d13[s])
            c02, c12, c22, c32 = _b(d2[s], d6[s], d10[s], d14[s])
            c03, c13, c23, c33 = _b(d3[s], d7[s], d11[s], d15[s])
            e0[s], e1[s], e2[s], e3[s] = _b(c00, c01, c02, c03)
            e4[s], e5[s], e6[s], e7[s] = _b(c10, c11, c12, c13)
            e8[s], e9[s], e10[s], e11[s] = _b(c20, c21, c22, c23)
            e12[s], e13[s], e14[s], e15[s] = _b(c30, c31, c32, c33)
        for a in range(th):  # the spare tiles' dv is not part of dx
            e[:, lead + a * w1 + tw] = 0
        # padded dx at (2a + i, 2b + j), i, j < 2: E[4i + j] of tile (a, b), E[4i + j + 2]
        # of (a, b - 1), E[4(i + 2) + j] of (a - 1, b), E[4(i + 2) + j + 2] of (a - 1, b - 1),
        # summed in tile order as the direct per-tile loops did
        for s in range((th + 1) * w1):
            q = lead + s
            even[2 * s] = e[10, q - lead] + e[8, q - w1] + e[2, q - 1] + e[0, q]
            even[2 * s + 1] = e[11, q - lead] + e[9, q - w1] + e[3, q - 1] + e[1, q]
            odd[2 * s] = e[14, q - lead] + e[12, q - w1] + e[6, q - 1] + e[4, q]
            odd[2 * s + 1] = e[15, q - lead] + e[13, q - w1] + e[7, q - 1] + e[5, q]
        _rows_out(even, odd, dx[b, ch], pt, pl, width)


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


def tile_count(out_size):
    """T, a tile array's tiles per image: TH rows of TW tiles and a spare one each."""
    th, tw = tiles(out_size)
    return th * (tw + 1)


def _flat(tiles):
    """A tile array (or a slice of one along N) as a 1-D run from its first element, and its
    plane, sample and channel strides in elements."""
    it = tiles.itemsize
    sp, sn, sc, st = (s // it for s in tiles.strides)
    assert st == 1 and tiles.strides[3] == it, "tile arrays come from tile_array"
    span = 15 * sp + (tiles.shape[1] - 1) * sn + (tiles.shape[2] - 1) * sc + tiles.shape[3]
    return np.lib.stride_tricks.as_strided(tiles, (span,), (it,)), sp, sn, sc


def input_transform(x, pads_before, out_size, out=None):
    """V = B^T d B for every 4x4 tile of the zero-padded x (N, C, H, W) -> (16, N, C, T)."""
    th, tw = tiles(out_size)
    n, c = x.shape[:2]
    v = tile_array(n, c, tile_count(out_size), x.dtype) if out is None else out
    if v.size:
        _input_transform(np.ascontiguousarray(x), *_flat(v), *pads_before, th, tw)
    return v


def output_transform(m, out_size, bias=None, out=None):
    """y = A^T m A (+ bias) per tile: m (16, N, F, T) -> y (N, F, OH, OW), into ``out`` (C-
    contiguous) when given."""
    _, n, f, _ = m.shape
    y = np.empty((n, f, *out_size), dtype=m.dtype) if out is None else out
    bias = np.zeros(f, dtype=m.dtype) if bias is None else bias.astype(m.dtype, copy=False)
    if y.size:
        _output_transform(*_flat(m), bias, y, *tiles(out_size))
    return y


def grad_output_transform(dy, out=None):
    """dM = A dY A^T per 2x2 tile of dy (N, F, OH, OW) (zero beyond OH, OW) -> (16, N, F, T)."""
    n, f = dy.shape[:2]
    th, tw = tiles(dy.shape[2:])
    dm = tile_array(n, f, tile_count(dy.shape[2:]), dy.dtype) if out is None else out
    if dm.size:
        _grad_output_transform(np.ascontiguousarray(dy), *_flat(dm), th, tw)
    return dm


def grad_input_transform(dv, pads_before, in_size, out_size, out=None):
    """dx = sum over tiles of B dV B^T, cropped to the input: dv (16, N, C, T) -> (N, C, H, W),
    into ``out`` (C-contiguous) when given. The spare tiles' dv is ignored."""
    _, n, c, _ = dv.shape
    dx = np.empty((n, c, *in_size), dtype=dv.dtype) if out is None else out
    if dx.size:
        _grad_input_transform(*_flat(dv), dx, *pads_before, *tiles(out_size))
    return dx
