"""python -m bench.web [--rounds N] [--json FILE] [--no-browser]

The speed figures of `convscope serve` (issue 12), measured against a real server over HTTP on
the bundled LeNet-5 and held-out digits:

    forward + full backward   POST /api/forward then POST /api/backward      target: < 100 ms median
    one cell trace            POST /api/cell on conv1 / conv2 / pool1 cells  target: < 20 ms median
    page interactive          navigation -> the "maps-drawn" performance mark in headless
                              Chromium (Playwright, Debian's /usr/bin/chromium)  target: < 1.5 s

Each figure is the median of ``--rounds`` requests (navigations). The server runs with the
CLI's settings (one BLAS thread is the caller's choice: OPENBLAS_NUM_THREADS).
"""

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

from . import machine

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip


def start_server():
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-m", "convscope.cli", "serve", "--port", "0"]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env
    )
    for line in proc.stdout:
        found = re.match(r"convscope serve: (http://\S+) ", line)
        if found:
            return proc, found.group(1)
    raise SystemExit("bench.web: the server did not start")


def time_requests(url, rounds):
    import httpx

    with httpx.Client(base_url=url, timeout=60) as http:
        digits = [http.get(f"api/digits/{k}").json()["pixels"] for k in range(rounds)]
        for pixels in digits[:3]:  # warm-up
            http.post("api/forward", json={"pixels": pixels})
            http.post("api/backward", json={"pixels": pixels, "target": 0})
        fwd, bwd, both, cells = [], [], [], {"conv1": [], "conv2": [], "pool1": []}
        for k, pixels in enumerate(digits):
            t0 = time.perf_counter()
            http.post("api/forward", json={"pixels": pixels}).raise_for_status()
            t1 = time.perf_counter()
            http.post("api/backward", json={"pixels": pixels, "target": k % 10}).raise_for_status()
            t2 = time.perf_counter()
            fwd.append(t1 - t0)
            bwd.append(t2 - t1)
            both.append(t2 - t0)
            for layer, at in (
                ("conv1", [k % 6, 9, 13]),
                ("conv2", [k % 16, 4, 5]),
                ("pool1", [k % 6, 6, 7]),
            ):
                t0 = time.perf_counter()
                http.post(
                    "api/cell", json={"pixels": pixels, "layer": layer, "at": at}
                ).raise_for_status()
                cells[layer].append(time.perf_counter() - t0)
    ms = lambda xs: 1000 * statistics.median(xs)  # noqa: E731
    return {"forward_ms": ms(fwd), "backward_ms": ms(bwd), "forward_plus_backward_ms": ms(both),
            **{f"cell_{k}_ms": ms(v) for k, v in cells.items()}}  # fmt: skip


def time_page(url, rounds):
    """Median ms from navigation start to the page's "maps-drawn" mark (first feature maps)."""
    from playwright.sync_api import expect, sync_playwright

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    marks = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        for k in range(rounds + 1):
            page = browser.new_page()
            page.goto(url)
            expect(page.get_by_role("status")).to_have_text(
                re.compile(r"^Prediction: \d"), timeout=60000
            )
            mark = page.evaluate("() => performance.getEntriesByName('maps-drawn')[0].startTime")
            if k:  # the first navigation warms the server and the browser's caches
                marks.append(mark)
            page.close()
        browser.close()
    return {"page_interactive_ms": statistics.median(marks), "page_interactive_all_ms": marks}


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m bench.web", description=__doc__.splitlines()[2])
    ap.add_argument(
        "--rounds", type=int, default=30, help="requests (navigations: a third) per figure"
    )
    ap.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    ap.add_argument("--no-browser", action="store_true", help="skip the page timing")
    args = ap.parse_args(argv)
    for line in machine.describe(machine.report()):
        print(line)
    proc, url = start_server()
    try:
        figures = time_requests(url, args.rounds)
        if not args.no_browser:
            figures.update(time_page(url, max(3, args.rounds // 3)))
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    targets = {"forward_plus_backward_ms": 100, "cell_conv2_ms": 20, "cell_conv1_ms": 20,
               "cell_pool1_ms": 20, "page_interactive_ms": 1500}  # fmt: skip
    for name, value in figures.items():
        if isinstance(value, float):
            goal = f"   (target < {targets[name]} ms)" if name in targets else ""
            print(f"{name:28s} {value:8.1f}{goal}")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1))
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
