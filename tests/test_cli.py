"""Every convscope command: exit status, output, files written, one-line errors with status 2."""

import json
import signal
import sys
from types import SimpleNamespace

import numpy as np
import pytest
import tqdm
from PIL import Image, ImageDraw
from safetensors.numpy import load_file, save_file

import convscope
from convscope.cli import train as cli_train
from convscope.cli.main import COMMANDS, main
from convscope.data import load_digits
from convscope.train.curves import curves_figure
from convscope.train.loop import EpochEvent, StepEvent
from test_data import idx_folder, mark, write_idx

TRAIN = ["train", "--limit", "640", "--epochs", "2", "--batch-size", "32"]


def cli(capsys, *argv):
    """(exit status, stdout, stderr) of ``convscope argv...``."""
    try:
        status = main(list(argv))
    except SystemExit as exc:  # argparse's --help and usage errors
        status = exc.code
    out, err = capsys.readouterr()
    return status, out, err


def assert_one_line_error(status, err, *parts):
    assert status == 2
    assert err.count("\n") == 1 and err.startswith("error: ") and "Traceback" not in err
    for part in parts:
        assert part in err


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "lenet"
    assert main([*TRAIN, "--out", str(out)]) == 0
    return out


def digit_png(path, digit_image):
    """A digit from the test split, drawn dark on a light, larger, RGB canvas."""
    img = Image.fromarray(255 - digit_image).resize((84, 84)).convert("RGB")
    img.save(path)
    return path


# ---- train --------------------------------------------------------------------------------


