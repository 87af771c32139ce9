"""Shape ops behind Tensor.reshape/permute/expand/indexing and cs.cat/cs.stack.

Each moves or copies elements without arithmetic, so each backward moves the gradient back.
"""

import numpy as np

from ..backend import get_xp
from ..errors import ShapeError
from .arith import check_broadcast, unbroadcast


def reshape_forward(a, shape):
    xp = get_xp(a)
    try:
        return xp.reshape(a, shape), a.shape
    except (ValueError, TypeError):
        raise ShapeError(
            f"reshape: cannot view {a.size} elements of shape {a.shape} as shape {shape};"
            f" the sizes must multiply to {a.size} (use -1 for one inferred size)"
        ) from None


def reshape_backward(dy, shape):
    xp = get_xp(dy)
    return (xp.reshape(dy, shape),)


def transpose_forward(a, axes):
    """y = a.transpose(axes); axes is a full permutation of 0..ndim-1 (negatives allowed)."""
    xp = get_xp(a)
    n = a.ndim
    norm = [int(x) % n if -n <= x < n else None for x in axes] if n else list(axes)
    if len(axes) != n or None in norm or sorted(norm) != list(range(n)):
        raise ShapeError(
            f"permute: axes {tuple(axes)} must be a permutation of 0..{n - 1} for a {n}-D tensor"
            f" of shape {a.shape}; name every axis exactly once"
        )
    return xp.transpose(a, norm), tuple(np.argsort(norm).tolist())


def transpose_backward(dy, inverse):
    xp = get_xp(dy)
    return (xp.transpose(dy, inverse),)


def expand_forward(a, shape):
    """Broadcast a to shape (-1 keeps a size), a read-only view; backward sums the copies."""
    xp = get_xp(a)
    lead = len(shape) - a.ndim
    full = tuple(a.shape[i - lead] if n == -1 and i >= lead else n for i, n in enumerate(shape))
    if check_broadcast("expand", a.shape, full) != full:
        raise ShapeError(
            f"expand: shape {a.shape} cannot expand to {tuple(shape)}; only sizes of 1 can grow"
        )
    return xp.broadcast_to(a, full), a.shape


def expand_backward(dy, shape):
    return (unbroadcast(dy, shape),)


def getitem_forward(a, index):
    try:
        y = a[index]
    except IndexError as exc:
        raise ShapeError(f"index: {exc} (tensor shape {a.shape}); index within the shape") from None
    return y, (a.shape, index)


def getitem_backward(dy, cache):
    xp = get_xp(dy)
    shape, index = cache
    da = xp.zeros(shape, dtype=dy.dtype)
    if _is_basic(index):
        da[index] = dy  # slices and integers never repeat an element
    else:
        xp.add.at(da, index, dy)  # repeated (fancy) indices accumulate
    return (da,)


def concat_forward(*arrays, axis):
    """y = concatenate(arrays, axis); every other axis must agree."""
    _check_same("cat", arrays, axis, skip_axis=True)
    sizes = [a.shape[axis] for a in arrays]
    xp = get_xp(*arrays)
    return xp.concatenate(arrays, axis=axis), (np.cumsum(sizes)[:-1].tolist(), axis)


def concat_backward(dy, cache):
    xp = get_xp(dy)
    splits, axis = cache
    return tuple(xp.split(dy, splits, axis=axis))


def stack_forward(*arrays, axis):
    """y = stack(arrays, axis): a new axis; every shape must be equal."""
    _check_same("stack", arrays, axis, skip_axis=False)
    return get_xp(*arrays).stack(arrays, axis=axis), (len(arrays), axis)


def stack_backward(dy, cache):
    xp = get_xp(dy)
    n, axis = cache
    return tuple(xp.squeeze(part, axis) for part in xp.split(dy, n, axis=axis))


def _check_same(op, arrays, axis, skip_axis):
    if not arrays:
        raise ShapeError(f"{op}: needs at least one tensor, got none")
    ndim = arrays[0].ndim
    limit = ndim if skip_axis else ndim + 1
    if not -limit <= axis < limit:
        raise ShapeError(
            f"{op}: dim {axis} is out of range for {ndim}-D tensors (valid: {-limit}..{limit - 1})"
        )
    axis %= limit

    def key(shape):  # the sizes that must agree
        return shape[:axis] + shape[axis + 1 :] if skip_axis else shape

    for i, a in enumerate(arrays[1:], start=1):
        if a.ndim != ndim or key(a.shape) != key(arrays[0].shape):
            rule = f"every size except dim {axis}" if skip_axis else "every size"
            raise ShapeError(
                f"{op}: tensor {i} has shape {a.shape} but tensor 0 has {arrays[0].shape};"
                f" {rule} must agree"
            )


def _is_basic(index):
    parts = index if isinstance(index, tuple) else (index,)
    return all(p is None or p is Ellipsis or isinstance(p, int | np.integer | slice) for p in parts)
