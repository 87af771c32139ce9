"""Upsample: F.interpolate as a layer, (N, C, H, W) -> (N, C, H*s, W*s) (or to ``size``);
UpsamplingBilinear2d and UpsamplingNearest2d, PyTorch's fixed-mode shorthands."""

from ...errors import ShapeError
from .. import functional as F
from ..module import Module

MODES = ("nearest", "nearest-exact", "area", "linear", "bilinear", "bicubic")


class Upsample(Module):
    """F.interpolate as a layer: give ``size`` or ``scale_factor``; mode "nearest",
    "nearest-exact", "area", "linear" (N, C, L), "bilinear" or "bicubic" (N, C, H, W),
    align_corners for the interpolating modes."""

    def __init__(self, size=None, scale_factor=None, mode="nearest", align_corners=None,
                 recompute_scale_factor=None):  # fmt: skip
        super().__init__()
        if mode not in MODES:
            raise ShapeError(
                f"Upsample: mode={mode!r} is not supported; use one of {', '.join(MODES)}"
            )
        if mode not in ("linear", "bilinear", "bicubic") and align_corners is not None:
            raise ShapeError(
                f"Upsample: align_corners applies to mode='linear', 'bilinear' or 'bicubic',"
                f" not to {mode!r}; leave it unset"
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
        self.align_corners = align_corners
        self.recompute_scale_factor = recompute_scale_factor

    def forward(self, x):
        return F.interpolate(
            x, size=self.size, scale_factor=self.scale_factor, mode=self.mode,
            align_corners=self.align_corners, recompute_scale_factor=self.recompute_scale_factor,
        )  # fmt: skip

    def extra_repr(self):
        info = f"size={self.size}" if self.size is not None else f"scale_factor={self.scale_factor}"
        return f"{info}, mode={self.mode!r}"  # PyTorch's repr: no align_corners


class UpsamplingBilinear2d(Upsample):
    """Upsample(mode="bilinear", align_corners=True), as PyTorch's."""

    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)


class UpsamplingNearest2d(Upsample):
    """Upsample(mode="nearest"), as PyTorch's."""

    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="nearest")
