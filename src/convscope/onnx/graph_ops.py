"""The ONNX ops that have no convscope layer, each a small Module (GraphOp): here the base class
and the data-movement ops (Reshape, Flatten, Transpose, Squeeze/Unsqueeze, Concat, Slice, Gather,
Shape, ConstantOfShape, Cast/CastLike, Identity); the arithmetic ones are in math_ops.

A GraphOp holds one node's attributes and its constant inputs; the rest arrive as arguments:

    op = GRAPH_OPS["Reshape"]({}, constants={1: np.array([-1, 400])}, arity=2)
    op(x)                       # x.reshape(-1, 400): a Tensor in, a Tensor out, on convscope's tape

On Tensors every op is a Tensor method (its backward is the engine's); on integer arrays
(shapes computed while the model runs: Shape -> Gather -> Concat -> Reshape) the same code runs
NumPy and carries no gradient. The loader folds sub-graphs of constants with these same ops.
"""

import numpy as np

from ..autograd import Tensor, cat
from ..errors import CheckpointError
from ..nn import Module


class GraphOp(Module):
    """One ONNX node: ``attrs`` (the node's attributes), ``constants`` {input position: array}."""

    op_type = ""
    ATTRS = {}  # attribute name -> default (the attributes this op understands)

    def __init__(self, attrs=None, constants=None, arity=1):
        super().__init__()
        self.attrs = dict(attrs or {})
        self.constants = dict(constants or {})
        self.arity = arity

    def attr(self, name):
        return self.attrs.get(name, self.ATTRS[name])

    def problem(self):
        """A sentence fragment when the attributes ask for what convscope cannot do, else None."""
        return None

    def forward(self, *inputs):
        wanted = self.arity - len(self.constants)
        if len(inputs) != wanted:
            raise CheckpointError(
                f"{self.op_type}: takes {wanted} input(s) at run time, got {len(inputs)}"
            )
        it = iter(inputs)
        args = [self.constants[i] if i in self.constants else next(it) for i in range(self.arity)]
        return self.compute(*args)

    def compute(self, *args):
        raise NotImplementedError

    def extra_repr(self):
        parts = [f"{k}={_short(v)}" for k, v in self.attrs.items()]
        parts += [f"input{i}={_short(v)}" for i, v in self.constants.items() if v is not None]
        return ", ".join(parts)


def _short(value):
    if isinstance(value, np.ndarray):
        return str(value.tolist()) if value.size <= 8 else f"array{value.shape}"
    return repr(value)


def is_tensor(*values):
    return any(isinstance(v, Tensor) for v in values)


def array_of(value):
    """The ndarray of a Tensor, or the value as an array."""
    return value.data if isinstance(value, Tensor) else np.asarray(value)


def ints(value):
    return [int(v) for v in np.asarray(value).reshape(-1)]


# ---- data movement ------------------------------------------------------------------------


class Reshape(GraphOp):
    """y = x.reshape(shape); 0 copies that input size (unless allowzero=1), -1 is inferred."""

    op_type, ATTRS = "Reshape", {"allowzero": 0}

    def compute(self, x, shape):
        target = ints(shape)
        if not self.attr("allowzero"):
            target = [x.shape[i] if s == 0 else s for i, s in enumerate(target)]
        return x.reshape(tuple(target))


class Flatten(GraphOp):
    """(d0, ..., dn) -> (d0*...*d(axis-1), d(axis)*...*dn): always 2-D."""

    op_type, ATTRS = "Flatten", {"axis": 1}

    def compute(self, x):
        axis = self.attr("axis")
        axis = axis + len(x.shape) if axis < 0 else axis
        lead = int(np.prod(x.shape[:axis]))
        return x.reshape((lead, int(np.prod(x.shape[axis:]))))


class Transpose(GraphOp):
    """y = x with its axes permuted (perm; default: reversed)."""

    op_type, ATTRS = "Transpose", {"perm": None}

    def compute(self, x):
        perm = self.attr("perm")
        perm = tuple(reversed(range(len(x.shape)))) if perm is None else tuple(perm)
        return x.permute(perm) if is_tensor(x) else np.transpose(x, perm)


