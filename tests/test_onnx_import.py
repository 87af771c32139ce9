"""PyTorch -> ONNX -> convscope: models exported by torch.onnx.export (the default dynamo exporter
and the legacy one) load as convscope layers and give torch's logits (float32, 1e-5) and torch's
input gradients of a cross-entropy loss (1e-4); --checkpoint model.onnx works in the CLI."""

import inspect
import json
import warnings

import numpy as np
import pytest

import convscope as cs
import convscope.nn as cnn
import convscope.nn.functional as CF
from convscope.cli.main import main

torch = pytest.importorskip("torch", reason="pip install torch==2.13.0")
pytest.importorskip("onnx", reason="pip install 'convscope[onnx]' (or pip install onnx)")
pytest.importorskip("onnxscript", reason="pip install onnxscript (torch's default exporter)")
nn, F = torch.nn, torch.nn.functional


class LeNet5(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(400, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


def vgg_style():
    """BatchNorm, the three padding modes, ceil_mode max and average pooling."""
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1, padding_mode="reflect"),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.Conv2d(8, 8, 3, padding=1, padding_mode="replicate"),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True),
        nn.Conv2d(8, 16, 3, padding=1, padding_mode="circular"),
        nn.BatchNorm2d(16),
        nn.ReLU(),
        nn.AvgPool2d(3, stride=2, ceil_mode=True),
        nn.Flatten(),
        nn.Linear(16 * 7 * 7, 10),
    )


def depthwise_separable():
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1),
        nn.BatchNorm2d(8),
        nn.ReLU6(),
        nn.Conv2d(8, 8, 3, stride=2, padding=1, groups=8, bias=False),
        nn.BatchNorm2d(8),
        nn.ReLU6(),
        nn.Conv2d(8, 16, 1),
        nn.ReLU(),
        nn.Conv2d(16, 16, 3, padding=1, groups=16),
        nn.Conv2d(16, 24, 1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(24, 10),
    )


class AutoEncoder(nn.Module):
    """A conv / conv-transpose / bilinear-resize autoencoder with a classifier on its
    reconstruction."""

    def __init__(self):
        super().__init__()
        self.enc = nn.Sequential(
            nn.Conv2d(1, 8, 3, stride=2, padding=1),
            nn.ReLU(),
            nn.Conv2d(8, 16, 3, stride=2, padding=1),
            nn.ReLU(),
        )
        self.dec = nn.Sequential(
            nn.ConvTranspose2d(16, 8, 3, stride=2, padding=1, output_padding=1),
            nn.ReLU(),
            nn.Upsample(scale_factor=2, mode="bilinear"),  # resize, then conv: 14 -> 28
            nn.Conv2d(8, 1, 3, padding=1),
            nn.Sigmoid(),
        )
        self.head = nn.Linear(28 * 28, 10)

    def forward(self, x):
        return self.head(torch.flatten(self.dec(self.enc(x)), 1))


MODELS = {
    "lenet": LeNet5,
    "vgg": vgg_style,
    "depthwise": depthwise_separable,
    "autoencoder": AutoEncoder,
}
HAS_LEGACY = "dynamo" in inspect.signature(torch.onnx.export).parameters
EXPORTERS = ["dynamo", "legacy"] if HAS_LEGACY else ["dynamo"]
# exports that keep BatchNormalization nodes (the default ones fold BatchNorm into the conv)
UNFOLDED = {"dynamo": {"optimize": False}, "legacy": {"do_constant_folding": False}}


def _torch_model(name):
    torch.manual_seed(0)
    model = MODELS[name]()
    g = torch.Generator().manual_seed(1)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):  # statistics that are not 0/1
            m.running_mean.copy_(torch.randn(m.num_features, generator=g))
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(m.num_features, generator=g) * 0.1)
    return model.eval()


def _export(model, path, exporter, **options):
    x = torch.randn(2, 1, 28, 28)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if exporter == "dynamo":
            batch = torch.export.Dim("batch")
            torch.onnx.export(model, (x,), path, dynamic_shapes=({0: batch},), **options)
        else:
            torch.onnx.export(
                model,
                (x,),
                path,
                dynamo=False,
                input_names=["x"],
                dynamic_axes={"x": {0: "batch"}},
                **options,
            )


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    """(model name, exporter, folded?) -> (torch model, ONNX path)."""
    folder = tmp_path_factory.mktemp("torch_exports")
    out = {}
    for name in MODELS:
        for exporter in EXPORTERS:
            for folded in (True, False) if name == "vgg" else (True,):
                model = _torch_model(name)
                path = folder / f"{name}_{exporter}_{'folded' if folded else 'bn'}.onnx"
                _export(model, path, exporter, **({} if folded else UNFOLDED[exporter]))
                out[name, exporter, folded] = model, path
    return out


CASES = [(n, e, True) for n in MODELS for e in EXPORTERS] + [("vgg", e, False) for e in EXPORTERS]


