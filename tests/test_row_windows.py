"""Convolution by row windows (ops.row_windows: the KH rows of each window gathered, the KW
columns as shifted sums of one GEMM) against PyTorch: forward and all three gradients,
float64 and float32, every geometry it computes (stride 1 across; any stride down,
dilation, padding, groups, 1-D), chunked or not, with and without a cache, nan and inf; on
both paths. ``forced`` sends every conv it can compute there, whatever ``row_windows.rule``
would pick."""

import contextlib
from functools import partial

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import convscope as cs
import convscope.nn.functional as F
from conv_cases import arrays_of, compare_conv2d, nonfinite
from convscope.ops import conv, row_windows
from jit_paths import jit_path  # noqa: F401  (runs this module on the NumPy and compiled paths)
from tolerance import assert_sums_close
from torch_oracle_ops import compare


@contextlib.contextmanager
def forced(chunk_bytes=None):
    """Every conv row windows can compute goes there (Winograd and the direct kernel first),
    chunked by chunk_bytes when given."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(row_windows, "rule", row_windows.applies)
        if chunk_bytes is not None:
            patch.setattr(row_windows, "CHUNK_BYTES", chunk_bytes)
        yield


@pytest.fixture
def forced_rows():
    with forced():
        yield


@st.composite
def row_cases(draw):
    """(x shape, w shape, kwargs, bias) of a conv with stride 1 across."""
    groups = draw(st.integers(1, 3))
    n, cg, fg = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    sh, dh, dw = draw(st.integers(1, 3)), draw(st.integers(1, 2)), draw(st.integers(1, 3))
    ph, pw = draw(st.integers(0, 3)), draw(st.integers(0, 3))
    h = draw(st.integers(max(1, dh * (kh - 1) + 1 - 2 * ph), 9))
    w = draw(st.integers(max(1, dw * (kw - 1) + 1 - 2 * pw), 11))
    kwargs = {"stride": (sh, 1), "padding": (ph, pw), "dilation": (dh, dw), "groups": groups}
    return (n, cg * groups, h, w), (fg * groups, cg, kh, kw), kwargs, draw(st.booleans())


def cache_of(case):
    x_shape, w_shape, kwargs, _ = case
    return conv.conv2d_forward(np.ones(x_shape), np.ones(w_shape), **kwargs)[1]


def test_the_rows_rule_is_asked_per_call_even_for_a_layer_routed_before():
    """conv remembers its compiled route per geometry; the rows rule (which these tests
    replace) must still decide each call, so the forced rows path runs a 1x1 layer seen before."""
    case = ((1, 1, 1, 1), (1, 1, 1, 1), {"stride": (1, 1), "padding": (0, 0), "dilation": (1, 1),
                                         "groups": 1}, False)  # fmt: skip
    assert not isinstance(cache_of(case), row_windows.RowsCache)
    with forced():
        assert isinstance(cache_of(case), row_windows.RowsCache)


@settings(max_examples=150, deadline=None)
@given(case=row_cases(), seed=st.integers(0, 2**16), chunk=st.sampled_from([1, 200, 1 << 20]))
def test_row_windows_match_torch_float64(case, seed, chunk):
    with forced(chunk):  # one sample per chunk, some, all
        # few channels per group and KW <= 4: neither Winograd nor the direct kernel comes first
        assert isinstance(cache_of(case), row_windows.RowsCache)
        compare_conv2d(case, arrays_of(case, seed, np.float64), seed)


@settings(max_examples=60, deadline=None)
@given(case=row_cases(), seed=st.integers(0, 2**16))
def test_row_windows_match_torch_float32(case, seed):
    with forced():
        compare_conv2d(case, arrays_of(case, seed, np.float32), seed)


@settings(max_examples=80, deadline=None)
@given(
    case=row_cases(),
    seed=st.integers(0, 2**16),
    which=st.sampled_from([0, 1, 2]),
    dtype=st.sampled_from([np.float32, np.float64]),
)
def test_nan_and_inf_give_what_torch_gives(case, seed, which, dtype):
    """0 * inf is nan: dW falls back to the windows path for an x with nan/inf, dX for a w.
    An infinite w in a padded layer is left out: every path here multiplies it with the
    padding's zeros (nan), where PyTorch skips them (inf)."""
    assume(which < 2 or case[3])  # a bias to spoil
    assume(which != 1 or case[2]["padding"] == (0, 0))
    with forced():
        compare_conv2d(case, nonfinite(arrays_of(case, seed, dtype), seed, which), seed)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.usefixtures("forced_rows")
