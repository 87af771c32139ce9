"""Each rank's share of a dataset: ``torch.utils.data.DistributedSampler``'s semantics, NumPy only.

    sampler = DistributedSampler(len(train), num_replicas=3, rank=1, shuffle=True, seed=0)
    for epoch in range(epochs):
        sampler.set_epoch(epoch)           # a new shuffle each epoch, the same on every rank
        indices = list(sampler)            # len(sampler) indices, disjoint from the other ranks'

With ``n`` samples, ``N`` replicas and ``order`` the epoch's visiting order (``shuffle``: the
DataLoader's ``permutation(n, seed, epoch)``, else ``0..n-1``):

    drop_last=False: total = N * ceil(n / N); order padded by repeating it from the start
    drop_last=True:  total = N * floor(n / N); the tail of order is dropped
    rank r takes order[r : total : N]      (total / N samples, the same count on every rank)

Every rank therefore takes the same number of steps, and step k of N ranks at batch B covers
exactly the samples of step k of one process at batch N * B over the same (padded) order:
averaging the ranks' gradients reproduces the big batch. ``pad=False`` (with drop_last=False)
gives the plain round-robin split instead, no sample twice and shares that differ by at most
one: what sharded evaluation needs so that summed counts equal the single-process figure.
"""

import numpy as np

from ..data import permutation
from ..errors import ConvscopeError


class DistributedSampler:
    """Indices of rank ``rank``'s share of ``dataset`` (a dataset or its length) for one epoch.

    ``num_replicas`` and ``rank`` default to the world of ``convscope.distributed.init()``.
    Protocol (torch's): ``iter(sampler)`` -> int indices, ``len(sampler)``, ``set_epoch(e)``;
    ``indices()`` gives them as one int64 array.
    """

    def __init__(
        self, dataset, num_replicas=None, rank=None, shuffle=True, seed=0, drop_last=False, pad=True
    ):
        n = dataset if isinstance(dataset, int | np.integer) else len(dataset)
        if num_replicas is None or rank is None:
            from . import current_world

            world = current_world("DistributedSampler")
            num_replicas = world.size if num_replicas is None else num_replicas
            rank = world.rank if rank is None else rank
        _check(n, num_replicas, rank)
        self.n, self.num_replicas, self.rank = int(n), int(num_replicas), int(rank)
        self.shuffle, self.seed, self.drop_last, self.pad = bool(shuffle), seed, drop_last, pad
        self.epoch = 0
        per_rank, extra = divmod(self.n, self.num_replicas)
        if drop_last:
            self.num_samples = per_rank
        elif pad:
            self.num_samples = per_rank + (extra > 0)
        else:
            self.num_samples = per_rank + (self.rank < extra)
        self.total_size = self.num_samples * self.num_replicas if drop_last or pad else self.n

    def set_epoch(self, epoch):
        """Choose the epoch whose shuffle the next iteration uses (call it on every rank)."""
        self.epoch = int(epoch)

    def indices(self):
        """This rank's indices for the current epoch, an int64 array of length len(self)."""
        order = (
            permutation(self.n, self.seed, self.epoch) if self.shuffle else np.arange(self.n)
        ).astype(np.int64, copy=False)
        if self.total_size > self.n:  # pad by repeating the order from its start (n >= 1 here)
            order = np.resize(order, self.total_size)
        return order[self.rank : self.total_size : self.num_replicas]

    def __iter__(self):
        return iter(self.indices().tolist())

    def __len__(self):
        return self.num_samples

    def __repr__(self):
        return (
            f"DistributedSampler(n={self.n}, num_replicas={self.num_replicas}, rank={self.rank},"
            f" shuffle={self.shuffle}, seed={self.seed}, drop_last={self.drop_last},"
            f" pad={self.pad}, epoch={self.epoch})"
        )


def _check(n, num_replicas, rank):
    def whole(value):
        return isinstance(value, int | np.integer) and not isinstance(value, bool)

    if not whole(n) or n < 0:
        raise ConvscopeError(
            f"DistributedSampler: the dataset size must be an integer >= 0, got {n!r}"
        )
    if not whole(num_replicas) or num_replicas < 1:
        raise ConvscopeError(
            f"DistributedSampler: num_replicas must be an integer >= 1, got {num_replicas!r}"
        )
    if not whole(rank) or not 0 <= rank < num_replicas:
        raise ConvscopeError(
            f"DistributedSampler: rank {rank!r} is outside 0..{num_replicas - 1} for"
            f" num_replicas={num_replicas}; give each process its own rank below num_replicas"
        )
