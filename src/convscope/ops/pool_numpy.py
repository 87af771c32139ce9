"""The NumPy path of max, average and min pooling (ops.pool chooses it, or the compiled twins).

The forward reduces KH*KW strided slices of xpad (one pass per kernel offset, no window
copies). Backward: max/min send each window's gradient to its FIRST extreme element in
row-major order (PyTorch's tie rule; a NaN window's to its last NaN, as PyTorch's; padding
never takes it, even from a -inf input); avg splits it evenly over the window's divisor.
Overlapping windows accumulate; disjoint ones (stride >= the kernel's span) store. Strided
slices beat a (N, C, OH, KH, OW, KW) reshape here: the reshape's reduction over two inner
axes measured ~40x slower for 2x2 max pooling. Every array is 4-D (N, C, H, W) here.

Max/min over disjoint windows that read no padding (the common 2x2 pool) take a shorter
backward: each window's winning tap as a uint8 (KH*KW - 1 equality sweeps, last tap first,
a NaN sweep only when y holds NaN), then one store of dy * (win == k) per tap into a reused
dx. On (64, 64, 32, 32) float32 it cut backward from ~21 ms to ~9 ms (fwd+bwd 1.43x PyTorch's
time -> ~0.5-0.9x, one thread). Lost: finding the winner in the forward instead (a greater
and a maximum per tap: forward 4 -> 8 ms, the same fwd+bwd, slower inference); moving the
winner with a masked copy (np.copyto where= a random mask: ~7-11 ms a tap against ~0.1 ms
for uint8 arithmetic); a float32 mask or a uint32 AND in place of dy * bool (no gain); placing
dx at dy's address modulo 4096 (against 4K aliasing of the stores: faster in one process
state, slower in another).

An input that starts on a 64-byte cache line is read through a shifted copy (_off_line): its
stride-2 tap reads measured ~3x slower (the bench's own input landed there: 41 ms fwd+bwd).
"""

import functools
from typing import NamedTuple

import numpy as np

from ..backend import get_xp
from .buffers import samples_per_chunk, scratch
from .geometry import Windows

_PAD_VALUE = {"max": -np.inf, "min": np.inf, "avg": 0.0}
_REDUCE = {"max": "maximum", "min": "minimum", "avg": "add"}  # ufuncs of the array module


class ExtremeCache(NamedTuple):
    """NumPy max/min: the padded input and the output, to find each window's extreme again."""

    kind: str  # "max" or "min"
    x_shape: tuple  # (N, C, H, W) of the input (H = 1 for 1-D, N = 1 unbatched)
    geom: Windows  # 2-D
    xpad: object  # the padded input (a view of x when no padding)
    y: object  # the 4-D output
    shape: tuple  # the input's own shape: dx comes back in it


class AvgCache(NamedTuple):
    """NumPy avg: each window's divisor."""

    x_shape: tuple
    geom: Windows
    divisor: object  # per-window element count, (OH, OW), a scalar, or divisor_override
    shape: tuple


def forward(kind, x, g, count_include_pad, divisor_override, shape):
    """x (N, C, H, W), its 2-D Windows g -> (y, ExtremeCache or AvgCache); shape: the caller's
    own input shape (dx goes back in it)."""
    xp = get_xp(x)
    xpad = _pad(x, g, _PAD_VALUE[kind])
    ufunc = getattr(xp, _REDUCE[kind])
    y = xp.empty(x.shape[:2] + tuple(a.out for a in g.axes), dtype=x.dtype)
    if kind != "avg":
        for part in _sample_chunks(xpad):  # chunks of the batch sized to the cache
            _reduce(_off_line(xpad[part]), g, ufunc, y[part])
        return y, ExtremeCache(kind, x.shape, g, xpad, y, shape)
    if divisor_override is None:
        divisor = _divisor(g, count_include_pad, x.dtype, get_xp(x))
    else:
        divisor = x.dtype.type(divisor_override)
    with np.errstate(invalid="ignore"):  # inf - inf in a window's sum is nan, as PyTorch's
        for part in _sample_chunks(xpad):
            _reduce(_off_line(xpad[part]), g, ufunc, y[part])
        y /= divisor
    return y, AvgCache(x.shape, g, divisor, shape)


