"""``convscope export``: a checkpoint as an ONNX file (for onnxruntime, Netron, a phone, ...)."""

import argparse
from pathlib import Path

from ..onnx import DEFAULT_OPSET, MIN_OPSET, export
from .checkpoint import add_checkpoint_option, open_checkpoint

EXAMPLE = f"""examples:
  convscope export --onnx lenet.onnx                          # the newest run, else the bundled LeNet-5
  convscope export --checkpoint runs/lenet-20260101-120000 --onnx lenet.onnx --opset 17

The batch axis is dynamic ("batch"); the input is named "input" and the output "output". The
classes, the input normalisation and the input shape go into the file's metadata_props
(convscope.classes, convscope.normalize, convscope.input_shape), so --checkpoint lenet.onnx
works in eval, predict, summary, inspect and serve. Run it with onnxruntime:

  import onnxruntime
  session = onnxruntime.InferenceSession("lenet.onnx")
  logits = session.run(None, {{"input": images}})[0]        # images: float32 (N, 1, 28, 28)

opset: {MIN_OPSET} to the installed onnx's newest (default {DEFAULT_OPSET}); older opsets lack
GELU (20), circular padding (19), LayerNorm (17) and GroupNorm (21)."""

FACTS = ("model", "classes", "normalize", "input_shape", "config", "epoch")


def register(subparsers):
    p = subparsers.add_parser(
        "export",
        help="write a checkpoint as an ONNX file",
        description="Export a checkpoint to ONNX (needs the onnx package: pip install"
        " 'convscope[onnx]').",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_checkpoint_option(p)
    p.add_argument("--onnx", required=True, metavar="FILE", help="the ONNX file to write")
    p.add_argument("--opset", type=int, default=DEFAULT_OPSET, help=f"default {DEFAULT_OPSET}")
    p.set_defaults(func=run)


def run(args):
    model, facts = open_checkpoint(args)
    proto = export(
        model, args.onnx, opset=args.opset, facts={k: facts[k] for k in FACTS if k in facts}
    )
    params = sum(p.data.size for p in model.parameters())
    size = Path(args.onnx).stat().st_size
    print(
        f"wrote {args.onnx}: {facts['model']}, {params:,} parameters, {len(proto.graph.node)}"
        f" nodes, opset {args.opset}, {size / 1e3:,.1f} kB"
    )
    return 0
