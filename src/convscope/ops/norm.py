"""Batch normalisation over (N, C) or (N, C, *spatial): forward/backward pair on arrays.

Per channel c, over the batch and spatial axes (n = N * prod(spatial) values):

    training:  mu = mean(x),  var = mean((x - mu)^2)            (biased, for normalising)
               running_mean <- (1 - momentum) * running_mean + momentum * mu       (in place)
               running_var  <- (1 - momentum) * running_var  + momentum * var * n/(n-1)
    eval:      mu, var = running_mean, running_var
    y = (x - mu) / sqrt(var + eps) * weight + bias

Backward (training, xhat = (x - mu) / sqrt(var + eps), g = dy * weight):
    dx = (g - mean(g) - xhat * mean(g * xhat)) / sqrt(var + eps)
    dweight = sum(dy * xhat),  dbias = sum(dy)
"""

import numbers

import numpy as np

from ..errors import ShapeError


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
    if training and x.size // max(c, 1) <= 1:
        raise ShapeError(
            f"{op}: expected more than 1 value per channel when training, got input shape"
            f" {x.shape}; use a batch of 2 or more, or eval mode"
        )
    for name, v in (("momentum", momentum), ("eps", eps)):
        if not isinstance(v, numbers.Real) or isinstance(v, bool) or v < 0:
            raise ShapeError(f"{op}: {name}={v!r} must be a number >= 0")


def batch_norm_forward(
    x, weight=None, bias=None, *, running_mean=None, running_var=None, training=False,
    momentum=0.1, eps=1e-5,
):  # fmt: skip
    """x (N, C, *) -> y of the same shape; updates running_mean/var in place when training."""
    check_batch_norm(x, weight, bias, running_mean, running_var, training, momentum, eps)
    axes = (0, *range(2, x.ndim))
    bshape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    if training:
        mean = x.mean(axis=axes)
        xc = x - mean.reshape(bshape)
        var = (xc * xc).mean(axis=axes)
        n = x.size // x.shape[1]
        if running_mean is not None:
            running_mean *= 1 - momentum
            running_mean += momentum * mean
        if running_var is not None:
            running_var *= 1 - momentum
            running_var += momentum * var * (n / (n - 1))
    else:
        xc = x - running_mean.astype(x.dtype).reshape(bshape)
        var = running_var.astype(x.dtype)
    invstd = 1 / np.sqrt(var + eps)
    xhat = xc * invstd.reshape(bshape)
    y = xhat if weight is None else xhat * weight.reshape(bshape)
    if bias is not None:
        y = y + bias.reshape(bshape)
    return y, (xhat, invstd, weight, bias is not None, training, axes, bshape)


def batch_norm_backward(dy, cache, needs=(True, True, True)):
    """(dx, dweight, dbias); None for an absent weight/bias or one not needed."""
    xhat, invstd, weight, has_bias, training, axes, bshape = cache
    dx = None
    if needs[0]:
        g = dy if weight is None else dy * weight.reshape(bshape)
        if training:
            g = (
                g
                - g.mean(axis=axes, keepdims=True)
                - xhat * (g * xhat).mean(axis=axes, keepdims=True)
            )
        dx = g * invstd.reshape(bshape)
    dw = (dy * xhat).sum(axis=axes) if weight is not None and needs[1] else None
    db = dy.sum(axis=axes) if has_bias and needs[2] else None
    return dx, dw, db
