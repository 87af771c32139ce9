"""F.layer_norm and F.group_norm (PyTorch's signatures); batch_norm lives in basic.py."""

from ...autograd import apply
from ...ops import norm

__all__ = ["layer_norm", "group_norm"]


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalise each sample over its trailing normalized_shape axes; weight/bias that shape."""
    return apply(
        norm.layer_norm_forward, norm.layer_norm_backward, (input, weight, bias), pass_needs=True,
        normalized_shape=normalized_shape, eps=eps,
    )  # fmt: skip


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """Normalise each (sample, group of C / num_groups channels); weight/bias (C,)."""
    return apply(
        norm.group_norm_forward, norm.group_norm_backward, (input, weight, bias), pass_needs=True,
        num_groups=num_groups, eps=eps,
    )  # fmt: skip
