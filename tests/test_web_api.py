"""The JSON API of `convscope serve` (Starlette's TestClient, in process): every answer against
the engine and PyTorch, every bad input named in issue 12 answered with a 4xx sentence, and the
server still serving afterwards."""

import io
import warnings

import numpy as np
import pytest
import torch
from PIL import Image

from convscope.data import Normalize, load_digits, load_image
from convscope.web.requests import MAX_BYTES
from convscope.web.served import ServedModel
from web_oracle import bundled, torch_pass, torch_twin

TOL = dict(rtol=1e-10, atol=1e-12)
pytest.importorskip("starlette", reason="pip install starlette uvicorn httpx")
pytest.importorskip("httpx", reason="pip install httpx")
with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # Starlette's notice "install httpx2 instead" of httpx
    from starlette.testclient import TestClient

from convscope.web.app import create_app  # noqa: E402


@pytest.fixture(scope="module")
def served():
    return ServedModel(*bundled(), "bundled")


@pytest.fixture(scope="module")
def client(served):
    return TestClient(create_app(served, ["testserver"]))


@pytest.fixture(scope="module")
def digit():
    test = load_digits()[1]
    return test.images[7], int(test.labels[7])


def _post(client, path, body, status=200):
    r = client.post(f"/api/{path}", json=body)
    assert r.status_code == status, r.text
    return r.json()


def model_input(pixels):
    """(1, 1, 28, 28) float64: the pixels normalised as the checkpoint's training data was."""
    return Normalize(0.1307, 0.3081)(pixels[None]).astype(np.float64)


def _png(array):
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    return buf.getvalue()


def test_the_model_is_described_layer_by_layer(client):
    m = client.get("/api/model").json()
    assert m["model"] == "lenet" and m["parameters"] == 61706 and m["input_shape"] == [1, 28, 28]
    names = [(l["name"], l["output_shape"], l["explained_by"]) for l in m["layers"]]
    assert names[:4] == [("conv1", [6, 28, 28], "conv1"), ("relu1", [6, 28, 28], "conv1"),
                         ("pool1", [6, 14, 14], "pool1"), ("conv2", [16, 10, 10], "conv2")]  # fmt: skip
    assert names[7] == ("fc1", [120], None)
    conv1 = m["layers"][0]
    assert np.shape(conv1["weight"]) == (6, 1, 5, 5) and conv1["parameters"] == 156
    assert conv1["windows"]["rows"][0][:3] == [-1, -1, 0]  # padding 2: row 0 reads two pad rows


def test_forward_is_the_engines_and_torchs_and_an_upload_is_converted_as_predict_does(
    client, digit, tmp_path
):
    pixels, label = digit
    a = _post(client, "forward", {"pixels": pixels.tolist()})
    assert a["prediction"] == label == int(a["label"])
    chain = ServedModel(*bundled(), "x").chain
    outs, *_ = torch_pass(torch_twin(chain), model_input(pixels), label)
    for layer, out in zip(a["layers"], outs, strict=True):
        np.testing.assert_allclose(np.asarray(layer["output"]), out[0], **TOL)
    np.testing.assert_allclose(sum(a["probabilities"]), 1.0, rtol=1e-12)
    path = tmp_path / "digit.png"
    big = np.kron(255 - pixels[0], np.ones((5, 5), np.uint8))  # dark ink on white, 140x140
    path.write_bytes(_png(big))
    r = client.post(
        "/api/forward", content=path.read_bytes(), headers={"Content-Type": "image/png"}
    )
    assert r.status_code == 200, r.text
    up = r.json()
    np.testing.assert_array_equal(up["input"]["pixels"], load_image(path))  # uint8: exact
    assert up["input"]["picture"] == {"width": 140, "height": 140, "format": "PNG", "mode": "L"}


