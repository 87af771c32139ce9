"""The processes a training session runs in: one by default, several for data-parallel training.

A *world* is any object with these members (``convscope.distributed`` provides one over MPI;
``train`` never imports it - the CLI hands it to the session):

    rank, size, is_main          this process's index, the number of processes, rank == 0
    broadcast_parameters(model)  make every rank's weights (and buffers) rank 0's; the session
                                 calls it once, after the model is built or restored
    allreduce_gradients(model)   average every parameter's .grad over the ranks; called after
                                 backward, before optimizer.step()
    allreduce_sum(array)         the element-wise sum of ``array`` (1-D float64) over the ranks;
                                 evaluation and the epoch's training figures add their partial
                                 sums with it, so the figures equal the single-process ones
    sampler(n, *, shuffle, seed, drop_last)
                                 the training loader's sampler over n samples (torch's protocol:
                                 ``__iter__``, ``__len__``, ``set_epoch(epoch)``), or None for the
                                 loader's own order

Evaluation needs no sampler: rank r scores the test samples r, r + size, r + 2*size, ... (every
sample exactly once over the ranks, no padding). Only the main rank prints and writes files.

With several ranks the session also uses ``allreduce_sum`` to stop every rank after the same
step (``agreed``: Ctrl-C reaches the ranks at slightly different moments), to save the running
figures of a stopped epoch as totals over the ranks (``sum_running``), and it records the
number of ranks in the saved state, so that a run resumes under any number of ranks
(``continue_progress``).
"""

from dataclasses import replace

import numpy as np


class SingleProcess:
    """The world of a plain ``convscope train``: one process, every collective an identity."""

    rank = 0
    size = 1
    is_main = True

    def broadcast_parameters(self, model):
        pass

    def allreduce_gradients(self, model):
        pass

    def allreduce_sum(self, array):
        return np.asarray(array, dtype=np.float64)

    def sampler(self, n, *, shuffle, seed, drop_last):
        return None

    def __repr__(self):
        return "SingleProcess()"


def shard(n, world):
    """The test-sample indices this rank evaluates: rank, rank + size, ... below n."""
    return np.arange(world.rank, n, world.size)


def agreed(should_stop, world):
    """``should_stop`` asked on every rank, true on all when it is true on one (Ctrl-C reaches
    the ranks at slightly different steps): every rank stops after the same step."""
    if should_stop is None or world.size == 1:
        return should_stop
    return lambda: bool(world.allreduce_sum([float(bool(should_stop()))])[0] > 0)


def sum_running(progress, world):
    """Replace the rank's running sums of the epoch by their totals over the ranks (before a
    stopped run is saved: the saved figures are the whole world's)."""
    if world.size > 1:
        totals = world.allreduce_sum([progress.loss_sum, progress.correct, progress.seen])
        loss_sum, correct, seen = np.asarray(totals).tolist()
        progress.loss_sum, progress.correct, progress.seen = loss_sum, int(correct), int(seen)


def continue_progress(progress, saved_ranks, world, steps_per_epoch):
    """A saved Progress as this world continues it.

    The running sums were saved as totals over the ranks: rank 0 keeps them, the others start
    from zero (the end of the epoch adds them up once). Under another number of ranks the
    position is counted in steps of the new global batch: the epoch resumes at the last step
    that starts within the samples already done (up to size * batch - 1 of them are seen twice),
    and the learning-rate schedule at the same fraction of the run.
    """
    p = replace(progress)
    if not world.is_main:
        p.loss_sum, p.correct, p.seen = 0.0, 0, 0
    if saved_ranks != world.size:
        p.step = p.step * saved_ranks // world.size
        p.global_step = p.epoch * steps_per_epoch + p.step
    return p
