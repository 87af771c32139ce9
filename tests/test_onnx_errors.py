"""Bad ONNX input gets one sentence (ConvscopeError in Python, one line and exit status 2 on the
CLI): a file that is not ONNX, a truncated one, external data that is missing or outside the
model's folder, a graph whose input is not an image batch, an opset older than supported, an
unsupported op, attribute or op domain, damaged convscope metadata."""

import numpy as np
import pytest

import convscope as cs
from convscope.cli.main import main
from convscope.errors import CheckpointError, ConvscopeError
from convscope.models import lenet5

onnx = pytest.importorskip("onnx", reason="pip install 'convscope[onnx]' (or pip install onnx)")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

FLOAT = TensorProto.FLOAT


def _graph_model(nodes, inputs, output, initializers=(), opset=21, functions=()):
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info(n, FLOAT, s) for n, s in inputs],
        [helper.make_tensor_value_info(output[0], FLOAT, output[1])],
        [numpy_helper.from_array(np.asarray(v, np.float32), k) for k, v in initializers],
    )
    imports = [helper.make_opsetid("", opset)] + [
        helper.make_opsetid(f.domain, 1) for f in functions
    ]
    return helper.make_model(graph, opset_imports=imports, functions=list(functions))


def _save(model, path):
    onnx.save(model, path)
    return path


@pytest.fixture(scope="module")
def lenet_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("lenet") / "lenet.onnx"
    cs.onnx.export(lenet5(), path)
    return path


def _refused(path, *parts, checkpoint=True, capsys=None):
    """The sentence load_checkpoint raises; the CLI prints it as one line with status 2."""
    with pytest.raises(ConvscopeError) as err:
        (cs.onnx.load_checkpoint if checkpoint else cs.onnx.load)(path)
    message = str(err.value)
    assert "\n" not in message
    for part in parts:
        assert part in message
    if capsys is not None:
        status = main(["eval", "--checkpoint", str(path)])
        _, out = capsys.readouterr()
        assert status == 2 and out.count("\n") == 1 and out.startswith("error: ")
        assert parts[0] in out
    return message


def test_a_file_that_is_not_onnx(tmp_path, capsys):
    text = tmp_path / "notes.onnx"
    text.write_text("these are my notes, not a model\n")
    _refused(text, "not an ONNX model", capsys=capsys)
    from safetensors.numpy import save_file

    weights = tmp_path / "weights.onnx"
    save_file({"w": np.zeros(3, np.float32)}, weights)
    _refused(weights, "not an ONNX model")
    _refused(tmp_path / "missing.onnx", "no such", capsys=capsys)


@pytest.mark.parametrize("fraction", [0.5, 0.9, 0.999])
def test_a_truncated_file(lenet_file, tmp_path, capsys, fraction):
    data = lenet_file.read_bytes()
    cut = tmp_path / "cut.onnx"
    cut.write_bytes(data[: int(len(data) * fraction)])
    message = _refused(cut, f"{cut}:", capsys=capsys)
    assert "truncated" in message or "damaged" in message


def test_external_data_loads_when_present_and_is_named_when_missing(tmp_path, capsys):
    net = lenet5()
    model = cs.onnx.export(net, tmp_path / "inline.onnx")
    path = tmp_path / "external.onnx"
    onnx.save(model, path, save_as_external_data=True, location="weights.bin", size_threshold=0)
    assert len(path.read_bytes()) < 10_000  # the weights are in weights.bin
    loaded = cs.onnx.load(path)
    assert np.array_equal(loaded.conv1.weight.data, net.conv1.weight.data)
    (tmp_path / "weights.bin").unlink()
    _refused(
        path,
        "keeps its data in the external file 'weights.bin'",
        "copy that file next to the model",
        capsys=capsys,
    )


def test_external_data_outside_the_models_folder_is_refused(tmp_path):
    model = _graph_model(
        [helper.make_node("Add", ["x", "b"], ["y"])],
        [("x", [1, 1, 2, 2])],
        ("y", [1, 1, 2, 2]),
        [("b", np.ones((1, 1, 2, 2)))],
    )
    tensor = model.graph.initializer[0]
    (tmp_path / "secret.bin").write_bytes(np.ones(4, np.float32).tobytes())
    folder = tmp_path / "models"
    folder.mkdir()
    onnx.external_data_helper.set_external_data(tensor, "../secret.bin")
    tensor.ClearField("raw_data")
    tensor.data_location = TensorProto.EXTERNAL
    path = folder / "escape.onnx"
    path.write_bytes(model.SerializeToString())
    _refused(path, "external data cannot be read", checkpoint=False)


