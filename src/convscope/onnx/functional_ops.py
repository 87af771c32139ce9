"""ONNX nodes computed by convscope's functional ops (``convscope.nn.functional``) when they cannot
be a layer: Pad, and Conv / ConvTranspose / Gemm / BatchNormalization /
LayerNormalization / GroupNormalization whose weights arrive at run time (graph inputs).

Each keeps the node's ONNX attributes (to export it again) and the F arguments derived from them
by the converter (``kwargs``), so forward and backward are convscope's.
"""

import numpy as np

from ..nn import functional as F
from .graph_ops import GraphOp, array_of, ints, is_tensor

PAD_MODES = {"constant": "constant", "reflect": "reflect", "edge": "replicate", "wrap": "circular"}


class FunctionalOp(GraphOp):
    """A GraphOp whose computation takes the keyword arguments the converter derived."""

    def __init__(self, attrs=None, constants=None, arity=1, **kwargs):
        super().__init__(attrs, constants, arity)
        self.kwargs = kwargs

    def extra_repr(self):
        return ", ".join(f"{k}={v!r}" for k, v in self.kwargs.items())


def onnx_pads_to_torch(pads, axes, ndim):
    """ONNX [b_axis..., e_axis...] over ``axes`` -> F.pad's (last_lo, last_hi, ...) for every axis."""
    n = len(axes)
    per_axis = {a % ndim: (b, e) for a, b, e in zip(axes, pads[:n], pads[n:], strict=True)}
    first = min(per_axis, default=ndim)
    return tuple(v for a in range(ndim - 1, first - 1, -1) for v in per_axis.get(a, (0, 0)))


class Pad(FunctionalOp):
    """F.pad with ONNX's pads: constant (value), reflect, edge (replicate) or wrap (circular)."""

    op_type, ATTRS = "Pad", {"mode": "constant"}

    def compute(self, x, pads, value=None, axes=None):
        ndim = len(x.shape)
        axes = list(range(ndim)) if axes is None else ints(axes)
        torch_pads = onnx_pads_to_torch(ints(pads), axes, ndim)
        value = 0.0 if value is None else float(np.asarray(value).reshape(-1)[0])
        y = F.pad(x, torch_pads, mode=PAD_MODES[self.attr("mode")], value=value)
        return y if is_tensor(x) else y.data


class FunctionalConv(FunctionalOp):
    """F.conv1d/2d with run-time weights; ``pre_pad`` zero-pads the asymmetric part of pads."""

    op_type = "Conv"

    def compute(self, x, w, b=None):
        kw = dict(self.kwargs)
        pre = kw.pop("pre_pad")
        if any(pre):
            x = F.pad(x, pre)
        conv = F.conv2d if len(w.shape) == 4 else F.conv1d
        return conv(x, w, b, **kw)


class FunctionalConvTranspose(FunctionalOp):
    """F.conv_transpose1d/2d with run-time weights; ``crop`` trims asymmetric pads afterwards."""

    op_type = "ConvTranspose"

    def compute(self, x, w, b=None):
        kw = dict(self.kwargs)
        crop = kw.pop("crop")
        conv = F.conv_transpose2d if len(w.shape) == 4 else F.conv_transpose1d
        return crop_spatial(conv(x, w, b, **kw), crop)


def crop_spatial(y, crop):
    """Drop crop[k] = (lo, hi) samples at the ends of spatial axis k."""
    if not any(lo or hi for lo, hi in crop):
        return y
    index = [slice(None), slice(None)]
    index += [slice(lo, n - hi) for (lo, hi), n in zip(crop, y.shape[2:], strict=True)]
    return y[tuple(index)]


class FunctionalGemm(FunctionalOp):
    """y = alpha * A' @ B' + beta * C (A' = A.T if transA, B' = B.T if transB)."""

    op_type = "Gemm"
    ATTRS = {"alpha": 1.0, "beta": 1.0, "transA": 0, "transB": 0}

    def compute(self, a, b, c=None):
        a = a.T if self.attr("transA") else a
        b = b.T if self.attr("transB") else b
        y = a @ b
        if self.attr("alpha") != 1.0:
            y = y * self.attr("alpha")
        if c is None:
            return y
        return y + (c * self.attr("beta") if self.attr("beta") != 1.0 else c)


class FunctionalBatchNorm(FunctionalOp):
    """F.batch_norm in evaluation: (x - mean) / sqrt(var + eps) * scale + bias per channel."""

    op_type = "BatchNormalization"

    def compute(self, x, scale, bias, mean, var):
        return F.batch_norm(
            x, array_of(mean), array_of(var), scale, bias, training=False, eps=self.kwargs["eps"]
        )


class FunctionalLayerNorm(FunctionalOp):
    """F.layer_norm over the axes from ``axis`` on; a scale/bias of another (broadcastable)
    shape is applied after the normalisation. ``outputs`` = 3 adds Mean and InvStdDev
    (1 / sqrt(var + eps)) over those axes, kept as size-1 axes."""

    op_type = "LayerNormalization"

    def compute(self, x, scale, bias=None):
        axis = self.kwargs["axis"] % len(x.shape)
        shape, eps = tuple(x.shape[axis:]), self.kwargs["eps"]
        if tuple(scale.shape) == shape and (bias is None or tuple(bias.shape) == shape):
            y = F.layer_norm(x, shape, scale, bias, eps)
        else:
            y = F.layer_norm(x, shape, None, None, eps) * scale
            y = y if bias is None else y + bias
        if self.kwargs.get("outputs", 1) == 1:
            return y
        axes = tuple(range(axis, len(x.shape)))
        mean = x.mean(axis=axes, keepdims=True)
        centred = x - mean
        inv_std = 1.0 / ((centred * centred).mean(axis=axes, keepdims=True) + eps).sqrt()
        return y, mean, inv_std


class FunctionalDropout(FunctionalOp):
    """F.dropout with the ratio given at run time (identity in eval mode, as ONNX inference)."""

    op_type = "Dropout"

    def compute(self, x, ratio=None, training_mode=None):
        from ..nn import init

        p = 0.5 if ratio is None else float(array_of(ratio).reshape(-1)[0])
        return F.dropout(x, p, training=self.training, rng=init.default_generator())


class FunctionalGroupNorm(FunctionalOp):
    """F.group_norm; opset 18's per-group scale and bias are repeated to per channel."""

    op_type = "GroupNormalization"

    def compute(self, x, scale, bias):
        groups, channels = self.kwargs["num_groups"], x.shape[1]
        if scale.shape[0] != channels:
            scale, bias = (_repeat(v, channels // groups) for v in (scale, bias))
        return F.group_norm(x, groups, scale, bias, self.kwargs["eps"])


def _repeat(value, times):
    if is_tensor(value):
        return value.reshape((-1, 1)).expand((-1, times)).reshape((-1,))
    return np.repeat(np.asarray(value), times)
