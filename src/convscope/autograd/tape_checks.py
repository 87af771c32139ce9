"""What backward checks before it trusts a node (as early autograd libraries asserted it):

- every gradient a backward returns has its input's shape (ShapeError) and is a float array,
  one per input (AutogradError): an op's bug is named where it happens, not three layers on.
  A float gradient of another precision is cast to its input's dtype, as PyTorch's engine
  does: an op that promoted float32 and float64 inputs computes in float64;
- no tensor an op saved for its backward was changed in place since (AutogradError, PyTorch's
  "modified by an inplace operation"). Each tensor counts its in-place changes (``_version``)
  and each node records its inputs' counts; a changed count is a fault only when the node's
  cache holds that tensor's memory, so ops that saved nothing (add, reshape) never complain.

Both cost a few tuple comparisons per node; the cache walk runs only on a changed count.
"""

import numpy as np

from ..errors import AutogradError, ShapeError


def check_saved(node, output):
    """AutogradError if an input or the output of ``node`` changed in place after the node
    recorded it and the node's cache still holds its memory."""
    if output._version != node.out_version:
        _refuse_if_saved(node, output, node.out_version, "its output")
    for i, (t, seen) in enumerate(zip(node.inputs, node.versions, strict=True)):
        if seen is not None and t._version != seen:
            _refuse_if_saved(node, t, seen, f"its input {i}")


def _refuse_if_saved(node, tensor, seen, which):
    if not _holds(node.cache, tensor.data):
        return
    raise AutogradError(
        f"backward: {which} (shape {tensor.shape}), saved by {node.name} for its backward,"
        f" was changed in place afterwards (version {seen} -> {tensor._version}); PyTorch"
        f" raises here too. Change a copy (t = t.clone(); t.add_(...)) or write t = t + ...,"
        f" or run backward before the change"
    )


def _holds(cache, array):
    """True when some ndarray inside cache (tuples, lists, dicts, objects) may share memory
    with array."""
    stack, seen = [cache], set()
    while stack:
        obj = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, np.ndarray):
            if np.may_share_memory(obj, array):
                return True
        elif isinstance(obj, tuple | list):
            stack.extend(obj)
        elif isinstance(obj, dict):
            stack.extend(obj.values())
        elif hasattr(obj, "__dict__"):
            stack.extend(vars(obj).values())
    return False


def checked_grads(node, grads):
    """(input, gradient) pairs of ``node`` for the inputs that take one; every gradient
    checked against its input's shape and cast to its dtype."""
    grads = tuple(grads)
    if len(grads) != len(node.inputs):
        raise AutogradError(
            f"backward: {node.name}'s backward returned {len(grads)} gradient(s) for its"
            f" {len(node.inputs)} input(s); an op's backward returns one per input (None for"
            f" an input without one)"
        )
    for i, (inp, g) in enumerate(zip(node.inputs, grads, strict=True)):
        if g is None or not getattr(inp, "requires_grad", False):
            continue
        g = np.asarray(g)
        if g.shape != inp.shape:
            raise ShapeError(
                f"backward: {node.name}'s backward returned a gradient of shape {g.shape} for"
                f" its input {i} of shape {inp.shape}; a gradient has its input's shape (sum it"
                f" over the axes the forward broadcast)"
            )
        if g.dtype.kind != "f":
            raise AutogradError(
                f"backward: {node.name}'s backward returned a {g.dtype} gradient for its input"
                f" {i}, a {inp.dtype} tensor of shape {inp.shape}; gradients are float arrays"
            )
        yield inp, g.astype(inp.dtype, copy=False)
