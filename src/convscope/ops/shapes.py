"""Output-size arithmetic and the validators every op family's shape checker is built from.

    out = floor((in + 2P - D*(K-1) - 1) / S) + 1        (floor -> ceil with ceil_mode)

All failures raise ShapeError with the op name, every number and a way out.
"""

import math
import numbers

from ..errors import ShapeError


def as_tuple(value, n, op, name):
    """int -> (int,)*n; a tuple/list of length n is checked; anything else is a ShapeError."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return (int(value),) * n
    if isinstance(value, (tuple, list)) and len(value) == n:
        out = []
        for v in value:
            if not (isinstance(v, numbers.Integral) and not isinstance(v, bool)):
                raise ShapeError(f"{op}: {name}={value!r} must hold integers; got {v!r}")
            out.append(int(v))
        return tuple(out)
    raise ShapeError(
        f"{op}: {name}={value!r} must be an integer or a tuple of {n} integers"
        f" (one per spatial dimension)"
    )


def positive(values, op, name):
    """Every entry of the tuple must be an integer >= 1."""
    for v in values:
        if v < 1:
            raise ShapeError(
                f"{op}: {name} must be a positive integer, got {name}={_fmt(values)}; use {name}>=1"
            )
    return values


def non_negative(values, op, name):
    """Every entry of the tuple must be an integer >= 0."""
    for v in values:
        if v < 0:
            raise ShapeError(
                f"{op}: {name} must be >= 0, got {name}={_fmt(values)}; padding adds zeros,"
                f" it cannot remove samples (crop the input instead)"
            )
    return values


def check_ndim(shape, ndim, op, layout):
    """The input must have exactly ndim dimensions, e.g. 4 for (N, C, H, W)."""
    if len(shape) != ndim:
        hint = ""
        if len(shape) == ndim - 1:
            hint = f"; for a single sample add a batch axis, e.g. x[None] -> (1, {', '.join(map(str, shape))})"
        raise ShapeError(
            f"{op}: expected a {ndim}-D input {layout}, got {len(shape)}-D shape {tuple(shape)}{hint}"
        )


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
        if not (isinstance(v, numbers.Integral) and not isinstance(v, bool)) or v < low:
            raise ShapeError(f"{op}: {name} must be an integer >= {low}, got {v!r}")
    return _out(size, kernel_size, stride, padding, dilation, ceil_mode, op, 0)


def formula(size, k, s, p, d, ceil_mode=False):
    """The formula with the numbers filled in, e.g. 'floor((28 + 2*2 - 1*(5-1) - 1) / 1) + 1 = 28'."""
    rnd = "ceil" if ceil_mode else "floor"
    num = size + 2 * p - d * (k - 1) - 1
    val = (math.ceil(num / s) if ceil_mode else num // s) + 1
    return f"{rnd}(({size} + 2*{p} - {d}*({k}-1) - 1) / {s}) + 1 = {val}"


def _out(size, k, s, p, d, ceil_mode, op, axis):
    span = d * (k - 1) + 1
    padded = size + 2 * p
    if span > padded:
        dil = f" (dilation {d} spreads it to {span})" if d > 1 else ""
        raise ShapeError(
            f"{op}: kernel {k}{dil} is larger than the padded input {padded} along spatial axis"
            f" {axis} (input {size}, padding={p}); {formula(size, k, s, p, d, ceil_mode)} < 1;"
            f" use a smaller kernel or dilation, or more padding"
        )
    num = padded - span
    out = (-(-num // s) if ceil_mode else num // s) + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1  # PyTorch: the last window must start inside the input or left padding
    return out


def out_sizes(op, sizes, kernel, stride, padding, dilation, ceil_mode=False):
    """Output size per spatial dimension; every argument is a tuple of equal length."""
    return tuple(
        _out(n, k, s, p, d, ceil_mode, op, i)
        for i, (n, k, s, p, d) in enumerate(
            zip(sizes, kernel, stride, padding, dilation, strict=True)
        )
    )


def same_padding(op, kernel, stride, dilation):
    """Per-dimension (left, right) padding that keeps out == in at stride 1 (extra pad on the right)."""
    if any(s != 1 for s in stride):
        raise ShapeError(
            f"{op}: padding='same' needs stride 1, got stride={_fmt(stride)};"
            f" use an explicit padding with stride > 1"
        )
    pads = []
    for k, d in zip(kernel, dilation, strict=True):
        total = d * (k - 1)
        pads.append((total // 2, total - total // 2))
    return tuple(pads)


def _fmt(values):
    return values[0] if len(set(values)) == 1 else values
