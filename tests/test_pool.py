"""Max, avg and min pooling (1-D, 2-D) against PyTorch, the naive twin and finite differences."""

import itertools
from unittest import mock

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given, settings
from hypothesis import strategies as st

import convscope as cs
import convscope.nn.functional as F
from convscope import ShapeError
from convscope.ops import naive, pool, pool_numpy
from jit_paths import jit_path  # noqa: F401  (runs this module on the NumPy and compiled paths)
from tolerance import assert_sums_close
from torch_oracle_ops import compare


def torch_pool(kind, nd, **kw):
    """PyTorch's op; min_pool has no torch twin: it is -max_pool(-x)."""
    if kind == "min":
        fn = getattr(TF, f"max_pool{nd}d")
        return lambda x: -fn(-x, **kw)
    return lambda x: getattr(TF, f"{kind}_pool{nd}d")(x, **kw)


def ours_pool(kind, nd, **kw):
    return lambda x: getattr(F, f"{kind}_pool{nd}d")(x, **kw)


def rule(kind, nd, kernel_size, **_):
    """compare's tolerance: avg sums (and spreads) up to K values; max/min route them."""
    if kind != "avg":
        return {"sums": "routes"}
    return {"sums": "products", "n": int(np.prod(np.broadcast_to(kernel_size, nd)))}


@st.composite
def pool_configs(draw):
    """A pool call that PyTorch accepts: kernel fits the padded input, padding <= kernel // 2."""
    nd = draw(st.sampled_from([1, 2]))
    kind = draw(st.sampled_from(["max", "avg", "min"]))
    square = nd == 1 or draw(st.booleans())
    kernel = (
        (draw(st.integers(1, 4)),) * nd
        if square
        else (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    )
    padding = tuple(draw(st.integers(0, k // 2)) for k in kernel)
    sizes = tuple(
        draw(st.integers(max(1, k - 2 * p), 9)) for k, p in zip(kernel, padding, strict=True)
    )
    kw = {"kernel_size": kernel[0] if square else kernel}
    stride = draw(st.one_of(st.none(), st.tuples(*[st.integers(1, 3)] * nd)))
    if stride is not None:
        kw["stride"] = stride[0] if nd == 1 else stride
    kw["padding"] = padding[0] if nd == 1 else padding
    kw["ceil_mode"] = draw(st.booleans())
    if kind == "avg":
        kw["count_include_pad"] = draw(st.booleans())
    shape = (draw(st.integers(1, 3)), draw(st.integers(1, 3)), *sizes)
    return kind, nd, shape, kw


@settings(max_examples=250, deadline=None)
@given(cfg=pool_configs(), seed=st.integers(0, 2**16), ties=st.booleans())
def test_pool_matches_torch_float64(cfg, seed, ties):
    kind, nd, shape, kw = cfg
    rng = np.random.default_rng(seed)
    x = rng.integers(-2, 3, shape).astype(np.float64) if ties else rng.standard_normal(shape)
    compare(
        ours_pool(kind, nd, **kw), torch_pool(kind, nd, **kw), [x], seed, **rule(kind, nd, **kw)
    )


@settings(max_examples=60, deadline=None)
@given(cfg=pool_configs(), seed=st.integers(0, 2**16))
def test_pool_matches_torch_float32(cfg, seed):
    kind, nd, shape, kw = cfg
    x = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    y = compare(
        ours_pool(kind, nd, **kw), torch_pool(kind, nd, **kw), [x], seed, **rule(kind, nd, **kw)
    )
    assert y.dtype == np.float32


@settings(max_examples=80, deadline=None)
@given(cfg=pool_configs(), seed=st.integers(0, 2**16), special=st.sampled_from(["", "ties", "nan"]))
def test_pool_a_sample_at_a_time_matches_torch(cfg, seed, special):
    """The NumPy path passes over a chunk of the batch at a time (pool_numpy.CHUNK_BYTES):
    every sample its own chunk here, with ties, NaN and infinities."""
    kind, nd, shape, kw = cfg
    shape = (shape[0] + 1, *shape[1:])  # at least two chunks
    rng = np.random.default_rng(seed)
    x = (
        rng.integers(-2, 3, shape).astype(np.float64)
        if special == "ties"
        else rng.standard_normal(shape)
    )
    if special == "nan":
        x.flat[rng.integers(0, x.size, 3)] = rng.choice([np.nan, np.inf, -np.inf], 3)
    with mock.patch.object(pool_numpy, "CHUNK_BYTES", 1):
        compare(
            ours_pool(kind, nd, **kw), torch_pool(kind, nd, **kw), [x], seed, **rule(kind, nd, **kw)
        )


@pytest.mark.parametrize("kind", ["max", "avg", "min"])
def test_every_small_1d_config_matches_torch_including_ceil_mode_edges(kind):
    """Exhaustive: sizes 1..7, kernel 1..4, stride 1..3, padding 0..k//2, both ceil modes.
    Includes the sizes where a ceil_mode window would start in the right padding."""
    rng = np.random.default_rng(0)
    for n, k, s, ceil in itertools.product(range(1, 8), range(1, 5), range(1, 4), [False, True]):
        for p in range(k // 2 + 1):
            kw = dict(kernel_size=k, stride=s, padding=p, ceil_mode=ceil)
            x = rng.standard_normal((1, 2, n))
            if k > n + 2 * p:
                with pytest.raises(ShapeError, match="larger than the padded input"):
                    ours_pool(kind, 1, **kw)(x)
                continue
            compare(ours_pool(kind, 1, **kw), torch_pool(kind, 1, **kw), [x], **rule(kind, 1, **kw))


def test_ceil_mode_drops_a_window_that_would_start_in_the_right_padding():
    x = np.arange(5.0).reshape(1, 1, 5)
    # padded length 7, ceil((7-3)/3)+1 = 3, but window 3 would start at 6 = 5 + padding
    y = F.max_pool1d(x, 3, stride=3, padding=1, ceil_mode=True)
    assert y.shape == (1, 1, 2)
    np.testing.assert_array_equal(y.data[0, 0], [1.0, 4.0])  # windows [-1, 1] and [2, 4]


@pytest.mark.parametrize("kind", ["max", "min"])
@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=1, padding=1)])
def test_all_equal_input_routes_each_window_gradient_to_its_first_element(kind, kw):
    x = np.ones((2, 3, 6, 6))
    y = compare(ours_pool(kind, 2, **kw), torch_pool(kind, 2, **kw), [x], sums="routes")
    assert y.shape[2:] == ((3, 3) if kw.get("stride") is None else (6, 6))


@pytest.mark.parametrize("kind", ["max", "min"])
@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1)])
def test_nan_propagates_and_its_gradient_goes_to_the_last_nan_of_the_window_as_torch(kind, kw):
    x = np.random.default_rng(5).integers(0, 3, (2, 2, 6, 7)).astype(np.float64)
    x[np.random.default_rng(6).random(x.shape) < 0.3] = np.nan
    y = compare(ours_pool(kind, 2, **kw), torch_pool(kind, 2, **kw), [x], sums="routes")
    assert np.isnan(y.data).any()


