"""Model zoo: PyTorch's keys and shapes, the same logits as PyTorch, weights both ways, summary."""

import numpy as np
import pytest
import torch
import torch.nn.functional as tF
from safetensors.torch import load_file, save_file

import convscope as cs
import convscope.nn as nn
from convscope.errors import ConvscopeError
from convscope.models import get_model, lenet5
from convscope.models.summary import summarize
from convscope.train import load_model, save_model
from tolerance import assert_values_close, largest


class TorchLeNet5(torch.nn.Module):
    """LeNet-5 written the natural way in PyTorch (the docstring of convscope.models.lenet)."""

    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(1, 6, 5, padding=2)
        self.conv2 = torch.nn.Conv2d(6, 16, 5)
        self.fc1 = torch.nn.Linear(400, 120)
        self.fc2 = torch.nn.Linear(120, 84)
        self.fc3 = torch.nn.Linear(84, 10)

    def forward(self, x):
        x = tF.max_pool2d(tF.relu(self.conv1(x)), 2)
        x = tF.max_pool2d(tF.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        return self.fc3(tF.relu(self.fc2(tF.relu(self.fc1(x)))))


def torch_vgg(channels=(16, 32), hidden=128):
    """The same layout as convscope.models.vgg in torch.nn.Sequential form."""
    layers, c_in = [], 1
    for c in channels:
        for _ in range(2):
            layers += [
                torch.nn.Conv2d(c_in, c, 3, padding=1),
                torch.nn.BatchNorm2d(c),
                torch.nn.ReLU(),
            ]
            c_in = c
        layers.append(torch.nn.MaxPool2d(2))
    model = torch.nn.Module()
    model.features = torch.nn.Sequential(*layers)
    model.classifier = torch.nn.Sequential(
        torch.nn.Flatten(),
        torch.nn.Linear(c_in * 7 * 7, hidden),
        torch.nn.ReLU(),
        torch.nn.Linear(hidden, 10),
    )
    model.forward = lambda x: model.classifier(model.features(x))
    return model


def shapes(state):
    return {k: tuple(v.shape) for k, v in state.items()}


def digits(n=16, seed=0):
    return np.random.default_rng(seed).standard_normal((n, 1, 28, 28)).astype(np.float32)


def test_lenet5_state_dict_equals_torch_keys_and_shapes():
    ours, theirs = lenet5().state_dict(), TorchLeNet5().state_dict()
    assert list(ours) == list(theirs)
    assert shapes(ours) == shapes(theirs)
    assert all(v.dtype == np.float32 for v in ours.values())


def test_vgg_state_dict_equals_torch_keys_and_shapes():
    ours, theirs = get_model("vgg").state_dict(), torch_vgg().state_dict()
    assert list(ours) == list(theirs)
    assert shapes(ours) == shapes(theirs)


def test_torch_lenet5_file_loads_and_gives_the_same_logits(tmp_path):
    torch.manual_seed(0)
    reference = TorchLeNet5().eval()
    path = tmp_path / "torch_lenet.safetensors"
    save_file(reference.state_dict(), path)
    model, facts = load_model(path)  # no convscope metadata: matched by keys and shapes
    assert facts["model"] == "lenet"
    x = digits()
    with torch.no_grad():
        expected = reference(torch.from_numpy(x)).numpy()
    got = model(cs.tensor(x)).numpy()
    assert got.dtype == np.float32
    assert_values_close(got, expected, scale=largest(expected, *reference.state_dict().values()))


def test_convscope_lenet5_file_loads_into_torch(tmp_path):
    cs.nn.init.manual_seed(3)
    model = lenet5()
    path = tmp_path / "model.safetensors"
    save_model(path, model, "lenet", {"num_classes": 10})
    reference = TorchLeNet5()
    reference.load_state_dict(load_file(path))  # strict: exactly the same keys
    x = digits(seed=1)
    with torch.no_grad():
        expected = reference(torch.from_numpy(x)).numpy()
    scale = largest(expected, *reference.state_dict().values())
    assert_values_close(model(cs.tensor(x)), expected, scale=scale)


@pytest.mark.parametrize("training", [True, False])
def test_vgg_matches_torch_in_float64(training):
    model = get_model("vgg").double()
    reference = torch_vgg().double()
    reference.load_state_dict({k: torch.from_numpy(v) for k, v in model.state_dict().items()})
    model.train(training)
    reference.train(training)
    x = np.random.default_rng(2).standard_normal((4, 1, 28, 28))
    xt = torch.from_numpy(x).requires_grad_()
    expected = reference(xt)
    xc = cs.tensor(x, requires_grad=True)
    got = model(xc)
    got.sum().backward()
    expected.sum().backward()
    scale = largest(x, expected, xt.grad, *reference.state_dict().values())
    assert_values_close(got, expected, scale=scale, err_msg="logits")
    assert_values_close(xc.grad, xt.grad, scale=scale, err_msg="dL/dx")
    if training:  # running statistics updated the same way
        for k, v in reference.state_dict().items():
            assert_values_close(model.state_dict()[k], v, scale=scale, err_msg=k)


def test_get_model_names_and_errors():
    assert type(get_model("LeNet5")) is type(lenet5())
    assert get_model("lenet", num_classes=3)(cs.tensor(digits(2))).shape == (2, 3)
    with pytest.raises(ConvscopeError, match="unknown model 'resnet'; choose one of lenet, vgg"):
        get_model("resnet")


def test_summary_of_lenet5():
    rows, totals = summarize(lenet5(), (1, 28, 28))
    by_name = {r.name: r for r in rows}
    assert totals.params == 61706 == sum(v.size for v in lenet5().state_dict().values())
    assert by_name["conv1"].output_shape == (1, 6, 28, 28) and by_name["conv1"].params == 156
    assert by_name["conv1"].mult_adds == 28 * 28 * 6 * 25
    assert by_name["conv2"].mult_adds == 10 * 10 * 16 * 6 * 25
    assert by_name["fc1"].mult_adds == 400 * 120
    assert totals.mult_adds == 416520
    # receptive fields: 5, then pool 2 -> 6, conv 5 at jump 2 -> 14, pool -> 16, flatten -> all
    assert [by_name[n].receptive_field for n in ("conv1", "pool1", "conv2", "pool2")] == [
        (5, 5),
        (6, 6),
        (14, 14),
        (16, 16),
    ]
    assert by_name["fc1"].receptive_field is None
    assert totals.output_shape == (1, 10)


def test_models_state_the_input_they_are_built_for():
    assert lenet5().input_shape == (1, 28, 28) and lenet5(in_channels=3).input_shape == (3, 28, 28)
    assert get_model("vgg", in_channels=3, size=32).input_shape == (3, 32, 32)
    assert "input_shape" not in lenet5().state_dict()  # a plain attribute, not saved state


def _measured_fields(model, size):
    """The most input rows and columns one output of the model reads, measured: the extent of
    d y[0, 0, i, i] / d x with every weight 1 (a linear model: no cancellation), over the
    diagonal, outputs whose window touches the input's border left out."""
    for p in model.parameters():
        p.data = np.ones_like(p.data, dtype=np.float64)
    x = cs.tensor(np.ones((1, 1, size, size)), requires_grad=True)
    best = [0, 0]
    for i in range(model(x).shape[2]):
        x.grad = None
        model(x)[0, 0, i, i].backward()
        reads = np.abs(x.grad[0, 0]) > 0
        for axis in (0, 1):
            idx = np.flatnonzero(reads.any(axis=1 - axis))
            if idx[0] > 0 and idx[-1] < size - 1:
                best[axis] = max(best[axis], int(idx[-1] - idx[0] + 1))
    return tuple(best)


def _conv(k, **kw):
    return nn.Conv2d(1, 1, k, bias=False, **kw)


# name -> (layers, exact): exact when the formula's field is reached (else an upper bound)
FIELD_MODELS = {
    "conv, avg pool": (lambda: [_conv(5, padding=2), nn.AvgPool2d(2), _conv(5), nn.AvgPool2d(2)], True),
    "dilated, strided": (lambda: [_conv(3, dilation=2), _conv(3, stride=2), _conv(2)], True),
    "nearest x2": (lambda: [_conv(3), nn.Upsample(scale_factor=2), _conv(3)], True),
    "nearest to a size": (lambda: [_conv(3), nn.Upsample(size=(45, 45)), _conv(2)], True),
    "transposed 4/2": (lambda: [_conv(3, stride=2), nn.ConvTranspose2d(1, 1, 4, stride=2, padding=1, bias=False), _conv(3)], True),
    "transposed 5/3": (lambda: [nn.ConvTranspose2d(1, 1, 5, stride=3, bias=False), _conv(3), _conv(2, stride=2)], True),
    "transposed, dilated": (lambda: [nn.ConvTranspose2d(1, 1, 3, stride=2, dilation=2, bias=False), _conv(2)], False),
    "bilinear, bicubic": (lambda: [nn.Upsample(scale_factor=2, mode="bilinear"), _conv(3), nn.Upsample(scale_factor=3, mode="bicubic"), _conv(2)], True),
    "align_corners": (lambda: [nn.UpsamplingBilinear2d(scale_factor=2), _conv(3)], True),
    "adaptive": (lambda: [_conv(3), nn.AdaptiveAvgPool2d(9), _conv(2)], False),
    "area": (lambda: [nn.Upsample(size=(13, 13), mode="area"), _conv(3)], False),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(FIELD_MODELS))
def test_summary_receptive_field_is_the_window_an_output_reads(name):
    layers, exact = FIELD_MODELS[name]
    model = nn.Sequential(*layers())
    rows, _ = summarize(model, (1, 30, 30))
    field, measured = rows[-1].receptive_field, _measured_fields(model, 30)
    if exact:
        assert field == measured
    else:
        assert all(m <= f <= m + 1 for m, f in zip(measured, field, strict=True)), (field, measured)


def test_summary_counts_a_transposed_convs_mult_adds():
    model = nn.Sequential(nn.ConvTranspose2d(4, 6, 3, stride=2, groups=2))
    (row,), totals = summarize(model, (4, 5, 5))
    assert row.output_shape == (1, 6, 11, 11)
    assert row.mult_adds == 4 * 5 * 5 * (6 // 2) * 3 * 3 == totals.mult_adds
