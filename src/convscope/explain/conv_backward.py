"""The ``backward`` topic: a conv layer's gradients, term by term, and the two identities behind them.

(*) is cross-correlation, as in PyTorch (the kernel is not flipped). For O = X (*) W + b with
F filters over C channels, stride S, padding P (Xp = X zero-padded), upstream dL/dO (F, OH, OW):

    dL/dW[f,c,u,v] = sum_{i,j} Xp[c, i*S + u, j*S + v] * dO[f,i,j]
                   = cross-correlation of Xp[c] with dilate(dO[f], S)   (its first KH x KW)
    dL/dXp[c,r,q]  = sum over f and (i,j,u,v) with i*S+u = r, j*S+v = q of W[f,c,u,v] * dO[f,i,j]
                   = sum over the filters f of the full cross-correlation of dilate(dO[f], S)
                     with rot180(W[f,c]): dilate(dO, S) zero-padded by K-1 (G), then
                     (*) rot180(W) -- the textbook "full convolution of dO with W" (a convolution
                     flips its kernel; flipping rot180(W) gives W)
    dL/dX = dL/dXp without its padding; rows/columns no window reached get 0
    dL/db[f] = sum_{i,j} dO[f,i,j]

The gradients come from ``ops.conv.conv2d_backward``; the term sums (``ops.naive``'s loop
twin, window by window) and both identities (run through ``conv2d_forward``) are checked
against it, and it against the engine's autograd.
"""

import numpy as np

from ..autograd import tensor
from ..errors import ShapeError
from ..nn import functional as F
from ..ops.conv import conv2d_backward, conv2d_forward
from ..ops.geometry import as_tuple, positive
from .backward_terms import Layer, dw_steps, dx_steps, identities
from .grid import term
from .matrix import as_chw, biases
from .trace import (
    CELLS_MAX,
    CONVOLUTION_NOTE,
    INDEX_NOTE,
    Animation,
    Check,
    Panel,
    Step,
    Trace,
    difference,
    quiet,
)
from .windows import operand, padding_cells, single, sum_check, two_lines

EQUIVALENCE = (
    "full cross-correlation of dilate(dO) with rot180(W) = the textbook full convolution of"
    " dO with W (a convolution flips its kernel, and flipping rot180(W) gives back W)"
)


@quiet
def backward(input=None, kernel=None, grad=None, bias=None, *, stride=1, padding=0, seed=0,
             size=None, kernel_size=None, channels=None, filters=None, max_cells=CELLS_MAX):  # fmt: skip
    """dL/dW, dL/dX and dL/db of a conv layer, written out and checked.

    input X (H, W) or (C, H, W); kernel W (KH, KW) or (C, KH, KW) for one filter, (F, C, KH, KW)
    for F (inline: filters split by '||'); grad dL/dO (OH, OW), or (F, OH, OW). Defaults:
    seeded integers, 3x3 X and 2x2 W (stride > 1: 5x5 X and 3x3 W, so that the dilated dO has
    zeros in it), ``channels`` and ``filters`` (default 1), dO of the output's shape. The
    first ``max_cells`` pixels of dX are written out (None: all). Output: {"dX": (C, H, W),
    "dW": (C, KH, KW), "db": float} for one filter; (F, C, KH, KW) and (F,) for F filters.
    """
    stride = single(stride, "stride")
    x, w, one = _operands(input, kernel, seed, size, kernel_size, channels, filters, stride)
    b = biases("backward", bias, w.shape[0])
    o, cache = conv2d_forward(x[None], w, b, stride=stride, padding=padding)
    do = _upstream(grad, o.shape[1:], seed, x.shape, w.shape, stride, padding)
    dx, dw, db = conv2d_backward(do[None], cache)
    dx = dx[0]
    L = Layer(x, w, b, do, stride, padding)

    def show(a, lead):
        """``a`` with the filter axis dropped for one filter, the channel axis for one channel."""
        for axis, n in (("f", L.nf), ("c", L.nc)):
            if axis in lead:
                a = a[0] if n == 1 else a
                lead = lead.replace(axis, "") if n == 1 else lead
        return a

    id_steps, dw_id, dx_id, dxp, full = identities(L, show)
    checks = _checks(L, x, w, b, do, dx, dw, db, dw_id, dx_id, stride, padding)
    s, xn = stride, L.xname
    db_steps = [Step(L.name("db", f, None), two_lines(
        L.name("db", f, None), [L.name("dO", f, None, i, j) for i, j in np.ndindex(*do.shape[1:])],
        [term(v) for v in do[f].ravel()], db[f]), float(db[f]), operands={"dO": do[f]},
        section="dL/db") for f in range(L.nf)]  # fmt: skip
    out_dw = dw[0] if one else dw
    out_db = float(db[0]) if one else db
    return Trace(
        topic="backward",
        title=f"gradients of O = X (*) W + b, {_filters_text(L)}stride {s}, padding {padding}",
        notes=[
            INDEX_NOTE,
            CONVOLUTION_NOTE,
            f"dL/dW[u,v] = sum over i,j of {xn}[i*S+u, j*S+v] * dO[i,j]",
            "dL/dX[r,q] = sum of W[u,v] * dO[i,j] over the (i,j,u,v) with i*S+u = r, j*S+v = q"
            + (
                ", and over the filters: each filter's dO flows back into every channel"
                if L.nf > 1
                else ""
            ),
            "dO is the upstream gradient dL/dO; dL/db = sum of dO",
            f"note: {EQUIVALENCE}",
        ],  # fmt: skip
        inputs={
            "X": show(x, "c"),
            **({"Xp": show(L.xp, "c")} if xn == "Xp" else {}),
            "W": show(w, "fc"),
            "dO": show(do, "f"),
        },  # fmt: skip
        steps=[*dw_steps(L, dw), *dx_steps(L, dx, max_cells), *id_steps, *db_steps],
        results={"dW": show(dw, "fc"), "dX": show(dx, "c"), "db": db[0] if L.nf == 1 else db},
        output={"dX": dx, "dW": out_dw, "db": out_db},
        checks=checks,
        marks={"Xp": {"muted": _padding(L)}},
        panels=_panels(L, dw, dx),
        animation=_animation(L, full, dxp, dw),
    )


