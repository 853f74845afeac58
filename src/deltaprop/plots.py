"""Figures of a training run, drawn with matplotlib (the optional ``plots`` extra).

matplotlib is imported inside the functions that draw, never when this module or ``deltaprop``
is imported, and only through its object-oriented API (``matplotlib.figure.Figure`` rendered by
the Agg canvas): no pyplot, no global backend switch, no window.

Figures, by the file name ``write_plots`` gives them:

``cost.png``, ``accuracy.png``
    Training and validation cost / accuracy per epoch (``History.cost``, ``val_cost``, ...).
``gradients.png``
    ‖∂C/∂W^l‖ and ‖∂C/∂b^l‖ per layer over the epochs on a log scale, from
    ``history.diagnostics`` (``fit(..., diagnostics=True)``).
``saturation.png``
    The share of saturated units (sigmoid, tanh) and of dead units (ReLU) per layer over the
    epochs, from the same diagnostics.
``weights.png``
    A histogram of the entries of each W^l at the end of training, and at its start where
    the network's seed and initialiser can draw the starting weights again.
``confusion.png``, ``class_scores.png``
    The confusion matrix of the network's predictions on the data set's test part (else its
    validation part, else its training part), and each class's precision and recall.
``misclassified.png``
    A grid of misclassified samples drawn as images, for image data.
``decision_regions.png``
    For two input features: the predicted class over the plane, with the training points.
``predicted.png``
    For a regression network (identity output): predicted against true values, with R².

``render_plots(..., format="svg")`` gives the same figures as SVG text (text kept as text),
which is how the HTML report embeds them.

A figure whose data are missing (no validation data, no diagnostics, no data set, no
misclassified sample, ...) is skipped.
"""

from __future__ import annotations

import io as _stdio
import math
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from . import history as _history
from ._validation import DeltapropError

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from matplotlib.ticker import Formatter
    from numpy.typing import ArrayLike

    from .history import History
    from .network import Network

    #: A History or its ``to_dict()`` (or None for none).
    HistoryLike = History | Mapping[str, Any] | None

__all__ = [
    "confusion_matrix",
    "write_plots",
    "render_plots",
    "plot_curves",
    "plot_history",
    "figure_svg",
    "plot_gradient_norms",
    "plot_weight_histograms",
    "plot_confusion_matrix",
    "plot_misclassified",
    "plot_saturation",
    "plot_class_scores",
    "plot_decision_regions",
    "plot_predicted_vs_true",
    "class_scores",
    "r_squared",
    "start_weights",
    "is_regression",
    "evaluation_split",
    "infer_image_shape",
    "PLOT_NAMES",
]

#: The plots ``write_plots`` can write, in order (file name = name + ".png").
PLOT_NAMES = (
    "cost",
    "accuracy",
    "gradients",
    "saturation",
    "weights",
    "confusion",
    "class_scores",
    "misclassified",
    "decision_regions",
    "predicted",
)

_DPI = 100


def _figure(width: float, height: float) -> Figure:
    """A matplotlib Figure of width × height inches, rendered by Agg; ImportError if absent."""
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ImportError(
            "plots need matplotlib, which is not installed; expected "
            "`pip install 'deltaprop[plots]'` (or `pip install matplotlib`)"
        ) from exc
    return Figure(figsize=(width, height), dpi=_DPI, layout="constrained")


