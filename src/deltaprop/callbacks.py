"""Callbacks: everything that watches or steers a ``fit`` run, outside the loop itself.

``fit`` calls each callback's hooks in order: ``on_train_begin``, then per epoch
``on_epoch_begin``, ``on_batch_end`` after every step, ``on_epoch_end`` with the epoch's
metrics, and ``on_train_end``. Before the first hook it calls ``set_run`` with the running fit,
whose attributes a callback may read (``network``, ``optimizer``, ``history``, ``config``,
``epochs``) and whose ``stop_training`` it may set, as in Keras: ``self.stop_training = True``
ends the run after the current epoch.

The loop's own features are callbacks too, run in this order around the user's:
``Diagnostics``, ``BestWeights`` (the best epoch, and restore-best), the user's callbacks,
``EarlyStopping``, ``Checkpoint`` (last, so that it saves the final decision to stop).
"""

from __future__ import annotations

import os
import warnings
from typing import Any

import numpy as np

from .diagnostics import Recorder
from .io import save

__all__ = ["Callback", "BestWeights", "EarlyStopping", "Checkpoint", "Diagnostics"]


class Callback:
    """Hooks called by ``fit``; override the ones you need.

    Examples
    --------
    A callback that stops training once the training cost is below a target:

    >>> class StopBelow(Callback):
    ...     def __init__(self, target):
    ...         self.target = target
    ...     def on_epoch_end(self, epoch, logs):
    ...         if logs["cost"] < self.target:
    ...             self.stop_training = True
    >>> import deltaprop as dp
    >>> X, y = [[0, 0], [0, 1], [1, 0], [1, 1]], [0, 1, 1, 0]
    >>> net = dp.Network([2, 4, 1], seed=1)
    >>> h = net.fit(X, y, epochs=5000, batch_size=4, lr=3.0, callbacks=[StopBelow(0.01)])
    >>> len(h.epoch) < 5000, h.cost[-1] < 0.01, h.stop_reason
    (True, True, 'stopped by a callback')
    """

    #: The running fit, set by ``set_run`` before ``on_train_begin``.
    run: Any = None

    def set_run(self, run) -> None:
        self.run = run

    @property
    def stop_training(self) -> bool:
        """Set to True to end the run after the current epoch."""
        return bool(self.run is not None and self.run.stop_training)

    @stop_training.setter
    def stop_training(self, value: bool) -> None:
        if value:
            self.run.stop("stopped by a callback")

    def on_train_begin(self, info: dict) -> None:
        """`info`: epochs, n_train, batch_size, start_epoch."""

    def on_epoch_begin(self, epoch: int, n_batches: int) -> None:
        pass

    def on_batch_end(self, batch: int, cost: float | None) -> None:
        """`cost` is the batch's cost every ``cost_every`` batches, None otherwise."""

    def on_epoch_end(self, epoch: int, logs: dict) -> None:
        pass

    def on_train_end(self, history) -> None:
        pass


