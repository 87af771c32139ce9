"""Each convscope layer as ONNX node(s): ``EMITTERS[type](builder, call) -> output name``
(windows, reshapes and resampling here; activations and normalisations in export_pointwise).

    Conv1d/2d            Conv (padding_mode != zeros: Pad reflect|edge|wrap, then Conv)
    ConvTranspose1d/2d   ConvTranspose (pads, output_padding)
    MaxPool, AvgPool     MaxPool / AveragePool (ceil_mode, count_include_pad, dilations)
    MinPool              Neg, MaxPool, Neg                         (min = -max(-x))
    AdaptiveAvg/MaxPool  GlobalAveragePool/GlobalMaxPool for 1x1, a pool for whole windows
    Linear               Gemm (2-D input) or MatMul + Add
    BatchNorm, LayerNorm, GroupNorm   BatchNormalization (eval), LayerNormalization (17+),
                         GroupNormalization (21+)
    ReLU, ReLU6, LeakyReLU, ELU, GELU (20+), Sigmoid, Tanh, SiLU (Sigmoid, Mul), Softplus,
    Softmax, LogSoftmax, Dropout/Dropout2d (Dropout: identity in inference), Flatten/Unflatten
    (Flatten or Reshape), ZeroPad2d (Pad), Upsample (Resize nearest, linear or cubic), Identity
    GraphOps of a loaded ONNX model: their own node again.

A layer whose settings ONNX cannot express (adaptive windows of unequal size, a BatchNorm
without running statistics, an op newer than the opset) is refused with a sentence.
"""

import numpy as np

from .. import nn
from ..ops.geometry import resolve_pads
from ..ops.resample import CUBIC_A
from .export_pointwise import activation, batch_norm, dropout, group_norm, layer_norm
from .graph_ops import GraphOp
from .nodes import LAYER_KEY


def _ints(value, n):
    return [int(v) for v in (value if isinstance(value, tuple | list) else (value,) * n)]


def _pads(pairs):
    return [lo for lo, _ in pairs] + [hi for _, hi in pairs]


def conv(b, call):
    m, x = call.module, b.value(call.args[0])
    n = m.nsp
    pairs = resolve_pads(call.path, m.padding, m.kernel_size, m.stride, m.dilation)
    if m.padding_mode != "zeros":
        mode = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}[m.padding_mode]
        if mode == "wrap" and b.opset < 19:
            b.refuse(call, "padding_mode='circular' needs opset 19 or later (ONNX Pad mode 'wrap')")
        pads = np.array([0, 0, *_pads(pairs)[:n], 0, 0, *_pads(pairs)[n:]], np.int64)
        x = b.node("Pad", [x, b.const(pads, f"{call.path}.pads")], call.path, mode=mode)
        pairs = [(0, 0)] * n
    return b.node(
        "Conv",
        _weighted(b, call, x),
        call.path,
        kernel_shape=list(m.kernel_size),
        strides=list(m.stride),
        pads=_pads(pairs),
        dilations=list(m.dilation),
        group=m.groups,
    )


def conv_transpose(b, call):
    m = call.module
    return b.node(
        "ConvTranspose",
        _weighted(b, call, b.value(call.args[0])),
        call.path,
        kernel_shape=list(m.kernel_size),
        strides=list(m.stride),
        pads=_pads([(p, p) for p in m.padding]),
        output_padding=list(m.output_padding),
        dilations=list(m.dilation),
        group=m.groups,
    )


def _weighted(b, call, x):
    """[x, weight, bias] (bias left out when the layer has none)."""
    bias = [b.param(call, "bias")] if call.module.bias is not None else []
    return [x, b.param(call, "weight"), *bias]


