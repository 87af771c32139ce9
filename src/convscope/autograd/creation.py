"""Making tensors (PyTorch's factory names) and joining them: tensor, zeros, ones, full,
zeros_like, ones_like, arange, rand, randn, cat, stack, where."""

import numpy as np

from ..ops import arith, reshape
from .function import apply, as_array
from .tensor import Tensor


def tensor(data, requires_grad=False, dtype=None):
    """Make a Tensor. Float arrays keep their dtype; Python numbers and lists become float32
    (PyTorch's default) and so do integer arrays (raw pixel matrices)."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


def zeros(*shape, dtype=np.float32, requires_grad=False):
    return Tensor(np.zeros(_shape(shape), dtype=dtype), requires_grad=requires_grad)


def ones(*shape, dtype=np.float32, requires_grad=False):
    return Tensor(np.ones(_shape(shape), dtype=dtype), requires_grad=requires_grad)


def full(shape, fill_value, dtype=np.float32, requires_grad=False):
    return Tensor(np.full(_shape((shape,)), fill_value, dtype=dtype), requires_grad=requires_grad)


def zeros_like(t, dtype=None, requires_grad=False):
    return Tensor(np.zeros_like(as_array(t), dtype=dtype), requires_grad=requires_grad)


def ones_like(t, dtype=None, requires_grad=False):
    return Tensor(np.ones_like(as_array(t), dtype=dtype), requires_grad=requires_grad)


def arange(start, end=None, step=1, dtype=None):
    """Like torch.arange: int64 for integer arguments, float32 otherwise."""
    values = np.arange(start, end, step) if end is not None else np.arange(start)
    if dtype is None:
        dtype = np.int64 if values.dtype.kind in "iu" else np.float32
    return Tensor(values, dtype=dtype)


def rand(*shape, rng=None, dtype=np.float32, requires_grad=False):
    """Uniform [0, 1) samples from rng (a numpy Generator; a fresh unseeded one if None)."""
    rng = np.random.default_rng() if rng is None else rng
    return Tensor(rng.random(_shape(shape)).astype(dtype), requires_grad=requires_grad)


def randn(*shape, rng=None, dtype=np.float32, requires_grad=False):
    """Standard normal samples from rng (a numpy Generator; a fresh unseeded one if None)."""
    rng = np.random.default_rng() if rng is None else rng
    return Tensor(rng.standard_normal(_shape(shape)).astype(dtype), requires_grad=requires_grad)


def cat(tensors, dim=0):
    """Join tensors along an existing axis; every other size must agree."""
    return apply(reshape.concat_forward, reshape.concat_backward, tuple(tensors), axis=dim)


def stack(tensors, dim=0):
    """Join equal-shaped tensors along a new axis dim."""
    return apply(reshape.stack_forward, reshape.stack_backward, tuple(tensors), axis=dim)


def where(condition, input, other):  # noqa: A002 - PyTorch's names
    """input where condition else other; gradients flow to the chosen side only."""
    cond = np.asarray(condition.data if isinstance(condition, Tensor) else condition, dtype=bool)
    return apply(arith.where_forward, arith.where_backward, (input, other), cond=cond)


def _shape(shape):
    return (
        tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], tuple | list) else tuple(shape)
    )
