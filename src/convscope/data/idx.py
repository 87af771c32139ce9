"""IDX files (MNIST, Fashion-MNIST, KMNIST), gzipped or raw, and folders that hold them.

IDX layout: bytes 0-1 zero, byte 2 the element type (0x08 uint8, 0x09 int8, 0x0B int16,
0x0C int32, 0x0D float32, 0x0E float64), byte 3 the number of dimensions d, then d
big-endian uint32 sizes, then the elements, big-endian, row-major.

A folder may hold the files directly or in torchvision's layout (``<root>/MNIST/raw/``,
``<root>/FashionMNIST/raw/``, ``<root>/raw/``). Files are named like
``train-images-idx3-ubyte[.gz]`` / ``t10k-labels-idx1-ubyte[.gz]`` (``.`` instead of the
last ``-`` is accepted too). Nothing is ever downloaded.

A file is read as a stream, and never further than its header declares (plus one byte, to
tell a file that is too long): a gzip bomb that inflates to 4 GiB behind a header of 300 images
costs 300 images of memory, then a sentence.
"""

import gzip
import math
import re
import zlib
from pathlib import Path

import numpy as np

from ..errors import DataError
from .dataset import ArrayDataset

DTYPES = {0x08: "u1", 0x09: "i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
SPLITS = {"train": "train", "test": "t10k"}
MAX_CLASSES = 65536  # a label beyond would build a model (and a class list) of that many outputs
_NAME = re.compile(r"^(train|t10k)-(images|labels)[-.]idx([13])-ubyte(\.gz)?$")


def read_idx(path):
    """The array stored in one IDX file (native byte order)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    with path.open("rb") as f:
        compressed = f.read(2) == b"\x1f\x8b"
    if not compressed:
        with path.open("rb") as f:
            return _read_stream(f, path, path.stat().st_size)
    try:
        with gzip.open(path, "rb") as f:
            return _read_stream(f, path, None)
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:  # not IO errors: those say so
        raise DataError(f"{path}: corrupt gzip file ({exc})") from None


def _read_stream(f, path, size):
    """Parse an IDX stream; ``size``: the byte count when known up front (raw files)."""
    magic = f.read(4)
    if len(magic) < 4:
        raise DataError(f"{path}: not an IDX file: only {len(magic)} bytes, the header needs 4")
    if magic[0] != 0 or magic[1] != 0 or magic[2] not in DTYPES:
        raise DataError(
            f"{path}: not an IDX file: wrong magic number 0x{magic.hex()}"
            f" (expected 0x0000TTDD: type byte 08/09/0B/0C/0D/0E, then the number of dimensions)"
        )
    ndim, header = magic[3], 4 + 4 * magic[3]
    dims = f.read(4 * ndim)
    if len(dims) < 4 * ndim:
        raise DataError(
            f"{path}: truncated IDX header: {4 + len(dims)} bytes, {ndim} dimensions need {header}"
        )
    shape = tuple(int(s) for s in np.frombuffer(dims, ">u4"))
    dtype = np.dtype(DTYPES[magic[2]])
    expected = header + math.prod(shape) * dtype.itemsize

    def wrong_size(what, have):
        return DataError(
            f"{path}: {what}: shape {shape} of {dtype.name} needs {expected} bytes,"
            f" the file has {have}"
        )

    if size is not None and size != expected:
        raise wrong_size("truncated" if size < expected else "too long", size)
    data = _read_at_most(f, expected - header)
    if len(data) < expected - header:
        raise wrong_size("truncated", header + len(data))
    if f.read(1):
        raise wrong_size("too long", "more")
    array = np.frombuffer(data, dtype).reshape(shape)
    return array.astype(dtype.newbyteorder("="), copy=False)


def _read_at_most(f, n, chunk=1 << 24):
    """Up to n bytes of f, read in chunks: memory grows with what the file holds, not with n."""
    data = bytearray()
    while len(data) < n:
        part = f.read(min(chunk, n - len(data)))
        if not part:
            break
        data += part
    return data


def find_idx_files(root):
    """{(split, kind): path} for every IDX file in root, root/raw or root/*/raw."""
    root = Path(root)
    if not root.exists():
        raise DataError(f"{root}: no such file or directory")
    found = {}
    for folder in [root, root / "raw", *sorted(root.glob("*/raw"))]:
        if not folder.is_dir():
            continue
        for f in sorted(folder.iterdir()):
            m = _NAME.match(f.name)
            if m:
                found.setdefault((m[1], m[2]), f)
    return found


def load_idx(root, split="train", transform=None):
    """ArrayDataset of one split ("train" or "test") of an IDX folder; images (N, 1, H, W)."""
    files = find_idx_files(root)
    prefix = SPLITS[split]
    missing = [k for k in ("images", "labels") if (prefix, k) not in files]
    if missing:
        names = " and ".join(
            f"{prefix}-{k}-idx{1 if k == 'labels' else 3}-ubyte[.gz]" for k in missing
        )
        raise DataError(f"{root}: no {names} here, nor under raw/ or */raw/")
    images_path, labels_path = files[prefix, "images"], files[prefix, "labels"]
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3:
        raise DataError(f"{images_path}: expected images (N, H, W), got shape {images.shape}")
    if labels.ndim != 1:
        raise DataError(f"{labels_path}: expected labels (N,), got shape {labels.shape}")
    if len(images) != len(labels):
        raise DataError(
            f"{images_path.name} holds {len(images)} images but {labels_path.name} holds"
            f" {len(labels)} labels (in {images_path.parent}); the counts must match"
        )
    if len(labels) and (labels.min() < 0 or labels.dtype.kind == "f"):
        raise DataError(f"{labels_path}: labels must be integers >= 0")
    if len(labels) and labels.max() >= MAX_CLASSES:
        raise DataError(
            f"{labels_path}: labels go up to {labels.max()}, but a classifier here has at most"
            f" {MAX_CLASSES} classes (labels 0-{MAX_CLASSES - 1})"
        )
    return ArrayDataset(images[:, None], labels.astype(np.int64), transform)
