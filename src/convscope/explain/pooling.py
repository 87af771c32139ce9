"""The ``pool`` topic: max, mean and min over windows, channel by channel, and where the gradient goes.

    Y[c,i,j] = reduce over u,v of Ap[c, i*S + u, j*S + v]          (channels are kept)
    backward: max/min send dY[c,i,j] to the window's first extreme element (argmax routing);
              mean splits it evenly: each of the K*K cells gets dY[c,i,j] / (K*K)

Numbers come from ``ops.pool``; the listed window values and the routed gradient come from its
loop twins (``ops.naive.pool2d`` and ``pool2d_backward``) and are checked against it, and the
gradient against the engine's autograd (``F.max_pool2d`` etc.).
"""

import numpy as np

from ..autograd import tensor
from ..errors import ShapeError
from ..nn import functional as F
from ..ops import naive
from ..ops import pool as pool_ops
from ..ops.geometry import as_tuple, pool_windows, positive
from .correlation import check_at
from .grid import fmt, term, window_cells
from .matrix import as_chw
from .output_size import unreached_text
from .trace import CELLS_MAX, INDEX_NOTE, Animation, Check, Panel, Step, Trace, difference, quiet
from .windows import limited, more_step, operand, pad_chw, padding_cells, sum_check

MODES = {"max": ("max_pool2d", -np.inf, np.max), "mean": ("avg_pool2d", 0.0, np.mean),
         "min": ("min_pool2d", np.inf, np.min)}  # fmt: skip


@quiet
def pool(input=None, *, kernel_size=2, stride=None, padding=0, mode="max", grad=None, at=None,
         seed=0, size=None, channels=2, max_cells=CELLS_MAX):  # fmt: skip
    """Each window's max/mean/min, channel by channel, then the gradient's route back.

    input (H, W) or (C, H, W); grad dL/dY (OH, OW) or (C, OH, OW) (default: seeded integers).
    Defaults: seeded integers, 2 channels of 4x4, 2x2 windows, stride = kernel_size. The first
    ``max_cells`` windows are written out (None: all). Output: Y (C, OH, OW) (a single-channel
    input gives (1, OH, OW)).
    """
    if mode not in MODES:
        raise ShapeError(f"pool: mode={mode!r} is not one of max, mean, min")
    name, pad_value, reduce = MODES[mode]
    size = positive(as_tuple((4, 4) if size is None else size, 2, "pool", "size"), "pool", "size")
    positive((channels,), "pool", "channels")
    a = as_chw(operand(input, "input", (channels, *size), seed), "input")
    forward = getattr(pool_ops, f"{name}_forward")
    hyper = {"kernel_size": kernel_size, "stride": stride, "padding": padding}
    y, cache = forward(a[None], **hyper)
    y = y[0]
    g = pool_windows(name, a.shape[1:], kernel_size, stride, padding)
    k, s, p = g.kernel, g.stride, tuple(lo for lo, _ in g.pads)
    c_count, oh, ow = y.shape
    dy = as_chw(operand(grad, "grad", y.shape, seed + 2), "grad")
    if dy.shape != y.shape:
        raise ShapeError(
            f"pool: grad has shape {dy.shape} but the output Y is {y.shape}; give one"
            f" gradient value per output cell"
        )
    (dx,) = getattr(pool_ops, f"{name}_backward")(dy[None], cache)
    dx = dx[0]
    y_sizes = forward(abs(a[None]), **hyper)[0][0] if mode == "mean" else y  # sum |terms|
    (dx_sizes,) = getattr(pool_ops, f"{name}_backward")(abs(dy[None]), cache)
    ap = pad_chw(a, g.pads, pad_value)
    values = naive.pool2d(a, k, s, reduce, padding=p)  # the loop twins: what the steps list
    routed, where = naive.pool2d_backward(a, dy, k, s, mode, padding=p)
    cell = check_at(at, (oh, ow), "Y")
    a_name = "Ap" if any(p) else "A"
    forward_steps, backward_steps = [], []
    windows = [(c, i, j) for c, i, j in np.ndindex(c_count, oh, ow) if not cell or (i, j) == cell]
    windows, left_out = limited(windows, max_cells)
    for c, i, j in windows:
        rows, cols = g.window((i, j))
        win = ap[c, rows, cols]
        span = f"{a_name}[{c}, {rows.start}:{rows.stop}, {cols.start}:{cols.stop}]"
        at_c = where.get((c, i, j))
        step = _forward_step(f"Y[{c},{i},{j}]", span, win, mode, at_c, a_name, c, y[c, i, j])
        ties = _ties(win, mode)
        if ties > 1:
            step.formula += f" (a {ties}-way tie: the first wins, PyTorch's rule)"
            step.operands["ties"] = ties
        if cell:
            step.grids = {a_name: ap[c]}
            pads = padding_cells((1, *ap.shape[1:]), g.pads, channels=False)
            step.marks = {a_name: {"focus": window_cells(rows, cols), "muted": pads}}
        forward_steps.append(step)
        backward_steps.append(_backward_step(c, i, j, dy[c, i, j], win.size, mode, at_c, a_name))
        if ties > 1:
            backward_steps[-1].formula = backward_steps[-1].formula.replace(
                "cells get 0)", f"cells get 0, the {ties - 1} tied with it too)"
            )
    if left_out:
        total = c_count * oh * ow
        forward_steps.append(more_step(left_out, "windows", total))
        backward_steps.append(more_step(left_out, "gradients", total))
    checks = [
        sum_check(
            values,
            y,
            f"the listed window values ({mode}) vs ops.pool.{name}_forward",
            y_sizes,
            k[0] * k[1],
        ),
        sum_check(
            routed,
            dx,
            f"the routed gradient vs ops.pool.{name}_backward",
            dx_sizes[0],
            k[0] * k[1],
        ),
        _autograd_check(a, dy, dx, name, hyper),
        *([_min_is_negated_max(a, y, hyper)] if mode == "min" else []),
    ]
    title = f"{mode} pooling, {k[0]}x{k[1]} windows, stride {s[0] if s[0] == s[1] else s}"
    return Trace(
        topic="pool",
        title=title + f": {c_count} channel(s) in, {c_count} out",
        notes=[
            INDEX_NOTE,
            *([_pad_note(mode, pad_value)] if any(p) else []),
            *_unreached_notes(g, a.shape[1:]),
            f"Y[c,i,j] = {mode} of the window {a_name}[c, i*S : i*S+K, j*S : j*S+K]; each channel"
            f" is pooled on its own, so the number of channels is preserved",
            "backward: "
            + (
                "mean pooling splits dY[c,i,j] evenly over its window's K*K cells"
                if mode == "mean"
                else f"{mode} pooling sends dY[c,i,j] to the window's {mode} (the first one on a tie);"
                " the other cells get 0"
            ),
        ],
        inputs={"A": a, "dY": dy},
        steps=[
            *_section(forward_steps, "forward"),
            *_section(backward_steps, "backward (where the gradient goes)"),
        ],
        results={"Y": y, "dA": dx},
        output=y,
        checks=checks,
        panels=_panels(a, ap, y, dy, dx, g, where, mode, cell),
        animation=Animation(
            source=np.where(np.isfinite(ap), ap, 0.0),
            kernel=None,
            output=y,
            window=k,
            stride=s[0],
            names=(a_name, "", "Y"),
            caption=f"{mode} pooling, {k[0]}x{k[1]} windows, stride {s[0]}",
            op=mode,
        ),
    )


