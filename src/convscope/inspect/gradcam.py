"""Grad-CAM (Captum's LayerGradCam): a conv layer's maps weighted by their mean gradient.

For the activations A (N, C, h, w) of a layer (its output, or its input with
``attribute_to_layer_input``) and the gradient of the target logit with respect to them,

    alpha[n, c] = mean_{i,j} d y[n, t_n] / d A[n, c, i, j]        one backward pass, stopped at A
    cam[n, 0]   = sum_c alpha[n, c] * A[n, c]                       (N, 1, h, w)
                  (then ReLU with relu_attributions=True, the original paper's map)

and ``upsampled`` is cam resized to the input's H x W with Captum's
``LayerAttribution.interpolate``: F.interpolate, mode "nearest" (its default) or "bilinear"
(align_corners=False).
"""

from typing import NamedTuple

import numpy as np

from ..autograd import Tensor, enable_grad
from ..errors import ShapeError
from ..ops.resample import interpolate_forward
from .checks import conv_layer, conv_layers, images, inspecting, one_hot, targets

MODES = ("nearest", "bilinear")


class GradCAM(NamedTuple):
    """``cam`` (N, 1, h, w) at the layer's resolution, ``upsampled`` (N, 1, H, W) at the
    input's, ``weights`` (N, C) the channel weights alpha, ``layer`` the layer's name.
    For one image (C, H, W) the arrays lose their first axis."""

    cam: np.ndarray
    upsampled: np.ndarray
    weights: np.ndarray
    layer: str


def grad_cam(
    model,
    x,
    target=None,
    layer=None,
    relu_attributions=False,
    attribute_to_layer_input=False,
    upsample="nearest",
):
    """Grad-CAM of the target class at ``layer`` (a name such as "conv2", or the module).

    x: (N, C, H, W) or one image (C, H, W) as the model takes it. target: an int, one per image,
    or None (each image's predicted class). layer None: the model's last Conv2d.
    upsample: "nearest" (Captum's default) or "bilinear". Returns a GradCAM named tuple.
    """
    op = "grad_cam"
    batch, single = images(model, x, op)
    if upsample not in MODES:
        raise ShapeError(f"{op}: upsample={upsample!r} is not a mode; choose one of {MODES}")
    name, module = conv_layer(model, layer, op, last=True)
    seen = []

    def keep(module, args, output):
        tensor = args[0] if attribute_to_layer_input else output
        if isinstance(tensor, Tensor):
            seen.append(tensor.retain_grad())

    with inspecting(model), enable_grad(), module.register_forward_hook(keep):
        xt = Tensor(batch, requires_grad=True)
        logits = model(xt)
        t = targets(target, logits.data, op)
        if not seen:
            raise ShapeError(f"{op}: layer {name!r} did not run when the model ran on x")
        acts = seen[-1]
        if acts.ndim != 4:
            raise ShapeError(
                f"{op}: layer {name!r} gives activations of shape {acts.shape}, not conv maps"
                f" (N, C, h, w); choose a conv layer or one after it: {', '.join(conv_layers(model))}"
            )
        logits.backward(one_hot(t, logits.shape[1], logits.dtype))
    grads = acts.grad if acts.grad is not None else np.zeros_like(acts.data)
    weights = grads.mean(axis=(2, 3))
    cam = np.einsum("nc,nchw->nhw", weights, acts.data)[:, None]
    if relu_attributions:
        cam = np.maximum(cam, 0)
    upsampled = interpolate(cam, batch.shape[2:], upsample)
    if single:
        return GradCAM(cam[0], upsampled[0], weights[0], name)
    return GradCAM(cam, upsampled, weights, name)


def interpolate(maps, size, mode="nearest"):
    """maps (N, C, h, w) resized to size (H, W) as torch's F.interpolate, "nearest" or
    "bilinear" (align_corners=False)."""
    return interpolate_forward(maps, size=tuple(int(n) for n in size), mode=mode)[0]
