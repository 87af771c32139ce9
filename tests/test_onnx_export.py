"""convscope -> ONNX: exported LeNet-5, VGG and a model of every exportable layer give convscope's
outputs in onnxruntime and onnx.reference (float32, 1e-5, batch 1 and 7); convscope -> ONNX ->
convscope is exact; the facts travel in metadata_props; bad requests get a sentence."""

import subprocess
import sys

import numpy as np
import pytest

import convscope as cs
import convscope.nn as nn
from convscope.errors import ConvscopeError
from convscope.models import lenet5, vgg

onnx = pytest.importorskip("onnx", reason="pip install 'convscope[onnx]' (or pip install onnx)")
ort = pytest.importorskip("onnxruntime", reason="pip install onnxruntime")
from onnx.reference import ReferenceEvaluator  # noqa: E402


class EveryLayer(nn.Module):
    """Every layer the exporter writes, and the glue (add, cat, *, -, reshape) models use."""

    def __init__(self):
        super().__init__()
        self.input_shape = (2, 12, 12)
        self.conv = nn.Conv2d(2, 4, 3, padding=1)
        self.reflect = nn.Conv2d(4, 4, 3, padding=1, padding_mode="reflect")
        self.replicate = nn.Conv2d(4, 4, 3, padding="same", padding_mode="replicate", bias=False)
        self.circular = nn.Conv2d(4, 4, 3, padding=1, padding_mode="circular", groups=2)
        self.dilated = nn.Conv2d(4, 4, 3, padding=2, dilation=2)
        self.same_even = nn.Conv2d(4, 4, 2, padding="same")  # asymmetric: a Pad, then Conv
        self.bn = nn.BatchNorm2d(4)
        self.block = nn.Sequential(nn.Conv2d(4, 4, 1), nn.ReLU6(), nn.LeakyReLU(0.2), nn.ELU(0.5))
        self.gelu, self.gelu_tanh = nn.GELU(), nn.GELU("tanh")
        self.silu, self.softplus, self.tanh = nn.SiLU(), nn.Softplus(), nn.Tanh()
        self.sigmoid, self.relu = nn.Sigmoid(), nn.ReLU()
        self.maxpool = nn.MaxPool2d(3, 2, 1, ceil_mode=True)  # 12 -> 7
        self.up = nn.Upsample(scale_factor=2)  # -> 14
        self.zpad = nn.ZeroPad2d((1, 1, 0, 0))  # -> 14 x 16
        self.avgpool = nn.AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False)  # -> 7 x 8
        self.minpool = nn.MinPool2d(2, stride=1)  # -> 6 x 7
        self.bilinear = nn.Upsample(scale_factor=1.5, mode="bilinear")  # -> 9 x 10
        self.exact = nn.Upsample(size=(11, 9), mode="nearest-exact")
        self.bicubic = nn.Upsample(scale_factor=(0.8, 1.25), mode="bicubic")  # -> 8 x 11
        self.up_size = nn.Upsample(size=(8, 8))
        self.convt = nn.ConvTranspose2d(4, 4, 3, stride=2, padding=1, output_padding=1)  # -> 16
        self.gn = nn.GroupNorm(2, 4)
        self.ln = nn.LayerNorm((4, 16, 16))
        self.dropout, self.dropout2d = nn.Dropout(0.3), nn.Dropout2d(0.2)
        self.adapt = nn.AdaptiveAvgPool2d(4)  # -> 4 (whole windows: AveragePool)
        self.adapt_max = nn.AdaptiveMaxPool2d((2, 2))
        self.global_avg = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.unflatten = nn.Unflatten(1, (4, 4))
        self.conv1d = nn.Conv1d(4, 6, 3, padding=1)
        self.bn1d = nn.BatchNorm1d(6)
        self.maxpool1d = nn.MaxPool1d(2)
        self.avgpool1d = nn.AvgPool1d(2, stride=1, padding=1)
        self.minpool1d = nn.MinPool1d(1)
        self.linear1d = nn.Upsample(size=5, mode="linear", align_corners=True)
        self.convt1d = nn.ConvTranspose1d(6, 3, 2, stride=2)
        self.fc = nn.Linear(50, 10)
        self.identity = nn.Identity()
        self.softmax, self.log_softmax = nn.Softmax(dim=1), nn.LogSoftmax(dim=1)

    def forward(self, x):
        x = self.reflect(self.conv(x))
        x = self.same_even(self.dilated(self.circular(self.replicate(x))))
        x = self.bn(x)
        x = x + self.block(x)
        x = self.silu(self.gelu_tanh(self.gelu(x)))
        x = self.relu(self.sigmoid(self.tanh(self.softplus(x))))
        x = self.bilinear(self.minpool(self.avgpool(self.zpad(self.up(self.maxpool(x))))))
        x = self.bicubic(self.exact(x))
        x = self.ln(self.gn(self.convt(self.up_size(x))))
        x = self.dropout2d(self.dropout(x))
        a = self.adapt(x)
        b = self.flatten(self.adapt_max(a))
        c = self.flatten(self.global_avg(x))
        s = self.bn1d(self.conv1d(self.unflatten(b)))
        s = self.convt1d(self.linear1d(self.minpool1d(self.avgpool1d(self.maxpool1d(s)))))
        h = cs.cat([s.reshape(s.shape[0], -1), b * 0.5, c - 1.0], dim=1)
        return self.log_softmax(self.softmax(self.identity(self.fc(h))))