def _png(fig: Figure) -> bytes:
    """The figure as PNG bytes (Agg)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = _stdio.BytesIO()
    fig.savefig(buf, format="png", dpi=_DPI)
    return buf.getvalue()


# The root's namespace attributes are implied in HTML; dropping them leaves the inline SVG with
# no address in it, so a page can be checked for references to the outside.
_SVG_ROOT_NS = re.compile(r'\s+xmlns(?::xlink)?="[^"]*"')
_NO_METADATA = {"Date": None, "Creator": None, "Format": None, "Type": None}


def _svg(fig: Figure, prefix: str) -> str:
    """The figure as an ``<svg>`` element for an HTML page: text stays text (searchable),
    every element id (and every reference to one) starts with `prefix`, so that several
    pictures share a page without two elements of the same id; output is reproducible."""
    import matplotlib

    buf = _stdio.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": prefix}):
        fig.savefig(buf, format="svg", metadata=_NO_METADATA)
    text = buf.getvalue()
    text = text[text.index("<svg") :]
    end = text.index(">")
    text = _SVG_ROOT_NS.sub("", text[:end]) + text[end:]
    text = re.sub(r'\bid="([^"]+)"', rf'id="{prefix}-\1"', text)
    text = re.sub(r"url\(#([^)]+)\)", rf"url(#{prefix}-\1)", text)
    return re.sub(r'href="#([^"]+)"', rf'href="#{prefix}-\1"', text)


# ---------------------------------------------------------------------- numbers
def confusion_matrix(
    y_true: ArrayLike, y_pred: ArrayLike, n_classes: int | None = None
) -> np.ndarray:
    """Counts of (true class, predicted class) pairs.

    Parameters
    ----------
    y_true, y_pred : array of int, shape (n,)
        Class indices 0..n_classes−1.
    n_classes : int, optional
        k; default: 1 + the largest index in either array.

    Returns
    -------
    ndarray of int64, shape (k, k)
        Entry [i, j] is the number of samples of true class i predicted as class j; the
        diagonal holds the correct predictions and row i sums to the count of class i.

    Example
    -------
    >>> confusion_matrix([0, 1, 1, 2], [0, 2, 1, 2], 3)
    array([[1, 0, 0],
           [0, 1, 1],
           [0, 0, 1]])
    """
    t = _class_indices(y_true, "y_true")
    p = _class_indices(y_pred, "y_pred")
    if t.shape != p.shape:
        raise DeltapropError(
            f"y_true has {t.size} labels but y_pred has {p.size}; expected one prediction per label"
        )
    top = int(max(t.max(initial=-1), p.max(initial=-1))) + 1
    if n_classes is None:
        n_classes = max(top, 1)
    elif (
        isinstance(n_classes, bool) or not isinstance(n_classes, (int, np.integer)) or n_classes < 1
    ):
        raise DeltapropError(f"n_classes={n_classes!r} is invalid; expected a positive integer")
    elif top > n_classes:
        raise DeltapropError(
            f"the labels contain class {top - 1} but n_classes={n_classes}; "
            f"expected indices in [0, {n_classes - 1}]"
        )
    k = int(n_classes)
    return np.bincount(t * k + p, minlength=k * k).reshape(k, k).astype(np.int64)


def class_scores(cm: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Precision and recall of each class from a confusion matrix.

    Parameters
    ----------
    cm : array of int, shape (k, k)
        Rows true classes, columns predicted ones (as :func:`confusion_matrix` returns).

    Returns
    -------
    (precision, recall) : two float arrays of shape (k,)
        precision_i = cm[i, i] / Σ_r cm[r, i] (of the samples predicted i, the share that are
        i), recall_i = cm[i, i] / Σ_c cm[i, c] (of the samples of class i, the share found);
        NaN where the denominator is 0.

    Example
    -------
    >>> p, r = class_scores([[3, 1], [0, 4]])
    >>> p.round(2).tolist(), r.round(2).tolist()
    ([1.0, 0.8], [0.75, 1.0])
    """
    cm = np.asarray(cm, dtype=float)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise DeltapropError(f"cm has shape {cm.shape}; expected a square confusion matrix")
    hits = np.diag(cm)
    with np.errstate(invalid="ignore", divide="ignore"):
        return hits / cm.sum(axis=0), hits / cm.sum(axis=1)


