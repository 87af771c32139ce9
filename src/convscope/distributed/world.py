"""MPIWorld: the ranks of one data-parallel run and the few collectives training needs.

Horovod's recipe (and PyTorch DistributedDataParallel's semantics), on mpi4py:

    world = MPIWorld()                          # inside mpiexec -n N
    world.broadcast_parameters(model)           # once: every rank starts from rank 0's weights
    for x, y in loader_over(world.sampler(len(train), shuffle=True, seed=0, drop_last=False)):
        loss = F.cross_entropy(model(Tensor(x)), y)
        optimizer.zero_grad(); loss.backward()
        world.allreduce_gradients(model)        # grads := mean over ranks, ONE fused allreduce
        optimizer.step()                        # the same update on every rank
    totals = world.allreduce_sum(np.array([loss_sum, correct, count]))   # sharded evaluation

After every step the weights are bit-for-bit identical on every rank: the same summed buffer,
divided by N, goes into the same optimizer. Buffers (BatchNorm's running statistics) follow
DDP's ``broadcast_buffers=True``: each rank normalises with its own batch's statistics, and
rank 0's running statistics are copied to every rank with each step (one more call, only for
models that have buffers), so every rank evaluates the same model.

No hang: a rank that waits longer than ``timeout`` seconds in a collective (see Watchdog)
prints why and calls MPI_Abort, which ends every rank; a rank that dies is noticed by the
launcher, which ends the others.
"""

import hashlib
import os
import sys
import time

import numpy as np

from ..errors import ConvscopeError
from .flat import Scratch, pack_bytes, pack_values, split, unpack_bytes
from .launch import load_mpi
from .sampler import DistributedSampler
from .watchdog import Watchdog

DEFAULT_TIMEOUT = 300.0  # seconds one collective may wait for the other ranks
# Seconds a rank waits between printing why it aborts and MPI_Abort: the launcher forwards a
# rank's output asynchronously and MPI_Abort tears the job down at once, so without the wait
# the line could be lost (a full test run saw mpiexec return status 2 with empty stderr).
ABORT_GRACE = 0.25
TIMEOUT_VARIABLE = "CONVSCOPE_MPI_TIMEOUT"


def default_timeout(environ=None):
    """CONVSCOPE_MPI_TIMEOUT seconds (0: wait forever -> None), else DEFAULT_TIMEOUT."""
    environ = os.environ if environ is None else environ
    text = environ.get(TIMEOUT_VARIABLE, "").strip()
    if not text:
        return DEFAULT_TIMEOUT
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not seconds >= 0:
        raise ConvscopeError(
            f"{TIMEOUT_VARIABLE}={text!r} is not a number of seconds >= 0;"
            f" set e.g. {TIMEOUT_VARIABLE}=600, or 0 to wait forever"
        )
    return seconds or None


