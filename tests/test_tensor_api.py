"""PyTorch habits a porter brings: in-place updates, max(dim), size(), comparisons, cat/stack,
conversions, and sentences (not NumPy tracebacks) for bad input."""

import numpy as np
import pytest
import torch

import convscope as cs
import convscope.nn as nn
from tolerance import assert_values_close, largest


def _pair(a):
    return cs.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)


def test_hand_written_sgd_updates_parameters_in_place():
    m = nn.Linear(3, 2)
    w0 = m.weight.data.copy()
    m(cs.tensor(np.ones((1, 3)))).sum().backward()
    with cs.no_grad():
        for p in m.parameters():
            p -= 0.1 * p.grad
    np.testing.assert_allclose(m.weight.data, w0 - 0.1 * m.weight.grad, rtol=1e-6)
    assert m.weight.is_leaf and m.weight.requires_grad


def test_in_place_methods_and_item_assignment():
    t = cs.zeros(2, 3)
    t.add_(cs.ones(3), alpha=2).mul_(3).sub_(1).div_(5)
    np.testing.assert_allclose(t.data, np.full((2, 3), 1.0))
    t[:, 0] = 7
    t.copy_(t.data * 2)
    assert t.data[0, 0] == 14 and t.data[1, 2] == 2
    assert t.fill_(0.5).zero_().data.sum() == 0
    with pytest.raises(
        cs.ShapeError,
        match=r"add_: a value of shape \(4,\) cannot update a tensor of shape \(2, 3\)",
    ):
        t.add_(np.ones(4))


def test_in_place_on_a_leaf_that_requires_grad_is_refused():
    w = cs.tensor(np.ones(3), requires_grad=True)
    with pytest.raises(
        cs.AutogradError,
        match=r"\+=: a leaf tensor that requires grad cannot be changed in place.*cs.no_grad",
    ):
        w += 1
    with pytest.raises(cs.AutogradError, match="item assignment: a leaf tensor"):
        w[0] = 2


def test_in_place_on_a_graph_tensor_rebinds_and_keeps_gradients_right():
    (x, tx) = _pair(np.array([1.0, 2.0, 3.0]))
    y, ty = x * 2, tx * 2
    y += x * x
    ty += tx * tx
    y.sum().backward()
    ty.sum().backward()
    np.testing.assert_allclose(x.grad, tx.grad.numpy())


@pytest.mark.parametrize("keep", [False, True])
def test_max_and_min_along_a_dim_return_values_and_indices(keep):
    a = np.array([[0.0, 5.0, 5.0], [3.0, 0.0, 1.0], [2.0, 2.0, -1.0]])
    for name in ("max", "min"):
        x, tx = _pair(a)
        values, indices = getattr(x, name)(1, keep)
        tvalues, tindices = getattr(tx, name)(1, keep)
        np.testing.assert_array_equal(indices.data, tindices.numpy())
        np.testing.assert_allclose(values.data, tvalues.detach().numpy())
        g = np.arange(1.0, values.size(0) * (1 if not keep else 1) + 1).reshape(values.shape)
        values.backward(g)
        tvalues.backward(torch.tensor(g))
        np.testing.assert_allclose(x.grad, tx.grad.numpy())  # the one returned index gets it


def test_full_reductions_argmax_and_gather_match_torch():
    a = np.array([[1.0, 4.0, 4.0], [0.0, -2.0, 3.0]])
    x, tx = _pair(a)
    (x.max() + x.min() * 2 + x.gather(1, np.array([[2, 2], [0, 1]])).sum()).backward()
    (tx.max() + tx.min() * 2 + tx.gather(1, torch.tensor([[2, 2], [0, 1]])).sum()).backward()
    np.testing.assert_allclose(x.grad, tx.grad.numpy())
    assert (
        x.argmax().item() == 1
        and x.argmax(1).tolist() == [1, 2]
        and x.argmin(0).tolist() == [1, 1, 1]
    )
    assert x.argmax(1).dtype == np.int64


def test_var_std_expand_cat_stack_where_match_torch():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, 3)), rng.standard_normal((2, 1))
    (x, tx), (y, ty) = _pair(a), _pair(b)
    ours = (
        x.var(1).sum()
        + x.std().sum()
        + (y.expand(2, 3) * x).sum()
        + (cs.cat([x, y], dim=1) ** 2).sum()
        + cs.stack([x, x * 2], dim=0)[1].sum()
        + cs.where(x.data > 0, x, y).sum()
    )
    theirs = (
        tx.var(1).sum()
        + tx.std().sum()
        + (ty.expand(2, 3) * tx).sum()
        + (torch.cat([tx, ty], dim=1) ** 2).sum()
        + torch.stack([tx, tx * 2], dim=0)[1].sum()
        + torch.where(tx > 0, tx, ty).sum()
    )
    ours.backward()
    theirs.backward()
    scale = largest(a, b, theirs, tx.grad, ty.grad)
    assert_values_close(ours, theirs, scale=scale, err_msg="value")
    assert_values_close(x.grad, tx.grad, scale=scale, err_msg="dx")
    assert_values_close(y.grad, ty.grad, scale=scale, err_msg="dy")


