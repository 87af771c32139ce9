"""One cell of a trained network, forward or backward, as a Trace.

The explain topics applied to one layer of a real model, plus what a single topic does not
show, each checked against the network's own numbers (its forward and its autograd)::

    conv_cell(name, conv, x, z, at, after)      Z[f,i,j] of a Conv2d, then its activation(s)
    pool_cell(name, pool, x, y, at, grad)       Y[c,i,j] of a pooling layer (and, with grad,
                                                where its gradient goes)
    weight_grad_cell(name, conv, x, dO, dW, at) dL/dW[f,c,u,v] = sum over windows of X * dO
    input_grad_cell(name, conv, x, dO, dX, at)  dL/dX[c,r,q] = sum over the filters and the
                                                windows that read X[c,r,q] of W * dO

x is the layer's input (C, H, W) of one image; z, y, dO, dW, dX the network's arrays.
"""

import math

import numpy as np

from ..autograd import no_grad
from ..errors import ShapeError
from ..nn import BatchNorm2d, Dropout, LeakyReLU, ReLU
from .conv_backward import backward
from .correlation import conv
from .grid import fmt, term
from .network import window_table
from .pooling import pool
from .trace import TERMS_MAX, Check, Step, Trace, difference

POOL_MODES = {"MaxPool2d": "max", "AvgPool2d": "mean", "MinPool2d": "min"}
NETWORK = "in the network"


def check_cell(name, shape, at):
    """``at`` as a tuple of ints inside ``shape``; ShapeError naming the layer otherwise."""
    dims = "x".join(map(str, shape))
    try:
        cell = tuple(int(v) for v in at)
    except (TypeError, ValueError):
        cell = ()
    if len(cell) != len(shape) or any(not 0 <= v < n for v, n in zip(cell, shape, strict=True)):
        bounds = ", ".join(
            f"0 <= {a} < {n}" for a, n in zip("cij"[: len(shape)], shape, strict=False)
        )
        raise ShapeError(
            f"{name}: cell {list(at) if isinstance(at, (list, tuple)) else at!r} is outside its"
            f" output, which is {dims}; give {len(shape)} indices with {bounds} (0-based)"
        )
    return cell


def conv_cell(name, module, x, z, at, after=()):
    """Z[f,i,j] of Conv2d ``module`` as ``explain.conv`` writes it, for filter f on the layer's
    real input, then each pointwise layer in ``after`` [(name, module, output (F, OH, OW))]."""
    f, i, j = check_cell(name, z.shape, at)
    _zero_padded(name, module)
    per = x.shape[0] // module.groups
    group = f // (module.out_channels // module.groups)
    bias = 0.0 if module.bias is None else float(module.bias.data[f])
    trace = conv(
        input=x[group * per : (group + 1) * per],
        kernel=module.weight.data[f],
        bias=bias,
        stride=module.stride,
        padding=module.padding,
        dilation=module.dilation,
        at=(i, j),
    )
    value = float(trace.output[i, j])
    trace.title = f"{name}[{f},{i},{j}]: filter {f} of {name} at row {i}, column {j}"
    trace.notes.append(
        f"A = {name}'s input (channels {group * per}..{(group + 1) * per - 1}), W = filter {f}"
        f" of {name} ({module.weight.data.shape[1]}x{module.weight.data.shape[2]}x"
        f"{module.weight.data.shape[3]}), b = its bias"
    )
    trace.checks.append(_same(f"Z[{i},{j}] vs {name}[{f},{i},{j}] {NETWORK}", value, z[f, i, j]))
    for next_name, next_module, out in after:
        step, value = _pointwise(next_name, next_module, value, f, (f, i, j), out[f, i, j])
        trace.steps.append(step)
        trace.checks.append(
            _same(f"{step.label} vs {next_name}'s output {NETWORK}", value, out[f, i, j])
        )
    return trace


