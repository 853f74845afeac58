"""What a notebook shows: History.plot, each object's ``_repr_html_`` (its numbers are the
object's), and the example notebook executed from top to bottom."""

from __future__ import annotations

import html
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import deltaprop as dp
from deltaprop.datasets import load_moons
from deltaprop.explain import builtin_example, explain, gradient_table, nudge

REPO = Path(__file__).resolve().parents[1]
SRC = str(Path(dp.__file__).resolve().parents[1])


@pytest.fixture(scope="module")
def moons_run():
    data = load_moons(n_samples=120, seed=1, dtype="float64")
    net = dp.Network([2, 5, 2], activation="tanh", output_activation="sigmoid", seed=3)
    history = net.fit(
        data.X_train, data.y_train, epochs=6, batch_size=8, lr=0.5,
        validation_data=(data.X_val, data.y_val), early_stopping=10, seed=0,
    )  # fmt: skip
    return net, history


def _cells(table_html: str) -> list:
    """The body rows' cells as text (header rows, made of <th>, are left out)."""
    rows = [
        [html.unescape(re.sub(r"<[^>]+>", "", c)) for c in re.findall(r"<td[^>]*>(.*?)</td>", r)]
        for r in re.findall(r"<tr>(.*?)</tr>", table_html, re.S)
    ]
    return [r for r in rows if r]


def _tables(page: str) -> list:
    return [_cells(t) for t in re.findall(r"<table>(.*?)</table>", page, re.S)]


# ---------------------------------------------------------------------- History.plot
def test_history_plot_draws_the_recorded_curves(moons_run):
    pytest.importorskip("matplotlib")
    _, h = moons_run
    fig = h.plot()
    cost_ax, acc_ax = fig.axes
    lines = {ln.get_label(): ln for ln in cost_ax.get_lines()}
    np.testing.assert_allclose(lines["training"].get_xdata(), h.epoch)
    np.testing.assert_allclose(lines["training"].get_ydata(), h.cost)
    np.testing.assert_allclose(lines["validation"].get_ydata(), h.val_cost)
    acc = {ln.get_label(): ln for ln in acc_ax.get_lines()}
    np.testing.assert_allclose(acc["validation"].get_ydata(), h.val_accuracy)
    best = [ln for ln in cost_ax.get_lines() if ln.get_label().startswith("best epoch")]
    assert h.best_epoch is not None and best
    assert list(best[0].get_xdata()) == [h.best_epoch, h.best_epoch]
    assert cost_ax.get_yscale() == "linear"
    assert h.plot(log=True).axes[0].get_yscale() == "log"


def test_history_plot_of_a_regression_run_and_of_no_run():
    pytest.importorskip("matplotlib")
    h = dp.History()
    with pytest.raises(dp.DeltapropError, match="no epoch with a cost or accuracy"):
        h.plot()
    for e, c in enumerate([0.5, 0.25, 0.2], start=1):
        h.record({"epoch": e, "lr": 0.1, "time": 0.0, "cost": c})
    fig = h.plot()
    assert len(fig.axes) == 1  # no accuracy recorded: the cost alone
    np.testing.assert_allclose(fig.axes[0].get_lines()[0].get_ydata(), [0.5, 0.25, 0.2])


# ---------------------------------------------------------------------- _repr_html_
def test_trace_shows_its_page_with_the_network_drawn():
    net, x, y, lr = builtin_example("mazur")
    t = explain(net, x, y, lr)
    out = t._repr_html_()
    assert out.startswith('<div class="deltaprop-explain">') and "<body" not in out
    svg = out[out.index("<svg") : out.index("</svg>")]
    assert svg.count("<circle") == sum(t.sizes)  # one circle per neuron
    assert "0.298371" in out  # Mazur's cost
    assert f"{t.samples[0].forward[0].neurons[0].z:.6f}" in svg  # z¹₁ = 0.377500 on its neuron
    # the page's style is confined to the rendering
    style = out[out.index("<style>") + 7 : out.index("</style>")]
    for rule in re.findall(r"([^{}]+)\{", style):
        assert all(s.strip().startswith(".deltaprop-explain") for s in rule.split(",")), rule
    assert t.samples[0].forward[0]._repr_html_() is None  # a part of a trace: plain repr


def test_nudge_and_gradient_table_show_their_numbers():
    net, x, y, _ = builtin_example("mazur")
    r = nudge(net, x, y, layer=1, neuron=1, delta=1e-4)
    out = r._repr_html_()
    cells = {row[0]: row[1] for row in _tables(out)[0]}
    assert float(cells["C before"]) == pytest.approx(r.cost_before, abs=1e-6)
    assert float(cells["ΔC / (δ11 Δ)"]) == pytest.approx(r.ratio, abs=1e-6)
    g = gradient_table(net, x, y)
    rows = _tables(g._repr_html_())[0]
    assert len(rows) == len(g.rows) == net.num_parameters
    for row, ref in zip(rows, g.rows):
        assert float(row[1]) == pytest.approx(ref.backprop, abs=1e-6)
        assert float(row[2]) == pytest.approx(ref.numerical, abs=1e-6)


