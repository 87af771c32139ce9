"""Integrated gradients (Captum's IntegratedGradients): the path integral of the input gradient.

    IG(x)  = (x - b) * integral_0^1 G(b + a (x - b)) da          G = d y_t / d x (gradients.py)
           ~ (x - b) * sum_k w_k G(b + alpha_k (x - b))           S steps: nodes alpha_k, weights w_k
    delta  = sum(IG(x)) - (y_t(x) - y_t(b))                      Captum's convergence delta

Completeness: the attributions sum to y_t(x) - y_t(b) exactly for the true integral; delta is
what the S-point rule misses, and it shrinks as S grows. All S path images of all N inputs go
through the engine as one (S*N, C, H, W) batch (in chunks of whole steps when that batch is
large): one forward and one backward, not S of them.
"""

from typing import NamedTuple

import numpy as np

from ..autograd import Tensor, no_grad
from ..errors import ShapeError
from .checks import MAX_BATCH_ELEMENTS, baselines, images, inspecting, positive_int, targets
from .gradients import logit_gradients

METHODS = ("gausslegendre", "riemann_left", "riemann_right", "riemann_middle", "riemann_trapezoid")


class IGResult(NamedTuple):
    """``attributions``: x's shape; ``delta``: (N,), or a float for one image."""

    attributions: np.ndarray
    delta: np.ndarray


def quadrature(method, steps):
    """(alphas (S,), weights (S,)) of Captum's rule: integral_0^1 g ~ sum_k weights_k g(alphas_k).

    gausslegendre: numpy's Gauss-Legendre nodes and weights mapped from [-1, 1] to [0, 1]
    (exact for polynomials of degree 2S - 1). riemann_*: weights 1/S at the S points
    linspace(0, 1 - 1/S) (left), linspace(1/S, 1) (right), linspace(1/(2S), 1 - 1/(2S))
    (middle), or linspace(0, 1) with both end weights halved (trapezoid: Captum's rule, whose
    weights sum to 1 - 1/S). As in Captum the weights are rounded to float32 (Captum stores
    them with ``.float()``), a relative change under 6e-8, so the two agree to the last digits
    in float64. The alphas are float64; Captum's Riemann alphas come from ``torch.linspace`` in
    torch's default dtype, so they match when that is float64 and differ by ~1e-8 (relative)
    under torch's float32 default.
    """
    op = "integrated_gradients"
    if method not in METHODS:
        raise ShapeError(f"{op}: unknown method {method!r}; choose one of {', '.join(METHODS)}")
    steps = positive_int(steps, op, "steps", 1 if method == "gausslegendre" else 2)
    if method == "gausslegendre":
        nodes, weights = np.polynomial.legendre.leggauss(steps)
        alphas, weights = 0.5 * (1 + nodes), 0.5 * weights
    else:
        n = steps
        weights = np.full(n, 1 / n)
        start, stop = {
            "riemann_left": (0.0, 1 - 1 / n),
            "riemann_right": (1 / n, 1.0),
            "riemann_middle": (1 / (2 * n), 1 - 1 / (2 * n)),
            "riemann_trapezoid": (0.0, 1.0),
        }[method]
        alphas = np.linspace(start, stop, n)
        if method == "riemann_trapezoid":
            weights[[0, -1]] /= 2
    return alphas, weights.astype(np.float32).astype(np.float64)


def integrated_gradients(
    model, x, target=None, baseline=None, steps=50, method="gausslegendre", internal_batch_size=None
):
    """Integrated gradients of the target logit from ``baseline`` to ``x``, with the delta.

    x: (N, C, H, W) or one image (C, H, W), as the model takes it (normalised).
    target: an int for every image, one per image, or None (each image's predicted class).
    baseline: None (zeros, Captum's default), a number, or an array broadcastable to x.
    steps, method: the quadrature (``quadrature``: gausslegendre, riemann_left, riemann_right,
    riemann_middle, riemann_trapezoid). internal_batch_size: most path images per
    forward/backward (default: whole steps, up to ~262k input numbers per chunk).
    Returns IGResult(attributions of x's shape, delta (N,) or a float): Captum's
    ``attribute(..., return_convergence_delta=True)``.
    """
    op = "integrated_gradients"
    batch, single = images(model, x, op)
    alphas, weights = quadrature(method, steps)
    base = baselines(baseline, batch, op)
    n = len(batch)
    with inspecting(model), no_grad():
        ends = model(Tensor(np.concatenate([batch, base]))).data
    t = targets(target, ends[:n], op)
    rows = np.arange(n)
    gap = ends[rows, t] - ends[n + rows, t]  # y_t(x) - y_t(b)
    diff = batch - base
    total = np.zeros_like(batch)
    per_chunk = _steps_per_chunk(internal_batch_size, batch, op)
    for k0 in range(0, len(alphas), per_chunk):
        a = alphas[k0 : k0 + per_chunk].astype(batch.dtype)
        path = (base[None] + a[:, None, None, None, None] * diff[None]).reshape(
            -1, *batch.shape[1:]
        )
        grads, _, _ = logit_gradients(model, path, np.tile(t, len(a)), op)
        w = weights[k0 : k0 + len(a)]
        total += np.tensordot(w, grads.reshape(len(a), *batch.shape), axes=1)
    attributions = total * diff
    delta = attributions.reshape(n, -1).sum(axis=1) - gap
    if single:
        return IGResult(attributions[0], float(delta[0]))
    return IGResult(attributions, delta)


def _steps_per_chunk(internal_batch_size, batch, op):
    """Path steps per forward/backward: all N images of each step go into the same chunk."""
    n = len(batch)
    if internal_batch_size is None:
        return max(1, MAX_BATCH_ELEMENTS // batch.size)
    size = positive_int(internal_batch_size, op, "internal_batch_size")
    if size < n:
        raise ShapeError(
            f"{op}: internal_batch_size={size} is smaller than the {n} images, and each step"
            f" runs all of them together; use internal_batch_size >= {n}"
        )
    return size // n