def test_inf_in_dy_propagates_as_in_torch(dtype):
    """An unpadded layer: with padding, dW's sums hold 0 * inf on every path here."""
    rng = np.random.default_rng(4)
    kwargs = {"stride": (2, 1), "dilation": (1, 2)}
    x, w, b = (rng.standard_normal(s).astype(dtype) for s in [(2, 4, 9, 9), (5, 4, 3, 3), (5,)])
    xs, ws, bs = (cs.tensor(a, requires_grad=True) for a in (x, w, b))
    y = F.conv2d(xs, ws, bs, **kwargs)
    dy = rng.standard_normal(y.shape).astype(dtype)
    dy[1, 2, 2, 3] = np.inf
    with np.errstate(invalid="ignore", over="ignore"):
        y.backward(dy)
    tx, tw, tb = (torch.from_numpy(a).requires_grad_() for a in (x, w, b))
    TF.conv2d(tx, tw, tb, **kwargs).backward(torch.from_numpy(dy))
    for ours, theirs in [(xs.grad, tx.grad), (ws.grad, tw.grad), (bs.grad, tb.grad)]:
        assert not np.isfinite(ours.data).all()  # the inf reached every grad
        assert_sums_close(ours, theirs, 50, 64)  # inf and nan where torch has them


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.usefixtures("forced_rows")
def test_conv1d_and_one_sample_by_rows(dtype):
    rng = np.random.default_rng(5)
    for ours, theirs, x_shape, w_shape, kwargs in [
        (F.conv1d, TF.conv1d, (3, 4, 17), (6, 2, 4), {"padding": 2, "dilation": 2, "groups": 2}),
        (F.conv1d, TF.conv1d, (5, 17), (6, 5, 3), {"padding": 1}),  # one sample (C, L)
        (F.conv2d, TF.conv2d, (4, 9, 10), (3, 4, 2, 3), {"stride": (2, 1)}),  # (C, H, W)
    ]:  # fmt: skip
        arrays = [rng.standard_normal(s).astype(dtype) for s in (x_shape, w_shape, w_shape[:1])]
        compare(partial(ours, **kwargs), partial(theirs, **kwargs), arrays, 5, sums="products")


def test_the_rule_takes_the_layers_that_win():
    """Large layers and LeNet conv2 (on the NumPy path; compiled, Winograd and the direct kernel
    come first); not conv1 (a 5-long contraction), not strided across, not 8x8 images."""
    from convscope import kernels

    compiled = kernels.available()  # the module fixture sets CONVSCOPE_JIT
    rows = {
        "vgg": ((1, 64, 32, 32), (64, 64, 3, 3), {"padding": 1}, not compiled),
        "lenet conv2": ((1, 6, 14, 14), (16, 6, 5, 5), {}, not compiled),
        "dilated": ((1, 32, 32, 32), (32, 32, 3, 3), {"padding": 2, "dilation": 2}, True),
        "grouped": ((1, 64, 32, 32), (64, 16, 3, 3), {"padding": 1, "groups": 4}, True),
        "depthwise": ((1, 64, 32, 32), (64, 1, 3, 3), {"padding": 1, "groups": 64}, True),
        "lenet conv1": ((1, 1, 28, 28), (6, 1, 5, 5), {"padding": 2}, False),
        "strided": ((1, 32, 64, 64), (64, 32, 3, 3), {"stride": 2, "padding": 1}, False),
        "small image": ((1, 64, 8, 8), (128, 64, 3, 3), {"dilation": (1, 2), "padding": 1}, False),
    }
    for name, (x_shape, w_shape, kwargs, expected) in rows.items():
        taken = isinstance(cache_of((x_shape, w_shape, kwargs, False)), row_windows.RowsCache)
        assert taken is expected, name


def test_a_forward_without_backward_keeps_no_rows_and_a_later_backward_gathers_them(
    forced_rows, monkeypatch
):
    monkeypatch.setattr(row_windows, "CHUNK_BYTES", 1)
    rng = np.random.default_rng(6)
    x, w = rng.standard_normal((3, 4, 8, 9)), rng.standard_normal((6, 4, 3, 2))
    kwargs = {"padding": 1, "stride": (2, 1)}
    streamed = F.conv2d(x, w, None, **kwargs)  # nothing requires grad: no cache kept
    y, cache = conv.conv2d_forward(x, w, **kwargs)
    assert isinstance(cache, row_windows.RowsCache) and cache.rows is not None
    expected = TF.conv2d(torch.from_numpy(x), torch.from_numpy(w), **kwargs).numpy()
    magnitude = TF.conv2d(torch.from_numpy(abs(x)), torch.from_numpy(abs(w)), **kwargs).numpy()
    for ours in (streamed.data, y):
        assert_sums_close(ours, expected, magnitude, 4 * 3 * 2)
    dy = rng.standard_normal(y.shape)
    dx, dw, _ = conv.conv2d_backward(dy, cache)
    dx2, dw2, _ = conv.conv2d_backward(dy, cache._replace(rows=None))
    assert_sums_close(dx2, dx, conv.conv2d_backward(abs(dy), cache)[0], 6 * 6)
    assert_sums_close(dw2, dw, abs(dw) + 1, 3 * 4 * 9)
