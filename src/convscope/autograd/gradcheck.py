"""Finite-difference check of backward: central differences in float64.

    numeric[i] = (L(x + eps*e_i) - L(x - eps*e_i)) / (2*eps),   L = sum(fn(*inputs) * R)

with R a fixed random projection, so one scalar covers every output element.
"""

import numpy as np

from ..errors import ConvscopeError
from .grad_mode import enable_grad, no_grad
from .tensor import Tensor


class GradcheckError(ConvscopeError):
    """Analytic and numeric gradients disagree."""


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0):
    """Compare backward with central differences for every input that requires grad.

    fn: callable(*inputs) -> Tensor. inputs: Tensors (those with requires_grad are checked)
    or arrays (all checked). Everything is cast to float64 first.
    Returns True, or raises GradcheckError naming the worst element.
    """
    tensors = [_as_checked(t) for t in inputs]
    with enable_grad():
        out = fn(*tensors)
        proj = np.random.default_rng(seed).standard_normal(out.shape)
        for t in tensors:
            t.grad = None
        (out * proj).sum().backward()
    for idx, t in enumerate(tensors):
        if not t.requires_grad:
            continue
        analytic = np.zeros_like(t.data) if t.grad is None else t.grad
        numeric = _numeric(fn, tensors, t, proj, eps)
        err = np.abs(analytic - numeric) - (atol + rtol * np.abs(numeric))
        if err.size and err.max() > 0:
            at = np.unravel_index(int(np.argmax(err)), err.shape)
            raise GradcheckError(
                f"gradcheck: input {idx} (shape {t.shape}) element {tuple(map(int, at))}:"
                f" backward gives {analytic[at]:.10g}, finite differences give {numeric[at]:.10g}"
                f" (|diff| {abs(analytic[at] - numeric[at]):.3g} > atol {atol} + rtol {rtol} * |numeric|)"
            )
    return True


def _as_checked(value):
    """A contiguous float64 copy: the nudges must reach the checked array, never the caller's."""
    if isinstance(value, Tensor):
        return Tensor(
            np.array(value.data, dtype=np.float64, order="C"), requires_grad=value.requires_grad
        )
    return Tensor(np.array(value, dtype=np.float64, order="C"), requires_grad=True)


def _numeric(fn, tensors, t, proj, eps):
    grad = np.zeros_like(t.data)
    flat, gflat = t.data.reshape(-1), grad.reshape(-1)
    with no_grad():
        for i in range(flat.size):
            orig = flat[i]
            flat[i] = orig + eps
            plus = float((fn(*tensors).data * proj).sum())
            flat[i] = orig - eps
            minus = float((fn(*tensors).data * proj).sum())
            flat[i] = orig
            gflat[i] = (plus - minus) / (2 * eps)
    return grad