def test_a_graph_whose_input_is_not_an_image_batch(tmp_path, capsys):
    flat = _graph_model(
        [helper.make_node("Gemm", ["x", "w"], ["y"], transB=1)],
        [("x", ["N", 784])],
        ("y", ["N", 10]),
        [("w", np.zeros((10, 784)))],
    )
    path = _save(flat, tmp_path / "mlp.onnx")
    _refused(
        path,
        "convscope runs image models whose one input is a float batch (N, C, H, W)",
        "x [?, 784]",
        capsys=capsys,
    )
    assert cs.onnx.load(path)(np.zeros((2, 784), np.float32)).shape == (2, 10)  # load takes it
    two = _graph_model(
        [helper.make_node("Add", ["a", "b"], ["y"])],
        [("a", [1, 1, 4, 4]), ("b", [1, 1, 4, 4])],
        ("y", [1, 1, 4, 4]),
    )
    _refused(_save(two, tmp_path / "two.onnx"), "a [1, 1, 4, 4], b [1, 1, 4, 4]")


def test_a_graph_fixed_to_one_batch_size(tmp_path, capsys):
    def model(op, *extra):
        nodes = [helper.make_node(op, ["x", *(n for n, _ in extra)], ["y"])]
        return _graph_model(nodes, [("x", [1, 1, 4, 4])], ("y", [1, 16]), extra)

    fixed = _save(model("Reshape", ("shape", [1, 16])), tmp_path / "fixed.onnx")
    fixed_model = onnx.load(fixed)  # the shape must be int64
    fixed_model.graph.initializer[0].CopyFrom(
        numpy_helper.from_array(np.array([1, 16], np.int64), "shape")
    )
    _save(fixed_model, fixed)
    _refused(fixed, "exported for a fixed batch of 1 (input [1, 1, 4, 4]) and fails on 2",
             "dynamic_shapes", capsys=capsys)  # fmt: skip
    flatten = _save(model("Flatten"), tmp_path / "flatten.onnx")  # any batch runs: accepted
    net, facts = cs.onnx.load_checkpoint(flatten)
    assert net(np.zeros((5, 1, 4, 4), np.float32)).shape == (5, 16)


def test_an_ir_version_newer_than_the_onnx_package(tmp_path):
    model = _graph_model(
        [helper.make_node("Relu", ["x"], ["y"])], [("x", [1, 1, 4, 4])], ("y", [1, 1, 4, 4])
    )
    model.ir_version = onnx.IR_VERSION + 1
    _refused(_save(model, tmp_path / "new.onnx"), "newer than the installed onnx package reads")


def test_an_opset_older_than_supported(tmp_path, capsys):
    old = _graph_model(
        [helper.make_node("Relu", ["x"], ["y"])],
        [("x", [1, 1, 4, 4])],
        ("y", [1, 1, 4, 4]),
        opset=11,
    )
    _refused(
        _save(old, tmp_path / "old.onnx"),
        "uses ONNX opset 11, older than convscope reads",
        "onnx.version_converter.convert_version",
        capsys=capsys,
    )


def test_an_unsupported_op_names_the_node_and_lists_the_supported_ops(tmp_path, capsys):
    model = _graph_model(
        [helper.make_node("Erf", ["x"], ["y"], name="mystery")],
        [("x", [1, 1, 4, 4])],
        ("y", [1, 1, 4, 4]),
    )
    message = _refused(
        _save(model, tmp_path / "erf.onnx"),
        "node 'mystery' (Erf)",
        "does not run op type 'Erf'",
        capsys=capsys,
    )
    assert "supported op types: Abs, Add, AveragePool, BatchNormalization" in message
    assert "Conv, ConvTranspose" in message and "Resize" in message


@pytest.mark.parametrize(
    "node, message",
    [
        (
            helper.make_node("Resize", ["x", "", "s"], ["y"], name="up", mode="area"),
            "node 'up' (Resize): mode='area': convscope resizes with 'nearest', 'linear', 'cubic'",
        ),
        (
            helper.make_node(
                "Resize",
                ["x", "", "s"],
                ["y"],
                name="up",
                mode="linear",
                coordinate_transformation_mode="asymmetric",
            ),
            "node 'up' (Resize): mode='linear' with coordinate_transformation_mode='asymmetric'",
        ),
        (
            helper.make_node(
                "MaxPool", ["x"], ["y"], name="pool", kernel_shape=[2, 2], dilations=[2, 2]
            ),
            "node 'pool' (MaxPool): dilations=[2, 2]: pooling with dilation is not imported",
        ),
        (
            helper.make_node("Gelu", ["x"], ["y"], name="act", approximate="erf"),
            "node 'act' (Gelu): approximate must be 'none' or 'tanh'",
        ),
        (
            helper.make_node("Cast", ["x"], ["y"], name="c", to=TensorProto.FLOAT, round_mode="up"),
            "node 'c' (Cast): attribute round_mode='up' is not supported; convscope reads Cast with"
            " to, saturate",
        ),
    ],
)
def test_an_unsupported_attribute_names_node_op_and_attribute(tmp_path, capsys, node, message):
    model = _graph_model(
        [node],
        [("x", [1, 1, 4, 4])],
        ("y", ["N", 1, "H", "W"]),
        [("s", [1, 1, 2, 2])] * (node.op_type == "Resize"),
        opset=25 if node.op_type == "Cast" else 21,  # Cast's round_mode is opset 25
    )
    _refused(_save(model, tmp_path / "attr.onnx"), message, capsys=capsys)


