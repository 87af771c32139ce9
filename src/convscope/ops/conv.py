"""Convolution (cross-correlation, as in every DL framework), 1-D and 2-D, forward and backward.

    y[n,f,i,j] = b[f] + sum_{c,u,v} w[f,c,u,v] * xpad[n, g(f)*Cg + c, i*S + u*D, j*S + v*D]
    x (N, C, H, W), w (F, C/groups, KH, KW), b (F,) -> y (N, F, OH, OW)
    OH = floor((H + P_top + P_bottom - D*(KH-1) - 1) / S) + 1      (likewise OW)

1-D is 2-D with H = 1: one code path; one sample (C, H, W) is a batch of one (ops.unbatched);
zero input channels give the bias (a sum over nothing). Forward pads once, gathers the windows into
columns (N, C, KH, KW, OH, OW) and does one batched matmul. Backward:
dW = columns contracted with dy; dX = W^T dy scattered back onto the padded input
(a loop over the KH*KW kernel offsets); db = dy summed. A 1x1 stride-1 unpadded conv
is a plain matmul both ways (no windows to gather or scatter). Columns larger than two
cache-sized chunks (STREAM_BYTES) are made, used and dropped a chunk of the batch at a
time where no backward is to come (ops.cache_need) or where they would take more than
KEEP_BYTES: the backward then gathers them again, a chunk at a time.

Speed: the large temporaries (padded input, columns, their gradient) come from
``buffers.scratch`` and are reused across calls instead of being mapped afresh each time;
``scatter_windows`` runs the compiled twin in ``kernels.im2col`` when ``kernels.available()``
(one pass per plane instead of KH*KW passes, a padded buffer and a crop). The gather stays
NumPy on both paths: one strided view copied once runs at memory speed. With the compiled
kernels, 3x3 stride-1 layers with >= 8 channels take Winograd F(2x2, 3x3) (ops.winograd), and
small stride-1 layers (``direct_rule``) a direct convolution without windows (ops.direct).
On both paths, layers with stride 1 across and enough channels (``row_windows.rule``) gather
only the rows of each window, KH instead of KH*KW copies of the input (ops.row_windows).
"""

import functools
import math
from functools import partial
from typing import NamedTuple

import numpy as np

from .. import kernels
from ..backend import get_xp
from ..errors import ShapeError
from . import direct, row_windows, unbatched, winograd
from .buffers import samples_per_chunk, scratch, zero_padded
from .cache_need import cache_needed
from .geometry import (
    Windows,
    conv_params,
    params_windows,
    remembered,
    span,
    spatial_input,
    taps,
)


class ConvGeometry(NamedTuple):
    """One conv call, checked: its window geometry and its channels."""

    windows: Windows
    groups: int
    in_channels: int
    out_channels: int

    kernel = property(lambda g: g.windows.kernel)
    stride = property(lambda g: g.windows.stride)
    dilation = property(lambda g: g.windows.dilation)
    pads = property(lambda g: g.windows.pads)  # ((before, after), ...) per spatial dimension
    in_size = property(lambda g: g.windows.in_size)
    out_size = property(lambda g: g.windows.out_size)


_WEIGHT = {
    False: {
        1: "(out_channels, in_channels/groups, K)",
        2: "(out_channels, in_channels/groups, KH, KW)",
    },
    True: {
        1: "(in_channels, out_channels/groups, K)",
        2: "(in_channels, out_channels/groups, KH, KW)",
    },
}


def check_groups(op, groups):
    """groups must be a positive integer; returns it as an int."""
    if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or groups < 1:
        raise ShapeError(f"{op}: groups must be a positive integer, got groups={groups!r}")
    return int(groups)


