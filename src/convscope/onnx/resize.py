"""Resize (mode="nearest") -> nn.Upsample when its source pixels are PyTorch's, else NearestResize.

Each output pixel copies one input pixel per axis. ONNX picks it as

    x_original = transform(x_out)            coordinate_transformation_mode (half_pixel, asymmetric,
                                             align_corners, pytorch_half_pixel, half_pixel_symmetric)
    source     = round(x_original)           nearest_mode (round_prefer_floor/ceil, floor, ceil),
                                             clamped to [0, n_in - 1]

and PyTorch's nearest as floor(x_out * scale) (scale = 1/scale_factor, or n_in/n_out for a
size). With constant scales/sizes and a static input both are computed at load: equal indices
give nn.Upsample (every integer upscale with asymmetric/floor or half_pixel/round_prefer_floor),
others a NearestResize that indexes the same pixels (computed at run time when the scales are).
linear and cubic modes are refused.
"""

import math

import numpy as np

from .. import nn
from .functional_ops import FunctionalOp
from .graph_ops import ints
from .nodes import check_attrs, split_inputs

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


class NearestResize(FunctionalOp):
    """y = x[..., index_h][..., index_w]: nearest-neighbour resize by source index per axis."""

    op_type = "Resize"

    def compute(self, x, roi=None, scales=None, sizes=None):
        index = self.kwargs.get("index") or source_indices(self.attrs, x.shape, scales, sizes)[0]
        for k, idx in enumerate(index):
            if len(idx) != x.shape[2 + k] or np.any(idx != np.arange(len(idx))):
                x = x[(slice(None),) * (2 + k) + (np.asarray(idx),)]
        return x


def resize(node, imp):
    check_attrs(node, imp, ATTRS)
    at = node.attrs
    if at.get("mode", "nearest") != "nearest":
        imp.refuse(node, f"mode={at['mode']!r}: convscope resizes with mode='nearest' only")
    if at.get("coordinate_transformation_mode") == "tf_crop_and_resize":
        imp.refuse(node, "coordinate_transformation_mode='tf_crop_and_resize' is not supported")
    x = node.inputs[0]
    consts, runtime = split_inputs(node, imp)
    shape = imp.shape(x)
    if len(runtime) > 1 or shape is None or None in shape[1:]:
        return [(NearestResize(at, consts, arity=len(node.inputs)), runtime, node.outputs)]
    try:
        index, scales, out = source_indices(at, shape, consts.get(2), consts.get(3))
    except ValueError as exc:
        imp.refuse(node, str(exc))
    layer = _as_upsample(
        shape[2:],
        out[2:],
        scales[2:],
        index,
        given_scale=consts.get(2) is not None and consts[2].size > 0,
    )
    if layer is not None:
        return [(layer, [x], node.outputs)]
    return [(NearestResize(at, consts, arity=len(node.inputs), index=index), [x], node.outputs)]


def source_indices(attrs, shape, scales, sizes):
    """([index per spatial axis], scale per axis, output size per axis) as ONNX defines them."""
    rank = len(shape)
    axes = [a % rank for a in attrs.get("axes", range(rank))]
    given_scale = scales is not None and np.asarray(scales).size > 0
    if given_scale:
        per_axis = [1.0] * rank
        for a, s in zip(axes, np.asarray(scales, np.float64).reshape(-1), strict=True):
            per_axis[a] = float(s)
        out = [n if s == 1 else math.floor(n * s) for n, s in zip(shape, per_axis, strict=True)]
    elif sizes is not None and np.asarray(sizes).size:
        out = list(shape)
        for a, s in zip(axes, ints(sizes), strict=True):
            out[a] = s
        per_axis = [1.0 if o == n else o / n for o, n in zip(out, shape, strict=True)]
        policy = attrs.get("keep_aspect_ratio_policy", "stretch")
        if policy != "stretch":
            scale = (min if policy == "not_larger" else max)(per_axis[a] for a in axes)
            per_axis = [scale if a in axes else 1.0 for a in range(rank)]
            out = [int(scale * n + 0.5) if a in axes else n for a, n in enumerate(shape)]
    else:
        raise ValueError("needs scales or sizes")
    if rank < 3 or any(per_axis[a] != 1 or out[a] != shape[a] for a in (0, 1)):
        raise ValueError("resizes the batch or channel axis; convscope resizes spatial axes only")
    ctm = attrs.get("coordinate_transformation_mode", "half_pixel")
    mode = attrs.get("nearest_mode", "round_prefer_floor")
    index = [source_index(shape[a], out[a], per_axis[a], ctm, mode) for a in range(2, rank)]
    return index, per_axis, out


def source_index(n_in, n_out, scale, ctm, nearest_mode):
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
