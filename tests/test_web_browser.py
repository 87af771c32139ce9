"""The page in a real browser: Playwright for Python driving Debian's Chromium against a running
`convscope serve`. Draw a stroke, upload a PNG, pick a test digit, click a conv1 and a conv2 cell,
the backward pass, one SGD step, the sandbox, the exported file from file:// -- and the numbers
on the page equal the engine's to the precision shown. Screenshots go to tests/output/browser/.

Chromium is CONVSCOPE_CHROMIUM, else `chromium` on PATH. Without Chromium or Playwright these
tests skip (CONVSCOPE_BROWSER_TESTS=required, as .ci/run sets it, turns the skip into a failure).
"""

import math
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from test_web_cli import serve, stop, url_of

pytestmark = pytest.mark.slow

CHROMIUM = os.environ.get("CONVSCOPE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
SHOTS = Path(__file__).resolve().parent / "output" / "browser"
HOW = "apt-get install chromium && pip install playwright (Playwright's own browser download is not needed)"


def _missing():
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return f"the browser tests need Playwright for Python: {HOW}"
    if not os.path.exists(CHROMIUM):
        return f"the browser tests need Chromium at {CHROMIUM}: {HOW}"
    return None


if _missing():
    if os.environ.get("CONVSCOPE_BROWSER_TESTS") == "required":
        raise RuntimeError(_missing())  # CI: a missing browser is a failure, not a skip
    pytest.skip(_missing(), allow_module_level=True)

from playwright.sync_api import expect, sync_playwright  # noqa: E402

httpx = pytest.importorskip("httpx")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    log = tmp_path_factory.mktemp("server") / "stderr.txt"
    with open(log, "w") as err:
        proc = serve("--port", "0", stderr=err)
        try:
            yield url_of(proc)
        finally:
            stop(proc)
    assert "Traceback" not in log.read_text(), log.read_text()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("profile")), executable_path=CHROMIUM, args=ARGS,
            headless=True, viewport={"width": 1400, "height": 1000}, accept_downloads=True,
        )  # fmt: skip
        yield context
        context.close()


@pytest.fixture
def page(browser, request):
    page = browser.new_page()
    problems = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    yield page
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / f"{request.node.name}.png", full_page=False)
    page.close()
    assert problems == [], problems


def shown(value):
    """The page's rounding: 4 significant digits (integers as they are)."""
    if float(value).is_integer() and abs(value) < 1e6:
        return float(value)
    return float(f"{value:.4g}")


def same_as_shown(text, value):
    """The number on the page is the engine's value to the precision shown."""
    assert math.isclose(float(text), shown(value), rel_tol=1e-12, abs_tol=1e-300), (text, value)


def ready(page, url):
    page.goto(url)
    status = page.get_by_role("status")
    expect(status).to_have_text(re.compile(r"^Prediction: \d"), timeout=60000)
    return status


def forward_answer(server, pixels):
    return httpx.post(server + "api/forward", json={"pixels": pixels}, timeout=60).json()


def test_pick_a_test_digit_and_the_probabilities_are_the_engines(server, page):
    ready(page, server)
    picker = page.get_by_label("Pick a test digit")
    with page.expect_response("**/api/forward"):
        picker.select_option("12")
    digit = httpx.get(server + "api/digits/12", timeout=30).json()
    a, label = forward_answer(server, digit["pixels"]), digit["label"]
    expect(page.get_by_role("status")).to_have_text(re.compile(rf"^Prediction: {a['label']} \("))
    assert a["prediction"] == label
    bars = page.locator("#bars li .value").all_text_contents()
    for text, p in zip(bars, a["probabilities"], strict=True):
        same_as_shown(text, p)