@pytest.mark.parametrize("layer, at", [("conv1", [2, 14, 9]), ("conv2", [5, 3, 4]), ("relu2", [5, 3, 4]),
                                       ("pool1", [3, 6, 7]), ("pool2", [9, 2, 2])])  # fmt: skip
def test_a_cell_trace_is_the_networks_value_with_its_checks(client, digit, layer, at):
    pixels, _ = digit
    f = _post(client, "forward", {"pixels": pixels.tolist()})
    names = [l["name"] for l in f["layers"]]
    value = np.asarray(f["layers"][names.index(layer)]["output"])[tuple(at)]
    t = _post(client, "cell", {"pixels": pixels.tolist(), "layer": layer, "at": at})
    assert t["ok"] and all(c["ok"] for c in t["checks"])
    labels = [s["label"] for s in t["steps"]]
    if layer.startswith("pool"):
        assert labels == [f"Y[{','.join(map(str, at))}]"]
    else:  # a conv cell: its sum of products Z, then the ReLU after it, whichever was clicked
        assert labels == [f"Z[{at[1]},{at[2]}]", f"relu{layer[-1]}[{','.join(map(str, at))}]"]
    shown = t["steps"][0 if layer.startswith("conv") else -1]["result"]
    assert shown == pytest.approx(value, abs=1e-12)
    assert "text" not in t
    full = _post(
        client, "cell", {"pixels": pixels.tolist(), "layer": layer, "at": at, "text": True}
    )
    assert full["text"].startswith("== ") and "check:" in full["text"]


def test_backward_is_torchs_with_every_check_passing(client, digit):
    pixels, label = digit
    b = _post(client, "backward", {"pixels": pixels.tolist(), "target": 3})
    chain = ServedModel(*bundled(), "x").chain
    _, douts, dx, grads, loss = torch_pass(torch_twin(chain), model_input(pixels), 3)
    assert b["ok"] and b["loss"] == pytest.approx(loss, rel=1e-12)
    for layer, do in zip(b["layers"], douts, strict=True):
        np.testing.assert_allclose(np.asarray(layer["grad_output"]), do[0], **TOL)
    np.testing.assert_allclose(np.asarray(b["grad_input"]), dx[0], **TOL)
    conv2 = b["layers"][3]
    np.testing.assert_allclose(np.asarray(conv2["weight_grad"]), grads["conv2"]["weight"], **TOL)
    np.testing.assert_allclose(np.asarray(conv2["bias_grad"]), grads["conv2"]["bias"], **TOL)
    assert len(conv2["checks"]) == 3 and all(c["ok"] for c in conv2["checks"])
    relu1 = b["layers"][1]
    np.testing.assert_array_equal(
        relu1["mask"], (np.asarray(f_out(client, pixels, "conv1")) > 0) * 1
    )
    np.testing.assert_allclose(b["dlogits"], np.asarray(b["probabilities"]) - np.eye(10)[3], **TOL)


def f_out(client, pixels, name):
    f = _post(client, "forward", {"pixels": pixels.tolist()})
    return next(l["output"] for l in f["layers"] if l["name"] == name)


@pytest.mark.parametrize("layer, kind, at", [("conv2", "weight", [7, 2, 1, 3]), ("conv2", "input", [2, 5, 6]),
                                             ("conv1", "input", [0, 0, 0]), ("pool1", "pool", [3, 6, 7])])  # fmt: skip
def test_gradient_cells_are_the_backward_pass_term_by_term(client, digit, layer, kind, at):
    pixels, _ = digit
    body = {"pixels": pixels.tolist(), "target": 3}
    b = _post(client, "backward", body)
    t = _post(client, "grad-cell", {**body, "layer": layer, "kind": kind, "at": at})
    assert t["ok"], [c["line"] for c in t["checks"]]
    k = [l["name"] for l in b["layers"]].index(layer)
    if kind == "weight":
        want = np.asarray(b["layers"][k]["weight_grad"])[tuple(at)]
        assert t["steps"][0]["result"] == pytest.approx(want, abs=1e-12)
    elif kind == "input":
        grad_in = b["layers"][k - 1]["grad_output"] if k else b["grad_input"]
        assert t["steps"][0]["result"] == pytest.approx(np.asarray(grad_in)[tuple(at)], abs=1e-12)
    else:
        assert "->" in t["steps"][1]["formula"]


