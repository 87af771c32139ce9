"""The one Function protocol: wrap an ops-layer forward/backward pair as a graph node.

    y = apply(conv2d_forward, conv2d_backward, (x, w, b), stride=2, ...)

runs ``forward(*arrays, **kwargs) -> (y, cache)`` on the inputs' arrays (y may be a tuple
whose first array is differentiable: max pooling's (y, indices)) and, when
any Tensor input requires grad (and grad mode is on), records a Node whose
``backward(dy, cache) -> grads`` returns one gradient per input (None where unused).
No math lives here.
"""

import numpy as np

from ..backend import default_float
from ..errors import ShapeError
from ..ops import cache_need
from .grad_mode import is_grad_enabled


class Node:
    """One recorded op: its inputs (Tensors or None), the closure computing their grads, and
    the inputs' in-place change counts when it ran (see tape_checks)."""

    __slots__ = ("inputs", "backward", "cache", "name", "needs", "versions", "out_version")

    def __init__(self, name, inputs, backward, cache, needs):
        self.name = name
        self.inputs = inputs
        self.backward = backward
        self.cache = cache
        self.needs = needs
        self.versions = tuple(getattr(t, "_version", None) for t in inputs)
        self.out_version = 0  # a fresh output has changed 0 times

    def grads(self, dy):
        if self.needs is not None:
            return self.backward(dy, self.cache, needs=self.needs)
        return self.backward(dy, self.cache)

    def __repr__(self):
        return f"<{self.name}Backward>"


def numeric_array(value, dtype=None, op="tensor"):
    """np.asarray for real numbers only: None, strings, ragged lists and objects get a sentence."""
    try:
        arr = np.asarray(value, dtype=dtype)
    except (ValueError, TypeError) as exc:
        raise ShapeError(
            f"{op}: cannot make an array from {type(value).__name__} data ({exc}); pass numbers:"
            f" a Tensor, an ndarray, or nested lists of equal length"
        ) from None
    if arr.dtype.kind not in "biuf":
        raise ShapeError(
            f"{op}: data of dtype {arr.dtype} ({type(value).__name__}) is not real numbers;"
            f" pass ints, floats or bools: a Tensor, an ndarray, or nested lists of equal length"
        )
    return arr


_TENSOR = []  # the Tensor class, imported on first use (tensor.py imports this module)


def _tensor_class():
    if not _TENSOR:  # an import statement per call cost ~1 us, 30 per LeNet-5 forward
        from .tensor import Tensor

        _TENSOR.append(Tensor)
    return _TENSOR[0]


def as_array(value):
    """The ndarray behind a Tensor, or the value as a float array (ints promoted to float32)."""
    Tensor = _tensor_class()  # noqa: N806 - the class
    if isinstance(value, Tensor):
        return value.data
    if value is None:
        return None
    arr = numeric_array(value, op="operand")
    return arr if arr.dtype.kind == "f" else arr.astype(default_float(arr.dtype))


def apply(forward, backward, inputs, *, pass_needs=False, **kwargs):
    """Run forward on the arrays of ``inputs`` and record the node for backward.

    ``pass_needs=True`` hands ``needs`` (which inputs require grad) to backward, so
    an op such as conv can skip dX for a network's first layer.
    """
    Tensor = _tensor_class()  # noqa: N806 - the class

    arrays = [t.data if isinstance(t, Tensor) else as_array(t) for t in inputs]
    needs = None  # under no_grad nothing about the graph is computed
    if is_grad_enabled():
        needs = tuple(isinstance(t, Tensor) and t.requires_grad for t in inputs)
        if True not in needs:
            needs = None
    if needs is not None:
        y, cache = forward(*arrays, **kwargs)
    else:  # no backward will read the cache: the op may keep less (ops.cache_need)
        token = cache_need.set_cache_needed(False)
        try:
            y, cache = forward(*arrays, **kwargs)
        finally:
            cache_need.restore(token)
    extra = ()
    if isinstance(y, tuple):  # further outputs (max pooling's indices) take no gradient
        y, *extra = y
    fresh = type(y) is np.ndarray and y.dtype.kind == "f"
    out = Tensor._result(y) if fresh else Tensor(y)
    if out.data.base is not None:  # the array the result holds (Tensor(y) may have copied y)
        _share_versions(out, out.data.base, inputs, Tensor)
    if needs is not None:
        name = forward.__name__.removesuffix("_forward")
        out.requires_grad = True
        out._node = Node(name, tuple(inputs), backward, cache, needs if pass_needs else None)
    return (out, *(Tensor(e, dtype=e.dtype) for e in extra)) if extra else out


def _share_versions(out, base, inputs, tensor_class):
    """A result that views an input's memory (reshape, transpose, a slice) shares its count of
    in-place changes, as PyTorch's views do: changing either then shows in both, so a node
    that saved the other one refuses its stale values in backward (tape_checks)."""
    for t in inputs:
        if isinstance(t, tensor_class) and (t.data is base or t.data.base is base):
            out._versions = t._versions
            return
