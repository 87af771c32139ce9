"""What each rank runs in the tests of tests/test_distributed.py (launched by mpiexec -n N).

    mpiexec -n 3 python tests/distributed_worker.py train --optimizer adam --out DIR
    mpiexec -n 2 python tests/distributed_worker.py collectives --out DIR
    mpiexec -n 2 python tests/distributed_worker.py fail --how raise|kill|hang

``train`` trains a small float64 CNN with N ranks x batch B, checks after every step that the
weights are bit-for-bit the same on every rank, and rank 0 writes the final weights (npz) and
a JSON summary; the test compares them with one process at batch N*B. ``collectives`` checks
broadcast_parameters, buffers, allreduce_sum, gradient averaging and sharded evaluation and
writes what it saw as JSON. ``fail`` makes rank 1 crash, die or hang while the others wait.
"""

import argparse
import hashlib
import json
import os
import signal
import sys
import time
from pathlib import Path

import numpy as np

import convscope as cs
import convscope.distributed as dist
import convscope.nn as nn
import convscope.nn.functional as F
from convscope.data import ArrayDataset
from convscope.distributed.flat import pack_bytes, split

N_SAMPLES, SIDE, CLASSES = 50, 12, 5


def dataset(seed=0):
    """A small float64 dataset: N_SAMPLES images 1 x SIDE x SIDE, CLASSES labels."""
    rng = np.random.default_rng(seed)
    images = rng.standard_normal((N_SAMPLES, 1, SIDE, SIDE))
    return ArrayDataset(images, rng.integers(0, CLASSES, N_SAMPLES))


def small_cnn(seed, batch_norm=False):
    """Conv-ReLU-pool-conv(-BN)-ReLU-linear in float64 (with BN: running statistics as buffers)."""
    cs.nn.init.manual_seed(seed)
    layers = [nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(4, 6, 3)]
    layers += [nn.BatchNorm2d(6)] if batch_norm else []
    layers += [nn.ReLU(), nn.Flatten(), nn.Linear(6 * 4 * 4, CLASSES)]
    return nn.Sequential(*layers).double()


def build_optimizer(name, params):
    if name == "sgd":
        return cs.optim.SGD(params, lr=0.05, momentum=0.9, weight_decay=1e-3)
    return cs.optim.Adam(params, lr=0.01)


def digests(world, arrays):
    """Every rank's sha256 of the given arrays' bytes, as an (N, 32) array on every rank."""
    mine = np.frombuffer(hashlib.sha256(pack_bytes(arrays).tobytes()).digest(), np.uint8)
    everyone = np.empty((world.size, mine.size), np.uint8)
    world.comm.Allgather(mine, everyone)
    return everyone