class MPIWorld:
    """The processes of one MPI job (``comm``, default COMM_WORLD), seen from one of them.

    ``rank`` (0..size-1), ``size``, ``is_main`` (rank 0: the one that prints and writes);
    ``timeout``: seconds a collective waits for the others before aborting every rank (None:
    forever; default CONVSCOPE_MPI_TIMEOUT or 300).
    """

    def __init__(self, comm=None, timeout="default"):
        self.MPI = load_mpi("MPIWorld") if comm is None else _mpi_of(comm)
        self.comm = self.MPI.COMM_WORLD if comm is None else comm
        self.rank, self.size = self.comm.Get_rank(), self.comm.Get_size()
        self.timeout = default_timeout() if timeout == "default" else timeout
        if self.timeout is not None and not (
            isinstance(self.timeout, int | float) and self.timeout > 0
        ):
            raise ConvscopeError(
                f"MPIWorld: timeout must be a number of seconds > 0 or None (wait forever),"
                f" got {timeout!r}"
            )
        self.watchdog = Watchdog(self.timeout, self._timed_out)
        self._scratches = {}

    @property
    def is_main(self):
        return self.rank == 0

    def __repr__(self):
        return f"MPIWorld(rank={self.rank}, size={self.size}, timeout={self.timeout})"

    # ---- model state -------------------------------------------------------
    def broadcast_parameters(self, model, root=0):
        """Copy rank ``root``'s parameters and buffers into every rank's model, in place (one call).

        The models must have the same parameter and buffer names, shapes and dtypes on every
        rank; otherwise every rank raises the same ConvscopeError.
        """
        self._check_same_layout(model)
        self._broadcast_arrays([p.data for p in model.parameters()] + list(model.buffers()), root)

    def broadcast_buffers(self, model, root=0):
        """Copy rank ``root``'s buffers (BatchNorm running statistics) into every rank's model."""
        buffers = list(model.buffers())
        if buffers:
            self._broadcast_arrays(buffers, root)

    def allreduce_gradients(self, model, broadcast_buffers=True):
        """Replace each trainable parameter's ``.grad`` by its mean over the ranks (one allreduce).

        A gradient that is None on some ranks counts as zeros there (still divided by ``size``,
        as DDP); one that is None on every rank stays None. With ``broadcast_buffers``, rank 0's
        buffers then replace the others' (DDP's default).
        """
        params = [p for p in model.parameters() if p.requires_grad]
        if params:
            dtype = np.result_type(*(p.data.dtype for p in params))
            has_grad = np.array([p.grad is not None for p in params], dtype=dtype)
            grads = [
                p.grad if p.grad is not None else np.zeros(p.data.shape, dtype) for p in params
            ]
            flat = pack_values([*grads, has_grad], dtype, out=self._scratch("grads", dtype))
            self._allreduce(flat, "allreduce_gradients")
            *sums, counts = split(flat, [p.data for p in params] + [has_grad])
            for p, total, count in zip(params, sums, counts, strict=True):
                if count:
                    p.grad = np.divide(total, self.size, dtype=p.data.dtype)
        if broadcast_buffers:
            self.broadcast_buffers(model)

    # ---- values ------------------------------------------------------------
    def allreduce_sum(self, array):
        """The elementwise sum of ``array`` over all ranks (same shape and dtype; bools as int64)."""
        a = np.asarray(array)
        a = np.ascontiguousarray(a.astype(np.int64) if a.dtype == bool else a)
        return self._allreduce(a.copy(), "allreduce_sum")

    def any_rank(self, flag):
        """True on every rank when ``flag`` is true on at least one (e.g. Ctrl-C seen somewhere)."""
        return bool(self.allreduce_sum(np.array([bool(flag)], dtype=np.int64))[0])

    def barrier(self):
        with self.watchdog.watch("barrier"):
            self.comm.Barrier()

    def sampler(self, n, *, shuffle, seed, drop_last, pad=True):
        """This rank's DistributedSampler over ``n`` samples (pad=False for sharded evaluation)."""
        return DistributedSampler(
            n, self.size, self.rank, shuffle=shuffle, seed=seed, drop_last=drop_last, pad=pad
        )

    # ---- ending ------------------------------------------------------------
    def abort(self, message=None, status=1):
        """Print ``message`` (prefixed with this rank) to stderr and end every rank (MPI_Abort)."""
        if message:
            print(f"rank {self.rank}/{self.size}: {message}", file=sys.stderr, flush=True)
        sys.stdout.flush()
        time.sleep(ABORT_GRACE)  # let the launcher forward the line first
        self.comm.Abort(status)

    # ---- internals ---------------------------------------------------------
    def _allreduce(self, buf, what):
        """Sum ``buf`` over the ranks in place and return it."""
        with self.watchdog.watch(what):
            self.comm.Allreduce(self.MPI.IN_PLACE, buf, op=self.MPI.SUM)
        return buf

    def _broadcast_arrays(self, arrays, root):
        buf = pack_bytes(arrays, out=self._scratch("bytes", np.uint8))
        with self.watchdog.watch("broadcast"):
            self.comm.Bcast(buf, root=root)
        if self.rank != root:
            unpack_bytes(buf, arrays)

    def _scratch(self, name, dtype):
        """A buffer kept for the next step's call of the same kind: MPI moves a buffer it has
        seen before much faster (1 MB: 0.2 ms against 3 ms for a fresh one, 2 ranks here)."""
        return self._scratches.setdefault((name, np.dtype(dtype).str), Scratch(dtype))

    def _timed_out(self, what, waited):
        self.abort(
            f"waited {waited:.0f} s for the other ranks in {what} (limit {self.timeout:g} s):"
            f" one of them is stuck or gone; ending all {self.size} ranks (set"
            f" {TIMEOUT_VARIABLE}=SECONDS to wait longer, 0 to wait forever)"
        )

    def _check_same_layout(self, model):
        """Every rank raises the same error when the ranks' models differ."""
        named = [(k, p.data) for k, p in model.named_parameters()] + [*model.named_buffers()]
        layout = [(k, a.shape, a.dtype.str) for k, a in named]
        digest = np.frombuffer(hashlib.sha256(repr(layout).encode()).digest(), np.uint8)
        everyone = np.empty((self.size, digest.size), np.uint8)
        with self.watchdog.watch("broadcast_parameters"):
            self.comm.Allgather(digest, everyone)
        differ = [r for r in range(self.size) if not np.array_equal(everyone[r], everyone[0])]
        if differ:
            raise ConvscopeError(
                f"broadcast_parameters: the model on rank(s) {', '.join(map(str, differ))} has"
                f" other parameter names, shapes or dtypes than rank 0's ({len(layout)} entries"
                f" here); build the same model with the same options on every rank"
            )


def _mpi_of(comm):
    from mpi4py import MPI

    if not isinstance(comm, MPI.Comm):
        raise ConvscopeError(f"MPIWorld: comm must be an mpi4py communicator, got {comm!r}")
    return MPI
