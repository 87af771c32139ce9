"""Faults: resume of a finished or killed run, a kill during the first save, two trainings into
one folder, hostile checkpoint metadata, NaN weights, closed pipes. Kills are real (SIGKILL in a
child process, at a chosen step or write), so what is left on disk is what a user would find."""

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from safetensors.numpy import load_file

import convscope
from convscope.cli.main import main
from convscope.models import lenet5
from convscope.models.bundled import BUNDLED_LENET
from convscope.train import save_model
from test_checkpoint import hostile_lenet
from test_cli import assert_one_line_error, cli

RUN = ["train", "--limit", "64", "--batch-size", "16", "--epochs", "3"]  # 4 steps per epoch
SRC = str(Path(convscope.__file__).resolve().parents[1])


def convscope_in_child(tmp_path, argv, patch="", timeout=300):
    """Run ``convscope argv`` in a child process after ``patch`` (Python) has run there."""
    script = textwrap.dedent(patch) + "\nimport sys\nfrom convscope.cli.main import main\n"
    script += f"sys.exit(main({list(map(str, argv))!r}))\n"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([SRC, os.environ.get("PYTHONPATH", "")])}
    return subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


KILL_AT_STEP = """
import os, signal
import convscope.train.loop as loop
step, done = loop.train_step, [0]
def killed_during(*args):
    done[0] += 1
    if done[0] == {step}:
        os.kill(os.getpid(), signal.SIGKILL)
    return step(*args)
loop.train_step = killed_during
"""

KILL_IN_FIRST_STATE_WRITE = """
import os, signal
replace = os.replace
def killed_before_rename(src, dst):
    if str(dst).endswith("state.safetensors"):
        os.kill(os.getpid(), signal.SIGKILL)
    return replace(src, dst)
os.replace = killed_before_rename
"""


def rows(folder):
    return [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    out = tmp_path_factory.mktemp("faults") / "finished"
    assert main([*RUN, "--out", str(out)]) == 0
    return out


def test_resuming_a_finished_run_changes_nothing_and_says_so(finished, capsys):
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in finished.iterdir()}
    status, out, err = cli(capsys, "train", "--resume", str(finished))
    assert status == 0 and err == ""
    last = rows(finished)[-1]["test_acc"]
    assert out == (
        f"{finished}: the run is complete (3 of 3 epochs, test accuracy {last:.4f});"
        f" nothing to resume\n"
    )
    after = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in finished.iterdir()}
    assert after == before
    assert [r["epoch"] for r in rows(finished)] == [1, 2, 3]


@pytest.mark.slow
def test_resume_after_a_kill_mid_epoch_ends_where_a_straight_run_ends(finished, tmp_path):
    out = tmp_path / "killed"
    child = convscope_in_child(tmp_path, [*RUN, "--out", out], KILL_AT_STEP.format(step=6))
    assert child.returncode == -signal.SIGKILL
    assert [r["epoch"] for r in rows(out)] == [1]  # killed in epoch 2, after epoch 1's save
    child = convscope_in_child(tmp_path, ["train", "--resume", out])
    assert child.returncode == 0, child.stderr
    assert [r["epoch"] for r in rows(out)] == [1, 2, 3]  # no epoch repeated
    resumed, straight = load_file(out / "model.safetensors"), load_file(finished / "model.safetensors")  # fmt: skip
    for k, v in straight.items():
        np.testing.assert_array_equal(resumed[k], v, err_msg=k)  # same arithmetic, same order


@pytest.mark.slow
def test_a_kill_during_the_first_state_write_leaves_a_folder_out_accepts(tmp_path):
    out = tmp_path / "first"
    child = convscope_in_child(tmp_path, [*RUN, "--out", out], KILL_IN_FIRST_STATE_WRITE)
    assert child.returncode == -signal.SIGKILL
    left = sorted(p.name for p in out.iterdir())
    assert "state.safetensors" not in left and "model.safetensors" in left
    assert any(name.startswith(".state.safetensors.") and name.endswith(".tmp") for name in left)
    child = convscope_in_child(tmp_path, ["train", "--resume", out])
    assert child.returncode == 2
    assert child.stderr == (
        f"error: {out}: no state.safetensors: the run was stopped before its first epoch was"
        f" saved, so there is nothing to resume; start it over with --out {out}\n"
    )
    child = convscope_in_child(tmp_path, [*RUN, "--out", out])
    assert child.returncode == 0, child.stderr
    assert child.stderr == f"note: {out} holds no saved epoch (no state.safetensors): starting it over\n"  # fmt: skip
    assert not [p.name for p in out.iterdir() if p.name.endswith(".tmp")]  # stale files removed
    assert [r["epoch"] for r in rows(out)] == [1, 2, 3]


