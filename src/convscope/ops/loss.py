"""Losses: cross_entropy, nll_loss, mse_loss as forward/backward pairs on arrays (PyTorch's rules).

Logits / log-probabilities x (N, C) or (N, C, d1, ...); target t (N, d1, ...) of class
indices; class weights w (C,) (all ones when absent); valid = (t != ignore_index).

    nll:   l_n = -w[t_n] * x[n, t_n]
    cross_entropy (label smoothing e, p = log_softmax(x, dim=1)):
           l_n = -(1 - e) * w[t_n] * p[n, t_n]  -  (e / C) * sum_c w[c] * p[n, c]
    reduction: "none" -> l (0 where ignored), "sum" -> sum l, "mean" -> sum l / sum_valid w[t_n]
    cross_entropy with class probabilities (a float target q of the input's shape, as PyTorch):
           l_n = -sum_c w[c] * q'[n, c] * p[n, c],   q' = (1 - e) * q + e / C
           "mean" divides by the number of samples N * d1 * ... (not by the weights)
    mse:   l = (x - t)^2,  l1: l = |x - t|; reduction "mean" divides by the element count.
"""

import numbers

import numpy as np

from ..backend import get_xp
from ..errors import ShapeError
from .activation import log_softmax_forward

REDUCTIONS = ("mean", "sum", "none")


def check_classification(op, x, target, weight, ignore_index, reduction, label_smoothing=0.0):
    """The shape checker of the classification losses -> target as an int64 array."""
    xp = get_xp(x, target, weight)
    if x.ndim < 2:
        hint = f"; for one sample use x[None] -> (1, {x.shape[0]})" if x.ndim == 1 else ""
        raise ShapeError(
            f"{op}: expected input (N, C) or (N, C, d1, ...), got shape {x.shape}{hint}"
        )
    _check_reduction(op, reduction)
    if not (isinstance(label_smoothing, numbers.Real) and 0.0 <= label_smoothing <= 1.0):
        raise ShapeError(
            f"{op}: label_smoothing={label_smoothing!r} must be in [0, 1]; 0 turns it off"
        )
    n_classes = x.shape[1]
    if weight is not None and weight.shape != (n_classes,):
        raise ShapeError(
            f"{op}: weight has shape {weight.shape}; expected one weight per class, ({n_classes},)"
        )
    t = xp.asarray(target)
    expected = (x.shape[0], *x.shape[2:])
    if t.shape != expected:
        probs = (
            f", or class probabilities of the input's shape {x.shape} with a float dtype"
            if op == "cross_entropy"
            else ""
        )
        raise ShapeError(
            f"{op}: target shape {t.shape} does not match input shape {x.shape}; expected target"
            f" {expected} (input (N, C, d1, ...) takes class indices (N, d1, ...){probs})"
        )
    if t.dtype.kind == "f":
        if not xp.array_equal(t, xp.round(t)):
            raise ShapeError(
                f"{op}: target must hold class indices (integers); got non-integer values such as"
                f" {t[t != xp.round(t)].flat[0]!r}"
            )
    elif t.dtype.kind not in "iu":
        raise ShapeError(f"{op}: target must hold integer class indices, got dtype {t.dtype}")
    t = t.astype(np.int64)
    bad = ((t < 0) | (t >= n_classes)) & (t != ignore_index)
    if bad.any():
        pos = tuple(int(i) for i in xp.argwhere(bad)[0])
        raise ShapeError(
            f"{op}: target class {t[pos]} at position {pos} is out of range for {n_classes} classes;"
            f" class indices must be in 0..{n_classes - 1} (or ignore_index={ignore_index})"
        )
    return t


def cross_entropy_forward(
    x, *, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0
):
    """Loss of logits x (N, C, ...) against class indices (N, ...) or class probabilities (the
    shape of x, float); scalar unless reduction="none"."""
    xp = get_xp(x)
    probs = xp.asarray(target)
    if probs.shape == x.shape and probs.dtype.kind == "f":
        return _soft_cross_entropy(x, probs, weight, reduction, label_smoothing)
    t = check_classification(
        "cross_entropy", x, target, weight, ignore_index, reduction, label_smoothing
    )
    logp, _ = log_softmax_forward(x, dim=1)
    loss, cache = _nll(logp, t, weight, ignore_index, reduction, label_smoothing)
    return loss, (logp, cache)


