"""The operators and methods of Tensor: arithmetic, comparisons, reductions, shape, indexing.

Each method is one ``apply`` of an ops-layer forward/backward pair (or a composition of
other methods); no math lives here. Names and defaults follow PyTorch (dim/keepdim), with
NumPy's axis/keepdims accepted too.
"""

from collections import namedtuple

import numpy as np

from ..ops import activation, arith, basic, reduce, reshape
from .function import apply, as_array

ValuesIndices = namedtuple("ValuesIndices", ["values", "indices"])  # torch.return_types.max


class TensorMath:
    # ---- arithmetic --------------------------------------------------------
    def __add__(self, other):
        return apply(arith.add_forward, arith.add_backward, (self, self._operand(other)))

    def __radd__(self, other):
        return apply(arith.add_forward, arith.add_backward, (self._operand(other), self))

    def __sub__(self, other):
        return apply(arith.sub_forward, arith.sub_backward, (self, self._operand(other)))

    def __rsub__(self, other):
        return apply(arith.sub_forward, arith.sub_backward, (self._operand(other), self))

    def __mul__(self, other):
        return apply(arith.mul_forward, arith.mul_backward, (self, self._operand(other)))

    def __rmul__(self, other):
        return apply(arith.mul_forward, arith.mul_backward, (self._operand(other), self))

    def __truediv__(self, other):
        return apply(arith.div_forward, arith.div_backward, (self, self._operand(other)))

    def __rtruediv__(self, other):
        return apply(arith.div_forward, arith.div_backward, (self._operand(other), self))

    def __matmul__(self, other):
        return apply(arith.matmul_forward, arith.matmul_backward, (self, self._operand(other)))

    def __rmatmul__(self, other):
        return apply(arith.matmul_forward, arith.matmul_backward, (self._operand(other), self))

    def __pow__(self, exponent):
        if isinstance(exponent, TensorMath):
            return (exponent * self.log()).exp()
        return apply(arith.pow_forward, arith.pow_backward, (self,), p=exponent)

    def __rpow__(self, base):
        return (self * float(np.log(base))).exp()

    def __neg__(self):
        return apply(arith.neg_forward, arith.neg_backward, (self,))

    def __pos__(self):
        return self

    def _operand(self, value):
        """A constant operand: a Tensor as is; a Python number in this tensor's dtype."""
        if isinstance(value, TensorMath):
            return value
        if isinstance(value, int | float | bool):
            return np.asarray(value, dtype=self.dtype)
        return as_array(value)

    # ---- comparisons: boolean tensors, no gradient (as PyTorch) ----------
    def _compare(self, other, fn):
        return type(self)(fn(self.data, as_array(other)), dtype=bool)

    def __eq__(self, other):
        return self._compare(other, np.equal)

    def __ne__(self, other):
        return self._compare(other, np.not_equal)

    def __lt__(self, other):
        return self._compare(other, np.less)

    def __le__(self, other):
        return self._compare(other, np.less_equal)

    def __gt__(self, other):
        return self._compare(other, np.greater)

    def __ge__(self, other):
        return self._compare(other, np.greater_equal)

    __hash__ = object.__hash__  # identity, as PyTorch: tensors can key dicts and sets

    # ---- elementwise math --------------------------------------------------
    def exp(self):
        return apply(arith.exp_forward, arith.exp_backward, (self,))

    def log(self):
        return apply(arith.log_forward, arith.log_backward, (self,))

    def sqrt(self):
        return apply(arith.sqrt_forward, arith.sqrt_backward, (self,))

    def abs(self):
        return apply(arith.abs_forward, arith.abs_backward, (self,))

    def clamp(self, min=None, max=None):  # noqa: A002 - PyTorch's names
        return apply(arith.clamp_forward, arith.clamp_backward, (self,), lo=min, hi=max)

    def relu(self):
        return apply(activation.relu_forward, activation.relu_backward, (self,))

    def sigmoid(self):
        return apply(activation.sigmoid_forward, activation.sigmoid_backward, (self,))

    def tanh(self):
        return apply(activation.tanh_forward, activation.tanh_backward, (self,))

    def softmax(self, dim):
        return apply(activation.softmax_forward, activation.softmax_backward, (self,), dim=dim)

    def log_softmax(self, dim):
        return apply(
            activation.log_softmax_forward, activation.log_softmax_backward, (self,), dim=dim
        )

    # ---- reductions --------------------------------------------------------
    def sum(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        return self._reduce(reduce.sum_forward, reduce.sum_backward, dim, keepdim, axis, keepdims)

    def mean(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        return self._reduce(reduce.mean_forward, reduce.mean_backward, dim, keepdim, axis, keepdims)

    def amax(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        """Largest value over dim; tied maxima share the gradient evenly."""
        return self._reduce(reduce.amax_forward, reduce.amax_backward, dim, keepdim, axis, keepdims)

    def amin(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        return self._reduce(reduce.amin_forward, reduce.amin_backward, dim, keepdim, axis, keepdims)

    def max(self, dim=None, keepdim=False):
        """max() -> the largest element; max(dim) -> (values, indices), the first maximum per slice."""
        return self.amax() if dim is None else self._extreme_along(dim, keepdim, np.argmax)

    def min(self, dim=None, keepdim=False):
        return self.amin() if dim is None else self._extreme_along(dim, keepdim, np.argmin)

    def argmax(self, dim=None, keepdim=False):
        """Index of the first maximum (over the flattened tensor when dim is None), an int64 tensor."""
        return self._arg(np.argmax, dim, keepdim)

    def argmin(self, dim=None, keepdim=False):
        return self._arg(np.argmin, dim, keepdim)

    def var(self, dim=None, keepdim=False, *, correction=1):
        """sum((x - mean)^2) / (count - correction): the unbiased variance by default, as PyTorch."""
        axes = reduce.check_axes("var", dim, self.ndim)
        count = int(np.prod([self.shape[a] for a in axes])) if self.ndim else 1
        centred = self - self.mean(dim, keepdim=True)
        return (centred * centred).sum(dim, keepdim) / max(count - correction, 0)

    def std(self, dim=None, keepdim=False, *, correction=1):
        return self.var(dim, keepdim, correction=correction).sqrt()

    def _reduce(self, forward, backward, dim, keepdim, axis, keepdims):
        axis = dim if axis is None else axis
        axis = tuple(axis) if isinstance(axis, list) else axis
        keep = bool(keepdim if keepdims is None else keepdims)
        return apply(forward, backward, (self,), axis=axis, keepdims=keep)

    def _arg(self, fn, dim, keepdim):
        if dim is not None:
            reduce.check_axes(fn.__name__, dim, self.ndim)
        idx = fn(self.data, axis=dim, keepdims=keepdim)
        return type(self)(np.asarray(idx, dtype=np.int64), dtype=np.int64)

    def _extreme_along(self, dim, keepdim, argfn):
        axis = _axis(argfn.__name__.removeprefix("arg"), dim, self.ndim)
        idx = argfn(self.data, axis=axis, keepdims=True)
        values = apply(
            reduce.take_along_forward, reduce.take_along_backward, (self,), index=idx, axis=axis
        )
        if not keepdim:
            values, idx = values.squeeze(axis), np.squeeze(idx, axis)
        return ValuesIndices(values, type(self)(idx.astype(np.int64), dtype=np.int64))

    def gather(self, dim, index):
        """out[i][j] = self[index[i][j]][j] for dim=0 (torch.gather); gradients accumulate."""
        index = np.asarray(index.data if isinstance(index, TensorMath) else index).astype(np.intp)
        axis = _axis("gather", dim, self.ndim)
        return apply(
            reduce.take_along_forward, reduce.take_along_backward, (self,), index=index, axis=axis
        )

    # ---- shape -------------------------------------------------------------
    def reshape(self, *shape):
        shape = shape[0] if len(shape) == 1 and isinstance(shape[0], tuple | list) else shape
        return apply(reshape.reshape_forward, reshape.reshape_backward, (self,), shape=tuple(shape))

    view = reshape

    def flatten(self, start_dim=0, end_dim=-1):
        """Merge axes start_dim..end_dim into one (F.flatten's op, with PyTorch's defaults)."""
        return apply(basic.flatten_forward, basic.flatten_backward, (self,), start_dim=start_dim,
                     end_dim=end_dim)  # fmt: skip

    def permute(self, *axes):
        axes = axes[0] if len(axes) == 1 and isinstance(axes[0], tuple | list) else axes
        return apply(
            reshape.transpose_forward, reshape.transpose_backward, (self,), axes=tuple(axes)
        )

    def transpose(self, dim0=-2, dim1=-1):
        """Swap two axes (PyTorch semantics; defaults swap the last two)."""
        d0, d1 = _axis("transpose", dim0, self.ndim), _axis("transpose", dim1, self.ndim)
        axes = list(range(self.ndim))
        axes[d0], axes[d1] = axes[d1], axes[d0]
        return self.permute(axes)

    @property
    def T(self):  # noqa: N802 - NumPy/PyTorch name
        return self.permute(tuple(reversed(range(self.ndim))))

    @property
    def mT(self):  # noqa: N802 - PyTorch name: transpose of the last two axes
        return self.transpose(-2, -1)

    def unsqueeze(self, dim):
        """Insert a size-1 axis at dim, -(ndim+1) <= dim <= ndim."""
        _axis("unsqueeze", dim, self.ndim + 1)
        shape = list(self.shape)
        shape.insert(dim % (self.ndim + 1), 1)
        return self.reshape(shape)

    def squeeze(self, dim=None):
        if dim is None:
            return self.reshape([n for n in self.shape if n != 1])
        axes = reduce.check_axes("squeeze", dim, self.ndim)
        return self.reshape([n for i, n in enumerate(self.shape) if not (i in axes and n == 1)])

    def expand(self, *shape):
        """A broadcast view to shape (-1 keeps a size); the gradient sums over the copies."""
        shape = shape[0] if len(shape) == 1 and isinstance(shape[0], tuple | list) else shape
        return apply(reshape.expand_forward, reshape.expand_backward, (self,), shape=tuple(shape))

    def __getitem__(self, index):
        if isinstance(index, TensorMath):
            index = index.data.astype(np.intp) if index.dtype.kind == "f" else index.data
        elif isinstance(index, tuple):
            index = tuple(i.data if isinstance(i, TensorMath) else i for i in index)
        return apply(reshape.getitem_forward, reshape.getitem_backward, (self,), index=index)


def _axis(op, dim, ndim):
    """One axis in 0..ndim-1 (negatives count from the end), or a ShapeError with the range."""
    if type(dim) is int and -ndim <= dim < ndim:  # the common case, without check_axes' ~10 us
        return dim % ndim
    return reduce.check_axes(op, dim, ndim)[0]