def test_two_runs_write_the_same_model_bytes(finished, tmp_path, capsys):
    again = tmp_path / "again"
    status, _, err = cli(capsys, *RUN, "--out", str(again))
    assert status == 0, err
    for name in ("model.safetensors", "curves.png"):  # byte-reproducible (same seed, threads)
        assert (again / name).read_bytes() == (finished / name).read_bytes(), name


HOLD_THE_LOCK = """
import sys, time
from convscope.train.run_folder import RunFolder
folder = RunFolder(sys.argv[1])
folder.lock()
print("locked", flush=True)
time.sleep(120)
"""


def test_a_second_training_into_a_busy_folder_is_refused(tmp_path, capsys):
    out = tmp_path / "busy"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([SRC, os.environ.get("PYTHONPATH", "")])}
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_THE_LOCK, str(out)], env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline() == "locked\n"
        argv = [*RUN[:-1], "1", "--out", str(out)]
        status, stdout, err = cli(capsys, *argv)
        assert_one_line_error(
            status, err, f"{out}: another convscope train is writing to this run folder"
        )
        assert sorted(p.name for p in out.iterdir()) == [".lock"]  # nothing of ours written
    finally:
        holder.kill()  # kill -9: the kernel drops the lock with the process
        holder.wait()
    status, _, err = cli(capsys, *argv)
    assert status == 0, err  # no stale lock


def test_stale_temporaries_are_removed_when_a_run_resumes(finished, tmp_path, capsys, monkeypatch):
    import convscope.train.loop as loop

    step, calls = loop.train_step, iter(range(1, 100))

    def ctrl_c_at_step_6(*args):
        if next(calls) == 6:
            signal.raise_signal(signal.SIGINT)
        return step(*args)

    monkeypatch.setattr(loop, "train_step", ctrl_c_at_step_6)
    run = tmp_path / "run"
    status, _, err = cli(capsys, *RUN, "--out", str(run))
    assert status == 130, err
    assert [r["epoch"] for r in rows(run)] == [1]
    assert (run / "curves.png").read_bytes()[:4] == b"\x89PNG"  # drawn after every epoch
    monkeypatch.setattr(loop, "train_step", step)
    stale = [run / ".model.safetensors.4242.deadbeef.tmp", run / ".curves.png.1.0.tmp"]
    for p in stale:
        p.write_bytes(b"half a file")
    keep = run / "notes.tmp"  # not a file of ours: left alone
    keep.write_text("mine")
    status, _, err = cli(capsys, "train", "--resume", str(run))
    assert status == 0, err
    assert not any(p.exists() for p in stale) and keep.read_text() == "mine"
    assert [r["epoch"] for r in rows(run)] == [1, 2, 3]
    resumed, straight = load_file(run / "model.safetensors"), load_file(finished / "model.safetensors")  # fmt: skip
    for k, v in straight.items():
        np.testing.assert_array_equal(resumed[k], v, err_msg=k)


@pytest.mark.parametrize(
    ("change", "part"),
    [
        (lambda s: s["progress"].update(step="x"), "progress {'epoch': 3, 'step': 'x'"),
        (lambda s: s["history"][0].pop("test_acc"), "history row {'epoch': 1,"),
        (lambda s: s["history"].append(7), "history row 7 is not"),
        (lambda s: s["config"].update(depth=3), "damaged settings (unknown settings 'depth')"),
        (
            lambda s: s["config"].update(epochs="3"),
            "damaged settings (epochs must be int, got '3')",
        ),  # fmt: skip
        (lambda s: s["setup"].update(limit="all"), "damaged settings (setup {"),
        (lambda s: s.pop("rng"), "damaged settings (it needs config, history, model"),
    ],
)
def test_a_damaged_state_is_one_line_on_resume(finished, tmp_path, capsys, change, part):
    import shutil

    from convscope.train import load_state, save_state

    run = tmp_path / "run"
    shutil.copytree(finished, run)
    state = load_state(run / "state.safetensors")
    state["config"]["epochs"] = 4  # one more epoch to go
    change(state)
    save_state(run / "state.safetensors", state)
    status, out, err = cli(capsys, "train", "--resume", str(run))
    assert_one_line_error(status, err, f"{run / 'state.safetensors'}: damaged ", part)