def _filters_text(L):
    return f"{L.nf} filters over {L.nc} channel(s), " if L.nf > 1 else ""


def _operands(input, kernel, seed, size, kernel_size, channels, filters, stride):
    """(X (C, H, W), W (F, C, KH, KW), one filter given as 2-D/3-D) with seeded defaults."""
    wide = stride > 1 and input is None and size is None and kernel is None and kernel_size is None
    size = ((5, 5) if wide else (3, 3)) if size is None else size
    kernel_size = ((3, 3) if wide else (2, 2)) if kernel_size is None else kernel_size
    size = positive(as_tuple(size, 2, "backward", "size"), "backward", "size")
    ks = positive(as_tuple(kernel_size, 2, "backward", "kernel_size"), "backward", "kernel_size")
    nc, nf = (positive((n,), "backward", name)[0] for n, name in
              ((channels or 1, "channels"), (filters or 1, "filters")))  # fmt: skip
    x = as_chw(operand(input, "input", (nc, *size), seed), "input")
    w = operand(kernel, "kernel", (nf, x.shape[0], *ks), seed + 1)
    one = w.ndim < 4
    w = w.reshape(1, 1, *w.shape) if w.ndim == 2 else w[None] if w.ndim == 3 else w
    if w.ndim != 4 or w.shape[1] != x.shape[0]:
        raise ShapeError(
            f"backward: the kernel has shape {w.shape[1:] if one else w.shape} but the input has"
            f" {x.shape[0]} channel(s); every filter needs one (KH, KW) slice per input channel:"
            f" split channels with '|' and filters with '||'"
        )
    return x, w, one and w.shape[0] == 1


def _upstream(grad, out_shape, seed, x_shape, w_shape, stride, padding):
    """dL/dO as (F, OH, OW)."""
    do = operand(grad, "grad", tuple(out_shape), seed + 2)
    do = do[None] if do.ndim == 2 else do
    if do.shape != tuple(out_shape):
        f, oh, ow = out_shape
        want = f"{oh}x{ow}" if f == 1 else f"{f}x{oh}x{ow} (one {oh}x{ow} map per filter)"
        got = do.shape[1:] if do.shape[0] == 1 else do.shape
        raise ShapeError(
            f"backward: grad dL/dO has shape {got} but the output O is {want}"
            f" (input {x_shape[1]}x{x_shape[2]}, kernel {w_shape[2]}x{w_shape[3]}, stride {stride},"
            f" padding {padding}); give one value per output cell"
        )
    return do


def _checks(L, x, w, b, do, dx, dw, db, dw_id, dx_id, stride, padding):
    xt, wt, bt = (tensor(a, requires_grad=True) for a in (x[None], w, b))
    F.conv2d(xt, wt, bt, stride=stride, padding=padding).backward(do[None])
    s, xn = stride, L.xname
    _, abs_cache = conv2d_forward(abs(x[None]), abs(w), stride=stride, padding=padding)
    dx_sizes, dw_sizes, _ = conv2d_backward(abs(do[None]), abs_cache)  # sum |terms| per value
    dw_n, dx_n = do[0].size, w.shape[0] * w[0, 0].size  # terms per dW value, at most per dX
    return [
        sum_check(L.dw_terms, dw, "dW: sum of the terms vs ops.conv.conv2d_backward", dw_sizes, dw_n),
        sum_check(dw_id, dw, f"dW = cross-correlation of {xn} with dilate(dO, {s}) (conv2d_forward)",
                  dw_sizes, dw_n),
        sum_check(L.dx_terms, dx, "dX: sum of the terms vs ops.conv.conv2d_backward", dx_sizes[0], dx_n),
        sum_check(dx_id, dx, f"dX = full cross-correlation of dilate(dO, {s}) with rot180(W)"
                  f"{', summed over the filters' if L.nf > 1 else ''} (conv2d_forward)", dx_sizes[0], dx_n),
        *(_autograd_check(n, t.grad, v) for n, t, v in (("dW", wt, dw), ("dX", xt, dx[None]),
                                                         ("db", bt, db))),
    ]  # fmt: skip


