"""Many arrays as one contiguous buffer and back: what makes a step's communication one MPI call.

    buf = pack_bytes(arrays)          # raw bytes of every array, in order (any mix of dtypes)
    unpack_bytes(buf, arrays)         # copy them back into the same arrays, in place
    flat = pack_values(arrays, dtype) # the values, converted to one dtype (for a reduction)
    for a, part in zip(arrays, split(flat, arrays)): ...   # views of flat, shaped like each array

``out=`` takes a ``Scratch``: one buffer reused from call to call (grown when too small), which
MPI sends much faster than fresh memory.
"""

import numpy as np


class Scratch:
    """A reusable 1-D buffer of one dtype: ``scratch.take(n)`` -> a view of n elements."""

    def __init__(self, dtype):
        self.array = np.zeros(0, dtype)

    def take(self, n):
        if self.array.size < n:
            self.array = np.empty(n, self.array.dtype)
        return self.array[:n]


def _size(a):
    return int(np.prod(np.shape(a), dtype=np.int64))


def pack_bytes(arrays, out=None):
    """One uint8 array holding the bytes of every array (C order), one after the other."""
    parts = [np.ascontiguousarray(a).reshape(-1).view(np.uint8) for a in arrays]
    return _concatenate(parts, np.uint8, out)


def unpack_bytes(buf, arrays):
    """Overwrite each array in place with its bytes from ``buf`` (the layout pack_bytes made)."""
    offset = 0
    for a in arrays:
        part = buf[offset : offset + a.nbytes]
        a[...] = part.view(a.dtype).reshape(a.shape)
        offset += a.nbytes


def pack_values(arrays, dtype, out=None):
    """The values of every array, raveled and converted to ``dtype``, as one 1-D array."""
    return _concatenate([np.ravel(a) for a in arrays], dtype, out)


def split(flat, arrays):
    """Views of ``flat``, one per array, each reshaped to that array's shape."""
    views, offset = [], 0
    for a in arrays:
        size = _size(a)
        views.append(flat[offset : offset + size].reshape(np.shape(a)))
        offset += size
    return views


def _concatenate(parts, dtype, out):
    total = sum(p.size for p in parts)
    buf = np.empty(total, dtype) if out is None else out.take(total)
    if parts:
        np.concatenate(parts, out=buf, casting="same_kind")
    return buf
