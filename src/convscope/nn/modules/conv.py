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
    nsp = 1


class Conv2d(_Conv):
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
    nsp = 1


class ConvTranspose2d(_ConvTranspose):
    nsp = 2


# ---- the docstrings help() shows, PyTorch's layout (Args, Shape, Attributes, Examples) ---------

_ARGS = """Args:
    in_channels (int): channels of the input
    out_channels (int): channels of the output (one per filter)
    kernel_size (int or tuple): size of the kernel
    stride (int or tuple, optional): step of the window. Default: 1
    padding ({padding}): {padding_text}. Default: 0
{extra}    groups (int, optional): blocked connections from input to output channels; both channel
        counts must be divisible by groups (groups=in_channels: depthwise). Default: 1
    bias (bool, optional): add a learnable bias. Default: True
    dilation (int or tuple, optional): spacing between kernel taps. Default: 1
    padding_mode (str, optional): {modes}. Default: 'zeros'
    rng (numpy.random.Generator, keyword): draws the initial weights; None: nn.init's
        seedable default generator (nn.init.manual_seed)
    dtype (keyword): float32 (default) or float64

Shape:
    - Input: (N, C_in, {ins})
    - Output: (N, C_out, {outs}) where

{formulas}

Attributes:
    weight: {weight}, drawn from U(-1/sqrt(k), 1/sqrt(k)) with
        k = weight.shape[1] * {kernel_product} (PyTorch's kaiming_uniform_(a=sqrt(5)))
    bias: (out_channels,), from the same distribution (None with bias=False)

Examples:
    >>> m = nn.{name}({example_args})
    >>> m(cs.randn({example_input})).shape
    {example_output}
"""
_CONV = (
    "floor(({n}_in + 2*padding[{i}] - dilation[{i}]*(kernel_size[{i}] - 1) - 1) / stride[{i}]) + 1"
)
_TRANSPOSED = (
    "({n}_in - 1)*stride[{i}] - 2*padding[{i}] + dilation[{i}]*(kernel_size[{i}] - 1)\n"
    "                  + output_padding[{i}] + 1"
)


def _doc(cls, summary, example):
    names = ("H", "W") if cls.nsp == 2 else ("L",)
    formula = _TRANSPOSED if cls.transposed else _CONV
    args, example_input, example_output = example
    cls.__doc__ = f"{summary}\n\n" + _ARGS.format(
        padding="int or tuple, optional" if cls.transposed else "int, tuple or str, optional",
        padding_text="cells cut from both sides of each spatial axis of the output\n        (the"
        " adjoint of Conv's padding)" if cls.transposed else "zeros added to both sides of each"
        " spatial axis,\n        'valid' (none) or 'same' (stride 1: out = in, an odd zero goes"
        " after)",
        extra="    output_padding (int or tuple, optional): cells added to one side of the output\n"
        "        (smaller than stride or dilation). Default: 0\n" if cls.transposed else "",
        modes="'zeros' only" if cls.transposed else "'zeros', 'reflect', 'replicate' or 'circular'",
        ins=", ".join(f"{n}_in" for n in names),
        outs=", ".join(f"{n}_out" for n in names),
        formulas="\n".join(
            f"      {n}_out = " + formula.format(n=n, i=i if cls.nsp == 2 else 0)
            for i, n in enumerate(names)
        ),
        weight=("(in_channels, out_channels/groups, " if cls.transposed
                else "(out_channels, in_channels/groups, ") + ", ".join(f"k{n}" for n in names) + ")",
        kernel_product=" * ".join(f"k{n}" for n in names),
        name=cls.__name__,
        example_args=args,
        example_input=example_input,
        example_output=example_output,
    )  # fmt: skip


_doc(
    Conv1d,
    "1-D convolution (cross-correlation, as PyTorch's) over (N, C_in, L).",
    ("16, 33, 3, stride=2", "20, 16, 50", "(20, 33, 24)"),
)
_doc(
    Conv2d,
    "2-D convolution (cross-correlation, as PyTorch's) over (N, C_in, H, W).",
    ("16, 33, (3, 5), stride=2, padding=(4, 2)", "20, 16, 50, 100", "(20, 33, 28, 50)"),
)
_doc(
    ConvTranspose1d,
    "Transposed 1-D convolution: the gradient of Conv1d with respect to its"
    " input, as a layer (upsampling by its stride).",
    ("16, 33, 3, stride=2", "20, 16, 50", "(20, 33, 101)"),
)
_doc(ConvTranspose2d, "Transposed 2-D convolution: the gradient of Conv2d with respect to its"
     " input, as a layer (upsampling by its stride).", ("16, 33, (3, 5), stride=2, padding=(4, 2)",
     "20, 16, 50, 100", "(20, 33, 93, 199)"))  # fmt: skip
