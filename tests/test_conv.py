"""conv1d / conv2d against PyTorch (forward, dx, dw, db), the naive twin and finite differences;
every bad input with its message; dtypes and NaN."""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given, settings
from hypothesis import strategies as st

import convscope as cs
import convscope.nn.functional as F
from conv_cases import conv_cases
from convscope import ShapeError
from convscope.ops import conv, naive
from jit_paths import jit_path  # noqa: F401  (runs this module on the NumPy and compiled paths)
from tolerance import assert_sums_close
from torch_oracle_ops import compare, sum_tolerances

pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")


def run_case(nsp, case, seed, dtype):
    """Compare F.conv{nsp}d with torch's on random arrays: output and every gradient."""
    x_shape, w_shape, kwargs, bias = case
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(x_shape), rng.standard_normal(w_shape)]
    if bias:
        arrays.append(rng.standard_normal(w_shape[0]))
    arrays = [a.astype(dtype) for a in arrays]
    ours, theirs = getattr(F, f"conv{nsp}d"), getattr(TF, f"conv{nsp}d")
    compare(
        lambda *a: ours(*a, **kwargs),
        lambda *a: theirs(*a, **kwargs),
        arrays,
        seed,
        sums="products",
    )


@settings(max_examples=200, deadline=None)
@given(case=conv_cases(2), seed=st.integers(0, 2**16))
def test_conv2d_matches_torch_float64(case, seed):
    run_case(2, case, seed, np.float64)


@settings(max_examples=100, deadline=None)
@given(case=conv_cases(1), seed=st.integers(0, 2**16))
def test_conv1d_matches_torch_float64(case, seed):
    run_case(1, case, seed, np.float64)


@settings(max_examples=40, deadline=None)
@given(nsp=st.sampled_from([1, 2]), data=st.data(), seed=st.integers(0, 2**16))
def test_conv_matches_torch_float32(nsp, data, seed):
    run_case(nsp, data.draw(conv_cases(nsp)), seed, np.float32)


@settings(max_examples=40, deadline=None)
@given(
    c=st.integers(1, 3),
    size=st.tuples(st.integers(1, 7), st.integers(1, 7)),
    k=st.integers(1, 3),
    stride=st.integers(1, 3),
    padding=st.integers(0, 2),
    dilation=st.integers(1, 2),
    seed=st.integers(0, 2**16),
)
def test_naive_twin_agrees_with_vectorised_forward(c, size, k, stride, padding, dilation, seed):
    span = dilation * (k - 1) + 1
    size = tuple(max(s, span - 2 * padding) for s in size)
    rng = np.random.default_rng(seed)
    x, w, b = (
        rng.standard_normal((2, c, *size)),
        rng.standard_normal((3, c, k, k)),
        rng.standard_normal(3),
    )
    y, _ = conv.conv2d_forward(x, w, b, stride=stride, padding=padding, dilation=dilation)
    for n in range(2):
        for f in range(3):
            z = naive.corr2d(x[n], w[f], b[f], stride, padding, dilation)
            terms = naive.corr2d(abs(x[n]), abs(w[f]), abs(b[f]), stride, padding, dilation)
            assert_sums_close(y[n, f], z, terms, c * k * k + 1)


@pytest.mark.parametrize(
    ("x_shape", "w_shape", "kwargs"),
    [
        ((4, 16, 20, 20), (32, 8, 3, 3), dict(stride=2, padding=1, groups=2)),  # dW: batched GEMMs
        ((3, 8, 3, 3), (40, 8, 3, 3), dict(padding=0)),  # more filters than pixels: folded GEMM
        ((2, 32, 9, 9), (32, 1, 5, 5), dict(padding="same", groups=32)),  # depthwise
    ],
)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_conv2d_matches_torch_at_layer_sizes(x_shape, w_shape, kwargs, dtype):
    run_case(2, (x_shape, w_shape, kwargs, True), 0, dtype)


GRADCHECK_CASES = [
    (2, (2, 4, 5, 6), (4, 2, 3, 2), dict(stride=2, padding=1, dilation=(1, 2), groups=2)),
    (2, (1, 3, 4, 4), (3, 1, 2, 2), dict(padding="same", dilation=2, groups=3)),
    (2, (2, 2, 5, 5), (3, 2, 3, 3), dict(stride=(3, 1), padding=(2, 0))),
    (1, (2, 4, 7), (2, 2, 3), dict(stride=2, padding=2, dilation=2, groups=2)),
    (1, (1, 2, 6), (3, 2, 4), dict(padding="same")),
]


