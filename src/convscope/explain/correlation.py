"""The topics of one filter sliding over an input: ``conv``, ``stride`` and ``padding``.

    conv:     Z[i,j] = b + sum_{c,u,v} Ap[c, i*S + u*D, j*S + v*D] * W[c,u,v]
              (*) is what PyTorch calls convolution: a cross-correlation (the kernel is not flipped)
    stride:   Z_S = Z_1[::S, ::S]          (stride S = stride 1, then downsampling)
    padding:  Ap = A with P zeros around it; out = floor((in + 2P - D*(K-1) - 1) / S) + 1

Every number comes from ``ops.conv.conv2d_forward``; the printed terms are checked to sum to it.
"""

import numpy as np

from ..errors import ShapeError
from ..ops.conv import conv2d_forward
from ..ops.resample import downsample_forward
from .grid import fmt, window_cells
from .trace import (
    CELLS_MAX,
    CONVOLUTION_NOTE,
    HADAMARD_NOTE,
    INDEX_NOTE,
    Animation,
    Check,
    Panel,
    Step,
    Trace,
    difference,
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
        steps, by_hand = [], []
        total = len(cells)
        cells, left_out = limited(cells, max_cells, size=lambda c: self.z[c])
        for i, j in cells:
            terms = cell_terms(self.geom, self.a.shape[0], (i, j))
            value = self.z[i, j]
            by_hand.append(term_sum(terms, self.ap, self.w, self.b))
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
        return steps, sum_check(by_hand, engine, what)

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


def _notes(sliding, extra=()):
    notes = [INDEX_NOTE, FORMULA.format(a=sliding.a_name), CONVOLUTION_NOTE, HADAMARD_NOTE]
    if sliding.padded:
        (t, bt), (l, r) = sliding.pads
        notes.append(f"Ap = A with zeros added: {t} row(s) on top, {bt} below, {l} left, {r} right")
    return notes + list(extra)


def _focus(at, z):
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
        notes=_notes(sl),
        inputs=sl.inputs(cell),
        steps=steps,
        results={"Z": z},
        output=z,
        checks=[check],
        marks={"Ap": {"muted": sl.muted}, **({"Z": {"focus": [cell]}} if cell else {})},
        panels=sl.panels(_focus(at, z)),
        animation=sl.animation(),
    )


@quiet
def stride(input=None, kernel=None, bias=None, *, stride=2, padding=0, dilation=1, at=None,
           seed=0, size=None, kernel_size=None, max_cells=CELLS_MAX):  # fmt: skip
    """Stride S output beside the stride-1 output: Z_S = Z_1[::S, ::S] (stride = downsampling).

    Defaults: seeded integers, 5x5 input, 3x3 kernel, stride 2. Output: Z_S (OH, OW).
    """
    a, w = input_and_kernel(input, kernel, seed, size, kernel_size, (5, 5), (3, 3))
    b = scalar_bias(bias)
    s = stride = single(stride, "stride")
    z1 = engine_conv(a, w, b, 1, padding, dilation)
    zs = engine_conv(a, w, b, s, padding, dilation)
    down, _ = downsample_forward(z1[None, None], factor=s)
    kept = [(i * s, j * s) for i in range(zs.shape[0]) for j in range(zs.shape[1])]
    keep = set(kept)
    dropped = [(i, j) for i in range(z1.shape[0]) for j in range(z1.shape[1]) if (i, j) not in keep]
    sl = Sliding(a, w, b, s, padding, dilation, zs, out_name=f"Z_{s}")
    cell = check_at(at, zs.shape, f"Z_{s}")
    cells = [cell] if cell else [(i, j) for i in range(zs.shape[0]) for j in range(zs.shape[1])]
    label = f"Z_{s}[{{}},{{}}]"
    steps, check = sl.steps(cells, focus=cell is not None, label=label, max_cells=max_cells)
    for step in steps:
        if step.cell:
            i, j = step.cell
            step.formula = f"{step.label} = Z_1[{i * s},{j * s}]\n" + step.formula
    keep_text = (
        f"keep the {{marked}} cells, drop the {len(dropped)} unmarked (intermediate) ones"
        if s > 1
        else "stride 1 keeps every cell and drops nothing"
    )
    downsample_step = Step(
        f"Z_{s} = Z_1[::{s}, ::{s}]",
        f"Z_{s} = downsample(Z_1, {s}) = Z_1[::{s}, ::{s}]: {keep_text}",
        down[0, 0],
        operands={"Z_1": z1, "factor": s},
        section="stride = stride 1, then downsampling",
    )
    title = (
        f"stride {s} = stride 1 with the intermediate outputs dropped"
        if s > 1
        else "stride 1: the window moves one cell at a time, no output is dropped"
    )
    jumps = (
        f"stride {s}: the window jumps {s} cell{'s' if s > 1 else ''}; Z_1 is the stride-1 output"
    )
    return Trace(
        topic="stride",
        title=title,
        notes=_notes(sl, [jumps, *(_upsampling(s) if s > 1 else [])]),
        inputs=sl.inputs(cell),
        steps=[*steps, downsample_step],
        results={"Z_1": z1, f"Z_{s}": zs},
        output=zs,
        checks=[
            check,
            Check(f"Z_1[::{s}, ::{s}] vs conv2d_forward at stride {s}", difference(down[0, 0], zs)),
        ],
        marks={
            "Ap": {"muted": sl.muted},
            "Z_1": {"kept": kept, "dropped": dropped},
            **({f"Z_{s}": {"focus": [cell]}} if cell else {}),
        },
        panels=[
            [
                Panel("Z_1 (stride 1)", z1, marks={"kept": kept, "dropped": dropped}),
                Panel(f"Z_{s} = Z_1[::{s}, ::{s}]", zs),
            ]
        ],
        animation=sl.animation(z1),
    )