@pytest.mark.parametrize("kind", ["max", "min"])
def test_infinite_inputs_tie_with_padding_but_the_gradient_stays_on_the_input(kind):
    x = np.full((1, 2, 4, 5), -np.inf if kind == "max" else np.inf)
    x[0, 1, 1:3, 2:4] = 1.0
    kw = dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)
    compare(ours_pool(kind, 2, **kw), torch_pool(kind, 2, **kw), [x], sums="routes")


STRIDED_OVERLAPS = [
    dict(kernel_size=3, stride=2, padding=1),  # ResNet's stem pool
    dict(kernel_size=(4, 3), stride=(3, 2), padding=(2, 0), ceil_mode=True),
    dict(kernel_size=3, stride=2, dilation=2),  # every tap in one of the four planes
]


@pytest.mark.parametrize(
    "kind, kw",
    [
        (kind, kw)
        for kind in ("max", "avg", "min")
        for kw in STRIDED_OVERLAPS
        if not (kind == "avg" and "dilation" in kw)  # avg pooling has no dilation (nor PyTorch's)
    ],
)
def test_overlapping_strided_windows_over_several_chunks_of_the_batch_match_torch(kind, kw):
    """The NumPy path de-interleaves such inputs by the stride (pool_numpy._grid) a chunk of
    the batch at a time: 3 samples of ~0.6 MB (float64) make 3 chunks; integer ties, inf and
    NaN in some windows; return_indices where max pooling gives them."""
    rng = np.random.default_rng(7)
    x = rng.integers(0, 4, (3, 40, 45, 44)).astype(np.float64)
    x[0, :3, 5:9, 7:10] = -np.inf if kind == "max" else np.inf
    x[1, 4, 10, 3] = np.nan
    compare(ours_pool(kind, 2, **kw), torch_pool(kind, 2, **kw), [x], **rule(kind, 2, **kw))
    if kind == "max":
        (_, ours), (_, theirs) = (
            F.max_pool2d(cs.tensor(x), return_indices=True, **kw),
            TF.max_pool2d(torch.from_numpy(x), return_indices=True, **kw),
        )
        np.testing.assert_array_equal(ours.data, theirs.numpy())
    g = pool.pool_geometry("pool", x.shape, 2, kw["kernel_size"], kw["stride"], kw.get("padding", 0),
                           kw.get("ceil_mode", False), kw.get("dilation", 1))  # fmt: skip
    assert pool_numpy._by(g) == g.stride and len(pool_numpy._sample_chunks(x)) == 3


def test_max_pool_ties_give_one_gradient_per_window():
    x = cs.tensor(np.zeros((1, 1, 4, 4)), requires_grad=True)
    F.max_pool2d(x, 2).sum().backward()
    np.testing.assert_array_equal(x.grad[0, 0], [[1, 0, 1, 0], [0, 0, 0, 0]] * 2)


def test_avg_pool_gradient_is_an_even_split_that_overlapping_windows_accumulate():
    x = cs.tensor(np.zeros((1, 1, 1, 3)), requires_grad=True)
    F.avg_pool2d(x, (1, 2), stride=1).sum().backward()
    np.testing.assert_allclose(x.grad[0, 0, 0], [0.5, 1.0, 0.5])


