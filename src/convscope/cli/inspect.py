"""``convscope inspect WHAT``: filters, feature maps, attributions and mistakes of a checkpoint.

The arrays come from ``convscope.inspect``; this module reads the options, prints a summary and
writes the files (--png: a matplotlib figure, --json: the arrays as nested lists).
"""

import argparse
import json

import numpy as np

from .. import inspect as ci
from ..data import MNIST_SHAPE, Normalize, load_digits, load_image, open_eval_data
from ..errors import ConvscopeError, DataError
from ..train import predict_logits
from ..train.threads import apply_thread_policy
from .checkpoint import add_checkpoint_option, open_checkpoint
from .files import write_file
from .train import add_threads_option

WHAT = {
    "filters": "a conv layer's learned kernels (default: the first conv layer)",
    "maps": "what every layer makes of the picture (its feature maps)",
    "saliency": "|d logit / d pixel|: the input gradient of the target class",
    "gradcam": "Grad-CAM: a conv layer's maps weighted by their mean gradient",
    "ig": "integrated gradients from a black image, with the convergence delta",
    "occlusion": "how far the logit falls when a window of the picture is blacked out",
    "confusion": "the confusion matrix over the held-out digits (or --data)",
    "mistakes": "the wrong predictions the model was surest of",
}
# the options each WHAT reads (argparse dest names) beyond --checkpoint, --png, --json, --threads
OPTIONS = {
    "filters": {"layer"},
    "maps": {"input", "index", "layer"},
    "saliency": {"input", "index", "target"},
    "gradcam": {"input", "index", "target", "layer", "relu", "upsample"},
    "ig": {"input", "index", "target", "steps", "method"},
    "occlusion": {"input", "index", "target", "window", "stride"},
    "confusion": {"data"},
    "mistakes": {"data", "top"},
}
EXAMPLES = """what:
{what}

examples:
  convscope inspect filters --layer conv1 --png filters.png
  convscope inspect maps --input seven.png --png maps.png
  convscope inspect saliency --input seven.png --png saliency.png --json saliency.json
  convscope inspect gradcam --index 3 --layer conv2 --relu --png cam.png
  convscope inspect ig --input seven.png --target 1 --steps 100 --method riemann_trapezoid
  convscope inspect occlusion --input seven.png --window 4 --stride 2 --png occlusion.png
  convscope inspect confusion --checkpoint runs/lenet-20260101-120000 --png confusion.png
  convscope inspect mistakes --top 24 --png mistakes.png

The picture is --input (converted as 'convscope predict' converts it) or, without it, held-out
digit --index (default 0). --target defaults to the predicted class. Attributions are of the
normalised input the model sees; ig and occlusion start from / cover with a black image."""


