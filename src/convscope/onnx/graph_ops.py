"""The ONNX ops that have no convscope layer, each a small Module: Reshape, Transpose, Concat,
Slice, Add, MatMul, Shape, Gather, ...

A GraphOp holds one node's attributes and its constant inputs; the rest arrive as arguments:

    op = GRAPH_OPS["Reshape"]({}, constants={1: np.array([-1, 400])}, arity=2)
    op(x)                       # x.reshape(-1, 400): a Tensor in, a Tensor out, on convscope's tape

On Tensors every op is a Tensor method (its backward is the engine's); on integer arrays
(shapes computed while the model runs: Shape -> Gather -> Concat -> Reshape) the same code runs
NumPy and carries no gradient. The loader folds sub-graphs of constants with these same ops.
"""

import numpy as np

from ..autograd import Tensor, cat
from ..errors import CheckpointError, ShapeError
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


def _data(value):
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
        index = _data(indices).astype(np.intp)
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
        dtype = _data(like).dtype
        if is_tensor(x):
            return x.astype(dtype) if dtype.kind == "f" else x.data.astype(dtype)
        return np.asarray(x).astype(dtype)


class Identity(GraphOp):
    op_type = "Identity"

    def compute(self, x):
        return x


# ---- arithmetic ---------------------------------------------------------------------------


class Binary(GraphOp):
    """Elementwise a (op) b with NumPy broadcasting; integer Div truncates, as ONNX does."""

    FN = {
        "Add": lambda a, b: a + b,
        "Sub": lambda a, b: a - b,
        "Mul": lambda a, b: a * b,
        "Div": lambda a, b: a / b,
        "Pow": lambda a, b: a**b,
        "MatMul": lambda a, b: a @ b,
    }

    def compute(self, a, b):
        if self.op_type == "Pow" and not is_tensor(a):  # ONNX: the result has the base's type
            a = np.asarray(a)
            return np.power(a.astype(np.float64), _data(b)).astype(a.dtype)
        if self.op_type == "Pow" and not is_tensor(b):
            return a ** np.asarray(b, dtype=a.dtype)
        if not is_tensor(a, b):
            a, b = np.asarray(a), np.asarray(b)
            if self.op_type == "Div" and a.dtype.kind in "iu" and b.dtype.kind in "iu":
                return np.trunc(a / b).astype(np.result_type(a, b))
        return self.FN[self.op_type](a, b)


class Unary(GraphOp):
    """Elementwise f(x): Neg, Exp, Log, Sqrt, Abs, Reciprocal."""

    FN = {
        "Neg": (lambda x: -x, np.negative),
        "Exp": (lambda x: x.exp(), np.exp),
        "Log": (lambda x: x.log(), np.log),
        "Sqrt": (lambda x: x.sqrt(), np.sqrt),
        "Abs": (lambda x: x.abs(), np.abs),
        "Reciprocal": (lambda x: 1.0 / x, np.reciprocal),
    }

    def compute(self, x):
        on_tensor, on_array = self.FN[self.op_type]
        return on_tensor(x) if is_tensor(x) else on_array(x)


class Clip(GraphOp):
    """min(max(x, lo), hi); a missing bound does not clip."""

    op_type = "Clip"

    def compute(self, x, lo=None, hi=None):
        lo = None if lo is None else float(np.asarray(lo))
        hi = None if hi is None else float(np.asarray(hi))
        return x.clamp(lo, hi) if is_tensor(x) else np.clip(x, lo, hi)


class Reduce(GraphOp):
    """Mean, sum, max or min over axes (all axes when none are given, unless noop_with_empty_axes)."""

    ATTRS = {"axes": None, "keepdims": 1, "noop_with_empty_axes": 0}
    FN = {"ReduceMean": "mean", "ReduceSum": "sum", "ReduceMax": "amax", "ReduceMin": "amin"}

    def compute(self, x, axes=None):
        axes = self.attr("axes") if axes is None else ints(axes)
        if not axes:
            if self.attr("noop_with_empty_axes"):
                return x
            axes = range(len(x.shape))
        axes, keep = tuple(a % len(x.shape) for a in axes), bool(self.attr("keepdims"))
        if is_tensor(x):
            return getattr(x, self.FN[self.op_type])(axis=axes, keepdims=keep)
        if x.size == 0 and self.op_type in ("ReduceMax", "ReduceMin"):
            raise ShapeError(f"{self.op_type}: the input of shape {x.shape} is empty")
        fn = {"mean": np.mean, "sum": np.sum, "amax": np.max, "amin": np.min}
        return fn[self.FN[self.op_type]](x, axis=axes, keepdims=keep)


class GlobalPool(GraphOp):
    """Mean (GlobalAveragePool) or max (GlobalMaxPool) over every axis after the channels."""

    def compute(self, x):
        axes = tuple(range(2, len(x.shape)))
        if self.op_type == "GlobalAveragePool":
            return x.mean(axis=axes, keepdims=True)
        return x.amax(axis=axes, keepdims=True) if is_tensor(x) else x.max(axis=axes, keepdims=True)


def _op(base, name):
    return type(name, (base,), {"op_type": name, "__doc__": base.__doc__})


GRAPH_OPS = {
    cls.op_type: cls
    for cls in (
        Reshape,
        Flatten,
        Transpose,
        Squeeze,
        Unsqueeze,
        Concat,
        Slice,
        Gather,
        Shape,
        ConstantOfShape,
        Cast,
        CastLike,
        Identity,
        Clip,
        *(_op(Binary, name) for name in Binary.FN),
        *(_op(Unary, name) for name in Unary.FN),
        *(_op(Reduce, name) for name in Reduce.FN),
        *(_op(GlobalPool, name) for name in ("GlobalAveragePool", "GlobalMaxPool")),
    )
}
