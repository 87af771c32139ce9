"""The --checkpoint option every command that runs a trained model shares."""

import sys

from ..train import load_model
from ..train.locate import find_checkpoint

HELP = (
    "model.safetensors, a run folder or an ONNX file (default: the newest run under ./runs,"
    " else the LeNet-5 bundled with convscope)"
)


def add_checkpoint_option(parser):
    parser.add_argument("--checkpoint", help=HELP)


def open_checkpoint(args):
    """(model, facts) of --checkpoint or the default; names the default on stderr."""
    path = find_checkpoint(args.checkpoint)
    if args.checkpoint is None:
        print(f"checkpoint: {path}", file=sys.stderr)
    return load_model(path)