def pool_cell(name, module, x, y, at, grad=None):
    """Y[c,i,j] of a MaxPool2d/AvgPool2d/MinPool2d as ``explain.pool`` writes it; with ``grad``
    (dL/dY, (C, OH, OW)) also the step that sends dY[c,i,j] back to the window."""
    c, i, j = check_cell(name, y.shape, at)
    kind = type(module).__name__
    if kind not in POOL_MODES or module.ceil_mode or not getattr(module, "count_include_pad", True):
        raise ShapeError(
            f"{name}: {module!r} has no cell explanation; cells are written out for MaxPool2d,"
            f" AvgPool2d (count_include_pad=True) and MinPool2d without ceil_mode"
        )
    trace = pool(
        input=x[: c + 1],
        kernel_size=module.kernel_size,
        stride=module.stride,
        padding=module.padding,
        mode=POOL_MODES[kind],
        grad=None if grad is None else grad[: c + 1],
        at=(i, j),
    )
    own = (f"Y[{c},{i},{j}]", f"dY[{c},{i},{j}]")
    trace.steps = [
        s for s in trace.steps if s.label in own and (grad is not None or s.label[0] == "Y")
    ]
    trace.title = f"{name}[{c},{i},{j}]: {trace.title}"
    trace.notes.append(f"A = {name}'s input; channel {c} is pooled on its own")
    value = float(trace.results["Y"][c, i, j])
    trace.checks.append(
        _same(f"Y[{c},{i},{j}] vs {name}[{c},{i},{j}] {NETWORK}", value, y[c, i, j])
    )
    return trace


def weight_grad_cell(name, module, x, do, dw, at):
    """dL/dW[f,c,u,v] of a Conv2d as ``explain.backward`` writes it for filter f (its dO[f])."""
    f, c, u, v = check_cell(f"{name}.weight", dw.shape, at)
    _zero_padded(name, module, backward_pass=True)
    bias = 0.0 if module.bias is None else float(module.bias.data[f])
    trace = backward(
        input=x,
        kernel=module.weight.data[f],
        grad=do[f],
        bias=bias,
        stride=module.stride,
        padding=module.padding,
        max_cells=0,
    )
    label = f"dW[{c},{u},{v}]" if x.shape[0] > 1 else f"dW[{u},{v}]"
    trace.steps = [s for s in trace.steps if s.label == label]
    trace.checks = [k for k in trace.checks if k.what.startswith("dW")]
    trace.title = f"dL/d{name}.weight[{f},{c},{u},{v}]: filter {f}'s weight gradient"
    trace.notes.append(f"X = {name}'s input, dO = dL/d{name}[{f}] (the gradient of its output)")
    value = trace.output["dW"][c, u, v]
    what = f"{label} vs the network's dL/d{name}.weight[{f},{c},{u},{v}] (autograd)"
    trace.checks.append(_same(what, value, dw[f, c, u, v]))
    return trace


