"""Occlusion (Captum's Occlusion): cover a window with the baseline, see how far the logit falls.

A window of shape (c, kh, kw) slides over each image's (C, H, W) with strides (sc, sh, sw):
along an axis of length D it starts at 0, s, 2s, ... for ceil((D - k) / s) + 1 positions (the
last one clipped at the border). For window m with 0/1 mask M_m (C, H, W):

    x_m        = x * (1 - M_m) + baseline * M_m
    drop[m, n] = y[n, t_n](x) - y[n, t_n](x_m)
    attr[n]    = sum_m drop[m, n] M_m / sum_m M_m          each number: the mean drop of the
                                                           windows that covered it
The masks are outer products of one indicator per axis, so both sums are one einsum, and the
occluded images go through the model as batches of many windows (no Python loop per window).
"""

import math

import numpy as np

from ..autograd import Tensor, no_grad
from ..errors import ShapeError
from .checks import MAX_BATCH_ELEMENTS, baselines, images, inspecting, positive_int, targets


def occlusion(model, x, target=None, window=4, stride=1, baseline=0.0, perturbations_per_eval=None):
    """Captum's Occlusion attribution: x's shape, the mean logit drop of the windows over each number.

    x: (N, C, H, W) or one image (C, H, W), as the model takes it. target: an int, one per image,
    or None (each image's predicted class). window: k (k x k over every channel), (kh, kw), or
    Captum's (c, kh, kw). stride: the same forms (default 1). baseline: the value a covered
    number takes: a number, or an array broadcastable to x. perturbations_per_eval: windows per
    forward pass (default: as many as fit ~262k input numbers).
    """
    op = "occlusion"
    batch, single = images(model, x, op)
    shape = batch.shape[1:]
    window = _per_axis(window, shape, op, "window")
    stride = _per_axis(stride, shape, op, "stride", window)
    for d, k, s in zip(shape, window, stride, strict=True):
        if k > d:
            raise ShapeError(
                f"{op}: window {_x(window)} is larger than the input {_x(shape)}; use a window"
                f" of at most {_x(shape)}"
            )
        if s > k and k < d:
            raise ShapeError(
                f"{op}: stride {_x(stride)} is larger than window {_x(window)}, which would"
                f" leave numbers uncovered; use a stride of at most the window"
            )
    masks = [_indicators(d, k, s) for d, k, s in zip(shape, window, stride, strict=True)]
    base = baselines(baseline, batch, op)
    n = len(batch)
    with inspecting(model), no_grad():
        clean = model(Tensor(batch)).data
        t = targets(target, clean, op)
        rows = np.arange(n)
        counts = tuple(len(a) for a in masks)
        per_eval = _windows_per_eval(perturbations_per_eval, batch, op)
        drops = []
        for m0 in range(0, math.prod(counts), per_eval):
            m = _window_masks(masks, counts, m0, per_eval).astype(batch.dtype)[:, None]
            covered = batch[None] * (1 - m) + base[None] * m  # (windows, N, C, H, W)
            y = model(Tensor(covered.reshape(-1, *shape))).data.reshape(len(m), n, -1)
            drops.append(clean[rows, t] - y[:, rows, t])
    drop = np.concatenate(drops).reshape(*counts, n)
    total = np.einsum("ijkn,ic,jh,kw->nchw", drop, *masks)
    count = np.einsum("ic,jh,kw->chw", *masks)
    attr = (total / count).astype(batch.dtype, copy=False)
    return attr[0] if single else attr


def _per_axis(value, shape, op, name, window=None):
    """k, (kh, kw) or (c, kh, kw) -> (c, kh, kw); a window's c defaults to every channel."""
    vals = (value,) if isinstance(value, (int, np.integer)) else tuple(value)
    if len(vals) not in (1, 2, 3) or not all(
        isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in vals
    ):
        raise ShapeError(f"{op}: {name} must be an int or a tuple of 2 or 3 ints, got {value!r}")
    if len(vals) == 1:
        vals = vals * 2
    if len(vals) == 2:
        vals = ((shape[0] if window is None else 1), *vals)
    for v in vals:
        positive_int(int(v), op, name)
    return tuple(int(v) for v in vals)


def _indicators(d, k, s):
    """(positions, d) 0/1 rows: window p covers [p*s, p*s + k) on an axis of length d."""
    starts = np.arange(math.ceil((d - k) / s) + 1) * s
    idx = np.arange(d)
    return ((idx >= starts[:, None]) & (idx < starts[:, None] + k)).astype(np.float64)


def _window_masks(masks, counts, start, size):
    """The 0/1 masks (windows, C, H, W) of windows start .. start + size - 1 (C-order over the
    per-axis positions): each the outer product of its three axis indicators."""
    i, j, k = np.unravel_index(np.arange(start, min(start + size, math.prod(counts))), counts)
    a, b, c = masks
    return a[i][:, :, None, None] * b[j][:, None, :, None] * c[k][:, None, None, :]


def _windows_per_eval(value, batch, op):
    if value is None:
        return max(1, MAX_BATCH_ELEMENTS // batch.size)
    return positive_int(value, op, "perturbations_per_eval")


def _x(dims):
    return "x".join(str(d) for d in dims)
