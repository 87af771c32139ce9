"""train.Session and the world protocol: what the session asks of a world, when, and that a
sharded evaluation over ranks adds up to the single-process figures."""

import threading

import numpy as np
import pytest

from convscope.data import DataLoader, load_digits
from convscope.errors import ConvscopeError
from convscope.models import lenet5
from convscope.train import EpochEvent, Session, SingleProcess, StepEvent, TrainConfig, evaluate
from convscope.train.world import shard

CONFIG = TrainConfig(epochs=2, batch_size=32)


class RecordingWorld(SingleProcess):
    """One process that records every call the session makes, with its own sampler."""

    def __init__(self, is_main=True):
        self.is_main = is_main
        self.calls = []
        self.epochs = []

    def broadcast_parameters(self, model):
        self.calls.append("broadcast")

    def allreduce_gradients(self, model):
        assert all(p.grad is not None for p in model.parameters())  # after backward
        self.calls.append("gradients")

    def allreduce_sum(self, array):
        self.calls.append(f"sum{len(array)}")
        return np.asarray(array, dtype=np.float64)

    def sampler(self, n, *, shuffle, seed, drop_last):
        self.calls.append(("sampler", n, shuffle, seed, drop_last))
        world = self

        class Reversed:  # the torch protocol: __iter__, __len__, set_epoch
            def __iter__(self):
                return iter(range(n - 1, -1, -1))

            def __len__(self):
                return n

            def set_epoch(self, epoch):
                world.epochs.append(epoch)

        return Reversed()


def test_the_session_uses_every_part_of_the_world_protocol(tmp_path):
    world = RecordingWorld()
    session = Session.new(CONFIG, limit=64, out=tmp_path / "run", world=world)
    with session:
        events = list(session.train())
    steps = [e for e in events if isinstance(e, StepEvent)]
    assert len(steps) == 2 * 2 and [e.epoch for e in events if isinstance(e, EpochEvent)] == [1, 2]  # fmt: skip
    assert world.calls[:2] == [("sampler", 64, True, 0, False), "broadcast"]
    per_epoch = ["gradients", "gradients", "sum23", "sum3"]  # K=10: 3 + 2K sums, then 3
    assert world.calls[2:] == per_epoch * 2
    assert world.epochs == [0, 1]
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == [
        ".lock",
        "curves.png",
        "metrics.jsonl",
        "model.safetensors",
        "state.safetensors",
    ]


def test_only_the_main_rank_locks_and_writes(tmp_path):
    session = Session.new(CONFIG, limit=64, out=tmp_path / "run", world=RecordingWorld(False))
    with session:
        assert len(list(session.train())) == 2 * 2 + 2
    assert not (tmp_path / "run").exists()


def test_a_session_without_a_folder_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    session = Session.new(TrainConfig(epochs=1), limit=64)
    with pytest.raises(ConvscopeError, match="open the session first"):
        next(session.train())
    with session:
        events = list(session.train())
    assert session.complete and len(session.history) == 1 and isinstance(events[-1], EpochEvent)
    assert list(tmp_path.iterdir()) == []


def test_new_refuses_a_folder_with_a_run_and_resume_knows_a_finished_one(tmp_path):
    out = tmp_path / "run"
    with Session.new(TrainConfig(epochs=1), limit=32, out=out) as session:
        list(session.train())
    with pytest.raises(ConvscopeError, match=f"{out} already holds a run; continue it with --resume"):  # fmt: skip
        Session.new(TrainConfig(epochs=1), limit=32, out=out)
    again = Session.resume(out)
    assert again.resuming and again.complete and again.config == TrainConfig(epochs=1)
    assert again.setup == {"data": None, "limit": 32, "threads": None}


class ThreadWorld(SingleProcess):
    """Rank ``rank`` of ``size`` threads; allreduce_sum adds every rank's array (rank order)."""

    def __init__(self, rank, size, barrier, slots):
        self.rank, self.size, self.is_main = rank, size, rank == 0
        self.barrier, self.slots = barrier, slots

    def allreduce_sum(self, array):
        self.slots[self.rank] = np.asarray(array, dtype=np.float64)
        self.barrier.wait()
        total = np.sum(self.slots, axis=0)
        self.barrier.wait()
        return total


@pytest.mark.parametrize("size", [2, 3])
def test_a_sharded_evaluation_adds_up_to_the_single_process_one(size):
    _, test = load_digits()
    test = test.subset(np.arange(41))  # 41 = uneven shards
    model = lenet5()
    alone = evaluate(model, DataLoader(test, 1), num_classes=10)
    barrier, slots, results = threading.Barrier(size), [None] * size, [None] * size

    def rank(r):
        world = ThreadWorld(r, size, barrier, slots)
        loader = DataLoader(test, 1, sampler=shard(len(test), world))  # batch 1: same logits
        results[r] = evaluate(model, loader, world, num_classes=10)

    threads = [threading.Thread(target=rank, args=(r,)) for r in range(size)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    for loss, acc, correct, total in results:
        assert loss == pytest.approx(alone[0], rel=1e-12)  # a float64 sum in another order
        assert acc == alone[1]  # integer counts: exact
        np.testing.assert_array_equal(correct, alone[2])
        np.testing.assert_array_equal(total, alone[3])
    assert sorted(np.concatenate([shard(41, ThreadWorld(r, size, None, None)) for r in range(size)]).tolist()) == list(range(41))  # fmt: skip


def test_a_state_saved_at_an_epoch_end_by_an_older_version_resumes_without_a_repeat(tmp_path):
    from convscope.train import load_state, save_state

    straight = Session.new(CONFIG, limit=64, out=tmp_path / "straight")
    with straight:
        list(straight.train())
    out = tmp_path / "old"
    with Session.new(CONFIG, limit=64, out=out) as session:
        for event in session.train():
            if isinstance(event, EpochEvent):
                break  # epoch 1 is saved
    state = load_state(out / "state.safetensors")
    assert state["progress"]["epoch"] == 1 and state["progress"]["step"] == 0
    state["progress"].update(epoch=0, step=2)  # what convscope 0.1 saved: the epoch not closed
    save_state(out / "state.safetensors", state)
    with Session.resume(out) as resumed:
        events = list(resumed.train())
    assert [e.epoch for e in events if isinstance(e, EpochEvent)] == [2]
    assert [row["epoch"] for row in resumed.history] == [1, 2]
    for k, v in straight.model.state_dict().items():
        np.testing.assert_array_equal(resumed.model.state_dict()[k], v, err_msg=k)


def test_no_grad_in_one_thread_leaves_the_others_recording():
    import convscope as cs

    inside, release = threading.Event(), threading.Event()

    def evaluating():
        with cs.no_grad():
            inside.set()
            release.wait(60)

    other = threading.Thread(target=evaluating)
    other.start()
    inside.wait(60)
    try:
        assert cs.is_grad_enabled()  # grad mode is per thread, as in PyTorch
        x = cs.tensor(np.ones(3), requires_grad=True)
        (x * 2).sum().backward()
        np.testing.assert_array_equal(x.grad, [2, 2, 2])  # exact: small integers
    finally:
        release.set()
        other.join(60)
    assert cs.is_grad_enabled()
