"""Convolution layers: Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d (PyTorch's arguments).

Shape (2-D; 1-D drops H)::

    Conv2d:          x (N, C_in, H, W) -> (N, C_out, H_out, W_out)
                     H_out = floor((H + 2P - D*(K-1) - 1) / S) + 1
                     weight (C_out, C_in/groups, KH, KW), bias (C_out,)
    ConvTranspose2d: H_out = (H - 1)*S - 2P + D*(K-1) + output_padding + 1
                     weight (C_in, C_out/groups, KH, KW), bias (C_out,)

Weights start as PyTorch's: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with fan_in = weight.shape[1]
* prod(kernel), from ``rng`` (default: ``nn.init``'s seedable generator).

    >>> conv = nn.Conv2d(1, 6, kernel_size=5, padding=2)
    >>> conv(cs.tensor(np.zeros((8, 1, 28, 28)))).shape
    (8, 6, 28, 28)
"""

import numpy as np

from ...errors import ShapeError
from ...ops.conv import check_groups
from ...ops.geometry import as_tuple, conv_params, positive, resolve_pads
from .. import functional as F
from .. import init
from ..module import Module
from ..parameter import Parameter

PADDING_MODES = {
    "zeros": None,
    "reflect": "reflect",
    "replicate": "replicate",
    "circular": "circular",
}


class _ConvNd(Module):
    """Shared constructor, checks, initialisation and repr of the four conv layers."""

    nsp = 2
    transposed = False

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation, groups,
                 bias, padding_mode, output_padding=0, rng=None, dtype=np.float32):  # fmt: skip
        super().__init__()
        name, n = type(self).__name__, self.nsp
        for arg, value in (("in_channels", in_channels), ("out_channels", out_channels)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ShapeError(f"{name}: {arg} must be a positive integer, got {value!r}")
        self.kernel_size = positive(
            as_tuple(kernel_size, n, name, "kernel_size"), name, "kernel_size"
        )
        self.groups = check_groups(name, groups)
        self.stride, self.padding, self.dilation, out_pad = conv_params(
            name, n, stride, padding, dilation, output_padding if self.transposed else None
        )
        self.output_padding = out_pad or (0,) * n
        for arg, value in (("in_channels", in_channels), ("out_channels", out_channels)):
            if value % self.groups:
                raise ShapeError(
                    f"{name}: groups={self.groups} must divide {arg}={value}; choose groups among"
                    f" the divisors of both in_channels={in_channels} and out_channels={out_channels}"
                )
        if padding_mode not in PADDING_MODES:
            raise ShapeError(
                f"{name}: padding_mode={padding_mode!r} is not one of 'zeros', 'reflect',"
                f" 'replicate', 'circular'"
            )
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.padding_mode = padding_mode
        shape = (
            (in_channels, out_channels // self.groups) if self.transposed
            else (out_channels, in_channels // self.groups)
        ) + self.kernel_size  # fmt: skip
        self.weight = Parameter(np.empty(shape, dtype=dtype))
        if bias:
            self.bias = Parameter(np.empty(out_channels, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters(rng)

    def reset_parameters(self, rng=None):
        """PyTorch's default: kaiming_uniform_(a=sqrt(5)) for the weight, U(+-1/sqrt(fan_in)) bias."""
        init.default_conv_linear_(self.weight, self.bias, rng)

    def extra_repr(self):
        n = self.nsp
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,) * n:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * n:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * n:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class _Conv(_ConvNd):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", *, rng=None, dtype=np.float32):  # fmt: skip
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups,
                         bias, padding_mode, rng=rng, dtype=dtype)  # fmt: skip

    def _explicit_pads(self):
        """F.pad's tuple (last axis first) for padding_mode != 'zeros', as PyTorch computes it."""
        pairs = resolve_pads(
            type(self).__name__, self.padding, self.kernel_size, self.stride, self.dilation
        )
        return tuple(v for pair in reversed(pairs) for v in pair)

    def forward(self, x):
        conv = F.conv2d if self.nsp == 2 else F.conv1d
        padding = self.padding
        if self.padding_mode != "zeros":
            x = F.pad(x, self._explicit_pads(), mode=PADDING_MODES[self.padding_mode])
            padding = 0
        return conv(x, self.weight, self.bias, stride=self.stride, padding=padding,
                    dilation=self.dilation, groups=self.groups)  # fmt: skip


class Conv1d(_Conv):
    """1-D convolution over (N, C_in, L); see the module docstring."""

    nsp = 1


class Conv2d(_Conv):
    """2-D convolution over (N, C_in, H, W); see the module docstring."""

    nsp = 2


class _ConvTranspose(_ConvNd):
    transposed = True

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0,
                 groups=1, bias=True, dilation=1, padding_mode="zeros", *, rng=None,
                 dtype=np.float32):  # fmt: skip
        if padding_mode != "zeros":
            raise ShapeError(
                f"{type(self).__name__}: only padding_mode='zeros' is supported, got"
                f" {padding_mode!r} (as in PyTorch)"
            )
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups,
                         bias, padding_mode, output_padding, rng, dtype)  # fmt: skip

    def forward(self, x):
        conv = F.conv_transpose2d if self.nsp == 2 else F.conv_transpose1d
        return conv(x, self.weight, self.bias, stride=self.stride, padding=self.padding,
                    output_padding=self.output_padding, groups=self.groups,
                    dilation=self.dilation)  # fmt: skip


class ConvTranspose1d(_ConvTranspose):
    """Transposed 1-D convolution (the gradient of Conv1d w.r.t. its input); see module docstring."""

    nsp = 1


class ConvTranspose2d(_ConvTranspose):
    """Transposed 2-D convolution (the gradient of Conv2d w.r.t. its input); see module docstring."""

    nsp = 2
