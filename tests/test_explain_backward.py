"""explain backward and pool: hand-computed gradients, checked against autograd and PyTorch."""

import numpy as np
import pytest
import torch

import convscope as cs
import convscope.explain as ex
import convscope.nn.functional as F
from convscope.errors import ShapeError
from tolerance import assert_sums_close

X = np.array([[1, 2, 3], [4, 5, 6], [7, 8, 9]], dtype=np.float64)
W = np.array([[1, 0], [-1, 2]], dtype=np.float64)
DO = np.array([[1, -1], [2, 0]], dtype=np.float64)
# dW[u,v] = X[u,v] - X[u,v+1] + 2*X[u+1,v];  dX[r,q] = sum W[u,v]*dO[r-u, q-v]  (by hand)
DW = [[7, 9], [13, 15]]
DX = [[1, -1, 0], [1, 3, -2], [-2, 4, 0]]


def _autograd(x, w, do, **kw):
    xt, wt = cs.tensor(x[None], requires_grad=True), cs.tensor(w[None], requires_grad=True)
    F.conv2d(xt, wt, **kw).backward(do[None, None])
    return xt.grad[0], wt.grad[0]


def test_backward_3x3_input_2x2_filter_hand_computed():
    trace = ex.backward(X, W, DO)  # integer-valued: every sum is exact
    np.testing.assert_array_equal(trace.output["dW"][0], DW)
    np.testing.assert_array_equal(trace.output["dX"][0], DX)
    assert trace.output["db"] == 2
    dx, dw = _autograd(X[None], W[None], DO)
    np.testing.assert_array_equal(trace.output["dX"], dx)
    np.testing.assert_array_equal(trace.output["dW"], dw)
    assert trace.ok and len(trace.checks) == 7  # terms, both identities, and autograd, printed
    text = ex.render_text(trace)
    assert (
        "dW[0,0] = (X[0,0]*dO[0,0]) + (X[0,1]*dO[0,1]) + (X[1,0]*dO[1,0]) + (X[1,1]*dO[1,1]) = 7"
        in text
    )
    assert (
        "dX[1,1] = (W[1,1]*dO[0,0]) + (W[1,0]*dO[0,1]) + (W[0,1]*dO[1,0]) + (W[0,0]*dO[1,1]) = 3"
        in text
    )
    assert "vs autograd" in text and "MISMATCH" not in text


@pytest.mark.parametrize(("stride", "padding"), [(2, 0), (2, 1), (3, 1), (1, 2)])
def test_backward_with_stride_and_padding_matches_pytorch(stride, padding):
    rng = np.random.default_rng(stride * 10 + padding)
    x, w = rng.normal(size=(2, 7, 6)), rng.normal(size=(2, 3, 2))
    oh = (7 + 2 * padding - 3) // stride + 1
    ow = (6 + 2 * padding - 2) // stride + 1
    do = rng.normal(size=(oh, ow))
    trace = ex.backward(x, w, do, stride=stride, padding=padding)

    def torch_grads(x, w, do):
        xt = torch.tensor(x[None], requires_grad=True)
        wt = torch.tensor(w[None], requires_grad=True)
        y = torch.nn.functional.conv2d(xt, wt, stride=stride, padding=padding)
        y.backward(torch.tensor(do[None, None]))
        return xt.grad.numpy()[0], wt.grad.numpy()[0]

    dx, dw = torch_grads(x, w, do)
    dx_terms, dw_terms = torch_grads(abs(x), abs(w), abs(do))
    assert_sums_close(trace.output["dX"], dx, dx_terms, w.size, err_msg="dX")
    assert_sums_close(trace.output["dW"], dw, dw_terms, do.size, err_msg="dW")
    assert trace.ok


def test_backward_rejects_a_gradient_of_the_wrong_shape():
    with pytest.raises(ShapeError, match=r"grad dL/dO has shape \(3, 3\) but the output O is 2x2"):
        ex.backward(X, W, np.ones((3, 3)))


A = np.array([[1, 3, 2, 4], [5, 6, 1, 2], [7, 2, 3, 0], [1, 2, 8, 1]], dtype=np.float64)
DY = np.array([[1, 2], [3, 4]], dtype=np.float64)
POOL = {  # mode: (Y, dA) for 2x2 windows at stride 2, worked out by hand
    "max": ([[6, 4], [7, 8]], [[0, 0, 0, 2], [0, 1, 0, 0], [3, 0, 0, 0], [0, 0, 4, 0]]),
    "mean": (
        [[3.75, 2.25], [3, 3]],
        [[0.25, 0.25, 0.5, 0.5], [0.25, 0.25, 0.5, 0.5], [0.75, 0.75, 1, 1], [0.75, 0.75, 1, 1]],
    ),
    "min": ([[1, 1], [1, 0]], [[1, 0, 0, 0], [0, 0, 2, 0], [0, 0, 0, 4], [3, 0, 0, 0]]),
}
ENGINE = {"max": F.max_pool2d, "mean": F.avg_pool2d, "min": F.min_pool2d}