def cross_entropy_backward(dy, cache):
    """dx = G - softmax(x) * sum_c G,  G = dL/d log_softmax(x)."""
    xp = get_xp(dy)
    logp, nll_cache = cache
    g = _soft_grad(dy, nll_cache) if isinstance(nll_cache[0], str) else _nll_grad(dy, nll_cache)
    return (g - xp.exp(logp) * g.sum(axis=1, keepdims=True),)


def _soft_cross_entropy(x, q, weight, reduction, smoothing):
    """The class-probability form in the module docstring (the target gets no gradient)."""
    xp = get_xp(x, weight)
    op = "cross_entropy"
    if x.ndim < 2:
        raise ShapeError(f"{op}: expected input (N, C) or (N, C, d1, ...), got shape {x.shape}")
    _check_reduction(op, reduction)
    if not (isinstance(smoothing, numbers.Real) and 0.0 <= smoothing <= 1.0):
        raise ShapeError(f"{op}: label_smoothing={smoothing!r} must be in [0, 1]; 0 turns it off")
    n_classes, dtype = x.shape[1], x.dtype
    if weight is not None and weight.shape != (n_classes,):
        raise ShapeError(
            f"{op}: weight has shape {weight.shape}; expected one weight per class, ({n_classes},)"
        )
    logp, _ = log_softmax_forward(x, dim=1)
    wq = q.astype(dtype) * (1 - smoothing) + smoothing / n_classes
    if weight is not None:
        wq = wq * weight.astype(dtype).reshape((1, n_classes) + (1,) * (x.ndim - 2))
    loss = -(wq * logp).sum(axis=1)
    count = loss.size
    out = (
        loss if reduction == "none" else (loss.sum() if reduction == "sum" else loss.sum() / count)
    )
    return xp.asarray(out, dtype=dtype), (logp, ("soft", wq, reduction, count))


def _soft_grad(dy, cache):
    """dL/dp[n, c] = -scale_n * w[c] * q'[n, c]."""
    xp = get_xp(dy)
    _, wq, reduction, count = cache
    scale = dy / count if reduction == "mean" else dy
    if reduction == "none":
        scale = xp.expand_dims(scale, 1)
    return (-wq * scale).astype(wq.dtype, copy=False)


def nll_loss_forward(x, *, target, weight=None, ignore_index=-100, reduction="mean"):
    """Loss of log-probabilities x (N, C, ...) against class indices."""
    t = check_classification("nll_loss", x, target, weight, ignore_index, reduction)
    return _nll(x, t, weight, ignore_index, reduction, 0.0)


def nll_loss_backward(dy, cache):
    return (_nll_grad(dy, cache),)


def _nll(logp, t, weight, ignore_index, reduction, smoothing):
    """Per-sample terms of the formula in the module docstring, then the reduction."""
    xp = get_xp(weight)
    n_classes, dtype = logp.shape[1], logp.dtype
    valid = t != ignore_index
    tc = xp.where(valid, t, 0)
    onehot = xp.expand_dims(tc, 1) == xp.arange(n_classes).reshape((1, -1) + (1,) * (t.ndim - 1))
    w = xp.ones(n_classes, dtype) if weight is None else weight.astype(dtype)
    w_class = w.reshape(onehot.shape[1:2] + (1,) * (t.ndim - 1))
    w_t = w[tc] * valid
    loss = -(1 - smoothing) * w_t * xp.where(onehot, logp, 0).sum(axis=1)
    if smoothing:
        loss -= (smoothing / n_classes) * valid * (w_class * logp).sum(axis=1)
    denom = w_t.sum()
    if reduction == "none":
        out = loss
    elif reduction == "sum":
        out = loss.sum()
    else:
        with np.errstate(invalid="ignore", divide="ignore"):  # all ignored: nan, as PyTorch
            out = loss.sum() / denom
    cache = (onehot, w_class, w_t, valid, denom, reduction, smoothing, dtype)
    return xp.asarray(out, dtype=dtype), cache


def _nll_grad(dy, cache):
    """dL/dp[n, c] = -scale_n * ((1 - e) * w[t_n] * [c == t_n] + (e / C) * w[c] * valid_n)."""
    xp = get_xp(dy)
    onehot, w_class, w_t, valid, denom, reduction, smoothing, dtype = cache
    with np.errstate(invalid="ignore", divide="ignore"):  # all ignored: denom 0, grad stays 0
        scale = dy / denom if reduction == "mean" else dy
    scale = xp.expand_dims(xp.where(valid, scale, 0), 1)
    g = onehot * (-(1 - smoothing) * xp.expand_dims(w_t, 1) * scale)
    if smoothing:
        g -= (smoothing / onehot.shape[1]) * w_class * scale
    return g.astype(dtype, copy=False)


