"""Array-module dispatch: the one place that decides numpy vs. (later) cupy.

Every op obtains its array namespace with ``xp = get_xp(x, w)`` and calls
``xp.<fn>``; adding CuPy later means teaching this function about it. ``blas_threads`` says
how many threads NumPy's BLAS may use now (ops size their chunks by it).
"""

import numpy as np


def get_xp(*arrays):
    """Return the array module (numpy today; cupy when any array is a cupy array)."""
    for a in arrays:  # an exact type test first: ~0.2 us a call for NumPy arrays
        if type(a) is not np.ndarray and type(a).__module__.startswith("cupy"):  # pragma: no cover
            import cupy

            return cupy
    return np


def default_float(dtype):
    """float64 stays float64, float16/float32 stay, everything else (ints, bools) becomes float32."""
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return dtype
    return np.dtype(np.float32)


_BLAS = []  # threadpoolctl's controllers of the BLAS libraries loaded, found on first use


def blas_threads():
    """The most threads a loaded BLAS library (NumPy's OpenBLAS) may use now, 1 if none is
    found. threadpoolctl finds the libraries once (~5 ms); a call then costs ~0.4 us, and
    follows ``threadpool_limits``, ``convscope train --threads`` and OPENBLAS_NUM_THREADS."""
    if not _BLAS:
        from threadpoolctl import ThreadpoolController

        _BLAS.append(ThreadpoolController().select(user_api="blas").lib_controllers)
    return max((lib.get_num_threads() or 1 for lib in _BLAS[0]), default=1)