def check_conv(
    op,
    x_shape,
    w_shape,
    stride=1,
    padding=0,
    dilation=1,
    groups=1,
    *,
    bias_shape=None,
    output_padding=None,
):
    """The one shape checker of the conv family; returns a ConvGeometry or raises ShapeError.

    op names the call and its dimensionality ("conv1d", "conv_transpose2d", "Conv2d", ...).
    output_padding=None means a plain convolution; an int/tuple means a transposed one, whose
    weight is (in_channels, out_channels/groups, K...). The window geometry (pads, output
    sizes and their errors) comes from ``geometry.conv_windows``.
    """
    nsp = 2 if op.lower().endswith("2d") else 1
    transposed = output_padding is not None
    groups = check_groups(op, groups)
    params = conv_params(op, nsp, stride, padding, dilation, output_padding)
    one = spatial_input(op, x_shape, nsp)  # (N, C, *spatial) or one sample (C, *spatial)
    if len(w_shape) != nsp + 2:
        raise ShapeError(
            f"{op}: weight must be {nsp + 2}-D {_WEIGHT[transposed][nsp]}, got shape"
            f" {tuple(w_shape)}"
        )
    kernel = tuple(int(k) for k in w_shape[2:])
    if min(kernel) < 1:
        raise ShapeError(f"{op}: kernel size must be >= 1, got weight shape {tuple(w_shape)}")
    if 0 in w_shape[: 1 + transposed]:
        what = "input or output channels" if transposed else "filters (output channels)"
        raise ShapeError(
            f"{op}: weight {tuple(w_shape)} has no {what}; PyTorch refuses it too: give the"
            f" weight at least one on axis {int(transposed)}"
        )
    cin, sizes = int(x_shape[1 - one]), tuple(int(s) for s in x_shape[2 - one :])
    cout = _check_channels(op, cin, w_shape, groups, transposed)
    windows = params_windows(op, sizes, kernel, *params)
    if bias_shape is not None and tuple(bias_shape) != (cout,):
        raise ShapeError(
            f"{op}: bias must have shape ({cout},), one value per output channel; got shape"
            f" {tuple(bias_shape)}"
        )
    return ConvGeometry(windows, groups, cin, cout)


def checked(op, x, w, b, **hyper):
    """(x, w, geometry) of op(x, w, b, **hyper), checked; a 1-D call is lifted to 2-D (H = 1).
    The check is remembered per shapes and arguments (geometry.remembered)."""
    geom = _check_conv(op, x.shape, w.shape, None if b is None else b.shape, hyper)
    if len(geom.kernel) == 2:
        return x, w, geom
    return x[:, :, None], w[:, :, None], geom._replace(windows=geom.windows.lift())


@remembered(trusted=4)  # the op's name and the arrays' shapes
def _check_conv(op, x_shape, w_shape, bias_shape, hyper):
    return check_conv(op, x_shape, w_shape, bias_shape=bias_shape, **hyper)


def _check_channels(op, cin, w_shape, groups, transposed):
    """Channel rules of both layouts; returns the number of output channels."""
    if cin % groups:
        raise ShapeError(
            f"{op}: groups={groups} must divide the {cin} input channels; choose groups among"
            f" the divisors of {cin}"
        )
    if transposed:
        if int(w_shape[0]) != cin:
            raise ShapeError(
                f"{op}: input has {cin} channels but weight {tuple(w_shape)} expects"
                f" {w_shape[0]} (weight is {_WEIGHT[True][len(w_shape) - 2]}, groups={groups})"
            )
        return int(w_shape[1]) * groups
    cout, per_group = int(w_shape[0]), int(w_shape[1])
    if per_group * groups != cin:
        raise ShapeError(
            f"{op}: input has {cin} channels but weight {tuple(w_shape)} with groups={groups}"
            f" expects {per_group}*{groups} = {per_group * groups}; the weight's second axis"
            f" must be in_channels/groups = {cin}/{groups}"
        )
    if cout % groups:
        raise ShapeError(
            f"{op}: groups={groups} must divide the {cout} output channels (weight"
            f" {tuple(w_shape)}); use a number of filters divisible by groups"
        )
    return cout


# ---- the array pieces (2-D; 1-D callers add H = 1) ---------------------------------------------


