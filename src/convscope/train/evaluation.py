"""A trained model on data: logits, loss and accuracy, and a sentence when its outputs are not finite.

    loss, acc, correct, total = evaluate(model, loader)    # per-class correct (K,), count (K,)
    logits = predict_logits(model, x)                       # (N, K), eval mode, no graph
    require_finite(logits, model, names)                    # CheckpointError naming the bad rows

A model whose weights hold NaN gives NaN logits, and argmax of NaN is class 0: eval and predict
check the outputs and say so instead of reporting an accuracy or a probability.
"""

import numpy as np

from ..autograd import Tensor, no_grad
from ..errors import CheckpointError
from ..nn import functional as F
from .world import SingleProcess


def predict_logits(model, x, batch_size=500):
    """Logits (N, classes) for a float batch x (N, C, H, W), in eval mode without a graph."""
    model.eval()
    with no_grad():
        parts = [model(Tensor(x[i : i + batch_size])).data for i in range(0, len(x), batch_size)]
    return np.concatenate(parts) if parts else np.zeros((0, 0), np.float32)


def evaluate(model, loader, world=None, num_classes=None):
    """(mean loss, accuracy, per-class correct (K,), per-class count (K,)) over a loader.

    With a data-parallel ``world`` each rank scores its shard and the sums are added over the
    ranks (``num_classes`` = K must then be given: every rank's vectors have one length).
    A model whose outputs are not finite gets a NaN loss (and should not be trusted).
    """
    world = world if world is not None else SingleProcess()
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
    pred = np.concatenate(preds) if preds else np.zeros(0, np.int64)
    label = np.concatenate(labels) if labels else np.zeros(0, np.int64)
    k = num_classes if num_classes is not None else int(max(pred.max(initial=-1), label.max(initial=-1))) + 1  # fmt: skip
    per_class_correct = np.bincount(label[pred == label], minlength=k)
    per_class_total = np.bincount(label, minlength=k)
    sums = world.allreduce_sum(
        np.concatenate([[loss_sum, correct, total], per_class_correct, per_class_total])
    )
    loss_sum, correct, total = sums[:3]
    per_class_correct, per_class_total = (sums[3 : 3 + k].astype(int), sums[3 + k :].astype(int))
    if total == 0:
        return float("nan"), float("nan"), np.zeros(0, int), np.zeros(0, int)
    return float(loss_sum / total), float(correct / total), per_class_correct, per_class_total


def nonfinite_weights(model):
    """{name: number of NaN/inf values} over the model's state_dict (empty when all finite)."""
    counts = {}
    for name, value in model.state_dict().items():
        value = np.asarray(value)
        if value.dtype.kind in "fc":
            bad = int(value.size - np.count_nonzero(np.isfinite(value)))
            if bad:
                counts[name] = bad
    return counts


def why_not_finite(model):
    """The reason a model's outputs are NaN/inf, as a clause for an error message."""
    bad = nonfinite_weights(model)
    if not bad:
        return "its weights are finite, so these inputs overflow float32"
    shown = ", ".join(f"{name} ({n} values)" for name, n in list(bad.items())[:4])
    more = f" and {len(bad) - 4} more" if len(bad) > 4 else ""
    return f"its weights hold NaN or inf: {shown}{more}; retrain it or pick another checkpoint"


def require_finite(logits, model, names):
    """CheckpointError when any row of ``logits`` holds NaN/inf; ``names`` label the rows."""
    bad = np.flatnonzero(~np.isfinite(logits).all(axis=1))
    if len(bad):
        which = ", ".join(str(names[i]) for i in bad[:3]) + (" ..." if len(bad) > 3 else "")
        raise CheckpointError(
            f"the model outputs NaN or inf for {len(bad)} of {len(logits)} inputs ({which}):"
            f" {why_not_finite(model)}"
        )
