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
    """Maximum over each window of (N, C, L)."""

    nd = 1
    fn = staticmethod(F.max_pool1d)


class MaxPool2d(_Pool):
    """Maximum over each KH x KW window of (N, C, H, W)."""

    fn = staticmethod(F.max_pool2d)


class MinPool1d(_Pool):
    """Minimum over each window of (N, C, L)."""

    nd = 1
    fn = staticmethod(F.min_pool1d)


class MinPool2d(_Pool):
    """Minimum over each KH x KW window of (N, C, H, W)."""

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
    """Mean over each window of (N, C, L) (padding zeros counted unless count_include_pad=False)."""

    one_d = True
    nd = 1

    fn = staticmethod(F.avg_pool1d)


class AvgPool2d(_AvgPool):
    """Mean over each KH x KW window of (N, C, H, W) (padding counted unless count_include_pad=False)."""

    one_d = False

    fn = staticmethod(F.avg_pool2d)


class AdaptiveAvgPool2d(Module):
    """Mean over PyTorch's adaptive windows: (N, C, H, W) -> (N, C, OH, OW) for any H, W;
    output_size an int or (OH, OW), None keeping that input size. (1, 1): global average."""

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
    """Maximum over PyTorch's adaptive windows: (N, C, H, W) -> (N, C, OH, OW)."""

    fn = staticmethod(F.adaptive_max_pool2d)

    def __init__(self, output_size, return_indices=False):
        super().__init__(output_size)
        if return_indices:
            raise ShapeError(
                "AdaptiveMaxPool2d: return_indices=True is not supported; use return_indices=False"
            )
        self.return_indices = False
