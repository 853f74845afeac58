"""Tests of deltaprop.report: contents, escaping, self-containment, and rendering in headless
Chromium (driven by Selenium and Debian's chromedriver)."""

import html
import importlib.util
import os
import re
import shutil
import sys
from types import SimpleNamespace

import numpy as np
import pytest

from conftest import digits_split
from deltaprop import Network
from deltaprop.datasets import load as load_dataset
from deltaprop.diagnostics import gradient_ratio
from deltaprop.report import render_report, write_report
from deltaprop.training import evaluate, fit

HAS_MPL = importlib.util.find_spec("matplotlib") is not None
requires_mpl = pytest.mark.skipif(
    not HAS_MPL, reason="matplotlib (the plots extra) is not installed"
)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A model trained 3 epochs on the embedded digits with diagnostics, saved to a file."""
    ds = digits_split("digits <8×8> & co")
    net = Network([64, 20, 15, 10], activation="sigmoid", loss="binary_cross_entropy", seed=0)
    fit(
        net,
        ds.X_train,
        ds.y_train,
        epochs=3,
        batch_size=10,
        lr=0.5,
        validation_data=(ds.X_val, ds.y_val),
        diagnostics=True,
        seed=0,
    )
    path = tmp_path_factory.mktemp("model") / "run.npz"
    net.save(path)
    return net, path, ds


@pytest.fixture(scope="module")
def report_file(run, tmp_path_factory):
    net, path, ds = run
    out = tmp_path_factory.mktemp("report") / "report.html"
    write_report(path, out, dataset=ds, title='run <b>"1"</b> & more')
    return out


@pytest.fixture(scope="module")
def moons_run(tmp_path_factory):
    """A two-input classifier on the moons data set, with early stopping and diagnostics."""
    ds = load_dataset("moons", seed=0)
    net = Network([2, 12, 2], activation="tanh", output_activation="sigmoid", seed=3)
    fit(net, ds.X_train, ds.y_train, epochs=40, batch_size=10, lr=0.5, early_stopping=15,
        validation_data=(ds.X_val, ds.y_val), diagnostics=True, seed=0)  # fmt: skip
    out = tmp_path_factory.mktemp("moons") / "moons.html"
    write_report(net, out, dataset=ds, title="moons")
    return net, ds, out


def _regression_data(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, size=(300, 3))
    y = np.sin(2 * X[:, 0]) + 0.5 * X[:, 1] * X[:, 2]
    parts = {"X_train": X[:200], "y_train": y[:200], "X_val": X[200:250], "y_val": y[200:250],
             "X_test": X[250:], "y_test": y[250:]}  # fmt: skip
    return SimpleNamespace(name="sine plus product", **parts)


@pytest.fixture(scope="module")
def regression_run(tmp_path_factory):
    """A network with an identity output trained on the mean squared error."""
    ds = _regression_data()
    net = Network([3, 16, 1], activation="tanh", output_activation="identity", loss="mse",
                  init="glorot_normal", seed=0)  # fmt: skip
    fit(net, ds.X_train, ds.y_train, epochs=150, batch_size=10, lr=0.1,
        validation_data=(ds.X_val, ds.y_val), diagnostics=True, seed=0)  # fmt: skip
    out = tmp_path_factory.mktemp("regression") / "regression.html"
    write_report(net, out, dataset=ds, title="regression")
    return net, ds, out


def _r2(y, pred):
    """R² by its definition, 1 − Σ(y − ŷ)² / Σ(y − ȳ)²."""
    y, pred = np.ravel(y), np.ravel(pred)
    return 1 - np.sum((y - pred) ** 2) / np.sum((y - y.mean()) ** 2)


# ---------------------------------------------------------------------- the HTML text
def test_report_is_self_contained(report_file):
    text = report_file.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    assert "<script" not in text.lower()
    # references: embedded data, or fragments inside the inline SVG (#marker, url(#clip))
    refs = re.findall(r'(?:src|href)\s*=\s*"([^"]*)"', text)
    assert refs and all(r.startswith(("data:", "#")) for r in refs), refs
    outside_data = re.sub(r'"data:[^"]*"', '""', text)
    outside_data = re.sub(r"url\(#[\w-]+\)", "", outside_data)
    assert not re.search(r"https?:|ftp:|//[a-z0-9]|url\(|@import", outside_data, re.I)
    assert "Content-Security-Policy" in text and "default-src 'none'" in text


@requires_mpl
def test_report_embeds_every_picture_as_svg(report_file):
    text = report_file.read_text(encoding="utf-8")
    assert "<img" not in text
    names = re.findall(r'<figure id="plot-([a-z_]+)"[^>]*><svg', text)
    assert names == ["cost", "accuracy", "confusion", "class_scores", "misclassified",
                     "gradients", "saturation", "weights"]  # fmt: skip
    # text stays text: axis labels and titles are searchable
    assert "precision and recall per class" in text and "saturated units" in text
    ids = re.findall(r'\sid="([^"]+)"', text)
    assert len(ids) == len(set(ids)), "element ids repeat across the inline pictures"
    # and every reference inside a picture points at an element of the page
    refs = re.findall(r'href="#([^"]+)"', text) + re.findall(r"url\(#([^)]+)\)", text)
    assert refs and set(refs) <= set(ids)


def test_report_escapes_text(report_file):
    text = report_file.read_text(encoding="utf-8")
    assert "<b>" not in text
    assert "<title>run &lt;b&gt;&quot;1&quot;&lt;/b&gt; &amp; more</title>" in text
    assert "digits &lt;8×8&gt; &amp; co" in text


def test_report_leads_with_the_headline_and_folds_the_tables(run, report_file):
    net, _, ds = run
    text = html.unescape(report_file.read_text(encoding="utf-8"))
    cost, acc = evaluate(net, ds.X_test, ds.y_test)
    assert (
        f'<div class="stat main" id="stat-metric"><div class="v">{acc:.2%}</div>'
        '<div class="k">test accuracy</div></div>'
    ) in text
    assert f'<div class="v">{cost:.4g}</div><div class="k">test cost</div>' in text
    assert '<div class="v">3</div><div class="k">epochs' in text
    assert f'<div class="v">{net.history.stop_reason}</div>' in text
    # pictures before tables; every table inside a folded <details>
    assert text.index('id="headline"') < text.index('id="plot-cost"') < text.index("<details")
    assert text.index("<table") > text.index("<details")
    assert f"{net.history.val_accuracy[-1]:.2%}" in text
    ratio = gradient_ratio(net.history)
    assert f"<td>{ratio:.4g}</td>" in text
    assert f"{net.history.diagnostics[-1]['grad_w_norm'][0]:.3e}" in text


def test_report_writes_settings_as_words(run, report_file):
    text = html.unescape(report_file.read_text(encoding="utf-8"))
    assert "<dt>mini-batch size m</dt><dd>10</dd>" in text
    assert "<dt>optimizer</dt><dd>sgd, η = 0.5</dd>" in text
    assert "<dt>η schedule</dt><dd>constant</dd>" in text
    assert "<dt>dropout rate (hidden layers)</dt><dd>0</dd>" in text
    assert '{"name"' not in text


def test_report_headline_without_data_uses_the_history(run):
    net, _, _ = run
    text = html.unescape(render_report(net))
    assert (
        f'<div class="v">{net.history.val_accuracy[-1]:.2%}</div>'
        '<div class="k">validation accuracy (last epoch)</div>'
    ) in text


@requires_mpl
def test_moons_report_draws_the_decision_regions(moons_run):
    net, ds, out = moons_run
    text = out.read_text(encoding="utf-8")
    assert 'id="plot-decision_regions"' in text and 'id="plot-predicted"' not in text
    _, acc = evaluate(net, ds.X_test, ds.y_test)
    assert f'id="stat-metric"><div class="v">{acc:.2%}</div>' in text
    # the run watched validation accuracy: its best epoch is marked on the curves
    assert f"best epoch, restored ({net.history.best_epoch})" in text


@requires_mpl
def test_regression_report_leads_with_r_squared(regression_run):
    net, ds, out = regression_run
    text = out.read_text(encoding="utf-8")
    r2 = _r2(ds.y_test, net.predict_proba(ds.X_test))
    assert r2 > 0.8  # the network did learn the function
    assert f'id="stat-metric"><div class="v">{r2:.4f}</div><div class="k">test R²</div>' in text
    assert 'id="plot-predicted"' in text and 'id="plot-confusion"' not in text
    assert "accuracy" not in re.sub(r"<details.*", "", text, flags=re.S).split("</h1>")[1]


def test_report_without_history_or_data():
    net = Network([3, 4, 2], seed=0)
    text = render_report(net)
    assert "<title>deltaprop report: network</title>" in text
    assert "No diagnostics were recorded" in text
    assert "No training history or evaluation data" in text


def test_report_without_matplotlib_has_no_pictures(run, monkeypatch, tmp_path):
    net, _, ds = run
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    out = write_report(net, tmp_path / "r.html", dataset=ds)
    text = out.read_text(encoding="utf-8")
    assert "<svg" not in text and "pip install &#x27;deltaprop[plots]&#x27;" in text
    assert 'id="stat-metric"' in text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.html"]


def test_report_rejects_other_models(tmp_path):
    with pytest.raises(TypeError, match="expected a Network or the path"):
        write_report(42, tmp_path / "r.html")


# ---------------------------------------------------------------------- in a real browser
# the browser fixture is conftest's, in this window
BROWSER_WINDOW = (1200, 900)


_IMAGES_JS = (
    "return Array.from(document.images).map(i => [i.complete, i.naturalWidth, "
    "i.naturalHeight, i.getBoundingClientRect().width])"
)
_PICTURES_JS = (
    "return Array.from(document.querySelectorAll('figure svg')).map(s => "
    "[s.closest('figure').id, s.getBoundingClientRect().width, s.getBoundingClientRect().height])"
)


def _open(browser, path):
    browser.get(path.resolve().as_uri())
    images = browser.execute_script(_IMAGES_JS)
    errors = [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
    return images, errors


def save_screenshot(browser, name, directory):
    """A full-page screenshot as `directory`/`name`.png (and in $DELTAPROP_SCREENSHOTS)."""
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(1200, min(height + 140, 16000))
    path = directory / f"{name}.png"
    browser.save_screenshot(str(path))
    browser.set_window_size(1200, 900)
    extra = os.environ.get("DELTAPROP_SCREENSHOTS")
    if extra:
        os.makedirs(extra, exist_ok=True)
        shutil.copy(path, os.path.join(extra, path.name))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return path


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    return tmp_path_factory.mktemp("screenshots")


def _check_page(browser, path, title):
    """Open a report: no console error, every picture drawn, pictures before the tables."""
    images, errors = _open(browser, path)
    assert errors == []
    assert browser.title == title
    pictures = browser.execute_script(_PICTURES_JS)
    if HAS_MPL:
        assert pictures and all(w > 200 and h > 100 for _, w, h in pictures), pictures
    headings = browser.execute_script(
        "return Array.from(document.querySelectorAll('h2')).map(h => h.textContent)"
    )
    assert headings[-1] == "Tables"
    # every table is folded away until asked for
    shown = browser.execute_script(
        "return Array.from(document.querySelectorAll('table')).filter(t => t.checkVisibility() "
        "|| !t.closest('details:not([open])')).length"
    )
    assert shown == 0
    return browser.find_element("css selector", "#stat-metric .v").text, headings


def test_report_renders_in_chromium(browser, run, report_file, shots):
    net, _, ds = run
    metric, headings = _check_page(browser, report_file, 'run <b>"1"</b> & more')
    assert metric == f"{evaluate(net, ds.X_test, ds.y_test)[1]:.2%}"
    if HAS_MPL:
        assert headings == ["Learning curves", "Predictions", "Inside the network", "Tables"]
    # the escaped title is text, not markup
    assert browser.execute_script("return document.querySelectorAll('b').length") == 0
    save_screenshot(browser, "report-digits", shots)
    # a folded table opens on a click
    browser.find_element("css selector", "#details-history summary").click()
    rows = browser.find_elements("css selector", "#details-history tbody tr")
    assert len(rows) == 3 and rows[0].is_displayed()


def test_moons_report_renders_in_chromium(browser, moons_run, shots):
    net, ds, out = moons_run
    metric, _ = _check_page(browser, out, "moons")
    assert metric == f"{evaluate(net, ds.X_test, ds.y_test)[1]:.2%}"
    save_screenshot(browser, "report-moons", shots)


def test_regression_report_renders_in_chromium(browser, regression_run, shots):
    net, ds, out = regression_run
    metric, _ = _check_page(browser, out, "regression")
    assert metric == f"{_r2(ds.y_test, net.predict_proba(ds.X_test)):.4f}"
    save_screenshot(browser, "report-regression", shots)


def test_chromium_check_detects_a_broken_page(browser, tmp_path):
    bad = tmp_path / "bad.html"
    bad.write_text(
        "<!DOCTYPE html><html><head><title>bad</title></head><body>"
        '<img src="data:image/png;base64,AAAA" alt="corrupt">'
        '<img src="missing.png" alt="missing">'
        "<script>console.error('boom')</script></body></html>",
        encoding="utf-8",
    )
    images, errors = _open(browser, bad)
    assert [w for _, w, _, _ in images] == [0, 0]
    assert any("boom" in e["message"] for e in errors)
    assert any("missing.png" in e["message"] for e in errors)
