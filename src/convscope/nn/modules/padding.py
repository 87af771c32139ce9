"""ZeroPad2d: pad (N, C, H, W) or (C, H, W) with zeros, (left, right, top, bottom) as PyTorch."""

import numbers

from ...errors import ShapeError
from .. import functional as F
from ..module import Module


class ZeroPad2d(Module):
    """padding: an int (all four sides) or (left, right, top, bottom);
    (N, C, H, W) -> (N, C, H + top + bottom, W + left + right)."""

    def __init__(self, padding):
        super().__init__()
        pads = (padding,) * 4 if isinstance(padding, numbers.Integral) else padding
        if not (
            isinstance(pads, (tuple, list))
            and len(pads) == 4
            and all(isinstance(p, numbers.Integral) and not isinstance(p, bool) for p in pads)
        ):
            raise ShapeError(
                f"ZeroPad2d: padding={padding!r} must be an int or a tuple of 4 ints"
                f" (left, right, top, bottom)"
            )
        self.padding = tuple(int(p) for p in pads)

    def forward(self, x):
        return F.pad(x, self.padding)

    def extra_repr(self):
        return f"{self.padding}"
