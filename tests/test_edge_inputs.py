"""Inputs at the edges that PyTorch takes, against PyTorch: empty tensors (a zero-size batch,
channel or spatial axis) through every op, forward and backward; one sample without a batch
axis; one-element tuples for 2-D hyper-parameters; flatten of a 0-d tensor; cropping pads in
every mode; any real eps and momentum; softmax's dtype; class-probability targets and one
sample in the losses; and the sentence of every error these paths add."""

import warnings

import numpy as np
import pytest
import torch
import torch.nn as tnn
import torch.nn.functional as TF
from hypothesis import given, settings
from hypothesis import strategies as st

import convscope as cs
import convscope.nn as nn
import convscope.nn.functional as F
from convscope.errors import ConvscopeError, ShapeError
from jit_paths import jit_path  # noqa: F401  (runs this module on the NumPy and compiled paths)
from tolerance import assert_sums_close, assert_values_close, largest


def _bn_eval(f, x, w, b, m, v):
    """eval-mode batch_norm with running statistics m and 1 + v^2 (never negative)."""
    raw = (lambda t: t.detach()) if f is TF else (lambda t: t.data)
    return f.batch_norm(x, raw(m), raw(v) * raw(v) + 1, w, b, training=False)


def _flatten(f, x):
    return F.flatten(x, 1) if f is F else torch.flatten(x, 1)


# name, fn(F or TF, x, *params), x shape (batch, channel, ...), params' shapes given C
EMPTY_CASES = [
    ("conv1d", lambda f, x, w, b: f.conv1d(x, w, b, padding=1), (2, 3, 5), lambda c: [(4, c, 3), (4,)]),
    ("conv2d", lambda f, x, w, b: f.conv2d(x, w, b, stride=2, padding=1), (2, 3, 5, 5), lambda c: [(4, c, 3, 3), (4,)]),
    ("conv_transpose1d", lambda f, x, w, b: f.conv_transpose1d(x, w, b, stride=2), (2, 3, 5), lambda c: [(c, 4, 3), (4,)]),
    ("conv_transpose2d", lambda f, x, w, b: f.conv_transpose2d(x, w, b, 2, 1), (2, 3, 5, 5), lambda c: [(c, 4, 3, 3), (4,)]),
    ("max_pool1d", lambda f, x: f.max_pool1d(x, 2), (2, 3, 5), lambda c: []),
    ("max_pool2d", lambda f, x: f.max_pool2d(x, 3, 2, 1), (2, 3, 5, 5), lambda c: []),
    ("avg_pool1d", lambda f, x: f.avg_pool1d(x, 2), (2, 3, 5), lambda c: []),
    ("avg_pool2d", lambda f, x: f.avg_pool2d(x, 3, 2, 1), (2, 3, 5, 5), lambda c: []),
    ("adaptive_avg_pool1d", lambda f, x: f.adaptive_avg_pool1d(x, 3), (2, 3, 5), lambda c: []),
    ("adaptive_avg_pool2d", lambda f, x: f.adaptive_avg_pool2d(x, 3), (2, 3, 5, 5), lambda c: []),
    ("adaptive_max_pool1d", lambda f, x: f.adaptive_max_pool1d(x, 3), (2, 3, 5), lambda c: []),
    ("adaptive_max_pool2d", lambda f, x: f.adaptive_max_pool2d(x, 3), (2, 3, 5, 5), lambda c: []),
    ("interpolate", lambda f, x: f.interpolate(x, scale_factor=2), (2, 3, 5, 5), lambda c: []),
    ("pad_constant", lambda f, x: f.pad(x, (1, 2, -1, 1)), (2, 3, 5, 5), lambda c: []),
    ("pad_reflect", lambda f, x: f.pad(x, (1, 2, -1, 1), mode="reflect"), (2, 3, 5, 5), lambda c: []),
    ("pad_replicate", lambda f, x: f.pad(x, (1, 2, -1, 1), mode="replicate"), (2, 3, 5, 5), lambda c: []),
    ("pad_circular", lambda f, x: f.pad(x, (1, 2, 0, 1), mode="circular"), (2, 3, 5, 5), lambda c: []),
    ("linear", lambda f, x, w, b: f.linear(x, w, b), (2, 3), lambda c: [(4, c), (4,)]),
    ("flatten", _flatten, (2, 3, 5), lambda c: []),
    ("relu", lambda f, x: f.relu(x), (2, 3, 5), lambda c: []),
    ("gelu", lambda f, x: f.gelu(x), (2, 3, 5), lambda c: []),
    ("softmax", lambda f, x: f.softmax(x, dim=1), (2, 3, 5), lambda c: []),
    ("log_softmax", lambda f, x: f.log_softmax(x, dim=-1), (2, 3, 5), lambda c: []),
    ("batch_norm_train", lambda f, x, w, b: f.batch_norm(x, None, None, w, b, training=True), (2, 3, 5), lambda c: [(c,), (c,)]),
    ("batch_norm_eval", _bn_eval, (2, 3, 5), lambda c: [(c,)] * 4),
    ("layer_norm", lambda f, x, w, b: f.layer_norm(x, x.shape[1:], w, b), (2, 3, 5), None),
    ("group_norm", lambda f, x, w, b: f.group_norm(x, 3 if x.shape[1] else 2, w, b), (2, 3, 5), lambda c: [(c,), (c,)]),
    ("dropout_eval", lambda f, x: f.dropout(x, training=False), (2, 3, 5), lambda c: []),
    ("mse_loss", lambda f, x, t: f.mse_loss(x, t), (2, 3, 5), lambda c: [(2, c, 5)]),
    ("l1_loss", lambda f, x, t: f.l1_loss(x, t, reduction="sum"), (2, 3, 5), lambda c: [(2, c, 5)]),
    ("bce_with_logits", lambda f, x, t: f.binary_cross_entropy_with_logits(x, t), (2, 3, 5), lambda c: [(2, c, 5)]),
    ("cross_entropy_probs", lambda f, x, t: f.cross_entropy(x, t), (2, 3, 5), lambda c: [(2, c, 5)]),
    ("cross_entropy", lambda f, x: f.cross_entropy(x, torch.zeros((x.shape[0], 5), dtype=torch.long) if f is TF else np.zeros((x.shape[0], 5), int)), (2, 3, 5), lambda c: []),
    ("nll_loss_sum", lambda f, x: f.nll_loss(x, torch.zeros(x.shape[0], dtype=torch.long) if f is TF else np.zeros(x.shape[0], int), reduction="sum"), (2, 3), lambda c: []),
]  # fmt: skip
AXES = {"batch": 0, "channel": 1, "spatial": -1}

