"""Emitters of the layers that work per element or per normalisation group: activations,
Dropout, BatchNorm (eval), LayerNorm and GroupNorm (see export_layers for the table).

    ReLU6 -> Clip(0, 6)    SiLU -> x * Sigmoid(x)    Softplus(beta) -> Softplus(beta x) / beta
    GELU -> Gelu (opset 20+)    LayerNorm -> LayerNormalization (17+)
    GroupNorm -> GroupNormalization (21+: a scale per channel)    Dropout -> Dropout (ratio)
"""

import numpy as np

from .. import nn


def batch_norm(b, call):
    m = call.module
    if m.running_mean is None:
        b.refuse(
            call, "track_running_stats=False: ONNX BatchNormalization needs running statistics"
        )
    c = m.num_features
    inputs = [
        b.value(call.args[0]),
        b.param_or(call, "weight", np.ones(c)),
        b.param_or(call, "bias", np.zeros(c)),
        b.param(call, "running_mean"),
        b.param(call, "running_var"),
    ]
    momentum = None if m.momentum is None else 1.0 - m.momentum
    return b.node("BatchNormalization", inputs, call.path, epsilon=m.eps, momentum=momentum)


def layer_norm(b, call):
    m = call.module
    if b.opset < 17:
        b.refuse(call, "needs opset 17 or later (ONNX LayerNormalization)")
    shape = m.normalized_shape
    inputs = [b.value(call.args[0]), b.param_or(call, "weight", np.ones(shape))]
    inputs += [b.param(call, "bias")] if m.bias is not None else []
    return b.node("LayerNormalization", inputs, call.path, axis=-len(shape), epsilon=m.eps)


def group_norm(b, call):
    m = call.module
    if b.opset < 21:
        b.refuse(call, "needs opset 21 or later (ONNX GroupNormalization with a scale per channel)")
    c = m.num_channels
    scale, bias = b.param_or(call, "weight", np.ones(c)), b.param_or(call, "bias", np.zeros(c))
    inputs = [b.value(call.args[0]), scale, bias]
    return b.node("GroupNormalization", inputs, call.path, num_groups=m.num_groups, epsilon=m.eps)


def activation(b, call):
    m, x = call.module, b.value(call.args[0])
    if isinstance(m, nn.ReLU6):
        lo, hi = (b.const(np.float32(v), f"{call.path}.{k}") for k, v in (("min", 0), ("max", 6)))
        return b.node("Clip", [x, lo, hi], call.path)
    if isinstance(m, nn.SiLU):
        return b.node("Mul", [x, b.node("Sigmoid", [x], call.path)], call.path)
    if isinstance(m, nn.ReLU):
        return b.node("Relu", [x], call.path)
    if isinstance(m, nn.GELU):
        if b.opset < 20:
            b.refuse(call, "needs opset 20 or later (ONNX Gelu)")
        return b.node("Gelu", [x], call.path, approximate=m.approximate)
    if isinstance(m, nn.Softplus):
        if m.beta == 1:
            return b.node("Softplus", [x], call.path)
        beta = b.const(np.float32(m.beta), f"{call.path}.beta")
        y = b.node("Softplus", [b.node("Mul", [x, beta], call.path)], call.path)
        return b.node("Div", [y, beta], call.path)
    if isinstance(m, nn.Softmax | nn.LogSoftmax):
        op = "LogSoftmax" if isinstance(m, nn.LogSoftmax) else "Softmax"
        return b.node(op, [x], call.path, axis=m._dim(call.args[0]))
    attrs = {nn.LeakyReLU: ("LeakyRelu", "negative_slope"), nn.ELU: ("Elu", "alpha")}
    for cls, (op, name) in attrs.items():
        if isinstance(m, cls):
            return b.node(op, [x], call.path, alpha=float(getattr(m, name)))
    op = {nn.Sigmoid: "Sigmoid", nn.Tanh: "Tanh", nn.Identity: "Identity"}[type(m)]
    return b.node(op, [x], call.path)


def dropout(b, call):
    ratio = b.const(np.float32(call.module.p), f"{call.path}.ratio")
    return b.node("Dropout", [b.value(call.args[0]), ratio], call.path)
