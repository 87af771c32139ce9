"""explain in class (issue 11): the stride's other half, wrapped sums, the slides' vocabulary,
pooling's ties and unreached rows, colour and units; one test per defect, hand-checked."""

import io

import numpy as np
from PIL import Image

import convscope.explain as ex
from convscope.cli.main import main

STRIDE_A = "1 2 0 -1; 0 1 3 2; -2 1 0 1; 3 0 2 -1"


def _frames(gif_bytes):
    gif = Image.open(io.BytesIO(gif_bytes))
    for k in range(gif.n_frames):
        gif.seek(k)
        yield np.asarray(gif.convert("RGB"), dtype=np.int64)


def test_stride_says_its_backward_is_upsampling_and_points_to_backward_and_transposed_conv():
    trace = ex.stride(STRIDE_A, "1 -1; 2 0", stride=2)
    text = ex.render_text(trace, width=None)
    assert "downsampling's gradient is upsampling by zero insertion" in text
    assert "dL/dZ_1 = dilate(dL/dZ_2, 2)" in text
    assert "convscope explain backward --stride 2" in text and "ConvTranspose2d" in text


def test_stride_prints_z1_once_with_its_own_marks():
    text = ex.render_text(ex.stride(STRIDE_A, "1 -1; 2 0", stride=2))
    assert text.count("Z_1 (3x3)") == 1
    # Z_1 = [[-1, 4, 7], [-5, 0, 1], [3, 1, 3]] by hand; {kept}, the dropped ones unmarked
    assert "0 {-1}  4 { 7}" in text and "1  -5   0   1" in text and "2 { 3}  1 { 3}" in text
    assert "{v} = kept by the stride" in text
    padded = ex.render_text(ex.stride(STRIDE_A, "1 -1; 2 0", stride=2, padding=1, at=(1, 1)))
    assert "(v) = zero padding" in padded and "[v] = the window being computed" in padded
    assert "or a dropped sample" not in padded  # one mark, one meaning


def test_the_stride_gif_shows_every_stride_1_position_the_dropped_ones_greyed():
    trace = ex.stride(STRIDE_A, "1 -1; 2 0", stride=2)
    assert trace.animation.frames == 9  # Z_1 is 3x3: 4 kept + 5 dropped positions
    frames = list(_frames(ex.render_gif(trace)))
    assert len(frames) == 9
    orange = [int(np.sum((f[..., 0] > 220) & (f[..., 1] > 140) & (f[..., 1] < 190) & (f[..., 2] < 80)))
              for f in frames]  # fmt: skip
    assert orange[1] < orange[0] and orange[3] < orange[0]  # frames 1 and 3 are dropped: grey box


