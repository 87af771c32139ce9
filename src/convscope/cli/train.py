"""``convscope train``: train a CNN, show its progress, leave a run folder behind.

Run folder: model.safetensors (weights + metadata, loads in PyTorch too), metrics.jsonl (one
JSON object per epoch), curves.png, and state.safetensors (what --resume needs). Ctrl-C stops
after the step in progress, saves, and exits with status 130; a second Ctrl-C aborts at once.
"""

import argparse
import json
import signal
import sys
import time
from pathlib import Path

from .. import nn
from ..data import DataLoader, normalization, open_data
from ..errors import CheckpointError, ConvscopeError
from ..models import canonical_name, get_model
from ..train import EpochEvent, Progress, StepEvent, Stopped, TrainConfig, fit, load_state
from ..train.checkpoint import atomic_write, save_model, save_state
from ..train.state import capture, restore
from ..train.threads import env_sets_threads, limit_threads

EXAMPLE = """examples:
  convscope train                                  # LeNet-5 on the embedded digits: 98.7% (seed 0)
  convscope train --model vgg --epochs 3 --out runs/vgg
  convscope train --data ~/data/FashionMNIST --optimizer sgd --lr 0.02
  convscope train --resume runs/lenet-20260101-120000

--data takes a folder of IDX files (MNIST, Fashion-MNIST, KMNIST; .gz or raw; torchvision's
raw/ layout) or of images in one sub-folder per class (converted as 'convscope predict' converts
digits: grayscale, dark background, fitted into 20x20 and centred by mass in 28x28; with
train/ and test/ sub-folders those are the splits, otherwise 20% is held out). Nothing is
downloaded.

BLAS and Numba run one thread each unless --threads or OPENBLAS_NUM_THREADS / OMP_NUM_THREADS /
NUMBA_NUM_THREADS say otherwise: faster for LeNet-sized work on few cores. A run is repeatable
for the same seed and thread count; BLAS rounds differently with other thread counts (the
default run: 98.7% with 1 thread, 98.8% with --threads 2)."""

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


def apply_thread_policy(threads):
    """--threads N: limit BLAS and Numba to N threads; unset: 1 unless the environment chose."""
    if threads is None and not env_sets_threads():
        threads = 1
    if threads:
        limit_threads(threads)


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
        "--batch-size", type=positive_int, default=d.batch_size, help=f"default {d.batch_size}"
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
    add_threads_option(p)
    p.set_defaults(func=run)


def run(args):
    if args.resume:
        out = Path(args.resume)
        state = load_state(out / "state.safetensors")
        try:
            config, setup = TrainConfig(**state["config"]), state["setup"]
        except (KeyError, TypeError) as exc:
            raise CheckpointError(
                f"{out / 'state.safetensors'}: damaged settings ({exc})"
            ) from None
    else:
        state = None
        config = _config(args)
        setup = {"data": args.data, "limit": args.limit, "threads": args.threads}
        out = _run_folder(args.out, config.model)
    # BLAS rounds differently with another thread count: a resumed run keeps the saved one
    apply_thread_policy(args.threads if args.threads is not None else setup.get("threads"))

    train_set, test_set = open_data(setup["data"], seed=config.seed)
    if setup["limit"]:
        train_set = train_set.subset(range(min(setup["limit"], len(train_set))))
        test_set = test_set.subset(range(min(setup["limit"], len(test_set))))
    model_config = {"num_classes": len(train_set.classes)}
    nn.init.manual_seed(config.seed)
    model = get_model(config.model, **model_config)
    optimizer = config.build_optimizer(model.parameters())
    train_loader = DataLoader(train_set, config.batch_size, shuffle=True, seed=config.seed)
    test_loader = DataLoader(test_set, 500)
    progress, history = Progress(), []
    if state is not None:
        progress = restore(state, model, optimizer, out / "state.safetensors")
        history = state["history"]
    out.mkdir(parents=True, exist_ok=True)  # only once data and model are ready

    mean, std = normalization(train_set)
    facts = {
        "normalize": {"mean": mean, "std": std},
        "input_shape": list(train_set.sample_shape),
        "classes": list(train_set.classes),
    }
    where = setup["data"] or "the embedded digits"
    print(
        f"{'resuming' if state else 'training'} {config.model} on {where} ({len(train_set)} train /"
        f" {len(test_set)} test), {config.optimizer} lr {config.base_lr:g} {config.schedule},"
        f" {config.epochs} epochs, batch {config.batch_size} -> {out}"
    )
    print("  ".join(f"{c:>10}" for c in COLUMNS))
    for row in history:
        _print_row(row)

    def save():
        epoch = len(history)
        save_model(
            out / "model.safetensors", model, config.model, model_config, epoch=epoch, **facts
        )
        save_state(
            out / "state.safetensors",
            capture(
                model, optimizer, progress, config=config.as_dict(), setup=setup, history=history
            ),
        )

    stop = _StopFlag()
    events = fit(
        model,
        optimizer,
        train_loader,
        test_loader,
        config.epochs,
        lr_at=config.lr_schedule(len(train_loader)),
        progress=progress,
        should_stop=stop,
    )
    with stop:
        status = _consume(events, history, progress, train_loader, config, out, save)
    if status == 130:
        print(
            f"interrupted in epoch {progress.epoch + 1} after step {progress.step}; saved to {out};"
            f" continue with: convscope train --resume {out}",
            file=sys.stderr,
        )
        return 130
    _write_curves(out / "curves.png", history)
    print(f"test accuracy: {history[-1]['test_acc']:.4f}  (run folder: {out})")
    return 0


