"""Losses: F.cross_entropy, nll_loss, mse_loss, l1_loss, binary_cross_entropy_with_logits
(PyTorch's signatures and reductions).

Targets of cross_entropy and nll_loss are class indices (an int array, or a Tensor whose
float values are whole numbers), which get no gradient, or, for cross_entropy, class
probabilities (a float array of the input's shape), which do, as in PyTorch. Class weights
get none. The targets of mse_loss, l1_loss and binary_cross_entropy_with_logits get one.
"""

import numpy as np

from ...autograd import Tensor, apply
from ...ops import loss, pointwise_loss

__all__ = [
    "cross_entropy",
    "nll_loss",
    "mse_loss",
    "l1_loss",
    "binary_cross_entropy_with_logits",
]


def cross_entropy(
    input, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0
):
    """log_softmax over dim 1, then nll_loss (with label smoothing). input (N, C, ...) or one
    sample (C,); target class indices (N, ...) / () or class probabilities of the input's shape
    in a float dtype (which get a gradient, as PyTorch's)."""
    probs = _raw(target)
    if probs.dtype.kind == "f" and probs.shape == _raw(input).shape:
        return apply(
            loss.soft_cross_entropy_forward, loss.soft_cross_entropy_backward, (input, target),
            weight=_raw(weight), reduction=reduction, label_smoothing=label_smoothing,
        )  # fmt: skip
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
        pointwise_loss.mse_loss_forward,
        pointwise_loss.mse_loss_backward,
        (input, target),
        reduction=reduction,
    )


def l1_loss(input, target, reduction="mean"):
    """|input - target|, reduced; both get gradients."""
    return apply(
        pointwise_loss.l1_loss_forward,
        pointwise_loss.l1_loss_backward,
        (input, target),
        reduction=reduction,
    )


def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean", pos_weight=None):
    """-w * (pw * t * log sigmoid(x) + (1 - t) * log(1 - sigmoid(x))), computed without
    overflow; target of the input's shape; weight and pos_weight broadcast (no gradient)."""
    return apply(
        pointwise_loss.bce_with_logits_forward, pointwise_loss.bce_with_logits_backward, (input, target),
        weight=_raw(weight), pos_weight=_raw(pos_weight), reduction=reduction,
    )  # fmt: skip


def _raw(value):
    """A Tensor's array, or the value as an array (integers stay integers)."""
    if value is None:
        return None
    return value.data if isinstance(value, Tensor) else np.asarray(value)
