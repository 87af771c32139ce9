"""Pooling: F.max_pool1d/2d, avg_pool1d/2d, min_pool1d/2d, max_unpool1d/2d,
adaptive_avg/max_pool1d/2d (PyTorch's signatures).

x (N, C, L) or (N, C, H, W), or one sample (C, L) / (C, H, W); stride defaults to kernel_size;
0 <= padding <= kernel_size // 2; out = floor((in + 2P - D*(K-1) - 1) / S) + 1 (ceil with
ceil_mode). min_pool is max_pool of -x, negated.
"""

import numpy as np

from ...autograd import Tensor, apply
from ...errors import ShapeError
from ...ops import adaptive_pool, pool, unpool

__all__ = [
    "max_pool1d",
    "max_pool2d",
    "avg_pool1d",
    "avg_pool2d",
    "min_pool1d",
    "min_pool2d",
    "max_unpool1d",
    "max_unpool2d",
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "adaptive_max_pool1d",
    "adaptive_max_pool2d",
]


def max_pool1d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):  # fmt: skip
    """Maximum over each window: (N, C, L) -> (N, C, L_out) (-inf padding); the gradient goes to
    each window's first maximum. L_out = floor((L + 2*padding - dilation*(kernel_size - 1) - 1)
    / stride) + 1. return_indices=True also returns the index of each maximum (for max_unpool1d)."""
    check_flag("max_pool1d", ceil_mode=ceil_mode, return_indices=return_indices)
    return apply(
        pool.max_pool1d_forward, pool.max_pool1d_backward, (x,),
        kernel_size=kernel_size, stride=stride, padding=padding, dilation=dilation,
        ceil_mode=ceil_mode, return_indices=return_indices,
    )  # fmt: skip


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):  # fmt: skip
    """Maximum over each window: (N, C, H, W) -> (N, C, H_out, W_out), padding with -inf.

    H_out = floor((H + 2*padding[0] - dilation[0]*(kernel_size[0] - 1) - 1) / stride[0]) + 1
    (ceil with ceil_mode), likewise W_out; stride defaults to kernel_size. The gradient of a
    window goes to its first maximum in row-major order (a NaN window's last NaN), as
    PyTorch's. return_indices=True also returns the flat index h*W + w of each maximum in
    its input plane (int64), which max_unpool2d takes back.

        >>> F.max_pool2d(cs.randn(1, 6, 28, 28), 2).shape
        (1, 6, 14, 14)
    """
    check_flag("max_pool2d", ceil_mode=ceil_mode, return_indices=return_indices)
    return apply(
        pool.max_pool2d_forward, pool.max_pool2d_backward, (x,),
        kernel_size=kernel_size, stride=stride, padding=padding, dilation=dilation,
        ceil_mode=ceil_mode, return_indices=return_indices,
    )  # fmt: skip


def min_pool1d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """Minimum over each window: (N, C, L) -> (N, C, L_out) (+inf padding); max_pool1d's sizes
    and gradient rule, for the minimum (convscope's: PyTorch has no min pooling)."""
    check_flag("min_pool1d", ceil_mode=ceil_mode)
    return apply(
        pool.min_pool1d_forward, pool.min_pool1d_backward, (x,),
        kernel_size=kernel_size, stride=stride, padding=padding, dilation=dilation,
        ceil_mode=ceil_mode,
    )  # fmt: skip


def min_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """Minimum over each window: (N, C, H, W) -> (N, C, H_out, W_out) (+inf padding); max_pool2d's
    sizes and gradient rule, for the minimum (convscope's: PyTorch has no min pooling)."""
    check_flag("min_pool2d", ceil_mode=ceil_mode)
    return apply(
        pool.min_pool2d_forward, pool.min_pool2d_backward, (x,),
        kernel_size=kernel_size, stride=stride, padding=padding, dilation=dilation,
        ceil_mode=ceil_mode,
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


def avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):  # fmt: skip
    """Mean over each window: (N, C, H, W) -> (N, C, H_out, W_out); H_out, W_out as max_pool2d's.

    The divisor counts the padding zeros unless count_include_pad=False; a ceil_mode window
    that runs past the padding counts only what it covers (PyTorch's rule); divisor_override
    (a non-zero integer) replaces it for every window. The gradient of a window is split
    evenly over its divisor.

        >>> F.avg_pool2d(cs.randn(1, 6, 28, 28), 3, stride=2, padding=1).shape
        (1, 6, 14, 14)
    """
    check_flag("avg_pool2d", count_include_pad=count_include_pad, ceil_mode=ceil_mode)
    return apply(
        pool.avg_pool2d_forward, pool.avg_pool2d_backward, (x,),
        kernel_size=kernel_size, stride=stride, padding=padding, ceil_mode=ceil_mode,
        count_include_pad=count_include_pad, divisor_override=divisor_override,
    )  # fmt: skip