def test_draw_a_stroke_and_the_prediction_follows(server, page):
    ready(page, server)
    canvas = page.get_by_label("Draw a digit")
    box = canvas.bounding_box()
    x0, y0 = box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.15
    sent = []
    page.on("request", lambda r: sent.append(r) if r.url.endswith("/api/forward") else None)
    t0 = page.evaluate("performance.now()")
    with page.expect_response("**/api/forward") as first:
        page.mouse.move(x0, y0)
        page.mouse.down()
        for k in range(1, 21):
            page.mouse.move(x0, y0 + k * box["height"] * 0.035)
            page.wait_for_timeout(15)
        page.mouse.up()
    assert first.value.status == 200
    page.wait_for_timeout(800)
    assert len(sent) >= 2 and all(r.headers["content-type"] == "image/png" for r in sent)
    # the page's own clock (Resource Timing: when fetch() was called, when the answer ended);
    # the network stack's timestamps lag fetch() by a varying IPC delay on a busy machine
    spans = page.evaluate(
        """t0 => performance.getEntriesByType("resource")
            .filter(e => e.name.endsWith("/api/forward") && e.startTime >= t0)
            .map(e => [e.startTime, e.responseEnd])""",
        t0,
    )
    assert len(spans) == len(sent)
    for (start, end), (later, _) in zip(spans, spans[1:], strict=False):
        # timestamps are coarsened to 0.1 ms
        assert later >= start + 99.8, "the prediction follows a drawing at most every 100 ms"
        assert later >= end - 0.2, "a newer drawing waits for the answer in flight: none queue up"
    expect(page.get_by_role("status")).to_have_text(re.compile(r"^Prediction: 1 \("))  # a stroke


def test_upload_a_png_and_the_page_shows_what_the_model_got(server, page, tmp_path):
    from PIL import Image

    from convscope.data import load_digits, load_image

    test = load_digits()[1]
    path = tmp_path / "four.png"
    Image.fromarray(255 - test.images[4][0]).resize((140, 140)).save(path)  # dark on white, big
    ready(page, server)
    with page.expect_response("**/api/forward"):
        page.get_by_label("Upload a picture").set_input_files(str(path))
    r = httpx.post(
        server + "api/forward", content=path.read_bytes(), headers={"Content-Type": "image/png"}
    )
    a = r.json()
    np.testing.assert_array_equal(a["input"]["pixels"], load_image(path))  # as predict converts it
    expect(page.get_by_role("status")).to_have_text(re.compile(rf"^Prediction: {a['label']} "))
    expect(page.locator("#picture img")).to_have_attribute("alt", re.compile("four.png"))


def _click_cell(page, name, channel, i, j, size):
    m = page.get_by_label(re.compile(rf"^{name} channel {channel}:"))
    box = m.bounding_box()
    m.click(position={"x": (j + 0.5) * box["width"] / size, "y": (i + 0.5) * box["height"] / size})


@pytest.mark.parametrize("layer, at, size", [("conv1", (2, 14, 9), 28), ("conv2", (5, 3, 4), 10)])
def test_click_a_conv_cell_and_see_its_sum_of_products_checked(server, page, layer, at, size):
    ready(page, server)
    pixels = httpx.get(server + "api/digits/0", timeout=30).json()["pixels"]
    engine = forward_answer(server, pixels)
    value = np.asarray(next(l["output"] for l in engine["layers"] if l["name"] == layer))[at]
    with page.expect_response("**/api/cell") as cell:
        _click_cell(page, layer, *at, size)
    trace = cell.value.json()
    panel = page.locator("#cell-panel")
    heading = panel.locator("h3")
    expect(heading).to_have_text(re.compile(rf"^{layer}\[{at[0]}, {at[1]}, {at[2]}\] = "))
    same_as_shown(heading.text_content().split("= ")[1], value)
    expect(panel.locator("pre.formula").first).to_contain_text(
        re.compile(rf"Z\[{at[1]},{at[2]}\] = \(Ap?\[")
    )
    expect(panel.locator(".checks li.ok").first).to_contain_text("✓ ok")
    assert trace["ok"] and panel.locator(".checks li.bad").count() == 0
    with page.expect_response("**/api/cell"):
        panel.get_by_text("as `convscope explain` prints it").click()
    expect(panel.locator("pre.explain")).to_contain_text("== conv: ")
    windows = panel.locator(".windows table caption")
    assert (
        windows.count() == (1 if layer == "conv1" else 6) * 2
    )  # every input channel + its weights


