"""The NumPy path of max, average and min pooling (ops.pool chooses it, or the compiled twins).

The forward reduces KH*KW strided slices of the padded input xpad (one pass per kernel
offset, no window copies). Where windows overlap and a stride exceeds 1 (ResNet's stem pool,
3x3 stride 2, padding 1), xpad is held de-interleaved by the stride (_grid: SH*SW planes,
plane (a, b) = xpad[:, :, a::SH, b::SW]), filled a chunk of the batch at a time just before
its passes: every tap then reads, and backward's gradient grid is written, in unit-stride
rows (strided float32 reads and += measured 4-5x slower than unit-stride ones), and one
strided pass moves the gradient into dx (_merge). On (8, 64, 112, 112) float32, one thread:
forward 21.9 -> 10.2 ms, forward + backward 81 -> 45 ms (PyTorch ~85). Tap views of the grid
(_tap_views) serve the forward, backward and return_indices alike.

Backward: max/min send each window's gradient to its FIRST extreme element in row-major
order (PyTorch's tie rule; a NaN window's to its last NaN, as PyTorch's; padding never takes
it, even from a -inf input); avg splits it evenly over the window's divisor. Overlapping
windows accumulate; disjoint ones (stride >= the kernel's span) store. Strided slices beat a
(N, C, OH, KH, OW, KW) reshape here: the reshape's reduction over two inner axes measured
~40x slower for 2x2 max pooling. Every array is 4-D (N, C, H, W) here.

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
from .geometry import Windows, taps

_PAD_VALUE = {"max": -np.inf, "min": np.inf, "avg": 0.0}
_REDUCE = {"max": "maximum", "min": "minimum", "avg": "add"}  # ufuncs of the array module


class ExtremeCache(NamedTuple):
    """NumPy max/min: the padded input and the output, to find each window's extreme again."""

    kind: str  # "max" or "min"
    x_shape: tuple  # (N, C, H, W) of the input (H = 1 for 1-D, N = 1 unbatched)
    geom: Windows  # 2-D
    grid: list  # the padded input in _split's planes (a view of x when nothing pads or splits)
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
    grid = _grid(x, g)
    ufunc = getattr(xp, _REDUCE[kind])
    y = xp.empty(x.shape[:2] + tuple(a.out for a in g.axes), dtype=x.dtype)
    if kind != "avg":
        for part in _sample_chunks(x):  # chunks of the batch sized to the cache
            _reduce(_reads(grid, x, part, g, _PAD_VALUE[kind]), ufunc, y[part])
        return y, ExtremeCache(kind, x.shape, g, grid, y, shape)
    if divisor_override is None:
        divisor = _divisor(g, count_include_pad, x.dtype, get_xp(x))
    else:
        divisor = x.dtype.type(divisor_override)
    with np.errstate(invalid="ignore"):  # inf - inf in a window's sum is nan, as PyTorch's
        for part in _sample_chunks(x):
            _reduce(_reads(grid, x, part, g, 0), ufunc, y[part])
        y /= divisor
    return y, AvgCache(x.shape, g, divisor, shape)


def indices(cache):
    """The flat plane index of each window's extreme, as backward routes it: the first tap
    equal to the maximum in row-major order (a NaN window: its last NaN), never padding."""
    xp, g, y = get_xp(cache.y), cache.geom, cache.y
    (ph, pw), (h, w) = before(g), cache.x_shape[2:]
    index = xp.full(y.shape, -1, dtype=np.int64)
    nan = xp.isnan(y)
    offsets = [(u, v) for u in range(g.kernel[0]) for v in range(g.kernel[1])]
    for (u, v), window in zip(offsets, _tap_views(cache.grid, g), strict=True):
        r = g.axes[0].tap(xp.arange(y.shape[2]), u) - ph  # the first tap equal to the maximum
        c = g.axes[1].tap(xp.arange(y.shape[3]), v) - pw
        real = ((r >= 0) & (r < h))[:, None] & ((c >= 0) & (c < w))[None, :]
        at = r[:, None] * w + c[None, :]
        hit = (window == y) & real & (index < 0)
        hit |= nan & real & xp.isnan(window)  # a NaN window: its LAST NaN
        index = xp.where(hit, at, index)
    return index


