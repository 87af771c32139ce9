"""The direct convolution of small stride-1 layers (kernels.direct_conv, ops.direct) against
PyTorch: forward and all three gradients, float64 and float32, shapes that take the direct
path (few channels, any kernel, padding and dilation, batch 1 and more), nan and inf; on
both paths (the NumPy path is the reference the direct kernel replaces)."""

import os
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import convscope as cs
import convscope.nn.functional as F
from conv_cases import arrays_of, compare_conv2d, nonfinite
from convscope import kernels
from convscope.ops import conv, direct
from jit_paths import jit_path  # noqa: F401  (runs this module on the NumPy and compiled paths)
from tolerance import assert_sums_close


@st.composite
def direct_cases(draw, max_pad_past_reach=0):
    """(x shape, w shape, kwargs, bias) of a stride-1, one-group conv with few channels."""
    n, c, f = draw(st.integers(1, 3)), draw(st.integers(1, 4)), draw(st.integers(1, 9))
    # KW >= 5 takes the direct path (conv.DIRECT_MIN_WIDTH); 6, 7, 8 add the 1- and 3-column passes
    kh, kw = draw(st.integers(1, 5)), draw(st.integers(5, 8))
    dh, dw = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    ph = draw(st.integers(0, dh * (kh - 1) + max_pad_past_reach))
    pw = draw(st.integers(0, dw * (kw - 1) + max_pad_past_reach))
    h = draw(st.integers(max(1, dh * (kh - 1) + 1 - 2 * ph), 12))
    lo = max(1, dw * (kw - 1) + 1 - 2 * pw)
    w = draw(st.integers(lo, lo + 8))
    kwargs = {"padding": (ph, pw), "dilation": (dh, dw)}
    return (n, c, h, w), (f, c, kh, kw), kwargs, draw(st.booleans())


def run_case(case, seed, dtype):
    compare_conv2d(case, arrays_of(case, seed, dtype), seed)


def takes_direct_path(case):
    """The compiled path sends these layers to the direct kernel (and the NumPy path never)."""
    x_shape, w_shape, kwargs, _ = case
    cache = conv.conv2d_forward(np.ones(x_shape), np.ones(w_shape), **kwargs)[1]
    return isinstance(cache, direct.DirectCache)


def test_the_direct_rule_takes_lenets_layers():
    conv1 = ((2, 1, 28, 28), (6, 1, 5, 5), {"padding": 2}, True)
    conv2 = ((2, 6, 14, 14), (16, 6, 5, 5), {}, True)
    vgg = ((1, 64, 8, 8), (64, 64, 5, 5), {"padding": 1}, True)
    narrow = ((1, 3, 9, 9), (4, 3, 3, 3), {}, True)
    strided = ((1, 3, 9, 9), (4, 3, 5, 5), {"stride": 2}, True)
    grouped = ((1, 4, 9, 9), (4, 2, 5, 5), {"groups": 2}, True)
    compiled = kernels.available()  # the module fixture sets CONVSCOPE_JIT
    assert takes_direct_path(conv1) is compiled and takes_direct_path(conv2) is compiled
    assert not any(takes_direct_path(c) for c in (vgg, narrow, strided, grouped))


@settings(max_examples=150, deadline=None)
@given(case=direct_cases(), seed=st.integers(0, 2**16))
def test_direct_conv_matches_torch_float64(case, seed):
    assert takes_direct_path(case) is kernels.available()
    run_case(case, seed, np.float64)


@settings(max_examples=60, deadline=None)
@given(case=direct_cases(), seed=st.integers(0, 2**16))
def test_direct_conv_matches_torch_float32(case, seed):
    run_case(case, seed, np.float32)


@settings(max_examples=40, deadline=None)
@given(case=direct_cases(max_pad_past_reach=2), seed=st.integers(0, 2**16))
def test_padding_past_the_kernels_reach_falls_back_for_dx(case, seed):
    """Padding wider than the kernel reaches: forward and dW direct, dX on the windows path."""
    run_case(case, seed, np.float64)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("batch", [1, 5])
def test_lenet_layers_match_torch(batch, dtype):
    for case in [
        ((batch, 1, 28, 28), (6, 1, 5, 5), {"padding": (2, 2)}, True),
        ((batch, 6, 14, 14), (16, 6, 5, 5), {}, True),
    ]:
        run_case(case, batch, dtype)


@pytest.mark.parametrize("layout", ["batch_minor", "sample_major"])
def test_both_packed_layouts_match_torch(layout, monkeypatch):
    """ops.direct picks the layout per layer (BATCH_MINOR_DROPPED); forced either way, every
    case (padding, dilation, odd widths, a pair of filters left over) gives torch's numbers."""
    monkeypatch.setattr(direct, "BATCH_MINOR_DROPPED", 0.0 if layout == "batch_minor" else 2.0)
    for seed, case in enumerate([
        ((3, 1, 28, 28), (6, 1, 5, 5), {"padding": (2, 2)}, True),
        ((4, 6, 14, 14), (16, 6, 5, 5), {}, False),
        ((2, 3, 9, 13), (7, 3, 3, 6), {"padding": (1, 4), "dilation": (2, 1)}, True),
        ((5, 2, 7, 11), (2, 2, 2, 8), {"padding": (0, 3), "dilation": (1, 2)}, True),
    ]):  # fmt: skip
        assert takes_direct_path(case) is kernels.available()
        if kernels.available():  # the column step of the packed x: N batch-minor, 1 if not
            cache = conv.conv2d_forward(np.ones(case[0]), np.ones(case[1]), **case[2])[1]
            assert cache.packed[3] == (case[0][0] if layout == "batch_minor" else 1)
        for dtype in (np.float32, np.float64):
            run_case(case, seed, dtype)


