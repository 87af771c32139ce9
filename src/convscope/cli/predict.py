"""``convscope predict``: the top-3 classes of pictures of digits, prepared the way MNIST was."""

import argparse
import json

import numpy as np

from ..data import Normalize, load_image
from ..train import predict_logits, require_finite
from .checkpoint import add_checkpoint_option, open_checkpoint

EXAMPLE = """examples:
  convscope predict seven.png --checkpoint runs/lenet-20260101-120000
  convscope predict a.png b.jpg --checkpoint model.safetensors --json

Each image (any colour mode or bit depth, light or dark background, up to 25 megapixels; a
larger JPEG is decoded at a reduced scale) is converted as MNIST digits were made: grayscale,
dark background, digit fitted into 20x20 and centred by mass in 28x28, then normalised as the
checkpoint's training data was (MNIST's 0.1307 / 0.3081 for a PyTorch file).
'convscope eval --data DIR' converts the images of a folder the same way."""


def register(subparsers):
    p = subparsers.add_parser(
        "predict",
        help="classify PNG/JPEG pictures of digits with a checkpoint",
        description="Predict the class of each image: the top-3 classes with probabilities.",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("images", nargs="+", metavar="IMAGE", help="PNG or JPEG files")
    add_checkpoint_option(p)
    p.add_argument("--json", action="store_true", help="print a JSON list instead of text")
    p.add_argument("--top", type=int, default=3, help="how many classes to show (default 3)")
    p.set_defaults(func=run)


def run(args):
    model, facts = open_checkpoint(args)
    norm, shape, classes = facts["normalize"], facts["input_shape"], facts["classes"]
    pixels = np.stack([load_image(path, shape) for path in args.images])  # all read before output
    logits = predict_logits(model, Normalize(norm["mean"], norm["std"])(pixels))
    require_finite(logits, model, args.images)
    probs = _softmax(logits)
    results = []
    for path, p in zip(args.images, probs, strict=True):
        best = np.argsort(-p, kind="stable")[: max(1, args.top)]
        results.append(
            {"file": path, "top": [[_label(classes[c]), round(float(p[c]), 6)] for c in best]}
        )
    if args.json:
        print(json.dumps(results, allow_nan=False))
    else:
        for r in results:
            print(f"{r['file']}: " + "  ".join(f"{label} ({prob:.3f})" for label, prob in r["top"]))
    return 0


def _softmax(logits):
    z = np.exp(logits - logits.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def _label(name):
    return int(name) if name.isdigit() else name
