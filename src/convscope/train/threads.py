"""How many threads BLAS (OpenBLAS under NumPy) and Numba may use, set at run time.

    apply_thread_policy(None)   # what ``convscope train`` / ``eval`` do: 1, unless the environment chose
    limit_threads(2)            # BLAS and Numba: at most 2 threads each

LeNet-sized work is a stream of small GEMMs and kernels. On the 2-core development machine
one thread per library was never slower (``convscope train --epochs 1``, medians of 5-7 runs:
1.9 s against 2.2 s on a quiet machine, 2.1 s against 8.6 s at load 4-5, 8.3 s against 23 s
beside a busy loop; VGG on 2,000 digits 4.2 s against 8.4 s), because OpenBLAS's workers spin
between calls and fight other processes (or a Numba pool) for the cores.

OpenBLAS reads OPENBLAS_NUM_THREADS only when NumPy loads it, which happens before any CLI
code runs, so the limit goes through ``threadpoolctl`` (which finds every BLAS the process has
loaded). Numba takes NUMBA_NUM_THREADS before its import and ``numba.set_num_threads`` after.
"""

import os
import sys

BLAS_ENV = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
NUMBA_ENV = "NUMBA_NUM_THREADS"
ENV = (*BLAS_ENV, NUMBA_ENV)
_keep = []  # threadpoolctl limiters stay in force while referenced


def env_sets_threads():
    """True when the environment already chooses a thread count (the user's choice wins)."""
    return any(os.environ.get(name) for name in ENV)


def apply_thread_policy(threads):
    """``threads`` N: limit BLAS and Numba to N threads (0: leave the libraries' defaults);
    None: 1 for each library whose own variables the environment leaves unset.

    Each library is decided on its own variables: ``limit_threads`` writes NUMBA_NUM_THREADS
    for a Numba not yet imported, and a child process that inherits it must still limit BLAS
    (BLAS rounds differently with another thread count)."""
    if threads is None:
        blas = not any(os.environ.get(name) for name in BLAS_ENV)
        numba = not os.environ.get(NUMBA_ENV)
        if blas or numba:
            limit_threads(1, blas=blas, numba=numba)
    elif threads:
        limit_threads(threads)


def limit_threads(n, *, blas=True, numba=True):
    """Let BLAS and Numba use at most ``n`` threads; returns the libraries limited (names)."""
    from threadpoolctl import threadpool_info, threadpool_limits

    n = int(n)
    limited = []
    if blas:
        _keep.append(threadpool_limits(limits=n, user_api="blas"))
        limited += [
            f"{lib['internal_api']} {os.path.basename(lib['filepath'])}"
            for lib in threadpool_info()
            if lib["user_api"] == "blas"
        ]
    if numba:
        if "numba" in sys.modules:
            import numba as numba_module

            numba_module.set_num_threads(min(n, numba_module.config.NUMBA_NUM_THREADS))
        else:
            os.environ[NUMBA_ENV] = str(n)
        limited.append("numba")
    return limited