def test_long_sums_wrap_at_term_boundaries_under_the_equals_sign(capsys):
    from convscope.explain.text import wrap_sum

    assert main(["explain", "conv", "--size", "5", "--kernel-size", "3", "--at", "1,1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    k = next(k for k, line in enumerate(lines) if line.startswith("Z[1,1] = "))
    block = lines[k : k + 4]
    assert all(len(line) <= 100 for line in lines)
    assert block[1].startswith("       + (A[") and block[2].startswith("       = (")
    assert "".join(line.strip() for line in block).count("= ") == 4  # nothing lost
    wrapped = wrap_sum("Z[0,0] = " + " + ".join(["(Ap[10,10]*W[2,2])"] * 30) + " = 5", 60)
    assert all(len(line) <= 60 for line in wrapped)
    assert all(line.startswith("       + ") for line in wrapped[1:-1])
    assert wrap_sum("short = 1 + 2", 60) == ["short = 1 + 2"]


def test_a_terminal_that_cannot_encode_the_symbols_gets_ascii():
    from convscope.cli.explain import printable

    assert printable("∂f/∂q = 1; window ⊙ W; Σ + b", "ascii") == "df/dq = 1; window (.) W; sum + b"
    assert printable("∂f/∂q", "utf-8") == "∂f/∂q"


# backward (defect 7): X, W, dO of tests/test_explain_backward.py, and a second filter
X = "1 2 3; 4 5 6; 7 8 9"
W2 = "1 0; -1 2 || 0 1; 1 0"  # filter 1: dX1[r,q] = dO1[r,q-1] + dO1[r-1,q]
DO2 = "1 -1; 2 0 | 0 1; 1 1"


def test_backward_says_k_minus_1_and_shows_the_padded_dilated_gradient():
    trace = ex.backward(stride=2)  # 5x5 X, 3x3 W, 2x2 dO
    text = ex.render_text(trace, width=None)
    assert "zero-padded by K-1 (2 rows, 2 columns) on every side (3x3 -> 7x7)" in text
    assert (
        "G (7x7)" in text and "2 ( 0)( 0)  2 < 0> -2 ( 0)( 0)" in text
    )  # padding (0), dilation <0>
    assert "<v> = a zero inserted by dilation" in text
    assert "its first" not in text  # the cross-correlation is exactly 3x3
    titles = [p.title for row in trace.panels for p in row]
    assert "G: padded by K-1 = 2" in titles


def test_backward_gif_and_png_show_unreached_pixels_and_xp():
    x = np.arange(25.0).reshape(5, 5)  # 2x2 kernel at stride 2: row 4 and column 4 unreached
    trace = ex.backward(x, np.ones((2, 2)), np.ones((2, 2)), stride=2)
    anim = trace.animation
    assert anim.output.shape == (1, 5, 5) and anim.computed == (4, 4)  # the zero row shown
    assert anim.frames == 16 + 4  # dX's full cross-correlation, then dW
    assert anim.then.names == ("X", "dO", "dW") and anim.then.dilation == 2
    xp = trace.panels[0][0]
    assert xp.title == "X" and sorted(xp.marks["unreached"])[:2] == [(0, 4), (1, 4)]
    assert len(xp.marks["unreached"]) == 9  # row 4 and column 4
    padded = ex.backward(x, np.ones((2, 2)), np.ones((3, 3)), stride=2, padding=1)
    assert padded.panels[0][0].title == "Xp" and padded.panels[0][0].values.shape == (7, 7)
    assert "its first" not in ex.render_text(padded) or padded.steps


def test_backward_with_two_filters_sums_dx_over_the_filters():
    trace = ex.backward(X, W2, DO2)
    assert trace.ok
    # filter 0 alone gives [[1, -1, 0], [1, 3, -2], [-2, 4, 0]]; filter 1 adds
    # [[0, 0, 1], [0, 2, 1], [1, 1, 0]] (dO1 shifted right plus dO1 shifted down)
    np.testing.assert_array_equal(trace.output["dX"][0], [[1, -1, 1], [1, 5, -1], [-1, 5, 0]])
    # dW1[u,v] = X[u,v+1] + X[u+1,v] + X[u+1,v+1]
    np.testing.assert_array_equal(
        trace.output["dW"][:, 0], [[[7, 9], [13, 15]], [[11, 14], [20, 23]]]
    )
    np.testing.assert_array_equal(trace.output["db"], [2, 3])
    text = ex.render_text(trace, width=None)
    assert ("dX[1,1] = (W[0,1,1]*dO[0,0,0]) + (W[0,1,0]*dO[0,0,1]) + (W[0,0,1]*dO[0,1,0])"
            " + (W[0,0,0]*dO[0,1,1]) + (W[1,1,1]*dO[1,0,0]) + (W[1,1,0]*dO[1,0,1])"
            " + (W[1,0,1]*dO[1,1,0]) + (W[1,0,0]*dO[1,1,1]) = 5") in text  # fmt: skip
    assert "summed over the 2 filters" in text


def test_backward_with_channels_on_both_sides(capsys):
    ones = "1 1 1; 1 1 1; 1 1 1"
    kernel = "1 0; -1 2 | 1 1; 1 1 || 0 1; 1 0 | 1 1; 1 1"
    argv = ["explain", "backward", "--input", f"{X} | {ones}", "--kernel", kernel, "--grad", DO2]
    assert main(argv) == 0
    assert "MISMATCH" not in capsys.readouterr().out
    trace = ex.backward(f"{X} | {ones}", kernel, DO2)
    dx, dw = trace.output["dX"], trace.output["dW"]
    assert dx.shape == (2, 3, 3) and dw.shape == (2, 2, 2, 2)
    np.testing.assert_array_equal(dx[0], [[1, -1, 1], [1, 5, -1], [-1, 5, 0]])
    # channel 1 (all-ones weights): each pixel sums every dO that covers it, over both filters
    np.testing.assert_array_equal(dx[1], [[1, 1, 0], [4, 5, 1], [3, 4, 1]])
    np.testing.assert_array_equal(dw[:, 1], [np.full((2, 2), 2), np.full((2, 2), 3)])  # sum dO[f]
    assert trace.ok and len(trace.checks) == 7
    seeded = ex.backward(channels=3, filters=2, stride=2, padding=1)
    assert seeded.ok and seeded.output["dW"].shape == (2, 3, 3, 3)


# pooling (defect 8)
TIES = "5 5 1 2 9; 5 5 3 4 1; 1 2 8 0 1; 3 1 6 2 0; 4 4 4 4 9"  # 5x5: row 4, column 4 unreached


def test_pool_flags_a_tie_on_the_windows_line():
    trace = ex.pool(TIES, grad="1 2; 3 4")
    first, backward = trace.steps[0], trace.steps[4]
    assert "max(5, 5, 5, 5)" in first.formula and "a 4-way tie: the first wins" in first.formula
    assert first.operands["ties"] == 4 and "tie" not in trace.steps[1].formula
    assert "the 3 tied with it too" in backward.formula
    a_panel = trace.panels[0][0]
    assert sorted(a_panel.marks["tie"]) == [(0, 1), (1, 0), (1, 1)]  # dashed; (0, 0) is chosen


def test_pool_names_the_rows_and_columns_no_window_reaches():
    trace = ex.pool(TIES, grad="1 2; 3 4")
    text = ex.render_text(trace, width=None)
    assert "input row 4 (0-based), which never influences the output; dA there is 0" in text
    assert "input column 4 (0-based)" in text
    assert 9 in trace.inputs["A"][0, 4] and trace.results["dA"][0, 4].tolist() == [0] * 5
    assert len(trace.panels[0][0].marks["unreached"]) == 9  # hatched in the figure


def test_overlapping_pool_windows_outline_one_window():
    trace = ex.pool(kernel_size=2, stride=1)  # 4x4 -> 3x3, every window overlaps its neighbours
    a_panel = trace.panels[0][0]
    assert a_panel.boxes == [(1, 1, 2, 2)] and "they overlap" in a_panel.title
    assert trace.panels[0][1].focus == [(1, 1)]
    at = ex.pool(kernel_size=2, stride=1, at=(0, 2))
    assert at.panels[0][0].boxes == [(0, 2, 2, 2)]
    assert len(ex.pool(kernel_size=2).panels[0][0].boxes) == 4  # no overlap: every window


def test_min_pool_is_checked_as_the_negated_max_pool_pytorch_would_use():
    trace = ex.pool("1 3 2 4; 5 6 1 2; 7 2 3 0; 1 2 8 1", mode="min")
    lines = [c.line() for c in trace.checks]
    assert any("-max_pool2d(-A): min-pool = -maxpool(-x)" in line for line in lines)
    assert trace.ok and len(trace.checks) == 4 and len(ex.pool(mode="max").checks) == 3


def test_a_big_grid_is_one_image_not_a_patch_per_cell():
    from convscope.explain.figure import draw_panel, new_figure

    trace = ex.pool(np.arange(300.0 * 300).reshape(300, 300) % 7)
    ax = new_figure(3, 3).add_subplot()
    draw_panel(ax, trace.panels[0][0])  # 22,500 windows, 22,500 chosen cells
    assert len(ax.patches) == 0 and len(ax.images) == 2  # the grid and one overlay of marks
    assert Image.open(io.BytesIO(ex.render_png(ex.stride(np.ones((300, 300)))))).format == "PNG"


# real pictures (defect 5), colour and units (defect 9), a decompression bomb (issue 8)
def _seven(path):
    """A 256x256 black 7 on white: most of the picture is background."""
    from PIL import ImageDraw

    img = Image.new("L", (256, 256), 255)
    ImageDraw.Draw(img).line([(60, 50), (200, 50), (120, 220)], fill=0, width=22)
    img.save(path)
    return str(path)


def test_a_real_picture_prints_its_content_not_its_corner(tmp_path):
    text = ex.render_text(ex.image(_seven(tmp_path / "seven.png")))
    grid = text[text.index("I[0] (256x256") :]
    assert "rows 40..71 and columns 169..200 shown" in grid.splitlines()[0]  # where the 7 is
    assert "    0    0" in grid and "`--digit` shows the 28x28 a digit model sees" in _flat(text)
    assert all(len(line) <= 100 for line in text.splitlines())  # wide grids in column blocks


def _flat(text):
    """The words of ``text`` with every run of whitespace as one space (wrapping undone)."""
    return " ".join(text.split())


def test_digit_shows_what_the_model_sees_and_conv_centres_on_the_at_window(tmp_path, capsys):
    from convscope.data import load_digit_image

    seven = _seven(tmp_path / "seven.png")
    assert main(["explain", "image", "--input", seven, "--digit"]) == 0
    out = capsys.readouterr().out
    assert "a (1, 28, 28) array" in out and "as a digit model sees it" in _flat(out)
    assert "I[0] (28x28)" in out  # the whole conversion, no crop
    trace = ex.conv(load_digit_image(seven)[0], "-1 -1 -1; 2 2 2; -1 -1 -1")
    written = [s.cell for s in trace.steps if s.cell]
    z = np.abs(trace.output)
    assert len(written) == 64 and min(z[c] for c in written) >= np.sort(z.ravel())[-64]
    assert "those written out are the 64 with the largest |Z|" in trace.steps[-1].formula
    big = ex.render_text(ex.conv(seven, "-1 -1 -1; 2 2 2; -1 -1 -1", at=(36, 100)))
    assert "A (256x256, rows 21..52 and columns 85..116 shown)" in big  # the window in the middle
    assert "36  255" in big and "[255][255][255]" in big
    assert "Z (254x254, rows 20..51 and columns 84..115 shown)" in big  # the cell in the middle
    line = _error(["explain", "conv", "--digit"], capsys)
    assert "--digit converts an --input picture file" in line


def _error(argv, capsys):
    assert main(argv) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    return lines[0]


def test_colour_channels_share_one_scale_with_names_and_tints(tmp_path):
    rgb = np.zeros((4, 6, 3), dtype=np.uint8)
    rgb[:, :2, 0], rgb[:, 2:4, 2] = 200, 200  # a red and a blue block of the same 200
    Image.fromarray(rgb).save(tmp_path / "rgb.png")
    panels = ex.image(str(tmp_path / "rgb.png")).panels[0]
    assert [p.title for p in panels] == ["picture", "I[0] (red)", "I[1] (green)", "I[2] (blue)"]
    assert {p.scale for p in panels} == {(0.0, 255.0)}  # one fixed scale: 200 looks like 200
    assert [p.tint for p in panels[1:]] == ["Reds", "Greens", "Blues"]
    assert ex.render_png(ex.image(str(tmp_path / "rgb.png")))[:4] == b"\x89PNG"


def test_units_follow_the_data():
    floats = ex.image(np.random.default_rng(0).random((5, 5)))
    assert any("0 = dark, 1 = bright" in n for n in floats.notes)
    assert any("0 = dark, 255 = bright" in n for n in ex.image("0 128; 255 3").notes)
    assert any("0 = dark, 1000 = bright" in n for n in ex.image("0 1000; 5 3").notes)


def test_a_decompression_bomb_is_one_line_and_status_2(tmp_path, capsys):
    from convscope.data.image import MAX_PIXELS
    from convscope.explain.matrix import PIXELS_MAX
    from test_data import png_header_only

    assert PIXELS_MAX == MAX_PIXELS  # explain's cap is the one predict applies
    for side, found in (
        (30000, "over 178 megapixels (a decompression bomb)"),
        (6000, "6000x6000 pixels"),
    ):
        bomb = png_header_only(tmp_path / f"bomb{side}.png", side, side)
        line = _error(["explain", "image", "--input", str(bomb)], capsys)
        assert f"{bomb}: {found}: more than the 25-megapixel limit" in line
        line = _error(["explain", "image", "--input", str(bomb), "--digit"], capsys)
        assert "more than the 25-megapixel limit" in line


# vocabulary (defect 10) and the slides' pictures (also wanted in class)
def test_the_slides_vocabulary():
    notes = " ".join(ex.conv().notes)
    assert "(*) is what PyTorch and the recitation call convolution — mathematically a" in notes
    assert "window ⊙ W is the Hadamard (element-wise) product" in notes
    assert "is cross-correlation, as in PyTorch" not in notes  # not implying the slides are wrong
    text = ex.render_text(ex.padding(padding=1), width=None)  # 4x4, 3x3 kernel
    simple = text.index("H_out = floor((H_in - K + 2P) / S) + 1 = floor((4 - 3 + 2*1) / 1) + 1 = 4")
    assert simple < text.index("(the general form, with dilation D: floor((4 + 2*1 - 1*(3-1) - 1)")
    shape = " ".join(ex.shape(28, 5).notes)
    assert shape.index("floor((in - K + 2P) / S) + 1") < shape.index("D*(K-1)")


def test_a_slide_per_cell_window_hadamard_kernel_products_sum():
    trace = ex.conv("0 2 -3; -2 -2 -2; 1 0 1", "1 0; 0 -1", bias=1, at=(1, 1))
    row = trace.panels[0]
    assert [p.title for p in row[:4]] == ["A", "window", "W", "products"]
    assert [p.after for p in row[:4]] == ["", "⊙", "=", "→"]
    np.testing.assert_array_equal(row[1].values, [[-2, -2], [0, 1]])
    np.testing.assert_array_equal(row[3].values, [[-2, 0], [0, -1]])  # window ⊙ W
    assert row[4].title == "Σ products = -3\n+ b = 1\n= Z[1,1]" and row[4].values[0, 0] == -2
    assert trace.animation.slide  # the GIF draws the same row under every frame


def test_channels_animates_every_filter_over_every_channel_and_explains_at():
    trace = ex.channels(size=5, kernel_size=3, stride=2, padding=1, at=(1, 1))  # CS231n's demo
    anim = trace.animation
    assert anim.kernel.shape == (2, 3, 3, 3) and anim.output.shape == (2, 3, 3)
    assert anim.frames == 2 * 3 * 3 and anim.stride == 2
    assert len(list(_frames(ex.render_gif(trace)))) == 18
    cells = [s for s in trace.steps if s.cell]
    assert [s.label for s in cells] == ["Z[0,1,1]", "Z[1,1,1]"] and trace.ok
    assert " + b[1] = " in cells[1].formula and "(Ap[2,4,4]*W[1,2,2,2])" in cells[1].formula
    z = trace.output
    assert cells[0].result == z[0, 1, 1] and cells[1].result == z[1, 1, 1]
    assert trace.panels[0][0].title == "Ap[0]" and len(trace.panels[0][0].focus) == 9
