"""linear, flatten and dropout: forward/backward pairs on arrays.

linear:  y = x @ W.T + b      x (*, in), W (out, in), b (out,) -> y (*, out)   (one matmul)
flatten: (d0, ..., d_start, ..., d_end, ...) -> (d0, ..., d_start * ... * d_end, ...)
dropout: y = x * m / (1 - p),  m ~ Bernoulli(1 - p) per element  (inverted dropout)
"""

import numbers

import numpy as np

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
    x2 = x.reshape(-1, x.shape[-1])
    y = x2 @ w.T
    if b is not None:
        y += b
    return y.reshape(x.shape[:-1] + (w.shape[0],)), (x2, w, b is not None, x.shape)


def linear_backward(dy, cache, needs=(True, True, True)):
    """dx = dy @ W, dW = dy.T @ x, db = sum of dy over every leading axis."""
    x2, w, has_bias, x_shape = cache
    dy2 = dy.reshape(-1, w.shape[0])
    dx = (dy2 @ w).reshape(x_shape) if needs[0] else None
    dw = dy2.T @ x2 if needs[1] else None
    db = dy2.sum(axis=0) if has_bias and needs[2] else None
    return dx, dw, db


def flatten_forward(x, *, start_dim=1, end_dim=-1):
    start, end = (
        _axis("flatten", x.ndim, d, name)
        for d, name in ((start_dim, "start_dim"), (end_dim, "end_dim"))
    )
    if start > end:
        raise ShapeError(
            f"flatten: start_dim={start_dim} comes after end_dim={end_dim} for a {x.ndim}-D input;"
            f" use start_dim <= end_dim"
        )
    shape = x.shape[:start] + (int(np.prod(x.shape[start : end + 1])),) + x.shape[end + 1 :]
    return x.reshape(shape), x.shape


def flatten_backward(dy, x_shape):
    return (dy.reshape(x_shape),)


def dropout_forward(x, *, p=0.5, training=True, rng=None):
    """Zero each element with probability p and scale the rest by 1/(1-p); the identity when
    p == 0 or not training. rng: a numpy Generator (a fresh unseeded one when None)."""
    if not isinstance(p, numbers.Real) or isinstance(p, bool) or not 0.0 <= p <= 1.0:
        raise ShapeError(f"dropout: p={p!r} must be a probability in [0, 1]; e.g. p=0.5")
    if rng is not None and not isinstance(rng, np.random.Generator):
        raise ShapeError(
            f"dropout: rng must be a numpy.random.Generator, got {type(rng).__name__};"
            f" use rng=np.random.default_rng(seed)"
        )
    if not training or p == 0:
        return x, None
    if p == 1:
        mask = np.zeros_like(x)
    else:
        rng = rng or np.random.default_rng()
        draw = rng.random(x.shape, dtype=np.float32 if x.dtype == np.float32 else np.float64)
        mask = (draw >= p) * x.dtype.type(1.0 / (1.0 - p))
    return x * mask, mask


def dropout_backward(dy, mask):
    return (dy if mask is None else dy * mask,)


def _axis(op, ndim, dim, name):
    if not isinstance(dim, numbers.Integral) or isinstance(dim, bool):
        raise ShapeError(f"{op}: {name} must be an integer, got {dim!r}")
    if not -ndim <= dim < ndim:
        raise ShapeError(
            f"{op}: {name}={dim} is out of range for a {ndim}-D input; use -{ndim} <= {name} < {ndim}"
        )
    return int(dim) % ndim
