"""linear, flatten and dropout: forward/backward pairs on arrays.

linear:  y = x @ W.T + b      x (*, in), W (out, in), b (out,) -> y (*, out)   (one matmul)
flatten: (d0, ..., d_start, ..., d_end, ...) -> (d0, ..., d_start * ... * d_end, ...)
dropout: y = x * m / (1 - p),  m ~ Bernoulli(1 - p) per element  (inverted dropout)
dropout2d: the same with one m per (n, c) channel plane
unflatten: (..., d_dim, ...) -> (..., *sizes, ...)  (the inverse of flatten)
"""

import math
import numbers

import numpy as np

from ..backend import get_xp
from ..errors import ShapeError


def check_linear(x_shape, w_shape, b_shape):
    """The linear shape checker: W is (out, in), x ends in `in`, b is (out,)."""
    if len(w_shape) != 2:
        raise ShapeError(
            f"linear: weight must be 2-D (out_features, in_features), got shape {w_shape}"
        )
    if len(x_shape) < 1 or x_shape[-1] != w_shape[1]:
        got = x_shape[-1] if x_shape else "no"
        raise ShapeError(
            f"linear: input shape {x_shape} has {got} features on its last axis but weight {w_shape}"
            f" expects {w_shape[1]}; flatten the input first (F.flatten) or use in_features={got}"
        )
    if b_shape is not None and b_shape != (w_shape[0],):
        raise ShapeError(
            f"linear: bias has shape {b_shape}; expected ({w_shape[0]},), one per output feature"
        )


def linear_forward(x, w, b=None):
    check_linear(x.shape, w.shape, None if b is None else b.shape)
    x2 = x if x.ndim == 2 else x.reshape(_rows(x.shape), x.shape[-1])  # -1: ambiguous for 0
    y = x2 @ w.T
    if b is not None:
        y += b
    if x.ndim != 2:  # a fresh y stays a base array (no view for autograd to track)
        y = y.reshape(x.shape[:-1] + (w.shape[0],))
    return y, (x2, w, b is not None, x.shape)


def _rows(shape):
    """The product of every axis but the last: the rows of the (rows, features) view."""
    return math.prod(shape[:-1])


def linear_backward(dy, cache, needs=(True, True, True)):
    """dx = dy @ W, dW = dy.T @ x, db = sum of dy over every leading axis."""
    x2, w, has_bias, x_shape = cache
    dy2 = dy.reshape(x2.shape[0], w.shape[0])
    dx = (dy2 @ w).reshape(x_shape) if needs[0] else None
    dw = dy2.T @ x2 if needs[1] else None
    db = dy2.sum(axis=0) if has_bias and needs[2] else None
    return dx, dw, db


def flatten_forward(x, *, start_dim=1, end_dim=-1):
    """A 0-d x has the one axis 0 (= -1) here and flattens to (1,), as PyTorch's."""
    start, end = (
        _axis("flatten", x.ndim, d, name)
        for d, name in ((start_dim, "start_dim"), (end_dim, "end_dim"))
    )
    if x.ndim == 0:
        return x.reshape(1), x.shape
    if start > end:
        raise ShapeError(
            f"flatten: start_dim={start_dim} comes after end_dim={end_dim} for a {x.ndim}-D input;"
            f" use start_dim <= end_dim"
        )
    shape = x.shape[:start] + (math.prod(x.shape[start : end + 1]),) + x.shape[end + 1 :]
    return x.reshape(shape), x.shape


def flatten_backward(dy, x_shape):
    return (dy.reshape(x_shape),)


