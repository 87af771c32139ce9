"""The steps of the ``backward`` topic: dL/dW and dL/dX term by term, and the identities.

One layer of F filters over C input channels (``Layer``): X (C, H, W), W (F, C, KH, KW),
dO (F, OH, OW), stride S, zero padding (Xp = X padded). Indices print as the shapes need
them: a filter index only when F > 1, a channel index only when C > 1.

    dW[f,c,u,v] = sum_{i,j} Xp[c, i*S + u, j*S + v] * dO[f,i,j]
    dX[c,r,q]   = sum over f and the (u,v,i,j) with i*S + u = r+P, j*S + v = q+P of W[f,c,u,v] * dO[f,i,j]
    G[f]        = dilate(dO[f], S) zero-padded by K-1 on every side
    dXp[c]      = sum_f G[f] (*) rot180(W[f,c])        the full cross-correlation
"""

import numpy as np

from ..ops.conv import conv2d_forward
from ..ops.geometry import conv_windows
from ..ops.naive import corr2d_backward
from ..ops.resample import dilate_forward
from .grid import term
from .trace import TERMS_MAX, Step
from .windows import limited, more_step, pad_chw, padding_cells, two_lines

IDENTITIES = "the identities, computed with conv2d_forward"


class Layer:
    """One conv layer's operands, geometry and the loop twin's gradients (sums of the terms)."""

    def __init__(self, x, w, b, do, stride, padding):
        self.x, self.w, self.b, self.do, self.s = x, w, b, do, stride
        self.nf, self.nc = w.shape[:2]
        self.kh, self.kw = w.shape[2:]
        self.geom = conv_windows("conv2d", x.shape[1:], (self.kh, self.kw), stride, padding)
        self.pads = self.geom.pads
        self.xp = pad_chw(x, self.pads)
        self.xname = "Xp" if self.xp.shape != x.shape else "X"
        self.top, self.left = self.pads[0][0], self.pads[1][0]
        # the sums of the terms: ops.naive's loop twin, each window handing dO back, per filter
        twins = [corr2d_backward(x, w[f], do[f], stride, padding) for f in range(self.nf)]
        self.dx_terms = np.sum([t[0] for t in twins], axis=0)
        self.dw_terms = np.stack([t[1] for t in twins])
        self.dod = dilate_forward(do[None], factor=stride)[0][0]  # (F, ., .)
        self.g = pad_chw(self.dod, ((self.kh - 1,) * 2, (self.kw - 1,) * 2))

    def name(self, base, f, c, *rest):
        """'W[f,c,u,v]' with the filter index only when F > 1, the channel only when C > 1."""
        parts = ([f] if self.nf > 1 and f is not None else []) + \
            ([c] if self.nc > 1 and c is not None else []) + list(rest)  # fmt: skip
        return f"{base}[{','.join(map(str, parts))}]" if parts else base

    def crop(self, a):
        """A padded (..., Hp, Wp) gradient without its padding -> (..., H, W)."""
        h, w = self.x.shape[1:]
        return a[..., self.top : self.top + h, self.left : self.left + w]

    def unreached(self):
        """(r, q) cells of Xp that no window reads (their gradient is 0)."""
        rows, cols = self.geom.axes
        dead_rows = {r for r in range(self.xp.shape[1]) if not rows.readers(r)}
        dead_cols = {q for q in range(self.xp.shape[2]) if not cols.readers(q)}
        return [
            (r, q) for r, q in np.ndindex(*self.xp.shape[1:]) if r in dead_rows or q in dead_cols
        ]

    def g_marks(self):
        """The cells of G (one filter) that are K-1 padding, and the zeros dilation inserted."""
        kh, kw, s = self.kh, self.kw, self.s
        padding = padding_cells((1, *self.g.shape[1:]), ((kh - 1,) * 2, (kw - 1,) * 2), False)
        inserted = [(r + kh - 1, q + kw - 1) for r, q in np.ndindex(*self.dod.shape[1:])
                    if r % s or q % s]  # fmt: skip
        return {"muted": padding, "inserted": inserted}


