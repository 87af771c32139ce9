"""``convscope train``: train a CNN, show its progress, leave a run folder behind.

The session (data, model, optimizer, resume, the run folder) is ``train.Session``; this module
parses, calls and prints. Run folder: model.safetensors (weights + metadata, loads in PyTorch
too), metrics.jsonl (one JSON object per epoch), curves.png, and state.safetensors (what
--resume needs), rewritten after every epoch. Ctrl-C stops after the step in progress, saves,
and exits with status 130; a second Ctrl-C aborts at once."""

import argparse
import signal
import sys

from ..errors import ConvscopeError
from ..models import canonical_name
from ..train import EpochEvent, Session, StepEvent, Stopped, TrainConfig
from ..train.session import default_run_folder

EXAMPLE = """examples:
  convscope train                                  # LeNet-5 on the embedded digits: 98.7% (seed 0)
  convscope train --model vgg --epochs 3 --out runs/vgg
  convscope train --data ~/data/FashionMNIST --optimizer sgd --lr 0.02
  convscope train --resume runs/lenet-20260101-120000
  mpiexec -n 2 convscope train --distributed       # data-parallel: 2 ranks x batch 64 per step

--data takes a folder of IDX files (MNIST, Fashion-MNIST, KMNIST; .gz or raw; torchvision's
raw/ layout) or of images in one sub-folder per class (converted as 'convscope predict' converts
digits: grayscale, dark background, fitted into 20x20 and centred by mass in 28x28; with
train/ and test/ sub-folders those are the splits, otherwise 20% is held out). Nothing is
downloaded.

The run folder is rewritten after every epoch and locked while the run trains. --resume
continues a stopped or killed run from its last finished epoch (or its Ctrl-C step); on a
finished run it changes nothing. A folder left by a kill before the first epoch was saved (no
state.safetensors) is started over by --out. A --distributed run resumes under any number of
ranks, or in one process: the global batch changes, the lr schedule keeps its place.

BLAS runs one thread unless --threads or OPENBLAS_NUM_THREADS / OMP_NUM_THREADS / MKL_NUM_THREADS
say otherwise, and Numba one unless --threads or NUMBA_NUM_THREADS do: faster for LeNet-sized
work on few cores. A run is repeatable for the same seed, thread count, BLAS kernel and
path (compiled kernels or NumPy); other thread counts, CPUs and paths round differently (the
default run, one thread: 98.75% on the NumPy path with OpenBLAS's SkylakeX kernel and its
Haswell kernel alike; with the compiled kernels of the 'fast' extra 98.80% and 98.75%)."""

COLUMNS = ("epoch", "train loss", "train acc", "test loss", "test acc", "seconds")


def _bounded(kind, low, strict):
    """An argparse type: text -> kind(text), which must be > low (strict) or >= low."""
    noun = "an integer" if kind is int else "a number"

    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {noun}") from None
        if value < low or (strict and value == low):
            raise argparse.ArgumentTypeError(f"must be {'>' if strict else '>='} {low}, got {text}")
        return value

    return parse


positive_int = _bounded(int, 1, strict=False)
positive_float = _bounded(float, 0, strict=True)
non_negative_int = _bounded(int, 0, strict=False)


def add_threads_option(parser):
    parser.add_argument(
        "--threads",
        type=non_negative_int,
        metavar="N",
        help="threads for BLAS and Numba (default 1, or what OPENBLAS_NUM_THREADS etc. say;"
        " 0: the libraries' own defaults)",
    )


