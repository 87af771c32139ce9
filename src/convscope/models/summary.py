"""Per-layer facts of a sequential model: output shape, parameters, multiply-adds, receptive field.

    rows, totals = summarize(lenet5(), (1, 28, 28))

The model runs once on one zero image (eval mode, no grad) and each leaf layer's call is
recorded (nn.recording), in the order the forward makes them (the receptive field follows that
order: exact for a chain of layers). Multiply-adds per image:

    conv    out_elements * (in_channels / groups) * kH * kW
    linear  in_features * out_features

(activations, pooling and batch norm count 0, as torchinfo counts them). The receptive field
is the side of the input window one output value sees, per spatial axis:

    r_out = r_in + (k - 1) * d * j_in,   j_out = j_in * s       (r, j start at 1, 1)

for a conv or pool of kernel k, dilation d, stride s; after a Flatten every value sees the
whole input.
"""

from dataclasses import dataclass

import numpy as np

from .. import nn
from ..autograd import Tensor, no_grad
from ..nn.recording import recording


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
        rf, jump = _receptive(layer, rf, jump)
        rows.append(
            LayerRow(
                call.path,
                type(layer).__name__,
                tuple(x.shape),
                int(params),
                _mult_adds(layer, x_in, x),
                rf,
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


def _pair(value):
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)


def _receptive(layer, rf, jump):
    if rf is None or isinstance(layer, nn.Flatten | nn.Linear):
        return None, jump
    if isinstance(layer, nn.Conv2d):
        k = layer.weight.shape[2:]
    elif isinstance(layer, nn.MaxPool2d | nn.AvgPool2d | nn.MinPool2d):
        k = _pair(layer.kernel_size)
    else:
        return rf, jump
    s = _pair(layer.stride if layer.stride is not None else k)
    d = _pair(getattr(layer, "dilation", 1))
    rf = tuple(r + (kk - 1) * dd * j for r, kk, dd, j in zip(rf, k, d, jump, strict=True))
    return rf, tuple(j * ss for j, ss in zip(jump, s, strict=True))


def _mult_adds(layer, x_in, x_out):
    if isinstance(layer, nn.Conv2d):
        return int(x_out.data.size * int(np.prod(layer.weight.shape[1:])))
    if isinstance(layer, nn.Linear):
        return int(
            layer.weight.shape[0] * layer.weight.shape[1] * (x_in.data.size // x_in.shape[-1])
        )
    return 0
