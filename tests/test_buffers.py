"""ops.buffers.scratch: a buffer comes back only when nothing else holds it."""

import numpy as np

from convscope.ops import buffers

BIG = (512, 1024)  # 2 MB of float32: above MIN_BYTES


def test_a_free_buffer_is_reused_and_a_held_one_is_not():
    buffers.clear()
    a = buffers.scratch(BIG, np.float32)
    assert buffers.scratch(BIG, np.float32) is not a  # a is still held here
    first = id(a)
    del a
    b = buffers.scratch(BIG, np.float32)
    assert id(b) == first  # reused once free
    view = b[1:]
    del b
    c = buffers.scratch(BIG, np.float32)
    assert id(c) != first  # a view still holds it
    del view, c
    buffers.clear()


def test_small_arrays_and_dtypes_are_separate():
    buffers.clear()
    small = buffers.scratch((4, 4), np.float64)
    assert small.shape == (4, 4) and small.dtype == np.float64
    a = buffers.scratch(BIG, np.float32)
    first = id(a)
    del a
    assert id(buffers.scratch(BIG, np.float64)) != first
    buffers.clear()
