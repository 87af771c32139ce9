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
"""

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
