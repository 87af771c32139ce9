"""Datasets and a DataLoader that yields whole NumPy batches.

    train = ArrayDataset(images, labels, transform=Normalize(0.1307, 0.3081))
    for x, y in DataLoader(train, batch_size=64, shuffle=True, seed=0):
        ...   # x (B, C, H, W) float32, y (B,) int64

Images are kept as stored (uint8 pixels stay uint8, 1 byte each) and become float32
one batch at a time: ``x = transform(pixels)``. An ArrayDataset gathers a batch with one
fancy-indexing call, never a Python loop over samples.

Any dataset with ``.batch(indices)`` takes that fast path. A PyTorch-style dataset that has only
``__len__`` and ``__getitem__`` returning (image, label) - or a plain list of such tuples - works
too: its items are stacked, ``x`` as given (np.stack), ``y`` as int64.

Shuffling is a pure function of (seed, epoch): epoch e visits the samples in the order
``permutation(seed, e)``, so a run resumed in the middle of epoch e sees the same batches
as one that never stopped.
"""

from functools import partial

import numpy as np

from ..errors import DataError


class Dataset:
    """Anything with ``len(ds)`` and ``ds[i] -> (x, y)``; ``ds.batch(indices)`` gathers many."""

    def __len__(self):
        raise NotImplementedError

    def __getitem__(self, index):
        raise NotImplementedError

    def batch(self, indices):
        """(x, y) for an array of indices; the default stacks ``self[i]`` one by one."""
        return stack_items(self, indices)


def stack_items(dataset, indices):
    """(x, y): ``dataset[i]`` for each index, images stacked (np.stack) and labels int64."""
    pairs = [dataset[int(i)] for i in indices]
    for i, pair in zip(indices, pairs, strict=True):
        if not (isinstance(pair, tuple | list) and len(pair) == 2):
            raise DataError(
                f"DataLoader: dataset[{int(i)}] gave {type(pair).__name__}, not an (image, label)"
                f" pair; make __getitem__ return (image, label)"
            )
    x = np.stack([np.asarray(p[0]) for p in pairs])
    return x, np.asarray([int(p[1]) for p in pairs], dtype=np.int64)


class ArrayDataset(Dataset):
    """Samples held in two arrays: images (N, C, H, W) (any dtype) and integer labels (N,).

    ``transform`` maps a batch of stored images to the float batch the model sees
    (default: ToFloat, pixels / 255 for uint8). ``classes`` names label 0, 1, ...
    """

    def __init__(self, images, labels, transform=None, classes=None):
        images, labels = np.asarray(images), np.asarray(labels)
        if images.ndim != 4:
            raise DataError(
                f"ArrayDataset: images must be (N, C, H, W), got shape {images.shape};"
                f" add a channel axis with images[:, None]"
            )
        if labels.ndim != 1 or len(labels) != len(images):
            raise DataError(
                f"ArrayDataset: {len(images)} images but labels of shape {labels.shape};"
                f" give one integer label per image"
            )
        self.images = images
        self.labels = labels.astype(np.int64, copy=False)
        self.transform = transform if transform is not None else ToFloat()
        n_classes = int(self.labels.max()) + 1 if len(self.labels) else 0
        self.classes = list(classes) if classes is not None else [str(c) for c in range(n_classes)]

    def __len__(self):
        return len(self.images)

    def __getitem__(self, index):
        x, y = self.batch(np.asarray([index]))
        return x[0], int(y[0])

    def batch(self, indices):
        return self.transform(self.images[indices]), self.labels[indices]

    def subset(self, indices):
        """The samples at ``indices`` (e.g. the first 512) as a new ArrayDataset."""
        indices = np.asarray(indices)
        return ArrayDataset(
            self.images[indices], self.labels[indices], self.transform, self.classes
        )

    @property
    def sample_shape(self):
        """(C, H, W) of one image."""
        return tuple(self.images.shape[1:])


class ToFloat:
    """uint8 pixels 0..255 -> float32 0..1; float images pass through as float32."""

    def __call__(self, x):
        if x.dtype == np.uint8:
            return x.astype(np.float32) * np.float32(1 / 255)
        return x.astype(np.float32, copy=False)

    def __repr__(self):
        return "ToFloat()"


