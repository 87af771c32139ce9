"""A real model, layer by layer: its activations, its gradients and the checks behind them.

What ``convscope serve`` shows comes from here; every number is the engine's (the model's own
``nn`` layers, their autograd and ``ops``)::

    chain = layers(model)                    [(name, module)]: the leaf layers in forward order
    acts = forward(chain, x)                 [x, out_0, out_1, ...]  (x: (1, C, H, W))
    g = backward(chain, acts, target)        dL/dlogits = p - y, dL/dO of every layer, dW, db
    window_table(n, k, s, p, d)              which input index each output index reads
    pool_routes(module, x)                   where max/min pooling sends each window's gradient

The checks of these numbers (the conv identities, finite differences, the loop twins) are in
``network_checks``.

L is the cross-entropy of one image: L = -log p_t with p = softmax(logits), t the target.
"""

import numpy as np

from ..autograd import enable_grad, no_grad, tensor
from ..errors import CheckpointError
from ..nn import functional as F
from ..ops.conv import conv1d_forward
from .trace import Check, difference


def layers(model):
    """[(name, module)] of the model's leaf layers in registration order, checked to be its
    forward: running them one after another must give ``model(x)``."""
    chain = [(name, m) for name, m in model.named_modules() if not list(m.children())]
    chain = [(name, m) for name, m in chain if name]
    if not chain:
        raise CheckpointError(f"{type(model).__name__}: the model has no layers to show")
    return chain


def check_chain(model, chain, shape, seed=0):
    """CheckpointError unless the chain of leaf layers computes what ``model`` computes."""
    x = np.random.default_rng(seed).standard_normal((1, *shape))
    with no_grad():
        whole = model(x).data
    steps = forward(chain, x)[-1]
    if whole.shape != steps.shape or difference(whole, steps) > 1e-9 * max(
        1.0, np.abs(whole).max()
    ):
        raise CheckpointError(
            f"{type(model).__name__}: its forward is not its layers applied one after another in"
            f" the order they were registered ({', '.join(n for n, _ in chain)}); the page shows"
            f" models built as a chain of layers (nn.Sequential, LeNet-5, VGG)"
        )


def forward(chain, x):
    """[x, output of layer 0, output of layer 1, ...] as arrays, no graph recorded."""
    acts = [np.asarray(x)]
    with no_grad():
        for _, module in chain:
            acts.append(module(acts[-1]).data)
    return acts


def backward(chain, acts, target):
    """The gradients of L = cross_entropy(logits, target) through every layer.

    Returns {"loss", "probabilities", "dlogits" (p - y), "grad_out": [dL/dO per layer],
    "grad_in": dL/dx, "params": {layer: {param: dL/dparam}}, "checks": [Check]}: each layer's
    backward is its own autograd (one layer at a time, so every dL/dO is kept).
    """
    logits = acts[-1]
    p = F.softmax(logits, dim=1).data
    y = np.zeros_like(p)
    y[0, target] = 1.0
    with enable_grad():
        lt = tensor(logits, requires_grad=True)
        loss = F.cross_entropy(lt, np.array([target]))
        loss.backward()
    g = lt.grad
    checks = [
        Check("dL/dlogits: p - y vs the engine's cross_entropy backward", difference(p - y, g))
    ]
    grad_out, params = [None] * len(chain), {}
    for k in range(len(chain) - 1, -1, -1):
        name, module = chain[k]
        grad_out[k] = g
        xin = tensor(acts[k], requires_grad=True)
        module.zero_grad()
        with enable_grad():
            module(xin).backward(g)
        params[name] = {
            n: p_.grad.copy() for n, p_ in module.named_parameters() if p_.grad is not None
        }
        module.zero_grad()
        g = xin.grad
    return {
        "loss": float(loss.data),
        "probabilities": p[0],
        "dlogits": (p - y)[0],
        "grad_out": grad_out,
        "grad_in": g,
        "params": params,
        "checks": checks,
    }


def window_table(n, kernel, stride=1, padding=0, dilation=1, transposed=False, out=None):
    """(K, n_out) int array: entry [u, i] is the input index that output index i reads at kernel
    offset u (-1: padding), for one spatial axis of size ``n``.

    With ``transposed``, n is the transposed op's input size and entry [u, i] is the output
    index that input index i writes at offset u (-1: cropped away); ``out`` is that output size.
    The table is read off the engine: conv1d_forward of the numbers 1..n with one-hot kernels.
    """
    eye = np.eye(kernel)[:, None, :]
    if not transposed:
        idx, _ = conv1d_forward(
            np.arange(1.0, n + 1)[None, None],
            eye,
            stride=stride,
            padding=padding,
            dilation=dilation,
        )
        return idx[0].astype(np.int64) - 1
    # input i of a transposed conv writes output o = i*S + u*D - P: the windows of a plain
    # conv over the output grid (its extra windows, from output_padding >= stride, cropped)
    idx, _ = conv1d_forward(
        np.arange(1.0, out + 1)[None, None], eye, stride=stride, padding=padding, dilation=dilation
    )
    return idx[0, :, :n].astype(np.int64) - 1


def layer_windows(module, in_shape):
    """{"rows": (KH, OH), "cols": (KW, OW)} window tables of a Conv2d or 2-D pooling layer for an
    input (C, H, W) of ``in_shape``; None for a pool with ceil_mode (its last window is cut)."""
    if getattr(module, "ceil_mode", False):
        return None
    if hasattr(module, "dilation") and hasattr(module, "groups"):  # a convolution
        kernel, stride, padding, dil = (
            module.kernel_size,
            module.stride,
            module.padding,
            module.dilation,
        )
    else:
        kernel, stride = pair(module.kernel_size), pair(module.stride)
        padding, dil = pair(module.padding), (1, 1)
    return {
        axis: window_table(
            in_shape[1 + k],
            kernel[k],
            stride[k],
            padding if isinstance(padding, str) else padding[k],
            dil[k],
        )
        for k, axis in enumerate(("rows", "cols"))
    }


def pool_routes(module, x):
    """(C, OH, OW) int array: the flat index r*W + q of the input cell that receives each
    window's gradient in max/min pooling (x (1, C, H, W)).

    Read off the engine's backward: the windows are split into classes that do not overlap,
    and each class's window numbers are sent back as its gradient (exact integers)."""
    h, w = x.shape[2:]
    k, s = pair(module.kernel_size), pair(module.stride)
    with no_grad():
        oh, ow = module(x).data.shape[2:]
    c = x.shape[1]
    ids = np.arange(1.0, c * oh * ow + 1).reshape(1, c, oh, ow)
    routes = np.full(c * oh * ow, -1, dtype=np.int64)
    mh, mw = -(-k[0] // s[0]), -(-k[1] // s[1])  # windows a, a+mh, ... never overlap
    for a in range(mh):
        for b in range(mw):
            labels = np.zeros_like(ids)
            labels[..., a::mh, b::mw] = ids[..., a::mh, b::mw]
            xin = tensor(x, requires_grad=True)
            with enable_grad():
                module(xin).backward(labels)
            chan, r, q = np.nonzero(xin.grad[0])
            routes[xin.grad[0, chan, r, q].astype(np.int64) - 1] = r * w + q
    return routes.reshape(c, oh, ow)


def pair(v):
    """An int or a pair -> (int, int)."""
    return (int(v), int(v)) if np.isscalar(v) else tuple(int(a) for a in v)
