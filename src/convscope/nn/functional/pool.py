"""Pooling: F.max_pool1d/2d, avg_pool1d/2d, min_pool1d/2d, adaptive_avg/max_pool2d (PyTorch's
signatures).

x (N, C, L) or (N, C, H, W); stride defaults to kernel_size; 0 <= padding <= kernel_size // 2;
out = floor((in + 2P - K) / S) + 1 (ceil with ceil_mode). min_pool is max_pool of -x, negated.
"""

import numpy as np

from ...autograd import apply
from ...errors import ShapeError
from ...ops import adaptive_pool, pool

__all__ = [
    "max_pool1d",
    "max_pool2d",
    "avg_pool1d",
    "avg_pool2d",
    "min_pool1d",
    "min_pool2d",
    "adaptive_avg_pool2d",
    "adaptive_max_pool2d",
]


def max_pool1d(x, kernel_size, stride=None, padding=0, ceil_mode=False):
    """Maximum over each window: (N, C, L) -> (N, C, L_out) (-inf padding); the gradient goes to
    each window's first maximum. L_out = floor((L + 2*padding - kernel_size) / stride) + 1."""
    check_flag("max_pool1d", ceil_mode=ceil_mode)
    return apply(
        pool.max_pool1d_forward, pool.max_pool1d_backward, (x,),
        kernel_size=kernel_size, stride=stride, padding=padding, ceil_mode=ceil_mode,
    )  # fmt: skip


def max_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False):
    """Maximum over each window: (N, C, H, W) -> (N, C, H_out, W_out), padding with -inf.

    H_out = floor((H + 2*padding[0] - kernel_size[0]) / stride[0]) + 1 (ceil with ceil_mode),
    likewise W_out; stride defaults to kernel_size. The gradient of a window goes to its first
    maximum in row-major order (a NaN window's last NaN), as PyTorch's.

        >>> F.max_pool2d(cs.randn(1, 6, 28, 28), 2).shape
        (1, 6, 14, 14)
    """
    check_flag("max_pool2d", ceil_mode=ceil_mode)
    return apply(
        pool.max_pool2d_forward, pool.max_pool2d_backward, (x,),
        kernel_size=kernel_size, stride=stride, padding=padding, ceil_mode=ceil_mode,
    )  # fmt: skip


def min_pool1d(x, kernel_size, stride=None, padding=0, ceil_mode=False):
    """Minimum over each window: (N, C, L) -> (N, C, L_out) (+inf padding); max_pool1d's sizes
    and gradient rule, for the minimum (convscope's: PyTorch has no min pooling)."""
    check_flag("min_pool1d", ceil_mode=ceil_mode)
    return apply(
        pool.min_pool1d_forward, pool.min_pool1d_backward, (x,),
        kernel_size=kernel_size, stride=stride, padding=padding, ceil_mode=ceil_mode,
    )  # fmt: skip


def min_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False):
    """Minimum over each window: (N, C, H, W) -> (N, C, H_out, W_out) (+inf padding); max_pool2d's
    sizes and gradient rule, for the minimum (convscope's: PyTorch has no min pooling)."""
    check_flag("min_pool2d", ceil_mode=ceil_mode)
    return apply(
        pool.min_pool2d_forward, pool.min_pool2d_backward, (x,),
        kernel_size=kernel_size, stride=stride, padding=padding, ceil_mode=ceil_mode,
    )  # fmt: skip


def avg_pool1d(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """Mean over each window: (N, C, L) -> (N, C, L_out), zero padding counted in the divisor
    unless count_include_pad=False; L_out as max_pool1d's. The gradient splits evenly."""
    check_flag("avg_pool1d", count_include_pad=count_include_pad, ceil_mode=ceil_mode)
    return apply(
        pool.avg_pool1d_forward, pool.avg_pool1d_backward, (x,),
        kernel_size=kernel_size, stride=stride, padding=padding, ceil_mode=ceil_mode,
        count_include_pad=count_include_pad,
    )  # fmt: skip


def avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """Mean over each window: (N, C, H, W) -> (N, C, H_out, W_out); H_out, W_out as max_pool2d's.

    The divisor counts the padding zeros unless count_include_pad=False; a ceil_mode window
    that runs past the padding counts only what it covers (PyTorch's rule). The gradient of a
    window is split evenly over its divisor.

        >>> F.avg_pool2d(cs.randn(1, 6, 28, 28), 3, stride=2, padding=1).shape
        (1, 6, 14, 14)
    """
    check_flag("avg_pool2d", count_include_pad=count_include_pad, ceil_mode=ceil_mode)
    return apply(
        pool.avg_pool2d_forward, pool.avg_pool2d_backward, (x,),
        kernel_size=kernel_size, stride=stride, padding=padding, ceil_mode=ceil_mode,
        count_include_pad=count_include_pad,
    )  # fmt: skip


def check_flag(op, **flags):
    """Each flag (ceil_mode, count_include_pad) must be a bool: a string such as 'no' is truthy."""
    for name, value in flags.items():
        if not isinstance(value, (bool, np.bool_)):
            raise ShapeError(f"{op}: {name} must be True or False, got {value!r}")


def adaptive_avg_pool2d(x, output_size):
    """Mean over PyTorch's adaptive windows: (N, C, H, W) -> (N, C, *output_size), any size."""
    return apply(
        adaptive_pool.adaptive_avg_pool2d_forward, adaptive_pool.adaptive_avg_pool2d_backward,
        (x,), output_size=output_size,
    )  # fmt: skip


def adaptive_max_pool2d(x, output_size, return_indices=False):
    """Maximum over PyTorch's adaptive windows: (N, C, H, W) -> (N, C, *output_size)."""
    if return_indices:
        raise ShapeError(
            "adaptive_max_pool2d: return_indices=True is not supported; use return_indices=False"
        )
    return apply(
        adaptive_pool.adaptive_max_pool2d_forward, adaptive_pool.adaptive_max_pool2d_backward,
        (x,), output_size=output_size,
    )  # fmt: skip
