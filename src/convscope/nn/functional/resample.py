"""Resampling as functions: dilate (zero insertion), downsample (keep every s-th), interpolate."""

from ...autograd import apply
from ...ops import resample as _rs

__all__ = ["dilate", "downsample", "interpolate"]


def dilate(input, factor):
    """Insert factor-1 zeros between samples on the spatial axes: n -> (n - 1)*factor + 1."""
    return apply(_rs.dilate_forward, _rs.dilate_backward, (input,), factor=factor)


def downsample(input, factor):
    """Keep every factor-th sample on the spatial axes: n -> ceil(n / factor)."""
    return apply(_rs.downsample_forward, _rs.downsample_backward, (input,), factor=factor)


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):  # fmt: skip
    """Resize (N, C, L) or (N, C, H, W) to size, or by scale_factor, as PyTorch's: mode
    "nearest", "nearest-exact" (pixel centres), "area" (adaptive average pooling), "linear"
    (N, C, L), "bilinear" or "bicubic" (N, C, H, W); align_corners (interpolating modes):
    map the corner pixels' centres onto each other (default False: half-pixel centres);
    antialias (bilinear, bicubic): when shrinking, a filter as wide as an output pixel;
    recompute_scale_factor=True: the sizes, not scale_factor, set the scale."""
    return apply(
        _rs.interpolate_forward, _rs.interpolate_backward, (input,),
        size=size, scale_factor=scale_factor, mode=mode, align_corners=align_corners,
        recompute_scale_factor=recompute_scale_factor, antialias=antialias,
    )  # fmt: skip
