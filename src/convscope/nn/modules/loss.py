"""Loss layers: CrossEntropyLoss, NLLLoss, MSELoss (reduction "mean" | "sum" | "none")."""

from .. import functional as F
from ..module import Module


class CrossEntropyLoss(Module):
    """log_softmax + NLL: logits (N, C) or (N, C, d...), target class indices (N,) or (N, d...)."""

    def __init__(self, reduction="mean", label_smoothing=0.0):
        super().__init__()
        self.reduction, self.label_smoothing = reduction, label_smoothing

    def forward(self, input, target):  # noqa: A002 - PyTorch's name
        return F.cross_entropy(input, target, reduction=self.reduction,
                               label_smoothing=self.label_smoothing)  # fmt: skip


class NLLLoss(Module):
    """-input[n, target[n]] averaged (or summed): input holds log-probabilities (N, C)."""

    def __init__(self, reduction="mean"):
        super().__init__()
        self.reduction = reduction

    def forward(self, input, target):  # noqa: A002 - PyTorch's name
        return F.nll_loss(input, target, reduction=self.reduction)


class MSELoss(Module):
    """mean((input - target)^2) (or sum, or elementwise with reduction="none")."""

    def __init__(self, reduction="mean"):
        super().__init__()
        self.reduction = reduction

    def forward(self, input, target):  # noqa: A002 - PyTorch's name
        return F.mse_loss(input, target, reduction=self.reduction)
