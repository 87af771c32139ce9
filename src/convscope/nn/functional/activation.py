"""Activations: F.relu, leaky_relu, sigmoid, tanh, gelu, softmax, log_softmax (PyTorch's names)."""

from ...autograd import apply
from ...ops import activation as act

__all__ = ["relu", "leaky_relu", "sigmoid", "tanh", "gelu", "softmax", "log_softmax"]


def relu(x):
    """max(x, 0); the gradient at 0 is 0."""
    return apply(act.relu_forward, act.relu_backward, (x,))


def leaky_relu(x, negative_slope=0.01):
    """x for x > 0, negative_slope * x otherwise."""
    return apply(
        act.leaky_relu_forward, act.leaky_relu_backward, (x,), negative_slope=negative_slope
    )


def sigmoid(x):
    """1 / (1 + exp(-x)), stable for any |x|."""
    return apply(act.sigmoid_forward, act.sigmoid_backward, (x,))


def tanh(x):
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
