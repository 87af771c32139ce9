"""convscope.inspect against Captum 0.9.0 on a torch LeNet-5 holding the same (bundled, trained)
weights, float64: saliency, input x gradient, integrated gradients (every method, with the
convergence delta), LayerGradCam (with and without ReLU, layer output or input, upsampled),
Occlusion; and feature maps, filters and predictions against the torch model itself."""

from collections import OrderedDict

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import convscope.inspect as ci
from convscope.data import load_digits
from convscope.models.bundled import BUNDLED_LENET
from convscope.train import load_model

captum_attr = pytest.importorskip(
    "captum.attr", reason="Captum is the oracle: pip install captum==0.9.0 (the test extra)"
)

TOL = dict(rtol=0, atol=1e-9)
DIGITS = [0, 1, 2, 1447]  # three held-out digits and the model's surest mistake (a 3 read as 7)
BLACK = (0 - 0.1307) / 0.3081  # a black pixel after MNIST normalisation


def torch_lenet(state):
    """LeNet-5 in torch as a Sequential with convscope's layer names, holding ``state``."""
    tnn = torch.nn
    model = tnn.Sequential(OrderedDict(
        conv1=tnn.Conv2d(1, 6, 5, padding=2), relu1=tnn.ReLU(), pool1=tnn.MaxPool2d(2),
        conv2=tnn.Conv2d(6, 16, 5), relu2=tnn.ReLU(), pool2=tnn.MaxPool2d(2),
        flatten=tnn.Flatten(), fc1=tnn.Linear(400, 120), relu3=tnn.ReLU(),
        fc2=tnn.Linear(120, 84), relu4=tnn.ReLU(), fc3=tnn.Linear(84, 10),
    ))  # fmt: skip
    model.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in state.items()})
    return model.double().eval()


@pytest.fixture(scope="module")
def pair():
    """(convscope LeNet-5 float64, torch twin, digits (4, 1, 28, 28) float64, labels)."""
    ours, _ = load_model(BUNDLED_LENET)
    ours.double()
    _, test = load_digits()
    x, y = test.batch(np.array(DIGITS))
    return ours, torch_lenet(ours.state_dict()), x.astype(np.float64), y


