"""Resampling on the spatial axes of (N, C, L) or (N, C, H, W): the link between stride and scale.

    dilate(x, s)[..., i*s, j*s] = x[..., i, j], zeros elsewhere      size (n - 1)*s + 1
    downsample(x, s)[..., i, j] = x[..., i*s, j*s]                    size ceil(n / s)
    interpolate(x, size)[..., i, j] = x[..., src_h(i), src_w(j)]        nearest neighbour:
        src(i) = min(floor(i * scale), n - 1), "nearest-exact": min(floor((i + 0.5) * scale), n - 1)
    interpolate(x, size, mode="area")                                 adaptive average pooling
    interpolate(x, size, mode="bilinear")                             linear along each axis:
        y[i] = (1 - l) x[i0] + l x[i1],  i0 = floor(src(i)), i1 = min(i0 + 1, n - 1), l = src - i0
        src(i) = max((i + 0.5) * scale - 0.5, 0), or i * (n_in - 1) / (n_out - 1) with
        align_corners; the W axis first, then H (PyTorch's order of the products)
    interpolate(x, size, mode="bicubic")   the four neighbours i0 - 1 .. i0 + 2 (read clamped to
        the input) weighted by Keys' cubic kernel (a = -0.75) at their distance to src(i)
    antialias (bilinear): y[i] = sum_j w_j x[j] over the inputs within `support` = max(scale, 1)
        of centre = (i + 0.5) * scale, w_j = max(0, 1 - |j + 0.5 - centre| / support), then
        normalised: a triangle as wide as an output pixel when shrinking (PyTorch's, PIL's)

dilate turns a stride-S gradient into a stride-1 one (conv backward); downsample is
what a stride does to a stride-1 output. Each one's backward is the other's
adjoint: downsample(dilate(x, s), s) == x.
"""

import math
import numbers
from typing import NamedTuple

import numpy as np

from ..backend import get_xp
from ..errors import ShapeError
from .adaptive_pool import (
    adaptive_avg_pool1d_backward,
    adaptive_avg_pool1d_forward,
    adaptive_avg_pool2d_backward,
    adaptive_avg_pool2d_forward,
)
from .geometry import as_tuple, positive, span

_LAYOUTS = "(N, C, L) or (N, C, H, W)"


def _spatial(op, x):
    if x.ndim not in (3, 4):
        hint = "; for a single image add a batch axis, e.g. x[None]" if x.ndim == 2 else ""
        raise ShapeError(f"{op}: expected a 3-D or 4-D input {_LAYOUTS}, got shape {x.shape}{hint}")
    return x.ndim - 2


def _factor(op, x, factor):
    nsp = _spatial(op, x)
    return positive(as_tuple(factor, nsp, op, "factor"), op, "factor")


def _every(factor):
    return (Ellipsis, *(slice(None, None, f) for f in factor))


class ResampleCache(NamedTuple):
    shape: tuple
    factor: tuple


def dilate_forward(x, *, factor):
    """Insert factor-1 zeros between neighbouring samples: (..., n) -> (..., (n - 1)*factor + 1)."""
    factor = _factor("dilate", x, factor)
    size = tuple(span(n, f) for n, f in zip(x.shape[2:], factor, strict=True))  # (n - 1)*f + 1
    y = get_xp(x).zeros((*x.shape[:2], *size), dtype=x.dtype)
    y[_every(factor)] = x
    return y, ResampleCache(x.shape, factor)


def dilate_backward(dy, cache):
    """dx = dy at the kept positions (the inserted zeros have no input)."""
    return (dy[_every(cache.factor)].copy(),)


def downsample_forward(x, *, factor):
    """Keep every factor-th sample, starting at 0: (..., n) -> (..., ceil(n / factor))."""
    factor = _factor("downsample", x, factor)
    return x[_every(factor)].copy(), ResampleCache(x.shape, factor)


def downsample_backward(dy, cache):
    """dx = dy at the kept positions, zero at the dropped ones."""
    dx = get_xp(dy).zeros(cache.shape, dtype=dy.dtype)
    dx[_every(cache.factor)] = dy
    return (dx,)


class InterpolateCache(NamedTuple):
    shape: tuple
    index: tuple  # source index per output position, one array per spatial axis


class AreaCache(NamedTuple):
    nsp: int  # spatial axes: 1 or 2
    pool: tuple  # ops.adaptive_pool's cache


class LinearCache(NamedTuple):
    shape: tuple
    taps: tuple  # (index, weight), both (K, n_out), per spatial axis: y = sum_k w[k] * x[index[k]]


_INTERPOLATING = {"linear": 1, "bilinear": 2, "bicubic": 2}  # spatial axes per mode, as PyTorch
_MODES = ("nearest", "nearest-exact", "area", *_INTERPOLATING)


