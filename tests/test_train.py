"""Training loop: the loss falls, interrupted-and-resumed runs end exactly where straight runs end."""

import math

import numpy as np
import pytest

import convscope as cs
from convscope.data import DataLoader, load_digits
from convscope.errors import ConvscopeError
from convscope.models import get_model
from convscope.train import (
    EpochEvent,
    StepEvent,
    Stopped,
    TrainConfig,
    capture,
    evaluate,
    fit,
    load_state,
    restore,
    save_state,
)


@pytest.fixture(scope="module")
def small():
    train, test = load_digits()
    return train.subset(np.arange(640)), test.subset(np.arange(300))


def setup(small, name="lenet", optimizer="adam", seed=0, batch_size=32, epochs=2):
    config = TrainConfig(
        model=name, optimizer=optimizer, seed=seed, batch_size=batch_size, epochs=epochs
    )
    cs.nn.init.manual_seed(seed)
    if name == "dropout":  # masks drawn from nn.init's default generator
        nn = cs.nn
        model = nn.Sequential(
            nn.Conv2d(1, 4, 5, stride=2),
            nn.ReLU(),
            nn.Dropout(0.3),
            nn.Flatten(),
            nn.Linear(576, 10),
        )
    else:
        model = get_model(name, **({"channels": (4, 8), "hidden": 16} if name == "vgg" else {}))
    opt = config.build_optimizer(model.parameters())
    loader = DataLoader(small[0], batch_size, shuffle=True, seed=seed)
    return config, model, opt, loader, DataLoader(small[1], 100)


def run(config, model, opt, loader, test_loader, **kwargs):
    return list(
        fit(
            model,
            opt,
            loader,
            test_loader,
            config.epochs,
            scheduler=config.build_scheduler(opt, len(loader)),
            **kwargs,
        )
    )


def test_two_epochs_on_a_subset_lower_the_loss(small):
    events = run(*setup(small))
    epochs = [e for e in events if isinstance(e, EpochEvent)]
    steps = [e for e in events if isinstance(e, StepEvent)]
    assert [e.epoch for e in epochs] == [1, 2] and len(steps) == 2 * 20
    assert epochs[1].train_loss < epochs[0].train_loss < math.log(10)
    assert epochs[1].test_loss < epochs[0].test_loss
    assert epochs[1].test_acc > 0.7 and 0 <= epochs[1].train_acc <= 1
    assert steps[0].lr == pytest.approx(2e-3) and steps[-1].lr < 1e-4  # cosine decay per step
    assert all(s.images_per_s > 0 and s.running_acc <= 1 for s in steps)


@pytest.mark.parametrize(
    ("name", "optimizer", "stop_after"),
    # mid-epoch, at the epoch boundary, in epoch 2 with batch norm, with dropout
    [("lenet", "adam", 7), ("lenet", "sgd", 20), ("vgg", "sgd", 26), ("dropout", "adam", 13)],
)
def test_interrupted_and_resumed_run_equals_the_straight_run(
    small, tmp_path, name, optimizer, stop_after
):
    straight = setup(small, name, optimizer)
    run(*straight)

    config, model, opt, loader, test_loader = setup(small, name, optimizer)
    steps = iter(range(1, 10**6))
    events = run(
        config, model, opt, loader, test_loader, should_stop=lambda: next(steps) >= stop_after
    )
    assert isinstance(events[-1], Stopped)
    saved = events[-1].progress
    assert saved.global_step == stop_after
    path = tmp_path / "state.safetensors"
    save_state(path, capture(model, opt, saved))

    config, model, opt, loader, test_loader = setup(small, name, optimizer, seed=0)
    progress = restore(load_state(path), model, opt, path)
    assert progress == saved
    resumed = run(config, model, opt, loader, test_loader, progress=progress)
    first = [e for e in resumed if isinstance(e, StepEvent)][0]
    assert (first.epoch, first.step) == (stop_after // 20 + 1, stop_after % 20 + 1)
    for k, v in straight[1].state_dict().items():  # the same steps: bit for bit
        np.testing.assert_array_equal(model.state_dict()[k], v, err_msg=k)


def test_evaluate_counts_per_class(small):
    _, model, _, _, test_loader = setup(small)
    loss, acc, correct, total = evaluate(model, test_loader)
    labels = small[1].labels
    np.testing.assert_array_equal(total, np.bincount(labels, minlength=len(total)))
    assert correct.sum() == round(acc * len(labels)) and loss > 0


def test_cosine_schedule():
    """The run's cosine is optim's CosineAnnealingLR over every batch of the run, stepped per batch."""
    param = cs.tensor(np.zeros(1), requires_grad=True)
    opt = cs.optim.SGD([param], lr=0.1)
    sched = TrainConfig(optimizer="sgd", lr=0.1, epochs=4).build_scheduler(opt, 25)
    lr = []
    for _ in range(101):
        lr.append(opt.param_groups[0]["lr"])
        sched.step()
    assert sched.T_max == 100
    assert (
        lr[0] == pytest.approx(0.1)
        and lr[50] == pytest.approx(0.05)
        and lr[100] == pytest.approx(0)
    )
    assert TrainConfig(schedule="constant").build_scheduler(opt, 25) is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"epochs": 0}, "epochs must be >= 1, got 0"),
        ({"batch_size": 0}, "batch size must be >= 1, got 0"),
        ({"optimizer": "rmsprop"}, "optimizer must be sgd or adam, got 'rmsprop'"),
        ({"lr": -1.0}, "learning rate must be > 0, got -1.0"),
        ({"schedule": "linear"}, "schedule must be cosine or constant, got 'linear'"),
    ],
)
def test_bad_settings(kwargs, message):
    with pytest.raises(ConvscopeError, match=message):
        TrainConfig(**kwargs)


def test_limit_threads_sets_openblas_and_numba(monkeypatch):
    from threadpoolctl import threadpool_info

    from convscope import backend
    from convscope.train import threads

    def blas_threads():
        return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]

    before = blas_threads()
    monkeypatch.delenv("NUMBA_NUM_THREADS", raising=False)
    try:
        limited = threads.limit_threads(1)
        assert limited[-1] == "numba" and len(limited) == len(before) + 1
        assert blas_threads() == [1] * len(before)
        assert backend.blas_threads() == 1  # what Winograd sizes its chunks by
    finally:
        if before:
            threads.limit_threads(max(before))
    assert backend.blas_threads() == max(before, default=1)
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert threads.env_sets_threads()


def test_a_numba_setting_we_wrote_does_not_stop_the_blas_limit(monkeypatch):
    """limit_threads writes NUMBA_NUM_THREADS for a Numba not yet imported; a child process
    inheriting it must still run BLAS on one thread (another count rounds differently)."""
    from convscope.train import threads

    calls = []
    monkeypatch.setattr(threads, "limit_threads", lambda n, **kw: calls.append((n, kw)))
    for name in threads.ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NUMBA_NUM_THREADS", "1")
    threads.apply_thread_policy(None)
    assert calls == [(1, {"blas": True, "numba": False})]
    calls.clear()
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "2")
    threads.apply_thread_policy(None)
    assert calls == []
