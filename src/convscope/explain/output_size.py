"""The output-size formula with the numbers filled in, per spatial dimension, and why a
configuration is invalid when it is.

    out = floor((in + P_before + P_after - D*(K-1) - 1) / S) + 1      (P_before = P_after = P usually)
"""

from ..errors import ShapeError
from ..ops.geometry import Axis, as_tuple, positive, resolve_pads
from .grid import term
from .trace import Step, Trace, quiet

AXES = ("H", "W")


@quiet
def shape(size=(28, 28), kernel_size=(5, 5), stride=1, padding=0, dilation=1, ceil_mode=False):
    """Trace of the output size of a 2-D convolution or pooling window; output [OH, OW] or None.

    The numbers come from ``ops.geometry`` (the one place that computes a window and a size).
    """
    op = "shape"
    size = positive(as_tuple(size, 2, op, "size"), op, "size")
    kernel = positive(as_tuple(kernel_size, 2, op, "kernel_size"), op, "kernel_size")
    stride = positive(as_tuple(stride, 2, op, "stride"), op, "stride")
    dilation = positive(as_tuple(dilation, 2, op, "dilation"), op, "dilation")
    steps, out, why, failed = [], [], [], {}
    try:
        pads = resolve_pads(op, padding, kernel, stride, dilation)
    except ShapeError as exc:
        if padding != "same":
            raise
        why.append(str(exc).removeprefix(f"{op}: "))
        pads = None
    if pads is not None:
        for name, *dim in zip(AXES, size, kernel, stride, pads, dilation, strict=True):
            step, size_out, reason = _axis(name, Axis(*dim, bool(ceil_mode)))
            steps.append(step)
            out.append(size_out)
            if reason:
                failed.setdefault(reason, []).append(name)
    pad_text = padding if isinstance(padding, str) else pads and [p[0] for p in pads]
    rnd = "ceil" if ceil_mode else "floor"
    notes = [
        f"input {size[0]}x{size[1]}, kernel {kernel[0]}x{kernel[1]}, stride {_one(stride)},"
        f" padding {_one(pad_text)}, dilation {_one(dilation)}",
        f"out = {rnd}((in - K + 2P) / S) + 1",
        f"with dilation D (the kernel spread to D*(K-1) + 1): out = {rnd}((in + 2P - D*(K-1) - 1)"
        f" / S) + 1",
    ]
    why += [f"along {' and '.join(axes)} {reason}" for reason, axes in failed.items()]
    output = out if not why else None
    title = "output size = " + "x".join(map(str, out)) if output else "invalid configuration"
    verdict = f"output size: {out[0]}x{out[1]}" if output else "invalid: " + "; ".join(why)
    steps.append(Step("result", verdict, output, operands={"per_axis": out, "invalid": why}))
    return Trace(topic="shape", title=title, notes=notes, steps=steps, output=output)


def invalid(trace):
    """Why a shape trace's configuration is invalid (one sentence), or None when it is valid."""
    return None if trace.output is not None else "; ".join(trace.steps[-1].operands["invalid"])


def _one(values):
    if isinstance(values, (tuple, list)) and len(set(values)) == 1:
        return values[0]
    return values


def _axis(name, axis):
    """One dimension: the formula, its value, and the reason it is invalid (or None)."""
    (before, after), n, s = axis.pads, axis.size, axis.stride
    num = axis.padded - axis.span
    head = f"{name}_out = {axis.expression()}"
    operands = {"in": n, "kernel": axis.kernel, "stride": s, "padding": [before, after],
                "dilation": axis.dilation}  # fmt: skip
    if not axis.fits:
        d = axis.dilation
        spread = f" (dilation {d} spreads it to {axis.span})" if d > 1 else ""
        reason = (
            f"the kernel {axis.kernel}{spread} is larger than the padded input {axis.padded}"
            f" (input {n}, padding {before}+{after}): no window fits;"
            f" use a smaller kernel or more padding"
        )
        text = f"{head}\n      = floor({term(num)} / {s}) + 1 = {num // s + 1} < 1: invalid"
        return Step(f"{name}_out", text, None, operands=operands), None, reason
    out = axis.out
    rnd = "ceil" if axis.ceil_mode else "floor"
    lines = [
        head,
        f"      = {rnd}({num} / {s}) + 1 = {out - 1 + axis.ceil_dropped} + 1 = {out + axis.ceil_dropped}",
    ]
    if axis.ceil_dropped:
        lines.append(
            f"      - 1 = {out}: the last window would start in the right padding, so it is dropped"
        )
    if num % s and not axis.ceil_mode:
        lines.append(
            f"      ({num} is not a multiple of stride {s}: {unreached_text(name, n, after, axis.unreached)})"
        )
    if out == n:
        lines.append(f"      output size equals input size {n} ('same')")
    return Step(f"{name}_out", "\n".join(lines), out, operands=operands), out, None


def unreached_text(axis, n, after, count):
    """Which of the last ``count`` rows of the padded input no window reaches: input or padding."""
    line = "row" if axis == "H" else "column"
    pad, real = min(count, after), count - min(count, after)
    lines = f"{count} {line}s" if count > 1 else line
    head = (
        f"the last {lines} of the padded input {'are' if count > 1 else 'is'} reached by no window"
    )
    if not real:
        what = "it is" if count == 1 else "they are"
        return f"{head}: {what} padding (zeros), so no input value is lost"
    rows = f"{line} {n - 1}" if real == 1 else f"{line}s {n - real}..{n - 1}"
    lost = f"input {rows} (0-based), which never {'influences' if real == 1 else 'influence'} the output"
    if not pad:
        return f"{head}: {lost}"
    return f"{head}: {lost}, and {pad} padding {line}{'s' if pad > 1 else ''} (zeros)"
