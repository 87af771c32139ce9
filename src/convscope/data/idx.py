"""IDX files (MNIST, Fashion-MNIST, KMNIST), gzipped or raw, and folders that hold them.

IDX layout: bytes 0-1 zero, byte 2 the element type (0x08 uint8, 0x09 int8, 0x0B int16,
0x0C int32, 0x0D float32, 0x0E float64), byte 3 the number of dimensions d, then d
big-endian uint32 sizes, then the elements, big-endian, row-major.

A folder may hold the files directly or in torchvision's layout (``<root>/MNIST/raw/``,
``<root>/FashionMNIST/raw/``, ``<root>/raw/``). Files are named like
``train-images-idx3-ubyte[.gz]`` / ``t10k-labels-idx1-ubyte[.gz]`` (``.`` instead of the
last ``-`` is accepted too). Nothing is ever downloaded.
"""

import gzip
import re
import zlib
from pathlib import Path

import numpy as np

from ..errors import DataError
from .dataset import ArrayDataset

DTYPES = {0x08: "u1", 0x09: "i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
SPLITS = {"train": "train", "test": "t10k"}
_NAME = re.compile(r"^(train|t10k)-(images|labels)[-.]idx([13])-ubyte(\.gz)?$")


def read_idx(path):
    """The array stored in one IDX file (native byte order)."""
    path = Path(path)
    raw = _read_bytes(path)
    if len(raw) < 4:
        raise DataError(f"{path}: not an IDX file: only {len(raw)} bytes, the header needs 4")
    if raw[0] != 0 or raw[1] != 0 or raw[2] not in DTYPES:
        raise DataError(
            f"{path}: not an IDX file: wrong magic number 0x{raw[:4].hex()}"
            f" (expected 0x0000TTDD: type byte 08/09/0B/0C/0D/0E, then the number of dimensions)"
        )
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(
            f"{path}: truncated IDX header: {len(raw)} bytes, {ndim} dimensions need {header}"
        )
    shape = tuple(int(s) for s in np.frombuffer(raw, ">u4", ndim, 4))
    dtype = np.dtype(DTYPES[raw[2]])
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) != expected:
        what = "truncated" if len(raw) < expected else "too long"
        raise DataError(
            f"{path}: {what}: shape {shape} of {dtype.name} needs {expected} bytes,"
            f" the file has {len(raw)}"
        )
    data = np.frombuffer(raw, dtype, offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder("="))


def _read_bytes(path):
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    raw = path.read_bytes()
    if raw[:2] != b"\x1f\x8b":
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(f"{path}: corrupt gzip file ({exc})") from None


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
    return ArrayDataset(images[:, None], labels.astype(np.int64), transform)
