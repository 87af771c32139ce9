"""Reusable scratch arrays for the large temporaries of conv (window columns, their gradients).

A fresh multi-megabyte array is mapped page by page on first touch: filling a new 75 MB
array measured 8.9 ms here against 2.3 ms for one that is reused. ``scratch`` hands out
an array of the asked shape and dtype that no one else holds any more (reference count),
allocating (and remembering) a new one only when all remembered ones are still in use,
e.g. by the caches of several layers of the same shape waiting for their backward pass.

    cols = scratch((n, c, kh, kw, oh, ow), x.dtype)   # contents undefined

Small arrays (< MIN_BYTES) come straight from numpy; ``clear()`` forgets every buffer;
``zero_padded`` pads conv's input into one.

The arrays that cannot be reused (each op's output and gradient) come from the C heap. glibc
gives the top of its heap back to the system whenever more than its trim threshold is free
there (128 KB to start), so a training loop shrank and regrew the heap in every step and
page-faulted its activations back in: ~1,200 page faults and ~40% of a LeNet-5 step (batch
64) in a fresh process. Freeing one block that was mapped on its own raises glibc's mmap and
trim thresholds to that block's size and twice it, for the whole process (mallopt(3): the
dynamic mmap threshold), as any program that once frees a 16 MB array does. ``settle_heap``
allocates and frees such a block (never touched) when this module is imported.
"""

import math
import sys
import threading

import numpy as np

from ..backend import get_xp

MIN_BYTES = 1 << 20  # below this numpy's allocator is fast enough
PER_KEY = 4  # buffers remembered per (shape, dtype)

SETTLE_BYTES = 16 << 20  # glibc's thresholds grow to at most 32 MB: a block below that


def settle_heap():
    """Allocate and free one SETTLE_BYTES block, untouched (see the module docstring); elsewhere
    than glibc a malloc and a free with no other effect."""
    np.empty(SETTLE_BYTES, np.uint8)


settle_heap()

_pool = {}
_lock = threading.Lock()


def _unheld_count():
    """sys.getrefcount of an array held only by its pool list, seen from a loop like scratch's
    (measured, not assumed: interpreters differ in the references a loop keeps)."""
    for a in [np.empty(0)]:
        return sys.getrefcount(a)


_UNHELD = _unheld_count()


def scratch(shape, dtype):
    """An uninitialised C-contiguous array; reused when an earlier one of its kind is free."""
    dtype = np.dtype(dtype)
    if dtype.itemsize * math.prod(shape) < MIN_BYTES:
        return np.empty(shape, dtype)
    shape = tuple(int(s) for s in shape)
    key = (shape, dtype.str)
    with _lock:
        arrays = _pool.setdefault(key, [])
        for a in arrays:
            if sys.getrefcount(a) == _UNHELD:  # no cache, view or caller holds it
                return a
        a = np.empty(shape, dtype)
        if len(arrays) < PER_KEY:
            arrays.append(a)
        return a


def zero_padded(x, pads):
    """x (N, C, H, W) zero-padded by ((top, bottom), (left, right)): x itself without padding,
    else a scratch array (NumPy) or a fresh one (other array libraries)."""
    (t, b), (l, r) = pads
    if not (t or b or l or r):
        return x
    n, c, h, w = x.shape
    shape = (n, c, h + t + b, w + l + r)
    xp = get_xp(x)
    xpad = scratch(shape, x.dtype) if xp is np else xp.empty(shape, dtype=x.dtype)
    xpad[:, :, :t] = 0
    xpad[:, :, t + h :] = 0
    xpad[:, :, t : t + h, :l] = 0
    xpad[:, :, t : t + h, l + w :] = 0
    xpad[:, :, t : t + h, l : l + w] = x
    return xpad


def samples_per_chunk(sample_bytes, chunk_bytes):
    """Samples of sample_bytes each that make about chunk_bytes, at least one: the ops run a
    batch a cache-sized chunk at a time (columns, rows, tile arrays, pooling passes)."""
    return max(1, chunk_bytes // max(sample_bytes, 1))


def clear():
    """Forget every remembered buffer (their memory is freed once no one else holds them)."""
    with _lock:
        _pool.clear()
