"""Batch, layer and group normalisation: forward/backward pairs on arrays.

Batch normalisation over (N, C) or (N, C, *spatial):

Per channel c, over the batch and spatial axes (n = N * prod(spatial) values):

    training:  mu = mean(x),  var = mean((x - mu)^2)            (biased, for normalising)
               running_mean <- (1 - momentum) * running_mean + momentum * mu       (in place)
               running_var  <- (1 - momentum) * running_var  + momentum * var * n/(n-1)
    eval:      mu, var = running_mean, running_var
    y = (x - mu) / sqrt(var + eps) * weight + bias

Backward (training, xhat = (x - mu) / sqrt(var + eps), g = dy * weight):
    dx = (g - mean(g) - xhat * mean(g * xhat)) / sqrt(var + eps)
    dweight = sum(dy * xhat),  dbias = sum(dy)

With compiled kernels (``kernels.available()``), batch_norm of a float32/64 input with
spatial axes runs kernels.channel_stats: one channel at a time, float64 sums, the input
itself kept for the backward instead of xhat (BatchNormCache); layer_norm and group_norm run
the same kernels on the input viewed as rows, one per normalised group (RowNormCache). The
NumPy path is their twin.

layer_norm and group_norm use the same statistics per sample instead of per channel:
layer_norm over the trailing normalized_shape axes (weight, bias of that shape), group_norm
over each group of C / G channels and the spatial axes (weight, bias per channel (C,));
both always use the current input's statistics (no running buffers), as PyTorch.

eps: batch_norm needs eps > 0 when training and eps >= 0 in eval mode (PyTorch's rule);
layer_norm and group_norm take any real eps (nan where var + eps < 0, as PyTorch). An empty
input gives an empty result (and zero weight and bias gradients); batch_norm then leaves the
running statistics alone.
"""

import math
import numbers
from typing import NamedTuple

import numpy as np

from .. import kernels
from ..backend import get_xp
from ..errors import ShapeError


class BatchNormCache(NamedTuple):
    """The compiled path's batch_norm cache: the input itself and the per-channel values."""

    x3: np.ndarray  # the input viewed (N, C, L)
    mean: np.ndarray  # (C,) in x's dtype: the batch's mean, or running_mean in eval mode
    invstd: np.ndarray  # (C,) 1 / sqrt(var + eps)
    weight: object  # (C,) or None
    has_bias: bool
    training: bool


def check_batch_norm(x, weight, bias, running_mean, running_var, training, momentum, eps):
    """The batch_norm shape checker: every per-channel array is (C,)."""
    op = "batch_norm"
    if x.ndim < 2:
        raise ShapeError(f"{op}: expected an input (N, C) or (N, C, ...), got shape {x.shape}")
    c = x.shape[1]
    for name, arr in (("weight", weight), ("bias", bias), ("running_mean", running_mean), ("running_var", running_var)):  # fmt: skip
        if arr is not None and arr.shape != (c,):
            raise ShapeError(
                f"{op}: {name} has shape {arr.shape} but the input {x.shape} has {c} channels;"
                f" expected ({c},)"
            )
    for name, arr in (("running_mean", running_mean), ("running_var", running_var)):
        if arr is not None and arr.dtype.kind != "f":
            raise ShapeError(
                f"{op}: {name} must be a float array (it is updated in place), got {arr.dtype}"
            )
    if not training and (running_mean is None or running_var is None):
        raise ShapeError(
            f"{op}: eval mode (training=False) normalises with running_mean and running_var;"
            f" pass both, or use training=True"
        )
    if training and x.size and x.size // c <= 1:
        raise ShapeError(
            f"{op}: expected more than 1 value per channel when training, got input shape"
            f" {x.shape}; use a batch of 2 or more, or eval mode"
        )
    _real(op, "momentum", momentum)  # any real, as PyTorch (ignored in eval mode)
    _real(op, "eps", eps)
    if eps <= 0 if training else eps < 0:
        raise ShapeError(
            f"{op}: eps={eps!r} must be > 0 when training and >= 0 in eval mode (as PyTorch):"
            f" a constant channel has var = 0; e.g. eps=1e-5"
        )


