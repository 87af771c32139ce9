"""explain conv / stride / padding / channels: hand-computed numbers, the engine and PyTorch agree."""

import numpy as np
import pytest
import torch

import convscope.explain as ex
import convscope.nn.functional as F
from convscope.errors import ShapeError

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
    t = torch.nn.functional.conv2d(
        torch.tensor(a[None, None]),
        torch.tensor(w[None, None]),
        torch.tensor([b], dtype=torch.float64),
        **kw,
    )
    return t.numpy()[0, 0]


@pytest.mark.parametrize(
    ("stride", "padding", "expected"),
    [(1, 0, Z_S1_P0), (2, 0, Z_S2_P0), (1, 1, Z_S1_P1), (2, 1, Z_S2_P1)],
)
def test_conv_4x4_with_2x2_kernel_hand_computed(stride, padding, expected):
    trace = ex.conv(A, K, stride=stride, padding=padding)
    np.testing.assert_array_equal(trace.output, expected)
    np.testing.assert_allclose(
        trace.output, _engine(A, K, stride=stride, padding=padding), rtol=1e-12
    )
    np.testing.assert_allclose(
        trace.output, _torch(A, K, stride=stride, padding=padding), rtol=1e-12
    )
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
            # two GEMMs of different shapes sum in different orders: a few ulps of sum |terms|
            terms = F.conv2d(abs(a)[None], abs(w)[None], np.array([0.5]), stride=s, padding=p)
            terms = terms.numpy()[0, 0]
            tol = 8 * (w.size + 1) * np.finfo(np.float64).eps * terms
            assert np.all(np.abs(trace.output - z1[::s, ::s]) <= tol)
            full = F.conv2d(a[None], w[None], np.array([0.5]), stride=s, padding=p).numpy()[0, 0]
            np.testing.assert_allclose(trace.output, full, rtol=1e-12, atol=1e-12)
            assert trace.ok
    trace = ex.stride(A, K, stride=2)
    np.testing.assert_array_equal(trace.output, Z_S2_P0)
    assert set(trace.marks["Z_1"]["kept"]) == {(0, 0), (0, 2), (2, 0), (2, 2)}


def test_padding_marks_the_zeros_and_same_keeps_the_size():
    trace = ex.padding(A, np.ones((3, 3)), padding="same")
    assert trace.output.shape == (4, 4)
    muted = trace.marks["Ap"]["muted"]
    assert len(muted) == 6 * 6 - 4 * 4 and (0, 0) in muted and (1, 1) not in muted
    np.testing.assert_allclose(trace.output, _torch(A, np.ones((3, 3)), padding="same"), rtol=1e-12)
    np.testing.assert_array_equal(ex.padding(A, K, padding=1).output, Z_S1_P1)


def test_dilation_and_channels_match_the_engine():
    rng = np.random.default_rng(2)
    a, w = rng.normal(size=(3, 7, 7)), rng.normal(size=(3, 2, 3))
    trace = ex.conv(a, w, 0.25, stride=2, padding=1, dilation=2)
    expected = torch.nn.functional.conv2d(
        torch.tensor(a[None]), torch.tensor(w[None]), torch.tensor([0.25], dtype=torch.float64),
        stride=2, padding=1, dilation=2,
    )  # fmt: skip
    np.testing.assert_allclose(trace.output, expected.numpy()[0, 0], rtol=1e-10)
    assert trace.ok and "Ap[2," in trace.steps[0].formula


def test_channels_sums_one_map_per_channel_plus_bias():
    a = np.stack([np.ones((3, 3)), 2 * np.ones((3, 3))])
    w = np.array([[[[1, 0], [0, 0]], [[0, 0], [0, 1]]], [[[1, 1], [1, 1]], [[-1, -1], [-1, -1]]]])
    trace = ex.channels(a, w, [1, -1])
    # filter 0: 1*1 + 2*1 + 1 = 4; filter 1: 4*1 + 4*2*(-1) - 1 = -5
    np.testing.assert_array_equal(trace.output, [np.full((2, 2), 4.0), np.full((2, 2), -5.0)])
    rng = np.random.default_rng(3)
    a, w, b = rng.normal(size=(3, 5, 5)), rng.normal(size=(4, 3, 2, 2)), rng.normal(size=4)
    trace = ex.channels(a, w, b, padding=1)
    np.testing.assert_allclose(
        trace.output, F.conv2d(a[None], w, b, padding=1).numpy()[0], rtol=1e-12
    )
    assert trace.ok and trace.output.shape[0] == 4


def test_channels_inline_filters_split_by_double_bar():
    trace = ex.channels("1 2; 3 4 | 0 1; 1 0", "1 0; 0 0 | 0 0; 0 1 || 1 1; 1 1 | 0 0; 0 0")
    np.testing.assert_array_equal(trace.output, [[[1.0]], [[10.0]]])  # 1 + 0; 1+2+3+4


def test_a_kernel_larger_than_the_padded_input_is_a_shape_error():
    with pytest.raises(ShapeError, match=r"kernel 3 is larger than the padded input 2"):
        ex.conv("1 2; 3 4", np.ones((3, 3)))
    with pytest.raises(ShapeError, match=r"kernel: has 1 channel\(s\) but the input has 2"):
        ex.conv(np.ones((2, 3, 3)), np.ones((1, 2, 2)))
    with pytest.raises(ShapeError, match=r"at=\(2,0\) is outside the output Z, which is 2x2"):
        ex.conv(np.ones((3, 3)), np.ones((2, 2)), at=(2, 0))
    with pytest.raises(ShapeError, match=r"one bias value, got 2 values"):
        ex.conv(np.ones((3, 3)), np.ones((2, 2)), bias=[1, 2])