@pytest.mark.parametrize(("nsp", "x_shape", "w_shape", "kwargs"), GRADCHECK_CASES)
def test_conv_gradcheck(nsp, x_shape, w_shape, kwargs):
    rng = np.random.default_rng(1)
    fn = getattr(F, f"conv{nsp}d")
    inputs = [
        rng.standard_normal(x_shape),
        rng.standard_normal(w_shape),
        rng.standard_normal(w_shape[0]),
    ]
    assert cs.gradcheck(lambda x, w, b: fn(x, w, b, **kwargs), inputs)


def test_backward_skips_what_is_not_needed():
    rng = np.random.default_rng(2)
    x, w = rng.standard_normal((2, 3, 5, 5)), rng.standard_normal((4, 3, 3, 3))
    y, cache = conv.conv2d_forward(x, w, None, padding=1)
    dx, dw, db = conv.conv2d_backward(np.ones_like(y), cache, needs=(False, True, False))
    assert dx is None and db is None and dw.shape == w.shape
    dx, dw, db = conv.conv2d_backward(np.ones_like(y), cache)
    assert dx.shape == x.shape and db is None  # no bias: no db


def test_first_layer_input_gets_no_grad():
    x = cs.tensor(np.ones((1, 1, 4, 4)))
    w = cs.tensor(np.ones((2, 1, 3, 3)), requires_grad=True)
    F.conv2d(x, w).sum().backward()
    assert x.grad is None  # sums of ones: exact
    np.testing.assert_array_equal(w.grad, np.full((2, 1, 3, 3), 4.0, dtype=np.float32))


# ---- dtypes and non-finite data -------------------------------------------------------------


def test_float32_stays_float32_forward_and_backward():
    rng = np.random.default_rng(3)
    x = cs.tensor(rng.standard_normal((2, 3, 6, 6)).astype(np.float32), requires_grad=True)
    w = cs.tensor(rng.standard_normal((4, 3, 3, 3)).astype(np.float32), requires_grad=True)
    b = cs.tensor(np.zeros(4, dtype=np.float32), requires_grad=True)
    y = F.conv2d(x, w, b, stride=2, padding=1)
    y.sum().backward()
    assert y.dtype == np.float32
    assert x.grad.dtype == w.grad.dtype == b.grad.dtype == np.float32


def test_float64_stays_float64():
    y = F.conv1d(np.ones((1, 2, 5)), np.ones((3, 2, 2)), np.ones(3))
    assert y.dtype == np.float64  # sums of ones: exact
    np.testing.assert_array_equal(y.data, np.full((1, 3, 4), 5.0))


def test_integer_pixels_are_promoted():
    x = np.arange(16, dtype=np.uint8).reshape(1, 1, 4, 4)
    y = F.conv2d(x, np.ones((1, 1, 2, 2), dtype=np.int64))
    assert y.dtype == np.float32  # small integers: exact
    np.testing.assert_array_equal(y.data[0, 0, 0], [10, 14, 18])


def test_nan_and_inf_propagate_as_in_torch():
    x = np.zeros((1, 1, 5, 5))
    x[0, 0, 1, 1], x[0, 0, 4, 4] = np.nan, np.inf
    w = np.ones((1, 1, 2, 2))
    ours = F.conv2d(x, w, stride=1).data
    theirs = TF.conv2d(torch.tensor(x), torch.tensor(w)).numpy()
    # zeros, ones, nan and inf: every sum is exact (0, nan or inf)
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs))
    np.testing.assert_array_equal(ours, theirs)
    assert np.isnan(ours).sum() == 4 and np.isinf(ours).sum() == 1


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")  # inf - inf, as in torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    ("where", "value", "dy_value"),
    [
        ((0, 0, 2, 3), np.inf, None),  # one +inf pixel: +inf in the 9 cells it reaches
        ((0, 3, 0, 0), -np.inf, None),
        ((0, 5, 4, 4), np.nan, None),
        ((0, 0, 2, 3), np.inf, np.inf),  # and an infinite upstream gradient
        ((0, 0, 0, 0), 1.0, np.nan),
    ],
)
def test_non_finite_values_at_a_winograd_shape_give_torchs_numbers(dtype, where, value, dy_value):
    """8 channels, 3x3, stride 1: the compiled path would take Winograd, whose tiles turn one
    inf into nan (inf - inf); it falls back to the windows path instead."""
    x = np.ones((1, 8, 6, 6), dtype)
    x[where] = value
    w = np.full((8, 8, 3, 3), 0.01, dtype)
    ours = [cs.tensor(x, requires_grad=True), cs.tensor(w, requires_grad=True)]
    theirs = [torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)]
    y, ty = F.conv2d(*ours), TF.conv2d(*theirs)
    dy = np.random.default_rng(0).standard_normal(y.shape).astype(dtype)
    if dy_value is not None:
        dy[0, 1, 2, 2] = dy_value
    y.backward(dy)
    ty.backward(torch.tensor(dy))
    (terms, n), grad_tols = sum_tolerances(TF.conv2d, [x, w], [True, True], dy)
    assert_sums_close(y.data, ty.detach(), terms, n, err_msg="output")  # nan/inf: exactly
    for a, t, (terms, n) in zip(ours, theirs, grad_tols, strict=True):
        assert_sums_close(a.grad, t.grad, terms, n, err_msg="gradient")


