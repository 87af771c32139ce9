"""A forward with no backward to come (no_grad, or no input requiring grad) keeps no cache:
conv's windows path, row windows and Winograd then run the batch in cache-sized chunks
(ops.conv and ops.winograd STREAM_BYTES, ops.row_windows CHUNK_BYTES, set tiny here so that
every case streams). The output is the
recorded forward's, and PyTorch's, within the suite's sum tolerance; the flag autograd.apply
sets (ops.cache_need) is restored after every forward, raised or not."""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import convscope as cs
import convscope.nn.functional as F
from convscope import ShapeError
from convscope.ops import cache_need, conv, row_windows, winograd
from jit_paths import jit_path  # noqa: F401  (runs this module on the NumPy and compiled paths)
from tolerance import assert_sums_close

CASES = [  # x shape, w shape, kwargs: the windows path (strided, dilated, grouped, 1-D) and 3x3 layers
    ((5, 4, 11, 9), (6, 4, 3, 3), {"stride": 2, "padding": 1}),
    ((3, 4, 9, 10), (4, 2, 3, 2), {"padding": (2, 1), "dilation": (2, 1), "groups": 2}),
    ((7, 8, 10, 10), (8, 8, 3, 3), {"padding": 1}),  # Winograd on the compiled path
    ((4, 3, 13), (5, 3, 4), {"stride": 3, "padding": 2}),  # conv1d
    ((1, 3, 8, 8), (2, 3, 5, 5), {"padding": 2}),  # one sample
    ((3, 16, 9, 12), (8, 16, 3, 3), {"padding": 1, "dilation": (1, 2)}),  # row windows
]


@pytest.fixture(autouse=True)
def tiny_chunks(monkeypatch):
    monkeypatch.setattr(conv, "STREAM_BYTES", 1)
    monkeypatch.setattr(winograd, "STREAM_BYTES", 1)
    monkeypatch.setattr(winograd, "MIN_TILES", 1)
    monkeypatch.setattr(winograd, "blas_threads", lambda: 1)  # Winograd chunks with one only
    monkeypatch.setattr(row_windows, "CHUNK_BYTES", 1)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CASES, ids=lambda c: str(c[0]))
def test_a_forward_without_backward_gives_the_recorded_forwards_numbers(case, dtype):
    x_shape, w_shape, kwargs = case
    rng = np.random.default_rng(len(x_shape) + w_shape[0])
    x, w, b = (rng.standard_normal(s).astype(dtype) for s in (x_shape, w_shape, w_shape[:1]))
    ours = F.conv1d if len(x_shape) == 3 else F.conv2d
    theirs = TF.conv1d if len(x_shape) == 3 else TF.conv2d
    streamed = ours(x, w, b, **kwargs)  # arrays: nothing requires grad
    with cs.no_grad():
        under_no_grad = ours(cs.tensor(x, requires_grad=True), w, b, **kwargs)
    recorded = ours(cs.tensor(x, requires_grad=True), w, b, **kwargs)
    expected = theirs(*(torch.from_numpy(a) for a in (x, w, b)), **kwargs).numpy()
    magnitude = theirs(*(torch.from_numpy(np.abs(a)) for a in (x, w, b)), **kwargs).numpy()
    n = int(np.prod(w_shape[1:])) + 1
    for y in (streamed, under_no_grad, recorded):
        assert y.dtype == dtype and y.shape == expected.shape
        assert_sums_close(y.data, expected, magnitude, n)
    assert recorded.requires_grad and not streamed.requires_grad
    recorded.sum().backward()  # the recorded forward kept its cache


def test_the_flag_is_cleared_only_inside_a_forward_without_backward_and_restored():
    seen = []

    def spy_forward(x):
        seen.append(cache_need.cache_needed())
        return x * 2, None

    def failing_forward(x):
        raise ShapeError("spy: refused")

    from convscope.autograd.function import apply

    x = cs.tensor(np.ones(3), requires_grad=True)
    apply(spy_forward, None, (x,))
    apply(spy_forward, None, (x.data,))
    with cs.no_grad():
        apply(spy_forward, None, (x,))
    with pytest.raises(ShapeError, match="spy: refused"):
        apply(failing_forward, None, (x.data,))
    assert seen == [True, False, False]
    assert cache_need.cache_needed()


GRAD_CASES = [CASES[i] for i in (0, 1, 3, 5)] + [  # windows, rows and 1-D; a transposed conv
    ((4, 6, 7, 8), (6, 4, 3, 3), {"stride": 2, "padding": 1, "output_padding": 1}),
]


def _grads(fn, arrays, dy, kwargs):
    """PyTorch's (y, dx, dw, db) of fn(*arrays, **kwargs) against the upstream gradient dy."""
    ts = [torch.from_numpy(a).requires_grad_() for a in arrays]
    y = fn(*ts, **kwargs)
    y.backward(torch.from_numpy(dy))
    return [y.detach().numpy()] + [t.grad.numpy() for t in ts]


@pytest.mark.parametrize("keep", [1, 1 << 40], ids=["gathered-again", "kept"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", GRAD_CASES, ids=lambda c: f"{c[0]}-{sorted(c[2])}")
def test_grads_chunk_by_chunk_are_pytorchs(case, dtype, keep, monkeypatch):
    """The windows path keeps no columns above conv.KEEP_BYTES: backward gathers them again a
    chunk at a time; dX (and conv_transpose's forward) scatters W^T dy a chunk at a time."""
    monkeypatch.setattr(conv, "KEEP_BYTES", keep)
    x_shape, w_shape, kwargs = case
    transposed = "output_padding" in kwargs
    rng = np.random.default_rng(len(x_shape) + w_shape[0])
    x, w = (rng.standard_normal(s).astype(dtype) for s in (x_shape, w_shape))
    b = rng.standard_normal(w_shape[1] if transposed else w_shape[0]).astype(dtype)
    name = ("conv_transpose" if transposed else "conv") + f"{len(x_shape) - 2}d"
    ours, theirs = getattr(F, name), getattr(TF, name)
    leaves = [cs.tensor(a, requires_grad=True) for a in (x, w, b)]
    y = ours(*leaves, **kwargs)
    dy = rng.standard_normal(y.shape).astype(dtype)
    y.backward(dy)
    expected = _grads(theirs, (x, w, b), dy, kwargs)
    magnitude = _grads(theirs, (np.abs(x), np.abs(w), np.abs(b)), np.abs(dy), kwargs)
    kernel, out = int(np.prod(w_shape[2:])), int(np.prod(y.shape[2:]))
    channels = w_shape[1] if transposed else w_shape[0]
    terms = [x.shape[1] * kernel + 1, channels * kernel, x_shape[0] * out, x_shape[0] * out]
    for got, want, mag, n in zip(
        [y.data] + [t.grad for t in leaves], expected, magnitude, terms, strict=True
    ):
        assert got.dtype == dtype
        assert_sums_close(got, want, mag, n)