@np.errstate(invalid="ignore")  # overlapping windows add inf and -inf: nan, as PyTorch's
def backward(dy, c):
    """dx (N, C, H, W) from dy (N, C, OH, OW) and forward's cache; a chunk of the batch at a
    time (_sample_chunks), its gradient on the padded grid (in _split's layout), then moved
    into dx (_merge)."""
    if isinstance(c, ExtremeCache) and _scannable(c):
        return _scatter(dy, _winners(c), c)
    xp, g = get_xp(dy), c.geom
    size = c.x_shape[2:]
    direct, need = _view(g, size), _extent(g)  # direct: the grid is a view of dx itself
    merged = not direct and _covers(g, size)  # _merge writes every cell of dx
    dx = xp.empty(c.x_shape, dy.dtype) if merged else xp.zeros(c.x_shape, dy.dtype)
    real = None
    if isinstance(c, AvgCache):
        dy = dy / c.divisor
    elif not direct:  # which grid slots hold input: a padding slot may tie with a +-inf input
        real = _tap_views(_split(xp.ones((1, 1, *size), dtype=bool), g, False), g)
    for part in _sample_chunks(dx):  # chunks of the batch sized to the cache, not single items
        if direct:
            grid = [dx[part, :, : need[0], : need[1]]]
        else:
            grid = _planes(dy[part].shape[:2], g, dy.dtype, xp, 0)
        targets = _tap_views(grid, g)
        if isinstance(c, AvgCache):
            _spread(targets, dy[part], g)
        else:
            _route(targets, dy[part], _tap_views(_part(c.grid, part), g), c.y[part], g, real)
        if not direct:
            _merge(grid, g, dx[part])
    return dx


@functools.lru_cache(maxsize=256)
def before(g):
    """The padding before each spatial axis (pool pads are symmetric)."""
    return tuple(lo for lo, _ in g.pads)


@functools.lru_cache(maxsize=256)
def _extent(g):
    """Spatial size of xpad: up to the end of the last window (past the input with ceil_mode)."""
    return tuple(a.tap(a.out - 1, a.kernel - 1) + 1 for a in g.axes)


def _by(g):
    """How _split de-interleaves the padded input: by the stride where windows overlap and
    some stride exceeds 1 (each input cell is read by several taps, and every tap's read
    becomes unit-stride), else (1, 1): one plane, the padded input itself."""
    if _disjoint(g) or g.stride == (1, 1):
        return (1, 1)
    return g.stride


def _grid(x, g):
    """The padded input's grid for x (N, C, H, W): a list of planes, by = _by(g),
    planes[a * by[1] + b] holding xpad[:, :, a::by[0], b::by[1]], each its own contiguous
    array (None where no tap reads it), for _fill to fill; [a view of x] when nothing pads or
    splits (_view).

    Strided taps of overlapping windows (ResNet's stem pool, 3x3 stride 2) then read and
    write unit-stride rows: on (8, 64, 112, 112) float32, per sample, one tap's equality
    0.133 ms -> 0.03, its += of the gradient 0.22 -> 0.05, against one strided copy of x."""
    if _view(g, x.shape[2:]):
        need = _extent(g)
        return [x[:, :, : need[0], : need[1]]]
    return _planes(x.shape[:2], g, x.dtype, get_xp(x))


def _view(g, size):
    """Whether the grid of an input of this spatial size is a view of it: no padding, no
    split, every window inside."""
    need = _extent(g)
    inside = need[0] <= size[0] and need[1] <= size[1]
    return inside and before(g) == (0, 0) and _by(g) == (1, 1)


def _planes(lead, g, dtype, xp, fill=None):
    """_grid's planes for lead = (N, C), uninitialised or filled with ``fill``."""
    need, by, read = _extent(g), _by(g), _read_planes(g)
    planes = []
    for a in range(by[0]):
        for b in range(by[1]):
            shape = lead + (len(range(a, need[0], by[0])), len(range(b, need[1], by[1])))
            if a * by[1] + b not in read:
                planes.append(None)
            elif fill is None:
                planes.append(xp.empty(shape, dtype=dtype))
            else:
                planes.append(xp.full(shape, fill, dtype=dtype))
    return planes


