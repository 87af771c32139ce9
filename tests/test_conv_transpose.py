"""conv_transpose1d / conv_transpose2d against PyTorch (forward, dx, dw, db), finite differences,
and every bad input with its message."""

import numpy as np
import pytest
import torch.nn.functional as TF
from hypothesis import given, settings
from hypothesis import strategies as st

import convscope as cs
import convscope.nn.functional as F
from conv_cases import conv_transpose_cases
from convscope import ShapeError
from jit_paths import jit_path  # noqa: F401  (runs this module on the NumPy and compiled paths)
from torch_oracle_ops import compare


def run_case(nsp, case, seed, dtype):
    """Compare F.conv_transpose{nsp}d with torch's: output and every gradient."""
    x_shape, w_shape, kwargs, bias = case
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(x_shape), rng.standard_normal(w_shape)]
    if bias:
        arrays.append(rng.standard_normal(w_shape[1] * kwargs["groups"]))
    arrays = [a.astype(dtype) for a in arrays]
    ours, theirs = getattr(F, f"conv_transpose{nsp}d"), getattr(TF, f"conv_transpose{nsp}d")
    compare(
        lambda *a: ours(*a, **kwargs),
        lambda *a: theirs(*a, **kwargs),
        arrays,
        seed,
        sums="products",
    )


@settings(max_examples=200, deadline=None)
@given(case=conv_transpose_cases(2), seed=st.integers(0, 2**16))
def test_conv_transpose2d_matches_torch_float64(case, seed):
    run_case(2, case, seed, np.float64)


@settings(max_examples=100, deadline=None)
@given(case=conv_transpose_cases(1), seed=st.integers(0, 2**16))
def test_conv_transpose1d_matches_torch_float64(case, seed):
    run_case(1, case, seed, np.float64)


@settings(max_examples=40, deadline=None)
@given(nsp=st.sampled_from([1, 2]), data=st.data(), seed=st.integers(0, 2**16))
def test_conv_transpose_matches_torch_float32(nsp, data, seed):
    run_case(nsp, data.draw(conv_transpose_cases(nsp)), seed, np.float32)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_conv_transpose2d_matches_torch_at_layer_sizes(dtype):
    """A DCGAN-style upsampling layer: 8x8 -> 16x16, kernel 4, stride 2, padding 1."""
    run_case(
        2, ((4, 32, 8, 8), (32, 16, 4, 4), dict(stride=2, padding=1, groups=1), True), 0, dtype
    )


GRADCHECK_CASES = [
    (2, (2, 4, 3, 4), (4, 1, 3, 2), dict(stride=2, padding=1, output_padding=1, groups=2)),
    (2, (1, 2, 3, 3), (2, 3, 2, 2), dict(stride=(1, 3), dilation=(2, 1), output_padding=(1, 2))),
    (1, (2, 3, 4), (3, 2, 3), dict(stride=3, padding=2, output_padding=2, dilation=2)),
]


@pytest.mark.parametrize(("nsp", "x_shape", "w_shape", "kwargs"), GRADCHECK_CASES)
def test_conv_transpose_gradcheck(nsp, x_shape, w_shape, kwargs):
    rng = np.random.default_rng(1)
    fn = getattr(F, f"conv_transpose{nsp}d")
    cout = w_shape[1] * kwargs.get("groups", 1)
    inputs = [rng.standard_normal(x_shape), rng.standard_normal(w_shape), rng.standard_normal(cout)]
    assert cs.gradcheck(lambda x, w, b: fn(x, w, b, **kwargs), inputs)


def test_output_padding_rows_hold_the_bias_only():
    y = F.conv_transpose1d(
        np.ones((1, 1, 2)), np.ones((1, 1, 1)), np.array([0.5]), stride=3, output_padding=2
    )
    np.testing.assert_array_equal(y.data[0, 0], [1.5, 0.5, 0.5, 1.5, 0.5, 0.5])  # exact sums


def test_float32_stays_float32():
    x = cs.tensor(np.ones((1, 2, 3, 3), dtype=np.float32), requires_grad=True)
    w = cs.tensor(np.ones((2, 1, 2, 2), dtype=np.float32), requires_grad=True)
    y = F.conv_transpose2d(x, w, stride=2)
    y.sum().backward()
    assert y.dtype == x.grad.dtype == w.grad.dtype == np.float32


X, W = np.zeros((1, 4, 5, 5)), np.zeros((4, 2, 3, 3))

BAD = [
    (
        lambda: F.conv_transpose2d(X, W, stride=2, output_padding=2),
        r"conv_transpose2d: output_padding=2 must be smaller than stride=2 or dilation=1",
    ),
    (
        lambda: F.conv_transpose1d(X[:, :, 0], W[:, :, 0], output_padding=1),
        r"output_padding=1 must be smaller than stride=1 or dilation=1",
    ),
    (lambda: F.conv_transpose2d(X, W, output_padding=-1), r"output_padding must be >= 0"),
    (
        lambda: F.conv_transpose2d(X, np.zeros((3, 2, 3, 3))),
        r"conv_transpose2d: input has 4 channels but weight \(3, 2, 3, 3\) expects 3 \(weight is \(in_channels, out_channels/groups, KH, KW\), groups=1\)",
    ),
    (lambda: F.conv_transpose2d(X, W, groups=3), r"groups=3 must divide the 4 input channels"),
    (
        lambda: F.conv_transpose2d(X[0, 0], W),
        r"expected a 4-D input \(N, C, H, W\) or a 3-D \(C, H, W\) \(one sample\), got 2-D shape \(5, 5\)",
    ),
    (
        lambda: F.conv_transpose2d(X, W, padding="same"),
        r"conv_transpose2d: padding='same' is not supported; use integer padding",
    ),
    (lambda: F.conv_transpose2d(X, W, padding=-1), r"padding must be >= 0, got padding=-1"),
    (
        lambda: F.conv_transpose2d(X, W, padding=4),
        r"output size \(5-1\)\*1 - 2\*4 \+ 1\*\(3-1\) \+ 0 \+ 1 = -1 < 1; use less padding",
    ),
    (
        lambda: F.conv_transpose2d(X, W, stride=0),
        r"stride must be a positive integer, got stride=0",
    ),
    (
        lambda: F.conv_transpose2d(X, W, np.zeros(4)),
        r"bias must have shape \(2,\), one value per output channel; got shape \(4,\)",
    ),
]


@pytest.mark.parametrize(("call", "match"), BAD)
def test_bad_input_raises_a_sentence(call, match):
    with pytest.raises(ShapeError, match=match):
        call()
