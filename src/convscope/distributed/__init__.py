"""Data-parallel training over MPI (mpi4py), Horovod's way, with PyTorch DDP's semantics.

    # mpiexec -n 4 python train.py          (pip install 'convscope[distributed]')
    import convscope.distributed as dist

    world = dist.init()                             # rank, size, is_main; aborts all on a crash
    model = lenet5(); dist.broadcast_parameters(model)          # rank 0's initial weights
    optimizer = dist.DistributedOptimizer(cs.optim.SGD(model.parameters(), lr=0.02 * 4), model)
    sampler = dist.DistributedSampler(len(train), shuffle=True, seed=0)   # this rank's shard
    loader = DataLoader(train, batch_size=64, sampler=sampler)  # 64 per rank: 256 per step
    for epoch in range(epochs):
        sampler.set_epoch(epoch)
        for x, y in loader:
            loss = F.cross_entropy(model(cs.tensor(x)), y)
            optimizer.zero_grad(); loss.backward()
            optimizer.step()                        # allreduce (mean over ranks), then step

N ranks at batch B per rank take the same steps as one process at batch N*B over the same
samples (the tests check it to 1e-10 in float64). ``import convscope`` does not load mpi4py;
``init()`` does, and says how to install or launch when it cannot. ``MPIWorld`` is the object
the training session takes as its ``world`` (``convscope train --distributed``).
"""

from ..errors import ConvscopeError
from .launch import launched_by_mpi, load_mpi
from .optimizer import DistributedOptimizer
from .sampler import DistributedSampler
from .world import MPIWorld, default_timeout

__all__ = [
    "init",
    "rank",
    "world_size",
    "is_initialized",
    "current_world",
    "broadcast_parameters",
    "allreduce_gradients",
    "MPIWorld",
    "DistributedOptimizer",
    "DistributedSampler",
    "launched_by_mpi",
    "load_mpi",
    "default_timeout",
]

_world = None


def init(timeout="default", what="convscope.distributed.init()"):
    """Join the MPI job this process was launched in; returns its MPIWorld (idempotent).

    With more than one rank, an exception that escapes a rank prints its traceback and then
    ends every rank (MPI_Abort), as ``python -m mpi4py`` does: one rank dying never leaves the
    others waiting in a collective. ``timeout``: see MPIWorld; ``what`` names the caller in
    the error raised outside an MPI launch or without mpi4py.
    """
    global _world
    if _world is None:
        _world = MPIWorld(load_mpi(what).COMM_WORLD, timeout=timeout)
        if _world.size > 1:
            _abort_on_uncaught_exception(_world)
    return _world


def is_initialized():
    return _world is not None


def current_world(what="convscope.distributed"):
    """The MPIWorld of init(), or a ConvscopeError that says to call init() first."""
    if _world is None:
        raise ConvscopeError(
            f"{what}: the MPI world is not set up; call convscope.distributed.init() first"
            f" (in a process started by mpiexec)"
        )
    return _world


def rank():
    """This process's rank, 0..world_size()-1."""
    return current_world("rank()").rank


def world_size():
    """The number of ranks in the job."""
    return current_world("world_size()").size


def broadcast_parameters(model, root=0):
    """Every rank's model gets rank ``root``'s parameters and buffers (see MPIWorld)."""
    current_world("broadcast_parameters").broadcast_parameters(model, root)


def allreduce_gradients(model, broadcast_buffers=True):
    """Each parameter's gradient becomes its mean over the ranks, in one allreduce (see MPIWorld)."""
    current_world("allreduce_gradients").allreduce_gradients(model, broadcast_buffers)


def _abort_on_uncaught_exception(world):
    import sys

    previous = sys.excepthook

    def hook(kind, value, traceback):
        previous(kind, value, traceback)
        status = 130 if issubclass(kind, KeyboardInterrupt) else 1
        world.abort(f"{kind.__name__} (above); ending all {world.size} ranks", status)

    sys.excepthook = hook
