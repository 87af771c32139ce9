"""``convscope explain TOPIC``: every step of a CNN, forward and backward, with real numbers.

The topics live in ``convscope.explain``; this module reads the options, prints the trace and
writes the files (--png, --gif, --json).
"""

import argparse
import os
import re
import sys

from .files import write_file as _write

TOPIC_HELP = {
    "image": "an image as its (C, H, W) intensity matrix",
    "conv": "each output element as the sum of products that makes it",
    "shape": "the output-size formula with the numbers filled in",
    "stride": "stride S = stride 1 with the intermediate outputs dropped",
    "padding": "the padded input and how it grows or keeps the output size",
    "channels": "multi-channel input, several filters: maps, sums, bias",
    "pool": "max/mean/min pooling per window, and where the gradient goes",
    "chain": "the chain rule on a small scalar graph",
    "backward": "dL/dW and dL/dX of a conv layer, term by term, checked",
}

EXAMPLES = """topics:
{topics}

examples (one per topic):
  convscope explain image --input digit.png
  convscope explain conv --input "0 2 -3; -2 -2 -2; 1 0 1" --kernel "1 0; 0 -1" --bias 1
  convscope explain conv --at 1,1 --padding 1 --png conv.png --gif conv.gif
  convscope explain shape --input 28 --kernel 5 --stride 2 --padding 2
  convscope explain stride --stride 2 --size 5 --kernel-size 3
  convscope explain padding --padding same --input "1 2; 3 4" --kernel "1 1 1; 1 0 1; 1 1 1"
  convscope explain channels --channels 3 --filters 2
  convscope explain pool --mode max --input "1 3 2 4; 5 6 1 2; 7 2 3 0; 1 2 8 1" --grad "1 2; 3 4"
  convscope explain chain --expr "(x + y) * z" --values "x=-2, y=5, z=-4"
  convscope explain backward --input "1 2 3; 4 5 6; 7 8 9" --kernel "1 0; -1 2" --grad "1 -1; 2 0"

Matrices (--input, --kernel, --bias, --grad): inline, rows split by ';', values by spaces,
channels by '|', filters by '||' (e.g. "1 2; 3 4 | 5 6; 7 8"); or a .npy file; or an image
file (PNG, JPEG, ...). Left out, they are seeded random integers (--seed, --size, --kernel-size).
Indices are 0-based, as in NumPy. Colour marks only on a terminal (NO_COLOR turns them off)."""

# Which options each topic reads (argparse dest names); any other given option is an error.
OPTIONS = {
    "image": {"input"},
    "conv": {
        "input",
        "kernel",
        "bias",
        "stride",
        "padding",
        "dilation",
        "at",
        "seed",
        "size",
        "kernel_size",
    },  # fmt: skip
    "shape": {"input", "kernel", "size", "kernel_size", "stride", "padding", "dilation"},
    "channels": {
        "input",
        "kernel",
        "bias",
        "stride",
        "padding",
        "dilation",
        "seed",
        "size",
        "kernel_size",
        "channels",
        "filters",
    },  # fmt: skip
    "pool": {
        "input",
        "grad",
        "kernel_size",
        "stride",
        "padding",
        "mode",
        "at",
        "seed",
        "size",
        "channels",
    },  # fmt: skip
    "chain": {"expr", "values"},
    "backward": {
        "input",
        "kernel",
        "grad",
        "bias",
        "stride",
        "padding",
        "seed",
        "size",
        "kernel_size",
    },  # fmt: skip
}
OPTIONS["stride"] = OPTIONS["padding"] = OPTIONS["conv"]
TOPIC_ARGS = {"expr", "values"} | set().union(*OPTIONS.values())


def pair(text, least=1):
    """'28' -> 28; '32x28' or '32,28' -> (32, 28); every number must be >= ``least``."""
    parts = re.split(r"[x,]", text.strip().lower())
    try:
        values = [int(v) for v in parts]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an integer or HxW (e.g. 3 or 5x3)"
        ) from None
    if len(values) > 2:
        raise argparse.ArgumentTypeError(f"{text!r}: give one number or two (HxW)")
    if min(values) < least:
        raise argparse.ArgumentTypeError(f"{text!r}: {_at_least(least)}")
    return values[0] if len(values) == 1 else tuple(values)


def padding_arg(text):
    """An integer >= 0, HxW, 'same' or 'valid'."""
    return text if text in ("same", "valid") else pair(text, least=0)


