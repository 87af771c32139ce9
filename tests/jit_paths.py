"""Run a whole test module on both paths of the conv and pool ops: NumPy (CONVSCOPE_JIT=0)
and the compiled kernels. Use: ``from jit_paths import jit_path  # noqa: F401``."""

import os

import pytest

from convscope import kernels


@pytest.fixture(scope="module", params=["numpy", "compiled"], autouse=True)
def jit_path(request):
    """Module-scoped (hypothesis allows it), so each module runs once per path."""
    if request.param == "compiled" and not kernels.available():
        pytest.skip("compiled kernels unavailable (Numba missing or CONVSCOPE_JIT=0)")
    old = os.environ.get("CONVSCOPE_JIT")
    os.environ["CONVSCOPE_JIT"] = "1" if request.param == "compiled" else "0"
    yield request.param
    if old is None:
        del os.environ["CONVSCOPE_JIT"]
    else:
        os.environ["CONVSCOPE_JIT"] = old