@pytest.fixture
def float64_default():
    """torch's default dtype float64 while the test runs: Captum's Riemann alphas come from
    torch.linspace in that dtype (convscope's are float64; with float32 they differ by ~1e-8)."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


def tensor(x):
    return torch.from_numpy(np.array(x))


def close(ours, theirs, tol=TOL):
    theirs = theirs.detach().numpy() if isinstance(theirs, torch.Tensor) else np.asarray(theirs)
    assert np.shape(ours) == theirs.shape
    np.testing.assert_allclose(ours, theirs, **tol)


TARGETS = [
    pytest.param(lambda y: [int(v) for v in y], id="true-labels"),
    pytest.param(lambda y: 7, id="class-7"),
    pytest.param(lambda y: [3, 1, 4, 1], id="per-image"),
]


@pytest.mark.parametrize("pick", TARGETS)
@pytest.mark.parametrize("absolute", [True, False])
def test_saliency_is_captums(pair, pick, absolute):
    ours, theirs, x, y = pair
    expected = captum_attr.Saliency(theirs).attribute(
        tensor(x).requires_grad_(), target=pick(y), abs=absolute
    )
    close(ci.saliency(ours, x, pick(y), abs=absolute), expected)


@pytest.mark.parametrize("pick", TARGETS)
def test_input_x_gradient_is_captums(pair, pick):
    ours, theirs, x, y = pair
    expected = captum_attr.InputXGradient(theirs).attribute(
        tensor(x).requires_grad_(), target=pick(y)
    )
    close(ci.input_x_gradient(ours, x, pick(y)), expected)


@pytest.mark.usefixtures("float64_default")
@pytest.mark.parametrize("method", ci.METHODS)
@pytest.mark.parametrize("steps", [7, 50])
def test_integrated_gradients_and_delta_are_captums_for_every_method(pair, method, steps):
    ours, theirs, x, y = pair
    target = [int(v) for v in y]
    attr, delta = captum_attr.IntegratedGradients(theirs).attribute(
        tensor(x), target=target, n_steps=steps, method=method, return_convergence_delta=True
    )
    result = ci.integrated_gradients(ours, x, target, steps=steps, method=method)
    close(result.attributions, attr)
    close(result.delta, delta)


def test_under_torchs_float32_default_captums_riemann_alphas_are_float32(pair):
    """What the float64_default fixture is for: torch.linspace rounds Captum's Riemann alphas
    to float32, which moves its attributions by ~1e-8 of their size, not more."""
    ours, theirs, x, y = pair
    assert torch.get_default_dtype() == torch.float32
    target = [int(v) for v in y]
    attr = captum_attr.IntegratedGradients(theirs).attribute(
        tensor(x), target=target, n_steps=50, method="riemann_middle"
    )
    result = ci.integrated_gradients(ours, x, target, steps=50, method="riemann_middle")
    size = float(attr.abs().max())
    close(result.attributions, attr, dict(rtol=0, atol=1e-6 * size))


def test_integrated_gradients_from_a_black_baseline_in_chunks_is_captums(pair):
    """Gauss-Legendre's alphas are float64 in Captum whatever torch's default dtype is."""
    ours, theirs, x, _ = pair
    base = np.full_like(x, BLACK)
    attr, delta = captum_attr.IntegratedGradients(theirs).attribute(
        tensor(x), baselines=tensor(base), target=2, n_steps=24, internal_batch_size=8,
        return_convergence_delta=True,
    )  # fmt: skip
    for chunk in (None, 4, 8, 96):
        result = ci.integrated_gradients(ours, x, 2, base, steps=24, internal_batch_size=chunk)
        close(result.attributions, attr)
        close(result.delta, delta)


@pytest.mark.parametrize("layer", ["conv1", "pool1", "conv2", "relu2"])
@pytest.mark.parametrize("relu", [False, True])
@pytest.mark.parametrize("to_input", [False, True])
def test_grad_cam_is_captums_layer_grad_cam(pair, layer, relu, to_input):
    ours, theirs, x, y = pair
    target = [int(v) for v in y]
    cam = captum_attr.LayerGradCam(theirs, getattr(theirs, layer)).attribute(
        tensor(x), target=target, relu_attributions=relu, attribute_to_layer_input=to_input
    )
    for mode in ("nearest", "bilinear"):
        result = ci.grad_cam(
            ours, x, target, layer, relu_attributions=relu, attribute_to_layer_input=to_input,
            upsample=mode,
        )  # fmt: skip
        assert result.layer == layer
        close(result.cam, cam)
        close(result.upsampled, captum_attr.LayerAttribution.interpolate(cam, (28, 28), mode))


def test_grad_cam_takes_the_module_and_defaults_to_the_last_conv(pair):
    ours, theirs, x, _ = pair
    cam = captum_attr.LayerGradCam(theirs, theirs.conv2).attribute(tensor(x), target=5)
    close(ci.grad_cam(ours, x, 5).cam, cam)
    close(ci.grad_cam(ours, x, 5, layer=ours.conv2).cam, cam)


def captum_occlusion_float64(model, x, target, window, strides, baseline):
    """Captum's Occlusion without its final float32 cast: Captum divides its float64 sum of
    drop * mask by the window counts in float32 (``format_result``: ``.float() / weight``), so the
    sum is taken with ``use_weights=False`` and divided by Captum's own counts, which its
    occlusion of an indicator function gives: f = 1 when anything is covered, so each window's
    'drop' is -1 and the sum is -count."""
    occ = captum_attr.Occlusion(model)
    occ.use_weights = False
    total = occ.attribute(
        tensor(x), window, strides, baselines=baseline, target=target, perturbations_per_eval=64
    )
    ones = torch.ones(1, *x.shape[1:])
    counter = captum_attr.Occlusion(lambda z: (z.flatten(1).sum(1) < ones.numel()).double())
    counter.use_weights = False
    counts = -counter.attribute(ones, window, strides, baselines=0.0, perturbations_per_eval=64)
    return total / counts


@pytest.mark.parametrize(
    "window, stride, ours_window, ours_stride",
    [((1, 4, 4), 2, 4, 2), ((1, 5, 3), (1, 3, 2), (5, 3), (3, 2)), ((1, 28, 6), 5, (28, 6), 5)],
)
def test_occlusion_is_captums(pair, window, stride, ours_window, ours_stride):
    ours, theirs, x, y = pair
    target = [int(v) for v in y]
    exact = captum_occlusion_float64(theirs, x, target, window, stride, BLACK)
    public = captum_attr.Occlusion(theirs).attribute(
        tensor(x), window, stride, baselines=BLACK, target=target, perturbations_per_eval=64
    )
    for per_eval in (None, 1, 7):
        result = ci.occlusion(ours, x, target, ours_window, ours_stride, BLACK, per_eval)
        close(result, exact)
        close(result, public, dict(rtol=2**-23, atol=1e-12))  # Captum's float32 result


def small_pair(seed):
    """A small random CNN for 2-channel 10x12 images, in convscope and in torch."""
    import convscope.nn as nn

    def build(lib):
        return lib.Sequential(
            lib.Conv2d(2, 3, 3, padding=1), lib.ReLU(), lib.MaxPool2d(2),
            lib.Flatten(), lib.Linear(3 * 5 * 6, 4),
        )  # fmt: skip

    torch.manual_seed(seed)
    theirs = build(torch.nn).double().eval()
    ours = build(nn).double()
    ours.load_state_dict(theirs.state_dict())
    return ours, theirs


@settings(max_examples=30, deadline=None)
@given(
    window=st.tuples(st.integers(1, 2), st.integers(1, 10), st.integers(1, 12)),
    data=st.data(),
    baseline=st.floats(-1, 1),
    target=st.integers(0, 3),
)
def test_occlusion_windows_and_strides_are_captums(window, data, baseline, target):
    """Any window (c, kh, kw) that fits 2x10x12, any stride up to it, clipped last windows."""
    stride = tuple(data.draw(st.integers(1, k)) for k in window)
    ours, theirs = small_pair(seed=sum(window))
    x = np.random.default_rng(sum(stride)).standard_normal((2, 2, 10, 12))
    exact = captum_occlusion_float64(theirs, x, target, window, stride, baseline)
    close(ci.occlusion(ours, x, target, window, stride, baseline), exact)


def test_feature_maps_and_filters_are_the_torch_models(pair):
    ours, theirs, x, _ = pair
    seen = {}
    handles = [
        module.register_forward_hook(lambda m, a, out, name=name: seen.update({name: out}))
        for name, module in theirs.named_children()
    ]
    with torch.no_grad():
        theirs(tensor(x))
    for handle in handles:
        handle.remove()
    maps = ci.feature_maps(ours, x)
    assert list(maps) == list(seen)
    for name in seen:
        close(maps[name], seen[name], dict(rtol=0, atol=1e-10))
    one = ci.feature_maps(ours, x[1], ["conv2", "fc3"])
    assert list(one) == ["conv2", "fc3"]
    close(one["conv2"], seen["conv2"][1], dict(rtol=0, atol=1e-10))
    for layer in ("conv1", "conv2"):
        np.testing.assert_array_equal(ci.filters(ours, layer), getattr(theirs, layer).weight.data)
    np.testing.assert_array_equal(ci.filters(ours), theirs.conv1.weight.data)


def test_confusion_matrix_and_mistakes_are_the_torch_models_predictions(pair):
    ours, theirs, _, _ = pair
    _, test = load_digits()
    x, y = test.batch(np.arange(len(test)))
    with torch.no_grad():
        probs = torch.softmax(theirs(tensor(x.astype(np.float64))), dim=1).numpy()
    pred = probs.argmax(axis=1)
    expected = np.zeros((10, 10), dtype=np.int64)
    np.add.at(expected, (y, pred), 1)
    matrix = ci.confusion_matrix(ours, test, batch_size=300)
    np.testing.assert_array_equal(matrix, expected)
    assert matrix.trace() == 1975  # the bundled model's 98.75%
    wrong = np.flatnonzero(pred != y)
    surest = wrong[np.argsort(-probs[wrong, pred[wrong]], kind="stable")][:6]
    found = ci.mistakes(ours, test, k=6)
    np.testing.assert_array_equal(found.index, surest)
    np.testing.assert_array_equal(found.true, y[surest])
    np.testing.assert_array_equal(found.predicted, pred[surest])
    close(found.probability, probs[surest, pred[surest]], dict(rtol=0, atol=1e-12))
    assert found.index[0] == 1447