def _with_statistics(model, seed=0):
    """Running statistics that are not 0/1, so BatchNorm's eval arithmetic is exercised."""
    rng = np.random.default_rng(seed)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm1d | nn.BatchNorm2d):
            m.running_mean[...] = rng.standard_normal(m.num_features)
            m.running_var[...] = rng.uniform(0.5, 2.0, m.num_features)
            m.weight.data[...] = rng.uniform(0.5, 1.5, m.num_features)
    return model.eval()


MODELS = {"lenet": lenet5, "vgg": vgg, "every_layer": EveryLayer}


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """name -> (model, path of its ONNX file)."""
    cs.manual_seed(0)
    folder = tmp_path_factory.mktemp("export")
    out = {}
    for name, make in MODELS.items():
        model = _with_statistics(make())
        path = folder / f"{name}.onnx"
        cs.onnx.export(model, path)
        out[name] = model, path
    return out


def _images(model, n, seed=1):
    shape = (n, *model.input_shape)
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize("batch", [1, 7])
@pytest.mark.parametrize("name", list(MODELS))
def test_onnxruntime_and_the_reference_evaluator_give_convscopes_outputs(exported, name, batch):
    model, path = exported[name]
    x = _images(model, batch)
    expected = model(cs.tensor(x)).data
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for got in (
        session.run(None, {"input": x})[0],
        ReferenceEvaluator(str(path)).run(None, {"input": x})[0],
    ):
        assert got.dtype == np.float32 and got.shape == expected.shape
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", list(MODELS))
def test_the_file_is_checker_clean_with_a_dynamic_batch_axis(exported, name):
    model, path = exported[name]
    proto = onnx.load(path)
    onnx.checker.check_model(proto, full_check=True)
    (inp,), (out,) = proto.graph.input, proto.graph.output
    dims = [d.dim_param or d.dim_value for d in inp.type.tensor_type.shape.dim]
    assert (inp.name, out.name) == ("input", "output")
    assert dims == ["batch", *model.input_shape]
    assert out.type.tensor_type.shape.dim[0].dim_param == "batch"
    assert proto.producer_name == "convscope"
    assert {o.domain for o in proto.opset_import} == {""}
    assert proto.opset_import[0].version == cs.onnx.DEFAULT_OPSET


@pytest.mark.parametrize("name", list(MODELS))
def test_round_trip_is_exact(exported, name):
    model, path = exported[name]
    loaded = cs.onnx.load(path)
    before, after = model.state_dict(), loaded.state_dict()
    assert list(after) == list(before)  # the same keys, in the same order
    for key, value in before.items():
        if not key.endswith("num_batches_tracked"):  # not in ONNX: a training counter
            assert after[key].dtype == value.dtype and np.array_equal(after[key], value), key
    x1, x2 = (cs.tensor(_images(model, 7), requires_grad=True) for _ in range(2))
    y1, y2 = model(x1), loaded(x2)
    assert np.array_equal(y1.data, y2.data)
    y1.sum().backward()
    y2.sum().backward()
    assert np.array_equal(x1.grad, x2.grad)
    assert loaded.input_shape == model.input_shape


def test_layers_come_back_under_their_names(exported):
    loaded = cs.onnx.load(exported["lenet"][1])
    names = [n for n, m in loaded.named_modules() if n]
    assert names == [n for n, m in lenet5().named_modules() if n]
    assert isinstance(loaded.conv1, nn.Conv2d) and isinstance(loaded.pool1, nn.MaxPool2d)
    every = dict(cs.onnx.load(exported["every_layer"][1]).named_modules())
    kinds = {
        "reflect": nn.Conv2d, "minpool": nn.MinPool2d, "block.1": nn.ReLU6, "silu": nn.SiLU,
        "up": nn.Upsample, "zpad": nn.ZeroPad2d, "gn": nn.GroupNorm, "ln": nn.LayerNorm,
        "bn1d": nn.BatchNorm1d, "global_avg": nn.AdaptiveAvgPool2d, "convt1d": nn.ConvTranspose1d,
    }  # fmt: skip
    for name, kind in kinds.items():
        assert isinstance(every[name], kind), name
    assert every["reflect"].padding_mode == "reflect"
    assert every["circular"].padding_mode == "circular"


def test_facts_travel_in_metadata_props(tmp_path):
    model = lenet5()
    path = tmp_path / "lenet.onnx"
    facts = {"classes": list("abcdefghij"), "normalize": {"mean": [0.5], "std": [0.25]}}
    cs.onnx.export(model, path, facts=facts)
    props = {p.key: p.value for p in onnx.load(path).metadata_props}
    assert props["convscope.classes"] == '["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"]'
    _, read = cs.onnx.load_checkpoint(path)
    assert read["classes"] == facts["classes"] and read["normalize"] == facts["normalize"]
    assert read["input_shape"] == [1, 28, 28] and read["config"] == {"num_classes": 10}
    assert read["model"] == "lenet5" and read["format"] == "onnx" and read["opset"] == 21


