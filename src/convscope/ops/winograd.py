"""3x3 stride-1 convolution by Winograd F(2x2, 3x3): 16 GEMMs over channels between tile
transforms, 2.25x fewer multiplies than the windows + one GEMM of ops.conv.

    V = B^T d B (input tiles),  U = G g G^T (weights),  M[xi] = U[xi] V[xi],  y = A^T M A

Backward is the adjoint of each step: dM = A dY A^T, dU = sum_tiles dM V^T (then
dg = G^T dU G), dV = U^T dM (then dx = sum_tiles B dV B^T). The transforms are the
compiled kernels of ``kernels.winograd_tiles`` (NumPy would spend more time in them than the
GEMMs save), so conv2d takes this path only when ``kernels.available()``; the GEMMs are
np.matmul. F(2x2, 3x3) transforms hold only +, - and halves: float32 keeps its accuracy.

Range: a tile mixes its 16 inputs, so one inf or NaN spreads to every cell of the tile
(inf - inf) where the direct sums keep +inf, and the intermediates outgrow the direct sums
(row sums 3, 1.5, 2, 3 of A^T, G, B^T, B): |y| <= 81*C*max|x|*max|w| (windows: 9*C*...),
|dX| <= 324*F*max|w|*max|dy|, |dW| <= 64*N*T*max|x|*max|dy|. ``in_range`` checks that no
intermediate can overflow and nothing is NaN or inf (one pass over the array: its max and
min); otherwise conv2d takes the windows path, forward or backward, and gives PyTorch's
numbers (inf where inf, 7.2e37 where Winograd would overflow to inf).
"""

from typing import NamedTuple

import numpy as np

from .. import kernels
from ..backend import blas_threads
from .buffers import samples_per_chunk, scratch
from .cache_need import cache_needed

MIN_CHANNELS = 8  # measured: Winograd wins from 8 channels on (32, C, 32, 32), ties at 4
GROWTH = 512  # > 324, the most any intermediate grows per term of the direct sum (above)


class WinogradCache(NamedTuple):
    v: tuple  # the transformed input tiles: a (16, m, C, T) tile array per chunk of the batch
    u: np.ndarray  # (16, F, C) transformed weights
    geom: object  # the ConvGeometry
    dtypes: tuple  # the inputs' dtypes (x, w, b); grads come back in them
    x: np.ndarray  # the input and weight (references) and their max |value|: the windows
    w: np.ndarray  # path's backward needs them when dy is out of range
    x_max: float
    w_max: float


def usable(geom, dtype):
    """3x3, stride 1, no dilation, one group, float32/64, channels and image big enough that
    the GEMMs dominate (small layers stay on the windows path), compiled kernels present."""
    return (
        geom.kernel == (3, 3)
        and geom.stride == (1, 1)
        and geom.dilation == (1, 1)
        and geom.groups == 1
        and min(geom.in_channels, geom.out_channels) >= MIN_CHANNELS
        and min(geom.out_size) >= 4
        and np.dtype(dtype) in (np.float32, np.float64)
        and kernels.available()
    )


def largest(a):
    """max |a| as a Python float (nan if a holds nan, 0 if it is empty), without a temporary."""
    if a.size == 0:
        return 0.0
    return max(float(a.max()), -float(a.min()))


def in_range(dtype, *products):
    """True when every (max|a|, max|b|, terms) product keeps the transforms finite: each max
    and max|a|*max|b|*terms times GROWTH below the dtype's largest value (False for nan/inf)."""
    limit = float(np.finfo(dtype).max) / GROWTH
    return all(
        a <= limit and b <= limit and a * b * terms <= limit for a, b, terms in products
    )  # nan compares False


def backward_in_range(dy, cache):
    """in_range for the backward of ``cache``'s forward with upstream gradient dy."""
    n, c = cache.x.shape[:2]
    f, t = cache.w.shape[0], kernels.winograd().tile_count(cache.geom.out_size)
    dy_max = largest(dy)
    return in_range(cache.u.dtype, (cache.w_max, dy_max, 9 * f), (cache.x_max, dy_max, n * t * 4))


def _tile_scratch(k, n, c, t, dtype):
    """A reused (16, N, C, T) tile array (see kernels.winograd_tiles.tile_array)."""
    return k.tile_array(n, c, t, dtype, flat=scratch((k.tile_array_size(n, c, t),), dtype))


