"""convscope.distributed without MPI: DistributedSampler, the launch errors, the timeout setting.

The sampler gets num_replicas and rank explicitly. With shuffle=False its index lists equal
torch's exactly (padding, drop_last, striding); with shuffle=True the order is the
DataLoader's permutation(n, seed, epoch), split the same way.
"""

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from torch.utils.data.distributed import DistributedSampler as TorchSampler

import convscope.distributed as dist
from convscope.data import DataLoader, permutation
from convscope.distributed import DistributedSampler, launch
from convscope.errors import ConvscopeError
from test_cli import assert_one_line_error, cli

configs = st.tuples(st.integers(0, 40), st.integers(1, 6), st.booleans()).flatmap(
    lambda t: st.tuples(st.just(t[0]), st.just(t[1]), st.integers(0, t[1] - 1), st.just(t[2]))
)


@given(configs)
def test_unshuffled_shards_equal_torchs(config):
    n, replicas, rank, drop_last = config
    ours = DistributedSampler(n, replicas, rank, shuffle=False, drop_last=drop_last)
    theirs = TorchSampler(range(n), replicas, rank, shuffle=False, drop_last=drop_last)
    assert list(ours) == list(theirs)
    assert len(ours) == len(theirs)


@given(configs, st.integers(0, 2**31), st.integers(0, 5))
def test_shuffled_shards_split_the_epochs_permutation(config, seed, epoch):
    n, replicas, _, drop_last = config
    samplers = [
        DistributedSampler(n, replicas, r, shuffle=True, seed=seed, drop_last=drop_last)
        for r in range(replicas)
    ]
    for s in samplers:
        s.set_epoch(epoch)
    shards = [s.indices() for s in samplers]
    assert len({len(s) for s in shards}) <= 1  # every rank takes the same number of steps
    assert all(len(shard) == len(s) for shard, s in zip(shards, samplers, strict=True))
    order = permutation(n, seed, epoch)
    together = np.stack(shards, axis=1).ravel() if n else np.zeros(0, int)  # step by step
    if drop_last:
        assert np.array_equal(together, order[: n - n % replicas])
    else:
        assert np.array_equal(together, np.resize(order, len(together)))
        assert len(together) == -(-n // replicas) * replicas
        assert set(together.tolist()) == set(range(n))


def test_one_replica_visits_what_the_dataloader_visits():
    loader = DataLoader(list(zip(range(30), range(30), strict=True)), 5, shuffle=True, seed=7)
    sampler = DistributedSampler(30, 1, 0, shuffle=True, seed=7)
    for epoch in (0, 3):
        loader.set_epoch(epoch)
        sampler.set_epoch(epoch)
        assert list(sampler) == loader.order().tolist()


def test_set_epoch_reshuffles_the_same_way_on_every_rank():
    a, b = (DistributedSampler(100, 2, 0, seed=1) for _ in range(2))
    first = a.indices()
    a.set_epoch(1)
    assert not np.array_equal(first, a.indices())
    b.set_epoch(1)
    assert np.array_equal(a.indices(), b.indices())  # a pure function of (seed, epoch)
    assert not np.array_equal(a.indices(), DistributedSampler(100, 2, 0, seed=2).indices())


@pytest.mark.parametrize("n,replicas", [(10, 3), (11, 3), (2, 5), (0, 2), (9, 3)])
def test_unpadded_shards_cover_each_sample_once(n, replicas):
    shards = [
        DistributedSampler(n, replicas, r, shuffle=True, seed=3, pad=False).indices()
        for r in range(replicas)
    ]
    assert sorted(np.concatenate(shards).tolist()) == list(range(n))
    assert max(map(len, shards)) - min(map(len, shards)) <= 1
    assert [len(s) for s in shards] == [
        len(DistributedSampler(n, replicas, r, pad=False)) for r in range(replicas)
    ]


def test_a_dataset_gives_its_length_and_the_repr_shows_the_settings():
    sampler = DistributedSampler([(0, 0)] * 7, num_replicas=2, rank=1, shuffle=False)
    assert len(sampler) == 4 and list(sampler) == [1, 3, 5, 0]
    assert "num_replicas=2, rank=1" in repr(sampler)


@pytest.mark.parametrize(
    "kwargs,parts",
    [
        ({"num_replicas": 2, "rank": 2}, ["rank 2 is outside 0..1", "num_replicas=2"]),
        ({"num_replicas": 2, "rank": -1}, ["rank -1 is outside 0..1"]),
        ({"num_replicas": 0, "rank": 0}, ["num_replicas must be an integer >= 1, got 0"]),
        ({"num_replicas": 2.0, "rank": 0}, ["num_replicas must be an integer >= 1, got 2.0"]),
    ],
)
def test_bad_ranks_get_a_sentence(kwargs, parts):
    with pytest.raises(ConvscopeError) as info:
        DistributedSampler(10, **kwargs)
    assert all(p in str(info.value) for p in parts)


def test_without_init_the_default_world_is_missing():
    with pytest.raises(
        ConvscopeError, match=r"DistributedSampler: .*call convscope.distributed.init\(\) first"
    ):
        DistributedSampler(10)


@pytest.fixture
def outside_mpiexec(monkeypatch):
    for name in launch.LAUNCHER_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def test_init_outside_mpiexec_says_how_to_launch(outside_mpiexec):
    with pytest.raises(ConvscopeError) as info:
        dist.init()
    assert "must run under an MPI launcher, one process per rank" in str(info.value)
    assert "mpiexec -n 2 convscope train --distributed" in str(info.value)
    assert not dist.is_initialized()


def test_init_without_mpi4py_says_how_to_install(monkeypatch, outside_mpiexec):
    monkeypatch.setitem(sys.modules, "mpi4py", None)  # as if not installed
    with pytest.raises(ConvscopeError) as info:
        dist.init()
    message = str(info.value)
    assert "needs mpi4py and an MPI library, which are not installed" in message
    assert "pip install 'convscope[distributed]'" in message and "mpiexec -n 2" in message


def test_train_distributed_outside_mpiexec_is_one_line(outside_mpiexec, capsys):
    status, _, err = cli(capsys, "train", "--distributed")
    assert_one_line_error(
        status, err, "--distributed must run under an MPI launcher", "mpiexec -n 2 convscope train --distributed"
    )  # fmt: skip


def test_train_distributed_without_mpi4py_is_one_line(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "mpi4py", None)
    status, _, err = cli(capsys, "train", "--distributed")
    assert_one_line_error(
        status, err, "--distributed needs mpi4py", "pip install 'convscope[distributed]'"
    )


def test_launchers_are_recognised_by_their_environment():
    assert launch.launched_by_mpi({"PMI_RANK": "0", "PMI_SIZE": "2"})  # MPICH, Intel MPI
    assert launch.launched_by_mpi({"OMPI_COMM_WORLD_RANK": "1"})  # Open MPI
    assert launch.launched_by_mpi({"PMIX_RANK": "0"})  # PMIx (Open MPI 5, Slurm)
    assert not launch.launched_by_mpi({"PATH": "/usr/bin"})


@pytest.mark.parametrize(
    "value,expected", [(None, 300.0), ("", 300.0), ("12.5", 12.5), ("0", None)]
)
def test_the_collective_timeout_comes_from_the_environment(value, expected):
    env = {} if value is None else {"CONVSCOPE_MPI_TIMEOUT": value}
    assert dist.default_timeout(env) == expected


@pytest.mark.parametrize("value", ["soon", "-1", "nan"])
def test_a_bad_timeout_gets_a_sentence(value):
    with pytest.raises(ConvscopeError, match="CONVSCOPE_MPI_TIMEOUT=.* is not a number of seconds"):
        dist.default_timeout({"CONVSCOPE_MPI_TIMEOUT": value})


def test_importing_convscope_distributed_leaves_mpi4py_unloaded():
    code = "import sys, convscope, convscope.distributed; print('mpi4py' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