def _consume(events, history, progress, train_loader, config, out, save):
    from tqdm import tqdm

    quiet = not (sys.stderr.isatty() and sys.stdout.isatty())
    n_images = len(train_loader.dataset)
    bar = None
    for event in events:
        if isinstance(event, StepEvent):
            if bar is None:
                bar = tqdm(
                    total=n_images,
                    initial=min(n_images, progress.seen),
                    desc=f"epoch {event.epoch}/{config.epochs}",
                    unit="img",
                    leave=False,
                    disable=quiet,
                )
            bar.set_postfix(
                loss=f"{event.running_loss:.4f}", acc=f"{event.running_acc:.4f}", refresh=False
            )
            bar.update(progress.seen - bar.n)
        elif isinstance(event, EpochEvent):
            if bar is not None:
                bar.close()
                bar = None
            row = event.as_dict()
            history.append(row)
            save()
            atomic_write(
                out / "metrics.jsonl", "".join(json.dumps(r) + "\n" for r in history).encode()
            )
            _print_row(row)
        elif isinstance(event, Stopped):
            if bar is not None:
                bar.close()
            save()
            return 130
    return 0


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
    try:
        return TrainConfig(
            model=canonical_name(args.model),
            epochs=args.epochs,
            batch_size=args.batch_size,
            optimizer=args.optimizer,
            lr=args.lr,
            schedule=args.schedule,
            seed=args.seed,
        )
    except TypeError as exc:
        raise ConvscopeError(str(exc)) from None


def _run_folder(out, model):
    if out is None:
        out = Path("runs") / f"{model}-{time.strftime('%Y%m%d-%H%M%S')}"
    out = Path(out)
    if (out / "model.safetensors").exists() or (out / "state.safetensors").exists():
        raise ConvscopeError(
            f"{out} already holds a run; continue it with --resume {out} or pick another --out"
        )
    return out


def curves_figure(history):
    """A matplotlib figure: loss and accuracy per epoch (integer epoch ticks), train and test."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    epochs = [r["epoch"] for r in history]
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(9, 3.5))
    for split in ("train", "test"):
        ax_loss.plot(epochs, [r[f"{split}_loss"] for r in history], marker="o", label=split)
        ax_acc.plot(epochs, [r[f"{split}_acc"] for r in history], marker="o", label=split)
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy loss", title="loss")
    ax_acc.set(xlabel="epoch", ylabel="accuracy", title="accuracy")
    for ax in (ax_loss, ax_acc):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    return fig


def _write_curves(path, history):
    import matplotlib.pyplot as plt

    fig = curves_figure(history)
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    tmp.replace(path)
