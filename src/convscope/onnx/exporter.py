"""convscope model -> ONNX file, built with ``onnx.helper`` and checked by ``onnx.checker``.

The model runs once (eval mode, batch 2) with its layers' calls recorded (nn.recording); each
recorded layer becomes its ONNX node(s) (export_layers.EMITTERS), named ``/<module path>/<Op>``
so that loading the file back gives every layer its name again; weights become initializers
named by their state_dict keys. What runs between layers is read from the engine's tape:
+ - * / @, cat, reshape/flatten, relu/sigmoid/tanh/exp/log/sqrt/abs and negation. Anything else
(a functional conv in a custom forward, a layer with no ONNX equivalent) is refused with a
sentence naming it. The batch axis is dynamic ("batch"); reshapes keep it with a 0 entry.
"""

import os
import secrets
from pathlib import Path

import numpy as np

from .. import __version__
from ..autograd import Tensor, enable_grad
from ..errors import ConvscopeError, ShapeError
from ..nn.recording import recording
from .export_layers import emitter_for, is_convscope_layer
from .facts import encode_facts
from .reader import MIN_OPSET

TRACE_BATCH = (
    2  # two images: a reshape that keeps the batch axis is told apart from one that mixes it
)
GLUE = {  # tape op -> ONNX op for what a forward computes between layers
    "add": "Add",
    "sub": "Sub",
    "mul": "Mul",
    "div": "Div",
    "matmul": "MatMul",
    "neg": "Neg",
    "relu": "Relu",
    "sigmoid": "Sigmoid",
    "tanh": "Tanh",
    "exp": "Exp",
    "log": "Log",
    "sqrt": "Sqrt",
    "abs": "Abs",
}


class Builder:
    """Nodes and initializers of the graph being written; what emitters call."""

    def __init__(self, model, opset, name):
        self.opset, self.model_name = opset, name
        self.nodes, self.inits, self.names, self.alive = [], {}, {}, []
        self.state = {id(t): k for k, t in model.named_parameters()}
        self.state.update({id(t): k for k, t in model.named_buffers()})
        self._used = set()

    def unique(self, base):
        name, k = base, 0
        while name in self._used:
            k += 1
            name = f"{base}_{k}"
        self._used.add(name)
        return name

    def node(self, op, inputs, path, n_out=1, **attrs):
        """Add a node ``/<path>/<op>``; returns its output name (a list if n_out > 1)."""
        from onnx import helper

        stem = f"{path}/{op}" if path else op
        outputs = [self.unique(stem if k == 0 else f"{stem}:{k}") for k in range(n_out)]
        attrs = {k: v for k, v in attrs.items() if v is not None}
        self.nodes.append(
            helper.make_node(op, list(inputs), outputs, name=self.unique("/" + stem), **attrs)
        )
        return outputs[0] if n_out == 1 else outputs

    def initializer(self, array, name):
        from onnx import numpy_helper

        if name not in self.inits:
            self._used.add(name)
            self.inits[name] = numpy_helper.from_array(np.asarray(array, order="C"), name)
        return name

    def param(self, call, attr):
        """The initializer of a layer's parameter/buffer, named by its state_dict key."""
        value = getattr(call.module, attr)
        key = self.state.get(id(value), f"{call.path}.{attr}" if call.path else attr)
        return self.initializer(np.asarray(getattr(value, "data", value), np.float32), key)

    def param_or(self, call, attr, default):
        """The layer's parameter ``attr``, or a constant ``default`` when the layer has none."""
        if getattr(call.module, attr) is not None:
            return self.param(call, attr)
        return self.const(default, f"{call.path}.{attr}_default")

    def const(self, array, hint):
        array = np.asarray(array)
        if array.dtype.kind == "f":
            array = array.astype(np.float32)
        return self.initializer(array, self.unique(hint))

    def refuse(self, call, why):
        raise ConvscopeError(
            f"export: layer {call.path or '(the model)'!r} ({type(call.module).__name__}): {why}"
        )

    # ---- values ------------------------------------------------------------------------------
    def value(self, v):
        """The ONNX name of a value a layer reads (a layer's output, the tape, or a constant)."""
        if v is None:
            return ""
        if id(v) in self.names:
            return self.names[id(v)]
        if isinstance(v, Tensor) and v._node is not None and hasattr(v._node, "cache"):
            name = self._glue(v)
        elif id(v) in self.state:
            name = self.initializer(np.asarray(v.data, np.float32), self.state[id(v)])
        else:
            name = self.const(v.data if isinstance(v, Tensor) else v, "const")
        self.names[id(v)] = name
        self.alive.append(v)
        return name

    def _glue(self, t):
        op, ins = t._node.name, t._node.inputs
        if op in GLUE:
            return self.node(GLUE[op], [self.value(i) for i in ins], op)
        if op in ("reshape", "flatten", "unflatten"):
            return self.reshape(self.value(ins[0]), ins[0].shape, t.shape, op)
        if op == "concat":
            return self.node("Concat", [self.value(i) for i in ins], "cat", axis=_cat_axis(ins, t))
        raise ConvscopeError(
            f"export: the model's forward computes {op} outside a layer; ONNX export follows"
            f" layers (nn.Conv2d, nn.MaxPool2d, ...) and + - * / @, cat, reshape, flatten, relu,"
            f" sigmoid, tanh between them; use the layer for {op}"
        )

    def reshape(self, x, in_shape, out_shape, path):
        """Reshape keeping a dynamic batch: a 0 copies it where both shapes lead with it."""
        shape = list(out_shape)
        if shape and in_shape and shape[0] == in_shape[0] == TRACE_BATCH:
            shape[0] = 0
        elif TRACE_BATCH in (in_shape[:1] or (None,)):
            raise ConvscopeError(
                f"export: a reshape {tuple(in_shape)} -> {tuple(out_shape)} mixes the batch axis"
                f" with others; keep axis 0 the batch (e.g. x.reshape(x.shape[0], -1))"
            )
        return self.node(
            "Reshape", [x, self.const(np.array(shape, np.int64), f"{path}.shape")], path
        )