def _panels(a, ap, y, dy, dx, g, where, mode, cell):
    """Per channel: A with the windows outlined and each window's choice marked (ties dashed,
    rows no window reaches hatched), Y, dY, and dA with the cells the gradient went to.
    Overlapping windows (stride < kernel) would hide each other: only the window of one
    output cell (``cell``, else the middle one) is outlined, and that cell marked in Y."""
    c_count, oh, ow = y.shape
    (top, _), (left, _) = g.pads
    overlap = any(s < k for s, k in zip(g.stride, g.kernel, strict=True))
    shown = [cell or (oh // 2, ow // 2)] if overlap else list(np.ndindex(oh, ow))
    boxes = []
    for i, j in shown:
        rows, cols = g.window((i, j))
        boxes.append((rows.start - top, cols.start - left, *g.kernel))
    dead = _unreached_cells(g, a.shape[1:])
    tied = set() if mode == "mean" else _tied_cells(ap, y, g)
    rows = []
    for c in range(c_count):
        chosen = [(r - top, q - left) for (cc, _, _), (r, q) in where.items() if cc == c]
        ties = sorted({(r, q) for cc, r, q in tied if cc == c} - set(chosen))
        title = f"A[{c}]: windows" + (f", {mode} marked" if mode != "mean" else "")
        if overlap:  # one window outlined
            title += f"\nthey overlap: Y[{c},{shown[0][0]},{shown[0][1]}]'s shown"
        marks = {"tie": ties, "unreached": dead}
        focus = shown if overlap else []
        rows.append([Panel(title, a[c], focus=chosen, boxes=boxes, marks=marks),
                     Panel(f"Y[{c}]", y[c], focus=focus), Panel(f"dY[{c}]", dy[c], focus=focus),
                     Panel(f"dA[{c}]", dx[c], focus=chosen, marks={"unreached": dead})])  # fmt: skip
    return rows


def _ties(win, mode):
    """How many cells of the window hold its extreme value (1: no tie; mean: none)."""
    if mode == "mean" or not np.isfinite(win).any():
        return 1
    return int(np.sum(win == (np.max(win) if mode == "max" else np.min(win))))


def _tied_cells(ap, y, g):
    """{(c, r, q)}: the cells of A that hold their window's extreme when another cell of the
    window holds it too (a tie), found on a strided view of the padded input Ap."""
    (kh, kw), (sh, sw), (oh, ow) = g.kernel, g.stride, y.shape[1:]
    (top, _), (left, _) = g.pads
    view = np.lib.stride_tricks.sliding_window_view(ap, (kh, kw), axis=(1, 2))
    hit = view[:, ::sh, ::sw][:, :oh, :ow] == y[..., None, None]  # (C, OH, OW, KH, KW)
    tie = hit & (hit.sum(axis=(-2, -1)) > 1)[..., None, None]
    c, i, j, u, v = np.nonzero(tie)
    return set(
        zip(c.tolist(), (i * sh + u - top).tolist(), (j * sw + v - left).tolist(), strict=True)
    )


def _unreached_cells(g, shape):
    """(r, q) cells of A that no window reads (the last rows/columns a stride skips)."""
    end = [(ax.out - 1) * ax.stride + ax.span - ax.pads[0] for ax in g.axes]  # first unread
    return [(r, q) for r, q in np.ndindex(*shape) if r >= end[0] or q >= end[1]]


def _unreached_notes(g, shape):
    """What ``explain shape`` says about the rows no window reaches, for pooling."""
    notes = []
    for name, n, axis in zip("HW", shape, g.axes, strict=True):
        if axis.unreached:
            notes.append(f"{unreached_text(name, n, axis.pads[1], axis.unreached)}; dA there is 0")
    return notes


def _min_is_negated_max(a, y, hyper):
    """PyTorch has no min pooling: min-pool(x) = -max-pool(-x), checked on the engine."""
    negated = -pool_ops.max_pool2d_forward(-a[None], **hyper)[0][0]
    return Check("Y vs -max_pool2d(-A): min-pool = -maxpool(-x), how PyTorch (which has no"
                 " min_pool2d) computes it", difference(y, negated))  # fmt: skip


def _pad_note(mode, value):
    if mode == "mean":
        return "Ap = A padded with zeros, which count in each mean (PyTorch's count_include_pad)"
    return f"Ap = A padded with {fmt(value)}, which never wins a {mode}"


def _section(steps, name):
    for step in steps:
        step.section = name
    return steps


def _forward_step(label, span, win, mode, where, a_name, c, engine_value):
    values = ", ".join(fmt(v) for v in win.ravel())
    if mode == "mean":
        total = " + ".join(term(v) for v in win.ravel())
        text = f"{label} = mean({span}) = ({total}) / {win.size} = {fmt(engine_value)}"
        return Step(label, text, float(engine_value), operands={"window": win})
    text = (
        f"{label} = {mode}({span}) = {mode}({values}) = {fmt(engine_value)}"
        f"   at {a_name}[{c},{where[0]},{where[1]}]"
    )
    operands = {"window": win, "chosen": [c, *where]}
    return Step(label, text, float(engine_value), operands=operands)


def _backward_step(c, i, j, g, count, mode, where, a_name):
    label = f"dY[{c},{i},{j}]"
    if mode == "mean":
        text = f"{label} = {fmt(g)}: each of the {count} cells of its window gets {term(g)} / {count} = {fmt(g / count)}"
        return Step(label, text, float(g), operands={"dY": g, "cells": count})
    text = f"{label} = {fmt(g)} -> d{a_name}[{c},{where[0]},{where[1]}] += {fmt(g)}   (the other {count - 1} cells get 0)"
    return Step(label, text, float(g), operands={"dY": g, "to": [c, *where]})


def _autograd_check(a, dy, dx, name, hyper):
    x = tensor(a[None], requires_grad=True)
    getattr(F, name)(x, **hyper).backward(dy[None])
    err = difference(x.grad[0], dx)
    return Check(f"dA vs the engine's autograd (F.{name}(...).backward(dY))", err)
