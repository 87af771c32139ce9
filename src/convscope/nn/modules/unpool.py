"""MaxUnpool1d, MaxUnpool2d: each value back where max pooling found it (PyTorch's arguments).

y = zeros((N, C, *out)); y[n, c].flat[indices[n, c, i]] = x[n, c, i]
out = (in - 1)*stride - 2*padding + kernel_size, or the output_size passed to forward
"""

from ...ops.geometry import as_tuple, non_negative, positive
from .. import functional as F
from ..module import Module


class _MaxUnpool(Module):
    nd = 2
    fn = None

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        name, n = type(self).__name__, self.nd
        self.kernel_size = positive(
            as_tuple(kernel_size, n, name, "kernel_size"), name, "kernel_size"
        )
        self.stride = (
            self.kernel_size
            if stride is None
            else positive(as_tuple(stride, n, name, "stride"), name, "stride")
        )
        self.padding = non_negative(as_tuple(padding, n, name, "padding"), name, "padding")

    def forward(self, x, indices, output_size=None):
        return type(self).fn(x, indices, self.kernel_size, self.stride, self.padding, output_size)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxUnpool1d(_MaxUnpool):
    """Put each value back where MaxPool1d(return_indices=True) found it, zeros elsewhere.

    Args:
        kernel_size (int or tuple): the pooling's kernel_size
        stride (int or tuple, optional): the pooling's stride. Default: kernel_size
        padding (int or tuple, optional): the pooling's padding. Default: 0

    Shape:
        - Input: (N, C, L_in) or (C, L_in), and indices of the same shape
        - Output: (N, C, L_out) or (C, L_out), L_out = (L_in - 1)*stride - 2*padding +
          kernel_size, or ``output_size`` passed to forward (within stride of it, e.g. the
          pooled input's size)

    Examples:
        >>> pool, unpool = nn.MaxPool1d(2, return_indices=True), nn.MaxUnpool1d(2)
        >>> y, i = pool(cs.randn(1, 1, 8))
        >>> unpool(y, i).shape
        (1, 1, 8)
    """

    nd = 1
    fn = staticmethod(F.max_unpool1d)


class MaxUnpool2d(_MaxUnpool):
    """Put each value back where MaxPool2d(return_indices=True) found it, zeros elsewhere: the
    gradient path of max pooling as a layer (e.g. SegNet's decoder).

    Args:
        kernel_size (int or tuple): the pooling's kernel_size
        stride (int or tuple, optional): the pooling's stride. Default: kernel_size
        padding (int or tuple, optional): the pooling's padding. Default: 0

    Shape:
        - Input: (N, C, H_in, W_in) or (C, H_in, W_in), and indices of the same shape
        - Output: (N, C, H_out, W_out) or (C, H_out, W_out), H_out = (H_in - 1)*stride[0] -
          2*padding[0] + kernel_size[0] (likewise W_out), or ``output_size`` passed to forward
          (within stride of it, e.g. the pooled input's size)

    Examples:
        >>> pool, unpool = nn.MaxPool2d(2, return_indices=True), nn.MaxUnpool2d(2)
        >>> x = cs.randn(1, 1, 5, 5)
        >>> y, i = pool(x)
        >>> unpool(y, i, output_size=x.shape).shape
        (1, 1, 5, 5)
    """

    fn = staticmethod(F.max_unpool2d)