@settings(max_examples=60, deadline=None)
@given(
    case=direct_cases(),
    seed=st.integers(0, 2**16),
    which=st.sampled_from([0, 2]),
    dtype=st.sampled_from([np.float32, np.float64]),
)
def test_nan_and_inf_in_x_or_b_give_what_torch_gives(case, seed, which, dtype):
    assume(which < 2 or case[3])  # a bias to spoil
    compare_conv2d(case, nonfinite(arrays_of(case, seed, dtype), seed, which), seed)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_inf_in_dy_and_w_propagate_as_in_torch(dtype):
    """dy with an inf (the grads' sums carry it) and a w with an inf in an unpadded layer."""
    rng = np.random.default_rng(3)
    x, w, b = (rng.standard_normal(s).astype(dtype) for s in [(2, 3, 9, 9), (5, 3, 3, 5), (5,)])
    dy = rng.standard_normal((2, 5, 7, 5)).astype(dtype)
    dy[1, 2, 3, 4] = np.inf
    for ws in (w, np.where(np.arange(w.size).reshape(w.shape) == 7, np.inf, w).astype(dtype)):
        xs, wt, bs = (cs.tensor(a, requires_grad=True) for a in (x, ws, b))
        with np.errstate(invalid="ignore", over="ignore"):
            y = F.conv2d(xs, wt, bs)
            y.backward(dy)
        tx, tw, tb = (torch.from_numpy(a).requires_grad_() for a in (x, ws, b))
        ty = TF.conv2d(tx, tw, tb)
        ty.backward(torch.from_numpy(dy))
        for ours, theirs, n in [(y.data, ty, 45), (xs.grad, tx.grad, 75), (wt.grad, tw.grad, 70),
                                (bs.grad, tb.grad, 70)]:  # fmt: skip
            magnitude = np.abs(theirs.detach().numpy())
            assert_sums_close(ours, theirs, np.where(np.isfinite(magnitude), magnitude, 0) + 50, n)


_LOADED = """
import sys, numpy as np
import convscope as cs, convscope.nn.functional as F
before = "numba" in sys.modules or "convscope.kernels.direct_conv" in sys.modules
F.conv2d(cs.tensor(np.ones((2, 6, 14, 14))), cs.tensor(np.ones((16, 6, 5, 5))))  # a direct layer
print(before, "convscope.kernels.direct_conv" in sys.modules)
"""


def test_kernel_module_loads_only_on_demand():
    """import convscope stays NumPy-only; the direct kernel's module (and numba) comes with the
    first direct layer, and never on the NumPy path (a fresh process: other tests load it)."""
    env = {**os.environ, "CONVSCOPE_JIT": "1" if kernels.available() else "0"}
    out = subprocess.run([sys.executable, "-c", _LOADED], env=env, capture_output=True,
                         text=True, check=True).stdout.split()  # fmt: skip
    assert out == ["False", str(kernels.available())]


@pytest.mark.parametrize("small", [0, 1 << 30], ids=["borders", "fill"])
@pytest.mark.parametrize("batch_minor", [False, True])
def test_pack_and_spread_write_every_element_of_a_reused_buffer(small, batch_minor, monkeypatch):
    """The packed x and the spread dy overwrite every element of the (reused) buffer they are
    given: the zeros by one fill or by the front, tail and borders alone (SMALL_LAYOUT)."""
    k = kernels.direct()
    monkeypatch.setattr(k, "SMALL_LAYOUT", small)
    rng = np.random.default_rng(0)
    for shape, pads, reach in [((3, 2, 7, 9), ((2, 1), (3, 2)), (4, 4)), ((2, 3, 6, 6), ((0, 0), (0, 0)), (2, 4))]:  # fmt: skip
        x = rng.standard_normal(shape)
        size = k.packed_size(shape, pads, reach)
        fresh = k.pack(x, pads, reach, out=np.zeros(size), batch_minor=batch_minor)
        reused = k.pack(x, pads, reach, out=np.full(size, np.nan), batch_minor=batch_minor)
        np.testing.assert_array_equal(reused[0], fresh[0])
        oh, ow = (shape[2] + sum(pads[0]) - reach[0], shape[3] + sum(pads[1]) - reach[1])
        dy = rng.standard_normal((shape[0], 5, oh, ow))
        dy_size, _ = k.spread_size(dy.shape, fresh, pads, reach)
        spread_fresh = k.spread(dy, fresh, pads, reach, out=np.zeros(dy_size))
        spread_reused = k.spread(dy, fresh, pads, reach, out=np.full(dy_size, np.nan))
        np.testing.assert_array_equal(spread_reused[0], spread_fresh[0])
