"""cross_entropy, nll_loss and mse_loss against PyTorch, finite differences and bad targets."""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given, settings
from hypothesis import strategies as st

import convscope as cs
import convscope.nn.functional as F
from convscope import ShapeError
from tolerance import assert_values_close
from torch_oracle_ops import compare


@st.composite
def classification(draw):
    """Logits (N, C, d...), targets (some ignored), optional class weights, loss options."""
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    n, c = draw(st.integers(1, 4)), draw(st.integers(1, 5))
    extra = tuple(draw(st.lists(st.integers(1, 3), max_size=2)))
    dtype = draw(st.sampled_from([np.float64, np.float64, np.float32]))
    x = (rng.standard_normal((n, c, *extra)) * draw(st.sampled_from([1.0, 10.0]))).astype(dtype)
    t = rng.integers(0, c, (n, *extra))
    ignore = draw(st.sampled_from([-100, 0, 2]))
    if draw(st.booleans()):
        t[rng.random(t.shape) < 0.3] = ignore
    weight = rng.random(c).astype(dtype) + 0.1 if draw(st.booleans()) else None
    kw = dict(reduction=draw(st.sampled_from(["mean", "sum", "none"])), ignore_index=ignore)
    return x, t, weight, kw


def _torch_kw(weight, kw):
    return dict(kw, weight=None if weight is None else torch.tensor(weight))


@settings(max_examples=200, deadline=None)
@given(case=classification(), smoothing=st.sampled_from([0.0, 0.0, 0.1, 0.5, 1.0]))
def test_cross_entropy_matches_torch(case, smoothing):
    x, t, weight, kw = case
    kw = dict(kw, label_smoothing=smoothing)
    compare(
        lambda a: F.cross_entropy(a, t, weight, **kw),
        lambda a: TF.cross_entropy(a, torch.tensor(t), **_torch_kw(weight, kw)),
        [x],
    )


@settings(max_examples=120, deadline=None)
@given(
    case=classification(),
    smoothing=st.sampled_from([0.0, 0.1, 1.0]),
    normalised=st.booleans(),
)
def test_cross_entropy_with_class_probabilities_matches_torch(case, smoothing, normalised):
    x, _, weight, kw = case
    q = np.random.default_rng(x.size).random(x.shape).astype(x.dtype)
    if normalised:
        q /= q.sum(axis=1, keepdims=True)
    kw = dict(reduction=kw["reduction"], label_smoothing=smoothing)
    compare(
        lambda a: F.cross_entropy(a, q, weight, **kw),
        lambda a: TF.cross_entropy(a, torch.tensor(q), **_torch_kw(weight, kw)),
        [x],
    )


def test_cross_entropy_loss_layer_takes_class_probabilities():
    x = np.random.default_rng(3).standard_normal((6, 5))
    q = np.full((6, 5), 0.2)
    ours = cs.nn.CrossEntropyLoss(label_smoothing=0.1)(x, q)
    theirs = torch.nn.CrossEntropyLoss(label_smoothing=0.1)(torch.tensor(x), torch.tensor(q))
    assert_values_close(ours, theirs)


@settings(max_examples=100, deadline=None)
@given(case=classification())
def test_nll_loss_matches_torch(case):
    x, t, weight, kw = case
    compare(
        lambda a: F.nll_loss(a, t, weight, **kw),
        lambda a: TF.nll_loss(a, torch.tensor(t), **_torch_kw(weight, kw)),
        [x],
    )


@settings(max_examples=100, deadline=None)
@given(
    shape=st.lists(st.integers(1, 4), min_size=1, max_size=4).map(tuple),
    reduction=st.sampled_from(["mean", "sum", "none"]),
    dtype=st.sampled_from([np.float64, np.float32]),
    seed=st.integers(0, 2**16),
)
def test_mse_loss_matches_torch_with_gradients_for_both_inputs(shape, reduction, dtype, seed):
    rng = np.random.default_rng(seed)
    x, y = rng.standard_normal(shape).astype(dtype), rng.standard_normal(shape).astype(dtype)
    compare(
        lambda a, b: F.mse_loss(a, b, reduction=reduction),
        lambda a, b: TF.mse_loss(a, b, reduction=reduction),
        [x, y],
    )


