"""The tape checks what it is given: every gradient's shape (and dtype) against its input, and
that no tensor an op saved for backward was changed in place since, as PyTorch does."""

import numpy as np
import pytest
import torch

import convscope as cs
import convscope.nn as nn
import convscope.nn.functional as F
from convscope import AutogradError, ConvscopeError, ShapeError
from convscope.autograd import apply


def _op(backward):
    """y = 2x with the given backward(dy, cache) -> grads (a deliberately broken op)."""

    def doubled_forward(x):
        return 2 * x, None

    return lambda x: apply(doubled_forward, backward, (x,))


def test_a_gradient_of_the_wrong_shape_names_the_op_and_both_shapes():
    x = cs.tensor(np.ones((3, 2)), requires_grad=True)
    y = _op(lambda dy, cache: (2 * dy[:1],))(x)
    with pytest.raises(
        ShapeError,
        match=r"doubled's backward returned a gradient of shape \(1, 2\) for its input 0 of"
        r" shape \(3, 2\); a gradient has its input's shape",
    ):
        y.sum().backward()
    assert x.grad is None


def test_a_wrong_number_of_gradients_or_a_non_float_gradient_is_an_autograd_error():
    x = cs.tensor(np.ones(3), requires_grad=True)
    with pytest.raises(
        AutogradError, match=r"doubled's backward returned 2 gradient\(s\) for its 1"
    ):
        _op(lambda dy, cache: (dy, dy))(x).sum().backward()
    with pytest.raises(
        AutogradError, match=r"returned a int64 gradient for its input 0, a float64"
    ):
        _op(lambda dy, cache: (np.ones(3, dtype=np.int64),))(x).sum().backward()


def test_a_promoted_gradient_comes_back_in_its_inputs_dtype_as_in_torch():
    a = cs.tensor(np.ones((2, 3), np.float32), requires_grad=True)
    b = cs.tensor(np.full((2, 3), 0.5), requires_grad=True)
    (a * b).sum().backward()  # float64 product: the float32 input still gets a float32 gradient
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float64
    ta, tb = torch.ones((2, 3), requires_grad=True), torch.full((2, 3), 0.5, dtype=torch.float64)
    tb.requires_grad_()
    (ta * tb).sum().backward()
    assert ta.grad.dtype == torch.float32 and tb.grad.dtype == torch.float64


def test_a_grad_of_the_wrong_shape_set_by_hand_is_refused_before_accumulating():
    x = cs.tensor(np.ones(3), requires_grad=True)
    x.grad = np.zeros(1)
    with pytest.raises(ShapeError, match=r"\.grad of a tensor of shape \(3,\) holds an array of shape \(1,\)"):  # fmt: skip
        (x * 2).sum().backward()


