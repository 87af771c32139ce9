"""Convolutions and padding as functions, PyTorch's ``torch.nn.functional`` signatures.

The ops validate their arguments (ops.conv.check_conv, ops.pad.check_pad) and raise
ShapeError with every number; these wrappers record the op for autograd.
"""

from ...autograd import apply
from ...errors import ShapeError
from ...ops import conv as _conv
from ...ops import conv_transpose as _convt
from ...ops import pad as _pad

__all__ = ["conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d", "pad"]


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """(N, C_in, L) * (C_out, C_in/groups, K) -> (N, C_out, L_out); padding int, tuple, "valid" or "same".

    L_out = floor((L + 2*padding - dilation*(K - 1) - 1) / stride) + 1.
    """
    hyper = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}
    return _apply("conv1d", _conv.conv1d_forward, _conv.conv1d_backward, input, weight, bias, hyper)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """(N, C_in, H, W) * (C_out, C_in/groups, KH, KW) -> (N, C_out, H_out, W_out).

    H_out = floor((H + 2*padding - dilation*(KH - 1) - 1) / stride) + 1; padding="same" keeps H
    (stride 1; an even kernel gets the extra zero at the bottom/right, as in PyTorch).
    """
    hyper = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}
    return _apply("conv2d", _conv.conv2d_forward, _conv.conv2d_backward, input, weight, bias, hyper)


def conv_transpose1d(
    input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1
):
    """(N, C_in, L) * (C_in, C_out/groups, K) -> (N, C_out, L_out).

    L_out = (L - 1)*stride - 2*padding + dilation*(K - 1) + output_padding + 1.
    """
    hyper = {"stride": stride, "padding": padding, "output_padding": output_padding,
             "dilation": dilation, "groups": groups}  # fmt: skip
    fns = _convt.conv_transpose1d_forward, _convt.conv_transpose1d_backward
    return _apply("conv_transpose1d", *fns, input, weight, bias, hyper)


def conv_transpose2d(
    input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1
):
    """(N, C_in, H, W) * (C_in, C_out/groups, KH, KW) -> (N, C_out, H_out, W_out).

    H_out = (H - 1)*stride - 2*padding + dilation*(KH - 1) + output_padding + 1.
    """
    hyper = {"stride": stride, "padding": padding, "output_padding": output_padding,
             "dilation": dilation, "groups": groups}  # fmt: skip
    fns = _convt.conv_transpose2d_forward, _convt.conv_transpose2d_backward
    return _apply("conv_transpose2d", *fns, input, weight, bias, hyper)


def pad(input, pad, mode="constant", value=None):
    """Pad with pad = (last_lo, last_hi, 2nd_last_lo, ...); mode constant, reflect, replicate or circular."""
    return apply(
        _pad.pad_forward,
        _pad.pad_backward,
        (input,),
        pad=pad,
        mode=mode,
        value=0.0 if value is None else value,
    )


def _apply(op, forward, backward, input, weight, bias, hyper):
    """Record op(input, weight, bias, **hyper) for autograd; the op checks everything else."""
    if weight is None:
        raise ShapeError(
            f"{op}: weight is None; pass the filters as an array or Tensor of shape"
            f" (out_channels, in_channels/groups, *kernel_size)"
        )
    return apply(forward, backward, (input, weight, bias), pass_needs=True, **hyper)
