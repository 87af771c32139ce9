"""Direct convolution of small stride-1 layers on the compiled kernels (kernels.direct_conv).

    y  = conv(x, w) + b                      x packed channel-major and padded, no window copy
    dX = full correlation of dy with w flipped and transposed   (w finite, pads <= reach)
    dW = correlation of x with dy                               (x finite; else None)

dy is laid once on the padded input's grid (``spread``) and serves both. The packed x and
the spread dy live in reused buffers (ops.buffers): fresh ones cost their page faults.

ops.conv decides which layers come here (``conv.direct_rule``) and keeps the windows path as the
reference and the fallback. The grads come back in the inputs' dtypes.
"""

import functools
from typing import NamedTuple

import numpy as np

from .. import kernels
from .buffers import scratch
from .geometry import span

# The packed input's layout (kernels.direct_conv.pack), measured per call (float32, one
# thread; sample-major's time in brackets). Batch-minor computes no dropped columns but
# writes y with strided reads: it wins where the dropped columns RW/WP are many, LeNet conv2
# (64, 6 -> 16, 5x5, 14x14: 29%) forward 0.40 ms (0.53), dW 0.31 (0.42), dy laid out 0.05
# (0.09); (32, 16 -> 32, 5x5, 16x16, pad 2: 20%) forward 2.6 (3.1); (64, 3 -> 16, 7x7,
# 32x32, pad 3: 16%) forward 4.5 (5.5). It loses where they are few: conv1 (64, 1 -> 6,
# 5x5, 28x28, pad 2: 12.5%) forward 0.41 (0.35); (16, 3 -> 32, 5x5, 64x64: 6%) 4.2 (3.9).
BATCH_MINOR_DROPPED = 0.15  # RW / WP from which the batch goes innermost


class DirectCache(NamedTuple):
    x: np.ndarray  # the input (the windows path's dW needs it when x holds nan/inf)
    packed: tuple  # kernels.direct_conv.pack(x): (flat padded x, HP, WP, its column step)
    w: np.ndarray
    geom: object  # the ConvGeometry
    dtypes: tuple  # the inputs' dtypes (x, w, b)


@functools.lru_cache(maxsize=512)
def reach(geom):
    """(D*(KH-1), D*(KW-1)): how far a window reaches past its first tap."""
    return tuple(span(k, d) - 1 for k, d in zip(geom.kernel, geom.dilation, strict=True))


def batch_minor(geom, reach_w):
    """True when the packed layout puts the batch innermost (see BATCH_MINOR_DROPPED);
    reach_w: how far the kernel reaches across, D*(KW-1)."""
    return reach_w >= BATCH_MINOR_DROPPED * (geom.in_size[1] + sum(geom.pads[1]))


def forward(x, w, b, geom, dtypes):
    """(y, DirectCache) of a stride-1, one-group conv; x and w already in the common dtype."""
    k, r = kernels.direct(), reach(geom)
    size = k.packed_size(x.shape, geom.pads, r)
    packed = k.pack(
        x, geom.pads, r, out=scratch((size,), x.dtype), batch_minor=batch_minor(geom, r[1])
    )
    y = k.forward(packed, w, b, geom.out_size, geom.dilation, x.shape[0])
    return y, DirectCache(x, packed, w, geom, dtypes)


def input_grad_usable(geom, w):
    """dX by the direct kernel needs the padding within the kernel's reach and a finite w (it
    multiplies w with the zeros around dy, and 0 * inf is nan where PyTorch gives inf)."""
    r = reach(geom)
    (pt, pb), (pl, pr) = geom.pads
    return max(pt, pb) <= r[0] and max(pl, pr) <= r[1] and bool(np.isfinite(w).all())


def spread(dy, cache):
    """dy laid on the padded input's grid (kernels.direct_conv.spread), for dX and dW."""
    k, pads, r = kernels.direct(), cache.geom.pads, reach(cache.geom)
    size, _ = k.spread_size(dy.shape, cache.packed, pads, r)
    return k.spread(dy, cache.packed, pads, r, out=scratch((size,), cache.packed[0].dtype))


def input_grad(spreaded, cache):
    """dX (N, C, H, W): the full correlation of dy with the flipped kernel."""
    g = cache.geom
    return kernels.direct().input_grad(spreaded, cache.packed, cache.w, g.in_size, g.dilation,
                                       cache.x.shape[0])  # fmt: skip


def weight_grad(spreaded, cache):
    """dW (F, C, KH, KW), or None when x holds nan or inf: the kernel multiplies the zeros
    between dy's rows with x, and 0 * inf would give nan where PyTorch gives inf."""
    if not np.isfinite(cache.x).all():
        return None
    g = cache.geom
    return kernels.direct().grad_weight(cache.packed, spreaded, cache.w.shape, g.dilation,
                                        (cache.x.shape[0], g.out_size[0]))  # fmt: skip
