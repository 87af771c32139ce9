"""Smoke run of the inspect benchmark (python -m bench.inspect_speed): every case runs, with and
without Captum, and the JSON holds a median per contender."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("extra", [["--no-torch"], []])
def test_inspect_bench_runs_every_case(tmp_path, extra):
    out = tmp_path / "inspect.json"
    cmd = [sys.executable, "-m", "bench.inspect_speed", "--rounds", "1", "--json", str(out), *extra]
    run = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True, timeout=300)
    assert "IG 50 steps" in run.stdout and "BLAS:" in run.stdout
    rows = json.loads(out.read_text())["rows"]
    assert [r["case"] for r in rows] == [
        "saliency", "Grad-CAM", "IG 50 steps", "occlusion 4x4/2", "confusion 2,000",
    ]  # fmt: skip
    contenders = {"convscope"} if extra else {"convscope", "captum"}
    assert all(set(r["ms"]) == contenders and min(r["ms"].values()) > 0 for r in rows)
