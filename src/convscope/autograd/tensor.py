"""Tensor: an ndarray plus the graph that made it; ``backward`` runs reverse-mode autodiff.

The walk is iterative (an explicit stack, then reverse topological order), so a
1,000-layer chain never meets Python's recursion limit. A Tensor used twice
accumulates both gradients. Only leaves (tensors the user made) keep ``.grad``,
unless ``retain_grad()`` was called.
"""

import numpy as np

from ..backend import default_float
from ..errors import ShapeError
from ..ops import arith
from .function import apply, as_array


class Tensor:
    __array_priority__ = 1000  # ndarray (op) Tensor defers to Tensor's reflected operators

    def __init__(self, data, requires_grad=False, dtype=None):
        if isinstance(data, Tensor):
            data = data.data
        arr = np.asarray(data, dtype=dtype)
        if dtype is None and (
            arr.dtype.kind != "f" or not isinstance(data, np.ndarray | np.generic)
        ):
            arr = arr.astype(default_float(arr.dtype) if arr.dtype.kind != "f" else np.float32)
        self.data = arr
        self.grad = None
        self.requires_grad = bool(requires_grad)
        self._node = None
        self._retain = False

    # ---- array facts -------------------------------------------------------
    shape = property(lambda self: self.data.shape)
    dtype = property(lambda self: self.data.dtype)
    ndim = property(lambda self: self.data.ndim)
    size = property(lambda self: self.data.size)

    @property
    def is_leaf(self):
        return self._node is None

    @property
    def grad_fn(self):
        return self._node

    def numpy(self):
        return self.data

    def item(self):
        return self.data.item()

    def tolist(self):
        return self.data.tolist()

    def dim(self):
        return self.data.ndim

    def numel(self):
        return self.data.size

    def __len__(self):
        return len(self.data)

    def __array__(self, dtype=None, copy=None):
        return self.data if dtype is None else self.data.astype(dtype)

    def detach(self):
        """A new leaf sharing the data, cut from the graph."""
        return Tensor(self.data)

    def requires_grad_(self, flag=True):
        self.requires_grad = bool(flag)
        return self

    def retain_grad(self):
        """Keep .grad on this non-leaf tensor after backward."""
        self._retain = True
        return self

    def zero_(self):
        self.data[...] = 0
        return self

    def float(self):
        return self._cast(np.float32)

    def double(self):
        return self._cast(np.float64)

    def astype(self, dtype):
        return self._cast(dtype)

    def _cast(self, dtype):
        return apply(_cast_forward, _cast_backward, (self,), dtype=np.dtype(dtype))

    def __repr__(self):
        grad = ", requires_grad=True" if self.requires_grad else ""
        body = np.array2string(self.data, separator=", ", prefix="tensor(")
        return f"tensor({body}, dtype={self.dtype}{grad})"

    # ---- autograd ----------------------------------------------------------
    def backward(self, grad=None, retain_graph=False):
        """Accumulate d(self)/d(leaf) * grad into every leaf's ``.grad``.

        grad: ndarray of self's shape; may be omitted only for a one-element tensor (then 1).
        """
        if not self.requires_grad:
            raise ShapeError(
                "backward: this tensor does not require grad (no input of the graph had"
                " requires_grad=True); create inputs with cs.tensor(..., requires_grad=True)"
            )
        if grad is None:
            if self.data.size != 1:
                raise ShapeError(
                    f"backward: grad can be omitted only for a one-element output, got shape"
                    f" {self.shape}; call .sum().backward() or pass grad= of that shape"
                )
            grad = np.ones_like(self.data)
        grad = np.asarray(as_array(grad), dtype=self.dtype)
        if grad.shape != self.shape:
            raise ShapeError(
                f"backward: grad has shape {grad.shape} but the tensor has shape {self.shape};"
                f" pass a gradient of the tensor's shape"
            )
        grads = {id(self): grad}
        order = _topological(self)
        for t in order:
            g = grads.pop(id(t), None)
            if g is None:
                continue
            if t._node is None or t._retain:
                t.grad = g.copy() if t.grad is None else t.grad + g
            if t._node is None:
                continue
            for inp, gi in zip(t._node.inputs, t._node.grads(g), strict=True):
                if gi is None or not isinstance(inp, Tensor) or not inp.requires_grad:
                    continue
                gi = np.asarray(gi, dtype=inp.dtype)
                key = id(inp)
                grads[key] = gi if key not in grads else grads[key] + gi
            if not retain_graph:
                t._node = _Spent(t._node.name)

    # ---- arithmetic --------------------------------------------------------
    def __add__(self, other):
        return apply(arith.add_forward, arith.add_backward, (self, _wrap(other, self)))

    def __radd__(self, other):
        return apply(arith.add_forward, arith.add_backward, (_wrap(other, self), self))

    def __sub__(self, other):
        return apply(arith.sub_forward, arith.sub_backward, (self, _wrap(other, self)))

    def __rsub__(self, other):
        return apply(arith.sub_forward, arith.sub_backward, (_wrap(other, self), self))

    def __mul__(self, other):
        return apply(arith.mul_forward, arith.mul_backward, (self, _wrap(other, self)))

    def __rmul__(self, other):
        return apply(arith.mul_forward, arith.mul_backward, (_wrap(other, self), self))

    def __truediv__(self, other):
        return apply(arith.div_forward, arith.div_backward, (self, _wrap(other, self)))

    def __rtruediv__(self, other):
        return apply(arith.div_forward, arith.div_backward, (_wrap(other, self), self))

    def __matmul__(self, other):
        return apply(arith.matmul_forward, arith.matmul_backward, (self, _wrap(other, self)))

    def __rmatmul__(self, other):
        return apply(arith.matmul_forward, arith.matmul_backward, (_wrap(other, self), self))

    def __pow__(self, exponent):
        if isinstance(exponent, Tensor):
            return (exponent * self.log()).exp()
        return apply(arith.pow_forward, arith.pow_backward, (self,), p=exponent)

    def __rpow__(self, base):
        return (self * float(np.log(base))).exp()

    def __neg__(self):
        return apply(arith.neg_forward, arith.neg_backward, (self,))

    def __pos__(self):
        return self

    def __getitem__(self, index):
        if isinstance(index, Tensor):
            index = index.data.astype(np.intp) if index.dtype.kind == "f" else index.data
        return apply(arith.getitem_forward, arith.getitem_backward, (self,), index=index)

    # comparisons give plain boolean arrays (no gradient flows through them)
    def __lt__(self, other):
        return self.data < as_array(other)

    def __le__(self, other):
        return self.data <= as_array(other)

    def __gt__(self, other):
        return self.data > as_array(other)

    def __ge__(self, other):
        return self.data >= as_array(other)

    __hash__ = object.__hash__

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
        return self.clamp(min=0)

    # ---- reductions (PyTorch's dim/keepdim, NumPy's axis/keepdims) ---------
    def sum(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        axis, keep = _reduce_args(dim, keepdim, axis, keepdims)
        return apply(arith.sum_forward, arith.sum_backward, (self,), axis=axis, keepdims=keep)

    def mean(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        axis, keep = _reduce_args(dim, keepdim, axis, keepdims)
        return apply(arith.mean_forward, arith.mean_backward, (self,), axis=axis, keepdims=keep)

    def max(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        axis, keep = _reduce_args(dim, keepdim, axis, keepdims)
        return apply(arith.max_forward, arith.max_backward, (self,), axis=axis, keepdims=keep)

    def argmax(self, dim=None):
        return np.argmax(self.data, axis=dim)

    # ---- shape -------------------------------------------------------------
    def reshape(self, *shape):
        shape = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
        return apply(arith.reshape_forward, arith.reshape_backward, (self,), shape=tuple(shape))

    view = reshape

    def flatten(self, start_dim=0, end_dim=-1):
        shape = self.shape
        end = end_dim % len(shape) if shape else 0
        new = shape[:start_dim] + (int(np.prod(shape[start_dim : end + 1])),) + shape[end + 1 :]
        return self.reshape(new)

    def permute(self, *axes):
        axes = axes[0] if len(axes) == 1 and isinstance(axes[0], (tuple, list)) else axes
        return apply(arith.transpose_forward, arith.transpose_backward, (self,), axes=tuple(axes))

    def transpose(self, dim0=-2, dim1=-1):
        """Swap two axes (PyTorch semantics; defaults swap the last two)."""
        axes = list(range(self.ndim))
        axes[dim0], axes[dim1] = axes[dim1], axes[dim0]
        return self.permute(axes)

    @property
    def T(self):  # noqa: N802 - NumPy/PyTorch name
        return self.permute(tuple(reversed(range(self.ndim))))

    def unsqueeze(self, dim):
        shape = list(self.shape)
        shape.insert(dim % (self.ndim + 1), 1)
        return self.reshape(shape)

    def squeeze(self, dim=None):
        if dim is None:
            return self.reshape([n for n in self.shape if n != 1])
        shape = list(self.shape)
        if shape[dim] == 1:
            del shape[dim]
        return self.reshape(shape)


class _Spent:
    """Stands in for a node whose saved arrays backward already freed."""

    __slots__ = ("name",)
    inputs = ()

    def __init__(self, name):
        self.name = name

    def grads(self, dy):
        raise ShapeError(
            f"backward: the graph through {self.name} was already used and freed; call"
            f" backward(retain_graph=True) the first time to run backward twice"
        )


def _cast_forward(a, dtype):
    return a.astype(dtype), a.dtype


def _cast_backward(dy, dtype):
    return (dy.astype(dtype),)


def _wrap(value, like):
    """A constant operand: a Tensor as is; a Python scalar in the tensor's dtype; arrays as given."""
    if isinstance(value, Tensor):
        return value
    if isinstance(value, (int, float, bool)):
        return np.asarray(value, dtype=like.dtype)
    return as_array(value)


def _reduce_args(dim, keepdim, axis, keepdims):
    axis = dim if axis is None else axis
    if isinstance(axis, list):
        axis = tuple(axis)
    return axis, bool(keepdim if keepdims is None else keepdims)


def _topological(root):
    """Tensors reachable from root, each before every tensor it was computed from (iterative DFS)."""
    order, visited = [], set()
    stack = [(root, False)]
    while stack:
        t, done = stack.pop()
        if done:
            order.append(t)
            continue
        if id(t) in visited:
            continue
        visited.add(id(t))
        stack.append((t, True))
        if t._node is not None:
            for inp in t._node.inputs:
                if isinstance(inp, Tensor) and inp.requires_grad and id(inp) not in visited:
                    stack.append((inp, False))
    order.reverse()
    return order


def tensor(data, requires_grad=False, dtype=None):
    """Make a Tensor. Float arrays keep their dtype; Python numbers and lists become float32
    (PyTorch's default) and so do integer arrays (raw pixel matrices)."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


def zeros(*shape, dtype=np.float32, requires_grad=False):
    shape = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
    return Tensor(np.zeros(shape, dtype=dtype), requires_grad=requires_grad)


def ones(*shape, dtype=np.float32, requires_grad=False):
    shape = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
    return Tensor(np.ones(shape, dtype=dtype), requires_grad=requires_grad)
