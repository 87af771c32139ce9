"""Weight initialisation as PyTorch does it, drawn from a seedable ``numpy.random.Generator``.

Every function fills a Tensor (or ndarray) in place and returns it. ``rng=None`` uses the
module-level default generator, which ``manual_seed(seed)`` (re-exported as
``cs.manual_seed``) resets; a fresh process starts from seed 0, so runs are repeatable.

    bound = gain * sqrt(3 / fan)         kaiming_uniform_, gain = sqrt(2 / (1 + a^2))
    fan_in = in_channels/groups * prod(kernel),  fan_out = out_channels * prod(kernel)

Conv and Linear layers use ``kaiming_uniform_(w, a=sqrt(5))``, i.e. w ~ U(-1/sqrt(fan_in),
1/sqrt(fan_in)), and bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
"""

import math

import numpy as np

from ..autograd import Tensor
from ..errors import ShapeError

_default = np.random.default_rng(0)


def manual_seed(seed):
    """Reset the default generator to ``numpy.random.default_rng(seed)`` and return it."""
    global _default
    _default = np.random.default_rng(seed)
    return _default


def default_generator():
    """The generator layers draw from when they are given no ``rng``."""
    return _default


def _array(tensor):
    return tensor.data if isinstance(tensor, Tensor) else tensor


def _fill(tensor, values):
    arr = _array(tensor)
    arr[...] = values.astype(arr.dtype, copy=False)
    return tensor


def uniform_(tensor, a=0.0, b=1.0, rng=None):
    """Fill with U(a, b)."""
    arr = _array(tensor)
    return _fill(tensor, (rng or _default).uniform(a, b, size=arr.shape))


def normal_(tensor, mean=0.0, std=1.0, rng=None):
    """Fill with N(mean, std^2)."""
    arr = _array(tensor)
    return _fill(tensor, (rng or _default).normal(mean, std, size=arr.shape))


def constant_(tensor, value):
    _array(tensor)[...] = value
    return tensor


def zeros_(tensor):
    return constant_(tensor, 0.0)


def ones_(tensor):
    return constant_(tensor, 1.0)


def calculate_gain(nonlinearity, param=None):
    """PyTorch's recommended gain: relu sqrt(2), tanh 5/3, leaky_relu sqrt(2/(1+a^2)), linear 1."""
    if nonlinearity in ("linear", "identity", "sigmoid") or nonlinearity.startswith("conv"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ShapeError(
        f"calculate_gain: unknown nonlinearity {nonlinearity!r}; use one of linear, conv2d,"
        f" sigmoid, tanh, relu, leaky_relu, selu"
    )


def fan_in_and_fan_out(shape):
    """(fan_in, fan_out) of a weight of shape (out, in, *kernel): in*prod(kernel), out*prod(kernel)."""
    if len(shape) < 2:
        raise ShapeError(
            f"init: fan in and fan out need a weight with at least 2 dimensions, got shape"
            f" {tuple(shape)}; initialise 1-D tensors with uniform_ or constant_"
        )
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def _fan(shape, mode):
    if mode not in ("fan_in", "fan_out"):
        raise ShapeError(f"init: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = fan_in_and_fan_out(shape)
    return fan_in if mode == "fan_in" else fan_out


def kaiming_uniform_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu", rng=None):
    """U(-bound, bound), bound = gain * sqrt(3 / fan) (He et al. 2015)."""
    fan = _fan(_array(tensor).shape, mode)
    bound = calculate_gain(nonlinearity, a) * math.sqrt(3.0 / fan)
    return uniform_(tensor, -bound, bound, rng)


def kaiming_normal_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu", rng=None):
    """N(0, std^2), std = gain / sqrt(fan)."""
    fan = _fan(_array(tensor).shape, mode)
    return normal_(tensor, 0.0, calculate_gain(nonlinearity, a) / math.sqrt(fan), rng)


def xavier_uniform_(tensor, gain=1.0, rng=None):
    """U(-bound, bound), bound = gain * sqrt(6 / (fan_in + fan_out)) (Glorot & Bengio 2010)."""
    fan_in, fan_out = fan_in_and_fan_out(_array(tensor).shape)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound, rng)


def xavier_normal_(tensor, gain=1.0, rng=None):
    """N(0, std^2), std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = fan_in_and_fan_out(_array(tensor).shape)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), rng)


def default_conv_linear_(weight, bias, rng=None):
    """PyTorch's reset_parameters for Conv and Linear: kaiming_uniform_(a=sqrt(5)), bias U(+-1/sqrt(fan_in))."""
    kaiming_uniform_(weight, a=math.sqrt(5), rng=rng)
    if bias is not None:
        fan_in, _ = fan_in_and_fan_out(_array(weight).shape)
        bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
        uniform_(bias, -bound, bound, rng)
