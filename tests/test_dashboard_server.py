"""`deltaprop train --dashboard`: a real training command in a subprocess, followed over HTTP,
a websocket client and headless Chromium (Selenium with Debian's chromedriver).

What the page shows is compared with the run's own --json history and saved model; the
safety rules (token, origin, read-only, message size) are checked from outside. Screenshots
go to $DELTAPROP_TEST_ARTIFACTS (or a pytest temporary folder) for a person to see.
"""

import importlib.util
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

for _module in ("starlette", "uvicorn", "websockets"):
    if importlib.util.find_spec(_module) is None:
        pytest.skip(f"{_module} (the web extra) is not installed", allow_module_level=True)

from websockets.exceptions import ConnectionClosed, InvalidStatus  # noqa: E402

from conftest import open_socket, page_errors, page_state, wait_for_page  # noqa: E402

SRC = Path(__file__).resolve().parents[1] / "src"
ENV = {**os.environ, "PYTHONPATH": str(SRC), "PYTHONUNBUFFERED": "1"}
# 180 training points of three spirals, a [2, 16, 16, 3] tanh network: about 400 epochs a
# second here, so a run of a few seconds has epochs enough to be followed.
SPIRALS = ["--dataset", "spirals", "--layers", "2-16-16-3", "--activation", "tanh",
           "--output-activation", "softmax", "--loss", "cross_entropy", "--lr", "0.05",
           "--batch-size", "2"]  # fmt: skip


def _train(*args):
    """The command started; its stdout goes to a file (a pipe nobody reads would fill up)."""
    out = tempfile.TemporaryFile("w+")
    proc = subprocess.Popen(
        [sys.executable, "-m", "deltaprop", "train", *SPIRALS, *args, "--dashboard"],
        stdout=out, stderr=subprocess.PIPE, text=True, env=ENV,
    )  # fmt: skip
    proc.out = out
    first = proc.stderr.readline().strip()
    if not first.startswith("dashboard: http://127.0.0.1:"):
        proc.kill()
        pytest.fail(f"no dashboard URL on the first line of stderr: {first!r}")
    url = first.removeprefix("dashboard: ")
    base, token = url.split("/?token=")
    return proc, {"url": url, "base": base, "token": token}


def _end(proc, timeout=60):
    """(stdout, stderr) once the command has ended."""
    _, err = proc.communicate(timeout=timeout)
    proc.out.seek(0)
    return proc.out.read(), err


def _await_line(proc, text, timeout=120):
    """Read stderr lines until one contains `text` (the lines read are returned)."""
    lines, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        lines.append(line)
        if text in line:
            return lines
    raise AssertionError(f"{text!r} not on stderr; got {lines}")


def _follow(ws, until, timeout=60):
    """Updates from the dashboard, merged, until `until(run, records)`."""
    run, records, deadline = None, [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        m = json.loads(ws.recv(timeout=timeout))
        assert m["type"] == "update"
        run = m.get("run", run)
        records += m["records"]
        if until(run, records):
            return run, records
    raise AssertionError(f"the dashboard did not get there within {timeout} s")


def _history_columns(history):
    """The --json history as the page's state lays it out."""
    d = history["diagnostics"]
    return {
        "epochs": history["epoch"], "cost": history["cost"],
        "accuracy": history["accuracy"], "val_cost": history["val_cost"],
        "val_accuracy": history["val_accuracy"], "lr": history["lr"],
        "gradient_norms": [r["grad_w_norm"] for r in d],
        "saturated": [r["saturated"] for r in d], "dead": [r["dead"] for r in d],
    }  # fmt: skip


def test_the_url_is_the_first_line_on_stderr_and_stdout_is_the_json():
    proc, site = _train("--epochs", "30", "--json")
    out, err = _end(proc, timeout=120)  # no --dashboard-keep, not a terminal: no wait
    assert proc.returncode == 0, err
    result = json.loads(out)
    history = result["history"]
    assert history["epoch"] == list(range(1, 31))
    # --dashboard records the diagnostics the page draws
    assert [d["epoch"] for d in history["diagnostics"]] == history["epoch"]
    assert "serving its final state" not in err
    with pytest.raises(urllib.error.URLError):  # the server stopped with the command
        urllib.request.urlopen(site["url"], timeout=5)


def test_the_dashboard_options_are_checked_before_training(monkeypatch, capsys):
    from deltaprop.cli import run

    assert run(["train", "--dashboard-keep", "5", "--epochs", "1"]) == 2
    assert "error: --dashboard-keep needs --dashboard" in capsys.readouterr().err
    assert run(["train", "--dashboard", "--dashboard-keep", "-1"]) == 2
    assert "--dashboard-keep" in capsys.readouterr().err
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "uvicorn" else real(name, *a)
    )
    assert run(["train", "--dashboard", "--epochs", "1"]) == 2
    err = capsys.readouterr().err
    needs = 'error: --dashboard needs starlette, uvicorn, websockets; pip install "deltaprop[web]"'
    assert needs in err


