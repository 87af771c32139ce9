"""One entry point for ``--data``: the embedded digits, an IDX folder or an image folder.

    train, test = open_data(None)            # embedded 8,000 / 2,000 digits, MNIST-normalised
    train, test = open_data("~/mnist")       # IDX: train-* and t10k-* files (or */raw/)
    train, test = open_data("photos/")       # photos/<class>/*.png, or photos/train|test/<class>/
    data = open_eval_data(path)              # the test split, or every image of a folder

An image folder without train/ and test/ sub-folders is split 80/20 by a permutation seeded
with ``seed``. Every dataset is normalised with the training images' mean and std (for the
embedded digits, MNIST's 0.1307 and 0.3081), which ``normalization(train)`` reports.
"""

from pathlib import Path

import numpy as np

from ..errors import DataError
from .dataset import Normalize
from .digits import load_digits
from .folder import load_image_folder
from .idx import find_idx_files, load_idx


def open_data(path=None, size=(28, 28), channels=1, seed=0, test_fraction=0.2):
    """(train, test) ArrayDatasets for ``--data PATH`` (None: the embedded digits)."""
    if path is None:
        return load_digits()
    path = _existing(path)
    if find_idx_files(path):
        train, test = load_idx(path, "train"), load_idx(path, "test")
    elif (path / "train").is_dir() and (path / "test").is_dir():
        train = load_image_folder(path / "train", size, channels)
        test = load_image_folder(path / "test", size, channels)
    else:
        train, test = _split(load_image_folder(path, size, channels), seed, test_fraction)
    _check_trainable(path, train, test)
    mean, std = pixel_stats(train)
    for ds in (train, test):
        ds.transform = Normalize(mean, std)
    return train, test


def open_eval_data(path=None, size=(28, 28), channels=1, classes=None):
    """The dataset ``eval --data PATH`` scores: the test split (IDX: t10k if present, else
    train), or all images of a class folder; not normalised (set ``.transform``).

    ``classes``: the model's class names; an image folder's sub-folders must be named by them.
    """
    if path is None:
        return load_digits()[1]
    path = _existing(path)
    files = find_idx_files(path)
    if files:
        return load_idx(path, "test" if ("t10k", "images") in files else "train")
    if (path / "test").is_dir():
        path = path / "test"
    return load_image_folder(path, size, channels, classes=classes)


def _check_trainable(path, train, test):
    """DataError unless both splits hold images and the training images span two classes."""
    for split, data, need in (("train", train, "to learn from"), ("test", test, "to score")):
        if len(data) == 0:
            raise DataError(
                f"{path}: the {split} split holds no images; a run needs {split} images {need}"
            )
    present = np.unique(train.labels)
    if len(present) < 2:
        raise DataError(
            f"{path}: all {len(train)} training images are of class"
            f" {train.classes[present[0]]!r}; a classifier needs at least two classes"
            f" (an image folder: one sub-folder per class)"
        )


def pixel_stats(dataset):
    """Per-channel mean and std of a dataset's pixels scaled to 0..1 (std >= 1e-6)."""
    images = dataset.images
    scale = 1 / 255 if images.dtype == np.uint8 else 1.0
    mean, std = [], []
    for c in range(images.shape[1]):
        pixels = images[:, c].astype(np.float64) * scale
        mean.append(float(pixels.mean()))
        std.append(max(float(pixels.std()), 1e-6))
    return mean, std


def normalization(dataset):
    """(mean, std) lists of the Normalize a dataset applies; ([0], [1]) when it has none."""
    t = dataset.transform
    return (t.mean, t.std) if isinstance(t, Normalize) else ([0.0], [1.0])


def _existing(path):
    path = Path(path).expanduser()
    if not path.exists():
        raise DataError(f"{path}: no such file or directory")
    if not path.is_dir():
        raise DataError(f"{path}: --data needs a folder (IDX files, or one sub-folder per class)")
    return path


def _split(dataset, seed, test_fraction):
    n = len(dataset)
    order = np.random.default_rng(seed).permutation(n)
    n_test = max(1, round(n * test_fraction)) if n > 1 else 0
    if n - n_test < 1:
        raise DataError(f"image folder: {n} images are too few to split into train and test")
    test, train = order[:n_test], order[n_test:]
    return dataset.subset(train), dataset.subset(test)
