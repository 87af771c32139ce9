"""``convscope shape``: the output-size calculator, with the formula and its numbers.

Its options are ``explain shape``'s (``explain.topics.SHAPE_OPTIONS``, one declaration) and its
numbers, formulas and errors come from ``ops.geometry``, as the ``explain shape`` trace's do:
this is the same concept in one line per axis.
"""

import argparse

from .explain import add_options

EXAMPLE = """examples:
  convscope shape --input 28 --kernel 5 --padding 2
  convscope shape --input 32x28 --kernel 3 --stride 2 --padding 1 --dilation 2
  convscope shape --input 28 --kernel 4 --padding same

out = floor((in + 2*padding - dilation*(kernel-1) - 1) / stride) + 1, per spatial axis.
Sizes are one integer or HxW (e.g. 32x28 = height 32, width 28). --padding same (stride 1 only)
pads each axis by dilation*(kernel-1) zeros in all, half before and the odd one after (as
PyTorch), so out = in; --padding valid is padding 0. 'convscope explain shape' explains each
number."""


def register(subparsers):
    from ..explain.topics import SHAPE_OPTIONS

    p = subparsers.add_parser(
        "shape",
        help="output size of a conv/pool layer, with the formula",
        description="Compute a convolution or pooling layer's output size and show the formula.",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_options(p, SHAPE_OPTIONS, required=("--input", "--kernel"))
    p.set_defaults(func=run)


def run(args):
    from ..ops.geometry import Axis, resolve_pads

    given = [args.size, args.kernel_size, args.stride or 1, args.dilation or 1]
    padding = 0 if args.padding in (None, "valid") else args.padding
    n = max(len(_tuple(v)) for v in given + ([] if padding == "same" else [padding]))
    size, kernel, stride, dilation = (_axis(v, n) for v in given)
    pads = resolve_pads("shape", padding if padding == "same" else _axis(padding, n), kernel,
                        stride, dilation)  # fmt: skip
    dims = zip(size, kernel, stride, pads, dilation, strict=True)
    axes = [Axis(*dim, bool(args.ceil_mode)).check("shape", i) for i, dim in enumerate(dims)]
    if padding == "same":
        print(f"padding 'same': {_same_note(pads, kernel, dilation)}")
    names = ("height:", "width:") if n == 2 else ("out =",)
    for name, axis in zip(names, axes, strict=True):
        print(f"{name:8}{axis.formula()}")
    print(f"output: {'x'.join(str(a.out) for a in axes)}")
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


def _tuple(value):
    return tuple(value) if isinstance(value, tuple) else (value,)


def _axis(value, n):
    values = _tuple(value)
    return values * n if len(values) == 1 else values
