"""The benchmark cases: six conv layers (forward, forward+backward), 2x2 and 3x3 pooling, batch norm
(training), a LeNet-5 training step and one of the bundled VGG (`convscope train --model vgg`),
LeNet-5 inference (eval mode, no grad) at batch 1 (one call, and 20 in a row) and LENET_BATCH. Each case builds one zero-argument callable per contender on the same data.

Contenders: "convscope" (the default path: compiled kernels when Numba is there),
"numpy" (convscope with CONVSCOPE_JIT=0) and "torch".
"""

import os
import re
from contextlib import contextmanager

import numpy as np

import convscope as cs
import convscope.nn as nn
import convscope.nn.functional as F

# name, (N, C, H, W), (F, K, stride, padding)
CONV_SHAPES = [
    ("LeNet conv1", (64, 1, 28, 28), (6, 5, 1, 2)),
    ("LeNet conv2", (64, 6, 14, 14), (16, 5, 1, 0)),
    ("VGG 3x3", (32, 64, 32, 32), (64, 3, 1, 1)),
    ("ResNet 3x3", (8, 64, 56, 56), (64, 3, 1, 1)),
    ("strided", (16, 32, 64, 64), (64, 3, 2, 1)),
    ("1x1", (32, 256, 14, 14), (64, 1, 1, 0)),
]
POOL_SHAPE = (64, 64, 32, 32)
STEM_SHAPE = (8, 64, 112, 112)  # ResNet's stem: conv 7x7/2, then this pool
# name, kind, (kernel, stride, padding), input shape: VGG-like 2x2 pools, ResNet's stem pool
POOL_CASES = [
    ("max 2x2", "max", (2, 2, 0), POOL_SHAPE),
    ("avg 2x2", "avg", (2, 2, 0), POOL_SHAPE),
    ("max 3x3/2, stem", "max", (3, 2, 1), STEM_SHAPE),
]
NORM_SHAPE = (32, 64, 32, 32)  # batch norm after the VGG layer
LENET_BATCH = 64
# (batch, calls in a row): one call after the bench's pause (a request after a quiet spell:
# ~1.4 ms for either library at batch 1 here, ~0.3 hot: the machine wakes up with it), and
# 20 calls of one image in a row (predict over files, a page's requests: the per-op cost)
INFER_CASES = ((1, 1), (1, 20), (LENET_BATCH, 1))


@contextmanager
def jit(enabled):
    """Run convscope with (True) or without (False) its compiled kernels."""
    old = os.environ.get("CONVSCOPE_JIT")
    os.environ["CONVSCOPE_JIT"] = "1" if enabled else "0"
    try:
        yield
    finally:
        if old is None:
            del os.environ["CONVSCOPE_JIT"]
        else:
            os.environ["CONVSCOPE_JIT"] = old


def _paths(run, jit_available):
    """The convscope contenders of one case."""
    fns = {}
    if jit_available:

        def compiled():
            with jit(True):
                run()

        fns["convscope"] = compiled

    def numpy_path():
        with jit(False):
            run()

    fns["numpy" if jit_available else "convscope"] = numpy_path
    return fns


def conv_flops(n, c, h, w, f, k, s, p):
    oh, ow = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
    return 2.0 * n * f * oh * ow * c * k * k


def conv_case(shape, layer, backward, torch, jit_available, rng):
    """Callables for one conv layer; forward only, or forward + backward of all three grads."""
    (n, c, h, w), (f, k, s, p) = shape, layer
    x = rng.standard_normal((n, c, h, w), dtype=np.float32)
    wt = rng.standard_normal((f, c, k, k), dtype=np.float32) / np.float32(np.sqrt(c * k * k))
    b = rng.standard_normal(f, dtype=np.float32)
    oh, ow = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
    dy = rng.standard_normal((n, f, oh, ow), dtype=np.float32)

    def run_cs():
        if not backward:
            F.conv2d(x, wt, b, stride=s, padding=p)
            return
        xs, ws, bs = (cs.tensor(a, requires_grad=True) for a in (x, wt, b))
        F.conv2d(xs, ws, bs, stride=s, padding=p).backward(dy)

    fns = _paths(run_cs, jit_available)
    if torch is not None:
        tx, tw, tb, tdy = (torch.from_numpy(a) for a in (x, wt, b, dy))

        def run_torch():
            if not backward:
                with torch.no_grad():
                    torch.nn.functional.conv2d(tx, tw, tb, stride=s, padding=p)
                return
            xs, ws, bs = (t.clone().requires_grad_() for t in (tx, tw, tb))
            torch.nn.functional.conv2d(xs, ws, bs, stride=s, padding=p).backward(tdy)

        fns["torch"] = run_torch
    flops = conv_flops(n, c, h, w, f, k, s, p) * (3 if backward else 1)
    return fns, flops


