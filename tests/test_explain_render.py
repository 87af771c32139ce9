"""PNG, GIF and JSON outputs of explain: valid files, one GIF frame per output element."""

import io
import json

import numpy as np
import pytest
from PIL import Image

import convscope.explain as ex
from convscope.errors import ConvscopeError


@pytest.mark.parametrize(
    ("topic", "kwargs", "frames"),
    [
        ("conv", {}, 4),  # 4x4 input, 3x3 kernel -> 2x2
        ("stride", {"size": 6, "stride": 2}, 16),  # 6x6, 3x3: every stride-1 position of 4x4
        ("padding", {}, 16),  # 4x4, 3x3, padding 1 -> 4x4
        ("pool", {"size": 6, "kernel_size": 2}, 9),  # 6x6, 2x2 windows -> 3x3
        ("backward", {"size": 5, "kernel_size": 2, "stride": 2}, 20),  # 4x4 full conv, 2x2 dW
    ],
)
def test_gif_has_one_frame_per_output_element(topic, kwargs, frames):
    trace = getattr(ex, topic)(**kwargs)
    gif = Image.open(io.BytesIO(ex.render_gif(trace)))
    assert gif.format == "GIF"
    assert gif.n_frames == frames == trace.animation.frames


@pytest.mark.parametrize(
    "topic", ["image", "conv", "stride", "padding", "channels", "pool", "backward"]
)
def test_png_is_a_valid_image(topic):
    png = Image.open(io.BytesIO(ex.render_png(getattr(ex, topic)())))
    png.verify()
    assert png.format == "PNG" and png.size[0] > 100


def test_topics_without_pictures_say_so():
    with pytest.raises(ConvscopeError, match=r"explain shape: this topic has no picture"):
        ex.render_png(ex.shape())
    with pytest.raises(ConvscopeError, match=r"explain image: this topic has no animation"):
        ex.render_gif(ex.image())


@pytest.mark.parametrize("topic", ex.TOPICS)
def test_json_holds_the_output_as_nested_lists(topic):
    trace = getattr(ex, topic)()
    data = json.loads(trace.to_json())
    assert data["topic"] == topic and "output" in data and data["steps"]
    assert all(c["ok"] for c in data["checks"])
    if isinstance(trace.output, np.ndarray):
        np.testing.assert_array_equal(np.array(data["output"]), trace.output)  # round trip: exact


@pytest.mark.slow
def test_a_28x28_conv_animation_renders_every_cell():
    """An MNIST-sized input: one frame per output cell, the window moving (its speed is
    measured by the bench, not here)."""
    trace = ex.conv(size=28, kernel_size=3)
    gif = Image.open(io.BytesIO(ex.render_gif(trace)))
    assert gif.n_frames == 26 * 26 == trace.animation.frames
    first = np.asarray(gif.convert("RGB"))
    gif.seek(gif.n_frames - 1)
    last = np.asarray(gif.convert("RGB"))
    assert first.shape == last.shape and (first != last).any()