def r_squared(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """The coefficient of determination R² = 1 − Σ(y − ŷ)² / Σ(y − ȳ)², averaged over outputs.

    Parameters
    ----------
    y_true, y_pred : array, shape (m,) or (m, n_L)

    Returns
    -------
    float
        1 for a perfect fit, 0 for predicting the mean, negative for worse; an output whose
        true values are all equal counts as 1 when predicted exactly, else 0 (as scikit-learn's
        ``r2_score`` does).

    Example
    -------
    >>> round(r_squared([1.0, 2.0, 3.0], [1.0, 2.0, 4.0]), 6)
    0.5
    """
    t = np.asarray(y_true, dtype=float)
    p = np.asarray(y_pred, dtype=float)
    t = t.reshape(len(t), -1)
    p = p.reshape(len(p), -1)
    if t.shape != p.shape or t.shape[0] == 0:
        raise DeltapropError(
            f"y_true has shape {t.shape} and y_pred {p.shape}; expected equal, non-empty shapes"
        )
    residual = ((t - p) ** 2).sum(axis=0)
    total = ((t - t.mean(axis=0)) ** 2).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        scores = np.where(total > 0, 1.0 - residual / total, np.where(residual == 0, 1.0, 0.0))
    return float(scores.mean())


def is_regression(net: Network) -> bool:
    """Whether `net` predicts values rather than classes: an identity output layer."""
    return net.layer_activations[-1].name == "identity"


def start_weights(net: Network) -> list[np.ndarray] | None:
    """The weights the network started from, drawn again from its seed and initialiser.

    None when the network has no integer seed or no named initialiser (a network built from
    another library's weights, or from a generator): its start cannot be drawn again. The
    weights are those of construction, so a network whose weights were set by hand since
    (rather than trained) gets its constructor's weights, not the hand-set ones.
    """
    seed, init = getattr(net, "seed", None), getattr(net, "init", None)
    if (
        not isinstance(seed, (int, np.integer))
        or isinstance(seed, bool)
        or not isinstance(init, str)
    ):
        return None
    start = net.copy()
    start.rng = np.random.default_rng(seed)
    start.reset_parameters(init)
    return [np.array(W) for W in start.weights]


def _class_indices(y: ArrayLike, name: str) -> np.ndarray:
    arr = np.asarray(y)
    if arr.ndim != 1:
        raise DeltapropError(f"{name} has shape {arr.shape}; expected a 1-D array of class indices")
    if arr.size and (arr.dtype.kind not in "iuf" or np.any(arr != np.round(arr)) or arr.min() < 0):
        raise DeltapropError(
            f"{name} contains {arr[:5].tolist()}...; expected non-negative integer class indices"
        )
    return arr.astype(np.int64)


def infer_image_shape(dataset: Any = None, n_features: int | None = None) -> tuple[int, ...] | None:
    """(rows, cols) of image data, or None.

    The data set's ``image_shape`` when it has one; otherwise a square side × side when the
    number of features is a perfect square of at least 64 (8 × 8, the embedded digits).
    """
    shape = getattr(dataset, "image_shape", None) if dataset is not None else None
    if shape is not None:
        return tuple(int(s) for s in shape)
    if n_features is None and dataset is not None and getattr(dataset, "X_train", None) is not None:
        n_features = dataset.X_train.shape[1]
    if n_features is None or n_features < 64:
        return None
    side = math.isqrt(int(n_features))
    return (side, side) if side * side == n_features else None


def evaluation_split(dataset: Any) -> tuple[str, Any, Any] | None:
    """(part name, X, y) of the part used for the confusion matrix: test, else val, else train.

    None when there is no data set or it has no labels.
    """
    if dataset is None:
        return None
    for part in ("test", "val", "train"):
        X, y = getattr(dataset, "X_" + part, None), getattr(dataset, "y_" + part, None)
        if X is not None and y is not None and len(X):
            return part, X, y
    return None


def _labels_of(net: Network, y: ArrayLike) -> np.ndarray | None:
    """Integer class labels from labels or one-hot targets; None for regression targets."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] > 1:
        return np.argmax(y, axis=1)
    y = y.reshape(-1)
    if y.dtype.kind in "iub":
        return y.astype(np.int64)
    if y.dtype.kind == "f" and np.all(y == np.round(y)) and y.min(initial=0) >= 0:
        if net.sizes[-1] > 1 or np.all((y == 0) | (y == 1)):
            return y.astype(np.int64)
    return None


# ---------------------------------------------------------------------- figures
def _hist_get(history: HistoryLike, key: str) -> list[Any]:
    if history is None:
        return []
    if isinstance(history, dict):
        return list(history.get(key) or [])
    return list(getattr(history, key, None) or [])


def _hist_value(history: HistoryLike, key: str) -> Any:
    """One scalar entry of a History or its dict (None when absent)."""
    if isinstance(history, Mapping):
        return history.get(key)
    return getattr(history, key, None)


def plot_curves(
    history: HistoryLike, metric: str = "cost", restored: bool = False, log: bool = False
) -> Figure | None:
    """Training and validation `metric` ("cost" or "accuracy") per epoch; None without data.

    The history's best epoch (``best_epoch``, set when a run watches a monitor) is marked by a
    dashed vertical line, labelled "restored" when `restored` says the run ended with that
    epoch's weights. `log` draws the values on a log scale.
    """
    if metric not in ("cost", "accuracy"):
        raise DeltapropError(f"metric={metric!r} is unknown; expected 'cost' or 'accuracy'")
    if not _curve_series(history, metric):
        return None
    fig = _figure(6.4, 4.0)
    _draw_curves(fig.add_subplot(), history, metric, restored, log)
    return fig


def _curve_series(history: HistoryLike, metric: str) -> list:
    """(label, values) of the training and validation `metric`, where recorded for each epoch."""
    epochs = _hist_get(history, "epoch")
    series = []
    for key, label in ((metric, "training"), ("val_" + metric, "validation")):
        values = _hist_get(history, key)
        if values and len(values) == len(epochs) and all(v is not None for v in values):
            series.append((label, values))
    return series


def _draw_curves(ax: Any, history: HistoryLike, metric: str, restored: bool, log: bool) -> None:
    epochs = _hist_get(history, "epoch")
    series = _curve_series(history, metric)
    marker = "o" if len(epochs) <= 30 else None
    for label, values in series:
        ax.plot(epochs, values, marker=marker, markersize=3, label=label)
    best = _hist_value(history, "best_epoch")
    if best is not None and best in epochs:
        what = "best epoch, restored" if restored else "best epoch"
        ax.axvline(best, color="0.35", linestyle="--", linewidth=1, label=f"{what} ({best})")
    ax.set_xlabel("epoch")
    ax.set_ylabel(metric)
    if log:
        ax.set_yscale("log")
    elif metric == "accuracy":
        ax.yaxis.set_major_formatter(_percent_formatter())
    ax.set_title(f"{metric} per epoch")
    ax.grid(True, alpha=0.3)
    ax.legend()


def plot_history(history: HistoryLike, log: bool = False, restored: bool = False) -> Figure:
    """The learning curves of a run in one figure, as Keras users draw them by hand: cost per
    epoch and, where recorded, accuracy, each with training and validation, best epoch marked.

    This is ``History.plot``. ``log`` draws the cost on a log scale; ``restored`` labels the
    best epoch as the one whose weights the run ended with.

    Raises
    ------
    DeltapropError
        When the history has no epoch with a cost or accuracy recorded.
    ImportError
        When matplotlib is not installed.
    """
    metrics = [m for m in ("cost", "accuracy") if _curve_series(history, m)]
    if not metrics:
        raise DeltapropError(
            "the history has no epoch with a cost or accuracy recorded; expected the History "
            "of a fit run (fit(..., train_metrics=False) without validation data records none)"
        )
    fig = _figure(5.0 * len(metrics), 3.6)
    for ax, metric in zip(np.atleast_1d(fig.subplots(1, len(metrics))), metrics):
        _draw_curves(ax, history, metric, restored, log and metric == "cost")
    return fig


def figure_svg(fig: Figure, prefix: str = "fig") -> str:
    """A figure as an inline ``<svg>`` element (text kept as text; ids start with `prefix`)."""
    return _svg(fig, prefix)


def _percent_formatter() -> Formatter:
    from matplotlib.ticker import PercentFormatter

    return PercentFormatter(xmax=1.0)


def plot_gradient_norms(history: HistoryLike | list[dict[str, Any]]) -> Figure | None:
    """‖∂C/∂W^l‖ and ‖∂C/∂b^l‖ of every layer per epoch, log scale; None without diagnostics."""
    from .diagnostics import summarize

    records = history if isinstance(history, list) else _hist_get(history, "diagnostics")
    if not records:
        return None
    s = summarize(records)
    L = s["layers"]
    epochs = s["epoch"]
    if np.all(np.isnan(epochs)):
        epochs = np.arange(1, len(epochs) + 1)
    fig = _figure(10.0, 4.0)
    axes = fig.subplots(1, 2)
    marker = "o" if len(epochs) <= 30 else None
    for ax, key, label in (
        (axes[0], "grad_w_norm", r"$\|\partial C/\partial W^l\|$"),
        (axes[1], "grad_b_norm", r"$\|\partial C/\partial b^l\|$"),
    ):
        values = s[key]
        for l in range(L):
            col = values[:, l]
            # A zero norm (a layer of dead units) has no place on a log axis.
            col = np.where(col > 0, col, np.nan)
            name = s["activations"][l] if l < len(s["activations"]) else ""
            ax.plot(epochs, col, marker=marker, markersize=3, label=f"layer {l + 1} ({name})")
        ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_title("weight gradient norm per layer")
    axes[1].set_title("bias gradient norm per layer")
    axes[1].legend(fontsize="small")
    return fig


def plot_saturation(history: HistoryLike | list[dict[str, Any]]) -> Figure | None:
    """Share of saturated (sigmoid, tanh) and dead (ReLU) units per layer over the epochs.

    One panel per quantity that applies to some layer; None without diagnostics or when it
    applies to no layer (an identity or softmax network).
    """
    from .diagnostics import summarize

    records = history if isinstance(history, list) else _hist_get(history, "diagnostics")
    if not records:
        return None
    s = summarize(records)
    epochs = s["epoch"] if not np.all(np.isnan(s["epoch"])) else np.arange(1, len(records) + 1)
    panels = [
        (key, title)
        for key, title in (
            ("saturated", "saturated units (σ′ near 0)"),
            ("dead", "dead units (z ≤ 0 on every sample)"),
        )
        if not np.all(np.isnan(s[key]))
    ]
    if not panels:
        return None
    fig = _figure(5.0 * len(panels), 3.6)
    axes = np.atleast_1d(fig.subplots(1, len(panels)))
    marker = "o" if len(epochs) <= 30 else None
    for ax, (key, title) in zip(axes, panels):
        for l in range(s["layers"]):
            if np.all(np.isnan(s[key][:, l])):
                continue
            name = s["activations"][l] if l < len(s["activations"]) else ""
            ax.plot(
                epochs, s[key][:, l], marker=marker, markersize=3, label=f"layer {l + 1} ({name})"
            )
        ax.set_ylim(-0.02, 1.02)
        ax.yaxis.set_major_formatter(_percent_formatter())
        ax.set_xlabel("epoch")
        ax.set_title(title)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize="small")
    return fig


def plot_weight_histograms(
    net: Network, bins: int = 50, start: Sequence[ArrayLike] | None = None
) -> Figure:
    """One histogram of the entries of W^l per layer; `start` (the weights before training,
    e.g. :func:`start_weights`) is drawn over it as an outline."""
    L = net.num_layers
    cols = min(L, 4)
    rows = -(-L // cols)
    fig = _figure(3.2 * cols, 2.8 * rows)
    axes = np.atleast_1d(fig.subplots(rows, cols)).ravel()
    for l, W in enumerate(net.weights):
        ax = axes[l]
        w = np.asarray(W, dtype=np.float64).ravel()
        edges = np.histogram_bin_edges(w, bins=bins)
        if start is not None:
            w0 = np.asarray(start[l], dtype=np.float64).ravel()
            edges = np.histogram_bin_edges(np.concatenate([w, w0]), bins=bins)
        ax.hist(w, bins=edges, color="C0", label="end")
        if start is not None:
            ax.hist(w0, bins=edges, histtype="step", color="C1", linewidth=1.5, label="start")
        ax.set_title(
            f"$W^{{{l + 1}}}$ ({W.shape[0]}×{W.shape[1]})\nmean {w.mean():.3g}, std {w.std():.3g}",
            fontsize="small",
        )
        ax.set_xlabel("weight")
    for ax in axes[L:]:
        ax.set_visible(False)
    axes[0].set_ylabel("count")
    if start is not None:
        axes[0].legend(fontsize="small")
    return fig


def plot_confusion_matrix(
    cm: ArrayLike, title: str = "confusion matrix", class_names: Sequence[Any] | None = None
) -> Figure:
    """The matrix as an image with its counts; rows are true classes, columns predicted ones."""
    cm = np.asarray(cm)
    k = cm.shape[0]
    size = min(max(4.0, 0.5 * k + 2.0), 12.0)
    fig = _figure(size + 1.0, size)
    ax = fig.add_subplot()
    im = ax.imshow(cm, cmap="Blues", interpolation="nearest")
    fig.colorbar(im, ax=ax, shrink=0.8)
    names = [str(c) for c in class_names] if class_names is not None else [str(i) for i in range(k)]
    if k <= 30:
        ax.set_xticks(range(k), labels=names)
        ax.set_yticks(range(k), labels=names)
    if k <= 20:
        top = cm.max() if cm.size else 0
        for i in range(k):
            for j in range(k):
                ax.text(
                    j,
                    i,
                    str(int(cm[i, j])),
                    ha="center",
                    va="center",
                    fontsize="small",
                    color="white" if cm[i, j] > top / 2 else "black",
                )
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title)
    return fig


def plot_misclassified(
    X: ArrayLike,
    y_true: ArrayLike,
    y_pred: ArrayLike,
    image_shape: Sequence[int],
    max_images: int = 32,
    class_names: Sequence[Any] | None = None,
    title: str | None = None,
) -> Figure | None:
    """A grid of the first `max_images` misclassified rows of X drawn as images.

    Each image is titled "true→predicted". None when nothing is misclassified.
    """
    y_true = np.asarray(y_true).reshape(-1)
    y_pred = np.asarray(y_pred).reshape(-1)
    wrong = np.flatnonzero(y_true != y_pred)
    if wrong.size == 0:
        return None
    shown = wrong[:max_images]
    rows_px, cols_px = image_shape
    X = np.asarray(X)
    lo, hi = float(np.min(X[shown])), float(np.max(X[shown]))
    ncols = min(8, shown.size)
    nrows = -(-shown.size // ncols)
    fig = _figure(1.25 * ncols, 1.4 * nrows + 0.5)
    axes = np.atleast_1d(fig.subplots(nrows, ncols)).ravel()
    names = (lambda c: str(class_names[c])) if class_names is not None else str
    for ax, i in zip(axes, shown):
        ax.imshow(
            X[i].reshape(rows_px, cols_px), cmap="gray_r", vmin=lo, vmax=hi, interpolation="nearest"
        )
        ax.set_title(f"{names(y_true[i])}→{names(y_pred[i])}", fontsize="small", color="C3")
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in axes[shown.size :]:
        ax.set_visible(False)
    fig.suptitle(
        title or f"misclassified: {wrong.size} of {y_true.size} (true→predicted)", fontsize="medium"
    )
    return fig


def plot_class_scores(cm: ArrayLike, class_names: Sequence[Any] | None = None) -> Figure:
    """Precision and recall of each class (:func:`class_scores`) as paired bars."""
    precision, recall = class_scores(cm)
    k = len(precision)
    names = [str(c) for c in class_names] if class_names is not None else [str(i) for i in range(k)]
    fig = _figure(min(max(4.5, 0.55 * k + 2.0), 12.0), 3.4)
    ax = fig.add_subplot()
    x = np.arange(k)
    ax.bar(x - 0.2, np.nan_to_num(precision), width=0.4, label="precision", color="C0")
    ax.bar(x + 0.2, np.nan_to_num(recall), width=0.4, label="recall", color="C2")
    ax.set_xticks(x, labels=names if k <= 30 else None)
    ax.set_ylim(0, 1.08)
    ax.yaxis.set_major_formatter(_percent_formatter())
    ax.set_xlabel("class")
    ax.set_title("precision and recall per class")
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(loc="lower right", fontsize="small")
    return fig


def plot_decision_regions(
    net: Network,
    X: ArrayLike,
    labels: ArrayLike,
    class_names: Sequence[Any] | None = None,
    resolution: int = 200,
) -> Figure | None:
    """The class the network predicts over the plane of its two inputs, with the points (X,
    labels) on top; None unless the network has exactly two inputs."""
    X = np.asarray(X, dtype=float)
    labels = np.asarray(labels).reshape(-1)
    if net.sizes[0] != 2 or X.ndim != 2 or X.shape[1] != 2 or not len(X):
        return None
    lo, hi = X.min(axis=0), X.max(axis=0)
    pad = 0.1 * np.maximum(hi - lo, 1e-9)
    gx, gy = (np.linspace(lo[i] - pad[i], hi[i] + pad[i], resolution) for i in (0, 1))
    xx, yy = np.meshgrid(gx, gy)
    grid = np.column_stack([xx.ravel(), yy.ravel()])
    zz = net.predicted_labels(net.predict_proba(grid)).reshape(xx.shape)
    k = max(int(zz.max()), int(labels.max(initial=0))) + 1
    fig = _figure(5.6, 4.6)
    ax = fig.add_subplot()
    from matplotlib.colors import ListedColormap

    colors = [f"C{i % 10}" for i in range(k)]
    ax.contourf(xx, yy, zz, levels=np.arange(k + 1) - 0.5, cmap=ListedColormap(colors), alpha=0.25)
    names = [str(c) for c in class_names] if class_names is not None else [str(i) for i in range(k)]
    for c in range(k):
        pts = X[labels == c]
        if len(pts):
            name = names[c] if c < len(names) else str(c)
            ax.scatter(pts[:, 0], pts[:, 1], s=14, color=colors[c], edgecolors="k",
                       linewidths=0.4, label=f"class {name}")  # fmt: skip
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_title("decision regions and training points")
    ax.legend(fontsize="small", loc="best")
    return fig


def plot_predicted_vs_true(
    y_true: ArrayLike, y_pred: ArrayLike, title: str | None = None
) -> Figure:
    """Predicted against true values (one colour per output) with the line ŷ = y and R²."""
    t = np.asarray(y_true, dtype=float)
    p = np.asarray(y_pred, dtype=float)
    t, p = t.reshape(len(t), -1), p.reshape(len(p), -1)
    fig = _figure(5.0, 4.6)
    ax = fig.add_subplot()
    for i in range(t.shape[1]):
        label = f"output {i + 1}" if t.shape[1] > 1 else None
        ax.scatter(t[:, i], p[:, i], s=12, alpha=0.7, color=f"C{i % 10}", label=label)
    lo = float(min(t.min(), p.min()))
    hi = float(max(t.max(), p.max()))
    ax.plot([lo, hi], [lo, hi], color="0.3", linestyle="--", linewidth=1, label="ŷ = y")
    ax.set_xlabel("true value y")
    ax.set_ylabel("predicted value ŷ")
    ax.set_title(title or f"predicted against true (R² = {r_squared(t, p):.4f})")
    ax.set_aspect("equal", adjustable="datalim")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")
    return fig


# ---------------------------------------------------------------------- all of them
def _restored(net: Network, history: HistoryLike) -> bool:
    """Whether the run ended with its best epoch's weights (restore-best, not interrupted)."""
    cfg = getattr(net, "training_config", None) or {}
    stop = _hist_value(history, "stop_reason")
    return bool(cfg.get("restore_best")) and stop != "interrupted"


def _spans_decades(history: HistoryLike, decades: float = 2.0) -> bool:
    """Whether the costs span more than `decades` powers of ten (then a log scale shows them)."""
    costs = [c for key in ("cost", "val_cost") for c in _hist_get(history, key) if c is not None]
    costs = [c for c in costs if c > 0 and math.isfinite(c)]
    return bool(costs) and max(costs) / min(costs) > 10**decades


_Spec = tuple[str, Any, str]  # (name, a function drawing the figure or None, caption)


def _history_specs(net: Network, history: HistoryLike) -> list[_Spec]:
    restored = _restored(net, history)
    start = start_weights(net)
    weights_caption = "Histogram of the weights of each layer" + (
        f" at the end (filled) and at the start (outline, drawn again from seed {net.seed} "
        f"with the {net.init!r} initialiser)." if start is not None else "."
    )  # fmt: skip
    return [
        ("cost", lambda: plot_curves(history, "cost", restored, log=_spans_decades(history)),
         "Cost per epoch (training and validation); the dashed line marks the best epoch."),
        ("accuracy", lambda: plot_curves(history, "accuracy", restored),
         "Accuracy per epoch (training and validation); the dashed line marks the best epoch."),
        ("gradients", lambda: plot_gradient_norms(history),
         "Gradient norms per layer on the diagnostics check batch (log scale): lines drifting "
         "apart mean the layers learn at different speeds (vanishing or exploding gradients)."),
        ("saturation", lambda: plot_saturation(history),
         "Saturated and dead units per layer on the diagnostics check batch."),
        ("weights", lambda: plot_weight_histograms(net, start=start), weights_caption),
    ]  # fmt: skip


def _data_specs(net: Network, dataset: Any) -> list[_Spec]:
    split = evaluation_split(dataset)
    if split is None or net.sizes[0] != np.asarray(split[1]).shape[1]:
        return []
    part, X, y = split
    part_name = {"test": "test", "val": "validation", "train": "training"}[part]
    if is_regression(net):
        pred = net.predict_proba(X)
        prep = getattr(net, "preprocessor", None)
        if prep is not None and prep.target is not None and prep.classes is None:
            # a table model learns the standardized target: show the target's own units
            y, pred = prep.values(np.asarray(y, dtype=float)), prep.values(pred)
        return [("predicted", lambda: plot_predicted_vs_true(y, pred),
                 f"Predicted against true values on the {part_name} data; points on the "
                 "dashed line are exact.")]  # fmt: skip
    labels = _labels_of(net, y)
    if labels is None:
        return []
    pred = net.predicted_labels(net.predict_proba(X))
    k = max(net.sizes[-1] if net.sizes[-1] > 1 else 2, int(labels.max()) + 1, int(pred.max()) + 1)
    classes = getattr(dataset, "classes", None)
    cm = confusion_matrix(labels, pred, k)
    acc = np.trace(cm) / max(cm.sum(), 1)
    cm_title = f"confusion matrix, {part_name} data ({acc:.2%} correct)"
    specs: list[_Spec] = [
        ("confusion", lambda: plot_confusion_matrix(cm, cm_title, classes),
         f"Confusion matrix on the {part_name} data: rows true class, columns predicted."),
        ("class_scores", lambda: plot_class_scores(cm, classes),
         f"Precision (of the samples predicted as the class, the share right) and recall (of "
         f"the samples of the class, the share found) on the {part_name} data."),
    ]  # fmt: skip
    shape = infer_image_shape(dataset, np.asarray(X).shape[1])
    if shape is not None and shape[0] * shape[1] == np.asarray(X).shape[1]:
        specs.append(("misclassified",
                      lambda: plot_misclassified(X, labels, pred, shape, class_names=classes),
                      f"Misclassified {part_name} samples, titled true→predicted."))  # fmt: skip
    Xt, yt = getattr(dataset, "X_train", None), getattr(dataset, "y_train", None)
    if net.sizes[0] == 2 and Xt is not None and yt is not None:
        lt = _labels_of(net, yt)
        if lt is not None:
            specs.append(("decision_regions", lambda: plot_decision_regions(net, Xt, lt, classes),
                          "The class predicted at each point of the input plane (shaded) "
                          "with the training points."))  # fmt: skip
    return specs


def figures(
    net: Network, history: HistoryLike = None, dataset: Any = None
) -> dict[str, tuple[Figure, str]]:
    """Every figure whose data are present, as matplotlib Figures.

    Parameters are those of :func:`render_plots`. Returns plot name (in the order of
    :data:`PLOT_NAMES`) → (Figure, caption): the pictures of the HTML report, for a notebook.
    """
    if history is None:
        history = net.history
    specs = {name: (make, caption) for name, make, caption in _history_specs(net, history)}
    specs.update({name: (make, caption) for name, make, caption in _data_specs(net, dataset)})
    out = {}
    for name in PLOT_NAMES:
        if name in specs:
            fig = specs[name][0]()
            if fig is not None:
                out[name] = (fig, specs[name][1])
    return out


def render_plots(
    net: Network, history: HistoryLike = None, dataset: Any = None, format: str = "png"
) -> dict[str, tuple[Any, str]]:
    """Every plot whose data are present, as PNG bytes or SVG text.

    Parameters
    ----------
    net : Network
    history : History or dict, optional
        Default: ``net.history``.
    dataset : Dataset, optional
        Anything with ``X_test``/``y_test`` (else ``X_val``/``y_val``, else ``X_train``/
        ``y_train``) and optionally ``image_shape`` and ``classes``; ``X_train``/``y_train``
        for the decision regions of two-input networks.
    format : "png" or "svg"
        PNG bytes, or the ``<svg>`` element as text (for an HTML page; text kept as text).

    Returns
    -------
    dict
        Plot name (from :data:`PLOT_NAMES`) → (PNG bytes or SVG text, caption), in that order.
    """
    if format not in ("png", "svg"):
        raise DeltapropError(f"format={format!r} is unknown; expected 'png' or 'svg'")
    out: dict[str, tuple[Any, str]] = {}
    for name, (fig, caption) in figures(net, history, dataset).items():
        out[name] = (_png(fig) if format == "png" else _svg(fig, name), caption)
    return out


def write_plots(
    net: Network,
    history: HistoryLike = None,
    directory: str | os.PathLike[str] = ".",
    dataset: Any = None,
) -> list[Path]:
    """Write every plot whose data are present as a PNG file in `directory`.

    Parameters
    ----------
    net : Network
    history : History or dict, optional
        Default: ``net.history``.
    directory : str or os.PathLike
        Created (with its parents) when missing.
    dataset : Dataset, optional
        For the confusion matrix and the misclassified images.

    Returns
    -------
    list of Path
        The files written, in the order of :data:`PLOT_NAMES`; each is written to a temporary
        file and renamed into place.

    Raises
    ------
    ImportError
        When matplotlib is not installed.
    """
    from .io import atomic_write_bytes

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, (png, _caption) in render_plots(net, history, dataset).items():
        written.append(atomic_write_bytes(directory / f"{name}.png", png))
    return written


# History.plot is this module's plot_history: provided to history.py, which sits below it.
_history.provide("plot", plot_history)
