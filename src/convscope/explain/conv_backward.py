"""The ``backward`` topic: a conv layer's gradients, term by term, and the two identities behind them.

(*) is cross-correlation, as in PyTorch (the kernel is not flipped). For O = X (*) W + b at
stride S, padding P (Xp = X zero-padded) and an upstream gradient dL/dO:

    dL/dW[c,u,v] = sum_{i,j} Xp[c, i*S + u, j*S + v] * dO[i,j]
                 = cross-correlation of Xp with dilate(dO, S)           (its first KH x KW)
    dL/dXp[c,r,q] = sum over (i,j,u,v) with i*S+u = r, j*S+v = q of W[c,u,v] * dO[i,j]
                 = full cross-correlation of dilate(dO, S) with rot180(W): dilate(dO, S)
                   zero-padded by K-1, then (*) rot180(W) -- the textbook "full convolution
                   of dO with W" (a convolution flips its kernel; flipping rot180(W) gives W)
    dL/dX = dL/dXp without its padding; rows/columns no window reached get 0
    dL/db = sum_{i,j} dO[i,j]

The gradients come from ``ops.conv.conv2d_backward``; the term sums (``ops.naive``'s loop
twin, window by window) and both identities (run through ``conv2d_forward``) are checked
against it, and it against the engine's autograd.
"""

import numpy as np

from ..autograd import tensor
from ..errors import ShapeError
from ..nn import functional as F
from ..ops.conv import conv2d_backward, conv2d_forward
from ..ops.naive import corr2d_backward
from ..ops.resample import dilate_forward
from .grid import term
from .trace import (
    CELLS_MAX,
    INDEX_NOTE,
    TERMS_MAX,
    Animation,
    Check,
    Panel,
    Step,
    Trace,
    difference,
    quiet,
)
from .windows import (
    index,
    input_and_kernel,
    limited,
    more_step,
    operand,
    pad_chw,
    padding_cells,
    scalar_bias,
    single,
    sum_check,
    two_lines,
    windows_of,
)

IDENTITIES = "the identities, computed with conv2d_forward"
DX_SECTION = "dL/dX: each pixel collects from every window that used it"
EQUIVALENCE = (
    "full cross-correlation of dilate(dO) with rot180(W) = the textbook full convolution of"
    " dO with W (a convolution flips its kernel, and flipping rot180(W) gives back W)"
)


class _Layer:
    """One filter's forward and the engine's backward, with what the steps need."""

    def __init__(self, x, w, b, do, stride, padding):
        self.x, self.w, self.b, self.do, self.s = x, w, b, do, stride
        self.kh, self.kw = w.shape[1:]
        self.geom = windows_of(x, w, stride, padding)
        self.pads = self.geom.pads
        self.xp = pad_chw(x, self.pads)
        # the sums of the terms: ops.naive's loop twin, each window handing dO back
        self.dx_terms, self.dw_terms, _ = corr2d_backward(x, w, do, stride, padding)
        self.xname = "Xp" if self.xp.shape != x.shape else "X"
        self.many = w.shape[0] > 1  # several channels print with a channel index
        self.top, self.left = self.pads[0][0], self.pads[1][0]

    def crop(self, a):
        """A padded (C, Hp, Wp) gradient without its padding -> (C, H, W)."""
        return a[:, self.top : self.top + self.x.shape[1], self.left : self.left + self.x.shape[2]]

    def show(self, a):
        return a if self.many else a[0]


