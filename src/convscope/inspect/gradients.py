"""Gradient attributions: saliency and input x gradient, each one backward pass of the engine.

For images x (N, C, H, W) and a target class t_n per image, the model's logits y = f(x) (N, K)
are seeded with the one-hot (N, K) matrix e_t and carried back by ``Tensor.backward``:

    G[n] = d y[n, t_n] / d x[n]           (N, C, H, W), the images do not mix in eval mode
    saliency          = |G|               (Captum's Saliency, abs=True)
    input_x_gradient  = x * G             (Captum's InputXGradient)

so saliency is dL/dX for the loss L = y[n, t_n]: the same backward that trains the network,
stopped at the input instead of the weights.
"""

import numpy as np

from ..autograd import Tensor, enable_grad
from .checks import images, inspecting, one_hot, targets


def logit_gradients(model, x, target, op):
    """(G = d y[n, t_n] / d x[n] (N, C, H, W), logits (N, K), targets (N,)) for a prepared
    batch x: one forward and one backward through the engine, parameters left untouched."""
    with inspecting(model), enable_grad():
        xt = Tensor(x, requires_grad=True)
        logits = model(xt)
        t = targets(target, logits.data, op)
        logits.backward(one_hot(t, logits.shape[1], logits.dtype))
    return xt.grad, logits.data, t


def saliency(model, x, target=None, abs=True):
    """|d y_t / d x|: how much the target logit moves per unit change of each input number.

    x: (N, C, H, W) images as the model takes them (normalised), or one image (C, H, W).
    target: the class to explain, an int for every image or one per image; None: each image's
    predicted class. abs=False keeps the sign. Returns an array of x's shape (model's dtype).
    The model runs in eval mode; its mode, parameters and their ``.grad`` are left as they were.
    """
    batch, single = images(model, x, "saliency")
    grad, _, _ = logit_gradients(model, batch, target, "saliency")
    out = np.abs(grad) if abs else grad
    return out[0] if single else out


def input_x_gradient(model, x, target=None):
    """x * d y_t / d x (Captum's InputXGradient): the first-order share of each input number in
    the target logit, y_t(x) ~ sum(x * G) for a model that is linear along the ray 0 -> x.

    Shapes, target and mode as ``saliency``; returns an array of x's shape.
    """
    batch, single = images(model, x, "input_x_gradient")
    grad, _, _ = logit_gradients(model, batch, target, "input_x_gradient")
    out = batch * grad
    return out[0] if single else out
