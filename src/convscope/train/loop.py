"""The training loop as a generator of progress events: the caller decides what to show.

    for event in fit(model, optimizer, train_loader, test_loader, epochs=10, scheduler=sched):
        if isinstance(event, StepEvent): ...      # after every optimizer step
        if isinstance(event, EpochEvent): ...     # after every epoch, with test metrics
        if isinstance(event, Stopped): ...        # should_stop() said so; event.progress resumes

Everything that decides the next step lives in ``Progress`` (epoch, step within it, running
sums), the model's state_dict and the optimizer's state_dict; the shuffle order is a pure
function of (seed, epoch) and the learning rate a pure function of the global step (``fit``
moves the scheduler to ``progress.global_step`` and steps it once per batch). Restoring those
three and calling ``fit(..., progress=saved)`` therefore ends exactly where an uninterrupted
run ends. When an EpochEvent is yielded, ``progress`` already stands at the next epoch: a
state saved then resumes with that epoch, never repeats the finished one.
"""

import time
from dataclasses import asdict, dataclass

from ..autograd import Tensor
from ..nn import functional as F
from .evaluation import evaluate
from .world import SingleProcess

SINGLE = SingleProcess()


@dataclass
class Progress:
    """Where a run stands: ``step`` batches of epoch ``epoch`` (0-based) are done."""

    epoch: int = 0
    step: int = 0
    global_step: int = 0
    loss_sum: float = 0.0  # sum over the epoch's finished batches of loss * batch size
    correct: int = 0
    seen: int = 0
    seconds: float = 0.0  # time spent in the epoch so far

    def as_dict(self):
        return asdict(self)


@dataclass
class StepEvent:
    epoch: int  # 1-based
    step: int  # batches done in this epoch
    steps: int  # batches per epoch
    loss: float  # this batch
    running_loss: float
    running_acc: float
    images_per_s: float
    lr: float


@dataclass
class EpochEvent:
    epoch: int  # 1-based
    train_loss: float
    train_acc: float
    test_loss: float
    test_acc: float
    seconds: float

    def as_dict(self):
        return asdict(self)


@dataclass
class Stopped:
    progress: Progress


def train_step(model, optimizer, x, y, world=SINGLE):
    """One optimizer step on a batch; returns (loss, number of correct predictions).

    ``world.allreduce_gradients`` averages the gradients over data-parallel ranks (a no-op in
    one process) between backward and the optimizer step."""
    logits = model(Tensor(x))
    loss = F.cross_entropy(logits, y)
    optimizer.zero_grad()
    loss.backward()
    world.allreduce_gradients(model)
    optimizer.step()
    return float(loss.item()), int((logits.data.argmax(axis=1) == y).sum())


def seek(scheduler, step):
    """Put a scheduler (stepped once per batch) where it stands after ``step`` batches."""
    scheduler.load_state_dict({"last_epoch": step, "base_lrs": scheduler.base_lrs})


def fit(
    model,
    optimizer,
    train_loader,
    test_loader,
    epochs,
    scheduler=None,
    progress=None,
    should_stop=None,
    world=SINGLE,
    num_classes=None,
):
    """Train for ``epochs`` epochs (resuming at ``progress``), yielding events.

    ``scheduler``: an ``optim.lr_scheduler`` stepped once per batch (its epoch counts batches).
    ``world``: the data-parallel processes (see ``train.world``); each rank passes its shard's
    loaders, and the epoch's figures are summed over the ranks.
    """
    p = progress if progress is not None else Progress()
    steps = len(train_loader)
    if scheduler is not None:
        seek(scheduler, p.global_step)
    while p.epoch < epochs:
        train_loader.set_epoch(p.epoch)
        model.train()
        t_last = time.perf_counter()
        for x, y in train_loader.iterate(start=p.step):
            lr = optimizer.param_groups[0]["lr"]
            loss, correct = train_step(model, optimizer, x, y, world)
            if scheduler is not None:
                scheduler.step()
            now = time.perf_counter()
            dt, t_last = now - t_last, now
            p.step += 1
            p.global_step += 1
            p.loss_sum += loss * len(y)
            p.correct += correct
            p.seen += len(y)
            p.seconds += dt
            yield StepEvent(
                p.epoch + 1,
                p.step,
                steps,
                loss,
                p.loss_sum / p.seen,
                p.correct / p.seen,
                len(y) / dt if dt > 0 else float("inf"),
                lr,
            )
            if should_stop is not None and should_stop():
                yield Stopped(p)
                return
        t0 = time.perf_counter()
        test_loss, test_acc = evaluate(model, test_loader, world, num_classes)[:2]
        p.seconds += time.perf_counter() - t0
        loss_sum, correct, seen = world.allreduce_sum([p.loss_sum, p.correct, p.seen])
        event = EpochEvent(
            p.epoch + 1,
            float(loss_sum / max(seen, 1)),
            float(correct / max(seen, 1)),
            test_loss,
            test_acc,
            p.seconds,
        )
        p.epoch += 1
        p.step = p.correct = p.seen = 0
        p.loss_sum = p.seconds = 0.0
        yield event