def test_backward_twice_through_a_freed_graph_is_an_autograd_error_and_a_runtime_error():
    x = cs.tensor(np.ones(2), requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(AutogradError, match=r"graph through sum was already used and freed"):
        y.backward()
    error = AutogradError("x")  # one family: ConvscopeError (a ValueError), and PyTorch's class
    assert isinstance(error, ConvscopeError | ValueError) and isinstance(error, RuntimeError)
    assert not isinstance(error, ShapeError)


def test_backward_of_a_tensor_that_needs_no_grad_is_an_autograd_error():
    with pytest.raises(AutogradError, match="does not require grad"):
        cs.tensor([1.0]).backward()


def _both(program):
    """Run program(lib, make) in convscope and torch; the exception each raised (or None)."""
    raised = []
    for lib, make in [(cs, cs.tensor), (torch, lambda a, **kw: torch.tensor(a, **kw))]:
        try:
            program(lib, make)
            raised.append(None)
        except (RuntimeError, ValueError) as exc:
            raised.append(exc)
    return raised


def test_changing_a_saved_input_in_place_fails_in_backward_as_in_torch():
    def program(lib, make):
        w = make(np.ones(3), requires_grad=True)
        x = make(np.arange(3.0))
        y = (w * x).sum()  # mul saves x for dL/dw
        x += 1  # a plain tensor: changed in place
        y.backward()

    ours, theirs = _both(program)
    assert "modified by an inplace operation" in str(theirs)
    assert isinstance(ours, AutogradError)
    assert "its input 1 (shape (3,)), saved by mul for its backward, was changed in place" in str(
        ours
    )
    assert "version 0 -> 1" in str(ours)


def test_changing_an_input_no_op_saved_is_fine_as_in_torch():
    def program(lib, make):
        w = make(np.ones(3), requires_grad=True)
        x = make(np.arange(3.0))
        y = (w + x).sum()  # add saves neither operand
        x.mul_(5)
        y.backward()
        assert w.grad.tolist() == [1.0, 1.0, 1.0]

    assert _both(program) == [None, None]


def test_changing_a_saved_output_under_no_grad_fails_in_backward_as_in_torch():
    def program(lib, make):
        x = make(np.array([0.5, -1.0]), requires_grad=True)
        y = x.sigmoid()  # sigmoid's backward uses its output
        with lib.no_grad():
            y.mul_(2)
        y.sum().backward()

    ours, theirs = _both(program)
    assert "modified by an inplace operation" in str(theirs)
    assert isinstance(ours, AutogradError) and "its output (shape (2,)), saved by sigmoid" in str(
        ours
    )


def test_an_optimizer_like_update_between_forward_and_backward_is_caught_as_in_torch():
    def program(lib, make, change_weight):
        conv = lib.nn.Conv2d(1, 2, 3)
        loss = conv(make(np.ones((1, 1, 5, 5), np.float32))).sum()
        with lib.no_grad():
            conv.bias.add_(1.0)  # not saved: harmless
            if change_weight:
                conv.weight.sub_(0.1)  # saved by conv2d (for dL/dx, as torch keeps it too)
        loss.backward()

    assert _both(lambda lib, make: program(lib, make, False)) == [None, None]
    ours, theirs = _both(lambda lib, make: program(lib, make, True))
    assert "modified by an inplace operation" in str(theirs)
    assert isinstance(ours, AutogradError)
    assert "its input 1 (shape (2, 1, 3, 3)), saved by conv2d" in str(ours)


def test_item_assignment_and_a_detached_view_count_as_changes():
    w = cs.tensor(np.ones(2), requires_grad=True)
    x = cs.tensor(np.array([1.0, 2.0]))
    y = (w * x).sum()
    x[0] = 9.0
    with pytest.raises(AutogradError, match="changed in place"):
        y.backward()
    x = cs.tensor(np.array([1.0, 2.0]))
    y = (w * x).sum()
    x.detach().zero_()  # detach shares the data, and its change count
    with pytest.raises(AutogradError, match="version 0 -> 1"):
        y.backward()


@pytest.mark.parametrize(
    "view",
    [lambda t: t.reshape(2, 2), lambda t: t[1:3], lambda t: t.reshape(2, 2).T, lambda t: t[None]],
    ids=["reshape", "slice", "transpose", "new axis"],
)
def test_changing_a_view_of_a_saved_tensor_fails_in_backward_as_in_torch(view):
    """A view shares its base's memory and, as in PyTorch, its count of in-place changes:
    without it the gradient would silently use the changed values."""
    x = cs.tensor(np.arange(4.0), requires_grad=True)
    w = cs.tensor(np.arange(4.0))
    y = (x * w).sum()  # mul saved w
    view(w).add_(1.0)
    with pytest.raises(AutogradError, match="saved by mul"):
        y.backward()
    tx, tw = torch.arange(4.0, requires_grad=True), torch.arange(4.0)
    ty = (tx * tw).sum()
    view(tw).add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        ty.backward()


def test_changing_a_saved_tensor_under_no_grad_through_its_view_fails_too():
    x = cs.tensor(np.arange(4.0), requires_grad=True)
    a = x * 1.0
    y = (a * a).sum()  # mul saved a
    v = a[0:2]
    with cs.no_grad():
        v.add_(10.0)
    with pytest.raises(AutogradError, match="changed in place"):
        y.backward()
    unrelated = cs.tensor(np.arange(4.0), requires_grad=True)
    z = (unrelated * 2.0).sum()  # saved nothing that a view of `a` reaches
    z.backward()
    np.testing.assert_array_equal(unrelated.grad, np.full(4, 2.0))


def test_in_place_methods_on_a_recorded_tensor_are_refused_while_grad_is_on():
    """The tape records ops out of place: y.mul_(3) would be left out of the gradient (PyTorch
    records it). y *= 3 rebinds y to a new tensor and gives the right gradient."""
    x = cs.tensor(np.ones(2), requires_grad=True)
    y = x * 2
    for change in (lambda: y.mul_(3), lambda: y.zero_(), lambda: y.__setitem__(0, 1.0)):
        with pytest.raises(AutogradError, match=r"is the output of mul in a recorded graph"):
            change()
    y *= 3
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [6.0, 6.0])  # exact: 2 * 3


def test_a_leaf_that_requires_grad_changed_in_place_is_an_autograd_error():
    w = cs.tensor(np.ones(3), requires_grad=True)
    with pytest.raises(AutogradError, match=r"add_: a leaf tensor that requires grad"):
        w.add_(1)
    with cs.no_grad():
        w.add_(1)  # an optimizer step
    assert w._version == 1


def test_the_checks_leave_a_training_step_unchanged():
    """Everything the tape checks holds in a real step: LeNet-style layers train as before."""
    net = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                        nn.Linear(4 * 4 * 4, 3))  # fmt: skip
    opt = cs.optim.SGD(net.parameters(), lr=0.1)
    x, y = np.random.default_rng(1).standard_normal((5, 1, 8, 8)), np.arange(5) % 3
    losses = []
    for _ in range(3):
        opt.zero_grad()
        loss = F.cross_entropy(net(x.astype(np.float32)), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