class BestWeights(Callback):
    """Track the best epoch by `monitor`; with `restore`, keep its weights and put them back.

    Scores are maximised: a cost enters negated. An epoch is better when its score is higher,
    or equal with a lower validation cost (the training cost when the monitor is a training
    metric): with accuracies, ties are common and the lower cost is the better network. Ties
    in both keep the earlier epoch. ``wait`` counts the epochs since the monitored score last
    rose, as early stopping reads it: an epoch that only wins a tie is the new best epoch but
    does not count as an improvement of the monitor.

    Parameters
    ----------
    monitor : {"val_accuracy", "val_cost", "accuracy", "cost"}
    restore : bool
        Restore the best epoch's weights when training ends.
    measure : bool
        Measure a training metric that the epoch's logs lack (``train_metrics=False``).

    Examples
    --------
    Equal validation accuracies: the epoch with the lower validation cost is the best one.

    >>> from types import SimpleNamespace
    >>> from deltaprop.history import History
    >>> best = BestWeights(restore=False)
    >>> best.set_run(SimpleNamespace(history=History()))
    >>> for epoch, acc, cost in [(1, 0.9, 0.30), (2, 0.95, 0.20), (3, 0.95, 0.10), (4, 0.95, 0.15)]:
    ...     logs = {"epoch": epoch, "lr": 1.0, "time": 0.0, "val_accuracy": acc, "val_cost": cost}
    ...     best.run.history.record(logs)
    ...     best.on_epoch_end(epoch, logs)
    >>> best.run.history.best_epoch, best.wait
    (3, 2)
    """

    def __init__(self, monitor: str = "val_accuracy", restore: bool = True, measure: bool = True):
        self.monitor, self.restore, self.measure = monitor, restore, measure
        self.score = -np.inf
        self.wait = 0
        self.weights = None
        tie = "val_cost" if monitor.startswith("val_") else "cost"
        self.tie_key = None if tie == monitor else tie

    def on_epoch_end(self, epoch, logs):
        current = logs.get(self.monitor)
        if current is None and self.measure and self.monitor in ("cost", "accuracy"):
            current = self.run.training_metric(self.monitor)
        if current is None:
            return
        score = -current if self.monitor.endswith("cost") else current
        if score > self.score:
            self.score, self.wait = score, 0
        elif score == self.score and self._wins_tie(logs):
            self.wait += 1
        else:
            self.wait += 1
            return
        self.run.history.best_epoch = epoch
        if self.restore:
            params = self.run.network.parameters
            if self.weights is None:
                self.weights = params.copy()
            else:
                np.copyto(self.weights, params)  # reused: no copy per improvement

    def _wins_tie(self, logs):
        """Whether this epoch's tie-breaking cost is below the best epoch's (in the history)."""
        tie = logs.get(self.tie_key) if self.tie_key else None
        history = self.run.history
        if tie is None or history.best_epoch not in history.epoch:
            return False
        i = history.epoch.index(history.best_epoch)
        values = history[self.tie_key]
        return i < len(values) and values[i] is not None and tie < values[i]

    def on_train_end(self, history):
        if self.restore and self.weights is not None:
            self.run.network.parameters[...] = self.weights


class EarlyStopping(Callback):
    """Stop when the `best` tracker's monitor has not improved for `patience` epochs."""

    def __init__(self, patience: int, best: BestWeights):
        self.patience, self.best = patience, best

    def on_epoch_end(self, epoch, logs):
        if self.best.wait >= self.patience:
            self.run.stop(
                f"early stopping: {self.best.monitor} did not improve for {self.best.wait} epochs"
            )


class Checkpoint(Callback):
    """Save the model and the run's state to `path` every `every` epochs and at the end.

    The file is written atomically (``deltaprop.io.save``); ``deltaprop.training.resume``
    continues from it with exactly the weights an uninterrupted run would have had.

    A write that fails (a full disk, a directory made read-only) does not end the run: it
    warns (``RuntimeWarning``, naming the file and the epoch; once, and once more at the end)
    and training continues; ``failed`` holds the epochs whose checkpoint was not written.
    """

    def __init__(self, path, every: int = 1):
        self.path, self.every = path, every
        self.failed: list[int] = []
        self.written: int | None = None

    def on_epoch_end(self, epoch, logs):
        if epoch % self.every == 0 or self.run.stop_training or epoch == self.run.epochs:
            optimizer_state, extra = self.run.checkpoint_state(epoch)
            try:
                save(self.run.network, self.path, optimizer_state=optimizer_state, extra=extra)
            except OSError as exc:
                if not self.failed:  # the first failure warns; the run's end sums them up
                    reason = exc.strerror or str(exc)
                    warnings.warn(
                        f"checkpoint {os.fspath(self.path)!r} not written after epoch {epoch} "
                        f"({reason}); training continues",
                        RuntimeWarning,
                        stacklevel=2,
                    )
                self.failed.append(epoch)
            else:
                self.written = epoch

    def on_train_end(self, history):
        if self.failed:
            last = f"epoch {self.written}" if self.written else "none"
            warnings.warn(
                f"checkpoint {os.fspath(self.path)!r} not written after {len(self.failed)} "
                f"epoch(s), the last {self.failed[-1]}; the last written: {last}",
                RuntimeWarning,
                stacklevel=2,
            )


class Diagnostics(Callback):
    """Record per-layer statistics (``deltaprop.diagnostics.Recorder``) after every epoch."""

    def __init__(self, X, Y):
        self.X, self.Y = X, Y
        self.recorder = None

    def on_train_begin(self, info):
        self.recorder = Recorder(self.run.network, self.X, self.Y)

    def on_epoch_end(self, epoch, logs):
        self.run.history.diagnostics.append(self.recorder.record(epoch))