def _layer(module):
    """Record this module's calls: it has an emitter, or is a convscope layer to refuse."""
    return emitter_for(module) is not None or is_convscope_layer(module)


def _cat_axis(inputs, out):
    shape = inputs[0].shape
    diff = [a for a, (n, m) in enumerate(zip(shape, out.shape, strict=True)) if n != m]
    return diff[0] if diff else 0


def export_model(model, path, input_shape, opset, facts):
    import onnx
    from onnx import helper

    opset = _check_opset(opset)
    shape = _check_shape(model, input_shape)
    was_training = model.training
    model.eval()
    try:
        x = Tensor(np.zeros((TRACE_BATCH, *shape[1:]), np.float32), requires_grad=True)
        with enable_grad(), recording(model, _layer) as calls:  # the tape records the rest
            out = model(x)
        b = Builder(model, opset, type(model).__name__)
        b.names[id(x)] = "input"
        for call in calls:
            emit = emitter_for(call.module)
            if emit is None:
                b.refuse(call, "has no ONNX equivalent; export the model without it")
            b.names[id(call.result)] = emit(b, call)
            b.alive.append(call.result)
        outputs = list(out) if isinstance(out, tuple | list) else [out]
        out_names = [_output(b, o, k, len(outputs)) for k, o in enumerate(outputs)]
    finally:
        model.train(was_training)
    graph = helper.make_graph(
        b.nodes,
        type(model).__name__,
        [helper.make_tensor_value_info("input", onnx.TensorProto.FLOAT, ["batch", *shape[1:]])],
        [_value_info(n, o) for n, o in zip(out_names, outputs, strict=True)],
        list(b.inits.values()),
        value_info=[  # every traced value's shape: for Netron, and for loaders without inference
            _value_info(b.names[id(v)], v)
            for v in b.alive
            if isinstance(v, Tensor)
            and b.names[id(v)] not in (*out_names, "input")
            and b.names[id(v)] not in b.inits
        ],
    )
    proto = helper.make_model_gen_version(
        graph,
        opset_imports=[helper.make_opsetid("", opset)],
        producer_name="convscope",
        producer_version=__version__,
    )
    facts = {"input_shape": list(shape[1:]), "model": type(model).__name__.lower(), **facts}
    helper.set_model_props(proto, encode_facts(facts))
    try:
        onnx.checker.check_model(proto, full_check=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as exc:
        # a bug of this exporter, not of the user
        raise ConvscopeError(f"export: the ONNX checker refused the graph ({exc})") from None
    _write(Path(path), proto.SerializeToString())
    return proto


def _output(b, value, k, count):
    """Name the k-th graph output 'output' (or 'output_k'), renaming the node that makes it."""
    name = "output" if count == 1 else f"output_{k}"
    source = b.value(value)
    producers = [n for n in b.nodes if source in n.output]
    if not producers or source in [o for n in b.nodes for o in n.output if n is not producers[0]]:
        return b.node("Identity", [source], name)
    for n in b.nodes:
        n.input[:] = [name if i == source else i for i in n.input]
        n.output[:] = [name if o == source else o for o in n.output]
    b.names[id(value)] = name
    return name


def _value_info(name, t):
    import onnx
    from onnx import helper

    dims = list(t.shape)
    dims = ["batch", *dims[1:]] if dims and dims[0] == TRACE_BATCH else dims
    return helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, dims)


def _check_opset(opset):
    import onnx

    newest = onnx.defs.onnx_opset_version()
    if (
        isinstance(opset, bool)
        or not isinstance(opset, int | np.integer)
        or not MIN_OPSET <= opset <= newest
    ):
        raise ConvscopeError(
            f"export: opset={opset!r} is not one convscope writes; use {MIN_OPSET} to {newest}"
            f" (default 21)"
        )
    return int(opset)


def _check_shape(model, input_shape):
    if input_shape is None:
        chw = getattr(model, "input_shape", None)
        if chw is None:
            raise ShapeError(
                f"export: {type(model).__name__} has no input_shape; pass input_shape=(1, C, H, W)"
            )
        input_shape = (1, *chw)
    shape = tuple(input_shape)
    if len(shape) not in (3, 4) or not all(
        isinstance(n, int | np.integer) and n > 0 for n in shape
    ):
        raise ShapeError(
            f"export: input_shape={input_shape!r} must be (N, C, H, W) (or (N, C, L)) of positive"
            f" ints, e.g. (1, 1, 28, 28)"
        )
    return tuple(int(n) for n in shape)


def _write(path, data):
    """Write atomically: a temporary file in the same folder, then os.replace."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the umask applies
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
