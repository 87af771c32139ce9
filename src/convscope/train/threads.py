"""How many threads BLAS (OpenBLAS under NumPy) and Numba may use, set at run time.

    limit_threads(1)        # what ``convscope train`` / ``eval`` do unless told otherwise

LeNet-sized work is a stream of small GEMMs and kernels. On the 2-core development machine
one thread per library was never slower (``convscope train --epochs 1``, medians of 5-7 runs:
1.9 s against 2.2 s on a quiet machine, 2.1 s against 8.6 s at load 4-5, 8.3 s against 23 s
beside a busy loop; VGG on 2,000 digits 4.2 s against 8.4 s), because OpenBLAS's workers spin
between calls and fight other processes (or a Numba pool) for the cores.

OpenBLAS reads OPENBLAS_NUM_THREADS only when NumPy loads it, which happens before any CLI
code runs, so the limit goes through threadpoolctl when it is installed, else through
OpenBLAS's own ``*set_num_threads*`` entry point in the library NumPy loaded. Numba takes
NUMBA_NUM_THREADS before its import and ``numba.set_num_threads`` after.
"""

import ctypes
import os
import sys

ENV = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")
_SETTERS = (
    "scipy_openblas_set_num_threads64_",
    "scipy_openblas_set_num_threads",
    "openblas_set_num_threads64_",
    "openblas_set_num_threads",
)
_keep = []  # threadpoolctl limiters stay in force while referenced


def env_sets_threads():
    """True when the environment already chooses a thread count (the user's choice wins)."""
    return any(os.environ.get(name) for name in ENV)


def limit_threads(n):
    """Let BLAS and Numba use at most ``n`` threads; returns the libraries limited (names)."""
    n = int(n)
    done = _limit_blas(n)
    if "numba" in sys.modules:
        import numba

        numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))
    else:
        os.environ["NUMBA_NUM_THREADS"] = str(n)
    return [*done, "numba"]


def _limit_blas(n):
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return _limit_openblas(n)
    _keep.append(threadpool_limits(limits=n, user_api="blas"))
    return ["blas (threadpoolctl)"]


def _limit_openblas(n):
    """Call OpenBLAS's set_num_threads in every OpenBLAS this process has loaded (Linux)."""
    try:
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f if "openblas" in line.lower()}
    except OSError:
        return []
    done = []
    for path in sorted(p for p in paths if p.startswith("/")):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for name in _SETTERS:
            setter = getattr(lib, name, None)
            if setter is not None:
                setter(ctypes.c_int(n))
                done.append(os.path.basename(path))
                break
    return done
