"""Tensor: an ndarray plus the graph that made it; ``backward`` runs reverse-mode autodiff.

The walk lives in ``tape``. A Tensor used twice accumulates both gradients. Only leaves
(tensors the user made) keep ``.grad``, unless ``retain_grad()`` was called. Every gradient
is checked against its input (``tape_checks``) before it is accumulated.

In place: ``t += u`` (and -=, *=, /=) on a tensor computed in a recorded graph rebinds t
to a new tensor, so whatever an op saved stays intact; the methods (add_, copy_, t[i] = ...)
cannot rebind and refuse such a tensor while grad is on. Elsewhere (plain tensors, under
no_grad) they change the data and count the change in ``_version``; backward refuses a
node whose saved tensor changed since.
"""

import numpy as np

from ..backend import default_float
from ..errors import AutogradError, ShapeError
from .function import apply, as_array, numeric_array
from .grad_mode import is_grad_enabled
from .tape import run
from .tensor_math import TensorMath


class Tensor(TensorMath):
    __array_priority__ = 1000  # ndarray (op) Tensor defers to Tensor's reflected operators

    def __init__(self, data, requires_grad=False, dtype=None):
        if isinstance(data, Tensor):
            data = data.data
        arr = numeric_array(data, dtype)
        if dtype is None and (
            arr.dtype.kind != "f" or not isinstance(data, np.ndarray | np.generic)
        ):
            arr = arr.astype(default_float(arr.dtype) if arr.dtype.kind != "f" else np.float32)
        if requires_grad and arr.dtype.kind != "f":
            raise AutogradError(
                f"tensor: only floating-point tensors can require grad, got dtype {arr.dtype};"
                f" use a float dtype (e.g. dtype=np.float32)"
            )
        self._bind(arr, bool(requires_grad))

    def _bind(self, arr, requires_grad):
        """Every field of a new Tensor around the checked array ``arr``."""
        self.data = arr
        self.grad = None
        self.requires_grad = requires_grad
        self._node = None
        self._retain = False
        self._versions = [0]  # in-place changes of self.data, shared with detach()

    @classmethod
    def _result(cls, arr):
        """The Tensor around a float ndarray an op just made: __init__'s checks skipped (they
        cost ~3 us, a tenth of a small op's time)."""
        t = object.__new__(cls)
        t._bind(arr, False)
        return t

    @property
    def _version(self):
        """How many times the data was changed in place (PyTorch's ``_version``)."""
        return self._versions[0]

    # ---- array facts -------------------------------------------------------
    shape = property(lambda self: self.data.shape)
    dtype = property(lambda self: self.data.dtype)
    ndim = property(lambda self: self.data.ndim)

    def size(self, dim=None):
        """The shape (PyTorch's torch.Size), or the length of one axis."""
        return self.data.shape if dim is None else self.data.shape[dim]

    @property
    def is_leaf(self):
        return self._node is None

    @property
    def grad_fn(self):
        return self._node

    def numpy(self):
        return self.data

    def item(self):
        if self.data.size != 1:
            raise ShapeError(
                f"item: only a one-element tensor converts to a Python number, got shape"
                f" {self.shape}; reduce it first (e.g. .sum() or .mean())"
            )
        return self.data.item()

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __bool__(self):
        return bool(self.item())

    def __format__(self, spec):
        return format(self.item(), spec) if spec else repr(self)

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
        """A new leaf sharing the data (and its in-place change count), cut from the graph."""
        out = Tensor(self.data)
        out._versions = self._versions
        return out

    def requires_grad_(self, flag=True):
        self.requires_grad = bool(flag)
        return self

    def retain_grad(self):
        """Keep .grad on this non-leaf tensor after backward."""
        self._retain = True
        return self

    # ---- copies, casts and in-place updates -------------------------------
    def clone(self):
        """A copy that stays in the graph (gradients flow back to self)."""
        return self + 0

    def contiguous(self):
        return self

    def to(self, dtype=None, device=None):
        """Cast to dtype; the only device is "cpu" (CuPy will add more)."""
        if isinstance(dtype, str) and device is None:
            dtype, device = None, dtype
        if device not in (None, "cpu"):
            raise ShapeError(f"to: device {device!r} is not available; convscope runs on 'cpu'")
        return self if dtype is None or np.dtype(dtype) == self.dtype else self._cast(dtype)

    def __iadd__(self, other):
        return self._in_place("+=", np.add, other, lambda: self + other)

    def __isub__(self, other):
        return self._in_place("-=", np.subtract, other, lambda: self - other)

    def __imul__(self, other):
        return self._in_place("*=", np.multiply, other, lambda: self * other)

    def __itruediv__(self, other):
        return self._in_place("/=", np.true_divide, other, lambda: self / other)

    def add_(self, other, alpha=1):
        return self._in_place("add_", np.add, as_array(other) * alpha)

    def sub_(self, other, alpha=1):
        return self._in_place("sub_", np.subtract, as_array(other) * alpha)

    def mul_(self, other):
        return self._in_place("mul_", np.multiply, other)

    def div_(self, other):
        return self._in_place("div_", np.true_divide, other)

    def copy_(self, src):
        return self._in_place(
            "copy_", lambda a, b, out, **_: np.copyto(out, b, casting="unsafe"), src
        )

    def fill_(self, value):
        return self._in_place(
            "fill_", lambda a, b, out, **_: np.copyto(out, b, casting="unsafe"), value
        )

    def zero_(self):
        return self.fill_(0)

    def __setitem__(self, index, value):
        self._check_in_place("item assignment")
        self.data[index.data if isinstance(index, Tensor) else index] = as_array(value)
        self._versions[0] += 1

    def _in_place(self, op, fn, other, out_of_place=None):
        """Update self.data in place (as PyTorch: parameters under no_grad, plain tensors).

        With grad on, a tensor already in the graph is rebound out of place instead, so its
        saved values stay intact; a leaf that requires grad is an error, as in PyTorch.
        """
        if out_of_place is not None and self._node is not None and is_grad_enabled():
            return out_of_place()
        self._check_in_place(op)
        other = as_array(other)
        try:
            np.broadcast_shapes(np.shape(other), self.shape)
            fn(self.data, other, out=self.data, casting="unsafe")
        except ValueError:
            raise ShapeError(
                f"{op}: a value of shape {np.shape(other)} cannot update a tensor of shape"
                f" {self.shape} in place; it must broadcast to {self.shape}"
            ) from None
        self._versions[0] += 1
        return self

    def _check_in_place(self, op):
        if not is_grad_enabled():
            return
        if self.requires_grad and self._node is None:
            raise AutogradError(
                f"{op}: a leaf tensor that requires grad cannot be changed in place while"
                f" gradients are recorded; do it inside `with cs.no_grad():` (as an optimizer"
                f" step does) or write x = x + ... to make a new tensor"
            )
        if self._node is not None:
            raise AutogradError(
                f"{op}: this tensor (shape {self.shape}) is the output of {self._node.name} in"
                f" a recorded graph, and the tape records ops out of place: an in-place change"
                f" would be left out of the gradients; write y = y + ... (or y += ..., which"
                f" rebinds y), or change it under `with cs.no_grad():`"
            )

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
            raise AutogradError(
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
        run(self, grad, retain_graph)


def _cast_forward(a, dtype):
    return a.astype(dtype), a.dtype


def _cast_backward(dy, dtype):
    return (dy.astype(dtype),)