def test_one_sgd_step_is_torchs_and_leaves_the_served_model_alone(client, digit, served):
    pixels, label = digit
    before = served.model.state_dict()
    s = _post(client, "step", {"pixels": pixels.tolist(), "target": 2, "lr": 0.5})
    twin = torch.nn.Sequential(*[t for _, t in torch_twin(served.chain)])
    xt = torch.tensor(model_input(pixels))
    opt = torch.optim.SGD(twin.parameters(), lr=0.5)
    torch.nn.functional.cross_entropy(twin(xt), torch.tensor([2])).backward()
    opt.step()
    after = torch.nn.functional.cross_entropy(twin(xt), torch.tensor([2])).item()
    assert (
        s["after"]["loss"] == pytest.approx(after, rel=1e-10)
        and s["after"]["loss"] < s["before"]["loss"]
    )
    for key, value in served.model.state_dict().items():
        np.testing.assert_array_equal(value, before[key])  # untouched: the same bytes
    again = _post(client, "step", {"pixels": pixels.tolist(), "target": 2, "lr": 0.5})
    assert again["before"]["loss"] == s["before"]["loss"]


def test_the_shape_sandbox_fills_the_formula_in_or_says_why_not(client):
    ok = client.get("/api/shape?size=5,5&kernel=3&stride=2&padding=1").json()
    assert (
        ok["output"] == [3, 3]
        and "floor((5 + 2*1 - 1*(3-1) - 1) / 2) + 1" in ok["steps"][0]["formula"]
    )
    assert ok["windows"]["rows"] == [[-1, 1, 3], [0, 2, 4], [1, 3, -1]]
    t = client.get(
        "/api/shape?size=4&kernel=3&stride=2&padding=1&transposed=1&output_padding=1"
    ).json()
    assert (
        t["output"] == [8, 8]
        and t["transposed"]
        and "(4 - 1)*2 - 2*1 + 1*(3-1) + 1 + 1" in t["steps"][0]["formula"]
    )
    bad = client.get("/api/shape?size=2&kernel=5").json()
    assert bad["output"] is None and "kernel 5 is larger than the padded input 2" in bad["invalid"]
    bad = client.get("/api/shape?size=4&kernel=3&stride=2&transposed=1&output_padding=2").json()
    assert "output_padding=2 must be smaller than stride=2 or dilation=1" in bad["invalid"]
    r = client.get("/api/shape?size=five")
    assert r.status_code == 400 and r.json()["error"].startswith(
        "size: expected one or two integers"
    )


def test_filters_saliency_and_grad_cam_are_convscope_inspects(client, digit, served):
    import convscope.inspect as ci

    f = client.get("/api/filters").json()
    assert [layer["name"] for layer in f["layers"]] == ["conv1", "conv2"]
    np.testing.assert_array_equal(
        f["layers"][1]["weight"], served.model.conv2.weight.data
    )  # a copy
    a = _post(client, "attributions", {"pixels": digit[0].tolist(), "target": 4})
    x = model_input(digit[0])[0]
    np.testing.assert_allclose(a["saliency"], ci.saliency(served.model, x, 4), **TOL)
    cam = ci.grad_cam(served.model, x, 4)
    assert a["grad_cam"]["layer"] == "conv2" == cam.layer
    np.testing.assert_allclose(a["grad_cam"]["map"], cam.upsampled[0], **TOL)
    np.testing.assert_allclose(a["grad_cam"]["cam"], cam.cam[0], **TOL)
    assert "saliency = |d logit[4] / dx|" in a["note"]


