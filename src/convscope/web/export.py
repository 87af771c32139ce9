"""One self-contained HTML file of a picture's forward pass: the page itself, its modules as
``data:`` URLs in the import map, its stylesheet inline, and a snapshot of the API's answers
(the model, the forward pass, the filters, saliency and Grad-CAM for the picture's label or
prediction) plus the checks made now for every cell of every conv and pool layer. It opens
from file:// with no server; nothing in it is fetched.
"""

import base64
import json
from pathlib import Path

from ..explain import network, network_checks
from . import assets
from .jsonify import dumps
from .traces import check_dict


def export_html(served, pixels, label=None):
    """The HTML text for ``pixels`` (C, H, W) uint8; ``label``: the picture's true label, if known."""
    files = assets.read()
    acts = network.forward(served.chain, served.input(pixels))
    checks = {
        name: [check_dict(c) for c in cs]
        for name, cs in network_checks.naive_checks(served.chain, acts).items()
    }
    forward = served.forward(pixels)
    target = (
        served.classes.index(str(label)) if str(label) in served.classes else forward["prediction"]
    )
    model = {**served.describe(), "checkpoint": Path(served.checkpoint).name}  # no local path
    answers = {"model": model, "forward": forward, "filters": served.filters(),
               "attributions": served.attributions(pixels, target)}  # fmt: skip
    snapshot = {"pixels": pixels, "label": label, "answers": answers, "checks": checks}
    data = dumps(snapshot).decode().replace("</", "<\\/")  # no "</script>" inside the element
    modules = {
        f"convscope/{name}": "data:text/javascript;base64,"
        + base64.b64encode(text.encode()).decode()
        for name, text in sorted(files.items())
        if name.endswith(".js")
    }
    html = files["index.html"]
    html = assets.IMPORT_MAP.sub(lambda _: _importmap(modules), html)
    html = html.replace(
        '<link rel="stylesheet" href="/static/style.css">', f"<style>\n{files['style.css']}</style>"
    )
    entry = '<script type="module" src="/static/app.js"></script>'
    html = html.replace(
        entry,
        f'<script type="application/json" id="snapshot">{data}</script>\n'
        '<script type="module">import "convscope/app.js";</script>',
    )
    return html


def _importmap(modules):
    return '<script type="importmap">' + json.dumps({"imports": modules}) + "</script>"
