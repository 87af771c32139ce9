"""``convscope explain TOPIC``: every step of a CNN, forward and backward, with real numbers.

The topics and their options are declared in ``convscope.explain.topics``; this module builds
one parser per topic from them, prints the trace and writes the files (--png, --gif, --json).
"""

import argparse
import os
import shutil
import sys

from ..errors import ConvscopeError
from .files import write_file as _write

MATRICES = """Matrices (--input, --kernel, --bias, --grad): inline, rows split by ';', values by spaces,
channels by '|', filters by '||' (e.g. "1 2; 3 4 | 5 6; 7 8"); or a .npy file; or an image
file (PNG, JPEG, ...). Left out, they are seeded random integers (--seed, --size, --kernel-size).
Indices are 0-based, as in NumPy. Colour marks only on a terminal (NO_COLOR turns them off)."""


ASCII = {
    "∂": "d",
    "⊙": "(.)",
    "Σ": "sum",
    "…": "...",
    "—": "--",
}  # where the output cannot encode them


def printable(text, encoding=None):
    """``text`` with the few non-ASCII symbols explain writes spelled in ASCII when stdout's
    encoding (e.g. a legacy Windows code page) cannot encode them."""
    encoding = encoding or getattr(sys.stdout, "encoding", None) or "utf-8"
    try:
        text.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        for symbol, plain in ASCII.items():
            text = text.replace(symbol, plain)
        text = text.encode(encoding, errors="replace").decode(encoding, errors="replace")
    return text


CONVERSION = (
    "converted as `convscope predict` converts a picture (grayscale, dark background, the"
    " digit fitted into 20x20 and centred by mass in 28x28), intensities 0..255"
)


def model_view(topic, path):
    """The 28x28 array a digit model gets from the picture ``path`` (convscope.data's
    conversion, which explain may not import: the CLI hands it the array)."""
    from ..explain.matrix import IMAGE_SUFFIXES

    if not path or not path.strip().lower().endswith(IMAGE_SUFFIXES):
        raise ConvscopeError(
            f"explain {topic}: --digit converts an --input picture file (PNG, JPEG, ...) as"
            f" predict does; " + (f"got --input {path!r}" if path else "give --input digit.png")
        )
    from ..data.preprocess import load_digit_image

    return load_digit_image(path.strip())[0].astype("float64")


def argument_type(parse):
    """An argparse type from a text parser: its ConvscopeError becomes argparse's one-line error."""

    def convert(text):
        try:
            return parse(text)
        except ConvscopeError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = getattr(parse, "__name__", "value")
    return convert


def add_options(parser, options, required=()):
    """One argparse argument per Option (flags in ``required`` must be given)."""
    for o in options:
        if o.switch:
            parser.add_argument(o.flag, dest=o.dest, action="store_true", default=None, help=o.help)
            continue
        parser.add_argument(
            o.flag,
            dest=o.dest,
            type=argument_type(o.parse) if o.parse else None,
            choices=o.choices or None,
            required=o.flag in required,
            help=o.help,
        )


def register(subparsers):
    from ..explain.topics import ALL_FLAGS, FILES, REGISTRY

    examples = "\n".join(
        f"  convscope explain {name} {line}" for name, t in REGISTRY.items() for line in t.examples
    )
    p = subparsers.add_parser(
        "explain",
        help="see each step of a CNN, forward and backward, with real numbers",
        description="Explain one concept of a CNN step by step on real numbers, checked"
        " against the engine. 'convscope explain TOPIC --help' lists a topic's options.",
        epilog=f"examples:\n{examples}\n\n{MATRICES}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = p.add_subparsers(dest="topic", metavar="TOPIC", required=True, parser_class=type(p))
    for name, topic in REGISTRY.items():
        tp = sub.add_parser(
            name,
            help=topic.help,
            description=f"convscope explain {name}: {topic.help}.",
            epilog="examples:\n"
            + "\n".join(f"  convscope explain {name} {e}" for e in topic.examples),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        add_options(tp, topic.options + FILES)
        reads = {o.flag for o in topic.options}
        for flag in ALL_FLAGS:  # named, so that the error can say it does not apply here
            if flag not in reads:
                tp.add_argument(flag, dest=f"other:{flag}", help=argparse.SUPPRESS)
        tp.set_defaults(func=run)
    p.set_defaults(func=run)


def run(args):
    from .. import explain
    from ..explain.topics import REGISTRY

    topic = REGISTRY[args.topic]
    unused = sorted(k.removeprefix("other:") for k, v in vars(args).items()
                    if k.startswith("other:") and v is not None)  # fmt: skip
    if unused:
        reads = ", ".join(sorted(o.flag for o in topic.options))
        verb = "does" if len(unused) == 1 else "do"
        raise ConvscopeError(
            f"explain {args.topic}: {', '.join(unused)} {verb} not apply to this topic; it reads {reads}"
        )
    files = explain.unsupported_files(args.topic, png=bool(args.png), gif=bool(args.gif))
    if files:
        raise ConvscopeError(files)
    kwargs = {o.dest: getattr(args, o.dest) for o in topic.options}
    digit = kwargs.pop("digit", None)
    if digit:
        kwargs["input"] = model_view(args.topic, args.input)
    trace = getattr(explain, args.topic)(**{k: v for k, v in kwargs.items() if v is not None})
    if digit:
        trace.notes.insert(1, f"the input is {args.input} as a digit model sees it: {CONVERSION}")
    if args.gif:
        from ..explain.animation import check_animation

        check_animation(trace)  # refuse an overlong animation before printing anything
    terminal = sys.stdout.isatty()
    color = terminal and not os.environ.get("NO_COLOR")
    width = shutil.get_terminal_size((100, 24)).columns if terminal else 100
    sys.stdout.write(printable(explain.render_text(trace, color=color, width=width)))
    _write(args.png, lambda: explain.render_png(trace), "figure")
    frames = trace.animation.frames if trace.animation else 0
    _write(args.gif, lambda: explain.render_gif(trace), f"{frames} frames")
    _write(args.json, lambda: trace.to_json().encode(), "trace")
    why = topic.failure(trace) if topic.failure else None
    if why:
        print(f"error: explain {args.topic}: invalid configuration (explained above): {why}",
              file=sys.stderr)  # fmt: skip
        return 2
    if not trace.ok:
        print("error: a check against the engine failed (see above)", file=sys.stderr)
        return 1
    return 0
