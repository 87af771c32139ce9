"""Batch normalisation: BatchNorm1d over (N, C) or (N, C, L), BatchNorm2d over (N, C, H, W).

    y = (x - mean) / sqrt(var + eps) * weight + bias        per channel c
    (weight and bias exist when affine=True; bias=False drops the bias alone, as PyTorch)
    training: mean/var of the batch (over N and the spatial axes); running stats updated as
        running = (1 - momentum) * running + momentum * batch_stat   (unbiased var, as PyTorch)
        (momentum=None: cumulative average, factor 1 / num_batches_tracked)
    eval: running_mean / running_var (unless track_running_stats=False)

Buffers: running_mean (C,), running_var (C,), num_batches_tracked () int64 -- PyTorch's keys.
"""

import numpy as np

from ...errors import ShapeError
from .. import functional as F
from ..module import Module


class _BatchNorm(Module):
    ndims = (4,)
    layout = "(N, C, H, W)"

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
                 *, bias=True, dtype=np.float32):  # fmt: skip
        super().__init__()
        name = type(self).__name__
        if (
            isinstance(num_features, bool)
            or not isinstance(num_features, (int, np.integer))
            or num_features < 1
        ):
            raise ShapeError(
                f"{name}: num_features must be a positive integer, got {num_features!r}"
            )
        if momentum is not None and not 0 <= momentum <= 1:
            raise ShapeError(f"{name}: momentum must be in [0, 1] (or None), got {momentum}")
        if eps <= 0:
            raise ShapeError(f"{name}: eps must be > 0, got {eps}")
        self.num_features, self.eps, self.momentum = int(num_features), eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        self.register_parameter("weight", np.ones(num_features, dtype=dtype) if affine else None)
        use_bias = affine and bias
        self.register_parameter("bias", np.zeros(num_features, dtype=dtype) if use_bias else None)
        if track_running_stats:
            self.register_buffer("running_mean", np.zeros(num_features, dtype=dtype))
            self.register_buffer("running_var", np.ones(num_features, dtype=dtype))
            self.register_buffer("num_batches_tracked", np.array(0, dtype=np.int64))
        else:
            for buf in ("running_mean", "running_var", "num_batches_tracked"):
                self.register_buffer(buf, None)

    def reset_running_stats(self):
        if self.track_running_stats:
            self.running_mean[...] = 0
            self.running_var[...] = 1
            self.num_batches_tracked[...] = 0

    def forward(self, x):
        shape = tuple(x.shape)
        name = type(self).__name__
        if len(shape) not in self.ndims:
            raise ShapeError(
                f"{name}: expected a {' or '.join(f'{n}-D' for n in self.ndims)} input {self.layout},"
                f" got shape {shape}"
            )
        if shape[1] != self.num_features:
            raise ShapeError(
                f"{name}: input has {shape[1]} channels (shape {shape}) but the layer was built for"
                f" num_features={self.num_features}; they must match"
            )
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked += 1
            if self.momentum is None:
                factor = 1.0 / float(self.num_batches_tracked)
        use_batch = self.training or not self.track_running_stats
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                            training=use_batch, momentum=factor, eps=self.eps)  # fmt: skip

    def extra_repr(self):
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine},"
            f" bias={self.bias is not None}, track_running_stats={self.track_running_stats}"
        )


class BatchNorm1d(_BatchNorm):
    """Batch norm over (N, C) or (N, C, L); see the module docstring."""

    ndims = (2, 3)
    layout = "(N, C) or (N, C, L)"


class BatchNorm2d(_BatchNorm):
    """Batch norm over (N, C, H, W); see the module docstring."""
