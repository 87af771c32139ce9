"""The ONNX backend node tests shipped inside the onnx package, run through convscope.onnx.load.

Every case of the op families convscope loads (onnx/backend/test/case/node/<op>.py: each builds
a one-node model, its inputs and the expected outputs) is saved to a file, loaded with
``convscope.onnx.load`` and run on the case's inputs; outputs must match to the case's own
tolerance (rtol 1e-3, atol 1e-7). Excluded cases are listed below with the reason; each must be
refused with a ConvscopeError sentence (never a wrong answer, never a traceback).
"""

import importlib
import warnings

import numpy as np
import pytest

import convscope as cs
from convscope.errors import ConvscopeError

onnx = pytest.importorskip("onnx", reason="pip install 'convscope[onnx]' (or pip install onnx)")

OP_FAMILIES = [
    "conv",
    "convtranspose",
    "maxpool",
    "averagepool",
    "globalaveragepool",
    "globalmaxpool",
    "gemm",
    "matmul",
    "relu",
    "leakyrelu",
    "sigmoid",
    "tanh",
    "elu",
    "gelu",
    "softmax",
    "logsoftmax",
    "softplus",
    "swish",
    "batch_normalization",
    "layernormalization",
    "groupnormalization",
    "flatten",
    "dropout",
    "identity",
    "reshape",
    "transpose",
    "concat",
    "add",
    "sub",
    "mul",
    "div",
    "neg",
    "pow",
    "exp",
    "log",
    "sqrt",
    "abs",
    "reciprocal",
    "clip",
    "pad",
    "resize",
    "squeeze",
    "unsqueeze",
    "slice",
    "gather",
    "shape",
    "constant",
    "constantofshape",
    "cast",
    "reducemean",
    "reducesum",
    "reducemax",
    "reducemin",
]