def test_size_comparisons_and_python_numbers():
    x = cs.tensor(np.zeros((4, 3, 2)))
    assert x.size() == (4, 3, 2) and x.size(0) == 4 and x.view(x.size(0), -1).shape == (4, 6)
    logits, labels = cs.tensor([[0.0, 5.0, 1.0], [3.0, 0.0, 1.0]]), np.array([1, 2])
    _, pred = logits.max(1)
    assert (pred == labels).float().mean().item() == 0.5
    assert (logits > 1).dtype == np.bool_
    s = cs.tensor(2.5)
    assert float(s) == 2.5 and int(s) == 2 and bool(s) and f"{s:.2f}" == "2.50"
    assert cs.arange(3).dtype == np.int64 and cs.zeros_like(x).shape == x.shape
    assert x.to(np.float32).dtype == np.float32 and x.to("cpu") is x
    c = x.clone()
    assert c is not x and c.data is not x.data


BAD = [
    (
        lambda: cs.tensor(np.ones((2, 3))) + cs.tensor(np.ones(4)),
        r"add: shapes \(2, 3\) and \(4,\) do not broadcast",
    ),
    (
        lambda: cs.tensor(np.ones((2, 3))) @ cs.tensor(np.ones((4, 2))),
        r"matmul: \(2, 3\) @ \(4, 2\): the inner sizes 3 and 4 differ",
    ),
    (
        lambda: cs.tensor(np.ones(6)).reshape(4, 2),
        r"reshape: cannot view 6 elements of shape \(6,\) as shape \(4, 2\)",
    ),
    (
        lambda: cs.tensor(np.ones((2, 3))).permute(0, 0),
        r"permute: axes \(0, 0\) must be a permutation of 0..1",
    ),
    (
        lambda: cs.tensor(np.ones((2, 3))).transpose(0, 3),
        r"transpose: dim 3 is out of range for a 2-D tensor \(valid: -2..1\)",
    ),
    (
        lambda: cs.tensor(np.ones((2, 3)))[5],
        r"index: index 5 is out of bounds .*tensor shape \(2, 3\)",
    ),
    (lambda: cs.tensor(np.ones((2, 3))).sum(dim=3), r"sum: dim 3 is out of range for a 2-D tensor"),
    (
        lambda: cs.tensor(np.ones((2, 3))).unsqueeze(5),
        r"unsqueeze: dim 5 is out of range for a 3-D tensor",
    ),
    (
        lambda: cs.tensor(np.ones(3)).item(),
        r"item: only a one-element tensor converts to a Python number, got shape \(3,\)",
    ),
    (lambda: cs.tensor(["a"]), r"tensor: data of dtype <U1 \(list\) is not real numbers"),
    (lambda: cs.tensor([[1, 2], [3]]), r"tensor: cannot make an array from list data"),
    (lambda: cs.tensor(None), r"tensor: data of dtype object \(NoneType\) is not real numbers"),
    (lambda: cs.tensor(np.ones(2, complex)), r"tensor: data of dtype complex128"),
    (
        lambda: cs.cat([cs.zeros(2, 3), cs.zeros(3, 2)], dim=0),
        r"cat: tensor 1 has shape \(3, 2\) but tensor 0 has \(2, 3\); every size except dim 0 must agree",
    ),
    (
        lambda: cs.tensor(np.ones(3)) + "abc",
        r"operand: data of dtype <U3 \(str\) is not real numbers",
    ),
]


@pytest.mark.parametrize(("call", "message"), BAD)
def test_bad_input_gets_a_sentence(call, message):
    with pytest.raises(cs.ShapeError, match=message):
        call()


@pytest.mark.parametrize("op", ["conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d"])
def test_conv_without_weight_gets_a_sentence(op):
    import convscope.nn.functional as F

    x = np.zeros((1, 1, 4) if op.endswith("1d") else (1, 1, 4, 4))
    with pytest.raises(cs.ShapeError, match=f"{op}: weight is None; pass the filters"):
        getattr(F, op)(x, None)