def indices(cache):
    """The flat plane index of each window's extreme, as backward routes it: the first tap
    equal to the maximum in row-major order (a NaN window: its last NaN), never padding."""
    xp, g, y = get_xp(cache.y), cache.geom, cache.y
    (ph, pw), (h, w) = before(g), cache.x_shape[2:]
    index = xp.full(y.shape, -1, dtype=np.int64)
    nan = xp.isnan(y)
    taps = [(u, v) for u in range(g.kernel[0]) for v in range(g.kernel[1])]
    for u, v in taps:  # the first tap equal to the maximum, in row-major order
        rows, cols = g.taps((u, v))
        r = g.axes[0].tap(xp.arange(y.shape[2]), u) - ph
        c = g.axes[1].tap(xp.arange(y.shape[3]), v) - pw
        real = ((r >= 0) & (r < h))[:, None] & ((c >= 0) & (c < w))[None, :]
        at = r[:, None] * w + c[None, :]
        hit = (cache.xpad[:, :, rows, cols] == y) & real & (index < 0)
        hit |= nan & real & xp.isnan(cache.xpad[:, :, rows, cols])  # a NaN window: its LAST NaN
        index = xp.where(hit, at, index)
    return index


@np.errstate(invalid="ignore")  # overlapping windows add inf and -inf: nan, as PyTorch's
def backward(dy, c):
    """dx (N, C, H, W) from dy (N, C, OH, OW) and forward's cache; a chunk of the batch at a
    time (_sample_chunks), its gradient on the padded grid in cache and cropped into dx."""
    if isinstance(c, ExtremeCache) and _scannable(c):
        return _scatter(dy, _winners(c), c)
    xp = get_xp(dy)
    g = c.geom
    dx = xp.zeros(c.x_shape, dtype=dy.dtype)
    (ph, pw), (h, w), need = before(g), c.x_shape[2:], _extent(g)
    inner = (min(h, need[0] - ph), min(w, need[1] - pw))  # input rows/cols used
    direct = ph == pw == 0 and need == inner
    real = None
    if isinstance(c, AvgCache):
        dy = dy / c.divisor
    elif not direct:  # which xpad slots hold input: a padding slot may tie with a +-inf input
        real = xp.zeros((1, 1) + need, dtype=bool)
        real[:, :, ph : ph + inner[0], pw : pw + inner[1]] = True
    for part in _sample_chunks(dx):  # chunks of the batch sized to the cache, not single items
        if direct:
            dxpad = dx[part, :, : inner[0], : inner[1]]  # a view: no copy back needed
        else:
            dxpad = xp.zeros(dy[part].shape[:2] + need, dtype=dy.dtype)
        if isinstance(c, AvgCache):
            _spread(dxpad, dy[part], g)
        else:
            _route(dxpad, dy[part], c.xpad[part], c.y[part], g, real)
        if not direct:
            dx[part, :, : inner[0], : inner[1]] = dxpad[
                :, :, ph : ph + inner[0], pw : pw + inner[1]
            ]
    return dx


def before(g):
    """The padding before each spatial axis (pool pads are symmetric)."""
    return tuple(lo for lo, _ in g.pads)


@functools.lru_cache(maxsize=256)
def _extent(g):
    """Spatial size of xpad: up to the end of the last window (past the input with ceil_mode)."""
    return tuple(a.tap(a.out - 1, a.kernel - 1) + 1 for a in g.axes)


def _pad(x, g, value):
    """x padded to _extent(g) (left by the padding, right by what remains; a view if none)."""
    xp = get_xp(x)
    (ph, pw), (h, w), need = before(g), x.shape[2:], _extent(g)
    if ph == pw == 0 and need[0] <= h and need[1] <= w:
        return x[:, :, : need[0], : need[1]]
    xpad = xp.full(x.shape[:2] + need, value, dtype=x.dtype)
    hh, ww = min(h, need[0] - ph), min(w, need[1] - pw)
    xpad[:, :, ph : ph + hh, pw : pw + ww] = x[:, :, :hh, :ww]
    return xpad


@functools.lru_cache(maxsize=256)
def _taps(g):
    """Per kernel offset (u, v), row-major: the (rows, cols) slices it reads, one per window
    (remembered per geometry: a network pools the same shapes every step)."""
    return tuple(g.taps((u, v)) for u in range(g.kernel[0]) for v in range(g.kernel[1]))


