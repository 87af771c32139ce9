"""Activations and softmax against PyTorch, finite differences, and extreme logits."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import convscope as cs
import convscope.nn.functional as F
from convscope import ShapeError, kernels
from convscope.ops import activation
from convscope.ops.activation import erf
from jit_paths import compiled
from torch_oracle_ops import compare

PAIRS = {
    "relu": (F.relu, TF.relu),
    "leaky_relu": (lambda x: F.leaky_relu(x, 0.2), lambda x: TF.leaky_relu(x, 0.2)),
    "leaky_relu_default": (F.leaky_relu, TF.leaky_relu),
    "sigmoid": (F.sigmoid, torch.sigmoid),
    "tanh": (F.tanh, torch.tanh),
    "gelu": (F.gelu, TF.gelu),
    "gelu_tanh": (lambda x: F.gelu(x, "tanh"), lambda x: TF.gelu(x, approximate="tanh")),
    "softmax_last": (lambda x: F.softmax(x, dim=-1), lambda x: TF.softmax(x, dim=-1)),
    "softmax_0": (lambda x: F.softmax(x, dim=0), lambda x: TF.softmax(x, dim=0)),
    "log_softmax_last": (lambda x: F.log_softmax(x, -1), lambda x: TF.log_softmax(x, -1)),
    "log_softmax_0": (lambda x: F.log_softmax(x, 0), lambda x: TF.log_softmax(x, 0)),
    "relu6": (F.relu6, TF.relu6),
    "elu": (F.elu, TF.elu),
    "elu_alpha": (lambda x: F.elu(x, 0.5), lambda x: TF.elu(x, 0.5)),
    "silu": (F.silu, TF.silu),
    "softplus": (F.softplus, TF.softplus),
    "softplus_beta": (lambda x: F.softplus(x, 2.0, 5.0), lambda x: TF.softplus(x, 2.0, 5.0)),
}


@settings(max_examples=400, deadline=None)
@given(
    name=st.sampled_from(sorted(PAIRS)),
    shape=hnp.array_shapes(min_dims=1, max_dims=4, max_side=5),
    scale=st.sampled_from([0.1, 1.0, 5.0, 40.0]),
    dtype=st.sampled_from([np.float64, np.float64, np.float32]),
    seed=st.integers(0, 2**16),
)
def test_activation_matches_torch(name, shape, scale, dtype, seed):
    x = (np.random.default_rng(seed).standard_normal(shape) * scale).astype(dtype)
    ours, theirs = PAIRS[name]
    y = compare(ours, theirs, [x], seed)
    assert y.dtype == dtype


def test_relu_and_leaky_relu_gradient_at_zero_is_zero_slope_as_torch():
    x = np.array([-1.0, 0.0, 0.0, 2.0])
    for name in ["relu", "leaky_relu"]:
        compare(*PAIRS[name], [x])


@pytest.mark.parametrize("jit", [False, True], ids=["numpy", "compiled"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_keeps_torchs_non_finite_rules_on_both_paths(jit, dtype, monkeypatch):
    """relu: NaN stays NaN, -inf gives 0; threshold_backward: 0 where y <= 0 (also for an inf
    or NaN dy), dy where y > 0 or y is NaN; the compiled selects (for any size here) and the
    NumPy maximum, mask (or np.where) agree with them, strided x and dy too."""
    if jit and not kernels.available():
        pytest.skip("compiled kernels unavailable (Numba missing or CONVSCOPE_JIT=0)")
    monkeypatch.setattr(activation, "RELU_COMPILED_MIN", 0)
    x = np.array([[-1.0, 0.0, 2.0, np.nan, np.inf, -np.inf, 3.0, -2.0]] * 3, dtype=dtype)
    dy = np.array([[np.inf, 1.0, np.nan, 2.0, -1.0, np.inf, -np.inf, np.nan]] * 3, dtype=dtype)
    finite = np.arange(24, dtype=dtype).reshape(3, 8) - 7
    for grad in (dy, finite, np.asfortranarray(finite), dy[:, ::2]):
        xs = x[:, ::2] if grad.shape[1] < x.shape[1] else x
        with compiled(jit):
            y, cache = activation.relu_forward(xs)
            (dx,) = activation.relu_backward(grad, cache)
        ty = torch.relu(torch.from_numpy(xs.copy()))
        expect = torch.ops.aten.threshold_backward(torch.from_numpy(grad.copy()), ty, 0)
        np.testing.assert_array_equal(y, ty.numpy())  # selects and 0/1 products: exact
        np.testing.assert_array_equal(dx, expect.numpy())
        assert y.dtype == dx.dtype == dtype


def test_kinks_of_relu6_elu_and_softplus_take_torchs_gradient():
    x = np.array([-1.0, 0.0, 6.0, 7.0, 3.0, 10.0, 2.5, -1e-9])
    for name in ["relu6", "elu", "elu_alpha", "softplus", "softplus_beta"]:
        compare(*PAIRS[name], [x])


@pytest.mark.parametrize("name", sorted(PAIRS))
def test_gradcheck(name):
    x = np.random.default_rng(4).standard_normal((3, 4)) * 2
    x[np.abs(x) < 1e-3] = 0.5  # keep finite differences away from relu's kink
    assert cs.gradcheck(PAIRS[name][0], [x])


@pytest.mark.parametrize("name", sorted(PAIRS))
def test_logits_of_1e4_give_no_inf_or_nan_and_match_torch(name):
    x = np.array([[1e4, -1e4, 0.0, 1e4 - 1.0], [-1e4, -1e4 + 3, -1e4, 5.0]])
    y = compare(*PAIRS[name], [x])
    assert np.isfinite(y.data).all()


def test_softmax_of_huge_logits_is_exact_and_log_softmax_keeps_the_differences():
    x = np.array([[1e4, 1e4 - np.log(3.0)]])
    np.testing.assert_allclose(F.softmax(x, dim=1).data, [[0.75, 0.25]], rtol=1e-12)
    np.testing.assert_allclose(F.log_softmax(x, 1).data, np.log([[0.75, 0.25]]), rtol=1e-12)


def test_sigmoid_saturates_without_overflow_warnings():
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        y = F.sigmoid(np.array([-1e4, -745.0, 0.0, 745.0, 1e4])).data
    np.testing.assert_array_equal(
        y[[0, 2, 4]], [0.0, 0.5, 1.0]
    )  # exact: 1/(1+0), 1/(1+1), 1/(1+inf)


def test_erf_is_libm_erf_in_the_input_dtype():
    x = np.linspace(-7, 7, 1001)
    np.testing.assert_array_equal(erf(x), [math.erf(v) for v in x])  # the same function: exact
    assert erf(x.astype(np.float32)).dtype == np.float32


def test_integer_input_is_promoted_to_float32():
    assert F.relu(np.array([[-2, 3]])).dtype == np.float32


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda x: F.softmax(x, dim=2), r"softmax: dim=2 is out of range for a 2-D input"),
        (lambda x: F.log_softmax(x, -3), r"log_softmax: dim=-3 is out of range"),
        (lambda x: F.softmax(x, 1.0), r"softmax: dim must be an integer, got 1.0"),
        (lambda x: F.gelu(x, "fast"), r"gelu: approximate='fast' is not supported"),
        (lambda x: F.leaky_relu(x, "0.1"), r"negative_slope must be a real number"),
        (lambda x: F.elu(x, None), r"elu: alpha must be a real number, got None"),
        (lambda x: F.softplus(x, 0), r"softplus: beta=0 divides by zero"),
        (lambda x: F.softplus(x, 1, "20"), r"softplus: threshold must be a real number"),
    ],
)
def test_bad_arguments_raise_shape_error(call, message):
    with pytest.raises(ShapeError, match=message):
        call(np.zeros((2, 3)))
