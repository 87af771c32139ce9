"""Padding with PyTorch F.pad's semantics: pad = (last_lo, last_hi, 2nd_last_lo, 2nd_last_hi, ...).

    constant   value outside: [v v | a b c d | v v]       (negative pads crop)
    reflect    mirror without the edge: [c b | a b c d | c b]   (pad < n)
    replicate  repeat the edge: [a a | a b c d | d d]
    circular   wrap around: [c d | a b c d | a b]            (pad <= n)

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
        n = x_shape[axis]
        if mode == "constant":
            if n + lo + hi < 0:
                raise ShapeError(
                    f"{op}: pad ({lo}, {hi}) crops axis {axis} of size {n} below zero; crop less"
                )
            continue
        if lo < 0 or hi < 0:
            raise ShapeError(
                f"{op}: negative padding ({lo}, {hi}) on axis {axis} needs mode='constant',"
                f" got mode={mode!r}"
            )
        limit = {"reflect": n - 1, "circular": n, "replicate": None}[mode]
        if n < 1 or (limit is not None and max(lo, hi) > limit):
            rule = "< the axis size" if mode == "reflect" else "<= the axis size"
            raise ShapeError(
                f"{op}: mode={mode!r} needs padding {rule}, got ({lo}, {hi}) on axis {axis}"
                f" of size {n}; use less padding or mode='constant'"
            )
    return pads


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
    if mode == "circular":
        return j % n
    period = 2 * (n - 1)  # reflect: ... 2 1 | 0 1 2 ... n-1 | n-2 ...
    j = np.abs(j) % period if period else np.zeros_like(j)
    return np.where(j < n, j, period - j)