def test_gradients_show_norms_and_small_layers_in_full():
    net = dp.Network([3, 4, 2], activation="tanh", seed=5)
    X = np.random.default_rng(0).normal(size=(6, 3))
    g = net.backprop(X, [0, 1, 1, 0, 1, 0])
    tables = _tables(g._repr_html_())
    norms = tables[0]
    for l, row in enumerate(norms):
        assert float(row[1]) == pytest.approx(np.linalg.norm(g.weights[l]), rel=1e-5)
        assert float(row[2]) == pytest.approx(np.linalg.norm(g.biases[l]), rel=1e-5)
        assert float(row[3]) == pytest.approx(np.abs(g.deltas[l]).mean(), rel=1e-5)
    for l, table in enumerate(tables[1:]):
        shown = np.array([[float(v) for v in row[1:]] for row in table])
        np.testing.assert_allclose(shown[:, :-1], g.weights[l], rtol=1e-5, atol=1e-12)
        np.testing.assert_allclose(shown[:, -1], g.biases[l], rtol=1e-5, atol=1e-12)
    assert f"{g.cost:.6g}" in g._repr_html_()


def test_network_shows_its_layers_and_draws_each_weight():
    net = dp.Network([3, 4, 2], activation="relu", output_activation="sigmoid", seed=1)
    out = net._repr_html_()
    rows = _tables(out)[0]
    assert rows[1] == ["hidden 1", "4", "relu", "(4, 3)", "16"]
    assert rows[2] == ["output", "2", "sigmoid", "(2, 4)", "10"]
    assert f"{net.num_parameters} parameters" in out
    assert out.count("<circle") == sum(net.sizes)
    titles = re.findall(r"<title>w(\d),(\d)(\d) = ([^<]+)</title>", out)
    assert len(titles) == 3 * 4 + 4 * 2  # one edge per weight
    for l, j, k, v in titles:
        assert float(v) == pytest.approx(net.weights[int(l) - 1][int(j) - 1, int(k) - 1], rel=1e-5)
    wide = dp.Network([30, 2])
    assert "<svg" not in wide._repr_html_() and "hidden" not in wide._repr_html_()


def test_history_shows_its_curves(moons_run):
    pytest.importorskip("matplotlib")
    _, h = moons_run
    out = h._repr_html_()
    assert "<svg" in out and "cost per epoch" in out
    assert f"{len(h.epoch)} epochs" in out
    assert f"val_accuracy {h.val_accuracy[-1]:.6g}" in out
    assert f"best epoch {h.best_epoch}" in out
    # two histories on one page: their SVG ids differ
    ids = set(re.findall(r'id="([^"]+)"', out))
    assert ids and not ids & set(re.findall(r'id="([^"]+)"', h._repr_html_()))


def test_history_without_matplotlib_shows_a_table(moons_run, tmp_path):
    _, h = moons_run
    path = tmp_path / "history.json"
    import json

    path.write_text(json.dumps(h.to_dict()))
    code = (
        "import sys, json; sys.modules['matplotlib'] = None\n"
        "import deltaprop as dp\n"
        f"h = dp.History.from_dict(json.load(open({str(path)!r})))\n"
        "print(h._repr_html_())\n"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([SRC, os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "<svg" not in proc.stdout
    rows = _tables(proc.stdout)[0]
    assert [int(r[0]) for r in rows] == h.epoch
    np.testing.assert_allclose([float(r[1]) for r in rows], h.cost, rtol=1e-5)


# ---------------------------------------------------------------------- the example notebook
def _kernel_or_skip():
    pytest.importorskip("nbformat")
    pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    from jupyter_client.kernelspec import KernelSpecManager

    if "python3" not in KernelSpecManager().find_kernel_specs():
        pytest.skip("no python3 Jupyter kernel")


@pytest.mark.slow
def test_example_notebook_runs_and_shows_mazurs_numbers(tmp_path, monkeypatch):
    _kernel_or_skip()
    import nbformat
    from nbclient import NotebookClient

    # the kernel imports this tree's deltaprop, offline, in a scratch directory
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([SRC, os.environ.get("PYTHONPATH", "")]))
    nb = nbformat.read(REPO / "examples" / "mazur_step.ipynb", as_version=4)
    NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "cost 0.298371; w5 0.4 -> 0.35891648" in text
    pages = "".join(o.get("data", {}).get("text/html", "") for o in outputs)
    assert "0.298371" in pages and "The step in matrix form" in pages
    assert "<svg" in pages  # the drawn network and the learning curves
    # vanishing gradients: each layer's |∂C/∂b| is smaller than the next one's
    norms = [float(v) for v in re.findall(r"layer \d: \|dC/db\| = (\S+)", text)]
    assert len(norms) == 5 and all(a < b for a, b in zip(norms, norms[1:]))
    assert any("image/png" in o.get("data", {}) for o in outputs)


def test_the_gradient_table_shows_shared_and_absent_biases():
    net = dp.Network([2, 3, 2], bias=["shared", False], seed=0)
    g = net.backprop(np.ones((2, 2)), np.array([0, 1]))
    html = g._repr_html_()
    assert "(shared)" in html and "no bias" in html
    shared = float(np.asarray(g.biases[0]).ravel()[0])
    assert f"{shared:.6f}"[:6] in html or f"{shared:.4g}" in html
