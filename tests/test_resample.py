"""dilate, downsample, interpolate (nearest, linear, bilinear) and pad: against PyTorch or hand-made arrays,
finite differences, and every bad input with its message."""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import convscope as cs
import convscope.nn.functional as F
from convscope import ShapeError
from convscope.ops import resample as rs
from tolerance import assert_values_close, largest
from torch_oracle_ops import compare

# every op here moves values (and its backward adds the gradients that land on one element)
ROUTES = {"sums": "routes"}

shapes = st.sampled_from([1, 2]).flatmap(
    lambda nsp: st.tuples(st.integers(1, 2), st.integers(1, 3), *[st.integers(1, 7)] * nsp)
)
sizes = st.integers(1, 15)  # interpolate's size, and its scale_factor below
scales = st.sampled_from([0.3, 0.5, 0.75, 1.0, 1.5, 1.7, 2.0, 2.5, 3.0])


def test_dilate_inserts_zeros_between_samples():
    x = np.arange(1.0, 7.0).reshape(1, 1, 2, 3)
    expected = np.array(
        [[1, 0, 0, 2, 0, 0, 3],
         [0, 0, 0, 0, 0, 0, 0],
         [4, 0, 0, 5, 0, 0, 6]], dtype=float)  # fmt: skip
    np.testing.assert_array_equal(F.dilate(x, (2, 3)).data[0, 0], expected)
    np.testing.assert_array_equal(F.dilate(x[:, :, 0], 2).data[0, 0], [1, 0, 2, 0, 3])


@settings(max_examples=60, deadline=None)
@given(shape=shapes, factor=st.integers(1, 3), seed=st.integers(0, 2**16))
def test_downsample_undoes_dilate_and_matches_strided_slicing(shape, factor, seed):
    x = np.random.default_rng(seed).standard_normal(shape)
    np.testing.assert_array_equal(
        F.downsample(F.dilate(x, factor), factor).data, x
    )  # data movement
    every = (..., *[slice(None, None, factor)] * (len(shape) - 2))
    compare(lambda t: F.downsample(t, factor), lambda t: t[every], [x], seed, **ROUTES)


@pytest.mark.parametrize("factor", [2, (1, 3), (3, 2)])
def test_dilate_and_downsample_gradcheck(factor):
    x = np.random.default_rng(0).standard_normal((2, 2, 4, 5))
    assert cs.gradcheck(lambda t: F.dilate(t, factor), [x])
    assert cs.gradcheck(lambda t: F.downsample(t, factor), [x])


def test_dilate_backward_keeps_the_gradient_of_the_kept_samples():
    x = cs.tensor(np.ones((1, 1, 3)), requires_grad=True)
    y = F.dilate(x, 3)
    y.backward(np.arange(7.0).reshape(1, 1, 7))
    np.testing.assert_array_equal(x.grad[0, 0], [0, 3, 6])


# ---- interpolate ----------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(
    shape=shapes,
    by_size=st.booleans(),
    size=sizes,
    scale=scales,
    mode=st.sampled_from(["nearest", "nearest-exact", "area", "linear", "bicubic"]),
    align_corners=st.booleans(),
    recompute=st.sampled_from([None, True]),
    seed=st.integers(0, 2**16),
)
def test_interpolate_matches_torch(shape, by_size, size, scale, mode, align_corners, recompute,
                                   seed):  # fmt: skip
    """nearest and nearest-exact move values (and their backward adds the gradients that land
    on one input); area averages windows; linear on (N, C, L) and bilinear on (N, C, H, W)
    sum two (four) inputs with weights that add up to 1, bicubic sixteen. The weights come from each output's
    source position, which PyTorch's compiled kernel may round differently (a fused
    multiply-add): a last-bit difference in a position of up to n moves a weight by n ulps,
    so those values are compared by the relative rule, not the sums rule (tolerance.py)."""
    x = np.random.default_rng(seed).standard_normal(shape)
    assume(by_size or min(int(n * scale) for n in shape[2:]) >= 1)
    kw = {"size": size} if by_size else {"scale_factor": scale, "recompute_scale_factor": recompute}
    kw["mode"] = mode
    if mode in ("linear", "bicubic"):  # bicubic on (N, C, H, W) only
        two_d = "bilinear" if mode == "linear" else "bicubic"
        kw |= {"mode": "linear" if len(shape) == 3 else two_d, "align_corners": align_corners}
    routes = ROUTES if mode.startswith("nearest") else {}
    compare(
        lambda t: F.interpolate(t, **kw), lambda t: TF.interpolate(t, **kw), [x], seed, **routes
    )


