"""The ``channels`` topic: a multi-channel input and several filters.

    M[f,c] = A[c] (*) W[f,c]                 channel c of filter f meets channel c of the input
    Z[f]   = M[f,0] + M[f,1] + ... + b[f]    the maps are summed, plus the filter's bias

One output map per filter: #output channels = #filters. Every map comes from
``ops.conv.conv2d_forward``; their sums are checked against one multi-channel engine call.
"""

import numpy as np

from ..errors import ShapeError
from ..ops.conv import conv2d_forward
from ..ops.geometry import as_tuple, positive
from .grid import fmt, term
from .matrix import as_chw, load
from .trace import INDEX_NOTE, Panel, Step, Trace, quiet
from .windows import operand, sum_check


def _filters(kernel, channels, nfilters, kernel_size, seed):
    w = operand(kernel, "kernel", (nfilters, channels, *kernel_size), seed + 1)
    if w.ndim == 2:
        w = w[None, None]
    elif w.ndim == 3:
        w = w[None] if channels > 1 or w.shape[0] == 1 else w[:, None]
    if w.ndim != 4 or w.shape[1] != channels:
        raise ShapeError(
            f"channels: the filters have shape {w.shape}, but the input has {channels} channel(s);"
            f" every filter needs one (KH, KW) slice per input channel: split channels with '|'"
            f" and filters with '||'"
        )
    return w


def _biases(bias, nfilters):
    if bias is None:
        return np.zeros(nfilters)
    b = load(bias, "bias") if isinstance(bias, str) else np.asarray(bias, dtype=np.float64)
    b = np.ravel(b).astype(np.float64)
    if b.size != nfilters:
        raise ShapeError(
            f"channels: {b.size} bias value(s) for {nfilters} filter(s); give one per filter,"
            f" e.g. --bias '{' '.join(['0'] * nfilters)}'"
        )
    return b


@quiet
def channels(input=None, kernel=None, bias=None, *, stride=1, padding=0, dilation=1, seed=0,
             size=None, kernel_size=None, channels=3, filters=2):  # fmt: skip
    """Each filter's per-channel maps, their sum and bias: one output map per filter.

    input (C, H, W); kernel (F, C, KH, KW) (inline: channels split by '|', filters by '||');
    bias (F,). Defaults: seeded integers, 3 channels of 4x4, 2 filters of 2x2, bias 0.
    Output: Z (F, OH, OW).
    """
    op = "channels"
    size = positive(as_tuple((4, 4) if size is None else size, 2, op, "size"), op, "size")
    ks = (2, 2) if kernel_size is None else kernel_size
    ks = positive(as_tuple(ks, 2, op, "kernel_size"), op, "kernel_size")
    positive((channels,), op, "channels")
    positive((filters,), op, "filters")
    a = as_chw(operand(input, "input", (channels, *size), seed), "input")
    c = a.shape[0]
    w = _filters(kernel, c, filters, ks, seed)
    nf = w.shape[0]
    b = _biases(bias, nf)
    hyper = {"stride": stride, "padding": padding, "dilation": dilation}
    z, _ = conv2d_forward(a[None], w, b, **hyper)
    z = z[0]
    steps, sums, rows = [], [], [[Panel(f"A[{k}]", a[k]) for k in range(c)]]
    for f in range(nf):
        maps = [conv2d_forward(a[None, k : k + 1], w[f : f + 1, k : k + 1], **hyper)[0][0, 0]
                for k in range(c)]  # fmt: skip
        section = f"filter {f}: one map per channel, summed, plus b[{f}]"
        for k, m in enumerate(maps):
            steps.append(
                Step(
                    f"M[{f},{k}]",
                    f"M[{f},{k}] = A[{k}] (*) W[{f},{k}]",
                    m,
                    operands={f"A[{k}]": a[k], f"W[{f},{k}]": w[f, k]},
                    grids={f"M[{f},{k}]": m},
                    section=section,
                )  # fmt: skip
            )
        total = np.sum(maps, axis=0) + b[f]
        sums.append(total)
        names = " + ".join(f"M[{f},{k}]" for k in range(c))
        first = " + ".join(term(m[0, 0]) for m in maps)
        text = (
            f"Z[{f}] = {names} + b[{f}]\n"
            f"  e.g. Z[{f},0,0] = {first} + {term(b[f])} = {fmt(z[f, 0, 0])}"
        )
        operands = {f"M[{f},{k}]": m for k, m in enumerate(maps)} | {f"b[{f}]": b[f]}
        steps.append(Step(f"Z[{f}]", text, z[f], operands=operands, section=section))
        row = [p for k, m in enumerate(maps) for p in (Panel(f"W[{f},{k}]", w[f, k]),
                                                        Panel(f"M[{f},{k}]", m))]  # fmt: skip
        rows.append([*row, Panel(f"Z[{f}] (+ b = {fmt(b[f])})", z[f])])
    sizes, _ = conv2d_forward(abs(a[None]), abs(w), abs(b), **hyper)  # sum |terms| per cell
    check = sum_check(
        np.stack(sums), z, "sum of the per-channel maps + b vs one conv2d_forward over all channels",
        sizes, w[0].size + 1,
    )  # fmt: skip
    inputs = {"A": a, **{f"W[{f}]": w[f] for f in range(nf)}, "b": b}
    return Trace(
        topic="channels",
        title=f"{c} input channel(s), {nf} filter(s) -> {nf} output map(s)",
        notes=[
            INDEX_NOTE,
            "each filter has one slice per input channel: M[f,c] = A[c] (*) W[f,c]",
            "(*) is cross-correlation, as in PyTorch: the kernel is not flipped",
            "Z[f] = sum over c of M[f,c] + b[f]; #output channels = #filters",
        ],
        inputs=inputs,
        steps=steps,
        results={"Z": z},
        output=z,
        checks=[check],
        panels=rows,
    )
