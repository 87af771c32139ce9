"""convscope.distributed on real MPI processes (mpiexec -n 2 and -n 3 on a 2-core machine).

The equivalence at the heart of data parallelism: N ranks at batch B take the same steps as one
process at batch N*B over the same samples, so in float64 the weights agree to 1e-10 after
training, for SGD with momentum and for Adam, for N=2 and for N=3 (50 samples: uneven shards,
padded). The ranks' weights are bit-for-bit equal after every step (checked in the worker).
"""

import json
import re

import numpy as np
import pytest

import convscope as cs
import convscope.nn.functional as F
from convscope.data import permutation
from distributed_worker import build_optimizer, dataset, small_cnn
from mpi_launch import require_mpi, worker

pytestmark = pytest.mark.usefixtures("mpi")


@pytest.fixture(scope="module")
def mpi():
    require_mpi()


def one_process(n_ranks, optimizer, batch_size=4, epochs=2, seed=0):
    """The reference: one process, batch n_ranks*batch_size, over the order the ranks cover together
    (the epoch's permutation, padded by repeating it to a multiple of n_ranks)."""
    data = dataset()
    model = small_cnn(seed=100)  # rank 0's initial weights
    opt = build_optimizer(optimizer, model.parameters())
    total = -(-len(data) // n_ranks) * n_ranks
    big, steps = n_ranks * batch_size, 0
    for epoch in range(epochs):
        order = np.resize(permutation(len(data), seed, epoch), total)
        for k in range(0, total, big):
            x, y = data.batch(order[k : k + big])
            loss = F.cross_entropy(model(cs.tensor(x)), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            steps += 1
    return model.state_dict(), steps


@pytest.mark.parametrize("n_ranks", [2, 3])
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_n_ranks_at_batch_b_equal_one_process_at_batch_n_times_b(tmp_path, n_ranks, optimizer):
    run = worker(n_ranks, "train", "--optimizer", optimizer, "--out", tmp_path)
    assert run.returncode == 0, run.stderr
    summary = json.loads((tmp_path / "summary.json").read_text())
    expected, steps = one_process(n_ranks, optimizer)
    assert summary == {"size": n_ranks, "steps": steps, "in_sync_after_every_step": True}
    with np.load(tmp_path / "weights.npz") as got:
        assert sorted(got.files) == sorted(expected)
        for name, want in expected.items():
            scale = np.abs(want).max()
            assert np.abs(got[name] - want).max() <= 1e-10 * scale, name
    start = small_cnn(seed=100).state_dict()
    assert any(not np.allclose(start[k], expected[k]) for k in start)  # training moved them


@pytest.fixture(scope="module")
def collectives(tmp_path_factory):
    out = tmp_path_factory.mktemp("collectives")
    run = worker(3, "collectives", "--out", out)
    assert run.returncode == 0, run.stderr
    return json.loads((out / "collectives.json").read_text())


def test_broadcast_parameters_gives_every_rank_rank0s_weights_and_buffers(collectives):
    for seen in collectives:
        assert seen["broadcast_equals_rank0"]
        assert seen["running_mean"] == [1.0] * 6 and seen["num_batches_tracked"] == 7


def test_allreduce_gradients_averages_and_keeps_buffers_equal(collectives):
    for seen in collectives:
        assert seen["grads_are_the_mean"] and seen["none_everywhere_stays_none"]
        assert seen["buffers_equal_after_step"]


def test_allreduce_sum_and_any_rank(collectives):
    for seen in collectives:
        assert seen["allreduce_sum"] == [[[0 + 1 + 2, 3]], "int64"]
        assert seen["any_rank"] == [True, False]


def test_sharded_evaluation_equals_the_single_process_figure(collectives):
    for seen in collectives:
        loss, acc, count = seen["sharded_eval"]
        assert count == 50
        assert acc == seen["single_eval"][1]  # counts of correct predictions: exact
        assert loss == pytest.approx(seen["single_eval"][0], rel=1e-12)


def test_models_that_differ_between_ranks_give_every_rank_the_same_error(collectives):
    messages = {seen["mismatch_error"] for seen in collectives}
    assert len(messages) == 1
    message = messages.pop()
    assert "rank(s) 1, 2" in message and "same model" in message


def test_a_rank_that_raises_ends_every_rank(tmp_path):
    run = worker(2, "fail", "--how", "raise")
    assert run.returncode != 0
    assert "rank 1 fails on purpose" in run.stderr
    assert "RuntimeError (above); ending all 2 ranks" in run.stderr
    assert "passed the barrier" not in run.stdout


def test_a_rank_that_dies_ends_every_rank(tmp_path):
    run = worker(2, "fail", "--how", "kill")
    assert run.returncode != 0
    assert "passed the barrier" not in run.stdout


def test_a_rank_that_hangs_ends_every_rank_after_the_timeout(tmp_path):
    run = worker(2, "fail", "--how", "hang", env={"CONVSCOPE_MPI_TIMEOUT": "2"}, timeout=60)
    assert run.returncode != 0
    assert re.search(
        r"rank 0/2: waited \d+ s for the other ranks in barrier \(limit 2 s\)", run.stderr
    )
    assert "CONVSCOPE_MPI_TIMEOUT" in run.stderr
