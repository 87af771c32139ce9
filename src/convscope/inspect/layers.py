"""What a layer holds and what it makes of an image: its filters, its feature maps.

filters(model, "conv1")                 (F, C, kH, kW): the learned kernels, a copy
feature_maps(model, x)                  {layer: output}: (N, C, H, W) for a conv or pooling
                                        layer, (N, features) after Flatten or Linear
"""

import numpy as np

from ..autograd import Tensor, no_grad
from ..errors import ShapeError
from ..nn import Module
from .checks import conv_layer, conv_layers, find_layer, images, inspecting, layer_names


def filters(model, layer=None):
    """A copy of a conv layer's weight, (F, C/groups, kH, kW) (default: the first Conv2d)."""
    op = "filters"
    name, module = conv_layer(model, layer, op, last=False)
    weight = getattr(module, "_parameters", {}).get("weight")
    if weight is None or weight.data.ndim != 4:
        raise ShapeError(
            f"{op}: layer {name!r} ({type(module).__name__}) has no 2-D convolution filters;"
            f" choose one of {', '.join(conv_layers(model)) or 'its conv layers (it has none)'}"
        )
    return weight.data.copy()


def feature_maps(model, x, layers=None):
    """{layer name: its output} for one forward pass of x, via forward hooks.

    x: (N, C, H, W) or one image (C, H, W), as the model takes it. layers: names (or modules) to
    record; None records every leaf layer (one without sub-layers), in the order they ran.
    A layer that runs twice keeps its last output. For one image the outputs lose the batch axis.
    """
    op = "feature_maps"
    batch, single = images(model, x, op)
    if layers is None:
        chosen = [(n, m) for n, m in model.named_modules() if n and not m._modules]
    else:
        if isinstance(layers, (str, Module)):
            layers = [layers]
        chosen = [find_layer(model, layer, op) for layer in layers]
    maps, handles = {}, []

    def recorder(name):
        def hook(module, args, output):
            maps[name] = np.array(output.data if isinstance(output, Tensor) else output)

        return hook

    try:
        for name, module in chosen:
            handles.append(module.register_forward_hook(recorder(name)))
        with inspecting(model), no_grad():
            model(Tensor(batch))
    finally:
        for h in handles:
            h.remove()
    missing = [name for name, _ in chosen if name not in maps]
    if missing and layers is not None:
        raise ShapeError(
            f"{op}: layer {missing[0]!r} did not run when the model ran on x; the layers that"
            f" ran: {', '.join(maps) or 'none'} (all layers: {', '.join(layer_names(model))})"
        )
    return {name: (out[0] if single else out) for name, out in maps.items()}
