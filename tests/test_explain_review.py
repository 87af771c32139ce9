"""explain: the defects of the QA review (issue 4), one test each, through the API and the CLI."""

import io
import json
import warnings

import numpy as np
import pytest
from PIL import Image

import convscope.explain as ex
from convscope.cli.main import main
from convscope.errors import ConvscopeError, ShapeError
from convscope.explain.animation import FRAMES_MAX, cell_caption
from convscope.explain.trace import CELLS_MAX, difference


def _cli(argv, capsys):
    """(status, stdout, stderr) of ``convscope ARGV``; argparse's exits are caught."""
    try:
        status = main(argv)
    except SystemExit as exc:
        status = exc.code
    out = capsys.readouterr()
    return status, out.out, out.err


def _one_line_error(argv, capsys):
    status, out, err = _cli(argv, capsys)
    lines = err.strip().splitlines()
    assert status == 2 and out == "" and len(lines) == 1 and lines[0].startswith("error: ")
    return lines[0]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["conv", "--seed", "-5"], "argument --seed: '-5': must be 0 or more"),
        (["conv", "--size", "0"], "argument --size: '0': must be 1 or more"),
        (["conv", "--kernel-size", "0x2"], "argument --kernel-size: '0x2': must be 1 or more"),
        (["conv", "--stride", "0"], "argument --stride: '0': must be 1 or more"),
        (["conv", "--dilation", "-1"], "argument --dilation: '-1': must be 1 or more"),
        (["conv", "--padding", "-1"], "argument --padding: '-1': must be 0 or more"),
        (["conv", "--at=-1,0"], "indices are 0-based, 0 or more"),
        (["pool", "--channels", "0"], "argument --channels: '0': must be 1 or more"),
        (["channels", "--filters", "0"], "argument --filters: '0': must be 1 or more"),
    ],
)
def test_numeric_options_are_checked_at_the_boundary(argv, message, capsys):
    assert message in _one_line_error(["explain", *argv], capsys)


def test_the_api_refuses_a_negative_seed_and_a_zero_size():
    with pytest.raises(ConvscopeError, match=r"seed must be an integer >= 0, got -5"):
        ex.conv(seed=-5)
    with pytest.raises(ShapeError, match=r"size must be a positive integer, got size=0"):
        ex.conv(size=0)
    with pytest.raises(ShapeError, match=r"filters must be a positive integer"):
        ex.channels(filters=0)


def test_equal_non_finite_values_agree_and_numpy_stays_quiet(capsys):
    assert difference([np.nan, np.inf, 1.0], [np.nan, np.inf, 1.0]) == 0
    assert difference([np.inf], [-np.inf]) == np.inf and difference([np.nan], [1.0]) == np.inf
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a RuntimeWarning would fail the test
        assert ex.chain("x/y", {"x": 1.0, "y": 0.0}).ok
        assert ex.conv("nan 1; 2 3", "1").ok
        assert ex.conv("inf 1; -inf 3", "1 1; 1 1").ok  # inf + -inf = nan on both sides
        assert ex.backward("inf 1 2; -inf 3 1; 1 1 1", "1 1; 1 1").ok
    status, out, err = _cli(["explain", "chain", "--expr", "x/y", "--values", "x=1,y=0"], capsys)
    assert status == 0 and "MISMATCH" not in out and err == ""
    assert "dL/dy = -inf" in out
    status, out, err = _cli(["explain", "conv", "--input", "nan 1; 2 3", "--kernel", "1"], capsys)
    assert status == 0 and "MISMATCH" not in out and err == ""


def test_conv_is_named_cross_correlation_and_backward_states_the_textbook_equivalence():
    assert any("mathematically a cross-correlation: the kernel is not flipped" in n
               for n in ex.conv().notes)  # fmt: skip
    trace = ex.backward(stride=2)
    text = ex.render_text(trace, width=None)
    assert "dX = full cross-correlation of dilate(dO, 2) with rot180(W)" in text
    assert "dW = cross-correlation of X with dilate(dO, 2)" in text
    assert text.count("the textbook full convolution of dO with W") == 1
    assert "dO dilated by 2 (1 zero(s) between gradients)" in trace.animation.caption