def test_a_node_whose_weights_contradict_its_attributes(tmp_path, capsys):
    model = _graph_model(
        [helper.make_node("Conv", ["x", "w"], ["y"], name="conv", group=3)],
        [("x", [1, 1, 4, 4])],
        ("y", [1, 2, 2, 2]),
        [("w", np.zeros((2, 1, 3, 3)))],
    )
    _refused(_save(model, tmp_path / "groups.onnx"), "node 'conv' (Conv): cannot be built from its"
             " inputs and attributes (Conv2d: groups=3 must divide out_channels=2", capsys=capsys)  # fmt: skip


def test_a_custom_op_domain_is_refused_and_never_run(tmp_path):
    model = _graph_model(
        [helper.make_node("FusedConv", ["x"], ["y"], name="fused", domain="com.microsoft")],
        [("x", [1, 1, 4, 4])],
        ("y", [1, 1, 4, 4]),
    )
    model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    _refused(
        _save(model, tmp_path / "custom.onnx"),
        "node 'fused' (FusedConv) is a custom op of domain 'com.microsoft'",
        "never runs code from a model file",
    )


def _function(op):
    return helper.make_function(
        "local",
        "Block",
        ["x"],
        ["y"],
        [helper.make_node(op, ["x"], ["h"]), helper.make_node("Relu", ["h"], ["y"])],
        [helper.make_opsetid("", 21)],
    )


def test_local_functions_are_inlined_into_ops_convscope_checks(tmp_path):
    call = helper.make_node("Block", ["x"], ["y"], domain="local")
    ok = _graph_model(
        [call], [("x", [1, 1, 4, 4])], ("y", [1, 1, 4, 4]), functions=[_function("Sigmoid")]
    )
    model = cs.onnx.load(_save(ok, tmp_path / "ok.onnx"))
    x = np.random.default_rng(0).standard_normal((1, 1, 4, 4)).astype(np.float32)
    np.testing.assert_allclose(model(x).data, np.maximum(1 / (1 + np.exp(-x)), 0), rtol=1e-6)
    bad = _graph_model(
        [call], [("x", [1, 1, 4, 4])], ("y", [1, 1, 4, 4]), functions=[_function("Erf")]
    )
    _refused(_save(bad, tmp_path / "bad.onnx"), "does not run op type 'Erf'", checkpoint=False)


def test_a_constant_the_file_asks_to_be_huge_is_refused(tmp_path):
    model = _graph_model(
        [
            helper.make_node("Constant", [], ["shape"], value_ints=[100000, 100000, 1000]),
            helper.make_node("ConstantOfShape", ["shape"], ["big"], name="bomb"),
            helper.make_node("Add", ["x", "big"], ["y"]),
        ],
        [("x", [1, 1, 4, 4])],
        ("y", [1, 1, 4, 4]),
    )
    _refused(
        _save(model, tmp_path / "bomb.onnx"),
        "node 'bomb' (ConstantOfShape): asks for a"
        " constant of shape [100000, 100000, 1000], too large",
        checkpoint=False,
    )


@pytest.mark.parametrize(
    "key, value, message",
    [
        ("classes", '["a", "b"]', "names 2 classes but the model has 10 outputs"),
        ("normalize", '{"mean": [0.5], "std": [0]}', "must be {'mean': [...], 'std': [...]}"),
        ("input_shape", "[3, 32, 32]", "does not match the graph's input (C, H, W) = [1, 28, 28]"),
        ("classes", "not json", "metadata convscope.classes is not JSON"),
    ],
)
def test_damaged_convscope_metadata(lenet_file, tmp_path, capsys, key, value, message):
    model = onnx.load(lenet_file)
    helper.set_model_props(model, {f"convscope.{key}": value})
    _refused(_save(model, tmp_path / "meta.onnx"), message, capsys=capsys)


def test_cli_export_errors_are_one_line(tmp_path, capsys):
    from convscope.models.bundled import BUNDLED_LENET

    given = ["export", "--checkpoint", str(BUNDLED_LENET), "--onnx"]
    status = main([*given, str(tmp_path / "x.onnx"), "--opset", "5"])
    _, err = capsys.readouterr()
    assert status == 2 and err.count("\n") == 1
    assert "export: opset=5 is not one convscope writes; use 13 to" in err
    status = main([*given, str(tmp_path / "no" / "such" / "x.onnx")])
    _, err = capsys.readouterr()
    assert status == 2 and err.count("\n") == 1 and "No such file or directory" in err


def test_checkpoint_errors_are_checkpoint_errors(tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x00\x01")
    with pytest.raises(CheckpointError):
        cs.onnx.load(bad)
