"""Which digits the model gets wrong: its predictions over a dataset, counted and ranked.

confusion_matrix(model, test)     (K, K) int64, [true class, predicted class]
mistakes(model, test, k=16)       the k wrong predictions the model was surest of
"""

from typing import NamedTuple

import numpy as np

from ..autograd import Tensor, no_grad
from ..data import ArrayDataset, DataLoader
from ..errors import DataError
from .checks import class_scores, images, inspecting, positive_int


class Predictions(NamedTuple):
    """``probabilities`` (N, K) softmax of the logits, ``labels`` (N,) the true classes."""

    probabilities: np.ndarray
    labels: np.ndarray


class Mistakes(NamedTuple):
    """Up to k wrong predictions, surest first: dataset ``index``, ``true`` and ``predicted``
    class, ``probability`` the model gave its prediction, each (k,)."""

    index: np.ndarray
    true: np.ndarray
    predicted: np.ndarray
    probability: np.ndarray


def predict(model, dataset, batch_size=500):
    """Softmax probabilities of every sample, batch by batch in eval mode without a graph.

    dataset: a convscope dataset (images as its ``transform`` prepares them, e.g. the held-out
    digits of ``data.load_digits()``), anything a DataLoader takes, or an (images, labels) pair
    of arrays already as the model takes them.
    """
    op = "predict"
    batch_size = positive_int(batch_size, op, "batch_size")
    if isinstance(dataset, tuple) and len(dataset) == 2:
        dataset = ArrayDataset(dataset[0], dataset[1], transform=np.asarray)
    probs, labels = [], []
    with inspecting(model), no_grad():
        for x, y in DataLoader(dataset, batch_size):
            batch, _ = images(model, x, op)
            logits = class_scores(model(Tensor(batch)).data, op)
            z = np.exp(logits - logits.max(axis=1, keepdims=True))
            probs.append(z / z.sum(axis=1, keepdims=True))
            labels.append(np.asarray(y, dtype=np.int64))
    if not probs:
        raise DataError(f"{op}: the dataset is empty; give at least one labelled image")
    probs, labels = np.concatenate(probs), np.concatenate(labels)
    k = probs.shape[1]
    if labels.min() < 0 or labels.max() >= k:
        bad = labels[(labels < 0) | (labels >= k)][0]
        raise DataError(
            f"{op}: the dataset has label {bad}, but the model knows {k} classes (0-{k - 1});"
            f" give data labelled for this model"
        )
    return Predictions(probs, labels)


def confusion_matrix(model, dataset, batch_size=500):
    """(K, K) int64 counts: row = true class, column = predicted class (the argmax).

    The diagonal holds the correct predictions; ``trace / sum`` is the accuracy.
    """
    probs, labels = predict(model, dataset, batch_size)
    k = probs.shape[1]
    flat = labels * k + probs.argmax(axis=1)
    return np.bincount(flat, minlength=k * k).reshape(k, k)


def mistakes(model, dataset, k=16, batch_size=500):
    """The k wrong predictions with the highest predicted probability (ties: lower index
    first), as a Mistakes named tuple of (k,) arrays; fewer when the model makes fewer."""
    k = positive_int(k, "mistakes", "k")
    probs, labels = predict(model, dataset, batch_size)
    predicted = probs.argmax(axis=1)
    confidence = probs[np.arange(len(probs)), predicted]
    wrong = np.flatnonzero(predicted != labels)
    order = wrong[np.argsort(-confidence[wrong], kind="stable")][:k]
    return Mistakes(order, labels[order], predicted[order], confidence[order])
