"""``convscope shape``: the output-size calculator, with the formula and its numbers."""

import argparse

from ..ops.geometry import formula, output_size, same_padding

EXAMPLE = """examples:
  convscope shape --input 28 --kernel 5 --padding 2
  convscope shape --input 32x28 --kernel 3 --stride 2 --padding 1 --dilation 2
  convscope shape --input 28 --kernel 4 --padding same

out = floor((in + 2*padding - dilation*(kernel-1) - 1) / stride) + 1, per spatial axis.
Sizes are one integer or HxW (e.g. 32x28 = height 32, width 28). --padding same (stride 1 only)
pads each axis by dilation*(kernel-1) zeros in all, half before and the odd one after (as
PyTorch), so out = in; --padding valid is padding 0."""


def sizes(what, example):
    """An argparse type for one option: '28' -> (28,); '32x28' -> (32, 28)."""

    def parse(text):
        try:
            values = tuple(int(v) for v in text.lower().split("x"))
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what} (e.g. {example})") from None
        if len(values) > 2:
            raise argparse.ArgumentTypeError(f"{text!r}: give one size or two (HxW)")
        return values

    return parse


INPUT = sizes("an integer or HxW", "28 or 32x28")
KERNEL = sizes("a kernel size K or KHxKW", "5 or 5x3")
STRIDE = sizes("a stride S or SHxSW", "2 or 2x1")
DILATION = sizes("a dilation D or DHxDW", "2 or 2x1")
_PADDING = sizes("a padding: an integer, HxW, 'same' or 'valid'", "2, 2x1 or same")


def padding(text):
    """'same' | 'valid' | zeros per side as for the other sizes."""
    return text.lower() if text.lower() in ("same", "valid") else _PADDING(text)


def register(subparsers):
    p = subparsers.add_parser(
        "shape",
        help="output size of a conv/pool layer, with the formula",
        description="Compute a convolution or pooling layer's output size and show the formula.",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--input", type=INPUT, required=True, help="input size: N or HxW")
    p.add_argument("--kernel", type=KERNEL, required=True, help="kernel size: K or KHxKW")
    p.add_argument("--stride", type=STRIDE, default=(1,), help="stride (default 1)")
    p.add_argument(
        "--padding",
        type=padding,
        default=(0,),
        help="zero padding per side: P, PHxPW, same or valid (default 0)",
    )
    p.add_argument("--dilation", type=DILATION, default=(1,), help="dilation (default 1)")
    p.add_argument("--ceil-mode", action="store_true", help="round up instead of down (pooling)")
    p.set_defaults(func=run)


def run(args):
    pad = (0,) if args.padding == "valid" else args.padding
    given = [args.input, args.kernel, args.stride, args.dilation]
    n = max(len(v) for v in given + ([] if pad == "same" else [pad]))
    size, kernel, stride, dilation = (_axis(v, n) for v in given)
    if pad == "same":
        pads = same_padding("shape", kernel, stride, dilation)
        print(f"padding 'same': {_same_note(pads, kernel, dilation)}")
    else:
        pads = [(p, p) for p in _axis(pad, n)]
    axes = ("height", "width") if n == 2 else ("out",)
    results = []
    for name, n_in, k, s, (before, after), d in zip(
        axes, size, kernel, stride, pads, dilation, strict=True
    ):
        label = f"{name}:" if n == 2 else "out ="
        if before == after:
            out = output_size(
                n_in, k, stride=s, padding=before, dilation=d, ceil_mode=args.ceil_mode
            )
            text = formula(n_in, k, s, before, d, args.ceil_mode)
        else:  # 'same' at stride 1: out == in
            out = (n_in + before + after - d * (k - 1) - 1) // s + 1
            text = f"floor(({n_in} + {before} + {after} - {d}*({k}-1) - 1) / {s}) + 1 = {out}"
        print(f"{label:8}{text}")
        results.append(out)
    print(f"output: {'x'.join(map(str, results))}")
    return 0


def _same_note(pads, kernel, dilation):
    parts = [
        f"{d}*({k}-1) = {b + a} zeros: {b} before, {a} after"
        for (b, a), k, d in zip(pads, kernel, dilation, strict=True)
    ]
    uneven = any(b != a for b, a in pads)
    return "; ".join(dict.fromkeys(parts)) + (
        " (the odd one after, as in PyTorch)" if uneven else ""
    )


def _axis(values, n):
    return values * n if len(values) == 1 else values
