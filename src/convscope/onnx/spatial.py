"""Converters of the ops with windows: Conv, ConvTranspose, MaxPool, AveragePool, the global pools,
Pad and nearest Resize (ONNX attributes -> PyTorch's arguments).

ONNX pads are [begin_1, ..., begin_n, end_1, ..., end_n]; PyTorch's layers pad both ends alike.
The symmetric part goes into the layer, the rest into a Pad before it (Conv, MaxPool) or a crop
after it (ConvTranspose). auto_pad=SAME_* is resolved from the input's static size.
"""

import math

import numpy as np

from .. import nn
from .functional_ops import (
    FunctionalConv,
    FunctionalConvTranspose,
    Pad,
    onnx_pads_to_torch,
)
from .nodes import GRAPH_OPS, check_attrs, float_dtype, op_step, set_weights, split_inputs
from .resize import resize

CONV_ATTRS = ("auto_pad", "dilations", "group", "kernel_shape", "pads", "strides")
POOL_ATTRS = (
    "auto_pad",
    "ceil_mode",
    "dilations",
    "kernel_shape",
    "pads",
    "storage_order",
    "strides",
)
TORCH_MODES = {"reflect": "reflect", "edge": "replicate", "wrap": "circular"}


def _spatial_rank(node, imp, kernel, allowed=(1, 2)):
    n = len(kernel)
    if n not in allowed:
        imp.refuse(
            node,
            f"a {n}-D window (kernel_shape={list(kernel)}); convscope has 1-D and 2-D layers only",
        )
    return n


def resolve_pads(node, imp, x, kernel, strides, dilations):
    """(begin, end) pads per spatial axis, auto_pad resolved from the static input size."""
    n = len(kernel)
    auto = node.attrs.get("auto_pad", "NOTSET")
    if auto in ("NOTSET", ""):
        pads = list(node.attrs.get("pads", [0] * 2 * n))
        return pads[:n], pads[n:]
    if auto == "VALID":
        return [0] * n, [0] * n
    sizes = (imp.shape(x) or (None,) * (n + 2))[2:]
    if None in sizes or len(sizes) != n:
        imp.refuse(node, f"auto_pad={auto!r} needs the input's spatial size, which is not static")
    begin, end = [], []
    for size, k, s, d in zip(sizes, kernel, strides, dilations, strict=True):
        total = max((math.ceil(size / s) - 1) * s + (k - 1) * d + 1 - size, 0)
        small, big = total // 2, total - total // 2
        begin.append(small if auto == "SAME_UPPER" else big)
        end.append(big if auto == "SAME_UPPER" else small)
    return begin, end


def _split(begin, end):
    """Symmetric padding per axis and the (extra_begin, extra_end) left over."""
    sym = [min(b, e) for b, e in zip(begin, end, strict=True)]
    return sym, [(b - p, e - p) for b, e, p in zip(begin, end, sym, strict=True)]


def _pad_op(extra, value=0.0):
    """A Pad GraphOp for the leftover (begin, end) of each spatial axis."""
    n = len(extra)
    pads = [b for b, _ in extra] + [e for _, e in extra]
    return Pad(
        {"mode": "constant"},
        {1: np.array([0, 0, *pads[:n], 0, 0, *pads[n:]]), 2: np.array(value, np.float32)},
        arity=3,
    )


class _Window:
    """What Conv and ConvTranspose share: inputs, constant weights, kernel, strides, dilations."""

    def __init__(self, node, imp, allowed):
        check_attrs(node, imp, allowed)
        self.x, w, b = (node.inputs + [""])[:3]
        self.W, self.B = imp.const_of(w), imp.const_of(b)
        kernel = node.attrs.get("kernel_shape")
        if kernel is None:
            kernel = self.W.shape[2:] if self.W is not None else (imp.shape(w) or (0, 0))[2:]
        self.kernel, n = kernel, _spatial_rank(node, imp, kernel)
        self.n, self.group = n, node.attrs.get("group", 1)
        self.strides = tuple(node.attrs.get("strides", [1] * n))
        self.dilations = tuple(node.attrs.get("dilations", [1] * n))
        self.functional = self.W is None or (b != "" and self.B is None)  # weights at run time

    def layer(self, cls, in_channels, out_channels, **kw):
        W = self.W
        layer = cls(
            in_channels,
            out_channels,
            tuple(W.shape[2:]),
            bias=self.B is not None,
            dtype=float_dtype(W),
            **kw,
        )
        return set_weights(layer, weight=W, bias=self.B)