def test_an_older_opset_is_written_when_asked(tmp_path):
    path = tmp_path / "lenet13.onnx"
    proto = cs.onnx.export(lenet5(), path, opset=13)
    assert proto.opset_import[0].version == 13
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = _images(lenet5(), 2)
    assert session.run(None, {"input": x})[0].shape == (2, 10)


class _Scale(nn.Module):
    """A user's layer: its own parameter, computed with Tensor arithmetic."""

    def __init__(self, channels):
        super().__init__()
        self.gain = nn.Parameter(np.linspace(0.5, 2.0, channels).reshape(1, -1, 1, 1))

    def forward(self, x):
        return (x * self.gain).relu() / 2.0


def test_a_users_own_layer_is_exported_from_the_tape(tmp_path):
    model = nn.Sequential(nn.Conv2d(1, 3, 3), _Scale(3), nn.Flatten())
    path = tmp_path / "custom.onnx"
    proto = cs.onnx.export(model, path, input_shape=(1, 1, 6, 6))
    assert [n.op_type for n in proto.graph.node] == ["Conv", "Mul", "Relu", "Div", "Flatten"]
    assert "1.gain" in {t.name for t in proto.graph.initializer}  # named by its state_dict key
    x = np.random.default_rng(0).standard_normal((3, 1, 6, 6)).astype(np.float32)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    expected = model(cs.tensor(x)).data
    np.testing.assert_allclose(session.run(None, {"input": x})[0], expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(cs.onnx.load(path)(x).data, expected, rtol=1e-6, atol=1e-7)


class _Functional(nn.Module):
    """A forward that pools with F.max_pool2d, outside any layer."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3)

    def forward(self, x):
        return nn.functional.max_pool2d(self.conv(x), 2)


class _WithLoss(nn.Module):
    def __init__(self):
        super().__init__()
        self.loss = nn.MSELoss()

    def forward(self, x):
        return self.loss(x, x * 0.5)


class _MixesBatch(nn.Module):
    def forward(self, x):
        return x.reshape(-1)


@pytest.mark.parametrize(
    "model, opset, shape, message",
    [
        (lenet5(), 12, None, "opset=12 is not one convscope writes; use 13 to"),
        (lenet5(), 99, None, "opset=99 is not one convscope writes"),
        (nn.Sequential(nn.Conv2d(1, 1, 3)), 21, None, "has no input_shape; pass input_shape"),
        (lenet5(), 21, (28, 28), "must be (N, C, H, W)"),
        (nn.Sequential(nn.LayerNorm(4)), 16, (1, 1, 4, 4), "layer '0' (LayerNorm): needs opset 17"),
        (nn.Sequential(nn.GELU()), 19, (1, 1, 4, 4), "layer '0' (GELU): needs opset 20"),
        (nn.Sequential(nn.GroupNorm(1, 1)), 20, (1, 1, 4, 4), "(GroupNorm): needs opset 21"),
        (
            nn.Sequential(nn.Conv2d(1, 1, 3, padding=1, padding_mode="circular")),
            18,
            (1, 1, 4, 4),
            "padding_mode='circular' needs opset 19 or later",
        ),
        (
            nn.Sequential(nn.AdaptiveAvgPool2d(3)),
            21,
            (1, 1, 4, 4),
            "layer '0' (AdaptiveAvgPool2d): output_size (3, 3) does not divide the input (4, 4)",
        ),
        (
            nn.Sequential(nn.BatchNorm2d(1, track_running_stats=False)),
            21,
            (1, 1, 4, 4),
            "track_running_stats=False: ONNX BatchNormalization needs running statistics",
        ),
        (
            nn.Sequential(nn.Upsample(size=2, mode="area")),
            21,
            (1, 1, 4, 4),
            "layer '0' (Upsample): mode='area' is adaptive average pooling: use",
        ),
        (
            nn.Sequential(nn.Upsample(size=(5, 5), mode="bilinear", align_corners=True)),
            17,
            (1, 1, 4, 4),
            "Upsample(size=...) needs opset 18 or later",
        ),
        (_Functional(), 21, (1, 1, 6, 6), "computes max_pool2d outside a layer"),
        (_WithLoss(), 21, (1, 1, 4, 4), "layer 'loss' (MSELoss): has no ONNX equivalent"),
        (_MixesBatch(), 21, (1, 1, 4, 4), "mixes the batch axis with others"),
    ],
)
def test_export_refuses_with_a_sentence(tmp_path, model, opset, shape, message):
    path = tmp_path / "m.onnx"
    with pytest.raises(ConvscopeError) as err:
        cs.onnx.export(model, path, input_shape=shape, opset=opset)
    assert message in str(err.value)
    assert not path.exists()


def test_import_convscope_onnx_does_not_import_onnx():
    code = "import sys, convscope.onnx; print('onnx' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
