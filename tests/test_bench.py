"""Smoke run of the benchmark (python -m bench): it runs, prints a table and writes JSON."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_quick_bench_without_torch_prints_and_writes_json(tmp_path):
    out = tmp_path / "bench.json"
    cmd = [sys.executable, "-m", "bench", "--quick", "--no-torch", "--rounds", "1",
           "--pause", "0", "--threads", "1", "--json", str(out)]  # fmt: skip
    run = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True, timeout=300)
    assert "LeNet-5 training images/s" in run.stdout
    assert "BLAS:" in run.stdout
    result = json.loads(out.read_text())
    groups = {row["group"] for row in result["rows"]}
    assert groups == {"conv fwd", "conv fwd+bwd", "pool fwd", "pool fwd+bwd", "train"}
    assert all(ms > 0 for row in result["rows"] for ms in row["ms"].values())
    assert result["machine"]["torch"] is None
