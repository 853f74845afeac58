"""A self-contained HTML report of a trained network, pictures before tables.

Top to bottom: the title with the model, the data set, when it was trained and the command
line that trained it; a headline row (test accuracy, or R² for a regression network, then the
cost, the epochs, the training time and why training stopped); the pictures of
:mod:`deltaprop.plots` as inline SVG (line art stays sharp and its text searchable): learning
curves, what the network predicts (confusion matrix, precision and recall, misclassified
images, decision regions, predicted against true), and inside the network (gradient norms,
saturated and dead units, weights at the start and the end); last, folded in ``<details>``,
the tables: settings in words, layers, metrics of every data part, the per-epoch history and
the diagnostics.

The page has no script and no external reference: its Content-Security-Policy
(``default-src 'none'; img-src data:; style-src 'unsafe-inline'``) lets the browser load
nothing but the embedded images and the inline styles, so it opens the same offline. Every
piece of text that comes from the model or the data is HTML-escaped.
"""

from __future__ import annotations

import datetime
import html
import math
import os
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ._validation import DeltapropTypeError

if TYPE_CHECKING:
    from .history import History
    from .network import Network

__all__ = ["render_report", "write_report", "headline"]

_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"

_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 1.5rem auto;
       max-width: 1180px; padding: 0 1rem; color: #1d1d1f; line-height: 1.45; }
