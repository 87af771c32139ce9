"""The explain topics and their command-line options, each declared once.

``cli/explain.py`` builds one parser per topic from ``REGISTRY`` and ``cli/shape.py`` builds
``convscope shape`` from ``SHAPE_OPTIONS``; neither knows anything about one topic. An Option
is a flag: its help, ``parse`` (text -> value; a ShapeError with a sentence when the text is
not one) and the keyword of the topic function it fills. A Topic lists the options it reads,
what it can draw, and ``failure`` (the sentence its trace gives when it explains an invalid
configuration, which the CLI turns into exit status 2).
"""

import re
from dataclasses import dataclass

from ..errors import ConvscopeError, ShapeError
from .chain_expr import parse_values
from .matrix import load
from .output_size import invalid

# ---- text -> value ---------------------------------------------------------------------------


def pair(text, least=1):
    """'28' -> 28; '32x28' or '32,28' -> (32, 28); every number must be >= ``least``."""
    parts = re.split(r"[x,]", text.strip().lower())
    try:
        values = [int(v) for v in parts]
    except ValueError:
        raise ShapeError(f"{text!r} is not an integer or HxW (e.g. 3 or 5x3)") from None
    if len(values) > 2:
        raise ShapeError(f"{text!r}: give one number or two (HxW)")
    if min(values) < least:
        raise ShapeError(f"{text!r}: {_at_least(least)}")
    return values[0] if len(values) == 1 else tuple(values)


def padding_value(text):
    """An integer >= 0, HxW, 'same' or 'valid'."""
    return text if text in ("same", "valid") else pair(text, least=0)


def count(text, least=1):
    """An integer >= ``least`` (--channels, --filters)."""
    try:
        value = int(text)
    except ValueError:
        raise ShapeError(f"{text!r} is not an integer (e.g. 3)") from None
    if value < least:
        raise ShapeError(f"{text!r}: {_at_least(least)}")
    return value


def seed(text):
    """An integer >= 0 (NumPy's generators take no negative seeds)."""
    return count(text, least=0)


def cell(text):
    """'1,2' -> (1, 2), both >= 0 (0-based)."""
    try:
        i, j = (int(v) for v in text.split(","))
    except ValueError:
        raise ShapeError(f"{text!r} is not a cell 'i,j' (e.g. 1,1)") from None
    if min(i, j) < 0:
        raise ShapeError(f"{text!r}: indices are 0-based, 0 or more (e.g. 0,1)")
    return (i, j)


def _at_least(least):
    return "must be 1 or more" if least == 1 else "must be 0 or more"


def geometry_size(name, what, example, least=1, matrix=False):
    """A parser for a size of the shape calculator: '28' -> 28, '32x28' -> (32, 28), each
    >= ``least`` (the message cs.output_size gives); with ``matrix``, a matrix or a file
    (inline text, .npy, image) gives its (H, W)."""

    def parse(text):
        try:
            values = tuple(int(v) for v in re.split(r"[x,]", text.strip().lower()))
        except ValueError:
            message = f"{text!r} is not {what} (e.g. {example})"
            if not matrix:
                raise ShapeError(message) from None
            try:
                return load(text, name).shape[-2:]
            except ConvscopeError as exc:
                raise ShapeError(f"{message}, nor a matrix or a file ({exc})") from None
        if len(values) > 2:
            raise ShapeError(f"{text!r}: give one size or two (HxW)")
        low = min(values)
        if low < least:
            raise ShapeError(f"{name} must be an integer >= {least}, got {low}")
        return values[0] if len(values) == 1 else values

    return parse


_GEOMETRY_PADDING = geometry_size(
    "padding", "a padding: an integer, HxW, 'same' or 'valid'", "2, 2x1 or same", least=0
)


def geometry_padding(text):
    """'same' | 'valid' | zeros per side as for the other sizes."""
    return text.lower() if text.lower() in ("same", "valid") else _GEOMETRY_PADDING(text)


# ---- options and topics ----------------------------------------------------------------------


