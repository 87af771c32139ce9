"""explain in class (issue 11): the stride's other half, wrapped sums, the slides' vocabulary,
pooling's ties and unreached rows, colour and units; one test per defect, hand-checked."""

import io

import numpy as np
from PIL import Image

import convscope.explain as ex
from convscope.cli.main import main
from convscope.explain.text import wrap_sum

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
