"""Normalisation layers: BatchNorm1d over (N, C) or (N, C, L), BatchNorm2d over (N, C, H, W);
LayerNorm and GroupNorm (per-sample statistics) at the end of the file.

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
    ndims = (2, 3)
    layout = "(N, C) or (N, C, L)"


class BatchNorm2d(_BatchNorm):
    pass


_BATCH_NORM = """Batch normalisation over {layout}, per channel c:

    y = (x - mean[c]) / sqrt(var[c] + eps) * weight[c] + bias[c]

In training mean and var are the batch's (over N{spatial}); the running statistics follow
running = (1 - momentum) * running + momentum * batch (var unbiased, as PyTorch). In eval mode
(``model.eval()``) the running statistics normalise.

Args:
    num_features (int): C, the channels
    eps (float, optional): added to the variance. Default: 1e-5
    momentum (float or None, optional): weight of the batch in the running statistics; None:
        a cumulative average. Default: 0.1
    affine (bool, optional): learnable weight (ones) and bias (zeros). Default: True
    track_running_stats (bool, optional): keep running_mean / running_var; False normalises
        with the batch's statistics in eval mode too. Default: True
    bias (bool, keyword): False drops the bias alone. Default: True
    dtype (keyword): float32 (default) or float64

The weights start at 1 and 0, as PyTorch's, so the layer takes no ``rng``.

Shape:
    - Input: {layout}
    - Output: the same shape

Examples:
    >>> m = nn.{name}(100)
    >>> m(cs.randn({example})).shape
    ({example})
"""
BatchNorm1d.__doc__ = _BATCH_NORM.format(
    layout="(N, C) or (N, C, L)", spatial=" and L", name="BatchNorm1d", example="20, 100"
)
BatchNorm2d.__doc__ = _BATCH_NORM.format(
    layout="(N, C, H, W)", spatial=", H and W", name="BatchNorm2d", example="20, 100, 35, 45"
)


class LayerNorm(Module):
    """Normalise each sample over its trailing ``normalized_shape`` axes, as torch.nn.LayerNorm:

        y = (x - mean) / sqrt(var + eps) * weight + bias     (mean, biased var over those axes)

    weight (ones) and bias (zeros) have shape normalized_shape (elementwise_affine=True;
    bias=False drops the bias). Same statistics in training and eval; no buffers.
    """

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True,
                 *, dtype=np.float32):  # fmt: skip
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else normalized_shape
        if not _positive_ints(shape):
            raise ShapeError(
                f"LayerNorm: normalized_shape={normalized_shape!r} must be a positive integer or"
                f" a tuple of them (the trailing dimensions of the input, e.g. (C, H, W))"
            )
        self.normalized_shape, self.eps = tuple(int(s) for s in shape), eps
        self.elementwise_affine = elementwise_affine
        ones, zeros = np.ones(self.normalized_shape, dtype), np.zeros(self.normalized_shape, dtype)
        self.register_parameter("weight", ones if elementwise_affine else None)
        self.register_parameter("bias", zeros if elementwise_affine and bias else None)

    def forward(self, x):
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (
            f"{self.normalized_shape}, eps={self.eps},"
            f" elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}"
        )


class GroupNorm(Module):
    """Normalise each sample's groups of num_channels / num_groups channels (with their spatial
    positions), as torch.nn.GroupNorm; weight (ones) and bias (zeros) are per channel (C,)
    (affine=True; bias=False drops the bias)."""

    def __init__(
        self, num_groups, num_channels, eps=1e-5, affine=True, *, bias=True, dtype=np.float32
    ):
        super().__init__()
        if not _positive_ints((num_groups, num_channels)) or num_channels % num_groups:
            raise ShapeError(
                f"GroupNorm: num_groups={num_groups!r} must be a positive integer dividing"
                f" num_channels={num_channels!r}"
            )
        self.num_groups, self.num_channels = int(num_groups), int(num_channels)
        self.eps, self.affine = eps, affine
        self.register_parameter("weight", np.ones(num_channels, dtype) if affine else None)
        self.register_parameter("bias", np.zeros(num_channels, dtype) if affine and bias else None)

    def forward(self, x):
        if len(x.shape) < 2 or x.shape[1] != self.num_channels:
            raise ShapeError(
                f"GroupNorm: input shape {tuple(x.shape)} does not have num_channels="
                f"{self.num_channels} channels on axis 1; expected (N, {self.num_channels}, ...)"
            )
        return F.group_norm(x, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (
            f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine},"
            f" bias={self.bias is not None}"
        )


def _positive_ints(values):
    return (
        isinstance(values, (tuple, list))
        and len(values) > 0
        and all(
            isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 1 for v in values
        )
    )