def test_train_writes_a_run_folder(run_dir, capsys):
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2]
    for r in rows:
        assert set(r) == {"epoch", "train_loss", "train_acc", "test_loss", "test_acc", "seconds"}
        assert 0 <= r["train_acc"] <= 1 and 0 <= r["test_acc"] <= 1
    assert rows[1]["train_loss"] < rows[0]["train_loss"]
    assert (run_dir / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    weights = load_file(run_dir / "model.safetensors")
    assert set(weights) == {
        f"{l}.{p}" for l in ("conv1", "conv2", "fc1", "fc2", "fc3") for p in ("weight", "bias")
    }


def test_train_prints_one_row_per_epoch(tmp_path, capsys):
    status, out, err = cli(
        capsys,
        "train",
        "--model",
        "vgg",
        "--limit",
        "64",
        "--epochs",
        "1",
        "--out",
        str(tmp_path / "r"),
    )
    assert status == 0 and err == ""  # no progress bar when not on a terminal
    lines = out.splitlines()
    assert lines[0].startswith("training vgg on the embedded digits (64 train / 64 test)")
    assert lines[1].split() == [
        "epoch",
        "train",
        "loss",
        "train",
        "acc",
        "test",
        "loss",
        "test",
        "acc",
        "seconds",
    ]
    assert lines[2].split()[0] == "1" and len(lines[2].split()) == 6
    assert lines[-1].startswith("test accuracy: ")


def test_train_refuses_to_overwrite_a_run(run_dir, capsys):
    status, _, err = cli(capsys, *TRAIN, "--out", str(run_dir))
    assert_one_line_error(status, err, "already holds a run", "--resume")


def test_ctrl_c_saves_and_resume_ends_where_a_straight_run_ends(
    run_dir, tmp_path, capsys, monkeypatch
):
    import convscope.train.loop as loop

    step = loop.train_step
    calls = iter(range(1, 10**6))

    def step_then_ctrl_c(*args):
        result = step(*args)
        if next(calls) == 25:  # Ctrl-C during the 25th step (mid epoch 2 of 20 steps each)
            signal.raise_signal(signal.SIGINT)
        return result

    monkeypatch.setattr(loop, "train_step", step_then_ctrl_c)
    out = tmp_path / "run"
    status, stdout, err = cli(capsys, *TRAIN, "--out", str(out))
    assert status == 130 and "interrupted in epoch 2 after step 5" in err and "--resume" in err
    assert len((out / "metrics.jsonl").read_text().splitlines()) == 1
    monkeypatch.setattr(loop, "train_step", step)
    status, stdout, err = cli(capsys, "train", "--resume", str(out))
    assert status == 0, err
    assert stdout.splitlines()[0].startswith("resuming lenet")
    resumed, straight = (
        load_file(out / "model.safetensors"),
        load_file(run_dir / "model.safetensors"),
    )
    for k, v in straight.items():
        np.testing.assert_array_equal(resumed[k], v, err_msg=k)  # same steps: bit for bit
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    expected = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [(r["train_loss"], r["test_acc"]) for r in rows] == [
        (r["train_loss"], r["test_acc"]) for r in expected
    ]


def test_train_on_idx_and_image_folders(tmp_path, capsys):
    idx_folder(tmp_path / "idx", n_train=40, n_test=10, compress=True, torchvision=True)
    status, out, err = cli(
        capsys,
        "train",
        "--data",
        str(tmp_path / "idx"),
        "--epochs",
        "1",
        "--out",
        str(tmp_path / "a"),
    )
    assert status == 0, err
    assert "(40 train / 10 test)" in out
    for label in ("0", "1"):
        for i in range(5):
            mark(tmp_path / "img" / label / f"{i}.png", k=2 * i + 10 * int(label))
    status, out, err = cli(
        capsys,
        "train",
        "--data",
        str(tmp_path / "img"),
        "--epochs",
        "1",
        "--out",
        str(tmp_path / "b"),
    )
    assert status == 0, err
    assert "(8 train / 2 test)" in out


@pytest.mark.parametrize(
    ("argv", "parts"),
    [
        (["--data", "/nonexistent/mnist"], ["/nonexistent/mnist: no such file or directory"]),
        (["--epochs", "0"], ["--epochs", "must be >= 1, got 0"]),
        (["--lr", "fast"], ["--lr", "'fast' is not a number"]),
        (["--optimizer", "rmsprop"], ["--optimizer", "invalid choice"]),
        (["--model", "resnet"], ["unknown model 'resnet'"]),
        (["--resume", "/nonexistent/run"], ["state.safetensors: no such checkpoint file"]),
    ],
)
def test_train_bad_arguments(tmp_path, capsys, argv, parts):
    status, _, err = cli(capsys, "train", *argv, "--out", str(tmp_path / "r"))
    assert_one_line_error(status, err, *parts)
    assert not (tmp_path / "r").exists()  # nothing half-written


def test_train_on_corrupt_idx_files(tmp_path, capsys):
    idx_folder(tmp_path)
    (tmp_path / "train-images-idx3-ubyte").write_bytes(b"\x00\x00\x08\x03" + bytes(10))
    status, _, err = cli(capsys, "train", "--data", str(tmp_path), "--out", str(tmp_path / "r"))
    assert_one_line_error(status, err, "train-images-idx3-ubyte: truncated IDX header")
    write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((11, 28, 28), np.uint8))
    status, _, err = cli(capsys, "train", "--data", str(tmp_path), "--out", str(tmp_path / "r"))
    assert_one_line_error(
        status, err, "holds 11 images but train-labels-idx1-ubyte holds 12 labels"
    )
    assert not (tmp_path / "r").exists()


def test_train_on_bad_image_folders(tmp_path, capsys):
    mark(tmp_path / "0" / "fine.png")
    (tmp_path / "1").mkdir()
    status, _, err = cli(capsys, "train", "--data", str(tmp_path), "--out", str(tmp_path / "r"))
    assert_one_line_error(status, err, "1: empty class folder")
    (tmp_path / "1" / "photo.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated jpeg")
    status, _, err = cli(capsys, "train", "--data", str(tmp_path), "--out", str(tmp_path / "r"))
    assert_one_line_error(status, err, "photo.jpg: not a readable PNG/JPEG image")
    assert not (tmp_path / "r").exists()


# ---- eval ---------------------------------------------------------------------------------


def test_eval_on_the_embedded_test_split(run_dir, capsys):
    status, out, err = cli(capsys, "eval", "--checkpoint", str(run_dir / "model.safetensors"))
    assert status == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("2000 images, lenet")
    assert len([line for line in lines[1:] if line.split()[0].isdigit()]) == 10  # one row per class
    assert lines[-1].startswith("accuracy: ") and 0.5 < float(lines[-1].split()[1]) <= 1