@dataclass(frozen=True)
class Option:
    """A command-line flag: ``parse`` turns its text into the value of ``keyword``."""

    flag: str
    help: str
    parse: object = None  # text -> value; None keeps the text (a switch: None)
    keyword: str = ""  # the topic function's argument; "" = the flag's name
    choices: tuple = ()
    switch: bool = False  # a flag without a value

    @property
    def dest(self):
        return self.keyword or self.flag.removeprefix("--").replace("-", "_")


@dataclass(frozen=True)
class Topic:
    name: str
    help: str
    options: tuple
    examples: tuple  # command lines after "convscope explain NAME"
    png: bool = False
    gif: bool = False
    failure: object = None  # trace -> a sentence when it explains an invalid configuration


def _opt(flag, help, parse=None, **kw):
    return Option(flag, help, parse, **kw)


INPUT = _opt("--input", 'input matrix, .npy or image file, e.g. "0 2 -3; -2 -2 -2; 1 0 1"')
KERNEL = _opt(
    "--kernel", 'kernel (filters for channels), e.g. "1 0; 0 -1" or "1 0; 0 1 | 0 1; 1 0"'
)
BIAS = _opt("--bias", 'bias: one number per filter, e.g. 1 (channels: "1 -1")')
GRAD = _opt(
    "--grad",
    'upstream gradient dL/dO (backward: one map per filter, split by "|"; pool), e.g. "1 -1; 2 0"',
)
STRIDE = _opt("--stride", "stride, e.g. 2 (default 1; stride topic 2; pool = window)", pair)
PADDING = _opt("--padding", "zeros per side: an integer, HxW, same or valid, e.g. 1", padding_value)
DILATION = _opt("--dilation", "spacing of kernel taps, e.g. 2 (default 1)", pair)
SIZE = _opt("--size", "size of the random default input, e.g. 28 or 5x6", pair)
KERNEL_SIZE = _opt("--kernel-size", "random kernel / pool window size, e.g. 3", pair)
CHANNELS = _opt("--channels", "input channels of the random default, e.g. 3", count)
FILTERS = _opt("--filters", "number of filters of the random default, e.g. 2", count)
MODE = _opt("--mode", "pooling: max, mean or min, e.g. --mode mean", choices=("max", "mean", "min"))
AT = _opt("--at", "explain one output cell only, e.g. 1,1 (0-based)", cell)
SEED = _opt("--seed", "seed of the random defaults, e.g. 3 (default 0)", seed)
DIGIT = _opt("--digit", "read an --input picture as `predict` does: the 28x28 digit a model"
             " sees (grayscale, dark background, the digit fitted into 20x20 and centred)",
             switch=True)  # fmt: skip
EXPR = _opt("--expr", 'chain: the expression, e.g. "(x + y) * z"')
VALUES = _opt("--values", 'chain: the inputs, e.g. "x=-2, y=5, z=-4"', parse_values)

# The output-size calculator's options: `convscope shape` and `convscope explain shape`.
SHAPE_OPTIONS = (
    _opt("--input", "input size: N or HxW (or a matrix / image file: its size)",
         geometry_size("size", "an integer or HxW", "28 or 32x28", matrix=True), keyword="size"),
    _opt("--kernel", "kernel size: K or KHxKW (or a matrix: its size)",
         geometry_size("kernel_size", "a kernel size K or KHxKW", "5 or 5x3", matrix=True),
         keyword="kernel_size"),
    _opt("--stride", "stride (default 1)", geometry_size("stride", "a stride S or SHxSW", "2 or 2x1")),
    _opt("--padding", "zero padding per side: P, PHxPW, same or valid (default 0)", geometry_padding),
    _opt("--dilation", "dilation (default 1)",
         geometry_size("dilation", "a dilation D or DHxDW", "2 or 2x1")),
    _opt("--ceil-mode", "round up instead of down (pooling)", switch=True),
)  # fmt: skip

FILES = (
    _opt("--png", "write a figure of the step, e.g. conv.png"),
    _opt("--gif", "write an animation, one frame per output element, e.g. conv.gif"),
    _opt("--json", "write the trace as JSON (final result under 'output')"),
)

_WINDOW = (INPUT, DIGIT, KERNEL, BIAS, STRIDE, PADDING, DILATION, AT, SEED, SIZE, KERNEL_SIZE)