def conv(node, imp):
    win = _Window(node, imp, CONV_ATTRS)
    begin, end = resolve_pads(node, imp, win.x, win.kernel, win.strides, win.dilations)
    sym, extra = _split(begin, end)
    kw = dict(stride=win.strides, padding=tuple(sym), dilation=win.dilations, groups=win.group)
    if win.functional:
        n = win.n
        pre = onnx_pads_to_torch(
            [e[0] for e in extra] + [e[1] for e in extra], range(2, 2 + n), 2 + n
        )
        return op_step(FunctionalConv, node, imp, pre_pad=pre, **kw)
    mode = TORCH_MODES.get(node.attrs.get("_padding_mode"), "zeros")
    cls = nn.Conv2d if win.n == 2 else nn.Conv1d
    layer = win.layer(cls, win.W.shape[1] * win.group, win.W.shape[0], padding_mode=mode, **kw)
    if all(e == (0, 0) for e in extra):
        return [(layer, [win.x], node.outputs)]
    padded = win.x + "/pad"
    return [(_pad_op(extra), [win.x], [padded]), (layer, [padded], node.outputs)]


def conv_transpose(node, imp):
    win = _Window(node, imp, (*CONV_ATTRS, "output_padding", "output_shape"))
    n = win.n
    out_pad = list(node.attrs.get("output_padding", [0] * n))
    begin, end = _transpose_pads(node, imp, win.x, win.kernel, win.strides, win.dilations, out_pad)
    for i in range(n):  # a negative end pad is extra output at the end: output_padding
        if end[i] < 0:
            out_pad[i], end[i] = out_pad[i] - end[i], 0
    if min(begin) < 0:
        imp.refuse(node, f"pads begin at {begin}: a negative begin pad is not supported")
    sym, crop = _split(begin, end)
    kw = dict(
        stride=win.strides,
        padding=tuple(sym),
        output_padding=tuple(out_pad),
        dilation=win.dilations,
        groups=win.group,
    )
    if win.functional:
        return op_step(FunctionalConvTranspose, node, imp, crop=crop, **kw)
    cls = nn.ConvTranspose2d if n == 2 else nn.ConvTranspose1d
    layer = win.layer(cls, win.W.shape[0], win.W.shape[1] * win.group, **kw)
    if all(c == (0, 0) for c in crop):
        return [(layer, [win.x], node.outputs)]
    begins, ends = [c[0] for c in crop], [-c[1] if c[1] else np.iinfo(np.int64).max for c in crop]
    slicer = GRAPH_OPS["Slice"](
        {}, {1: np.array(begins), 2: np.array(ends), 3: np.arange(2, 2 + n)}, arity=4
    )
    full = win.x + "/full"
    return [(layer, [win.x], [full]), (slicer, [full], node.outputs)]