# ---- checkpoints that must not be trusted -------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "part"),
    [
        ({"config": '{"num_classes": 1000000000}'}, "num_classes=1000000000 is not a size"),
        ({"normalize": '"x"'}, "metadata normalize='x' is not"),
        ({"input_shape": '"abc"'}, "metadata input_shape='abc' is not [C, H, W]"),
        ({"classes": json.dumps(list(range(10)))}, "is not a list of class names"),
        ({"input_shape": "[1, 100000, 100000]"}, "does not match the lenet model"),
    ],
)
@pytest.mark.parametrize("command", ["eval", "predict"])
def test_hostile_metadata_is_one_line_before_any_work(tmp_path, capsys, fields, part, command):
    path = hostile_lenet(tmp_path / "model.safetensors", **fields)
    images = [str(tmp_path / "none.png")] if command == "predict" else []
    status, out, err = cli(capsys, command, *images, "--checkpoint", str(path))
    assert_one_line_error(status, err, f"{path}: metadata ", part)
    assert out == ""


def digit_file(path):
    from convscope.data import load_digits

    Image.fromarray(255 - load_digits()[1].images[0, 0]).resize((56, 56)).save(path)
    return str(path)


def test_nan_weights_are_named_not_reported_as_a_model(tmp_path, capsys):
    model = lenet5()
    model.conv1.weight.data[0, 0, 0, 0] = np.nan
    path = tmp_path / "nan.safetensors"
    save_model(path, model, "lenet", {"num_classes": 10}, classes=list("0123456789"))
    picture = digit_file(tmp_path / "d.png")
    for json_flag in ([], ["--json"]):
        status, out, err = cli(capsys, "predict", picture, "--checkpoint", str(path), *json_flag)
        assert_one_line_error(
            status,
            err,
            f"the model outputs NaN or inf for 1 of 1 inputs ({picture})",
            "its weights hold NaN or inf: conv1.weight (1 values)",
        )
        assert out == ""
    status, out, err = cli(capsys, "eval", "--checkpoint", str(path))
    assert_one_line_error(
        status, err, "the model outputs NaN or inf on these images, so it has no accuracy"
    )
    assert out == ""


def test_a_closed_pipe_ends_every_command_quietly(tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([SRC, os.environ.get("PYTHONPATH", "")])}
    picture = digit_file(tmp_path / "d.png")
    predict = ["predict", picture, "--checkpoint", str(BUNDLED_LENET)]
    for argv in (["explain", "conv"], ["train", "--help"], predict, ["summary"]):
        child = subprocess.Popen(
            [sys.executable, "-m", "convscope.cli", *argv],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        child.stdout.close()  # as `| head` does once it has its lines
        err = child.stderr.read().decode()
        status = child.wait(timeout=120)
        assert err == "", (argv, err)  # no "[Errno 32] Broken pipe", no traceback
        assert status == (0 if "--help" in argv else 141), argv  # argparse drops its own EPIPE


def test_a_decompression_bomb_is_one_line_for_predict_and_eval(tmp_path, capsys):
    from test_data import png_header_only

    bomb = png_header_only(tmp_path / "bomb.png", 30000, 30000)  # 2 KB, 900 megapixels
    said = "over 178 megapixels (a decompression bomb): more than the 25-megapixel limit"
    status, out, err = cli(capsys, "predict", str(bomb), "--checkpoint", str(BUNDLED_LENET))
    assert_one_line_error(status, err, f"{bomb}: {said}")
    assert out == ""
    folder = tmp_path / "digits" / "3"
    folder.mkdir(parents=True)
    png_header_only(folder / "x.png", 10000, 10000)
    status, out, err = cli(capsys, "eval", "--data", str(folder.parent), "--checkpoint", str(BUNDLED_LENET))  # fmt: skip
    assert_one_line_error(status, err, f"{folder / 'x.png'}: 10000x10000 pixels: more than the 25-megapixel limit")  # fmt: skip
    assert out == ""
