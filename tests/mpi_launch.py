"""Launching real MPI jobs from the tests: mpiexec -n N, one BLAS thread per rank, never a hang.

Tests that need MPI call ``require_mpi()``: without mpi4py or mpiexec they skip with the line
that installs them, unless CONVSCOPE_REQUIRE_MPI=1 (set by .ci/run), which turns the skip into
a failure so that CI cannot pass without running them.
"""

import importlib.util
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
WORKER = Path(__file__).with_name("distributed_worker.py")
INSTALL = "pip install -e '.[distributed]' (mpi4py and the mpich wheel)"
ONE_THREAD = {
    name: "1"
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")
}


def mpiexec_path():
    """The mpiexec beside this Python (the mpich wheel's, matching mpi4py), else the one on PATH."""
    beside = Path(sys.executable).with_name("mpiexec")
    return str(beside) if beside.exists() else shutil.which("mpiexec")


def require_mpi():
    missing = [
        what
        for what, ok in (
            ("mpi4py", importlib.util.find_spec("mpi4py") is not None),
            ("mpiexec", mpiexec_path() is not None),
        )
        if not ok
    ]
    if missing:
        message = f"{' and '.join(missing)} not found; install with: {INSTALL}"
        if os.environ.get("CONVSCOPE_REQUIRE_MPI") == "1":
            pytest.fail(f"CONVSCOPE_REQUIRE_MPI=1 but {message}")
        pytest.skip(message)


def mpiexec(n, *argv, timeout=120, env=None, cwd=None):
    """Run ``mpiexec -n n argv...`` (argv[0] may be 'python' for this interpreter) to completion.

    Every rank gets one BLAS thread, this checkout on PYTHONPATH and a 60 s collective timeout;
    the launcher gets MPIEXEC_TIMEOUT and the whole process group is killed if it still runs
    after ``timeout`` seconds. Returns the CompletedProcess (text stdout/stderr).
    """
    argv = [sys.executable if a == "python" else str(a) for a in argv]
    environment = {
        **os.environ,
        **ONE_THREAD,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
        "CONVSCOPE_MPI_TIMEOUT": "60",
        "MPIEXEC_TIMEOUT": str(timeout),
        **(env or {}),
    }
    cmd = [mpiexec_path(), "-n", str(n), *argv]
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
        cwd=cwd or ROOT,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=timeout + 15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # mpiexec and every rank it started
        out, err = proc.communicate()
        pytest.fail(f"{' '.join(cmd)} still ran after {timeout + 15} s:\n{out}\n{err}")
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def worker(n, *argv, **kwargs):
    """mpiexec -n n python tests/distributed_worker.py argv... --expect-size n"""
    return mpiexec(n, "python", WORKER, *argv, "--expect-size", str(n), **kwargs)
