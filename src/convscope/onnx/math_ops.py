"""The arithmetic ONNX ops as GraphOps: Add/Sub/Mul/Div/Pow/MatMul, Neg/Exp/Log/Sqrt/Abs/
Reciprocal, Clip, ReduceMean/Sum/Max/Min and the global pools of any rank.

On Tensors each is a Tensor operator or method (convscope's tape); on arrays, NumPy.
"""

import numpy as np

from ..errors import ShapeError
from .graph_ops import GraphOp, array_of, ints, is_tensor


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
            return np.power(a.astype(np.float64), array_of(b)).astype(a.dtype)
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
