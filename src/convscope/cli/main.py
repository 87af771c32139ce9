"""The ``convscope`` command: one sub-command per module in this package.

Each sub-command module exposes ``register(subparsers)``, which adds its parser and
sets ``func=run`` (a callable taking the parsed args and returning an exit status).
Any ConvscopeError or OSError becomes one line on stderr and exit status 2. When the reader
of stdout goes away (``convscope explain conv | head``) the command stops quietly with status
141, as a Unix tool killed by SIGPIPE does.
"""

import argparse
import importlib
import os
import sys

from .. import __version__
from ..errors import ConvscopeError

COMMANDS = ("train", "eval", "predict", "summary", "shape", "explain", "inspect", "export", "serve")

EXAMPLES = """examples (one per command; 'convscope COMMAND --help' shows more):
  convscope train                                   # LeNet-5 on the embedded digits: 98.7% (seed 0)
  convscope eval --checkpoint runs/lenet-20260101-120000
  convscope predict seven.png --checkpoint runs/lenet-20260101-120000
  convscope summary --model lenet
  convscope shape --input 28 --kernel 5 --padding 2
  convscope explain conv --at 1,1 --padding 1
  convscope inspect saliency --input seven.png --png saliency.png
  convscope export --checkpoint runs/lenet-20260101-120000 --onnx lenet.onnx
  convscope serve --open                            # the model forward and backward in the browser"""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse's own errors: one line, status 2
        raise SystemExit(_fail(f"{self.prog}: {message}"))


def _fail(message):
    print(f"error: {message}", file=sys.stderr)
    return 2


def build_parser():
    parser = _Parser(
        prog="convscope",
        description="Train small CNNs in NumPy and see every step, forward and backward.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"convscope {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMANDS:
        try:
            module = importlib.import_module(f".{name}", __package__)
        except ModuleNotFoundError as exc:
            if exc.name != f"{__package__}.{name}":
                raise
            continue  # a sub-command not built yet
        module.register(sub)
    return parser


def main(argv=None):
    try:
        try:
            return _run(argv)
        finally:
            sys.stdout.flush()  # a closed pipe shows here, not at interpreter exit
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # what is still buffered goes nowhere
        return 128 + 13  # SIGPIPE


def _run(argv):
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return _fail("interrupted")
    except BrokenPipeError:
        raise
    except (ConvscopeError, OSError) as exc:
        return _fail(str(exc))


if __name__ == "__main__":
    sys.exit(main())
