"""Shared pieces of the sliding-window topics: operands, padding, and sum-of-products terms.

    Z[i,j] = b + sum_{c,u,v} Ap[c, i*S + u*D, j*S + v*D] * W[c,u,v]      (Ap = A zero-padded)

Which cells a window reads comes from ``ops.geometry``, the padded input from ``ops.pad``.
The terms are listed per output cell (a loop: explanations are small); the numbers a trace
reports come from the engine's op, and ``sum_check`` compares the two.
"""

import math

import numpy as np

from ..errors import ShapeError
from ..ops.geometry import as_tuple, conv_windows, positive
from ..ops.pad import pad_forward
from .grid import fmt, term
from .matrix import as_chw, load, seeded
from .trace import CELLS_MAX, TERMS_MAX, Check, Step, difference


def operand(value, name, default_shape, seed):
    """An explicit operand (array or inline text) or a seeded random default of ``default_shape``."""
    if value is None:
        return seeded(default_shape, seed)
    if isinstance(value, str):
        return load(value, name)
    return np.asarray(value, dtype=np.float64)


def single(value, name):
    """A stride or dilation that must be one integer for this explanation (same along H and W)."""
    if isinstance(value, (tuple, list)):
        if len(set(value)) != 1:
            raise ShapeError(
                f"{name}={tuple(value)}: this explanation takes one {name} for both axes;"
                f" give a single integer, e.g. {name}={value[0]}"
            )
        value = value[0]
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ShapeError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def scalar_bias(bias, name="bias"):
    """A bias given as a number, a 1-element array or inline text -> float."""
    if bias is None:
        return 0.0
    b = load(bias, name) if isinstance(bias, str) else np.asarray(bias, dtype=np.float64)
    if np.size(b) != 1:
        raise ShapeError(
            f"{name}: one filter takes one bias value, got {np.size(b)} values {np.shape(b)};"
            f" give a single number, e.g. --bias 1"
        )
    return float(np.ravel(b)[0])


def windows_of(a, w, stride, padding, dilation=1):
    """The Windows of A (C, H, W) (*) W (C, KH, KW): pads, output size, each cell's window."""
    return conv_windows("conv2d", a.shape[1:], w.shape[1:], stride, padding, dilation)


def pad_chw(a, pads, value=0.0):
    """A (C, H, W) padded by ((top, bottom), (left, right)) cells of ``value`` (ops.pad)."""
    (top, bottom), (left, right) = pads
    return pad_forward(a, pad=(left, right, top, bottom), value=value)[0]


def padding_cells(shape_chw, pads, channels=True):
    """The cells of a padded (C, Hp, Wp) grid that padding added: (c, r, q) or (r, q) for C=1."""
    (top, bottom), (left, right) = pads
    c, hp, wp = shape_chw
    inside = np.zeros((hp, wp), dtype=bool)
    inside[top : hp - bottom, left : wp - right] = True
    cells = [(int(r), int(q)) for r, q in zip(*np.nonzero(~inside), strict=True)]
    if not channels:
        return cells
    return [(k, r, q) for k in range(c) for r, q in cells]


def index(name, c, r, q, channels):
    return f"{name}[{c},{r},{q}]" if channels else f"{name}[{r},{q}]"


def cell_terms(geom, channels, cell):
    """[(c, r, q, u, v)] for output cell (i, j): Ap[c, r, q] meets W[c, u, v] (r = tap(i, u))."""
    (rows, cols), (i, j) = geom.axes, cell
    return [
        (c, rows.tap(i, u), cols.tap(j, v), u, v)
        for c in range(channels)
        for u in range(rows.kernel)
        for v in range(cols.kernel)
    ]


def product_formula(label, terms, ap, w, bias, value, names=("A", "W")):
    """Two lines: the symbolic sum of products plus b, then the same with the numbers.

    Z[1,1] = (A[1,1]*W[0,0]) + (A[1,2]*W[0,1]) + ... + b = 9
           = ((-2)*0) + ((-2)*2) + ... + 1 = 9
    """
    channels = ap.shape[0] > 1
    a_name, w_name = names
    sym = [
        f"({index(a_name, c, r, q, channels)}*{index(w_name, c, u, v, channels)})"
        for c, r, q, u, v in terms
    ]
    num = [f"({term(ap[c, r, q])}*{term(w[c, u, v])})" for c, r, q, u, v in terms]
    return two_lines(label, sym, num, value, bias=bias)


