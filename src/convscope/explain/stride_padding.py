"""The ``stride`` and ``padding`` topics: one filter sliding over an input (``Sliding``).

    stride:   Z_S = Z_1[::S, ::S]          (stride S = stride 1, then downsampling; its
                                            backward is upsampling: dilate)
    padding:  Ap = A with P zeros around it; out = floor((in - K + 2P) / S) + 1

Every number comes from ``ops.conv.conv2d_forward``; the printed terms are checked to sum to it.
"""

from ..ops.resample import downsample_forward
from .correlation import Sliding, check_at, engine_conv, focus_cell, slide_notes
from .trace import CELLS_MAX, Check, Panel, Step, Trace, difference, quiet
from .windows import input_and_kernel, scalar_bias, single


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
        f"keep the {{marked}} cells, drop the {len(dropped)} others"
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
        notes=slide_notes(sl, [jumps, *(_upsampling(s) if s > 1 else [])]),
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
        notes=slide_notes(sl),
        inputs=sl.inputs(cell),
        steps=size_steps + steps,
        results={"Z": z},
        output=z,
        checks=[check],
        marks={"Ap": {"muted": sl.muted}, **({"Z": {"focus": [cell]}} if cell else {})},
        panels=sl.panels(focus_cell(at, z)),
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