def register(subparsers):
    whats = "\n".join(f"  {name:9} {text}" for name, text in WHAT.items())
    p = subparsers.add_parser(
        "inspect",
        help="look inside a trained model: filters, maps, attributions, mistakes",
        description="Look inside a checkpoint: what its layers hold, which pixels made it"
        " decide (as Captum computes it), and which digits it gets wrong.",
        epilog=EXAMPLES.format(what=whats),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("what", choices=list(WHAT), metavar="WHAT", help="one of: " + ", ".join(WHAT))
    add_checkpoint_option(p)
    add = p.add_argument
    add("--input", metavar="PICTURE", help="a PNG/JPEG picture (default: a held-out digit)")
    add("--index", type=int, metavar="I", help="which held-out digit without --input (default 0)")
    add("--target", type=int, metavar="K", help="the class to explain (default: the predicted)")
    add("--layer", action="append", metavar="NAME", help="a layer name, e.g. conv2 (maps: repeat)")
    add("--steps", type=int, metavar="N", help="ig: integration steps (default 50)")
    add("--method", choices=ci.METHODS, metavar="METHOD",
        help="ig: " + ", ".join(ci.METHODS) + " (default gausslegendre)")  # fmt: skip
    add("--window", type=int, metavar="K", help="occlusion: window side in pixels (default 4)")
    add("--stride", type=int, metavar="S", help="occlusion: window step in pixels (default 2)")
    add("--relu", action="store_true", default=None, help="gradcam: keep only positive evidence")
    add("--upsample", choices=ci.gradcam.MODES, metavar="MODE",
        help="gradcam: nearest (default, Captum's) or bilinear")  # fmt: skip
    add("--data", help="confusion, mistakes: IDX or image folder (default: held-out digits)")
    add("--top", type=int, metavar="K", help="mistakes: how many (default 16)")
    add("--png", metavar="FILE", help="write the figure")
    add("--json", metavar="FILE", help="write the arrays as nested lists")
    add_threads_option(p)
    p.set_defaults(func=run)


def run(args):
    given = {k for k in set().union(*OPTIONS.values()) if getattr(args, k) is not None}
    unused = given - OPTIONS[args.what]
    if unused:
        flags = ", ".join("--" + k for k in sorted(unused))
        reads = ", ".join("--" + k for k in sorted(OPTIONS[args.what]))
        raise ConvscopeError(f"inspect {args.what}: {flags} does not apply; it reads {reads}")
    if args.layer and len(args.layer) > 1 and args.what != "maps":
        raise ConvscopeError(f"inspect {args.what}: give --layer once (only maps takes several)")
    apply_thread_policy(args.threads)
    model, facts = open_checkpoint(args)
    result, figure = COMMANDS[args.what](args, model, facts)
    write_file(args.json, lambda: json.dumps(_plain(result)).encode(), "arrays")
    write_file(args.png, figure, "figure")
    return 0


# ---- the picture and its prediction -----------------------------------------------------------


class Subject:
    """The picture an attribution explains: ``pixels`` (C, H, W) as stored, ``x`` as the model
    takes it, ``black`` a black picture as the model takes it, ``source`` (where it came from),
    ``pred`` {'predicted', 'probabilities', 'target'}. Prints where it came from and the top class."""

    def __init__(self, args, model, facts):
        shape = tuple(facts.get("input_shape", MNIST_SHAPE))
        if args.input is not None:
            self.pixels, self.source = load_image(args.input, shape), args.input
        else:
            self.pixels, self.source = _held_out(args, shape)
        norm = facts.get("normalize", {"mean": [0.1307], "std": [0.3081]})
        transform = Normalize(norm["mean"], norm["std"])
        self.x = transform(self.pixels[None])[0]
        self.black = transform(np.zeros_like(self.pixels)[None])[0]
        print(
            f"input: {self.source}, {'x'.join(str(d) for d in self.x.shape)} as the model takes it"
        )
        if args.what != "maps":
            self.pred = _prediction(model, self.x, facts, args.target)

    def figure(self, attr, label, cam=None):
        title = f"{label}: {self.source}"
        return lambda: ci.attribution_figure(self.pixels, attr, title, cam=cam)

    def result(self, attr, **extra):
        return {"input": self.source, **self.pred, "x": self.x, "attribution": attr, **extra}


def _held_out(args, shape):
    if shape != MNIST_SHAPE:
        raise DataError(
            f"inspect {args.what}: this model takes {shape} images, not the held-out digits;"
            f" give a picture with --input"
        )
    test = load_digits()[1]
    index = 0 if args.index is None else args.index
    if not 0 <= index < len(test):
        raise DataError(
            f"inspect {args.what}: --index {index} is not a held-out digit; choose 0-{len(test) - 1}"
        )
    return test.images[index], f"held-out digit {index} (label {test.labels[index]})"


def _classes(facts, k):
    names = facts.get("classes") or []
    return [names[c] if c < len(names) else str(c) for c in range(k)]


def _prediction(model, x, facts, target):
    """Print the top class and the one explained; {'predicted', 'probabilities', 'target'}."""
    logits = predict_logits(model, x[None])[0].astype(np.float64)
    probs = np.exp(logits - logits.max())
    probs /= probs.sum()
    best = int(probs.argmax())
    target = best if target is None else target
    names = _classes(facts, len(probs))
    line = f"prediction: {names[best]} (p={probs[best]:.4f})"
    if 0 <= target < len(probs):
        line += f"; explaining class {names[target]} (p={probs[target]:.4f})"
    print(line)
    return {"predicted": best, "probabilities": probs, "target": target}


# ---- one function per WHAT: (JSON-able result, a callable giving the PNG bytes) ----------------


def filters(args, model, facts):
    layer = args.layer[0] if args.layer else ci.checks.conv_layer(model, None, "filters", False)[0]
    w = ci.filters(model, layer)
    print(f"{layer}.weight {w.shape}: filter  min  max  mean  L2 norm")
    for f, k in enumerate(w):
        norm = np.sqrt((k**2).sum())
        print(f"  f{f:<3} {k.min():9.4f} {k.max():9.4f} {k.mean():9.4f} {norm:9.4f}")
    return {"layer": layer, "weights": w}, lambda: ci.filters_figure(w, layer)


def maps(args, model, facts):
    subject = Subject(args, model, facts)
    out = ci.feature_maps(model, subject.x, args.layer)
    print(f"{'layer':<12} {'shape':<14} {'min':>9} {'max':>9} {'mean':>9}  > 0")
    for name, m in out.items():
        shape = "x".join(str(d) for d in m.shape)
        print(f"{name:<12} {shape:<14} {m.min():9.4f} {m.max():9.4f} {m.mean():9.4f}"
              f"  {np.mean(m > 0):4.0%}")  # fmt: skip
    title = f"feature maps of {subject.source}"
    return {"input": subject.source, "maps": out}, lambda: ci.maps_figure(out, title)


def saliency(args, model, facts):
    subject = Subject(args, model, facts)
    attr = ci.saliency(model, subject.x, args.target)
    label = f"saliency |d y_{subject.pred['target']} / dx|"
    _summary(label, attr)
    return subject.result(attr), subject.figure(attr, label)


def gradcam(args, model, facts):
    subject = Subject(args, model, facts)
    layer = args.layer[0] if args.layer else None
    mode = args.upsample or "nearest"
    cam = ci.grad_cam(model, subject.x, args.target, layer, bool(args.relu), upsample=mode)
    h, w = cam.cam.shape[1:]
    size = "x".join(str(d) for d in subject.x.shape[1:])
    print(f"Grad-CAM at {cam.layer}: {len(cam.weights)} maps {h}x{w} weighted by their mean"
          f" gradient{', ReLU' if args.relu else ''}; upsampled to {size} ({mode})")  # fmt: skip
    top = np.argsort(-np.abs(cam.weights), kind="stable")[:4]
    print("largest channel weights: " + ", ".join(f"ch {c} {cam.weights[c]:+.4f}" for c in top))
    _summary(f"Grad-CAM map {h}x{w}", cam.cam)
    result = subject.result(cam.upsampled, layer=cam.layer, cam=cam.cam, weights=cam.weights,
                            upsample=mode)  # fmt: skip
    label = f"Grad-CAM of class {subject.pred['target']} at {cam.layer}"
    return result, subject.figure(cam.upsampled, label, cam=cam.cam)


def ig(args, model, facts):
    subject = Subject(args, model, facts)
    steps, method = 50 if args.steps is None else args.steps, args.method or "gausslegendre"
    attr, delta = ci.integrated_gradients(
        model, subject.x, args.target, subject.black, steps, method
    )
    total = float(attr.sum())
    print(f"integrated gradients ({method}, {steps} steps) from a black image: the attributions"
          f" sum to {total:.6f} = y(x) - y(black) {total - delta:.6f} + delta {delta:+.2e}")  # fmt: skip
    _summary("integrated gradients", attr)
    result = subject.result(attr, delta=delta, steps=steps, method=method, baseline=subject.black)
    return result, subject.figure(attr, f"integrated gradients of class {subject.pred['target']}")


def occlusion(args, model, facts):
    subject = Subject(args, model, facts)
    window, stride = args.window or 4, args.stride or 2
    attr = ci.occlusion(model, subject.x, args.target, window, stride, subject.black)
    print(f"occlusion: {window}x{window} black windows every {stride} pixels; each pixel shows"
          f" the mean logit drop of the windows that covered it")  # fmt: skip
    _summary("occlusion", attr)
    result = subject.result(attr, window=window, stride=stride)
    return result, subject.figure(attr, f"occlusion of class {subject.pred['target']}")


def _eval_data(args, model, facts):
    shape = tuple(facts.get("input_shape", MNIST_SHAPE))
    names = facts.get("classes") or [str(c) for c in range(facts["config"].get("num_classes", 10))]
    data = open_eval_data(args.data, size=shape[1:], channels=shape[0], classes=names)
    norm = facts.get("normalize", {"mean": [0.1307], "std": [0.3081]})
    data.transform = Normalize(norm["mean"], norm["std"])
    return data, names


def confusion(args, model, facts):
    data, names = _eval_data(args, model, facts)
    m = ci.confusion_matrix(model, data)
    width = max(5, *(len(n) + 1 for n in names))
    print("rows: true class, columns: predicted class")
    print(" " * width + "".join(f"{n:>{width}}" for n in names[: len(m)]))
    for name, row in zip(names, m, strict=False):
        print(f"{name:>{width}}" + "".join(f"{v:>{width}}" for v in row))
    accuracy = np.trace(m) / m.sum()
    print(f"accuracy: {accuracy:.4f} ({np.trace(m)}/{m.sum()})")
    result = {"classes": names, "matrix": m, "accuracy": accuracy}
    return result, lambda: ci.confusion_figure(m, names[: len(m)])


def mistakes(args, model, facts):
    data, names = _eval_data(args, model, facts)
    found = ci.mistakes(model, data, 16 if args.top is None else args.top)
    print(f"the {len(found.index)} surest mistakes of {len(data)} images:")
    print(f"{'index':>7} {'true':>6} {'predicted':>10} {'probability':>12}")
    for i, t, p, prob in zip(*found, strict=True):
        print(f"{i:>7} {names[t]:>6} {names[p]:>10} {prob:12.4f}")
    rows = [dict(zip(found._fields, values, strict=True)) for values in zip(*found, strict=True)]
    return {"classes": names, "mistakes": rows}, lambda: ci.mistakes_figure(
        data.images[found.index], found.true, found.predicted, found.probability, names, found.index
    )


COMMANDS = {"filters": filters, "maps": maps, "saliency": saliency, "gradcam": gradcam, "ig": ig,
            "occlusion": occlusion, "confusion": confusion, "mistakes": mistakes}  # fmt: skip


def _summary(label, attr):
    """One line: the shape, the range and where the strongest positive evidence is."""
    plane = attr.sum(axis=0) if attr.ndim == 3 else attr
    i, j = np.unravel_index(np.argmax(plane), plane.shape)
    print(f"{label}: {'x'.join(str(d) for d in attr.shape)}, min {attr.min():.4g},"
          f" max {attr.max():.4g}, sum {attr.sum():.4g}; strongest at row {i}, col {j}")  # fmt: skip


def _plain(value):
    """JSON-able: arrays as nested lists, numpy scalars as numbers."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (np.ndarray, np.generic)):
        return value.tolist()
    return value
