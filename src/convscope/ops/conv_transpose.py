"""Transposed convolution, 1-D and 2-D: the adjoint of conv, built from conv's pieces.

    y = scatter_windows(W^T x) + b     (scatter: stride S, dilation D, padding P cropped off)
    x (N, C_in, H, W), w (C_in, C_out/groups, KH, KW), b (C_out,) -> y (N, C_out, OH, OW)
    OH = (H - 1)*S - 2P + D*(KH - 1) + output_padding + 1

Its forward is conv's dX (multiply by W^T, scatter the windows); its backward is
conv's forward for dX (gather windows of dy, multiply by W) and conv's dW with the
roles of x and dy swapped. output_padding adds rows/columns at the bottom/right
that no window reaches (they hold the bias only). One sample (C_in, H, W) is a batch of one
(ops.unbatched).
"""

from typing import NamedTuple

from . import unbatched
from .conv import (
    ConvGeometry,
    checked,
    gather_windows,
    promoted,
    unlift,
    weight_t_scattered,
    windows_grad_weight,
    windows_times_weight,
)


class ConvTransposeCache(NamedTuple):
    x: object
    w: object
    geom: ConvGeometry
    dtypes: tuple  # the inputs' dtypes (x, w, b); grads come back in them


def conv_transpose2d_forward(
    x, w, b=None, *, stride=1, padding=0, output_padding=0, dilation=1, groups=1
):
    """x (N, C_in, H, W), w (C_in, C_out/groups, KH, KW), b (C_out,) -> (y (N, C_out, OH, OW), cache)."""
    hyper = {"stride": stride, "padding": padding, "output_padding": output_padding,
             "dilation": dilation, "groups": groups}  # fmt: skip
    if x.ndim == 3:  # one sample (C_in, H, W)
        return unbatched.forward(conv_transpose2d_forward, x, w, b, **hyper)
    return _forward(*checked("conv_transpose2d", x, w, b, **hyper), b)


def conv_transpose1d_forward(
    x, w, b=None, *, stride=1, padding=0, output_padding=0, dilation=1, groups=1
):
    """x (N, C_in, L), w (C_in, C_out/groups, K), b (C_out,) -> (y (N, C_out, OL), cache)."""
    hyper = {"stride": stride, "padding": padding, "output_padding": output_padding,
             "dilation": dilation, "groups": groups}  # fmt: skip
    if x.ndim == 2:  # one sample (C_in, L)
        return unbatched.forward(conv_transpose1d_forward, x, w, b, **hyper)
    y, cache = _forward(*checked("conv_transpose1d", x, w, b, **hyper), b)
    return y[:, :, 0], cache


def _forward(x, w, geom, b):
    x, w, dtypes, dtype = promoted(x, w, b)
    y = weight_t_scattered(x, w, geom.groups, geom.windows, geom.out_size)
    if b is not None:
        y += b.astype(dtype, copy=False)[:, None, None]
    return y, ConvTransposeCache(x, w, geom, dtypes)


def conv_transpose2d_backward(dy, cache, needs=(True, True, True)):
    """(dx, dw, db): dx = conv2d(dy, w) cropped to x's size, dw = x correlated with dy's windows."""
    if isinstance(cache, unbatched.Unbatched):
        return unbatched.backward(conv_transpose2d_backward, dy, cache, needs)
    x, w, geom, (x_dtype, w_dtype, b_dtype) = cache
    dy = dy.astype(w.dtype, copy=False)
    dx = dw = db = None
    if needs[0] or needs[1]:
        cols = gather_windows(dy, geom.kernel, geom.stride, geom.dilation, geom.pads, geom.in_size)
        if needs[0]:
            dx = windows_times_weight(cols, w, geom.groups).astype(x_dtype, copy=False)
        if needs[1]:
            dw = windows_grad_weight(x, cols, geom.groups).astype(w_dtype, copy=False)
    if b_dtype is not None and needs[2]:
        db = dy.sum(axis=(0, 2, 3)).astype(b_dtype, copy=False)
    return dx, dw, db


def conv_transpose1d_backward(dy, cache, needs=(True, True, True)):
    """(dx, dw, db) for y = conv_transpose1d(x, w, b); dx (N, C_in, L), dw (C_in, C_out/groups, K)."""
    if isinstance(cache, unbatched.Unbatched):
        return unbatched.backward(conv_transpose1d_backward, dy, cache, needs)
    return unlift(*conv_transpose2d_backward(dy[:, :, None], cache, needs))
