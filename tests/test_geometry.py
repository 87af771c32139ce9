"""One geometry: every layer that knows a window's size gives one answer for a configuration.

For each configuration (hypothesis-drawn, and the edge cases: even kernels with "same",
ceil_mode, dilation, transposed with output_padding) the output size, or the refusal, comes
from ops.geometry, the ops, F, the nn layers, the naive twins, the explain traces and
`convscope shape`, and PyTorch 2.13 (the oracle) agrees.
"""

import contextlib
import io

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import convscope as cs
import convscope.explain as ex
import convscope.nn as nn
import convscope.nn.functional as F
from convscope.cli.main import main
from convscope.errors import ShapeError
from convscope.ops import conv, conv_transpose, geometry, naive, pool

INVALID = "invalid"
# PyTorch notes that an even kernel with "same" copies the input; not a fault here
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same'")


def _answer(fn):
    """fn()'s spatial output shape, or INVALID when it refuses the configuration."""
    try:
        out = fn()
    except (ShapeError, RuntimeError, ValueError):  # RuntimeError: PyTorch's refusals
        return INVALID
    return tuple(int(n) for n in out)


def _cli_shape(size, kernel, stride, padding, dilation, ceil_mode=False):
    """`convscope shape`'s last line, 'output: OHxOW', as a tuple, or INVALID (status 2)."""
    argv = ["shape", "--input", "x".join(map(str, size)), "--kernel", "x".join(map(str, kernel)),
            "--stride", "x".join(map(str, stride)), "--dilation", "x".join(map(str, dilation)),
            "--padding", padding if isinstance(padding, str) else "x".join(map(str, padding))]  # fmt: skip
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(argv + (["--ceil-mode"] if ceil_mode else []))
    if status:
        assert status == 2 and err.getvalue().startswith("error: "), err.getvalue()
        return INVALID
    return tuple(int(v) for v in out.getvalue().splitlines()[-1].split()[-1].split("x"))


def _explain_shape(size, kernel, stride, padding, dilation, ceil_mode=False):
    trace = ex.shape(size, kernel, stride=stride, padding=padding, dilation=dilation,
                     ceil_mode=ceil_mode)  # fmt: skip
    return INVALID if trace.output is None else tuple(trace.output)


def _torch_padding(padding):
    return padding if isinstance(padding, str) else tuple(padding)


# ---- convolution -------------------------------------------------------------------------------


def conv_answers(size, kernel, stride, padding, dilation):
    """{layer: answer} for one 2-D convolution."""
    x = np.zeros((1, 2, *size))
    w = np.zeros((3, 2, *kernel))
    hyper = {"stride": stride, "padding": padding, "dilation": dilation}
    answers = {
        "geometry": _answer(lambda: geometry.conv_windows("c", size, kernel, **hyper).out_size),
        "ops.check_conv": _answer(lambda: conv.check_conv("conv2d", x.shape, w.shape, **hyper).out_size),
        "ops.conv2d_forward": _answer(lambda: conv.conv2d_forward(x, w, **hyper)[0].shape[2:]),
        "F.conv2d": _answer(lambda: F.conv2d(x, w, **hyper).shape[2:]),
        "nn.Conv2d": _answer(lambda: nn.Conv2d(2, 3, kernel, **hyper)(cs.tensor(x)).shape[2:]),
        "naive.corr2d": _answer(lambda: naive.corr2d(x[0], w[0], **hyper).shape),
        "explain.shape": _explain_shape(size, kernel, stride, padding, dilation),
        "convscope shape": _cli_shape(size, kernel, stride, padding, dilation),
        "torch": _answer(lambda: torch.nn.functional.conv2d(
            torch.zeros(x.shape), torch.zeros(w.shape), stride=stride,
            padding=_torch_padding(padding), dilation=dilation).shape[2:]),
    }  # fmt: skip
    if stride[0] == stride[1] and dilation[0] == dilation[1]:  # one stride/dilation per trace
        single = {"stride": stride[0], "padding": padding, "dilation": dilation[0]}
        answers["explain.conv"] = _answer(
            lambda: ex.conv(np.zeros(size), np.zeros(kernel), **single).output.shape
        )
    if not isinstance(padding, str) and padding[0] == padding[1]:
        answers["cs.output_size"] = _answer(
            lambda: [cs.output_size(n, k, s, padding[0], d)
                     for n, k, s, d in zip(size, kernel, stride, dilation, strict=True)]
        )  # fmt: skip
    return answers