def test_eval_on_idx_and_image_folders(run_dir, tmp_path, capsys):
    idx_folder(tmp_path / "idx", n_test=7)
    status, out, _ = cli(
        capsys, "eval", "--checkpoint", str(run_dir), "--data", str(tmp_path / "idx")
    )
    assert (
        status == 0 and out.startswith("7 images") and out.splitlines()[-1].startswith("accuracy: ")
    )
    _, test = load_digits()
    for i in range(6):
        label = int(test.labels[i])
        (tmp_path / "img" / str(label)).mkdir(parents=True, exist_ok=True)
        Image.fromarray(test.images[i, 0]).save(tmp_path / "img" / str(label) / f"{i}.png")
    status, out, _ = cli(
        capsys, "eval", "--checkpoint", str(run_dir), "--data", str(tmp_path / "img")
    )
    assert status == 0 and out.startswith("6 images")


def test_eval_and_predict_agree_on_the_same_files(run_dir, tmp_path, capsys):
    _, test = load_digits()
    paths, labels = [], []
    for i in range(12):  # dark digits on light 84x84 RGB canvases, as a phone photo would be
        label = int(test.labels[i])
        (tmp_path / "img" / str(label)).mkdir(parents=True, exist_ok=True)
        paths.append(str(digit_png(tmp_path / "img" / str(label) / f"{i}.png", test.images[i, 0])))
        labels.append(label)
    status, out, err = cli(capsys, "predict", *paths, "--checkpoint", str(run_dir), "--json")
    assert status == 0, err
    top1 = {r["file"]: r["top"][0][0] for r in json.loads(out)}
    expected = np.mean([top1[p] == label for p, label in zip(paths, labels, strict=True)])
    assert expected > 0.5  # the digits are recognised, so agreement is not agreement on noise
    status, out, err = cli(
        capsys, "eval", "--checkpoint", str(run_dir), "--data", str(tmp_path / "img")
    )
    assert status == 0, err
    assert out.startswith("12 images") and out.splitlines()[-1] == f"accuracy: {expected:.4f}"
    for line in out.splitlines()[2:-1]:  # per class: predict's hits among that class's files
        name, correct, total, _ = line.split()
        hits = [top1[p] == int(name) for p in paths if f"/img/{name}/" in p]
        assert (int(correct), int(total)) == (sum(hits), len(hits))


def test_eval_refuses_folders_that_are_not_classes_of_the_model(run_dir, tmp_path, capsys):
    for name in ("run", "run3"):
        mark(tmp_path / "runs" / name / "a.png")
    status, out, err = cli(
        capsys, "eval", "--checkpoint", str(run_dir), "--data", str(tmp_path / "runs")
    )
    assert_one_line_error(
        status,
        err,
        "sub-folders run/, run3/ are not a class of the model",
        "name each class folder by its label: 0, 1, 2, 3, 4, 5, 6, 7, 8, 9",
    )
    assert out == ""