@pytest.mark.parametrize("name, exporter, folded", CASES)
def test_torch_exports_give_torchs_logits_and_input_gradients(exports, name, exporter, folded):
    model, path = exports[name, exporter, folded]
    loaded = cs.onnx.load(path)
    for batch in (1, 7):
        x = torch.randn(batch, 1, 28, 28, generator=torch.Generator().manual_seed(batch))
        target = torch.arange(batch) % 10
        xt = x.clone().requires_grad_(True)
        logits = model(xt)
        F.cross_entropy(logits, target).backward()
        xc = cs.tensor(x.numpy(), requires_grad=True)
        ours = loaded(xc)
        CF.cross_entropy(ours, target.numpy()).backward()
        np.testing.assert_allclose(ours.data, logits.detach().numpy(), rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(xc.grad, xt.grad.numpy(), rtol=1e-4, atol=1e-4)


def test_batch_norm_nodes_become_batch_norm_layers(exports):
    for exporter in EXPORTERS:
        model, path = exports["vgg", exporter, False]
        loaded = cs.onnx.load(path)
        layers = dict(loaded.named_modules())
        assert isinstance(layers["1"], cnn.BatchNorm2d)
        assert layers["0"].padding_mode == "reflect" and layers["3"].padding_mode == "replicate"
        assert isinstance(layers["6"], cnn.MaxPool2d) and layers["6"].ceil_mode
        state = {k: v.numpy() for k, v in model.state_dict().items()}
        for key, value in loaded.state_dict().items():
            if not key.endswith("num_batches_tracked"):
                assert np.array_equal(value, state[key]), key


def test_lenet_loads_under_torchs_names_and_trains_like_torch(exports):
    for exporter in EXPORTERS:
        model, path = exports["lenet", exporter, True]
        loaded = cs.onnx.load(path)
        torch_state = {k: v.numpy() for k, v in model.state_dict().items()}
        ours = loaded.state_dict()
        assert set(ours) == set(torch_state)
        assert all(np.array_equal(ours[k], torch_state[k]) for k in ours)
        x = torch.randn(5, 1, 28, 28, generator=torch.Generator().manual_seed(3))
        model.zero_grad()
        F.cross_entropy(model(x), torch.arange(5)).backward()
        loaded.zero_grad()
        CF.cross_entropy(loaded(cs.tensor(x.numpy())), np.arange(5)).backward()
        for name, p in loaded.named_parameters():
            grad = dict(model.named_parameters())[name].grad.numpy()
            np.testing.assert_allclose(p.grad, grad, rtol=1e-4, atol=1e-5, err_msg=name)


def test_a_foreign_model_gets_the_default_facts(exports):
    _, path = exports["lenet", "dynamo", True]
    model, facts = cs.onnx.load_checkpoint(path)
    assert facts["input_shape"] == [1, 28, 28] and model.input_shape == (1, 28, 28)
    assert facts["normalize"] == {"mean": [0.1307], "std": [0.3081]}  # MNIST for 1x28x28
    assert facts["config"] == {"num_classes": 10} and facts["classes"] == list("0123456789")
    assert facts["model"] == path.stem and facts["format"] == "onnx"
    assert facts["producer"].startswith("pytorch 2.13")


def cli(capsys, *argv):
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def test_eval_predict_and_summary_take_an_onnx_checkpoint(exports, tmp_path, capsys):
    from PIL import Image

    from convscope.data import load_digits

    _, path = exports["lenet", EXPORTERS[-1], True]
    status, out, _ = cli(capsys, "eval", "--checkpoint", path)
    assert status == 0 and out.splitlines()[-1].startswith("accuracy: 0.")
    _, test = load_digits()
    png = tmp_path / "digit.png"
    Image.fromarray(test.images[0, 0]).save(png)
    status, out, _ = cli(capsys, "predict", png, "--checkpoint", path, "--json")
    assert status == 0 and len(json.loads(out)[0]["top"]) == 3
    status, out, _ = cli(capsys, "summary", "--checkpoint", path)
    assert status == 0 and "conv1 (Conv2d)" in out and "fc3 (Linear)" in out
    assert "Total params: 61,706" in out


def test_convscope_export_then_eval_gives_the_checkpoints_accuracy(tmp_path, capsys):
    onnx_path = tmp_path / "bundled.onnx"
    status, out, err = cli(capsys, "export", "--onnx", onnx_path)
    assert status == 0 and out.startswith(f"wrote {onnx_path}: lenet, 61,706 parameters")
    assert "checkpoint:" in err  # the default checkpoint is named on stderr
    _, from_safetensors, _ = cli(capsys, "eval")
    status, from_onnx, _ = cli(capsys, "eval", "--checkpoint", onnx_path)
    assert status == 0
    assert from_onnx.splitlines()[1:] == from_safetensors.splitlines()[1:]  # per class, exact
