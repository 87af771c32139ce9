"""Export and import time of LeNet-5 as ONNX: convscope against PyTorch's exporters and
onnxruntime's session set-up, in this one process (alternating rounds, medians).

    python -m bench.onnx_lenet [--rounds 7]

convscope export: convscope.onnx.export(lenet5(), path) (trace, build with onnx.helper, full
onnx.checker, write). convscope load: convscope.onnx.load(path) (parse, checker, shape
inference, fold, convert to layers). For scale: torch.onnx.export of the same LeNet-5 (legacy
and dynamo exporters) and onnxruntime.InferenceSession(path).
"""

import argparse
import tempfile
import warnings
from pathlib import Path

import onnxruntime
import torch

import convscope as cs
from convscope.models import lenet5

from .timing import median_ms, time_alternating
from .train_lenet import TorchLeNet5


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args(argv)
    folder = Path(tempfile.mkdtemp())
    ours, theirs = folder / "convscope.onnx", folder / "torch.onnx"
    model, torch_model = lenet5(), TorchLeNet5().eval()
    x = torch.zeros(1, 1, 28, 28)

    def torch_export(dynamo):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(torch_model, (x,), theirs, dynamo=dynamo, verbose=False)

    cs.onnx.export(model, ours)
    fns = {
        "convscope export": lambda: cs.onnx.export(model, ours),
        "convscope load": lambda: cs.onnx.load(ours),
        "torch.onnx.export (legacy)": lambda: torch_export(False),
        "onnxruntime session": lambda: onnxruntime.InferenceSession(str(ours)),
    }
    times = time_alternating(fns, warmup=1, rounds=args.rounds)
    dynamo = time_alternating({"d": lambda: torch_export(True)}, warmup=1, rounds=3)["d"]
    times["torch.onnx.export (dynamo)"] = dynamo
    print(f"LeNet-5 ({sum(p.data.size for p in model.parameters()):,} parameters), medians:")
    for name, seconds in times.items():
        print(f"  {name:28} {median_ms(seconds):8.1f} ms")


if __name__ == "__main__":
    main()