def unflatten_forward(x, *, dim, sizes):
    """Split axis dim into sizes (one entry may be -1); backward is flatten_backward."""
    if x.ndim == 0:
        raise ShapeError("unflatten: a 0-D input has no axis to split; reshape it instead")
    axis = _axis("unflatten", x.ndim, dim, "dim")
    sizes = tuple(sizes) if isinstance(sizes, (tuple, list)) else (sizes,)
    n = x.shape[axis]
    ints = [int(s) for s in sizes if isinstance(s, numbers.Integral) and not isinstance(s, bool)]
    known = int(np.prod([s for s in ints if s != -1]))
    free = ints.count(-1)
    if (
        not sizes
        or len(ints) != len(sizes)
        or any(s < 1 and s != -1 for s in ints)
        or free > 1
        or (known != n if free == 0 else n % known != 0)
    ):
        raise ShapeError(
            f"unflatten: sizes {sizes!r} cannot split axis {dim} of size {n} (input {x.shape});"
            f" give positive integers whose product is {n} (at most one -1 to infer)"
        )
    sizes = tuple(n // known if s == -1 else s for s in ints)
    return x.reshape(x.shape[:axis] + sizes + x.shape[axis + 1 :]), x.shape


def dropout_forward(x, *, p=0.5, training=True, rng=None):
    """Zero each element with probability p and scale the rest by 1/(1-p); the identity when
    p == 0 or not training. rng: a numpy Generator (a fresh unseeded one when None)."""
    _check_dropout("dropout", p, rng)
    if not training or p == 0:
        return x, None
    mask = get_xp(x).asarray(_keep_mask(x.shape, x.dtype, p, rng))
    return x * mask, mask


def dropout2d_forward(x, *, p=0.5, training=True, rng=None):
    """Channel dropout of x (N, C, H, W) or (N, C, L): one draw per (n, c) plane, mask
    (N, C, 1, ...) broadcast over the plane; backward is dropout_backward."""
    _check_dropout("dropout2d", p, rng)
    if x.ndim not in (3, 4):
        raise ShapeError(
            f"dropout2d: expected a 4-D input (N, C, H, W) (or 3-D (N, C, L)), got shape {x.shape};"
            f" use F.dropout for other shapes"
        )
    if not training or p == 0:
        return x, None
    mask = _keep_mask(x.shape[:2] + (1,) * (x.ndim - 2), x.dtype, p, rng)
    mask = get_xp(x).asarray(mask)
    return x * mask, mask


def _check_dropout(op, p, rng):
    if not isinstance(p, numbers.Real) or isinstance(p, bool) or not 0.0 <= p <= 1.0:
        raise ShapeError(f"{op}: p={p!r} must be a probability in [0, 1]; e.g. p=0.5")
    if rng is not None and not isinstance(rng, np.random.Generator):
        raise ShapeError(
            f"{op}: rng must be a numpy.random.Generator, got {type(rng).__name__};"
            f" use rng=np.random.default_rng(seed)"
        )


def _keep_mask(shape, dtype, p, rng):
    """Bernoulli(1 - p) draws scaled by 1/(1-p), in dtype (all zeros when p == 1), drawn by
    the NumPy Generator (the caller moves them to x's array module)."""
    if p == 1:
        return np.zeros(shape, dtype)
    rng = rng or np.random.default_rng()
    draw = rng.random(shape, dtype=np.float32 if dtype == np.float32 else np.float64)
    return (draw >= p) * dtype.type(1.0 / (1.0 - p))


def dropout_backward(dy, mask):
    """dx = dy * mask (the mask broadcasts for dropout2d)."""
    return (dy if mask is None else dy * mask,)


def _axis(op, ndim, dim, name):
    if type(dim) is int and -ndim <= dim < ndim:  # the common case (an ABC check costs ~2 us)
        return dim % ndim
    if not isinstance(dim, numbers.Integral) or isinstance(dim, bool):
        raise ShapeError(f"{op}: {name} must be an integer, got {dim!r}")
    n = max(ndim, 1)  # a 0-d tensor has the one axis 0 (= -1), as in PyTorch
    if not -n <= dim < n:
        raise ShapeError(
            f"{op}: {name}={dim} is out of range for a {ndim}-D input; use -{n} <= {name} < {n}"
        )
    return int(dim) % n
