"""Winograd F(2x2, 3x3): its tile transforms equal their definitions (NumPy twins written with
the B, G, A matrices), and conv2d on the shapes that take it matches PyTorch, forward and
every gradient, up to the rounding of the sums (tolerance.py; Winograd's intermediates grow
up to WINOGRAD_GROWTH times the direct sums' terms)."""

import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import convscope as cs
import convscope.nn.functional as F
from convscope import kernels
from convscope.ops import conv, direct, row_windows, winograd
from jit_paths import compiled
from tolerance import WINOGRAD_GROWTH, assert_sums_close
from torch_oracle_ops import sum_tolerances

pytestmark = pytest.mark.skipif(not kernels.available(), reason="Numba missing or CONVSCOPE_JIT=0")


def _tiles_of(a, size, step):
    """(N, C, TH, TW, size, size) windows of a (N, C, H', W') every `step` pixels."""
    n, c, h, w = a.shape
    th, tw = (h - size) // step + 1, (w - size) // step + 1
    s = a.strides
    return np.lib.stride_tricks.as_strided(
        a, (n, c, th, tw, size, size), (s[0], s[1], s[2] * step, s[3] * step, s[2], s[3])
    )


def _planes(t):
    """(N, C, TH, TW, 4, 4) -> (16, N, C, T) (without the kernel's spare tiles)."""
    n, c, th, tw = t.shape[:4]
    return t.reshape(n, c, th * tw, 16).transpose(3, 0, 1, 2)


def _real(tiles, out_size):
    """A kernel tile array (16, N, C, TH*(TW+1)) without the spare tile closing each row."""
    th, tw = kernels.winograd().tiles(out_size)
    n, c = tiles.shape[1:3]
    return tiles.reshape(16, n, c, th, tw + 1)[..., :tw].reshape(16, n, c, th * tw)


def _spares(tiles, out_size):
    """The spare tiles (16, N, C, TH) of a kernel tile array."""
    th, tw = kernels.winograd().tiles(out_size)
    return tiles.reshape(*tiles.shape[:3], th, tw + 1)[..., tw]


def twin_input_transform(x, pads_before, out_size, bt=None):
    """V = B^T d B per tile (bt: the matrix B^T, default the kernel's)."""
    k = kernels.winograd()
    th, tw = k.tiles(out_size)
    n, c, h, w = x.shape
    pad = np.zeros((n, c, 2 * th + 2, 2 * tw + 2), x.dtype)
    pad[:, :, pads_before[0] : pads_before[0] + h, pads_before[1] : pads_before[1] + w] = x
    bt = (k.BT if bt is None else bt).astype(x.dtype)
    return _planes(np.einsum("ir,nctars,js->nctaij", bt, _tiles_of(pad, 4, 2), bt))


def twin_output_transform(m, out_size, th, tw, at=None):
    """Y = A^T M A per tile (at: the matrix A^T, default the kernel's)."""
    at = (kernels.winograd().AT if at is None else at).astype(m.dtype)
    _, n, f, _ = m.shape
    mt = m.transpose(1, 2, 3, 0).reshape(n, f, th, tw, 4, 4)
    y = np.einsum("ir,nfabrs,js->nfaibj", at, mt, at).reshape(n, f, 2 * th, 2 * tw)
    return y[:, :, : out_size[0], : out_size[1]]


@st.composite
def geometries(draw):
    n, c, f = draw(st.integers(1, 2)), draw(st.integers(1, 4)), draw(st.integers(1, 4))
    h, w = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    pads = tuple(draw(st.integers(0, 2)) for _ in range(4))  # top, bottom, left, right
    oh, ow = h + pads[0] + pads[1] - 2, w + pads[2] + pads[3] - 2
    return (n, c, f, h, w), pads, (max(oh, 1), max(ow, 1)), oh >= 1 and ow >= 1


