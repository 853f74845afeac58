"""Per-layer statistics of backpropagation, recorded while a network trains.

A :class:`Recorder` fixes a check batch (a seeded random subset of the training data) once, and
after every epoch runs ``Network.backprop`` on it (BP1–BP4) to measure, for each layer
l = 1..L:

``delta_mean_abs``
    mean |δ_j^l(x)| over the samples x of the check batch and the units j of the layer.
``grad_w_norm``, ``grad_b_norm``
    ‖∂C/∂W^l‖ (Frobenius) and ‖∂C/∂b^l‖ (Euclidean), where C is the unregularised cost averaged
    over the check batch (no L1/L2 term, no dropout). ‖∂C/∂b^l‖ = ‖mean_x δ^l(x)‖ is the
    "speed of learning" of layer l in Nielsen's chapter 5.
``weight_norm``
    ‖W^l‖ (Frobenius).
``saturated``
    For layers whose activation saturates (it declares ``max_derivative``: 1/4 for sigmoid, 1
    for tanh): the share of (sample, unit) pairs whose σ'(z_j^l(x)) is below
    ``saturation_threshold`` × max σ', as the activation's ``saturated`` tells. With the
    default 0.01 that is |z| > 5.99 for sigmoid (σ' < 0.0025) and |z| > 2.99 for tanh
    (σ' < 0.01). Counted per unit per sample, so 0.3 means that 30 % of the factors σ'(z)
    entering BP1/BP2 for this layer are nearly zero. None for other activations.
``dead``
    For layers whose units can die (the activation's ``can_die``: relu, leaky_relu): the share
    of units j with z_j^l(x) ≤ 0 for every sample x of the check batch, as the activation's
    ``dead_units`` tells (a ReLU unit that outputs 0, and passes no gradient, on all of them;
    a leaky ReLU unit that passes only the slope α). None for other activations.

The vanishing-gradient effect shows as ``grad_w_norm[0]`` ≪ ``grad_w_norm[-1]``: BP2 multiplies
δ by (W^{l+1})ᵀ and by σ'(z^l) ≤ 1/4 once per sigmoid layer on the way back, while a ReLU's
σ' is 0 or 1.

Every record is plain JSON data (numbers, strings, lists, None), so it is saved with the
training history in a model file.
"""

from __future__ import annotations

import math

import numpy as np

from ._validation import DeltapropError, DeltapropTypeError, check_int

__all__ = [
    "Recorder",
    "record",
    "summarize",
    "gradient_ratio",
    "format_table",
    "METRICS",
    "HEADERS",
    "SATURATION_THRESHOLD",
]

#: Default relative threshold: a unit is saturated on a sample when σ'(z) < 0.01 · max σ'.
SATURATION_THRESHOLD = 0.01

#: The per-layer quantities of a record, in the order the text table shows them.
METRICS = ("delta_mean_abs", "grad_w_norm", "grad_b_norm", "weight_norm", "saturated", "dead")

#: Column headings of the metrics in tables (text and the HTML report).
HEADERS = {
    "delta_mean_abs": "mean|δ|",
    "grad_w_norm": "‖∂C/∂W‖",
    "grad_b_norm": "‖∂C/∂b‖",
    "weight_norm": "‖W‖",
    "saturated": "saturated",
    "dead": "dead",
}


