"""Pooling layers: Max/Avg/MinPool 1d and 2d (PyTorch's arguments; MinPool is convscope's). The
adaptive ones are in adaptive_pool, MaxUnpool in unpool.

x (N, C, H, W) or (C, H, W) -> (N, C, H_out, W_out),
H_out = floor((H + 2P - D*(K-1) - 1) / S) + 1 (ceil with ceil_mode; D: max and min only);
stride defaults to kernel_size; channels are preserved.
"""

from ...ops.geometry import pool_params
from ...ops.pool import check_divisor
from .. import functional as F
from ..functional.pool import check_flag
from ..module import Module


class _Pool(Module):
    fn = None
    nd = 2

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
        super().__init__()
        pool_params(type(self).__name__, self.nd, kernel_size, stride, padding, dilation)
        check_flag(type(self).__name__, ceil_mode=ceil_mode)
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None or stride == () else stride
        self.padding = padding
        self.dilation = dilation
        self.ceil_mode = ceil_mode

    def forward(self, x):
        return type(self).fn(x, self.kernel_size, stride=self.stride, padding=self.padding,
                             dilation=self.dilation, ceil_mode=self.ceil_mode)  # fmt: skip

    def extra_repr(self):
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding},"
            f" dilation={self.dilation}, ceil_mode={self.ceil_mode}"
        )


class _MaxPool(_Pool):
    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False,
                 ceil_mode=False):  # fmt: skip
        super().__init__(kernel_size, stride, padding, dilation, ceil_mode)
        check_flag(type(self).__name__, return_indices=return_indices)
        self.return_indices = return_indices

    def forward(self, x):
        return type(self).fn(x, self.kernel_size, stride=self.stride, padding=self.padding,
                             dilation=self.dilation, ceil_mode=self.ceil_mode,
                             return_indices=self.return_indices)  # fmt: skip


class MaxPool1d(_MaxPool):
    nd = 1
    fn = staticmethod(F.max_pool1d)


class MaxPool2d(_MaxPool):
    fn = staticmethod(F.max_pool2d)


class MinPool1d(_Pool):
    nd = 1
    fn = staticmethod(F.min_pool1d)


class MinPool2d(_Pool):
    fn = staticmethod(F.min_pool2d)


class _AvgPool(_Pool):
    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True, divisor_override=None):  # fmt: skip
        super().__init__(kernel_size, stride, padding, 1, ceil_mode)
        del self.dilation  # PyTorch's average pooling has none
        check_flag(type(self).__name__, count_include_pad=count_include_pad)
        self.count_include_pad = count_include_pad
        if self.one_d:  # PyTorch stores AvgPool1d's arguments as 1-tuples
            self.kernel_size, self.stride, self.padding = (
                v if isinstance(v, tuple) else (v,)
                for v in (self.kernel_size, self.stride, self.padding)
            )
        else:
            if divisor_override is not None:
                check_divisor(type(self).__name__, divisor_override)
            self.divisor_override = divisor_override

    def forward(self, x):
        extra = {} if self.one_d else {"divisor_override": self.divisor_override}
        return type(self).fn(x, self.kernel_size, stride=self.stride, padding=self.padding,
                             ceil_mode=self.ceil_mode, count_include_pad=self.count_include_pad,
                             **extra)  # fmt: skip

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool1d(_AvgPool):
    one_d = True
    nd = 1

    fn = staticmethod(F.avg_pool1d)

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True):  # fmt: skip
        super().__init__(kernel_size, stride, padding, ceil_mode, count_include_pad)


class AvgPool2d(_AvgPool):
    one_d = False

    fn = staticmethod(F.avg_pool2d)


# ---- the docstrings help() shows, PyTorch's layout (Args, Shape, Examples) ----------------------