def register(subparsers):
    d = TrainConfig()
    p = subparsers.add_parser(
        "train",
        help="train a CNN (default: LeNet-5 on the embedded digits)",
        description="Train a CNN, print one row per epoch, and write a run folder.",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--model", default=d.model, help="lenet or vgg (default lenet)")
    p.add_argument("--data", help="IDX folder or image folder (default: embedded digits)")
    p.add_argument("--epochs", type=positive_int, default=d.epochs, help=f"default {d.epochs}")
    p.add_argument(
        "--batch-size",
        type=positive_int,
        default=d.batch_size,
        help=f"default {d.batch_size} (per rank with --distributed)",
    )
    p.add_argument(
        "--lr", type=positive_float, help="peak learning rate (default: adam 0.002, sgd 0.02)"
    )
    p.add_argument("--optimizer", choices=("adam", "sgd"), default=d.optimizer, help="default adam")
    p.add_argument(
        "--schedule", choices=("cosine", "constant"), default=d.schedule, help="default cosine"
    )
    p.add_argument(
        "--seed", type=int, default=d.seed, help="seeds weights and shuffling (default 0)"
    )
    p.add_argument(
        "--limit",
        type=positive_int,
        metavar="N",
        help="use only the first N train and N test images",
    )
    p.add_argument("--out", help="run folder (default runs/<model>-<date>-<time>)")
    p.add_argument(
        "--resume",
        metavar="RUN",
        help="continue the run saved in folder RUN, with its saved settings",
    )
    p.add_argument(
        "--distributed",
        action="store_true",
        help="train on every rank of an MPI launch: mpiexec -n N convscope train --distributed"
        " (pip install 'convscope[distributed]'). --batch-size is per rank: a step averages the"
        " gradients of N batches, N x batch-size images. --batch-size B/N with the same --lr"
        " repeats the one-process run at batch B; with N times the batch, SGD usually wants"
        " about N times the --lr (Adam less)",
    )
    add_threads_option(p)
    p.set_defaults(func=run)


def run(args):
    if not args.distributed:
        return _run(args, None)
    from ..distributed import init

    world = init(what="--distributed")
    if world.size == 1:
        return _run(args, world)
    try:  # a rank that fails alone must not leave the others waiting in a collective
        return _run(args, world)
    except KeyboardInterrupt:
        world.abort("error: interrupted", 130)
    except (ConvscopeError, OSError) as exc:
        world.abort(f"error: {exc}", 2)


def _run(args, world):
    if args.resume:
        session = Session.resume(args.resume, threads=args.threads, world=world)
        if session.complete:
            if session.world.is_main:
                last = session.history[-1]
                print(
                    f"{args.resume}: the run is complete ({len(session.history)} of"
                    f" {session.config.epochs} epochs, test accuracy {last['test_acc']:.4f});"
                    f" nothing to resume"
                )
            return 0
    else:
        config = _config(args)
        out = args.out if args.out is not None else default_run_folder(config.model)
        session = Session.new(
            config, data=args.data, limit=args.limit, threads=args.threads, out=out, world=world
        )
    with session:
        return _train(session)


def _train(session):
    config, out, show = session.config, session.folder, session.world.is_main
    if show and not session.resuming and out.unfinished:
        print(f"note: {out} holds no saved epoch (no state.safetensors): starting it over", file=sys.stderr)  # fmt: skip
    if show:
        where = session.setup["data"] or "the embedded digits"
        print(
            f"{'resuming' if session.resuming else 'training'} {config.model} on {where}"
            f" ({len(session.train_set)} train / {len(session.test_set)} test), {config.optimizer}"
            f" lr {config.base_lr:g} {config.schedule}, {config.epochs} epochs, batch"
            f" {_batch(config, session.world)} -> {out}"
        )
        print("  ".join(f"{c:>10}" for c in COLUMNS))
        for row in session.history:
            _print_row(row)
    stop = _StopFlag()
    with stop:
        stopped = _consume(session.train(stop), session, show)
    progress = session.progress
    if stopped:
        if show:
            print(
                f"interrupted in epoch {progress.epoch + 1} after step {progress.step}; saved to"
                f" {out}; continue with: {_command(session.world)} --resume {out}",
                file=sys.stderr,
            )
        return 130
    if show:
        print(f"test accuracy: {session.history[-1]['test_acc']:.4f}  (run folder: {out})")
    return 0


def _batch(config, world):
    if world.size == 1:
        return str(config.batch_size)
    return f"{config.batch_size} per rank x {world.size} ranks = {config.batch_size * world.size}"


def _command(world):
    if world.size == 1:
        return "convscope train"
    return f"mpiexec -n {world.size} convscope train --distributed"


def _consume(events, session, show):
    """Print a row per epoch and a progress bar on a terminal; True when the run was stopped."""
    from tqdm import tqdm

    quiet = not (show and sys.stderr.isatty() and sys.stdout.isatty())
    n_images, batch, bar = session.images_per_epoch, session.config.batch_size, None
    for event in events:
        if isinstance(event, StepEvent):
            # this process's images of the epoch, from its step (a resumed distributed run's
            # running sums count every rank's images, this bar counts this rank's)
            done = min(n_images, event.step * batch)
            if bar is None:
                bar = tqdm(
                    total=n_images,
                    initial=min(n_images, (event.step - 1) * batch),
                    desc=f"epoch {event.epoch}/{session.config.epochs}",
                    unit="img",
                    leave=False,
                    disable=quiet,
                )
            bar.set_postfix(
                loss=f"{event.running_loss:.4f}", acc=f"{event.running_acc:.4f}", refresh=False
            )
            bar.update(done - bar.n)
        elif isinstance(event, EpochEvent | Stopped):
            if bar is not None:
                bar.close()
                bar = None
            if isinstance(event, Stopped):
                return True
            if show:
                _print_row(event.as_dict())
    return False


def _print_row(row):
    print(
        f"{row['epoch']:>10}  {row['train_loss']:>10.4f}  {row['train_acc']:>10.4f}"
        f"  {row['test_loss']:>10.4f}  {row['test_acc']:>10.4f}  {row['seconds']:>10.1f}",
        flush=True,
    )


class _StopFlag:
    """Within ``with``: the first Ctrl-C asks the loop to stop after its step; the second aborts."""

    def __init__(self):
        self.requested = False
        self._previous = None

    def __call__(self):
        return self.requested

    def _handle(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __enter__(self):
        self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc):
        signal.signal(signal.SIGINT, self._previous)


def _config(args):
    return TrainConfig(
        model=canonical_name(args.model),
        epochs=args.epochs,
        batch_size=args.batch_size,
        optimizer=args.optimizer,
        lr=args.lr,
        schedule=args.schedule,
        seed=args.seed,
    )
