"""A real model, layer by layer: its activations, its gradients and the checks behind them.

What ``convscope serve`` shows comes from here; every number is the engine's (the model's own
``nn`` layers, their autograd and ``ops``)::

    chain = layers(model)                    [(name, module)]: the leaf layers in forward order
    acts = forward(chain, x)                 [x, out_0, out_1, ...]  (x: (1, C, H, W))
    g = backward(chain, acts, target)        dL/dlogits = p - y, dL/dO of every layer, dW, db
    window_table(n, k, s, p, d)              which input index each output index reads
    pool_routes(module, x)                   where max/min pooling sends each window's gradient
    conv_identities(module, x, dO, grads)    dW = Xp (*) dilate(dO), dX = full corr(dilate(dO), rot180 W)
    directional_check(loss, value, grad)     finite differences along a random direction vs <grad, v>

L is the cross-entropy of one image: L = -log p_t with p = softmax(logits), t the target.
"""

import numpy as np

from ..autograd import enable_grad, no_grad, tensor
from ..errors import CheckpointError
from ..nn import functional as F
from ..ops import naive
from ..ops.conv import conv1d_forward, conv2d_forward
from ..ops.resample import dilate_forward
from .trace import Check, difference

FD_TOLERANCE = 1e-6  # relative: central differences in float64 with a step of ~1e-6


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


def conv_identities(module, x, do, dw, dx):
    """Checks of a Conv2d's autograd gradients against the two identities (groups=1, zero
    padding), computed with conv2d_forward over all filters at once:

        dW[f,c]  = Xp[c] (*) dilate(dO[f], S)                      (its first KH x KW, every D-th)
        dXp[c]   = sum_f  full cross-correlation of dilate(dO[f], S) with rot180(W[f,c])
        dX       = dXp without its padding (rows no window reached: 0)

    x (1, C, H, W), do (1, F, OH, OW), dw (F, C, KH, KW), dx (1, C, H, W) -> [Check] ([] when
    the layer is grouped or pads with something else than zeros).
    """
    if module.groups != 1 or module.padding_mode != "zeros" or isinstance(module.padding, str):
        return []
    w = module.weight.data
    (kh, kw), s, d, (ph, pw) = w.shape[2:], module.stride, module.dilation, module.padding
    dod, _ = dilate_forward(do, factor=s)
    corr, _ = conv2d_forward(x.transpose(1, 0, 2, 3), dod.transpose(1, 0, 2, 3), padding=(ph, pw))
    dw_id = corr[:, :, :: d[0], :: d[1]][:, :, :kh, :kw].transpose(1, 0, 2, 3)
    rot = w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3).copy()
    pads = (d[0] * (kh - 1), d[1] * (kw - 1))
    full, _ = conv2d_forward(dod, rot, padding=pads, dilation=d)
    h, wd = x.shape[2:]
    dxp = np.zeros((1, x.shape[1], h + 2 * ph, wd + 2 * pw))
    fh, fw = min(full.shape[2], dxp.shape[2]), min(full.shape[3], dxp.shape[3])
    dxp[:, :, :fh, :fw] = full[:, :, :fh, :fw]
    dx_id = dxp[:, :, ph : ph + h, pw : pw + wd]
    scale = max(1.0, float(np.abs(dw).max()), float(np.abs(dx).max()))
    return [
        Check(
            f"dW = Xp (*) dilate(dO, {s[0]}) (conv2d_forward) vs autograd",
            difference(dw_id, dw),
            1e-9 * scale,
        ),
        Check(
            f"dX = full cross-correlation of dilate(dO, {s[0]}) with rot180(W), summed over"
            " filters (conv2d_forward) vs autograd",
            difference(dx_id, dx),
            1e-9 * scale,
        ),
    ]


