"""Max pooling's dilation and return_indices, max_unpool, avg_pool's divisor_override and the
1-D adaptive pools, against PyTorch (hypothesis-drawn configurations, both kernel paths),
finite differences, and the sentence of every new error."""

import numpy as np
import pytest
import torch
import torch.nn as tnn
import torch.nn.functional as TF
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import convscope as cs
import convscope.nn as nn
import convscope.nn.functional as F
from convscope import ShapeError
from jit_paths import jit_path  # noqa: F401  (runs this module on the NumPy and compiled paths)
from tolerance import assert_sums_close

MAX = {1: (F.max_pool1d, TF.max_pool1d), 2: (F.max_pool2d, TF.max_pool2d)}
UNPOOL = {1: (F.max_unpool1d, TF.max_unpool1d), 2: (F.max_unpool2d, TF.max_unpool2d)}


def _out(n, k, s, p, d, ceil_mode):
    """PyTorch's pooled size of one axis."""
    span = d * (k - 1) + 1
    out = -(-(n + 2 * p - span) // s) + 1 if ceil_mode else (n + 2 * p - span) // s + 1
    return out - 1 if ceil_mode and (out - 1) * s >= n + p else out


@st.composite
def max_pool_configs(draw, dilated=True):
    """A max pool PyTorch accepts (every window reaching the input), batched or one sample,
    hyper-parameters as ints, tuples or (for 2-D) 1-tuples."""
    nd = draw(st.sampled_from([1, 2]))
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    dilation = tuple(draw(st.integers(1, 3 if dilated else 1)) for _ in range(nd))
    padding = tuple(draw(st.integers(0, k // 2)) for k in kernel)
    stride = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    sizes = tuple(draw(st.integers(1, 8)) for _ in range(nd))
    ceil_mode = draw(st.booleans())
    for n, k, s, p, d in zip(sizes, kernel, stride, padding, dilation, strict=True):
        assume(n + 2 * p >= d * (k - 1) + 1)
        taps = np.arange(_out(n, k, s, p, d, ceil_mode))[:, None] * s + np.arange(k) * d - p
        assume(((taps >= 0) & (taps < n)).any(axis=1).all())  # PyTorch crashes otherwise
    lead = (draw(st.integers(1, 3)),) if draw(st.booleans()) else ()  # batched or one sample
    shape = (*lead, draw(st.integers(1, 3)), *sizes)
    kw = dict(kernel_size=kernel, stride=stride, padding=padding, dilation=dilation)
    style = draw(st.sampled_from(["tuple", "int", "one"]))
    for key, v in kw.items():
        if len(set(v)) == 1 and style != "tuple":
            kw[key] = v[0] if style == "int" or nd == 1 else v[:1]
    return nd, shape, kw | {"ceil_mode": ceil_mode}


def _data(seed, shape, ties):
    rng = np.random.default_rng(seed)
    return rng.integers(-2, 3, shape).astype(np.float64) if ties else rng.standard_normal(shape)


def _routed(indices, values, shape, nd):
    """sum |values| of the windows whose maximum is each input cell: the magnitude of that
    cell's gradient sum."""
    planes, plane = int(np.prod(shape[:-nd])), int(np.prod(shape[-nd:]))
    flat = indices.reshape(planes, -1) + np.arange(planes)[:, None] * plane
    total = np.zeros(planes * plane)
    np.add.at(total, flat.ravel(), np.abs(values).ravel())
    return total.reshape(shape)


@settings(max_examples=200, deadline=None)
@given(cfg=max_pool_configs(), seed=st.integers(0, 2**16), ties=st.booleans())
def test_dilated_max_pool_and_its_indices_match_torch(cfg, seed, ties):
    nd, shape, kw = cfg
    ours, theirs = MAX[nd]
    x = _data(seed, shape, ties)
    xt, xc = torch.tensor(x, requires_grad=True), cs.tensor(x, requires_grad=True)
    (yt, it), (yc, ic) = theirs(xt, **kw, return_indices=True), ours(xc, **kw, return_indices=True)
    np.testing.assert_array_equal(yc.data, yt.detach().numpy())  # a selection: exact
    np.testing.assert_array_equal(ic.data, it.numpy())
    assert ic.dtype == np.int64 and not ic.requires_grad
    dy = np.random.default_rng(seed + 1).standard_normal(yt.shape)
    yt.backward(torch.tensor(dy))
    yc.backward(dy)
    assert_sums_close(xc.grad, xt.grad, _routed(it.numpy(), dy, shape, nd), yt[0].numel())


@settings(max_examples=150, deadline=None)
@given(cfg=max_pool_configs(dilated=False), seed=st.integers(0, 2**16), sized=st.booleans())
def test_max_unpool_undoes_max_pool_as_torch_forward_and_backward(cfg, seed, sized):
    nd, shape, kw = cfg
    pool, _ = MAX[nd]
    ours, theirs = UNPOOL[nd]
    x = np.random.default_rng(seed).standard_normal(shape)  # no ties: each cell one window
    y, i = pool(x, **kw, return_indices=True)
    hyper = dict(kernel_size=kw["kernel_size"], stride=kw["stride"], padding=kw["padding"])
    size = shape[-nd:] if sized else None  # default: (in - 1)*S - 2P + K, maybe too small
    yt, yc = torch.tensor(y.data, requires_grad=True), cs.tensor(y.data, requires_grad=True)
    full = {k: tuple(int(v) for v in np.broadcast_to(v, (nd,))) for k, v in hyper.items()}
    try:  # (PyTorch's max_unpool2d refuses 1-tuples, which convscope expands)
        ut = theirs(yt, torch.tensor(i.data), **full, output_size=size)
    except (RuntimeError, ValueError):
        ut = None
    if ut is None or ut.numel() == 0 < yt.numel():
        # an index past the default plane: both refuse; a plane of no cells: PyTorch drops
        # every value without a word, convscope refuses (the indices point nowhere)
        with pytest.raises(ShapeError, match="is outside the output plane"):
            ours(yc, i, **hyper, output_size=size)
        return
    uc = ours(yc, i, **hyper, output_size=size)
    np.testing.assert_array_equal(uc.data, ut.detach().numpy())  # data movement: exact
    dy = np.random.default_rng(seed + 1).standard_normal(ut.shape)
    ut.backward(torch.tensor(dy))
    uc.backward(dy)
    np.testing.assert_array_equal(yc.grad, yt.grad.numpy())  # a gather: exact


@pytest.mark.parametrize("nd", [1, 2])
def test_max_unpool_with_repeated_indices_keeps_the_last_value_and_reads_dy_for_each(nd):
    x = np.arange(1.0, 5.0).reshape((1, 1, 4) if nd == 1 else (1, 1, 2, 2))
    indices = np.zeros(x.shape, dtype=np.int64)  # every value to cell 0
    ours, theirs = UNPOOL[nd]
    xt, xc = torch.tensor(x, requires_grad=True), cs.tensor(x, requires_grad=True)
    ut, uc = theirs(xt, torch.tensor(indices), 2), ours(xc, indices, 2)
    # PyTorch documents the value written to a repeated index as undefined (it picks 2.0 or
    # 4.0 here); convscope keeps the last, and every other cell is 0 in both
    assert uc.data.flat[0] == 4.0 and ut.detach().numpy().flat[0] in x
    np.testing.assert_array_equal(uc.data.flat[1:], ut.detach().numpy().flat[1:])
    dy = np.arange(ut.numel(), dtype=np.float64).reshape(ut.shape) + 1
    ut.backward(torch.tensor(dy))
    uc.backward(dy)
    np.testing.assert_array_equal(xc.grad, xt.grad.numpy())
    assert (xc.grad == 1.0).all()


@settings(max_examples=100, deadline=None)
@given(
    shape=st.tuples(st.integers(1, 2), st.integers(1, 3), st.integers(2, 7), st.integers(2, 7)),
    kernel=st.integers(1, 3), stride=st.integers(1, 3), ceil_mode=st.booleans(),
    include=st.booleans(), divisor=st.sampled_from([None, 1, 3, -2, 7]),
    unbatched=st.booleans(), seed=st.integers(0, 2**16),
)  # fmt: skip
def test_avg_pool2d_divisor_override_matches_torch(
    shape, kernel, stride, ceil_mode, include, divisor, unbatched, seed
):
    padding = kernel // 2
    assume(min(shape[2:]) + 2 * padding >= kernel)
    x = np.random.default_rng(seed).standard_normal(shape[1:] if unbatched else shape)
    kw = dict(kernel_size=kernel, stride=stride, padding=padding, ceil_mode=ceil_mode,
              count_include_pad=include, divisor_override=divisor)  # fmt: skip
    xt, xc = torch.tensor(x, requires_grad=True), cs.tensor(x, requires_grad=True)
    yt, yc = TF.avg_pool2d(xt, **kw), F.avg_pool2d(xc, **kw)
    magnitude = TF.avg_pool2d(torch.tensor(np.abs(x)), **kw).abs().numpy()
    assert_sums_close(yc, yt, magnitude, kernel * kernel)
    dy = np.random.default_rng(seed + 1).standard_normal(yt.shape)
    yt.backward(torch.tensor(dy))
    yc.backward(dy)
    assert_sums_close(xc.grad, xt.grad, np.abs(xt.grad.numpy()) + np.abs(dy).max(), yt.numel())


@settings(max_examples=100, deadline=None)
@given(
    lead=st.sampled_from([(), (2,), (1,)]), channels=st.integers(1, 3), length=st.integers(1, 9),
    out=st.integers(1, 9), seed=st.integers(0, 2**16), ties=st.booleans(),
)  # fmt: skip
def test_adaptive_1d_pools_and_max_indices_match_torch(lead, channels, length, out, seed, ties):
    x = _data(seed, (*lead, channels, length), ties)
    dy = np.random.default_rng(seed + 1).standard_normal((*lead, channels, out))
    for ours, theirs in [(F.adaptive_avg_pool1d, TF.adaptive_avg_pool1d),
                         (F.adaptive_max_pool1d, TF.adaptive_max_pool1d)]:  # fmt: skip
        xt, xc = torch.tensor(x, requires_grad=True), cs.tensor(x, requires_grad=True)
        yt, yc = theirs(xt, out), ours(xc, out)
        assert_sums_close(yc, yt, theirs(torch.tensor(np.abs(x)), out).numpy(), length)
        yt.backward(torch.tensor(dy))
        yc.backward(dy)
        assert_sums_close(xc.grad, xt.grad, np.abs(dy).sum(), out)
    (yt, it), (yc, ic) = (TF.adaptive_max_pool1d(torch.tensor(x), out, return_indices=True),
                          F.adaptive_max_pool1d(x, out, return_indices=True))  # fmt: skip
    np.testing.assert_array_equal(ic.data, it.numpy())
    (yt, it), (yc, ic) = (TF.adaptive_max_pool2d(torch.tensor(x[..., None, :]), (1, out), True),
                          F.adaptive_max_pool2d(x[..., None, :], (1, out), True))  # fmt: skip
    np.testing.assert_array_equal(ic.data, it.numpy())


def test_new_ops_pass_gradcheck():
    rng = np.random.default_rng(0)
    x = rng.permutation(72).reshape(2, 1, 6, 6) / 7.0  # distinct values: max is differentiable
    y, i = F.max_pool2d(x, 3, 3, 1, return_indices=True)  # disjoint windows: unique indices
    checks = [
        (lambda a: F.max_pool2d(a, 2, 1, 1, dilation=2), [x]),
        (lambda a: F.max_pool1d(a, 3, 2, 1, dilation=(2,), ceil_mode=True), [x[:, 0, 0]]),
        (lambda a: F.max_unpool2d(a, i, 3, 3, 1, output_size=(6, 6)), [y.data]),
        (lambda a: F.max_unpool1d(a, np.array([[[0, 3]]]), 2), [rng.standard_normal((1, 1, 2))]),
        (lambda a: F.avg_pool2d(a, 3, 2, 1, divisor_override=5), [x]),
        (lambda a: F.adaptive_avg_pool1d(a, 4), [x[:, :, 0]]),
        (lambda a: F.adaptive_max_pool1d(a, 4), [x[:, :, 0]]),
        (lambda a: F.max_pool2d(a, 2), [x[0]]),  # one sample
    ]
    for fn, inputs in checks:
        assert cs.gradcheck(fn, inputs)


def test_pool_layers_take_dilation_indices_and_unpool_as_torch():
    x = np.random.default_rng(1).standard_normal((2, 3, 9, 8))
    pools = [
        (lambda lib: lib.MaxPool2d(3, 2, 1, dilation=2, return_indices=True), True),
        (lambda lib: lib.MaxPool1d(2, return_indices=True), True),
        (lambda lib: lib.AvgPool2d(3, 1, 1, divisor_override=4), False),
        (lambda lib: lib.AdaptiveMaxPool2d((3, 2), return_indices=True), True),
        (lambda lib: lib.AdaptiveMaxPool1d(3, return_indices=True), True),
        (lambda lib: lib.AdaptiveAvgPool1d(5), False),
    ]
    for make, indices in pools:
        ours, theirs = make(nn), make(tnn)
        assert repr(ours) == repr(theirs)
        data = x if "2d" in repr(ours) else x[:, :, 0]
        yc, yt = ours(data), theirs(torch.tensor(data))
        if indices:
            np.testing.assert_array_equal(yc[1].data, yt[1].numpy())
            yc, yt = yc[0], yt[0]
        assert_sums_close(yc, yt, np.abs(yt.numpy()) + np.abs(x).max(), 9)
    unpool_c, unpool_t = nn.MaxUnpool2d(3, 2, 1), tnn.MaxUnpool2d(3, 2, 1)
    assert repr(unpool_c) == repr(unpool_t)
    y, i = nn.MaxPool2d(3, 2, 1, return_indices=True)(x)
    ut = unpool_t(torch.tensor(y.data), torch.tensor(i.data), output_size=x.shape)
    np.testing.assert_array_equal(unpool_c(y, i, output_size=x.shape).data, ut.numpy())
    assert repr(nn.MaxUnpool1d(2)) == repr(tnn.MaxUnpool1d(2))


X = np.zeros((1, 2, 5, 5))
I = np.zeros((1, 2, 2, 2), dtype=np.int64)  # noqa: E741
BAD = [
    (lambda: F.max_pool1d(np.zeros((1, 1, 2)), 2, 1, 1, dilation=3),
     r"max_pool1d: window 0 along spatial axis 0 holds only padding \(taps -1, 2 of an input of"
     r" size 2, padding=1, dilation=3\); use less padding or dilation"),
    (lambda: F.max_pool2d(X, 3, 1, 2, dilation=2),
     r"max_pool2d: padding=2 is more than half of kernel_size=3; .* use padding <= 1"),
    (lambda: F.max_pool2d(X, 2, return_indices="yes"), r"return_indices must be True or False"),
    (lambda: F.avg_pool2d(X, 2, divisor_override=0),
     r"avg_pool2d: divisor_override=0 must be a non-zero integer"),
    (lambda: F.avg_pool2d(X, 2, divisor_override=2.5), r"divisor_override=2.5 must be a non-zero"),
    (lambda: nn.AvgPool2d(2, divisor_override=True), r"AvgPool2d: divisor_override=True must be"),
    (lambda: F.max_unpool2d(X[:, :, :2, :2], I.astype(float), 2),
     r"max_unpool2d: indices must be integers .* got dtype float64"),
    (lambda: F.max_unpool2d(X[:, :, :2, :2], I[0], 2),
     r"max_unpool2d: indices of shape \(2, 2, 2\) must have the input's shape \(1, 2, 2, 2\)"),
    (lambda: F.max_unpool2d(X[:, :, :2, :2], I + 16, 2),
     r"max_unpool2d: index 16 at position \(0, 0, 0, 0\) is outside the output plane of 4x4 = 16"
     r" cells; pass the indices of the max_pool call"),
    (lambda: F.max_unpool2d(X[:, :, :2, :2], I, 2, output_size=(6, 6)),
     r"max_unpool2d: output_size 6 along spatial axis 0 must be between 2 and 6 \(exclusive\)"),
    (lambda: F.max_unpool2d(X[:, :, :2, :2], I, 2, output_size=(4,)),
     r"max_unpool2d: output_size=\(4,\) must be a tuple of 2 integers"),
    (lambda: F.max_unpool1d(np.zeros((1, 1, 2)), np.zeros((1, 1, 2), int), 2, padding=3),
     r"max_unpool1d: output size \(-2,\) is negative"),
    (lambda: F.max_unpool2d(np.zeros((2, 0, 2, 2)), np.zeros((2, 0, 2, 2), int), 2),
     r"max_unpool2d: input shape \(2, 0, 2, 2\) is empty along axis 1; only the batch axis"),
    (lambda: F.adaptive_max_pool1d(np.zeros((1, 0, 4)), 2), r"adaptive_max_pool1d: input shape"
     r" \(1, 0, 4\) is empty along axis 1"),
    (lambda: F.adaptive_avg_pool1d(np.zeros((1, 1, 4)), (2, 2)),
     r"adaptive_avg_pool1d: output_size=\(2, 2\) must be a positive integer"),
    (lambda: F.adaptive_avg_pool1d(np.zeros((1, 1, 0)), 2),
     r"adaptive_avg_pool1d: expected a 3-D input \(N, C, L\) or a 2-D \(C, L\) \(one sample\)"
     r" with non-empty L, got shape \(1, 1, 0\)"),
]  # fmt: skip


@pytest.mark.parametrize(("call", "message"), BAD)
def test_bad_input_is_a_shape_error_with_a_sentence(call, message):
    with pytest.raises(ShapeError, match=message):
        call()


def test_onnx_export_keeps_a_pools_dilation_and_refuses_what_onnx_lacks(tmp_path):
    pytest.importorskip("onnx", reason="pip install 'convscope[onnx]' (or pip install onnx)")
    ort = pytest.importorskip("onnxruntime", reason="pip install onnxruntime")
    model = nn.Sequential(nn.MaxPool2d(3, 1, 1, dilation=2), nn.MinPool2d(2, dilation=(1, 2)))
    path = tmp_path / "dilated.onnx"
    cs.onnx.export(model, path, input_shape=(1, 2, 7, 7))
    x = np.random.default_rng(2).standard_normal((3, 2, 7, 7)).astype(np.float32)
    session = ort.InferenceSession(str(path))
    (y,) = session.run(None, {session.get_inputs()[0].name: x})
    np.testing.assert_array_equal(y, model(x).data)  # a selection: exact
    for layer, why in [(nn.MaxPool2d(2, return_indices=True), "return_indices=True"),
                       (nn.AvgPool2d(2, divisor_override=3), "divisor_override")]:  # fmt: skip
        with pytest.raises(cs.ConvscopeError, match=why):
            cs.onnx.export(nn.Sequential(layer), tmp_path / "no.onnx", input_shape=(1, 2, 4, 4))
