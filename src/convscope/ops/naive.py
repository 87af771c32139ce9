"""Naive loop twins: the definitions, written to be read, not run on real data.

They are the reference that tests and explain compare the vectorised ops against.
Single image, no batch: A (C, H, W), W (C, KH, KW).
"""

import numpy as np


def corr2d(a, w, b=0.0, stride=1, padding=0, dilation=1):
    """Z[i,j] = b + sum_{c,u,v} A[c, i*S+u*D, j*S+v*D] * W[c,u,v]  (A zero-padded by P)."""
    a = np.pad(a, ((0, 0), (padding, padding), (padding, padding)))
    c, kh, kw = w.shape
    oh = (a.shape[1] - dilation * (kh - 1) - 1) // stride + 1
    ow = (a.shape[2] - dilation * (kw - 1) - 1) // stride + 1
    z = np.zeros((oh, ow), dtype=np.result_type(a, w))
    for i in range(oh):
        for j in range(ow):
            win = a[:, i * stride : i * stride + dilation * (kh - 1) + 1 : dilation,
                    j * stride : j * stride + dilation * (kw - 1) + 1 : dilation]  # fmt: skip
            z[i, j] = (win * w).sum() + b
    return z


def pool2d(a, kernel, stride=None, reduce=np.max):
    """Y[c,i,j] = reduce(A[c, i*S : i*S+K, j*S : j*S+K]); channels are kept."""
    stride = stride or kernel
    c, h, w = a.shape
    oh, ow = (h - kernel) // stride + 1, (w - kernel) // stride + 1
    y = np.zeros((c, oh, ow), dtype=a.dtype)
    for i in range(oh):
        for j in range(ow):
            win = a[:, i * stride : i * stride + kernel, j * stride : j * stride + kernel]
            y[:, i, j] = reduce(win, axis=(1, 2))
    return y