def _reduce(xpad, g, ufunc, y):
    """y = the windows' reduction by ufunc, one pass per kernel offset."""
    for k, (rows, cols) in enumerate(_taps(g)):
        win = xpad[:, :, rows, cols]
        if k == 0:
            y[...] = win
        else:
            ufunc(y, win, out=y)


# The passes over the windows run a chunk of the batch at a time, its padded input about this
# many bytes, so that the KH*KW passes (and the backward's several per tap) read it from cache.
# Measured forward / forward + backward, float32, one thread, as the bench calls them, with
# chunks of 1, 4 and 64 MB (64: the whole batch): ResNet's stem pool (8, 64, 112, 112), 3x3
# stride 2, padding 1 (3.3 MB a sample) 23.3 / 82.0, 23.7 / 80.5, 28.0 / 129.8 ms; 2x2 max on
# (64, 64, 32, 32) 5.6 / 27.7, 7.0 / 28.7, 10.0 / 28.5; 2x2 avg 6.1 / 15.1, 7.7 / 17.8,
# 10.5 / 21.5.
CHUNK_BYTES = 1 << 20


def _sample_chunks(a):
    """Slices of a's first axis (the batch), each about CHUNK_BYTES of a, at least one sample."""
    n, step = a.shape[0], samples_per_chunk(a[:1].nbytes, CHUNK_BYTES)
    return [slice(n0, min(n0 + step, n)) for n0 in range(0, n, step)]


def _scannable(c):
    """Whether the winner-index path applies: disjoint windows that never read padding (xpad
    is a view of x) and at most 256 taps (a uint8 index)."""
    g, (h, w), need = c.geom, c.x_shape[2:], _extent(c.geom)
    inside = before(g) == (0, 0) and need[0] <= h and need[1] <= w
    return inside and _disjoint(g) and g.kernel[0] * g.kernel[1] <= 256


def _winners(c):
    """Each window's winning tap (uint8, row-major), PyTorch's rule: the first tap equal to
    y, found by a backward sweep (the last tap takes what no other does); a NaN window's
    last NaN tap (a sweep only when y holds NaN)."""
    xp, xpad, y = get_xp(c.y), _off_line(c.xpad), c.y
    taps = _taps(c.geom)
    win = xp.full(y.shape, len(taps) - 1, dtype=np.uint8)
    hit = xp.empty(y.shape, dtype=bool)
    step = xp.empty(y.shape, dtype=np.uint8)
    for k in range(len(taps) - 2, -1, -1):
        rows, cols = taps[k]
        _move(win, k, xp.equal(xpad[:, :, rows, cols], y, out=hit), step)
    if xp.isnan(y).any():  # NaN equals nothing; PyTorch lets each NaN replace the max
        for k, (rows, cols) in enumerate(taps):
            _move(win, k, xp.isnan(xpad[:, :, rows, cols], out=hit), step)
    return win


def _move(win, k, hit, step):
    """win = k where hit (uint8 arithmetic modulo 256: win += (k - win) * hit)."""
    xp = get_xp(win)
    xp.subtract(np.uint8(k), win, out=step)
    step *= hit.view(np.uint8)
    win += step


def _scatter(dy, win, c):
    """dx from the winning taps: one strided store of dy * (win == k) per tap k (each dx
    element belongs to one window at most); dx is zeroed first only when some cell is in no
    window, or when dy holds inf or NaN, which takes a masked copy (0 * inf = nan). dx is a
    buffers.scratch array (handed out again only once no one holds it): a fresh 16 MB array's
    page faults cost ~4 ms of the ~20 ms step on (64, 64, 32, 32)."""
    xp, g = get_xp(dy), c.geom
    taps = _taps(g)
    (h, w), need = c.x_shape[2:], _extent(g)
    tiled = len(taps) * dy.shape[2] * dy.shape[3] == h * w  # every input cell in one window
    finite = bool(xp.isfinite(dy).all())
    dx = scratch(c.x_shape, dy.dtype) if xp is np else xp.empty(c.x_shape, dtype=dy.dtype)
    if not (tiled and finite):
        dx.fill(0)
    dxpad = dx[:, :, : need[0], : need[1]]
    hit = xp.empty(dy.shape, dtype=bool)
    for k, (rows, cols) in enumerate(taps):
        xp.equal(win, k, out=hit)
        target = dxpad[:, :, rows, cols]
        if finite:
            xp.multiply(dy, hit, out=target)
        else:
            xp.copyto(target, dy, where=hit)
    return dx


