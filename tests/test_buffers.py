"""ops.buffers.scratch: a buffer comes back only when nothing else holds it."""

import os
import platform
import subprocess
import sys

import numpy as np
import pytest

from convscope.ops import buffers

BIG = (512, 1024)  # 2 MB of float32: above MIN_BYTES


def test_a_free_buffer_is_reused_and_a_held_one_is_not():
    buffers.clear()
    a = buffers.scratch(BIG, np.float32)
    assert buffers.scratch(BIG, np.float32) is not a  # a is still held here
    first = id(a)
    del a
    b = buffers.scratch(BIG, np.float32)
    assert id(b) == first  # reused once free
    view = b[1:]
    del b
    c = buffers.scratch(BIG, np.float32)
    assert id(c) != first  # a view still holds it
    del view, c
    buffers.clear()


def test_small_arrays_and_dtypes_are_separate():
    buffers.clear()
    small = buffers.scratch((4, 4), np.float64)
    assert small.shape == (4, 4) and small.dtype == np.float64
    a = buffers.scratch(BIG, np.float32)
    first = id(a)
    del a
    assert id(buffers.scratch(BIG, np.float64)) != first
    buffers.clear()


TRAINING_LOOP = """
import resource
import numpy as np
import convscope as cs
import convscope.nn as nn
model = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                      nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                      nn.Linear(400, 10))
opt = cs.optim.SGD(model.parameters(), lr=0.01)
x = cs.tensor(np.random.default_rng(0).random((64, 1, 28, 28), dtype=np.float32))
y = np.arange(64) % 10
def step():
    opt.zero_grad()
    nn.functional.cross_entropy(model(x), y).backward()
    opt.step()
for _ in range(5):
    step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    step()
print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 20)
"""


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's heap thresholds")
@pytest.mark.parametrize("jit", ["1", "0"])
def test_a_training_loop_in_a_fresh_process_does_not_page_fault_every_step(jit):
    """settle_heap: without it glibc gave the heap's top back and took it again in every step
    of this loop (~630 page faults per step, measured); with it, none in the steady state."""
    env = {**os.environ, "CONVSCOPE_JIT": jit}
    out = subprocess.run([sys.executable, "-c", TRAINING_LOOP], env=env, capture_output=True,
                         text=True, check=True)  # fmt: skip
    faults_per_step = float(out.stdout.split()[-1])
    assert faults_per_step < 50, f"{faults_per_step} page faults per training step"
