"""explain conv / stride / padding / channels: hand-computed numbers, the engine and PyTorch agree."""

import numpy as np
import pytest
import torch

import convscope.explain as ex
import convscope.nn.functional as F
from convscope.errors import ShapeError
from convscope.explain.windows import sum_check
from tolerance import assert_sums_close

A = np.array([[1, 2, 0, -1], [0, 1, 3, 2], [-2, 1, 0, 1], [3, 0, 2, -1]], dtype=np.float64)
K = np.array([[1, -1], [2, 0]], dtype=np.float64)
# Z[i,j] = Ap[i,j] - Ap[i,j+1] + 2*Ap[i+1,j], worked out by hand:
Z_S1_P0 = [[-1, 4, 7], [-5, 0, 1], [3, 1, 3]]
Z_S2_P0 = [[-1, 7], [3, 3]]
Z_S1_P1 = [
    [0, 2, 4, 0, -2],
    [-1, -1, 4, 7, 3],
    [0, -5, 0, 1, 4],
    [2, 3, 1, 3, -1],
    [-3, 3, -2, 3, -1],
]
Z_S2_P1 = [[0, 4, -2], [0, 0, 4], [-3, -2, -1]]


def _engine(a, w, b=0.0, **kw):
    return F.conv2d(a[None, None], w[None, None], np.array([b]), **kw).numpy()[0, 0]


def _torch(a, w, b=0.0, **kw):
    """One filter w (KH, KW) or (C, KH, KW) over a (H, W) or (C, H, W) -> (OH, OW)."""
    a, w = (a[None], w[None]) if a.ndim == 2 else (a, w)
    t = torch.nn.functional.conv2d(
        torch.tensor(a[None]), torch.tensor(w[None]), torch.tensor([b], dtype=torch.float64), **kw
    )
    return t.numpy()[0, 0]


@pytest.mark.parametrize(
    ("stride", "padding", "expected"),
    [(1, 0, Z_S1_P0), (2, 0, Z_S2_P0), (1, 1, Z_S1_P1), (2, 1, Z_S2_P1)],
)
def test_conv_4x4_with_2x2_kernel_hand_computed(stride, padding, expected):
    trace = ex.conv(A, K, stride=stride, padding=padding)
    # integer-valued inputs: every path sums exactly
    np.testing.assert_array_equal(trace.output, expected)
    np.testing.assert_array_equal(trace.output, _engine(A, K, stride=stride, padding=padding))
    np.testing.assert_array_equal(trace.output, _torch(A, K, stride=stride, padding=padding))
    assert trace.ok and len(trace.steps) == np.size(expected)


def test_every_step_lists_the_products_of_its_window():
    trace = ex.conv(A, K, bias=1)
    step = next(s for s in trace.steps if s.cell == (1, 1))
    first, numbers = step.formula.splitlines()
    assert first == (
        "Z[1,1] = (A[1,1]*W[0,0]) + (A[1,2]*W[0,1]) + (A[2,1]*W[1,0]) + (A[2,2]*W[1,1]) + b = 1"
    )
    assert numbers.strip() == "= (1*1) + (3*(-1)) + (1*2) + (0*0) + 1 = 1"
    assert step.result == Z_S1_P0[1][1] + 1


def test_inline_text_is_accepted_and_the_at_cell_marks_its_window():
    trace = ex.conv("0 2 -3; -2 -2 -2; 1 0 1", "1 0; 0 -1", bias=1, at=(1, 0))
    assert [s.cell for s in trace.steps] == [(1, 0)]
    assert trace.steps[0].result == -2 * 1 + 0 * -1 + 1  # A[1,0]*1 + A[2,1]*(-1) + b
    assert set(trace.steps[0].marks["A"]["focus"]) == {(1, 0), (1, 1), (2, 0), (2, 1)}


def test_stride_is_stride_one_with_the_intermediates_dropped():
    rng = np.random.default_rng(1)
    a, w = rng.normal(size=(2, 7, 6)), rng.normal(size=(2, 3, 2))
    for s in (2, 3):
        for p in (0, 1):
            trace = ex.stride(a, w, 0.5, stride=s, padding=p)
            z1 = trace.results["Z_1"]
            # two GEMMs of different shapes: the same sums in different orders
            terms = _torch(abs(a), abs(w), 0.5, stride=s, padding=p)
            assert_sums_close(trace.output, z1[::s, ::s], terms, w.size)
            full = F.conv2d(a[None], w[None], np.array([0.5]), stride=s, padding=p).numpy()[0, 0]
            assert_sums_close(trace.output, full, terms, w.size)
            assert trace.ok
    trace = ex.stride(A, K, stride=2)
    np.testing.assert_array_equal(trace.output, Z_S2_P0)  # integer-valued: exact
    assert set(trace.marks["Z_1"]["kept"]) == {(0, 0), (0, 2), (2, 0), (2, 2)}