def dw_steps(L, dw):
    """dW[f,c,u,v] = sum_ij Xp[c, i*S+u, j*S+v] * dO[f,i,j]: one step per weight, the first
    TERMS_MAX terms of each written out."""
    steps = []
    oh, ow = L.do.shape[1:]
    rows, cols = L.geom.axes
    section = "dL/dW: each weight meets every window"
    cells = [divmod(k, ow) for k in range(min(TERMS_MAX, oh * ow))]
    for f, c, u, v in np.ndindex(*dw.shape):
        pairs = [(rows.tap(i, u), cols.tap(j, v), i, j) for i, j in cells]
        x_at, do_at = L.name(L.xname, None, c, "")[:-1], L.name("dO", f, None, "")[:-1]
        sym = [f"({x_at}{r},{q}]*{do_at}{i},{j}])" for r, q, i, j in pairs]
        num = [f"({term(L.xp[c, r, q])}*{term(L.do[f, i, j])})" for r, q, i, j in pairs]
        label = L.name("dW", f, c, u, v)
        operands = {L.xname: [L.xp[c, r, q] for r, q, _, _ in pairs],
                    "dO": [L.do[f, i, j] for _, _, i, j in pairs]}  # fmt: skip
        text = two_lines(label, sym, num, dw[f, c, u, v], total=oh * ow)
        steps.append(Step(label, text, float(dw[f, c, u, v]), operands=operands, section=section))
    return steps


def dx_steps(L, dx, max_cells):
    """dX[c,r,q] = sum over f and the windows that read Xp[c, r+P, q+P] of W[f,c,u,v] *
    dO[f,i,j]: steps for the first ``max_cells`` pixels."""
    steps = []
    section = "dL/dX: each pixel collects from every " + \
        ("filter and " if L.nf > 1 else "") + "window that used it"  # fmt: skip
    cells, left_out = limited(np.ndindex(*dx.shape), max_cells)
    for c, r, q in cells:
        terms = uses(L, r + L.top, q + L.left)
        label = L.name("dX", None, c, r, q)
        operands = {"W": [L.w[f, c, u, v] for f, u, v, _, _ in terms],
                    "dO": [L.do[f, i, j] for f, _, _, i, j in terms]}  # fmt: skip
        if terms:
            sym = [f"({L.name('W', f, c, '')[:-1]}{u},{v}]*{L.name('dO', f, None, '')[:-1]}{i},{j}])"
                   for f, u, v, i, j in terms]  # fmt: skip
            num = [f"({term(L.w[f, c, u, v])}*{term(L.do[f, i, j])})" for f, u, v, i, j in terms]
            text = two_lines(label, sym, num, dx[c, r, q])
        else:
            text = f"{label} = 0   (no window covers this pixel: it never reached the output)"
        steps.append(Step(label, text, float(dx[c, r, q]), operands=operands, section=section))
    if left_out:
        hint = '--json FILE holds every number (dX under "output"); a smaller input writes all'
        steps.append(more_step(left_out, "pixels of dX", dx.size, section, hint))
    return steps


def uses(L, r, q):
    """[(f, u, v, i, j)] with i*S + u = r and j*S + v = q: the windows of every filter that used
    Xp[., r, q], filter by filter, in the order of the windows (i, j)."""
    rows, cols = L.geom.axes
    found = [(u, v, i, j) for u, i in rows.readers(r) for v, j in cols.readers(q)]
    found.sort(key=lambda t: (t[2], t[3]))
    return [(f, *t) for f in range(L.nf) for t in found]


