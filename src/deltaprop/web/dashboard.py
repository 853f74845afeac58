"""The live training dashboard's data: a run's epochs kept in a thread-safe store.

``DashboardCallback`` is a fit callback: in the training thread, after every epoch, it appends
the epoch's record (the ``History`` values of that epoch and the ``Diagnostics`` record: the
per-layer ‖∂C/∂W^l‖, ‖∂C/∂b^l‖, mean |δ^l|, ‖W^l‖, saturated and dead shares) and a copy of the
weights to a ``RunStore``. The dashboard's server thread reads the store with ``update``,
which hands each page only what it has not seen yet. Nothing here changes the run: the
callback never stops it and reads the network without writing it.

Weights are kept only for a network small enough to draw (``MAX_DRAWN_WEIGHTS``): as edges
(exact values) when every layer has at most ``MAX_EDGE_WIDTH`` neurons and there are at most
``MAX_EDGES`` weights, otherwise as one heatmap per W^l, quantised to bytes.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..callbacks import Callback
from ..diagnostics import METRICS
from .views import encode_bytes

__all__ = ["RunStore", "DashboardCallback", "Cursor", "epoch_record", "records_from_history"]

MAX_EDGE_WIDTH = 32
MAX_EDGES = 2000
MAX_DRAWN_WEIGHTS = 250_000
_LOGGED = ("epoch", "cost", "accuracy", "val_cost", "val_accuracy", "lr", "time")


def _number(value: Any) -> float | int | None:
    if value is None:
        return None
    return int(value) if isinstance(value, (int, np.integer)) else float(value)


def epoch_record(logs: dict, diagnostics: dict | None = None) -> dict:
    """One epoch as the page draws it: the fit's logs and that epoch's diagnostics record.

    Returns
    -------
    dict
        ``epoch``, ``cost``, ``accuracy``, ``val_cost``, ``val_accuracy``, ``lr``, ``time``
        (None where the run does not measure it) and, with `diagnostics`, its per-layer lists
        ``delta_mean_abs``, ``grad_w_norm``, ``grad_b_norm``, ``weight_norm``, ``saturated``,
        ``dead`` (entry l − 1 for layer l).
    """
    record: dict = {key: _number(logs.get(key)) for key in _LOGGED}
    if diagnostics is not None:
        for key in METRICS:
            record[key] = list(diagnostics[key])
    return record


def records_from_history(history) -> list[dict]:
    """The records of the epochs a ``History`` already holds (a resumed run's earlier ones)."""
    n = len(history.epoch)
    diagnostics = {d.get("epoch"): d for d in history.diagnostics or []}
    records = []
    for i, epoch in enumerate(history.epoch):
        logs = {}
        for key in _LOGGED:
            values = history[key]
            logs[key] = values[i] if len(values) == n else None
        records.append(epoch_record(logs, diagnostics.get(epoch)))
    return records


@dataclass
class Cursor:
    """What one page has been sent: records, run-state version and weights version."""

    records: int = 0
    run: int = -1
    weights: int = 0


@dataclass
class _Weights:
    epoch: int | None = None
    version: int = 0
    matrices: list = field(default_factory=list)


class RunStore:
    """A run's state shared by the training thread (writer) and the server thread (reader).

    Parameters
    ----------
    title : str
        What is trained, on what, how (shown above the curves).
    """

    def __init__(self, title: str = ""):
        self._lock = threading.Lock()
        self._records: list[dict] = []
        self._run: dict = {"title": title, "status": "waiting", "stop_reason": None}
        self._run_version = 0
        self._weights = _Weights()

    # ---- the training thread
    def begin(self, run: dict, past: list[dict]) -> None:
        """The run starts: what it is (sizes, activations, epochs, …) and the epochs it has."""
        with self._lock:
            self._run.update(run, status="training")
            self._records = list(past)
            self._run_version += 1

    def add(self, record: dict, weights: list | None) -> None:
        """One epoch ended: its record and (if drawn) a copy of the weights after it."""
        with self._lock:
            self._records.append(record)
            if weights is not None:
                self._set_weights(record["epoch"], weights)

    def catch_up(self, records: list[dict]) -> None:
        """Append the epochs of `records` (a whole run's, in order) that the store lacks: a
        Ctrl-C between the history's record of an epoch and this store's keeps them equal."""
        with self._lock:
            if len(records) > len(self._records):
                self._records.extend(records[len(self._records) :])

    def weights(self, epoch: int | None, weights: list) -> None:
        """The weights after `epoch` (0: the initial ones), without a record."""
        with self._lock:
            self._set_weights(epoch, weights)

    def end(self, status: str, stop_reason: str | None, weights: list | None = None, **more):
        """The run ended (``status`` "finished", "interrupted" or "stopped"); `weights` kept."""
        with self._lock:
            if self._run["status"] in ("finished", "interrupted", "stopped"):
                return
            self._run.update(more, status=status, stop_reason=stop_reason)
            self._run_version += 1
            if weights is not None:
                self._set_weights(more.get("kept_epoch"), weights)

    def _set_weights(self, epoch, weights) -> None:
        w = self._weights
        w.epoch, w.version = epoch, w.version + 1
        if len(w.matrices) == len(weights) and all(
            a.shape == b.shape for a, b in zip(w.matrices, weights)
        ):
            for a, b in zip(w.matrices, weights):
                np.copyto(a, b)  # buffers reused: no allocation per epoch
        else:
            w.matrices = [np.array(W, dtype=np.float64) for W in weights]

    # ---- the server thread
    @property
    def ended(self) -> bool:
        with self._lock:
            return self._run["status"] in ("finished", "interrupted", "stopped")

    @property
    def version(self) -> tuple[int, int, int]:
        """(records, run state, weights): a page that has these has everything."""
        with self._lock:
            return len(self._records), self._run_version, self._weights.version

    def records(self) -> list[dict]:
        with self._lock:
            return list(self._records)

    def update(self, cursor: Cursor) -> dict | None:
        """What a page at `cursor` has not seen (None if nothing); advances `cursor`."""
        with self._lock:
            new = self._records[cursor.records :]
            run = dict(self._run) if cursor.run != self._run_version else None
            w = self._weights
            matrices = None
            if cursor.weights != w.version and w.matrices:
                matrices = [W.copy() for W in w.matrices]
            epoch = w.epoch
            cursor.records, cursor.run, cursor.weights = (
                len(self._records), self._run_version, w.version,
            )  # fmt: skip
        if not new and run is None and matrices is None:
            return None
        message: dict = {"type": "update", "records": new}
        if run is not None:
            message["run"] = run
        if matrices is not None:
            message["weights"] = weights_view(matrices, epoch)
        return message


def drawable(sizes: list[int]) -> bool:
    """Whether a network of these layer sizes is small enough to draw its weights."""
    count = sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
    return count <= MAX_DRAWN_WEIGHTS


def weights_view(matrices: list, epoch: int | None) -> dict:
    """The weights as the page draws them: exact edges for a small network, else heatmaps.

    Returns
    -------
    dict
        ``epoch``; ``mode`` "edges" with ``values`` (W^l as nested lists, as
        ``Network.weights``), or "matrices" with ``layers``: ``rows`` (n_l), ``cols``
        (n_{l−1}), ``scale`` (max |w|) and ``data`` (row-major bytes q = 127.5 (1 + w/scale),
        base64).
    """
    count = sum(W.size for W in matrices)
    widest = max(max(W.shape) for W in matrices)
    if count <= MAX_EDGES and widest <= MAX_EDGE_WIDTH:
        return {"epoch": epoch, "mode": "edges", "values": [W.tolist() for W in matrices]}
    layers = []
    for W in matrices:
        scale = max(float(np.abs(W).max()), 1e-12) if W.size else 1.0
        q = np.clip(np.rint(W / scale * 127.5 + 127.5), 0, 255)
        layers.append(
            {"rows": W.shape[0], "cols": W.shape[1], "scale": scale, "data": encode_bytes(q)}
        )
    return {"epoch": epoch, "mode": "matrices", "layers": layers}


class DashboardCallback(Callback):
    """Feeds a ``RunStore`` from a fit: the run at its start, each epoch, the kept weights.

    Put it after ``Diagnostics`` (``fit`` runs the user's callbacks after it) so that each
    epoch's record carries that epoch's gradient norms and saturation; ``fit_config`` with
    ``diagnostics=True`` does this.

    Examples
    --------
    >>> import deltaprop as dp
    >>> store = RunStore()
    >>> net = dp.Network([2, 3, 2], seed=0)
    >>> h = net.fit([[0, 0], [1, 1]], [0, 1], epochs=3, callbacks=[DashboardCallback(store)])
    >>> [r["epoch"] for r in store.records()], store.ended
    ([1, 2, 3], True)
    """

    def __init__(self, store: RunStore):
        self.store = store
        self.draw = False

    def on_train_begin(self, info):
        net, run = self.run.network, self.run
        self.draw = drawable(list(net.sizes))
        xv = getattr(run.data, "Xv", None)
        self.store.begin(
            {
                "sizes": [int(s) for s in net.sizes],
                "layer_activations": [a.name for a in net.layer_activations],
                "loss": net.loss.name,
                "epochs": int(info["epochs"]),
                "start_epoch": int(info["start_epoch"]),
                "n_train": int(info["n_train"]),
                "n_val": 0 if xv is None else int(xv.shape[0]),
                "batch_size": int(info["batch_size"]),
                "classifier": bool(net.is_classifier),
            },
            records_from_history(run.history),
        )
        if self.draw:  # the starting weights, drawn until the first epoch ends
            self.store.weights(int(info["start_epoch"]), net.weights)

    def on_epoch_end(self, epoch, logs):
        diagnostics = self.run.history.diagnostics
        last = diagnostics[-1] if diagnostics and diagnostics[-1].get("epoch") == epoch else None
        weights = self.run.network.weights if self.draw else None
        self.store.add(epoch_record(logs, last), weights)

    def on_train_end(self, history):
        kept = history.epoch[-1] if history.epoch else None
        best = getattr(self.run, "best", None)
        if best is not None and best.restore and best.weights is not None:
            kept = history.best_epoch  # BestWeights (called before this) put them back
        self.store.end(
            "finished",
            history.stop_reason,
            self.run.network.weights if self.draw else None,
            best_epoch=history.best_epoch,
            kept_epoch=kept,
        )
