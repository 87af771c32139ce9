"""Adaptive average and max pooling, 2-D: forward/backward pairs on arrays (PyTorch's windows).

x (N, C, H, W) or (C, H, W) -> (..., OH, OW) for any output size. Output row i pools input rows

    start_i = floor(i * H / OH)  ..  end_i = ceil((i + 1) * H / OH)   (exclusive)

and likewise for columns, so windows may differ in size and overlap when H % OH != 0.

avg: a window mean is separable, y = A_h @ x @ A_w.T with A[i, start_i:end_i] = 1 / (end_i -
start_i); when H % OH == 0 and W % OW == 0 this is a reshape-mean (and its backward a
broadcast), otherwise two BLAS contractions (tensordot) each way, with the (OH, H) and
(OW, W) matrices built once per call.
max: a loop over the offsets (u, v) of the largest window (at most ceil(H/OH)+1 by
ceil(W/OW)+1 of them), each a gather of one element per output cell, vectorised over
N, C, OH and OW (offsets past a window's end repeat its last element, which never changes
the max). The gradient goes to each window's first maximum in row-major order (a NaN
window's last NaN), as PyTorch's kernel; overlapping windows accumulate (one bincount).
"""

import numbers

import numpy as np

from ..backend import get_xp
from ..errors import ShapeError
from .geometry import adaptive_bounds


def check_output_size(op, output_size):
    """output_size: an int, or a pair of positive ints or None (None keeps the input's size)."""
    sizes = output_size if isinstance(output_size, (tuple, list)) else (output_size,) * 2
    ok = len(sizes) == 2 and all(
        s is None or (isinstance(s, numbers.Integral) and not isinstance(s, bool) and s >= 1)
        for s in sizes
    )
    if not ok:
        raise ShapeError(
            f"{op}: output_size={output_size!r} must be a positive integer or a pair (OH, OW) of"
            f" them (None keeps the input size); e.g. output_size=(1, 1) for global pooling"
        )
    return tuple(None if s is None else int(s) for s in sizes)


def check_adaptive(op, shape, output_size):
    """-> (OH, OW) for an input (N, C, H, W) or (C, H, W)."""
    sizes = check_output_size(op, output_size)
    if len(shape) not in (3, 4) or 0 in shape[-2:]:
        raise ShapeError(
            f"{op}: expected a 4-D input (N, C, H, W) or 3-D (C, H, W) with non-empty H and W,"
            f" got shape {tuple(shape)}"
        )
    return tuple(n if s is None else s for s, n in zip(sizes, shape[-2:], strict=True))


def _mean_matrix(n_in, n_out, dtype, xp):
    """(n_out, n_in): row i averages input positions start_i .. end_i - 1."""
    start, end = (xp.asarray(b) for b in adaptive_bounds(n_in, n_out))
    j = xp.arange(n_in)
    inside = (j >= start[:, None]) & (j < end[:, None])
    return (inside / (end - start)[:, None]).astype(dtype)


def adaptive_avg_pool2d_forward(x, *, output_size):
    xp = get_xp(x)
    oh, ow = check_adaptive("adaptive_avg_pool2d", x.shape, output_size)
    *lead, h, w = x.shape
    if h % oh == 0 and w % ow == 0:
        y = x.reshape(*lead, oh, h // oh, ow, w // ow).mean(axis=(-3, -1))
        return y, (x.shape, None, None)
    a_h, a_w = _mean_matrix(h, oh, x.dtype, xp), _mean_matrix(w, ow, x.dtype, xp)
    rows = xp.tensordot(x, a_w, axes=([-1], [1]))  # (..., H, OW)
    y = xp.moveaxis(xp.tensordot(a_h, rows, axes=([1], [-2])), 0, -2)  # (..., OH, OW)
    return y, (x.shape, a_h, a_w)


def adaptive_avg_pool2d_backward(dy, cache):
    """dx = A_h.T @ dy @ A_w (a broadcast of dy / (kh * kw) in the divisible case)."""
    xp = get_xp(dy)
    x_shape, a_h, a_w = cache
    *lead, h, w = x_shape
    oh, ow = dy.shape[-2:]
    if a_h is None:
        kh, kw = h // oh, w // ow
        g = dy / (kh * kw)
        full = xp.broadcast_to(g[..., :, None, :, None], (*lead, oh, kh, ow, kw))
        return (full.reshape(x_shape).astype(dy.dtype, copy=False),)
    cols = xp.tensordot(dy, a_w, axes=([-1], [0]))  # (..., OH, W)
    dx = xp.moveaxis(xp.tensordot(a_h, cols, axes=([0], [-2])), 0, -2)  # (..., H, W)
    return (dx,)


def adaptive_max_pool2d_forward(x, *, output_size):
    xp = get_xp(x)
    oh, ow = check_adaptive("adaptive_max_pool2d", x.shape, output_size)
    h, w = x.shape[-2:]
    (h0, h1), (w0, w1) = (map(xp.asarray, adaptive_bounds(n, o)) for n, o in ((h, oh), (w, ow)))
    best = arg = None
    for u in range(int((h1 - h0).max())):
        rows = xp.minimum(h0 + u, h1 - 1)[:, None]
        for v in range(int((w1 - w0).max())):
            cols = xp.minimum(w0 + v, w1 - 1)[None, :]
            val = x[..., rows, cols]  # (..., OH, OW)
            flat = xp.broadcast_to(rows * w + cols, val.shape)
            if best is None:
                best, arg = val.copy(), flat.copy()
                continue
            nan = xp.isnan(val)  # the last NaN in row-major order, whatever the visiting order
            take = (val > best) | (nan & ~(xp.isnan(best) & (flat <= arg)))
            best[take], arg[take] = val[take], flat[take]
    return best, (x.shape, arg)


def adaptive_max_pool2d_backward(dy, cache):
    """Each window's gradient to its recorded maximum; shared maxima accumulate."""
    xp = get_xp(dy)
    x_shape, arg = cache
    plane = x_shape[-2] * x_shape[-1]
    planes = int(np.prod(x_shape[:-2]))
    offset = (xp.arange(planes) * plane).reshape(x_shape[:-2] + (1, 1))
    dx = xp.bincount((arg + offset).ravel(), weights=dy.ravel(), minlength=planes * plane)
    return (dx.reshape(x_shape).astype(dy.dtype, copy=False),)
