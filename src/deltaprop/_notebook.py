"""How deltaprop's objects show themselves in Jupyter (``_repr_html_``), where learners work.

A Network shows its layer table and, when small, the network drawn (an edge per weight, its
width the weight's size, blue for positive and red for negative); a ``Gradients`` (what
``Network.backprop`` returns) its cost, each layer's gradient norms and, for small layers,
∂C/∂W^l and ∂C/∂b^l themselves; a History its learning curves (``deltaprop.plots``) as inline
SVG, or its table of epochs where matplotlib is not installed. Traces, nudge results and
gradient tables show explain's own HTML (``deltaprop.trace``).

network.py and history.py sit below this module: it hands them these functions with their
``provide``, as ``import deltaprop`` does, so the engine knows nothing of HTML.
"""

from __future__ import annotations

import html
import itertools
import math

import numpy as np

from . import history as _history
from . import network as _network
from . import plots
from ._validation import DeltapropError

__all__ = ["network_html", "gradients_html", "history_html", "network_svg"]

_MAX_DRAWN = 12  # neurons per layer drawn, and the widest matrix written out
_STYLE = (
    "<style>.deltaprop-nb table{border-collapse:collapse;margin:.4em 0}"
    ".deltaprop-nb th,.deltaprop-nb td{padding:.2em .7em;border-bottom:1px solid #ddd;"
    "text-align:right}.deltaprop-nb th{border-bottom:2px solid #888}"
    ".deltaprop-nb td.l,.deltaprop-nb th.l{text-align:left}"
    ".deltaprop-nb td{font-family:ui-monospace,Menlo,Consolas,monospace}</style>"
)
_ids = itertools.count(1)  # a page may show many figures: their SVG ids must not collide


def _num(v) -> str:
    """A number as the displays write it: 6 significant digits."""
    v = float(v)
    return f"{v:.6g}" if math.isfinite(v) else str(v)


def _table(headers, rows, left=1) -> str:
    """An HTML table, the first `left` columns left-aligned, every cell escaped."""

    def cls(i):
        return ' class="l"' if i < left else ""

    head = "".join(f"<th{cls(i)}>{html.escape(str(h))}</th>" for i, h in enumerate(headers))
    body = "".join(
        "<tr>"
        + "".join(f"<td{cls(i)}>{html.escape(str(c))}</td>" for i, c in enumerate(r))
        + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _wrap(*parts) -> str:
    return f'<div class="deltaprop-nb">{_STYLE}{"".join(parts)}</div>'


# ---------------------------------------------------------------------------- Network
def network_html(net) -> str:
    """The layer table (as ``Network.summary``), and the network drawn when it is small."""
    rows = [["input", net.sizes[0], "-", "-", 0]]
    for l, act in enumerate(net.layer_activations, start=1):
        name = "output" if l == net.num_layers else f"hidden {l}"
        n, n_prev = net.sizes[l], net.sizes[l - 1]
        rows.append([name, n, act.name, f"({n}, {n_prev})", f"{n * n_prev + n:,}"])
    table = _table(["layer", "neurons", "activation", "W shape", "parameters"], rows)
    caption = (
        f"<p>Network {html.escape(str(list(net.sizes)))}: {net.num_parameters:,} parameters "
        f"({html.escape(net.dtype.name)}), loss <code>{html.escape(net.loss.name)}</code></p>"
    )
    drawing = network_svg(net) if max(net.sizes) <= _MAX_DRAWN else ""
    return _wrap(caption, table, drawing)


def network_svg(net) -> str:
    """Neurons as circles, a line per weight: width ∝ |w| (3 px at most), blue w > 0, red w < 0."""
    gap_x, gap_y, r = 110, 34, 11
    height = gap_y * max(net.sizes) + 20
    width = gap_x * (len(net.sizes) - 1) + 60

    def pos(l, j):
        n = net.sizes[l]
        return 30 + gap_x * l, height / 2 + (j - (n - 1) / 2) * gap_y

    big = max((float(np.abs(W).max()) for W in net.weights if W.size), default=0.0) or 1.0
    out = [f'<svg class="network" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
           'role="img" aria-label="the network drawn">']  # fmt: skip
    for l, W in enumerate(net.weights, start=1):
        for j, k in np.ndindex(*W.shape):
            (x1, y1), (x2, y2), w = pos(l - 1, k), pos(l, j), float(W[j, k])
            colour = "#2b6cb0" if w >= 0 else "#c53030"
            out.append(f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
                       f'stroke="{colour}" stroke-width="{0.3 + 2.7 * abs(w) / big:.2f}">'
                       f"<title>w{l},{j + 1}{k + 1} = {_num(w)}</title></line>")  # fmt: skip
    for l, n in enumerate(net.sizes):
        for j in range(n):
            x, y = pos(l, j)
            out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r}" fill="#fff" stroke="#333"/>')
    return "".join(out) + "</svg>"