@quiet
def backward(input=None, kernel=None, grad=None, bias=None, *, stride=1, padding=0, seed=0,
             size=None, kernel_size=None, max_cells=CELLS_MAX):  # fmt: skip
    """dL/dW, dL/dX and dL/db of one filter, written out and checked.

    input X (H, W) or (C, H, W); kernel W (KH, KW) or (C, KH, KW); grad dL/dO (OH, OW).
    Defaults: seeded integers, 3x3 X and 2x2 W (stride > 1: 5x5 X and 3x3 W, so that the
    dilated dO has zeros in it), dO of the output's shape. The first ``max_cells`` pixels of
    dX are written out (None: all). Output: {"dX": (C, H, W), "dW": (C, KH, KW), "db": float}.
    """
    stride = single(stride, "stride")
    wide = stride > 1 and input is None and size is None and kernel is None and kernel_size is None
    default_x, default_w = ((5, 5), (3, 3)) if wide else ((3, 3), (2, 2))
    x, w = input_and_kernel(input, kernel, seed, size, kernel_size, default_x, default_w)
    b = scalar_bias(bias)
    o, cache = conv2d_forward(x[None], w[None], np.array([b]), stride=stride, padding=padding)
    do = _upstream(grad, o.shape[2:], seed, x.shape, w.shape, stride, padding)
    dx, dw, db = conv2d_backward(do[None, None], cache)
    dx, dw, db = dx[0], dw[0], float(db[0])
    _, abs_cache = conv2d_forward(abs(x[None]), abs(w[None]), stride=stride, padding=padding)
    dx_sizes, dw_sizes, _ = conv2d_backward(abs(do[None, None]), abs_cache)  # sum |terms|
    dx_sizes, dw_sizes = dx_sizes[0], dw_sizes[0]
    L = _Layer(x, w, b, do, stride, padding)
    dw_steps, dw_hand = _dw_terms(L, dw)
    dx_steps, dx_hand = _dx_terms(L, dx, max_cells)
    id_steps, dw_id, dx_id, full = _identities(L)
    xt, wt = tensor(x[None], requires_grad=True), tensor(w[None], requires_grad=True)
    bt = tensor(np.array([b]), requires_grad=True)
    F.conv2d(xt, wt, bt, stride=stride, padding=padding).backward(do[None, None])
    s, xn = stride, L.xname
    n_dw, n_dx = do.size, w[0].size  # terms per dW, at most per dX
    checks = [
        sum_check(dw_hand, dw, "dW: sum of the terms vs ops.conv.conv2d_backward", dw_sizes, n_dw),
        sum_check(
            dw_id, dw, f"dW = cross-correlation of {xn} with dilate(dO, {s}) (conv2d_forward)",
            dw_sizes, n_dw,
        ),
        sum_check(dx_hand, dx, "dX: sum of the terms vs ops.conv.conv2d_backward", dx_sizes, n_dx),
        sum_check(
            dx_id, dx,
            f"dX = full cross-correlation of dilate(dO, {s}) with rot180(W) (conv2d_forward)",
            dx_sizes, n_dx,
        ),
        *(_autograd_check(n, t.grad[0], v) for n, t, v in (("dW", wt, dw), ("dX", xt, dx), ("db", bt, db))),
    ]  # fmt: skip
    db_terms = [term(v) for v in do.ravel()]
    db_text = two_lines("db", [f"dO[{i},{j}]" for i, j in np.ndindex(*do.shape)], db_terms, db)
    return Trace(
        topic="backward",
        title=f"gradients of O = X (*) W + b, stride {s}, padding {padding}",
        notes=[
            INDEX_NOTE,
            "(*) is cross-correlation, as in PyTorch: the kernel is not flipped",
            f"dL/dW[u,v] = sum over i,j of {xn}[i*S+u, j*S+v] * dO[i,j]",
            "dL/dX[r,q] = sum of W[u,v] * dO[i,j] over the (i,j,u,v) with i*S+u = r, j*S+v = q",
            "dO is the upstream gradient dL/dO; dL/db = sum of dO",
            f"note: {EQUIVALENCE}",
        ],
        inputs={
            "X": L.show(x),
            **({"Xp": L.show(L.xp)} if xn == "Xp" else {}),
            "W": L.show(w),
            "dO": do,
        },  # fmt: skip
        steps=[
            *dw_steps,
            *dx_steps,
            *id_steps,
            Step("db", db_text, db, operands={"dO": do}, section="dL/db"),
        ],
        results={"dW": L.show(dw), "dX": L.show(dx), "db": db},
        output={"dX": dx, "dW": dw, "db": db},
        checks=checks,
        marks={"Xp": {"muted": padding_cells(L.xp.shape, L.pads, channels=L.many)}},
        panels=_panels(L, dw, dx),
        animation=_animation(L, full),
    )


def _upstream(grad, out_shape, seed, x_shape, w_shape, stride, padding):
    do = operand(grad, "grad", tuple(out_shape), seed + 2)
    do = do[0] if do.ndim == 3 and do.shape[0] == 1 else do
    if do.shape != tuple(out_shape):
        oh, ow = out_shape
        raise ShapeError(
            f"backward: grad dL/dO has shape {do.shape} but the output O is {oh}x{ow}"
            f" (input {x_shape[1]}x{x_shape[2]}, kernel {w_shape[1]}x{w_shape[2]}, stride {stride},"
            f" padding {padding}); give one value per output cell"
        )
    return do