EXCLUDED_BY_REASON = {
    "3-D windows: convscope has 1-D and 2-D convolution and pooling (no Conv3d, MaxPool3d)": [
        "test_averagepool_3d_default",
        "test_averagepool_3d_dilations_large_count_include_pad_is_0_ceil_mode_is_False",
        "test_averagepool_3d_dilations_large_count_include_pad_is_0_ceil_mode_is_True",
        "test_averagepool_3d_dilations_large_count_include_pad_is_1_ceil_mode_is_False",
        "test_averagepool_3d_dilations_large_count_include_pad_is_1_ceil_mode_is_True",
        "test_averagepool_3d_dilations_small",
        "test_convtranspose_3d",
        "test_maxpool_3d_default",
        "test_maxpool_3d_dilations",
        "test_maxpool_3d_dilations_use_ref_impl",
        "test_maxpool_3d_dilations_use_ref_impl_large",
    ],
    "pooling with dilations: not imported (explain and serve read a pool layer's windows as"
    " undilated)": [
        "test_averagepool_2d_dilations",
        "test_maxpool_2d_dilations",
    ],
    "average pooling with asymmetric pads, or pads over half the window, excluding the padding"
    " (count_include_pad=0): PyTorch's AvgPool2d has neither": [
        "test_averagepool_2d_pads",
        "test_averagepool_2d_same_lower",
        "test_averagepool_2d_same_upper",
    ],
    "MaxPool's Indices output: ONNX's run over the whole tensor (in storage_order), convscope's"
    " over each plane (PyTorch's return_indices)": [
        "test_maxpool_with_argmax_2d_precomputed_pads",
        "test_maxpool_with_argmax_2d_precomputed_strides",
    ],
    "BatchNormalization with training_mode=1 (it also outputs running statistics): convscope"
    " loads inference graphs": [
        "test_batchnorm_epsilon_training_mode",
        "test_batchnorm_example_training_mode",
    ],
    "Dropout in training mode or with its mask output: inference graphs only (and the expected"
    " masks come from NumPy's random generator)": [
        "test_dropout_default_mask",
        "test_dropout_default_mask_ratio",
        "test_training_dropout",
        "test_training_dropout_default",
        "test_training_dropout_default_mask",
        "test_training_dropout_mask",
        "test_training_dropout_zero_ratio",
        "test_training_dropout_zero_ratio_mask",
    ],
    "opset 11, older than convscope reads (13 and later)": [
        "test_dropout_default_old",
        "test_dropout_random_old",
    ],
    "Cast to 8-, 4- or 2-bit floats and integers or bfloat16: convscope computes with float16/32/64,"
    " integers and bool": [
        "test_cast_FLOAT16_to_FLOAT4E2M1",
        "test_cast_FLOAT16_to_FLOAT8E4M3FN",
        "test_cast_FLOAT16_to_FLOAT8E4M3FNUZ",
        "test_cast_FLOAT16_to_FLOAT8E5M2",
        "test_cast_FLOAT16_to_FLOAT8E5M2FNUZ",
        "test_cast_FLOAT16_to_INT2",
        "test_cast_FLOAT16_to_INT4",
        "test_cast_FLOAT16_to_UINT2",
        "test_cast_FLOAT16_to_UINT4",
        "test_cast_FLOAT_to_BFLOAT16",
        "test_cast_FLOAT_to_FLOAT4E2M1",
        "test_cast_FLOAT_to_FLOAT8E4M3FN",
        "test_cast_FLOAT_to_FLOAT8E4M3FNUZ",
        "test_cast_FLOAT_to_FLOAT8E5M2",
        "test_cast_FLOAT_to_FLOAT8E5M2FNUZ",
        "test_cast_FLOAT_to_INT2",
        "test_cast_FLOAT_to_INT4",
        "test_cast_FLOAT_to_UINT2",
        "test_cast_FLOAT_to_UINT4",
        "test_cast_e8m0_FLOAT16_to_FLOAT8E8M0",
        "test_cast_e8m0_FLOAT_to_FLOAT8E8M0",
        "test_cast_no_saturate_FLOAT16_to_FLOAT8E4M3FN",
        "test_cast_no_saturate_FLOAT16_to_FLOAT8E4M3FNUZ",
        "test_cast_no_saturate_FLOAT16_to_FLOAT8E5M2",
        "test_cast_no_saturate_FLOAT16_to_FLOAT8E5M2FNUZ",
        "test_cast_no_saturate_FLOAT_to_FLOAT8E4M3FN",
        "test_cast_no_saturate_FLOAT_to_FLOAT8E4M3FNUZ",
        "test_cast_no_saturate_FLOAT_to_FLOAT8E5M2",
        "test_cast_no_saturate_FLOAT_to_FLOAT8E5M2FNUZ",
    ],
    "Resize with antialias, half_pixel_symmetric, asymmetric linear or cubic, pytorch_half_pixel"
    " to a size of 1, align_corners to sizes that are not whole (ONNX's reference divides by"
    " n_in * scale - 1), a cubic kernel other than PyTorch's, or tf_crop_and_resize: convscope"
    " resizes as its F.interpolate": [
        "test_resize_downsample_scales_cubic_A_n0p5_exclude_outside",
        "test_resize_downsample_scales_cubic_align_corners",
        "test_resize_downsample_scales_cubic_antialias",
        "test_resize_downsample_scales_linear_align_corners",
        "test_resize_downsample_scales_linear_antialias",
        "test_resize_downsample_scales_linear_half_pixel_symmetric",
        "test_resize_downsample_sizes_cubic_antialias",
        "test_resize_downsample_sizes_linear_antialias",
        "test_resize_downsample_sizes_linear_pytorch_half_pixel",
        "test_resize_tf_crop_and_resize",
        "test_resize_tf_crop_and_resize_axes_2_3",
        "test_resize_tf_crop_and_resize_axes_3_2",
        "test_resize_tf_crop_and_resize_extrapolation_value",
        "test_resize_upsample_scales_cubic_A_n0p5_exclude_outside",
        "test_resize_upsample_scales_cubic_asymmetric",
        "test_resize_upsample_scales_linear_half_pixel_symmetric",
    ],
    "the maximum or minimum of an empty set (-inf/+inf in ONNX): convscope refuses it, as"
    " PyTorch's amax does": [
        "test_reduce_max_empty_set",
        "test_reduce_max_empty_set_bool",
        "test_reduce_min_empty_set",
    ],
    "a function body expanded into ops outside the set convscope loads (Less, Where, Max, Erf,"
    " Sum, Size): the op itself passes in its own case": [
        "test_clip_default_int8_max_expanded",
        "test_clip_default_int8_min_expanded",
        "test_clip_default_max_expanded",
        "test_clip_default_min_expanded",
        "test_clip_example_expanded",
        "test_clip_expanded",
        "test_clip_inbounds_expanded",
        "test_clip_min_greater_than_max_expanded",
        "test_clip_outbounds_expanded",
        "test_clip_splitbounds_expanded",
        "test_elu_default_expanded_ver18",
        "test_elu_example_expanded_ver18",
        "test_elu_expanded_ver18",
        "test_gelu_default_1_expanded",
        "test_gelu_default_2_expanded",
        "test_gelu_tanh_1_expanded",
        "test_gelu_tanh_2_expanded",
        *(
            f"test_layer_normalization_{case}_expanded{ver}"
            for case in (
                "2d_axis0",
                "2d_axis1",
                "2d_axis_negative_1",
                "2d_axis_negative_2",
                "3d_axis0_epsilon",
                "3d_axis1_epsilon",
                "3d_axis2_epsilon",
                "3d_axis_negative_1_epsilon",
                "3d_axis_negative_2_epsilon",
                "3d_axis_negative_3_epsilon",
                "4d_axis0",
                "4d_axis1",
                "4d_axis2",
                "4d_axis3",
                "4d_axis_negative_1",
                "4d_axis_negative_2",
                "4d_axis_negative_3",
                "4d_axis_negative_4",
                "default_axis",
            )  # fmt: skip
            for ver in ("", "_ver18")
        ),
        "test_leakyrelu_default_expanded",
        "test_leakyrelu_example_expanded",
        "test_leakyrelu_expanded",
        "test_relu_expanded_ver18",
    ],
}
EXCLUDED = {name: reason for reason, names in EXCLUDED_BY_REASON.items() for name in names}


