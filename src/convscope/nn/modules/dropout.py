"""Dropout: zero each element with probability p in training, scale the rest by 1/(1-p).
Dropout2d zeroes whole channels of (N, C, H, W) instead."""

import numbers

from ...errors import ShapeError
from .. import functional as F
from .. import init
from ..module import Module


class Dropout(Module):
    """In training: y = x * mask / (1 - p), mask ~ Bernoulli(1 - p) from ``rng`` (default: nn.init's
    generator at call time). In eval: y = x. Any shape."""

    def __init__(self, p=0.5, inplace=False, *, rng=None):
        super().__init__()
        check_probability(type(self).__name__, p)
        self.p, self.inplace, self.rng = p, inplace, rng

    def forward(self, x):
        rng = self.rng or init.default_generator()
        return F.dropout(x, self.p, training=self.training, rng=rng)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"


class Dropout2d(Dropout):
    """Channel dropout: in training each (n, c) plane of (N, C, H, W) is zeroed with probability p,
    the rest scaled by 1/(1-p) (a 3-D input is (N, C, L), as PyTorch reads it). In eval: y = x."""

    def forward(self, x):
        rng = self.rng or init.default_generator()
        return F.dropout2d(x, self.p, training=self.training, rng=rng)


def check_probability(layer, p):
    if not isinstance(p, numbers.Real) or isinstance(p, bool) or not 0 <= p <= 1:
        raise ShapeError(
            f"{layer}: p must be a probability in [0, 1], got p={p!r}; e.g. {layer}(p=0.5)"
        )