def _dw_terms(L, dw):
    """dW[c,u,v] = sum_ij Xp[c, i*S+u, j*S+v] * dO[i,j]: one step per weight, the first
    TERMS_MAX terms of each written out."""
    steps = []
    oh, ow = L.do.shape
    rows, cols = L.geom.axes
    section = "dL/dW: each weight meets every window"
    for c, u, v in np.ndindex(*dw.shape):
        pairs = [(rows.tap(i, u), cols.tap(j, v), i, j) for i, j in _first(oh, ow, TERMS_MAX)]
        sym = [f"({index(L.xname, c, r, q, L.many)}*dO[{i},{j}])" for r, q, i, j in pairs]
        num = [f"({term(L.xp[c, r, q])}*{term(L.do[i, j])})" for r, q, i, j in pairs]
        label = index("dW", c, u, v, L.many)
        operands = {L.xname: [L.xp[c, r, q] for r, q, _, _ in pairs],
                    "dO": [L.do[i, j] for _, _, i, j in pairs]}  # fmt: skip
        text = two_lines(label, sym, num, dw[c, u, v], total=oh * ow)
        steps.append(Step(label, text, float(dw[c, u, v]), operands=operands, section=section))
    return steps, L.dw_terms


def _first(oh, ow, n):
    """The first ``n`` cells of an oh x ow grid, row by row."""
    return [divmod(k, ow) for k in range(min(n, oh * ow))]


def _dx_terms(L, dx, max_cells):
    """dX[c,r,q] = sum of W[c,u,v] * dO[i,j] over i*S+u = r+P, j*S+v = q+P: steps for the
    first ``max_cells`` pixels."""
    steps = []
    cells, left_out = limited(np.ndindex(*dx.shape), max_cells)
    for c, r, q in cells:
        terms = _uses(L, r + L.top, q + L.left)
        label = index("dX", c, r, q, L.many)
        operands = {"W": [L.w[c, u, v] for u, v, _, _ in terms],
                    "dO": [L.do[i, j] for _, _, i, j in terms]}  # fmt: skip
        if terms:
            sym = [f"({index('W', c, u, v, L.many)}*dO[{i},{j}])" for u, v, i, j in terms]
            num = [f"({term(L.w[c, u, v])}*{term(L.do[i, j])})" for u, v, i, j in terms]
            text = two_lines(label, sym, num, dx[c, r, q])
        else:
            text = f"{label} = 0   (no window covers this pixel: it never reached the output)"
        steps.append(Step(label, text, float(dx[c, r, q]), operands=operands, section=DX_SECTION))
    if left_out:
        hint = '--json FILE holds every number (dX under "output"); a smaller input writes all'
        steps.append(more_step(left_out, "pixels of dX", dx.size, DX_SECTION, hint))
    return steps, L.dx_terms


def _uses(L, r, q):
    """[(u, v, i, j)] with i*S + u = r and j*S + v = q: the windows that used Xp[., r, q],
    in the order of the windows (i, j)."""
    rows, cols = L.geom.axes
    uses = [(u, v, i, j) for u, i in rows.readers(r) for v, j in cols.readers(q)]
    return sorted(uses, key=lambda t: (t[2], t[3]))