def _transpose_pads(node, imp, x, kernel, strides, dilations, out_pad):
    n = len(kernel)
    auto = node.attrs.get("auto_pad", "NOTSET")
    shape = node.attrs.get("output_shape")
    if shape is None and auto in ("NOTSET", "", "VALID"):
        pads = list(node.attrs.get("pads", [0] * 2 * n)) if auto != "VALID" else [0] * 2 * n
        return pads[:n], pads[n:]
    sizes = (imp.shape(x) or (None,) * (n + 2))[2:]
    if None in sizes or len(sizes) != n:
        imp.refuse(
            node, "output_shape / auto_pad need the input's spatial size, which is not static"
        )
    targets = (
        list(shape)[-n:]
        if shape is not None
        else [s * st for s, st in zip(sizes, strides, strict=True)]
    )
    begin, end = [], []
    for size, k, s, d, op, out in zip(
        sizes, kernel, strides, dilations, out_pad, targets, strict=True
    ):
        total = s * (size - 1) + op + (k - 1) * d + 1 - out
        if auto == "SAME_UPPER":
            begin.append(total // 2), end.append(total - total // 2)
        else:
            begin.append(total - total // 2), end.append(total // 2)
    return begin, end


def pool(node, imp):
    kind = "avg" if node.op == "AveragePool" else "max"
    check_attrs(node, imp, (*POOL_ATTRS, "count_include_pad") if kind == "avg" else POOL_ATTRS)
    extra = [o for o in node.outputs[1:] if imp.used(o)]
    if extra:
        imp.refuse(node, f"output {extra[0]} (the argmax indices) is not supported")
    kernel = node.attrs["kernel_shape"]
    n = _spatial_rank(node, imp, kernel)
    strides = node.attrs.get("strides", [1] * n)
    dilations = node.attrs.get("dilations", [1] * n)
    if any(d != 1 for d in dilations):
        imp.refuse(node, f"dilations={list(dilations)}: convscope's pooling has no dilation")
    begin, end = resolve_pads(node, imp, node.inputs[0], kernel, strides, dilations)
    ceil = bool(node.attrs.get("ceil_mode", 0))
    include = bool(node.attrs.get("count_include_pad", 0))
    fits = begin == end and all(2 * p <= k for p, k in zip(begin, kernel, strict=True))
    sym, extra = (begin, [(0, 0)] * n) if fits else ([0] * n, list(zip(begin, end, strict=True)))
    if not fits and (ceil or (kind == "avg" and not include)):
        imp.refuse(
            node,
            f"pads={list(begin) + list(end)} (asymmetric, or more than half of kernel"
            f" {list(kernel)}) with {'ceil_mode=1' if ceil else 'count_include_pad=0'}: convscope,"
            f" like PyTorch, pads both ends alike by at most half the window",
        )
    x = node.inputs[0]
    adaptive = _adaptive(node, imp, kernel, strides, begin + end, ceil)
    if adaptive is not None:
        return [(adaptive, [x], node.outputs[:1])]
    layer = _pool_layer(node.op, n, kernel, strides, sym, ceil, include)
    if fits:
        return [(layer, [x], node.outputs[:1])]
    pad = _pad_op(extra, value={"MaxPool": -np.inf, "MinPool": np.inf}.get(node.op, 0.0))
    return [(pad, [x], [x + "/pad"]), (layer, [x + "/pad"], node.outputs[:1])]


def _adaptive(node, imp, kernel, strides, pads, ceil):
    """AdaptiveAvg/MaxPool2d for a whole-window pool convscope's exporter wrote for one."""
    kind = {"AdaptiveAvgPool2d": nn.AdaptiveAvgPool2d, "AdaptiveMaxPool2d": nn.AdaptiveMaxPool2d}
    sizes = (imp.shape(node.inputs[0]) or ())[2:]
    if node.attrs.get("_layer") not in kind or len(sizes) != 2 or None in sizes:
        return None
    if (
        any(pads)
        or ceil
        or list(kernel) != list(strides)
        or any(n % k for n, k in zip(sizes, kernel, strict=True))
    ):
        return None
    return kind[node.attrs["_layer"]](tuple(n // k for n, k in zip(sizes, kernel, strict=True)))


def _pool_layer(op, n, kernel, strides, padding, ceil, include):
    k, s, p = (tuple(v) if n == 2 else v[0] for v in (kernel, strides, padding))
    if op == "AveragePool":
        cls = nn.AvgPool2d if n == 2 else nn.AvgPool1d
        return cls(k, s, p, ceil_mode=ceil, count_include_pad=include)
    cls = {"MaxPool": (nn.MaxPool1d, nn.MaxPool2d), "MinPool": (nn.MinPool1d, nn.MinPool2d)}[op]
    return cls[n - 1](k, s, p, ceil_mode=ceil)


def global_pool(node, imp):
    check_attrs(node, imp, ())
    if len(imp.shape(node.inputs[0]) or ()) == 4:
        cls = nn.AdaptiveAvgPool2d if node.op == "GlobalAveragePool" else nn.AdaptiveMaxPool2d
        return [(cls(1), node.inputs, node.outputs)]
    return op_step(GRAPH_OPS[node.op], node, imp)


def pad(node, imp):
    check_attrs(node, imp, ("mode",))
    mode = node.attrs.get("mode", "constant")
    if mode not in ("constant", *TORCH_MODES):
        imp.refuse(node, f"mode={mode!r}; supported: constant, reflect, edge, wrap")
    consts, _ = split_inputs(node, imp)
    zero_pad = _as_zero_pad(mode, consts, len(imp.shape(node.inputs[0]) or ()))
    if zero_pad is not None:
        return [(zero_pad, node.inputs[:1], node.outputs)]
    return op_step(Pad, node, imp)


def _as_zero_pad(mode, consts, rank):
    """nn.ZeroPad2d for a constant zero Pad of a 4-D input's last two axes, else None."""
    pads, value, axes = (consts.get(i) for i in (1, 2, 3))
    if mode != "constant" or pads is None or rank != 4 or 3 in consts and axes is not None:
        return None
    if value is not None and float(np.asarray(value).reshape(-1)[0]) != 0.0:
        return None
    p = [int(v) for v in pads.reshape(-1)]
    if len(p) != 8 or any(p[:2]) or any(p[4:6]):
        return None
    top, left, bottom, right = p[2], p[3], p[6], p[7]
    return nn.ZeroPad2d((left, right, top, bottom))


CONVERTERS = {
    "Conv": conv,
    "ConvTranspose": conv_transpose,
    "MaxPool": pool,
    "AveragePool": pool,
    "MinPool": pool,
    "GlobalAveragePool": global_pool,
    "GlobalMaxPool": global_pool,
    "Pad": pad,
    "Resize": resize,
}