def max_unpool1d(x, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Put each value of x (N, C, L) back where max_pool1d found it: (N, C, L_out) zeros but at
    indices. L_out = (L - 1)*stride - 2*padding + kernel_size, or output_size (within stride
    of it; the pooled input's size undoes a floor). The gradient is dy read at the indices."""
    return apply(
        unpool.max_unpool1d_forward, unpool.max_unpool1d_backward, (x,),
        indices=_raw(indices), kernel_size=kernel_size, stride=stride, padding=padding,
        output_size=output_size,
    )  # fmt: skip


def max_unpool2d(x, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Put each value of x (N, C, H, W) back where max_pool2d found it (indices: its flat plane
    indices, return_indices=True): (N, C, H_out, W_out) zeros but at indices, H_out = (H - 1)*
    stride - 2*padding + kernel_size, or output_size (within stride of it).

        >>> x = cs.randn(1, 3, 5, 5)
        >>> y, i = F.max_pool2d(x, 2, return_indices=True)
        >>> F.max_unpool2d(y, i, 2, output_size=x.shape).shape
        (1, 3, 5, 5)
    """
    return apply(
        unpool.max_unpool2d_forward, unpool.max_unpool2d_backward, (x,),
        indices=_raw(indices), kernel_size=kernel_size, stride=stride, padding=padding,
        output_size=output_size,
    )  # fmt: skip


def check_flag(op, **flags):
    """Each flag (ceil_mode, count_include_pad, ...) must be a bool: a string such as 'no' is truthy."""
    for name, value in flags.items():
        if not isinstance(value, (bool, np.bool_)):
            raise ShapeError(f"{op}: {name} must be True or False, got {value!r}")


def _raw(value):
    """A Tensor's array, or the value as an array (integers stay integers)."""
    return value.data if isinstance(value, Tensor) else np.asarray(value)


def adaptive_avg_pool1d(x, output_size):
    """Mean over PyTorch's adaptive windows: (N, C, L) -> (N, C, output_size), any size."""
    return apply(
        adaptive_pool.adaptive_avg_pool1d_forward, adaptive_pool.adaptive_avg_pool1d_backward,
        (x,), output_size=output_size,
    )  # fmt: skip


def adaptive_avg_pool2d(x, output_size):
    """Mean over PyTorch's adaptive windows: (N, C, H, W) -> (N, C, *output_size), any size."""
    return apply(
        adaptive_pool.adaptive_avg_pool2d_forward, adaptive_pool.adaptive_avg_pool2d_backward,
        (x,), output_size=output_size,
    )  # fmt: skip


def adaptive_max_pool1d(x, output_size, return_indices=False):
    """Maximum over PyTorch's adaptive windows: (N, C, L) -> (N, C, output_size); with
    return_indices, also the index of each maximum."""
    check_flag("adaptive_max_pool1d", return_indices=return_indices)
    return apply(
        adaptive_pool.adaptive_max_pool1d_forward, adaptive_pool.adaptive_max_pool1d_backward,
        (x,), output_size=output_size, return_indices=return_indices,
    )  # fmt: skip


def adaptive_max_pool2d(x, output_size, return_indices=False):
    """Maximum over PyTorch's adaptive windows: (N, C, H, W) -> (N, C, *output_size); with
    return_indices, also the flat index h*W + w of each maximum."""
    check_flag("adaptive_max_pool2d", return_indices=return_indices)
    return apply(
        adaptive_pool.adaptive_max_pool2d_forward, adaptive_pool.adaptive_max_pool2d_backward,
        (x,), output_size=output_size, return_indices=return_indices,
    )  # fmt: skip
