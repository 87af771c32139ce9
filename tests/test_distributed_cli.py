"""``mpiexec -n N convscope train --distributed`` end to end: one run folder written by rank 0,
Ctrl-C and a dead rank end every rank and leave the last checkpoint, resume under the same N
ends where a straight run ends, resume under another N (or in one process) finishes the run,
and at the same global batch the accuracy matches one process.
"""

import json
import os
import shutil
import signal

import numpy as np
import pytest
from safetensors.numpy import load_file

from convscope.train import load_state
from mpi_launch import CONVSCOPE, finish, mpiexec, rank_pid, require_mpi, start, wait_for
from test_cli import cli

# 1,000 training digits in steps of 8 per rank: long enough epochs to stop in the middle of one
SMALL = ("--limit", "1000", "--batch-size", "8", "--epochs", "2")
TRAIN = (*CONVSCOPE, "train", "--distributed", *SMALL)


@pytest.fixture(scope="module", autouse=True)
def mpi():
    require_mpi()


def rows(folder):
    return [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines()]


def interrupted_run(folder, n=2, how="ctrl-c"):
    """Train into folder with n ranks; once epoch 1 is saved, Ctrl-C mpiexec (or kill -9 rank 1)."""
    job = start(n, *TRAIN, "--out", folder)
    saved = folder / "state.safetensors"  # the last file of a save
    wait_for(saved.is_file, "epoch 1's save", job)
    if how == "ctrl-c":
        os.kill(job.pid, signal.SIGINT)  # what a terminal sends; mpiexec passes it on to the ranks
    else:
        os.kill(rank_pid(job, 1), signal.SIGKILL)
    return finish(job)


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
    folder = tmp_path_factory.mktemp("straight") / "run"
    run = mpiexec(2, *TRAIN, "--out", folder)
    assert run.returncode == 0, run.stderr
    return folder, run


@pytest.fixture(scope="module")
def stopped(tmp_path_factory):
    folder = tmp_path_factory.mktemp("stopped") / "run"
    return folder, interrupted_run(folder)


def test_only_rank_0_prints_and_writes_and_the_model_loads_in_one_process(straight, capsys):
    folder, run = straight
    lines = run.stdout.splitlines()
    assert lines[0].startswith("training lenet") and "batch 8 per rank x 2 ranks = 16" in lines[0]
    assert sum(line.split()[:1] in (["1"], ["2"]) for line in lines) == 2  # one row per epoch
    assert lines[-1].startswith("test accuracy:")
    assert sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")) == [
        "curves.png", "metrics.jsonl", "model.safetensors", "state.safetensors"
    ]  # fmt: skip
    assert [r["epoch"] for r in rows(folder)] == [1, 2]
    status, out, _ = cli(capsys, "eval", "--checkpoint", str(folder))
    assert status == 0 and "accuracy" in out


def test_ctrl_c_ends_every_rank_and_resume_under_n_ends_where_a_straight_run_ends(
    straight, stopped, tmp_path
):
    folder, run = stopped
    assert run.returncode == 130, run.stderr
    assert run.stderr.count("interrupted in epoch 2 after step") == 1  # rank 0 says it, once
    assert f"mpiexec -n 2 convscope train --distributed --resume {folder}" in run.stderr
    state = load_state(folder / "state.safetensors")
    assert state["ranks"] == 2 and state["progress"]["epoch"] == 1
    step, seen = state["progress"]["step"], state["progress"]["seen"]
    assert 0 < step <= 63 and seen == min(16 * step, 1000)  # summed over the ranks
    again = tmp_path / "again"
    shutil.copytree(folder, again)
    resumed = mpiexec(2, *CONVSCOPE, "train", "--distributed", "--resume", again)
    assert resumed.returncode == 0, resumed.stderr
    assert [r["epoch"] for r in rows(again)] == [1, 2]
    ours, theirs = (
        load_file(again / "model.safetensors"),
        load_file(straight[0] / "model.safetensors"),
    )
    for name, value in theirs.items():  # the same computation: bit for bit
        assert np.array_equal(ours[name], value), name
    assert rows(again)[1]["test_acc"] == rows(straight[0])[1]["test_acc"]


@pytest.mark.parametrize("n", [1, 3])
def test_resume_under_another_number_of_ranks_finishes_the_run(stopped, tmp_path, n):
    again = tmp_path / "again"
    shutil.copytree(stopped[0], again)
    if n == 1:  # a run saved by 2 ranks, continued by one plain process
        run = mpiexec(1, *CONVSCOPE, "train", "--resume", again)
    else:
        run = mpiexec(n, *CONVSCOPE, "train", "--distributed", "--resume", again)
    assert run.returncode == 0, run.stderr
    assert [r["epoch"] for r in rows(again)] == [1, 2]
    assert rows(again)[1]["test_acc"] > 0.8
    assert load_state(again / "state.safetensors")["ranks"] == n


def test_a_dead_rank_ends_every_rank_and_leaves_the_last_checkpoint(tmp_path):
    folder = tmp_path / "run"
    run = interrupted_run(folder, how="kill -9")
    assert run.returncode != 0
    assert "test accuracy" not in run.stdout
    state = load_state(folder / "state.safetensors")  # intact: epoch 1, as saved
    assert [r["epoch"] for r in state["history"]] == [1] and state["progress"]["epoch"] == 1
    resumed = mpiexec(2, *CONVSCOPE, "train", "--distributed", "--resume", folder)
    assert resumed.returncode == 0, resumed.stderr
    assert [r["epoch"] for r in rows(folder)] == [1, 2]


def test_an_error_on_the_ranks_is_one_line_and_ends_every_rank(tmp_path):
    run = mpiexec(2, *CONVSCOPE, "train", "--distributed", "--resume", tmp_path / "nothing")
    assert run.returncode == 2
    assert "error: " in run.stderr and "Traceback" not in run.stderr


@pytest.mark.slow
def test_two_ranks_at_the_same_global_batch_train_as_well_as_one_process(tmp_path):
    two = mpiexec(2, *CONVSCOPE, "train", "--distributed", "--batch-size", "32", "--out", tmp_path / "two", timeout=600)  # fmt: skip
    assert two.returncode == 0, two.stderr
    one = mpiexec(1, *CONVSCOPE, "train", "--out", tmp_path / "one", timeout=600)
    assert one.returncode == 0, one.stderr
    acc_two, acc_one = (
        rows(tmp_path / "two")[-1]["test_acc"],
        rows(tmp_path / "one")[-1]["test_acc"],
    )
    assert abs(acc_two - acc_one) <= 0.003, (acc_two, acc_one)