def _chunk_tiles(k, n, c, t, step, dtype):
    """One (16, m, C, T) tile array per chunk of ``step`` samples (the last one m <= step), each
    its own block of one reused buffer. A chunk's GEMMs read it as 16 (C, m*T) matrices with
    rows m*T apart; as a slice of one (16, N, C, T) array, rows N*T apart, the forward's GEMM
    on the bundled VGG's (4, 16, 28, 28) chunks took 153 us instead of 79 and dU 129 instead
    of 96, hot; in the VGG's training step its GEMMs took 14.3 ms, now 13.0-13.4."""
    size = k.tile_array_size(step, c, t)
    flat = scratch((size * -(-n // step),), dtype)
    return tuple(
        k.tile_array(min(step, n - n0), c, t, dtype, flat=flat[i * size : (i + 1) * size])
        for i, n0 in enumerate(range(0, n, step))
    )


def _g(dtype):
    return kernels.winograd().G.astype(dtype)


# The batch goes through the transforms and the GEMMs a chunk at a time, its tile arrays
# about this many bytes, so that they stay in cache: V is written into the array kept for the
# backward (none without a backward to come, ops.cache_need), M and, in the backward, dM and
# dV are per chunk. Measured, float32, the bench's cold calls: forward without a backward, one
# thread, VGG (32, 64 -> 64, 3x3, 32x32) 24.8 -> 21.5 ms, ResNet (8, 64 -> 64, 56x56) 18.2 ->
# 16.6 (1, 2 and 4 MB alike); forward + backward against the whole batch at once, one thread,
# VGG 73-78 -> 67-74 ms, ResNet 52-56 -> 49-53 (2 MB: 68-69 and 50-51; 8 MB: 72 and 52), peak
# RSS of ResNet's forward + backward 140 -> 100 MB above baseline (bench.memory). With two
# threads the chunks' GEMMs are too small for OpenBLAS's second thread (VGG 54-58 -> 58-66 ms,
# ResNet 38.5-40.6 -> 43-45), so with more than one BLAS thread a forward with a backward to
# come and the backward take the batch whole. Since 2026-12-03 the chunks hold about 1 MB
# but at least MIN_TILES tiles (4 MB before): the small layers of the bundled VGG and of CIFAR
# networks run 15-40% faster, forward / forward + backward, one thread, 50 ms apart: (64, 16
# -> 16, 28x28) 7.9 / 19.4 -> 5.3 / 15.8 ms, (64, 16 -> 32, 14x14) 4.5 / 10.1 -> 3.2 / 8.4,
# (64, 32 -> 32, 14x14) 7.6 / 16.9 -> 5.3 / 13.0; VGG and ResNet within their noise (23.1 /
# 65.7 -> 22.9 / 67.2, 17.4 / 51.4 -> 17.9 / 52.3). 1 MB alone cost VGG's backward 10% (72.0:
# one sample, 256 tiles, per chunk); 1,024 tiles lost some of the small layers' gain.
STREAM_BYTES = 1 << 20
MIN_TILES = 512


def _chunk(n, c, f, t, itemsize, training):
    """Samples per chunk: about STREAM_BYTES of the larger (16, N, C or F, T) tile array, and
    at least MIN_TILES tiles (N*T); the whole batch for training (a backward to come, or the backward itself) where BLAS runs more
    than one thread, as a chunk's GEMMs are too small to thread. A forward alone keeps its
    chunks: with two threads they measured alike (VGG 24.1 ms against 25.5 whole, ResNet 17.8
    against 16.7), with one faster (27.3 against 32.9, 19.2 against 23.3), and take less memory."""
    if training and blas_threads() > 1:
        return n
    return max(samples_per_chunk(16 * max(c, f) * t * itemsize, STREAM_BYTES), -(-MIN_TILES // t))


def forward(x, w, b, geom, dtypes, x_max, w_max):
    """y (N, F, OH, OW) and the cache; x, w (and b) already in one float dtype, x_max and
    w_max their largest |value| (see in_range)."""
    k = kernels.winograd()
    n, c = x.shape[:2]
    f = w.shape[0]
    t = k.tile_count(geom.out_size)
    u = weight_transform(w)
    keep = cache_needed()
    step = _chunk(n, c, f, t, x.itemsize, training=keep)
    y = np.empty((n, f, *geom.out_size), dtype=x.dtype)
    v = _chunk_tiles(k, n, c, t, step, x.dtype) if keep else None
    for i, n0 in enumerate(range(0, n, step)):  # chunks of the batch sized to the cache
        kept = None if v is None else v[i]
        _tiles_through(k, x[n0 : n0 + step], u, b, geom, t, y[n0 : n0 + step], kept)
    return y, WinogradCache(v, u, geom, dtypes, x, w, x_max, w_max)


def weight_transform(w):
    """U = G g G^T per filter and channel: w (F, C, 3, 3) -> (16, F, C), U[4r+s] = (G g G^T)[r, s].
    Two tensordots (BLAS): 0.13 ms for (64, 64, 3, 3) float32 where einsum took 0.50."""
    g = _g(w.dtype)
    gw = np.tensordot(g, w, axes=([1], [2]))  # (r, F, C, v)
    u = np.tensordot(gw, g, axes=([3], [1])).transpose(0, 3, 1, 2)  # (r, s, F, C)
    return np.ascontiguousarray(u).reshape(16, *w.shape[:2])


def weight_grad(du):
    """dg = G^T dU G per filter and channel: du (16, F, C) -> (F, C, 3, 3), the adjoint of
    weight_transform (0.15 ms for 64 x 64 float32 where einsum took 1.5)."""
    g = _g(du.dtype)
    t = np.tensordot(g, du.reshape(4, 4, *du.shape[1:]), axes=([0], [0]))  # (u, s, F, C)
    return np.ascontiguousarray(np.tensordot(t, g, axes=([1], [0])).transpose(1, 2, 0, 3))


def _tiles_through(k, x, u, b, geom, t, y, v=None):
    """y = A^T (U V) A + b written into y, V = x's input tiles (16, N, C, T) written into v
    (a slice of the kept tile array) or, for v None, a reused buffer."""
    n, c = x.shape[:2]
    before = (geom.pads[0][0], geom.pads[1][0])
    if v is None:
        v = _tile_scratch(k, n, c, t, x.dtype)
    k.input_transform(x, before, geom.out_size, out=v)
    m = _tile_scratch(k, n, u.shape[1], t, x.dtype)
    np.matmul(u, k.folded(v), out=k.folded(m))  # M[xi] = U[xi] V[xi], all the chunk's tiles
    k.output_transform(m, geom.out_size, b, out=y)


def backward(dy, cache, needs):
    """(dx, dw, db) in the inputs' dtypes; None where not needed. A chunk of the batch at a
    time, the forward's chunks (STREAM_BYTES): dM, dV and dx of the chunk, dU summed over them."""
    v, u, geom, (x_dtype, w_dtype, b_dtype) = cache[:4]
    k = kernels.winograd()
    dy = np.ascontiguousarray(dy, dtype=u.dtype)
    (n, f), c, t = dy.shape[:2], cache.x.shape[1], k.tile_count(geom.out_size)
    before = (geom.pads[0][0], geom.pads[1][0])
    dx = np.empty((n, c, *geom.in_size), dtype=u.dtype) if needs[0] else None
    du, n0 = None, 0
    for vc in v if needs[0] or needs[1] else ():  # the forward's chunks of the batch
        m = vc.shape[1]
        dm = k.grad_output_transform(dy[n0 : n0 + m], out=_tile_scratch(k, m, f, t, u.dtype))
        if needs[1]:  # dU = sum over the tiles of dM V^T
            part = np.matmul(k.folded(dm), k.folded(vc).transpose(0, 2, 1))
            du = part if du is None else du + part
        if needs[0]:  # dV = U^T dM, then the adjoint input transform
            dv = _tile_scratch(k, m, c, t, u.dtype)
            np.matmul(u.transpose(0, 2, 1), k.folded(dm), out=k.folded(dv))
            k.grad_input_transform(dv, before, geom.in_size, geom.out_size, out=dx[n0 : n0 + m])
        n0 += m
    dw = None if du is None else weight_grad(du).astype(w_dtype, copy=False)
    dx = None if dx is None else dx.astype(x_dtype, copy=False)
    db = None
    if b_dtype is not None and needs[2]:
        db = dy.sum(axis=(0, 2, 3)).astype(b_dtype, copy=False)
    return dx, dw, db
