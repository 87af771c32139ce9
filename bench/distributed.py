"""Data-parallel speed: LeNet-5 training images/s with N MPI ranks against one process, and an
allreduce curve over message sizes.

    python -m bench.distributed                     # 1 process vs 2 ranks, then the curve
    python -m bench.distributed --ranks 2 3 --epochs 2 --rounds 3 --json out.json

Each configuration is launched with ``mpiexec -n N`` (one BLAS thread per rank) and trains
``convscope train``'s default LeNet-5 setup (Adam, cosine, embedded digits) for ``--epochs``
epochs; only the training steps are timed (forward, backward, allreduce, optimizer step).
Rounds alternate between the configurations so that machine noise hits all alike; medians
are printed. ``--batch-size`` is per rank; ``--global-batch`` keeps N * B fixed instead.
The curve times an in-place ``Allreduce`` of a float32 buffer from 1 KB to 64 MB, bare and
through MPIWorld (as allreduce_gradients calls it: with the watchdog armed).
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ONE_THREAD = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")
SIZES = [2**k for k in range(10, 27, 2)]  # bytes: 1 KiB .. 64 MiB


def launch(n, *argv, timeout=1800):
    """Run this module under mpiexec -n n with argv; return rank 0's JSON result."""
    import os

    mpiexec = Path(sys.executable).with_name("mpiexec")
    env = {**os.environ, **dict.fromkeys(ONE_THREAD, "1"), "MPIEXEC_TIMEOUT": str(timeout)}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        cmd = [str(mpiexec), "-n", str(n), sys.executable, "-m", "bench.distributed", *argv]
        subprocess.run([*cmd, "--result", str(out)], check=True, env=env, timeout=timeout + 30)
        return json.loads(out.read_text())


# ---- what each rank runs ----------------------------------------------------------------


