"""Max/min pooling over disjoint windows that read no padding: the NumPy backward finds each
window's winning tap once (pool_numpy._winners) and stores dy per tap (_scatter). Routing is
pure data movement, so outputs and gradients must equal PyTorch's exactly: ties to the first
element in row-major order, a NaN window to its last NaN, non-finite dy carried as is."""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import convscope as cs
import convscope.nn.functional as F
from convscope import kernels
from convscope.ops import pool, pool_numpy
from jit_paths import compiled, jit_path  # noqa: F401  (runs this module on both paths)
from torch_oracle_ops import compare

# (nd, input spatial size, pool keywords): all disjoint (stride >= span) and unpadded
CONFIGS = [
    (2, (8, 8), dict(kernel_size=2)),  # tiled: every input cell in one window
    (2, (7, 9), dict(kernel_size=2)),  # a last row and column no window reads
    (2, (9, 7), dict(kernel_size=3, stride=3)),
    (2, (8, 11), dict(kernel_size=(2, 3), stride=(3, 4))),  # gaps between windows
    (2, (8, 8), dict(kernel_size=2, stride=4, dilation=2)),  # span 3, stride 4
    (1, (10,), dict(kernel_size=3)),
]


def inputs(name, shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    if name == "normal":
        return rng.standard_normal(shape).astype(dtype)
    x = rng.integers(-1, 2, shape).astype(dtype)  # many ties
    if name == "nan":
        x[rng.random(shape) < 0.3] = np.nan
    elif name == "inf":
        x[rng.random(shape) < 0.3] = -np.inf
        x[rng.random(shape) < 0.1] = np.inf
    elif name == "all -inf":
        x[...] = -np.inf
    elif name == "all +inf":
        x[...] = np.inf
    return x


def out_shape(nd, kw, x):
    with torch.no_grad():
        return tuple(getattr(TF, f"max_pool{nd}d")(torch.tensor(x), **kw).shape)


def theirs(kind, nd, kw, x, dy):
    """PyTorch's output and input gradient; min pooling is -max_pool(-x)."""
    fn = getattr(TF, f"max_pool{nd}d")
    tx = torch.tensor(x, requires_grad=True)
    ty = fn(tx, **kw) if kind == "max" else -fn(-tx, **kw)
    ty.backward(torch.tensor(dy))
    return ty.detach().numpy(), tx.grad.numpy()


def ours(kind, nd, kw, x, dy):
    tx = cs.tensor(x, requires_grad=True)
    y = getattr(F, f"{kind}_pool{nd}d")(tx, **kw)
    y.backward(dy)
    return y.data, tx.grad


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", ["normal", "ties", "nan", "inf", "all -inf", "all +inf"])
@pytest.mark.parametrize("kind", ["max", "min"])
@pytest.mark.parametrize("nd, size, kw", CONFIGS)
def test_disjoint_windows_route_exactly_as_torch(nd, size, kw, kind, name, dtype):
    x = inputs(name, (2, 3, *size), dtype)
    dy = np.random.default_rng(1).standard_normal(out_shape(nd, kw, x)).astype(dtype)
    y_ref, dx_ref = theirs(kind, nd, kw, x, dy)
    y, dx = ours(kind, nd, kw, x, dy)
    assert y.dtype == dx.dtype == dtype
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_array_equal(dx, dx_ref)
    with cs.no_grad():  # a forward no backward follows (it keeps no argmax)
        y_eval = getattr(F, f"{kind}_pool{nd}d")(cs.tensor(x), **kw)
    np.testing.assert_array_equal(y_eval.data, y_ref)


@pytest.mark.parametrize("kind", ["max", "min"])
@pytest.mark.parametrize("nd, size, kw", CONFIGS)
def test_non_finite_upstream_gradient_reaches_only_the_winners(nd, size, kw, kind):
    x = inputs("ties", (2, 2, *size), np.float64, seed=3)
    dy = np.random.default_rng(4).standard_normal(out_shape(nd, kw, x))
    dy.flat[::3] = np.inf
    dy.flat[1::5] = -np.inf
    dy.flat[2::7] = np.nan
    _, dx_ref = theirs(kind, nd, kw, x, dy)
    _, dx = ours(kind, nd, kw, x, dy)
    np.testing.assert_array_equal(dx, dx_ref)  # NaN where torch has NaN, zeros stay zeros


@pytest.mark.parametrize("nd, size, kw", CONFIGS)
def test_the_numpy_path_takes_the_winner_branch_and_indices_agree_with_torch(nd, size, kw):
    x = inputs("ties", (2, 3, *size), np.float64, seed=5)
    with compiled(False):
        (y, index), cache = pool._pool_forward(
            f"max_pool{nd}d", "max", x, nd, kw["kernel_size"], kw.get("stride"), 0, False,
            kw.get("dilation", 1), return_indices=True,
        )  # fmt: skip
        assert pool_numpy._scannable(cache)
        win = pool_numpy._winners(cache)
    assert win.dtype == np.uint8
    fn = getattr(TF, f"max_pool{nd}d")
    _, t_index = fn(torch.tensor(x), **kw, return_indices=True)
    np.testing.assert_array_equal(index, t_index.numpy())


@pytest.mark.parametrize(
    "kw",
    [
        dict(kernel_size=2, padding=1),  # padding: the general routing
        dict(kernel_size=2, ceil_mode=True),  # a window past the input's end
        dict(kernel_size=3, stride=2),  # overlapping windows
    ],
)
def test_padded_or_overlapping_windows_keep_the_general_routing(kw):
    x = inputs("inf", (2, 2, 7, 7), np.float64, seed=6)
    with compiled(False):
        _, cache = pool._pool_forward(
            "max_pool2d", "max", x, 2, kw["kernel_size"], kw.get("stride"),
            kw.get("padding", 0), kw.get("ceil_mode", False),
        )  # fmt: skip
        assert not pool_numpy._scannable(cache)
    compare(lambda t: F.max_pool2d(t, **kw), lambda t: TF.max_pool2d(t, **kw), [x], sums="routes")


def line_aligned(shape, dtype, seed):
    """A random array whose data starts on a 64-byte cache line (a view into a larger one)."""
    item = np.dtype(dtype).itemsize
    flat = np.empty(int(np.prod(shape)) + 64 // item, dtype)
    start = (-flat.ctypes.data) % 64 // item
    x = flat[start : start + int(np.prod(shape))].reshape(shape)
    x[...] = inputs("ties", shape, dtype, seed)
    assert x.ctypes.data % 64 == 0
    return x


@pytest.mark.parametrize("kind", ["max", "min"])
def test_a_large_line_aligned_input_is_read_from_a_shifted_copy_with_the_same_result(kind):
    x = line_aligned((8, 8, 64, 64), np.float32, seed=8)  # 1 MiB
    shifted = pool_numpy._off_line(x)
    assert shifted is not x and shifted.ctypes.data % 64 == 16
    assert not np.shares_memory(shifted, x)
    np.testing.assert_array_equal(shifted, x)
    kw = dict(kernel_size=2)
    dy = np.random.default_rng(9).standard_normal(out_shape(2, kw, x)).astype(np.float32)
    y_ref, dx_ref = theirs(kind, 2, kw, x, dy)
    y, dx = ours(kind, 2, kw, x, dy)
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_array_equal(dx, dx_ref)


@pytest.mark.parametrize("chunk", [None, 100], ids=["one chunk", "chunks of row pairs"])
@pytest.mark.parametrize("size", [(6, 10), (28, 28), (10, 32), (32, 32), (7, 9)])
@pytest.mark.parametrize("name", ["ties", "nan", "inf"])
def test_tiled_2x2_windows_give_torchs_indices_and_gradient(size, name, chunk, monkeypatch):
    """2x2 windows that tile the input take the compiled row split (winning taps, chunks of
    row pairs: kernels.pool2d._row_split), odd sizes the plane-index kernel; both give
    PyTorch's values, return_indices and gradient exactly, in one chunk or in many (a last
    one partial)."""
    if chunk is not None:
        monkeypatch.setattr(kernels.pooling(), "SPLIT_CHUNK_BYTES", chunk)
    x = inputs(name, (2, 3, *size), np.float32, seed=5)
    dy = np.random.default_rng(2).standard_normal((2, 3, size[0] // 2, size[1] // 2))
    dy = dy.astype(np.float32)
    tx = torch.tensor(x, requires_grad=True)
    ty, tidx = TF.max_pool2d(tx, 2, return_indices=True)
    ty.backward(torch.tensor(dy))
    xs = cs.tensor(x, requires_grad=True)
    y, idx = F.max_pool2d(xs, 2, return_indices=True)
    y.backward(dy)
    np.testing.assert_array_equal(y.data, ty.detach().numpy())
    np.testing.assert_array_equal(idx.data, tidx.numpy())
    np.testing.assert_array_equal(xs.grad, tx.grad.numpy())