def gather_windows(x, kernel, stride, dilation, pads, out_size):
    """cols[n,c,u,v,i,j] = x[n, c, i*SH + u*DH - PT, j*SW + v*DW - PL] (0 outside x).

    x (N, C, H, W) unpadded, pads ((PT, PB), (PL, PR)) -> contiguous (N, C, KH, KW, OH, OW):
    a strided view of every window of the padded input, copied once (a 1x1, stride-1,
    unpadded kernel needs no copy: x itself, reshaped).
    """
    (kh, kw), (sh, sw), (dh, dw), (oh, ow) = kernel, stride, dilation, out_size
    xpad = zero_padded(x, pads)
    n, c = xpad.shape[:2]
    if kh == kw == sh == sw == 1 and xpad.shape[2:] == (oh, ow):
        return xpad.reshape(n, c, 1, 1, oh, ow)
    xp = get_xp(x)
    s_n, s_c, s_h, s_w = xpad.strides
    windows = xp.lib.stride_tricks.as_strided(
        xpad,
        shape=(n, c, kh, kw, oh, ow),
        strides=(s_n, s_c, s_h * dh, s_w * dw, s_h * sh, s_w * sw),
    )
    cols = _empty(xp, windows.shape, x.dtype)
    cols[...] = windows
    return cols


def scatter_windows(dcols, stride, dilation, pads, size, out=None):
    """Adjoint of gather_windows: dx[n,c,i*SH+u*DH-PT, j*SW+v*DW-PL] += dcols[n,c,u,v,i,j].

    dcols (N, C, KH, KW, OH, OW) -> dx (N, C, H, W) with (H, W) = size, written into ``out``
    (contiguous) when given; positions that fall in the padding are dropped.
    """
    xp = get_xp(dcols)
    if xp is np and kernels.available():
        return kernels.windows().scatter_windows(dcols, stride, dilation, pads, size, out=out)
    n, c, kh, kw, oh, ow = dcols.shape
    (sh, sw), (dh, dw), ((t, b), (l, r)) = stride, dilation, pads
    if not (t or b or l or r):  # dx itself: a fresh array or out
        dxpad = xp.zeros((n, c, *size), dtype=dcols.dtype) if out is None else out
        if out is not None:
            out.fill(0)
    else:  # a reused buffer, cropped into a fresh dx (or out) below
        dxpad = _empty(xp, (n, c, size[0] + t + b, size[1] + l + r), dcols.dtype)
        dxpad.fill(0)
    for u in range(kh):
        rows = taps(u, oh, sh, dh)
        for v in range(kw):
            dxpad[:, :, rows, taps(v, ow, sw, dw)] += dcols[:, :, u, v]
    if not (t or b or l or r):
        return dxpad
    cropped = dxpad[:, :, t : t + size[0], l : l + size[1]]
    if out is None:
        return cropped.copy()
    out[...] = cropped
    return out


def _empty(xp, shape, dtype):
    """An uninitialised temporary: a reused buffer for NumPy arrays (see ops.buffers)."""
    return scratch(shape, dtype) if xp is np else xp.empty(shape, dtype=dtype)