def directional_check(what, loss, value, grad, scale=1.0, seed=0, keep_ties=False):
    """Central differences of ``loss`` along a random unit direction v of ``value`` vs <grad, v>.

    loss(array like value) -> float. ``keep_ties``: v gives equal entries of value equal steps,
    so that equal windows stay equal and a max-pool tie stays a tie (a random step would break
    it, and the difference quotient would then follow the larger side, not the routed one).
    Tolerance: 1e-6 relative, plus the rounding of a loss whose logits are about ``scale``
    divided by the step.
    """
    rng = np.random.default_rng(seed)
    if keep_ties:
        levels, where = np.unique(value, return_inverse=True)
        v = rng.standard_normal(levels.size)[where].reshape(value.shape)
    else:
        v = rng.standard_normal(value.shape)
    v /= np.linalg.norm(v)
    eps = 1e-6 * max(1.0, float(np.abs(value).max()))
    numeric = (loss(value + eps * v) - loss(value - eps * v)) / (2 * eps)
    analytic = float(np.sum(grad * v))
    rounding = 4 * np.finfo(np.float64).eps * max(1.0, scale) / eps
    tolerance = FD_TOLERANCE * max(abs(analytic), abs(numeric)) + rounding
    return Check(f"{what}: central differences along a random direction vs backward",
                 abs(numeric - analytic), tolerance)  # fmt: skip


def loss_of(chain, target):
    """x (1, C, H, W) -> the cross-entropy of the chain's logits for ``target``."""

    def loss(x):
        with no_grad():
            return float(F.cross_entropy(forward(chain, x)[-1], np.array([target])).data)

    return loss


def pair(v):
    """An int or a pair -> (int, int)."""
    return (int(v), int(v)) if np.isscalar(v) else tuple(int(a) for a in v)


def loss_of_param(chain, x, param, target):
    """value -> the chain's loss on x with ``param``'s values replaced by value (then restored)."""
    whole = loss_of(chain, target)

    def loss(value):
        kept, param.data = param.data, value
        try:
            return whole(x)
        finally:
            param.data = kept

    return loss


def naive_checks(chain, acts):
    """{layer: [Check]}: every cell of each Conv2d / max, mean or min pool output recomputed by
    the loop twins of ``ops.naive`` (the definitions, one window at a time) against the layer's
    output in ``acts``; layers the twins do not cover (uneven or string padding, groups, a
    padded or ceil_mode pool) are left out."""
    checks = {}
    for k, (name, module) in enumerate(chain):
        x, out = acts[k][0], acts[k + 1][0]
        kind = type(module).__name__
        if kind == "Conv2d" and module.groups == 1 and not isinstance(module.padding, str):
            s, p, d = (set(v) for v in (module.stride, module.padding, module.dilation))
            if len(s) == len(p) == len(d) == 1 and module.padding_mode == "zeros":
                w, b = module.weight.data, module.bias
                bias = np.zeros(w.shape[0]) if b is None else b.data
                twin = np.stack(
                    [
                        naive.corr2d(x, w[f], bias[f], min(s), min(p), min(d))
                        for f in range(w.shape[0])
                    ]
                )
                checks[name] = [_all_cells(name, "naive.corr2d", twin, out)]
        elif kind in REDUCE and not module.ceil_mode and pair(module.padding) == (0, 0):
            (k0, k1), (s0, s1) = pair(module.kernel_size), pair(module.stride)
            if k0 == k1 and s0 == s1:
                twin = naive.pool2d(x, k0, s0, REDUCE[kind])
                checks[name] = [_all_cells(name, "naive.pool2d", twin, out)]
    return checks


REDUCE = {"MaxPool2d": np.max, "AvgPool2d": np.mean, "MinPool2d": np.min}


def _all_cells(name, twin_name, twin, out):
    scale = max(1.0, float(np.abs(out).max()))
    return Check(
        f"every cell of {name} ({out.size}) recomputed one window at a time by ops.{twin_name}"
        " vs the network's forward",
        difference(twin, out),
        1e-9 * scale,
    )