def interpolate_forward(x, *, size=None, scale_factor=None, mode="nearest", align_corners=None,
                        recompute_scale_factor=None, antialias=False):  # fmt: skip
    """Resize as PyTorch's F.interpolate: mode "nearest", "nearest-exact", "area", "linear"
    (N, C, L) or "bilinear" (N, C, H, W) (module docstring), in x's dtype.

    scale = 1/scale_factor when scale_factor is given (unless recompute_scale_factor), else
    n_in/n_out; out = floor(n * scale_factor). align_corners is for the linear modes,
    antialias for bilinear.
    """
    op = "interpolate"
    if mode not in _MODES:
        raise ShapeError(
            f"{op}: mode={mode!r} is not supported; use 'nearest', 'nearest-exact', 'area',"
            f" 'linear' (N, C, L), 'bilinear' or 'bicubic' (N, C, H, W)"
        )
    if antialias and mode not in ("bilinear", "bicubic"):
        raise ShapeError(
            f"{op}: antialias=True applies to mode='bilinear' or 'bicubic' (a 4-D input), not"
            f" to mode={mode!r}, as in PyTorch; leave it False"
        )
    if mode not in _INTERPOLATING and align_corners is not None:
        raise ShapeError(
            f"{op}: align_corners applies to the interpolating modes (linear, bilinear,"
            f" bicubic), not to mode={mode!r}; leave it unset"
        )
    nsp = _spatial(op, x)
    if mode in _INTERPOLATING and nsp != _INTERPOLATING[mode]:
        wanted = {1: "'linear' for (N, C, L)", 2: "'bilinear' for (N, C, H, W)"}[nsp]
        raise ShapeError(
            f"{op}: mode={mode!r} needs a {_INTERPOLATING[mode] + 2}-D input, got shape {x.shape};"
            f" use mode={wanted}"
        )
    if 0 in x.shape[1:]:
        raise ShapeError(
            f"{op}: input shape {x.shape} is empty along a channel or spatial axis; only the"
            f" batch axis may be 0 (as in PyTorch)"
        )
    if recompute_scale_factor and size is not None:
        raise ShapeError(
            f"{op}: recompute_scale_factor applies to scale_factor, not to size={size!r} (the"
            f" size sets the scale already); leave it unset"
        )
    sizes, scales = _target(op, x.shape[2:], nsp, size, scale_factor)
    if recompute_scale_factor:  # PyTorch: the scale follows from the sizes, n_in / n_out
        scales = (None,) * nsp
    if mode == "area":  # PyTorch's: adaptive average pooling to the output size
        pool = adaptive_avg_pool2d_forward if nsp == 2 else adaptive_avg_pool1d_forward
        y, cache = pool(x, output_size=sizes if nsp == 2 else sizes[0])
        return y, AreaCache(nsp, cache)
    if mode in _INTERPOLATING:
        taps = tuple(
            _taps(n, m, s, bool(align_corners), bool(antialias), x.dtype, mode == "bicubic")
            for n, m, s in zip(x.shape[2:], sizes, scales, strict=True)
        )
        y = x
        for axis in reversed(range(nsp)):  # W first, then H: PyTorch's products
            y = _linear_along(y, axis + 2, taps[axis])
        return y, LinearCache(x.shape, taps)
    exact = mode == "nearest-exact"
    index = tuple(
        _nearest(n, m, s, exact) for n, m, s in zip(x.shape[2:], sizes, scales, strict=True)
    )
    y = x[(Ellipsis, *np.ix_(*index))] if nsp == 2 else x[..., index[0]]
    return y, InterpolateCache(x.shape, index)


def interpolate_backward(dy, cache):
    """dx[..., a, b] = sum of dy over the output positions that read (a, b), times their weight."""
    xp = get_xp(dy)
    if isinstance(cache, AreaCache):
        pool = adaptive_avg_pool2d_backward if cache.nsp == 2 else adaptive_avg_pool1d_backward
        return pool(dy, cache.pool)
    if isinstance(cache, LinearCache):
        dx = dy
        for axis, (n, taps) in enumerate(zip(cache.shape[2:], cache.taps, strict=True)):
            dx = _linear_adjoint(dx, axis + 2, n, taps)
        return (xp.ascontiguousarray(dx),)
    dx = dy
    for axis, (n, idx) in enumerate(zip(cache.shape[2:], cache.index, strict=True)):
        onehot = (xp.arange(n)[:, None] == xp.asarray(idx)[None, :]).astype(dy.dtype)
        dx = xp.moveaxis(xp.moveaxis(dx, axis + 2, -1) @ onehot.T, -1, axis + 2)
    return (xp.ascontiguousarray(dx),)


