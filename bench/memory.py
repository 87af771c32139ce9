"""Peak memory of one conv layer's forward+backward, each contender in a fresh process.

    python -m bench.memory convscope|numpy|torch   -> prints "peak_mb extra_mb"

extra_mb = peak RSS during 3 forward+backward calls minus the RSS once the libraries
(and convscope's compiled kernels) are loaded and the data exists: what the layer itself
needs (outputs, caches, scratch buffers).
"""

import os
import subprocess
import sys

import numpy as np

SHAPE, LAYER = (8, 64, 56, 56), (64, 3, 1, 1)  # the ResNet 3x3 layer


def _status_mb(field):
    """VmRSS / VmHWM (peak) of this process from /proc/self/status, in MB. (ru_maxrss would
    carry the parent's peak across exec.)"""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise OSError(f"{field} not in /proc/self/status")


def _measure(contender):
    rng = np.random.default_rng(0)
    (n, c, h, w), (f, k, s, p) = SHAPE, LAYER
    x = rng.standard_normal((n, c, h, w), dtype=np.float32)
    wt = rng.standard_normal((f, c, k, k), dtype=np.float32)
    b = rng.standard_normal(f, dtype=np.float32)
    dy = rng.standard_normal((n, f, h, w), dtype=np.float32)
    if contender == "torch":
        import torch

        tx, tw, tb, tdy = (torch.from_numpy(a) for a in (x, wt, b, dy))

        def run():
            xs, ws, bs = (t.clone().requires_grad_() for t in (tx, tw, tb))
            torch.nn.functional.conv2d(xs, ws, bs, stride=s, padding=p).backward(tdy)
    else:
        os.environ["CONVSCOPE_JIT"] = "1" if contender == "convscope" else "0"
        import convscope as cs
        import convscope.nn.functional as F
        from convscope import kernels

        if kernels.available():  # load Numba and the kernels before the baseline
            kernels.windows(), kernels.pooling()

        def run():
            xs, ws, bs = (cs.tensor(a, requires_grad=True) for a in (x, wt, b))
            F.conv2d(xs, ws, bs, stride=s, padding=p).backward(dy)

    base = _status_mb("VmRSS")
    for _ in range(3):
        run()
    peak = _status_mb("VmHWM")
    return peak, peak - base


def peak_rss(contender, threads=None):
    """(peak_mb, extra_mb) of the ResNet layer's fwd+bwd in a child process, or None on failure;
    threads: the child's BLAS, OpenMP (PyTorch) and Numba threads (default: the libraries' own),
    as the bench's --threads (Winograd sizes its chunks, and so its memory, by BLAS's)."""
    env = dict(os.environ)
    if threads:
        for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "NUMBA_NUM_THREADS"):
            env[name] = str(threads)
    out = subprocess.run([sys.executable, "-m", "bench.memory", contender],
                         capture_output=True, text=True, check=False, env=env)  # fmt: skip
    if out.returncode:
        return None
    return tuple(float(v) for v in out.stdout.split())


if __name__ == "__main__":
    print(*(f"{v:.1f}" for v in _measure(sys.argv[1])))
