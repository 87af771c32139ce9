"""linear, flatten and dropout against PyTorch, finite differences and statistics; batch_norm's
bad input (its numbers: test_batch_norm.py)."""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given, settings
from hypothesis import strategies as st

import convscope as cs
import convscope.nn.functional as F
from convscope import ShapeError
from torch_oracle_ops import compare

DTYPES = st.sampled_from([np.float64, np.float64, np.float32])


@settings(max_examples=100, deadline=None)
@given(
    lead=st.lists(st.integers(1, 3), max_size=3).map(tuple),
    n_in=st.integers(1, 6),
    n_out=st.integers(1, 5),
    has_bias=st.booleans(),
    dtype=DTYPES,
    seed=st.integers(0, 2**16),
)
def test_linear_matches_torch(lead, n_in, n_out, has_bias, dtype, seed):
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal((*lead, n_in)), rng.standard_normal((n_out, n_in))]
    if has_bias:
        arrays.append(rng.standard_normal(n_out))
    compare(F.linear, TF.linear, [a.astype(dtype) for a in arrays], seed, sums="products")


def test_linear_skips_gradients_nobody_needs():
    w = cs.tensor(np.ones((2, 3)), requires_grad=True)
    y = F.linear(np.ones((4, 3)), w)
    y.sum().backward()
    np.testing.assert_array_equal(w.grad, np.full((2, 3), 4.0))  # sums of ones: exact


def test_linear_gradcheck():
    rng = np.random.default_rng(7)
    x, w, b = rng.standard_normal((2, 3, 4)), rng.standard_normal((5, 4)), rng.standard_normal(5)
    assert cs.gradcheck(F.linear, [x, w, b])


@settings(max_examples=60, deadline=None)
@given(
    shape=st.lists(st.integers(1, 3), min_size=1, max_size=5).map(tuple),
    data=st.data(),
)
def test_flatten_matches_torch(shape, data):
    nd = len(shape)
    start = data.draw(st.integers(-nd, nd - 1))
    end = data.draw(st.integers(start % nd, nd - 1)) - data.draw(st.sampled_from([0, nd]))
    x = np.random.default_rng(0).standard_normal(shape)
    compare(
        lambda a: F.flatten(a, start, end),
        lambda a: torch.flatten(a, start, end),
        [x],
        sums="routes",
    )


def test_flatten_default_keeps_the_batch_axis_and_gradcheck():
    x = np.random.default_rng(8).standard_normal((2, 3, 2, 2))
    assert F.flatten(x).shape == (2, 12)
    assert cs.gradcheck(lambda a: F.flatten(a, 1, 2), [x])


def test_dropout_is_the_identity_for_p0_or_eval():
    x = np.random.default_rng(0).standard_normal((3, 4))  # the identity moves no bits: exact
    np.testing.assert_array_equal(F.dropout(x, p=0.0).data, x)
    np.testing.assert_array_equal(F.dropout(x, p=0.9, training=False).data, x)
    t = cs.tensor(x, requires_grad=True)
    F.dropout(t, 0.5, training=False).sum().backward()
    np.testing.assert_array_equal(t.grad, np.ones_like(x))


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_keeps_the_mean_and_drops_a_fraction_p(p):
    x = np.ones((200, 500))
    y = F.dropout(x, p, rng=np.random.default_rng(1)).data
    assert abs((y == 0).mean() - p) < 0.01
    assert abs(y.mean() - 1.0) < 0.02
    np.testing.assert_allclose(y[y != 0], 1 / (1 - p), rtol=1e-15)


def test_dropout_backward_reuses_the_forward_mask():
    x = cs.tensor(np.random.default_rng(2).standard_normal((50, 40)) + 5, requires_grad=True)
    y = F.dropout(x, 0.4, rng=np.random.default_rng(3))
    dy = np.random.default_rng(4).standard_normal(y.shape)
    y.backward(dy)
    kept = y.data != 0
    np.testing.assert_allclose(x.grad, np.where(kept, dy / 0.6, 0), rtol=1e-15)
    assert cs.gradcheck(
        lambda a: F.dropout(a, 0.4, rng=np.random.default_rng(3)), [x.data[:3, :4].copy()]
    )


def test_dropout_is_reproducible_with_a_seeded_rng_and_keeps_float32():
    x = np.ones((8, 8), np.float32)
    a = F.dropout(x, 0.5, rng=np.random.default_rng(42))
    b = F.dropout(x, 0.5, rng=np.random.default_rng(42))
    np.testing.assert_array_equal(a.data, b.data)
    assert a.dtype == np.float32
    assert not np.array_equal(a.data, F.dropout(x, 0.5, rng=np.random.default_rng(43)).data)


def test_dropout_p1_zeroes_everything():
    t = cs.tensor(np.ones((3, 3)), requires_grad=True)
    y = F.dropout(t, 1.0)
    y.sum().backward()
    assert not y.data.any() and not t.grad.any()


X2 = np.zeros((4, 3))
BAD = [
    (lambda: F.linear(np.zeros((2, 7)), np.zeros((4, 5))), r"linear: input shape \(2, 7\) has 7 features on its last axis but weight \(4, 5\) expects 5"),
    (lambda: F.linear(np.zeros((2, 5)), np.zeros(5)), r"linear: weight must be 2-D \(out_features, in_features\), got shape \(5,\)"),
    (lambda: F.linear(np.zeros((2, 5)), np.zeros((4, 5)), np.zeros(3)), r"bias has shape \(3,\); expected \(4,\)"),
    (lambda: F.flatten(X2, 2), r"flatten: start_dim=2 is out of range for a 2-D input"),
    (lambda: F.flatten(np.zeros((2, 3, 4)), 2, 1), r"start_dim=2 comes after end_dim=1"),
    (lambda: cs.zeros(2, 3, 4).flatten(2, 1), r"start_dim=2 comes after end_dim=1"),
    (lambda: cs.zeros(2, 3).flatten(0, 2), r"flatten: end_dim=2 is out of range for a 2-D input"),
    (lambda: F.flatten(X2, 1.0), r"start_dim must be an integer, got 1.0"),
    (lambda: F.dropout(X2, 1.5), r"dropout: p=1.5 must be a probability in \[0, 1\]"),
    (lambda: F.dropout(X2, -0.1), r"dropout: p=-0.1 must be a probability"),
    (lambda: F.dropout(X2, 0.5, rng=np.random.RandomState(0)), r"rng must be a numpy.random.Generator, got RandomState"),
    (lambda: F.batch_norm(np.zeros(3), None, None, training=True), r"batch_norm: expected an input \(N, C\) or \(N, C, \.\.\.\), got shape \(3,\)"),
    (lambda: F.batch_norm(X2, np.zeros(4), np.ones(3)), r"running_mean has shape \(4,\) but the input \(4, 3\) has 3 channels"),
    (lambda: F.batch_norm(X2, None, None, weight=np.ones(2), training=True), r"weight has shape \(2,\) but the input \(4, 3\) has 3 channels"),
    (lambda: F.batch_norm(X2, None, None), r"eval mode \(training=False\) normalises with running_mean and running_var"),
    (lambda: F.batch_norm(np.zeros((1, 3)), None, None, training=True), r"expected more than 1 value per channel when training, got input shape \(1, 3\)"),
    (lambda: F.batch_norm(X2, np.zeros(3, int), np.ones(3), training=True), r"running_mean must be a float array"),
]  # fmt: skip


@pytest.mark.parametrize(("call", "message"), BAD)
def test_bad_input_is_a_shape_error_with_a_sentence(call, message):
    with pytest.raises(ShapeError, match=message):
        call()
