"""Tests of deltaprop.plots: the confusion matrix, the figures' data, and the PNG files."""

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from conftest import digits_split
from deltaprop import Network, plots
from deltaprop.plots import confusion_matrix, infer_image_shape
from deltaprop.training import fit

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _png_size(path):
    data = Path(path).read_bytes()
    assert data[:8] == PNG_SIGNATURE and data[12:16] == b"IHDR"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


# ---------------------------------------------------------------------- no matplotlib needed
def test_importing_deltaprop_does_not_import_matplotlib():
    code = (
        "import sys, deltaprop, deltaprop.plots, deltaprop.diagnostics, deltaprop.report; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'matplotlib'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_confusion_matrix_against_hand_count():
    y_true = [0, 0, 1, 1, 1, 2, 2, 2, 2]
    y_pred = [0, 1, 1, 1, 2, 2, 0, 2, 2]
    # true 0: predicted 0 once, 1 once; true 1: 1 twice, 2 once; true 2: 0 once, 2 three times
    expected = np.array([[1, 1, 0], [0, 2, 1], [1, 0, 3]])
    cm = confusion_matrix(y_true, y_pred, 3)
    np.testing.assert_array_equal(cm, expected)
    assert cm.dtype == np.int64
    np.testing.assert_array_equal(confusion_matrix(y_true, y_pred), expected)
    padded = confusion_matrix(y_true, y_pred, 5)
    assert padded.shape == (5, 5) and padded[:3, :3].tolist() == expected.tolist()
    assert padded[3:].sum() == 0 and padded[:, 3:].sum() == 0
    np.testing.assert_array_equal(
        confusion_matrix(np.array([2.0, 0.0]), [2, 2], 3), [[0, 0, 1], [0, 0, 0], [0, 0, 1]]
    )


def test_confusion_matrix_random_against_loop():
    rng = np.random.default_rng(0)
    t = rng.integers(0, 7, size=500)
    p = rng.integers(0, 7, size=500)
    ref = np.zeros((7, 7), dtype=int)
    for a, b in zip(t, p):
        ref[a, b] += 1
    np.testing.assert_array_equal(confusion_matrix(t, p, 7), ref)


@pytest.mark.parametrize(
    "y_true, y_pred, k, match",
    [
        ([0, 1], [0], 2, "one prediction per label"),
        ([0, 3], [0, 1], 3, "class 3"),
        ([0, -1], [0, 1], 2, "non-negative"),
        ([0, 0.5], [0, 1], 2, "non-negative integer"),
        ([[0, 1]], [[0, 1]], 2, "1-D"),
        ([0, 1], [0, 1], 0, "n_classes"),
    ],
)
def test_confusion_matrix_bad_input(y_true, y_pred, k, match):
    with pytest.raises(ValueError, match=match):
        confusion_matrix(y_true, y_pred, k)


@pytest.mark.parametrize(
    "n, expected",
    [(784, (28, 28)), (64, (8, 8)), (2, None), (16, None), (50, None), (100, (10, 10))],
)
def test_infer_image_shape_from_feature_count(n, expected):
    assert infer_image_shape(None, n) == expected


def test_infer_image_shape_prefers_the_dataset():
    ds = SimpleNamespace(image_shape=(3, 5), X_train=np.zeros((2, 15)))
    assert infer_image_shape(ds) == (3, 5)
    assert infer_image_shape(SimpleNamespace(image_shape=None, X_train=np.zeros((2, 64)))) == (8, 8)


# ---------------------------------------------------------------------- figures
requires_mpl = pytest.mark.skipif(
    importlib.util.find_spec("matplotlib") is None,
    reason="matplotlib (the plots extra) is not installed",
)


@pytest.fixture(scope="module")
def digits_run():
    """A small sigmoid network trained 4 epochs on the embedded digits, with diagnostics."""
    ds = digits_split()
    net = Network([64, 20, 15, 10], activation="sigmoid", loss="binary_cross_entropy", seed=0)
    history = fit(
        net,
        ds.X_train,
        ds.y_train,
        epochs=4,
        batch_size=10,
        lr=0.5,
        validation_data=(ds.X_val, ds.y_val),
        diagnostics=True,
        seed=0,
    )
    return net, history, ds


@pytest.mark.slow
@requires_mpl
def test_write_plots_writes_valid_pngs(digits_run, tmp_path):
    net, history, ds = digits_run
    out = tmp_path / "new" / "plots"
    paths = plots.write_plots(net, history, out, dataset=ds)
    names = [p.name for p in paths]
    # digits have 64 inputs and class labels: no decision regions, no predicted-vs-true
    assert names == [
        n + ".png" for n in plots.PLOT_NAMES if n not in ("decision_regions", "predicted")
    ]
    assert sorted(f.name for f in out.iterdir()) == sorted(names)  # no temporary files left
    sizes = {p.stem: _png_size(p) for p in paths}
    assert sizes["cost"] == (640, 400) and sizes["accuracy"] == (640, 400)
    assert sizes["gradients"] == (1000, 400)
    assert sizes["saturation"] == (500, 360)  # sigmoid layers: no dead-unit panel
    assert sizes["weights"] == (960, 280)  # 3 layers side by side
    assert sizes["confusion"] == (800, 700)  # 10 classes
    w, h = sizes["misclassified"]
    assert 300 <= w <= 1100 and 150 <= h <= 3000
    from matplotlib.image import imread

    for p in paths:
        assert p.stat().st_size > 5000
        pixels = imread(p)
        assert pixels.shape[:2] == sizes[p.stem][::-1]
        assert pixels[..., :3].std() > 0.02, p.name  # not a blank canvas


@requires_mpl
def test_write_plots_skips_what_has_no_data(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = (X[:, 0] > 0).astype(int)
    net = Network([3, 4, 2], activation="tanh", output_activation="sigmoid", seed=0)
    history = fit(net, X, y, epochs=2, batch_size=10, lr=0.5, train_metrics=False)
    assert [p.name for p in plots.write_plots(net, history, tmp_path)] == ["weights.png"]
    history = fit(net, X, y, epochs=2, batch_size=10, lr=0.5)
    ds = SimpleNamespace(X_train=X, y_train=y, X_val=None, y_val=None, X_test=X[:20], y_test=y[:20])
    names = [p.name for p in plots.write_plots(net, history, tmp_path / "b", dataset=ds)]
    # 3 features are no image; training curves but no validation curve
    assert names == ["cost.png", "accuracy.png", "weights.png", "confusion.png", "class_scores.png"]
    fig = plots.plot_curves(history, "cost")
    labels = [line.get_label() for line in fig.axes[0].get_lines()]
    assert labels == ["training", f"best epoch ({history.best_epoch})"]


@requires_mpl
def test_regression_targets_get_no_confusion_matrix(tmp_path):
    X = np.linspace(-1, 1, 40).reshape(20, 2)
    y = np.sin(X[:, 0]) * 0.3
    net = Network([2, 3, 1], activation="tanh", output_activation="identity", loss="mse", seed=0)
    ds = SimpleNamespace(X_train=X, y_train=y, X_test=X, y_test=y)
    names = [p.name for p in plots.write_plots(net, None, tmp_path, dataset=ds)]
    assert names == ["weights.png", "predicted.png"]


@requires_mpl
def test_write_plots_replaces_an_existing_file(digits_run, tmp_path):
    net, history, _ = digits_run
    (tmp_path / "weights.png").write_bytes(b"old")
    plots.write_plots(net, history, tmp_path)
    assert (tmp_path / "weights.png").read_bytes()[:8] == PNG_SIGNATURE


@requires_mpl
def test_curves_and_gradient_figures_plot_the_history(digits_run):
    net, history, _ = digits_run
    fig = plots.plot_curves(history, "accuracy")
    lines = fig.axes[0].get_lines()
    assert [ln.get_label() for ln in lines][:2] == ["training", "validation"]
    np.testing.assert_allclose(lines[0].get_ydata(), history.accuracy)
    np.testing.assert_allclose(lines[1].get_ydata(), history.val_accuracy)
    np.testing.assert_array_equal(lines[0].get_xdata(), [1, 2, 3, 4])
    fig = plots.plot_gradient_norms(history.to_dict())
    ax_w, ax_b = fig.axes[:2]
    assert ax_w.get_yscale() == "log" and ax_b.get_yscale() == "log"
    for l, line in enumerate(ax_w.get_lines()):
        np.testing.assert_allclose(
            line.get_ydata(), [r["grad_w_norm"][l] for r in history.diagnostics]
        )
    assert len(ax_b.get_lines()) == 3


@requires_mpl
def test_confusion_figure_shows_the_counts(digits_run):
    net, _, ds = digits_run
    cm = confusion_matrix(ds.y_test, net.predict(ds.X_test), 10)
    fig = plots.plot_confusion_matrix(cm)
    texts = [int(t.get_text()) for t in fig.axes[0].texts]
    assert texts == cm.ravel().tolist()
    np.testing.assert_array_equal(fig.axes[0].images[0].get_array(), cm)


@requires_mpl
def test_misclassified_grid():
    X = np.arange(10 * 64, dtype=float).reshape(10, 64)
    y_true = np.arange(10)
    y_pred = y_true.copy()
    assert plots.plot_misclassified(X, y_true, y_pred, (8, 8)) is None
    y_pred[[1, 4, 7]] = [0, 5, 2]
    fig = plots.plot_misclassified(X, y_true, y_pred, (8, 8))
    shown = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in shown] == ["1→0", "4→5", "7→2"]
    np.testing.assert_array_equal(shown[1].images[0].get_array(), X[4].reshape(8, 8))
    assert fig._suptitle.get_text().startswith("misclassified: 3 of 10")
    fig = plots.plot_misclassified(
        np.zeros((50, 4)), np.zeros(50), np.ones(50), (2, 2), max_images=12
    )
    assert sum(ax.get_visible() for ax in fig.axes) == 12


def test_missing_matplotlib_is_a_clear_import_error(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    net = Network([64, 3, 2], seed=0)
    with pytest.raises(ImportError, match=r"pip install 'deltaprop\[plots\]'"):
        plots.write_plots(net, None, tmp_path)
    assert list(tmp_path.iterdir()) == []


@requires_mpl
def test_single_output_classifier_uses_the_output_threshold(tmp_path):
    # One rule for every output activation: class 1 when a ≥ 0.5, the midpoint of the labels.
    for out, X in (
        ("tanh", np.array([[-2.0], [0.3], [0.7], [2.0]])),  # tanh: −0.96, 0.29, 0.60, 0.96
        ("sigmoid", np.array([[-2.0], [-0.1], [0.1], [2.0]])),  # σ: 0.12, 0.48, 0.52, 0.88
    ):
        y = np.array([0, 1, 0, 1])
        net = Network([1, 1], activation=out, loss="mse", seed=0)
        net.weights[0] = np.array([[1.0]])
        net.biases[0] = np.array([0.0])
        np.testing.assert_array_equal(net.predicted_labels(net.predict_proba(X)), [0, 0, 1, 1])
        ds = SimpleNamespace(X_test=X, y_test=y)
        figs = plots.render_plots(net, None, ds)
        assert "confusion" in figs and "misclassified" not in figs


# ---------------------------------------------------------------------- the report's figures
def test_class_scores_against_hand_count():
    cm = np.array([[5, 1, 0], [2, 3, 0], [0, 0, 0]])
    precision, recall = plots.class_scores(cm)
    # predicted 0: 5 of 7 right; predicted 1: 3 of 4; nothing predicted 2
    np.testing.assert_allclose(precision[:2], [5 / 7, 3 / 4])
    np.testing.assert_allclose(recall[:2], [5 / 6, 3 / 5])
    assert np.isnan(precision[2]) and np.isnan(recall[2])
    with pytest.raises(ValueError, match="expected a square"):
        plots.class_scores(np.zeros((2, 3)))


def test_r_squared_against_scikit_learn():
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(0)
    y = rng.normal(size=(50, 3))
    pred = y + rng.normal(scale=0.5, size=y.shape)
    assert plots.r_squared(y, pred) == pytest.approx(metrics.r2_score(y, pred), rel=1e-12)
    assert plots.r_squared(y[:, 0], pred[:, 0]) == pytest.approx(
        metrics.r2_score(y[:, 0], pred[:, 0]), rel=1e-12
    )
    const = np.ones(5)
    assert plots.r_squared(const, const) == 1.0
    assert plots.r_squared(const, const + 1) == 0.0
    with pytest.raises(ValueError, match="expected equal"):
        plots.r_squared(y, pred[:10])


def test_start_weights_are_the_weights_before_training():
    X = np.random.default_rng(1).normal(size=(40, 3))
    y = (X[:, 0] > 0).astype(int)
    net = Network([3, 5, 2], activation="tanh", output_activation="sigmoid", seed=7)
    before = [W.copy() for W in net.weights]
    fit(net, X, y, epochs=3, batch_size=8, lr=0.5, seed=0)
    assert not np.allclose(net.weights[0], before[0])
    for W0, again in zip(before, plots.start_weights(net)):
        np.testing.assert_array_equal(W0, again)
    unseeded = Network([3, 2], seed=np.random.default_rng(0))
    assert plots.start_weights(unseeded) is None


@requires_mpl
def test_curves_mark_the_best_epoch_and_log_scale():
    history = {"epoch": [1, 2, 3, 4], "cost": [0.5, 0.3, 0.2, 0.25],
               "val_cost": [0.6, 0.4, 0.35, 0.4], "best_epoch": 3}  # fmt: skip
    fig = plots.plot_curves(history, "cost", restored=True, log=True)
    ax = fig.axes[0]
    best = [ln for ln in ax.get_lines() if ln.get_label().startswith("best")]
    assert [ln.get_label() for ln in best] == ["best epoch, restored (3)"]
    assert list(best[0].get_xdata()) == [3, 3]
    assert ax.get_yscale() == "log"


@requires_mpl
def test_saturation_figure_plots_the_diagnostics(digits_run):
    _, history, _ = digits_run
    fig = plots.plot_saturation(history)
    (ax,) = fig.axes
    assert ax.get_title().startswith("saturated")
    lines = ax.get_lines()
    assert len(lines) == 3
    for l, line in enumerate(lines):
        np.testing.assert_allclose(
            line.get_ydata(), [r["saturated"][l] for r in history.diagnostics]
        )
    assert plots.plot_saturation({"diagnostics": []}) is None


@requires_mpl
def test_weight_histograms_count_every_weight_at_start_and_end(digits_run):
    net, _, _ = digits_run
    start = plots.start_weights(net)
    fig = plots.plot_weight_histograms(net, start=start)
    for l, W in enumerate(net.weights):
        ax = fig.axes[l]
        filled = sum(p.get_height() for p in ax.patches if p.get_fill())
        assert filled == W.size
        outline = [p for p in ax.patches if not p.get_fill()]
        assert len(outline) == 1  # the start weights, drawn as one step outline


@requires_mpl
def test_decision_regions_colour_the_predicted_class():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 2))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    net = Network([2, 6, 2], activation="tanh", output_activation="sigmoid", seed=0)
    fit(net, X, y, epochs=20, batch_size=10, lr=1.0, seed=0)
    fig = plots.plot_decision_regions(net, X, y, resolution=50)
    ax = fig.axes[0]
    points = np.concatenate([c.get_offsets() for c in ax.collections if hasattr(c, "get_sizes")
                             and len(c.get_sizes())])  # fmt: skip
    assert sorted(map(tuple, points)) == sorted(map(tuple, X))
    # the shaded class at a corner is the network's prediction there
    corner = np.array([[X[:, 0].max(), X[:, 1].max()]])
    assert net.predicted_labels(net.predict_proba(corner))[0] == 1
    assert plots.plot_decision_regions(Network([3, 2], seed=0), np.zeros((4, 3)), y[:4]) is None