REGISTRY = {
    t.name: t
    for t in (
        Topic("image", "an image as its (C, H, W) intensity matrix", (INPUT, DIGIT),
              ("--input digit.png", "--input seven.png --digit --png seven.png"), png=True),
        Topic("conv", "each output element as the sum of products that makes it", _WINDOW,
              ('--input "0 2 -3; -2 -2 -2; 1 0 1" --kernel "1 0; 0 -1" --bias 1',
               "--at 1,1 --padding 1 --png conv.png --gif conv.gif",
               '--input seven.png --digit --kernel "-1 -1 -1; 2 2 2; -1 -1 -1" --at 8,12'),
              png=True, gif=True),
        Topic("shape", "the output-size formula with the numbers filled in",
              (*SHAPE_OPTIONS, _opt("--size", "input size, as --input", SHAPE_OPTIONS[0].parse),
               _opt("--kernel-size", "kernel size, as --kernel", SHAPE_OPTIONS[1].parse)),
              ("--input 28 --kernel 5 --stride 2 --padding 2",), failure=invalid),
        Topic("stride", "stride S = stride 1 with the intermediate outputs dropped", _WINDOW,
              ("--stride 2 --size 5 --kernel-size 3",), png=True, gif=True),
        Topic("padding", "the padded input and how it grows or keeps the output size", _WINDOW,
              ('--padding same --input "1 2; 3 4" --kernel "1 1 1; 1 0 1; 1 1 1"',), png=True,
              gif=True),
        Topic("channels", "multi-channel input, several filters: maps, sums, bias",
              (INPUT, DIGIT, KERNEL, BIAS, STRIDE, PADDING, DILATION, AT, SEED, SIZE, KERNEL_SIZE,
               CHANNELS, FILTERS),
              ("--channels 3 --filters 2",
               "--size 5 --kernel-size 3 --stride 2 --padding 1 --at 1,1 --gif channels.gif"),
              png=True, gif=True),
        Topic("pool", "max/mean/min pooling per window, and where the gradient goes",
              (INPUT, DIGIT, GRAD, KERNEL_SIZE, STRIDE, PADDING, MODE, AT, SEED, SIZE, CHANNELS),
              ('--mode max --input "1 3 2 4; 5 6 1 2; 7 2 3 0; 1 2 8 1" --grad "1 2; 3 4"',),
              png=True, gif=True),
        Topic("chain", "the chain rule on a small scalar graph", (EXPR, VALUES),
              ('--expr "(x + y) * z" --values "x=-2, y=5, z=-4" --png chain.png --gif chain.gif',),
              png=True, gif=True),
        Topic("backward", "dL/dW and dL/dX of a conv layer, term by term, checked",
              (INPUT, DIGIT, KERNEL, GRAD, BIAS, STRIDE, PADDING, SEED, SIZE, KERNEL_SIZE,
               CHANNELS, FILTERS),
              ('--input "1 2 3; 4 5 6; 7 8 9" --kernel "1 0; -1 2" --grad "1 -1; 2 0"',
               '--kernel "1 0; -1 2 || 0 1; 1 0" --grad "1 -1; 2 0 | 0 1; 1 1" --size 3',
               "--stride 2 --channels 2 --filters 2 --gif backward.gif"),
              png=True, gif=True),
    )
}  # fmt: skip

# Every flag a topic may be given by mistake, so that it is named ("does not apply"), not unknown.
ALL_FLAGS = tuple(dict.fromkeys(o.flag for t in REGISTRY.values() for o in t.options))


def unsupported_files(topic, png=False, gif=False):
    """Why --png / --gif cannot be written for ``topic`` (one sentence), or None when they can."""
    problems = []
    if png and not REGISTRY[topic].png:
        problems.append(f"this topic has no picture; --png works for {_listed(_drawn('png'))}")
    if gif and not REGISTRY[topic].gif:
        problems.append(f"this topic has no animation; --gif works for {_listed(_drawn('gif'))}")
    return f"explain {topic}: " + "; ".join(problems) if problems else None


def _drawn(what):
    return tuple(name for name, t in REGISTRY.items() if getattr(t, what))


def _listed(names):
    return ", ".join(names[:-1]) + " and " + names[-1]
