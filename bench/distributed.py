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
import math
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


class TimedWorld:
    """A world that times its allreduce_gradients calls and passes everything else on."""

    def __init__(self, world):
        self.world, self.allreduce = world, []

    def allreduce_gradients(self, model):
        t0 = time.perf_counter()
        self.world.allreduce_gradients(model)
        self.allreduce.append(time.perf_counter() - t0)

    def __getattr__(self, name):
        return getattr(self.world, name)


def train_worker(args, world):
    """`convscope train`'s session (no run folder): images/s of the training steps per epoch."""
    from convscope.train import EpochEvent, Session, SingleProcess, StepEvent, TrainConfig

    timed = TimedWorld(world if world.size > 1 else SingleProcess())  # 1: plain convscope train
    batch = args.batch_size // world.size if args.global_batch else args.batch_size
    session = Session.new(TrainConfig(batch_size=batch, epochs=args.epochs), world=timed)
    seconds, epochs = [], []
    with session:
        for event in session.train():
            if isinstance(event, StepEvent):  # dt of the step, from the loop's own clock
                seconds.append(batch / event.images_per_s if event.step < event.steps else None)
            elif isinstance(event, EpochEvent):
                epochs.append([s for s in seconds if s is not None])
                seconds = []
    images = session.images_per_epoch * world.size  # padded samples count: every rank computes them
    timed_epochs = epochs[1:] or epochs  # the first epoch compiles the Numba kernels
    steps = sum(len(e) for e in timed_epochs)
    allreduce = timed.allreduce[-steps:] if timed.allreduce else [0.0]
    return {
        "ranks": world.size,
        "batch_per_rank": batch,
        "images_per_epoch": images,
        "images_per_s": [len(e) * batch * world.size / sum(e) for e in timed_epochs],
        "step_ms": 1e3 * statistics.median(s for e in timed_epochs for s in e),
        "allreduce_ms": 1e3 * statistics.median(allreduce),
        "allreduce_fraction": sum(allreduce) / sum(sum(e) for e in timed_epochs),
        "gradient_bytes": int(sum(p.data.nbytes for p in session.model.parameters())),
    }


def curve_worker(args, world):
    rows = []
    for size in sorted({*SIZES, *args.sizes}):
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


def train_table(args):
    """Launch 1 process and each rank count, alternating, ``rounds`` times; print the medians."""
    train_argv = ["--worker", "train", "--epochs", str(args.epochs)]
    train_argv += ["--batch-size", str(args.batch_size)] + ["--global-batch"] * args.global_batch
    counts = [1, *args.ranks]
    runs = {n: [] for n in counts}
    for r in range(args.rounds):
        for n in counts[r % len(counts) :] + counts[: r % len(counts)]:
            runs[n].append(launch(n, *train_argv))
    print(f"LeNet-5 (convscope train's session), Adam + cosine, {args.epochs} epochs (the first"
          f" untimed: JIT) x {args.rounds} rounds, one BLAS thread per rank")  # fmt: skip
    print(f"{'ranks':>5}  {'batch/rank':>10}  {'images/s':>9}  {'speed-up':>8}  {'step ms':>7}"
          f"  {'allreduce ms':>12}  {'fraction':>8}")  # fmt: skip
    summary = {}
    for n in counts:
        s = summary[n] = {
            "images_per_s": statistics.median(v for run in runs[n] for v in run["images_per_s"]),
            "batch_per_rank": runs[n][0]["batch_per_rank"],
            **{k: statistics.median(run[k] for run in runs[n])
               for k in ("step_ms", "allreduce_ms", "allreduce_fraction")},
        }  # fmt: skip
        print(f"{n:>5}  {s['batch_per_rank']:>10}  {s['images_per_s']:>9,.0f}"
              f"  {s['images_per_s'] / summary[1]['images_per_s']:>7.2f}x  {s['step_ms']:>7.2f}"
              f"  {s['allreduce_ms']:>12.3f}  {s['allreduce_fraction']:>8.1%}")  # fmt: skip
    print("allreduce ms: the call, including the wait for the slowest rank (the curve below has"
          " the transfer alone)")  # fmt: skip
    return {"train": summary, "runs": runs}


def curve_table(ranks, gradient_bytes):
    curve = launch(ranks, "--worker", "curve", "--sizes", str(gradient_bytes))
    print(f"allreduce over {ranks} ranks on this machine (median us; algorithm bandwidth GB/s):")
    by_size = {}
    for row in curve["rows"]:
        by_size.setdefault(row["bytes"], {})[row["call"]] = row["us"]
    for size, calls in by_size.items():
        cells = "  ".join(f"{name} {us:>9.1f} us {size / us / 1e3:>6.2f} GB/s" for name, us in calls.items())  # fmt: skip
        mark = "  <- LeNet-5's gradients" if size == gradient_bytes else ""
        print(f"  {size:>10,} B  {cells}{mark}")
    return curve


def cluster_table(gradient_bytes, step_ms, latency_us=30.0, gbit_per_s=10.0):
    """The arithmetic for N machines on Ethernet: reduce-scatter + allgather (MPICH's algorithm
    for this size) moves 2 (N-1)/N of the buffer over each link in 2 log2(N) latency-bound rounds."""
    bandwidth = gbit_per_s * 1e9 / 8 * 0.9  # bytes/s, ~90% of the line rate for large messages
    print(f"{gbit_per_s:g} GbE estimate ({latency_us:g} us per message, {bandwidth / 1e9:.2f} GB/s"
          f" usable), {gradient_bytes:,} B per step against a {step_ms:.1f} ms step:")  # fmt: skip
    rows = []
    for n in (2, 4, 8, 16, 32):
        seconds = 2 * math.ceil(math.log2(n)) * latency_us * 1e-6
        seconds += 2 * (n - 1) / n * gradient_bytes / bandwidth
        fraction = seconds / (seconds + step_ms / 1e3)
        rows.append({"ranks": n, "allreduce_ms": 1e3 * seconds, "fraction": fraction})
        print(f"  N={n:>2}: allreduce {1e3 * seconds:.2f} ms, {fraction:.1%} of a step,"
              f" {n * (1 - fraction):.1f}x one machine's images/s")  # fmt: skip
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m bench.distributed", description=__doc__)
    ap.add_argument("--ranks", type=int, nargs="+", default=[2], help="rank counts besides 1")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--global-batch", action="store_true", help="batch-size is N*B, not B")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--no-curve", action="store_true")
    ap.add_argument("--json", metavar="FILE")
    ap.add_argument("--worker", choices=("train", "curve"), help=argparse.SUPPRESS)
    ap.add_argument("--sizes", type=int, nargs="*", default=[], help=argparse.SUPPRESS)
    ap.add_argument("--result", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        return worker(args)
    result = train_table(args)
    gradient_bytes = result["runs"][1][0]["gradient_bytes"]
    if not args.no_curve:
        result["curve"] = curve_table(max(args.ranks), gradient_bytes)
    result["cluster"] = cluster_table(gradient_bytes, result["train"][1]["step_ms"])
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
