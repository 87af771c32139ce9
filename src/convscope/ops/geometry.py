"""Window geometry, in one place: how a window slides over a padded input and what size comes out.

Per spatial dimension, for input size n, kernel K, stride S, dilation D and pads (P_lo, P_hi):

    tap(i, u) = i*S + u*D                   the padded-input cell that tap u of output cell i reads
    window(i) = xpad[i*S : i*S + D*(K-1) + 1 : D]       every cell output cell i reads
    out       = floor((n + P_lo + P_hi - D*(K-1) - 1) / S) + 1
                (ceil with ceil_mode, less a last window that would start in the right padding)
    transposed: out = (n - 1)*S - P_lo - P_hi + D*(K-1) + output_padding + 1,
                and input cell i writes window(i) of the padded output

padding is an int or a tuple (P zeros on both sides), "valid" (none) or "same" (stride 1:
D*(K-1) zeros in all, the odd one after, as PyTorch). The ops, the layers, explain and the CLI
ask this module; a failure is a ShapeError that names the op, every number and a way out.
"""

import functools
import numbers
from typing import NamedTuple

import numpy as np

from ..errors import ShapeError

# ---- validators: hyper-parameters to tuples, one entry per spatial dimension -------------------


def as_tuple(value, n, op, name):
    """int -> (int,)*n; a tuple/list of length n is checked, one of length 1 expanded to n (as
    PyTorch expands ``padding=(1,)`` for a 2-D op); anything else is a ShapeError."""
    if _integer(value):
        return (int(value),) * n
    if isinstance(value, (tuple, list)) and len(value) == 1 and n > 1:
        value = tuple(value) * n
    if isinstance(value, (tuple, list)) and len(value) == n:
        for v in value:
            if not _integer(v):
                raise ShapeError(f"{op}: {name}={value!r} must hold integers; got {v!r}")
        return tuple(int(v) for v in value)
    raise ShapeError(
        f"{op}: {name}={value!r} must be an integer or a tuple of {n} integers"
        f" (one per spatial dimension{', or one for all' if n > 1 else ''})"
    )


def positive(values, op, name):
    """Every entry of the tuple must be an integer >= 1."""
    if min(values) < 1:
        raise ShapeError(
            f"{op}: {name} must be a positive integer, got {name}={_fmt(values)}; use {name}>=1"
        )
    return values


def non_negative(values, op, name):
    """Every entry of the tuple must be an integer >= 0."""
    if min(values) < 0:
        raise ShapeError(
            f"{op}: {name} must be >= 0, got {name}={_fmt(values)}; padding adds zeros,"
            f" it cannot remove samples (crop the input instead)"
        )
    return values


LAYOUTS = {1: ("(N, C, L)", "(C, L)"), 2: ("(N, C, H, W)", "(C, H, W)")}


def spatial_input(op, shape, nd, *, nonempty=False):
    """True for an unbatched input (C, *spatial), False for a batch (N, C, *spatial), with nd
    spatial dimensions (PyTorch takes both); anything else is a ShapeError. nonempty: only the
    batch axis may be 0 (PyTorch's rule for pooling)."""
    unbatched = len(shape) == nd + 1
    if not unbatched and len(shape) != nd + 2:
        batched, single = LAYOUTS[nd]
        raise ShapeError(
            f"{op}: expected a {nd + 2}-D input {batched} or a {nd + 1}-D {single} (one sample),"
            f" got {len(shape)}-D shape {tuple(shape)}"
        )
    if nonempty and 0 in shape and 0 in shape[1 - unbatched :]:
        axis = shape.index(0, 1 - unbatched)
        raise ShapeError(
            f"{op}: input shape {tuple(shape)} is empty along axis {axis}; only the batch axis"
            f" may be 0 here (as in PyTorch): give every channel and spatial axis a size >= 1"
        )
    return unbatched


def _integer(v):
    return type(v) is int or (isinstance(v, numbers.Integral) and not isinstance(v, bool))


