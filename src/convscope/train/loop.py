"""The training loop as a generator of progress events: the caller decides what to show.

    for event in fit(model, optimizer, train_loader, test_loader, epochs=10, lr_at=cosine(2e-3, T)):
        if isinstance(event, StepEvent): ...      # after every optimizer step
        if isinstance(event, EpochEvent): ...     # after every epoch, with test metrics
        if isinstance(event, Stopped): ...        # should_stop() said so; event.progress resumes

Everything that decides the next step lives in ``Progress`` (epoch, step within it, running
sums), the model's state_dict and the optimizer's state_dict; the shuffle order is a pure
function of (seed, epoch) and the learning rate a pure function of the global step. Restoring
those three and calling ``fit(..., progress=saved)`` therefore ends exactly where an
uninterrupted run ends.
"""

import math
import time
from dataclasses import asdict, dataclass

import numpy as np

from ..autograd import Tensor, no_grad
from ..nn import functional as F


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


def cosine(base_lr, total_steps, min_lr=0.0):
    """lr(t) = min_lr + (base_lr - min_lr) * (1 + cos(pi * t / total_steps)) / 2."""

    def lr_at(step):
        t = min(step, total_steps) / max(total_steps, 1)
        return min_lr + (base_lr - min_lr) * (1 + math.cos(math.pi * t)) / 2

    return lr_at


def constant(base_lr):
    return lambda step: base_lr


def set_lr(optimizer, lr):
    for group in optimizer.param_groups:
        group["lr"] = lr


def train_step(model, optimizer, x, y):
    """One optimizer step on a batch; returns (loss, number of correct predictions)."""
    logits = model(Tensor(x))
    loss = F.cross_entropy(logits, y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return float(loss.item()), int((logits.data.argmax(axis=1) == y).sum())


def fit(
    model,
    optimizer,
    train_loader,
    test_loader,
    epochs,
    lr_at=None,
    progress=None,
    should_stop=None,
):
    """Train for ``epochs`` epochs (resuming at ``progress``), yielding events."""
    p = progress if progress is not None else Progress()
    steps = len(train_loader)
    while p.epoch < epochs:
        train_loader.set_epoch(p.epoch)
        model.train()
        t_last = time.perf_counter()
        for x, y in train_loader.iterate(start=p.step):
            if lr_at is not None:
                set_lr(optimizer, lr_at(p.global_step))
            loss, correct = train_step(model, optimizer, x, y)
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
                optimizer.param_groups[0]["lr"],
            )
            if should_stop is not None and should_stop():
                yield Stopped(p)
                return
        t0 = time.perf_counter()
        test_loss, test_acc = evaluate(model, test_loader)[:2]
        p.seconds += time.perf_counter() - t0
        yield EpochEvent(
            p.epoch + 1,
            p.loss_sum / max(p.seen, 1),
            p.correct / max(p.seen, 1),
            test_loss,
            test_acc,
            p.seconds,
        )
        p.epoch += 1
        p.step = p.correct = p.seen = 0
        p.loss_sum = p.seconds = 0.0


def predict_logits(model, x, batch_size=500):
    """Logits (N, classes) for a float batch x (N, C, H, W), in eval mode without a graph."""
    model.eval()
    with no_grad():
        parts = [model(Tensor(x[i : i + batch_size])).data for i in range(0, len(x), batch_size)]
    return np.concatenate(parts) if parts else np.zeros((0, 0), np.float32)


def evaluate(model, loader):
    """(mean loss, accuracy, per-class correct (K,), per-class count (K,)) over a loader."""
    model.eval()
    loss_sum, correct, total = 0.0, 0, 0
    preds, labels = [], []
    with no_grad():
        for x, y in loader:
            logits = model(Tensor(x))
            loss_sum += float(F.cross_entropy(logits, y).item()) * len(y)
            pred = logits.data.argmax(axis=1)
            correct += int((pred == y).sum())
            total += len(y)
            preds.append(pred)
            labels.append(y)
    if total == 0:
        return float("nan"), float("nan"), np.zeros(0, int), np.zeros(0, int)
    pred, label = np.concatenate(preds), np.concatenate(labels)
    k = int(max(pred.max(), label.max())) + 1
    per_class_correct = np.bincount(label[pred == label], minlength=k)
    per_class_total = np.bincount(label, minlength=k)
    return loss_sum / total, correct / total, per_class_correct, per_class_total
