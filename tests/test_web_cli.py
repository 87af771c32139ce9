"""`convscope serve` as a user runs it: the URL, the Host check, Ctrl-C (exit 0), a busy port
and a checkpoint of another architecture (one line, exit 2), the no-authentication warning,
--open, and --html (one self-contained file)."""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from convscope.cli.main import main
from convscope.models.bundled import BUNDLED_LENET

httpx = pytest.importorskip("httpx", reason="pip install httpx")
pytest.importorskip("uvicorn", reason="pip install starlette uvicorn")

SRC = str(Path(__file__).resolve().parents[1] / "src")


def serve(*args, stderr=subprocess.PIPE):
    """A `convscope serve` subprocess; stdout is a pipe (the URL), stderr a pipe unless given
    (a long-running server's log must go to a file: a full pipe would stop it)."""
    env = {**os.environ, "PYTHONPATH": SRC, "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-m", "convscope.cli", "serve", "--checkpoint", str(BUNDLED_LENET)]
    return subprocess.Popen(
        [*cmd, *args], stdout=subprocess.PIPE, stderr=stderr, text=True, env=env
    )


def url_of(proc, timeout=120):
    """The URL the server prints once it is ready."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        found = re.match(r"convscope serve: (http://\S+) \(Ctrl-C stops\)", line)
        if found:
            return found.group(1)
        if proc.poll() is not None:
            break
    proc.kill()
    raise AssertionError(f"no URL printed; stderr: {proc.stderr.read() if proc.stderr else ''}")


def stop(proc):
    proc.send_signal(signal.SIGINT)
    try:
        return proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()


def test_serve_prints_the_url_answers_refuses_other_hosts_and_ctrl_c_exits_0():
    proc = serve("--port", "0")
    try:
        url = url_of(proc)
        model = httpx.get(url + "api/model", timeout=30)
        assert model.status_code == 200 and model.json()["model"] == "lenet"
        page = httpx.get(url, timeout=30)
        assert page.status_code == 200 and 'aria-label="Draw a digit"' in page.text
        rebinding = httpx.get(url + "api/model", headers={"Host": "attacker.example"}, timeout=30)
        assert rebinding.status_code == 400
    finally:
        status = stop(proc)
    assert status == 0
    assert "Traceback" not in proc.stderr.read()


def test_a_busy_port_is_one_line_on_stderr_and_exit_2():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = serve("--port", str(port))
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 2 and out == ""
    assert err.splitlines() == [
        f"error: serve: port {port} on 127.0.0.1 is already in use; stop what runs there or choose"
        f" another port with --port N (--port 0 picks a free one)"
    ]


def test_another_host_warns_that_the_page_has_no_authentication():
    proc = serve("--port", "0", "--host", "0.0.0.0")
    try:
        url = url_of(proc)
        assert httpx.get(url + "api/model", timeout=30).status_code == 200
    finally:
        stop(proc)
    err = proc.stderr.read()
    assert "warning: serving on 0.0.0.0: the page has no authentication" in err


def test_a_checkpoint_of_another_architecture_is_one_line_and_exit_2(tmp_path, capsys):
    from safetensors.numpy import save_file

    path = tmp_path / "other.safetensors"
    save_file({"encoder.weight": np.zeros((3, 3), np.float32)}, str(path))
    assert main(["serve", "--checkpoint", str(path), "--port", "0"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "fit no known model" in err[0]


def test_open_starts_the_browser_on_the_url(monkeypatch, capsys):
    import webbrowser

    from convscope.web import server

    opened = []
    monkeypatch.setattr(webbrowser, "open", opened.append)
    monkeypatch.setattr(server, "run", lambda app, sock, on_ready: on_ready())
    assert main(["serve", "--checkpoint", str(BUNDLED_LENET), "--port", "0", "--open"]) == 0
    url = re.search(r"(http://127\.0\.0\.1:\d+/)", capsys.readouterr().out).group(1)
    assert opened == [url]


def test_html_writes_one_file_that_needs_no_server(tmp_path, capsys):
    from PIL import Image

    from convscope.data import load_digits

    picture = tmp_path / "seven.png"
    test = load_digits()[1]
    Image.fromarray(255 - test.images[0][0]).resize((112, 112)).save(picture)
    page = tmp_path / "seven.html"
    assert (
        main(
            [
                "serve",
                "--checkpoint",
                str(BUNDLED_LENET),
                "--html",
                str(page),
                "--input",
                str(picture),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert re.match(rf"wrote {re.escape(str(page))} \(\d+ KB\): prediction {test.labels[0]}", out)
    html = page.read_text()
    snapshot = json.loads(re.search(r'<script type="application/json" id="snapshot">(.*?)</script>', html, re.S)
                          .group(1).replace("<\\/", "</"))  # fmt: skip
    assert snapshot["answers"]["forward"]["prediction"] == test.labels[0]
    assert set(snapshot["checks"]) == {"conv1", "pool1", "conv2", "pool2"}
    assert not re.search(r'(src|href)="(/|https?:)', html)  # nothing to fetch
    assert main(["serve", "--checkpoint", str(BUNDLED_LENET), "--input", str(picture)]) == 2
    assert "add --html" in capsys.readouterr().err