def input_grad_cell(name, module, x, do, dx, at):
    """dL/dX[c,r,q] = sum over the filters f of its group and the (u, v, i, j) whose window
    reads X[c,r,q] of W[f,c,u,v] * dO[f,i,j]: every term, checked against the network's dX."""
    c, r, q = check_cell(f"{name} input", dx.shape, at)
    _zero_padded(name, module)
    w = module.weight.data
    per, fpg = x.shape[0] // module.groups, module.out_channels // module.groups
    rows, cols = (
        window_table(
            x.shape[1 + k],
            w.shape[2 + k],
            module.stride[k],
            _axis(module.padding, k),
            module.dilation[k],
        )
        for k in (0, 1)
    )
    filters = range((c // per) * fpg, (c // per + 1) * fpg)
    terms = [
        (f, int(u), int(v), int(i), int(j))
        for f in filters
        for u, i in zip(*np.nonzero(rows == r), strict=True)
        for v, j in zip(*np.nonzero(cols == q), strict=True)
    ]
    terms.sort(key=lambda t: (t[0], t[3], t[4]))
    wc = c % per
    products = [w[f, wc, u, v] * do[f, i, j] for f, u, v, i, j in terms]
    label = f"dX[{c},{r},{q}]"
    value = float(dx[c, r, q])
    if terms:
        sym = [f"(W[{f},{wc},{u},{v}]*dO[{f},{i},{j}])" for f, u, v, i, j in terms]
        num = [f"({term(w[f, wc, u, v])}*{term(do[f, i, j])})" for f, u, v, i, j in terms]
        pad = " " * len(label)
        text = f"{label} = {_joined(sym)} = {fmt(value)}\n{pad} = {_joined(num)} = {fmt(value)}"
    else:
        text = f"{label} = 0   (no window reads this pixel: it never reached the output)"
    operands = {
        "terms": [[f, wc, u, v, i, j] for f, u, v, i, j in terms],
        "W": [w[f, wc, u, v] for f, u, v, _, _ in terms],
        "dO": [do[f, i, j] for f, _, _, i, j in terms],
        "products": products,
    }
    step = Step(
        label,
        text,
        value,
        operands=operands,
        cell=(c, r, q),
        section="dL/dX: each pixel collects from every filter and window that read it",
    )
    total = math.fsum(products)
    scale = len(products) * np.finfo(np.float64).eps * max(1.0, math.fsum(abs(p) for p in products))
    return Trace(
        topic="backward",
        title=f"dL/dX[{c},{r},{q}] of {name}'s input: the sum over {len(list(filters))} filter(s)",
        notes=[
            "indices are 0-based, as in NumPy: A[i,j] is row i, column j",
            f"X = {name}'s input, W = its weight (filters f, channel c), dO = dL/d{name} output",
            "dX[c,r,q] = sum over filters f and the (u,v,i,j) with window (i,j) reading X[c,r,q]"
            " at kernel offset (u,v) of W[f,c,u,v] * dO[f,i,j]",
            "the same as the full cross-correlation of dilate(dO) with rot180(W), summed over f",
        ],
        steps=[step],
        output=value,
        checks=[
            Check(
                f"sum of the {len(terms)} terms vs the network's dX (autograd)",
                difference(total, value),
                max(1e-12, 4 * scale),
            )
        ],
    )


def _axis(padding, k):
    return padding if isinstance(padding, str) else padding[k]


def _joined(terms):
    shown = terms[:TERMS_MAX]
    left = len(terms) - len(shown)
    return " + ".join(shown) + (f" + ... ({left} more terms)" if left > 0 else "")


def _zero_padded(name, module, backward_pass=False):
    if module.padding_mode != "zeros":
        raise ShapeError(
            f"{name}: padding_mode={module.padding_mode!r}; cells are written out for zero"
            f" padding only"
        )
    if backward_pass and (max(module.dilation) > 1 or module.groups > 1):
        raise ShapeError(
            f"{name}: weight-gradient cells are written out for convolutions with dilation 1 and"
            f" groups 1; this layer has dilation={module.dilation}, groups={module.groups}"
        )


def _pointwise(name, module, z, f, cell, engine):
    """The step of a pointwise layer after a conv: its formula with the numbers, and its value."""
    label = f"{name}[{','.join(map(str, cell))}]"
    if type(module) is ReLU:
        value = max(0.0, z)
        return Step(label, f"{label} = max(0, Z) = max(0, {fmt(z)}) = {fmt(value)}", value), value
    if isinstance(module, LeakyReLU):
        a = module.negative_slope
        value = z if z > 0 else a * z
        text = f"{label} = Z if Z > 0 else {fmt(a)}*Z = {fmt(value)}   (Z = {fmt(z)})"
        return Step(label, text, value), value
    if isinstance(module, BatchNorm2d):
        mean, var = module.running_mean[f], module.running_var[f]
        gamma = 1.0 if module.weight is None else module.weight.data[f]
        beta = 0.0 if module.bias is None else module.bias.data[f]
        value = (z - mean) / math.sqrt(var + module.eps) * gamma + beta
        text = (
            f"{label} = (Z - mean[{f}]) / sqrt(var[{f}] + eps) * gamma[{f}] + beta[{f}]\n"
            f"{' ' * len(label)} = ({fmt(z)} - {term(mean)}) / sqrt({fmt(var)} + {fmt(module.eps)})"
            f" * {term(gamma)} + {term(beta)} = {fmt(value)}   (running statistics: eval mode)"
        )
        return Step(label, text, float(value)), float(value)
    if isinstance(module, Dropout) or type(module).__name__ == "Identity":
        return Step(
            label,
            f"{label} = Z = {fmt(z)}   ({type(module).__name__} passes it on in eval mode)",
            z,
        ), z
    with no_grad():
        value = float(module(np.full((1, 1, 1, 1), z)).data.ravel()[0])
    text = (
        f"{label} = {type(module).__name__}(Z) = {type(module).__name__}({fmt(z)}) = {fmt(value)}"
    )
    return Step(label, text, value), value


def _same(what, ours, engine):
    return Check(what, difference(ours, engine), 1e-9 * max(1.0, abs(float(engine))))
