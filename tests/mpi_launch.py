"""Launching real MPI jobs from the tests: mpiexec -n N, one BLAS thread per rank, never a hang.

Tests that need MPI call ``require_mpi()``: without mpi4py or mpiexec they skip with the line
that installs them, unless CONVSCOPE_REQUIRE_MPI=1 (set by .ci/run), which turns the skip into
a failure so that CI cannot pass without running them.

    run = mpiexec(2, "python", "tests/distributed_worker.py", "train")   # CompletedProcess
    job = start(2, *CONVSCOPE, "train", "--distributed"); ...; run = finish(job)
"""

import contextlib
import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
WORKER = Path(__file__).with_name("distributed_worker.py")
CONVSCOPE = ("python", "-m", "convscope.cli")  # the convscope command of this checkout
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
    found = {
        "mpi4py": importlib.util.find_spec("mpi4py") is not None,
        "mpiexec": mpiexec_path() is not None,
    }
    missing = [what for what, ok in found.items() if not ok]
    if missing:
        message = f"{' and '.join(missing)} not found; install with: {INSTALL}"
        if os.environ.get("CONVSCOPE_REQUIRE_MPI") == "1":
            pytest.fail(f"CONVSCOPE_REQUIRE_MPI=1 but {message}")
        pytest.skip(message)


def start(n, *argv, timeout=120, env=None, cwd=None):
    """Start ``mpiexec -n n argv...`` ('python' in argv: this interpreter); returns the Popen.

    Every rank gets one BLAS thread, this checkout on PYTHONPATH and a 60 s collective timeout;
    the launcher ends the job after ``timeout`` seconds (MPIEXEC_TIMEOUT).
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
    job = subprocess.Popen(
        [mpiexec_path(), "-n", str(n), *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
        cwd=cwd or ROOT,
        start_new_session=True,
    )
    job.timeout = timeout
    return job


def finish(job):
    """Wait for a started job; if it outlives its timeout (+15 s), kill it and every process
    under it and fail the test. Returns a CompletedProcess."""
    try:
        out, err = job.communicate(timeout=job.timeout + 15)
    except subprocess.TimeoutExpired:
        for pid in [*descendants(job.pid), job.pid]:
            _kill(pid)
        out, err = job.communicate()
        pytest.fail(f"{' '.join(job.args)} still ran after {job.timeout + 15} s:\n{out}\n{err}")
    return subprocess.CompletedProcess(job.args, job.returncode, out, err)


def mpiexec(n, *argv, **kwargs):
    return finish(start(n, *argv, **kwargs))


def worker(n, *argv, **kwargs):
    """mpiexec -n n python tests/distributed_worker.py argv... --expect-size n"""
    return mpiexec(n, "python", WORKER, *argv, "--expect-size", str(n), **kwargs)


def descendants(pid):
    """Process ids under ``pid`` (mpiexec -> hydra proxy -> ranks), from /proc."""
    parent = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parent[int(entry.name)] = int(fields[1])
    found, frontier = [], [pid]
    while frontier:
        children = [p for p, pp in parent.items() if pp in frontier]
        found += children
        frontier = children
    return found


def rank_pid(job, rank, wait=30.0):
    """The process id of rank ``rank`` of a started job (its PMI_RANK), waiting for it to exist."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        for pid in descendants(job.pid):
            try:
                environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            except OSError:
                continue
            if f"PMI_RANK={rank}".encode() in environ:
                return pid
        time.sleep(0.05)
    pytest.fail(f"rank {rank} of {' '.join(job.args)} did not appear within {wait} s")


def wait_for(predicate, what, job, wait=120.0):
    """Poll ``predicate()`` every 20 ms until true; fail if the job ends or ``wait`` passes."""
    deadline = time.monotonic() + wait
    while not predicate():
        if job.poll() is not None or time.monotonic() > deadline:
            run = finish(job)
            pytest.fail(
                f"{what} never happened (status {run.returncode}):\n{run.stdout}\n{run.stderr}"
            )
        time.sleep(0.02)


def _kill(pid):
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