h1 { font-size: 1.6rem; margin: 0 0 .2rem; }
h2 { font-size: 1.2rem; border-bottom: 1px solid #ddd; padding-bottom: .2rem; margin-top: 1.8rem; }
.sub, .meta { color: #555; margin: .1rem 0; }
pre.cmd { background: #f5f5f7; padding: .4rem .6rem; border-radius: 4px; overflow-x: auto;
          margin: .4rem 0; font-size: .85rem; white-space: pre-wrap; word-break: break-all; }
.headline { display: flex; flex-wrap: wrap; gap: .8rem; margin: 1rem 0; }
.stat { border: 1px solid #ddd; border-radius: 6px; padding: .5rem .9rem; min-width: 8.5rem; }
.stat .v { font-size: 1.5rem; font-weight: 600; }
.stat .k { color: #555; font-size: .85rem; }
.stat.main { border-color: #2a7; background: #f1faf4; }
#stat-stop .v { font-size: 1rem; padding-top: .45rem; max-width: 26rem; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(480px, 1fr)); gap: 1rem; }
figure { margin: 0; }
figure.wide { grid-column: 1 / -1; }
figure svg { width: 100%; height: auto; max-width: var(--w); display: block; }
figcaption { color: #555; font-size: .88rem; }
details { margin: .5rem 0; border: 1px solid #e4e4e4; border-radius: 6px; padding: .3rem .7rem; }
summary { cursor: pointer; font-weight: 600; }
dl.settings { display: grid; grid-template-columns: max-content 1fr; gap: .15rem 1rem; }
dl.settings dt { color: #555; } dl.settings dd { margin: 0; }
table { border-collapse: collapse; margin: .6rem 0; font-size: .88rem; }
th, td { border: 1px solid #ddd; padding: .2rem .55rem; text-align: right; }
th { background: #f5f5f7; }
td.l, th.l { text-align: left; }
tr.best td { background: #eaf6ea; font-weight: 600; }
code { background: #f5f5f7; padding: 0 .2rem; }
.note { color: #555; font-size: .9rem; }
"""

# The report's picture groups: (heading, plot names of deltaprop.plots in the order shown).
_GROUPS = (
    ("Learning curves", ("cost", "accuracy")),
    (
        "Predictions",
        ("predicted", "decision_regions", "confusion", "class_scores", "misclassified"),
    ),
    ("Inside the network", ("gradients", "saturation", "weights")),
)


def _e(value: object) -> str:
    """HTML-escaped text of any value."""
    return html.escape(str(value), quote=True)


def _num(value: object, fmt: str = "{:.4g}") -> str:
    if value is None:
        return "–"
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return "–" if math.isnan(value) else fmt.format(float(value))
    return str(value)


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{float(value):.2%}"


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.2f} s"
    minutes, sec = divmod(round(seconds), 60)
    return f"{minutes} min {sec} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"


def _table(
    header: Sequence[object] | None,
    rows: Sequence[Sequence[object]],
    left: tuple[int, ...] = (),
    row_classes: Sequence[str | None] | None = None,
) -> str:
    """An HTML table (no header row when `header` is None); every cell is escaped."""
    out = ["<table>"]
    if header is not None:
        out.append("<thead><tr>")
        out += [f"<th{' class=l' if i in left else ''}>{_e(h)}</th>" for i, h in enumerate(header)]
        out.append("</tr></thead>")
    out.append("<tbody>")
    for r, row in enumerate(rows):
        cls = row_classes[r] if row_classes else None
        out.append(f'<tr class="{_e(cls)}">' if cls else "<tr>")
        out += [f"<td{' class=l' if i in left else ''}>{_e(c)}</td>" for i, c in enumerate(row)]
        out.append("</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _history_dict(history: History | Mapping[str, Any] | None) -> Mapping[str, Any]:
    if history is None:
        return {}
    if isinstance(history, dict):
        return history
    if hasattr(history, "to_dict"):
        return history.to_dict()
    raise DeltapropTypeError(
        f"history is a {type(history).__name__}; expected a History or its dict"
    )


# ---------------------------------------------------------------------- settings in words
_SETTING_LABELS = {
    "epochs": "epochs asked for",
    "batch_size": "mini-batch size m",
    "lr": "learning rate η",
    "optimizer": "optimizer",
    "schedule": "η schedule",
    "l2": "L2 regularisation λ",
    "l1": "L1 regularisation λ",
    "dropout": "dropout rate (hidden layers)",
    "validation_split": "validation split",
    "early_stopping": "early stopping patience",
    "restore_best": "restore the best epoch's weights",
    "monitor": "quantity watched",
    "shuffle": "shuffle every epoch",
    "seed": "seed",
    "train_metrics": "training metrics",
    "cost_every": "cost measured every",
    "diagnostics": "diagnostics recorded",
    "checkpoint": "checkpoint file",
    "checkpoint_every": "checkpoint every (epochs)",
    "n_train": "training samples",
    "n_val": "validation samples",
}
# Shown in the title, not among the settings.
_PROVENANCE = ("dataset", "command", "date")


def _words(value: object) -> str:
    """A setting's value as a reader writes it: ``{"name": "sgd", "lr": 3.0}`` → "sgd, η = 3"."""
    if isinstance(value, Mapping):
        name = value.get("name")
        rest = [
            f"{'η' if k == 'lr' else k.replace('_', ' ')} = {_words(v)}"
            for k, v in value.items()
            if k != "name"
        ]
        return ", ".join(([str(name)] if name is not None else []) + rest) or "–"
    if isinstance(value, (list, tuple)):
        if value and all(v == value[0] for v in value):
            return _words(value[0])
        return ", ".join(_words(v) for v in value)
    if value is None:
        return "none"
    return _num(value, "{:g}")


def _settings(cfg: Mapping[str, Any]) -> str:
    rows = [
        f"<dt>{_e(_SETTING_LABELS.get(k, k.replace('_', ' ')))}</dt><dd>{_e(_words(v))}</dd>"
        for k, v in cfg.items()
        if k not in _PROVENANCE
    ]
    return f'<dl class="settings">{"".join(rows)}</dl>' if rows else ""


# ---------------------------------------------------------------------- the headline
def _split_name(part: str) -> str:
    return {"test": "test", "val": "validation", "train": "training"}[part]


def headline(
    net: Network, history: History | Mapping[str, Any] | None = None, dataset: Any = None
) -> list[tuple[str, str, str]]:
    """The report's headline row as (key, label, value text) triples.

    Keys: "metric" (accuracy, or R² for a regression network, on the data set's test part,
    else its validation or training part, with the final weights; without a data set, the
    last epoch's validation or training accuracy), "cost" (on the same data), "epochs",
    "time" and "stop". A triple whose number is unknown is left out.
    """
    from .plots import evaluation_split, is_regression, r_squared
    from .training import evaluate

    hist = _history_dict(net.history if history is None else history)
    out: list[tuple[str, str, str]] = []
    split = evaluation_split(dataset)
    if split is not None and np.asarray(split[1]).shape[1] == net.sizes[0]:
        part, X, y = split
        where = _split_name(part)
        cost, acc = evaluate(net, X, y)
        if is_regression(net):
            out.append(("metric", f"{where} R²", f"{r_squared(y, net.predict_proba(X)):.4f}"))
        elif acc is not None:
            out.append(("metric", f"{where} accuracy", _pct(acc)))
        out.append(("cost", f"{where} cost", _num(cost)))
    else:
        for key, label in (("accuracy", "accuracy"), ("cost", "cost")):
            for prefix, where in (("val_", "validation"), ("", "training")):
                values = hist.get(prefix + key) or []
                if values and values[-1] is not None:
                    text = _pct(values[-1]) if key == "accuracy" else _num(values[-1])
                    name = "metric" if key == "accuracy" else "cost"
                    out.append((name, f"{where} {label} (last epoch)", text))
                    break
    epochs = hist.get("epoch") or []
    if epochs:
        best = hist.get("best_epoch")
        out.append(("epochs", "epochs" + (f" (best {best})" if best else ""), str(epochs[-1])))
    times = [t for t in (hist.get("time") or []) if t is not None]
    if times:
        out.append(("time", "training time", _duration(sum(times))))
    if hist.get("stop_reason"):
        out.append(("stop", "stopped because", str(hist["stop_reason"])))
    return out


def _headline_html(items: list[tuple[str, str, str]]) -> str:
    if not items:
        return '<p class="note">No training history or evaluation data.</p>'
    cards = [
        f'<div class="stat{" main" if key == "metric" else ""}" id="stat-{key}">'
        f'<div class="v">{_e(value)}</div><div class="k">{_e(label)}</div></div>'
        for key, label, value in items
    ]
    return f'<div class="headline" id="headline">{"".join(cards)}</div>'


# ---------------------------------------------------------------------- title block
def _header(net: Network, source: str, title: str, dataset: Any) -> str:
    cfg = getattr(net, "training_config", None) or {}
    sizes = "–".join(str(s) for s in net.sizes)
    hidden = sorted({a.name for a in net.layer_activations[:-1]}) or ["–"]
    lines = [
        f"<h1>{_e(title)}</h1>",
        f'<p class="sub">{_e(sizes)} network · hidden {_e(", ".join(hidden))} · output '
        f"{_e(net.layer_activations[-1].name)} · loss {_e(net.loss.name)} · "
        f"{net.num_parameters:,} parameters · model {_e(source)}</p>",
    ]
    data = getattr(dataset, "name", None) if dataset is not None else None
    data = data or cfg.get("dataset")
    meta = []
    if data or dataset is not None:
        counts = [
            f"{len(X):,} {p}"
            for p in ("train", "val", "test")
            if (X := getattr(dataset, "X_" + p, None)) is not None
        ]
        text = f"data set {data}" if data else "data"
        meta.append(_e(text + (f" ({', '.join(counts)})" if counts else "")))
    if cfg.get("date"):
        meta.append(f"trained {_e(cfg['date'])}")
    now = datetime.datetime.now().astimezone().isoformat(sep=" ", timespec="seconds")
    meta.append(f"report written {_e(now)}")
    lines.append(f'<p class="meta">{" · ".join(meta)}</p>')
    if cfg.get("command"):
        lines.append(f'<pre class="cmd" id="command"><code>{_e(cfg["command"])}</code></pre>')
    return "\n".join(lines)


# ---------------------------------------------------------------------- pictures
_SVG_WIDTH = re.compile(r'<svg[^>]*?\swidth="([\d.]+)pt"')


def _figure_html(name: str, svg: str, caption: str) -> str:
    match = _SVG_WIDTH.search(svg)
    width_px = float(match.group(1)) * 4 / 3 if match else 600.0  # 1 pt = 4/3 CSS px
    wide = " wide" if width_px > 700 else ""
    return (
        f'<figure id="plot-{_e(name)}" class="plot{wide}" style="--w:{width_px:.0f}px">'
        f"{svg}<figcaption>{_e(caption)}</figcaption></figure>"
    )


def _pictures(net: Network, history: Any, dataset: Any) -> str:
    try:
        from .plots import render_plots

        svgs = render_plots(net, history, dataset, format="svg")
    except ImportError as exc:
        return f'<h2>Pictures</h2><p class="note">No pictures: {_e(exc)}</p>'
    parts = []
    for heading, names in _GROUPS:
        shown = [_figure_html(n, *svgs[n]) for n in names if n in svgs]
        if shown:
            parts.append(f'<h2>{_e(heading)}</h2><div class="grid">{"".join(shown)}</div>')
    return "\n".join(parts) or '<p class="note">No picture has data.</p>'


# ---------------------------------------------------------------------- tables, folded
def _details(summary: str, body: str, key: str) -> str:
    return f'<details id="details-{key}"><summary>{_e(summary)}</summary>{body}</details>'


def _layers_table(net: Network) -> str:
    rows = [["0 (input)", str(net.sizes[0]), "–", "–", "0"]]
    for l, (W, act) in enumerate(zip(net.weights, net.layer_activations), start=1):
        shape = f"{W.shape[0]}×{W.shape[1]}"
        rows.append([str(l), str(W.shape[0]), act.name, shape, f"{W.size + W.shape[0]:,}"])
    header = ["layer l", "neurons", "activation", "W shape", "parameters"]
    return _table(header, rows, left=(0, 2))


def _metrics_table(net: Network, dataset: Any) -> str:
    from .plots import is_regression, r_squared
    from .training import evaluate

    rows = []
    for part in ("train", "val", "test"):
        X, y = getattr(dataset, "X_" + part, None), getattr(dataset, "y_" + part, None)
        if X is None or y is None or not len(X) or np.asarray(X).shape[1] != net.sizes[0]:
            continue
        cost, acc = evaluate(net, X, y)
        score = f"{r_squared(y, net.predict_proba(X)):.4f}" if is_regression(net) else _pct(acc)
        rows.append([_split_name(part), f"{len(X):,}", _num(cost), score])
    metric = "R²" if is_regression(net) else "accuracy"
    return _table(["data", "samples", "cost", metric], rows, left=(0,)) if rows else ""


def _history_table(hist: Mapping[str, Any]) -> str:
    epochs = hist.get("epoch") or []
    cols: list[tuple[str, str, Callable[[Any], str]]] = [
        ("epoch", "epoch", str),
        ("lr", "η", lambda v: _num(v, "{:g}")),
        ("cost", "cost", _num),
        ("accuracy", "accuracy", _pct),
        ("val_cost", "val cost", _num),
        ("val_accuracy", "val accuracy", _pct),
        ("time", "time (s)", lambda v: _num(v, "{:.2f}")),
    ]
    cols = [c for c in cols if len(hist.get(c[0]) or []) == len(epochs)]
    rows = [[fmt(hist[key][i]) for key, _, fmt in cols] for i in range(len(epochs))]
    classes = ["best" if e == hist.get("best_epoch") else None for e in epochs]
    return _table([c[1] for c in cols], rows, row_classes=classes)


def _diagnostics_tables(hist: Mapping[str, Any]) -> str:
    from .diagnostics import HEADERS, METRICS, SATURATION_THRESHOLD, gradient_ratio

    records = hist.get("diagnostics") or []
    parts = [
        f'<p class="note">Measured after each epoch by backpropagation on a fixed check batch of '
        f"{_e(records[0].get('check_size', '?'))} training samples. Saturated: share of (sample, "
        f"unit) pairs of a sigmoid or tanh layer with σ′(z) &lt; {_e(SATURATION_THRESHOLD)} × "
        f"max σ′. Dead: share of ReLU units with z ≤ 0 on every sample of the check batch.</p>"
    ]
    ratios = [
        [_num(r.get("epoch")), _num(r.get("cost")), _num(gradient_ratio([r])),
         _num(gradient_ratio([r], "grad_b_norm"))]
        for r in records
    ]  # fmt: skip
    parts.append("<h3>First layer against last layer</h3>")
    header = ["epoch", "check-batch cost", "‖∂C/∂W¹‖ / ‖∂C/∂Wᴸ‖", "‖∂C/∂b¹‖ / ‖∂C/∂bᴸ‖"]
    parts.append(_table(header, ratios))
    for r in records if len(records) <= 3 else [records[0], records[-1]]:
        acts = r.get("activations") or ["?"] * len(r["grad_w_norm"])
        sizes = r.get("sizes") or [None] * (len(acts) + 1)
        rows = []
        for l in range(len(r["grad_w_norm"])):
            row = [str(l + 1), acts[l], str(sizes[l + 1])]
            for m in METRICS:
                v = r[m][l]
                row.append(_pct(v) if m in ("saturated", "dead") else _num(v, "{:.3e}"))
            rows.append(row)
        parts.append(f"<h3>Per layer, epoch {_e(r.get('epoch'))}</h3>")
        header = ["layer", "activation", "units"] + [HEADERS[m] for m in METRICS]
        parts.append(_table(header, rows, left=(1,)))
    return "".join(parts)


def _tables(net: Network, hist: Mapping[str, Any], dataset: Any) -> str:
    cfg = getattr(net, "training_config", None) or {}
    parts = ["<h2>Tables</h2>"]
    settings = _settings(cfg) or '<p class="note">No training settings are stored.</p>'
    parts.append(_details("Settings", settings, "settings"))
    parts.append(_details("Layers", _layers_table(net), "layers"))
    if dataset is not None and (metrics := _metrics_table(net, dataset)):
        parts.append(_details("Cost and score of the final weights on each data part",
                              metrics, "metrics"))  # fmt: skip
    if hist.get("epoch"):
        parts.append(_details("History, epoch by epoch", _history_table(hist), "history"))
    if hist.get("diagnostics"):
        parts.append(_details("Diagnostics", _diagnostics_tables(hist), "diagnostics"))
    else:
        parts.append(
            '<p class="note">No diagnostics were recorded (train with '
            "<code>fit(..., diagnostics=True)</code> or <code>deltaprop train "
            "--diagnostics</code>).</p>"
        )
    return "\n".join(parts)


# ---------------------------------------------------------------------- entry points
def _resolve(model: Network | str | os.PathLike[str]) -> tuple[Network, str]:
    """(Network, a description of where it came from)."""
    from .network import Network

    if isinstance(model, Network):
        return model, "in memory"
    if isinstance(model, (str, os.PathLike)):
        from .io import load

        return load(model), os.fspath(model)
    raise DeltapropTypeError(
        f"model is a {type(model).__name__}; expected a Network or the path of a model file"
    )


def render_report(
    model: Network | str | os.PathLike[str],
    dataset: Any = None,
    history: History | Mapping[str, Any] | None = None,
    title: str | None = None,
) -> str:
    """The report as an HTML string; see :func:`write_report`."""
    net, source = _resolve(model)
    if history is None:
        history = net.history
    hist = _history_dict(history)
    if title is None:
        name = Path(source).name if source != "in memory" else "network"
        title = f"deltaprop report: {name}"
    from ._version import __version__

    body = [
        _header(net, source, title, dataset),
        _headline_html(headline(net, hist, dataset)),
        _pictures(net, history, dataset),
        _tables(net, hist, dataset),
        f'<p class="note">Written by deltaprop {_e(__version__)}.</p>',
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<link rel="icon" href="data:,">'
        f"<title>{_e(title)}</title><style>{_STYLE}</style></head>\n<body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )


def write_report(
    model: Network | str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    dataset: Any = None,
    history: History | Mapping[str, Any] | None = None,
    title: str | None = None,
) -> Path:
    """Write a self-contained HTML report of a network and its training run.

    Parameters
    ----------
    model : Network or path
        A network, or a model file written by ``Network.save`` / ``deltaprop train``.
    out_path : str or os.PathLike
        The HTML file to write (atomically: a temporary file renamed into place).
    dataset : Dataset, optional
        Adds the headline metric of the final weights (test accuracy, or R² for a network
        with an identity output), the confusion matrix, precision and recall, misclassified
        images, decision regions (two inputs) or predicted against true values (regression).
    history : History or dict, optional
        Default: the network's own ``history`` (saved in the model file).
    title : str, optional
        Default: "deltaprop report: <model file name>".

    Returns
    -------
    Path
        `out_path`.

    Notes
    -----
    Without matplotlib the report is written without its pictures (a note says why).

    Example
    -------
    >>> from deltaprop import Network
    >>> path = write_report(Network([2, 3, 2], seed=0), "report.html")
    >>> path.name, path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    ('report.html', True)
    """
    from .io import atomic_write_text

    text = render_report(model, dataset=dataset, history=history, title=title)
    return atomic_write_text(out_path, text)