def count(text, least=1):
    """An integer >= ``least`` (--channels, --filters)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer (e.g. 3)") from None
    if value < least:
        raise argparse.ArgumentTypeError(f"{text!r}: {_at_least(least)}")
    return value


def seed(text):
    """An integer >= 0 (NumPy's generators take no negative seeds)."""
    return count(text, least=0)


def _at_least(least):
    return "must be 1 or more" if least == 1 else "must be 0 or more"


def cell(text):
    """'1,2' -> (1, 2), both >= 0 (0-based)."""
    try:
        i, j = (int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a cell 'i,j' (e.g. 1,1)") from None
    if min(i, j) < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: indices are 0-based, 0 or more (e.g. 0,1)")
    return (i, j)


def register(subparsers):
    topics = "\n".join(f"  {name:9} {text}" for name, text in TOPIC_HELP.items())
    p = subparsers.add_parser(
        "explain",
        help="see each step of a CNN, forward and backward, with real numbers",
        description="Explain one concept of a CNN step by step on real numbers, checked"
        " against the engine.",
        epilog=EXAMPLES.format(topics=topics),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "topic", choices=list(TOPIC_HELP), metavar="TOPIC", help="one of: " + ", ".join(TOPIC_HELP)
    )
    add = p.add_argument
    add("--input", help='input matrix, .npy or image file, e.g. "0 2 -3; -2 -2 -2; 1 0 1"')
    add("--kernel", help='kernel (filters for channels), e.g. "1 0; 0 -1" or "1 0; 0 1 | 0 1; 1 0"')
    add("--bias", help='bias: one number per filter, e.g. 1 (channels: "1 -1")')
    add("--grad", help='upstream gradient dL/dO (backward, pool), e.g. "1 -1; 2 0"')
    add("--stride", type=pair, help="stride, e.g. 2 (default 1; stride topic 2; pool = window)")
    add(
        "--padding", type=padding_arg, help="zeros per side: an integer, HxW, same or valid, e.g. 1"
    )
    add("--dilation", type=pair, help="spacing of kernel taps, e.g. 2 (default 1)")
    add("--size", type=pair, help="size of the random default input, e.g. 28 or 5x6")
    add("--kernel-size", type=pair, help="random kernel / pool window size, e.g. 3")
    add("--channels", type=count, help="input channels of the random default, e.g. 3")
    add("--filters", type=count, help="number of filters (channels topic), e.g. 2")
    add(
        "--mode", choices=("max", "mean", "min"), help="pooling: max, mean or min, e.g. --mode mean"
    )
    add("--at", type=cell, help="explain one output cell only, e.g. 1,1 (0-based)")
    add("--expr", help='chain: the expression, e.g. "(x + y) * z"')
    add("--values", help='chain: the inputs, e.g. "x=-2, y=5, z=-4"')
    add("--seed", type=seed, help="seed of the random defaults, e.g. 3 (default 0)")
    add("--png", metavar="FILE", help="write a figure of the step, e.g. conv.png")
    add(
        "--gif",
        metavar="FILE",
        help="write an animation, one frame per output element, e.g. conv.gif",
    )
    add("--json", metavar="FILE", help="write the trace as JSON (final result under 'output')")
    p.set_defaults(func=run)


def run(args):
    import numpy as np

    from .. import explain
    from ..errors import ConvscopeError

    given = {k for k in TOPIC_ARGS if getattr(args, k, None) is not None}
    unused = given - OPTIONS[args.topic]
    if unused:
        flags = ", ".join(_flag(k) for k in sorted(unused))
        reads = ", ".join(_flag(k) for k in sorted(OPTIONS[args.topic]))
        verb = "does" if len(unused) == 1 else "do"
        raise ConvscopeError(
            f"explain {args.topic}: {flags} {verb} not apply to this topic; it reads {reads}"
        )
    files = explain.unsupported_files(args.topic, png=bool(args.png), gif=bool(args.gif))
    if files:
        raise ConvscopeError(files)
    kwargs = {k: getattr(args, k) for k in given}
    if args.topic == "shape":
        kwargs = _shape_kwargs(kwargs)
    elif args.topic == "chain":
        kwargs = _chain_kwargs(kwargs)
    trace = getattr(explain, args.topic)(**kwargs)
    if args.gif:
        from ..explain.animation import check_animation

        check_animation(trace)  # refuse an overlong animation before printing anything
    color = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    with np.errstate(all="ignore"):
        sys.stdout.write(explain.render_text(trace, color=color))
        _write(args.png, lambda: explain.render_png(trace), "figure")
        frames = trace.animation.frames if trace.animation else 0
        _write(args.gif, lambda: explain.render_gif(trace), f"{frames} frames")
        _write(args.json, lambda: trace.to_json().encode(), "trace")
    if args.topic == "shape" and trace.output is None:
        why = "; ".join(trace.steps[-1].operands["invalid"])
        print(
            f"error: explain shape: invalid configuration (explained above): {why}", file=sys.stderr
        )
        return 2
    if not trace.ok:
        print("error: a check against the engine failed (see above)", file=sys.stderr)
        return 1
    return 0


def _flag(dest):
    return "--" + dest.replace("_", "-")


def _shape_kwargs(kwargs):
    """--input/--kernel as sizes (28, 32x28) or as matrices/files whose shape is used."""
    from ..explain.matrix import load

    out = {k: v for k, v in kwargs.items() if k not in ("input", "kernel")}
    for opt, key in (("input", "size"), ("kernel", "kernel_size")):
        if opt in kwargs:
            try:
                out[key] = pair(kwargs[opt])
            except argparse.ArgumentTypeError:
                out[key] = load(kwargs[opt], opt).shape[-2:]
    return out


def _chain_kwargs(kwargs):
    from ..explain.chain_rule import DEFAULT_EXPR, parse_values

    out = {"expr": kwargs.get("expr", DEFAULT_EXPR)}
    if "values" in kwargs:
        out["values"] = parse_values(kwargs["values"])
    return out
