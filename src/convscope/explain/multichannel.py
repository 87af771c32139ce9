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
from .correlation import check_at
from .grid import fmt, term, window_cells
from .matrix import as_chw, biases
from .trace import CONVOLUTION_NOTE, INDEX_NOTE, Animation, Panel, Step, Trace, quiet
from .windows import (
    cell_terms,
    operand,
    pad_chw,
    padding_cells,
    sum_check,
    term_sum,
    two_lines,
    window_operands,
    windows_of,
)


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


@quiet
def channels(input=None, kernel=None, bias=None, *, stride=1, padding=0, dilation=1, at=None,
             seed=0, size=None, kernel_size=None, channels=3, filters=2):  # fmt: skip
    """Each filter's per-channel maps, their sum and bias: one output map per filter.

    input (C, H, W); kernel (F, C, KH, KW) (inline: channels split by '|', filters by '||');
    bias (F,). Defaults: seeded integers, 3 channels of 4x4, 2 filters of 2x2, bias 0.
    ``at=(i, j)`` also writes out that cell of every filter: the products of all channels'
    windows, summed, plus b[f]. Output: Z (F, OH, OW).
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
    b = biases("channels", bias, nf)
    hyper = {"stride": stride, "padding": padding, "dilation": dilation}
    z, _ = conv2d_forward(a[None], w, b, **hyper)
    z = z[0]
    cell = check_at(at, z.shape[1:])
    view = _View(a, w, b, z, hyper, cell)
    steps, sums, rows = [], [], [view.input_panels()]
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
        rows.append([*row, Panel(f"Z[{f}] (+ b = {fmt(b[f])})", z[f], [cell] if cell else [])])
    sizes, _ = conv2d_forward(abs(a[None]), abs(w), abs(b), **hyper)  # sum |terms| per cell
    check = sum_check(
        np.stack(sums), z, "sum of the per-channel maps + b vs one conv2d_forward over all channels",
        sizes[0], w[0].size + 1,
    )  # fmt: skip
    cell_steps, cell_check = view.cell_steps() if cell else ([], None)
    inputs = {"A": a, **{f"W[{f}]": w[f] for f in range(nf)}, "b": b}
    return Trace(
        topic="channels",
        title=f"{c} input channel(s), {nf} filter(s) -> {nf} output map(s)",
        notes=[
            INDEX_NOTE,
            "each filter has one slice per input channel: M[f,c] = A[c] (*) W[f,c]",
            CONVOLUTION_NOTE,
            "Z[f] = sum over c of M[f,c] + b[f]; #output channels = #filters",
        ],
        inputs=inputs,
        steps=steps + cell_steps,
        results={"Z": z},
        output=z,
        checks=[check, *([cell_check] if cell_check else [])],
        marks={"Z": {"focus": [(f, *cell) for f in range(nf)]}} if cell else {},
        panels=rows,
        animation=view.animation(),
    )


class _View:
    """The window of one cell on every channel (``at``), and the CS231n-style animation."""

    def __init__(self, a, w, b, z, hyper, cell):
        self.a, self.w, self.b, self.z, self.cell = a, w, b, z, cell
        self.hyper = hyper
        self.geom = windows_of(a, w[0], hyper["stride"], hyper["padding"], hyper["dilation"])
        self.ap = pad_chw(a, self.geom.pads)
        self.name = "Ap" if self.ap.shape != a.shape else "A"
        self.padding = padding_cells(self.ap.shape, self.geom.pads, channels=False)

    def window(self):
        return window_cells(*self.geom.window(self.cell)) if self.cell else []

    def input_panels(self):
        shown = self.ap if self.cell else self.a
        name = self.name if self.cell else "A"
        muted = self.padding if self.cell else []
        return [Panel(f"{name}[{k}]", shown[k], self.window(), muted) for k in range(len(shown))]

    def cell_steps(self):
        """Z[f,i,j] for every filter: all channels' products, summed, plus b[f]."""
        (i, j), nc = self.cell, self.a.shape[0]
        terms = cell_terms(self.geom, nc, self.cell)
        steps, by_hand, engine, sizes = [], [], [], []
        for f in range(self.w.shape[0]):
            sym = [f"({self.name}[{c},{r},{q}]*W[{f},{c},{u},{v}])" for c, r, q, u, v in terms]
            num = [f"({term(self.ap[c, r, q])}*{term(self.w[f, c, u, v])})"
                   for c, r, q, u, v in terms]  # fmt: skip
            label = f"Z[{f},{i},{j}]"
            text = two_lines(label, [*sym, f"b[{f}]"], [*num, term(self.b[f])], self.z[f, i, j])
            operands = window_operands(self.ap, self.w[f], self.b[f], self.geom, self.cell, False)
            step = Step(label, text, float(self.z[f, i, j]), operands=operands, cell=(f, i, j),
                        section=f"the cell ({i},{j}) of every filter: all channels' products")  # fmt: skip
            if f == 0:
                step.grids = {self.name: self.ap}
                step.marks = {self.name: {"focus": window_cells(*self.geom.window(self.cell), nc),
                                          "muted": padding_cells(self.ap.shape, self.geom.pads)}}  # fmt: skip
            steps.append(step)
            by_hand.append(term_sum(terms, self.ap, self.w[f], self.b[f]))
            engine.append(self.z[f, i, j])
            sizes.append(
                term_sum(terms, abs(self.ap), abs(self.w[f]), abs(self.b[f]))
            )  # sum |terms|
        what = "sum of the printed products + b[f] vs conv2d_forward, every filter"
        return steps, sum_check(by_hand, engine, what, sizes, len(terms) + 1)

    def animation(self):
        """CS231n's demo: every filter slides over all channels; its cells fill its map."""
        stride, dilation = self.geom.axes[0].stride, self.geom.axes[0].dilation
        if any(ax.stride != stride or ax.dilation != dilation for ax in self.geom.axes):
            stride = tuple(ax.stride for ax in self.geom.axes)
        return Animation(
            source=self.ap,
            kernel=self.w,
            output=self.z,
            window=tuple(self.w.shape[2:]),
            stride=stride,
            dilation=dilation,
            muted=self.padding,
            names=(self.name, "W", "Z"),
            caption=f"Z[f] = sum over c of {self.name}[c] (*) W[f,c] + b[f]: {self.a.shape[0]}"
            f" channel(s), {self.w.shape[0]} filter(s), stride {self.hyper['stride']}, padding"
            f" {self.hyper['padding']}",
            bias=self.b,
        )
