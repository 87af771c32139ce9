"""Many arrays as one contiguous buffer and back: what makes a step's communication one MPI call.

buf = pack_bytes(arrays)          # raw bytes of every array, in order (any mix of dtypes)
unpack_bytes(buf, arrays)         # copy them back into the same arrays, in place
flat = pack_values(arrays, dtype) # the values, converted to one dtype (for a reduction)
for a, part in zip(arrays, split(flat, arrays)): ...   # views of flat, shaped like each array
"""

import numpy as np


def pack_bytes(arrays):
    """One uint8 array holding the bytes of every array (C order), one after the other."""
    parts = [np.ascontiguousarray(a).reshape(-1).view(np.uint8) for a in arrays]
    return np.concatenate(parts) if parts else np.zeros(0, np.uint8)


def unpack_bytes(buf, arrays):
    """Overwrite each array in place with its bytes from ``buf`` (the layout pack_bytes made)."""
    offset = 0
    for a in arrays:
        part = buf[offset : offset + a.nbytes]
        a[...] = part.view(a.dtype).reshape(a.shape)
        offset += a.nbytes


def pack_values(arrays, dtype):
    """The values of every array, raveled and converted to ``dtype``, as one 1-D array."""
    if not arrays:
        return np.zeros(0, dtype)
    return np.concatenate([np.ravel(a) for a in arrays], dtype=dtype)


def split(flat, arrays):
    """Views of ``flat``, one per array, each reshaped to that array's shape."""
    views, offset = [], 0
    for a in arrays:
        size = int(np.prod(np.shape(a), dtype=np.int64))
        views.append(flat[offset : offset + size].reshape(np.shape(a)))
        offset += size
    return views
