"""Padding with PyTorch F.pad's semantics: pad = (last_lo, last_hi, 2nd_last_lo, 2nd_last_hi, ...).

    constant   value outside: [v v | a b c d | v v]
    reflect    mirror without the edge: [c b | a b c d | c b]   (pad < n)
    replicate  repeat the edge: [a a | a b c d | d d]
    circular   wrap around: [c d | a b c d | a b]            (pad <= n)

A negative pad crops, in every mode (PyTorch's rules): constant, reflect and replicate index
the input as if padded (reflect (-1, 2) of [a b c d]: [b c d c b]); circular crops first and
wraps around what is left (circular (-1, 2): [b c d b c]).

Non-constant modes index the input along each padded axis (y = x[..., src]); their
backward sums dy over the positions that read the same source.
"""

from typing import NamedTuple

import numpy as np

from ..backend import get_xp
from ..errors import ShapeError

MODES = ("constant", "reflect", "replicate", "circular")


class PadCache(NamedTuple):
    shape: tuple
    pads: tuple  # ((axis, lo, hi), ...)
    mode: str


def check_pad(x_shape, pad, mode):
    """Validate F.pad's arguments; returns ((axis, lo, hi), ...) for the padded axes."""
    op = "pad"
    if mode not in MODES:
        raise ShapeError(f"pad: mode={mode!r} is not one of {', '.join(MODES)}")
    if (
        not isinstance(pad, (tuple, list))
        or len(pad) % 2
        or not all(isinstance(p, (int, np.integer)) and not isinstance(p, bool) for p in pad)
    ):
        raise ShapeError(
            f"{op}: pad={pad!r} must be a tuple of an even number of integers"
            f" (last_lo, last_hi, 2nd_last_lo, 2nd_last_hi, ...)"
        )
    ndim = len(x_shape)
    if len(pad) // 2 > ndim:
        raise ShapeError(
            f"{op}: pad={tuple(pad)} pads {len(pad) // 2} axes but the input {tuple(x_shape)}"
            f" has only {ndim}"
        )
    pads = tuple((ndim - 1 - i, int(pad[2 * i]), int(pad[2 * i + 1])) for i in range(len(pad) // 2))
    for axis, lo, hi in pads:
        _check_axis(mode, x_shape[axis], axis, lo, hi)
    if mode in ("reflect", "replicate"):  # PyTorch: only a batch axis may be empty
        first = 0 if ndim == len(pads) + 1 else 1
        if 0 in x_shape[first:]:
            raise ShapeError(
                f"{op}: mode={mode!r} needs a non-empty input but shape {tuple(x_shape)} is"
                f" empty along axis {x_shape.index(0, first)} (only a batch axis may be 0);"
                f" use mode='constant' or 'circular'"
            )
    return pads


def _check_axis(mode, n, axis, lo, hi):
    """The rules of one padded axis of size n; a negative pad crops (PyTorch's)."""
    op, left = "pad", n + min(lo, 0) + min(hi, 0)  # what the crops leave
    if left < 0 and mode in ("constant", "circular"):  # (the others index the input instead)
        raise ShapeError(
            f"{op}: pad ({lo}, {hi}) crops {-min(lo, 0) - min(hi, 0)} cells from axis {axis} of"
            f" size {n}; crop at most {n}"
        )
    if mode == "constant":
        return
    if mode == "circular":  # crop first, then wrap around what is left, once at most
        if max(lo, hi) > left:
            raise ShapeError(
                f"{op}: mode='circular' pads ({lo}, {hi}) on axis {axis} of size {n}: the crops"
                f" leave {left} cells and a pad may wrap around them once at most; pad <= {left}"
            )
        return
    if n < 1 or n + lo + hi < 1:
        raise ShapeError(
            f"{op}: mode={mode!r} pads ({lo}, {hi}) on axis {axis} of size {n} would leave"
            f" {max(n + lo + hi, 0)} cells; it needs an input cell to repeat and one to output"
        )
    if mode == "reflect" and max(lo, hi) >= n:
        raise ShapeError(
            f"{op}: mode='reflect' needs padding < the axis size, got ({lo}, {hi}) on axis"
            f" {axis} of size {n}; use less padding or mode='constant'"
        )


def pad_forward(x, *, pad, mode="constant", value=0.0):
    """x (..., n) -> y (..., lo + n + hi) on each padded axis."""
    pads = check_pad(x.shape, pad, mode)
    if mode == "constant":
        return _constant(x, pads, value), PadCache(x.shape, pads, mode)
    xp = get_xp(x)
    y = x
    for axis, lo, hi in pads:
        y = xp.take(y, xp.asarray(_source(x.shape[axis], lo, hi, mode)), axis=axis)
    return y, PadCache(x.shape, pads, mode)


def pad_backward(dy, cache):
    """dx: constant mode crops dy back; other modes sum dy over each source position."""
    if cache.mode == "constant":
        return (_constant(dy, tuple((a, -lo, -hi) for a, lo, hi in cache.pads), 0.0),)
    xp = get_xp(dy)
    dx = dy
    for axis, lo, hi in cache.pads:
        n = cache.shape[axis]
        src = xp.asarray(_source(n, lo, hi, cache.mode))
        onehot = (xp.arange(n)[:, None] == src[None, :]).astype(dy.dtype)
        dx = xp.moveaxis(xp.moveaxis(dx, axis, -1) @ onehot.T, -1, axis)
    return (xp.ascontiguousarray(dx),)


def _constant(x, pads, value):
    """Constant padding with crops for negative pads: y[inner] = x[inner]."""
    shape, dst, src = list(x.shape), [slice(None)] * x.ndim, [slice(None)] * x.ndim
    for axis, lo, hi in pads:
        n = x.shape[axis]
        shape[axis] = n + lo + hi
        dst[axis] = slice(max(lo, 0), max(lo, 0) + max(n + min(lo, 0) + min(hi, 0), 0))
        src[axis] = slice(max(-lo, 0), n - max(-hi, 0))
    y = get_xp(x).full(shape, value, dtype=x.dtype)
    y[tuple(dst)] = x[tuple(src)]
    return y


def _source(n, lo, hi, mode):
    """Index into the input for every position of the padded axis."""
    j = np.arange(-lo, n + hi)
    if mode == "replicate":
        return np.clip(j, 0, n - 1)
    if mode == "circular":  # crops first; the pads wrap around what the crops left
        start, left = max(-lo, 0), n + min(lo, 0) + min(hi, 0)
        return start + (np.arange(j.size) - max(lo, 0)) % left if j.size else j
    period = 2 * (n - 1)  # reflect: ... 2 1 | 0 1 2 ... n-1 | n-2 ...
    j = np.abs(j) % period if period else np.zeros_like(j)
    return np.where(j < n, j, period - j)
