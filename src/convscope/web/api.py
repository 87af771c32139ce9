"""The JSON API: one handler per endpoint, from a decoded request to plain data.

Every POST body is a JSON object (``Content-Type: application/json``); /api/forward also takes
the bytes of a picture (``Content-Type: image/png``, ``image/jpeg``, ...). ``pixels`` is the
picture as the model gets it: (C, H, W) (or (H, W)) integers 0..255, as /api/forward returns it
under ``input.pixels``. Answers are JSON; a refused request gets ``{"error": sentence}`` and a
4xx status. ``GET /api`` lists the endpoints below.
"""

from dataclasses import dataclass

from . import requests as rq


def _endpoint(route, body, answer):
    method, path = route.split()
    return {"method": method, "path": path, "body": body, "answer": answer}


ENDPOINTS = [
    _endpoint(
        "GET /api/model",
        "",
        "the model: its layers in order with input and output shapes, parameter counts, the"
        " window tables of conv and pool layers and the conv weights; classes; normalisation",
    ),
    _endpoint("GET /api/digits", "", "the held-out test digits: count and labels"),
    _endpoint("GET /api/digits/N", "", "held-out digit N: pixels (1, 28, 28) and label"),
    _endpoint(
        "POST /api/forward",
        "{pixels} or the bytes of a picture",
        "every layer's output, logits, probabilities, prediction, max/min-pool routes; the"
        " pixels the model got and the normalised input",
    ),
    _endpoint(
        "POST /api/cell",
        "{pixels, layer, at: [c, i, j], text?}",
        "one output cell of a conv or pool layer (or of an activation after a conv) as explain"
        " writes it, with the engine's checks; text: true adds what `convscope explain` prints",
    ),
    _endpoint(
        "POST /api/backward",
        "{pixels, target}",
        "dL/dlogits = p - y, dL/dO of every layer, ReLU masks, max-pool routes, dW and db of"
        " each conv, the identity and finite-difference checks",
    ),
    _endpoint(
        "POST /api/grad-cell",
        "{pixels, target, layer, kind: weight|input|pool, at, text?}",
        "one gradient cell term by term: dL/dW[f,c,u,v], dL/dX[c,r,q] (summed over filters),"
        " or where a pool layer sends dY[c,i,j]",
    ),
    _endpoint(
        "POST /api/step",
        "{pixels, target, lr}",
        "one SGD step on a copy of the model: loss, probabilities and prediction before and after",
    ),
    _endpoint("GET /api/filters", "", "the weights of every conv layer (inspect.filters)"),
    _endpoint(
        "POST /api/attributions",
        "{pixels, target}",
        "saliency |d logit / dx| and Grad-CAM over the input for the target class",
    ),
    _endpoint(
        "GET /api/shape",
        "?size=H,W&kernel=K&stride=S&padding=P&dilation=D&transposed=0|1&output_padding=O",
        "the output size with the formula filled in, or why the configuration is invalid; the"
        " window tables of the slide",
    ),
    _endpoint(
        "POST /api/export",
        "{pixels}",
        "one self-contained HTML file of this picture's forward pass (opens from file://)",
    ),
]
SANDBOX_MAX = 256  # sandbox sizes and hyper-parameters


@dataclass
class Download:
    content: bytes
    filename: str
    media_type: str = "text/html; charset=utf-8"


def index(served, query, name):
    return {
        "endpoints": ENDPOINTS,
        "limits": {
            "picture_bytes": rq.MAX_BYTES,
            "picture_side": rq.MAX_SIDE,
            "json_bytes": rq.MAX_JSON_BYTES,
        },
    }


def model(served, query, name):
    return served.describe()


def digits(served, query, name):
    if not name:
        return served.digits()
    if not name.isdigit():
        raise rq.RequestError(f"digit {name!r}: expected a number, e.g. /api/digits/0")
    return served.digit(int(name))


def filters(served, query, name):
    return served.filters()


def shape(served, query, name):
    from ..explain.sandbox import sandbox
    from .traces import trace_dict

    def ints(key, default, count=1, low=0):
        text = query.get(key, default)
        parts = [p.strip() for p in str(text).split(",")]
        if len(parts) not in (1, count) or not all(p.isdigit() for p in parts):
            raise rq.RequestError(
                f"{key}: expected {'one or two integers' if count == 2 else 'an integer'}"
                f" such as {default}, got {text!r}"
            )
        values = [int(p) for p in parts] * (count if len(parts) == 1 else 1)
        for v in values:
            rq.integer(v, key, low, SANDBOX_MAX)
        return values if count == 2 else values[0]

    transposed = query.get("transposed", "0")
    if transposed not in ("0", "1", "false", "true"):
        raise rq.RequestError(f"transposed: expected 0 or 1, got {transposed!r}")
    size, padding = ints("size", "5", 2, 1), ints("padding", "0")
    trace = sandbox(
        size=size,
        kernel_size=ints("kernel", "3", low=1),
        stride=ints("stride", "1", low=1),
        padding=padding,
        dilation=ints("dilation", "1", low=1),
        transposed=transposed in ("1", "true"),
        output_padding=ints("output_padding", "0"),
    )
    last = trace.steps[-1].operands
    return {
        **trace_dict(trace),
        "size": size,
        "padding": padding,
        "transposed": transposed in ("1", "true"),
        "output": trace.output,
        "invalid": "; ".join(last.get("invalid", [])) or None,
        "windows": last.get("windows"),
    }


def forward(served, body):
    if isinstance(body, rq.Upload):
        pixels, facts = rq.picture(body, served.input_shape)
        answer = served.forward(pixels)
        answer["input"]["picture"] = facts
        return answer
    return served.forward(_pixels(served, body))


forward.accepts_images = True


def cell(served, body):
    at = rq.cell(rq.field(body, "at"))
    return served.cell(_pixels(served, body), _layer(body), at, _text(body))


def backward(served, body):
    return served.backward(_pixels(served, body), rq.field(body, "target"))


def grad_cell(served, body):
    at = rq.cell(rq.field(body, "at"))
    target, kind = rq.field(body, "target"), rq.field(body, "kind")
    return served.grad_cell(_pixels(served, body), target, _layer(body), kind, at, _text(body))


def step(served, body):
    lr = rq.number(rq.field(body, "lr", False, 0.01), "lr", 0.0, 10.0)
    return served.step(_pixels(served, body), rq.field(body, "target"), lr)


def attributions(served, body):
    return served.attributions(_pixels(served, body), rq.field(body, "target"))


def export(served, body):
    from .export import export_html

    return Download(export_html(served, _pixels(served, body)).encode(), "convscope-page.html")


def _pixels(served, body):
    return rq.pixels(rq.field(body, "pixels"), served.input_shape)


def _text(body):
    text = rq.field(body, "text", False, False)
    if not isinstance(text, bool):
        raise rq.RequestError(f"text: expected true or false, got {text!r}")
    return text


def _layer(body):
    name = rq.field(body, "layer")
    if not isinstance(name, str):
        raise rq.RequestError(f"layer: expected a layer name such as 'conv1', got {name!r}")
    return name


GETS = {"index": index, "model": model, "digits": digits, "filters": filters, "shape": shape}
POSTS = {
    "forward": forward,
    "cell": cell,
    "backward": backward,
    "grad-cell": grad_cell,
    "step": step,
    "attributions": attributions,
    "export": export,
}
for _handler in POSTS.values():
    _handler.accepts_images = getattr(_handler, "accepts_images", False)