def _autograd_check(name, autograd, ops):
    err = difference(autograd, ops)
    return Check(f"{name}: ops.conv.conv2d_backward vs autograd (F.conv2d(...).backward(dO))", err)


def _padding(L):
    return padding_cells(L.xp.shape, L.pads, channels=L.nc > 1)


def _panels(L, dw, dx):
    """Per input channel: Xp (padding grey, unreached pixels hatched), each filter's W, dW and
    rot180(W), and dX; then a row of the upstream gradients: dO and G (dilated, padded by K-1)
    per filter."""
    padded = _xp_padding(L)
    dead = L.unreached()
    dead_x = [(r - L.top, q - L.left) for r, q in dead
              if 0 <= r - L.top < L.x.shape[1] and 0 <= q - L.left < L.x.shape[2]]  # fmt: skip
    rows = []
    for c in range(L.nc):
        ct = f"[{c}]" if L.nc > 1 else ""
        row = [Panel(f"{L.xname}{ct}", L.xp[c], muted=padded, marks={"unreached": dead})]
        for f in range(L.nf):
            tag = L.name("", f, c)
            row += [Panel(f"W{tag}", L.w[f, c]), Panel(f"dW{tag}", dw[f, c]),
                    Panel(f"rot180(W{tag})", L.w[f, c, ::-1, ::-1])]  # fmt: skip
        row.append(Panel(f"dX{ct}", dx[c], marks={"unreached": dead_x}))
        rows.append(row)
    grads = []
    for f in range(L.nf):
        ft = f"[{f}]" if L.nf > 1 else ""
        grads.append(Panel(f"dO{ft}", L.do[f]))
        if L.s > 1:
            grads.append(Panel(f"dilate(dO{ft}, {L.s})", L.dod[f], marks={"inserted": [
                (r, q) for r, q in np.ndindex(*L.dod.shape[1:]) if r % L.s or q % L.s]}))  # fmt: skip
        marks = L.g_marks()
        grads.append(Panel(f"G{ft}: padded by K-1 = {L.kh - 1}", L.g[f], muted=marks["muted"],
                           marks={"inserted": marks["inserted"]}))  # fmt: skip
    return [*rows, grads]


def _animation(L, full, dxp, dw):
    """rot180(W) sliding over G (channel 0 of dXp, every filter summed), then dO sliding over
    Xp with dilation S (dW of filter 0, channel 0): the two cross-correlations of backward."""
    s, kh, kw = L.s, L.kh, L.kw
    marks = L.g_marks()
    name = "G" if L.nf > 1 else f"G = dilate(dO, {s}), padded" if s > 1 else "G = dO, padded"
    dilated = f"dO dilated by {s} ({s - 1} zero(s) between gradients), " if s > 1 else "dO "
    summed = f", the {L.nf} filters summed" if L.nf > 1 else ""
    channel = " (channel 0)" if L.nc > 1 else ""
    dw_anim = Animation(
        source=L.xp[:1],
        kernel=L.do[:1],
        output=dw[0, :1],
        window=L.do.shape[1:],
        dilation=s,
        muted=_xp_padding(L),
        names=(L.xname, "dO", "dW"),
        caption=f"dW = {L.xname} (*) dO with the taps {s} apart (= {L.xname} (*) dilate(dO, {s}))"
        + (" (filter 0, channel 0)" if L.nf > 1 or L.nc > 1 else ""),
    )
    return Animation(
        source=L.g,
        kernel=L.w[:, 0, ::-1, ::-1].copy(),
        output=dxp[:1],
        window=(kh, kw),
        muted=marks["muted"] + marks["inserted"],
        names=(name, "rot180(W)", "dXp"),
        caption=f"dXp = full cross-correlation of {dilated}padded by K-1 = {kh - 1},{kw - 1}, with"
        f" rot180(W){summed}{channel}",
        computed=full.shape[1:],
        then=dw_anim,
    )


def _xp_padding(L):
    return padding_cells((1, *L.xp.shape[1:]), L.pads, channels=False)
