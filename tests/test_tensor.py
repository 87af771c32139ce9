"""Tensor arithmetic and the tape, against PyTorch in float64."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import convscope as cs
from convscope.autograd import GradcheckError
from tolerance import assert_values_close, largest


def _pair(*arrays):
    ours = [cs.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    return ours, theirs


def _close(ours, theirs, *in_play):
    """Values rule (tolerance.py), the floor scaled to theirs and the arrays in play."""
    assert_values_close(ours, theirs, scale=largest(theirs, *in_play))


BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / (b * b + 1),
    "pow": lambda a, b: (a * a + 1) ** 1.5 - b,
    "rsub": lambda a, b: 2.0 - a * b,
    "rdiv": lambda a, b: 1.0 / (a * a + 1) + b,
}


@settings(max_examples=60, deadline=None)
@given(
    shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, max_side=4),
    op=st.sampled_from(sorted(BINARY)),
    seed=st.integers(0, 2**16),
)
def test_broadcast_binary_ops_match_torch(shapes, op, seed):
    rng = np.random.default_rng(seed)
    a, b = (rng.standard_normal(s) for s in shapes.input_shapes)
    (x, y), (tx, ty) = _pair(a, b)
    out, tout = BINARY[op](x, y), BINARY[op](tx, ty)
    _close(out.data, tout, a, b)
    g = rng.standard_normal(out.shape)
    out.backward(g)
    tout.backward(torch.tensor(g))
    _close(x.grad, tx.grad, a, b, g)
    _close(y.grad, ty.grad, a, b, g)
    assert x.grad.shape == a.shape and y.grad.shape == b.shape


@pytest.mark.parametrize(
    ("sa", "sb"),
    [((3,), (3,)), ((3,), (3, 4)), ((2, 3), (3,)), ((5, 2, 3), (3, 4)), ((2, 1, 2, 3), (4, 3, 2))],
)
def test_matmul_shapes_match_torch(sa, sb):
    rng = np.random.default_rng(1)
    (x, y), (tx, ty) = _pair(rng.standard_normal(sa), rng.standard_normal(sb))
    out, tout = x @ y, tx @ ty
    _close(out.data, tout, x, y)
    (out * out).sum().backward()
    (tout * tout).sum().backward()
    _close(x.grad, tx.grad, x, y, tout)
    _close(y.grad, ty.grad, x, y, tout)


@pytest.mark.parametrize("dim", [None, 0, 1, (0, 2), -1])
@pytest.mark.parametrize("keep", [False, True])
def test_reductions_match_torch(dim, keep):
    rng = np.random.default_rng(2)
    a = rng.standard_normal((3, 4, 5))
    a[0, 0, :2] = 7.0  # a tie for max
    (x,), (tx,) = _pair(a)
    tdim = dim if dim is not None else tuple(range(3))
    for ours, theirs in [
        (x.sum(dim, keep), tx.sum(tdim, keep)),
        (x.mean(dim, keep), tx.mean(tdim, keep)),
        (x.amax(dim, keep), tx.amax(tdim, keep)),
        (x.amin(dim, keep), tx.amin(tdim, keep)),
    ]:
        _close(ours.data, theirs, a)
        g = rng.standard_normal(ours.shape)
        x.grad, tx.grad = None, None
        ours.backward(g)
        theirs.backward(torch.tensor(g))
        _close(x.grad, tx.grad, g)


def test_unary_shape_and_index_ops_match_torch():
    rng = np.random.default_rng(3)
    a = rng.uniform(0.5, 2.0, (2, 3, 4))
    (x,), (tx,) = _pair(a)
    ours = (
        x.exp().sum()
        + x.log().mean()
        + x.sqrt().sum()
        + (-x).abs().sum()
        + x.clamp(0.8, 1.5).sum()
        + x.reshape(6, 4).T.sum(axis=0).max()
        + x.transpose(0, 2).permute(1, 0, 2)[1:, :, [0, 0, 1]].sum()
        + x[0, 1].sum()
        + x.flatten(1).unsqueeze(0).squeeze(0)[:, 3].sum()
    )
    theirs = (
        tx.exp().sum()
        + tx.log().mean()
        + tx.sqrt().sum()
        + (-tx).abs().sum()
        + tx.clamp(0.8, 1.5).sum()
        + tx.reshape(6, 4).T.sum(0).max()
        + tx.transpose(0, 2).permute(1, 0, 2)[1:, :, [0, 0, 1]].sum()
        + tx[0, 1].sum()
        + tx.flatten(1).unsqueeze(0).squeeze(0)[:, 3].sum()
    )
    _close(ours.data, theirs, a)
    ours.backward()
    theirs.backward()
    _close(x.grad, tx.grad, a)


@pytest.mark.filterwarnings("error")  # NumPy's divide/invalid warnings fail the test
@pytest.mark.parametrize(
    "op",
    [
        lambda t: t.log(),
        lambda t: t.sqrt(),
        lambda t: 1.0 / t,
        lambda t: t**-1.0,
        lambda t: t**0.5,
    ],
    ids=["log", "sqrt", "reciprocal", "pow-1", "pow0.5"],
)
def test_zero_and_negative_inputs_give_torch_inf_and_nan_without_warnings(op):
    a = np.array([0.0, -1.0, 4.0, np.inf, np.nan])  # (-0.0 ** -0.5: torch -inf via rsqrt)
    (x,), (tx,) = _pair(a)
    y, ty = op(x), op(tx)
    y.sum().backward()
    ty.sum().backward()
    np.testing.assert_allclose(y.data, ty.detach().numpy(), rtol=1e-15, equal_nan=True)
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-15, equal_nan=True)


def test_node_used_twice_accumulates():
    x = cs.tensor(3.0, requires_grad=True)
    y = x * x + x  # x feeds three edges
    y.backward()
    assert x.grad == pytest.approx(7.0)
    y2 = x * 2
    y2.backward()
    assert x.grad == pytest.approx(9.0)  # leaf grads accumulate across backward calls


def test_leaf_grads_are_their_own_arrays():
    """A leaf keeps an unshared gradient without a copy (as PyTorch's AccumulateGrad), and a
    copy of any gradient something else still holds: the caller's dy, another leaf's, a view."""
    dy = np.arange(6.0).reshape(2, 3)
    a, b = (
        cs.tensor(np.ones((2, 3)), requires_grad=True),
        cs.tensor(np.ones((2, 3)), requires_grad=True),
    )
    (a + b).backward(dy)  # add hands the same dy to both inputs
    for t in (a, b):
        np.testing.assert_array_equal(t.grad, dy)
        assert not np.shares_memory(t.grad, dy)
    assert not np.shares_memory(a.grad, b.grad)
    a.grad += 1  # the user's own array now: dy and b.grad stay as they were
    np.testing.assert_array_equal(dy, np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(b.grad, dy)
    x = cs.tensor(np.ones((2, 3)), requires_grad=True)
    x.reshape(6).backward(dy.reshape(6))  # a view of the caller's dy flows back
    assert not np.shares_memory(x.grad, dy)
    leaf = cs.tensor(np.ones(3), requires_grad=True)
    leaf.backward(dy[0])  # the root itself a leaf: never the caller's array
    assert not np.shares_memory(leaf.grad, dy)
    w = cs.tensor(np.full(3, 2.0), requires_grad=True)
    h = (w * 3).retain_grad()
    (h * h).sum().backward()  # a retained non-leaf's gradient flows on: copied
    np.testing.assert_allclose(h.grad, 2 * h.data)
    np.testing.assert_allclose(w.grad, 18 * w.data)


def test_an_unshared_leaf_gradient_is_taken_without_a_copy():
    from convscope.autograd import tape

    leaf, node = (
        cs.tensor(np.ones(3), requires_grad=True),
        cs.tensor(np.ones(3), requires_grad=True) * 2,
    )
    g = np.ones(3)  # held by this frame only, as by run's loop variable
    assert tape._kept(leaf, g) is g
    assert tape._kept(node, g) is not g  # a non-leaf's gradient still flows on
    held = [g]
    assert tape._kept(leaf, g) is not g and held
    assert tape._kept(leaf, g[1:]).base is None  # a view is copied
    g.flags.writeable = False
    assert tape._kept(leaf, g) is not g
    whole = np.ones(6).reshape(2, 3)  # a view of all of an array nothing else holds
    assert tape._kept(leaf, whole) is whole
    base = np.ones(6)
    held_base = base.reshape(2, 3)  # its base is still held (by ``base``)
    assert tape._kept(leaf, held_base) is not held_base
    assert tape._kept(leaf, np.ones((3, 2)).T).flags.owndata  # not C-contiguous: copied


def test_a_one_input_op_hands_its_fresh_gradient_to_the_leaf_uncopied():
    """Through backward itself: the array a one-input op's backward returns becomes the leaf's
    .grad (no loop variable of the walk may still hold it when the leaf takes it)."""
    import weakref

    from convscope.autograd.function import apply

    made = []

    def backward(dy, cache):
        g = dy * 2.0
        made.append(weakref.ref(g))
        return (g,)

    x = cs.tensor(np.ones((3, 4)), requires_grad=True)
    apply(lambda a: (a * 2.0, None), backward, (x,)).backward(np.ones((3, 4)))
    assert x.grad is made[0]()
    np.testing.assert_array_equal(x.grad, np.full((3, 4), 2.0))

    def reshaped(dy, cache):  # a fresh array returned as a view of its whole
        g = (dy * 3.0).reshape(-1).reshape(dy.shape)
        made.append(weakref.ref(g))
        return (g,)

    x = cs.tensor(np.ones((3, 4)), requires_grad=True)
    apply(lambda a: (a * 3.0, None), reshaped, (x,)).backward(np.ones((3, 4)))
    assert x.grad is made[1]()


def test_diamond_graph_order():
    """b feeds both c and d; d also feeds c: every consumer must finish before b is processed."""
    (x,), (tx,) = _pair(np.array([1.5, -0.5]))
    b, tb = x * 3, tx * 3
    d, td = b.exp(), tb.exp()
    c, tc = (d * b + b).sum(), (td * tb + tb).sum()
    c.backward()
    tc.backward()
    _close(x.grad, tx.grad)


def test_thousand_layer_chain_has_no_recursion_limit():
    x = cs.tensor(np.ones(4), requires_grad=True)
    y = x
    for _ in range(5000):
        y = y * 1.0001 + 0.0
    y.sum().backward()
    np.testing.assert_allclose(x.grad, 1.0001**5000)


def test_no_grad_and_detach_record_nothing():
    x = cs.tensor([1.0, 2.0], requires_grad=True)
    with cs.no_grad():
        y = x * 2
    assert not y.requires_grad and y.grad_fn is None
    z = (x * 2).detach()
    assert not z.requires_grad and z.is_leaf


def test_dtypes_are_preserved_and_ints_promoted():
    assert cs.tensor(np.arange(4, dtype=np.uint8)).dtype == np.float32
    assert cs.tensor([1.0, 2.0]).dtype == np.float32
    x32 = cs.tensor(np.ones(3, np.float32), requires_grad=True)
    y = (x32 * 2.5 + 1) / 3
    assert y.dtype == np.float32
    y.sum().backward()
    assert x32.grad.dtype == np.float32
    x64 = cs.tensor(np.ones(3), requires_grad=True)
    assert (x64 * 2).dtype == np.float64


def test_retain_grad_keeps_intermediate_grads():
    x = cs.tensor([1.0, 2.0], requires_grad=True)
    h = (x * 3).retain_grad()
    (h * h).sum().backward()
    np.testing.assert_allclose(h.grad, [6.0, 12.0])


def test_backward_errors_are_sentences():
    with pytest.raises(
        cs.ShapeError, match=r"grad can be omitted only for a one-element output, got shape \(2,\)"
    ):
        (cs.tensor([1.0, 2.0], requires_grad=True) * 2).backward()
    with pytest.raises(
        cs.ShapeError, match=r"grad has shape \(3,\) but the tensor has shape \(2,\)"
    ):
        (cs.tensor([1.0, 2.0], requires_grad=True) * 2).backward(np.ones(3))
    with pytest.raises(cs.AutogradError, match="does not require grad"):
        cs.tensor([1.0]).backward()
    x = cs.tensor([1.0], requires_grad=True)
    y = (x * 2).sum()
    y.backward()
    with pytest.raises(cs.AutogradError, match="retain_graph=True"):
        y.backward()
    y2 = (x * 2).sum()
    y2.backward(retain_graph=True)
    y2.backward()
    np.testing.assert_allclose(x.grad, [6.0])


def test_gradcheck_passes_and_names_the_worst_element():
    rng = np.random.default_rng(4)
    assert cs.gradcheck(
        lambda a, b: (a @ b).exp() / (1 + a.sum()),
        [rng.uniform(0, 1, (2, 3)), rng.standard_normal((3, 2))],
    )

    def wrong(a):  # forward a**2, backward deliberately off through a detached term
        return a * a.detach() + cs.tensor(np.zeros(a.shape))

    with pytest.raises(
        GradcheckError,
        match=r"gradcheck: input 0 \(shape \(2, 2\)\) element \(\d, \d\): backward gives",
    ):
        cs.gradcheck(wrong, [np.array([[1.0, 2.0], [3.0, 4.0]])])


def test_output_size_formula_and_errors():
    assert cs.output_size(28, kernel_size=5, stride=1, padding=2) == 28
    assert cs.output_size(7, kernel_size=3, stride=2, dilation=2) == 2
    with pytest.raises(
        cs.ShapeError, match=r"kernel 5 is larger than the padded input 4 .*input 2, padding=1"
    ):
        cs.output_size(2, kernel_size=5, padding=1)
    with pytest.raises(cs.ShapeError, match="stride must be an integer >= 1, got 0"):
        cs.output_size(8, kernel_size=3, stride=0)
    with pytest.raises(cs.ShapeError, match="padding must be an integer >= 0, got -1"):
        cs.output_size(8, kernel_size=3, padding=-1)