# Where convscope's answer to an empty input differs from PyTorch's, and why.
EMPTY_DEVIATIONS = {
    ("conv1d", "channel"): "zero input channels: PyTorch returns 0 output channels, convscope the"
    " 4 filters' biases (a sum over no channels is 0)",
    ("conv2d", "channel"): "zero input channels: PyTorch returns 0 output channels, convscope the"
    " 4 filters' biases (a sum over no channels is 0)",
    ("batch_norm_train", "channel"): "zero channels: PyTorch fails inside (select(): index 0 out"
    " of range), convscope returns the empty result",
    ("batch_norm_eval", "channel"): "zero channels: PyTorch fails inside (select(): index 0 out"
    " of range), convscope returns the empty result",
    ("group_norm", "spatial"): "empty groups: PyTorch's weight gradient is nan (0/0 in its"
    " kernel), convscope's 0 (a sum over no elements)",
    ("cross_entropy_probs", "channel"): "zero classes: PyTorch returns nan, convscope 0 (a sum"
    " over no classes)",
}


def _run(fn, lib, arrays):
    tensors = [
        torch.tensor(a, requires_grad=True) if lib is TF else cs.tensor(a, requires_grad=True)
        for a in arrays
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyTorch's warnings about empty inputs
        try:
            return tensors, fn(lib, *tensors), None
        except ConvscopeError as exc:
            return tensors, None, exc
        except Exception as exc:
            if lib is F:
                raise
            return tensors, None, exc


@pytest.mark.parametrize(
    ("case", "axis"),
    [(c, a) for c in EMPTY_CASES for a in AXES if len(c[2]) > 2 or a != "spatial"],
    ids=lambda v: v if isinstance(v, str) else v[0],
)
def test_an_empty_axis_gives_pytorchs_result_or_its_refusal(case, axis):
    name, fn, shape, params = case
    shape = list(shape)
    shape[AXES[axis]] = 0
    rng = np.random.default_rng(0)
    sizes = [shape[1:], shape[1:]] if params is None else params(shape[1])
    arrays = [rng.standard_normal(shape)] + [rng.standard_normal(s) for s in sizes]
    theirs, yt, refused = _run(fn, TF, arrays)
    ours, yc, ours_refused = _run(fn, F, arrays)
    if (name, axis) in EMPTY_DEVIATIONS:
        assert yc is not None, EMPTY_DEVIATIONS[name, axis]
        return
    if refused is not None or ours_refused is not None:
        assert refused is not None, f"convscope refuses what PyTorch takes: {ours_refused}"
        assert ours_refused is not None, f"PyTorch refuses ({refused}), convscope accepts"
        return
    assert_values_close(yc, yt, err_msg="output")  # nan for a mean over nothing, as PyTorch
    dy = rng.standard_normal(tuple(yt.shape))
    try:
        grads = torch.autograd.grad(yt, theirs, torch.tensor(dy), allow_unused=True)
    except RuntimeError:  # PyTorch's adaptive_avg_pool backward refuses zero channels
        grads = [torch.zeros_like(t) for t in theirs]
    yc.backward(dy)
    for i, (t, g) in enumerate(zip(ours, grads, strict=True)):
        expected = np.zeros(t.shape) if g is None else g.numpy()
        actual = np.zeros(t.shape) if t.grad is None else t.grad
        assert_values_close(actual, expected, scale=largest(dy, expected), err_msg=f"grad {i}")


def test_the_issue_examples_give_pytorchs_empty_results():
    assert F.softmax(cs.tensor(np.zeros((3, 0))), dim=1).shape == (3, 0)
    assert F.log_softmax(cs.tensor(np.zeros((5, 0, 0))), dim=-1).shape == (5, 0, 0)
    x = cs.tensor(np.zeros((0, 4, 3)), requires_grad=True)
    w = cs.tensor(np.ones(4), requires_grad=True)
    y = F.group_norm(x, 2, w)
    y.sum().backward()
    assert y.shape == (0, 4, 3) and x.grad.shape == (0, 4, 3)
    np.testing.assert_array_equal(w.grad, np.zeros(4))
    assert np.isnan(F.cross_entropy(np.zeros((0, 3)), np.zeros(0, int)).item())  # 0 / 0
    assert F.mse_loss(np.zeros((0, 2)), np.zeros((0, 2)), reduction="sum").item() == 0.0
    m, v = np.ones(4), np.full(4, 2.0)
    F.batch_norm(np.zeros((0, 4, 3)), m, v, training=True)  # nothing to learn from
    np.testing.assert_array_equal(m, 1.0)
    np.testing.assert_array_equal(v, 2.0)


# ---- one sample (C, *spatial) -----------------------------------------------------------------

UNBATCHED = [
    ("conv1d", lambda f, x, w, b: f.conv1d(x, w, b, stride=2, padding="valid"), (3, 7), [(4, 3, 3), (4,)]),
    ("conv2d", lambda f, x, w, b: f.conv2d(x, w, b, padding=(1,), groups=3), (3, 6, 5), [(6, 1, 3, 3), (6,)]),
    ("conv_transpose1d", lambda f, x, w, b: f.conv_transpose1d(x, w, b, 2, 1, 1), (3, 5), [(3, 2, 3), (2,)]),
    ("conv_transpose2d", lambda f, x, w, b: f.conv_transpose2d(x, w, b, 2, dilation=2), (3, 4, 5), [(3, 2, 3, 3), (2,)]),
    ("max_pool1d", lambda f, x: f.max_pool1d(x, 3, 2, 1, ceil_mode=True), (3, 7), []),
    ("max_pool2d", lambda f, x: f.max_pool2d(x, (3,), 2, (1,), dilation=(1, 2)), (3, 7, 6), []),
    ("avg_pool1d", lambda f, x: f.avg_pool1d(x, 3, 2, 1, count_include_pad=False), (3, 7), []),
    ("avg_pool2d", lambda f, x: f.avg_pool2d(x, (4, 4), (2, 2), (2,)), (3, 7, 6), []),
    ("adaptive_avg_pool2d", lambda f, x: f.adaptive_avg_pool2d(x, (4, 3)), (3, 7, 6), []),
    ("adaptive_max_pool1d", lambda f, x: f.adaptive_max_pool1d(x, 4), (3, 7), []),
]  # fmt: skip


@settings(max_examples=20, deadline=None)
@given(case=st.sampled_from(UNBATCHED), seed=st.integers(0, 2**16))
def test_one_sample_without_a_batch_axis_is_a_batch_of_one_as_in_pytorch(case, seed):
    _, fn, shape, params = case
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(shape)] + [rng.standard_normal(s) for s in params]
    theirs, yt, _ = _run(fn, TF, arrays)
    ours, yc, _ = _run(fn, F, arrays)
    _, batched, _ = _run(fn, F, [arrays[0][None], *arrays[1:]])
    magnitude = fn(TF, *(torch.tensor(np.abs(a)) for a in arrays)).abs().detach().numpy()
    n = max(a.size for a in arrays)
    assert_sums_close(yc, yt, magnitude, n, err_msg="one sample vs PyTorch")
    assert_sums_close(yc, batched.data[0], magnitude, n, err_msg="one sample vs a batch of one")
    dy = rng.standard_normal(tuple(yt.shape))
    grads = torch.autograd.grad(yt, theirs, torch.tensor(dy))
    yc.backward(dy)
    for i, (t, g) in enumerate(zip(ours, grads, strict=True)):
        assert_sums_close(t.grad, g, np.abs(g.numpy()) + largest(dy) * largest(*arrays), n,
                          err_msg=f"grad {i}")  # fmt: skip


