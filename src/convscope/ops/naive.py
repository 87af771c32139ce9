"""Naive loop twins: the definitions, written to be read, not run on real data.

They are the reference that tests and explain compare the vectorised ops against (explain
prints their numbers). Single image, no batch: A (C, H, W), W (C, KH, KW). Which cells a
window reads comes from ``geometry`` (Windows.window), as it does for the ops.
"""

import numpy as np

from .geometry import conv_windows, pool_windows

_PAD = {np.max: -np.inf, np.min: np.inf}  # a value that never wins; zeros otherwise (mean)


def corr2d(a, w, b=0.0, stride=1, padding=0, dilation=1):
    """Z[i,j] = b + sum_{c,u,v} A[c, i*S+u*D, j*S+v*D] * W[c,u,v]  (A zero-padded by P)."""
    g = conv_windows("corr2d", a.shape[1:], w.shape[1:], stride, padding, dilation)
    ap = pad(a, g.pads)
    z = np.zeros(g.out_size, dtype=np.result_type(a, w))
    for i, j in np.ndindex(*g.out_size):
        z[i, j] = (ap[(slice(None), *g.window((i, j)))] * w).sum() + b
    return z


def corr2d_backward(a, w, dz, stride=1, padding=0, dilation=1):
    """(dA, dW, db) of Z = corr2d(A, W, b): each window hands dZ[i,j] back through its products,
    dAp[window(i,j)] += W * dZ[i,j] and dW += Ap[window(i,j)] * dZ[i,j]; db = sum of dZ."""
    g = conv_windows("corr2d", a.shape[1:], w.shape[1:], stride, padding, dilation)
    ap = pad(a, g.pads)
    dap, dw = np.zeros_like(ap), np.zeros_like(w)
    for i, j in np.ndindex(*g.out_size):
        win = (slice(None), *g.window((i, j)))
        dap[win] += w * dz[i, j]
        dw += ap[win] * dz[i, j]
    return crop(dap, g.pads), dw, dz.sum()


def pool2d(a, kernel, stride=None, reduce=np.max, *, padding=0, dilation=1, ceil_mode=False):
    """Y[c,i,j] = reduce(Ap[c, window(i,j)]); channels are kept. Ap is A padded with -inf
    (max), +inf (min) or zeros; a ceil_mode window is clipped to Ap."""
    g = pool_windows("pool2d", a.shape[1:], kernel, stride, padding, dilation, ceil_mode)
    ap = pad(a, g.pads, _PAD.get(reduce, 0.0))
    y = np.zeros((a.shape[0], *g.out_size), dtype=a.dtype)
    for i, j in np.ndindex(*g.out_size):
        y[:, i, j] = reduce(ap[(slice(None), *g.window((i, j)))], axis=(1, 2))
    return y


def pool2d_backward(a, dy, kernel, stride=None, mode="max", *, padding=0, dilation=1,
                    ceil_mode=False):  # fmt: skip
    """(dA, chosen) of Y = pool2d(A): max/min send dY[c,i,j] to the window's first extreme input
    cell in row-major order (a NaN window's last NaN; padding never takes it), as PyTorch;
    chosen[c, i, j] = (r, q), that cell of Ap. mean: each cell of the window gets dY / its size."""
    g = pool_windows("pool2d", a.shape[1:], kernel, stride, padding, dilation, ceil_mode)
    ap, real = pad(a, g.pads), pad(np.ones(a.shape[1:], dtype=bool), g.pads, False)
    dap, chosen = np.zeros_like(ap, dtype=np.result_type(a, dy)), {}
    channels = np.arange(dy.shape[0])
    for i, j in np.ndindex(dy.shape[1:]):  # one window position, every channel at once
        rows, cols = g.window((i, j))
        if mode == "mean":
            dap[:, rows, cols] += dy[:, i, j, None, None] / real[rows, cols].size
            continue
        u, v = np.nonzero(real[rows, cols])  # the window's input cells, row-major
        values = ap[:, rows, cols][:, u, v]  # (C, cells)
        nan = np.isnan(values)
        last_nan = values.shape[1] - 1 - np.argmax(nan[:, ::-1], axis=1)
        first = (np.argmax if mode == "max" else np.argmin)(np.where(nan, 0, values), axis=1)
        pick = np.where(nan.any(axis=1), last_nan, first)
        r, q = rows.start + u[pick] * rows.step, cols.start + v[pick] * cols.step
        np.add.at(dap, (channels, r, q), dy[:, i, j])
        chosen.update({(c, i, j): (int(r[c]), int(q[c])) for c in channels})
    return crop(dap, g.pads), chosen


def pad(a, pads, value=0.0):
    """A (..., H, W) with ((top, bottom), (left, right)) cells of ``value`` around it."""
    return np.pad(a, ((0, 0),) * (a.ndim - 2) + tuple(pads), constant_values=value)


def crop(ap, pads):
    """The inverse of pad: the (..., H, W) inside ((top, bottom), (left, right))."""
    (t, b), (l, r) = pads
    return ap[..., t : ap.shape[-2] - b, l : ap.shape[-1] - r]