@settings(max_examples=60, deadline=None)
@given(geo=geometries(), dtype=st.sampled_from([np.float32, np.float64]), seed=st.integers(0, 999))
def test_tile_transforms_equal_their_definitions(geo, dtype, seed):
    (n, c, f, h, w), (pt, pb, pl, pr), out, valid = geo
    assume(valid)
    k = kernels.winograd()
    th, tw = k.tiles(out)
    assert k.tile_count(out) == th * (tw + 1)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, h, w)).astype(dtype)
    v = k.input_transform(x, (pt, pl), out)
    v_terms = twin_input_transform(abs(x), (pt, pl), out, bt=abs(k.BT))
    assert_sums_close(_real(v, out), twin_input_transform(x, (pt, pl), out), v_terms, 4)

    # the spare tiles of m are not part of y (random here: they must be ignored)
    m = rng.standard_normal((16, n, f, k.tile_count(out))).astype(dtype)
    y = k.output_transform(m, out)
    y_terms = twin_output_transform(abs(_real(m, out)), out, th, tw, at=abs(k.AT))
    assert_sums_close(y, twin_output_transform(_real(m, out), out, th, tw), y_terms, 9)

    # the backward transforms are the adjoints: <T a, b> == <a, T* b>, the same products
    dy = rng.standard_normal(y.shape).astype(dtype)
    dm = k.grad_output_transform(dy)
    assert not _spares(dm, out).any()  # so the spares of V add nothing to dU
    terms = np.vdot(y_terms, abs(dy))
    assert_sums_close(np.vdot(y, dy), np.vdot(m, dm), terms, 9 * y.size, dtype=dtype)
    dv = rng.standard_normal(v.shape).astype(dtype)
    dx = k.grad_input_transform(dv, (pt, pl), (h, w), out)
    terms = np.vdot(v_terms, abs(_real(dv, out)))
    real_v_dv = np.vdot(_real(v, out), _real(dv, out))
    assert_sums_close(real_v_dv, np.vdot(x, dx), terms, 4 * v.size, dtype=dtype)
    _spares(dv, out)[...] = np.nan  # ignored: dx has no NaN
    assert np.array_equal(k.grad_input_transform(dv, (pt, pl), (h, w), out), dx)


@st.composite
def layers(draw):
    """conv2d calls that take the Winograd path: 3x3, stride 1, >= 8 channels."""
    n = draw(st.integers(1, 3))
    c, f = draw(st.integers(8, 20)), draw(st.integers(8, 20))
    h, w = draw(st.integers(4, 11)), draw(st.integers(4, 11))
    padding = draw(st.one_of(st.integers(0, 2), st.tuples(st.integers(0, 2), st.integers(0, 2)),
                             st.just("same")))  # fmt: skip
    return (n, c, h, w), (f, c, 3, 3), padding, draw(st.booleans())


@settings(max_examples=40, deadline=None)
@given(
    layer=layers(),
    dtype=st.sampled_from([np.float64, np.float32]),
    seed=st.integers(0, 999),
    chunk_bytes=st.sampled_from([None, 1]),
)
def test_winograd_conv2d_matches_torch(layer, dtype, seed, chunk_bytes):
    """chunk_bytes=1: every sample its own chunk, forward and backward (STREAM_BYTES; chunks
    are cut only where BLAS runs one thread)."""
    x_shape, w_shape, padding, _ = layer
    assume(min(conv.check_conv("conv2d", x_shape, w_shape, 1, padding, 1, 1).out_size) >= 4)
    with pytest.MonkeyPatch.context() as patch:
        if chunk_bytes is not None:
            patch.setattr(winograd, "STREAM_BYTES", chunk_bytes)
            patch.setattr(winograd, "MIN_TILES", 1)
            patch.setattr(winograd, "blas_threads", lambda: 1)
        _check_winograd_layer(layer, dtype, seed)


def _check_winograd_layer(layer, dtype, seed):
    x_shape, w_shape, padding, bias = layer
    geom = conv.check_conv("conv2d", x_shape, w_shape, 1, padding, 1, 1)
    assert winograd.usable(geom, dtype)
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(x_shape), rng.standard_normal(w_shape)]
    arrays += [rng.standard_normal(w_shape[0])] if bias else []
    arrays = [a.astype(dtype) for a in arrays]
    ours = [cs.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.from_numpy(a).requires_grad_() for a in arrays]
    y = F.conv2d(*ours, padding=padding)
    ty = torch.nn.functional.conv2d(*theirs, padding=padding)
    dy = rng.standard_normal(ty.shape).astype(dtype)
    y.backward(dy)
    ty.backward(torch.from_numpy(dy))
    assert y.dtype == dtype
    out, grads = sum_tolerances(
        lambda *a: torch.nn.functional.conv2d(*a, padding=padding), arrays, [True] * len(arrays), dy
    )
    pairs = [(y.data, ty.detach(), out)]
    pairs += [(a.grad, t.grad, tol) for a, t, tol in zip(ours, theirs, grads, strict=True)]
    for ours_value, torch_value, (terms, n) in pairs:
        assert ours_value.dtype == dtype
        # a tile mixes the terms of its neighbours: the array's largest sum |terms| bounds them
        assert_sums_close(ours_value, torch_value, terms.max(), n, growth=WINOGRAD_GROWTH)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_uneven_chunks_keep_their_tiles_for_the_backward(monkeypatch, dtype):
    """Five samples in chunks of two: the forward keeps one tile array per chunk (2, 2, 1) and
    the backward walks the same chunks."""
    monkeypatch.setattr(winograd, "_chunk", lambda *args, **kwargs: 2)
    x = np.ones((5, 8, 6, 7), dtype)
    _, cache = conv.conv2d_forward(x, np.ones((9, 8, 3, 3), dtype), padding=1)
    assert [a.shape[1] for a in cache.v] == [2, 2, 1]
    _check_winograd_layer(((5, 8, 6, 7), (9, 8, 3, 3), 1, True), dtype, seed=3)


