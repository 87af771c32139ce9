"""Checkpoints: round trips, atomic writes, mismatches and corrupt files, no code execution."""

import os
import pickle

import numpy as np
import pytest

import convscope as cs
from convscope.errors import CheckpointError
from convscope.models import get_model, lenet5
from convscope.train import load_model, load_state, load_weights, save_model, save_state
from convscope.train.checkpoint import load_tensors, save_tensors


def test_model_round_trip_keeps_weights_and_metadata(tmp_path):
    cs.nn.init.manual_seed(1)
    model = get_model("vgg", hidden=32)
    path = tmp_path / "model.safetensors"
    classes = list("abcdefghij")  # one name per output: the metadata is checked against the model
    save_model(path, model, "vgg", {"hidden": 32}, epoch=3, classes=classes)
    loaded, facts = load_model(tmp_path)  # a run folder works too
    assert facts["model"] == "vgg" and facts["config"] == {"hidden": 32}
    assert facts["epoch"] == 3 and facts["classes"] == classes
    for (k, a), (k2, b) in zip(
        model.state_dict().items(), loaded.state_dict().items(), strict=True
    ):
        assert k == k2 and a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)


def test_crash_mid_save_leaves_the_previous_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "model.safetensors"
    first = lenet5()
    save_model(path, first, "lenet")
    before = path.read_bytes()

    def crash(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        save_model(path, lenet5(), "lenet")
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.safetensors"]  # no temp file left


def test_mismatched_checkpoint_names_every_bad_key(tmp_path):
    path = tmp_path / "other.safetensors"
    state = lenet5().state_dict()
    state["fc3.weight"] = np.zeros((5, 84), np.float32)
    del state["fc3.bias"]
    state["head.weight"] = np.zeros(3, np.float32)
    save_tensors(path, state, {})
    with pytest.raises(CheckpointError) as info:
        load_weights(lenet5(), load_tensors(path)[0], path)
    message = str(info.value)
    assert "other.safetensors" in message
    for part in ("fc3.bias", "head.weight", "fc3.weight", "(5, 84)", "--model"):
        assert part in message
    with pytest.raises(CheckpointError, match="its keys fit no known model"):
        load_model(path)


def test_wrong_model_in_metadata_is_a_checkpoint_error(tmp_path):
    path = tmp_path / "m.safetensors"
    save_model(path, lenet5(), "vgg")  # metadata says vgg, weights are LeNet's
    with pytest.raises(CheckpointError, match="m.safetensors: .*missing keys"):
        load_model(path)


def test_missing_and_corrupt_files(tmp_path):
    with pytest.raises(CheckpointError, match="nope.safetensors: no such checkpoint file"):
        load_model(tmp_path / "nope.safetensors")
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all")
    with pytest.raises(CheckpointError, match="bad.safetensors: not a readable safetensors file"):
        load_model(bad)
    good = tmp_path / "good.safetensors"
    save_model(good, lenet5(), "lenet")
    good.write_bytes(good.read_bytes()[:-100])  # truncated
    with pytest.raises(CheckpointError, match="not a readable safetensors file"):
        load_model(good)


class _Boom:
    def __reduce__(self):
        return (os.system, ("touch pwned",))


def test_a_pickle_is_never_unpickled(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "model.safetensors"
    path.write_bytes(pickle.dumps({"conv1.weight": _Boom()}))
    with pytest.raises(CheckpointError, match="not a readable safetensors file"):
        load_model(path)
    assert not (tmp_path / "pwned").exists()


def test_training_state_round_trip(tmp_path):
    params = [cs.tensor(np.ones((2, 3), np.float32), requires_grad=True)]
    params[0].grad = np.full((2, 3), 0.5, np.float32)
    opt = cs.optim.Adam(params, lr=1e-3, betas=(0.8, 0.9))
    opt.step()
    state = {
        "optimizer": opt.state_dict(),
        "progress": {"epoch": 2, "step": 7, "loss_sum": 1.5},
        "history": [{"epoch": 1, "test_acc": 0.5}],
        "setup": {"data": None, "limit": None},
        "int_keys": {0: np.arange(3), 1: (1, 2.5, "x")},
    }
    path = tmp_path / "state.safetensors"
    save_state(path, state)
    back = load_state(path)
    assert back["progress"] == state["progress"] and back["history"] == state["history"]
    assert back["setup"] == state["setup"]
    assert back["int_keys"][1] == (1, 2.5, "x")
    np.testing.assert_array_equal(back["int_keys"][0], np.arange(3))
    fresh = cs.optim.Adam([cs.tensor(np.ones((2, 3), np.float32), requires_grad=True)], lr=0.5)
    fresh.load_state_dict(back["optimizer"])
    assert fresh.param_groups[0]["lr"] == 1e-3 and tuple(fresh.param_groups[0]["betas"]) == (
        0.8,
        0.9,
    )
    saved = opt.state_dict()["state"][0]
    for k, v in fresh.state_dict()["state"][0].items():
        np.testing.assert_array_equal(v, saved[k])
    with pytest.raises(CheckpointError, match="not a convscope training-state file"):
        load_state(_model_file(tmp_path))


def _model_file(tmp_path):
    path = tmp_path / "model.safetensors"
    save_model(path, lenet5(), "lenet")
    return path


# ---- hostile metadata: every field checked before the model is built ----------------------


def hostile_lenet(path, **fields):
    """A LeNet-5 model file whose metadata fields are replaced by ``fields`` (raw strings)."""
    save_model(path, lenet5(), "lenet", {"num_classes": 10}, epoch=1, classes=list("0123456789"))
    tensors, meta = load_tensors(path)
    save_tensors(path, tensors, {**meta, **fields})
    return path


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"config": '{"num_classes": 1000000000}'},
            "config num_classes=1000000000 is not a size between 1 and 400",
        ),
        ({"config": '{"num_classes": 10.5}'}, "config num_classes=10.5 is not a size"),
        (
            {"config": '{"depth": 3}'},
            "has 'depth', not a setting of lenet (num_classes, in_channels)",
        ),
        ({"config": "[10]"}, "metadata config=[10] is not a JSON object"),
        ({"config": "{not json"}, "metadata config='{not json' is not JSON"),
        ({"normalize": '"x"'}, 'metadata normalize=\'x\' is not {"mean": [...], "std": [...]}'),
        ({"normalize": '{"mean": [0.1], "std": [0]}'}, "has a std <= 0"),
        ({"normalize": '{"mean": [NaN], "std": [1]}'}, "needs as many finite means as stds"),
        (
            {"normalize": '{"mean": [0.1, 0.2], "std": [1, 1]}'},
            "has 2 means for images of 1 channels",
        ),
        ({"input_shape": '"abc"'}, "metadata input_shape='abc' is not [C, H, W]"),
        (
            {"input_shape": "[1, 100000, 100000]"},
            "input_shape=[1, 100000, 100000] does not match the lenet model it describes, which takes [1, 28, 28]",
        ),
        ({"classes": "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]"}, "is not a list of class names (strings)"),
        ({"classes": '["a", "b"]'}, "metadata names 2 classes but the model has 10 outputs"),
        ({"epoch": "-1"}, "metadata epoch=-1 is not an integer >= 0"),
        (
            {"model": "resnet"},
            "metadata model='resnet' is not a model convscope knows (lenet, vgg)",
        ),
    ],
)
def test_every_metadata_field_is_checked(tmp_path, fields, message):
    path = hostile_lenet(tmp_path / "hostile.safetensors", **fields)
    with pytest.raises(CheckpointError) as info:
        load_model(path)
    text = str(info.value)
    assert text.startswith(f"{path}: ") and message in text and "\n" not in text


