"""The shape sandbox: a convolution's (or a transposed convolution's) output size with the
formula filled in, or the sentence why the configuration is invalid, and the window of every
step of the slide, for an animation that says which grid is the input and which the output.

    conv:        out = floor((in + 2P - D*(K-1) - 1) / S) + 1           (``explain.shape``)
                 output cell i reads input i*S + u*D - P, u = 0..K-1      (the window)
    transposed:  out = (in - 1)*S - 2P + D*(K-1) + output_padding + 1
                 input cell i writes output i*S + u*D - P, u = 0..K-1     (the scatter)

The sizes and the tables come from the engine (``conv_transpose2d_forward`` and
``network.window_table``, which reads the windows off ``conv1d_forward``).
"""

import numpy as np

from ..errors import ShapeError
from ..ops.conv_transpose import conv_transpose2d_forward
from ..ops.shapes import as_tuple, non_negative, positive
from .network import window_table
from .output_size import shape
from .trace import Step, Trace

TRANSPOSED = "out = (in - 1)*S - 2P + D*(K-1) + output_padding + 1"


def sandbox(
    size=(5, 5), kernel_size=3, stride=1, padding=0, dilation=1, transposed=False, output_padding=0
):
    """Trace of the sandbox; ``output`` [OH, OW] or None; its last step's ``operands["windows"]``:
    ``{"rows": (K, n), "rows_full": (K, n)}`` where n is the output size (conv: what each output
    cell reads, -1 = padding; ``*_full``: the same in the padded input's coordinates) or the input
    size (transposed: where each input cell writes, -1 = cropped; ``*_full``: in the uncropped
    output's coordinates). Empty when the configuration is invalid."""
    op = "sandbox"
    size = positive(as_tuple(size, 2, op, "size"), op, "size")
    kernel = positive(as_tuple(kernel_size, 2, op, "kernel_size"), op, "kernel_size")
    stride = positive(as_tuple(stride, 2, op, "stride"), op, "stride")
    dilation = positive(as_tuple(dilation, 2, op, "dilation"), op, "dilation")
    pads = non_negative(as_tuple(padding, 2, op, "padding"), op, "padding")
    if not transposed:
        trace = shape(size, kernel, stride, pads, dilation)
        trace.topic = "sandbox"
        if trace.output is not None:
            trace.steps[-1].operands["windows"] = _tables(
                size, trace.output, kernel, stride, pads, dilation, False
            )
        return trace
    out_pad = non_negative(as_tuple(output_padding, 2, op, "output_padding"), op, "output_padding")
    steps = [
        _transposed_axis(a, *v)
        for a, *v in zip("HW", size, kernel, stride, pads, dilation, out_pad, strict=True)
    ]
    try:
        y, _ = conv_transpose2d_forward(
            np.zeros((1, 1, *size)),
            np.zeros((1, 1, *kernel)),
            stride=stride,
            padding=pads,
            output_padding=out_pad,
            dilation=dilation,
        )
        output, why = list(y.shape[2:]), None
    except ShapeError as exc:
        output, why = None, str(exc).removeprefix("conv_transpose2d: ")
    verdict = f"output size: {output[0]}x{output[1]}" if output else f"invalid: {why}"
    steps.append(Step("result", verdict, output, operands={"invalid": [why] if why else []}))
    trace = Trace(
        topic="sandbox",
        title=f"transposed: output size = {output[0]}x{output[1]}"
        if output
        else "invalid configuration",
        notes=[
            f"input {size[0]}x{size[1]}, kernel {kernel[0]}x{kernel[1]}, stride {_one(stride)},"
            f" padding {_one(pads)}, dilation {_one(dilation)}, output_padding {_one(out_pad)}",
            TRANSPOSED,
            "a transposed convolution runs the window the other way: each INPUT cell multiplies"
            " the kernel and adds it into a window of the OUTPUT (then P rows/columns are cropped"
            " from each side)",
        ],
        steps=steps,
        output=output,
    )
    if output:
        steps[-1].operands["windows"] = _tables(size, output, kernel, stride, pads, dilation, True)
    return trace


def _transposed_axis(axis, n, k, s, p, d, op):
    out = (n - 1) * s - 2 * p + d * (k - 1) + op + 1
    text = (
        f"{axis}_out = ({n} - 1)*{s} - 2*{p} + {d}*({k}-1) + {op} + 1\n"
        f"      = {(n - 1) * s} - {2 * p} + {d * (k - 1)} + {op} + 1 = {out}"
    )
    operands = {
        "in": n,
        "kernel": k,
        "stride": s,
        "padding": p,
        "dilation": d,
        "output_padding": op,
    }
    return Step(f"{axis}_out", text, out if out >= 1 else None, operands=operands)


def _tables(size, out, kernel, stride, pads, dilation, transposed):
    tables = {}
    for axis, n, o, k, s, p, d in zip(
        ("rows", "cols"), size, out, kernel, stride, pads, dilation, strict=True
    ):
        if transposed:
            tables[axis] = window_table(n, k, s, p, d, transposed=True, out=o)
            tables[f"{axis}_full"] = window_table(n, k, s, 0, d, transposed=True, out=o + 2 * p)
        else:
            tables[axis] = window_table(n, k, s, p, d)
            tables[f"{axis}_full"] = window_table(n + 2 * p, k, s, 0, d)
    return tables


def _one(values):
    return values[0] if len(set(values)) == 1 else values