def test_held_out_digits_and_the_api_index(client, digit):
    d = client.get("/api/digits").json()
    assert d["count"] == 2000 and d["labels"][7] == digit[1]
    one = client.get("/api/digits/7").json()
    np.testing.assert_array_equal(one["pixels"], digit[0])
    paths = {e["path"] for e in client.get("/api").json()["endpoints"]}
    assert {"/api/forward", "/api/cell", "/api/backward", "/api/grad-cell", "/api/step", "/api/filters",
            "/api/attributions", "/api/shape", "/api/model", "/api/export"} <= paths  # fmt: skip


def test_export_answers_a_download_of_one_html_file(client, digit):
    r = client.post("/api/export", json={"pixels": digit[0].tolist()})
    assert r.status_code == 200 and r.headers["content-disposition"].startswith("attachment")
    html = r.text
    assert 'id="snapshot"' in html and "data:text/javascript;base64," in html
    assert "/static/" not in html and "http://" not in html and "https://" not in html


# ---- bad input: one sentence, a 4xx status, and the server keeps serving ----------------------

BAD = [
    ("POST", "/api/forward", {"content": b"hello, not a picture", "headers": {"Content-Type": "image/png"}},
     415, "is not a picture Pillow can read; upload a PNG or JPEG"),
    ("POST", "/api/forward", {"content": b"\0" * (MAX_BYTES + 1), "headers": {"Content-Type": "image/png"}},
     413, "pictures are limited to 10 MB (10,485,760 bytes)"),
    ("POST", "/api/forward", {"content": _png(np.zeros((1, 4097), np.uint8)), "headers": {"Content-Type": "image/png"}},
     413, "the picture is 4097x1 pixels; the limit is 4096x4096"),
    ("POST", "/api/forward", {"content": _png(np.full((30, 30), 200, np.uint8)), "headers": {"Content-Type": "image/png"}},
     400, "no digit found (the image is a single flat colour)"),
    ("POST", "/api/forward", {"content": b"[" + b"0," * 600_000 + b"0]", "headers": {"Content-Type": "application/json"}},
     413, "JSON requests are limited to 1 MB (1,048,576 bytes)"),
    ("POST", "/api/forward", {"content": b"\xff\xfe{", "headers": {"Content-Type": "application/json"}},
     400, "the request body is not valid JSON"),
    ("POST", "/api/forward", {"content": b"", "headers": {"Content-Type": "image/jpeg"}},
     415, "the upload is empty"),
    ("POST", "/api/forward", {"content": b'{"pixels": [1, 2,', "headers": {"Content-Type": "application/json"}},
     400, "the request body is not valid JSON"),
    ("POST", "/api/forward", {"content": b"pixels=1", "headers": {"Content-Type": "application/x-www-form-urlencoded"}},
     415, "takes Content-Type application/json or an image type"),
    ("POST", "/api/cell", {"content": _png(np.zeros((8, 8), np.uint8)), "headers": {"Content-Type": "image/png"}},
     415, "/api/cell takes Content-Type application/json, got image/png"),
    ("POST", "/api/forward", {"json": {"pixels": [[1, 2], [3, 4]]}},
     400, "the model takes a 1x28x28 picture (C x H x W) but the request has shape 1x2x2"),
    ("POST", "/api/forward", {"json": {"pixels": np.full((28, 28), 256).tolist()}},
     400, "every value must be an integer 0..255"),
    ("POST", "/api/forward", {"json": {"picture": 1}}, 400, "the request has no 'pixels' field"),
    ("POST", "/api/forward", {"json": [1, 2]}, 400, "the request body must be a JSON object"),
    ("POST", "/api/cell", {"json": {"pixels": np.zeros((28, 28)).tolist(), "layer": "conv1", "at": [0, 28, 3]}},
     400, "conv1: cell [0, 28, 3] is outside its output, which is 6x28x28; give 3 indices with 0 <= c < 6"),
    ("POST", "/api/cell", {"json": {"pixels": np.zeros((28, 28)).tolist(), "layer": "conv9", "at": [0, 0, 0]}},
     400, "unknown layer 'conv9'; the layers are conv1, relu1, pool1, conv2"),
    ("POST", "/api/cell", {"json": {"pixels": np.zeros((28, 28)).tolist(), "layer": "fc1", "at": [0]}},
     400, "fc1 (Linear) has no cell explanation"),
    ("POST", "/api/cell", {"json": {"pixels": np.zeros((28, 28)).tolist(), "layer": "conv1", "at": "0,0,0"}},
     400, "at: expected a list of integer indices"),
    ("POST", "/api/backward", {"json": {"pixels": np.zeros((28, 28)).tolist(), "target": 10}},
     400, "target: expected an integer from 0 to 9, got 10"),
    ("POST", "/api/grad-cell", {"json": {"pixels": np.zeros((28, 28)).tolist(), "target": 1, "layer": "pool1",
                                         "kind": "weight", "at": [0, 0, 0, 0]}},
     400, "kind 'weight' needs a Conv2d layer, but pool1 is MaxPool2d"),
    ("POST", "/api/step", {"json": {"pixels": np.zeros((28, 28)).tolist(), "target": 1, "lr": -1}},
     400, "lr: expected a number above 0 and at most 10"),
    ("GET", "/api/digits/2000", {}, 400, "digit: expected an integer from 0 to 1999, got 2000"),
    ("GET", "/api/nothing", {}, 404, "no such page: /api/nothing"),
    ("GET", "/api/forward", {}, 405, "GET is not accepted by /api/forward"),
]  # fmt: skip


