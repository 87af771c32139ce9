"""Dropout: zero each element with probability p in training, scale the rest by 1/(1-p)."""

from ...errors import ShapeError
from .. import functional as F
from .. import init
from ..module import Module


class Dropout(Module):
    """In training: y = x * mask / (1 - p), mask ~ Bernoulli(1 - p) from ``rng`` (default: nn.init's
    generator at call time). In eval: y = x. Any shape."""

    def __init__(self, p=0.5, inplace=False, *, rng=None):
        super().__init__()
        if not 0 <= p <= 1:
            raise ShapeError(f"Dropout: p must be a probability in [0, 1], got p={p}")
        self.p, self.inplace, self.rng = p, inplace, rng

    def forward(self, x):
        rng = self.rng or init.default_generator()
        return F.dropout(x, self.p, training=self.training, rng=rng)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"
