"""``convscope summary``: a torchinfo-style table with each layer's receptive field."""

import argparse

from ..errors import ShapeError
from ..models import canonical_name, get_model
from ..models.summary import summarize
from ..train import load_model

EXAMPLE = """examples:
  convscope summary --model lenet
  convscope summary --model vgg --input 1x28x28
  convscope summary --checkpoint runs/lenet-20260101-120000

Mult-adds are per image (conv: outputs x in_channels/groups x kH x kW; transposed conv:
inputs x out_channels/groups x kH x kW; linear: in x out). The receptive field is the input
window (height x width) one output value of the layer sees, away from the borders (after an
upsampling layer or a transposed conv: the most any one sees).
--input defaults to the input the model is built for (lenet and vgg: 1x28x28)."""


def input_shape(text):
    try:
        shape = tuple(int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not CxHxW (e.g. 1x28x28)") from None
    if len(shape) != 3 or min(shape) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give three positive sizes CxHxW")
    return shape


def register(subparsers):
    p = subparsers.add_parser(
        "summary",
        help="layers, output shapes, parameters, mult-adds and receptive fields",
        description="Print a model's layers with output shape, parameters, multiply-adds and"
        " receptive field, and the totals.",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--model", default="lenet", help="lenet or vgg (default lenet)")
    p.add_argument("--checkpoint", help="summarise the model stored in this checkpoint instead")
    p.add_argument(
        "--input", type=input_shape, help="CxHxW (default: the model's input, 1x28x28 for lenet)"
    )
    p.set_defaults(func=run)


def run(args):
    if args.checkpoint:
        model, facts = load_model(args.checkpoint)
        name = facts["model"]
    else:
        name = canonical_name(args.model)
        model = get_model(name)
    expected = tuple(model.input_shape)
    shape = args.input or expected
    try:
        rows, totals = summarize(model, shape)
    except ShapeError:
        if shape == expected:
            raise
        raise ShapeError(
            f"summary: {name} expects {_chw(expected)} input, got {_chw(shape)};"
            f" use --input {_chw(expected)} (or leave --input out)"
        ) from None
    table = [("Layer (type)", "Output shape", "Param #", "Mult-adds", "Receptive field")]
    for r in rows:
        rf = "x".join(map(str, r.receptive_field)) if r.receptive_field else "whole input"
        table.append(
            (
                f"{r.name} ({r.kind})",
                str(list(r.output_shape)),
                f"{r.params:,}",
                f"{r.mult_adds:,}",
                rf,
            )
        )
    widths = [max(len(row[i]) for row in table) for i in range(5)]
    rule = "=" * (sum(widths) + 8)
    print(f"{name}  input {list(totals.input_shape)}")
    print(rule)
    for i, row in enumerate(table):
        cells = [row[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)
        ]
        print("  ".join(cells))
        if i == 0:
            print(rule)
    print(rule)
    print(f"Total params: {totals.params:,}")
    print(f"Trainable params: {totals.trainable:,}")
    print(f"Non-trainable params: {totals.params - totals.trainable:,}")
    print(f"Total mult-adds per image: {totals.mult_adds:,} ({totals.mult_adds / 1e6:.2f} M)")
    print(f"Params size (float32): {totals.params * 4 / 1e6:.2f} MB")
    print(rule)
    return 0


def _chw(shape):
    return "x".join(map(str, shape))