@requires_mpl
def test_predicted_vs_true_shows_the_points_and_r_squared():
    y = np.array([0.0, 1.0, 2.0, 3.0])
    pred = np.array([0.1, 0.9, 2.2, 2.7])
    fig = plots.plot_predicted_vs_true(y, pred)
    ax = fig.axes[0]
    np.testing.assert_allclose(ax.collections[0].get_offsets(), np.column_stack([y, pred]))
    assert f"R² = {plots.r_squared(y, pred):.4f}" in ax.get_title()


@requires_mpl
def test_svg_rendering_keeps_text_and_no_address(digits_run):
    net, history, ds = digits_run
    svgs = plots.render_plots(net, history, ds, format="svg")
    assert list(svgs) == [n for n in plots.PLOT_NAMES if n in svgs] and "cost" in svgs
    for svg, caption in svgs.values():
        assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
        assert "http" not in svg.split(">", 1)[0]
        assert caption
    assert "<text" in svgs["cost"][0] and "per epoch" in svgs["cost"][0]
    with pytest.raises(ValueError, match="expected 'png' or 'svg'"):
        plots.render_plots(net, history, ds, format="gif")


def test_cost_curve_goes_log_when_the_cost_spans_decades():
    flat = {"epoch": [1, 2, 3], "cost": [0.5, 0.3, 0.2]}
    steep = {"epoch": [1, 2, 3], "cost": [0.5, 0.01, 0.001]}
    assert not plots._spans_decades(flat) and plots._spans_decades(steep)
