"""One filter sliding over an input: ``Sliding`` (the steps, check, figure and animation of
the ``conv``, ``stride`` and ``padding`` topics) and the ``conv`` topic.

    conv:     Z[i,j] = b + sum_{c,u,v} Ap[c, i*S + u*D, j*S + v*D] * W[c,u,v]
              (*) is what PyTorch calls convolution: a cross-correlation (the kernel is not flipped)
    stride:   Z_S = Z_1[::S, ::S]          (stride S = stride 1, then downsampling)
    padding:  Ap = A with P zeros around it; out = floor((in + 2P - D*(K-1) - 1) / S) + 1

Every number comes from ``ops.conv.conv2d_forward``; the printed terms are checked to sum to it.
"""

import numpy as np

from ..errors import ShapeError
from ..ops.conv import conv2d_forward
from .grid import fmt, window_cells
from .trace import (
    CELLS_MAX,
    CONVOLUTION_NOTE,
    HADAMARD_NOTE,
    INDEX_NOTE,
    Animation,
    Panel,
    Step,
    Trace,
    quiet,
)
from .windows import (
    cell_terms,
    input_and_kernel,
    limited,
    more_step,
    pad_chw,
    padding_cells,
    product_formula,
    scalar_bias,
    single,
    sum_check,
    term_sum,
    window_operands,
    windows_of,
)

FORMULA = "Z[i,j] = b + sum over c,u,v of {a}[c, i*S + u*D, j*S + v*D] * W[c,u,v]"


def engine_conv(a, w, b, stride, padding, dilation):
    """The engine's answer for one filter: A (C, H, W), W (C, KH, KW) -> Z (OH, OW)."""
    z, _ = conv2d_forward(
        a[None], w[None], np.array([b]), stride=stride, padding=padding, dilation=dilation
    )
    return z[0, 0]


def check_at(at, shape, name="Z"):
    """``at`` must name a cell of the output; returns it as a tuple or None."""
    if at is None:
        return None
    i, j = (int(v) for v in at)
    if not (0 <= i < shape[0] and 0 <= j < shape[1]):
        raise ShapeError(
            f"at=({i},{j}) is outside the output {name}, which is {shape[0]}x{shape[1]};"
            f" choose 0 <= i < {shape[0]} and 0 <= j < {shape[1]} (indices are 0-based)"
        )
    return (i, j)