def mse_loss_forward(x, t, *, reduction="mean"):
    """(x - t)^2 reduced; x and t must have the same shape."""
    xp = get_xp(x)
    _check_reduction("mse_loss", reduction)
    if x.shape != t.shape:
        raise ShapeError(
            f"mse_loss: target shape {t.shape} does not match input shape {x.shape};"
            f" reshape the target to {x.shape}"
        )
    diff = x - t
    sq = diff * diff
    out = sq if reduction == "none" else (sq.sum() if reduction == "sum" else sq.mean())
    return xp.asarray(out, dtype=sq.dtype), (diff, reduction)


def mse_loss_backward(dy, cache):
    diff, reduction = cache
    scale = dy / diff.size if reduction == "mean" else dy
    g = 2 * diff * scale
    return g, -g


def l1_loss_forward(x, t, *, reduction="mean"):
    """|x - t| reduced; x and t must have the same shape."""
    xp = get_xp(x)
    _check_same_shape("l1_loss", x, t, reduction)
    diff = x - t
    a = xp.abs(diff)
    out = a if reduction == "none" else (a.sum() if reduction == "sum" else a.mean())
    return xp.asarray(out, dtype=a.dtype), (xp.sign(diff), reduction)


def l1_loss_backward(dy, cache):
    """d/dx = sign(x - t) (0 where x == t, as PyTorch), d/dt = -d/dx."""
    sign, reduction = cache
    g = sign * (dy / sign.size if reduction == "mean" else dy)
    return g, -g


def bce_with_logits_forward(x, t, *, weight=None, pos_weight=None, reduction="mean"):
    """Binary cross-entropy of logits x against targets t in [0, 1] (same shape), stable:

        l = w * ((1 - t) * x + (1 + (pw - 1) * t) * softplus(-x)),
        softplus(-x) = log1p(exp(-|x|)) + max(-x, 0)

    which is -w * (pw * t * log sigmoid(x) + (1 - t) * log(1 - sigmoid(x))); weight and
    pos_weight (pw) broadcast against x (pos_weight (C,) weighs the positives of class c).
    """
    xp = get_xp(x)
    op = "binary_cross_entropy_with_logits"
    _check_same_shape(op, x, t, reduction)
    for name, arr in (("weight", weight), ("pos_weight", pos_weight)):
        if arr is not None and not _broadcasts(arr.shape, x.shape):
            raise ShapeError(
                f"{op}: {name} of shape {arr.shape} does not broadcast to the input shape"
                f" {x.shape}; give e.g. one value per class, shape ({x.shape[-1]},)"
            )
    dtype = x.dtype
    w = 1 if weight is None else weight.astype(dtype)
    pw = 1 if pos_weight is None else pos_weight.astype(dtype)
    sp = xp.log1p(xp.exp(-xp.abs(x))) + xp.maximum(-x, 0)  # softplus(-x) = -log sigmoid(x)
    coef = 1 + (pw - 1) * t
    loss = w * ((1 - t) * x + coef * sp)
    out = loss if reduction == "none" else (loss.sum() if reduction == "sum" else loss.mean())
    return xp.asarray(out, dtype=dtype), (x, t, w, pw, coef, sp, reduction, loss.size)


def bce_with_logits_backward(dy, cache):
    """dl/dx = w * ((1 - t) - coef * sigmoid(-x)),  dl/dt = w * (-x + (pw - 1) * softplus(-x))."""
    xp = get_xp(dy)
    x, t, w, pw, coef, sp, reduction, size = cache
    scale = dy / size if reduction == "mean" else dy
    e = xp.exp(-xp.abs(x))
    sig_neg = xp.where(x >= 0, e, 1) / (1 + e)  # sigmoid(-x), stable
    dx = w * ((1 - t) - coef * sig_neg) * scale
    dt = w * ((pw - 1) * sp - x) * scale
    return dx.astype(x.dtype, copy=False), dt.astype(x.dtype, copy=False)


def _broadcasts(shape, target):
    try:
        return np.broadcast_shapes(shape, target) == target
    except ValueError:
        return False


def _check_same_shape(op, x, t, reduction):
    _check_reduction(op, reduction)
    if x.shape != t.shape:
        raise ShapeError(
            f"{op}: target shape {t.shape} does not match input shape {x.shape};"
            f" reshape the target to {x.shape}"
        )


def _check_reduction(op, reduction):
    if reduction not in REDUCTIONS:
        raise ShapeError(f"{op}: reduction={reduction!r} is not one of 'mean', 'sum', 'none'")
