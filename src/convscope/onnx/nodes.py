"""Plain records of the graph being converted, and what every converter does with a node.

Node    one ONNX node: op type, input/output value names, decoded attributes
Step    one module of the GraphModule, the values it reads and writes, its node
"""

from dataclasses import dataclass, field

import numpy as np

from ..nn import Module
from . import graph_ops as g
from .math_ops import Binary, Clip, GlobalPool, Reduce, Unary

LAYER_KEY = "convscope.layer"  # node metadata: the convscope layer a node was written for


@dataclass
class Node:
    """One ONNX node as plain data (attributes decoded to Python values and arrays)."""

    name: str
    op: str
    inputs: list
    outputs: list
    attrs: dict
    scope: str | None = None  # the exporter's module path for the node, when it recorded one
    params: list = field(default_factory=list)  # initializer names it reads (for naming)


@dataclass
class Step:
    """A module, the value names it reads and writes, and the node it came from."""

    module: Module
    inputs: list
    outputs: list
    node: Node


def check_attrs(node, imp, allowed):
    """Refuse an attribute the converter does not read (internal ones start with '_')."""
    for name, value in node.attrs.items():
        if name not in allowed and not name.startswith("_"):
            shown = (
                str(np.asarray(value).tolist()) if isinstance(value, np.ndarray) else repr(value)
            )
            imp.refuse(
                node,
                f"attribute {name}={shown} is not supported; convscope reads {node.op}"
                f" with {', '.join(allowed) if allowed else 'no attributes'}",
            )


def float_dtype(array):
    """The dtype a layer holding these weights computes in: float32 or float64."""
    return array.dtype if array.dtype in (np.float32, np.float64) else np.dtype(np.float32)


def set_weights(layer, **arrays):
    """Copy arrays into the layer's parameters (None: leave it): set_weights(conv, weight=W, bias=b)."""
    for name, value in arrays.items():
        if value is not None:
            param = getattr(layer, name)
            param.data = np.array(value, dtype=param.data.dtype).reshape(param.data.shape)
    return layer


def split_inputs(node, imp):
    """({input position: constant, None for an omitted input}, [run-time input names])."""
    consts = {i: imp.const_of(n) for i, n in enumerate(node.inputs) if not n or n in imp.const}
    return consts, [n for i, n in enumerate(node.inputs) if i not in consts]


def op_step(cls, node, imp, n_out=1, **kwargs):
    """[(GraphOp cls for node with its constants baked in, run-time inputs, outputs)]."""
    consts, runtime = split_inputs(node, imp)
    op = cls(node.attrs, consts, arity=len(node.inputs), **kwargs)
    return [(op, runtime, node.outputs[:n_out])]


def _op(base, name):
    return type(name, (base,), {"op_type": name, "__doc__": base.__doc__})


GRAPH_OPS = {
    cls.op_type: cls
    for cls in (
        g.Reshape, g.Flatten, g.Transpose, g.Squeeze, g.Unsqueeze, g.Concat, g.Slice, g.Gather,
        g.Shape, g.ConstantOfShape, g.Cast, g.CastLike, g.Identity, Clip,
        *(_op(Binary, name) for name in Binary.FN),
        *(_op(Unary, name) for name in Unary.FN),
        *(_op(Reduce, name) for name in Reduce.FN),
        *(_op(GlobalPool, name) for name in ("GlobalAveragePool", "GlobalMaxPool")),
    )
}  # fmt: skip