def _fill(planes, x, g, value):
    """Write x's cells into _grid's planes and value around them (the padding); nothing when
    the grid is a view of x."""
    if _view(g, x.shape[2:]):
        return
    for plane, (xr, pr), (xc, pc) in _plane_cells(planes, g, x.shape[2:]):
        plane[:, :, : pr.start] = value
        plane[:, :, pr.stop :] = value
        plane[:, :, pr, : pc.start] = value
        plane[:, :, pr, pc.stop :] = value
        plane[:, :, pr, pc] = x[:, :, xr, xc]


def _split(x, g, value):
    """x's padded grid (_grid), filled."""
    planes = _grid(x, g)
    _fill(planes, x, g, value)
    return planes


def _merge(planes, g, dx):
    """dx (N, C, H, W) = the input cells of _split's planes (dx is left as it was where none
    holds one: see _covers)."""
    for plane, (xr, pr), (xc, pc) in _plane_cells(planes, g, dx.shape[2:]):
        dx[:, :, xr, xc] = plane[:, :, pr, pc]


def _plane_cells(planes, g, size):
    """(plane, (input rows, its rows), (input cols, its cols)) for each plane that is there:
    _phase_cells of an input of this spatial size."""
    by = _by(g)
    for a in range(by[0]):
        for b in range(by[1]):
            plane = planes[a * by[1] + b]
            if plane is not None:
                yield plane, *_phase_cells(g, (a, b), size)


def _covers(g, size):
    """Whether _merge writes every cell of an input of this spatial size: every plane is
    read and every input cell lies inside the windows' extent."""
    by, need, read = _by(g), _extent(g), _read_planes(g)
    inside = all(n <= e - p for n, e, p in zip(size, need, before(g), strict=True))
    return inside and len(read) == by[0] * by[1]


def _phase_cells(g, phase, size):
    """((input rows, plane rows), (input cols, plane cols)): the slices of an input of this
    spatial size and of _split's plane ``phase`` = (a, b) that hold the same cells (input
    cell i sits at padded i + pad, in plane (i + pad) % by at (i + pad) // by)."""
    cells = []
    for a, n, step, pad, end in zip(phase, size, _by(g), before(g), _extent(g), strict=True):
        used = min(n, end - pad)  # input cells inside the padded extent
        first = (a - pad) % step
        count = len(range(first, used, step))
        at = (first + pad) // step
        cells.append((slice(first, first + step * (count - 1) + 1, step), slice(at, at + count)))
    return tuple(cells)


