"""batch_norm against PyTorch (values, gradients, running statistics) and finite differences,
on the NumPy path and the compiled one (kernels.channel_stats)."""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given, settings
from hypothesis import strategies as st

import convscope as cs
import convscope.nn.functional as F
from jit_paths import jit_path  # noqa: F401  (runs this module on the NumPy and compiled paths)
from tolerance import assert_values_close, centering_gain
from torch_oracle_ops import compare

DTYPES = st.sampled_from([np.float64, np.float64, np.float32])


@st.composite
def batch_norm_case(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    spatial = tuple(draw(st.lists(st.integers(1, 4), max_size=2)))
    n, c = draw(st.integers(2, 4)), draw(st.integers(1, 4))
    dtype = draw(DTYPES)
    x = (rng.standard_normal((n, c, *spatial)) * 3 + 1).astype(dtype)
    affine = draw(st.sampled_from(["both", "weight", "none"]))
    params = [
        rng.standard_normal(c).astype(dtype)
        for _ in range({"both": 2, "weight": 1, "none": 0}[affine])
    ]
    stats = (rng.standard_normal(c).astype(dtype), (rng.random(c) + 0.5).astype(dtype))
    kw = dict(training=draw(st.booleans()), momentum=draw(st.sampled_from([0.1, 0.3])), eps=1e-5)
    return x, params, stats, kw  # fmt: skip


@settings(max_examples=120, deadline=None)
@given(case=batch_norm_case())
def test_batch_norm_matches_torch_with_running_stats(case):
    x, params, (rm, rv), kw = case
    ours_stats, torch_stats = (rm.copy(), rv.copy()), (torch.tensor(rm), torch.tensor(rv))
    compare(
        lambda a, *p: F.batch_norm(a, *ours_stats, *p, **kw),
        lambda a, *p: TF.batch_norm(a, *torch_stats, *p, **kw),
        [x, *params],
        gain=centering_gain(x, (0, *range(2, x.ndim)), kw["eps"]) if kw["training"] else 1.0,
    )
    for ours, theirs in zip(ours_stats, torch_stats, strict=True):
        assert_values_close(ours, theirs, dtype=x.dtype, err_msg="running statistic")


def test_batch_norm_running_stats_after_training_steps_then_eval_equal_torch():
    rng = np.random.default_rng(9)
    rm, rv = np.zeros(3), np.ones(3)
    rm_t, rv_t = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    w, b = rng.standard_normal(3), rng.standard_normal(3)
    for step in range(4):
        x = rng.standard_normal((5, 3, 4, 4)) * (step + 1) + step
        ours = F.batch_norm(x, rm, rv, w, b, training=True)
        theirs = TF.batch_norm(
            torch.tensor(x), rm_t, rv_t, torch.tensor(w), torch.tensor(b), training=True
        )
        assert_values_close(ours, theirs)
    assert_values_close(rm, rm_t, err_msg="running_mean")
    assert_values_close(rv, rv_t, err_msg="running_var")
    x = rng.standard_normal((2, 3, 4, 4))
    compare(
        lambda a: F.batch_norm(a, rm, rv, w, b),
        lambda a: TF.batch_norm(a, rm_t, rv_t, torch.tensor(w), torch.tensor(b)),
        [x],
    )
    assert_values_close(rm, rm_t, err_msg="running_mean unchanged in eval")


def test_batch_norm_updates_tensor_buffers_in_place():
    buf_mean, buf_var = cs.zeros(2), cs.ones(2)
    F.batch_norm(np.array([[1.0, 2.0], [3.0, 6.0]]), buf_mean, buf_var, training=True, momentum=0.5)
    np.testing.assert_allclose(buf_mean.data, [1.0, 2.0])  # 0.5 * 0 + 0.5 * mean
    np.testing.assert_allclose(buf_var.data, [1.5, 4.5])  # 0.5 * 1 + 0.5 * unbiased var


@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_gradcheck(training):
    rng = np.random.default_rng(10)
    x, w, b = rng.standard_normal((3, 2, 2, 3)), rng.standard_normal(2), rng.standard_normal(2)
    rm, rv = rng.standard_normal(2), rng.random(2) + 0.5

    def fn(a, weight, bias):  # fresh stats each call: finite differences must not drift them
        return F.batch_norm(a, rm.copy(), rv.copy(), weight, bias, training=training)

    assert cs.gradcheck(fn, [x, w, b])


def test_mixed_float_parameters_promote_as_numpy_does():
    """float32 x with a float64 bias gives float64, as x * weight + bias does in NumPy (y is
    never narrowed by an in-place add)."""
    x = np.random.default_rng(5).random((4, 3, 5, 5)).astype(np.float32)
    w32, b64 = np.ones(3, np.float32), np.zeros(3)
    assert F.batch_norm(x, None, None, w32, b64, training=True).dtype == np.float64
    assert (
        F.batch_norm(x, None, None, w32, b64.astype(np.float32), training=True).dtype == np.float32
    )
