"""Every bad input to convscope.inspect gets one sentence naming the numbers and a way out
(ValueError family from the API; one line on stderr and exit 2 from the CLI)."""

import re

import numpy as np
import pytest
from safetensors.numpy import save_file

import convscope.inspect as ci
import convscope.nn as nn
from convscope.errors import ConvscopeError, DataError, ShapeError
from convscope.models import lenet5
from convscope.models.bundled import BUNDLED_LENET
from test_cli import assert_one_line_error, cli

LAYERS = "conv1, relu1, pool1, conv2, relu2, pool2, flatten, fc1, relu3, fc2, relu4, fc3"


@pytest.fixture(scope="module")
def model():
    return lenet5()


@pytest.fixture(scope="module")
def x():
    return np.random.default_rng(0).standard_normal((2, 1, 28, 28)).astype(np.float32)


def raises(error, *parts):
    """pytest.raises matching every part of the message literally."""
    return pytest.raises(error, match="(?s)" + ".*".join(re.escape(p) for p in parts))


def test_an_unknown_layer_lists_the_models_layers(model, x):
    for call in (
        lambda: ci.grad_cam(model, x, 1, layer="conv9"),
        lambda: ci.feature_maps(model, x, ["conv1", "conv9"]),
        lambda: ci.filters(model, "conv9"),
    ):
        with raises(ShapeError, "the model has no layer 'conv9'; its layers are " + LAYERS):
            call()
    with raises(ShapeError, "grad_cam: the layer Conv2d is not part of the model", "conv1, relu1"):
        ci.grad_cam(model, x, 1, layer=nn.Conv2d(1, 2, 3))


def test_a_target_outside_the_models_classes(model, x):
    with raises(
        ShapeError, "saliency: target 10 is outside the model's 10 classes; choose a class 0-9"
    ):
        ci.saliency(model, x, 10)
    with raises(ShapeError, "integrated_gradients: target -1 is outside the model's 10 classes"):
        ci.integrated_gradients(model, x, [3, -1])
    with raises(ShapeError, "occlusion: target 12 is outside the model's 10 classes"):
        ci.occlusion(model, x, [12, 1], 4, 4)
    with raises(ShapeError, "grad_cam: target 10 is outside"):
        ci.grad_cam(model, x, 10)
    with raises(ShapeError, "target gives 3 classes for 2 images; give one int for all, or one"):
        ci.input_x_gradient(model, x, [1, 2, 3])
    with raises(ShapeError, "target must be a class index (an int), got 2.5"):
        ci.saliency(model, x, 2.5)


def test_a_picture_the_model_cannot_take(model, x):
    rgb = np.zeros((1, 3, 28, 28))
    with raises(
        ShapeError,
        "saliency: the model takes 1 channel images (1, 28, 28), but x of shape (1, 3, 28, 28)"
        " has 3 channels; convert the picture to 1 channel",
    ):
        ci.saliency(model, rgb, 1)
    with raises(ShapeError, "grad_cam: the model takes images (1, 28, 28), but x of shape"
                " (1, 1, 32, 32) holds (1, 32, 32); resize the picture to 28x28"):  # fmt: skip
        ci.grad_cam(model, np.zeros((1, 1, 32, 32)), 1)
    plain = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten())  # no input_shape: its first conv
    with raises(ShapeError, "feature_maps: the model's first convolution takes 3 channels, but x"
                " of shape (1, 1, 8, 8) has 1 channel"):  # fmt: skip
        ci.feature_maps(plain, np.zeros((1, 1, 8, 8)))
    with raises(ShapeError, "occlusion: x must be one image (C, H, W) or a batch (N, C, H, W), got"
                " shape (28, 28); a 2-D picture needs a channel axis: x[None]"):  # fmt: skip
        ci.occlusion(model, x[0, 0], 1, 4)
    with raises(ShapeError, "x holds no images"):
        ci.saliency(model, x[:0], 1)
    with raises(ShapeError, "saliency: model must be a convscope nn.Module, got a str"):
        ci.saliency("lenet", x, 1)


def test_steps_and_methods_of_integrated_gradients(model, x):
    for steps in (0, -3):
        with raises(
            ShapeError, f"integrated_gradients: steps must be an integer >= 1, got {steps}"
        ):
            ci.integrated_gradients(model, x, 1, steps=steps)
    with raises(ShapeError, "steps must be an integer >= 2, got 1"):
        ci.integrated_gradients(model, x, 1, steps=1, method="riemann_left")
    with raises(ShapeError, "steps must be an integer >= 1, got 2.5"):
        ci.integrated_gradients(model, x, 1, steps=2.5)
    with raises(ShapeError, "unknown method 'simpson'; choose one of gausslegendre, riemann_left"):
        ci.integrated_gradients(model, x, 1, method="simpson")
    with raises(ShapeError, "internal_batch_size=1 is smaller than the 2 images"):
        ci.integrated_gradients(model, x, 1, internal_batch_size=1)
    with raises(ShapeError, "baseline of shape (3,) does not broadcast to x's (2, 1, 28, 28)"):
        ci.integrated_gradients(model, x, 1, baseline=np.zeros(3))


