"""Per-layer facts of a sequential model: output shape, parameters, multiply-adds, receptive field.

    rows, totals = summarize(lenet5(), (1, 28, 28))

The model runs once on one zero image (eval mode, no grad) and each leaf layer's call is
recorded (nn.recording), in the order the forward makes them (the receptive field follows that
order: exact for a chain of layers). Multiply-adds per image:

    conv            out_elements * (in_channels / groups) * kH * kW
    transposed conv in_elements * (out_channels / groups) * kH * kW
    linear          in_features * out_features

(activations, pooling, resizing and batch norm count 0, as torchinfo counts them). The
receptive field is the side of the input window one output value sees, per spatial axis:

    r_out = r_in + (taps - 1) * gap * j_in,   j_out = j_in * step        (r, j start at 1, 1)

where one output reads ``taps`` inputs ``gap`` apart, and neighbouring outputs' windows start
``step`` inputs apart: a conv or pool of kernel k, dilation d, stride s reads k taps d apart,
step s; a transposed conv, k // (s / g) or one more taps d / g apart (g = gcd(s, d)), step
1 / s (max_unpool alike, d = 1); resizing (Upsample) 1 tap (nearest), 2 (linear) or 4
(cubic) 1 apart, step n_in / n_out ((n_in - 1) / (n_out - 1) with align_corners), area
and adaptive pooling their widest window, step n_in / n_out. A jump may be a fraction of an
input pixel; the field shown is r rounded up. It is the window an output away from the
borders sees, exactly while every step is a whole number of inputs (conv, pool); after a
fractional step an upper bound (the outputs of a transposed conv with dilation, or of
windows of uneven width, may each see less). After a Flatten every value sees the whole
input.
"""

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from .. import nn
from ..autograd import Tensor, no_grad
from ..nn.recording import recording
from ..ops.geometry import as_tuple


@dataclass
class LayerRow:
    name: str
    kind: str
    output_shape: tuple
    params: int
    mult_adds: int
    receptive_field: tuple | None  # (rH, rW); None once the layer sees the whole input


@dataclass
class Totals:
    params: int
    trainable: int
    mult_adds: int
    input_shape: tuple
    output_shape: tuple


def leaf_layers(model):
    """(name, module) of every module without children, in registration order."""
    return [(n, m) for n, m in model.named_modules() if n and not any(True for _ in m.children())]


def summarize(model, input_shape):
    """(rows, totals) for one image of shape input_shape (C, H, W)."""
    was_training = model.training
    model.eval()
    x = Tensor(np.zeros((1, *input_shape), dtype=np.float32))
    rf, jump = (1, 1), (1, 1)
    rows = []
    try:
        with no_grad(), recording(model) as calls:
            out = model(x)
    finally:
        model.train(was_training)
    for call in calls:
        layer, x_in, x = call.module, call.args[0], call.result
        x = x[0] if isinstance(x, tuple) else x
        params = sum(p.data.size for p in layer.parameters())
        rf, jump = _receptive(layer, rf, jump, x_in.shape[2:], x.shape[2:])
        rows.append(
            LayerRow(
                call.path,
                type(layer).__name__,
                tuple(x.shape),
                int(params),
                _mult_adds(layer, x_in, x),
                None if rf is None else tuple(math.ceil(r) for r in rf),
            )
        )
    out = out[0] if isinstance(out, tuple) else out
    totals = Totals(
        params=int(sum(p.data.size for p in model.parameters())),
        trainable=int(sum(p.data.size for p in model.parameters() if p.requires_grad)),
        mult_adds=sum(r.mult_adds for r in rows),
        input_shape=(1, *input_shape),
        output_shape=tuple(out.shape),
    )
    return rows, totals


