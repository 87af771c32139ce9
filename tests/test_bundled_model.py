"""The bundled LeNet-5: the default checkpoint of eval/predict (and of inspect and serve), and a
faithful record of what ``convscope train`` at its defaults gives."""

import os
import time

import pytest

from convscope.cli.main import main
from convscope.models.bundled import BUNDLED_ACCURACY, BUNDLED_LENET
from convscope.train.locate import find_checkpoint


def _last_accuracy(text):
    return float(text.strip().splitlines()[-1].split(":")[1])


def test_without_runs_the_default_is_the_bundled_lenet(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert find_checkpoint() == BUNDLED_LENET
    assert main(["eval"]) == 0
    out, err = capsys.readouterr()
    assert f"checkpoint: {BUNDLED_LENET}" in err
    # float32 on another BLAS kernel may move a digit at the margin: 1 of 2,000 is 0.0005
    assert _last_accuracy(out) == pytest.approx(BUNDLED_ACCURACY, abs=0.0011)


def test_the_newest_run_wins_and_a_named_folder_is_read(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for i, name in enumerate(("older", "newer")):
        (tmp_path / "runs" / name).mkdir(parents=True)
        target = tmp_path / "runs" / name / "model.safetensors"
        target.write_bytes(BUNDLED_LENET.read_bytes())
        os.utime(target, (time.time() - 100 + i * 50,) * 2)
    assert find_checkpoint().resolve() == tmp_path / "runs" / "newer" / "model.safetensors"
    assert (
        find_checkpoint("runs/older").resolve() == tmp_path / "runs" / "older" / "model.safetensors"
    )


def test_a_missing_checkpoint_is_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["predict", "x.png", "--checkpoint", "nowhere"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: nowhere") and "no such checkpoint" in err


@pytest.mark.slow
def test_retraining_at_the_defaults_reproduces_the_bundled_accuracy(tmp_path, capsys):
    assert main(["train", "--out", str(tmp_path / "run")]) == 0
    accuracy = float(capsys.readouterr().out.split("test accuracy:")[1].split()[0])
    assert abs(accuracy - BUNDLED_ACCURACY) <= 0.003  # within 0.3 points on any BLAS kernel