def test_rows_no_window_reached_get_zero_and_dxp_is_shown_before_the_extension():
    x = np.arange(25.0).reshape(5, 5)  # 2x2 kernel at stride 2: row 4 and column 4 unreached
    trace = ex.backward(x, np.ones((2, 2)), np.ones((2, 2)), stride=2)
    labels = [s.label for s in trace.steps]
    assert labels.index("full") < labels.index("dXp") < labels.index("dX identity")
    step = trace.steps[labels.index("dXp")]
    assert step.formula.startswith("dXp (5x5) = full (4x4) extended with zeros: the last 1 row(s)")
    assert "reached by no window (stride 2), so their gradient is 0" in step.formula
    np.testing.assert_array_equal(trace.output["dX"][0, 4], 0)  # no term: exactly 0
    assert trace.ok


def test_the_default_stride_2_example_dilates_a_2x2_gradient():
    trace = ex.backward(stride=2)
    assert trace.inputs["X"].shape == (5, 5) and trace.inputs["W"].shape == (3, 3)
    assert trace.inputs["dO"].shape == (2, 2)
    dilated = next(s for s in trace.steps if s.label == "dilate").result
    assert dilated.shape == (3, 3) and np.all(dilated[1] == 0) and np.all(dilated[:, 1] == 0)
    titles = [p.title for row in trace.panels for p in row]
    assert "W" in titles and "dilate(dO, 2)" in titles
    assert ex.backward().inputs["X"].shape == (3, 3)  # stride 1 keeps the 3x3 / 2x2 example


def test_shape_says_whether_the_unreached_rows_are_input_or_padding(capsys):
    text = ex.render_text(ex.shape(28, 5, stride=4), width=None)
    assert "the last 3 rows of the padded input are reached by no window: input rows 25..27" in text
    assert "padded row(s)" not in text
    text = ex.render_text(ex.shape(28, 5, stride=2, padding=2), width=None)
    assert "the last row of the padded input is reached by no window: it is padding (zeros)" in text
    text = ex.render_text(ex.shape(28, 5, stride=6, padding=2), width=None)
    assert "input row 27 (0-based), which never influences the output, and 2 padding rows" in text


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["image", "--png", "{d}/c.png", "--gif", "{d}/c.gif"], "image: this topic has no animation"),
        (["shape", "--png", "{d}/c.png"], "shape: this topic has no picture"),
        (["image", "--gif", "{d}/c.gif"], "image: this topic has no animation"),
    ],
)  # fmt: skip
def test_an_unsupported_file_is_refused_before_any_work(argv, message, tmp_path, capsys):
    argv = [a.format(d=tmp_path) for a in argv]
    assert message in _one_line_error(["explain", *argv], capsys)
    assert list(tmp_path.iterdir()) == []  # no other file was written either


@pytest.mark.parametrize("topic", ex.TOPICS)
def test_every_json_step_has_its_operands(topic):
    data = json.loads(getattr(ex, topic)().to_json())
    assert all(step["operands"] for step in data["steps"]), topic


def test_conv_and_pool_operands_hold_the_window_kernel_bias_and_choice():
    trace = ex.conv("0 2 -3; -2 -2 -2; 1 0 1", "1 0; 0 -1", bias=1)
    ops = json.loads(trace.to_json())["steps"][3]["operands"]  # Z[1,1]
    assert ops["window"] == [[-2.0, -2.0], [0.0, 1.0]] and ops["kernel"] == [
        [1.0, 0.0],
        [0.0, -1.0],
    ]
    assert ops["bias"] == 1.0 and ops["products"] == [[-2.0, -0.0], [0.0, -1.0]]
    pool = ex.pool("1 3 2 4; 5 6 1 2; 7 2 3 0; 1 2 8 1", grad="1 2; 3 4")
    assert pool.steps[0].operands["chosen"] == [0, 1, 1]  # max 6 at A[0,1,1]
    assert pool.steps[4].operands == {"dY": 1.0, "to": [0, 1, 1]}
    assert ex.chain().steps[0].operands == {"x": -2.0, "y": 5.0}