def windows_times_weight(cols, w, groups, out=None):
    """y[n,f,i,j] = sum_{c,u,v} w[f,c,u,v] cols[n,g*Cg+c,u,v,i,j]: (N,C,KH,KW,OH,OW) -> (N,F,OH,OW),
    into ``out`` (N, F, OH, OW), contiguous, when given."""
    n, c, kh, kw, oh, ow = cols.shape
    f, k = w.shape[0], c // groups * kh * kw
    wm = w.reshape(groups, f // groups, k)
    into = None if out is None else out.reshape(n, groups, f // groups, oh * ow)
    y = get_xp(cols, w).matmul(wm, cols.reshape(n, groups, k, oh * ow), out=into)
    return y.reshape(n, f, oh, ow)


# The windows are gathered and multiplied a chunk of the batch at a time, about this many
# bytes of columns, so that the GEMM reads them from cache: measured forward, float32, one
# thread, hot / as the bench calls it (cold): strided (16, 32 -> 64, 3x3, 64x64, stride 2)
# 8.5 / 14.8 ms -> 8.5 / 10.6; VGG (32, 64 -> 64, 3x3, 32x32) on the NumPy path 39 / 46 ->
# 30 / 32; ResNet (8, 64 -> 64, 3x3, 56x56) 27 / 32 -> 20 / 26. 0.5, 1 and 2 MB chunks
# measured alike. dX scatters W^T dy chunk by chunk too (weight_t_scattered). Columns above
# KEEP_BYTES are not kept for the backward either: it gathers them again, chunk by chunk
# (_streamed_backward). Strided forward + backward, cold: 39.2-39.6 ms -> 34.3-35.2 (the dX
# chunks) -> 33.6-33.7 (its 19 MB of columns gathered again; NumPy path 40.8-41.2 -> 35.2-35.4);
# LeNet conv1 (64, 1 -> 6, 5x5, pad 2; 4.8 MB of columns) on the NumPy path 4.42-4.71 ->
# 4.63-5.00 ms gathered again, so smaller columns are kept.
STREAM_BYTES = 1 << 20
KEEP_BYTES = 8 << 20


def _columns(x, geom):
    """gather_windows of x with the geometry's kernel, stride, dilation, pads and output size."""
    return gather_windows(x, geom.kernel, geom.stride, geom.dilation, geom.pads, geom.out_size)


def _columns_bytes(x, geom):
    """The size of x's window columns (N, C, KH, KW, OH, OW) in bytes."""
    return x.shape[0] * x.shape[1] * math.prod(geom.kernel + geom.out_size) * x.itemsize


def streamed_windows_forward(x, w, geom):
    """windows_times_weight(gather_windows(x, ...), w) chunk by chunk of whole samples, no
    columns kept; None where the columns fit in two chunks anyway or are x itself (1x1)."""
    n = x.shape[0]
    (oh, ow), sample = geom.out_size, _columns_bytes(x[:1], geom)
    pointwise = geom.kernel == geom.stride == (1, 1) and geom.pads == ((0, 0), (0, 0))
    if pointwise or n * sample <= 2 * STREAM_BYTES:
        return None
    step = samples_per_chunk(sample, STREAM_BYTES)
    y = np.empty((n, w.shape[0], oh, ow), dtype=np.result_type(x, w))
    for n0 in range(0, n, step):  # chunks of the batch sized to the cache, not single items
        windows_times_weight(
            _columns(x[n0 : n0 + step], geom), w, geom.groups, out=y[n0 : n0 + step]
        )
    return y


def weight_t_times(dy, w, groups, kernel, temporary=True):
    """dcols = W^T dy per group: dy (N,F,OH,OW), w (F,C/g,KH,KW) -> (N, C, KH, KW, OH, OW).

    temporary=True writes into a reused buffer (the caller consumes it before the next call);
    False returns a fresh array the caller may hand out.
    """
    n, f, oh, ow = dy.shape
    c_per_group = w.shape[1]
    k = c_per_group * kernel[0] * kernel[1]
    wm = w.reshape(groups, f // groups, k).transpose(0, 2, 1)
    xp = get_xp(dy, w)
    dtype = xp.result_type(dy, w)
    out = _empty(xp, (n, groups, k, oh * ow), dtype) if temporary else None
    dcols = xp.matmul(wm, dy.reshape(n, groups, f // groups, oh * ow), out=out)
    return dcols.reshape(n, groups * c_per_group, *kernel, oh, ow)


def weight_t_scattered(d, w, groups, windows, size, out=None):
    """scatter_windows(weight_t_times(d, w)): conv's dX (d = dy, size = x's) and conv_transpose's
    forward (d = x). d (N, F, OH, OW), w (F, C/g, KH, KW) -> (N, C, *size), written into ``out``
    (contiguous) when given; a chunk of the batch (about STREAM_BYTES of columns) at a time,
    so that the scatter reads them from cache."""
    n, (oh, ow) = d.shape[0], d.shape[2:]
    xp = get_xp(d, w)
    dtype = xp.result_type(d, w)
    c, (kh, kw) = w.shape[1] * groups, windows.kernel
    step = samples_per_chunk(c * kh * kw * oh * ow * dtype.itemsize, STREAM_BYTES)
    scatter = partial(scatter_windows, stride=windows.stride, dilation=windows.dilation,
                      pads=windows.pads, size=size)  # fmt: skip
    if n <= step:
        return scatter(weight_t_times(d, w, groups, windows.kernel), out=out)
    if out is None:
        out = xp.empty((n, c, *size), dtype=dtype)
    for n0 in range(0, n, step):  # chunks of the batch sized to the cache, not single items
        scatter(
            weight_t_times(d[n0 : n0 + step], w, groups, windows.kernel), out=out[n0 : n0 + step]
        )
    return out


def windows_grad_weight(dy, cols, groups):
    """dw[f,c,u,v] = sum_{n,i,j} dy[n,f,i,j] cols[n,g*Cg+c,u,v,i,j] -> (F, C/g, KH, KW)."""
    n, f, oh, ow = dy.shape
    c, kh, kw = cols.shape[1:4]
    dym = dy.reshape(n, groups, f // groups, oh * ow)
    cm = cols.reshape(n, groups, c // groups * kh * kw, oh * ow)
    xp = get_xp(dy, cols)
    if f // groups <= oh * ow:  # per-sample GEMMs, then a sum: the partial sums are small
        dw = xp.matmul(dym, cm.transpose(0, 1, 3, 2)).sum(axis=0)
    else:  # fold the batch into the contraction: one GEMM per group, no large partial sums
        dw = xp.matmul(_fold_batch(dym), _fold_batch(cm).transpose(0, 2, 1))
    return dw.reshape(f, c // groups, kh, kw)


def _fold_batch(a):
    """(N, G, R, P) -> (G, R, N*P) (one copy), so the contraction over n and p is one GEMM."""
    n, g, r, p = a.shape
    return a.transpose(1, 2, 0, 3).reshape(g, r, n * p)


# ---- the ops ----------------------------------------------------------------------------------


class ConvCache(NamedTuple):
    x: object  # the (promoted) input: backward gathers its windows again where cols is None
    cols: object  # the windows (N, C, KH, KW, OH, OW), or None: not kept
    w: object
    geom: ConvGeometry
    dtypes: tuple  # the inputs' dtypes (x, w, b); grads come back in them


def conv2d_forward(x, w, b=None, *, stride=1, padding=0, dilation=1, groups=1):
    """x (N, C, H, W), w (F, C/groups, KH, KW), b (F,) or None -> (y (N, F, OH, OW), cache);
    one sample x (C, H, W) -> y (F, OH, OW)."""
    hyper = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}
    if x.ndim == 3:
        return unbatched.forward(conv2d_forward, x, w, b, **hyper)
    return _conv_forward(*checked("conv2d", x, w, b, **hyper), b)


def conv1d_forward(x, w, b=None, *, stride=1, padding=0, dilation=1, groups=1):
    """x (N, C, L), w (F, C/groups, K), b (F,) or None -> (y (N, F, OL), cache); one sample
    x (C, L) -> y (F, OL)."""
    hyper = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}
    if x.ndim == 2:
        return unbatched.forward(conv1d_forward, x, w, b, **hyper)
    y, cache = _conv_forward(*checked("conv1d", x, w, b, **hyper), b)
    return y[:, :, 0], cache


def promoted(x, w, b):
    """(x, w, the inputs' dtypes, their common dtype): x and w cast to it; grads go back in
    the inputs' own dtypes."""
    dtypes = (x.dtype, w.dtype, None if b is None else b.dtype)
    if x.dtype == w.dtype and (b is None or b.dtype == x.dtype):  # the usual call: no cast
        return x, w, dtypes, x.dtype
    dtype = np.result_type(*(d for d in dtypes if d is not None))
    return x.astype(dtype, copy=False), w.astype(dtype, copy=False), dtypes, dtype


# The direct kernel's limits (kernels.direct_conv), measured per call (float32, one thread,
# the windows path's time in brackets): LeNet conv2 (64, 6 -> 16, 5x5, 14x14) forward 1.0 ms
# (1.5), forward + backward 3.5 (5.1); conv1 (64, 1 -> 6, 5x5, pad 2) 0.55 (1.2) and 2.4 (5.1);
# (32, 16 -> 32, 5x5, 16x16, pad 2) 3.8 (5.0) and 15.5 (16.3); (16, 3 -> 32, 5x5, 64x64) 5.2
# (7.8) and 26.7 (27.2). Its inner loop sums five kernel columns per pass; with 3x3 kernels
# it sums three and loses: (64, 1 -> 32, 3x3, 28x28) forward 1.8 (1.3), (32, 8 -> 32, 3x3,
# 32x32) forward + backward 16.7 (15.7). The GEMM wins once the contraction C*KH*KW grows.
DIRECT_MIN_WIDTH = 5  # kernel columns KW: the kernel's five-column pass
DIRECT_MAX_TAPS = 400  # C*KH*KW: LeNet conv2's dX (16*5*5) is the largest measured
DIRECT_MAX_OUT = 32  # output channels: every one is computed from the same packed input


def direct_rule(geom, dtype, in_channels=None, out_channels=None):
    """True when the compiled direct convolution takes this layer: one group, stride 1, a
    kernel DIRECT_MIN_WIDTH wide or wider, few channels (DIRECT_MAX_TAPS, DIRECT_MAX_OUT),
    float32/64, kernels available. in_channels/out_channels override the geometry's (dX swaps
    them)."""
    cin = geom.in_channels if in_channels is None else in_channels
    cout = geom.out_channels if out_channels is None else out_channels
    return (
        geom.groups == 1
        and geom.stride == (1, 1)
        and geom.kernel[1] >= DIRECT_MIN_WIDTH
        and cin * geom.kernel[0] * geom.kernel[1] <= DIRECT_MAX_TAPS
        and cout <= DIRECT_MAX_OUT
        and dtype in _DIRECT_DTYPES
        and kernels.available()
    )


_DIRECT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


@functools.lru_cache(maxsize=512)
def compiled_route(geom, dtype, compiled):
    """The compiled path a forward of this geometry and dtype takes, by the rules above:
    "winograd" (where x's and w's values also keep its transforms finite), "direct", or None
    (the rows or windows path); compiled: kernels.available(). Remembered: a network calls
    each layer alike every step, and the rules cost ~4 us a call. (The rows rule, which
    tests replace, is asked per call.)"""
    if compiled and winograd.usable(geom, dtype):
        return "winograd"
    if compiled and direct_rule(geom, dtype):
        return "direct"
    return None


def _conv_forward(x, w, geom, b):
    x, w, dtypes, dtype = promoted(x, w, b)
    route = compiled_route(geom, dtype, kernels.available())
    if route == "winograd":
        x_max, w_max = winograd.largest(x), winograd.largest(w)
        if winograd.in_range(dtype, (x_max, w_max, 9 * x.shape[1])):
            return winograd.forward(x, w, b, geom, dtypes, x_max, w_max)
    if route == "direct" and isinstance(x, np.ndarray) and x.size:
        return direct.forward(x, w, b, geom, dtypes)
    if isinstance(x, np.ndarray) and row_windows.rule(geom) and x.size:
        return row_windows.forward(x, w, b, geom, dtypes)
    y = cols = None
    if isinstance(x, np.ndarray) and (not cache_needed() or _columns_bytes(x, geom) > KEEP_BYTES):
        y = streamed_windows_forward(x, w, geom)
    if y is None:
        cols = _columns(x, geom)
        y = windows_times_weight(cols, w, geom.groups)
    if b is not None:
        y += b.astype(dtype, copy=False)[:, None, None]
    return y, ConvCache(x, cols, w, geom, dtypes)


def conv2d_backward(dy, cache, needs=(True, True, True)):
    """(dx, dw, db) for y = conv2d(x, w, b); None for an input that needs no grad or was None."""
    if isinstance(cache, unbatched.Unbatched):
        return unbatched.backward(conv2d_backward, dy, cache, needs)
    if isinstance(cache, winograd.WinogradCache):
        if winograd.backward_in_range(dy, cache):
            return winograd.backward(dy, cache, needs)
        cache = _windows_cache(cache)  # dy holds nan/inf or would overflow the transforms
    if isinstance(cache, direct.DirectCache):
        return _direct_backward(dy, cache, needs)
    if isinstance(cache, row_windows.RowsCache):
        return _rows_backward(dy, cache, needs)
    x, cols, w, geom, (x_dtype, w_dtype, b_dtype) = cache
    dy = dy.astype(w.dtype, copy=False)
    dx = dw = db = None
    if cols is None:
        dx, dw = _streamed_backward(dy, x, w, geom, needs)
    else:
        if needs[0]:
            dx = _input_grad(dy, w, geom)
        if needs[1]:
            dw = windows_grad_weight(dy, cols, geom.groups)
    if dx is not None:
        dx = dx.astype(x_dtype, copy=False)
    if dw is not None:
        dw = dw.astype(w_dtype, copy=False)
    if b_dtype is not None and needs[2]:
        db = dy.sum(axis=(0, 2, 3)).astype(b_dtype, copy=False)
    return dx, dw, db


def _streamed_backward(dy, x, w, geom, needs):
    """(dx, dw) of a windows-path forward that kept no columns: a cache-sized chunk of the
    batch at a time, its windows gathered again and used while in cache."""
    n, step = x.shape[0], samples_per_chunk(_columns_bytes(x[:1], geom), STREAM_BYTES)
    dx = np.empty(x.shape, dtype=w.dtype) if needs[0] else None
    dw = None
    for n0 in range(0, n, step):  # chunks of the batch sized to the cache, not single items
        dyc = dy[n0 : n0 + step]
        if needs[1]:
            part = windows_grad_weight(dyc, _columns(x[n0 : n0 + step], geom), geom.groups)
            dw = part if dw is None else dw + part
        if needs[0]:
            _input_grad(dyc, w, geom, out=dx[n0 : n0 + step])
    return dx, dw


def _direct_backward(dy, cache, needs):
    """Grads of a layer whose forward ran the direct kernel; dX and dW fall back to the
    windows path where the direct kernel does not apply (see ops.direct)."""
    x, _, w, geom, (x_dtype, w_dtype, b_dtype) = cache
    dy = np.ascontiguousarray(dy, dtype=w.dtype)
    dx = dw = db = None
    spreaded = direct.spread(dy, cache) if needs[0] or needs[1] else None
    if needs[0]:
        if direct.input_grad_usable(geom, w) and direct_rule(
            geom, w.dtype, geom.out_channels, geom.in_channels
        ):
            dx = direct.input_grad(spreaded, cache)
        else:
            dx = _input_grad(dy, w, geom)
        dx = dx.astype(x_dtype, copy=False)
    if needs[1]:
        dw = direct.weight_grad(spreaded, cache)
        if dw is None:  # x holds nan/inf: the windows path's sums
            dw = windows_grad_weight(dy, _columns(x, geom), geom.groups)
        dw = dw.astype(w_dtype, copy=False)
    if b_dtype is not None and needs[2]:
        db = dy.sum(axis=(0, 2, 3)).astype(b_dtype, copy=False)
    return dx, dw, db


def _rows_backward(dy, cache, needs):
    """Grads of a layer whose forward ran by row windows; the windows path takes dX where w
    is not finite and dW where the rows' dW is not (see ops.row_windows)."""
    x, _, w, geom, (x_dtype, w_dtype, b_dtype) = cache
    dy = dy.astype(w.dtype, copy=False)
    rows_dx = needs[0] and bool(np.isfinite(w).all())
    dx, dw = row_windows.backward(dy, cache, (rows_dx, needs[1]))
    if needs[0] and not rows_dx:
        dx = _input_grad(dy, w, geom)
    if needs[1] and not np.isfinite(dw).all():  # x or dy not finite: the windows path's sums
        dw = windows_grad_weight(dy, _columns(x, geom), geom.groups)
    db = None
    if b_dtype is not None and needs[2]:
        db = dy.sum(axis=(0, 2, 3)).astype(b_dtype, copy=False)
    dx = None if dx is None else dx.astype(x_dtype, copy=False)
    dw = None if dw is None else dw.astype(w_dtype, copy=False)
    return dx, dw, db


def _windows_cache(c):
    """The windows path's cache, from the input and weight a WinogradCache keeps."""
    return ConvCache(c.x, _columns(c.x, c.geom), c.w, c.geom, c.dtypes)


def _input_grad(dy, w, geom, out=None):
    """dX, written into ``out`` (contiguous) when given. Pointwise: W^T dy. Stride 1 on the
    NumPy path with no more output than input channels and a finite w: the full correlation of
    dy with the flipped, transposed kernel, as windows + GEMM (copying windows measured ~25%
    faster than scattering them). Otherwise W^T dy scattered onto the windows (compiled when
    the kernels are available)."""
    (pt, pb), (pl, pr) = geom.pads
    reach = tuple(span(k, d) - 1 for k, d in zip(geom.kernel, geom.dilation, strict=True))
    if geom.kernel == geom.stride == (1, 1) and (pt, pb, pl, pr) == (0, 0, 0, 0):
        dcols = weight_t_times(dy, w, geom.groups, geom.kernel, temporary=False)
        return _into(out, dcols.reshape(dy.shape[0], -1, *geom.in_size))
    if (
        geom.stride == (1, 1)
        and geom.out_channels <= geom.in_channels
        and max(pt, pb) <= reach[0]
        and max(pl, pr) <= reach[1]
        and not (get_xp(dy) is np and kernels.available())
        and bool(get_xp(w).isfinite(w).all())  # else 0 * inf: nan where torch has inf
    ):
        g, (f, cg, kh, kw) = geom.groups, w.shape
        flipped = w[:, :, ::-1, ::-1].reshape(g, f // g, cg, kh, kw).transpose(0, 2, 1, 3, 4)
        flipped = flipped.reshape(g * cg, f // g, kh, kw)
        pads = ((reach[0] - pt, reach[0] - pb), (reach[1] - pl, reach[1] - pr))
        cols = gather_windows(dy, geom.kernel, (1, 1), geom.dilation, pads, geom.in_size)
        return _into(out, windows_times_weight(cols, flipped, g))
    return weight_t_scattered(dy, w, geom.groups, geom.windows, geom.in_size, out=out)


def _into(out, a):
    """a, or a copied into out when out is given."""
    if out is None:
        return a
    out[...] = a
    return out


def conv1d_backward(dy, cache, needs=(True, True, True)):
    """(dx, dw, db) for y = conv1d(x, w, b); dx (N, C, L), dw (F, C/groups, K)."""
    if isinstance(cache, unbatched.Unbatched):
        return unbatched.backward(conv1d_backward, dy, cache, needs)
    return unlift(*conv2d_backward(dy[:, :, None], cache, needs))


def unlift(dx, dw, db):
    """The grads of a 1-D call lifted to 2-D (H = 1): dx and dw lose the H axis again."""
    return (None if dx is None else dx[:, :, 0], None if dw is None else dw[:, :, 0], db)
