"""Optional compiled hot loops (Numba), each the twin of a NumPy function in ``ops``.

    from convscope import kernels
    if kernels.available():
        dx = kernels.windows().scatter_windows(dcols, stride, dilation, pads, size)

Numba is imported only when a kernel module is first asked for, so ``import convscope``
stays NumPy-only. ``available()`` is False when Numba is missing or the environment sets
``CONVSCOPE_JIT=0``; the ops then take their NumPy path. Kernels are compiled on first
call (all of them, float32 and float64: ~10-15 s) and cached on disk next to their source, so later
processes load them in ~0.4 s.

The kernels run in the calling thread (no ``parallel=True``): OpenBLAS keeps its worker
threads spinning for a while after every GEMM, and a Numba thread pool competing with
them for the cores made whole training steps 3x slower on a 2-core machine; the GEMMs
between the kernels get the threads instead.
"""

import importlib
import importlib.util
import os

_MODULES = {}


def available():
    """True when compiled kernels may be used: Numba is installed and CONVSCOPE_JIT != "0"."""
    if os.environ.get("CONVSCOPE_JIT", "1").strip().lower() in ("0", "false", "no", "off"):
        return False
    if "numba" not in _MODULES:
        _MODULES["numba"] = importlib.util.find_spec("numba") is not None
    return _MODULES["numba"]


def _load(name):  # the accessors are named apart from the modules they import
    if name not in _MODULES:
        _MODULES[name] = importlib.import_module(f".{name}", __name__)
    return _MODULES[name]


def windows():
    """The window scatter kernel (col2im), module ``kernels.im2col``."""
    return _load("im2col")


def winograd():
    """The Winograd F(2x2, 3x3) tile transforms, module ``kernels.winograd_tiles``."""
    return _load("winograd_tiles")


def direct():
    """The direct convolution of small stride-1 layers, module ``kernels.direct_conv``."""
    return _load("direct_conv")


def pooling():
    """The pooling kernels, module ``kernels.pool2d``."""
    return _load("pool2d")


def batch_norm():
    """Batch normalisation's per-channel passes, module ``kernels.channel_stats``."""
    return _load("channel_stats")


def pointwise():
    """ReLU's forward and gradient, module ``kernels.relu_select``."""
    return _load("relu_select")
