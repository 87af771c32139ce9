"""Activations: F.relu, relu6, leaky_relu, elu, sigmoid, silu, softplus, tanh, gelu, softmax,
log_softmax (PyTorch's names)."""

from ...autograd import apply
from ...ops import activation as act

__all__ = [
    "relu",
    "relu6",
    "leaky_relu",
    "elu",
    "sigmoid",
    "silu",
    "softplus",
    "tanh",
    "gelu",
    "softmax",
    "log_softmax",
]


def relu(x):
    """max(x, 0); the gradient at 0 is 0."""
    return apply(act.relu_forward, act.relu_backward, (x,))


def relu6(x):
    """min(max(x, 0), 6); the gradient is 1 strictly inside (0, 6)."""
    return apply(act.relu6_forward, act.relu6_backward, (x,))


def elu(x, alpha=1.0):
    """x for x > 0, alpha * (exp(x) - 1) otherwise."""
    return apply(act.elu_forward, act.elu_backward, (x,), alpha=alpha)


def silu(x):
    """x * sigmoid(x) (swish)."""
    return apply(act.silu_forward, act.silu_backward, (x,))


def softplus(x, beta=1.0, threshold=20.0):
    """log(1 + exp(beta * x)) / beta, and x itself where beta * x > threshold."""
    return apply(act.softplus_forward, act.softplus_backward, (x,), beta=beta, threshold=threshold)


def leaky_relu(x, negative_slope=0.01):
    """x for x > 0, negative_slope * x otherwise."""
    return apply(
        act.leaky_relu_forward, act.leaky_relu_backward, (x,), negative_slope=negative_slope
    )


def sigmoid(x):
    """1 / (1 + exp(-x)), stable for any |x|."""
    return apply(act.sigmoid_forward, act.sigmoid_backward, (x,))


def tanh(x):
    """tanh(x); the gradient is 1 - tanh(x)^2."""
    return apply(act.tanh_forward, act.tanh_backward, (x,))


def gelu(x, approximate="none"):
    """x * Phi(x) with the exact erf ("none", PyTorch's default) or the "tanh" approximation."""
    return apply(act.gelu_forward, act.gelu_backward, (x,), approximate=approximate)


def softmax(x, dim):
    """exp(x - max) / sum(exp(x - max)) along dim (e.g. dim=1 for (N, C) logits)."""
    return apply(act.softmax_forward, act.softmax_backward, (x,), dim=dim)


def log_softmax(x, dim):
    """(x - max) - log(sum(exp(x - max))) along dim."""
    return apply(act.log_softmax_forward, act.log_softmax_backward, (x,), dim=dim)