@functools.lru_cache(maxsize=256)
def _plane_taps(g):
    """Per kernel offset (u, v), row-major: (plane, rows, cols) it reads in _split's planes,
    one cell per window (remembered per geometry: a network pools the same shapes every step)."""
    by, found = _by(g), []
    for u in range(g.kernel[0]):
        for v in range(g.kernel[1]):
            plane, cuts = 0, []
            for axis, t, step in zip(g.axes, (u, v), by, strict=True):
                r = t * axis.dilation  # window i reads padded cell i * stride + r: in plane
                plane = plane * step + r % step  # r % step, at i * (stride / step) + r // step
                cuts.append(taps(r // step, axis.out, axis.stride // step))
            found.append((plane, *cuts))
    return tuple(found)


def _read_planes(g):
    """The indices of the planes some tap reads (_plane_taps)."""
    return {plane for plane, _, _ in _plane_taps(g)}


def _tap_views(planes, g):
    """One view per kernel offset, row-major: the cell each window reads there (_plane_taps)."""
    return [planes[p][:, :, rows, cols] for p, rows, cols in _plane_taps(g)]


def _part(planes, part):
    """The planes of a slice of the batch."""
    return [None if p is None else p[part] for p in planes]


def _reads(grid, x, part, g, value):
    """The forward's tap views of a slice of the batch, its planes filled from x just before
    (while they are in cache); a view of x read through _off_line."""
    planes = _part(grid, part)
    _fill(planes, x[part], g, value)
    return _tap_views([_off_line(planes[0])] if len(planes) == 1 else planes, g)


def _reduce(windows, ufunc, y):
    """y = the windows' reduction by ufunc, one pass per kernel offset (windows: _tap_views)."""
    for k, win in enumerate(windows):
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
    is a view of x, one plane) and at most 256 taps (a uint8 index)."""
    g = c.geom
    return _view(g, c.x_shape[2:]) and _disjoint(g) and g.kernel[0] * g.kernel[1] <= 256


def _winners(c):
    """Each window's winning tap (uint8, row-major), PyTorch's rule: the first tap equal to
    y, found by a backward sweep (the last tap takes what no other does); a NaN window's
    last NaN tap (a sweep only when y holds NaN)."""
    xp, y = get_xp(c.y), c.y
    windows = _tap_views([_off_line(c.grid[0])], c.geom)
    win = xp.full(y.shape, len(windows) - 1, dtype=np.uint8)
    hit = xp.empty(y.shape, dtype=bool)
    step = xp.empty(y.shape, dtype=np.uint8)
    for k in range(len(windows) - 2, -1, -1):
        _move(win, k, xp.equal(windows[k], y, out=hit), step)
    if xp.isnan(y).any():  # NaN equals nothing; PyTorch lets each NaN replace the max
        for k, window in enumerate(windows):
            _move(win, k, xp.isnan(window, out=hit), step)
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
    (h, w), need = c.x_shape[2:], _extent(g)
    tiled = g.kernel[0] * g.kernel[1] * dy.shape[2] * dy.shape[3] == h * w  # each cell in one
    finite = bool(xp.isfinite(dy).all())
    dx = scratch(c.x_shape, dy.dtype) if xp is np else xp.empty(c.x_shape, dtype=dy.dtype)
    if not (tiled and finite):
        dx.fill(0)
    hit = xp.empty(dy.shape, dtype=bool)
    for k, target in enumerate(_tap_views([dx[:, :, : need[0], : need[1]]], g)):
        xp.equal(win, k, out=hit)
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


def _route(targets, dy, windows, y, g, real=None):
    """Give each window's dy to its first input element (row-major) equal to y: PyTorch's
    tie rule. targets, windows, real: _tap_views of the gradient's zeroed grid, of the
    input's and of a bool grid True on input slots (None without padding). dy * mask into
    preallocated arrays (5x faster than a masked copy); a masked copy/add only when dy holds
    inf or NaN (0 * inf = nan)."""
    xp = get_xp(dy, y)
    disjoint = _disjoint(g)
    finite = bool(xp.isfinite(dy).all())
    part = None if disjoint or not finite else xp.empty_like(dy)
    infinite = None if real is None else xp.isinf(y)
    if infinite is not None and not infinite.any():
        infinite = None
    free = xp.ones(y.shape, dtype=bool)
    hit = xp.empty(y.shape, dtype=bool)
    for k, (window, target) in enumerate(zip(windows, targets, strict=True)):
        xp.equal(window, y, out=hit)
        if infinite is not None:
            hit &= ~infinite | real[k]
        hit &= free
        if k + 1 < len(windows):
            free ^= hit
        if not finite:
            xp.add(target, dy, out=target, where=hit)
        elif disjoint:  # each target element belongs to one window: store
            xp.multiply(dy, hit, out=target)
        else:
            target += xp.multiply(dy, hit, out=part)
    pending = xp.isnan(y)  # NaN equals nothing; PyTorch lets each NaN replace the max: LAST wins
    if pending.any():
        for window, target in zip(reversed(windows), reversed(targets), strict=True):
            hit = xp.isnan(window) & pending
            pending ^= hit
            xp.add(target, dy, out=target, where=hit)


def _spread(targets, g_dy, g):
    """Add g_dy to every element of each window (the avg pool backward); targets: _tap_views
    of the gradient's zeroed grid."""
    disjoint = _disjoint(g)
    for target in targets:
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