def test_a_huge_num_classes_is_refused_before_any_allocation(tmp_path):
    import tracemalloc

    path = hostile_lenet(
        tmp_path / "hostile.safetensors", config='{"num_classes": 1000000000}'
    )  # 313 GiB of fc3 weights
    tracemalloc.start()
    try:
        with pytest.raises(CheckpointError, match="num_classes=1000000000"):
            load_model(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20 * 2**20  # the file's own tensors (250 KB) and little else


def test_a_pytorch_file_gets_the_documented_defaults(tmp_path):
    path = tmp_path / "torch.safetensors"
    save_tensors(path, lenet5().state_dict(), {})  # no convscope metadata, as from PyTorch
    _, facts = load_model(path)
    assert facts == {
        "model": "lenet",
        "config": {},
        "normalize": {"mean": [0.1307], "std": [0.3081]},
        "input_shape": [1, 28, 28],
        "classes": [str(c) for c in range(10)],
    }


def test_the_same_model_always_gives_the_same_bytes(tmp_path):
    cs.nn.init.manual_seed(3)
    model = lenet5()
    facts = {"epoch": 2, "normalize": {"mean": [0.5], "std": [0.25]}, "input_shape": [1, 28, 28]}
    blobs = []
    for i in range(4):  # safetensors orders its metadata by hash: differently on every run
        save_model(tmp_path / f"{i}.safetensors", model, "lenet", {"num_classes": 10}, **facts)
        blobs.append((tmp_path / f"{i}.safetensors").read_bytes())
    assert all(b == blobs[0] for b in blobs)
    header = blobs[0][8 : 8 + int.from_bytes(blobs[0][:8], "little")]
    assert len(header) % 8 == 0 and header.index(b'"config"') < header.index(b'"epoch"')
    _, back = load_model(tmp_path / "0.safetensors")
    assert back["normalize"] == facts["normalize"] and back["epoch"] == 2