def _upsampling(s):
    """The other half of a stride: its backward is upsampling by zero insertion."""
    return [
        f"backward: downsampling's gradient is upsampling by zero insertion: dL/dZ_1 ="
        f" dilate(dL/dZ_{s}, {s}), each gradient back at its kept cell, {s - 1} zero(s) between"
        f" (the dropped cells had no effect, so their gradient is 0); see `convscope explain"
        f" backward --stride {s}`",
        f"the same zero insertion is what a transposed convolution (nn.ConvTranspose2d,"
        f" stride {s}) does to its input before it slides its kernel: it upsamples",
    ]


@quiet
def padding(input=None, kernel=None, bias=None, *, padding=1, stride=1, dilation=1, at=None,
            seed=0, size=None, kernel_size=None, max_cells=CELLS_MAX):  # fmt: skip
    """The padded input (zeros marked) and how the output grows or keeps its size ("same").

    Defaults: seeded integers, 4x4 input, 3x3 kernel, padding 1 (= "same"). Output: Z (OH, OW).
    """
    a, w = input_and_kernel(input, kernel, seed, size, kernel_size, (4, 4), (3, 3))
    b = scalar_bias(bias)
    z = engine_conv(a, w, b, stride, padding, dilation)
    sl = Sliding(a, w, b, stride, padding, dilation, z)
    size_steps = [_size_step(name, axis) for name, axis in zip("HW", sl.geom.axes, strict=True)]
    cell = check_at(at, z.shape)
    cells = [cell] if cell else [(i, j) for i in range(z.shape[0]) for j in range(z.shape[1])]
    steps, check = sl.steps(cells, focus=cell is not None, max_cells=max_cells)
    grows = "keeps its size ('same')" if z.shape == a.shape[1:] else f"is {z.shape[0]}x{z.shape[1]}"
    return Trace(
        topic="padding",
        title=f"padding {padding}: the {a.shape[1]}x{a.shape[2]} input's output {grows}",
        notes=_notes(sl),
        inputs=sl.inputs(cell),
        steps=size_steps + steps,
        results={"Z": z},
        output=z,
        checks=[check],
        marks={"Ap": {"muted": sl.muted}, **({"Z": {"focus": [cell]}} if cell else {})},
        panels=sl.panels(_focus(at, z)),
        animation=sl.animation(),
    )


def _size_step(name, axis):
    """The output size along one axis: the slides' form (W - K + 2P)/S + 1 first, then the
    general one with dilation, then the size without padding."""
    (lo, hi), n, k, st = axis.pads, axis.size, axis.kernel, axis.stride
    pad = f"2*{lo}" if lo == hi else f"{lo} + {hi}"
    sym = "2P" if lo == hi else "P_before + P_after"
    bare = axis._replace(pads=(0, 0))
    without = f"{bare.out}" if bare.fits else "0 (no window fits)"
    lines = [f"{name}_out = floor(({name}_in - K + {sym}) / S) + 1 = floor(({n} - {k} + {pad}) / {st})"
             f" + 1 = {axis.out}"]  # fmt: skip
    if axis.dilation > 1:
        lines.append(f"      with dilation D = {axis.dilation}, K spreads to D*(K-1) + 1:"
                     f" {axis.formula()}")  # fmt: skip
    else:
        lines.append(f"      (the general form, with dilation D: {axis.formula()})")
    lines.append(f"      without padding: {bare.expression(unpadded=True)} = {without}")
    operands = {"in": axis.size, "kernel": axis.kernel, "stride": axis.stride,
                "padding": list(axis.pads), "dilation": axis.dilation}  # fmt: skip
    return Step(f"{name}_out", "\n".join(lines), axis.out, operands=operands, section="output size")