def test_backward_skips_what_is_not_needed():
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((1, 16, 6, 6)), rng.standard_normal((16, 16, 3, 3))
    y, cache = conv.conv2d_forward(x, w, padding=1)
    assert isinstance(cache, winograd.WinogradCache)
    dx, dw, db = conv.conv2d_backward(np.ones_like(y), cache, needs=(False, True, False))
    assert dx is None and db is None and dw.shape == w.shape


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_out_of_range_values_take_the_windows_path(dtype):
    """Out of Winograd's range the direct sums run: the windows path, or the direct kernel
    (ops.direct) or row windows (ops.row_windows), which sum the same products."""
    big = np.finfo(dtype).max / 8
    x, w = np.ones((1, 8, 6, 6), dtype), np.full((8, 8, 3, 3), 0.01, dtype)
    assert type(conv.conv2d_forward(x, w)[1]) is winograd.WinogradCache
    direct_sums = (conv.ConvCache, direct.DirectCache, row_windows.RowsCache)
    for a, b in [(x * big, w), (x * np.inf, w), (x, w * np.nan)]:
        assert type(conv.conv2d_forward(a, b)[1]) in direct_sums
    y, cache = conv.conv2d_forward(x, w)
    dy = np.ones_like(y)
    dy[0, 0, 0, 0] = np.inf  # the backward falls back too
    dx, dw, _ = conv.conv2d_backward(dy, cache)
    with compiled(False), np.errstate(invalid="ignore"):
        windows = conv.conv2d_backward(dy, conv.conv2d_forward(x, w)[1])
    terms = conv.conv2d_backward(abs(dy), cache)
    assert_sums_close(dx, windows[0], terms[0], 8 * 9)  # inf where the windows path has inf
    assert_sums_close(dw, windows[1], terms[1], 16)
    assert np.isinf(dx[0, :, :3, :3]).all() and not np.isnan(dx).any()


def test_training_chunks_only_with_one_blas_thread(monkeypatch):
    """With more BLAS threads training takes the batch whole (a chunk's GEMMs are too small to
    thread); a forward alone stays in chunks."""
    monkeypatch.setattr(winograd, "STREAM_BYTES", 1)
    monkeypatch.setattr(winograd, "MIN_TILES", 1)
    monkeypatch.setattr(winograd, "blas_threads", lambda: 1)
    assert winograd._chunk(5, 8, 8, 16, 4, training=True) == 1
    monkeypatch.setattr(winograd, "blas_threads", lambda: 2)
    assert winograd._chunk(5, 8, 8, 16, 4, training=True) == 5
    assert winograd._chunk(5, 8, 8, 16, 4, training=False) == 1


def test_a_chunk_holds_about_stream_bytes_of_tiles_but_at_least_min_tiles(monkeypatch):
    monkeypatch.setattr(winograd, "blas_threads", lambda: 1)
    monkeypatch.setattr(winograd, "STREAM_BYTES", 1 << 20)
    monkeypatch.setattr(winograd, "MIN_TILES", 512)
    sample = 16 * 64 * 256 * 4  # one sample's (16, C, T) tiles, C = 64, T = 256: 1 MB
    assert sample == 1 << 20
    assert winograd._chunk(32, 64, 64, 256, 4, training=False) == 2  # 512 tiles, not 256
    assert winograd._chunk(64, 16, 16, 196, 4, training=True) == 5  # ~1 MB: 980 tiles
    assert winograd._chunk(64, 16, 16, 196, 4, training=False) == 5