def test_big_inputs_write_out_64_cells_and_refuse_a_long_animation(capsys):
    trace = ex.conv(size=100)
    cells = [s for s in trace.steps if s.cell]
    assert len(cells) == CELLS_MAX and trace.output.shape == (98, 98)
    assert "9540 more output cells not written out (9604 in all)" in trace.steps[-1].formula
    assert "--at i,j" in trace.steps[-1].formula and trace.ok
    line = _one_line_error(["explain", "conv", "--size", "100", "--gif", "big.gif"], capsys)
    assert f"9604 frames (one per cell of the 98x98 output), more than {FRAMES_MAX}" in line
    with pytest.raises(ConvscopeError, match=r"use a smaller input"):
        ex.render_gif(trace)
    backward = ex.backward(size=30)
    assert "... (777 more terms)" in backward.steps[0].formula  # 28x28 = 784 products, 64 shown
    assert "836 more pixels of dX not written out (900 in all)" in backward.steps[4 + 64].formula


def test_palette_and_16_bit_images_are_read_honestly(tmp_path):
    palette = Image.new("P", (3, 2))
    palette.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    palette.putpixel((1, 0), 1)
    palette.save(tmp_path / "pal.png")
    trace = ex.image(str(tmp_path / "pal.png"))
    assert trace.output.shape == (3, 2, 3) and trace.title.startswith("an RGB colour image")
    assert list(trace.output[:, 0, 0]) == [255, 0, 0] and list(trace.output[:, 0, 1]) == [0, 0, 255]
    deep = np.array([[0, 1000], [30000, 65535]], dtype=np.uint16)
    Image.fromarray(deep).save(tmp_path / "g16.png")
    trace = ex.image(str(tmp_path / "g16.png"))
    np.testing.assert_array_equal(trace.output[0], deep)
    assert any("65535 = bright (a 16-bit image)" in n for n in trace.notes)
    assert trace.panels[0][0].scale == (0.0, 65535.0)  # the picture is scaled, not clipped


def test_small_wording_fixes(capsys):
    assert ex.stride(stride=1).title == (
        "stride 1: the window moves one cell at a time, no output is dropped"
    )
    assert "stride 1 keeps every cell and drops nothing" in ex.render_text(ex.stride(stride=1))
    text = ex.render_text(ex.channels())
    assert "e.g. Z[0,0,0] = (-11) + (-1) + (-5) + 0 = -17" in text
    assert "W[0,1] (2x2)" in text and "][" not in text
    backward = ex.render_text(ex.backward(stride=2))
    assert "((-2)*(-3))" in backward and "*-" not in backward
    status, out, err = _cli(["explain", "shape", "--input", "2", "--kernel", "5", "--padding", "1"], capsys)  # fmt: skip
    assert status == 2 and "= floor((-1) / 1) + 1 = 0 < 1: invalid" in out
    assert err.startswith("error: explain shape: invalid configuration") and "no window fits" in err


def test_pool_figure_outlines_windows_and_marks_the_choice_and_frames_carry_the_sum():
    trace = ex.pool("1 3 2 4; 5 6 1 2; 7 2 3 0; 1 2 8 1")
    a_panel = trace.panels[0][0]
    assert a_panel.boxes == [(0, 0, 2, 2), (0, 2, 2, 2), (2, 0, 2, 2), (2, 2, 2, 2)]
    assert sorted(a_panel.focus) == [(0, 3), (1, 1), (2, 0), (3, 2)]
    assert cell_caption(trace.animation, 0, 0) == "Y[0,0,0] = max(1, 3, 5, 6) = 6"
    conv = ex.conv("0 2 -3; -2 -2 -2; 1 0 1", "1 0; 0 -1", bias=1)
    caption = cell_caption(conv.animation, 1, 1)
    assert caption == "Z[1,1] = ((-2)*1) + ((-2)*0) + (0*0) + (1*(-1)) + 1 = -2"
    gif = Image.open(io.BytesIO(ex.render_gif(conv)))
    assert gif.size[0] >= 720 and gif.size[1] >= 280  # readable on a slide