def pool_case(kind, window, shape, backward, torch, jit_available, rng):
    """Callables for a max or avg pool of an input of this shape; window: (kernel, stride,
    padding)."""
    k, s, p = window
    x = rng.standard_normal(shape, dtype=np.float32)
    n, c, h, w = shape
    oh, ow = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
    dy = rng.standard_normal((n, c, oh, ow), dtype=np.float32)
    pool = F.max_pool2d if kind == "max" else F.avg_pool2d

    def run_cs():
        if not backward:
            pool(x, k, s, p)
            return
        xs = cs.tensor(x, requires_grad=True)
        pool(xs, k, s, p).backward(dy)

    fns = _paths(run_cs, jit_available)
    if torch is not None:
        tpool = getattr(torch.nn.functional, f"{kind}_pool2d")
        tx, tdy = torch.from_numpy(x), torch.from_numpy(dy)

        def run_torch():
            if not backward:
                with torch.no_grad():
                    tpool(tx, k, s, p)
                return
            xs = tx.clone().requires_grad_()
            tpool(xs, k, s, p).backward(tdy)

        fns["torch"] = run_torch
    return fns, float(x.size * (2 if backward else 1))


def norm_case(shape, backward, torch, jit_available, rng):
    """Callables for batch norm in training mode (batch statistics, weight and bias)."""
    x = rng.standard_normal(shape, dtype=np.float32)
    w, b = (rng.standard_normal(shape[1], dtype=np.float32) for _ in range(2))
    dy = rng.standard_normal(shape, dtype=np.float32)

    def run_cs():
        if not backward:
            F.batch_norm(x, None, None, w, b, training=True)
            return
        xs, ws, bs = (cs.tensor(a, requires_grad=True) for a in (x, w, b))
        F.batch_norm(xs, None, None, ws, bs, training=True).backward(dy)

    fns = _paths(run_cs, jit_available)
    if torch is not None:
        tx, tw, tb, tdy = (torch.from_numpy(a) for a in (x, w, b, dy))

        def run_torch():
            if not backward:
                with torch.no_grad():
                    torch.nn.functional.batch_norm(tx, None, None, tw, tb, training=True)
                return
            xs, ws, bs = (t.clone().requires_grad_() for t in (tx, tw, tb))
            torch.nn.functional.batch_norm(xs, None, None, ws, bs, training=True).backward(tdy)

        fns["torch"] = run_torch
    return fns, float(x.size * (2 if backward else 1))


def lenet5(nn_mod):
    """LeNet-5 for 1x28x28 inputs, built from a module namespace with PyTorch's layer names."""
    return nn_mod.Sequential(
        nn_mod.Conv2d(1, 6, 5, padding=2), nn_mod.ReLU(), nn_mod.MaxPool2d(2),
        nn_mod.Conv2d(6, 16, 5), nn_mod.ReLU(), nn_mod.MaxPool2d(2),
        nn_mod.Flatten(),
        nn_mod.Linear(400, 120), nn_mod.ReLU(),
        nn_mod.Linear(120, 84), nn_mod.ReLU(),
        nn_mod.Linear(84, 10),
    )  # fmt: skip


