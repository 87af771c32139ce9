"""Run one op in convscope and in PyTorch on the same arrays; compare output and every gradient.

Shared by the pool, activation, loss and basic-op tests. float64 must agree to
rtol 1e-10, float32 to 1e-4. ``ERRORS`` keeps the largest relative error seen per
dtype, so a run can report it.
"""

import numpy as np
import torch

import convscope as cs

TOL = {np.float64: (1e-10, 1e-12), np.float32: (1e-4, 1e-5)}
ERRORS = {np.float64: 0.0, np.float32: 0.0}


def assert_close(ours, theirs, dtype=np.float64, what="output"):
    """ours/theirs: ndarray or torch tensor. Records the relative error in ERRORS."""
    if isinstance(theirs, torch.Tensor):
        theirs = theirs.detach().numpy()
    ours = np.asarray(ours)
    assert ours.shape == theirs.shape, f"{what}: shape {ours.shape} != torch {theirs.shape}"
    assert ours.dtype == theirs.dtype, f"{what}: dtype {ours.dtype} != torch {theirs.dtype}"
    rtol, atol = TOL[np.dtype(dtype).type]
    finite = np.isfinite(theirs)
    if finite.any():
        scale = np.maximum(np.abs(theirs[finite]), atol / rtol)
        rel = float(np.max(np.abs(ours[finite] - theirs[finite]) / scale))
        key = np.dtype(dtype).type
        ERRORS[key] = max(ERRORS[key], rel)
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=atol, err_msg=what)


def compare(ours_fn, torch_fn, arrays, seed=0, grad=None):
    """Forward ours_fn(*Tensors) vs torch_fn(*torch tensors), then backward with the same
    random upstream gradient; every array in ``arrays`` is a differentiable input.
    ``grad`` (bool per array) marks which inputs get a gradient (default: all).
    Returns convscope's output Tensor."""
    grad = grad or [True] * len(arrays)
    dtype = arrays[0].dtype
    ours = [cs.tensor(a, requires_grad=g) for a, g in zip(arrays, grad, strict=True)]
    theirs = [torch.tensor(a, requires_grad=g) for a, g in zip(arrays, grad, strict=True)]
    y, yt = ours_fn(*ours), torch_fn(*theirs)
    assert_close(y.data, yt, dtype)
    dy = np.random.default_rng(seed).standard_normal(y.shape).astype(y.dtype)
    y.backward(dy)
    yt.backward(torch.tensor(dy))
    for i, (o, t) in enumerate(zip(ours, theirs, strict=True)):
        if t.requires_grad:
            assert_close(o.grad, t.grad, dtype, what=f"gradient of input {i}")
    return y
