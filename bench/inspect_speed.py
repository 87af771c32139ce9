"""Speed of ``convscope.inspect`` on the bundled LeNet-5 against Captum 0.9.0 on the same weights.

    python -m bench.inspect_speed [--rounds 15] [--threads 1] [--no-torch] [--json FILE]

One held-out digit (float32, as the CLI runs it): saliency, Grad-CAM at conv2 (with the upsampled
map), integrated gradients with 50 Gauss-Legendre steps, occlusion with 4x4 windows at stride 2
(169 windows; Captum given perturbations_per_eval=169 so it batches them too); the confusion
matrix over the 2,000 held-out digits (torch: the forward passes and a bincount). Contenders
alternate in one process (bench/timing.py); medians against the issue's targets.
"""

import argparse
import importlib.util
import json
from collections import OrderedDict

import numpy as np

import convscope.inspect as ci
from convscope.data import load_digits
from convscope.models.bundled import BUNDLED_LENET
from convscope.train import load_model

from . import machine
from .timing import median_ms, time_alternating

TARGET_MS = {"saliency": 20, "Grad-CAM": 20, "IG 50 steps": 150, "occlusion 4x4/2": 300,
             "confusion 2,000": 1500}  # fmt: skip


def torch_lenet(torch, state):
    tnn = torch.nn
    model = tnn.Sequential(OrderedDict(
        conv1=tnn.Conv2d(1, 6, 5, padding=2), relu1=tnn.ReLU(), pool1=tnn.MaxPool2d(2),
        conv2=tnn.Conv2d(6, 16, 5), relu2=tnn.ReLU(), pool2=tnn.MaxPool2d(2),
        flatten=tnn.Flatten(), fc1=tnn.Linear(400, 120), relu3=tnn.ReLU(),
        fc2=tnn.Linear(120, 84), relu4=tnn.ReLU(), fc3=tnn.Linear(84, 10),
    ))  # fmt: skip
    model.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
    return model.eval()


def cases(torch):
    """name -> {contender: zero-argument callable}."""
    model, _ = load_model(BUNDLED_LENET)
    test = load_digits()[1]
    x, y = test.batch(np.arange(1))
    target = int(y[0])
    ours = {
        "saliency": lambda: ci.saliency(model, x, target),
        "Grad-CAM": lambda: ci.grad_cam(model, x, target, "conv2"),
        "IG 50 steps": lambda: ci.integrated_gradients(model, x, target, steps=50),
        "occlusion 4x4/2": lambda: ci.occlusion(model, x, target, 4, 2),
        "confusion 2,000": lambda: ci.confusion_matrix(model, test),
    }
    table = {name: {"convscope": fn} for name, fn in ours.items()}
    if torch is None:
        return table
    from captum.attr import IntegratedGradients, LayerAttribution, LayerGradCam, Occlusion, Saliency

    net = torch_lenet(torch, model.state_dict())
    tx = torch.from_numpy(x)
    images, labels = test.batch(np.arange(len(test)))
    timages, tlabels = torch.from_numpy(images), torch.from_numpy(labels)

    def grad_cam():
        cam = LayerGradCam(net, net.conv2).attribute(tx, target=target)
        return LayerAttribution.interpolate(cam, (28, 28))

    def confusion():
        with torch.no_grad():
            pred = torch.cat([net(timages[i : i + 500]).argmax(1) for i in range(0, 2000, 500)])
        return torch.bincount(tlabels * 10 + pred, minlength=100).reshape(10, 10)

    theirs = {
        "saliency": lambda: Saliency(net).attribute(tx.clone().requires_grad_(), target=target),
        "Grad-CAM": grad_cam,
        "IG 50 steps": lambda: IntegratedGradients(net).attribute(tx, target=target, n_steps=50),
        "occlusion 4x4/2": lambda: Occlusion(net).attribute(
            tx, (1, 4, 4), 2, target=target, perturbations_per_eval=169
        ),
        "confusion 2,000": confusion,
    }
    for name, fn in theirs.items():
        table[name]["captum"] = fn
    return table


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m bench.inspect_speed", description=__doc__)
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--threads", type=int, default=1, help="BLAS/Numba/torch threads (default 1)")
    ap.add_argument("--no-torch", action="store_true", help="time convscope alone")
    ap.add_argument("--json", metavar="FILE", help="also write the medians as JSON")
    args = ap.parse_args(argv)
    torch = None
    if not args.no_torch and importlib.util.find_spec("captum"):
        import torch
    machine.set_threads(args.threads, torch)
    for line in machine.describe(machine.report(torch)):
        print(line)
    print(f"{'case':<18}{'convscope ms':>14}{'captum ms':>12}{'ratio':>8}{'target ms':>11}  met")
    rows = []
    for name, fns in cases(torch).items():
        ms = {k: median_ms(v) for k, v in time_alternating(fns, rounds=args.rounds).items()}
        ours, theirs = ms["convscope"], ms.get("captum")
        met = ours <= TARGET_MS[name]
        ratio = f"{ours / theirs:7.2f}x" if theirs else f"{'-':>8}"
        print(f"{name:<18}{ours:14.2f}{theirs or float('nan'):12.2f}{ratio}"
              f"{TARGET_MS[name]:11d}  {'yes' if met else 'NO'}")  # fmt: skip
        rows.append({"case": name, "ms": ms, "target_ms": TARGET_MS[name], "met": met})
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"threads": args.threads, "rounds": args.rounds, "rows": rows}, f, indent=2)
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