@pytest.mark.parametrize("kind", ["max", "avg", "min"])
@pytest.mark.parametrize(
    "kw",
    [
        dict(kernel_size=2),
        dict(kernel_size=(3, 2), stride=(2, 1), padding=(1, 1)),
        dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
    ],
)
def test_pool2d_gradcheck(kind, kw):
    x = np.random.default_rng(1).standard_normal((2, 2, 5, 6))
    assert cs.gradcheck(ours_pool(kind, 2, **kw), [x])


@pytest.mark.parametrize("kind", ["max", "avg", "min"])
def test_pool1d_gradcheck(kind):
    x = np.random.default_rng(2).standard_normal((2, 3, 7))
    assert cs.gradcheck(ours_pool(kind, 1, kernel_size=3, stride=2, padding=1, ceil_mode=True), [x])


REDUCE = {"max": np.max, "avg": np.mean, "min": np.min}


@settings(max_examples=60, deadline=None)
@given(
    kind=st.sampled_from(sorted(REDUCE)),
    k=st.integers(1, 4),
    s=st.integers(1, 3),
    extra=st.tuples(st.integers(0, 5), st.integers(0, 5)),
    c=st.integers(1, 3),
    seed=st.integers(0, 2**16),
)
def test_vectorised_forward_agrees_with_the_naive_loop_twin(kind, k, s, extra, c, seed):
    a = np.random.default_rng(seed).standard_normal((c, k + extra[0], k + extra[1]))
    y, _ = getattr(pool, f"{kind}_pool2d_forward")(a[None], kernel_size=k, stride=s)
    twin = naive.pool2d(a, k, s, reduce=REDUCE[kind])
    if kind == "avg":  # k*k values summed in two orders
        assert_sums_close(y[0], twin, naive.pool2d(np.abs(a), k, s, reduce=np.mean), k * k)
    else:  # the extreme is one of the values: exact
        np.testing.assert_array_equal(y[0], twin)


def test_integer_pixels_are_promoted_and_channels_kept():
    img = np.arange(32, dtype=np.uint8).reshape(1, 2, 4, 4)
    y = F.max_pool2d(img, 2)
    assert y.dtype == np.float32 and y.shape == (1, 2, 2, 2)
    np.testing.assert_array_equal(y.data[0, 0], [[5, 7], [13, 15]])


def test_stride_defaults_to_the_kernel_and_nan_propagates():
    x = np.arange(36.0).reshape(1, 1, 6, 6)
    x[0, 0, 0, 0] = np.nan
    y = F.max_pool2d(x, 3).data
    assert y.shape == (1, 1, 2, 2) and np.isnan(y[0, 0, 0, 0]) and y[0, 0, 1, 1] == 35


BAD = [
    (F.max_pool2d, (3, 4), dict(kernel_size=2), r"expected a 4-D input \(N, C, H, W\) or a 3-D \(C, H, W\) \(one sample\), got 2-D"),
    (F.avg_pool1d, (2, 3, 4, 4), dict(kernel_size=2), r"expected a 3-D input \(N, C, L\) or a 2-D \(C, L\) \(one sample\), got 4-D"),
    (F.max_pool2d, (1, 1, 4, 4), dict(kernel_size=0), "kernel_size must be a positive integer"),
    (F.min_pool2d, (1, 1, 4, 4), dict(kernel_size=2.5), r"kernel_size=2.5 must be an integer"),
    (F.avg_pool2d, (1, 1, 4, 4), dict(kernel_size=(2, 2, 2)), "tuple of 2 integers"),
    (F.max_pool2d, (1, 1, 4, 4), dict(kernel_size=2, stride=0), "stride must be a positive"),
    (F.max_pool1d, (1, 1, 4), dict(kernel_size=2, stride=1.5), r"stride=1.5 must be an integer"),
    (F.max_pool2d, (1, 1, 4, 4), dict(kernel_size=3, padding=2), r"padding=2 is more than half of kernel_size=3.*padding <= 1"),
    (F.avg_pool2d, (1, 1, 4, 4), dict(kernel_size=2, padding=-1), "padding must be >= 0, got padding=-1"),
    (F.max_pool2d, (1, 1, 2, 5), dict(kernel_size=3), r"kernel 3 is larger than the padded input 2 along spatial axis 0 \(input 2, padding=0\)"),
]  # fmt: skip


@pytest.mark.parametrize(("fn", "shape", "kw", "message"), BAD)
def test_bad_input_is_a_shape_error_with_a_sentence(fn, shape, kw, message):
    with pytest.raises(ShapeError, match=message):
        fn(np.zeros(shape), **kw)


def test_tensor_input_and_torch_layout_agree_for_a_typical_layer():
    x = np.random.default_rng(3).standard_normal((4, 8, 28, 28)).astype(np.float32)
    y = F.max_pool2d(cs.tensor(x), 2)  # max pooling moves values: exact
    np.testing.assert_array_equal(y.data, TF.max_pool2d(torch.tensor(x), 2).numpy())
