"""Each compiled kernel equals its NumPy twin in ops (called with CONVSCOPE_JIT=0): moved values
exactly, sums up to the rounding of their terms (tolerance.py), NaN and infinities where the
twin has them."""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from convscope import ShapeError, kernels
from convscope.ops import conv, pool
from jit_paths import compiled
from tolerance import assert_sums_close

pytestmark = pytest.mark.skipif(not kernels.available(), reason="Numba missing or CONVSCOPE_JIT=0")

DTYPES = st.sampled_from([np.float32, np.float64])


def test_available_follows_convscope_jit(monkeypatch):
    monkeypatch.setenv("CONVSCOPE_JIT", "0")
    assert not kernels.available()
    monkeypatch.setenv("CONVSCOPE_JIT", "1")
    assert kernels.available()


@st.composite
def window_configs(draw):
    """x shape, kernel, stride, dilation, (before, after) pads and the output size of a valid conv."""
    n, c = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    size, kernel, stride, dilation, pads, out = [], [], [], [], [], []
    for _ in range(2):
        k, s, d = draw(st.integers(1, 4)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
        before, after = draw(st.integers(0, 3)), draw(st.integers(0, 3))
        h = draw(st.integers(1, 10))
        span = d * (k - 1) + 1
        assume(h + before + after >= span)
        size.append(h), kernel.append(k), stride.append(s), dilation.append(d)
        pads.append((before, after))
        out.append((h + before + after - span) // s + 1)
    return (n, c, *size), tuple(kernel), tuple(stride), tuple(dilation), tuple(pads), tuple(out)


@settings(max_examples=150, deadline=None)
@given(cfg=window_configs(), dtype=DTYPES, seed=st.integers(0, 2**16), special=st.booleans())
def test_scatter_equals_the_numpy_twin(cfg, dtype, seed, special):
    shape, kernel, stride, dilation, pads, out = cfg
    rng = np.random.default_rng(seed)
    dcols = rng.standard_normal(shape[:2] + kernel + out).astype(dtype)
    if special:  # overflowed gradients: inf + -inf is nan on both paths
        dcols.flat[rng.integers(0, dcols.size, 3)] = rng.choice([np.nan, np.inf, -np.inf], 3)
    with compiled(False), np.errstate(invalid="ignore"):  # inf - inf
        twin = conv.scatter_windows(dcols, stride, dilation, pads, shape[2:])
        terms = conv.scatter_windows(np.abs(dcols), stride, dilation, pads, shape[2:])
    dx = np.full(shape, np.nan, dtype=dtype)  # the kernel overwrites every element
    kernels.windows().scatter_windows(dcols, stride, dilation, pads, shape[2:], out=dx)
    assert_sums_close(dx, twin, terms, kernel[0] * kernel[1])


@st.composite
def pool_configs(draw):
    """A 2-D pool call the ops accept, with its output size."""
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    if draw(st.booleans()):  # the 2x2 fast path, often
        kh = kw = 2
    stride = draw(st.one_of(st.none(), st.tuples(st.integers(1, 3), st.integers(1, 3))))
    padding = (draw(st.integers(0, kh // 2)), draw(st.integers(0, kw // 2)))
    shape = (draw(st.integers(1, 3)), draw(st.integers(1, 3)),
             draw(st.integers(1, 9)), draw(st.integers(1, 9)))  # fmt: skip
    ceil_mode = draw(st.booleans())
    try:
        k, s, p, out = pool.check_pool("max_pool2d", shape, 2, (kh, kw), stride, padding, ceil_mode)
    except ShapeError:
        assume(False)
    return shape, k, s, p, out, ceil_mode


def _data(rng, shape, dtype, special):
    """Small integers (many ties), sometimes with NaN and infinities."""
    x = rng.integers(-3, 4, shape).astype(dtype)
    if special:
        x.flat[rng.integers(0, x.size, 3)] = rng.choice([np.nan, np.inf, -np.inf], 3)
    return x


@settings(max_examples=150, deadline=None)
@given(cfg=pool_configs(), dtype=DTYPES, seed=st.integers(0, 2**16), special=st.booleans(),
       kind=st.sampled_from(["max", "min"]))  # fmt: skip
def test_max_and_min_pool_equal_the_numpy_twin(cfg, dtype, seed, special, kind):
    shape, k, s, p, out, ceil_mode = cfg
    rng = np.random.default_rng(seed)
    x = _data(rng, shape, dtype, special)
    fwd = getattr(pool, f"{kind}_pool2d_forward")
    with compiled(False):
        y, cache = fwd(x, kernel_size=k, stride=s, padding=p, ceil_mode=ceil_mode)
    yk, arg = kernels.pooling().extreme_forward(x, k, s, p, out, minimum=kind == "min")
    np.testing.assert_array_equal(yk, y)  # the extreme is one of the values: exact
    values = kernels.pooling().extreme_values(x, k, s, p, out, minimum=kind == "min")
    np.testing.assert_array_equal(values, y)  # the forward that keeps no argmax (no_grad)
    dy = rng.standard_normal(y.shape).astype(dtype)
    if special:
        dy.flat[0] = rng.choice([np.nan, np.inf, -np.inf])
    with compiled(False):
        (dx,) = pool.max_pool2d_backward(dy, cache)
        (terms,) = pool.max_pool2d_backward(np.abs(dy), cache)
    dxk = kernels.pooling().extreme_backward(dy, arg, shape, k, s, p)
    assert_sums_close(dxk, dx, terms, k[0] * k[1])


@settings(max_examples=150, deadline=None)
@given(cfg=pool_configs(), dtype=DTYPES, seed=st.integers(0, 2**16), include=st.booleans(),
       special=st.booleans())  # fmt: skip
def test_avg_pool_equals_the_numpy_twin(cfg, dtype, seed, include, special):
    shape, k, s, p, out, ceil_mode = cfg
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(dtype)
    dy = rng.standard_normal(shape[:2] + out).astype(dtype)
    if special:
        x.flat[rng.integers(0, x.size, 2)] = rng.choice([np.nan, np.inf, -np.inf], 2)
        dy.flat[0] = rng.choice([np.nan, np.inf, -np.inf])
    kw = dict(kernel_size=k, stride=s, padding=p, ceil_mode=ceil_mode, count_include_pad=include)
    with compiled(False), np.errstate(invalid="ignore"):  # inf - inf
        y, cache = pool.avg_pool2d_forward(x, **kw)
        y_terms, cache_terms = pool.avg_pool2d_forward(np.abs(x), **kw)
        (dx,) = pool.avg_pool2d_backward(dy, cache)
        (dx_terms,) = pool.avg_pool2d_backward(np.abs(dy), cache_terms)
    yk = kernels.pooling().avg_forward(x, k, s, p, out, count_include_pad=include)
    assert_sums_close(yk, y, y_terms, k[0] * k[1])
    dxk = kernels.pooling().avg_backward(dy, shape, k, s, p, count_include_pad=include)
    assert_sums_close(dxk, dx, dx_terms, k[0] * k[1])


@settings(max_examples=100, deadline=None)
@given(
    shape=st.tuples(st.integers(2, 4), st.integers(1, 4), st.integers(1, 6), st.integers(1, 6)),
    dtype=DTYPES,
    seed=st.integers(0, 2**16),
    training=st.booleans(),
    special=st.booleans(),
)
def test_batch_norm_equals_the_numpy_twin(shape, dtype, seed, training, special):
    """kernels.channel_stats (float64 sums) against ops.norm's NumPy path: y, dx, dw, db and the
    running statistics, to the rounding of float sums scaled by the centring's gain."""
    from convscope.ops import norm
    from tolerance import assert_values_close, centering_gain

    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * 3 + 1).astype(dtype)
    w, b = rng.standard_normal(shape[1]).astype(dtype), rng.standard_normal(shape[1]).astype(dtype)
    dy = rng.standard_normal(shape).astype(dtype)
    if special:
        x.flat[rng.integers(0, x.size)] = rng.choice([np.nan, np.inf, -np.inf])
    stats = [rng.standard_normal(shape[1]), rng.random(shape[1]) + 0.5]
    kw = dict(training=training, momentum=0.1, eps=1e-5)
    twin, ours = [a.copy() for a in stats], [a.copy() for a in stats]
    with compiled(False), np.errstate(invalid="ignore"):
        y, cache = norm.batch_norm_forward(x, w, b, running_mean=twin[0], running_var=twin[1], **kw)
        grads = norm.batch_norm_backward(dy, cache)
    with np.errstate(invalid="ignore"):
        yk, cache_k = norm.batch_norm_forward(
            x, w, b, running_mean=ours[0], running_var=ours[1], **kw
        )
        grads_k = norm.batch_norm_backward(dy, cache_k)
    assert isinstance(cache_k, norm.BatchNormCache)
    finite = np.where(np.isfinite(x), x, 0)  # a non-finite channel is nan on both paths
    gain = centering_gain(finite, (0, 2, 3), 1e-5) if training else 1.0
    for name, a, e in zip(("y", "dx", "dw", "db"), (yk, *grads_k), (y, *grads), strict=True):
        largest = float(np.abs(np.where(np.isfinite(e), e, 0)).max())
        scale = gain * max(1.0, largest)
        assert_values_close(a, e, scale=scale, err_msg=name)
    for a, e in zip(ours, twin, strict=True):
        assert_values_close(a, e, dtype=dtype, err_msg="running statistics")
