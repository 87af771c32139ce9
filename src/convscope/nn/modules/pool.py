"""Pooling layers: Max/Avg/MinPool 1d and 2d (PyTorch's arguments; MinPool is convscope's) and
AdaptiveAvgPool2d / AdaptiveMaxPool2d (any output size; see ops.adaptive_pool).

x (N, C, H, W) -> (N, C, H_out, W_out),  H_out = floor((H + 2P - K) / S) + 1
(ceil with ceil_mode); stride defaults to kernel_size; channels are preserved.
"""

from ...errors import ShapeError
from ...ops.adaptive_pool import check_output_size
from ...ops.geometry import pool_params
from .. import functional as F
from ..functional.pool import check_flag
from ..module import Module


class _Pool(Module):
    fn = None
    nd = 2

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False):
        super().__init__()
        pool_params(type(self).__name__, self.nd, kernel_size, stride, padding)
        check_flag(type(self).__name__, ceil_mode=ceil_mode)
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding = padding
        self.ceil_mode = ceil_mode

    def forward(self, x):
        return type(self).fn(x, self.kernel_size, stride=self.stride, padding=self.padding,
                             ceil_mode=self.ceil_mode)  # fmt: skip

    def extra_repr(self):
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding},"
            f" ceil_mode={self.ceil_mode}"
        )


class MaxPool1d(_Pool):
    nd = 1
    fn = staticmethod(F.max_pool1d)


class MaxPool2d(_Pool):
    fn = staticmethod(F.max_pool2d)


class MinPool1d(_Pool):
    nd = 1
    fn = staticmethod(F.min_pool1d)


class MinPool2d(_Pool):
    fn = staticmethod(F.min_pool2d)


class _AvgPool(_Pool):
    def __init__(
        self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True
    ):
        super().__init__(kernel_size, stride, padding, ceil_mode)
        check_flag(type(self).__name__, count_include_pad=count_include_pad)
        self.count_include_pad = count_include_pad
        if self.one_d:  # PyTorch stores AvgPool1d's arguments as 1-tuples
            self.kernel_size, self.stride, self.padding = (
                v if isinstance(v, tuple) else (v,)
                for v in (self.kernel_size, self.stride, self.padding)
            )

    def forward(self, x):
        return type(self).fn(x, self.kernel_size, stride=self.stride, padding=self.padding,
                             ceil_mode=self.ceil_mode,
                             count_include_pad=self.count_include_pad)  # fmt: skip

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool1d(_AvgPool):
    one_d = True
    nd = 1

    fn = staticmethod(F.avg_pool1d)


class AvgPool2d(_AvgPool):
    one_d = False

    fn = staticmethod(F.avg_pool2d)


class AdaptiveAvgPool2d(Module):
    """Mean over PyTorch's adaptive windows: any (H, W) in, the (OH, OW) asked for out.

    Args:
        output_size (int or tuple): OH = OW, or (OH, OW); None in the tuple keeps that input
            size. (1, 1) is global average pooling.

    Shape:
        - Input: (N, C, H_in, W_in) or (C, H_in, W_in)
        - Output: (N, C, OH, OW) or (C, OH, OW); output row i pools input rows
          floor(i * H_in / OH) .. ceil((i + 1) * H_in / OH) - 1 (windows may overlap), and
          likewise for columns.

    Examples:
        >>> nn.AdaptiveAvgPool2d((5, 7))(cs.randn(1, 64, 8, 9)).shape
        (1, 64, 5, 7)
        >>> nn.AdaptiveAvgPool2d(1)(cs.randn(1, 64, 8, 9)).shape
        (1, 64, 1, 1)
    """

    fn = staticmethod(F.adaptive_avg_pool2d)

    def __init__(self, output_size):
        super().__init__()
        check_output_size(type(self).__name__, output_size)
        self.output_size = output_size

    def forward(self, x):
        return type(self).fn(x, self.output_size)

    def extra_repr(self):
        return f"output_size={self.output_size}"


class AdaptiveMaxPool2d(AdaptiveAvgPool2d):
    """Maximum over PyTorch's adaptive windows: any (H, W) in, the (OH, OW) asked for out.

    Args:
        output_size (int or tuple): OH = OW, or (OH, OW); None in the tuple keeps that input size
        return_indices (bool): only False (the indices are not returned)

    Shape:
        - Input: (N, C, H_in, W_in) or (C, H_in, W_in)
        - Output: (N, C, OH, OW) or (C, OH, OW), windows as AdaptiveAvgPool2d's; the gradient goes
          to each window's first maximum.

    Examples:
        >>> nn.AdaptiveMaxPool2d((5, 7))(cs.randn(1, 64, 8, 9)).shape
        (1, 64, 5, 7)
    """

    fn = staticmethod(F.adaptive_max_pool2d)

    def __init__(self, output_size, return_indices=False):
        super().__init__(output_size)
        if return_indices:
            raise ShapeError(
                "AdaptiveMaxPool2d: return_indices=True is not supported; use return_indices=False"
            )
        self.return_indices = False


# ---- the docstrings help() shows, PyTorch's layout (Args, Shape, Examples) ----------------------

_ARGS = """Args:
    kernel_size (int or tuple): size of the window
    stride (int or tuple, optional): step of the window. Default: kernel_size
    padding (int or tuple, optional): {fill} added to both sides of each spatial axis, at most
        kernel_size // 2. Default: 0
    ceil_mode (bool, optional): round the output size up instead of down (a last window that
        would start in the right padding is dropped, as PyTorch). Default: False
{extra}
Shape:
    - Input: (N, C, {ins})
    - Output: (N, C, {outs}) where

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


def _doc(cls, summary, fill, example):
    names = ("H", "W") if cls.nd == 2 else ("L",)
    formula = "floor(({n}_in + 2*padding[{i}] - kernel_size[{i}]) / stride[{i}]) + 1"
    args, example_input, example_output = example
    cls.__doc__ = f"{summary}\n\n" + _ARGS.format(
        fill=fill,
        extra=_AVG_EXTRA if issubclass(cls, _AvgPool) else "",
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