def batch_norm_forward(
    x, weight=None, bias=None, *, running_mean=None, running_var=None, training=False,
    momentum=0.1, eps=1e-5,
):  # fmt: skip
    """x (N, C, *) -> y of the same shape; updates running_mean/var in place when training."""
    xp = get_xp(x, weight)
    check_batch_norm(x, weight, bias, running_mean, running_var, training, momentum, eps)
    axes = (0, *range(2, x.ndim))
    bshape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    if x.size == 0:  # PyTorch: an empty result, the running statistics left alone
        ones = xp.ones(x.shape[1], x.dtype)
        return x.copy(), (x, ones, weight, bias is not None, False, axes, bshape)
    if x.ndim > 2 and _compiled(x, weight, bias):  # (N, C) has runs of one: NumPy is faster
        return _compiled_forward(
            x, weight, bias, running_mean, running_var, training, momentum, eps
        )
    if training:
        mean = x.mean(axis=axes)
        xc = x - mean.reshape(bshape)
        var = (_channel_dots(xc, xc) / (x.size // x.shape[1])).astype(x.dtype)
        _update_running(running_mean, running_var, mean, var, momentum, x.size // x.shape[1])
    else:
        xc = x - running_mean.astype(x.dtype).reshape(bshape)
        var = running_var.astype(x.dtype)
    with np.errstate(invalid="ignore", divide="ignore"):  # var + eps <= 0: nan/inf, as PyTorch
        invstd = 1 / xp.sqrt(var + eps)
        xhat = xc
        xhat *= invstd.reshape(bshape)  # xc is this call's own array: xhat in its place
    y = xhat if weight is None else xhat * weight.reshape(bshape)
    if bias is not None:
        b = bias.reshape(bshape)
        if y is not xhat and xp.result_type(y, b) == y.dtype:
            y += b  # y's own array, and NumPy's promotion keeps its dtype
        else:
            y = y + b
    return y, (xhat, invstd, weight, bias is not None, training, axes, bshape)


def batch_norm_backward(dy, cache, needs=(True, True, True)):
    """(dx, dweight, dbias); None for an absent weight/bias or one not needed.

    With per-channel sums S = sum dy and T = sum dy * xhat over the M values of a channel,
    training: dx = weight * invstd * (dy - S / M - xhat * T / M); eval: dx = weight * invstd * dy;
    dweight = T, dbias = S."""
    if isinstance(cache, BatchNormCache):
        return _compiled_backward(dy, cache, needs)
    xhat, invstd, weight, has_bias, training, axes, bshape = cache
    count = xhat.size // xhat.shape[1]
    dtype = np.result_type(dy, xhat)
    sums = dy.sum(axis=axes) if (has_bias and needs[2]) or (training and needs[0]) else None
    dots = None
    if (weight is not None and needs[1]) or (training and needs[0]):
        dots = _channel_dots(dy, xhat)
    dx = None
    if needs[0]:
        scale = invstd if weight is None else invstd * weight
        dx = dy * scale.reshape(bshape)
        if training:
            dx -= (scale * sums / count).astype(dtype).reshape(bshape)
            dx -= xhat * (scale * dots / count).astype(dtype).reshape(bshape)
    dw = dots.astype(weight.dtype) if weight is not None and needs[1] else None
    db = sums if has_bias and needs[2] else None
    return dx, dw, db


def _channel_dots(a, b):
    """sum over every axis but 1 of a * b, per channel, in float64: one dot product per (n, c)
    run (BLAS, no full-size temporary), then the batch summed."""
    xp = get_xp(a, b)
    n, c, m = a.shape[0], a.shape[1], math.prod(a.shape[2:])
    a3, b3 = a.reshape(n, c, 1, m), b.reshape(n, c, m, 1)
    return xp.matmul(a3, b3).reshape(n, c).sum(axis=0, dtype=np.float64)


class RowNormCache(NamedTuple):
    """The compiled path's layer_norm / group_norm cache: statistics per normalised row."""

    rows: np.ndarray  # the input viewed (1, R, L): R rows of L normalised values
    mean: np.ndarray  # (R,) in x's dtype
    invstd: np.ndarray  # (R,)
    wpat: np.ndarray  # (P, L): each row's weights by position (row r takes pattern r % P)
    weight: object  # the weight as given (None: no dweight)
    has_bias: bool
    per_channel: bool  # group norm: dweight, dbias per channel (sum over the positions)
    shape: tuple  # weight's and bias's shape: (C,) or the normalized shape


def _row_norm(x, rows, weight, bias, shape, per_channel, eps):
    """layer_norm / group_norm on the compiled path: x viewed as ``rows`` (R, L), each row
    normalised and the affine applied in one pass of kernels.channel_stats (float64 sums).
    weight and bias have ``shape``: per_channel (group norm) (C,), each value repeated over its
    channel's positions in a row of C/G channels; else (layer norm) the normalized shape."""
    k, dtype, r = kernels.batch_norm(), x.dtype, rows[0]
    x3 = np.ascontiguousarray(x).reshape(1, *rows)
    mean, var = np.empty(r), np.empty(r)
    k.moments(x3, mean, var)
    mean = mean.astype(dtype)
    with np.errstate(invalid="ignore", divide="ignore"):  # var + eps <= 0: nan/inf, as PyTorch
        invstd = 1 / np.sqrt(var.astype(dtype) + eps)
    wpat, bpat = (_pattern(a, fill, x, rows, per_channel) for a, fill in ((weight, 1), (bias, 0)))
    y = np.empty_like(x3)
    k.normalize_rows(x3, mean, invstd, wpat, bpat, y)
    cache = RowNormCache(x3, mean, invstd, wpat, weight, bias is not None, per_channel, shape)
    return y.reshape(x.shape), cache


def _pattern(a, fill, x, rows, per_channel):
    """(P, L) per-position values of weight or bias for _row_norm (``fill`` where a is None):
    group norm (per_channel): (G, C/G channels x their positions), each channel's value
    repeated over its positions; layer norm: (1, L), the normalized shape's values."""
    length = rows[1]
    if not per_channel:
        return np.full((1, length), fill, x.dtype) if a is None else a.reshape(1, length)
    groups, channels = rows[0] // x.shape[0], x.shape[1]
    values = _per_channel(a, fill, channels, x.dtype)
    return np.repeat(values.reshape(groups, -1), length * groups // channels, axis=1)


def _row_norm_backward(dy, cache, needs):
    x3, mean, invstd, wpat, weight, has_bias, per_channel, shape = cache
    k, dtype, (_, r, m) = kernels.batch_norm(), x3.dtype, x3.shape
    dy3 = np.ascontiguousarray(dy, dtype=dtype).reshape(x3.shape)
    sum_g, sum_g_xc = np.empty(r), np.empty(r)
    dwpat, dbpat = np.zeros(wpat.shape), np.zeros(wpat.shape)
    k.row_grad_sums(dy3, x3, mean, invstd, wpat, sum_g, sum_g_xc, dwpat, dbpat)
    dx = dw = db = None
    if needs[0]:
        mean_g, mean_g_xhat = (sum_g / m).astype(dtype), (invstd * sum_g_xc / m).astype(dtype)
        dx = np.empty_like(x3)
        k.row_input_grad(dy3, x3, mean, invstd, wpat, mean_g, mean_g_xhat, dx)
        dx = dx.reshape(dy.shape)
    if weight is not None and needs[1]:
        dw = _unpattern(dwpat, shape, per_channel).astype(weight.dtype)
    if has_bias and needs[2]:
        db = _unpattern(dbpat, shape, per_channel).astype(dtype)
    return dx, dw, db


def _unpattern(pat, shape, per_channel):
    """The (P, L) per-position sums back to a parameter of ``shape``: each channel's positions
    summed (group norm) or the L values reshaped (layer norm)."""
    if per_channel:
        return pat.reshape(shape[0], -1).sum(axis=1)
    return pat.reshape(shape)


def _affine_grads(dy, xhat, weight, has_bias, sum_axes, needs):
    """(dweight, dbias) of y = xhat * weight + bias summed over sum_axes (None where unused)."""
    dw = db = None
    if weight is not None and needs[1]:
        if sum_axes == (0, *range(2, dy.ndim)):  # group_norm: per channel
            dw = _channel_dots(dy, xhat).astype(weight.dtype)
        else:
            dw = (dy * xhat).sum(axis=sum_axes)
    if has_bias and needs[2]:
        db = dy.sum(axis=sum_axes)
    return dw, db


def _compiled(x, weight, bias):
    """True when kernels.channel_stats takes this normalisation: a non-empty float32/64 NumPy
    input, weight and bias (if any) of its dtype, compiled kernels available."""
    return (
        isinstance(x, np.ndarray)
        and x.size > 0
        and x.dtype in _FLOATS
        and all(
            a is None or (isinstance(a, np.ndarray) and a.dtype == x.dtype) for a in (weight, bias)
        )
        and kernels.available()
    )


_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def _compiled_forward(x, weight, bias, running_mean, running_var, training, momentum, eps):
    k, dtype, c = kernels.batch_norm(), x.dtype, x.shape[1]
    x3 = np.ascontiguousarray(x).reshape(x.shape[0], c, -1)
    if training:
        mean, var = np.empty(c), np.empty(c)
        k.moments(x3, mean, var)
        _update_running(running_mean, running_var, mean, var, momentum, x3.size // c)
    else:
        mean, var = running_mean, running_var
    mean, var = mean.astype(dtype), var.astype(dtype)
    with np.errstate(invalid="ignore", divide="ignore"):  # var + eps <= 0: nan/inf, as PyTorch
        invstd = 1 / np.sqrt(var + eps)
    y = np.empty_like(x3)
    k.normalize(
        x3, mean, invstd, _per_channel(weight, 1, c, dtype), _per_channel(bias, 0, c, dtype), y
    )
    return y.reshape(x.shape), BatchNormCache(x3, mean, invstd, weight, bias is not None, training)


def _compiled_backward(dy, cache, needs):
    x3, mean, invstd, weight, has_bias, training = cache
    k, dtype, (n, c, l) = kernels.batch_norm(), x3.dtype, x3.shape
    dy3 = np.ascontiguousarray(dy, dtype=dtype).reshape(x3.shape)
    sum_dy, sum_dy_xc = np.empty(c), np.empty(c)
    k.grad_sums(dy3, x3, mean, sum_dy, sum_dy_xc)
    sum_dy_xhat = sum_dy_xc * invstd  # sum dy * xhat
    dx = dw = db = None
    if needs[0]:
        w = _per_channel(weight, 1, c, dtype)
        mean_g, mean_g_xhat = (
            (w * sum_dy / (n * l)).astype(dtype),
            (w * sum_dy_xhat / (n * l)).astype(dtype),
        )
        dx = np.empty_like(x3)
        k.input_grad(dy3, x3, mean, invstd, w, mean_g, mean_g_xhat, training, dx)
        dx = dx.reshape(dy.shape)
    if weight is not None and needs[1]:
        dw = sum_dy_xhat.astype(weight.dtype)
    if has_bias and needs[2]:
        db = sum_dy.astype(dtype)
    return dx, dw, db


def _per_channel(a, fill, c, dtype):
    return np.full(c, fill, dtype=dtype) if a is None else a


def _update_running(running_mean, running_var, mean, var, momentum, n):
    """The running statistics updated in place (var unbiased by n / (n - 1)), as PyTorch."""
    if running_mean is not None:
        running_mean *= 1 - momentum
        running_mean += momentum * mean
    if running_var is not None:
        running_var *= 1 - momentum
        running_var += momentum * var * (n / (n - 1))


def layer_norm_forward(x, weight=None, bias=None, *, normalized_shape, eps=1e-5):
    """Normalise over the last len(normalized_shape) axes of x, then y = xhat * weight + bias
    (weight and bias of shape normalized_shape)."""
    shape = _normalized_shape(normalized_shape)
    k = len(shape)
    if tuple(x.shape[x.ndim - k :]) != shape or x.ndim < k:
        raise ShapeError(
            f"layer_norm: normalized_shape={shape} must equal the last {k} dimension(s) of the"
            f" input, got input shape {x.shape}; e.g. normalized_shape={x.shape[1:]} for (N, ...)"
        )
    _check_affine("layer_norm", shape, weight, bias, "normalized_shape")
    _check_eps("layer_norm", eps)
    axes = tuple(range(x.ndim - k, x.ndim))
    if _compiled(x, weight, bias):
        size = math.prod(shape)
        return _row_norm(x, (x.size // size, size), weight, bias, shape, False, eps)
    xhat, invstd = _normalize(x, axes, eps)
    y = _affine(xhat, weight, bias, shape)
    return y, (
        xhat,
        invstd,
        weight,
        bias is not None,
        axes,
        tuple(range(x.ndim - k)),
        shape,
        x.shape,
    )


def group_norm_forward(x, weight=None, bias=None, *, num_groups, eps=1e-5):
    """x (N, C, *) split into num_groups groups of C / num_groups channels; each (sample, group)
    normalised over its channels and spatial positions; weight, bias (C,) per channel."""
    if x.ndim < 2:
        raise ShapeError(f"group_norm: expected an input (N, C, ...), got shape {x.shape}")
    c = x.shape[1]
    if not isinstance(num_groups, numbers.Integral) or num_groups < 1 or c % num_groups:
        raise ShapeError(
            f"group_norm: num_groups={num_groups!r} must be a positive integer dividing the"
            f" {c} channels of the input {x.shape}"
        )
    _check_affine("group_norm", (c,), weight, bias, "channels")
    _check_eps("group_norm", eps)
    xg = x.reshape(x.shape[0], num_groups, x.size // max(x.shape[0] * num_groups, 1))
    cshape = (1, c) + (1,) * (x.ndim - 2)
    sum_axes = (0, *range(2, x.ndim))
    if _compiled(x, weight, bias):
        rows = (xg.shape[0] * num_groups, xg.shape[2])
        return _row_norm(x, rows, weight, bias, (c,), True, eps)
    xhat, invstd = _normalize(xg, (2,), eps)
    xhat = xhat.reshape(x.shape)
    y = _affine(xhat, weight, bias, cshape)
    return y, (xhat, invstd, weight, bias is not None, (2,), sum_axes, cshape, xg.shape)


def layer_norm_backward(dy, cache, needs=(True, True, True)):
    """dx = invstd * (g - mean(g) - xhat * mean(g * xhat)) over the normalised axes, g = dy * w;
    dweight = sum(dy * xhat), dbias = sum(dy) over the other axes. Also group_norm's backward."""
    if isinstance(cache, RowNormCache):
        return _row_norm_backward(dy, cache, needs)
    xhat, invstd, weight, has_bias, axes, sum_axes, wshape, grouped = cache
    dx = None
    if needs[0] and dy.size == 0:
        dx = dy.copy()
    elif needs[0]:
        g = dy * weight.reshape(wshape) if weight is not None else dy.astype(xhat.dtype, copy=True)
        g, gh = g.reshape(grouped), xhat.reshape(grouped)  # g: this call's own array
        count = math.prod(grouped[a] for a in axes)
        g -= g.sum(axis=axes, keepdims=True) / count
        g -= gh * (_row_dots(g, gh, invstd.shape) / count)  # mean(g * xhat): g's mean is 0 now
        g *= invstd
        dx = g.reshape(dy.shape)
    return (dx, *_affine_grads(dy, xhat, weight, has_bias, sum_axes, needs))


group_norm_backward = layer_norm_backward


def _normalize(x, axes, eps):
    """(x - mean) / sqrt(var + eps) over the trailing axes (biased var) and 1 / sqrt(var + eps),
    kept dims (nan where var + eps < 0, as PyTorch; an empty x is its own result)."""
    xp = get_xp(x)
    kept = tuple(1 if i in axes else n for i, n in enumerate(x.shape))
    if x.size == 0:
        return x.copy(), xp.ones(kept, x.dtype)
    xc = x - x.mean(axis=axes, keepdims=True)
    var = _row_dots(xc, xc, kept) / math.prod(x.shape[a] for a in axes)
    with np.errstate(invalid="ignore", divide="ignore"):
        invstd = 1 / xp.sqrt(var + eps)
        xc *= invstd  # this call's own array: xhat in its place
        return xc, invstd


def _row_dots(a, b, kept):
    """sum of a * b over the trailing axes that ``kept`` (a's shape with them set to 1) drops:
    one dot product per row (BLAS, no full-size temporary), shaped ``kept``."""
    xp = get_xp(a, b)
    rows = math.prod(kept)
    m = a.size // rows
    return xp.matmul(a.reshape(rows, 1, m), b.reshape(rows, m, 1)).reshape(kept)


def _affine(xhat, weight, bias, shape):
    y = xhat if weight is None else xhat * weight.reshape(shape)
    return y if bias is None else y + bias.reshape(shape)


def _normalized_shape(value):
    shape = (value,) if isinstance(value, numbers.Integral) else tuple(value)
    if not shape or not all(isinstance(s, numbers.Integral) and s >= 0 for s in shape):
        raise ShapeError(
            f"layer_norm: normalized_shape={value!r} must be a non-negative integer or a tuple"
            f" of them, e.g. the trailing dimensions (C, H, W) of the input"
        )
    return tuple(int(s) for s in shape)


def _check_affine(op, shape, weight, bias, what):
    for name, arr in (("weight", weight), ("bias", bias)):
        if arr is not None and arr.shape != shape:
            raise ShapeError(
                f"{op}: {name} has shape {arr.shape}; expected {shape}, one per element of {what}"
            )


def _check_eps(op, eps):
    """Any real eps, as PyTorch: where var + eps <= 0 the result is nan or inf."""
    _real(op, "eps", eps)


def _real(op, name, value):
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        raise ShapeError(f"{op}: {name}={value!r} must be a real number; e.g. {name}=1e-5")
