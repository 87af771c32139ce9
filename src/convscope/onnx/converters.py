"""ONNX node -> convscope modules: a layer holding the node's weights where one fits, else a GraphOp.

``convert(node, imp)`` returns [(module, runtime input names, output names), ...]: usually one
entry, two when ONNX's node is a layer plus padding or cropping (asymmetric pads). Every converter
names the attributes it reads; any other attribute, or a value it cannot honour, is refused
with a sentence naming the node, its op type and the attribute.
"""

import numpy as np

from .. import nn
from . import spatial
from .functional_ops import (
    FunctionalBatchNorm,
    FunctionalDropout,
    FunctionalGemm,
    FunctionalGroupNorm,
    FunctionalLayerNorm,
)
from .nodes import GRAPH_OPS, check_attrs, float_dtype, op_step, set_weights, split_inputs

ACTIVATIONS = {  # op type -> (layer factory from attrs, the attributes it reads)
    "Relu": (lambda a: nn.ReLU(), ()),
    "Sigmoid": (lambda a: nn.Sigmoid(), ()),
    "Tanh": (lambda a: nn.Tanh(), ()),
    "Softplus": (lambda a: nn.Softplus(), ()),
    "SiLU": (lambda a: nn.SiLU(), ()),  # fused x * Sigmoid(x)
    "Swish": (lambda a: nn.SiLU(), ("alpha",)),
    "LeakyRelu": (lambda a: nn.LeakyReLU(a.get("alpha", 0.01)), ("alpha",)),
    "Elu": (lambda a: nn.ELU(a.get("alpha", 1.0)), ("alpha",)),
    "Gelu": (lambda a: nn.GELU(a.get("approximate", "none")), ("approximate",)),
    "Softmax": (lambda a: nn.Softmax(dim=a.get("axis", -1)), ("axis",)),
    "LogSoftmax": (lambda a: nn.LogSoftmax(dim=a.get("axis", -1)), ("axis",)),
    "Identity": (lambda a: nn.Identity(), ()),
}


def convert(node, imp):
    if node.op in ACTIVATIONS:
        factory, allowed = ACTIVATIONS[node.op]
        check_attrs(node, imp, allowed)
        if node.op == "Gelu" and node.attrs.get("approximate", "none") not in ("none", "tanh"):
            imp.refuse(node, "approximate must be 'none' or 'tanh'")
        if node.op == "Swish" and node.attrs.get("alpha", 1.0) != 1.0:
            imp.refuse(node, f"alpha={node.attrs['alpha']}: convscope's SiLU is Swish with alpha=1")
        return [(factory(node.attrs), node.inputs[:1], node.outputs[:1])]
    if node.op in LAYERS:
        return LAYERS[node.op](node, imp)
    if node.op in spatial.CONVERTERS:
        return spatial.CONVERTERS[node.op](node, imp)
    if node.op in GRAPH_OPS:
        return [(graph_op(node, imp), split_inputs(node, imp)[1], node.outputs)]
    imp.refuse(
        node,
        f"convscope does not run op type {node.op!r}; supported op types: {', '.join(supported())}",
    )


def supported():
    """Every ONNX op type the loader converts, sorted."""
    internal = {"SiLU", "MinPool"}
    return sorted(
        (set(ACTIVATIONS) | set(LAYERS) | set(spatial.CONVERTERS) | set(GRAPH_OPS)) - internal
    )


def graph_op(node, imp):
    """The GraphOp for node, its constant inputs baked in (all of them when folding)."""
    cls = GRAPH_OPS[node.op]
    check_attrs(node, imp, tuple(cls.ATTRS))
    _no_extra_outputs(node, imp, "extra outputs")
    constants, _ = split_inputs(node, imp)
    op = cls(node.attrs, constants, arity=len(node.inputs))
    why = op.problem()
    if why:
        imp.refuse(node, why)
    return op


def _no_extra_outputs(node, imp, what):
    extra = [o for o in node.outputs[1:] if imp.used(o)]
    if extra:
        imp.refuse(node, f"outputs {', '.join(extra)} ({what}) are not supported")


# ---- layers with weights --------------------------------------------------------------------


def gemm(node, imp):
    """Gemm (or a fused MatMul + Add) with constant B -> Linear; otherwise functional."""
    check_attrs(node, imp, ("alpha", "beta", "transA", "transB"))
    a, b, c = (node.inputs + ["", ""])[:3]
    B, C = imp.const_of(b), imp.const_of(c)
    at = node.attrs
    alpha, beta = at.get("alpha", 1.0), at.get("beta", 1.0)
    out = None if B is None else (B.shape[0] if at.get("transB", 0) else B.shape[1])
    bias_ok = c == "" or (C is not None and C.size in (1, out) and C.ndim <= 2)
    if B is None or B.ndim != 2 or at.get("transA", 0) or not bias_ok:
        return op_step(FunctionalGemm, node, imp)
    weight = B if at.get("transB", 0) else B.T
    layer = nn.Linear(weight.shape[1], weight.shape[0], bias=bool(c), dtype=float_dtype(weight))
    bias = np.broadcast_to(C.reshape(-1), (out,)) if c else None
    set_weights(
        layer,
        weight=weight * alpha if alpha != 1.0 else weight,
        bias=bias * beta if c and beta != 1.0 else bias,
    )
    return [(layer, [a], node.outputs[:1])]


