"""Classification losses: cross_entropy, nll_loss as forward/backward pairs on arrays (PyTorch's
rules); the pointwise ones (mse, l1, bce) are in pointwise_loss.

Logits / log-probabilities x (N, C) or (N, C, d1, ...); target t (N, d1, ...) of class
indices; class weights w (C,) (all ones when absent); valid = (t != ignore_index). One
sample (C,) with a class index () is a batch of one whose loss is a scalar.

    nll:   l_n = -w[t_n] * x[n, t_n]
    cross_entropy (label smoothing e, p = log_softmax(x, dim=1)):
           l_n = -(1 - e) * w[t_n] * p[n, t_n]  -  (e / C) * sum_c w[c] * p[n, c]
    reduction: "none" -> l (0 where ignored), "sum" -> sum l, "mean" -> sum l / sum_valid w[t_n]
    cross_entropy with class probabilities (a float target q of the input's shape, as PyTorch):
           l_n = -sum_c w[c] * q'[n, c] * p[n, c],   q' = (1 - e) * q + e / C
           "mean" divides by the number of samples N * d1 * ... (not by the weights);
           q gets a gradient too, as PyTorch's
    An empty batch gives nan for "mean" (0 / 0) and 0 for "sum", as PyTorch.
"""

import numbers
from typing import NamedTuple

import numpy as np

from ..backend import get_xp
from ..errors import ShapeError
from .activation import log_softmax_forward

REDUCTIONS = ("mean", "sum", "none")