def test_layers_take_one_sample_as_pytorchs():
    rng = np.random.default_rng(3)
    layers = [
        (lambda lib: lib.Conv2d(3, 4, 3, padding=1, padding_mode="reflect"), (3, 6, 6)),
        (lambda lib: lib.Conv1d(3, 4, (3,), padding=(1,)), (3, 8)),
        (lambda lib: lib.ConvTranspose2d(3, 2, 3, stride=2), (3, 4, 4)),
        (lambda lib: lib.MaxPool2d((2,), dilation=(2,)), (3, 6, 6)),
        (lambda lib: lib.AvgPool1d(3, 2, 1), (3, 8)),
        (lambda lib: lib.AdaptiveAvgPool2d(2), (3, 6, 6)),
    ]
    for make, shape in layers:
        ours, theirs = make(nn), make(tnn)
        ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
        x = rng.standard_normal(shape).astype(np.float32)
        yt = theirs(torch.tensor(x))
        assert_values_close(ours(x), yt, scale=largest(yt) * 10, err_msg=repr(ours))


# ---- hyper-parameters, flatten, pad -----------------------------------------------------------


def test_one_element_tuples_expand_as_in_pytorch():
    x = np.random.default_rng(4).standard_normal((1, 2, 9, 9))
    w = np.random.default_rng(5).standard_normal((3, 2, 3, 3))
    for call in [
        lambda f, a: f.avg_pool2d(a, (4, 4), (2, 2), (2,)),
        lambda f, a: f.max_pool2d(a, 3, 2, (1,)),
        lambda f, a: f.conv2d(a, torch.tensor(w) if f is TF else w, padding=(1,)),
        lambda f, a: f.conv2d(a, torch.tensor(w) if f is TF else w, stride=(2,), dilation=(2,)),
    ]:
        yt = call(TF, torch.tensor(x))
        assert_sums_close(call(F, x), yt, call(TF, torch.tensor(np.abs(x))).abs().numpy() * 9, 18)
    assert nn.Conv2d(2, 3, 3, padding=(1,)).padding == (1, 1)