def batch_norm(node, imp):
    check_attrs(node, imp, ("epsilon", "momentum", "training_mode"))
    if node.attrs.get("training_mode", 0):
        imp.refuse(node, "training_mode=1 is not supported; export the model in eval mode")
    _no_extra_outputs(node, imp, "running statistics of training mode")
    x, *rest = node.inputs
    eps = node.attrs.get("epsilon", 1e-5)
    consts = [imp.const_of(n) for n in rest]
    rank = len(imp.shape(x) or ())
    if any(v is None for v in consts) or rank not in (2, 3, 4):
        return op_step(FunctionalBatchNorm, node, imp, eps=eps)
    scale, bias, mean, var = consts
    layer_cls = nn.BatchNorm2d if rank == 4 else nn.BatchNorm1d
    momentum = 1.0 - node.attrs.get("momentum", 0.9)
    layer = layer_cls(scale.size, eps=eps, momentum=round(momentum, 7), dtype=float_dtype(scale))
    set_weights(layer, weight=scale, bias=bias)
    layer.running_mean[...] = mean
    layer.running_var[...] = var
    return [(layer.eval(), [x], node.outputs[:1])]


def layer_norm(node, imp):
    check_attrs(node, imp, ("axis", "epsilon", "stash_type"))
    x, scale_name, bias_name = (node.inputs + [""])[:3]
    axis, eps = node.attrs.get("axis", -1), node.attrs.get("epsilon", 1e-5)
    scale, bias = imp.const_of(scale_name), imp.const_of(bias_name)
    shape = imp.shape(x)
    normalized = None if shape is None else tuple(shape[axis % len(shape) :])
    fits = normalized is not None and None not in normalized and scale is not None
    outputs = 3 if any(imp.used(o) for o in node.outputs[1:]) else 1
    if (
        not fits
        or outputs > 1
        or scale.shape != normalized
        or (bias is not None and bias.shape != normalized)
    ):
        return op_step(FunctionalLayerNorm, node, imp, outputs, axis=axis, eps=eps, outputs=outputs)
    layer = nn.LayerNorm(normalized, eps=eps, bias=bias_name != "", dtype=float_dtype(scale))
    return [(set_weights(layer, weight=scale, bias=bias), [x], node.outputs[:1])]


def group_norm(node, imp):
    check_attrs(node, imp, ("epsilon", "num_groups", "stash_type"))
    x, scale_name, bias_name = node.inputs
    groups, eps = node.attrs["num_groups"], node.attrs.get("epsilon", 1e-5)
    scale, bias = imp.const_of(scale_name), imp.const_of(bias_name)
    channels = (imp.shape(x) or (None, None))[1]
    if scale is None or bias is None or channels is None:
        return op_step(FunctionalGroupNorm, node, imp, num_groups=groups, eps=eps)
    if scale.size != channels:  # opset 18: one scale per group
        scale, bias = np.repeat(scale, channels // groups), np.repeat(bias, channels // groups)
    layer = nn.GroupNorm(groups, channels, eps=eps, dtype=float_dtype(scale))
    return [(set_weights(layer, weight=scale, bias=bias), [x], node.outputs[:1])]


def flatten(node, imp):
    check_attrs(node, imp, ("axis",))
    if node.attrs.get("axis", 1) == 1:
        return [(nn.Flatten(), node.inputs, node.outputs)]
    return [(graph_op(node, imp), split_inputs(node, imp)[1], node.outputs)]


def dropout(node, imp):
    check_attrs(node, imp, ("seed",))
    _no_extra_outputs(node, imp, "the dropout mask")
    x, ratio, training = (node.inputs + ["", ""])[:3]
    if training and (imp.const_of(training) is None or bool(imp.const_of(training))):
        imp.refuse(node, "training_mode must be absent or a constant False (an inference graph)")
    p = 0.5 if not ratio else imp.const_of(ratio)
    if p is None:  # a ratio given at run time
        consts = {2: imp.const_of(training)} if len(node.inputs) > 2 else {}
        op = FunctionalDropout(node.attrs, consts, arity=len(node.inputs))
        return [(op, [x, ratio], node.outputs[:1])]
    return [(nn.Dropout(float(str(np.float32(p)))), [x], node.outputs[:1])]


def clip(node, imp):
    lo, hi = (imp.const_of(n) for n in (node.inputs + ["", ""])[1:3])
    if lo is not None and hi is not None and float(lo) == 0.0 and float(hi) == 6.0:
        return [(nn.ReLU6(), node.inputs[:1], node.outputs)]
    return [(graph_op(node, imp), split_inputs(node, imp)[1], node.outputs)]


def reduce_mean(node, imp):
    """ReduceMean over H and W of (N, C, H, W), keeping them: AdaptiveAvgPool2d(1)."""
    op = graph_op(node, imp)
    rank = len(imp.shape(node.inputs[0]) or ())
    axes = op.attrs.get("axes") if len(node.inputs) < 2 else imp.const_of(node.inputs[1])
    spatial = axes is not None and sorted(int(a) % rank for a in np.ravel(axes)) == [2, 3]
    if rank == 4 and spatial and op.attr("keepdims"):
        return [(nn.AdaptiveAvgPool2d(1), node.inputs[:1], node.outputs)]
    return [(op, split_inputs(node, imp)[1], node.outputs)]


LAYERS = {
    "Gemm": gemm,
    "BatchNormalization": batch_norm,
    "LayerNormalization": layer_norm,
    "GroupNormalization": group_norm,
    "Flatten": flatten,
    "Dropout": dropout,
    "Clip": clip,
    "ReduceMean": reduce_mean,
}