class Normalize:
    """ToFloat, then (x - mean) / std; mean and std are floats or one per channel."""

    def __init__(self, mean, std):
        self.mean = [float(m) for m in np.atleast_1d(mean)]
        self.std = [float(s) for s in np.atleast_1d(std)]
        if any(s <= 0 for s in self.std):
            raise DataError(f"Normalize: std must be > 0, got {self.std}")
        self._mean = np.asarray(self.mean, dtype=np.float32).reshape(-1, 1, 1)
        self._scale = (1 / np.asarray(self.std, dtype=np.float32)).reshape(-1, 1, 1)

    def __call__(self, x):
        return (ToFloat()(x) - self._mean) * self._scale

    def __repr__(self):
        return f"Normalize(mean={self.mean}, std={self.std})"


def permutation(n, seed, epoch):
    """The visiting order of epoch ``epoch`` for a loader seeded with ``seed``."""
    return np.random.default_rng([int(seed), int(epoch)]).permutation(n)


class DataLoader:
    """Batches of (x, y) from a dataset: ``batch_size``, seeded ``shuffle``, ``drop_last``.

    ``set_epoch(e)`` picks the shuffle order of epoch e (each ``iter()`` also advances it);
    ``start`` skips the first batches of the epoch, which is how a run resumes mid-epoch.
    ``dataset``: anything with ``len()`` and ``[i] -> (image, label)``; ``.batch(indices)``
    when it has one. ``sampler``: as in PyTorch, an iterable of sample indices with ``len()``
    (a ``DistributedSampler``, a list, an array) that decides the order instead of ``shuffle``;
    ``set_epoch(e)`` is passed on to it when it has one. ``num_workers=0`` and
    ``pin_memory=False`` are accepted as in PyTorch (batches are loaded in this process, on the
    CPU) and nothing else.
    """

    def __init__(
        self,
        dataset,
        batch_size=64,
        shuffle=False,
        drop_last=False,
        seed=0,
        num_workers=0,
        pin_memory=False,
        *,
        sampler=None,
    ):
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
            raise DataError(
                f"DataLoader: batch_size must be a positive integer, got {batch_size!r}"
            )
        if num_workers != 0:
            raise DataError(
                f"DataLoader: num_workers={num_workers!r} is not supported: convscope loads"
                f" batches in a single process; use num_workers=0 (the default)"
            )
        if pin_memory:
            raise DataError(
                "DataLoader: pin_memory=True is not supported: convscope runs on the CPU, there"
                " is no GPU memory to pin for; leave pin_memory=False (the default)"
            )
        if not (hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__")):
            raise DataError(
                f"DataLoader: a dataset needs __len__ and __getitem__, got {type(dataset).__name__}"
            )
        if sampler is not None and shuffle:
            raise DataError(
                "DataLoader: sampler and shuffle=True exclude each other (the sampler decides"
                " the order); drop shuffle=True, or shuffle inside the sampler"
            )
        if sampler is not None and not (
            hasattr(sampler, "__iter__") and hasattr(sampler, "__len__")
        ):
            raise DataError(
                f"DataLoader: a sampler is an iterable of sample indices with len(), got"
                f" {type(sampler).__name__}"
            )
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.sampler = sampler
        self.drop_last = drop_last
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch):
        self.epoch = int(epoch)
        if callable(getattr(self.sampler, "set_epoch", None)):
            self.sampler.set_epoch(self.epoch)

    def __len__(self):
        n = len(self.dataset) if self.sampler is None else len(self.sampler)
        b = self.batch_size
        return n // b if self.drop_last else -(-n // b)

    def order(self, epoch=None):
        """The sample indices of an epoch (default: the current one), in visiting order."""
        if self.sampler is not None:
            return self._sampled()
        n = len(self.dataset)
        epoch = self.epoch if epoch is None else epoch
        return permutation(n, self.seed, epoch) if self.shuffle else np.arange(n)

    def _sampled(self):
        order = np.fromiter(iter(self.sampler), dtype=np.int64)
        n = len(self.dataset)
        if len(order) and (order.min() < 0 or order.max() >= n):
            bad = order.min() if order.min() < 0 else order.max()
            raise DataError(
                f"DataLoader: the sampler gave index {bad}, but the dataset holds {n} samples"
                f" (indices 0-{n - 1})"
            )
        return order

    def iterate(self, start=0, epoch=None):
        """The batches of an epoch (default: the current one) from batch number ``start`` on."""
        order, b = self.order(epoch), self.batch_size
        batch = getattr(self.dataset, "batch", None)
        if not callable(batch):
            batch = partial(stack_items, self.dataset)
        for k in range(start, len(self)):
            yield batch(order[k * b : (k + 1) * b])

    def __iter__(self):
        """The current epoch's batches; the next ``iter()`` gives the next epoch's order (a
        sampler keeps its own epoch, as in PyTorch: call ``set_epoch``)."""
        self.epoch += 1
        return self.iterate(epoch=self.epoch - 1)