def test_interpolate_float32_and_gradcheck():
    x = np.random.default_rng(0).standard_normal((1, 2, 5, 4))
    compare(
        lambda t: F.interpolate(t, size=(7, 3)),
        lambda t: TF.interpolate(t, size=(7, 3)),
        [x.astype(np.float32)],
        **ROUTES,
    )
    assert cs.gradcheck(lambda t: F.interpolate(t, scale_factor=(1.5, 0.5)), [x])
    assert cs.gradcheck(lambda t: F.interpolate(t, size=(3, 9)), [x])


@pytest.mark.parametrize("align_corners", [False, True])
def test_bilinear_float32_gradcheck_and_the_layers(align_corners):
    x = np.random.default_rng(1).standard_normal((2, 3, 5, 4))
    kw = {"mode": "bilinear", "align_corners": align_corners}
    for arg in (
        {"size": (7, 3)},
        {"scale_factor": (1.5, 0.5)},
        {"size": (3, 2), "antialias": True},
    ):
        compare(
            lambda t, arg=arg: F.interpolate(t, **arg, **kw),
            lambda t, arg=arg: TF.interpolate(t, **arg, **kw),
            [x.astype(np.float32)],
        )
        assert cs.gradcheck(lambda t, arg=arg: F.interpolate(t, **arg, **kw), [x])
    up = torch.nn.Upsample(scale_factor=2.5, **kw)
    np.testing.assert_allclose(cs.nn.Upsample(scale_factor=2.5, **kw)(x).data, up(torch.tensor(x)))
    shorthand = cs.nn.UpsamplingBilinear2d(size=(6, 9))(x).data
    np.testing.assert_allclose(
        shorthand, torch.nn.UpsamplingBilinear2d(size=(6, 9))(torch.tensor(x))
    )


@pytest.mark.parametrize("dense_entries", [0, rs.DENSE_ENTRIES])
@pytest.mark.parametrize("align_corners", [False, True])
def test_interpolation_by_matrix_and_by_runs_match_torch(monkeypatch, dense_entries, align_corners):
    """Both forms of each axis (the dense matrix product, the weighted sums of the taps and
    their runs), for every interpolating mode."""
    monkeypatch.setattr(rs, "DENSE_ENTRIES", dense_entries)
    x = np.random.default_rng(2).standard_normal((2, 3, 6, 5))
    resizes = ({"size": (13, 4)}, {"scale_factor": (0.6, 2.5)}, {"size": (1, 9)},
               {"size": (4, 3), "antialias": True})  # fmt: skip
    for base in resizes:
        for mode in ("bilinear", "bicubic"):
            kw = base | {"mode": mode, "align_corners": align_corners}
            compare(
                lambda t, kw=kw: F.interpolate(t, **kw),
                lambda t, kw=kw: TF.interpolate(t, **kw),
                [x],
            )
    kw = {"scale_factor": 1.7, "mode": "linear", "align_corners": align_corners}
    compare(lambda t: F.interpolate(t, **kw), lambda t: TF.interpolate(t, **kw), [x[:, :, 0]])


def test_bilinear_spreads_inf_and_nan_as_torch():
    """Only the outputs that read an inf or NaN get it (not its whole row, as 0 * inf in a
    dense product would); the gradient likewise."""
    x = np.random.default_rng(3).standard_normal((1, 2, 5, 6))
    x[0, 0, 2, 3], x[0, 1, 1, 1] = np.inf, np.nan
    kw = {"size": (9, 11), "mode": "bilinear"}
    ours, theirs = cs.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, ty = F.interpolate(ours, **kw), TF.interpolate(theirs, **kw)
    dy = np.ones(y.shape)
    dy[0, 0, 4, 6] = np.inf
    y.backward(dy)
    ty.backward(torch.tensor(dy))
    for a, b in ((y.data, ty.detach().numpy()), (ours.grad, theirs.grad.numpy())):
        assert np.array_equal(np.isnan(a), np.isnan(b)) and np.array_equal(np.isinf(a), np.isinf(b))
        finite = np.isfinite(b)
        assert finite.sum() > a.size // 2
        np.testing.assert_allclose(a[finite], b[finite], rtol=1e-12, atol=1e-12)