def pool(b, call):
    m, x = call.module, b.value(call.args[0])
    n = len(call.args[0].shape) - 2
    k, s, p = (_ints(v, n) for v in (m.kernel_size, m.stride, m.padding))
    attrs = dict(kernel_shape=k, strides=s, pads=p + p, ceil_mode=int(m.ceil_mode))
    if getattr(m, "return_indices", False):
        b.refuse(call, "return_indices=True: export the pooling without its indices")
    if getattr(m, "divisor_override", None) is not None:
        b.refuse(call, "divisor_override: ONNX's AveragePool divides by the window's count")
    dilation = _ints(getattr(m, "dilation", 1), n)
    if dilation != [1] * n:
        attrs["dilations"] = dilation
    if isinstance(m, nn.AvgPool1d | nn.AvgPool2d):
        return b.node(
            "AveragePool", [x], call.path, count_include_pad=int(m.count_include_pad), **attrs
        )
    if isinstance(m, nn.MinPool1d | nn.MinPool2d):
        x = b.node("Neg", [x], call.path)
        return b.node("Neg", [b.node("MaxPool", [x], call.path, **attrs)], call.path)
    return b.node("MaxPool", [x], call.path, **attrs)


def adaptive_pool(b, call):
    m, x = call.module, b.value(call.args[0])
    size = call.args[0].shape[2:]
    out = m.output_size if isinstance(m.output_size, tuple | list) else (m.output_size,) * 2
    out = [n if o is None else o for o, n in zip(out, size, strict=True)]
    is_avg = isinstance(m, nn.AdaptiveAvgPool2d) and not isinstance(m, nn.AdaptiveMaxPool2d)
    if out == [1, 1]:
        return b.node("GlobalAveragePool" if is_avg else "GlobalMaxPool", [x], call.path)
    if any(n % o for n, o in zip(size, out, strict=True)):
        b.refuse(
            call,
            f"output_size {tuple(out)} does not divide the input {tuple(size)}: its windows"
            f" differ in size and no ONNX pool has such windows; use an output size that"
            f" divides the input (or 1)",
        )
    k = [n // o for n, o in zip(size, out, strict=True)]
    y = b.node("AveragePool" if is_avg else "MaxPool", [x], call.path, kernel_shape=k, strides=k)
    b.nodes[-1].metadata_props.add(key=LAYER_KEY, value=type(m).__name__)  # loads back as it was
    return y


def linear(b, call):
    m, x = call.module, b.value(call.args[0])
    weight = b.param(call, "weight")
    bias = [b.param(call, "bias")] if m.bias is not None else []
    if len(call.args[0].shape) == 2:
        return b.node("Gemm", [x, weight, *bias], call.path, transB=1)
    y = b.node("MatMul", [x, b.node("Transpose", [weight], call.path, perm=[1, 0])], call.path)
    return b.node("Add", [y, *bias], call.path) if bias else y


def reshape(b, call):
    m, arg = call.module, call.args[0]
    if isinstance(m, nn.Flatten) and m.start_dim == 1 and m.end_dim in (-1, len(arg.shape) - 1):
        return b.node("Flatten", [b.value(arg)], call.path, axis=1)
    return b.reshape(b.value(arg), arg.shape, call.result.shape, call.path)


def zero_pad(b, call):
    left, right, top, bottom = call.module.padding
    rank = len(call.args[0].shape)
    lo, hi = [0] * rank, [0] * rank
    lo[-1], hi[-1], lo[-2], hi[-2] = left, right, top, bottom
    pads = b.const(np.array(lo + hi, np.int64), f"{call.path}.pads")
    return b.node("Pad", [b.value(call.args[0]), pads], call.path, mode="constant")


def upsample(b, call):
    """Resize: nearest as PyTorch's (asymmetric, floor), nearest-exact (half_pixel, round half
    up), linear and cubic as PyTorch's (half_pixel: the same source positions for every size,
    clamped at the edges; or align_corners, given the output sizes); mode='area' is refused."""
    m, arg = call.module, call.args[0]
    n = len(arg.shape) - 2
    empty = ""
    if m.mode == "area":
        b.refuse(call, "mode='area' is adaptive average pooling: use nn.AdaptiveAvgPool2d")
    if m.mode == "nearest":
        attrs = {"mode": "nearest", "coordinate_transformation_mode": "asymmetric",
                 "nearest_mode": "floor"}  # fmt: skip
    elif m.mode == "nearest-exact":  # floor((x + 0.5) / scale) = round half up of half_pixel's
        attrs = {"mode": "nearest", "coordinate_transformation_mode": "half_pixel",
                 "nearest_mode": "round_prefer_ceil"}  # fmt: skip
    else:
        ctm = "align_corners" if m.align_corners else "half_pixel"
        attrs = {"mode": "linear", "coordinate_transformation_mode": ctm}
        if m.mode == "bicubic":  # PyTorch's kernel: a = -0.75, the outside pixels clamped in
            attrs |= {"mode": "cubic", "cubic_coeff_a": CUBIC_A, "exclude_outside": 0}
    by_scale = m.scale_factor is not None and not m.recompute_scale_factor
    if by_scale and not (m.mode != "nearest" and m.align_corners):  # ONNX's align_corners
        scales = np.array([1, 1, *_floats(m.scale_factor, n)], np.float32)  # divides by n*s - 1
        inputs = [b.value(arg), empty, b.const(scales, f"{call.path}.scales")]
        return b.node("Resize", inputs, call.path, **attrs)
    if b.opset < 18:
        b.refuse(call, "Upsample(size=...) needs opset 18 or later (Resize with axes)")
    sizes = np.array(call.result.shape[2:], np.int64)
    inputs = [b.value(arg), empty, empty, b.const(sizes, f"{call.path}.sizes")]
    return b.node("Resize", inputs, call.path, axes=list(range(2, 2 + n)), **attrs)


def _floats(value, n):
    return [float(v) for v in (value if isinstance(value, tuple | list) else (value,) * n)]


def graph_op(b, call):
    """A GraphOp of a loaded model: the node it came from, its constants as initializers."""
    m = call.module
    runtime = iter(call.args)
    inputs = []
    for i in range(m.arity):
        if i in m.constants:
            v = m.constants[i]
            inputs.append("" if v is None else b.const(v, f"{call.path}.input{i}"))
        else:
            inputs.append(b.value(next(runtime)))
    while inputs and inputs[-1] == "":
        inputs.pop()
    return b.node(m.op_type, inputs, call.path, **m.attrs)


EMITTERS = {
    nn.Conv1d: conv,
    nn.Conv2d: conv,
    nn.ConvTranspose1d: conv_transpose,
    nn.ConvTranspose2d: conv_transpose,
    **dict.fromkeys((nn.MaxPool1d, nn.MaxPool2d, nn.AvgPool1d, nn.AvgPool2d), pool),
    **dict.fromkeys((nn.MinPool1d, nn.MinPool2d), pool),
    nn.AdaptiveAvgPool2d: adaptive_pool,
    nn.AdaptiveMaxPool2d: adaptive_pool,
    nn.Linear: linear,
    nn.BatchNorm1d: batch_norm,
    nn.BatchNorm2d: batch_norm,
    nn.LayerNorm: layer_norm,
    nn.GroupNorm: group_norm,
    **dict.fromkeys(
        (
            nn.ReLU,
            nn.ReLU6,
            nn.SiLU,
            nn.LeakyReLU,
            nn.ELU,
            nn.GELU,
            nn.Sigmoid,
            nn.Tanh,
            nn.Softplus,
            nn.Softmax,
            nn.LogSoftmax,
            nn.Identity,
        ),
        activation,
    ),
    nn.Dropout: dropout,
    nn.Dropout2d: dropout,
    nn.Flatten: reshape,
    nn.Unflatten: reshape,
    nn.ZeroPad2d: zero_pad,
    nn.Upsample: upsample,
}


def is_convscope_layer(module):
    """A layer of convscope.nn (containers aside): exported by its emitter, or refused."""
    containers = (nn.Sequential, nn.ModuleList, nn.ModuleDict)
    return type(module).__module__.startswith("convscope.nn.") and not isinstance(
        module, containers
    )


def emitter_for(module):
    """The emitter of a module, None for modules the export looks through (containers, ...)."""
    if isinstance(module, GraphOp):
        return graph_op
    return EMITTERS.get(type(module))
