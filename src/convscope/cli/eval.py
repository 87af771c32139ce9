"""``convscope eval``: accuracy of a checkpoint, per class and overall (the last line)."""

import argparse
import math

import numpy as np

from ..data import DataLoader, Normalize, open_eval_data
from ..errors import CheckpointError, DataError
from ..train import evaluate
from ..train.evaluation import why_not_finite
from ..train.threads import apply_thread_policy
from .checkpoint import add_checkpoint_option, open_checkpoint
from .train import add_threads_option

EXAMPLE = """examples:
  convscope eval --checkpoint runs/lenet-20260101-120000/model.safetensors
  convscope eval --checkpoint runs/lenet-20260101-120000 --data ~/data/MNIST
  convscope eval --checkpoint lenet_from_torch.safetensors --data my_digits/   # my_digits/0/*.png ...

Without --data: the 2,000 held-out embedded digits. An IDX folder is scored on its t10k files
(or train files if there are none); an image folder (or its test/ sub-folder) on every image,
labelled by sub-folder name: each sub-folder must be named by a class of the model (0-9 for a
digit model). Images are converted as 'convscope predict' converts them (for a 1x28x28 digit
model: grayscale, dark background, fitted into 20x20, centred by mass), so both agree.
The last line is always 'accuracy: 0.XXXX'. A checkpoint saved by PyTorch (no convscope metadata)
is taken to expect MNIST-normalised input, (pixel/255 - 0.1307) / 0.3081."""


def register(subparsers):
    p = subparsers.add_parser(
        "eval",
        help="accuracy of a checkpoint on the held-out digits or your data",
        description="Evaluate a checkpoint: per-class accuracy, then the overall accuracy.",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_checkpoint_option(p)
    p.add_argument("--data", help="IDX folder or image folder (default: embedded test digits)")
    p.add_argument("--batch-size", type=int, default=500, help="default 500")
    add_threads_option(p)
    p.set_defaults(func=run)


def run(args):
    apply_thread_policy(args.threads)
    model, facts = open_checkpoint(args)
    shape, classes = tuple(facts["input_shape"]), facts["classes"]
    data = open_eval_data(args.data, size=shape[1:], channels=shape[0], classes=classes)
    if tuple(data.sample_shape) != shape:
        raise DataError(f"{args.data}: images are {data.sample_shape}, the model expects {shape}")
    if len(data) == 0:
        raise DataError(f"{args.data}: no images to evaluate")
    if data.labels.max() >= len(classes):
        raise DataError(
            f"{args.data}: labels go up to {data.labels.max()}, but the model knows"
            f" {len(classes)} classes (labels 0-{len(classes) - 1})"
        )
    data.transform = Normalize(facts["normalize"]["mean"], facts["normalize"]["std"])
    loader = DataLoader(data, max(1, args.batch_size))
    loss, acc, correct, total = evaluate(model, loader, num_classes=len(classes))
    if not math.isfinite(loss):
        raise CheckpointError(
            f"the model outputs NaN or inf on these images, so it has no accuracy:"
            f" {why_not_finite(model)}"
        )
    print(f"{len(data)} images, {facts['model']}, loss {loss:.4f}")
    print(f"{'class':>8}  {'correct':>8}  {'total':>6}  {'accuracy':>8}")
    for c in np.flatnonzero(total):
        print(f"{classes[c]:>8}  {correct[c]:>8}  {total[c]:>6}  {correct[c] / total[c]:>8.4f}")
    print(f"accuracy: {acc:.4f}")
    return 0