def test_values_beyond_the_winograd_range_give_torchs_finite_numbers():
    """1e38 in float32: the direct sums stay below 3.4e38 (7.2e37), Winograd's tiles would not."""
    x = np.full((1, 8, 6, 6), 1e38, np.float32)
    w = np.full((8, 8, 3, 3), 0.01, np.float32)
    ours = F.conv2d(x, w).data
    theirs = TF.conv2d(torch.tensor(x), torch.tensor(w)).numpy()
    assert np.isfinite(ours).all()
    assert_sums_close(ours, theirs, abs(theirs), 8 * 9)


# ---- bad input: a sentence naming every number --------------------------------------------

X4, W4 = np.zeros((2, 3, 8, 8)), np.zeros((4, 3, 3, 3))

BAD = [
    (
        lambda: F.conv2d(np.zeros((8, 8)), W4),
        r"expected a 4-D input \(N, C, H, W\) or a 3-D \(C, H, W\) \(one sample\), got 2-D shape \(8, 8\)",
    ),
    (
        lambda: F.conv1d(np.zeros((3, 8, 8, 1)), np.zeros((2, 3, 3))),
        r"conv1d: expected a 3-D input \(N, C, L\) or a 2-D \(C, L\) \(one sample\), got 4-D",
    ),
    (
        lambda: F.conv2d(X4, np.zeros((4, 3, 3))),
        r"conv2d: weight must be 4-D \(out_channels, in_channels/groups, KH, KW\), got shape \(4, 3, 3\)",
    ),
    (
        lambda: F.conv2d(X4, np.zeros((4, 2, 3, 3))),
        r"conv2d: input has 3 channels but weight \(4, 2, 3, 3\) with groups=1 expects 2\*1 = 2",
    ),
    (
        lambda: F.conv2d(np.zeros((1, 4, 5, 5)), np.zeros((4, 1, 3, 3)), groups=2),
        r"input has 4 channels but weight \(4, 1, 3, 3\) with groups=2 expects 1\*2 = 2",
    ),
    (
        lambda: F.conv2d(X4, np.zeros((4, 1, 3, 3)), groups=2),
        r"conv2d: groups=2 must divide the 3 input channels",
    ),
    (
        lambda: F.conv2d(np.zeros((1, 4, 5, 5)), np.zeros((3, 2, 3, 3)), groups=2),
        r"conv2d: groups=2 must divide the 3 output channels",
    ),
    (lambda: F.conv2d(X4, W4, groups=0), r"groups must be a positive integer, got groups=0"),
    (
        lambda: F.conv2d(np.zeros((1, 3, 2, 2)), np.zeros((4, 3, 5, 5)), padding=1),
        r"conv2d: kernel 5 is larger than the padded input 4 along spatial axis 0 \(input 2, padding=1\)",
    ),
    (
        lambda: F.conv1d(np.zeros((1, 1, 6)), np.zeros((1, 1, 3)), dilation=4),
        r"conv1d: kernel 3 \(dilation 4 spreads it to 9\) is larger than the padded input 6",
    ),
    (
        lambda: F.conv2d(X4, W4, stride=0),
        r"conv2d: stride must be a positive integer, got stride=0",
    ),
    (
        lambda: F.conv2d(X4, W4, stride=(1, -2)),
        r"stride must be a positive integer, got stride=\(1, -2\)",
    ),
    (
        lambda: F.conv2d(X4, W4, stride=1.5),
        r"conv2d: stride=1.5 must be an integer or a tuple of 2 integers",
    ),
    (
        lambda: F.conv2d(X4, W4, dilation=0),
        r"conv2d: dilation must be a positive integer, got dilation=0",
    ),
    (lambda: F.conv2d(X4, W4, dilation=(2.0, 1)), r"dilation=\(2.0, 1\) must hold integers"),
    (
        lambda: F.conv2d(X4, np.zeros((4, 3, 0, 3))),
        r"conv2d: kernel size must be >= 1, got weight shape \(4, 3, 0, 3\)",
    ),
    (
        lambda: F.conv2d(X4, W4, padding="same", stride=2),
        r"conv2d: padding='same' needs stride 1, got stride=2",
    ),
    (lambda: F.conv2d(X4, W4, padding=-1), r"conv2d: padding must be >= 0, got padding=-1"),
    (lambda: F.conv2d(X4, W4, padding="full"), r"conv2d: padding='full' is not understood"),
    (
        lambda: F.conv2d(X4, W4, np.zeros(3)),
        r"conv2d: bias must have shape \(4,\), one value per output channel; got shape \(3,\)",
    ),
]


