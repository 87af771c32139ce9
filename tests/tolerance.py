"""The suite's one rule for comparing two float computations of the same numbers.

Two correct paths that add the same products in a different order (the BLAS kernel OpenBLAS
picks for the CPU, one or two threads, Winograd or windows, compiled or NumPy, PyTorch or
convscope, a hand-written sum or the engine) do not round alike. Summing n terms t_i (each a
product a_i*b_i rounded once) in any order is off by at most

    |fl(sum t_i) - sum t_i| <= gamma_n * sum |t_i|,   gamma_n = n*u / (1 - n*u),  u = eps / 2

(Higham, Accuracy and Stability of Numerical Algorithms, 2nd ed., section 3.1), so two such
paths differ by at most about (n + 1) * eps * sum |t_i|. The bound scales with the MAGNITUDES
SUMMED and the reduction length, not with the result: an average pool that cancels to -2.4e-5
from values of size 1 came out 3.8e-17 apart on two paths (SkylakeX), 1.6e-12 of the result,
so rtol=1e-12 with atol=0 failed there and passed with the Haswell kernel.

    assert_sums_close(actual, expected, magnitude, n)

magnitude is sum |t_i| per element (broadcastable; the same computation on |inputs|, e.g.
conv(|x|, |w|) + |b|, or a scalar bound), n the number of terms per element. SLACK (4) covers
the products' own rounding, a bias added after the sum, and fused multiply-adds; nothing
near a real bug (a wrong or missing term moves a value by a term's size) hides in it.

Values of ops that are not plain sums of products (exp, erf, softmax, norms, losses) are
compared with ``assert_values_close``: a relative bound per dtype plus a floor scaled to the
largest magnitude in play (the op's inputs, upstream gradient and results), since a value
computed through a cancellation (1 - p for p near 1, x - mean, batch norm's dx) keeps only
the ulps of the numbers it cancelled, and those are not at hand one by one.

Exact equality (assert_array_equal) stays only where the arithmetic is exact: integer-valued
inputs whose sums stay below 2**53 (2**24 in float32), and pure data movement.
"""

import numpy as np

SLACK = 4

# relative agreement of elementwise/composite functions (the README's "float64 to 1e-10")
RTOL = {np.dtype(np.float64): 1e-10, np.dtype(np.float32): 1e-4}
# their floor, as a fraction of the largest magnitude in play
FLOOR = {np.dtype(np.float64): 1e-12, np.dtype(np.float32): 1e-5}


def as_numpy(value):
    """An ndarray from an ndarray, a number, a convscope Tensor or a torch tensor."""
    if hasattr(value, "detach"):  # torch
        return value.detach().numpy()
    return np.asarray(getattr(value, "data", value))


def sum_atol(magnitude, n, dtype, growth=1.0):
    """The largest difference two orders of summation may show: SLACK*(n+1)*eps*growth*|magnitude|.

    growth: how much larger than sum |t_i| the intermediates of one path get (Winograd's
    transforms: see WINOGRAD_GROWTH)."""
    return SLACK * (np.asarray(n) + 1) * np.finfo(dtype).eps * growth * np.abs(magnitude)


def _check(actual, expected, atol, err_msg):
    assert actual.shape == expected.shape, f"{err_msg}: shape {actual.shape} != {expected.shape}"
    finite = np.isfinite(expected)
    # non-finite values must match exactly: nan where nan, the same infinity where infinity
    np.testing.assert_array_equal(actual[~finite], expected[~finite], err_msg=err_msg)
    with np.errstate(invalid="ignore", over="ignore"):  # inf - inf where both are infinite
        diff = np.abs(actual.astype(np.float64) - expected.astype(np.float64))
        atol = np.broadcast_to(atol, expected.shape)
        bad = finite & ~(diff <= atol)
    if bad.any():
        worst = np.unravel_index(np.argmax(np.where(bad, diff - atol, -np.inf)), diff.shape)
        raise AssertionError(
            f"{err_msg}: {int(bad.sum())} of {expected.size} values differ by more than the"
            f" tolerance; worst at {tuple(int(i) for i in worst)}: actual {actual[worst]!r},"
            f" expected {expected[worst]!r}, |difference| {diff[worst]:.3g} > tolerance"
            f" {atol[worst]:.3g}"
        )


def assert_sums_close(actual, expected, magnitude, n, *, growth=1.0, dtype=None, err_msg="sums"):
    """|actual - expected| <= sum_atol(magnitude, n) elementwise; non-finite values equal.

    actual, expected: arrays (or Tensors / torch tensors) of one shape; magnitude: sum |t_i|
    per element or a scalar; n: terms per element (int or array); dtype: the precision the
    sums were computed in (default: expected's)."""
    actual, expected = as_numpy(actual), as_numpy(expected)
    dtype = np.dtype(dtype or (expected.dtype if expected.dtype.kind == "f" else np.float64))
    magnitude = np.maximum(np.abs(magnitude), np.abs(np.where(np.isfinite(expected), expected, 0)))
    _check(actual, expected, sum_atol(magnitude, n, dtype, growth), err_msg)


def largest(*arrays):
    """The largest finite |value| of the arrays (0 when there is none)."""
    values = [np.abs(as_numpy(a).astype(np.float64)) for a in arrays if a is not None]
    return max((float(v[np.isfinite(v)].max(initial=0.0)) for v in values), default=0.0)


def assert_values_close(actual, expected, *, scale=None, dtype=None, err_msg="values"):
    """|actual - expected| <= RTOL*|expected| + FLOOR*scale elementwise (per dtype); non-finite
    values equal. scale: the largest magnitude in play (default: expected's largest |value|)."""
    actual, expected = as_numpy(actual), as_numpy(expected)
    dtype = np.dtype(dtype or (expected.dtype if expected.dtype.kind == "f" else np.float64))
    scale = largest(expected) if scale is None else scale
    atol = RTOL[dtype] * np.abs(np.where(np.isfinite(expected), expected, 0)) + FLOOR[dtype] * scale
    _check(actual, expected, atol, err_msg)


# Winograd F(2x2, 3x3) against a direct sum: its intermediates are bounded by |A^T| (|G||g||G^T| *
# |B^T||d||B|) |A|, at most 9x (forward), 16x (dW) and 36x (dX, 4 overlapping tiles) the direct
# path's sum of |terms| (row sums 3, 1.5, 2 of A^T, G, B^T; 3 of B), and they mix the terms of a
# 4x4 tile, so compare with the largest magnitude of the array times this growth.
WINOGRAD_GROWTH = 36.0


def centering_gain(x, axes, eps):
    """max |x| / min sigma over the groups a normalisation centres (at least 1), sigma =
    sqrt(var(x over axes) + eps). Centring x - mean in floating point keeps the ulps of |x|,
    not of x - mean, so xhat = (x - mean) / sigma, the output and every gradient through it
    carry errors this much larger than the magnitudes in play show: four float32 values
    0.73-0.85 (sigma 0.047) gave dx of 5e-3 that PyTorch's float32 had 3.8e-5 off the float64
    answer (ours 5e-6). Multiply the floor's scale by it (``compare(..., gain=)``)."""
    x = np.asarray(x, dtype=np.float64)
    if x.size == 0:
        return 1.0
    sigma = np.sqrt(x.var(axis=axes) + eps)
    return max(1.0, float(np.abs(x).max() / sigma.min()))