def _receptive(layer, rf, jump, in_size, out_size):
    """(rf, jump) after ``layer``, exact Fractions per axis (see the module docstring)."""
    if rf is None or isinstance(layer, nn.Flatten | nn.Linear):
        return None, jump
    reads = _reads(layer, in_size, out_size)
    if reads is None:  # the layer keeps the grid: activations, norms, dropout
        return rf, jump
    rf = tuple(r + (t - 1) * g * j for r, (t, g, _), j in zip(rf, reads, jump, strict=True))
    return rf, tuple(j * step for j, (_, _, step) in zip(jump, reads, strict=True))


def _reads(layer, in_size, out_size):
    """Per spatial axis (taps, gap, step): how many inputs one output reads, how many inputs
    apart, and how far apart neighbouring outputs' windows start; None for a layer that keeps
    the grid."""
    if isinstance(layer, nn.Conv2d | nn.MaxPool2d | nn.AvgPool2d | nn.MinPool2d):
        k = layer.weight.shape[2:] if isinstance(layer, nn.Conv2d) else _pair(layer.kernel_size)
        s = _pair(layer.stride if layer.stride is not None else k)
        d = _pair(getattr(layer, "dilation", 1))
        return tuple((kk, dd, Fraction(ss)) for kk, ss, dd in zip(k, s, d, strict=True))
    if isinstance(layer, nn.ConvTranspose2d | nn.MaxUnpool2d):
        k = layer.weight.shape[2:] if isinstance(layer, nn.ConvTranspose2d) else layer.kernel_size
        s, d = _pair(layer.stride), _pair(getattr(layer, "dilation", 1))
        return tuple(_transposed(kk, ss, dd) for kk, ss, dd in zip(k, s, d, strict=True))
    if isinstance(layer, nn.AdaptiveAvgPool2d | nn.AdaptiveMaxPool2d) or (
        isinstance(layer, nn.Upsample) and layer.mode == "area"
    ):
        sizes = zip(in_size, out_size, strict=True)
        return tuple((_widest(n, m), 1, Fraction(n, m)) for n, m in sizes)
    if isinstance(layer, nn.Upsample):
        taps = {"linear": 2, "bilinear": 2, "bicubic": 4}.get(layer.mode, 1)
        sizes = zip(in_size, out_size, strict=True)
        return tuple(_resized(n, m, taps, layer.align_corners) for n, m in sizes)
    return None


def _pair(v):
    return as_tuple(v, 2, "summary", "window")


def _transposed(k, s, d):
    """A transposed conv's output o reads x[i] where i*s + t*d = o + p, t < k: the t of one
    residue modulo s / g (g = gcd(s, d)), so ceil(k / (s / g)) inputs, d / g apart."""
    g = math.gcd(s, d)
    return -(-k // (s // g)), d // g, Fraction(1, s)


def _widest(n_in, n_out):
    """The widest of adaptive pooling's windows [floor(i*n/m), ceil((i+1)*n/m)), PyTorch's."""
    return max(-(-(i + 1) * n_in // n_out) - i * n_in // n_out for i in range(n_out))


def _resized(n_in, n_out, taps, align_corners):
    """(taps, 1, step) of a resize along one axis; the same size copies its input (1 tap)."""
    if n_in == n_out:
        return 1, 1, Fraction(1)
    if align_corners and n_out > 1:
        return taps, 1, Fraction(n_in - 1, n_out - 1)
    return taps, 1, Fraction(n_in, n_out)


def _mult_adds(layer, x_in, x_out):
    if isinstance(layer, nn.Conv2d):
        return int(x_out.data.size * int(np.prod(layer.weight.shape[1:])))
    if isinstance(layer, nn.ConvTranspose2d):  # weight (C_in, C_out / groups, kH, kW)
        return int(x_in.data.size * int(np.prod(layer.weight.shape[1:])))
    if isinstance(layer, nn.Linear):
        return int(
            layer.weight.shape[0] * layer.weight.shape[1] * (x_in.data.size // x_in.shape[-1])
        )
    return 0
