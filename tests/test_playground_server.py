"""The playground served: `deltaprop playground` in a subprocess, driven over HTTP, a websocket
client and headless Chromium (Selenium with Debian's chromedriver).

What the page shows is compared with Network.backprop for the weights the page reports; the
safety rules (token, origin, message size and rate, Ctrl-C) are checked from outside.
Screenshots go to $DELTAPROP_TEST_ARTIFACTS (or a pytest temporary folder) for a person to see.
"""

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from deltaprop import Network

for _module in ("starlette", "uvicorn", "websockets"):
    if importlib.util.find_spec(_module) is None:
        pytest.skip(f"{_module} (the web extra) is not installed", allow_module_level=True)

from websockets.exceptions import ConnectionClosed, InvalidStatus  # noqa: E402

from conftest import open_socket, page_errors, page_state, wait_for_page  # noqa: E402

SRC = Path(__file__).resolve().parents[1] / "src"
ENV = {**os.environ, "PYTHONPATH": str(SRC), "PYTHONUNBUFFERED": "1"}


def _start(*args):
    proc = subprocess.Popen(
        [sys.executable, "-m", "deltaprop", "playground", "--no-browser", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV,
    )  # fmt: skip
    url = proc.stdout.readline().strip()
    if not url.startswith("http://"):
        proc.kill()
        pytest.fail(f"no URL on the first line: {url!r} {proc.stderr.read()}")
    return proc, url


@pytest.fixture(scope="module")
def server():
    proc, url = _start()
    base, token = url.split("/?token=")
    deadline = time.monotonic() + 30
    while True:  # the URL is printed once the socket listens; wait for the application
        try:
            urllib.request.urlopen(url, timeout=5).read()
            break
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    yield {"url": url, "base": base, "token": token, "proc": proc}
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()


def _until(ws, kind, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m = json.loads(ws.recv(timeout=timeout))
        if m["type"] == "frame":
            ws.send(json.dumps({"type": "ack"}))
        if m["type"] == kind:
            return m
    raise AssertionError(f"no {kind} message within {timeout} s")


# ---------------------------------------------------------------------- HTTP and websocket
def test_the_page_needs_the_token(server):
    ok = urllib.request.urlopen(server["url"], timeout=10)
    page = ok.read().decode()
    assert ok.status == 200 and "deltaprop playground" in page
    assert "default-src 'none'" in ok.headers["Content-Security-Policy"]
    assert "http" not in page.replace(server["token"], "").split("<body")[0].lower()  # no CDN
    for path in ("/", "/?token=wrong", "/static/playground.js", "/static/playground.css",
                 f"/static/../app.py?token={server['token']}x", "/ws"):  # fmt: skip
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(server["base"] + path, timeout=10)
        assert err.value.code in (403, 404), path
        assert err.value.code == 403 or "token=" in path
    js = urllib.request.urlopen(f"{server['base']}/static/playground.js?token={server['token']}")
    assert b"window.deltaprop" in js.read()


def test_a_websocket_without_the_token_or_from_another_origin_is_refused(server):
    for token in ("", "nope"):
        with pytest.raises(InvalidStatus) as err:
            open_socket(server, token=token)
        assert err.value.response.status_code == 403
    with pytest.raises(InvalidStatus) as err:
        open_socket(server, origin="http://evil.example")
    assert err.value.response.status_code == 403


def test_a_websocket_trains_and_answers_bad_messages(server):
    with open_socket(server) as ws:
        assert _until(ws, "hello")["config"]["layers"] == [8, 8]
        first = _until(ws, "frame")
        ws.send("{not json")
        assert "unknown" in _until(ws, "error")["message"]
        ws.send(json.dumps({"type": "config", "config": {"layers": [99]}}))
        assert "layers[0]" in _until(ws, "error")["message"]
        ws.send(json.dumps({"type": "play"}))
        frames = [_until(ws, "frame") for _ in range(15)]
        ws.send(json.dumps({"type": "pause"}))
        assert frames[-1]["epoch"] >= 10 and frames[-1]["cost"] < first["cost"]


def test_a_10_mb_message_is_rejected_and_the_server_keeps_serving(server):
    with open_socket(server) as ws:
        _until(ws, "frame")
        ws.send("x" * (10 * 2**20))
        with pytest.raises(ConnectionClosed) as err:
            for _ in range(50):
                ws.recv(timeout=20)
        assert err.value.rcvd is not None and err.value.rcvd.code == 1009
    with open_socket(server) as ws:
        assert _until(ws, "frame")["sizes"] == [2, 8, 8, 2]
    assert urllib.request.urlopen(server["url"], timeout=10).status == 200


def test_a_flood_of_messages_closes_the_connection(server):
    with open_socket(server) as ws:
        _until(ws, "frame")
        with pytest.raises(ConnectionClosed) as err:
            for _ in range(2000):
                ws.send(json.dumps({"type": "pause"}))
            for _ in range(2000):
                ws.recv(timeout=20)
        assert err.value.rcvd is not None and err.value.rcvd.code == 1008


def test_ctrl_c_stops_the_server_cleanly():
    proc, url = _start("--port", "0")
    time.sleep(1.0)
    urllib.request.urlopen(url, timeout=10).read()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 130
    assert err.strip() == "interrupted"  # click starts a new line first


def test_an_explicit_host_warns_and_a_bad_port_is_refused():
    proc = subprocess.run(
        [sys.executable, "-m", "deltaprop", "playground", "--no-browser", "--port", "70000"],
        capture_output=True, text=True, env=ENV, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 2 and "--port 70000 is invalid" in proc.stderr
    proc, url = _start("--host", "0.0.0.0")
    try:
        line = proc.stderr.readline()
        assert line.startswith("warning: --host 0.0.0.0 lets other machines reach")
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=20)


# ---------------------------------------------------------------------- in Chromium
def _wait(browser, condition, timeout=15, what="the page"):
    shown = ("epoch", "step", "sizes", "playing", "config", "stage")
    return wait_for_page(browser, condition, timeout, what, shown)


def _click(browser, testid):
    browser.find_element("css selector", f"[data-testid={testid}]").click()


def _shown_cost(browser):
    return float(browser.find_element("css selector", "[data-testid=train-cost]").text)


def _network(st):
    """A deltaprop Network with the page's architecture, weights and biases."""
    acts = st["layer_activations"]
    net = Network(st["sizes"], activation=acts[:-1], output_activation=acts[-1], loss=st["loss"])
    net.weights = [np.array(W) for W in st["weights"]]
    net.biases = [np.array(b) for b in st["biases"]]
    return net


def _js_fmt(v):
    """The page's number format: toFixed(4), or toExponential(2) for small and large values."""
    if abs(v) >= 1e4 or (abs(v) < 1e-3 and v != 0):
        mantissa, exponent = f"{v:.2e}".split("e")
        return f"{mantissa}e{'+' if int(exponent) >= 0 else '-'}{abs(int(exponent))}"
    return f"{v:.4f}"


@pytest.mark.slow
def test_play_lowers_the_cost_shown_within_10_seconds(server, browser, artifacts):
    browser.get(server["url"])
    st = _wait(browser, lambda s: s["frames"] >= 1, what="the first frame")
    assert st["sizes"] == [2, 8, 8, 2] and st["epoch"] == 0
    before = _shown_cost(browser)
    assert before == pytest.approx(st["cost"], rel=1e-3)
    _click(browser, "play")
    started = time.monotonic()
    while _shown_cost(browser) >= 0.8 * before:
        assert time.monotonic() - started < 10, "the cost shown did not fall within 10 s"
        time.sleep(0.1)
    st = _wait(browser, lambda s: s["epoch"] >= 20, what="20 epochs")
    browser.save_screenshot(str(artifacts / "playground-training.png"))
    _click(browser, "pause")
    st = _wait(browser, lambda s: not s["playing"], what="pause")
    assert st["cost"] < before
    assert page_errors(browser) == []


@pytest.mark.slow
def test_the_selected_point_shows_backprop_values(server, browser, artifacts):
    browser.get(server["url"])
    _wait(browser, lambda s: s["frames"] >= 1)
    _click(browser, "step")
    _click(browser, "step")
    _wait(browser, lambda s: s["step"] == 2, what="two steps")
    browser.execute_script("window.deltaprop.select(13)")
    st = _wait(browser, lambda s: s["selected"] is not None and s["selected"]["index"] == 13)
    net, sel = _network(st), st["selected"]
    g = net.backprop(np.array([sel["x"]]), np.array([sel["y"]]))
    for l in range(net.num_layers):
        np.testing.assert_allclose(sel["deltas"][l], g.deltas[l][0], rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(sel["zs"][l], g.zs[l][0], rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(
            sel["gradients"]["weights"][l], g.weights[l], rtol=1e-12, atol=1e-15
        )
        np.testing.assert_allclose(sel["gradients"]["biases"][l], g.biases[l], rtol=1e-12)
    assert sel["cost"] == pytest.approx(g.cost, rel=1e-12)
    # the numbers under the neurons are the same δ
    for l, j in [(1, 3), (2, 1), (3, 2)]:
        shown = browser.find_element("css selector", f"[data-testid=neuron-{l}-{j}] .values").text
        assert f"δ {_js_fmt(sel['deltas'][l - 1][j - 1])}" in shown, shown
    # a click on the point in the output selects it as a select() call does
    browser.execute_script("window.deltaprop.select(null)")
    st = _wait(browser, lambda s: s["selected"] is None)
    from selenium.webdriver.common.action_chains import ActionChains

    region = browser.find_element("css selector", "[data-testid=region]")
    w, h = region.size["width"], region.size["height"]
    x0, x1, y0, y1 = st["domain"]
    px = (sel["x"][0] - x0) / (x1 - x0) * w - w / 2
    py = (y1 - sel["x"][1]) / (y1 - y0) * h - h / 2
    ActionChains(browser).move_to_element_with_offset(region, int(px), int(py)).click().perform()
    st = _wait(browser, lambda s: s["selected"] is not None, what="a click selecting a point")
    assert np.hypot(*(np.subtract(st["selected"]["x"], sel["x"]))) < 4 / w * (x1 - x0)
    assert page_errors(browser) == []


@pytest.mark.slow
def test_step_through_walks_bp1_to_the_update(server, browser, artifacts):
    browser.get("about:blank")  # a new page, not a change of the hash
    browser.get(server["url"] + "#dataset=moons&layers=6,5,4&activations=sigmoid,sigmoid,tanh"
                "&output=softmax&loss=cross_entropy&lr=0.3&batch=10&optimizer=sgd&l2=0"
                "&noise=0.1&points=300&train=0.6&seed=2")  # fmt: skip
    st = _wait(browser, lambda s: s["sizes"] == [2, 6, 5, 4, 2], what="the URL's configuration")
    assert st["config"]["lr"] == 0.3 and st["layer_activations"][0] == "sigmoid"
    for _ in range(5):
        _click(browser, "step")
    _wait(browser, lambda s: s["step"] == 5)
    browser.execute_script("window.deltaprop.select(4)")
    _wait(browser, lambda s: s["selected"] is not None)
    _click(browser, "step-through")
    seen = []
    deadline = time.monotonic() + 15
    while "update" not in seen and time.monotonic() < deadline:
        stage = page_state(browser)["stage"]
        if not seen or seen[-1] != stage:
            seen.append(stage)
        if stage == "bp2":
            browser.save_screenshot(str(artifacts / "playground-step.png"))
        time.sleep(0.1)
    assert seen[:3] == ["forward", "bp1", "bp2"] and seen[-2:] == ["bp34", "update"]
    equations = browser.find_element("css selector", "[data-testid=equations]").text
    assert "BP2" in equations and "BP4" in equations
    before = page_state(browser)
    _click(browser, "apply-step")
    after = _wait(browser, lambda s: s["step"] == before["step"] + 1, what="the update")
    new = before["selected"]["new_weights"]
    np.testing.assert_allclose(after["weights"][0], new[0], rtol=1e-13)
    # the configuration survives a reload
    browser.refresh()
    st = _wait(browser, lambda s: s["sizes"] == [2, 6, 5, 4, 2] and s["config"]["seed"] == 2)
    assert page_errors(browser) == []


@pytest.mark.slow
def test_controls_change_the_network_and_the_url(server, browser):
    browser.get(server["url"])
    _wait(browser, lambda s: s["frames"] >= 1)
    _click(browser, "add-layer")
    st = _wait(browser, lambda s: len(s["sizes"]) == 5, what="a new layer")
    assert st["sizes"] == [2, 8, 8, 4, 2]
    from selenium.webdriver.support.ui import Select

    Select(browser.find_element("css selector", "[data-testid=dataset]")).select_by_value("xor")
    _wait(browser, lambda s: s["config"]["dataset"] == "xor")
    Select(browser.find_element("css selector", "[data-testid=learning-rate]")).select_by_value(
        "0.03"
    )
    st = _wait(browser, lambda s: s["config"]["lr"] == 0.03)
    url = browser.current_url
    assert "dataset=xor" in url and "layers=8%2C8%2C4" in url and "lr=0.03" in url
    browser.execute_script("window.deltaprop.select(0)")
    _wait(browser, lambda s: s["selected"] is not None)
    _click(browser, "nudge")
    result = browser.find_element("css selector", "[data-testid=nudge-result]")
    deadline = time.monotonic() + 10
    while "ΔC / δΔ" not in result.text and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "ΔC / δΔ" in result.text
    assert page_errors(browser) == []
