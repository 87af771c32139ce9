"""F.linear, flatten, unflatten, dropout, dropout2d and batch_norm (PyTorch's signatures).

dropout takes an explicit ``rng`` (numpy Generator) for reproducible masks; batch_norm
updates ``running_mean``/``running_var`` (arrays or Tensors) in place when training.
"""

import numpy as np

from ...autograd import Tensor, apply
from ...ops import basic, norm

__all__ = ["linear", "flatten", "unflatten", "dropout", "dropout2d", "batch_norm"]


def linear(x, weight, bias=None):
    """x @ weight.T + bias; x (*, in), weight (out, in), bias (out,) -> (*, out)."""
    return apply(basic.linear_forward, basic.linear_backward, (x, weight, bias), pass_needs=True)


def flatten(x, start_dim=1, end_dim=-1):
    """Merge axes start_dim..end_dim into one (by default all but the batch axis)."""
    return apply(
        basic.flatten_forward, basic.flatten_backward, (x,), start_dim=start_dim, end_dim=end_dim
    )


def unflatten(x, dim, sizes):
    """Split axis dim into sizes, e.g. (N, 32) -> (N, 2, 4, 4) with dim=1, sizes=(2, 4, 4)."""
    return apply(basic.unflatten_forward, basic.flatten_backward, (x,), dim=dim, sizes=sizes)


def dropout(x, p=0.5, training=True, rng=None):
    """Inverted dropout: zero with probability p, scale the rest by 1/(1-p); identity in eval."""
    return apply(
        basic.dropout_forward, basic.dropout_backward, (x,), p=p, training=training, rng=rng
    )


def dropout2d(x, p=0.5, training=True, rng=None):
    """Channel dropout of (N, C, H, W): zero whole planes with probability p, scale by 1/(1-p)."""
    return apply(
        basic.dropout2d_forward, basic.dropout_backward, (x,), p=p, training=training, rng=rng
    )


def batch_norm(
    x, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5
):
    """Normalise each channel of x (N, C, *) by batch (training) or running (eval) statistics."""
    return apply(
        norm.batch_norm_forward, norm.batch_norm_backward, (x, weight, bias), pass_needs=True,
        running_mean=_buffer(running_mean), running_var=_buffer(running_var),
        training=training, momentum=momentum, eps=eps,
    )  # fmt: skip


def _buffer(value):
    """The array to read (and update in place): a Tensor's data, an ndarray as is, or None."""
    if value is None or isinstance(value, np.ndarray):
        return value
    return value.data if isinstance(value, Tensor) else np.asarray(value, dtype=np.float32)