def test_eval_on_an_idx_file_with_the_wrong_magic(run_dir, tmp_path, capsys):
    idx_folder(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(b"PK\x03\x04 a zip file")
    status, _, err = cli(capsys, "eval", "--checkpoint", str(run_dir), "--data", str(tmp_path))
    assert_one_line_error(
        status, err, "t10k-labels-idx1-ubyte: not an IDX file: wrong magic number"
    )


def test_eval_errors(run_dir, tmp_path, capsys):
    status, _, err = cli(capsys, "eval", "--checkpoint", str(tmp_path / "missing.safetensors"))
    assert_one_line_error(status, err, "missing.safetensors: no such checkpoint file")
    corrupt = tmp_path / "corrupt.safetensors"
    corrupt.write_bytes(b"garbage" * 10)
    status, _, err = cli(capsys, "eval", "--checkpoint", str(corrupt))
    assert_one_line_error(status, err, "corrupt.safetensors: not a readable safetensors file")
    wrong = tmp_path / "wrong.safetensors"
    save_file({"conv1.weight": np.zeros((6, 1, 3, 3), np.float32)}, wrong)
    status, _, err = cli(capsys, "eval", "--checkpoint", str(wrong))
    assert_one_line_error(status, err, "wrong.safetensors", "fit no known model")
    (tmp_path / "empty" / "3").mkdir(parents=True)
    status, _, err = cli(
        capsys, "eval", "--checkpoint", str(run_dir), "--data", str(tmp_path / "empty")
    )
    assert_one_line_error(status, err, "3: empty class folder")


# ---- predict ------------------------------------------------------------------------------


def test_predict_text_and_json(run_dir, tmp_path, capsys):
    _, test = load_digits()
    paths = [str(digit_png(tmp_path / f"d{i}.png", test.images[i, 0])) for i in range(2)]
    status, out, err = cli(capsys, "predict", *paths, "--checkpoint", str(run_dir))
    assert status == 0, err
    lines = out.splitlines()
    assert len(lines) == 2 and lines[0].startswith(f"{paths[0]}: ") and lines[0].count("(") == 3
    status, out, _ = cli(capsys, "predict", *paths, "--checkpoint", str(run_dir), "--json")
    result = json.loads(out)
    assert [r["file"] for r in result] == paths
    for r in result:
        assert len(r["top"]) == 3 and all(isinstance(label, int) for label, _ in r["top"])
        probs = [p for _, p in r["top"]]
        assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1 + 1e-6


def test_predict_recognises_a_drawn_one(run_dir, tmp_path, capsys):
    img = Image.new("RGBA", (200, 300), (0, 0, 0, 0))  # transparent canvas, dark stroke
    ImageDraw.Draw(img).line([(100, 30), (100, 270)], fill=(20, 20, 20, 255), width=22)
    img.save(tmp_path / "one.png")
    status, out, _ = cli(
        capsys, "predict", str(tmp_path / "one.png"), "--checkpoint", str(run_dir), "--json"
    )
    assert status == 0 and json.loads(out)[0]["top"][0][0] == 1


def test_predict_errors(run_dir, tmp_path, capsys):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG not really")
    status, out, err = cli(capsys, "predict", str(bad), "--checkpoint", str(run_dir))
    assert_one_line_error(status, err, "bad.png: not a readable PNG/JPEG image")
    assert out == ""
    status, _, err = cli(
        capsys, "predict", str(tmp_path / "nope.png"), "--checkpoint", str(run_dir)
    )
    assert_one_line_error(status, err, "nope.png: no such image file")
    Image.new("L", (20, 20), 255).save(tmp_path / "blank.png")
    status, _, err = cli(
        capsys, "predict", str(tmp_path / "blank.png"), "--checkpoint", str(run_dir)
    )
    assert_one_line_error(status, err, "blank.png: no digit found")


# ---- summary and shape --------------------------------------------------------------------


def test_summary_table(capsys):
    status, out, _ = cli(capsys, "summary", "--model", "lenet")
    assert status == 0
    assert "Receptive field" in out and "Mult-adds" in out
    conv2 = next(line for line in out.splitlines() if line.startswith("conv2 (Conv2d)"))
    assert conv2.split()[-4:] == ["10]", "2,416", "240,000", "14x14"]
    assert "Total params: 61,706" in out and "Total mult-adds per image: 416,520" in out
    status, out, _ = cli(capsys, "summary", "--model", "vgg")
    assert status == 0 and "BatchNorm2d" in out


def test_summary_of_a_checkpoint_and_errors(run_dir, capsys):
    status, out, _ = cli(capsys, "summary", "--checkpoint", str(run_dir))
    assert status == 0 and out.startswith("lenet")
    status, _, err = cli(capsys, "summary", "--model", "alexnet")
    assert_one_line_error(status, err, "unknown model 'alexnet'")
    status, _, err = cli(capsys, "summary", "--input", "28x28")
    assert_one_line_error(status, err, "give three positive sizes CxHxW")


@pytest.mark.parametrize(("model", "shape"), [("lenet", "1x32x32"), ("vgg", "3x28x28")])
def test_summary_names_the_input_the_model_expects(model, shape, capsys):
    status, _, err = cli(capsys, "summary", "--model", model, "--input", shape)
    assert_one_line_error(
        status, err, f"summary: {model} expects 1x28x28 input, got {shape}; use --input 1x28x28"
    )
    assert "linear" not in err and "flatten" not in err


def test_shape(capsys):
    status, out, _ = cli(capsys, "shape", "--input", "28", "--kernel", "5", "--padding", "2")
    assert status == 0
    assert out.splitlines() == [
        "out =   floor((28 + 2*2 - 1*(5-1) - 1) / 1) + 1 = 28",
        "output: 28",
    ]
    status, out, _ = cli(
        capsys, "shape", "--input", "32x28", "--kernel", "3", "--stride", "2", "--dilation", "2"
    )
    assert status == 0
    assert out.splitlines() == [
        "height: floor((32 + 2*0 - 2*(3-1) - 1) / 2) + 1 = 14",
        "width:  floor((28 + 2*0 - 2*(3-1) - 1) / 2) + 1 = 12",
        "output: 14x12",
    ]


def test_shape_with_same_and_valid_padding(capsys):
    status, out, _ = cli(capsys, "shape", "--input", "28", "--kernel", "4", "--padding", "same")
    assert status == 0
    assert out.splitlines() == [
        "padding 'same': 1*(4-1) = 3 zeros: 1 before, 2 after (the odd one after, as in PyTorch)",
        "out =   floor((28 + 1 + 2 - 1*(4-1) - 1) / 1) + 1 = 28",
        "output: 28",
    ]
    status, out, _ = cli(
        capsys,
        "shape",
        "--input",
        "32x28",
        "--kernel",
        "3x5",
        "--dilation",
        "2",
        "--padding",
        "same",
    )
    assert status == 0
    assert out.splitlines()[1:] == [
        "height: floor((32 + 2*2 - 2*(3-1) - 1) / 1) + 1 = 32",
        "width:  floor((28 + 2*4 - 2*(5-1) - 1) / 1) + 1 = 28",
        "output: 32x28",
    ]
    status, out, _ = cli(capsys, "shape", "--input", "28", "--kernel", "5", "--padding", "valid")
    assert status == 0 and out.splitlines()[-1] == "output: 24"


@pytest.mark.parametrize(
    ("argv", "parts"),
    [
        (
            ["--input", "28", "--kernel", "3", "--stride", "2", "--padding", "same"],
            ["padding='same' needs stride 1, got stride=2"],
        ),
        (
            ["--input", "28", "--kernel", "3", "--padding", "full"],
            [
                "argument --padding: 'full' is not a padding: an integer, HxW, 'same' or"
                " 'valid' (e.g. 2, 2x1 or same)"
            ],
        ),
        (
            ["--input", "28", "--kernel", "3x"],
            ["argument --kernel: '3x' is not a kernel size K or KHxKW (e.g. 5 or 5x3)"],
        ),
        (
            ["--input", "28", "--kernel", "3", "--stride", "two"],
            ["argument --stride: 'two' is not a stride S or SHxSW (e.g. 2 or 2x1)"],
        ),
        (
            ["--input", "28", "--kernel", "3", "--dilation", "1.5"],
            ["argument --dilation: '1.5' is not a dilation D or DHxDW (e.g. 2 or 2x1)"],
        ),
        (
            ["--input", "4", "--kernel", "5"],
            ["kernel 5 is larger than the padded input 4", "= 0 < 1"],
        ),
        (
            ["--input", "28", "--kernel", "5", "--stride", "0"],
            ["stride must be an integer >= 1, got 0"],
        ),
        (
            ["--input", "28", "--kernel", "5", "--padding", "-1"],
            ["padding must be an integer >= 0, got -1"],
        ),
        (["--input", "28x", "--kernel", "5"], ["'28x' is not an integer or HxW"]),
        (["--kernel", "5"], ["the following arguments are required: --input"]),
    ],
)
def test_shape_errors(capsys, argv, parts):
    status, out, err = cli(capsys, "shape", *argv)
    assert_one_line_error(status, err, *parts)
    assert out == ""


# ---- help ---------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["train", "eval", "predict", "summary", "shape"])
def test_every_command_has_help_with_an_example(command, capsys):
    status, out, _ = cli(capsys, command, "--help")
    assert status == 0
    assert "examples:" in out and f"convscope {command}" in out.split("examples:")[1]


def test_top_level_help_has_one_example_per_command_and_version(capsys):
    status, out, _ = cli(capsys, "--help")
    assert status == 0
    examples = out.split("examples")[1].splitlines()[1:]
    commands = [line.split()[1] for line in examples if line.strip().startswith("convscope ")]
    assert commands == list(COMMANDS)
    status, out, _ = cli(capsys, "--version")
    assert status == 0 and out == f"convscope {convscope.__version__}\n"


def test_train_help_states_the_measured_default_accuracy(capsys):
    # measured 2026-12-03 (Intel Xeon): NumPy path 0.9875 SkylakeX and Haswell; compiled
    # 0.9880 SkylakeX, 0.9875 Haswell
    status, out, _ = cli(capsys, "train", "--help")
    assert status == 0 and "~98" not in out
    assert "98.7% (seed 0)" in out
    assert "98.75% on the NumPy path with OpenBLAS's SkylakeX kernel and its Haswell kernel" in (
        " ".join(out.split())
    )


def test_curves_have_integer_epoch_ticks():
    history = [
        {"epoch": e, "train_loss": 1 / e, "train_acc": 0.9, "test_loss": 1 / e, "test_acc": 0.9}
        for e in (1, 2, 3)
    ]
    fig = curves_figure(history)
    for ax in fig.axes:
        lo, hi = ax.get_xlim()
        ticks = [t for t in ax.get_xticks() if lo <= t <= hi]
        assert ticks and all(float(t).is_integer() for t in ticks), ticks


def test_threads_option(monkeypatch, tmp_path, capsys):
    from convscope.train import threads

    calls = []

    def limit(n, blas=True, numba=True):
        calls.append(n if blas else ("numba only", n))

    monkeypatch.setattr(threads, "limit_threads", limit)
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        monkeypatch.delenv(name, raising=False)
    for argv, expected in [([], [1]), (["--threads", "2"], [2]), (["--threads", "0"], [])]:
        calls.clear()
        status, _, err = cli(capsys, "eval", "--checkpoint", str(tmp_path / "no"), *argv)
        assert status == 2 and calls == expected  # the policy is set before anything is read
    calls.clear()
    run = tmp_path / "run"
    status, _, err = cli(capsys, "train", "--limit", "32", "--threads", "2", "--out", str(run))
    assert status == 0, err
    status, _, err = cli(capsys, "train", "--resume", str(run))  # BLAS rounding: same threads
    assert status == 0 and calls == [2, 2], err
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "2")
    calls.clear()
    cli(capsys, "eval", "--checkpoint", str(tmp_path / "no"))
    assert calls == [("numba only", 1)]  # the environment's BLAS choice wins
    status, _, err = cli(capsys, "train", "--threads", "-1")
    assert_one_line_error(status, err, "argument --threads: must be >= 0, got -1")