@pytest.mark.parametrize(
    "method, path, kwargs, status, sentence", BAD, ids=[b[4][:40] for b in BAD]
)
def test_bad_input_gets_one_sentence_and_the_server_keeps_serving(
    client, method, path, kwargs, status, sentence
):
    r = client.request(method, path, **kwargs)
    assert r.status_code == status, r.text
    message = r.json()["error"]
    assert sentence in message and "\n" not in message and "Traceback" not in message
    assert client.get("/api/model").status_code == 200


# ---- safety: the Host check, no CORS, no path from a request, nothing written --------------

TRAVERSALS = ["/static/../../etc/passwd", "/static/%2e%2e/%2e%2e/etc/passwd", "/static/..%2f..%2fetc%2fpasswd",
              "/static/%252e%252e%252f%252e%252e%252fetc%252fpasswd", "/%2e%2e/%2e%2e/etc/passwd",
              "/static/..%5c..%5cetc%5cpasswd", "/static/....//....//etc/passwd", "/static/%2fetc%2fpasswd",
              "/static//etc/passwd", "/api/digits/..%2f..%2fetc%2fpasswd", "/static/app.js%00.png",
              "/static/../served.py", "/static/%2e%2e%2fserved.py", "/static/../../__init__.py"]  # fmt: skip


@pytest.mark.parametrize("path", TRAVERSALS)
def test_no_request_reads_a_path_traversal_included(client, path):
    r = client.get(path)
    assert r.status_code in (400, 404), (path, r.status_code)
    assert "root:" not in r.text and "import" not in r.text


def test_only_the_served_host_is_answered_and_no_cors_header_is_sent(client, served):
    r = client.get("/api/model", headers={"Host": "attacker.example"})
    assert r.status_code == 400 and "model" not in r.text
    r = client.get("/api/model", headers={"Origin": "https://attacker.example"})
    assert not any(h.lower().startswith("access-control-") for h in r.headers)
    pre = client.options("/api/forward", headers={"Origin": "https://attacker.example",
                                                  "Access-Control-Request-Method": "POST"})  # fmt: skip
    assert pre.status_code >= 400 and "access-control-allow-origin" not in pre.headers
    local = TestClient(create_app(served), base_url="http://127.0.0.1:8000")
    assert local.get("/api/model").status_code == 200
    assert local.get("/", headers={"Host": "127.0.0.1.attacker.example"}).status_code == 400