def _cases():
    from onnx.backend.test.case import node

    with warnings.catch_warnings():  # some cases compute their expected -inf with 1 / 0
        warnings.simplefilter("ignore", RuntimeWarning)
        for family in OP_FAMILIES:  # importing a case module builds its cases (numpy seeded)
            importlib.import_module(f"onnx.backend.test.case.node.{family}")
    return sorted(node._NodeTestCases, key=lambda c: c.name)


CASES = _cases()


def _array(value):
    from onnx import numpy_helper

    return (
        numpy_helper.to_array(value) if isinstance(value, onnx.TensorProto) else np.asarray(value)
    )


def _run(case, path):
    onnx.save(case.model, path)
    model = cs.onnx.load(path)
    for inputs, expected in case.data_sets:
        arrays = [_array(v) for v in inputs]
        args = [cs.tensor(a) if a.dtype.kind == "f" else a for a in arrays]
        got = model(*args)
        got = got if isinstance(got, tuple) else (got,)
        yield (
            [g.data if isinstance(g, cs.Tensor) else np.asarray(g) for g in got],
            [_array(e) for e in expected],
        )


def test_the_cases_cover_every_loaded_op_family_and_the_exclusions_exist():
    names = {c.name for c in CASES}
    assert len(CASES) > 500
    assert not set(EXCLUDED) - names, f"excluded cases not found: {set(EXCLUDED) - names}"
    for family in ("conv", "maxpool", "averagepool", "convtranspose", "gemm", "relu"):
        assert any(n.startswith(f"test_{family}") and n not in EXCLUDED for n in names)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_node_case(case, tmp_path):
    path = tmp_path / f"{case.name}.onnx"
    if case.name in EXCLUDED:
        with pytest.raises(ConvscopeError):
            for _ in _run(case, path):
                pass
        return
    for got, expected in _run(case, path):
        assert len(got) == len(expected)
        for g, e in zip(got, expected, strict=True):
            assert g.shape == e.shape
            np.testing.assert_allclose(
                g.astype(np.float64), e.astype(np.float64), rtol=case.rtol, atol=case.atol
            )
