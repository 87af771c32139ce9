"""Checks of a real network's numbers, each a :class:`Check` the page shows beside them.

conv_identities(conv, x, dO, dW, dX)      dW = Xp (*) dilate(dO), dX = full corr(dilate(dO),
                                          rot180 W) summed over filters, vs autograd
directional_check(what, loss, value, g)   central differences along a random direction vs <g, v>
loss_of(chain, target), loss_of_param(...)  the losses those differences are taken of
naive_checks(chain, acts)                 every conv/pool cell recomputed by ops.naive's twins
"""

import numpy as np

from ..autograd import no_grad
from ..nn import functional as F
from ..ops import naive
from ..ops.conv import conv2d_forward
from ..ops.resample import dilate_forward
from .network import forward, pair
from .trace import Check, difference

FD_TOLERANCE = 1e-6  # relative: central differences in float64 with a step of ~1e-6
REDUCE = {"MaxPool2d": np.max, "AvgPool2d": np.mean, "MinPool2d": np.min}


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


def _all_cells(name, twin_name, twin, out):
    scale = max(1.0, float(np.abs(out).max()))
    return Check(
        f"every cell of {name} ({out.size}) recomputed one window at a time by ops.{twin_name}"
        " vs the network's forward",
        difference(twin, out),
        1e-9 * scale,
    )
