"""``convscope shape``: the output-size calculator, with the formula and its numbers."""

import argparse

from ..ops.shapes import formula, output_size

EXAMPLE = """examples:
  convscope shape --input 28 --kernel 5 --padding 2
  convscope shape --input 32x28 --kernel 3 --stride 2 --padding 1 --dilation 2

out = floor((in + 2*padding - dilation*(kernel-1) - 1) / stride) + 1, per spatial axis.
Sizes are one integer or HxW (e.g. 32x28 = height 32, width 28)."""


def sizes(text):
    """'28' -> (28,); '32x28' -> (32, 28)."""
    try:
        values = tuple(int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an integer or HxW (e.g. 28 or 32x28)"
        ) from None
    if len(values) > 2:
        raise argparse.ArgumentTypeError(f"{text!r}: give one size or two (HxW)")
    return values


def register(subparsers):
    p = subparsers.add_parser(
        "shape",
        help="output size of a conv/pool layer, with the formula",
        description="Compute a convolution or pooling layer's output size and show the formula.",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--input", type=sizes, required=True, help="input size: N or HxW")
    p.add_argument("--kernel", type=sizes, required=True, help="kernel size: K or KHxKW")
    p.add_argument("--stride", type=sizes, default=(1,), help="stride (default 1)")
    p.add_argument("--padding", type=sizes, default=(0,), help="zero padding per side (default 0)")
    p.add_argument("--dilation", type=sizes, default=(1,), help="dilation (default 1)")
    p.add_argument("--ceil-mode", action="store_true", help="round up instead of down (pooling)")
    p.set_defaults(func=run)


def run(args):
    n = max(
        len(args.input), len(args.kernel), len(args.stride), len(args.padding), len(args.dilation)
    )
    axes = ("height", "width") if n == 2 else ("out",)
    per_axis = [
        _axis(getattr(args, k), n) for k in ("input", "kernel", "stride", "padding", "dilation")
    ]
    results = []
    for name, (size, k, s, p, d) in zip(axes, zip(*per_axis, strict=True), strict=True):
        out = output_size(size, k, stride=s, padding=p, dilation=d, ceil_mode=args.ceil_mode)
        label = f"{name}:" if n == 2 else "out ="
        print(f"{label:8}{formula(size, k, s, p, d, args.ceil_mode)}")
        results.append(out)
    print(f"output: {'x'.join(map(str, results))}")
    return 0


def _axis(values, n):
    return values * n if len(values) == 1 else values