class Sliding:
    """One filter over one (padded) input: the per-cell steps, the check, the figure, the animation."""

    def __init__(self, a, w, b, stride, padding, dilation, z, out_name="Z"):
        stride, dilation = single(stride, "stride"), single(dilation, "dilation")
        self.a, self.w, self.b, self.z = a, w, b, z
        self.stride, self.dilation, self.out_name = stride, dilation, out_name
        self.geom = windows_of(a, w, stride, padding, dilation)
        self.pads = self.geom.pads
        self.ap = pad_chw(a, self.pads)
        self.padded = any(p for pair in self.pads for p in pair)
        self.a_name = "Ap" if self.padded else "A"
        self.one = a.shape[0] == 1  # a single channel prints as a matrix with 2 indices
        self.muted = padding_cells(self.ap.shape, self.pads, channels=not self.one)

    def show(self, arr):
        return arr[0] if self.one else arr

    def window(self, i, j):
        return window_cells(*self.geom.window((i, j)), None if self.one else self.a.shape[0])

    def steps(self, cells, focus=False, label=None, max_cells=CELLS_MAX):
        """One step per output cell (the first ``max_cells``, then a line counting the rest);
        with ``focus`` each shows the input with its window marked."""
        steps, by_hand, sizes = [], [], []
        total = len(cells)
        cells, left_out = limited(cells, max_cells, size=lambda c: self.z[c])
        for i, j in cells:
            terms = cell_terms(self.geom, self.a.shape[0], (i, j))
            value = self.z[i, j]
            by_hand.append(term_sum(terms, self.ap, self.w, self.b))
            sizes.append(term_sum(terms, abs(self.ap), abs(self.w), abs(self.b)))
            name = (label or f"{self.out_name}[{{}},{{}}]").format(i, j)
            text = product_formula(name, terms, self.ap, self.w, self.b, value, (self.a_name, "W"))
            operands = window_operands(self.ap, self.w, self.b, self.geom, (i, j), self.one)
            step = Step(name, text, float(value), operands=operands, cell=(i, j))
            if focus:
                step.grids = {self.a_name: self.show(self.ap)}
                step.marks = {self.a_name: {"focus": self.window(i, j), "muted": self.muted}}
            steps.append(step)
        engine = [self.z[i, j] for i, j in cells]
        what = "sum of the printed products + b vs ops.conv.conv2d_forward"
        if left_out:
            steps.append(more_step(left_out, "output cells", total, largest=self.out_name))
            what += f" (the {len(cells)} cells written out)"
        return steps, sum_check(by_hand, engine, what, sizes, self.w.size + 1)

    def inputs(self, cell=None):
        """A (and Ap), W, b; with ``cell`` the step of that cell shows the input grid with its
        window, so it is not printed twice."""
        shown = {"A": self.show(self.a)} if cell is None or self.padded else {}
        if self.padded and cell is None:
            shown["Ap"] = self.show(self.ap)
        shown.update({"W": self.show(self.w), "b": self.b})
        return shown

    def panels(self, cell):
        """The slide of one cell, a row per channel: the input with the window, then
        window ⊙ W = products; the first row ends with Σ + b = the cell, and the output map."""
        rows, cols = self.geom.window(cell)
        win = self.ap[:, rows, cols]
        cells2d = window_cells(rows, cols)
        muted2d = padding_cells(self.ap.shape, self.pads, channels=False)
        name = f"{self.out_name}[{cell[0]},{cell[1]}]"
        out = []
        for c in range(self.a.shape[0]):
            tag = "" if self.one else f"[{c}]"
            out.append([
                Panel(f"{self.a_name}{tag}", self.ap[c], cells2d, muted2d),
                Panel(f"window{tag}", win[c], after="⊙"),
                Panel(f"W{tag}", self.w[c], after="="),
                Panel(f"products{tag}", win[c] * self.w[c], after="→" if c == 0 else ""),
            ])  # fmt: skip
        total = "Σ products" if self.one else f"Σ products ({self.a.shape[0]} channels)"
        value = self.z[cell]
        out[0] += [
            Panel(
                f"{total} = {fmt(value - self.b)}\n+ b = {fmt(self.b)}\n= {name}",
                np.array([[value]]),
            ),
            Panel(self.out_name, self.z, [cell]),
        ]
        return out

    def animation(self, z1=None):
        """The window sliding over Ap; with ``z1`` (the stride topic) over every stride-1
        position, the ones the stride drops greyed."""
        s = self.stride if z1 is None else 1
        names = (self.a_name, "W", self.out_name) if z1 is None else \
            (self.a_name, "W", "Z_1", self.out_name)  # fmt: skip
        return Animation(
            source=self.ap,
            kernel=self.w,
            output=(self.z if z1 is None else z1)[None],
            window=tuple(self.w.shape[1:]),
            stride=s,
            dilation=self.dilation,
            muted=padding_cells(self.ap.shape, self.pads, channels=False),
            names=names,
            caption=f"{self.out_name} = {self.a_name} (*) W + b: stride {self.stride},"
            f" padding {self.pads[0][0]}, dilation {self.dilation}"
            + ("" if z1 is None else "; every stride-1 position, the dropped ones grey"),
            bias=self.b,
            downsample=1 if z1 is None else self.stride,
            slide=True,
        )


def slide_notes(sliding, extra=()):
    notes = [INDEX_NOTE, FORMULA.format(a=sliding.a_name), CONVOLUTION_NOTE, HADAMARD_NOTE]
    if sliding.padded:
        (t, bt), (l, r) = sliding.pads
        notes.append(f"Ap = A with zeros added: {t} row(s) on top, {bt} below, {l} left, {r} right")
    return notes + list(extra)


def focus_cell(at, z):
    return check_at(at, z.shape) or (z.shape[0] // 2, z.shape[1] // 2)


@quiet
def conv(input=None, kernel=None, bias=None, *, stride=1, padding=0, dilation=1, at=None,
         seed=0, size=None, kernel_size=None, max_cells=CELLS_MAX):  # fmt: skip
    """Each output element as the sum of products that makes it.

    input (H, W) or (C, H, W), kernel (KH, KW) or (C, KH, KW), bias a number; any of them may be
    inline text ("0 2 -3; -2 -2 -2; 1 0 1"). Defaults: seeded integers, 4x4 input, 3x3 kernel, b=0.
    ``at=(i, j)`` explains one cell with its window marked; otherwise the first ``max_cells``
    cells are written out (None: all). Output: Z (OH, OW).
    """
    a, w = input_and_kernel(input, kernel, seed, size, kernel_size, (4, 4), (3, 3))
    b = scalar_bias(bias)
    z = engine_conv(a, w, b, stride, padding, dilation)
    sl = Sliding(a, w, b, stride, padding, dilation, z)
    cell = check_at(at, z.shape)
    cells = [cell] if cell else [(i, j) for i in range(z.shape[0]) for j in range(z.shape[1])]
    steps, check = sl.steps(cells, focus=cell is not None, max_cells=max_cells)
    return Trace(
        topic="conv",
        title=f"Z = A (*) W + b, stride {stride}, padding {padding}, dilation {dilation}",
        notes=slide_notes(sl),
        inputs=sl.inputs(cell),
        steps=steps,
        results={"Z": z},
        output=z,
        checks=[check],
        marks={"Ap": {"muted": sl.muted}, **({"Z": {"focus": [cell]}} if cell else {})},
        panels=sl.panels(focus_cell(at, z)),
        animation=sl.animation(),
    )