@pytest.mark.slow
def test_the_token_is_required_and_nothing_changes_the_run():
    proc, site = _train("--epochs", "800", "--json", "--dashboard-keep", "60")
    try:
        ok = urllib.request.urlopen(site["url"], timeout=10)
        page = ok.read().decode()
        assert ok.status == 200 and "deltaprop dashboard" in page
        assert "default-src 'none'" in ok.headers["Content-Security-Policy"]
        assert "http" not in page.replace(site["token"], "").split("<body")[0].lower()  # no CDN
        for path in ("/", "/?token=wrong", "/static/dashboard.js", "/ws",
                     f"/static/../dashboard.py?token={site['token']}"):  # fmt: skip
            with pytest.raises(urllib.error.HTTPError) as err:
                urllib.request.urlopen(site["base"] + path, timeout=10)
            assert err.value.code == (404 if "token=" in path and "wrong" not in path else 403)
        for method in ("POST", "PUT", "DELETE"):  # no endpoint takes anything
            request = urllib.request.Request(site["url"], data=b"{}", method=method)
            with pytest.raises(urllib.error.HTTPError) as err:
                urllib.request.urlopen(request, timeout=10)
            assert err.value.code == 405
        for token in ("", "nope"):
            with pytest.raises(InvalidStatus) as refused:
                open_socket(site, token=token)
            assert refused.value.response.status_code == 403
        with pytest.raises(InvalidStatus) as refused:
            open_socket(site, origin="http://evil.example")
        assert refused.value.response.status_code == 403
        # read-only: a message of any kind closes the connection; a huge one is refused
        for message in (json.dumps({"type": "pause"}), "x" * (10 * 2**20)):
            with open_socket(site) as ws:
                _follow(ws, lambda run, records: len(records) >= 1)
                ws.send(message)
                with pytest.raises(ConnectionClosed) as closed:
                    for _ in range(10_000):
                        ws.recv(timeout=20)
                assert closed.value.rcvd.code == (1008 if len(message) < 100 else 1009)
        with open_socket(site) as ws:  # still serving, and the run went on to its end
            run, records = _follow(ws, lambda run, records: run["status"] == "finished")
        _await_line(proc, "dashboard: the run has ended; serving its final state for 60 s")
        with open_socket(site) as ws:  # a page opened after the end gets the whole run
            assert _follow(ws, lambda run, records: True)[1] == records
    finally:
        proc.send_signal(signal.SIGINT)  # ends the --dashboard-keep wait
        out, err = _end(proc)
    assert proc.returncode == 0, err  # the run was complete: Ctrl-C only stopped the server
    history = json.loads(out)["history"]
    assert history["stop_reason"] == run["stop_reason"] == "completed"
    assert [r["epoch"] for r in records] == history["epoch"] == list(range(1, 801))
    assert [r["val_cost"] for r in records] == history["val_cost"]
    assert [r["grad_w_norm"] for r in records] == [d["grad_w_norm"] for d in history["diagnostics"]]


# ---------------------------------------------------------------------- in Chromium
def _wait(browser, condition, timeout=60, what="the page"):
    shown = ("status", "stop_reason", "updates", "connected")
    return wait_for_page(browser, condition, timeout, what, shown)


def _text(browser, testid):
    return browser.find_element("css selector", f"[data-testid={testid}]").text


