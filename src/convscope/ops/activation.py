"""Elementwise activations and softmax: forward/backward pairs on arrays, numerically stable.

    relu(x) = max(x, 0)                     leaky_relu(x) = x if x > 0 else slope * x
    sigmoid(x) = 1 / (1 + exp(-x))          tanh(x)
    gelu(x) = x * Phi(x) = x/2 * (1 + erf(x / sqrt 2))        (approximate="none", exact)
            ~ x/2 * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3)))  (approximate="tanh")
    silu(x) = x * sigmoid(x)                relu6(x) = min(max(x, 0), 6)
    elu(x) = x if x > 0 else alpha * (exp(x) - 1)
    softplus(x) = log(1 + exp(beta x)) / beta   (x where beta x > threshold)
    softmax(x)_i = exp(x_i - m) / sum_j exp(x_j - m),   m = max_j x_j
    log_softmax(x)_i = (x_i - m) - log sum_j exp(x_j - m)
    (softmax's dtype argument casts x first, as PyTorch's; an empty axis gives an empty result)

Subtracting the max keeps exp from overflowing (logits of 1e4 are fine); sigmoid
evaluates exp(-|x|) only. NumPy has no erf: gelu uses math.erf elementwise (libm, correctly
rounded or nearly; ~55 ns per element, i.e. ~0.2 s for a 4M-element tensor, so prefer
approximate="tanh" on large activations).
"""

import math
import numbers

import numpy as np

from .. import kernels
from ..backend import get_xp
from ..errors import ShapeError

_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_TANH_BETA = math.sqrt(2.0 / math.pi)
_TANH_KAPPA = 0.044715


def erf(x):
    """The error function, elementwise, in x's dtype (math.erf over a Python list: ~55 ns per
    element, faster than np.frompyfunc or np.vectorize)."""
    values = np.fromiter(map(math.erf, x.ravel().tolist()), dtype=np.float64, count=x.size)
    return get_xp(x).asarray(values.reshape(x.shape).astype(x.dtype, copy=False))


# Elements from which the compiled ReLU beats NumPy's maximum against zeros (float32, one
# thread: 16K 7.3 against 5.4 us, 32K 9.9 / 9.1, 64K 16.3 / 17.8, 301K 48 / 82; the
# compiled call's fixed cost is ~2.7 us).
RELU_COMPILED_MIN = 1 << 15


def relu_forward(x):
    """y = max(x, 0), NaN kept (compiled: one select per element, kernels.relu_select)."""
    xp = get_xp(x)
    if xp is np and x.size >= RELU_COMPILED_MIN and x.dtype.char in "fd" and kernels.available():
        y = kernels.pointwise().relu(x)
    else:  # against a zero array: NumPy's maximum with a scalar runs float32 2x slower
        y = xp.zeros(x.shape, dtype=x.dtype)
        xp.maximum(x, y, out=y)
    return y, y


def relu_backward(dy, y):
    """dx = dy where y > 0 (or y is NaN, as PyTorch's threshold_backward), else 0. Compiled:
    one select per element (kernels.relu_select); NumPy: dy times a 0/1 mask (~8x faster than
    np.where's masked select) when dy is finite and y holds no NaN, else np.where."""
    xp = get_xp(dy, y)
    if xp is np and dy.dtype == y.dtype and dy.dtype.char in "fd" and kernels.available():
        return (kernels.pointwise().relu_grad(dy, y),)
    if xp.isfinite(dy).all() and not xp.isnan(y).any():
        mask = (y > 0).astype(dy.dtype)
        mask *= dy
        return (mask,)
    return (xp.where(y <= 0, 0, dy),)


def leaky_relu_forward(x, *, negative_slope=0.01):
    xp = get_xp(x)
    if not isinstance(negative_slope, numbers.Real) or isinstance(negative_slope, bool):
        raise ShapeError(
            f"leaky_relu: negative_slope must be a real number, got {negative_slope!r};"
            f" use e.g. negative_slope=0.01"
        )
    pos, slope = x > 0, x.dtype.type(negative_slope)
    return xp.where(pos, x, x * slope), (pos, slope)


def leaky_relu_backward(dy, cache):
    xp = get_xp(dy)
    pos, slope = cache
    return (xp.where(pos, dy, dy * slope),)


def sigmoid_forward(x):
    """Stable for any |x|: with e = exp(-|x|), y = 1/(1+e) for x >= 0 and e/(1+e) otherwise."""
    xp = get_xp(x)
    e = xp.exp(-xp.abs(x))
    r = 1 / (1 + e)
    y = xp.where(x >= 0, r, e * r)
    return y, y


def sigmoid_backward(dy, y):
    return (dy * (1 - y) * y,)


def tanh_forward(x):
    xp = get_xp(x)
    y = xp.tanh(x)
    return y, y


def tanh_backward(dy, y):
    return (dy * (1 - y * y),)


def gelu_forward(x, *, approximate="none"):
    xp = get_xp(x)
    if approximate == "none":
        cdf = 0.5 * (1 + erf(x * _SQRT_HALF))
        return x * cdf, ("none", x, cdf)
    if approximate == "tanh":
        t = xp.tanh(_TANH_BETA * (x + _TANH_KAPPA * x * x * x))
        return 0.5 * x * (1 + t), ("tanh", x, t)
    raise ShapeError(f"gelu: approximate={approximate!r} is not supported; use 'none' or 'tanh'")


