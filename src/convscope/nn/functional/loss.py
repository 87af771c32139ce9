"""Losses: F.cross_entropy, nll_loss, mse_loss (PyTorch's signatures and reductions).

Targets of the classification losses are class indices (an int array, or a Tensor whose
float values are whole numbers); they and the class weights get no gradient.
"""

import numpy as np

from ...autograd import Tensor, apply
from ...ops import loss

__all__ = ["cross_entropy", "nll_loss", "mse_loss"]


def cross_entropy(
    input, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0
):
    """log_softmax over dim 1, then nll_loss (with label smoothing). input (N, C, ...)."""
    return apply(
        loss.cross_entropy_forward, loss.cross_entropy_backward, (input,),
        target=_raw(target), weight=_raw(weight), ignore_index=ignore_index,
        reduction=reduction, label_smoothing=label_smoothing,
    )  # fmt: skip


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    """-w[t] * input[n, t], reduced. input holds log-probabilities (N, C, ...)."""
    return apply(
        loss.nll_loss_forward, loss.nll_loss_backward, (input,),
        target=_raw(target), weight=_raw(weight), ignore_index=ignore_index, reduction=reduction,
    )  # fmt: skip


def mse_loss(input, target, reduction="mean"):
    """(input - target)^2, reduced; both get gradients."""
    return apply(
        loss.mse_loss_forward, loss.mse_loss_backward, (input, target), reduction=reduction
    )


def _raw(value):
    """A Tensor's array, or the value as an array (integers stay integers)."""
    if value is None:
        return None
    return value.data if isinstance(value, Tensor) else np.asarray(value)