def _taps(n_in, n_out, scale_factor, align_corners, antialias, dtype, cubic=False):
    """(index, weight), both (K, n_out): the inputs each output position reads along one
    axis and their weights (K = 2, 4 for cubic, or the antialiasing window's width), computed
    as PyTorch's CPU kernels do, in the input's float type (float32: the same weights)."""
    ft = np.dtype(dtype).type if np.dtype(dtype).kind == "f" else np.float64
    dst = np.arange(n_out).astype(ft)
    if align_corners:
        scale = ft(n_in - 1) / ft(n_out - 1) if n_out > 1 else ft(0)
    else:
        scale = ft(1.0 / scale_factor) if scale_factor else ft(n_in) / ft(n_out)
    if antialias:
        return _antialias_taps(n_in, scale * (dst + ft(0.5)), scale, ft, cubic)
    src = dst * scale if align_corners else scale * (dst + ft(0.5)) - ft(0.5)
    if cubic:  # four neighbours, read clamped to the input; src is not clamped
        i0 = np.floor(src).astype(np.int64)
        index = np.clip(i0[None, :] + np.arange(-1, 3)[:, None], 0, n_in - 1)
        return index, _cubic_weights(src - i0.astype(ft), ft)
    i0 = np.minimum(np.floor(np.maximum(src, ft(0))).astype(np.int64), n_in - 1)
    l1 = np.clip(np.maximum(src, ft(0)) - i0.astype(ft), ft(0), ft(1))
    return np.stack([i0, np.minimum(i0 + 1, n_in - 1)]), np.stack([ft(1) - l1, l1])


CUBIC_A = -0.75  # PyTorch's bicubic (Keys' kernel); its antialiasing filter takes -0.5


def _cubic(x, a, ft):
    """Keys' cubic convolution kernel at |x| < 2 (0 beyond), as PyTorch's two polynomials."""
    x, a = np.abs(x), ft(a)
    near = ((a + ft(2)) * x - (a + ft(3))) * x * x + ft(1)
    far = ((a * x - ft(5) * a) * x + ft(8) * a) * x - ft(4) * a
    return np.where(x < 1, near, np.where(x < 2, far, ft(0))).astype(ft)


def _cubic_weights(t, ft):
    """The weights of the neighbours at -1, 0, 1, 2 of a source position t past the integer."""
    return np.stack([_cubic(t + ft(1), CUBIC_A, ft), _cubic(t, CUBIC_A, ft),
                     _cubic(ft(1) - t, CUBIC_A, ft), _cubic(ft(2) - t, CUBIC_A, ft)])  # fmt: skip


def _antialias_taps(n_in, centre, scale, ft, cubic=False):
    """The antialiasing filter's inputs and normalised weights around each output's centre
    (PyTorch's _upsample_bilinear2d_aa / _upsample_bicubic2d_aa): the inputs j in [centre -
    support + 0.5, centre + support + 0.5), support = h * max(scale, 1) (h = 1 for the
    triangle, 2 for the cubic with a = -0.5), w_j = filter((j - centre + 0.5) / max(scale,
    1)), normalised to sum 1."""
    stretch = max(scale, ft(1))
    support = ft(2 if cubic else 1) * stretch
    lo = np.maximum((centre - support + ft(0.5)).astype(np.int64), 0)
    hi = np.minimum((centre + support + ft(0.5)).astype(np.int64), n_in)
    width = int((hi - lo).max())
    index = lo[None, :] + np.arange(width)[:, None]  # (K, n_out)
    x = (index - centre + ft(0.5)) / stretch
    w = _cubic(x, -0.5, ft) if cubic else np.maximum(ft(1) - np.abs(x), ft(0)).astype(ft)
    w[index >= hi] = 0
    total = w.sum(axis=0)
    w = np.where(total != 0, w / np.where(total != 0, total, ft(1)), ft(0)).astype(ft)
    return np.minimum(index, n_in - 1), w


# Each axis is one matrix product with the dense (n_out, n_in) interpolation matrix A (two
# nonzeros a row): x @ A^T along the last axis, A @ x along H, and A^T in the backward, one
# BLAS call each. Measured, float32, one thread, rows of 28-448 doubled (11M outputs): forward
# 16-73 ms against 53-74 for gathering the two neighbours (np.take, weights, a sum), backward
# 11-75 against 235-323 for summing runs (np.add.reduceat). The sparse form stays for inputs
# that are not finite (0 * inf in A's zeros would spread NaN along the whole row, where
# PyTorch's two-term sums keep it to the outputs that read the inf) and for matrices above
# DENSE_ENTRIES.
DENSE_ENTRIES = 1 << 22


