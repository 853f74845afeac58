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
``weights.png``
    A histogram of the entries of each W^l.
``confusion.png``
    The confusion matrix of the network's predictions on the data set's test part (else its
    validation part, else its training part).
``misclassified.png``
    A grid of misclassified samples drawn as images, for image data.

A figure whose data are missing (no validation data, no diagnostics, no data set, no
misclassified sample, ...) is skipped.
"""

from __future__ import annotations

import io as _stdio
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

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
    "plot_gradient_norms",
    "plot_weight_histograms",
    "plot_confusion_matrix",
    "plot_misclassified",
    "evaluation_split",
    "infer_image_shape",
    "PLOT_NAMES",
]

#: The plots ``write_plots`` can write, in order (file name = name + ".png").
PLOT_NAMES = ("cost", "accuracy", "gradients", "weights", "confusion", "misclassified")

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


def plot_curves(history: HistoryLike, metric: str = "cost") -> Figure | None:
    """Training and validation `metric` ("cost" or "accuracy") per epoch; None without data."""
    if metric not in ("cost", "accuracy"):
        raise DeltapropError(f"metric={metric!r} is unknown; expected 'cost' or 'accuracy'")
    epochs = _hist_get(history, "epoch")
    series = []
    for key, label in ((metric, "training"), ("val_" + metric, "validation")):
        values = _hist_get(history, key)
        if values and len(values) == len(epochs) and all(v is not None for v in values):
            series.append((label, values))
    if not series:
        return None
    fig = _figure(6.4, 4.0)
    ax = fig.add_subplot()
    marker = "o" if len(epochs) <= 30 else None
    for label, values in series:
        ax.plot(epochs, values, marker=marker, markersize=3, label=label)
    ax.set_xlabel("epoch")
    ax.set_ylabel(metric)
    if metric == "accuracy":
        ax.yaxis.set_major_formatter(_percent_formatter())
    ax.set_title(f"{metric} per epoch")
    ax.grid(True, alpha=0.3)
    ax.legend()
    return fig


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


def plot_weight_histograms(net: Network, bins: int = 50) -> Figure:
    """One histogram of the entries of W^l per layer."""
    L = net.num_layers
    cols = min(L, 4)
    rows = -(-L // cols)
    fig = _figure(3.2 * cols, 2.8 * rows)
    axes = np.atleast_1d(fig.subplots(rows, cols)).ravel()
    for l, W in enumerate(net.weights):
        ax = axes[l]
        w = np.asarray(W, dtype=np.float64).ravel()
        ax.hist(w, bins=bins, color="C0")
        ax.set_title(
            f"$W^{{{l + 1}}}$ ({W.shape[0]}×{W.shape[1]})\nmean {w.mean():.3g}, std {w.std():.3g}",
            fontsize="small",
        )
        ax.set_xlabel("weight")
    for ax in axes[L:]:
        ax.set_visible(False)
    axes[0].set_ylabel("count")
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


# ---------------------------------------------------------------------- all of them
def render_plots(
    net: Network, history: HistoryLike = None, dataset: Any = None
) -> dict[str, tuple[bytes, str]]:
    """Every plot whose data are present, as PNG bytes.

    Parameters
    ----------
    net : Network
    history : History or dict, optional
        Default: ``net.history``.
    dataset : Dataset, optional
        Anything with ``X_test``/``y_test`` (else ``X_val``/``y_val``, else ``X_train``/
        ``y_train``) and optionally ``image_shape`` and ``classes``.

    Returns
    -------
    dict
        Plot name (from :data:`PLOT_NAMES`) → (PNG bytes, caption), in that order.
    """
    if history is None:
        history = net.history
    out = {}
    figures = [
        ("cost", lambda: plot_curves(history, "cost"), "Cost per epoch (training and validation)."),
        (
            "accuracy",
            lambda: plot_curves(history, "accuracy"),
            "Accuracy per epoch (training and validation).",
        ),
        (
            "gradients",
            lambda: plot_gradient_norms(history),
            "Gradient norms per layer on the diagnostics check batch (log scale).",
        ),
        ("weights", lambda: plot_weight_histograms(net), "Histogram of the weights of each layer."),
    ]
    split = evaluation_split(dataset)
    if split is not None and net.sizes[0] == np.asarray(split[1]).shape[1]:
        part, X, y = split
        labels = _labels_of(net, y)
        if labels is not None:
            pred = net.predicted_labels(net.predict_proba(X))
            k = max(
                net.sizes[-1] if net.sizes[-1] > 1 else 2,
                int(labels.max()) + 1,
                int(pred.max()) + 1,
            )
            classes = getattr(dataset, "classes", None)
            part_name = {"test": "test", "val": "validation", "train": "training"}[part]
            cm = confusion_matrix(labels, pred, k)
            acc = np.trace(cm) / max(cm.sum(), 1)
            figures.append(
                (
                    "confusion",
                    lambda: plot_confusion_matrix(
                        cm, f"confusion matrix, {part_name} data ({acc:.2%} correct)", classes
                    ),
                    f"Confusion matrix on the {part_name} data: rows true class, "
                    "columns predicted.",
                )
            )
            shape = infer_image_shape(dataset, np.asarray(X).shape[1])
            if shape is not None and shape[0] * shape[1] == np.asarray(X).shape[1]:
                figures.append(
                    (
                        "misclassified",
                        lambda: plot_misclassified(X, labels, pred, shape, class_names=classes),
                        f"Misclassified {part_name} samples, titled true→predicted.",
                    )
                )
    for name, make, caption in figures:
        fig = make()
        if fig is not None:
            out[name] = (_png(fig), caption)
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
