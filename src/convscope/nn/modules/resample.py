"""Upsample: nearest-neighbour upsampling, (N, C, H, W) -> (N, C, H*s, W*s) (or to ``size``)."""

from ...errors import ShapeError
from .. import functional as F
from ..module import Module


class Upsample(Module):
    """F.interpolate as a layer: give ``size`` or ``scale_factor``; mode="nearest"."""

    def __init__(self, size=None, scale_factor=None, mode="nearest"):
        super().__init__()
        if mode != "nearest":
            raise ShapeError(
                f"Upsample: mode={mode!r} is not supported; convscope implements mode='nearest'"
            )
        if (size is None) == (scale_factor is None):
            raise ShapeError(
                f"Upsample: give exactly one of size and scale_factor, got size={size!r},"
                f" scale_factor={scale_factor!r}; e.g. Upsample(scale_factor=2)"
            )
        self.size = size
        self.scale_factor = (
            float(scale_factor) if isinstance(scale_factor, (int, float)) else scale_factor
        )
        self.mode = mode

    def forward(self, x):
        return F.interpolate(x, size=self.size, scale_factor=self.scale_factor, mode=self.mode)

    def extra_repr(self):
        info = f"size={self.size}" if self.size is not None else f"scale_factor={self.scale_factor}"
        return f"{info}, mode={self.mode!r}"