def test_the_progress_bar_counts_this_processs_images_of_the_epoch(monkeypatch):
    """A resumed distributed run's running sums hold every rank's images; the bar shows this
    rank's position (its step times its batch) and never runs past the epoch's images."""
    bars = []

    class Recorder(tqdm.tqdm):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **{**kwargs, "disable": True})
            self.positions = [kwargs["initial"]]
            self.total_images = kwargs["total"]
            bars.append(self)

        def update(self, n=1):
            self.n += n
            self.positions.append(self.n)

    monkeypatch.setattr(tqdm, "tqdm", Recorder)
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True, raising=False)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    session = SimpleNamespace(
        images_per_epoch=75,  # 8 batches of 10, the last one of 5
        config=SimpleNamespace(batch_size=10, epochs=1),
        progress=SimpleNamespace(seen=150),  # 3 ranks' 5 steps each, as saved
    )
    steps = [StepEvent(1, s, 8, 0.5, 0.5, 0.9, 100.0, 0.01) for s in range(6, 9)]
    epoch = EpochEvent(1, 0.5, 0.9, 0.4, 0.95, 1.0)
    monkeypatch.setattr(cli_train, "_print_row", lambda row: None)
    assert cli_train._consume([*steps, epoch], session, show=True) is False
    (bar,) = bars
    assert bar.positions == [50, 60, 70, 75] and bar.total_images == 75
