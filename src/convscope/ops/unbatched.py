"""One sample, as PyTorch takes it: an op on (C, *spatial) is the op on a batch of one.

    if x.ndim == nd + 1:
        return unbatched.forward(conv2d_forward, x, w, b, **hyper)   # y (F, OH, OW)
    ...
    if isinstance(cache, unbatched.Unbatched):
        return unbatched.backward(conv2d_backward, dy, cache, needs)  # dx (C, H, W), dw, db

x[None] and y[0] are views: nothing is copied, and a batched call pays one test of ndim.
"""

from typing import NamedTuple


class Unbatched(NamedTuple):
    """The cache of an op called on one sample: the batch of one's cache."""

    cache: object


def forward(op_forward, x, *args, **kwargs):
    """op_forward on x[None]; the output loses the batch axis again."""
    y, cache = op_forward(x[None], *args, **kwargs)
    return y[0], Unbatched(cache)


def backward(op_backward, dy, cache, *args):
    """op_backward on dy[None]; the first gradient (the input's) loses the batch axis."""
    dx, *rest = op_backward(dy[None], cache.cache, *args)
    return (None if dx is None else dx[0], *rest)
