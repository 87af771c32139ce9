"""Smoke run of the benchmark (python -m bench): it runs, prints a table and writes JSON."""

import json
import re
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
    assert re.search(r"^threads: BLAS 1, Numba (1|-), torch - ", run.stdout, re.M)
    result = json.loads(out.read_text())
    groups = {row["group"] for row in result["rows"]}
    assert groups == {"conv fwd", "conv fwd+bwd", "pool fwd", "pool fwd+bwd", "norm fwd",
                      "norm fwd+bwd", "train", "infer"}  # fmt: skip
    assert "LeNet-5 inference images/s, batch 1:" in run.stdout
    assert "LeNet-5 inference images/s, batch 1, 20 in a row:" in run.stdout
    assert all(ms > 0 for row in result["rows"] for ms in row["ms"].values())
    assert result["machine"]["torch"] is None


def test_help_describes_the_bench_in_whole_sentences():
    run = subprocess.run([sys.executable, "-m", "bench", "--help"], cwd=ROOT, capture_output=True,
                         text=True, check=True, timeout=60)  # fmt: skip
    about = " ".join(run.stdout.split("options:")[0].split())
    assert "medians) and prints a table" in about and about.endswith("See docs/performance.md.")
    assert "--explain" in run.stdout
