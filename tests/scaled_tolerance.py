"""Comparing two float computations of the same numbers with a tolerance scaled to what was summed.

The same interface as the suite's tests/tolerance.py (branch ``tests``, not merged when these
tests were written): summing n terms t_i in any order is off by at most about
(n + 1) * eps * sum |t_i|, so two correct paths (PyTorch and convscope, compiled and NumPy)
differ by at most SLACK * (n + 1) * eps * sum |t_i| per element, whatever the result's own
size. Values that are not plain sums (exp, norms, losses) agree to RTOL relative plus FLOOR
times the largest magnitude in play. Non-finite values must match exactly.
"""

import numpy as np

SLACK = 4
RTOL = {np.dtype(np.float64): 1e-10, np.dtype(np.float32): 1e-4}
FLOOR = {np.dtype(np.float64): 1e-12, np.dtype(np.float32): 1e-5}


def as_numpy(value):
    """An ndarray from an ndarray, a number, a convscope Tensor or a torch tensor."""
    if hasattr(value, "detach"):
        return value.detach().numpy()
    return np.asarray(getattr(value, "data", value))


def _check(actual, expected, atol, err_msg):
    assert actual.shape == expected.shape, f"{err_msg}: shape {actual.shape} != {expected.shape}"
    finite = np.isfinite(expected)
    np.testing.assert_array_equal(actual[~finite], expected[~finite], err_msg=err_msg)
    with np.errstate(invalid="ignore", over="ignore"):
        diff = np.abs(actual.astype(np.float64) - expected.astype(np.float64))
    atol = np.broadcast_to(atol, expected.shape)
    bad = finite & ~(diff <= atol)
    if bad.any():
        at = np.unravel_index(np.argmax(np.where(bad, diff - atol, -np.inf)), diff.shape)
        raise AssertionError(
            f"{err_msg}: {int(bad.sum())} of {expected.size} values differ by more than the"
            f" tolerance; worst at {tuple(int(i) for i in at)}: {actual[at]!r} vs"
            f" {expected[at]!r} (|difference| {diff[at]:.3g} > {atol[at]:.3g})"
        )


def assert_sums_close(actual, expected, magnitude, n, *, dtype=None, err_msg="sums"):
    """|actual - expected| <= SLACK*(n+1)*eps*max(magnitude, |expected|) elementwise.

    magnitude: sum |t_i| per element (e.g. the op on absolute inputs) or a scalar bound; n:
    terms per element."""
    actual, expected = as_numpy(actual), as_numpy(expected)
    dtype = np.dtype(dtype or (expected.dtype if expected.dtype.kind == "f" else np.float64))
    finite_expected = np.abs(np.where(np.isfinite(expected), expected, 0))
    magnitude = np.maximum(np.abs(as_numpy(magnitude)), finite_expected)
    _check(actual, expected, SLACK * (np.asarray(n) + 1) * np.finfo(dtype).eps * magnitude, err_msg)


def largest(*arrays):
    """The largest finite |value| of the arrays (0 when there is none)."""
    values = [np.abs(as_numpy(a).astype(np.float64)) for a in arrays if a is not None]
    return max((float(v[np.isfinite(v)].max(initial=0.0)) for v in values), default=0.0)


def assert_values_close(actual, expected, *, scale=None, dtype=None, err_msg="values"):
    """|actual - expected| <= RTOL*|expected| + FLOOR*scale (scale: the largest magnitude in
    play, default expected's)."""
    actual, expected = as_numpy(actual), as_numpy(expected)
    dtype = np.dtype(dtype or (expected.dtype if expected.dtype.kind == "f" else np.float64))
    scale = largest(expected) if scale is None else scale
    finite_expected = np.abs(np.where(np.isfinite(expected), expected, 0))
    _check(actual, expected, RTOL[dtype] * finite_expected + FLOOR[dtype] * scale, err_msg)
