"""The pointwise losses: mse_loss, l1_loss, binary_cross_entropy_with_logits (PyTorch's rules).

mse:   l = (x - t)^2          l1: l = |x - t|
bce:   l = w * ((1 - t) * x + (1 + (pw - 1) * t) * softplus(-x))
reduction: "none" -> l, "sum" -> sum l, "mean" -> sum l / count (nan for an empty input,
as PyTorch)
"""

import numpy as np

from ..backend import get_xp
from ..errors import ShapeError
from .loss import _check_reduction, _reduce, mean_scale


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
    out = _reduce(sq, reduction, sq.size)
    return xp.asarray(out, dtype=sq.dtype), (diff, reduction)


def mse_loss_backward(dy, cache):
    diff, reduction = cache
    scale = mean_scale(dy, reduction, diff.size)
    g = 2 * diff * scale
    return g, -g


def l1_loss_forward(x, t, *, reduction="mean"):
    """|x - t| reduced; x and t must have the same shape."""
    xp = get_xp(x)
    _check_same_shape("l1_loss", x, t, reduction)
    diff = x - t
    a = xp.abs(diff)
    out = _reduce(a, reduction, a.size)
    return xp.asarray(out, dtype=a.dtype), (xp.sign(diff), reduction)


def l1_loss_backward(dy, cache):
    """d/dx = sign(x - t) (0 where x == t, as PyTorch), d/dt = -d/dx."""
    sign, reduction = cache
    g = sign * mean_scale(dy, reduction, sign.size)
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
    out = _reduce(loss, reduction, loss.size)
    return xp.asarray(out, dtype=dtype), (x, t, w, pw, coef, sp, reduction, loss.size)


def bce_with_logits_backward(dy, cache):
    """dl/dx = w * ((1 - t) - coef * sigmoid(-x)),  dl/dt = w * (-x + (pw - 1) * softplus(-x))."""
    xp = get_xp(dy)
    x, t, w, pw, coef, sp, reduction, size = cache
    scale = mean_scale(dy, reduction, size)
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