def _off_line(a):
    """a, or (when it starts on a 64-byte cache line) a copy of it that starts 16 bytes past
    one, in a reused buffer: the stride-2 tap reads of a 2x2 pool on (64, 64, 32, 32) float32
    measured 4.1 ms a tap from a line-aligned input against 1.3 ms from one 16, 32 or 48 bytes
    past a line (18.7 ms for the forward's four taps; 1.0 ms for the copy, 3.6 for the taps)."""
    if get_xp(a) is not np or a.nbytes < (1 << 20) or a.ctypes.data % 64:
        return a
    flat = scratch((a.size + 64 // a.itemsize,), a.dtype)
    start = (16 - flat.ctypes.data) % 64 // a.itemsize
    out = flat[start : start + a.size].reshape(a.shape)
    np.copyto(out, a)
    return out


def _route(dxpad, dy, xpad, y, g, real=None):
    """Give each window's dy to its first input element (row-major) equal to y: PyTorch's
    tie rule. real: (1, 1, *xpad spatial) bool, True on input slots; None without padding.
    dxpad starts at zero. dy * mask into preallocated arrays (5x faster than a masked copy);
    a masked copy/add only when dy holds inf or NaN (0 * inf = nan)."""
    xp = get_xp(dy, y)
    disjoint = _disjoint(g)
    finite = bool(xp.isfinite(dy).all())
    part = None if disjoint or not finite else xp.empty_like(dy)
    infinite = None if real is None else xp.isinf(y)
    if infinite is not None and not infinite.any():
        infinite = None
    free = xp.ones(y.shape, dtype=bool)
    hit = xp.empty(y.shape, dtype=bool)
    taps = _taps(g)
    for k, (rows, cols) in enumerate(taps):
        xp.equal(xpad[:, :, rows, cols], y, out=hit)
        if infinite is not None:
            hit &= ~infinite | real[:, :, rows, cols]
        hit &= free
        if k + 1 < len(taps):
            free ^= hit
        target = dxpad[:, :, rows, cols]
        if not finite:
            xp.add(target, dy, out=target, where=hit)
        elif disjoint:  # each target element belongs to one window: store
            xp.multiply(dy, hit, out=target)
        else:
            target += xp.multiply(dy, hit, out=part)
    pending = xp.isnan(y)  # NaN equals nothing; PyTorch lets each NaN replace the max: LAST wins
    if pending.any():
        for rows, cols in reversed(taps):
            hit = xp.isnan(xpad[:, :, rows, cols]) & pending
            pending ^= hit
            target = dxpad[:, :, rows, cols]
            xp.add(target, dy, out=target, where=hit)


def _spread(dxpad, g_dy, g):
    """Add g_dy to every element of each window (the avg pool backward)."""
    disjoint = _disjoint(g)
    for rows, cols in _taps(g):
        target = dxpad[:, :, rows, cols]
        if disjoint:  # target is still zero: store
            target[...] = g_dy
        else:
            target += g_dy


def _disjoint(g):
    """Whether no two windows share an input cell: stride >= the (dilated) kernel's span."""
    return all(a.stride >= a.span for a in g.axes)


def _divisor(g, count_include_pad, dtype, xp):
    """Elements per window (PyTorch's rule): windows are clipped to the padded input, and
    with count_include_pad=False also to the input itself. A scalar when all are equal."""
    counts = []
    for a in g.axes:
        i, (lo, hi) = xp.arange(a.out), a.pads
        start = a.tap(i, 0) - lo
        end = xp.minimum(a.tap(i, a.kernel - 1) + 1 - lo, a.size + hi)
        if not count_include_pad:
            start, end = xp.maximum(start, 0), xp.minimum(end, a.size)
        counts.append(end - start)
    div = xp.outer(counts[0], counts[1]).astype(dtype)
    return dtype.type(div.flat[0]) if (div == div.flat[0]).all() else div
