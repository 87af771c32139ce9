"""The backward walk: reverse topological order from the root, each node's gradients checked
(tape_checks) and summed per input, leaves (and retain_grad tensors) keeping theirs in .grad.

Iterative (an explicit stack), so a 1,000-layer chain never meets Python's recursion limit.
Without retain_graph each node is replaced by a _Spent marker once used, freeing its cache.
"""

import sys

import numpy as np

from ..errors import AutogradError, ShapeError
from .tape_checks import check_saved, checked_grads


def run(root, grad, retain_graph=False):
    """Accumulate d(root)/d(t) * grad into ``.grad`` of every leaf t reachable from root;
    grad is an ndarray of root's shape and dtype."""
    grads = {id(root): grad}
    for t in _topological(root):
        g = grads.pop(id(t), None)
        if g is None:
            continue
        if t._node is None or t._retain:
            t.grad = _kept(t, g) if t.grad is None else _accumulate(t, g)
        if t._node is None:
            continue
        check_saved(t._node, t)
        _collect(grads, checked_grads(t._node, t._node.grads(g)))
        if not retain_graph:
            t._node = _Spent(t._node.name)


def _collect(grads, pairs):
    """grads[id(input)] += its gradient for each (input, gradient) pair of one node. A function
    of its own so that no loop variable outlives it: one left holding a node's last gradient
    (a one-input op's only one) made _kept copy that gradient into its leaf."""
    for inp, gi in pairs:
        key = id(inp)
        grads[key] = gi if key not in grads else grads[key] + gi


def _kept(t, g):
    """The array a first gradient leaves in ``.grad``: a leaf takes g itself where nothing else
    holds it (an array no op, cache, buffer pool or caller keeps; not a view, unless of the
    whole of an array only g holds: a reshaped fresh result), as PyTorch's AccumulateGrad
    steals an unshared gradient; otherwise, and for a non-leaf whose g still flows on, a copy.
    Saves a copy of every large leaf's gradient (an input's, for saliency)."""
    writeable = getattr(g.flags, "writeable", True)  # CuPy arrays have no such flag
    owned = writeable and sys.getrefcount(g) <= _UNSHARED
    owned = owned and (g.base is None or _whole_view_of_unshared(g))
    return g if owned and t._node is None else g.copy()


def _whole_view_of_unshared(g):
    """g views all of a NumPy array that owns its data and that nothing but g holds."""
    base = g.base
    return (
        type(base) is np.ndarray
        and base.base is None
        and g.nbytes == base.nbytes
        and g.flags.c_contiguous
        and base.flags.c_contiguous
        and sys.getrefcount(base) <= _BASE_UNSHARED
    )


def _unshared_count():
    """sys.getrefcount seen by _kept for an array held only by run's loop variable (measured
    in the same call shape, not assumed: interpreters count a call's references differently)."""
    grads = {0: np.empty(1)}
    g = grads.pop(0)
    return _count(g)


def _count(g):
    return sys.getrefcount(g)


def _base_unshared_count():
    """sys.getrefcount seen by _whole_view_of_unshared for the base of a reshaped array that
    only the view holds (measured in the same call shape)."""
    g = np.empty(4).reshape(2, 2)
    return _base_count(g)


def _base_count(g):
    base = g.base
    return sys.getrefcount(base)


_UNSHARED = _unshared_count()
_BASE_UNSHARED = _base_unshared_count()


def _accumulate(t, g):
    """t.grad + g, for a .grad left from an earlier backward (or set by hand)."""
    if t.grad.shape != g.shape:
        raise ShapeError(
            f"backward: .grad of a tensor of shape {t.shape} holds an array of shape"
            f" {t.grad.shape}, so the new gradient {g.shape} cannot be added to it; set"
            f" .grad = None (or zero_grad()) before backward"
        )
    return t.grad + g


class _Spent:
    """Stands in for a node whose saved arrays backward already freed."""

    __slots__ = ("name",)
    inputs = versions = ()
    out_version = 0
    cache = None

    def __init__(self, name):
        self.name = name

    def grads(self, dy):
        raise AutogradError(
            f"backward: the graph through {self.name} was already used and freed; call"
            f" backward(retain_graph=True) the first time to run backward twice"
        )


def _topological(root):
    """Tensors reachable from root, each before every tensor it was computed from (iterative DFS)."""
    order, visited = [], set()
    stack = [(root, False)]
    while stack:
        t, done = stack.pop()
        if done:
            order.append(t)
            continue
        if id(t) in visited:
            continue
        visited.add(id(t))
        stack.append((t, True))
        if t._node is not None:
            for inp in t._node.inputs:
                if getattr(inp, "requires_grad", False) and id(inp) not in visited:
                    stack.append((inp, False))
    order.reverse()
    return order