_ARGS = """Args:
    kernel_size (int or tuple): size of the window
    stride (int or tuple, optional): step of the window. Default: kernel_size
    padding (int or tuple, optional): {fill} added to both sides of each spatial axis, at most
        kernel_size // 2. Default: 0
{dilation}    ceil_mode (bool, optional): round the output size up instead of down (a last window that
        would start in the right padding is dropped, as PyTorch). Default: False
{extra}
Shape:
    - Input: (N, C, {ins}) or (C, {ins})
    - Output: (N, C, {outs}) or (C, {outs}) where

{formulas}

      (ceil instead of floor with ceil_mode); channels are pooled one by one.

Examples:
    >>> m = nn.{name}({example_args})
    >>> m(cs.randn({example_input})).shape
    {example_output}
"""
_AVG_EXTRA = """    count_include_pad (bool, optional): count the padding zeros in each window's divisor.
        Default: True
"""
_DIVISOR = """    divisor_override (int, optional): divide every window's sum by this instead. Default: None
"""
_DILATION = """    dilation (int or tuple, optional): spacing between a window's taps. Default: 1
"""
_INDICES = """    return_indices (bool, optional): also return the index of each window's maximum in its
        input plane (h*W + w), for MaxUnpool. Default: False
"""


def _doc(cls, summary, fill, example):
    names = ("H", "W") if cls.nd == 2 else ("L",)
    avg = issubclass(cls, _AvgPool)
    formula = (
        "floor(({n}_in + 2*padding[{i}] - kernel_size[{i}]) / stride[{i}]) + 1"
        if avg
        else "floor(({n}_in + 2*padding[{i}] - dilation[{i}]*(kernel_size[{i}] - 1) - 1)"
        " / stride[{i}]) + 1"
    )
    args, example_input, example_output = example
    extra = ""
    if avg:
        extra = _AVG_EXTRA + ("" if cls.one_d else _DIVISOR)
    elif issubclass(cls, _MaxPool):
        extra = _INDICES
    cls.__doc__ = f"{summary}\n\n" + _ARGS.format(
        fill=fill,
        dilation="" if avg else _DILATION,
        extra=extra,
        ins=", ".join(f"{n}_in" for n in names),
        outs=", ".join(f"{n}_out" for n in names),
        formulas="\n".join(
            f"      {n}_out = {formula.format(n=n, i=i)}" for i, n in enumerate(names)
        ),
        name=cls.__name__,
        example_args=args,
        example_input=example_input,
        example_output=example_output,
    )


_doc(
    MaxPool1d,
    "Maximum over each window of (N, C, L); the gradient goes to each window's first maximum.",
    "-inf",
    ("3, stride=2", "20, 16, 50", "(20, 16, 24)"),
)
_doc(
    MaxPool2d,
    "Maximum over each window of (N, C, H, W); the gradient goes to each window's"
    " first maximum (row-major), as PyTorch's.",
    "-inf",
    ("(3, 2), stride=(2, 1)", "20, 16, 50, 32", "(20, 16, 24, 31)"),
)
_doc(
    MinPool1d,
    "Minimum over each window of (N, C, L) (convscope's: PyTorch has none; the"
    " gradient goes to each window's first minimum).",
    "+inf",
    ("2", "1, 3, 8", "(1, 3, 4)"),
)
_doc(
    MinPool2d,
    "Minimum over each window of (N, C, H, W) (convscope's: PyTorch has none; the"
    " gradient goes to each window's first minimum).",
    "+inf",
    ("2", "1, 6, 28, 28", "(1, 6, 14, 14)"),
)
_doc(
    AvgPool1d,
    "Mean over each window of (N, C, L).",
    "zeros",
    ("3, stride=2", "20, 16, 50", "(20, 16, 24)"),
)
_doc(AvgPool2d, "Mean over each window of (N, C, H, W); the divisor counts the padding zeros"
     " unless count_include_pad=False.", "zeros", ("3, stride=2, padding=1", "20, 16, 50, 32",
     "(20, 16, 25, 16)"))  # fmt: skip
