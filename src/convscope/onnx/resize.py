"""Resize -> nn.Upsample when it computes what PyTorch's interpolate does; nearest also NearestResize.

Each output pixel copies one input pixel per axis. ONNX picks it as

    x_original = transform(x_out)            coordinate_transformation_mode (half_pixel, asymmetric,
                                             align_corners, pytorch_half_pixel, half_pixel_symmetric)
    source     = round(x_original)           nearest_mode (round_prefer_floor/ceil, floor, ceil),
                                             clamped to [0, n_in - 1]

and PyTorch's nearest as floor(x_out * scale) (scale = 1/scale_factor, or n_in/n_out for a
size). With constant scales/sizes and a static input both are computed at load: equal indices
give nn.Upsample (every integer upscale with asymmetric/floor or half_pixel/round_prefer_floor),
others a NearestResize that indexes the same pixels (computed at run time when the scales are).

mode="linear" reads x_original's two neighbours (clamped to the input: the edge value beyond
it), which is PyTorch's linear/bilinear where the source positions agree: half_pixel always,
pytorch_half_pixel where every output size is above 1, align_corners where every size is whole
(ONNX's reference divides by n_in * scale - 1, PyTorch by the output size - 1); constant scales or
sizes and a static input give nn.Upsample(mode="linear" (N, C, L) or "bilinear" (N, C, H,
W)); mode="cubic" with PyTorch's kernel (cubic_coeff_a -0.75, exclude_outside 0) likewise
nn.Upsample(mode="bicubic"). Other linear and cubic Resizes (asymmetric,
half_pixel_symmetric, antialias, a keep-aspect-ratio policy) are refused.
"""

import math

import numpy as np

from .. import nn
from ..errors import ShapeError
from ..nn import functional as F
from ..ops.resample import CUBIC_A
from .functional_ops import FunctionalOp
from .graph_ops import ints, is_tensor
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
    if at.get("mode", "nearest") in ("linear", "cubic"):
        return _interpolating(node, imp)
    if at.get("mode", "nearest") != "nearest":
        imp.refuse(
            node, f"mode={at['mode']!r}: convscope resizes with 'nearest', 'linear', 'cubic'"
        )
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


PYTORCH_COORDINATES = {
    "half_pixel",
    "pytorch_half_pixel",
    "align_corners",
}  # where linear, cubic agree


class LinearResize(FunctionalOp):
    """F.interpolate(mode="linear", "bilinear" or "bicubic") for a linear or cubic Resize whose
    scales or sizes arrive at run time."""

    op_type = "Resize"

    def compute(self, x, roi=None, scales=None, sizes=None):
        try:
            kw = linear_arguments(self.attrs, x.shape, scales, sizes)
        except ValueError as exc:
            raise ShapeError(f"Resize: {exc}") from None
        y = F.interpolate(x, **kw)
        return y if is_tensor(x) else y.data


def linear_settings(attrs, rank):
    """F.interpolate's mode and align_corners for a linear or cubic Resize of a rank-D input;
    ValueError with the reason where PyTorch computes something else."""
    ctm = attrs.get("coordinate_transformation_mode", "half_pixel")
    mode = attrs.get("mode", "nearest")
    if attrs.get("antialias", 0) or attrs.get("keep_aspect_ratio_policy", "stretch") != "stretch":
        raise ValueError(f"mode={mode!r} with antialias or a keep_aspect_ratio_policy")
    if ctm not in PYTORCH_COORDINATES:
        raise ValueError(f"mode={mode!r} with coordinate_transformation_mode={ctm!r}")
    if mode == "cubic":
        a, outside = attrs.get("cubic_coeff_a", -0.75), attrs.get("exclude_outside", 0)
        if abs(a - CUBIC_A) > 1e-6 or outside:
            raise ValueError(
                f"mode='cubic' with cubic_coeff_a={a} and exclude_outside={outside}: PyTorch's"
                f" bicubic is a = {CUBIC_A}, outside pixels included"
            )
        if rank != 4:
            raise ValueError(f"mode='cubic' on a {rank}-D input: bicubic takes 4-D")
        return {"mode": "bicubic", "align_corners": ctm == "align_corners"}
    if rank not in (3, 4):
        raise ValueError(f"mode='linear' on a {rank}-D input: convscope takes 3-D and 4-D")
    return {"mode": "linear" if rank == 3 else "bilinear", "align_corners": ctm == "align_corners"}


def linear_arguments(attrs, shape, scales, sizes):
    """F.interpolate's keyword arguments for a linear Resize of an input of this shape."""
    kw = linear_settings(attrs, len(shape))
    per_axis, out = output_sizes(attrs, shape, scales, sizes)
    ctm = attrs.get("coordinate_transformation_mode", "half_pixel")
    if ctm == "pytorch_half_pixel" and min(out[2:]) == 1:  # ONNX reads position 0 there
        raise ValueError("coordinate_transformation_mode='pytorch_half_pixel' to a size of 1")
    given_scales = scales is not None and np.asarray(scales).size > 0
    fractional = [a for a in range(2, len(shape)) if shape[a] * per_axis[a] != out[a]]
    if ctm == "align_corners" and given_scales and fractional:  # ONNX divides by n * scale - 1
        raise ValueError(
            f"mode={attrs.get('mode')!r} with align_corners and scales whose sizes are not whole:"
            f" PyTorch divides by the output size - 1"
        )
    if given_scales:
        factor = tuple(float(s) for s in per_axis[2:])
        return kw | {"scale_factor": factor[0] if len(set(factor)) == 1 else factor}
    size = tuple(int(n) for n in out[2:])
    return kw | {"size": size if len(size) > 1 else size[0]}


def _interpolating(node, imp):
    """nn.Upsample(mode="linear", "bilinear" or "bicubic") for a linear or cubic Resize
    PyTorch computes alike, a LinearResize where its scales or sizes or the input's shape are
    known only at run time."""
    consts, runtime = split_inputs(node, imp)
    shape = imp.shape(node.inputs[0])
    try:
        if shape is not None:
            linear_settings(node.attrs, len(shape))
        if len(runtime) == 1 and shape is not None and None not in shape[1:]:
            kw = linear_arguments(node.attrs, shape, consts.get(2), consts.get(3))
            return [(nn.Upsample(**kw), [node.inputs[0]], node.outputs)]
    except ValueError as exc:
        imp.refuse(node, str(exc))
    return [(LinearResize(node.attrs, consts, arity=len(node.inputs)), runtime, node.outputs)]


def source_indices(attrs, shape, scales, sizes):
    """([index per spatial axis], scale per axis, output size per axis) as ONNX defines them."""
    per_axis, out = output_sizes(attrs, shape, scales, sizes)
    ctm = attrs.get("coordinate_transformation_mode", "half_pixel")
    mode = attrs.get("nearest_mode", "round_prefer_floor")
    index = [source_index(shape[a], out[a], per_axis[a], ctm, mode) for a in range(2, len(shape))]
    return index, per_axis, out


def output_sizes(attrs, shape, scales, sizes):
    """(scale per axis, output size per axis) as ONNX defines them; ValueError where the batch or
    channel axis would change."""
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
    return per_axis, out


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