def train(args, world):
    data = dataset()
    model = small_cnn(seed=100 + world.rank)  # a different start on every rank ...
    world.broadcast_parameters(model)  # ... until rank 0's weights are broadcast
    optimizer = dist.DistributedOptimizer(
        build_optimizer(args.optimizer, model.parameters()), model
    )
    sampler = world.sampler(len(data), shuffle=True, seed=args.seed, drop_last=False)
    steps, in_sync = 0, True
    for epoch in range(args.epochs):
        sampler.set_epoch(epoch)
        order = sampler.indices()
        for k in range(0, len(order), args.batch_size):
            x, y = data.batch(order[k : k + args.batch_size])
            loss = F.cross_entropy(model(cs.tensor(x.astype(np.float64))), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            steps += 1
            everyone = digests(world, [p.data for p in model.parameters()])
            in_sync &= bool((everyone == everyone[0]).all())
    if world.is_main:
        out = Path(args.out)
        np.savez(out / "weights.npz", **model.state_dict())
        summary = {"size": world.size, "steps": steps, "in_sync_after_every_step": in_sync}
        (out / "summary.json").write_text(json.dumps(summary))


def collectives(args, world):
    seen = {"size": world.size}
    # broadcast_parameters: parameters and buffers (BatchNorm statistics) become rank 0's
    model = small_cnn(seed=100 + world.rank, batch_norm=True)
    model[4].running_mean[...] = world.rank + 1.0
    model[4].num_batches_tracked[...] = 7 * (world.rank + 1)
    world.broadcast_parameters(model)
    reference = small_cnn(seed=100, batch_norm=True)
    seen["broadcast_equals_rank0"] = all(
        np.array_equal(a, reference.state_dict()[k]) for k, a in model.state_dict().items()
        if "running" not in k and "num_batches" not in k
    )  # fmt: skip
    seen["running_mean"] = model[4].running_mean.tolist()
    seen["num_batches_tracked"] = int(model[4].num_batches_tracked)

    # allreduce_gradients: the mean over ranks; None on every rank stays None, on some counts 0
    x, y = dataset().batch(np.arange(world.rank * 4, world.rank * 4 + 4))
    F.cross_entropy(model(cs.tensor(x)), y).backward()
    params = list(model.parameters())  # conv1 w, b; conv2 w, b; bn w, b; fc w, b
    params[1].grad = None  # as if unused on every rank
    if world.rank == 1:
        params[3].grad = None  # unused on rank 1 only: it contributes zeros
    sent = [np.zeros(p.data.shape) if p.grad is None else p.grad.copy() for p in params]
    world.allreduce_gradients(model)
    expected = world.allreduce_sum(np.concatenate([g.ravel() for g in sent])) / world.size
    seen["none_everywhere_stays_none"] = params[1].grad is None
    seen["grads_are_the_mean"] = all(
        np.allclose(p.grad, e, rtol=1e-13, atol=0)
        for i, (p, e) in enumerate(zip(params, split(expected, sent), strict=True))
        if i != 1
    )
    buffers = digests(world, list(model.buffers()))
    seen["buffers_equal_after_step"] = bool((buffers == buffers[0]).all())

    # allreduce_sum keeps shape and dtype; any_rank is a logical or
    total = world.allreduce_sum(np.array([[world.rank, 1]], dtype=np.int64))
    seen["allreduce_sum"] = [total.tolist(), str(total.dtype)]
    seen["any_rank"] = [world.any_rank(world.rank == world.size - 1), world.any_rank(False)]

    # sharded evaluation over unpadded shards equals the single-process figure
    model.eval()
    data = dataset(seed=1)
    mine = world.sampler(len(data), shuffle=False, seed=0, drop_last=False, pad=False).indices()
    sums = np.zeros(3)
    with cs.no_grad():
        for k in range(0, len(mine), 7):
            xb, yb = data.batch(mine[k : k + 7])
            logits = model(cs.tensor(xb))
            sums += [
                float(F.cross_entropy(logits, yb).item()) * len(yb),
                int((logits.data.argmax(1) == yb).sum()),
                len(yb),
            ]
        total = world.allreduce_sum(sums)
        xa, ya = data.batch(np.arange(len(data)))
        logits = model(cs.tensor(xa))
        whole = [
            float(F.cross_entropy(logits, ya).item()),
            float((logits.data.argmax(1) == ya).mean()),
        ]
    seen["sharded_eval"] = [total[0] / total[2], total[1] / total[2], int(total[2])]
    seen["single_eval"] = whole

    # a model that differs between ranks: the same error on every rank
    try:
        world.broadcast_parameters(nn.Linear(3, 2 + (world.rank > 0)))
        seen["mismatch_error"] = None
    except cs.errors.ConvscopeError as exc:
        seen["mismatch_error"] = str(exc)

    everything = world.comm.gather(json.dumps(seen, sort_keys=True), root=0)
    if world.is_main:
        Path(args.out, "collectives.json").write_text("[" + ",".join(everything) + "]")


def fail(args, world):
    model = small_cnn(seed=0)
    world.broadcast_parameters(model)
    print(f"rank {world.rank} ready", flush=True)
    if world.rank == 1:
        if args.how == "raise":
            raise RuntimeError("rank 1 fails on purpose")
        if args.how == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        if args.how == "hang":
            time.sleep(600)
    world.barrier()  # the others wait here for rank 1
    print(f"rank {world.rank} passed the barrier", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=("train", "collectives", "fail"))
    ap.add_argument("--out", default=".")
    ap.add_argument("--optimizer", default="sgd")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--how", default="raise")
    ap.add_argument("--expect-size", type=int)
    args = ap.parse_args()
    world = dist.init()
    if args.expect_size and world.size != args.expect_size:  # e.g. another MPI's mpiexec
        sys.exit(f"expected {args.expect_size} ranks, got {world.size}: mpiexec and mpi4py differ")
    {"train": train, "collectives": collectives, "fail": fail}[args.what](args, world)


if __name__ == "__main__":
    main()
