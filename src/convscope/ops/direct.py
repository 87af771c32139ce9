"""Direct convolution of small stride-1 layers on the compiled kernels (kernels.direct_conv).

    y  = conv(x, w) + b                       packed x, no window copy
    dX = conv(dy padded by reach - pads, w flipped and transposed)   (the full correlation)
    dW = correlation of x with dy                                  (x finite; else None)

ops.conv decides which layers come here (``conv.direct_rule``) and keeps the windows path as the
reference and the fallback. The grads come back in the inputs' dtypes.
"""

from typing import NamedTuple

import numpy as np

from .. import kernels
from .geometry import span


class DirectCache(NamedTuple):
    x: np.ndarray  # the input (the windows path's dW needs it when x holds nan/inf)
    packed: tuple  # kernels.direct_conv.pack(x): (flat channel-major padded x, HP, WP)
    w: np.ndarray
    geom: object  # the ConvGeometry
    dtypes: tuple  # the inputs' dtypes (x, w, b)


def reach(geom):
    """(D*(KH-1), D*(KW-1)): how far a window reaches past its first tap."""
    return tuple(span(k, d) - 1 for k, d in zip(geom.kernel, geom.dilation, strict=True))


def forward(x, w, b, geom, dtypes):
    """(y, DirectCache) of a stride-1, one-group conv; x and w already in the common dtype."""
    k = kernels.direct()
    packed = k.pack(x, geom.pads, reach(geom))
    y = k.forward(packed, w, b, geom.out_size, geom.dilation, x.shape[0])
    return y, DirectCache(x, packed, w, geom, dtypes)


def input_grad_usable(geom):
    """dX by the direct kernel needs the padding within the kernel's reach (dy's own padding,
    reach - pads, is then >= 0)."""
    r = reach(geom)
    (pt, pb), (pl, pr) = geom.pads
    return max(pt, pb) <= r[0] and max(pl, pr) <= r[1]


def input_grad(dy, w, geom):
    """dX (N, C, H, W): the stride-1 forward of dy, padded by reach - pads, with the kernel
    flipped and its two channel axes swapped."""
    k = kernels.direct()
    r = reach(geom)
    (pt, pb), (pl, pr) = geom.pads
    flipped = np.ascontiguousarray(w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3))
    packed = k.pack(dy, ((r[0] - pt, r[0] - pb), (r[1] - pl, r[1] - pr)), r)
    return k.forward(packed, flipped, None, geom.in_size, geom.dilation, dy.shape[0])


def weight_grad(dy, cache):
    """dW (F, C, KH, KW), or None when x holds nan or inf: the kernel multiplies the zeros
    between dy's rows with x, and 0 * inf would give nan where PyTorch gives inf."""
    if not np.isfinite(cache.x).all():
        return None
    return kernels.direct().grad_weight(cache.packed, dy, cache.geom.kernel, cache.geom.dilation)
