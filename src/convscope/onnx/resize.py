"""Resize (mode="nearest") -> nn.Upsample when its source pixels are PyTorch's, else NearestResize.

Each output pixel copies one input pixel per axis. ONNX picks it as

    x_original = transform(x_out)            coordinate_transformation_mode (half_pixel, asymmetric,
                                             align_corners, pytorch_half_pixel, half_pixel_symmetric)
    source     = round(x_original)           nearest_mode (round_prefer_floor/ceil, floor, ceil),
                                             clamped to [0, n_in - 1]

and PyTorch's nearest as floor(x_out * scale) (scale = 1/scale_factor, or n_in/n_out for a
size). Both are computed for the model's static input size; equal indices give nn.Upsample
(e.g. every integer upscale with asymmetric/floor, half_pixel/round_prefer_floor), others a
NearestResize that indexes the same pixels. linear and cubic modes are refused.
"""

import math

import numpy as np

from .. import nn
from .functional_ops import NearestResize

ATTRS = (
    "antialias",
    "axes",
    "coordinate_transformation_mode",
    "cubic_coeff_a",
    "exclude_outside",
    "extrapolation_value",
    "keep_aspect_ratio_policy",
    "mode",
    "nearest_mode",
)


def resize(node, imp):
    from .converters import check_attrs

    check_attrs(node, imp, ATTRS)
    at = node.attrs
    if at.get("mode", "nearest") != "nearest":
        imp.refuse(node, f"mode={at['mode']!r}: convscope resizes with mode='nearest' only")
    ctm = at.get("coordinate_transformation_mode", "half_pixel")
    if ctm == "tf_crop_and_resize":
        imp.refuse(node, "coordinate_transformation_mode='tf_crop_and_resize' is not supported")
    x, _, scales_name, sizes_name = (node.inputs + ["", "", ""])[:4]
    shape = imp.shape(x)
    if shape is None or None in shape[1:]:
        imp.refuse(node, "needs the input's static size (channels and spatial axes)")
    rank = len(shape)
    axes = [a % rank for a in at.get("axes", range(rank))]
    scales, out = _targets(node, imp, shape, axes, scales_name, sizes_name)
    if any(scales[a] != 1 or out[a] != shape[a] for a in range(min(2, rank))) or rank < 3:
        imp.refuse(node, "resizes the batch or channel axis; convscope resizes spatial axes only")
    mode = at.get("nearest_mode", "round_prefer_floor")
    index = [
        source_index(shape[a], out[a], scales[a], ctm, mode, given_scale=bool(scales_name))
        for a in range(2, rank)
    ]
    layer = _as_upsample(shape[2:], out[2:], scales[2:], index, given_scale=bool(scales_name))
    if layer is not None:
        return [(layer, [x], node.outputs)]
    consts = {i: imp.const_of(n) for i, n in enumerate(node.inputs) if i > 0}
    op = NearestResize(at, consts, arity=len(node.inputs), index=index)
    return [(op, [x], node.outputs)]


def _targets(node, imp, shape, axes, scales_name, sizes_name):
    """Per-axis scale and output size, as ONNX computes them (keep_aspect_ratio_policy too)."""
    rank = len(shape)
    given_scales, given_sizes = imp.const_of(scales_name), imp.const_of(sizes_name)
    if given_scales is not None and given_scales.size:
        scales = [1.0] * rank
        for a, s in zip(axes, given_scales.reshape(-1), strict=True):
            scales[a] = float(s)
        return scales, [math.floor(n * s) for n, s in zip(shape, scales, strict=True)]
    if given_sizes is None or not given_sizes.size:
        imp.refuse(node, "needs constant scales or sizes")
    out = list(shape)
    for a, s in zip(axes, given_sizes.reshape(-1), strict=True):
        out[a] = int(s)
    scales = [o / n for o, n in zip(out, shape, strict=True)]
    policy = node.attrs.get("keep_aspect_ratio_policy", "stretch")
    if policy != "stretch":
        pick = min if policy == "not_larger" else max
        scale = pick(scales[a] for a in axes)
        scales = [scale if a in axes else 1.0 for a in range(rank)]
        out = [int(scale * n + 0.5) if a in axes else n for a, n in enumerate(shape)]
    return scales, out


def source_index(n_in, n_out, scale, ctm, nearest_mode, given_scale=True):
    """The input index each of the n_out outputs copies (ONNX's rule for one axis)."""
    x = np.arange(n_out, dtype=np.float64)
    if ctm == "asymmetric":
        src = x / scale
    elif ctm == "align_corners":
        src = np.zeros_like(x) if n_out == 1 else x * (n_in - 1) / (n_out - 1)
    elif ctm == "pytorch_half_pixel" and n_out == 1:
        src = np.full_like(x, -0.5)
    elif ctm == "half_pixel_symmetric":
        adjustment = n_out / (scale * n_in)
        src = n_in / 2 * (1 - adjustment) + (x + 0.5) / scale - 0.5
    else:  # half_pixel, pytorch_half_pixel
        src = (x + 0.5) / scale - 0.5
    rounding = {
        "round_prefer_floor": lambda v: np.ceil(v - 0.5),
        "round_prefer_ceil": lambda v: np.floor(v + 0.5),
        "floor": np.floor,
        "ceil": np.ceil,
    }[nearest_mode]
    exact = np.isclose(src, np.round(src), rtol=0, atol=1e-9)
    picked = np.where(exact, np.round(src), rounding(src))
    return np.clip(picked, 0, n_in - 1).astype(np.int64)


def _as_upsample(sizes, out, scales, index, given_scale):
    """nn.Upsample doing the same indexing, or None."""
    for n_in, n_out, s, idx in zip(sizes, out, scales, index, strict=True):
        step = np.float32(1.0 / s) if given_scale else np.float32(n_in) / np.float32(n_out)
        torch_idx = np.minimum(np.floor(np.arange(n_out, dtype=np.float32) * step), n_in - 1)
        if not np.array_equal(torch_idx.astype(np.int64), idx):
            return None
    if given_scale:
        factor = tuple(float(s) for s in scales)
        return nn.Upsample(scale_factor=factor[0] if len(set(factor)) == 1 else factor)
    return nn.Upsample(size=tuple(out) if len(out) > 1 else out[0])