def test_flatten_of_a_0d_tensor_is_one_element_as_in_pytorch():
    x = cs.tensor(np.array(2.5), requires_grad=True)
    y = F.flatten(x, 0)
    assert y.shape == tuple(torch.flatten(torch.tensor(2.5), 0).shape) == (1,)
    y.backward(np.array([3.0]))
    assert x.grad.shape == () and x.grad == 3.0
    assert F.flatten(np.array(1.0), -1, 0).shape == (1,)
    with pytest.raises(ShapeError, match=r"flatten: start_dim=1 is out of range for a 0-D input;"
                       r" use -1 <= start_dim < 1"):  # fmt: skip
        F.flatten(np.array(1.0))  # nn.Flatten's start_dim=1, as PyTorch refuses too


@settings(max_examples=200, deadline=None)
@given(
    mode=st.sampled_from(["constant", "reflect", "replicate", "circular"]),
    pads=st.lists(st.integers(-6, 6), min_size=2, max_size=4).filter(lambda p: len(p) % 2 == 0),
    sizes=st.tuples(st.integers(1, 5), st.integers(1, 5)), seed=st.integers(0, 2**16),
)  # fmt: skip
def test_pads_crop_in_every_mode_as_pytorch(mode, pads, sizes, seed):
    x = np.random.default_rng(seed).standard_normal((2, 2, *sizes))
    xt = torch.tensor(x, requires_grad=True)
    pt = pads if mode == "constant" else pads + [0, 0] * (2 - len(pads) // 2)  # 2-D for torch
    try:
        yt = TF.pad(xt, pt, mode=mode)
    except (RuntimeError, ValueError, NotImplementedError):
        yt = None
    for axis, lo, hi in ((3 - i, pads[2 * i], pads[2 * i + 1]) for i in range(len(pads) // 2)):
        left = x.shape[axis] + min(lo, 0) + min(hi, 0)
        if mode == "circular" and left < max(lo, hi, 0):
            yt = None  # PyTorch returns memory it never wrote, or nothing, or fails: refuse
        if mode in ("reflect", "replicate") and x.shape[axis] + lo + hi == 0:
            yt = None  # PyTorch's 2-D check reads "H or W is left" (its 1-D one refuses)
    if yt is None:
        with pytest.raises(ShapeError, match="pad: "):
            F.pad(x, pads, mode=mode)
        return
    xc = cs.tensor(x, requires_grad=True)
    yc = F.pad(xc, pads, mode=mode)
    np.testing.assert_array_equal(yc.data, yt.detach().numpy())  # data movement: exact
    dy = np.random.default_rng(seed + 1).standard_normal(yt.shape)
    yt.backward(torch.tensor(dy))
    yc.backward(dy)
    assert_sums_close(xc.grad, xt.grad, largest(dy) * yt.numel(), yt.numel())


# ---- eps, momentum, dtype, losses -------------------------------------------------------------


@pytest.mark.parametrize("eps", [-0.5, -1e-3, 0.0])
def test_layer_and_group_norm_take_any_real_eps_as_pytorch(eps):
    x = np.random.default_rng(6).standard_normal((3, 4, 5))
    x[0] = 0.0  # var = 0: nan or inf there, as PyTorch
    for fn in (lambda f, a: f.layer_norm(a, (4, 5), eps=eps),
               lambda f, a: f.group_norm(a, 2, eps=eps)):  # fmt: skip
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no NumPy warning reaches the user
            y = fn(F, x)
        assert_values_close(y, fn(TF, torch.tensor(x)), scale=10)


def test_batch_norm_eps_and_momentum_follow_pytorchs_rules():
    x = np.random.default_rng(7).standard_normal((4, 3, 2))
    for training, eps, momentum in [(True, 1e-5, -1.0), (True, 0.5, 2.0), (False, 0.0, -1.2)]:
        mt, vt = (
            torch.full((3,), 0.5, dtype=torch.float64),
            torch.full((3,), 2.0, dtype=torch.float64),
        )
        mc, vc = mt.numpy().copy(), vt.numpy().copy()
        yt = TF.batch_norm(torch.tensor(x), mt, vt, training=training, momentum=momentum, eps=eps)
        yc = F.batch_norm(x, mc, vc, training=training, momentum=momentum, eps=eps)
        assert_values_close(yc, yt, scale=10)
        assert_values_close(mc, mt, err_msg="running_mean")
        assert_values_close(vc, vt, scale=10, err_msg="running_var")
    layer = nn.BatchNorm2d(3, momentum=-1.0, eps=0.0).eval()  # accepted, as PyTorch
    assert layer(np.ones((1, 3, 2, 2))).shape == (1, 3, 2, 2)
    for training, eps in [(True, 0.0), (False, -1e-5)]:
        rule = r"must be > 0 when training and >= 0 in eval mode \(as PyTorch\)"
        with pytest.raises(ShapeError, match=rf"batch_norm: eps={eps} {rule}"):
            F.batch_norm(x, np.zeros(3), np.ones(3), training=training, eps=eps)


def test_softmax_dtype_casts_first_and_the_gradient_comes_back_in_the_input_dtype():
    x = np.random.default_rng(8).standard_normal((3, 4)).astype(np.float32)
    for ours, theirs in ((F.softmax, TF.softmax), (F.log_softmax, TF.log_softmax)):
        xc, xt = cs.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        yc, yt = ours(xc, 1, dtype=np.float64), theirs(xt, 1, dtype=torch.float64)
        assert yc.dtype == np.float64
        assert_values_close(yc, yt)
        dy = np.random.default_rng(9).standard_normal((3, 4))
        yc.backward(dy)
        yt.backward(torch.tensor(dy))
        assert xc.grad.dtype == np.float32
        assert_values_close(xc.grad, xt.grad)


@settings(max_examples=60, deadline=None)
@given(
    shape=st.sampled_from([(5,), (2, 5), (2, 5, 3)]), smoothing=st.sampled_from([0.0, 0.2]),
    reduction=st.sampled_from(["mean", "sum", "none"]), weighted=st.booleans(),
    seed=st.integers(0, 2**16),
)  # fmt: skip
def test_class_probability_targets_get_pytorchs_gradient(
    shape, smoothing, reduction, weighted, seed
):
    rng = np.random.default_rng(seed)
    x, q = rng.standard_normal(shape), rng.random(shape)
    weight = rng.random(shape[1 if len(shape) > 1 else 0]) if weighted else None
    kw = dict(reduction=reduction, label_smoothing=smoothing)
    xt, qt = torch.tensor(x, requires_grad=True), torch.tensor(q, requires_grad=True)
    yt = TF.cross_entropy(xt, qt, None if weight is None else torch.tensor(weight), **kw)
    xc, qc = cs.tensor(x, requires_grad=True), cs.tensor(q, requires_grad=True)
    yc = F.cross_entropy(xc, qc, weight, **kw)
    assert_values_close(yc, yt)
    dy = rng.standard_normal(tuple(yt.shape))
    yt.backward(torch.tensor(dy))
    yc.backward(dy)
    assert_values_close(xc.grad, xt.grad, scale=largest(xt.grad, dy))
    assert_values_close(qc.grad, qt.grad, scale=largest(qt.grad, dy) * 10)


@pytest.mark.parametrize("loss", ["cross_entropy", "nll_loss"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_one_sample_with_a_class_index_is_a_scalar_loss_as_pytorch(loss, reduction):
    x = np.random.default_rng(10).standard_normal(5)
    xt, xc = torch.tensor(x, requires_grad=True), cs.tensor(x, requires_grad=True)
    yt = getattr(TF, loss)(xt, torch.tensor(2), reduction=reduction)
    yc = getattr(F, loss)(xc, np.array(2), reduction=reduction)
    assert yc.shape == tuple(yt.shape) == ()
    assert_values_close(yc, yt)
    yt.backward()
    yc.backward()
    assert_values_close(xc.grad, xt.grad)


X = np.zeros((2, 3, 4, 4))
BAD = [
    (lambda: F.max_pool2d(np.zeros((2, 0, 4, 4)), 2), r"max_pool2d: input shape \(2, 0, 4, 4\) is empty along axis 1; only the batch axis may be 0 here"),
    (lambda: F.avg_pool1d(np.zeros((3, 0)), 2), r"avg_pool1d: input shape \(3, 0\) is empty along axis 1"),
    (lambda: F.conv2d(np.zeros((2, 3, 0, 4)), np.zeros((2, 3, 1, 1)), padding=1), r"conv2d: input spatial size \(0, 4\) must be >= 1 along every axis \(only the batch and channel axes may be empty\)"),
    (lambda: F.conv2d(X, np.zeros((0, 3, 3, 3))), r"conv2d: weight \(0, 3, 3, 3\) has no filters \(output channels\)"),
    (lambda: F.conv_transpose2d(np.zeros((2, 0, 4, 4)), np.zeros((0, 2, 3, 3))), r"conv_transpose2d: weight \(0, 2, 3, 3\) has no input or output channels"),
    (lambda: F.conv1d(np.zeros(4), np.zeros((1, 1, 1))), r"conv1d: expected a 3-D input \(N, C, L\) or a 2-D \(C, L\) \(one sample\), got 1-D shape \(4,\)"),
    (lambda: F.interpolate(np.zeros((2, 0, 4, 4)), scale_factor=2), r"interpolate: input shape \(2, 0, 4, 4\) is empty along a channel or spatial axis"),
    (lambda: F.interpolate(X, scale_factor=2, align_corners=True), r"interpolate: align_corners applies to the interpolating modes \(linear, bilinear, bicubic\), not to mode='nearest'"),
    (lambda: F.pad(X, (-3, -2)), r"pad: pad \(-3, -2\) crops 5 cells from axis 3 of size 4; crop at most 4"),
    (lambda: F.pad(X, (-1, 5), mode="circular"), r"pad: mode='circular' pads \(-1, 5\) on axis 3 of size 4: the crops leave 3 cells and a pad may wrap around them once at most; pad <= 3"),
    (lambda: F.pad(X, (-4, 0, 0, 0), mode="reflect"), r"pad: mode='reflect' pads \(-4, 0\) on axis 3 of size 4 would leave 0 cells"),
    (lambda: F.pad(np.zeros((2, 0, 4, 4)), (1, 1, 1, 1), mode="replicate"), r"pad: mode='replicate' needs a non-empty input but shape \(2, 0, 4, 4\) is empty along axis 1"),
    (lambda: F.softmax(X, 1, dtype=np.int64), r"softmax: dtype must be a float dtype such as np.float64, got <class 'numpy.int64'>"),
    (lambda: F.layer_norm(X, 4, eps="small"), r"layer_norm: eps='small' must be a real number"),
    (lambda: F.batch_norm(X, np.zeros(3), np.ones(3), momentum=None), r"batch_norm: momentum=None must be a real number"),
    (lambda: nn.BatchNorm2d(3, eps=None), r"BatchNorm2d: eps must be a real number, got None"),
    (lambda: F.nll_loss(np.zeros(5), np.array([1, 2])), r"nll_loss: one sample \(5,\) takes one class index \(a target of shape \(\)\), got target shape \(2,\)"),
    (lambda: F.cross_entropy(np.zeros(()), np.array(1)), r"cross_entropy: expected input \(C,\) \(one sample\), \(N, C\) or \(N, C, d1, \.\.\.\), got shape \(\)"),
    (lambda: F.unflatten(np.array(1.0), 0, (1,)), r"unflatten: a 0-D input has no axis to split; reshape it instead"),
    (lambda: F.max_pool2d(X, (3, 3, 3)), r"max_pool2d: kernel_size=\(3, 3, 3\) must be an integer or a tuple of 2 integers \(one per spatial dimension, or one for all\)"),
]  # fmt: skip


@pytest.mark.parametrize(("call", "message"), BAD)
def test_bad_input_is_a_shape_error_with_a_sentence(call, message):
    with pytest.raises(ShapeError, match=message):
        call()
