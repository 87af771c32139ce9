"""The session's parts for several ranks, without MPI: a stop agreed by every rank, the running
figures of a stopped epoch saved as totals, and a saved position continued under any number of
ranks (tests/test_distributed_cli.py runs them under mpiexec)."""

import numpy as np
import pytest

from convscope.errors import CheckpointError
from convscope.train import Progress
from convscope.train.session import _saved_ranks
from convscope.train.world import SingleProcess, agreed, continue_progress, sum_running


class TwoRanks:
    """Rank ``rank`` of 2; the other rank contributes ``other`` to every sum."""

    size = 2

    def __init__(self, rank=0, other=(0.0,)):
        self.rank, self.is_main, self.other = rank, rank == 0, np.asarray(other, dtype=float)
        self.sums = 0

    def allreduce_sum(self, array):
        self.sums += 1
        return np.asarray(array, dtype=float) + self.other


def test_a_stop_asked_on_one_rank_stops_every_rank():
    assert agreed(lambda: False, TwoRanks(other=[1.0]))()  # Ctrl-C seen on the other rank
    assert agreed(lambda: True, TwoRanks(other=[0.0]))()
    world = TwoRanks(other=[0.0])
    assert not agreed(lambda: False, world)() and world.sums == 1  # one sum per step
    ask = lambda: False  # noqa: E731
    assert agreed(ask, SingleProcess()) is ask and agreed(None, world) is None


def test_a_stopped_epoch_saves_the_totals_over_the_ranks():
    p = Progress(epoch=1, step=3, global_step=13, loss_sum=2.5, correct=20, seen=24)
    sum_running(p, TwoRanks(other=[1.5, 21, 24]))
    assert (p.loss_sum, p.correct, p.seen) == (4.0, 41, 48)
    assert isinstance(p.correct, int) and isinstance(p.seen, int)
    sum_running(p, SingleProcess())
    assert p.seen == 48


SAVED = Progress(epoch=1, step=6, global_step=16, loss_sum=9.0, correct=80, seen=96, seconds=2.0)


def test_under_the_same_ranks_only_rank_0_keeps_the_saved_totals():
    assert continue_progress(SAVED, 2, TwoRanks(0), 10) == SAVED
    other = continue_progress(SAVED, 2, TwoRanks(1), 10)
    assert (other.loss_sum, other.correct, other.seen) == (0.0, 0, 0)
    assert (other.epoch, other.step, other.global_step) == (1, 6, 16)


@pytest.mark.parametrize(
    "saved_ranks,ranks,steps_per_epoch,step",
    [
        (2, 3, 7, 4),  # 6 steps x 2 ranks = 12 batches done; 3 ranks: step 4 (12 batches)
        (3, 2, 15, 9),  # 6 x 3 = 18 batches; 2 ranks: step 9
        (2, 1, 20, 12),  # one process: step 12
        (4, 3, 7, 8),  # 24 batches; 3 ranks: step 8
        (3, 4, 5, 4),  # 18 batches; 4 ranks: step 4 (16 batches; 2 are done again)
    ],
)
def test_under_another_number_of_ranks_the_epoch_goes_on_from_the_samples_done(
    saved_ranks, ranks, steps_per_epoch, step
):
    class World(TwoRanks):
        size = ranks

    p = continue_progress(SAVED, saved_ranks, World(0), steps_per_epoch)
    assert p.epoch == 1 and p.step == step
    assert p.global_step == steps_per_epoch + step  # the same place of the lr schedule
    assert (p.loss_sum, p.correct, p.seen) == (9.0, 80, 96)


def test_a_state_saved_at_an_epoch_end_continues_at_the_next_epoch_start():
    p = continue_progress(Progress(epoch=2, global_step=40), 2, SingleProcess(), 35)
    assert (p.epoch, p.step, p.global_step) == (2, 0, 70)


@pytest.mark.parametrize("ranks", [0, -1, 1.5, "2", True])
def test_a_damaged_number_of_ranks_gets_a_sentence(ranks):
    with pytest.raises(CheckpointError, match=r"damaged training state \(ranks .* is not an integer >= 1\)"):  # fmt: skip
        _saved_ranks({"ranks": ranks}, "state.safetensors")
    assert _saved_ranks({}, "state.safetensors") == 1  # saved before data parallelism
