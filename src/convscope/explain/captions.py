"""What each frame of an animation says: the cell it computes, written out.

    sum:          Z[i,j] = (a*w) + ... + b = v          (one filter; Z[f,i,j] for F filters)
    max/mean/min: Y[c,i,j] = max(a, b, ...) = v         (one line per channel, up to 3)

A stride's frame also says whether the stride keeps the cell or drops it.
"""

import numpy as np

from ..ops.geometry import window
from .grid import fmt, term

CAPTION_TERMS = 9  # products written out in a frame's caption
CAPTION_CHANNELS = 3  # pooling: one caption line per channel, up to this many


def frame_cell(anim, k):
    """(filter, i, j) of frame k of ``anim`` (its own frames, row-major per filter)."""
    oh, ow = anim.cells
    f, rest = divmod(k, oh * ow)
    return (f, *divmod(rest, ow))


def cell_caption(anim, i, j, f=0):
    """Output cell (i, j) written out: 'Z[i,j] = (a*w) + ... + b = v', or 'Y[c,i,j] = max(...) = v'."""
    window = anim.source[(slice(None), *window_of(anim, i, j))]
    if anim.op == "sum":
        kernel = anim.kernel[f] if anim.filters > 1 else anim.kernel
        terms = [f"({term(a)}*{term(w)})"
                 for a, w in zip(window.ravel(), kernel.ravel(), strict=True)]  # fmt: skip
        if len(terms) > CAPTION_TERMS:
            terms = [*terms[: CAPTION_TERMS - 1], f"... ({len(terms) - CAPTION_TERMS + 1} more)"]
        if anim.bias is not None:
            terms.append(term(np.ravel(anim.bias)[f if np.size(anim.bias) > 1 else 0]))
        where = f"[{f},{i},{j}]" if anim.filters > 1 else f"[{i},{j}]"
        value = anim.output[f if anim.filters > 1 else 0, i, j]
        return f"{anim.names[2]}{where} = {' + '.join(terms)} = {fmt(value)}" + _fate(anim, i, j)
    lines = []
    for c in range(min(anim.output.shape[0], CAPTION_CHANNELS)):
        values = ", ".join(fmt(v) for v in window[c].ravel())
        lines.append(
            f"{anim.names[2]}[{c},{i},{j}] = {anim.op}({values}) = {fmt(anim.output[c, i, j])}"
        )
    return "\n".join(lines)


def _fate(anim, i, j):
    """What a stride does to cell (i, j) of the stride-1 output."""
    s = anim.downsample
    if s == 1:
        return ""
    if i % s or j % s:
        return f"\ndropped: stride {s} keeps only rows and columns 0, {s}, {2 * s}, ..."
    return f"\nkept: {anim.names[3] if len(anim.names) > 3 else 'it'}[{i // s},{j // s}]"


def window_of(anim, i, j):
    """The (rows, cols) slices of the source that output cell (i, j) reads."""
    (kh, kw), d = anim.window, anim.dilation
    sh, sw = anim.stride if isinstance(anim.stride, tuple) else (anim.stride, anim.stride)
    return window(i, kh, sh, d), window(j, kw, sw, d)