def check_classes(op, x, weight, reduction, label_smoothing=0.0):
    """What every classification loss checks: input (N, C, ...), reduction, smoothing, weight (C,)."""
    if x.ndim < 2:
        raise ShapeError(
            f"{op}: expected input (C,) (one sample), (N, C) or (N, C, d1, ...), got shape {x.shape}"
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


def check_classification(op, x, target, weight, ignore_index, reduction, label_smoothing=0.0):
    """The shape checker of the classification losses -> target as an int64 array."""
    xp = get_xp(x, target, weight)
    check_classes(op, x, weight, reduction, label_smoothing)
    n_classes = x.shape[1]
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


class OneSample(NamedTuple):
    """The cache of a loss of one sample (C,), computed as a batch of one."""

    cache: object
    loss_shape: tuple  # the batch of one's loss: () or (1,)
    shapes: tuple  # the inputs' own shapes: their gradients come back in them


def one_sample(forward, arrays, **kwargs):
    """forward on a batch of one: input (C,) -> (1, C), a class index target () -> (1,); the
    loss is a scalar in every reduction, as PyTorch's."""
    if "target" in kwargs:
        t = get_xp(arrays[0]).asarray(kwargs["target"])
        if t.shape != ():
            raise ShapeError(
                f"{forward.__name__.removesuffix('_forward')}: one sample {arrays[0].shape} takes"
                f" one class index (a target of shape ()), got target shape {t.shape}"
            )
        kwargs["target"] = t[None]
    y, cache = forward(*(a[None] for a in arrays), **kwargs)
    return y.reshape(()), OneSample(cache, y.shape, tuple(a.shape for a in arrays))


def one_sample_grads(backward, dy, cache):
    grads = backward(dy.reshape(cache.loss_shape), cache.cache)
    return tuple(g.reshape(s) for g, s in zip(grads, cache.shapes, strict=True))


def cross_entropy_forward(
    x, *, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0
):
    """Loss of logits x (N, C, ...) against class indices (N, ...), or of one sample (C,)
    against a class index (); scalar unless reduction="none"."""
    kw = dict(weight=weight, ignore_index=ignore_index, reduction=reduction,
              label_smoothing=label_smoothing)  # fmt: skip
    if x.ndim == 1:
        return one_sample(cross_entropy_forward, (x,), target=target, **kw)
    t = check_classification("cross_entropy", x, target, **kw)
    logp, _ = log_softmax_forward(x, dim=1)
    loss, cache = _nll(logp, t, weight, ignore_index, reduction, label_smoothing)
    return loss, (logp, cache)


def cross_entropy_backward(dy, cache):
    """dx = G - softmax(x) * sum_c G,  G = dL/d log_softmax(x)."""
    if isinstance(cache, OneSample):
        return one_sample_grads(cross_entropy_backward, dy, cache)
    logp, nll_cache = cache
    return (_through_log_softmax(_nll_grad(dy, nll_cache), logp),)


def _through_log_softmax(g, logp):
    """dL/dx from G = dL/d log_softmax(x): G - softmax(x) * sum_c G."""
    return g - get_xp(g).exp(logp) * g.sum(axis=1, keepdims=True)


class SoftCache(NamedTuple):
    logp: object
    wq: object  # w[c] * q'[n, c]
    w: object  # the class weights, broadcast to (1, C, 1, ...), or 1
    smoothing: float
    reduction: str
    count: int  # samples N * d1 * ... (the "mean" divisor)


def soft_cross_entropy_forward(x, q, *, weight=None, reduction="mean", label_smoothing=0.0):
    """cross_entropy against class probabilities q of x's shape (N, C, ...) or (C,):
    l_n = -sum_c w[c] * q'[n, c] * log_softmax(x)[n, c],  q' = (1 - e) * q + e / C."""
    kw = dict(weight=weight, reduction=reduction, label_smoothing=label_smoothing)
    if x.ndim == 1 and q.shape == x.shape:
        return one_sample(soft_cross_entropy_forward, (x, q), **kw)
    xp = get_xp(x, weight)
    check_classes("cross_entropy", x, weight, reduction, label_smoothing)
    if q.shape != x.shape or q.dtype.kind != "f":
        raise ShapeError(
            f"cross_entropy: class probabilities of shape {q.shape} ({q.dtype}) must have the"
            f" input's shape {x.shape} and a float dtype"
        )
    n_classes, dtype, e = x.shape[1], x.dtype, label_smoothing
    logp, _ = log_softmax_forward(x, dim=1)
    w = 1 if weight is None else weight.astype(dtype).reshape((1, n_classes) + (1,) * (x.ndim - 2))
    wq = (q.astype(dtype) * (1 - e) + e / max(n_classes, 1)) * w
    loss = -(wq * logp).sum(axis=1)
    out = _reduce(loss, reduction, loss.size)
    return xp.asarray(out, dtype=dtype), SoftCache(logp, wq, w, e, reduction, loss.size)


def soft_cross_entropy_backward(dy, cache):
    """(dx, dq): dL/dlogp[n, c] = -s_n * w[c] * q'[n, c], dL/dq[n, c] = -s_n * (1 - e) * w[c]
    * logp[n, c], with s_n = dy (/ count for "mean")."""
    if isinstance(cache, OneSample):
        return one_sample_grads(soft_cross_entropy_backward, dy, cache)
    c = cache
    xp = get_xp(dy)
    scale = mean_scale(dy, c.reduction, c.count)
    if c.reduction == "none":
        scale = xp.expand_dims(scale, 1)
    dtype = c.logp.dtype
    dx = _through_log_softmax((-c.wq * scale).astype(dtype, copy=False), c.logp)
    dq = (-(1 - c.smoothing) * c.w * c.logp * scale).astype(dtype, copy=False)
    return dx, dq


def mean_scale(dy, reduction, count):
    """dy / count for "mean" (an empty input: count 0, and nothing to scale), else dy."""
    if reduction != "mean":
        return dy
    with np.errstate(invalid="ignore", divide="ignore"):
        return dy / count


def _reduce(loss, reduction, count):
    """none / sum / mean (sum over count; nan for an empty batch, as PyTorch)."""
    if reduction == "none":
        return loss
    with np.errstate(invalid="ignore", divide="ignore"):
        return loss.sum() if reduction == "sum" else loss.sum() / count


def nll_loss_forward(x, *, target, weight=None, ignore_index=-100, reduction="mean"):
    """Loss of log-probabilities x (N, C, ...) against class indices (or one sample (C,)
    against a class index ())."""
    if x.ndim == 1:
        return one_sample(nll_loss_forward, (x,), target=target, weight=weight,
                          ignore_index=ignore_index, reduction=reduction)  # fmt: skip
    t = check_classification("nll_loss", x, target, weight, ignore_index, reduction)
    return _nll(x, t, weight, ignore_index, reduction, 0.0)


def nll_loss_backward(dy, cache):
    if isinstance(cache, OneSample):
        return one_sample_grads(nll_loss_backward, dy, cache)
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


def _check_reduction(op, reduction):
    if reduction not in REDUCTIONS:
        raise ShapeError(f"{op}: reduction={reduction!r} is not one of 'mean', 'sum', 'none'")