def test_the_keyboard_reaches_a_pool_cell_and_enter_explains_it(server, page):
    ready(page, server)
    m = page.get_by_label(re.compile(r"^pool1 channel 3:"))
    m.focus()
    for key in ["ArrowDown"] * 6 + ["ArrowRight"] * 7:
        page.keyboard.press(key)
    readout = m.locator("xpath=..").locator(".readout")
    expect(readout).to_have_text(re.compile(r"^pool1\[3, 6, 7\] = "))
    with page.expect_response("**/api/cell"):
        page.keyboard.press("Enter")
    expect(page.locator("#cell-panel h3")).to_have_text(re.compile(r"^pool1\[3, 6, 7\] = "))
    expect(page.locator("#cell-panel pre.formula").first).to_contain_text("Y[3,6,7] = max(")


def test_backward_for_a_target_then_one_sgd_step(server, page):
    ready(page, server)
    with page.expect_response("**/api/backward"):
        page.get_by_label("Target label").select_option("3")
    pixels = httpx.get(server + "api/digits/0", timeout=30).json()["pixels"]
    b = httpx.post(server + "api/backward", json={"pixels": pixels, "target": 3}, timeout=60).json()
    expect(page.locator("#gradcheck")).to_have_text(re.compile(r"^Gradient check: ✓ ok"))
    table = page.locator("#backward-out table.numbers").first
    rows = table.locator("tr").all()[1:]
    for row, (p, d) in zip(rows, zip(b["probabilities"], b["dlogits"], strict=True), strict=True):
        cells = row.locator("td").all_text_contents()
        same_as_shown(cells[0], p)
        same_as_shown(cells[2], d)
    dw = page.get_by_label(re.compile(r"^dL/dW\[0, 2\]:"))
    dw.scroll_into_view_if_needed()
    with page.expect_response("**/api/grad-cell") as cell:
        dw.click(position={"x": 3, "y": 3})
    assert cell.value.json()["ok"]
    expect(page.locator("#cell-panel pre.formula").first).to_contain_text(
        "dW[2,0,0] = (X[2,0,0]*dO[0,0])"
    )
    page.get_by_label("Learning rate").fill("0.05")
    with page.expect_response("**/api/step") as step:
        page.get_by_role("button", name="Take one SGD step").click()
    s = step.value.json()
    out = page.locator("#sgd-out table")
    expect(out).to_contain_text("lr = 0.05")
    before, after = (r.locator("td").all_text_contents() for r in out.locator("tr").all()[1:])
    same_as_shown(before[0], s["before"]["loss"])
    same_as_shown(after[0], s["after"]["loss"])
    assert s["after"]["loss"] < s["before"]["loss"]


def test_the_sandbox_fills_the_formula_in_and_labels_input_and_output(server, page):
    ready(page, server)
    form = page.locator("#shape-form")
    form.get_by_label("input height").fill("7")
    form.get_by_label("input width").fill("7")
    expect(page.locator("#shape-formula")).to_contain_text("floor((7 + 2*1 - 1*(3-1) - 1) / 2) + 1")
    stage = page.locator("#shape-anim")
    expect(stage.locator("figcaption").first).to_have_text(re.compile(r"^INPUT 7×7"))
    expect(stage.locator("figcaption").nth(1)).to_have_text("OUTPUT 4×4")
    page.get_by_role("button", name=re.compile("Pause|Play")).first.click()
    expect(page.locator("#shape-caption")).to_contain_text("reads input rows")
    form.get_by_label("transposed").check()
    expect(page.locator("#shape-formula")).to_contain_text("(7 - 1)*2 - 2*1 + 1*(3-1) + 0 + 1")
    expect(stage.locator("figcaption").nth(1)).to_have_text(re.compile(r"^OUTPUT 13×13"))
    expect(page.locator("#shape-caption")).to_contain_text("is added into output rows")
    form.get_by_label("output padding").fill("2")
    expect(page.locator("#shape-caption")).to_contain_text(
        "invalid: output_padding=2 must be smaller"
    )


