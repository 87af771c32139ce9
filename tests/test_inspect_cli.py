"""``convscope inspect WHAT`` on the bundled LeNet-5 and on a checkpoint of its own: the summary,
the figure and the JSON arrays, which equal what the API gives for the same picture."""

import json

import numpy as np
import pytest
from PIL import Image

import convscope.inspect as ci
from convscope.data import Normalize, load_digits, load_image
from convscope.models import vgg
from convscope.models.bundled import BUNDLED_LENET
from convscope.train import load_model, save_model
from test_cli import cli

PNG = b"\x89PNG\r\n\x1a\n"
BLACK = (0 - 0.1307) / 0.3081


@pytest.fixture
def here(tmp_path, monkeypatch):
    """A working directory without ./runs: the default checkpoint is the bundled LeNet-5."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture(scope="module")
def bundled():
    model, _ = load_model(BUNDLED_LENET)
    _, test = load_digits()
    return model, test


def run(capsys, here, what, *argv):
    """(stdout, stderr, the JSON written, the PNG bytes written) of one inspect command."""
    status, out, err = cli(capsys, "inspect", what, *argv, "--png", str(here / "f.png"),
                           "--json", str(here / "f.json"))  # fmt: skip
    assert status == 0, err
    assert f"wrote {here / 'f.png'} (figure" in out and f"wrote {here / 'f.json'} (arrays" in out
    figure = (here / "f.png").read_bytes()
    assert figure[:8] == PNG
    return out, err, json.loads((here / "f.json").read_text()), figure


def test_filters_and_maps(here, capsys, bundled):
    model, test = bundled
    out, err, data, _ = run(capsys, here, "filters")
    assert err == f"checkpoint: {BUNDLED_LENET}\n"
    assert out.startswith("conv1.weight (6, 1, 5, 5)") and data["layer"] == "conv1"
    np.testing.assert_array_equal(data["weights"], ci.filters(model, "conv1"))
    out, _, data, _ = run(
        capsys, here, "maps", "--index", "3", "--layer", "conv2", "--layer", "fc3"
    )
    assert "input: held-out digit 3 (label" in out and list(data["maps"]) == ["conv2", "fc3"]
    x, _ = test.batch(np.array([3]))
    np.testing.assert_array_equal(data["maps"]["fc3"], ci.feature_maps(model, x[0], "fc3")["fc3"])
    out, _, data, _ = run(capsys, here, "maps")
    assert list(data["maps"]) == ["conv1", "relu1", "pool1", "conv2", "relu2", "pool2",
                                  "flatten", "fc1", "relu3", "fc2", "relu4", "fc3"]  # fmt: skip


def test_attributions_of_a_held_out_digit_equal_the_apis(here, capsys, bundled):
    model, test = bundled
    x, y = test.batch(np.array([5]))
    x, label = x[0], int(y[0])
    out, _, data, _ = run(capsys, here, "saliency", "--index", "5")
    assert f"held-out digit 5 (label {label})" in out and "prediction:" in out
    assert data["target"] == data["predicted"] == label
    np.testing.assert_allclose(data["x"], x)
    np.testing.assert_array_equal(data["attribution"], ci.saliency(model, x, label))
    assert abs(sum(data["probabilities"]) - 1) < 1e-6

    out, _, data, _ = run(capsys, here, "gradcam", "--index", "5", "--target", "3", "--relu",
                          "--upsample", "bilinear")  # fmt: skip
    cam = ci.grad_cam(model, x, 3, relu_attributions=True, upsample="bilinear")
    assert data["layer"] == "conv2" and data["target"] == 3 and "Grad-CAM at conv2" in out
    np.testing.assert_array_equal(data["cam"], cam.cam)
    np.testing.assert_array_equal(data["attribution"], cam.upsampled)

    out, _, data, _ = run(capsys, here, "ig", "--index", "5", "--steps", "20", "--method",
                          "riemann_middle")  # fmt: skip
    ig = ci.integrated_gradients(model, x, None, np.full_like(x, BLACK), 20, "riemann_middle")
    np.testing.assert_allclose(data["attribution"], ig.attributions, rtol=0, atol=1e-6)
    assert data["delta"] == pytest.approx(ig.delta, abs=1e-6)
    assert "integrated gradients (riemann_middle, 20 steps) from a black image" in out

    out, _, data, _ = run(
        capsys, here, "occlusion", "--index", "5", "--window", "6", "--stride", "3"
    )
    expected = ci.occlusion(model, x, label, 6, 3, np.full_like(x, BLACK))
    np.testing.assert_allclose(data["attribution"], expected, rtol=0, atol=1e-6)
    assert data["window"] == 6 and data["stride"] == 3


def test_a_picture_file_is_converted_as_predict_converts_it(here, capsys, bundled):
    model, test = bundled
    digit = test.images[7, 0]
    Image.fromarray(255 - digit).resize((84, 84)).convert("RGB").save(here / "digit.png")
    out, _, data, _ = run(capsys, here, "saliency", "--input", str(here / "digit.png"))
    assert out.startswith(f"input: {here / 'digit.png'}, 1x28x28")
    x = Normalize(0.1307, 0.3081)(load_image(here / "digit.png")[None])[0]
    np.testing.assert_allclose(data["x"], x)
    np.testing.assert_array_equal(data["attribution"], ci.saliency(model, x))


def test_confusion_and_mistakes_over_the_held_out_digits(here, capsys):
    out, _, data, figure = run(capsys, here, "confusion")
    assert "\naccuracy: 0.9875 (1975/2000)\n" in out
    assert np.trace(data["matrix"]) == 1975 and data["classes"] == [str(c) for c in range(10)]
    out, _, data, _ = run(capsys, here, "mistakes", "--top", "5")
    assert [m["index"] for m in data["mistakes"]][0] == 1447
    assert len(data["mistakes"]) == 5 and set(data["mistakes"][0]) == {
        "index", "true", "predicted", "probability",
    }  # fmt: skip
    assert "the 5 surest mistakes of 2000 images" in out


def test_the_newest_run_is_the_default_and_another_architecture_works(here, capsys):
    """A VGG run under ./runs: Grad-CAM defaults to its last conv, features.10 (32x14x14)."""
    (here / "runs" / "v").mkdir(parents=True)
    save_model(here / "runs" / "v" / "model.safetensors", vgg(), "vgg", {})
    out, err, data, _ = run(capsys, here, "gradcam", "--index", "0")
    assert err == "checkpoint: runs/v/model.safetensors\n"
    assert data["layer"] == "features.10" and np.shape(data["cam"]) == (1, 14, 14)
    assert np.shape(data["attribution"]) == (1, 28, 28)
    out, _, data, _ = run(capsys, here, "filters", "--layer", "features.3")
    assert np.shape(data["weights"]) == (16, 16, 3, 3)


def test_figures_of_unusual_arrays_still_draw():
    """Colour pictures, an all-zero attribution, more channels than a row shows, no mistakes."""
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (3, 12, 10), dtype=np.uint8)
    drawn = [
        ci.attribution_figure(rgb, np.zeros((3, 12, 10)), "zero"),
        ci.attribution_figure(
            rgb[:1], rng.standard_normal((1, 12, 10)), "cam", cam=np.ones((3, 2))
        ),
        ci.maps_figure({"wide": rng.random((32, 4, 4)), "vector": -rng.random(7)}),
        ci.filters_figure(rng.standard_normal((4, 3, 3, 3)), "conv"),
        ci.confusion_figure(np.array([[3, 0, 1], [0, 0, 0], [2, 0, 5]]), ["a", "b", "c"]),
        ci.mistakes_figure([], [], [], []),
        ci.mistakes_figure([rgb], [1], [2], [0.5], classes=["x", "y", "z"], index=[9]),
    ]
    assert all(png[:8] == PNG for png in drawn)