class Recorder:
    """Measures per-layer backpropagation statistics of `net` on a fixed check batch.

    Parameters
    ----------
    net : Network
    X : array, shape (n, n_0)
        Training inputs.
    Y : array, shape (n, n_L), or n integer class labels
        Training targets.
    check_size : int, default 1000
        At most this many rows form the check batch (all rows when n is smaller).
    seed : int, default 0
        Seeds the choice of the check batch; the same data and seed give the same batch.
    saturation_threshold : float, default 0.01
        A unit of a saturating activation (sigmoid, tanh) counts as saturated on a sample when
        σ'(z) is below this fraction of the activation's largest derivative.

    Attributes
    ----------
    X, Y : ndarray
        The check batch, shapes (m, n_0) and (m, n_L), m = min(n, check_size).
    indices : ndarray of int, shape (m,)
        The rows of the training data it holds, in increasing order.

    Notes
    -----
    ``record`` calls ``net.backprop(self.X, self.Y)`` once: δ^L by BP1, δ^l by BP2, ∂C/∂b^l by
    BP3 and ∂C/∂W^l by BP4, all on the current parameters. It does not change the network.

    Example
    -------
    >>> from deltaprop import Network
    >>> import numpy as np
    >>> net = Network([4, 3, 2], seed=0)
    >>> rec = Recorder(net, np.ones((5, 4)), [0, 1, 0, 1, 1])
    >>> len(rec.record(epoch=0)["grad_w_norm"])
    2
    """

    def __init__(
        self, net, X, Y, check_size=1000, seed=0, saturation_threshold=SATURATION_THRESHOLD
    ):
        check_size = check_int(check_size, "check_size")
        if not (
            isinstance(saturation_threshold, (int, float)) and 0.0 < saturation_threshold < 1.0
        ):
            raise DeltapropError(
                f"saturation_threshold={saturation_threshold!r} is invalid; "
                f"expected a number in (0, 1), e.g. 0.01"
            )
        X, single = net.check_inputs(X)
        Y = net.check_targets(Y, X.shape[0], single)
        n = X.shape[0]
        if n > check_size:
            rng = np.random.default_rng(seed)
            idx = np.sort(rng.choice(n, size=check_size, replace=False))
        else:
            idx = np.arange(n)
        self.net = net
        self.indices = idx
        self.X = np.ascontiguousarray(X[idx])
        self.Y = np.ascontiguousarray(Y[idx])
        self.saturation_threshold = float(saturation_threshold)

    def record(self, epoch=None) -> dict:
        """The statistics of every layer for the network's current parameters.

        Parameters
        ----------
        epoch : int, optional
            Stored as ``record["epoch"]`` (``fit`` passes 1 after the first epoch; 0 is the
            natural label for the initial parameters).

        Returns
        -------
        dict
            ``epoch``, ``cost`` (C on the check batch), ``check_size`` (m), ``sizes``,
            ``activations`` (names, one per layer) and, for each name in :data:`METRICS`, a
            list of L values, entry l − 1 for layer l (floats, or None where the quantity
            does not apply to the layer's activation).
        """
        net = self.net
        with np.errstate(over="ignore", under="ignore"):
            g = net.backprop(self.X, self.Y)
        out: dict = {
            "epoch": None if epoch is None else int(epoch),
            "cost": float(g.cost),
            "check_size": int(self.X.shape[0]),
            "sizes": [int(s) for s in net.sizes],
            "activations": [act.name for act in net.layer_activations],
        }
        for key in METRICS:
            out[key] = []
        for l, act in enumerate(net.layer_activations):
            z, a, delta = g.zs[l], g.activations[l + 1], g.deltas[l]
            out["delta_mean_abs"].append(float(np.mean(np.abs(delta))))
            out["grad_w_norm"].append(float(np.linalg.norm(g.weights[l])))
            out["grad_b_norm"].append(float(np.linalg.norm(g.biases[l])))
            out["weight_norm"].append(float(np.linalg.norm(net.weights[l])))
            # Each activation knows whether, and how, its units saturate or die.
            out["saturated"].append(_share(act.saturated(z, a, self.saturation_threshold)))
            out["dead"].append(_share(act.dead_units(z)))
        return out


def _share(mask):
    """The share of True entries of a boolean mask; None for no mask (does not apply)."""
    return None if mask is None else float(np.mean(mask))


def record(net, X, Y, epoch=0, **kwargs) -> dict:
    """One record of `net` on (X, Y) without training: ``Recorder(...).record(epoch)``."""
    return Recorder(net, X, Y, **kwargs).record(epoch)


# ---------------------------------------------------------------------- tables across epochs
def _records(source):
    """The list of records held by a History, a history dict, a list, or one record."""
    if source is None:
        return []
    if isinstance(source, dict):
        if "grad_w_norm" in source:
            return [source]
        source = source.get("diagnostics") or []
    elif hasattr(source, "diagnostics"):
        source = source.diagnostics or []
    records = list(source)
    for i, rec in enumerate(records):
        if not isinstance(rec, dict) or "grad_w_norm" not in rec:
            raise DeltapropTypeError(
                f"diagnostics record {i} is {type(rec).__name__}; expected a dict "
                f"made by Recorder.record"
            )
    return records


