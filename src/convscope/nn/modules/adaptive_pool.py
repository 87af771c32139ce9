"""Adaptive pooling layers: AdaptiveAvgPool1d/2d, AdaptiveMaxPool1d/2d (any output size; see
ops.adaptive_pool for PyTorch's windows)."""

from ...ops.adaptive_pool import check_output_size, check_output_size_1d
from .. import functional as F
from ..functional.pool import check_flag
from ..module import Module


class _AdaptivePool(Module):
    """The shared body: ``fn`` is the functional op, ``check`` validates output_size."""

    def __init__(self, output_size):
        super().__init__()
        type(self).check(type(self).__name__, output_size)
        self.output_size = output_size

    def forward(self, x):
        return type(self).fn(x, self.output_size)

    def extra_repr(self):
        return f"output_size={self.output_size}"


class AdaptiveAvgPool2d(_AdaptivePool):
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
    check = staticmethod(check_output_size)


class AdaptiveMaxPool2d(AdaptiveAvgPool2d):
    """Maximum over PyTorch's adaptive windows: any (H, W) in, the (OH, OW) asked for out.

    Args:
        output_size (int or tuple): OH = OW, or (OH, OW); None in the tuple keeps that input size
        return_indices (bool): also return the flat index h*W + w of each maximum. Default: False

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
        check_flag(type(self).__name__, return_indices=return_indices)
        self.return_indices = return_indices

    def forward(self, x):
        return type(self).fn(x, self.output_size, self.return_indices)


class AdaptiveAvgPool1d(_AdaptivePool):
    """Mean over PyTorch's adaptive windows: any L in, the L_out asked for out.

    Args:
        output_size (int): L_out

    Shape:
        - Input: (N, C, L_in) or (C, L_in)
        - Output: (N, C, L_out) or (C, L_out); output cell i pools input cells
          floor(i * L_in / L_out) .. ceil((i + 1) * L_in / L_out) - 1 (windows may overlap).

    Examples:
        >>> nn.AdaptiveAvgPool1d(5)(cs.randn(1, 64, 8)).shape
        (1, 64, 5)
    """

    fn = staticmethod(F.adaptive_avg_pool1d)
    check = staticmethod(check_output_size_1d)


class AdaptiveMaxPool1d(AdaptiveAvgPool1d):
    """Maximum over PyTorch's adaptive windows: any L in, the L_out asked for out.

    Args:
        output_size (int): L_out
        return_indices (bool): also return the index of each maximum. Default: False

    Shape:
        - Input: (N, C, L_in) or (C, L_in)
        - Output: (N, C, L_out) or (C, L_out), windows as AdaptiveAvgPool1d's; the gradient
          goes to each window's first maximum.

    Examples:
        >>> nn.AdaptiveMaxPool1d(5)(cs.randn(1, 64, 8)).shape
        (1, 64, 5)
    """

    fn = staticmethod(F.adaptive_max_pool1d)

    def __init__(self, output_size, return_indices=False):
        super().__init__(output_size)
        check_flag(type(self).__name__, return_indices=return_indices)
        self.return_indices = return_indices

    def forward(self, x):
        return type(self).fn(x, self.output_size, self.return_indices)
