"""`convscope explain TOPIC` through cli.main: text, files, and one-line errors with status 2."""

import io
import json

from PIL import Image

from convscope.cli.main import main


def test_default_conv_prints_each_cell_as_a_sum_of_products(capsys):
    assert main(["explain", "conv"]) == 0
    out = capsys.readouterr().out
    assert "indices are 0-based, as in NumPy" in out
    lines = out.splitlines()
    k = next(k for k, ln in enumerate(lines) if ln.startswith("Z[1,1] = "))
    assert lines[k].startswith("Z[1,1] = (A[1,1]*W[0,0]) + (A[1,2]*W[0,1]) + ")
    assert all(len(ln) <= 100 for ln in lines)  # piped: wrapped at 100 columns
    assert lines[k + 1].startswith("       + (A[") and " + b = " in lines[k + 1]  # under the =
    assert "check: sum of the printed products + b vs ops.conv.conv2d_forward" in out
    assert "\033[" not in out  # not a terminal: plain marks


def test_every_topic_runs_with_its_defaults(capsys):
    for topic in (
        "image",
        "conv",
        "shape",
        "stride",
        "padding",
        "channels",
        "pool",
        "chain",
        "backward",
    ):
        assert main(["explain", topic]) == 0, topic
    assert "MISMATCH" not in capsys.readouterr().out


def test_user_input_and_files(tmp_path, capsys):
    png, gif, js = tmp_path / "s.png", tmp_path / "s.gif", tmp_path / "s.json"
    argv = ["explain", "conv", "--input", "0 2 -3; -2 -2 -2; 1 0 1", "--kernel", "1 0; 0 -1",
            "--bias", "1", "--at", "1,1", "--png", str(png), "--gif", str(gif), "--json", str(js)]  # fmt: skip
    assert main(argv) == 0
    out = capsys.readouterr().out
    # Z[i,j] = A[i,j] - A[i+1,j+1] + 1: Z[1,1] = -2 - 1 + 1
    assert (
        "Z[1,1] = (A[1,1]*W[0,0]) + (A[1,2]*W[0,1]) + (A[2,1]*W[1,0]) + (A[2,2]*W[1,1]) + b = -2"
        in out
    )
    assert "[-2][-2]" in out  # the window, marked in plain text
    assert json.loads(js.read_text())["output"] == [[3.0, 5.0], [-1.0, -2.0]]
    assert Image.open(png).format == "PNG"
    assert Image.open(io.BytesIO(gif.read_bytes())).n_frames == 4


def test_chain_and_shape_options(capsys):
    assert main(["explain", "chain", "--expr", "x * y", "--values", "x=3, y=-2"]) == 0
    assert "dL/dx = -2" in capsys.readouterr().out
    assert main(["explain", "shape", "--input", "32x28", "--kernel", "3", "--stride", "2"]) == 0
    assert "output size: 15x13" in capsys.readouterr().out


def _error(argv, capsys):
    try:
        status = main(argv)
    except SystemExit as exc:  # argparse's own errors exit through the CLI's parser
        status = exc.code
    assert status == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    return lines[0]


def test_a_ragged_matrix_is_one_line_and_status_2(capsys):
    line = _error(["explain", "conv", "--input", "1 2 3; 4 5; 6 7 8"], capsys)
    assert "rows have different lengths (3, 2, 3)" in line


def test_a_kernel_larger_than_the_padded_input_is_one_line_and_status_2(capsys):
    line = _error(
        ["explain", "conv", "--input", "1 2; 3 4", "--kernel", "1 1 1; 1 1 1; 1 1 1"], capsys
    )
    assert "kernel 3 is larger than the padded input 2" in line


def test_other_bad_input_is_one_line_and_status_2(capsys):
    assert "--mode does not apply" in _error(["explain", "conv", "--mode", "max"], capsys)
    assert "no such file" in _error(["explain", "image", "--input", "missing.png"], capsys)
    assert "is not a cell" in _error(["explain", "conv", "--at", "1"], capsys)
    assert "has no animation" in _error(["explain", "shape", "--gif", "x.gif"], capsys)