def test_requests_open_no_file_and_write_nothing(client, digit, monkeypatch):
    import builtins
    import os
    import tempfile

    png = _png(255 - digit[0][0])
    body = {"pixels": digit[0].tolist(), "target": 1}

    def every_kind():
        client.post("/api/forward", content=png, headers={"Content-Type": "image/png"})
        client.post(
            "/api/forward",
            content=b"\x89PNG" + b"\0" * (2 * 1024 * 1024),
            headers={"Content-Type": "image/png"},
        )
        for path, extra in [("forward", {}), ("cell", {"layer": "conv2", "at": [1, 2, 3]}), ("backward", {}),
                            ("grad-cell", {"layer": "conv2", "kind": "input", "at": [1, 2, 3]}),
                            ("step", {"lr": 0.1}), ("export", {})]:  # fmt: skip
            assert client.post(f"/api/{path}", json={**body, **extra}).status_code == 200
        for path in ("/", "/static/app.js", "/api/model", "/api/digits/3", "/api/shape?size=6"):
            assert client.get(path).status_code == 200

    every_kind()  # first calls import what they need
    opened = []
    real_open, real_os_open = builtins.open, os.open
    monkeypatch.setattr(builtins, "open", lambda *a, **k: opened.append(a[0]) or real_open(*a, **k))
    monkeypatch.setattr(os, "open", lambda *a, **k: opened.append(a[0]) or real_os_open(*a, **k))
    monkeypatch.setattr(tempfile, "SpooledTemporaryFile", lambda *a, **k: opened.append("spool"))
    every_kind()
    assert opened == []


def test_a_vgg_with_batch_norm_and_rgb_input_is_served_too():
    from convscope.models import vgg

    model = vgg(in_channels=3, size=32).double().eval()
    rng = np.random.default_rng(0)
    for bn in (m for m in model.modules() if type(m).__name__ == "BatchNorm2d"):
        bn.running_mean = rng.standard_normal(bn.num_features) * 0.1
        bn.running_var = rng.random(bn.num_features) + 0.5
    served = ServedModel(
        model, {"model": "vgg", "normalize": {"mean": [0.5] * 3, "std": [0.25] * 3}}, "vgg"
    )
    client = TestClient(create_app(served, ["testserver"]))
    m = client.get("/api/model").json()
    assert m["input_shape"] == [3, 32, 32] and "RGB, resized to 32x32" in m["preprocess"]
    assert [l["explained_by"] for l in m["layers"][:4]] == ["features.0"] * 3 + ["features.3"]
    r = client.post("/api/forward", content=_png(rng.integers(0, 255, (40, 50, 3), dtype=np.uint8)),
                    headers={"Content-Type": "image/png"})  # fmt: skip
    assert r.status_code == 200 and np.shape(r.json()["input"]["pixels"]) == (3, 32, 32)
    pixels = r.json()["input"]["pixels"]
    t = _post(client, "cell", {"pixels": pixels, "layer": "features.2", "at": [4, 7, 9]})
    assert t["ok"] and [s["label"] for s in t["steps"]][1:] == [
        "features.1[4,7,9]",
        "features.2[4,7,9]",
    ]
    b = _post(client, "backward", {"pixels": pixels, "target": 5})
    assert b["ok"], [c["line"] for l in b["layers"] for c in l.get("checks", []) if not c["ok"]]
    g = _post(client, "grad-cell", {"pixels": pixels, "target": 5, "layer": "features.3", "kind": "input",
                                    "at": [2, 10, 11]})  # fmt: skip
    assert g["ok"]
    r = client.get("/api/digits")
    assert (
        r.status_code == 400
        and "this model takes 3x32x32; upload a picture instead" in r.json()["error"]
    )