def summarize(source) -> dict:
    """The diagnostics of a run as arrays, one row per epoch and one column per layer.

    Parameters
    ----------
    source : History, dict, or list of records
        ``history`` from ``fit(..., diagnostics=True)``, its ``to_dict()``, the list
        ``history.diagnostics``, or a single record.

    Returns
    -------
    dict
        ``epoch`` (array of shape (E,)), ``cost`` (E,), ``activations`` (list of L names),
        ``layers`` (L) and, for each name in :data:`METRICS`, a float array of shape (E, L)
        with NaN where the quantity does not apply. Empty arrays when nothing was recorded.

    Example
    -------
    >>> s = summarize(history)                                   # doctest: +SKIP
    >>> s["grad_w_norm"][:, 0] / s["grad_w_norm"][:, -1]         # doctest: +SKIP
    """
    records = _records(source)
    L = len(records[0]["grad_w_norm"]) if records else 0
    out = {
        "epoch": np.array(
            [np.nan if r.get("epoch") is None else r["epoch"] for r in records], dtype=float
        ),
        "cost": np.array([r.get("cost", np.nan) for r in records], dtype=float),
        "activations": list(records[0].get("activations", [])) if records else [],
        "layers": L,
    }
    for key in METRICS:
        rows = []
        for i, r in enumerate(records):
            vals = r.get(key, [None] * L)
            if len(vals) != L:
                raise DeltapropError(
                    f"diagnostics record {i} has {len(vals)} values of {key!r}; "
                    f"expected {L} (one per layer) like the first record"
                )
            rows.append([np.nan if v is None else float(v) for v in vals])
        out[key] = np.array(rows, dtype=float).reshape(len(records), L)
    return out


def gradient_ratio(source, metric="grad_w_norm", epoch=-1) -> float:
    """‖∂C/∂W^1‖ / ‖∂C/∂W^L‖ (or the first/last ratio of another metric) of one record.

    `epoch` indexes the records (−1: the last one). A value far below 1 is the
    vanishing-gradient effect: the first layer learns much more slowly than the last.
    """
    records = _records(source)
    if not records:
        raise DeltapropError("no diagnostics were recorded; expected fit(..., diagnostics=True)")
    values = records[epoch][metric]
    if values[-1] is None or values[0] is None or values[-1] == 0:
        return math.nan
    return float(values[0]) / float(values[-1])


def _fmt(value, key):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if key in ("saturated", "dead"):
        return f"{value:.1%}"
    return f"{value:.3e}"


def format_table(source, epochs=None, metrics=METRICS) -> str:
    """A plain-text table of the diagnostics: one row per (epoch, layer).

    Parameters
    ----------
    source : History, dict, or list of records
    epochs : None, "last", int, or sequence of int
        Which epochs (by their ``epoch`` label) to show; None shows every record.
    metrics : sequence of str
        Columns, from :data:`METRICS`.

    Returns
    -------
    str
        Columns epoch, layer, activation, units, then the metrics; after each epoch a line
        with the ratio ‖∂C/∂W^1‖ / ‖∂C/∂W^L‖.
    """
    records = _records(source)
    for m in metrics:
        if m not in METRICS:
            raise DeltapropError(f"metric {m!r} is unknown; expected one of {METRICS}")
    if epochs == "last":
        records = records[-1:]
    elif epochs is not None:
        wanted = (
            {int(epochs)} if isinstance(epochs, (int, np.integer)) else {int(e) for e in epochs}
        )
        records = [r for r in records if r.get("epoch") in wanted]
    if not records:
        return "no diagnostics recorded\n"
    header = ["epoch", "layer", "activation", "units"] + [HEADERS[m] for m in metrics]
    rows: list = []
    for r in records:
        sizes = r.get("sizes") or [None] * (len(r["grad_w_norm"]) + 1)
        acts = r.get("activations") or ["?"] * len(r["grad_w_norm"])
        for l in range(len(r["grad_w_norm"])):
            rows.append(
                [str(r.get("epoch", "")), str(l + 1), acts[l], str(sizes[l + 1])]
                + [_fmt(r[m][l], m) for m in metrics]
            )
        rows.append(None)
    widths = [
        max(len(header[i]), *(len(row[i]) for row in rows if row)) for i in range(len(header))
    ]
    lines = ["  ".join(h.rjust(w) for h, w in zip(header, widths))]
    lines.append("  ".join("-" * w for w in widths))
    k = 0
    for row in rows:
        if row is None:
            ratio = gradient_ratio([records[k]])
            lines.append(f"  ‖∂C/∂W^1‖ / ‖∂C/∂W^L‖ = {ratio:.3g}")
            k += 1
            continue
        lines.append("  ".join(c.rjust(w) for c, w in zip(row, widths)))
    return "\n".join(lines) + "\n"
