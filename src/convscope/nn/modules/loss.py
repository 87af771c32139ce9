"""Loss layers: CrossEntropyLoss, NLLLoss, MSELoss (reduction "mean" | "sum" | "none").

A class ``weight`` (C,) is a buffer, as in PyTorch (so it appears in state_dict when given).
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
    """log_softmax + NLL: logits (N, C) or (N, C, d...), target class indices (N,) or (N, d...)."""

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
