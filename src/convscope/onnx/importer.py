"""An ONNX graph -> a GraphModule of convscope layers (and GraphOps for the rest).

    module = build_module(model_proto, path)

1. parse: initializers and Constant nodes become arrays, nodes become plain records;
   ``onnx.shape_inference`` gives the static sizes some attributes need (auto_pad, Resize);
2. fold: nodes whose inputs are all constants (the shape arithmetic exporters emit) are
   computed once, with the same GraphOps that run them at run time;
3. fuse: patterns that are one convscope layer (Pad + Conv -> Conv2d with padding_mode,
   -MaxPool(-x) -> MinPool2d, MatMul + Add -> Linear, x * sigmoid(x) -> SiLU);
4. convert: each node becomes layers (Conv2d, Linear, BatchNorm2d, ...) holding its weights, or
   a GraphOp; an op or attribute outside the supported set is refused with a sentence.
"""

import numpy as np

from ..autograd import Tensor
from ..errors import CheckpointError
from . import converters, fuse
from .graph import GraphModule, assign_paths
from .nodes import GRAPH_OPS, LAYER_KEY, Node, Step

MAX_FOLDED_ELEMENTS = 1 << 26  # a constant the file asks to build (ConstantOfShape) is capped


class Importer:
    """The graph being converted: constants, static shapes, consumers; what converters ask."""

    def __init__(self, model, path="model"):
        import onnx

        self.path = path
        self.opset = next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))
        graph = model.graph
        if graph.sparse_initializer:
            raise CheckpointError(
                f"{path}: sparse initializers are not supported; store them dense"
            )
        self.const = {t.name: _array(t) for t in graph.initializer}
        self.origin = {name: name for name in self.const}
        self.inputs = [i.name for i in graph.input if i.name not in self.const]
        self.outputs = [o.name for o in graph.output]
        try:
            inferred = onnx.shape_inference.infer_shapes(model).graph
        except Exception:  # shape inference is a help, not a requirement
            inferred = graph
        self.shapes = {
            vi.name: _dims(vi)
            for vi in (*inferred.value_info, *inferred.input, *inferred.output)
            if vi.type.HasField("tensor_type")
        }
        self.input_types = {i.name: i.type.tensor_type.elem_type for i in graph.input}
        self.nodes = [_node(n, i) for i, n in enumerate(graph.node)]
        self.consumers = {}

    # ---- what converters ask ------------------------------------------------------------
    def const_of(self, name):
        """The constant array named ``name``, None for a run-time value or an omitted input."""
        return self.const.get(name) if name else None

    def shape(self, name):
        """Static dims (None where unknown) of a value, or None when even its rank is unknown."""
        return self.shapes.get(name)

    def used(self, name):
        return bool(name) and (name in self.outputs or bool(self.consumers.get(name)))

    def refuse(self, node, why):
        raise CheckpointError(f"{self.path}: node {node.name!r} ({node.op}): {why}")

    def param_names(self, node):
        return [self.origin[n] for n in node.inputs if n in self.origin]

    # ---- the passes ---------------------------------------------------------------------
    def fold(self):
        kept = []
        for node in self.nodes:
            if node.op == "Constant":
                self.const[node.outputs[0]] = constant_value(node, self)
            elif node.op in GRAPH_OPS and all(n in self.const for n in node.inputs if n):
                self._guarded(node, self._fold, node)
            else:
                kept.append(node)
        self.nodes = kept

    def _fold(self, node):
        op = converters.graph_op(node, self)
        if node.op == "ConstantOfShape":
            shape = np.asarray(self.const[node.inputs[0]]).reshape(-1)
            if int(np.prod(shape)) > MAX_FOLDED_ELEMENTS:
                self.refuse(node, f"asks for a constant of shape {shape.tolist()}, too large")
        value = op()
        self.const[node.outputs[0]] = value.data if isinstance(value, Tensor) else value
        sources = [self.origin[n] for n in node.inputs if n in self.origin]
        if len(sources) == 1:  # e.g. Transpose(fc.weight): keeps naming its layer
            self.origin[node.outputs[0]] = sources[0]

    def convert(self):
        self.consumers = {}
        for node in self.nodes:
            node.params = self.param_names(node)
            for name in node.inputs:
                self.consumers.setdefault(name, []).append(node)
        steps = []
        for node in self.nodes:
            for module, inputs, outputs in self._guarded(node, converters.convert, node, self):
                steps.append(Step(module, list(inputs), list(outputs), node))
        return steps

    def _guarded(self, node, work, *args):
        """work(*args); a node whose inputs contradict its attributes gets a sentence."""
        try:
            return work(*args)
        except CheckpointError:
            raise
        except (ValueError, TypeError, IndexError, KeyError) as exc:  # ShapeError included
            self.refuse(node, f"cannot be built from its inputs and attributes ({exc})")