@pytest.mark.slow
def test_the_page_follows_the_run_and_ends_with_its_history(browser, artifacts, tmp_path):
    from deltaprop.io import load

    model = tmp_path / "spirals.npz"
    args = ("--epochs", "1500", "--json", "--out", str(model), "--dashboard-keep", "60")
    proc, site = _train(*args)
    seen = []
    try:
        browser.get(site["url"])
        st = _wait(browser, lambda s: len(s["epochs"]) >= 1, what="the first epoch")
        while st["status"] in ("waiting", "training"):  # the curves grow as the run goes
            seen.append(len(st["epochs"]))
            time.sleep(0.2)
            st = page_state(browser)
        st = _wait(browser, lambda s: s["status"] == "finished", what="the end of the run")
        browser.save_screenshot(str(artifacts / "dashboard.png"))
        _await_line(proc, "serving its final state")
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = _end(proc)
    assert proc.returncode == 0, err
    result = json.loads(out)
    growing = [n for n in seen if 0 < n < 1500]
    assert len(set(growing)) >= 2 and growing == sorted(growing), seen
    # the final state is the run's history, number for number
    for key, values in _history_columns(result["history"]).items():
        assert st[key] == values, key
    assert st["stop_reason"] == result["history"]["stop_reason"] == "completed"
    assert st["kept_epoch"] == result["metrics"]["kept_epoch"] == result["history"]["best_epoch"]
    assert st["sizes"] == [2, 16, 16, 3] and st["layer_activations"] == ["tanh", "tanh", "softmax"]
    # the weights drawn are the model the run saved (restore-best: the kept epoch's)
    net = load(model)
    assert st["weights_mode"] == "edges" and st["weights_epoch"] == st["kept_epoch"]
    for shown, W in zip(st["weights"], net.weights):
        np.testing.assert_array_equal(np.array(shown), W)
    # what a person reads: the header's numbers are the last epoch's
    assert _text(browser, "epoch") == "1500 / 1500"
    assert _text(browser, "val-accuracy") == f"{100 * st['val_accuracy'][-1]:.1f} %"
    assert "finished: completed" in _text(browser, "run-status")
    assert "2-16-16-3 (tanh/softmax, cross_entropy cost) on spirals" in _text(browser, "title")
    assert page_errors(browser) == []


@pytest.mark.slow
def test_ctrl_c_mid_run_shows_the_interrupted_run_after_the_server_stops(browser):
    proc, site = _train("--epochs", "100000", "--json")
    try:
        browser.get(site["url"])
        _wait(browser, lambda s: len(s["epochs"]) >= 50, what="50 epochs")
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = _end(proc)
    assert proc.returncode == 130 and "interrupted: kept epoch" in err
    history = json.loads(out)["history"]
    st = _wait(browser, lambda s: not s["connected"], what="the server's stop")
    assert st["status"] == "interrupted" and st["stop_reason"] == "interrupted"
    assert st["epochs"] == history["epoch"] and st["cost"] == history["cost"]
    assert "the run has ended and its server has stopped" in _text(browser, "status")
    assert page_errors(browser) == []


def test_at_a_terminal_the_finished_run_is_served_until_ctrl_c():
    import pty
    import select

    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "deltaprop", "train", *SPIRALS, "--epochs", "20", "--dashboard"],
        stdin=slave, stdout=slave, stderr=slave, env={**ENV, "TERM": "xterm"}, close_fds=True,
    )  # fmt: skip
    os.close(slave)
    raw, deadline = b"", time.monotonic() + 120
    try:
        while b"(Ctrl-C stops)" not in raw and time.monotonic() < deadline:
            if select.select([master], [], [], 5)[0]:
                raw += os.read(master, 65536)
        text = raw.decode()
        assert text.startswith("dashboard: http://127.0.0.1:"), text[:200]
        assert "20/20" in text  # the epoch lines on stdout are unchanged
        assert "dashboard: the run has ended; serving its final state for 300 s" in text
        url = text.split()[1]
        assert urllib.request.urlopen(url, timeout=10).status == 200  # still serving
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        while select.select([master], [], [], 0.5)[0]:
            try:
                raw += os.read(master, 65536)
            except OSError:
                break
        os.close(master)
    assert "Traceback" not in raw.decode() and "interrupted" not in raw.decode()