def _dense(taps, n_in, dtype):
    """A (n_out, n_in): A[i, index[k, i]] = the sum of the weights w[k, i] that read it."""
    index, w = taps
    a = np.zeros((index.shape[1], n_in), dtype=dtype)
    rows = np.broadcast_to(np.arange(index.shape[1]), index.shape)
    np.add.at(a, (rows, index), w.astype(dtype))
    return a


def _by_matrix(a, n_in, taps):
    """True when the dense product may stand in for the two-term sums along this axis."""
    xp = get_xp(a)
    return xp is np and taps[0].shape[1] * n_in <= DENSE_ENTRIES and bool(np.isfinite(a).all())


def _linear_along(x, axis, taps):
    """sum_k w[k] * x[index[k]] along ``axis`` (the last or the one before), in x's dtype."""
    n_in = x.shape[axis]
    if _by_matrix(x, n_in, taps):
        a = _dense(taps, n_in, x.dtype)
        return x @ a.T if axis == x.ndim - 1 else a @ x
    xp = get_xp(x)
    shape = (-1,) + (1,) * (x.ndim - 1 - axis)
    y = None
    for idx, w in zip(*taps, strict=True):
        with np.errstate(invalid="ignore"):  # inf * a zero weight: NaN, as PyTorch's sums give
            term = xp.take(x, xp.asarray(idx), axis=axis) * xp.asarray(w.reshape(shape)).astype(
                x.dtype
            )
        y = term if y is None else y + term
    return y


def _linear_adjoint(dy, axis, n, taps):
    """The adjoint of _linear_along: dx[j] = sum over the taps k and the outputs i with
    index[k, i] = j of w[k, i] * dy[i] (A^T dy; sparse: each tap's index never decreases along
    the axis, so the outputs reading j are one run per tap, summed by np.add.reduceat)."""
    if _by_matrix(dy, n, taps):
        a = _dense(taps, n, dy.dtype)
        return dy @ a if axis == dy.ndim - 1 else a.T @ dy
    xp = get_xp(dy)
    moved = xp.moveaxis(dy, axis, -1)
    dx = xp.zeros((*moved.shape[:-1], n), dtype=dy.dtype)
    for idx, w in zip(*taps, strict=True):
        with np.errstate(invalid="ignore"):  # inf * a zero weight: NaN, as in PyTorch
            weighted = moved * xp.asarray(w).astype(dy.dtype)
        first = np.flatnonzero(np.r_[True, idx[1:] != idx[:-1]])  # each run's first output
        dx[..., xp.asarray(idx[first])] += xp.add.reduceat(weighted, xp.asarray(first), axis=-1)
    return xp.moveaxis(dx, -1, axis)


def _target(op, in_sizes, nsp, size, scale_factor):
    """Output sizes and the scale PyTorch's kernel uses (None: derived from the sizes)."""
    if (size is None) == (scale_factor is None):
        raise ShapeError(f"{op}: give exactly one of size and scale_factor")
    if size is not None:
        sizes = positive(as_tuple(size, nsp, op, "size"), op, "size")
        return sizes, (None,) * nsp
    scales = scale_factor if isinstance(scale_factor, (tuple, list)) else (scale_factor,) * nsp
    if len(scales) != nsp or not all(
        isinstance(s, numbers.Real) and not isinstance(s, bool) and s > 0 for s in scales
    ):
        raise ShapeError(
            f"{op}: scale_factor={scale_factor!r} must be a positive number or a tuple of {nsp}"
        )
    sizes = tuple(math.floor(n * float(s)) for n, s in zip(in_sizes, scales, strict=True))
    if min(sizes) < 1:
        raise ShapeError(
            f"{op}: scale_factor={scale_factor!r} shrinks the input {tuple(in_sizes)} to"
            f" {sizes}; use a larger scale_factor"
        )
    return sizes, tuple(float(s) for s in scales)


def _nearest(n_in, n_out, scale_factor, exact=False):
    """The source index of each output position, as PyTorch's CPU kernels compute it (float32):
    floor(dst * scale), or floor((dst + 0.5) * scale) for nearest-exact, at most n_in - 1."""
    dst = np.arange(n_out)
    if n_out == n_in:
        return dst
    if n_out == 2 * n_in:
        return dst >> 1
    scale = np.float32(1.0 / scale_factor) if scale_factor else np.float32(n_in) / np.float32(n_out)
    if exact:  # (dst + 0.5) * scale in double, rounded to a float, then floored
        src = np.floor(((dst + 0.5) * np.float64(scale)).astype(np.float32)).astype(np.int64)
    else:
        src = np.floor(dst.astype(np.float32) * scale).astype(np.int64)
    return np.minimum(src, n_in - 1)