def training_step(model, torch_model, torch, jit_available, rng):
    """Callables for one SGD step (momentum 0.9, cross-entropy) of ``model`` and, when torch is
    there, of ``torch_model(torch.nn)``, on the same batch of LENET_BATCH 1x28x28 images."""
    x = rng.random((LENET_BATCH, 1, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, LENET_BATCH)
    opt = cs.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()

    def run_cs():
        opt.zero_grad()
        loss_fn(model(cs.tensor(x)), y).backward()
        opt.step()

    fns = _paths(run_cs, jit_available)
    if torch is not None:
        tmodel = torch_model(torch.nn)
        topt = torch.optim.SGD(tmodel.parameters(), lr=0.01, momentum=0.9)
        tloss = torch.nn.CrossEntropyLoss()
        tx, ty = torch.from_numpy(x), torch.from_numpy(y)

        def run_torch():
            topt.zero_grad()
            tloss(tmodel(tx), ty).backward()
            topt.step()

        fns["torch"] = run_torch
    return fns


def lenet_case(torch, jit_available, rng):
    """Callables for one SGD training step of LeNet-5 on a batch of LENET_BATCH images."""
    fns = training_step(lenet5(nn), lenet5, torch, jit_available, rng)
    # forward conv+linear flops, x3 for the backward pass
    flops = 3 * (conv_flops(64, 1, 28, 28, 6, 5, 1, 2) + conv_flops(64, 6, 14, 14, 16, 5, 1, 0))
    flops += 3 * 2.0 * LENET_BATCH * (400 * 120 + 120 * 84 + 84 * 10)
    return fns, flops


def vgg_torch(torch_nn, channels=(16, 32), hidden=128):
    """PyTorch's twin of convscope.models.vgg(): the same layers in the same order."""
    layers, c_in, size = [], 1, 28
    for c in channels:
        for _ in range(2):
            layers += [torch_nn.Conv2d(c_in, c, 3, padding=1), torch_nn.BatchNorm2d(c),
                       torch_nn.ReLU()]  # fmt: skip
            c_in = c
        layers.append(torch_nn.MaxPool2d(2))
        size //= 2
    return torch_nn.Sequential(
        torch_nn.Sequential(*layers),
        torch_nn.Sequential(torch_nn.Flatten(), torch_nn.Linear(c_in * size * size, hidden),
                            torch_nn.ReLU(), torch_nn.Linear(hidden, 10)),
    )  # fmt: skip


def vgg_case(torch, jit_available, rng):
    """Callables for one SGD training step of the bundled VGG on LENET_BATCH digits-sized images."""
    from convscope.models import vgg

    fns = training_step(vgg(), vgg_torch, torch, jit_available, rng)
    n = LENET_BATCH
    flops = 3 * (conv_flops(n, 1, 28, 28, 16, 3, 1, 1) + conv_flops(n, 16, 28, 28, 16, 3, 1, 1)
                 + conv_flops(n, 16, 14, 14, 32, 3, 1, 1) + conv_flops(n, 32, 14, 14, 32, 3, 1, 1)
                 + 2.0 * n * (32 * 7 * 7 * 128 + 128 * 10))  # fmt: skip
    return fns, flops


def lenet_infer_case(batch, torch, jit_available, rng, calls=1):
    """Callables for LeNet-5's forward pass in eval mode without gradients (predict, the web
    page), ``calls`` times in a row on batches of ``batch`` images."""
    x = rng.random((batch, 1, 28, 28), dtype=np.float32)
    model = lenet5(nn)
    model.eval()

    def run_cs():
        with cs.no_grad():
            for _ in range(calls):
                model(cs.tensor(x))

    fns = _paths(run_cs, jit_available)
    if torch is not None:
        tmodel = lenet5(torch.nn)
        tmodel.eval()
        tx = torch.from_numpy(x)

        def run_torch():
            with torch.no_grad():
                for _ in range(calls):
                    tmodel(tx)

        fns["torch"] = run_torch
    flops = (conv_flops(batch, 1, 28, 28, 6, 5, 1, 2) + conv_flops(batch, 6, 14, 14, 16, 5, 1, 0)
             + 2.0 * batch * (400 * 120 + 120 * 84 + 84 * 10))  # fmt: skip
    return fns, flops * calls


def all_cases(quick, torch, jit_available, rng):
    """Yield (group, name, callables, flops) in table order."""
    shapes = CONV_SHAPES[:2] + CONV_SHAPES[-1:] if quick else CONV_SHAPES
    for backward in (False, True):
        for name, shape, layer in shapes:
            fns, flops = conv_case(shape, layer, backward, torch, jit_available, rng)
            yield ("conv fwd+bwd" if backward else "conv fwd"), name, fns, flops
    for backward in (False, True):
        for name, kind, window, shape in POOL_CASES:
            fns, flops = pool_case(kind, window, shape, backward, torch, jit_available, rng)
            yield ("pool fwd+bwd" if backward else "pool fwd"), name, fns, flops
    for backward in (False, True):
        fns, flops = norm_case(NORM_SHAPE, backward, torch, jit_available, rng)
        yield ("norm fwd+bwd" if backward else "norm fwd"), "batch norm, train", fns, flops
    fns, flops = lenet_case(torch, jit_available, rng)
    yield "train", f"LeNet-5 step (batch {LENET_BATCH})", fns, flops
    if not quick:
        fns, flops = vgg_case(torch, jit_available, rng)
        yield "train", f"VGG step (batch {LENET_BATCH})", fns, flops
    for batch, calls in INFER_CASES:
        fns, flops = lenet_infer_case(batch, torch, jit_available, rng, calls)
        yield "infer", infer_name(batch, calls), fns, flops


def infer_name(batch, calls):
    """ "LeNet-5 eval (batch 64)", "LeNet-5 eval (batch 1, 20 in a row)"."""
    return f"LeNet-5 eval (batch {batch}" + (f", {calls} in a row)" if calls > 1 else ")")


def infer_images(case):
    """(the batch, the images one call of the case runs) from its name (infer_name)."""
    batch, calls = re.fullmatch(r"LeNet-5 eval \(batch (\d+)(?:, (\d+) in a row)?\)", case).groups()
    return int(batch), int(batch) * int(calls or 1)