@settings(max_examples=100, deadline=None)
@given(
    shape=st.tuples(st.integers(1, 2), st.integers(1, 2), st.integers(1, 12), st.integers(1, 12)),
    by_size=st.booleans(),
    size=st.tuples(sizes, sizes),
    scale=st.tuples(scales, scales),
    mode=st.sampled_from(["bilinear", "bicubic"]),
    align_corners=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_antialiased_modes_match_torch(shape, by_size, size, scale, mode, align_corners, seed):
    """antialias=True: a filter as wide as an output pixel when shrinking (the triangle, or
    the cubic with a = -0.5). Ours is one linear map forward and back (<y, dy> = <x, dx>) and
    gives PyTorch's gradient everywhere; PyTorch's forward is compared where it is the adjoint
    of its own backward. It is not everywhere: with an output one column wide and the height
    changed, or an axis that keeps its size under a scale_factor other than 1, its gradcheck
    fails (the next test shows one)."""
    out = size if by_size else tuple(int(n * s) for n, s in zip(shape[2:], scale, strict=True))
    assume(min(out) >= 1)
    kw = {"size": size} if by_size else {"scale_factor": scale}
    kw |= {"mode": mode, "align_corners": align_corners, "antialias": True}
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    ours, theirs = cs.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, ty = F.interpolate(ours, **kw), TF.interpolate(theirs, **kw)
    dy = rng.standard_normal(y.shape)
    y.backward(dy)
    ty.backward(torch.tensor(dy))
    ty = ty.detach().numpy()
    scale_ = largest(x, dy, y.data, ty, ours.grad)
    assert_values_close(ours.grad, theirs.grad, scale=scale_, dtype=np.float64)
    inner = scale_ * scale_ * x.size * 1e-12
    assert abs(np.vdot(y.data, dy) - np.vdot(x, ours.grad)) <= inner
    if abs(np.vdot(ty, dy) - np.vdot(x, theirs.grad.numpy())) <= inner:
        assert_values_close(y.data, ty, scale=scale_, dtype=np.float64)


def test_antialiased_bilinear_to_one_column_is_the_adjoint_of_torchs_backward():
    """Where PyTorch's forward and backward disagree (an output one column wide, the height
    changed), ours match its backward and pass gradcheck: the forward is the same linear map."""
    x = np.random.default_rng(4).standard_normal((1, 2, 5, 4))
    kw = {"size": (2, 1), "mode": "bilinear", "antialias": True}
    theirs = torch.tensor(x, requires_grad=True)
    assert not torch.autograd.gradcheck(
        lambda t: TF.interpolate(t, **kw), (theirs,), raise_exception=False
    )
    ours = cs.tensor(x, requires_grad=True)
    y = F.interpolate(ours, **kw)
    dy = np.random.default_rng(5).standard_normal(y.shape)
    y.backward(dy)
    TF.interpolate(theirs, **kw).backward(torch.tensor(dy))
    np.testing.assert_allclose(ours.grad, theirs.grad.numpy(), rtol=1e-12, atol=1e-14)
    assert cs.gradcheck(lambda t: F.interpolate(t, **kw), [x])
    dense = np.stack([F.interpolate(e.reshape(x.shape), **kw).data.ravel() for e in np.eye(x.size)])
    np.testing.assert_allclose(dense @ dy.ravel(), ours.grad.ravel(), rtol=1e-12, atol=1e-14)


def test_bilinear_keeps_constants_and_reads_the_corners():
    """Weights add up to 1 (a constant stays), and with align_corners the corner outputs are
    the corner inputs."""
    np.testing.assert_allclose(F.interpolate(np.full((1, 1, 3, 4), 2.5), size=(7, 5),
                                             mode="bilinear").data, 2.5)  # fmt: skip
    x = np.arange(12.0).reshape(1, 1, 3, 4)
    y = F.interpolate(x, size=(5, 7), mode="bilinear", align_corners=True).data[0, 0]
    assert [y[0, 0], y[0, -1], y[-1, 0], y[-1, -1]] == [0.0, 3.0, 8.0, 11.0]
    np.testing.assert_allclose(y[2, 3], 5.5)  # the centre of the four middle inputs


# ---- pad ------------------------------------------------------------------------------------


@settings(max_examples=120, deadline=None)
@given(
    shape=shapes,
    mode=st.sampled_from(["constant", "reflect", "replicate", "circular"]),
    data=st.data(),
    seed=st.integers(0, 2**16),
)
def test_pad_matches_torch(shape, mode, data, seed):
    sizes = shape[:1:-1]  # last axis first, as the pad tuple
    pad = []
    for n in sizes:
        hi = {"reflect": n - 1, "circular": n}.get(mode, 3)
        lo = -(n // 2) if mode == "constant" else 0
        pad += [data.draw(st.integers(lo, hi)), data.draw(st.integers(lo, hi))]
    value = data.draw(st.sampled_from([None, 1.5])) if mode == "constant" else None
    x = np.random.default_rng(seed).standard_normal(shape)
    kw = {"mode": mode, "value": value}
    compare(
        lambda t: F.pad(t, tuple(pad), **kw),
        lambda t: TF.pad(t, tuple(pad), **kw),
        [x],
        seed,
        **ROUTES,
    )


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
def test_pad_gradcheck_and_float32(mode):
    x = np.random.default_rng(0).standard_normal((1, 2, 4, 5))
    pad = (2, 1, 3, 0)
    assert cs.gradcheck(lambda t: F.pad(t, pad, mode=mode), [x])
    compare(
        lambda t: F.pad(t, pad, mode=mode),
        lambda t: TF.pad(t, pad, mode=mode),
        [x.astype(np.float32)],
        **ROUTES,
    )


def test_constant_pad_of_the_batch_and_channel_axes():
    x = np.random.default_rng(0).standard_normal((2, 3, 4))
    pad = (1, 0, 0, 2, 1, -1)
    compare(
        lambda t: F.pad(t, pad, value=-2.0), lambda t: TF.pad(t, pad, value=-2.0), [x], **ROUTES
    )


# ---- bad input ------------------------------------------------------------------------------

X = np.zeros((1, 2, 3, 4))

BAD = [
    (
        lambda: F.dilate(np.zeros((3, 4)), 2),
        r"dilate: expected a 3-D or 4-D input \(N, C, L\) or \(N, C, H, W\), got shape \(3, 4\); for a single image add a batch axis",
    ),
    (lambda: F.dilate(X, 0), r"dilate: factor must be a positive integer, got factor=0"),
    (lambda: F.downsample(X, (2, 1.5)), r"downsample: factor=\(2, 1.5\) must hold integers"),
    (
        lambda: F.downsample(X, (2, 2, 2)),
        r"downsample: factor=\(2, 2, 2\) must be an integer or a tuple of 2 integers",
    ),
    (
        lambda: F.interpolate(X, size=4, mode="trilinear"),
        r"interpolate: mode='trilinear' is not supported; use 'nearest', 'nearest-exact', 'area',"
        r" 'linear' \(N, C, L\), 'bilinear' or 'bicubic' \(N, C, H, W\)",
    ),
    (
        lambda: F.interpolate(X, size=4, mode="linear"),
        r"interpolate: mode='linear' needs a 3-D input, got shape \(1, 2, 3, 4\); use"
        r" mode='bilinear' for \(N, C, H, W\)",
    ),
    (
        lambda: F.interpolate(X[..., 0], size=4, mode="bilinear"),
        r"interpolate: mode='bilinear' needs a 4-D input, got shape \(1, 2, 3\); use"
        r" mode='linear' for \(N, C, L\)",
    ),
    (
        lambda: F.interpolate(X[..., 0], size=4, mode="linear", antialias=True),
        r"interpolate: antialias=True applies to mode='bilinear' or 'bicubic' \(a 4-D input\),"
        r" not to mode='linear'",
    ),
    (
        lambda: F.interpolate(X, size=4, scale_factor=2.0),
        r"interpolate: give exactly one of size and scale_factor",
    ),
    (lambda: F.interpolate(X), r"interpolate: give exactly one of size and scale_factor"),
    (
        lambda: F.interpolate(X, size=4, recompute_scale_factor=True),
        r"interpolate: recompute_scale_factor applies to scale_factor, not to size=4",
    ),
    (
        lambda: F.interpolate(X, scale_factor=0.2),
        r"interpolate: scale_factor=0.2 shrinks the input \(3, 4\) to \(0, 0\)",
    ),
    (lambda: F.interpolate(X, scale_factor=-1.0), r"scale_factor=-1.0 must be a positive number"),
    (lambda: F.interpolate(X, size=(0, 2)), r"interpolate: size must be a positive integer"),
    (
        lambda: F.pad(X, (1, 2, 3)),
        r"pad: pad=\(1, 2, 3\) must be a tuple of an even number of integers",
    ),
    (
        lambda: F.pad(X, (1, 1) * 5),
        r"pad: pad=\(1, 1, 1, 1, 1, 1, 1, 1, 1, 1\) pads 5 axes but the input \(1, 2, 3, 4\) has only 4",
    ),
    (
        lambda: F.pad(X, (1, 1), mode="wrap"),
        r"pad: mode='wrap' is not one of constant, reflect, replicate, circular",
    ),
    (
        lambda: F.pad(X, (0, 0, 3, 0), mode="reflect"),
        r"pad: mode='reflect' needs padding < the axis size, got \(3, 0\) on axis 2 of size 3",
    ),
    (
        lambda: F.pad(X, (5, 0), mode="circular"),
        r"pad: mode='circular' pads \(5, 0\) on axis 3 of size 4: the crops leave 4 cells and a"
        r" pad may wrap around them once at most; pad <= 4",
    ),
    (
        lambda: F.pad(X, (-4, 0), mode="replicate"),
        r"pad: mode='replicate' pads \(-4, 0\) on axis 3 of size 4 would leave 0 cells",
    ),
    (
        lambda: F.pad(X, (-3, -2)),
        r"pad: pad \(-3, -2\) crops 5 cells from axis 3 of size 4; crop at most 4",
    ),
]


@pytest.mark.parametrize(("call", "match"), BAD)
def test_bad_input_raises_a_sentence(call, match):
    with pytest.raises(ShapeError, match=match):
        call()
