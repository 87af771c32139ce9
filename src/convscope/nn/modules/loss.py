"""Loss layers: CrossEntropyLoss, NLLLoss, MSELoss, L1Loss, BCEWithLogitsLoss (reduction
"mean" | "sum" | "none").

A class ``weight`` (C,) (and BCEWithLogitsLoss's ``pos_weight``) is a buffer, as in PyTorch
(so it appears in state_dict when given).
"""

import numpy as np

from .. import functional as F
from ..module import Module


class _WeightedLoss(Module):
    def __init__(self, weight, ignore_index, reduction):
        super().__init__()
        self.register_buffer("weight", None if weight is None else np.asarray(weight))
        self.ignore_index, self.reduction = ignore_index, reduction


class CrossEntropyLoss(_WeightedLoss):
    """log_softmax + NLL: logits (N, C) or (N, C, d...), target class indices (N,) or (N, d...),
    or class probabilities of the logits' shape (float)."""

    def __init__(self, weight=None, *, ignore_index=-100, reduction="mean", label_smoothing=0.0):
        super().__init__(weight, ignore_index, reduction)
        self.label_smoothing = label_smoothing

    def forward(self, input, target):  # noqa: A002 - PyTorch's name
        return F.cross_entropy(input, target, weight=self.weight, ignore_index=self.ignore_index,
                               reduction=self.reduction,
                               label_smoothing=self.label_smoothing)  # fmt: skip


class NLLLoss(_WeightedLoss):
    """-weight[t] * input[n, t], averaged (or summed): input holds log-probabilities (N, C, ...)."""

    def __init__(self, weight=None, *, ignore_index=-100, reduction="mean"):
        super().__init__(weight, ignore_index, reduction)

    def forward(self, input, target):  # noqa: A002 - PyTorch's name
        return F.nll_loss(input, target, weight=self.weight, ignore_index=self.ignore_index,
                          reduction=self.reduction)  # fmt: skip


class MSELoss(Module):
    """mean((input - target)^2) (or sum, or elementwise with reduction="none")."""

    def __init__(self, reduction="mean"):
        super().__init__()
        self.reduction = reduction

    def forward(self, input, target):  # noqa: A002 - PyTorch's name
        return F.mse_loss(input, target, reduction=self.reduction)


class L1Loss(MSELoss):
    """mean(|input - target|) (or sum, or elementwise with reduction="none")."""

    def forward(self, input, target):  # noqa: A002 - PyTorch's name
        return F.l1_loss(input, target, reduction=self.reduction)


class BCEWithLogitsLoss(Module):
    """Sigmoid + binary cross-entropy in one stable step: logits and targets in [0, 1] of the
    same shape; weight and pos_weight (e.g. (C,), the positives' weight) broadcast."""

    def __init__(self, weight=None, reduction="mean", pos_weight=None):
        super().__init__()
        self.register_buffer("weight", None if weight is None else np.asarray(weight))
        self.register_buffer("pos_weight", None if pos_weight is None else np.asarray(pos_weight))
        self.reduction = reduction

    def forward(self, input, target):  # noqa: A002 - PyTorch's name
        return F.binary_cross_entropy_with_logits(
            input, target, self.weight, reduction=self.reduction, pos_weight=self.pos_weight
        )
