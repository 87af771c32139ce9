"""explain chain, shape and image; the inline-matrix parser and the text grids."""

import numpy as np
import pytest
from PIL import Image

import convscope.explain as ex
from convscope.errors import ConvscopeError, DataError, ShapeError
from convscope.explain.chain_expr import parse_values
from convscope.explain.grid import format_grid
from convscope.explain.matrix import load, parse_inline


def test_chain_default_is_the_classic_example():
    trace = ex.chain()
    assert trace.output == {"f": -12.0, "dL/dx": -4.0, "dL/dy": -4.0, "dL/dz": 3.0}
    text = ex.render_text(trace)
    assert "q = x + y = (-2) + 5 = 3" in text
    assert "f = q * z = 3 * (-4) = -12" in text
    assert "dL/dx = dL/dq * ∂q/∂x = (-4) * 1 = -4" in text
    assert trace.ok and "autograd" in trace.checks[0].what


def test_chain_sums_over_every_use_of_a_variable():
    trace = ex.chain("x*x + 3*x - y/2 + (-x)**2", parse_values("x=2, y=4"))
    assert trace.output["f"] == 12.0
    assert trace.output["dL/dx"] == 11.0  # 2x + 3 + 2x at x=2
    assert trace.output["dL/dy"] == -0.5
    assert trace.ok


def test_chain_bad_input():
    with pytest.raises(ConvscopeError, match=r"no value for 'w'"):
        ex.chain("x * w")
    with pytest.raises(ConvscopeError, match=r"'sin\(x\)' is not supported"):
        ex.chain("sin(x)")
    with pytest.raises(ConvscopeError, match=r"cannot read 'x:2'"):
        parse_values("x:2")


def test_shape_fills_in_the_formula():
    trace = ex.shape((28, 28), 5, stride=2, padding=2)
    assert trace.output == [14, 14]
    text = ex.render_text(trace)
    assert "H_out = floor((28 + 2*2 - 1*(5-1) - 1) / 2) + 1" in text
    assert "= floor(27 / 2) + 1 = 13 + 1 = 14" in text
    assert "not a multiple of stride 2" in text
    assert ex.shape((6, 6), (4, 3), padding="same").output == [6, 6]


def test_shape_says_why_a_configuration_is_invalid():
    trace = ex.shape((2, 2), 5, padding=1)
    assert trace.output is None
    assert "kernel 5 is larger than the padded input 4" in ex.render_text(trace)
    trace = ex.shape((6, 6), 3, stride=2, padding="same")
    assert trace.output is None and "padding='same' needs stride 1" in ex.render_text(trace)
    with pytest.raises(ShapeError, match=r"stride must be a positive integer"):
        ex.shape((6, 6), 3, stride=0)


def test_image_is_its_intensity_matrix(tmp_path):
    rgb = np.zeros((3, 4, 3), dtype=np.uint8)
    rgb[0, 1] = (255, 10, 20)
    Image.fromarray(rgb).save(tmp_path / "tiny.png")
    trace = ex.image(str(tmp_path / "tiny.png"))
    assert trace.output.shape == (3, 3, 4)
    assert list(trace.output[:, 0, 1]) == [255, 10, 20]
    assert "RGB colour image is a (3, 3, 4) array" in trace.title
    gray = ex.image()
    assert gray.output.shape == (1, 8, 8) and gray.output.max() == 255


def test_inline_matrices_channels_and_filters():
    np.testing.assert_array_equal(parse_inline("0 2 -3; -2 -2 -2; 1 0 1")[2], [1, 0, 1])
    assert parse_inline("1 2; 3 4 | 5 6; 7 8").shape == (2, 2, 2)
    assert parse_inline("1, 2; 3, 4 || 5 6; 7 8").shape == (2, 1, 2, 2)
    assert parse_inline("1.5 -2e-1;").tolist() == [[1.5, -0.2]]


def test_ragged_or_bad_matrices_are_shape_errors_naming_the_rows():
    with pytest.raises(ShapeError, match=r"rows have different lengths \(3, 2, 3\)"):
        parse_inline("1 2 3; 4 5; 6 7 8", "input")
    with pytest.raises(
        ShapeError, match=r"every channel split by \"\|\" needs the same shape, got 2x2, 1x2"
    ):
        parse_inline("1 2; 3 4 | 5 6")
    with pytest.raises(ShapeError, match=r"could not convert string to float: 'x'"):
        parse_inline("1 x")
    with pytest.raises(ShapeError, match=r"empty row"):
        parse_inline("1 2;; 3 4")


def test_npy_files_never_unpickle(tmp_path):
    np.save(tmp_path / "a.npy", np.arange(6).reshape(2, 3))
    assert load(str(tmp_path / "a.npy"), "input").tolist() == [[0, 1, 2], [3, 4, 5]]
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(DataError, match=r"not a plain numeric .npy array"):
        load(str(tmp_path / "obj.npy"), "input")
    with pytest.raises(DataError, match=r"no such file"):
        load(str(tmp_path / "missing.npy"), "input")


def test_grids_align_negatives_and_decimals_and_mark_without_colour():
    lines = format_grid(np.array([[0.5, -1.25], [3, 10]]), "B")
    assert lines == ["B (2x2)", "       0      1", "0   0.50  -1.25", "1   3.00  10.00"]
    marked = format_grid(np.array([[1, -2], [3, 4]]), focus=[(0, 1)], muted=[(1, 0)])
    assert marked[1] == "0   1 [-2]" and marked[2] == "1 ( 3)  4"
    assert "\033[" not in "".join(marked)
    coloured = format_grid(np.array([[1, -2]]), focus=[(0, 1)], color=True)
    assert "\033[" in coloured[1]