@pytest.mark.parametrize(("call", "match"), BAD)
def test_bad_input_raises_a_sentence(call, match):
    with pytest.raises(ShapeError, match=match):
        call()


def test_checker_returns_the_geometry():
    g = conv.check_conv("conv2d", (1, 3, 7, 8), (6, 3, 2, 3), stride=(2, 1), padding=1)
    assert g.out_size == (4, 8) and g.pads == ((1, 1), (1, 1)) and g.out_channels == 6
    g = conv.check_conv("conv1d", (1, 3, 7), (6, 3, 4), padding="same", dilation=1)
    assert g.out_size == (7,) and g.pads == ((1, 2),)  # the extra zero goes on the right


@settings(max_examples=40, deadline=None)
@given(
    kernel=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    stride=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    dilation=st.tuples(st.integers(1, 2), st.integers(1, 2)),
    pads=st.tuples(*[st.tuples(st.integers(0, 2), st.integers(0, 2))] * 2),
    seed=st.integers(0, 2**16),
)
def test_scatter_windows_is_the_adjoint_of_gather_windows(kernel, stride, dilation, pads, seed):
    """<gather(x), d> == <x, scatter(d)>: the contract a compiled twin of either must keep."""
    size = tuple(d * (k - 1) + 1 + 3 for k, d in zip(kernel, dilation, strict=True))
    out = tuple(
        (n + a + b - d * (k - 1) - 1) // s + 1
        for n, (a, b), k, s, d in zip(size, pads, kernel, stride, dilation, strict=True)
    )
    rng = np.random.default_rng(seed)
    x, d = rng.standard_normal((2, 3, *size)), rng.standard_normal((2, 3, *kernel, *out))
    cols = conv.gather_windows(x, kernel, stride, dilation, pads, out)
    back = conv.scatter_windows(d, stride, dilation, pads, size)
    assert back.shape == x.shape
    assert_sums_close(np.vdot(cols, d), np.vdot(x, back), np.vdot(abs(cols), abs(d)), d.size)
    (t, _), (l, _) = pads
    n, c, u, v, i, j = 1, 2, kernel[0] - 1, kernel[1] - 1, out[0] - 1, out[1] - 1
    row, col = i * stride[0] + u * dilation[0] - t, j * stride[1] + v * dilation[1] - l
    inside = 0 <= row < size[0] and 0 <= col < size[1]
    assert cols[n, c, u, v, i, j] == (x[n, c, row, col] if inside else 0.0)


def test_empty_batch_and_non_contiguous_input():
    x = cs.tensor(np.zeros((0, 3, 5, 5)), requires_grad=True)
    w = cs.tensor(np.ones((2, 3, 3, 3)), requires_grad=True)
    y = F.conv2d(x, w, padding=1)
    y.sum().backward()
    assert y.shape == (0, 2, 5, 5) and x.grad.shape == x.shape
    np.testing.assert_array_equal(w.grad, np.zeros((2, 3, 3, 3)))
    x_t = np.random.default_rng(0).standard_normal((5, 6, 3, 2)).transpose(3, 2, 0, 1)
    w = np.ones((4, 3, 2, 2))
    ours = F.conv2d(x_t, w, stride=2).data
    theirs = TF.conv2d(torch.tensor(x_t), torch.tensor(w), stride=2).numpy()
    terms = TF.conv2d(torch.tensor(abs(x_t)), torch.tensor(w), stride=2).numpy()
    assert_sums_close(ours, theirs, terms, 3 * 2 * 2)
