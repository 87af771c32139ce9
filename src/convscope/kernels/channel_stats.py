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


# ---- rows (layer norm, group norm): x viewed (1, R, L), statistics per row, an affine pattern
# wpat, bpat (P, L) per position of a row, row r taking pattern r % P (group norm: the G groups'
# channels, each weight repeated over its positions; layer norm: P = 1, the normalized shape)


@nb.njit(cache=True)
def normalize_rows(x, mean, invstd, wpat, bpat, y):
    """y = (x - mean[r]) * invstd[r] * wpat[r % P] + bpat[r % P] for each row r of x (1, R, L)."""
    rows, p = x.shape[1], wpat.shape[0]
    for r in range(rows):
        m, inv, w, b0, xr, yr = mean[r], invstd[r], wpat[r % p], bpat[r % p], x[0, r], y[0, r]
        for k in range(xr.size):
            yr[k] = (xr[k] - m) * inv * w[k] + b0[k]


@nb.njit(cache=True, fastmath={"reassoc"})
def row_grad_sums(dy, x, mean, invstd, wpat, sum_g, sum_g_xc, dwpat, dbpat):
    """Per row r, g = dy * wpat[r % P]: sum_g[r] = sum g, sum_g_xc[r] = sum g * (x - mean[r]);
    and dwpat[r % P] += dy * xhat, dbpat[r % P] += dy (float64 arrays, zeroed by the caller)."""
    rows, p = x.shape[1], wpat.shape[0]
    for r in range(rows):
        m, inv, w, dwr, dbr = mean[r], invstd[r], wpat[r % p], dwpat[r % p], dbpat[r % p]
        dr, xr = dy[0, r], x[0, r]
        s, t = 0.0, 0.0
        for k in range(xr.size):
            d, xc = dr[k], xr[k] - m
            g = d * w[k]
            s += g
            t += g * xc
            dwr[k] += d * (xc * inv)
            dbr[k] += d
        sum_g[r] = s
        sum_g_xc[r] = t


@nb.njit(cache=True)
def row_input_grad(dy, x, mean, invstd, wpat, mean_g, mean_g_xhat, dx):
    """dx = (g - mean(g) - xhat * mean(g * xhat)) * invstd per row, g = dy * wpat[r % P]."""
    rows, p = x.shape[1], wpat.shape[0]
    for r in range(rows):
        m, inv, w, gm, gxm = mean[r], invstd[r], wpat[r % p], mean_g[r], mean_g_xhat[r]
        dr, xr, out = dy[0, r], x[0, r], dx[0, r]
        for k in range(xr.size):
            out[k] = (dr[k] * w[k] - gm - (xr[k] - m) * inv * gxm) * inv
