"""``convscope serve``: the page that shows a trained model forward and backward, in a browser."""

import argparse
import contextlib
import sys
from pathlib import Path

from ..train import load_model
from ..train.locate import find_checkpoint
from ..train.threads import apply_thread_policy
from .checkpoint import HELP as CHECKPOINT_HELP
from .train import add_threads_option

EXAMPLE = """examples:
  convscope serve                                   # the newest run under ./runs, else the bundled LeNet-5
  convscope serve --checkpoint runs/lenet-20260101-120000 --open
  convscope serve --html seven.html --input seven.png   # one file that opens with no server

The page: draw, upload or pick a digit; every layer's feature maps; click any conv or pool cell
for its sum of products; the backward pass for a target label, one SGD step; the filters,
saliency and Grad-CAM; a shape sandbox. The JSON API under /api (GET /api lists it) serves
scripts too. The page has no authentication: keep the default host 127.0.0.1 unless you trust
the network."""


def register(subparsers):
    p = subparsers.add_parser(
        "serve",
        help="show a trained model forward and backward in the browser",
        description="Serve the page and JSON API of a trained model on a local address.",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--checkpoint", help=CHECKPOINT_HELP)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000; 0: a free one)")
    p.add_argument("--open", action="store_true", help="open the page in the default browser")
    p.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="NAME",
        help="another Host header to accept (the name clients use to reach --host)",
    )
    p.add_argument("--html", metavar="FILE", help="write one self-contained HTML file and exit")
    source = p.add_mutually_exclusive_group()
    source.add_argument(
        "--input", metavar="PICTURE", help="the picture for --html (PNG, JPEG, ...)"
    )
    source.add_argument(
        "--digit", type=int, metavar="N", help="held-out test digit N for --html (default 0)"
    )
    add_threads_option(p)
    p.set_defaults(func=run)


def run(args):
    from ..web import server
    from ..web.served import ServedModel

    if (args.input is not None or args.digit is not None) and not args.html:
        print(
            "error: serve: --input and --digit choose the picture of --html FILE; add --html",
            file=sys.stderr,
        )
        return 2
    sock = None if args.html else server.bind(args.host, args.port)  # a busy port fails first
    apply_thread_policy(args.threads)  # one BLAS thread unless asked: a LeNet is small work
    try:
        path = find_checkpoint(args.checkpoint)
        if args.checkpoint is None:
            print(f"checkpoint: {path}", file=sys.stderr)
        served = ServedModel(*load_model(path), path)
        return _export(args, served) if args.html else _serve(args, served, sock)
    finally:
        if sock is not None:
            sock.close()


def _serve(args, served, sock):
    from ..web import server
    from ..web.app import create_app

    port = sock.getsockname()[1]
    if not server.is_loopback(args.host):
        print(
            f"warning: serving on {args.host}: the page has no authentication; anyone who can reach"
            f" port {port} of this machine can use it and read the model",
            file=sys.stderr,
        )
    served.warm_up()
    app = create_app(served, server.allowed_hosts(args.host, args.allow_host))
    shown = "127.0.0.1" if args.host in ("0.0.0.0", "") else args.host
    url = f"http://{shown}:{port}/"
    print(f"convscope serve: {url} (Ctrl-C stops)", flush=True)
    on_ready = None
    if args.open:
        import webbrowser

        def on_ready():
            webbrowser.open(url)

    with contextlib.suppress(KeyboardInterrupt):
        server.run(app, sock, on_ready)
    print("stopped", file=sys.stderr)
    return 0


def _export(args, served):
    from ..web.export import export_html
    from ..web.requests import picture

    label = None
    if args.input:
        pixels, _ = picture(Path(args.input).read_bytes(), served.input_shape)
    else:
        digit = served.digit(args.digit or 0)
        pixels, label = digit["pixels"], digit["label"]
    html = export_html(served, pixels, label)
    Path(args.html).write_text(html, encoding="utf-8")
    prediction = served.forward(pixels)["label"]
    print(f"wrote {args.html} ({len(html.encode()) // 1024} KB): prediction {prediction}")
    return 0