def assert_one_answer(answers):
    assert len(set(answers.values())) == 1, answers


pairs = st.tuples(st.integers(1, 3), st.integers(1, 3))
sizes = st.tuples(st.integers(1, 9), st.integers(1, 9))
kernels = st.tuples(st.integers(1, 4), st.integers(1, 4))


@settings(max_examples=40, deadline=None)
@given(
    size=sizes,
    kernel=kernels,
    stride=pairs,
    dilation=st.tuples(st.integers(1, 2), st.integers(1, 2)),
    padding=st.one_of(
        st.tuples(st.integers(0, 2), st.integers(0, 2)), st.sampled_from(["same", "valid"])
    ),  # fmt: skip
)
def test_every_layer_gives_one_conv_geometry(size, kernel, stride, dilation, padding):
    assert_one_answer(conv_answers(size, kernel, stride, padding, dilation))


@pytest.mark.parametrize(
    ("size", "kernel", "stride", "padding", "dilation"),
    [
        ((6, 7), (4, 2), (1, 1), "same", (1, 1)),  # even kernels: the odd zero after
        ((5, 5), (2, 4), (1, 1), "same", (2, 1)),  # even kernel, dilated
        ((6, 6), (3, 3), (2, 2), "same", (1, 1)),  # strided "same": refused everywhere
        ((7, 8), (3, 2), (2, 3), (1, 0), (2, 2)),  # dilation
        ((2, 2), (5, 5), (1, 1), (1, 1), (1, 1)),  # no window fits
        ((4, 4), (3, 3), (1, 1), "valid", (2, 2)),  # dilation spreads the kernel past the input
    ],
)
def test_conv_edge_cases_give_one_answer(size, kernel, stride, padding, dilation):
    assert_one_answer(conv_answers(size, kernel, stride, padding, dilation))


# ---- pooling -----------------------------------------------------------------------------------


def pool_answers(size, kernel, stride, padding, ceil_mode):
    x = np.zeros((1, 2, *size))
    hyper = {"kernel_size": kernel, "stride": stride, "padding": padding, "ceil_mode": ceil_mode}
    answers = {
        "geometry": _answer(lambda: geometry.pool_windows(
            "p", size, kernel, stride, padding, ceil_mode=ceil_mode).out_size),
        "ops.check_pool": _answer(lambda: pool.check_pool("max_pool2d", x.shape, 2, kernel, stride,
                                                          padding, ceil_mode)[3]),
        "ops.max_pool2d_forward": _answer(lambda: pool.max_pool2d_forward(x, **hyper)[0].shape[2:]),
        "F.avg_pool2d": _answer(lambda: F.avg_pool2d(x, **hyper).shape[2:]),
        "nn.MinPool2d": _answer(lambda: nn.MinPool2d(**hyper)(cs.tensor(x)).shape[2:]),
        "naive.pool2d": _answer(lambda: naive.pool2d(x[0], kernel, stride, padding=padding,
                                                     ceil_mode=ceil_mode).shape[1:]),
        "explain.shape": _explain_shape(size, kernel, stride, padding, (1, 1), ceil_mode),
        "convscope shape": _cli_shape(size, kernel, stride, padding, (1, 1), ceil_mode),
        "torch": _answer(lambda: torch.nn.functional.max_pool2d(
            torch.zeros(x.shape), kernel, stride, padding, ceil_mode=ceil_mode).shape[2:]),
    }  # fmt: skip
    if any(k > n + 2 * p for n, k, p in zip(size, kernel, padding, strict=True)):
        del answers["torch"]  # PyTorch clips such a window with ceil_mode; convscope refuses it
    return answers