@pytest.mark.parametrize("mode", ["max", "mean", "min"])
def test_pool_hand_computed_values_and_gradient_routes(mode):
    trace = ex.pool(A, mode=mode, grad=DY)  # integers and quarters: every path is exact
    y, da = POOL[mode]
    np.testing.assert_array_equal(trace.output[0], y)
    np.testing.assert_array_equal(trace.results["dA"][0], da)
    x = cs.tensor(A[None, None], requires_grad=True)
    out = ENGINE[mode](x, 2)
    out.backward(DY[None, None])
    np.testing.assert_array_equal(trace.output, out.numpy()[0])
    np.testing.assert_array_equal(trace.results["dA"], x.grad[0])
    assert trace.ok


def test_pool_keeps_channels_and_matches_pytorch_with_overlap():
    rng = np.random.default_rng(5)
    a, dy = rng.normal(size=(3, 5, 5)), rng.normal(size=(3, 4, 4))
    trace = ex.pool(a, kernel_size=2, stride=1, grad=dy)
    xt = torch.tensor(a[None], requires_grad=True)
    torch.nn.functional.max_pool2d(xt, 2, 1).backward(torch.tensor(dy[None]))
    assert trace.output.shape == (3, 4, 4)
    # up to 4 overlapping windows add their gradients at one element
    xa = torch.tensor(a[None], requires_grad=True)
    torch.nn.functional.max_pool2d(xa, 2, 1).backward(torch.tensor(abs(dy[None])))
    assert_sums_close(trace.results["dA"], xt.grad.numpy()[0], xa.grad.numpy()[0], 4)
    assert "Y[0,1,1] = max(A[0, 1:3, 1:3])" in ex.render_text(trace)


@pytest.mark.parametrize("mode", ["max", "mean", "min"])
def test_pool_with_padding_matches_pytorch(mode):
    rng = np.random.default_rng(7)
    a = rng.normal(size=(2, 5, 5))
    trace = ex.pool(a, kernel_size=3, stride=2, padding=1, mode=mode)
    sign = -1.0 if mode == "min" else 1.0  # min pooling = -max_pool(-x)
    pool = torch.nn.functional.avg_pool2d if mode == "mean" else torch.nn.functional.max_pool2d

    def torch_pool(a, dy):
        """(Y, dA) of the 3x3 windows at stride 2, padding 1."""
        xt = torch.tensor(sign * a[None], requires_grad=True)
        y = sign * pool(xt, 3, 2, 1)
        y.backward(torch.tensor(dy[None]))
        return y.detach().numpy()[0], sign * xt.grad.numpy()[0]

    y, da = torch_pool(a, trace.inputs["dY"])
    # sums of up to 9 values (mean) and of the gradients of up to 4 windows at one element
    y_terms = torch_pool(abs(a), abs(trace.inputs["dY"]))[0]
    da_terms = torch_pool(a, abs(trace.inputs["dY"]))[1]
    assert_sums_close(trace.output, y, y_terms, 9, err_msg="Y")
    assert_sums_close(trace.results["dA"], da, da_terms, 9, err_msg="dA")
    assert trace.ok


def test_pool_text_says_where_the_gradient_goes():
    text = ex.render_text(ex.pool(A, grad=DY, at=(0, 1)))
    assert "Y[0,0,1] = max(A[0, 0:2, 2:4]) = max(2, 4, 1, 2) = 4   at A[0,0,3]" in text
    assert "dY[0,0,1] = 2 -> dA[0,0,3] += 2" in text
    mean = ex.render_text(ex.pool(A, grad=DY, mode="mean", at=(0, 0)))
    assert "dY[0,0,0] = 1: each of the 4 cells of its window gets 1 / 4 = 0.25" in mean


def test_pool_bad_input():
    with pytest.raises(ShapeError, match=r"mode='median' is not one of max, mean, min"):
        ex.pool(A, mode="median")
    with pytest.raises(
        ShapeError, match=r"grad has shape \(1, 3, 3\) but the output Y is \(1, 2, 2\)"
    ):
        ex.pool(A, grad=np.ones((3, 3)))