def _identities(L):
    """dW and dX again, as the cross-correlation and the full cross-correlation above."""
    s, kh, kw = L.s, L.kh, L.kw
    dod, _ = dilate_forward(L.do[None, None], factor=s)
    corr, _ = conv2d_forward(L.xp[:, None], dod)  # (C, 1, ., .): each channel of Xp (*) dilate(dO)
    dw_id = corr[:, 0, :kh, :kw]
    rot = L.w[:, ::-1, ::-1]
    full, _ = conv2d_forward(dod, rot[:, None].copy(), padding=(kh - 1, kw - 1))  # (1, C, ., .)
    dxp = np.zeros_like(L.xp)
    dxp[:, : full.shape[2], : full.shape[3]] = full[0]  # rows no window reached stay 0
    dx_id = L.crop(dxp)
    dname = f"dilate(dO, {s})"
    steps = []
    if s > 1:
        text = f"{dname}: {s - 1} zero(s) between neighbouring gradients (the stride undone)"
        steps.append(Step("dilate", text, dod[0, 0], operands={"dO": L.do, "factor": s},
                          grids={dname: dod[0, 0]}))  # fmt: skip
    fh, fw = full.shape[2:]
    hp, wp = L.xp.shape[1:]
    fname = "full" if (fh, fw) != (hp, wp) else "dXp"
    steps += [
        Step("dW identity", f"dW = {L.xname} (*) {dname}: the cross-correlation, its first"
             f" {kh}x{kw}", dw_id, operands={L.xname: L.show(L.xp), dname: dod[0, 0]},
             grids={"dW": L.show(dw_id)}),
        Step("rot180", "rot180(W): W flipped upside down and left to right", rot,
             operands={"W": L.show(L.w)}, grids={"rot180(W)": L.show(rot)}),
        Step(fname, f"{fname} = ({dname} zero-padded by {kh - 1},{kw - 1}) (*) rot180(W): the full"
             f" cross-correlation, {fh}x{fw}", full[0],
             operands={dname: dod[0, 0], "rot180(W)": L.show(rot), "padding": [kh - 1, kw - 1]},
             grids={fname: L.show(full[0])}),
    ]  # fmt: skip
    if (fh, fw) != (hp, wp):
        text = (
            f"dXp ({hp}x{wp}) = full ({fh}x{fw}) extended with zeros: the last {hp - fh} row(s)"
            f" and {wp - fw} column(s) of {L.xname} were reached by no window (stride {s}), so"
            f" their gradient is 0"
        )
        steps.append(Step("dXp", text, dxp, operands={"full": L.show(full[0])},
                          grids={"dXp": L.show(dxp)}))  # fmt: skip
    if L.xname == "Xp":
        (top, bottom), (left, right) = L.pads
        text = (
            f"dX = dXp without its padding: drop {top} row(s) on top, {bottom} below, {left}"
            f" column(s) left, {right} right"
        )
    else:
        text = "dX = dXp (X has no padding to drop)"
    steps.append(Step("dX identity", text, dx_id, operands={"dXp": L.show(dxp)},
                      grids={"dX": L.show(dx_id)}))  # fmt: skip
    for step in steps:
        step.section = IDENTITIES
    return steps, dw_id, dx_id, full


def _panels(L, dw, dx):
    dod = dilate_forward(L.do[None, None], factor=L.s)[0][0, 0]
    rows = []
    for c in range(L.w.shape[0]):
        tag = f"[{c}]" if L.many else ""
        row = [Panel(f"X{tag}", L.x[c]), Panel(f"W{tag}", L.w[c]), Panel("dO", L.do)]
        if L.s > 1:
            row.append(Panel(f"dilate(dO, {L.s})", dod, muted=_zeros_added(dod.shape, L.s)))
        row += [Panel(f"dW{tag}", dw[c]), Panel(f"rot180(W){tag}", L.w[c, ::-1, ::-1]),
                Panel(f"dX{tag}", dx[c])]  # fmt: skip
        rows.append(row)
    return rows


def _zeros_added(shape, s):
    """The cells of dilate(dO, s) that dilation inserted."""
    return [(r, q) for r, q in np.ndindex(*shape) if r % s or q % s]


def _animation(L, full):
    """rot180(W) sliding over the zero-padded, dilated dO (channel 0): the full cross-correlation."""
    s, kh, kw = L.s, L.kh, L.kw
    dod, _ = dilate_forward(L.do[None, None], factor=s)
    src = pad_chw(dod[0], ((kh - 1, kh - 1), (kw - 1, kw - 1)))[0]
    real = np.zeros(src.shape, dtype=bool)
    real[kh - 1 : kh - 1 + dod.shape[2] : s, kw - 1 : kw - 1 + dod.shape[3] : s] = True
    name = f"dilate(dO,{s}), padded" if s > 1 else "dO, padded"
    dilated = f"dO dilated by {s} ({s - 1} zero(s) between gradients), " if s > 1 else "dO "
    return Animation(
        source=src[None],
        kernel=L.w[:1, ::-1, ::-1].copy(),
        output=full[0, :1],
        window=(kh, kw),
        muted=[(int(r), int(q)) for r, q in zip(*np.nonzero(~real), strict=True)],
        names=(name, "rot180(W)", "dXp"),
        caption=f"dXp = full cross-correlation of {dilated}padded by {kh - 1},{kw - 1}, with"
        " rot180(W)" + (" (channel 0)" if L.many else ""),
    )


def _autograd_check(name, autograd, ops):
    err = difference(autograd, ops)
    return Check(f"{name}: ops.conv.conv2d_backward vs autograd (F.conv2d(...).backward(dO))", err)
