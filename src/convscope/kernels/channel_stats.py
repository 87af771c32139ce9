"""Batch normalisation's per-channel passes, compiled with Numba; x viewed as (N, C, L).

    moments:   mean[c] = sum x / M,  var[c] = sum (x - mean)^2 / M      (M = N*L, biased)
    normalize: y = (x - mean) * invstd * weight + bias
    grad sums: sum dy,  sum dy * (x - mean)                               (per channel)
    input grad (training): dx = (g - mean(g) - xhat * mean(g * xhat)) * invstd,  g = dy * weight
               (eval):     dx = g * invstd

One channel at a time: its N runs of L values are read from memory once and stay in L2 for
the passes after the first (a channel of (64, 16, 28, 28) is 200 KB). The sums are float64
(reassociated, so that LLVM vectorises them; NaN and inf still propagate); the elementwise
passes compute in x's dtype with the per-channel values cast to it, as the NumPy path does.
Division by zero and the square root stay with the caller (NumPy's rules: inf and nan).
"""

import numba as nb


@nb.njit(cache=True, fastmath={"reassoc"})
def moments(x, mean, var):
    """mean[c], var[c] (float64 arrays of C) of x (N, C, L): two passes, centred."""
    n, c, l = x.shape
    count = n * l
    for ch in range(c):
        s = 0.0
        for b in range(n):
            row = x[b, ch]
            for k in range(l):
                s += row[k]
        m = s / count
        s2 = 0.0
        for b in range(n):
            row = x[b, ch]
            for k in range(l):
                d = row[k] - m
                s2 += d * d
        mean[ch] = m
        var[ch] = s2 / count


@nb.njit(cache=True)
def normalize(x, mean, invstd, weight, bias, y):
    """y = (x - mean) * invstd * weight + bias per channel; the (C,) arrays in x's dtype."""
    n, c, l = x.shape
    for ch in range(c):
        m, inv, w, b0 = mean[ch], invstd[ch], weight[ch], bias[ch]
        for b in range(n):
            xr, yr = x[b, ch], y[b, ch]
            for k in range(l):
                yr[k] = (xr[k] - m) * inv * w + b0


@nb.njit(cache=True, fastmath={"reassoc"})
def grad_sums(dy, x, mean, sum_dy, sum_dy_xc):
    """sum_dy[c] = sum dy, sum_dy_xc[c] = sum dy * (x - mean[c]) (float64 arrays of C)."""
    n, c, l = x.shape
    for ch in range(c):
        m, s, t = mean[ch], 0.0, 0.0
        for b in range(n):
            dr, xr = dy[b, ch], x[b, ch]
            for k in range(l):
                d = dr[k]
                s += d
                t += d * (xr[k] - m)
        sum_dy[ch] = s
        sum_dy_xc[ch] = t


@nb.njit(cache=True)
def input_grad(dy, x, mean, invstd, weight, mean_g, mean_g_xhat, training, dx):
    """dx per channel (the formulas above); mean_g = mean(g), mean_g_xhat = mean(g * xhat),
    all (C,) arrays in x's dtype (unused in eval mode)."""
    n, c, l = x.shape
    for ch in range(c):
        m, inv, w, gm, gxm = mean[ch], invstd[ch], weight[ch], mean_g[ch], mean_g_xhat[ch]
        for b in range(n):
            dr, xr, out = dy[b, ch], x[b, ch], dx[b, ch]
            if training:
                for k in range(l):
                    out[k] = (dr[k] * w - gm - (xr[k] - m) * inv * gxm) * inv
            else:
                for k in range(l):
                    out[k] = dr[k] * w * inv
