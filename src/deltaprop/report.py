"""A self-contained HTML report of a trained network.

One file holds everything: the configuration (architecture and training settings), the results
(final metrics, test metrics when a data set is given, the per-epoch history), the plots of
:mod:`deltaprop.plots` embedded as ``data:image/png;base64`` URIs, and the per-layer diagnostics
of :mod:`deltaprop.diagnostics`. The page has no script and no external reference: its
Content-Security-Policy (``default-src 'none'; img-src data:; style-src 'unsafe-inline'``) lets
the browser load nothing but the embedded images and the inline style sheet, so it opens the
same offline. Every piece of text that comes from the model or the data is HTML-escaped.
"""

from __future__ import annotations

import base64
import html
import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ._validation import DeltapropTypeError

if TYPE_CHECKING:
    from .history import History
    from .network import Network

__all__ = ["render_report", "write_report"]

_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"

_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2rem auto;
       max-width: 1100px; padding: 0 1rem; color: #1d1d1f; line-height: 1.45; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; }
h2 { font-size: 1.25rem; border-bottom: 1px solid #ddd; padding-bottom: .2rem; margin-top: 2rem; }
.sub { color: #666; margin-top: 0; }
table { border-collapse: collapse; margin: .6rem 0; font-size: .9rem; }
th, td { border: 1px solid #ddd; padding: .25rem .6rem; text-align: right; }
th { background: #f5f5f7; }
td.l, th.l { text-align: left; }
tr.best td { background: #eaf6ea; font-weight: 600; }
figure { margin: 1rem 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: #555; font-size: .9rem; }
code { background: #f5f5f7; padding: 0 .2rem; }
.note { color: #555; font-size: .9rem; }
"""


def _e(value: object) -> str:
    """HTML-escaped text of any value."""
    return html.escape(str(value), quote=True)


def _num(value: object, fmt: str = "{:.4g}") -> str:
    if value is None:
        return "–"
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        if math.isnan(value):
            return "–"
        return fmt.format(float(value))
    return str(value)


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{float(value):.2%}"


def _value(value: object) -> str:
    """A configuration value as text: numbers compactly, containers as JSON."""
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, default=_json_default, ensure_ascii=False)
    return _num(value, "{:g}")


def _json_default(value: object) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


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


# ---------------------------------------------------------------------- sections
def _configuration(net, source, dataset):
    parts = ["<h2>Configuration</h2>"]
    summary = [
        ("model", source),
        ("layer sizes", " – ".join(str(s) for s in net.sizes)),
        ("loss", net.loss.name),
        ("dtype", net.dtype.name),
        ("parameters", f"{net.num_parameters:,}"),
    ]
    if dataset is not None:
        summary.append(("data set", getattr(dataset, "name", "data")))
        for part in ("train", "val", "test"):
            X = getattr(dataset, "X_" + part, None)
            if X is not None:
                summary.append((f"{part} samples", str(len(X))))
    parts.append(_table(None, summary, left=(0, 1)))
    rows = []
    for l, (W, act) in enumerate(zip(net.weights, net.layer_activations)):
        rows.append(
            [
                str(l + 1),
                str(W.shape[0]),
                act.name,
                f"{W.shape[0]}×{W.shape[1]}",
                str(W.size + W.shape[0]),
            ]
        )
    parts.append(
        _table(["layer", "neurons", "activation", "W shape", "parameters"], rows, left=(2,))
    )
    cfg = getattr(net, "training_config", None) or {}
    if cfg:
        parts.append("<h3>Training settings</h3>")
        parts.append(
            _table(["setting", "value"], [[k, _value(v)] for k, v in cfg.items()], left=(0, 1))
        )
    return "".join(parts)


def _results(net, hist, dataset):
    from .training import evaluate

    parts = ["<h2>Results</h2>"]
    epochs = hist.get("epoch") or []
    rows = []
    if epochs:
        rows.append(["epochs trained", str(epochs[-1])])
    if hist.get("best_epoch") is not None:
        rows.append(["best epoch", str(hist["best_epoch"])])
    if hist.get("stop_reason"):
        rows.append(["stopped because", hist["stop_reason"]])
    for key, label, fmt in (
        ("cost", "training cost", _num),
        ("accuracy", "training accuracy", _pct),
        ("val_cost", "validation cost", _num),
        ("val_accuracy", "validation accuracy", _pct),
    ):
        values = hist.get(key) or []
        if values and values[-1] is not None:
            rows.append([f"{label} (last epoch)", fmt(values[-1])])
    times = [t for t in (hist.get("time") or []) if t is not None]
    if times:
        rows.append(["training time", f"{sum(times):.2f} s"])
    if dataset is not None:
        for part, label in (("val", "validation"), ("test", "test")):
            X, y = getattr(dataset, "X_" + part, None), getattr(dataset, "y_" + part, None)
            if X is not None and y is not None and X.shape[1] == net.sizes[0]:
                cost, acc = evaluate(net, X, y)
                rows.append([f"{label} cost (final weights)", _num(cost)])
                if acc is not None:
                    rows.append([f"{label} accuracy (final weights)", _pct(acc)])
    if rows:
        parts.append(_table(None, rows, left=(0, 1)))
    else:
        parts.append('<p class="note">No training history or evaluation data.</p>')
    if epochs:
        cols = [
            ("epoch", "epoch", str),
            ("lr", "η", lambda v: _num(v, "{:g}")),
            ("cost", "cost", _num),
            ("accuracy", "accuracy", _pct),
            ("val_cost", "val cost", _num),
            ("val_accuracy", "val accuracy", _pct),
            ("time", "time (s)", lambda v: _num(v, "{:.2f}")),
        ]
        cols = [c for c in cols if len(hist.get(c[0]) or []) == len(epochs)]
        table = [[fmt(hist[key][i]) for key, _, fmt in cols] for i in range(len(epochs))]
        classes = ["best" if e == hist.get("best_epoch") else None for e in epochs]
        parts.append("<h3>History</h3>")
        parts.append(_table([c[1] for c in cols], table, row_classes=classes))
    return "".join(parts)


def _plots(net, history, dataset):
    parts = ["<h2>Plots</h2>"]
    try:
        from .plots import render_plots

        images = render_plots(net, history, dataset)
    except ImportError as exc:
        parts.append(f'<p class="note">{_e(exc)}</p>')
        return "".join(parts)
    if not images:
        parts.append('<p class="note">No plot has data.</p>')
    for name, (png, caption) in images.items():
        width, height = _png_size(png)
        data = base64.b64encode(png).decode("ascii")
        parts.append(
            f'<figure id="plot-{_e(name)}"><img src="data:image/png;base64,{data}" '
            f'alt="{_e(caption)}" width="{width}" height="{height}">'
            f"<figcaption>{_e(caption)}</figcaption></figure>"
        )
    return "".join(parts)


def _png_size(png):
    """(width, height) from a PNG's IHDR chunk."""
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def _diagnostics(hist):
    from .diagnostics import HEADERS as _HEADERS
    from .diagnostics import METRICS, SATURATION_THRESHOLD, gradient_ratio

    records = hist.get("diagnostics") or []
    parts = ["<h2>Diagnostics</h2>"]
    if not records:
        parts.append(
            '<p class="note">No diagnostics were recorded (train with '
            "<code>fit(..., diagnostics=True)</code> or <code>deltaprop train "
            "--diagnostics</code>).</p>"
        )
        return "".join(parts)
    first = records[0]
    parts.append(
        f'<p class="note">Measured after each epoch by backpropagation on a fixed check batch of '
        f"{_e(first.get('check_size', '?'))} training samples. Saturated: share of (sample, unit) "
        f"pairs of a sigmoid or tanh layer with σ′(z) &lt; {_e(SATURATION_THRESHOLD)} × max σ′. "
        f"Dead: share of ReLU units with z ≤ 0 on every sample of the check batch.</p>"
    )
    ratios = [
        [
            _num(r.get("epoch")),
            _num(r.get("cost")),
            _num(gradient_ratio([r])),
            _num(gradient_ratio([r], "grad_b_norm")),
        ]
        for r in records
    ]
    parts.append("<h3>First layer against last layer</h3>")
    parts.append(
        _table(["epoch", "check-batch cost", "‖∂C/∂W¹‖ / ‖∂C/∂Wᴸ‖", "‖∂C/∂b¹‖ / ‖∂C/∂bᴸ‖"], ratios)
    )
    shown = records if len(records) <= 3 else [records[0], records[-1]]
    for r in shown:
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
        parts.append(
            _table(
                ["layer", "activation", "units"] + [_HEADERS[m] for m in METRICS], rows, left=(1,)
            )
        )
    return "".join(parts)


# ---------------------------------------------------------------------- entry points
def _resolve(model: Network | str | os.PathLike[str]) -> tuple[Network, str]:
    """(Network, a description of where it came from)."""
    from .network import Network

    if isinstance(model, Network):
        return model, "in-memory network"
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
        name = Path(source).name if source != "in-memory network" else "network"
        title = f"deltaprop report: {name}"
    from ._version import __version__

    sizes = "–".join(str(s) for s in net.sizes)
    acts = sorted({a.name for a in net.layer_activations[:-1]}) or ["–"]
    body = [
        f"<h1>{_e(title)}</h1>",
        f'<p class="sub">{_e(sizes)} network, hidden activation {_e(", ".join(acts))}, output '
        f"{_e(net.layer_activations[-1].name)}, loss {_e(net.loss.name)}</p>",
        _configuration(net, source, dataset),
        _results(net, hist, dataset),
        _plots(net, history, dataset),
        _diagnostics(hist),
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
        Adds validation and test metrics of the final weights, the confusion matrix and the
        misclassified images.
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
    Without matplotlib the report is written without its plots (a note says why).

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