@settings(max_examples=40, deadline=None)
@given(
    size=sizes,
    kernel=kernels,
    stride=pairs,
    padding=st.tuples(st.integers(0, 1), st.integers(0, 1)),
    ceil_mode=st.booleans(),
)
def test_every_layer_gives_one_pool_geometry(size, kernel, stride, padding, ceil_mode):
    padding = tuple(min(p, k // 2) for p, k in zip(padding, kernel, strict=True))
    assert_one_answer(pool_answers(size, kernel, stride, padding, ceil_mode))


@pytest.mark.parametrize(
    ("size", "kernel", "stride", "padding"),
    [
        ((5, 5), (2, 2), (2, 2), (1, 1)),  # ceil_mode's last window would start in the padding
        ((7, 6), (3, 2), (3, 2), (1, 1)),
        ((4, 9), (3, 3), (2, 3), (1, 0)),
    ],
)
def test_ceil_mode_edges_give_one_answer(size, kernel, stride, padding):
    assert_one_answer(pool_answers(size, kernel, stride, padding, True))


# ---- transposed convolution --------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(
    size=st.tuples(st.integers(1, 5), st.integers(1, 5)),
    kernel=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    stride=pairs,
    dilation=st.tuples(st.integers(1, 2), st.integers(1, 2)),
    padding=st.tuples(st.integers(0, 2), st.integers(0, 2)),
    output_padding=st.tuples(st.integers(0, 2), st.integers(0, 2)),
)
def test_every_layer_gives_one_transposed_geometry(
    size, kernel, stride, dilation, padding, output_padding
):
    x, w = np.zeros((1, 2, *size)), np.zeros((2, 3, *kernel))
    hyper = {"stride": stride, "padding": padding, "output_padding": output_padding,
             "dilation": dilation}  # fmt: skip
    assert_one_answer({
        "geometry": _answer(lambda: geometry.conv_windows("t", size, kernel, **hyper).out_size),
        "ops": _answer(lambda: conv_transpose.conv_transpose2d_forward(x, w, **hyper)[0].shape[2:]),
        "F": _answer(lambda: F.conv_transpose2d(x, w, **hyper).shape[2:]),
        "nn": _answer(lambda: nn.ConvTranspose2d(2, 3, kernel, **hyper)(cs.tensor(x)).shape[2:]),
        "torch": _answer(lambda: torch.nn.functional.conv_transpose2d(
            torch.zeros(x.shape), torch.zeros(w.shape), **hyper).shape[2:]),
    })  # fmt: skip


def test_the_window_of_a_cell_is_the_cells_its_taps_read():
    """window(i) = the slice of taps i*S + u*D; taps(u) = the slice of that tap over all cells."""
    axis = geometry.Axis(size=9, kernel=3, stride=2, pads=(1, 2), dilation=2)
    cells = range(axis.out)
    for i in cells:
        assert list(range(axis.padded))[axis.window(i)] == [axis.tap(i, u) for u in range(3)]
    for u in range(3):
        assert list(range(axis.padded))[axis.taps(u)] == [axis.tap(i, u) for i in cells]
    for r in range(axis.padded):
        assert axis.readers(r) == [(u, i) for i in cells for u in range(3) if axis.tap(i, u) == r]


def test_remembered_checks_tell_apart_what_equality_does_not():
    """A checked call is remembered per arguments (geometry.remembered); 2.0, True and (2, 2.0)
    equal 2 and (2, 2) but are refused, after the accepted call as before it."""
    x, w = cs.zeros(1, 2, 8, 8), cs.zeros(3, 2, 3, 3)
    for _ in range(2):
        assert F.max_pool2d(x, 2).shape == (1, 2, 4, 4)
        assert F.conv2d(x, w, stride=1, padding=(1, 1)).shape == (1, 3, 8, 8)
        for bad in (2.0, True, (2, 2.0), (True, 2)):
            with pytest.raises(ShapeError, match="kernel_size"):
                F.max_pool2d(x, bad)
        for bad in (1.0, True, (1, True)):
            with pytest.raises(ShapeError, match="stride"):
                F.conv2d(x, w, stride=bad)
        with pytest.raises(ShapeError, match="padding"):
            F.conv2d(x, w, padding=(1, 1.0))
