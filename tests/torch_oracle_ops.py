"""Run one op in convscope and in PyTorch on the same arrays; compare output and every gradient.

Shared by the conv, pool, activation, loss and basic-op tests, with the rules of tolerance.py:

- ``sums="products"``: the op is a sum of products of its inputs (conv, linear, avg pool): each
  value may differ by (n+1)*eps*sum|terms|, where sum|terms| is the same op (and its backward)
  evaluated at |inputs| with |dy|, and n the number of terms, the op evaluated at ones
  (or the ``n`` given, for ops that divide their sums: avg pooling);
- ``sums="routes"``: the op moves values and adds them with weight 1 (max/min pool, pad,
  downsample): sum|terms| is its backward of |dy| at the same inputs;
- otherwise (activations, losses, norms) relative agreement per dtype, float64 to 1e-10,
  with a floor scaled to the largest magnitude in play (inputs, dy, results).
"""

import numpy as np
import torch

import convscope as cs
from tolerance import assert_sums_close, assert_values_close, largest


def torch_run(torch_fn, arrays, grad, dy):
    """torch_fn's output and the gradients of the inputs marked in ``grad`` (None elsewhere)."""
    theirs = [torch.tensor(a, requires_grad=g) for a, g in zip(arrays, grad, strict=True)]
    y = torch_fn(*theirs)
    y.backward(torch.tensor(dy))
    return y.detach().numpy(), [t.grad.numpy() if t.requires_grad else None for t in theirs]


def sum_tolerances(torch_fn, arrays, grad, dy, sums="products", n=None):
    """(magnitude, n) for the output, and a list of them for the inputs' gradients (None
    where ``grad`` is False), per the rule named by ``sums``."""
    if sums == "products":
        mags = torch_run(torch_fn, [np.abs(a) for a in arrays], grad, np.abs(dy))
        counts = torch_run(torch_fn, [np.ones_like(a) for a in arrays], grad, np.ones_like(dy))
    else:  # routes: the same routing, |dy| routed; n counts the dy that land on each element
        mags = torch_run(torch_fn, arrays, grad, np.abs(dy))
        counts = (np.ones(1), torch_run(torch_fn, arrays, grad, np.ones_like(dy))[1])
    if n is not None:
        counts = (n, [n] * len(arrays))
    return (mags[0], counts[0]), list(zip(mags[1], counts[1], strict=True))


def compare(ours_fn, torch_fn, arrays, seed=0, grad=None, sums=None, n=None, gain=1.0):
    """Forward ours_fn(*Tensors) vs torch_fn(*torch tensors), then backward with the same
    random upstream gradient; every array in ``arrays`` is a differentiable input.
    ``grad`` (bool per array) marks which inputs get a gradient (default: all); ``sums``
    and ``n``: the tolerance rule (module docstring); ``gain``: how much a cancellation the
    arrays do not show scales the relative rule's floor (tolerance.centering_gain).
    Returns convscope's output Tensor."""
    grad = grad or [True] * len(arrays)
    dtype = arrays[0].dtype
    ours = [cs.tensor(a, requires_grad=g) for a, g in zip(arrays, grad, strict=True)]
    y = ours_fn(*ours)
    dy = np.random.default_rng(seed).standard_normal(y.shape).astype(y.dtype)
    ty, tgrads = torch_run(torch_fn, arrays, grad, dy)
    assert y.dtype == ty.dtype, f"output: dtype {y.dtype} != torch {ty.dtype}"
    y.backward(dy)
    pairs = [(y.data, ty, "output")]
    pairs += [
        (o.grad, t, f"gradient of input {i}")
        for i, (o, t) in enumerate(zip(ours, tgrads, strict=True))
        if t is not None
    ]
    for o, t, what in pairs:
        assert o is not None, f"{what}: convscope gives no gradient where torch gives one"
        assert o.dtype == t.dtype, f"{what}: dtype {o.dtype} != torch {t.dtype}"
    if sums is None:
        scale = gain * largest(*arrays, dy, *(t for _, t, _ in pairs))
        for o, t, what in pairs:
            assert_values_close(o, t, scale=scale, dtype=dtype, err_msg=what)
        return y
    out, per_input = sum_tolerances(torch_fn, arrays, grad, dy, sums, n)
    tols = [out] + [tol for tol, t in zip(per_input, tgrads, strict=True) if t is not None]
    for (o, t, what), (magnitude, count) in zip(pairs, tols, strict=True):
        assert_sums_close(o, t, magnitude, count, dtype=dtype, err_msg=what)
    return y
