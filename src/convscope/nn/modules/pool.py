"""Pooling layers: Max/Avg/MinPool 1d and 2d (PyTorch's arguments; MinPool is convscope's).

x (N, C, H, W) -> (N, C, H_out, W_out),  H_out = floor((H + 2P - K) / S) + 1
(ceil with ceil_mode); stride defaults to kernel_size; channels are preserved.
"""

from .. import functional as F
from ..module import Module


class _Pool(Module):
    fn = None

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False):
        super().__init__()
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

    fn = staticmethod(F.max_pool1d)


class MaxPool2d(_Pool):
    """Maximum over each KH x KW window of (N, C, H, W)."""

    fn = staticmethod(F.max_pool2d)


class MinPool1d(_Pool):
    """Minimum over each window of (N, C, L)."""

    fn = staticmethod(F.min_pool1d)


class MinPool2d(_Pool):
    """Minimum over each KH x KW window of (N, C, H, W)."""

    fn = staticmethod(F.min_pool2d)


class _AvgPool(_Pool):
    def __init__(
        self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True
    ):
        super().__init__(kernel_size, stride, padding, ceil_mode)
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

    fn = staticmethod(F.avg_pool1d)


class AvgPool2d(_AvgPool):
    """Mean over each KH x KW window of (N, C, H, W) (padding counted unless count_include_pad=False)."""

    one_d = False

    fn = staticmethod(F.avg_pool2d)