def identities(L, show):
    """dW and dX again, as the cross-correlation and the full cross-correlation, step by step;
    ``show(array, "fc")`` drops the filter / channel axes a single filter / channel has.
    Returns (steps, dW (F, C, KH, KW), dX (C, H, W), dXp (C, Hp, Wp), full (C, fh, fw))."""
    s, kh, kw = L.s, L.kh, L.kw
    dname = f"dilate(dO, {s})"
    corr = conv2d_forward(L.xp[:, None], L.dod[:, None])[0]  # (C, F, ., .): Xp[c] (*) dilate(dO[f])
    dw_id = corr[:, :, :kh, :kw].transpose(1, 0, 2, 3)
    rot = L.w[:, :, ::-1, ::-1]
    # the full cross-correlation: G's filters are the channels summed, rot180(W)[f,c] the kernel
    full = conv2d_forward(L.g[None], rot.transpose(1, 0, 2, 3).copy())[0][0]  # (C, fh, fw)
    dxp = np.zeros_like(L.xp)
    dxp[:, : full.shape[1], : full.shape[2]] = full  # rows no window reached stay 0
    dx_id = L.crop(dxp)
    steps = []
    if s > 1:
        text = f"{dname}: {s - 1} zero(s) between neighbouring gradients (the stride undone)"
        steps.append(Step("dilate", text, show(L.dod, "f"), operands={"dO": show(L.do, "f"), "factor": s},
                          grids={dname: show(L.dod, "f")}))  # fmt: skip
    big = corr.shape[2:] != (kh, kw)
    first = f", its first {kh}x{kw} (the rest lies past the last window)" if big else ""
    steps += [
        Step("dW identity", f"dW = {L.xname} (*) {dname}: the cross-correlation{first}",
             show(dw_id, "fc"), operands={L.xname: show(L.xp, "c"), dname: show(L.dod, "f")},
             grids={"dW": show(dw_id, "fc")}),
        Step("rot180", "rot180(W): W flipped upside down and left to right", show(rot, "fc"),
             operands={"W": show(L.w, "fc")}, grids={"rot180(W)": show(rot, "fc")}),
        Step("G", f"G = {dname} zero-padded by K-1 ({kh - 1} rows, {kw - 1} columns) on"
             f" every side ({L.dod.shape[1]}x{L.dod.shape[2]} -> {L.g.shape[1]}x{L.g.shape[2]}):"
             f" what rot180(W) slides over", show(L.g, "f"),
             operands={dname: show(L.dod, "f"), "padding": [kh - 1, kw - 1]},
             grids={"G": show(L.g, "f")},
             marks={"G": _per_filter(L.g_marks(), L.nf)}),
    ]  # fmt: skip
    steps += _full_steps(L, full, dxp, dx_id, show)
    for step in steps:
        step.section = IDENTITIES
    return steps, dw_id, dx_id, dxp, full


def _full_steps(L, full, dxp, dx_id, show):
    (fh, fw), (hp, wp) = full.shape[1:], L.xp.shape[1:]
    fname = "full" if (fh, fw) != (hp, wp) else "dXp"
    summed = f", summed over the {L.nf} filters" if L.nf > 1 else ""
    steps = [Step(fname, f"{fname} = G (*) rot180(W): the full cross-correlation, {fh}x{fw}"
                  f"{summed}", show(full, "c"), operands={"G": show(L.g, "f"), "rot180(W)": show(L.w[:, :, ::-1, ::-1], "fc")},
                  grids={fname: show(full, "c")})]  # fmt: skip
    if (fh, fw) != (hp, wp):
        text = (
            f"dXp ({hp}x{wp}) = full ({fh}x{fw}) extended with zeros: the last {hp - fh} row(s)"
            f" and {wp - fw} column(s) of {L.xname} were reached by no window (stride {L.s}), so"
            f" their gradient is 0"
        )
        steps.append(Step("dXp", text, show(dxp, "c"), operands={"full": show(full, "c")},
                          grids={"dXp": show(dxp, "c")}))  # fmt: skip
    if L.xname == "Xp":
        (top, bottom), (left, right) = L.pads
        text = (
            f"dX = dXp without its padding: drop {top} row(s) on top, {bottom} below, {left}"
            f" column(s) left, {right} right"
        )
    else:
        text = "dX = dXp (X has no padding to drop)"
    steps.append(Step("dX identity", text, show(dx_id, "c"), operands={"dXp": show(dxp, "c")},
                      grids={"dX": show(dx_id, "c")}))  # fmt: skip
    return steps


def _per_filter(marks, nf):
    """Marks of one (H, W) grid for F stacked grids: (f, r, q) cells when F > 1."""
    if nf == 1:
        return marks
    return {k: [(f, r, q) for f in range(nf) for r, q in cells] for k, cells in marks.items()}
