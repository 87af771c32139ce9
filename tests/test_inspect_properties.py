"""What the attributions must satisfy whatever the oracle says: integrated gradients' completeness
and convergence, saliency as the engine's own backward, Grad-CAM through an identity conv; and
the model left as it was found."""

import numpy as np
import pytest

import convscope as cs
import convscope.inspect as ci
import convscope.nn as nn
from convscope.data import load_digits
from convscope.models.bundled import BUNDLED_LENET
from convscope.train import load_model


@pytest.fixture(scope="module")
def lenet():
    """The bundled LeNet-5 in float64 and six held-out digits with their labels."""
    model, _ = load_model(BUNDLED_LENET)
    model.double()
    x, y = load_digits()[1].batch(np.arange(6))
    return model, x.astype(np.float64), y


def logits(model, x):
    with cs.no_grad():
        return model(cs.tensor(x)).data


def scale(a):
    return float(np.max(np.abs(a)))


def test_integrated_gradients_are_complete_up_to_the_reported_delta(lenet):
    """sum(attributions) - (y_t(x) - y_t(b)) is the delta, with y computed apart from IG."""
    model, x, y = lenet
    base = np.full_like(x, -0.4242)
    for method in ci.METHODS:
        attr, delta = ci.integrated_gradients(model, x, y, base, steps=32, method=method)
        rows = np.arange(len(x))
        gap = logits(model, x)[rows, y] - logits(model, base)[rows, y]
        total = attr.reshape(len(x), -1).sum(axis=1)
        np.testing.assert_allclose(total - gap, delta, rtol=0, atol=1e-10 * scale(gap))


@pytest.mark.parametrize("method", ci.METHODS)
def test_the_delta_shrinks_as_the_steps_grow(lenet, method):
    """Mean |delta| over six digits falls at least 3x per 8x more steps (a ReLU network's path
    has kinks, so one digit's delta may not fall at every step count; the mean does)."""
    model, x, y = lenet
    mean = [
        np.abs(ci.integrated_gradients(model, x, y, steps=s, method=method).delta).mean()
        for s in (8, 64, 512)
    ]
    assert mean[0] > 3 * mean[1] > 9 * mean[2]
    assert mean[2] < 0.03


def test_integrated_gradients_of_a_linear_model_are_exact():
    """y = W flatten(x) + b: IG = W_t * (x - b) for any rule whose weights sum to 1 (Captum's
    float32 weights: to ~1e-7); trapezoid's sum to 1 - 1/S, Captum's rule, so IG scales by it."""
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(2 * 5 * 4, 3, dtype=np.float64))
    model.input_shape = (2, 5, 4)
    x, base = rng.standard_normal((3, 2, 5, 4)), rng.standard_normal((2, 5, 4))
    w = model[1].weight.data.reshape(3, 2, 5, 4)
    exact = w[[2, 0, 1]] * (x - base)
    for method in ci.METHODS:
        attr, delta = ci.integrated_gradients(model, x, [2, 0, 1], base, steps=10, method=method)
        share = 1 - 1 / 10 if method == "riemann_trapezoid" else 1.0
        np.testing.assert_allclose(attr, share * exact, rtol=1e-6, atol=1e-12)
        if method != "riemann_trapezoid":
            assert np.abs(delta).max() < 1e-6 * scale(exact.sum(axis=(1, 2, 3)))


def test_saliency_is_the_input_gradient_of_a_one_hot_loss(lenet):
    """saliency == |dL/dX| for L = sum_n y[n, t_n], from Tensor.backward."""
    model, x, y = lenet
    xt = cs.tensor(x, requires_grad=True)
    out = model(xt)
    (out * np.eye(10)[y]).sum().backward()
    np.testing.assert_allclose(ci.saliency(model, x, y), np.abs(xt.grad), rtol=0, atol=1e-14)
    np.testing.assert_allclose(ci.saliency(model, x, y, abs=False), xt.grad, rtol=0, atol=1e-14)
    np.testing.assert_allclose(ci.input_x_gradient(model, x, y), x * xt.grad, rtol=0, atol=1e-14)
    model.zero_grad()


def test_the_default_target_is_the_predicted_class(lenet):
    model, x, _ = lenet
    pred = logits(model, x).argmax(axis=1)
    np.testing.assert_array_equal(ci.saliency(model, x), ci.saliency(model, x, pred))
    np.testing.assert_array_equal(
        ci.occlusion(model, x[:2], None, 7, 7), ci.occlusion(model, x[:2], pred[:2], 7, 7)
    )


def identity_conv_model(rng):
    """An identity 1x1 conv (the only, so the last, conv), ReLU and a linear head."""
    conv = nn.Conv2d(3, 3, 1, bias=False, dtype=np.float64)
    conv.weight.data[...] = np.eye(3)[:, :, None, None]
    model = nn.Sequential(
        {
            "ident": conv,
            "relu": nn.ReLU(),
            "flatten": nn.Flatten(),
            "fc": nn.Linear(3 * 36, 4, dtype=np.float64),
        }
    )
    model.fc.weight.data[...] = rng.standard_normal((4, 3 * 36))
    return model


