"""explain chain in class (issue 11, defects 1-4): names that never collide, upstream x local
notation, a variable used twice, and the graph drawn (PNG) and walked backward (GIF)."""

import io

import numpy as np
import pytest
from PIL import Image

import convscope.explain as ex
from convscope.cli.main import main


def _text(expr, values):
    from convscope.explain.chain_expr import parse_values

    trace = ex.chain(expr, parse_values(values))
    assert trace.ok
    return trace, ex.render_text(trace)


def test_the_output_gets_a_name_no_input_uses():
    trace, text = _text("(x + y) * f", "x=-2, y=5, f=-4")
    assert trace.output == {"g": -12.0, "dL/dx": -4.0, "dL/dy": -4.0, "dL/df": 3.0}
    assert "g = q * f = 3 * (-4) = -12" in text and "f = q * f" not in text
    assert "dL/df = dL/dg * ∂g/∂f = 1 * 3 = 3" in text
    trace, text = _text("f * f", "f=3")
    assert trace.output == {"g": 9.0, "dL/df": 6.0}  # d(f^2)/df = 2f = 6, named once
    trace, _ = _text("L * f + g", "L=2, f=3, g=1")  # every usual name taken
    assert trace.output == {"h": 7.0, "dJ/dL": 3.0, "dJ/df": 2.0, "dJ/dg": 1.0}


def test_upstream_and_local_gradients_have_their_own_symbols():
    _, text = _text("(x + y) * z", "x=-2, y=5, z=-4")
    assert "∂f/∂q = z = -4    ∂f/∂z = q = 3" in text  # local: ∂node/∂input
    assert "dL/df = 1   (L = f)" in text
    assert "dL/dq = dL/df * ∂f/∂q = 1 * z = 1 * (-4) = -4" in text  # upstream x local
    assert "dL/dx = dL/dq * ∂q/∂x = (-4) * 1 = -4" in text
    assert "df/df" not in text and "df/dq" not in text


def test_a_variable_used_twice_has_a_term_per_use_and_the_total():
    trace, text = _text("x*x + 3*x", "x=2")
    assert trace.output == {"f": 10.0, "dL/dx": 7.0}  # 2x + 3 at x=2
    local = "∂q/∂x = ∂q/∂(x, left use) + ∂q/∂(x, right use) = x + x = 2x = 2 + 2 = 4"
    assert local in text and text.count("∂q/∂x = x") == 0
    assert "dL/dx = dL/dq * ∂q/∂x + dL/dr * ∂r/∂x = 1 * 4 + 1 * 3 = 7" in text
    edges = [e for e in trace.graph["edges"] if e["from"] == "x"]
    assert [(e["to"], e["use"], e["grad"]) for e in edges] == [
        ("q", "left", 2.0), ("q", "right", 2.0), ("r", "", 3.0)
    ]  # fmt: skip


def test_the_graph_holds_forward_values_and_gradients_on_every_edge():
    graph = ex.chain().graph  # f = (x + y) * z at x=-2, y=5, z=-4, worked by hand
    edges = {(e["from"], e["to"]): (e["value"], e["grad"]) for e in graph["edges"]}
    assert edges == {("x", "q"): (-2, -4), ("y", "q"): (5, -4), ("q", "f"): (3, -4),
                     ("z", "f"): (-4, 3)}  # fmt: skip
    columns = {n["id"]: n["column"] for n in graph["nodes"]}
    assert columns == {"x": 0, "y": 0, "z": 0, "q": 1, "f": 2}  # one column per depth
    assert [step["node"] for step in graph["backward"]] == ["f", "f", "q", None]
    assert graph["output"] == {"id": "f", "loss": "L", "value": -12.0}


def test_chain_png_and_gif_are_drawn(tmp_path, capsys):
    png, gif = tmp_path / "chain.png", tmp_path / "chain.gif"
    assert main(["explain", "chain", "--png", str(png), "--gif", str(gif)]) == 0
    assert Image.open(png).format == "PNG" and Image.open(png).size[0] > 600
    frames = Image.open(io.BytesIO(gif.read_bytes()))
    # forward values, dL/df = 1 ... each node backward, then the totals: 1 + 1 + 2 + 1
    assert frames.n_frames == 1 + len(ex.chain().graph["backward"]) == 5
    first, last = _frame(frames, 0), _frame(frames, frames.n_frames - 1)
    assert _red(last) > _red(first)  # gradients (red) appear as the walk goes backward
    assert "wrote" in capsys.readouterr().out


def _frame(gif, k):
    gif.seek(k)
    return np.asarray(gif.convert("RGB"), dtype=np.int64)


def _red(rgb):
    return int(np.sum((rgb[..., 0] > 150) & (rgb[..., 1] < 90) & (rgb[..., 2] < 90)))


@pytest.mark.parametrize("expr", ["x", "-x", "2 * 3 + x", "x / y - y ** 3"])
def test_unusual_expressions_still_draw(expr):
    trace = ex.chain(expr, {"x": 1.5, "y": -2.0})
    assert trace.ok
    assert ex.render_png(trace)[:4] == b"\x89PNG"