# ---------------------------------------------------------------------------- Gradients
def gradients_html(g) -> str:
    """C, then per layer ‖∂C/∂W^l‖, ‖∂C/∂b^l‖ and mean |δ^l|; small layers written out."""
    rows = []
    for l, (dW, db, d) in enumerate(zip(g.weights, g.biases, g.deltas), start=1):
        rows.append([l, _num(np.linalg.norm(dW)), _num(np.linalg.norm(db)), _num(np.abs(d).mean())])
    m = g.deltas[0].shape[0] if g.deltas else 0
    parts = [
        f"<p>Gradients of C = {_num(g.cost)} (mean over {m} sample{'s' if m != 1 else ''}): "
        "BP1/BP2 give each δ<sup>l</sup>, BP3 ∂C/∂b = δ, BP4 ∂C/∂W = δ a<sup>l−1</sup>ᵀ.</p>",
        _table(["layer", "‖∂C/∂W‖", "‖∂C/∂b‖", "mean |δ|"], rows),
    ]
    for l, (dW, db) in enumerate(zip(g.weights, g.biases), start=1):
        if max(dW.shape) <= _MAX_DRAWN:
            headers = ["j"] + [f"k={k}" for k in range(1, dW.shape[1] + 1)] + ["∂C/∂b"]
            body = [[j + 1, *map(_num, dW[j]), _bias_cell(db, j)] for j in range(dW.shape[0])]
            parts += [f"<p>Layer {l}: ∂C/∂W<sup>{l}</sup> (row j, column k) and ∂C/∂b</p>",
                      _table(headers, body)]  # fmt: skip
    return _wrap(*parts)


def _bias_cell(db, j):
    """∂C/∂b of neuron j: one per neuron, the layer's shared one (shown once), or none."""
    if db.size == 0:
        return "no bias"
    if db.size == 1 and j > 0:
        return "(shared)"
    return _num(db[min(j, db.size - 1)])


# ---------------------------------------------------------------------------- History
def history_html(h) -> str:
    """A line of what the run reached, then the learning curves as SVG (a table without
    matplotlib)."""
    if not h.epoch:
        return _wrap("<p>History: no epochs recorded.</p>")
    last = h.last()
    facts = [f"{len(h.epoch)} epochs"] + [
        f"{key} {_num(last[key])}"
        for key in ("cost", "accuracy", "val_cost", "val_accuracy")
        if key in last
    ]
    if h.best_epoch is not None:
        facts.append(f"best epoch {h.best_epoch}")
    facts.append(f"stopped: {h.stop_reason}")
    head = f"<p>History: {html.escape('; '.join(facts))}</p>"
    try:
        fig = plots.plot_history(h)
    except ImportError:
        return _wrap(head, _epoch_table(h))
    except DeltapropError:
        return _wrap(head)
    return _wrap(head, plots.figure_svg(fig, f"history{next(_ids)}"))


def _epoch_table(h) -> str:
    keys = [k for k in ("cost", "accuracy", "val_cost", "val_accuracy", "lr") if getattr(h, k)]
    rows = [
        [e] + [_num(getattr(h, k)[i]) if i < len(getattr(h, k)) else "" for k in keys]
        for i, e in enumerate(h.epoch)
    ]
    return _table(["epoch", *keys], rows, left=0)


_network.provide("_repr_html_", network_html)
_network.provide("gradients_html", gradients_html)
_history.provide("html", history_html)
