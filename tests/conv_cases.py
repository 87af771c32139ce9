"""Hypothesis strategies for conv-family calls that PyTorch accepts, shared by the conv tests.

A case is (x_shape, w_shape, kwargs, bias): odd and even sizes, non-square kernels,
stride 1..3, dilation 1..3, padding as int, tuple, "valid" or "same", groups 1..3
with depthwise, and sizes where (H + 2P - D(K-1) - 1) is not divisible by S. ``arrays_of``
draws a case's arrays (x, w and b when it has one), ``nonfinite`` spoils them with nan and
+-inf, ``compare_conv2d`` checks convscope's conv2d on them against PyTorch's.
"""

import numpy as np
import torch.nn.functional as TF
from hypothesis import strategies as st

import convscope.nn.functional as F
from torch_oracle_ops import compare


def _spec(draw, values):
    """An int when every spatial dimension shares the value (or by chance), else the tuple."""
    if len(set(values)) == 1 and draw(st.booleans()):
        return values[0]
    return tuple(values)


@st.composite
def channels(draw):
    """(groups, in_channels, out_channels); depthwise is in_channels == groups."""
    groups = draw(st.integers(1, 3))
    in_per_group = 1 if draw(st.booleans()) else draw(st.integers(1, 3))
    out_per_group = draw(st.integers(1, 3))
    return groups, groups * in_per_group, groups * out_per_group


@st.composite
def conv_cases(draw, nsp=2):
    """A conv{nsp}d call: (x_shape, w_shape, kwargs, bias)."""
    groups, cin, cout = draw(channels())
    kernel = [draw(st.integers(1, 4)) for _ in range(nsp)]
    dilation = [draw(st.integers(1, 3)) for _ in range(nsp)]
    kind = draw(st.sampled_from(["int", "tuple", "valid", "same"]))
    if kind == "same":
        stride, padding = [1] * nsp, "same"
        pads = [0] * nsp
        sizes = [draw(st.integers(1, 9)) for _ in range(nsp)]
    else:
        stride = [draw(st.integers(1, 3)) for _ in range(nsp)]
        if kind == "int":
            pads = [draw(st.integers(0, 2))] * nsp
        elif kind == "tuple":
            pads = [draw(st.integers(0, 2)) for _ in range(nsp)]
        else:
            pads = [0] * nsp
        spans = [d * (k - 1) + 1 for k, d in zip(kernel, dilation, strict=True)]
        sizes = [
            max(1, span - 2 * p) + draw(st.integers(0, 7))
            for span, p in zip(spans, pads, strict=True)
        ]
        padding = {"int": pads[0], "tuple": tuple(pads), "valid": "valid"}[kind]
    kwargs = {
        "stride": _spec(draw, stride),
        "padding": padding,
        "dilation": _spec(draw, dilation),
        "groups": groups,
    }
    x_shape = (draw(st.integers(1, 3)), cin, *sizes)
    w_shape = (cout, cin // groups, *kernel)
    return x_shape, w_shape, kwargs, draw(st.booleans())


@st.composite
def conv_transpose_cases(draw, nsp=2):
    """A conv_transpose{nsp}d call: (x_shape, w_shape, kwargs, bias); output size >= 1."""
    groups, cin, cout = draw(channels())
    kernel = [draw(st.integers(1, 4)) for _ in range(nsp)]
    dilation = [draw(st.integers(1, 3)) for _ in range(nsp)]
    stride = [draw(st.integers(1, 3)) for _ in range(nsp)]
    pads = [draw(st.integers(0, 2)) for _ in range(nsp)]
    out_pads = [draw(st.integers(0, max(s, d) - 1)) for s, d in zip(stride, dilation, strict=True)]
    sizes = []
    for k, d, s, p, op in zip(kernel, dilation, stride, pads, out_pads, strict=True):
        low = max(1, -(-(2 * p - d * (k - 1) - op) // s) + 1)  # (n-1)s - 2p + d(k-1) + op + 1 >= 1
        sizes.append(low + draw(st.integers(0, 5)))
    kwargs = {
        "stride": _spec(draw, stride),
        "padding": _spec(draw, pads),
        "output_padding": _spec(draw, out_pads),
        "dilation": _spec(draw, dilation),
        "groups": groups,
    }
    x_shape = (draw(st.integers(1, 3)), cin, *sizes)
    w_shape = (cin, cout // groups, *kernel)
    return x_shape, w_shape, kwargs, draw(st.booleans())


def arrays_of(case, seed, dtype):
    """Standard normal (x, w[, b]) of a case's shapes, in dtype, from the seed."""
    x_shape, w_shape, _, bias = case
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(x_shape), rng.standard_normal(w_shape)]
    if bias:
        arrays.append(rng.standard_normal(w_shape[0]))
    return [a.astype(dtype) for a in arrays]


def nonfinite(arrays, seed, which):
    """arrays with a few nan and +-inf in the input ``which`` (0: x, 1: w, 2: b)."""
    rng = np.random.default_rng(seed)
    out = [a.copy() for a in arrays]
    flat = out[which].reshape(-1)
    picks = rng.choice(flat.size, size=min(3, flat.size), replace=False)
    flat[picks] = np.array([np.nan, np.inf, -np.inf])[: picks.size]
    return out


def compare_conv2d(case, arrays, seed):
    """conv2d of (x, w[, b]) with the case's kwargs against PyTorch's: values and grads, with
    the suite's sum tolerance (nan and inf where PyTorch has them)."""
    kwargs = case[2]
    with np.errstate(invalid="ignore", over="ignore"):
        compare(
            lambda *a: F.conv2d(*a, **kwargs),
            lambda *a: TF.conv2d(*a, **kwargs),
            arrays,
            seed,
            sums="products",
        )
