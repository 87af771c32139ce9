"""Finding MPI: mpi4py imported on demand, the launcher recognised, and a sentence when either is missing.

mpi4py (and the MPI library under it: the ``mpich`` wheel, or a system MPICH / Open MPI) is an
optional extra; ``import convscope`` never loads it. ``load_mpi()`` imports it only inside a
process started by an MPI launcher (mpiexec/mpirun of MPICH, Intel MPI or Open MPI, srun with
PMI), because a process started alone would silently become a one-rank world.
"""

import importlib.util
import os

from ..errors import ConvscopeError

INSTALL = "pip install 'convscope[distributed]' (mpi4py and the mpich wheel)"
LAUNCH = "mpiexec -n 2 convscope train --distributed (or: mpiexec -n 2 python your_script.py)"

# Set in every process an MPI launcher starts: MPICH's hydra, Intel MPI and Slurm's PMI-2
# (PMI_RANK), PMIx (PMIX_RANK: Open MPI 5, Slurm --mpi=pmix), older Open MPI (OMPI_COMM_WORLD_RANK).
LAUNCHER_VARIABLES = ("PMI_RANK", "PMIX_RANK", "OMPI_COMM_WORLD_RANK")


def launched_by_mpi(environ=None):
    """True when this process was started by an MPI launcher (mpiexec, mpirun, srun)."""
    environ = os.environ if environ is None else environ
    return any(name in environ for name in LAUNCHER_VARIABLES)


def load_mpi(what="convscope.distributed"):
    """mpi4py's ``MPI`` module (importing it initialises MPI), or a ConvscopeError that says
    how to install the extra or how to launch."""
    if importlib.util.find_spec("mpi4py") is None:
        raise ConvscopeError(
            f"{what} needs mpi4py and an MPI library, which are not installed: {INSTALL},"
            f" then launch with {LAUNCH}"
        )
    if not launched_by_mpi():
        raise ConvscopeError(
            f"{what} must run under an MPI launcher, one process per rank, but this process was"
            f" started on its own: launch it with {LAUNCH}"
        )
    try:
        from mpi4py import MPI
    except (ImportError, RuntimeError, OSError) as exc:  # mpi4py found no usable MPI library
        raise ConvscopeError(
            f"{what}: mpi4py is installed but cannot load an MPI library ({exc}); {INSTALL}"
        ) from None
    return MPI