@settings(max_examples=100, deadline=None)
@given(
    shape=st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple),
    reduction=st.sampled_from(["mean", "sum", "none"]),
    dtype=st.sampled_from([np.float64, np.float64, np.float32]),
    seed=st.integers(0, 2**16),
)
def test_l1_loss_matches_torch_with_gradients_for_both_inputs(shape, reduction, dtype, seed):
    rng = np.random.default_rng(seed)
    x, t = rng.standard_normal(shape).astype(dtype), rng.standard_normal(shape).astype(dtype)
    t.flat[0] = x.flat[0]  # |x - t| at its kink: the gradient is 0, as torch's sign
    compare(
        lambda a, b: F.l1_loss(a, b, reduction=reduction),
        lambda a, b: TF.l1_loss(a, b, reduction=reduction),
        [x, t],
    )


@settings(max_examples=150, deadline=None)
@given(
    shape=st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple),
    reduction=st.sampled_from(["mean", "sum", "none"]),
    weighted=st.booleans(),
    pos_weighted=st.booleans(),
    scale=st.sampled_from([1.0, 30.0]),
    dtype=st.sampled_from([np.float64, np.float64, np.float32]),
    seed=st.integers(0, 2**16),
)
def test_bce_with_logits_matches_torch(
    shape, reduction, weighted, pos_weighted, scale, dtype, seed
):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * scale).astype(dtype)
    t = rng.random(shape).astype(dtype)
    t[rng.random(shape) < 0.3] = 1.0
    w = (rng.random(shape[-1:]) + 0.5).astype(dtype) if weighted else None
    pw = (rng.random(shape[-1:]) * 3).astype(dtype) if pos_weighted else None
    compare(
        lambda a, b: F.binary_cross_entropy_with_logits(a, b, w, reduction, pw),
        lambda a, b: TF.binary_cross_entropy_with_logits(
            a, b, None if w is None else torch.tensor(w), reduction=reduction,
            pos_weight=None if pw is None else torch.tensor(pw),
        ),
        [x, t],
    )  # fmt: skip


def test_bce_with_logits_of_1e4_is_finite_and_matches_torch():
    x, t = np.array([1e4, -1e4, 1e4, -1e4, 0.0]), np.array([0.0, 1.0, 1.0, 0.0, 0.5])
    y = compare(
        lambda a, b: F.binary_cross_entropy_with_logits(a, b, reduction="none"),
        lambda a, b: TF.binary_cross_entropy_with_logits(a, b, reduction="none"),
        [x, t],
    )
    np.testing.assert_array_equal(y.data[:4], [1e4, 1e4, 0.0, 0.0])  # 1e4 + log(1 + 0): exact


def test_all_targets_ignored_gives_nan_mean_as_torch():
    x, t = np.zeros((2, 3)), np.array([-100, -100])
    assert np.isnan(F.cross_entropy(x, t).item())
    assert np.isnan(TF.cross_entropy(torch.tensor(x), torch.tensor(t)).item())


def test_logits_of_1e4_give_finite_loss_and_gradient():
    x = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4]])
    t = np.array([1, 2])
    compare(
        lambda a: F.cross_entropy(a, t, label_smoothing=0.1),
        lambda a: TF.cross_entropy(a, torch.tensor(t), label_smoothing=0.1),
        [x],
    )


def test_targets_may_be_a_tensor_of_whole_floats():
    x = cs.tensor(np.random.default_rng(0).standard_normal((3, 4)), requires_grad=True)
    t = cs.tensor(np.array([0, 3, 1]))  # ints become float32 in a Tensor
    assert t.dtype == np.float32
    assert_values_close(
        F.cross_entropy(x, t).item(),
        TF.cross_entropy(torch.tensor(x.data), torch.tensor([0, 3, 1])).item(),
    )


@pytest.mark.parametrize(
    ("fn", "kw"),
    [
        (F.cross_entropy, dict(label_smoothing=0.2, weight=np.array([1.0, 2.0, 0.5]))),
        (F.cross_entropy, dict(reduction="none")),
        (F.nll_loss, dict(reduction="sum")),
    ],
)
def test_classification_gradcheck(fn, kw):
    x = np.random.default_rng(5).standard_normal((4, 3, 2))
    t = np.array([[0, 2], [1, 1], [2, -100], [0, 1]])
    assert cs.gradcheck(lambda a: fn(a, t, **kw), [x])


