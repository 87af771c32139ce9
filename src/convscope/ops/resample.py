"""Resampling on the spatial axes of (N, C, L) or (N, C, H, W): the link between stride and scale.

    dilate(x, s)[..., i*s, j*s] = x[..., i, j], zeros elsewhere      size (n - 1)*s + 1
    downsample(x, s)[..., i, j] = x[..., i*s, j*s]                    size ceil(n / s)
    interpolate(x, size)[..., i, j] = x[..., src_h(i), src_w(j)]        nearest neighbour

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


def interpolate_forward(x, *, size=None, scale_factor=None, mode="nearest"):
    """Nearest-neighbour resize as PyTorch's: src = min(floor(dst * scale), n - 1) in float32.

    scale = 1/scale_factor when scale_factor is given, else n_in/n_out; out = floor(n * scale_factor).
    """
    op = "interpolate"
    if mode != "nearest":
        raise ShapeError(f"{op}: mode={mode!r} is not supported; use mode='nearest'")
    nsp = _spatial(op, x)
    sizes, scales = _target(op, x.shape[2:], nsp, size, scale_factor)
    index = tuple(_nearest(n, m, s) for n, m, s in zip(x.shape[2:], sizes, scales, strict=True))
    y = x[(Ellipsis, *np.ix_(*index))] if nsp == 2 else x[..., index[0]]
    return y, InterpolateCache(x.shape, index)


def interpolate_backward(dy, cache):
    """dx[..., a, b] = sum of dy over the output positions whose source is (a, b)."""
    xp = get_xp(dy)
    dx = dy
    for axis, (n, idx) in enumerate(zip(cache.shape[2:], cache.index, strict=True)):
        onehot = (xp.arange(n)[:, None] == xp.asarray(idx)[None, :]).astype(dy.dtype)
        dx = xp.moveaxis(xp.moveaxis(dx, axis + 2, -1) @ onehot.T, -1, axis + 2)
    return (xp.ascontiguousarray(dx),)


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


def _nearest(n_in, n_out, scale_factor):
    dst = np.arange(n_out)
    if n_out == n_in:
        return dst
    if n_out == 2 * n_in:
        return dst >> 1
    scale = np.float32(1.0 / scale_factor) if scale_factor else np.float32(n_in) / np.float32(n_out)
    src = np.floor(dst.astype(np.float32) * scale).astype(np.int64)
    return np.minimum(src, n_in - 1)
