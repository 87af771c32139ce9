"""The identities behind conv backprop, each side computed with convscope's own ops (no torch).

stride:  conv(X, W, stride=S) == conv(X, W, stride=1)[::S, ::S] == downsample(conv(X, W), S)
dL/dW:   dW[f,c] = correlation of X[:, c] with dO[:, f]  = conv(X^T, dO^T, stride=D, dilation=S)
dL/dX:   dX = full conv of rot180(W)^T with dilate(dO, S)  (padding D*(K-1), dilation D), cropped
"""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import convscope.nn.functional as F
from convscope.ops import conv
from tolerance import assert_sums_close

# Each side sums the same products in its own order (BLAS blocks by size): equal up to rounding
# of sum |terms|, which is the identity's side computed from |x|, |w| and |dO|.


@st.composite
def cases(draw):
    """groups=1 conv2d calls with stride, padding and dilation; (x, w, stride, padding, dilation)."""
    kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    size = tuple(
        max(1, d * (k - 1) + 1 - 2 * p) + draw(st.integers(0, 6))
        for k, d, p in zip(kernel, dilation, padding, strict=True)
    )
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    x = rng.standard_normal((draw(st.integers(1, 3)), draw(st.integers(1, 3)), *size))
    w = rng.standard_normal((draw(st.integers(1, 3)), x.shape[1], *kernel))
    return x, w, stride, padding, dilation


def forward_and_grads(x, w, stride, padding, dilation, seed=0):
    """The op under test: y, and (dx, dw) for a random upstream gradient dO."""
    y, cache = conv.conv2d_forward(x, w, stride=stride, padding=padding, dilation=dilation)
    d_out = np.random.default_rng(seed).standard_normal(y.shape)
    dx, dw, _ = conv.conv2d_backward(d_out, cache)
    return y, d_out, dx, dw


@settings(max_examples=60, deadline=None)
@given(case=cases())
def test_stride_is_the_stride_1_output_with_the_intermediates_dropped(case):
    x, w, stride, padding, dilation = case
    strided = F.conv2d(x, w, stride=stride, padding=padding, dilation=dilation).data
    dense = F.conv2d(x, w, stride=1, padding=padding, dilation=dilation).data
    terms = F.conv2d(abs(x), abs(w), stride=stride, padding=padding, dilation=dilation).data
    n = w[0].size
    assert_sums_close(strided, dense[:, :, :: stride[0], :: stride[1]], terms, n)
    assert_sums_close(strided, F.downsample(dense, stride).data, terms, n)


@settings(max_examples=60, deadline=None)
@given(case=cases())
def test_weight_gradient_is_the_correlation_of_the_input_with_the_output_gradient(case):
    x, w, stride, padding, dilation = case
    _, d_out, _, dw = forward_and_grads(x, w, stride, padding, dilation)

    def correlation(x, d_out):
        """X^T (C, N, Hp, Wp) correlated with dO^T (F, N, OH, OW): batch and channels swap roles."""
        x_t = F.pad(x, (padding[1], padding[1], padding[0], padding[0])).data.transpose(1, 0, 2, 3)
        corr = F.conv2d(x_t, d_out.transpose(1, 0, 2, 3), stride=dilation, dilation=stride).data
        return corr.transpose(1, 0, 2, 3)[:, :, : w.shape[2], : w.shape[3]]

    terms = correlation(abs(x), abs(d_out))
    assert_sums_close(dw, correlation(x, d_out), terms, d_out[:, 0].size)


@settings(max_examples=60, deadline=None)
@given(case=cases())
def test_input_gradient_is_the_full_convolution_of_the_rotated_kernel_with_the_dilated_gradient(
    case,
):
    x, w, stride, padding, dilation = case
    _, d_out, dx, _ = forward_and_grads(x, w, stride, padding, dilation)

    def full_conv(w, d_out):
        upsampled = F.dilate(d_out, stride).data
        w_rot = w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)  # rot180, in/out channels swapped
        full_pad = tuple(d * (k - 1) for d, k in zip(dilation, w.shape[2:], strict=True))
        full = F.conv2d(upsampled, w_rot, padding=full_pad, dilation=dilation).data
        # full covers the padded input up to the last row a window reaches: crop P, add zeros
        (h, wd), (fh, fw) = x.shape[2:], full.shape[2:]
        return F.pad(full, (-padding[1], wd + padding[1] - fw, -padding[0], h + padding[0] - fh))

    terms = full_conv(abs(w), abs(d_out)).data
    assert_sums_close(dx, full_conv(w, d_out).data, terms, w[:, 0].size)