def test_inside_the_model_filters_saliency_and_grad_cam(server, page):
    ready(page, server)
    inside = page.locator("#inside")
    expect(inside.get_by_label(re.compile(r"^conv2 W\[15, 5\]:"))).to_be_visible()
    weight = httpx.get(server + "api/filters", timeout=30).json()["layers"][0]["weight"][2][0]
    first = inside.get_by_label(re.compile(r"^conv1 W\[2, 0\]:"))
    first.focus()
    readout = first.locator("xpath=ancestor::article").locator(".readout")
    expect(readout).to_have_text(re.compile(r"^conv1\.weight\[2, 0, 0, 0\] = "))
    same_as_shown(readout.text_content().split("= ")[1], weight[0][0])
    with page.expect_response("**/api/attributions"):
        page.get_by_label("Target label").select_option("5")
    expect(inside.get_by_label(re.compile(r"^saliency \|d logit\[5\] / dx\|:"))).to_be_visible()
    expect(inside.get_by_label(re.compile(r"^Grad-CAM \(conv2\) for 5:"))).to_be_visible()
    inside.scroll_into_view_if_needed()


def test_bad_input_shows_the_servers_sentence(server, page, tmp_path):
    ready(page, server)
    bad = tmp_path / "notes.png"
    bad.write_bytes(b"this is not a picture")
    page.get_by_label("Upload a picture").set_input_files(str(bad))
    expect(page.get_by_role("alert")).to_contain_text("is not a picture Pillow can read")


def test_the_export_button_and_the_exported_file_work_from_file_urls(
    server, page, browser, tmp_path
):
    ready(page, server)
    with page.expect_download() as download:
        page.get_by_role("button", name="Export this page as one HTML file").click()
    path = tmp_path / "exported.html"
    download.value.save_as(path)
    offline = browser.new_page()
    requests = []
    offline.on("request", lambda r: requests.append(r.url))
    status = ready(offline, path.as_uri())
    pixels = httpx.get(server + "api/digits/0", timeout=30).json()["pixels"]  # the page's first
    engine = forward_answer(server, pixels)
    expect(status).to_have_text(re.compile(rf"^Prediction: {engine['label']} "))
    value = np.asarray(engine["layers"][3]["output"])[5, 3, 4]
    _click_cell(offline, "conv2", 5, 3, 4, 10)
    heading = offline.locator("#cell-panel h3")
    expect(heading).to_have_text(re.compile(r"^conv2\[5, 3, 4\] = "))
    same_as_shown(heading.text_content().split("= ")[1], value)
    expect(offline.locator("#cell-panel .checks li.ok")).to_contain_text("ops.naive.corr2d")
    expect(offline.get_by_label(re.compile(r"^conv1 W\[0, 0\]:"))).to_be_visible()  # filters
    expect(offline.get_by_label(re.compile(r"^Grad-CAM \(conv2\) for "))).to_be_visible()
    expect(offline.locator("#backward")).to_contain_text("need the server")
    assert all(u.startswith(("file:", "data:")) for u in requests), requests
    SHOTS.mkdir(parents=True, exist_ok=True)
    offline.screenshot(path=SHOTS / "exported-file.png")
    offline.close()


def test_the_page_marks_when_its_first_feature_maps_are_drawn(server, page):
    """The bench (bench/web.py) reads this mark to time the page; here only that it is made."""
    ready(page, server)
    marks = page.evaluate(
        "() => performance.getEntriesByName('maps-drawn').map((m) => m.startTime)"
    )
    assert len(marks) >= 1 and marks[0] > 0