@pytest.mark.parametrize("fn", [F.mse_loss, F.l1_loss, F.binary_cross_entropy_with_logits])
def test_elementwise_loss_gradcheck(fn):
    rng = np.random.default_rng(6)
    assert cs.gradcheck(fn, [rng.standard_normal((3, 4)), rng.random((3, 4))])


def test_cross_entropy_with_probabilities_gradcheck():
    rng = np.random.default_rng(7)
    q = rng.random((3, 4, 2))
    w = rng.random(4)
    assert cs.gradcheck(lambda a: F.cross_entropy(a, q, w, label_smoothing=0.2), [q * 3 - 1])


X = np.zeros((4, 5))
BAD = [
    (lambda: F.cross_entropy(X, np.array([0, 1, 7, 2])), r"target class 7 at position \(2,\) is out of range for 5 classes; class indices must be in 0\.\.4"),
    (lambda: F.nll_loss(X, np.array([0, -1, 0, 0])), r"nll_loss: target class -1 at position \(1,\) is out of range for 5 classes"),
    (lambda: F.cross_entropy(np.zeros((2, 3, 4)), np.array([[0, 1, 2, 3], [0, 0, 0, 0]])), r"target class 3 at position \(0, 3\) is out of range for 3 classes"),
    (lambda: F.cross_entropy(X, np.array([0, 1, 2])), r"target shape \(3,\) does not match input shape \(4, 5\); expected target \(4,\)"),
    (lambda: F.cross_entropy(X, np.zeros((4, 5), int)), r"target shape \(4, 5\) does not match.*or class probabilities of the input's shape \(4, 5\) with a float dtype"),
    (lambda: F.cross_entropy(X, np.zeros((4, 5)), weight=np.ones(3)), r"weight has shape \(3,\); expected one weight per class, \(5,\)"),
    (lambda: F.cross_entropy(X, np.zeros((4, 5)), reduction="avg"), r"reduction='avg' is not one of"),
    (lambda: F.l1_loss(X, np.zeros((5, 4))), r"l1_loss: target shape \(5, 4\) does not match input shape \(4, 5\)"),
    (lambda: F.binary_cross_entropy_with_logits(X, np.zeros(5)), r"binary_cross_entropy_with_logits: target shape \(5,\) does not match"),
    (lambda: F.binary_cross_entropy_with_logits(X, X, pos_weight=np.ones(4)), r"pos_weight of shape \(4,\) does not broadcast to the input shape \(4, 5\); give e.g. one value per class, shape \(5,\)"),
    (lambda: F.cross_entropy(np.zeros(()), np.array(1)), r"cross_entropy: expected input \(C,\) \(one sample\), \(N, C\) or \(N, C, d1, \.\.\.\), got shape \(\)"),
    (lambda: F.nll_loss(np.zeros(5), np.array([1, 2])), r"nll_loss: one sample \(5,\) takes one class index \(a target of shape \(\)\), got target shape \(2,\)"),
    (lambda: F.cross_entropy(X, np.array([0.5, 1, 2, 3])), r"target must hold class indices \(integers\)"),
    (lambda: F.cross_entropy(X, np.zeros(4, int), weight=np.ones(4)), r"weight has shape \(4,\); expected one weight per class, \(5,\)"),
    (lambda: F.cross_entropy(X, np.zeros(4, int), reduction="avg"), r"reduction='avg' is not one of"),
    (lambda: F.cross_entropy(X, np.zeros(4, int), label_smoothing=1.5), r"label_smoothing=1.5 must be in \[0, 1\]"),
    (lambda: F.mse_loss(X, np.zeros((5, 4))), r"mse_loss: target shape \(5, 4\) does not match input shape \(4, 5\)"),
]  # fmt: skip


@pytest.mark.parametrize(("call", "message"), BAD)
def test_bad_input_is_a_shape_error_with_a_sentence(call, message):
    with pytest.raises(ShapeError, match=message):
        call()