def two_lines(label, sym, num, value, total=None, bias=None):
    """'label = sym terms = value' over 'label-wide blank = number terms = value', each sum
    shortened to its first TERMS_MAX terms and a count of the rest (of ``total``, if given);
    a ``bias`` is added as '+ b' after the terms."""
    pad = " " * len(label)
    sym, num = joined(sym, total), joined(num, total)
    if bias is not None:
        sym, num = f"{sym} + b", f"{num} + {term(bias)}"
    return f"{label} = {sym} = {fmt(value)}\n{pad} = {num} = {fmt(value)}"


def joined(terms, total=None, limit=TERMS_MAX):
    """'t0 + t1 + ...', with at most ``limit`` of the ``total`` (default: all) terms written out."""
    shown = terms[:limit]
    left = (len(terms) if total is None else total) - len(shown)
    return " + ".join(shown) + (f" + ... ({left} more terms)" if left > 0 else "")


def window_operands(ap, w, bias, geom, cell, one):
    """The numbers of one output cell: the window it reads, the kernel, the bias, the products."""
    rows, cols = geom.window(cell)
    win = ap[:, rows, cols]
    show = (lambda x: x[0]) if one else (lambda x: x)
    return {"window": show(win), "window_top_left": [rows.start, cols.start], "kernel": show(w),
            "products": show(win * w), "bias": bias}  # fmt: skip


def limited(cells, max_cells=CELLS_MAX, size=None):
    """The first ``max_cells`` cells (None: all) and how many were left out; with ``size``
    (cell -> a number) the ``max_cells`` cells where it is largest, in their own order."""
    cells = list(cells)
    if max_cells is None or len(cells) <= max_cells:
        return cells, 0
    if size is None:
        return cells[:max_cells], len(cells) - max_cells
    ranked = sorted(range(len(cells)), key=lambda k: -abs(np.nan_to_num(size(cells[k]))))
    return [cells[k] for k in sorted(ranked[:max_cells])], len(cells) - max_cells


AT_HINT = "explain one with --at i,j (at=(i, j)), or write every number with --json FILE"


def more_step(left_out, what, total, section="", hint=AT_HINT, largest=None):
    """The line that stands for the cells not written out (``largest``: the name of the output
    whose largest |values| were chosen)."""
    chosen = f"; those written out are the {total - left_out} with the largest |{largest}|" \
        if largest else ""  # fmt: skip
    text = f"... {left_out} more {what} not written out ({total} in all){chosen}; {hint}"
    return Step(
        "more", text, None, operands={"left_out": left_out, "total": total}, section=section
    )


def term_sum(terms, ap, w, bias):
    """The sum of the listed products plus bias, in exact-as-possible float arithmetic."""
    return exact_sum([ap[c, r, q] * w[c, u, v] for c, r, q, u, v in terms]) + bias


def exact_sum(values):
    """math.fsum (correctly rounded) of finite values; with nan/inf, NumPy's sum (fsum refuses
    inf + -inf, where the engine gives nan)."""
    values = np.asarray(values, dtype=np.float64).ravel()
    if np.all(np.isfinite(values)):
        try:
            return math.fsum(values)
        except OverflowError:  # finite terms whose exact sum overflows
            return float(np.sum(values))
    return float(np.sum(values))


def sum_check(by_hand, engine, what, magnitude, terms):
    """Check: the sums of the printed terms equal the engine's numbers up to the rounding of
    a sum of ``terms`` terms in another order, 4*(terms+1)*eps*max(magnitude) (Higham: a sum
    is off by <= terms*eps/2 * sum|t_i|), where magnitude is sum|t_i| per value: the engine's
    op on |operands|. Scaled to the magnitudes summed, not to the result, which may cancel."""
    sizes = np.abs(np.asarray(magnitude, np.float64))
    scale = float(np.max(sizes[np.isfinite(sizes)], initial=0.0))
    tolerance = 4 * (terms + 1) * np.finfo(np.float64).eps * scale
    return Check(what, difference(by_hand, engine), tolerance=tolerance)


def input_and_kernel(input, kernel, seed, size, kernel_size, default_size, default_kernel):
    """(A (C, H, W), W (C, KH, KW)) with seeded defaults of the given sizes."""
    size = default_size if size is None else size
    kernel_size = default_kernel if kernel_size is None else kernel_size
    a = as_chw(operand(input, "input", _hw(size), seed), "input")
    w = operand(kernel, "kernel", (a.shape[0], *_hw(kernel_size, "kernel_size")), seed + 1)
    w = as_chw(w, "kernel")
    if w.shape[0] != a.shape[0]:
        raise ShapeError(
            f"kernel: has {w.shape[0]} channel(s) but the input has {a.shape[0]}; a filter needs"
            f" one channel per input channel (split channels with '|')"
        )
    return a, w


def _hw(size, name="size"):
    return positive(as_tuple(size, 2, "explain", name), "explain", name)
