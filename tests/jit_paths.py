"""Run a whole test module on both paths of the conv and pool ops: NumPy (CONVSCOPE_JIT=0)
and the compiled kernels. Use: ``from jit_paths import jit_path  # noqa: F401``.
``with compiled(False):`` runs a block on the NumPy path (the compiled kernels' twins)."""

import contextlib
import os

import pytest

from convscope import kernels


@contextlib.contextmanager
def compiled(enabled):
    """CONVSCOPE_JIT=1 (or 0) for the block, the previous value after it."""
    old = os.environ.get("CONVSCOPE_JIT")
    os.environ["CONVSCOPE_JIT"] = "1" if enabled else "0"
    try:
        yield
    finally:
        if old is None:
            del os.environ["CONVSCOPE_JIT"]
        else:
            os.environ["CONVSCOPE_JIT"] = old


@pytest.fixture(scope="module", params=["numpy", "compiled"], autouse=True)
def jit_path(request):
    """Module-scoped (hypothesis allows it), so each module runs once per path."""
    if request.param == "compiled" and not kernels.available():
        pytest.skip("compiled kernels unavailable (Numba missing or CONVSCOPE_JIT=0)")
    with compiled(request.param == "compiled"):
        yield request.param