def _fmt(values):
    return values[0] if len(set(values)) == 1 else values


# ---- one spatial dimension ---------------------------------------------------------------------


def tap(i, u, stride=1, dilation=1):
    """The padded-input cell that tap u of output cell i reads: i*S + u*D (works on arrays)."""
    return i * stride + u * dilation


def window(i, kernel, stride=1, dilation=1):
    """The slice of the padded input that output cell i reads: i*S : i*S + D*(K-1) + 1 : D."""
    return slice(tap(i, 0, stride, dilation), tap(i, kernel - 1, stride, dilation) + 1, dilation)


def taps(u, out, stride=1, dilation=1):
    """The slice of the padded input that tap u reads for output cells 0..out-1: step S."""
    return slice(tap(0, u, stride, dilation), tap(out - 1, u, stride, dilation) + 1, stride)


def span(kernel, dilation=1):
    """D*(K-1) + 1: the cells one window reaches, from its first tap to its last."""
    return dilation * (kernel - 1) + 1


class Axis(NamedTuple):
    """One spatial dimension of a sliding window. ``size`` is the input's; ``out`` the output's.

    A transposed axis (output_padding an int) runs the other way: input cell i writes
    ``window(i)`` of the padded output, whose size is ``out``.
    """

    size: int
    kernel: int
    stride: int = 1
    pads: tuple = (0, 0)  # (before, after)
    dilation: int = 1
    ceil_mode: bool = False
    output_padding: int | None = None

    @property
    def span(self):
        return span(self.kernel, self.dilation)

    @property
    def padded(self):
        return self.size + self.pads[0] + self.pads[1]

    @property
    def fits(self):
        """Whether a window fits in the padded input (transposed: whether out >= 1)."""
        return self.out >= 1

    @property
    def out(self):
        """The output size; the formula's value, < 1, when no window fits."""
        return _out(*self)

    @property
    def ceil_dropped(self):
        """1 when ceil_mode's last window would start in the right padding (PyTorch drops it)."""
        num = self.padded - self.span
        return int(self.ceil_mode and num >= 0 and self.out == -(-num // self.stride))

    @property
    def unreached(self):
        """Rows at the end of the padded input that no window reaches (floor mode)."""
        return (self.padded - self.span) % self.stride

    def tap(self, i, u):
        return tap(i, u, self.stride, self.dilation)

    def window(self, i):
        """The slice of the padded input that output cell i reads (transposed: writes)."""
        return window(i, self.kernel, self.stride, self.dilation)

    def taps(self, u, out=None):
        """The slice of the padded input that tap u reads for every output cell 0..out-1."""
        return taps(u, self.out if out is None else out, self.stride, self.dilation)

    def readers(self, r, out=None):
        """[(u, i)]: every tap u of an output cell i < out that reads padded cell r, by i."""
        out = self.out if out is None else out
        pairs = []
        for u in range(self.kernel):
            i, rest = divmod(r - u * self.dilation, self.stride)
            if not rest and 0 <= i < out:
                pairs.append((u, i))
        return sorted(pairs, key=lambda p: p[1])

    def expression(self, unpadded=False):
        """The formula with the numbers filled in, e.g. 'floor((28 + 2*2 - 1*(5-1) - 1) / 1) + 1'."""
        (lo, hi), k, s, d = self.pads, self.kernel, self.stride, self.dilation
        if self.output_padding is not None:
            pad = f"2*{lo}" if lo == hi else f"({lo} + {hi})"
            return f"({self.size}-1)*{s} - {pad} + {d}*({k}-1) + {self.output_padding} + 1"
        pad = "" if unpadded else f" + 2*{lo}" if lo == hi else f" + {lo} + {hi}"
        rnd = "ceil" if self.ceil_mode else "floor"
        return f"{rnd}(({self.size}{pad} - {d}*({k}-1) - 1) / {s}) + 1"

    def formula(self):
        """expression() = its value; with ceil_mode, also the window PyTorch drops."""
        if self.ceil_dropped:
            return f"{self.expression()} = {self.out + 1} - 1 = {self.out} (the last window would start in the padding)"
        return f"{self.expression()} = {self.out}"

    def check(self, op, index):
        """ShapeError naming every number when no window fits (transposed: out < 1)."""
        if self.fits:
            return self
        n, k, d, p = self.size, self.kernel, self.dilation, self.pads[0]
        if self.output_padding is not None:
            raise ShapeError(f"{op}: output size {self.formula()} < 1; use less padding")
        dil = f" (dilation {d} spreads it to {self.span})" if d > 1 else ""
        pad = f"padding={p}" if p == self.pads[1] else f"padding={self.pads}"
        raise ShapeError(
            f"{op}: kernel {k}{dil} is larger than the padded input {self.padded} along spatial"
            f" axis {index} (input {n}, {pad}); {self.formula()} < 1;"
            f" use a smaller kernel or dilation, or more padding"
        )


def _out(n, k, s, pads, d, ceil_mode=False, output_padding=None):
    """The output size of one axis (the module docstring's formulas); < 1 where no window fits."""
    lo, hi = pads
    if output_padding is not None:
        return (n - 1) * s - lo - hi + span(k, d) + output_padding
    num = n + lo + hi - span(k, d)
    if num < 0 or not ceil_mode:
        return num // s + 1
    last = -(-num // s)  # where the last window starts, over S
    return last + (last * s < n + lo)  # PyTorch: it must start inside the input or left padding


def output_size(size, kernel_size, stride=1, padding=0, dilation=1, ceil_mode=False):
    """out = floor((in + 2P - D*(K-1) - 1) / S) + 1 for one spatial dimension.

    >>> output_size(28, kernel_size=5, stride=1, padding=2)
    28

    Raises ShapeError that shows the formula with the numbers when the result is < 1
    or a hyper-parameter is invalid.
    """
    op = "output_size"
    for name, v, low in (
        ("size", size, 1),
        ("kernel_size", kernel_size, 1),
        ("stride", stride, 1),
        ("dilation", dilation, 1),
        ("padding", padding, 0),
    ):
        if not _integer(v) or v < low:
            raise ShapeError(f"{op}: {name} must be an integer >= {low}, got {v!r}")
    return Axis(size, kernel_size, stride, (padding, padding), dilation, ceil_mode).check(op, 0).out


# ---- every spatial dimension of one call -------------------------------------------------------


class Windows(NamedTuple):
    """The checked geometry of one sliding-window call, one entry per spatial dimension.

    ``window(cell)`` and ``taps(offset)`` index the padded input (transposed: the padded output).
    """

    in_size: tuple
    kernel: tuple
    stride: tuple
    dilation: tuple
    pads: tuple  # ((before, after), ...)
    out_size: tuple
    ceil_mode: bool = False
    output_padding: tuple | None = None

    @property
    def axes(self):
        """One Axis per spatial dimension (built once per distinct Windows: loops call this
        for every output cell)."""
        return _axes(self)

    def window(self, cell):
        """Slices of the padded input that output cell (i, j, ...) reads."""
        return tuple(a.window(i) for a, i in zip(self.axes, cell, strict=True))

    def taps(self, offset):
        """Slices of the padded input that kernel tap (u, v, ...) reads, one cell per output."""
        small = self.in_size if self.output_padding else self.out_size
        return tuple(a.taps(u, o) for a, u, o in zip(self.axes, offset, small, strict=True))

    def lift(self):
        """The 2-D geometry of a 1-D one: H = 1, kernel height 1, no vertical padding."""
        return self._replace(
            in_size=(1, *self.in_size),
            kernel=(1, *self.kernel),
            stride=(1, *self.stride),
            dilation=(1, *self.dilation),
            pads=((0, 0), *self.pads),
            out_size=(1, *self.out_size),
            output_padding=self.output_padding and (0, *self.output_padding),
        )


def windows(op, sizes, kernel, stride, pads, dilation, ceil_mode=False, output_padding=None):
    """Windows from checked tuples; raises ShapeError where an input axis is empty or no window
    fits (PyTorch refuses both, even where padding would make room)."""
    if min(sizes) < 1:
        raise ShapeError(
            f"{op}: input spatial size {tuple(sizes)} must be >= 1 along every axis (only the"
            f" batch and channel axes may be empty); give a non-empty input"
        )
    out_pad = output_padding or (None,) * len(sizes)
    out = []
    for i, dim in enumerate(zip(sizes, kernel, stride, pads, dilation, strict=True)):
        size = _out(*dim, ceil_mode, out_pad[i])
        if size < 1:
            Axis(*dim, ceil_mode, out_pad[i]).check(op, i)
        out.append(size)
    return Windows(tuple(sizes), kernel, stride, dilation, pads, tuple(out), ceil_mode,
                   output_padding)  # fmt: skip


# ---- padding -----------------------------------------------------------------------------------


def resolve_pads(op, padding, kernel, stride, dilation):
    """int | tuple | "valid" | "same" -> ((before, after), ...), one pair per spatial dimension."""
    n = len(kernel)
    if padding == "valid":
        return ((0, 0),) * n
    if padding == "same":
        return same_padding(op, kernel, stride, dilation)
    if isinstance(padding, str):
        raise ShapeError(
            f"{op}: padding={padding!r} is not understood; use 'same', 'valid', an integer"
            f" or a tuple of {n} integers"
        )
    return tuple((p, p) for p in non_negative(as_tuple(padding, n, op, "padding"), op, "padding"))


def same_padding(op, kernel, stride, dilation):
    """Per-dimension (before, after) padding that keeps out == in at stride 1 (the odd zero after)."""
    if any(s != 1 for s in stride):
        raise ShapeError(
            f"{op}: padding='same' needs stride 1, got stride={_fmt(stride)};"
            f" use an explicit padding with stride > 1"
        )
    # out = in at stride 1, for any in: D*(K-1) zeros in all
    return tuple(pads_for_size(1, 1, k, 1, d) for k, d in zip(kernel, dilation, strict=True))


def pads_for_size(target, size, kernel, stride=1, dilation=1, output_padding=None, odd_after=True):
    """(before, after) padding of one axis that gives ``target`` output cells: the padded input
    holds (target - 1)*S + D*(K-1) + 1 cells (none removed); transposed (output_padding an int),
    the cells cut from the full output. The odd one goes after (PyTorch's "same", ONNX's
    SAME_UPPER) or before (SAME_LOWER). "same" is target = size at stride 1."""
    if output_padding is None:
        total = max(tap(target - 1, kernel - 1, stride, dilation) + 1 - size, 0)
    else:
        total = tap(size - 1, kernel - 1, stride, dilation) + 1 + output_padding - target
    small, big = total // 2, total - total // 2
    return (small, big) if odd_after else (big, small)


# ---- the conv and pool families ----------------------------------------------------------------


def conv_params(op, nsp, stride, padding, dilation, output_padding=None):
    """(stride, padding, dilation, output_padding) of a conv call, checked; padding stays
    "same"/"valid" or becomes a tuple. output_padding None means a plain convolution; a
    transposed one takes integer padding and output_padding < stride or dilation."""
    stride = positive(as_tuple(stride, nsp, op, "stride"), op, "stride")
    dilation = positive(as_tuple(dilation, nsp, op, "dilation"), op, "dilation")
    if output_padding is not None and isinstance(padding, str):
        raise ShapeError(f"{op}: padding={padding!r} is not supported; use integer padding")
    if isinstance(padding, str):
        resolve_pads(op, padding, (1,) * nsp, stride, dilation)  # unknown names, "same" strided
    else:
        padding = non_negative(as_tuple(padding, nsp, op, "padding"), op, "padding")
    if output_padding is not None:
        output_padding = as_tuple(output_padding, nsp, op, "output_padding")
        non_negative(output_padding, op, "output_padding")
        for o, s, d in zip(output_padding, stride, dilation, strict=True):
            if o >= s and o >= d:
                raise ShapeError(
                    f"{op}: output_padding={o} must be smaller than stride={s} or dilation={d};"
                    f" output_padding only resolves the ambiguity of a strided output size"
                )
    return stride, padding, dilation, output_padding


def conv_windows(op, sizes, kernel, stride=1, padding=0, dilation=1, output_padding=None):
    """The Windows of a conv (output_padding None) or transposed conv over spatial ``sizes``."""
    params = conv_params(op, len(sizes), stride, padding, dilation, output_padding)
    return params_windows(op, sizes, kernel, *params)


def params_windows(op, sizes, kernel, stride, padding, dilation, output_padding):
    """conv_windows for hyper-parameters that conv_params returned (checked once per call)."""
    if isinstance(padding, str):
        pads = resolve_pads(op, padding, kernel, stride, dilation)
    else:
        pads = tuple((p, p) for p in padding)
    return windows(op, sizes, kernel, stride, pads, dilation, output_padding=output_padding)


def pool_params(op, nd, kernel_size, stride=None, padding=0, dilation=1):
    """(kernel, stride, padding, dilation) of a pool call, checked (PyTorch's rules): stride
    defaults to the kernel (None or an empty tuple); 0 <= padding <= kernel_size // 2 (the
    undilated kernel, as PyTorch), so a window always holds input."""
    kernel = positive(as_tuple(kernel_size, nd, op, "kernel_size"), op, "kernel_size")
    if stride is None or (isinstance(stride, (tuple, list)) and not stride):
        stride = kernel
    else:
        stride = positive(as_tuple(stride, nd, op, "stride"), op, "stride")
    padding = non_negative(as_tuple(padding, nd, op, "padding"), op, "padding")
    dilation = positive(as_tuple(dilation, nd, op, "dilation"), op, "dilation")
    for p, k in zip(padding, kernel, strict=True):
        if 2 * p > k:
            raise ShapeError(
                f"{op}: padding={p} is more than half of kernel_size={k}; a window would then"
                f" hold more padding than input; use padding <= {k // 2} (kernel_size // 2)"
            )
    return kernel, stride, padding, dilation


def pool_windows(op, sizes, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """The Windows of a pool call over spatial ``sizes``; with dilation, every window must
    reach the input (PyTorch returns -inf for one that holds only padding, and its backward
    writes outside the input)."""
    kernel, stride, padding, dilation = pool_params(
        op, len(sizes), kernel_size, stride, padding, dilation
    )
    pads = tuple((p, p) for p in padding)
    g = windows(op, sizes, kernel, stride, pads, dilation, bool(ceil_mode))
    if max(dilation) > 1:
        for i, a in enumerate(g.axes):
            _check_reach(op, i, a)
    return g


def _check_reach(op, index, a):
    """ShapeError when a window of a dilated pool holds only padding."""
    taps = a.tap(np.arange(a.out)[:, None], np.arange(a.kernel)[None, :]) - a.pads[0]
    inside = ((taps >= 0) & (taps < a.size)).any(axis=1)
    if not inside.all():
        i = int(np.argmin(inside))
        raise ShapeError(
            f"{op}: window {i} along spatial axis {index} holds only padding (taps"
            f" {', '.join(map(str, taps[i]))} of an input of size {a.size}, padding={a.pads[0]},"
            f" dilation={a.dilation}); use less padding or dilation"
        )


def unpool_size(op, sizes, kernel, stride, padding, output_size=None):
    """The output sizes of max_unpool: (in - 1)*S - 2P + K per axis (the transposed formula),
    or output_size (the spatial sizes, or the whole shape), within S of them as PyTorch
    requires: (in - 1)*S - 2P + K - S < out < (in - 1)*S - 2P + K + S."""
    nd = len(sizes)
    default = tuple(
        _out(n, k, s, (p, p), 1, output_padding=0)
        for n, k, s, p in zip(sizes, kernel, stride, padding, strict=True)
    )
    if output_size is None:
        out = default
    else:
        given = tuple(output_size) if isinstance(output_size, (tuple, list)) else None
        if given is not None and len(given) > nd:
            given = given[-nd:]
        if given is None or len(given) != nd or not all(_integer(v) for v in given):
            raise ShapeError(
                f"{op}: output_size={output_size!r} must be a tuple of {nd} integers (the spatial"
                f" sizes) or the whole output shape"
            )
        out = tuple(int(v) for v in given)
        for i, (o, d, s) in enumerate(zip(out, default, stride, strict=True)):
            if not d - s < o < d + s:
                raise ShapeError(
                    f"{op}: output_size {o} along spatial axis {i} must be between {d - s} and"
                    f" {d + s} (exclusive): the default (in - 1)*stride - 2*padding + kernel_size"
                    f" = {d}, within stride={s}"
                )
    if min(out) < 0:
        raise ShapeError(
            f"{op}: output size {out} is negative: (in - 1)*stride - 2*padding + kernel_size"
            f" with input {tuple(sizes)}, stride={stride}, padding={padding},"
            f" kernel_size={kernel}; use less padding"
        )
    return out


def adaptive_bounds(n_in, n_out):
    """(start, end) int arrays of PyTorch's adaptive windows along one axis: output cell i
    pools input cells floor(i*n_in/n_out) .. ceil((i+1)*n_in/n_out) - 1."""
    i = np.arange(n_out)
    return (i * n_in) // n_out, -((-(i + 1) * n_in) // n_out)


def remembered(check=None, *, trusted=0):
    """check(*args) remembered per arguments: a network calls each layer with the same shapes
    every time, and its geometry check costs ~25-50 us. The key holds every value's type
    (2 and 2.0, 1 and True are different calls: one may be refused); unhashable arguments
    (lists) are checked afresh; errors are raised every time (never remembered). The first
    ``trusted`` arguments enter the key as they are: values whose types the caller fixes (op
    names, array shapes), so that only the user's arguments are typed (~2 us less a call)."""
    if check is None:
        return functools.partial(remembered, trusted=trusted)
    memo = {}

    def call(*args):
        try:
            key = (args[:trusted], _typed(args[trusted:])) if trusted else _typed(args)
            hit = memo.get(key)
        except TypeError:  # unhashable
            return check(*args)
        if hit is None:
            hit = check(*args)
            if len(memo) < 512:
                memo[key] = hit
        return hit

    call.__doc__, call.__wrapped__ = check.__doc__, check
    return call


_PLAIN = frozenset({int, float, bool, str, type(None)})


def _typed(value):
    """value with the types == ignores (2, 2.0 and True are equal): a shape (a tuple of ints) is
    its own key; a tuple of plain values carries their types; anything else is typed deeply."""
    t = type(value)
    if t in _PLAIN:
        return (t, value)
    if t is tuple:
        types = tuple(map(type, value))
        if types.count(int) == len(types):
            return value  # no other key is a plain int tuple
        if _PLAIN.issuperset(types):
            return (tuple, value, types)
    if isinstance(value, tuple | list):
        return (type(value), tuple(map(_typed, value)))
    if isinstance(value, dict):
        return (dict, tuple(value), _typed(tuple(value.values())))
    hash(value)
    return (t, value)


@functools.lru_cache(maxsize=1024)
def _axes(w):
    out_pad = w.output_padding or (None,) * len(w.kernel)
    return tuple(
        Axis(n, k, s, p, d, w.ceil_mode, o)
        for n, k, s, p, d, o in zip(
            w.in_size, w.kernel, w.stride, w.pads, w.dilation, out_pad, strict=True
        )
    )