def test_padding_marks_the_zeros_and_same_keeps_the_size():
    trace = ex.padding(A, np.ones((3, 3)), padding="same")
    assert trace.output.shape == (4, 4)
    muted = trace.marks["Ap"]["muted"]
    assert len(muted) == 6 * 6 - 4 * 4 and (0, 0) in muted and (1, 1) not in muted
    # integer-valued: exact
    np.testing.assert_array_equal(trace.output, _torch(A, np.ones((3, 3)), padding="same"))
    np.testing.assert_array_equal(ex.padding(A, K, padding=1).output, Z_S1_P1)


def test_dilation_and_channels_match_the_engine():
    rng = np.random.default_rng(2)
    a, w = rng.normal(size=(3, 7, 7)), rng.normal(size=(3, 2, 3))
    trace = ex.conv(a, w, 0.25, stride=2, padding=1, dilation=2)
    kw = dict(stride=2, padding=1, dilation=2)
    terms = _torch(abs(a), abs(w), 0.25, **kw)
    assert_sums_close(trace.output, _torch(a, w, 0.25, **kw), terms, w.size)
    assert trace.ok and "Ap[2," in trace.steps[0].formula


def test_channels_sums_one_map_per_channel_plus_bias():
    a = np.stack([np.ones((3, 3)), 2 * np.ones((3, 3))])
    w = np.array([[[[1, 0], [0, 0]], [[0, 0], [0, 1]]], [[[1, 1], [1, 1]], [[-1, -1], [-1, -1]]]])
    trace = ex.channels(a, w, [1, -1])
    # integer-valued: exact. filter 0: 1*1 + 2*1 + 1 = 4; filter 1: 4*1 + 4*2*(-1) - 1 = -5
    np.testing.assert_array_equal(trace.output, [np.full((2, 2), 4.0), np.full((2, 2), -5.0)])
    rng = np.random.default_rng(3)
    a, w, b = rng.normal(size=(3, 5, 5)), rng.normal(size=(4, 3, 2, 2)), rng.normal(size=4)
    trace = ex.channels(a, w, b, padding=1)
    terms = F.conv2d(abs(a[None]), abs(w), abs(b), padding=1).numpy()[0]
    assert_sums_close(trace.output, F.conv2d(a[None], w, b, padding=1).numpy()[0], terms, w[0].size)
    assert trace.ok and trace.output.shape[0] == 4


def test_channels_inline_filters_split_by_double_bar():
    trace = ex.channels("1 2; 3 4 | 0 1; 1 0", "1 0; 0 0 | 0 0; 0 1 || 1 1; 1 1 | 0 0; 0 0")
    np.testing.assert_array_equal(trace.output, [[[1.0]], [[10.0]]])  # 1 + 0; 1+2+3+4: exact


def test_a_kernel_larger_than_the_padded_input_is_a_shape_error():
    with pytest.raises(ShapeError, match=r"kernel 3 is larger than the padded input 2"):
        ex.conv("1 2; 3 4", np.ones((3, 3)))
    with pytest.raises(ShapeError, match=r"kernel: has 1 channel\(s\) but the input has 2"):
        ex.conv(np.ones((2, 3, 3)), np.ones((1, 2, 2)))
    with pytest.raises(ShapeError, match=r"at=\(2,0\) is outside the output Z, which is 2x2"):
        ex.conv(np.ones((3, 3)), np.ones((2, 2)), at=(2, 0))
    with pytest.raises(ShapeError, match=r"one bias value, got 2 values"):
        ex.conv(np.ones((3, 3)), np.ones((2, 2)), bias=[1, 2])


def test_the_sum_check_is_scaled_to_the_magnitudes_summed_not_to_the_result():
    # 1e8 + 0.3 - 1e8 summed in another order is 0.29999999701976776: 3e-9 off a value of 0.3,
    # within the rounding of terms of size 1e8 (the check's 1e-9 of the result once said MISMATCH)
    near = sum_check([0.3], [0.29999999701976776], "cancelling", magnitude=[2e8 + 0.3], terms=4)
    assert near.ok and near.tolerance < 1e-6
    assert not sum_check([0.3], [0.31], "wrong", magnitude=[2e8 + 0.3], terms=4).ok
    # tiny numbers: a 100% error is not hidden by a fixed 1e-9 floor
    assert not sum_check([1e-20], [2e-20], "tiny", magnitude=[1e-20], terms=4).ok
    trace = ex.conv("1e8 0.3; -1e8 0", np.ones((2, 2)))  # the whole trace: whatever BLAS's order
    assert trace.ok and trace.output.shape == (1, 1)
