"""Shared fixtures and helpers of the tests.

Plain helpers are imported by name (``from conftest import PAIRS, targets``): pytest puts this
directory on sys.path.
"""

import contextlib
import importlib.resources
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
import zipfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from deltaprop import losses
from deltaprop.activations import ACTIVATIONS

# --------------------------------------------------------------------------- the registries
#: Activations usable in hidden layers, and every activation as an output layer.
HIDDEN = sorted(n for n, cls in ACTIVATIONS.items() if cls.name == n and cls.elementwise)
OUTPUTS = sorted(n for n, cls in ACTIVATIONS.items() if cls.name == n)
# Cross-entropies are defined only for outputs in (0, 1): sigmoid or softmax.
PROBABILITY_OUTPUTS = {"sigmoid", "softmax"}
#: Every (output activation, loss) pair that makes sense.
PAIRS = [
    (out, loss)
    for loss in sorted(losses.LOSSES)
    for out in OUTPUTS
    if loss in ("quadratic", "mse") or out in PROBABILITY_OUTPUTS
]


def targets(loss, rng, m, n, one_hot=False):
    """Random (m, n) targets valid for `loss`: probabilities for the cross-entropies."""
    if one_hot:
        return np.eye(n)[rng.integers(0, n, m)]
    if loss == "binary_cross_entropy":
        return rng.uniform(0, 1, (m, n))
    if loss == "cross_entropy":
        y = rng.uniform(0.05, 1, (m, n))
        return y / y.sum(axis=1, keepdims=True)
    return rng.normal(size=(m, n))


# --------------------------------------------------------------------------- data
def digits_split(name="digits"):
    """The embedded digits (X in [0, 1]) split 1200 / 300 / 297 like a Dataset; skips if absent."""
    path = Path(str(importlib.resources.files("deltaprop") / "datasets" / "data" / "digits.npz"))
    if not path.is_file():
        pytest.skip("the embedded digits file is absent")
    d = np.load(path)
    X, y = d["X"] / 16.0, d["y"].astype(np.int64)
    return SimpleNamespace(
        name=name,
        X_train=X[:1200],
        y_train=y[:1200],
        X_val=X[1200:1500],
        y_val=y[1200:1500],
        X_test=X[1500:],
        y_test=y[1500:],
        image_shape=(8, 8),
        classes=None,
    )


# --------------------------------------------------------------------------- the command
# The installed `deltaprop` script of this interpreter when there is one (so that click sees
# the program name users see), else `python -m deltaprop.cli`.
_SCRIPT = os.path.join(os.path.dirname(sys.executable), "deltaprop")
CLI = [_SCRIPT] if os.path.isfile(_SCRIPT) else [sys.executable, "-m", "deltaprop.cli"]


# --------------------------------------------------------------------------- property tests
# DELTAPROP_FUZZ_SCALE=20 runs twenty times as many examples per property (for a long run).
_SCALE = float(os.environ.get("DELTAPROP_FUZZ_SCALE", "1"))


def examples(n):
    """n hypothesis examples, times DELTAPROP_FUZZ_SCALE."""
    return max(1, int(n * _SCALE))


def save_and_print_counts(counts, path, what, capsys):
    """Write `counts` (outcome -> number) to `path` as JSON and print them, sorted by outcome."""
    data = dict(sorted(counts.items()))
    path.write_text(json.dumps(data, indent=1))
    with capsys.disabled():
        print(f"\n{what} by outcome ({sum(data.values())} in all; {path}):")
        for key, n in data.items():
            print(f"  {n:6d}  {key}")


# --------------------------------------------------------------------------- fixtures
@contextlib.contextmanager
def _strict_numerics():
    # Overflow, division by zero and invalid operations (inf − inf, 0/0, log of a negative) raise
    # instead of warning; any other warning becomes an error too. Underflow is left alone: a value
    # such as e^{-1000} rounding to 0 is the correct limit, not an error.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", divide="raise", invalid="raise"):
            yield


@pytest.fixture
def strict_numerics():
    """A context manager factory: ``with strict_numerics(): ...`` fails on any FP warning."""
    return _strict_numerics


@pytest.fixture
def rng():
    """A fresh, seeded generator per test."""
    return np.random.default_rng(20240607)


# ---------------------------------------------------------------------- pages in Chromium
def _browser_paths():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        binary = shutil.which(name)
        if binary:
            break
    else:
        pytest.skip("no Chromium browser installed (apt-get install chromium chromium-driver)")
    driver = shutil.which("chromedriver")
    if driver is None:
        pytest.skip("chromedriver is not installed (apt-get install chromium-driver)")
    if importlib.util.find_spec("selenium") is None:
        pytest.skip("selenium is not installed (pip install selenium)")
    return binary, driver


@pytest.fixture(scope="module")
def browser(request):
    """Headless Chromium, one per test module; a module's BROWSER_WINDOW = (w, h) sets its
    window (default 1400 × 1250)."""
    binary, driver_path = _browser_paths()
    width, height = getattr(request.module, "BROWSER_WINDOW", (1400, 1250))
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="deltaprop-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = binary
    args = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--no-first-run", "--disable-background-networking", "--disable-sync",
            "--disable-extensions", "--disable-component-update",
            f"--window-size={width},{height}"]  # fmt: skip
    args.append(f"--user-data-dir={profile}")
    for arg in args:
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(driver_path), options=opts)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory):
    folder = os.environ.get("DELTAPROP_TEST_ARTIFACTS")
    path = Path(folder) if folder else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


def page_state(browser):
    """The page's ``window.deltaprop.state()``, or None before its script has run."""
    return browser.execute_script("return window.deltaprop && window.deltaprop.state()")


def wait_for_page(browser, condition, timeout, what, shown):
    """Poll the page's state until `condition(state)`; on a timeout, fail naming `what` and the
    state's entries named in `shown`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        st = page_state(browser)
        if st is not None and condition(st):
            return st
        time.sleep(0.05)
    st = page_state(browser) or {}
    brief = {k: st.get(k) for k in shown}
    raise AssertionError(f"{what} did not happen within {timeout} s; state {brief}")


def page_errors(browser):
    """The browser console's errors so far."""
    return [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]


def open_socket(site, token=None, **kwargs):
    """A websocket to the server of `site` ({"base": "http://host:port", "token": ...})."""
    from websockets.sync.client import connect

    host = site["base"].removeprefix("http://")
    t = site["token"] if token is None else token
    return connect(f"ws://{host}/ws?token={t}", open_timeout=20, **kwargs)


# ---------------------------------------------------------------------- files
def compile_latex(tex, folder):
    """Compile `tex` with pdflatex in `folder` where a TeX installation is present (the test
    fails if it does not compile); without pdflatex, nothing."""
    pdflatex = shutil.which("pdflatex")
    if pdflatex:
        (Path(folder) / "step.tex").write_text(tex, encoding="ascii")
        proc = subprocess.run([pdflatex, "-interaction=nonstopmode", "step.tex"], cwd=folder,
                              capture_output=True, text=True, timeout=120)  # fmt: skip
        assert proc.returncode == 0, proc.stdout[-2000:]


def rewrite_metadata(src, dst, change):
    """Copy the model file `src` to `dst` with `change(metadata)` applied to its metadata.json."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == "metadata.json":
                meta = json.loads(data)
                change(meta)
                data = json.dumps(meta).encode()
            zout.writestr(info, data)
    return dst
