"""Tests of deltaprop.report: contents, escaping, self-containment, and rendering in headless
Chromium (driven by Selenium and Debian's chromedriver)."""

import html
import importlib.util
import re
import shutil
import sys
import tempfile

import pytest

from conftest import digits_split
from deltaprop import Network
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


# ---------------------------------------------------------------------- the HTML text
def test_report_is_self_contained(report_file):
    text = report_file.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    assert "<script" not in text.lower()
    refs = re.findall(r'(?:src|href)\s*=\s*"([^"]*)"', text)
    assert refs and all(r.startswith("data:") for r in refs), refs
    outside_data = re.sub(r'"data:[^"]*"', '""', text)
    assert not re.search(r"https?:|ftp:|//[a-z0-9]|url\(|@import", outside_data, re.I)
    assert "Content-Security-Policy" in text and "default-src 'none'" in text


@requires_mpl
def test_report_embeds_every_plot(report_file):
    text = report_file.read_text(encoding="utf-8")
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', text)
    assert len(images) == 6
    import base64

    for data in images:
        assert base64.b64decode(data)[:8] == b"\x89PNG\r\n\x1a\n"
    for name in ("cost", "accuracy", "gradients", "weights", "confusion", "misclassified"):
        assert f'id="plot-{name}"' in text


def test_report_escapes_text(report_file):
    text = report_file.read_text(encoding="utf-8")
    assert "<b>" not in text
    assert "<title>run &lt;b&gt;&quot;1&quot;&lt;/b&gt; &amp; more</title>" in text
    assert "digits &lt;8×8&gt; &amp; co" in text


def test_report_results_and_diagnostics(run, report_file):
    net, _, ds = run
    text = html.unescape(report_file.read_text(encoding="utf-8"))
    for section in ("Configuration", "Results", "Plots", "Diagnostics"):
        assert f"<h2>{section}</h2>" in text
    _, acc = evaluate(net, ds.X_test, ds.y_test)
    assert f"<td class=l>test accuracy (final weights)</td><td class=l>{acc:.2%}</td>" in text
    assert f"{net.history.val_accuracy[-1]:.2%}" in text
    ratio = gradient_ratio(net.history)
    assert f"<td>{ratio:.4g}</td>" in text
    last = net.history.diagnostics[-1]
    assert f"{last['grad_w_norm'][0]:.3e}" in text
    assert "<td class=l>batch_size</td><td class=l>10</td>" in text
    assert "64 – 20 – 15 – 10" in text


def test_report_without_history_or_data():
    net = Network([3, 4, 2], seed=0)
    text = render_report(net)
    assert "<title>deltaprop report: network</title>" in text
    assert "No diagnostics were recorded" in text
    assert "No training history or evaluation data" in text


def test_report_without_matplotlib_has_no_images(run, monkeypatch, tmp_path):
    net, _, ds = run
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    out = write_report(net, tmp_path / "r.html", dataset=ds)
    text = out.read_text(encoding="utf-8")
    assert "<img" not in text and "pip install &#x27;deltaprop[plots]&#x27;" in text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.html"]


def test_report_rejects_other_models(tmp_path):
    with pytest.raises(TypeError, match="expected a Network or the path"):
        write_report(42, tmp_path / "r.html")


# ---------------------------------------------------------------------- in a real browser
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
def browser():
    binary, driver_path = _browser_paths()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="deltaprop-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = binary
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-sync",
        "--disable-component-update",
        "--disable-extensions",
        "--window-size=1200,900",
        f"--user-data-dir={profile}",
    ):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(driver_path), options=opts)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


_IMAGES_JS = (
    "return Array.from(document.images).map(i => [i.complete, i.naturalWidth, "
    "i.naturalHeight, i.getBoundingClientRect().width])"
)


def _open(browser, path):
    browser.get(path.resolve().as_uri())
    images = browser.execute_script(_IMAGES_JS)
    errors = [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
    return images, errors


def test_report_renders_in_chromium(browser, report_file):
    images, errors = _open(browser, report_file)
    assert browser.title == 'run <b>"1"</b> & more'
    assert errors == []
    assert len(images) == (6 if HAS_MPL else 0)
    for complete, w, h, shown in images:
        assert complete and w > 0 and h > 0 and shown > 0
    headings = browser.execute_script(
        "return Array.from(document.querySelectorAll('h2')).map(h => h.textContent)"
    )
    assert headings == ["Configuration", "Results", "Plots", "Diagnostics"]
    # the escaped title is text, not markup
    assert browser.execute_script("return document.querySelectorAll('b').length") == 0


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