def gelu_backward(dy, cache):
    """exact: Phi(x) + x * phi(x);  tanh: (1 + t)/2 + x/2 (1 - t^2) beta (1 + 3 kappa x^2)."""
    xp = get_xp(dy)
    kind, x, c = cache
    if kind == "none":
        return (dy * (c + x * _INV_SQRT_2PI * xp.exp(-0.5 * x * x)),)
    inner = _TANH_BETA * (1 + 3 * _TANH_KAPPA * x * x)
    return (dy * (0.5 * (1 + c) + 0.5 * x * (1 - c * c) * inner),)


def silu_forward(x):
    s, _ = sigmoid_forward(x)
    with np.errstate(invalid="ignore"):  # -inf * 0 = nan, as PyTorch's
        return x * s, (x, s)


def silu_backward(dy, cache):
    """d/dx x s(x) = s (1 + x (1 - s))."""
    x, s = cache
    with np.errstate(invalid="ignore"):
        return (dy * s * (1 + x * (1 - s)),)


def relu6_forward(x):
    xp = get_xp(x)
    inside = (x > 0) & (x < 6)  # the gradient flows strictly inside (0, 6), as PyTorch's hardtanh
    return xp.clip(x, 0, 6), inside


def relu6_backward(dy, inside):
    xp = get_xp(dy)
    return (xp.where(inside, dy, 0),)


def elu_forward(x, *, alpha=1.0):
    xp = get_xp(x)
    _real("elu", "alpha", alpha, "alpha=1.0")
    pos = x > 0
    alpha = x.dtype.type(alpha)
    return xp.where(pos, x, alpha * xp.expm1(xp.minimum(x, 0))), (pos, x, alpha)


def elu_backward(dy, cache):
    """1 for x > 0, alpha * exp(x) otherwise."""
    xp = get_xp(dy)
    pos, x, alpha = cache
    return (xp.where(pos, dy, dy * alpha * xp.exp(xp.minimum(x, 0))),)


def softplus_forward(x, *, beta=1.0, threshold=20.0):
    xp = get_xp(x)
    _real("softplus", "beta", beta, "beta=1.0")
    _real("softplus", "threshold", threshold, "threshold=20.0")
    if beta == 0:
        raise ShapeError("softplus: beta=0 divides by zero; use a non-zero beta, e.g. beta=1.0")
    z = x * x.dtype.type(beta)
    linear = z > threshold
    soft = (xp.maximum(z, 0) + xp.log1p(xp.exp(-xp.abs(z)))) / x.dtype.type(beta)
    return xp.where(linear, x, soft), (linear, z)


def softplus_backward(dy, cache):
    """1 where linear, sigmoid(beta x) elsewhere."""
    xp = get_xp(dy)
    linear, z = cache
    s, _ = sigmoid_forward(z)
    return (xp.where(linear, dy, dy * s),)


def _real(op, name, value, example):
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        raise ShapeError(f"{op}: {name} must be a real number, got {value!r}; e.g. {example}")


def softmax_forward(x, *, dim, dtype=None):
    xp = get_xp(x)
    axis = check_dim("softmax", x.ndim, dim)
    x, in_dtype = _cast("softmax", x, dtype)
    z = xp.exp(x - x.max(axis=axis, keepdims=True, initial=-xp.inf))  # initial: empty axes
    z /= z.sum(axis=axis, keepdims=True)
    return z, (z, axis, in_dtype)


def softmax_backward(dy, cache):
    """dx = y * (dy - sum(dy * y)), in the input's dtype."""
    y, axis, in_dtype = cache
    dy = dy.astype(y.dtype, copy=False)
    return ((y * (dy - (dy * y).sum(axis=axis, keepdims=True))).astype(in_dtype, copy=False),)


def log_softmax_forward(x, *, dim, dtype=None):
    xp = get_xp(x)
    axis = check_dim("log_softmax", x.ndim, dim)
    x, in_dtype = _cast("log_softmax", x, dtype)
    z = x - x.max(axis=axis, keepdims=True, initial=-xp.inf)
    y = z - xp.log(xp.exp(z).sum(axis=axis, keepdims=True))
    return y, (y, axis, in_dtype)


def log_softmax_backward(dy, cache):
    """dx = dy - softmax(x) * sum(dy), in the input's dtype."""
    xp = get_xp(dy)
    y, axis, in_dtype = cache
    dy = dy.astype(y.dtype, copy=False)
    return ((dy - xp.exp(y) * dy.sum(axis=axis, keepdims=True)).astype(in_dtype, copy=False),)


def _cast(op, x, dtype):
    """(x in dtype, x's own dtype): PyTorch's ``dtype`` argument casts the input first."""
    if dtype is None:
        return x, x.dtype
    try:
        cast = np.dtype(dtype)
    except TypeError:
        cast = None
    if cast is None or cast.kind != "f":
        raise ShapeError(f"{op}: dtype must be a float dtype such as np.float64, got {dtype!r}")
    return x.astype(cast, copy=False), x.dtype


def check_dim(op, ndim, dim):
    """dim (negative counts from the end) -> a valid axis of an ndim-D array."""
    if not isinstance(dim, numbers.Integral) or isinstance(dim, bool):
        raise ShapeError(f"{op}: dim must be an integer, got {dim!r}; e.g. dim=1 for (N, C) logits")
    if not -max(ndim, 1) <= dim < max(ndim, 1):
        raise ShapeError(
            f"{op}: dim={dim} is out of range for a {ndim}-D input; use -{ndim} <= dim < {ndim}"
        )
    return int(dim) % max(ndim, 1) if ndim else None