def test_occlusion_windows_that_do_not_fit(model, x):
    with raises(ShapeError, "occlusion: window 1x30x30 is larger than the input 1x28x28; use a"
                " window of at most 1x28x28"):  # fmt: skip
        ci.occlusion(model, x, 1, window=30)
    with raises(ShapeError, "window 2x4x4 is larger than the input 1x28x28"):
        ci.occlusion(model, x, 1, window=(2, 4, 4))
    with raises(ShapeError, "occlusion: stride 1x5x5 is larger than window 1x4x4, which would"
                " leave numbers uncovered"):  # fmt: skip
        ci.occlusion(model, x, 1, window=4, stride=5)
    with raises(ShapeError, "occlusion: stride must be an integer >= 1, got 0"):
        ci.occlusion(model, x, 1, window=4, stride=0)
    with raises(ShapeError, "window must be an int or a tuple of 2 or 3 ints, got (1, 2, 3, 4)"):
        ci.occlusion(model, x, 1, window=(1, 2, 3, 4))


def test_layers_without_what_is_asked(model, x):
    with raises(ShapeError, "grad_cam: layer 'fc1' gives activations of shape (2, 120), not conv"
                " maps (N, C, h, w); choose a conv layer or one after it: conv1, conv2"):  # fmt: skip
        ci.grad_cam(model, x, 1, layer="fc1")
    with raises(ShapeError, "filters: layer 'relu1' (ReLU) has no 2-D convolution filters; choose"
                " one of conv1, conv2"):  # fmt: skip
        ci.filters(model, "relu1")
    head = nn.Sequential(nn.Flatten(), nn.Linear(4, 2))
    with raises(ShapeError, "grad_cam: the model has no Conv2d layer to default to; name one of"
                " its layers: 0, 1"):  # fmt: skip
        ci.grad_cam(head, np.zeros((1, 1, 2, 2)), 0)
    with raises(
        ShapeError, "upsample='bicubic' is not a mode; choose one of ('nearest', 'bilinear')"
    ):
        ci.grad_cam(model, x, 1, upsample="bicubic")


def test_datasets_the_model_cannot_score(model, x):
    with raises(
        DataError, "predict: the dataset has label 11, but the model knows 10 classes (0-9)"
    ):
        ci.confusion_matrix(model, (x, np.array([3, 11])))
    with raises(ShapeError, "mistakes: k must be an integer >= 1, got 0"):
        ci.mistakes(model, (x, np.array([3, 1])), k=0)
    with raises(DataError, "predict: the dataset is empty"):
        ci.mistakes(model, (x[:0], np.zeros(0, np.int64)))


def test_every_api_error_is_a_value_error():
    assert issubclass(ShapeError, ValueError) and issubclass(DataError, ConvscopeError)


# ---- the CLI: one line on stderr, exit status 2 ---------------------------------------------


@pytest.fixture
def no_runs(tmp_path, monkeypatch):
    """A working directory without ./runs, so the default checkpoint is the bundled LeNet-5."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_cli_a_checkpoint_of_another_architecture(no_runs, capsys):
    path = no_runs / "other.safetensors"
    save_file({"encoder.weight": np.zeros((4, 3), np.float32)}, str(path))
    for what in ("saliency", "filters", "confusion"):
        status, _, err = cli(capsys, "inspect", what, "--checkpoint", str(path))
        assert_one_line_error(status, err, "its keys fit no known model (lenet, vgg)")


@pytest.mark.parametrize(
    "argv, parts",
    [
        (["gradcam", "--layer", "conv9"], ["grad_cam: the model has no layer 'conv9'", LAYERS]),
        (["maps", "--layer", "fc9"], ["feature_maps: the model has no layer 'fc9'"]),
        (["saliency", "--target", "10"], ["target 10 is outside the model's 10 classes"]),
        (["ig", "--steps", "0"], ["integrated_gradients: steps must be an integer >= 1, got 0"]),
        (["occlusion", "--window", "40"], ["window 1x40x40 is larger than the input 1x28x28"]),
        (["saliency", "--steps", "9"], ["inspect saliency: --steps does not apply; it reads"]),
        (["gradcam", "--layer", "conv1", "--layer", "conv2"], ["give --layer once"]),
        (["maps", "--index", "2000"], ["--index 2000 is not a held-out digit; choose 0-1999"]),
        (["saliency", "--input", "missing.png"], ["missing.png: no such image file"]),
        (["mistakes", "--top", "0"], ["mistakes: k must be an integer >= 1, got 0"]),
        (["confusion", "--data", "nowhere"], ["nowhere: no such file or directory"]),
        (["sideways"], ["argument WHAT: invalid choice: 'sideways'"]),
    ],
)
def test_cli_bad_input_is_one_line(no_runs, capsys, argv, parts):
    """(--checkpoint given: without it a line on stderr names the default checkpoint)"""
    status, _, err = cli(capsys, "inspect", *argv, "--checkpoint", str(BUNDLED_LENET))
    assert_one_line_error(status, err, *parts)
