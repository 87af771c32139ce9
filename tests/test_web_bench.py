"""Smoke run of the web bench (python -m bench.web): it serves, times the API and writes JSON."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytest.importorskip("httpx", reason="pip install httpx")
pytest.importorskip("uvicorn", reason="pip install starlette uvicorn")


@pytest.mark.slow
def test_the_web_bench_times_the_api_and_writes_json(tmp_path):
    out = tmp_path / "web.json"
    env_path = str(ROOT / "src")
    cmd = [sys.executable, "-m", "bench.web", "--rounds", "2", "--no-browser", "--json", str(out)]
    run = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300, check=True,
                         env={**os.environ, "PYTHONPATH": env_path})  # fmt: skip
    assert "forward_plus_backward_ms" in run.stdout and "(target < 100 ms)" in run.stdout
    figures = json.loads(out.read_text())
    assert set(figures) == {"forward_ms", "backward_ms", "forward_plus_backward_ms", "cell_conv1_ms",
                            "cell_conv2_ms", "cell_pool1_ms"}  # fmt: skip
    assert all(v > 0 for v in figures.values())