def test_grad_cam_through_an_identity_last_conv_is_the_weighted_input():
    """A = x, so cam = sum_c alpha_c x_c with alpha_c the channel mean of the input gradient:
    mean over pixels of W[t, c] where x > 0 (the ReLU's gate)."""
    rng = np.random.default_rng(1)
    model = identity_conv_model(rng)
    x = rng.standard_normal((2, 3, 6, 6))
    result = ci.grad_cam(model, x, [3, 1])
    w = model.fc.weight.data.reshape(4, 3, 6, 6)[[3, 1]]
    alpha = (w * (x > 0)).mean(axis=(2, 3))
    np.testing.assert_allclose(result.weights, alpha, rtol=0, atol=1e-14)
    np.testing.assert_allclose(result.cam[:, 0], np.einsum("nc,nchw->nhw", alpha, x), atol=1e-14)
    grad = ci.saliency(model, x, [3, 1], abs=False)
    np.testing.assert_allclose(result.weights, grad.mean(axis=(2, 3)), rtol=0, atol=1e-14)
    np.testing.assert_array_equal(result.upsampled, result.cam)  # already the input's size


def test_the_model_is_left_as_it_was(lenet):
    model, x, y = lenet
    model.zero_grad()
    model.train()
    model.conv1.weight.grad = np.ones_like(model.conv1.weight.data)
    model.fc3.bias.requires_grad = False
    ci.saliency(model, x, y)
    ci.integrated_gradients(model, x[:1], 3, steps=4)
    ci.grad_cam(model, x, y)
    ci.occlusion(model, x[:1], 1, 14, 14)
    ci.feature_maps(model, x)
    ci.confusion_matrix(model, (x, y))
    assert all(m.training for m in model.modules())
    assert [p.requires_grad for p in model.parameters()] == [True] * 9 + [False]
    np.testing.assert_array_equal(model.conv1.weight.grad, 1)
    assert all(p.grad is None for name, p in model.named_parameters() if name != "conv1.weight")
    model.fc3.bias.requires_grad = True
    model.conv1.weight.grad = None
    model.eval()


def test_one_image_gives_the_batchs_first_row(lenet):
    model, x, y = lenet
    one = x[0]
    np.testing.assert_array_equal(ci.saliency(model, one, 5), ci.saliency(model, x[:1], 5)[0])
    attr, delta = ci.integrated_gradients(model, one, 5, steps=8)
    batch = ci.integrated_gradients(model, x[:1], 5, steps=8)
    assert isinstance(delta, float) and delta == batch.delta[0]
    np.testing.assert_array_equal(attr, batch.attributions[0])
    cam = ci.grad_cam(model, one, 5)
    assert cam.cam.shape == (1, 10, 10) and cam.upsampled.shape == (1, 28, 28)
    assert cam.weights.shape == (16,)
    assert ci.occlusion(model, one, 5, 4, 4).shape == (1, 28, 28)
    assert ci.feature_maps(model, one)["conv2"].shape == (16, 10, 10)


def test_a_float32_model_agrees_with_its_float64_twin(lenet):
    model64, x, y = lenet
    model32, _ = load_model(BUNDLED_LENET)
    for fn in (ci.saliency, ci.input_x_gradient):
        a32, a64 = fn(model32, x, y), fn(model64, x, y)
        assert a32.dtype == np.float32
        np.testing.assert_allclose(a32, a64, rtol=0, atol=1e-4 * scale(a64))
    ig32 = ci.integrated_gradients(model32, x, y, steps=16)
    ig64 = ci.integrated_gradients(model64, x, y, steps=16)
    np.testing.assert_allclose(ig32.attributions, ig64.attributions, atol=1e-4 * scale(ig64[0]))
    cam32, cam64 = ci.grad_cam(model32, x, y).cam, ci.grad_cam(model64, x, y).cam
    np.testing.assert_allclose(cam32, cam64, rtol=0, atol=1e-4 * scale(cam64))


def test_quadrature_rules_integrate_what_they_should():
    """Gauss-Legendre with S points: exact for degree 2S - 1; the Riemann rules: weights 1/S."""
    for s in (1, 3, 8):
        alphas, weights = ci.quadrature("gausslegendre", s)
        for degree in range(2 * s):
            assert abs(weights @ alphas**degree - 1 / (degree + 1)) < 1e-7
    alphas, weights = ci.quadrature("riemann_middle", 4)
    np.testing.assert_allclose(alphas, [0.125, 0.375, 0.625, 0.875])
    np.testing.assert_array_equal(weights, np.float32(0.25))
    alphas, weights = ci.quadrature("riemann_trapezoid", 5)
    np.testing.assert_allclose(alphas, np.linspace(0, 1, 5))
    np.testing.assert_allclose(weights, [0.1, 0.2, 0.2, 0.2, 0.1], rtol=1e-7)
    left, right = ci.quadrature("riemann_left", 4)[0], ci.quadrature("riemann_right", 4)[0]
    np.testing.assert_allclose(right - left, 0.25)


def test_interpolate_keeps_a_constant_map_and_the_nearest_source():
    maps = np.arange(6.0).reshape(1, 1, 2, 3)
    near = ci.interpolate(maps, (4, 6), "nearest")
    np.testing.assert_array_equal(near[0, 0], np.repeat(np.repeat(maps[0, 0], 2, 0), 2, 1))
    np.testing.assert_allclose(ci.interpolate(np.full((1, 2, 3, 3), 2.5), (7, 5), "bilinear"), 2.5)


def test_import_convscope_inspect_needs_numpy_only():
    """matplotlib loads when a figure is drawn, never on import (the web page imports inspect)."""
    import subprocess
    import sys

    code = (
        "import sys, convscope.inspect;"
        "heavy = {'torch','matplotlib','PIL','numba','safetensors','tqdm','scipy','captum'};"
        "print(sorted(heavy & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