class Squeeze(GraphOp):
    """Drop the size-1 axes listed (all of them when none are)."""

    op_type, ATTRS = "Squeeze", {"axes": None}

    def compute(self, x, axes=None):
        axes = self.attr("axes") if axes is None else ints(axes)
        ndim = len(x.shape)
        drop = {a % ndim for a in axes} if axes is not None else None
        shape = [n for i, n in enumerate(x.shape) if not (n == 1 and (drop is None or i in drop))]
        return x.reshape(tuple(shape))


class Unsqueeze(GraphOp):
    """Insert size-1 axes at the listed positions of the output."""

    op_type, ATTRS = "Unsqueeze", {"axes": None}

    def compute(self, x, axes=None):
        axes = self.attr("axes") if axes is None else ints(axes)
        rank = len(x.shape) + len(axes)
        shape = list(x.shape)
        for a in sorted(a % rank for a in axes):
            shape.insert(a, 1)
        return x.reshape(tuple(shape))


class Concat(GraphOp):
    """Join the inputs along axis."""

    op_type, ATTRS = "Concat", {"axis": 0}

    def compute(self, *xs):
        axis = self.attr("axis")
        if is_tensor(*xs):
            return cat([x if is_tensor(x) else Tensor(x, dtype=x.dtype) for x in xs], dim=axis)
        return np.concatenate([np.asarray(x) for x in xs], axis=axis)


class Slice(GraphOp):
    """x[starts:ends:steps] on the listed axes (ONNX clamps out-of-range bounds, as Python does)."""

    op_type = "Slice"

    def compute(self, x, starts, ends, axes=None, steps=None):
        starts, ends = ints(starts), ints(ends)
        axes = list(range(len(starts))) if axes is None else ints(axes)
        steps = [1] * len(starts) if steps is None else ints(steps)
        index = [slice(None)] * len(x.shape)
        for a, b, e, s in zip(axes, starts, ends, steps, strict=True):
            index[a % len(x.shape)] = slice(b, e, s)
        return x[tuple(index)]


class Gather(GraphOp):
    """y = x.take(indices, axis) (negative indices count from the end)."""

    op_type, ATTRS = "Gather", {"axis": 0}

    def compute(self, x, indices):
        index = array_of(indices).astype(np.intp)
        return x[(slice(None),) * (self.attr("axis") % len(x.shape)) + (index,)]


class Shape(GraphOp):
    """The input's shape as an int64 array (start:end of it)."""

    op_type, ATTRS = "Shape", {"start": 0, "end": None}

    def compute(self, x):
        return np.array(x.shape[self.attr("start") : self.attr("end")], dtype=np.int64)


class ConstantOfShape(GraphOp):
    """An array of the given shape filled with value (default float32 zero)."""

    op_type, ATTRS = "ConstantOfShape", {"value": None}

    def compute(self, shape):
        value = self.attr("value")
        value = np.zeros(1, np.float32) if value is None else np.asarray(value).reshape(-1)
        return np.full(ints(shape), value[0], dtype=value.dtype)


CAST_TYPES = {  # ONNX TensorProto data type -> NumPy (the types convscope computes with)
    1: np.float32, 2: np.uint8, 3: np.int8, 4: np.uint16, 5: np.int16, 6: np.int32, 7: np.int64,
    9: np.bool_, 10: np.float16, 11: np.float64, 12: np.uint32, 13: np.uint64,
}  # fmt: skip


class Cast(GraphOp):
    """x in another element type; a Tensor cast to an integer type leaves the tape (as in ONNX)."""

    op_type, ATTRS = "Cast", {"to": 1, "saturate": 1}

    def problem(self):
        if self.attr("to") not in CAST_TYPES:
            return (
                f"to={self.attr('to')} (an 8-bit float, 4-bit or string type) is not supported;"
                f" convscope computes with float16/32/64, integers and bool"
            )
        return None

    def compute(self, x):
        dtype = np.dtype(CAST_TYPES[self.attr("to")])
        if is_tensor(x):
            return x.astype(dtype) if dtype.kind == "f" else x.data.astype(dtype)
        return np.asarray(x).astype(dtype)


class CastLike(GraphOp):
    """x in the element type of the second input."""

    op_type, ATTRS = "CastLike", {"saturate": 1, "round_mode": "up"}

    def compute(self, x, like):
        dtype = array_of(like).dtype
        if is_tensor(x):
            return x.astype(dtype) if dtype.kind == "f" else x.data.astype(dtype)
        return np.asarray(x).astype(dtype)


class Identity(GraphOp):
    op_type = "Identity"

    def compute(self, x):
        return x
