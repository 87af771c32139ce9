"""What the autograd tape's checks cost: a LeNet-5 training step with them and without.

    python bench/tape_cost.py [--blocks 40]

The checks (autograd.tape_checks: every gradient's shape against its input, the in-place
change counts of saved tensors) are swapped for no-ops in alternate blocks of 5 steps in this
one process, so machine noise hits both alike; prints the median step of each, their ratio,
and the cost per node on a 1,000-op chain (where the checks are all there is).
"""

import argparse
import statistics
import time

import numpy as np

import convscope as cs
from convscope.autograd import tape
from convscope.models import lenet5
from convscope.train.loop import train_step

CHECKED = (tape.check_saved, tape.checked_grads)


def _unchecked_grads(node, grads):
    for inp, g in zip(node.inputs, grads, strict=True):
        if g is not None and getattr(inp, "requires_grad", False):
            yield inp, np.asarray(g, dtype=inp.dtype)


UNCHECKED = (lambda node, output: None, _unchecked_grads)
MODES = {"checked": CHECKED, "unchecked": UNCHECKED}


def lenet_steps(blocks, steps=5):
    cs.manual_seed(0)
    model = lenet5()
    opt = cs.optim.Adam(model.parameters(), lr=1e-3)
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((64, 1, 28, 28)).astype(np.float32), rng.integers(0, 10, 64)
    for _ in range(steps):
        train_step(model, opt, x, y)  # warm-up: compiled kernels, buffers
    times = {name: [] for name in MODES}
    for block in range(blocks):
        for name in list(MODES)[:: 1 if block % 2 else -1]:
            tape.check_saved, tape.checked_grads = MODES[name]
            for _ in range(steps):
                t0 = time.perf_counter()
                train_step(model, opt, x, y)
                times[name].append(time.perf_counter() - t0)
    return {name: 1e3 * statistics.median(t) for name, t in times.items()}


def chain_backward(nodes=1000, rounds=15):
    x = cs.tensor(np.ones(4), requires_grad=True)
    out = {}
    for name, fns in MODES.items():
        tape.check_saved, tape.checked_grads = fns
        times = []
        for _ in range(rounds):
            h = x
            for _ in range(nodes):
                h = h * 1.0001
            t0 = time.perf_counter()
            h.sum().backward()
            times.append(time.perf_counter() - t0)
        out[name] = 1e3 * statistics.median(times)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--blocks", type=int, default=40, help="alternating blocks of 5 steps")
    args = ap.parse_args()
    try:
        step = lenet_steps(args.blocks)
        chain = chain_backward()
    finally:
        tape.check_saved, tape.checked_grads = CHECKED
    print(
        f"LeNet-5 step (batch 64, Adam): checked {step['checked']:.2f} ms, unchecked"
        f" {step['unchecked']:.2f} ms, ratio {step['checked'] / step['unchecked']:.3f}"
        f" ({5 * args.blocks // 2} steps each)"
    )
    per_node = (chain["checked"] - chain["unchecked"]) / 1000 * 1e3
    print(
        f"backward through 1,000 nodes: checked {chain['checked']:.2f} ms, unchecked"
        f" {chain['unchecked']:.2f} ms ({per_node:.1f} us per node)"
    )


if __name__ == "__main__":
    main()