def train_worker(args, world):
    import convscope as cs
    import convscope.nn.functional as F
    from convscope.data import load_digits
    from convscope.models import lenet5
    from convscope.train import TrainConfig
    from convscope.train.loop import set_lr

    batch = args.batch_size // world.size if args.global_batch else args.batch_size
    config = TrainConfig(batch_size=batch, epochs=args.epochs)
    train, _ = load_digits()
    sampler = world.sampler(len(train), shuffle=True, seed=config.seed, drop_last=False)
    cs.nn.init.manual_seed(config.seed)
    model = lenet5()
    world.broadcast_parameters(model)
    opt = config.build_optimizer(model.parameters())
    steps = -(-len(sampler) // batch)
    lr_at = config.lr_schedule(steps)
    warm = lenet5()  # JIT compilation and caches, outside the timing
    warm_opt = config.build_optimizer(warm.parameters())
    for k in range(0, 5 * batch, batch):
        x, y = train.batch(sampler.indices()[k : k + batch])
        loss = F.cross_entropy(warm(cs.tensor(x)), y)
        warm_opt.zero_grad()
        loss.backward()
        world.allreduce_gradients(warm)
        warm_opt.step()
    timing = {"compute": [], "allreduce": [], "step": [], "epoch": []}
    for epoch in range(args.epochs):
        sampler.set_epoch(epoch)
        idx = sampler.indices()  # this rank's shard of the epoch
        batches = [train.batch(idx[k : k + batch]) for k in range(0, len(idx), batch)]
        world.barrier()
        t_epoch = time.perf_counter()
        for i, (x, y) in enumerate(batches):
            set_lr(opt, lr_at(epoch * steps + i))
            t0 = time.perf_counter()
            loss = F.cross_entropy(model(cs.tensor(x)), y)
            opt.zero_grad()
            loss.backward()
            t1 = time.perf_counter()
            world.allreduce_gradients(model)
            t2 = time.perf_counter()
            opt.step()
            t3 = time.perf_counter()
            timing["compute"].append(t1 - t0)
            timing["allreduce"].append(t2 - t1)
            timing["step"].append(t3 - t2)
        world.barrier()
        timing["epoch"].append(time.perf_counter() - t_epoch)
    images = len(sampler) * world.size  # padded samples included: every rank computes them
    return {
        "ranks": world.size,
        "batch_per_rank": batch,
        "images_per_epoch": images,
        "images_per_s": [images / s for s in timing["epoch"]],
        "step_ms": 1e3
        * statistics.median(
            [
                a + b + c
                for a, b, c in zip(
                    timing["compute"], timing["allreduce"], timing["step"], strict=True
                )
            ]
        ),  # fmt: skip
        "allreduce_ms": 1e3 * statistics.median(timing["allreduce"]),
        "allreduce_fraction": sum(timing["allreduce"]) / sum(timing["epoch"]),
        "gradient_bytes": int(sum(p.data.nbytes for p in model.parameters())),
    }


def curve_worker(args, world):
    rows = []
    for size in SIZES:
        buf = np.ones(size // 4, np.float32)
        reps = max(5, min(200, (1 << 22) // size))
        in_place = world.MPI.IN_PLACE
        for name, call in (
            ("MPI Allreduce", lambda b=buf, ip=in_place: world.comm.Allreduce(ip, b)),
            ("MPIWorld", lambda b=buf: world._allreduce(b, "bench")),  # + the watchdog
        ):
            call()
            times = []
            for _ in range(reps):
                world.barrier()
                t0 = time.perf_counter()
                call()
                times.append(time.perf_counter() - t0)
            rows.append({"bytes": size, "call": name, "us": 1e6 * statistics.median(times)})
    return {"ranks": world.size, "rows": rows}


def worker(args):
    import convscope.distributed as dist

    world = dist.init()
    result = (curve_worker if args.worker == "curve" else train_worker)(args, world)
    if world.is_main:
        Path(args.result).write_text(json.dumps(result))


# ---- the launcher ------------------------------------------------------------------------


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m bench.distributed", description=__doc__)
    ap.add_argument("--ranks", type=int, nargs="+", default=[2], help="rank counts besides 1")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--global-batch", action="store_true", help="batch-size is N*B, not B")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--no-curve", action="store_true")
    ap.add_argument("--json", metavar="FILE")
    ap.add_argument("--worker", choices=("train", "curve"), help=argparse.SUPPRESS)
    ap.add_argument("--result", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        return worker(args)

    train_argv = ["--worker", "train", "--epochs", str(args.epochs)]
    train_argv += ["--batch-size", str(args.batch_size)] + ["--global-batch"] * args.global_batch
    counts = [1, *args.ranks]
    runs = {n: [] for n in counts}
    for r in range(args.rounds):
        for n in counts[r % len(counts) :] + counts[: r % len(counts)]:
            runs[n].append(launch(n, *train_argv))
    print(
        f"LeNet-5, Adam + cosine, {args.epochs} epochs x {args.rounds} rounds, one BLAS thread per rank"
    )
    print(f"{'ranks':>5}  {'batch/rank':>10}  {'images/s':>9}  {'speed-up':>8}  {'step ms':>7}  {'allreduce ms':>12}  {'fraction':>8}")  # fmt: skip
    summary = {}
    for n in counts:
        rate = statistics.median([v for run in runs[n] for v in run["images_per_s"]])
        summary[n] = {
            "images_per_s": rate,
            "step_ms": statistics.median(run["step_ms"] for run in runs[n]),
            "allreduce_ms": statistics.median(run["allreduce_ms"] for run in runs[n]),
            "allreduce_fraction": statistics.median(run["allreduce_fraction"] for run in runs[n]),
            "batch_per_rank": runs[n][0]["batch_per_rank"],
        }
        s = summary[n]
        print(
            f"{n:>5}  {s['batch_per_rank']:>10}  {rate:>9,.0f}  {rate / summary[1]['images_per_s']:>7.2f}x"
            f"  {s['step_ms']:>7.2f}  {s['allreduce_ms']:>12.3f}  {s['allreduce_fraction']:>8.1%}"
        )  # fmt: skip
    print(f"gradient buffer: {runs[1][0]['gradient_bytes']:,} bytes per step")
    result = {"train": summary, "runs": runs}
    if not args.no_curve:
        result["curve"] = {n: launch(n, "--worker", "curve") for n in args.ranks}
        for n, curve in result["curve"].items():
            print(f"allreduce over {n} ranks (median us; algorithm bandwidth GB/s)")
            by_size = {}
            for row in curve["rows"]:
                by_size.setdefault(row["bytes"], {})[row["call"]] = row["us"]
            for size, calls in by_size.items():
                cells = "  ".join(f"{name} {us:>9.1f} us {size / us / 1e3:>6.2f} GB/s" for name, us in calls.items())  # fmt: skip
                print(f"  {size:>10,} B  {cells}")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
