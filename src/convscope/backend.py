"""Array-module dispatch: the one place that decides numpy vs. (later) cupy.

Every op obtains its array namespace with ``xp = get_xp(x, w)`` and calls
``xp.<fn>``; adding CuPy later means teaching this function about it.
"""

import numpy as np


def get_xp(*arrays):
    """Return the array module (numpy today; cupy when any array is a cupy array)."""
    for a in arrays:
        mod = type(a).__module__
        if mod.startswith("cupy"):  # pragma: no cover - no GPU in CI
            import cupy

            return cupy
    return np


def default_float(dtype):
    """float64 stays float64, float16/float32 stay, everything else (ints, bools) becomes float32."""
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return dtype
    return np.dtype(np.float32)