def build_module(model, path="model"):
    """The GraphModule for a checked ModelProto (see the module docstring)."""
    imp = Importer(model, path)
    imp.fold()
    imp.nodes = fuse.fuse(imp.nodes, imp)
    steps = imp.convert()
    paths = assign_paths(steps)
    read = {n for s in steps for n in s.inputs} | set(imp.outputs)
    constants = {n: imp.const[n] for n in read if n in imp.const}  # e.g. Relu of a constant
    return GraphModule(
        [(p, s.module, s.inputs, s.outputs) for p, s in zip(paths, steps, strict=True)],
        imp.inputs,
        imp.outputs,
        constants,
    ), imp


def constant_value(node, imp):
    """The array a Constant node holds (value, value_float(s), value_int(s))."""
    for key, dtype in (
        ("value", None),
        ("value_float", np.float32),
        ("value_floats", np.float32),
        ("value_int", np.int64),
        ("value_ints", np.int64),
    ):
        if key in node.attrs:
            return np.asarray(node.attrs[key], dtype=dtype)
    return imp.refuse(
        node,
        f"holds {', '.join(node.attrs) or 'nothing'}; convscope reads Constant nodes with"
        f" value, value_float(s) or value_int(s)",
    )


def _array(tensor):
    from onnx import numpy_helper

    try:
        return numpy_helper.to_array(tensor)
    except Exception as exc:  # a short raw_data raises ValueError deep in NumPy
        raise CheckpointError(
            f"tensor {tensor.name!r} of shape {list(tensor.dims)} cannot be read ({exc}); the"
            f" file is truncated or damaged"
        ) from None


def _dims(value_info):
    tt = value_info.type.tensor_type
    if not tt.HasField("shape"):
        return None
    return tuple(d.dim_value if d.HasField("dim_value") else None for d in tt.shape.dim)


def _node(proto, index):
    import onnx
    from onnx import helper

    attrs = {}
    for a in proto.attribute:
        value = helper.get_attribute_value(a)
        if isinstance(value, bytes):
            value = value.decode()
        elif isinstance(value, onnx.TensorProto):
            value = _array(value)
        elif isinstance(value, list) and value and isinstance(value[0], bytes):
            value = [v.decode() for v in value]
        elif isinstance(
            value, float
        ):  # stored as float32: its shortest decimal (1e-05, not 9.99e-06)
            value = float(str(np.float32(value)))
        attrs[a.name] = value
    meta = {p.key: p.value for p in proto.metadata_props}
    if LAYER_KEY in meta:
        attrs["_layer"] = meta[LAYER_KEY]
    return Node(
        name=proto.name or f"{proto.op_type}_{index}",
        op=proto.op_type,
        inputs=list(proto.input),
        outputs=list(proto.output),
        attrs=attrs,
        scope=_scope(proto.name, meta),
    )


def _scope(name, meta):
    """The exporting framework's module path for a node, if it recorded one.

    torch.onnx (dynamo) stores ``pkg.torch.onnx.name_scopes`` = ['', 'enc', 'enc.0', 'conv2d'];
    the legacy exporter names nodes '/enc/enc.0/Conv'.
    """
    scopes = meta.get("pkg.torch.onnx.name_scopes")
    if scopes:
        parts = [s.strip(" '\"") for s in scopes.strip("[]").split(",")]
        return parts[-2] if len(parts) >= 3 and parts[-2] else None
    parts = name.strip("/").split("/") if name.startswith("/") else []
    return parts[-2] if len(parts) >= 2 else None
