"""The fit loop: shuffled mini-batches, one optimizer step each, callbacks around the epochs.

One epoch visits every training sample once, in mini-batches of m rows drawn from a fresh
permutation. Each batch is one call of BP1–BP4 on the whole matrix (``_kernel.Workspace``),
then one optimizer step on the flat parameter vector:

    W ← W − η ∂C/∂W,   ∂C/∂W = (1/m) Σ_x ∂C_x/∂W   (+ (λ/n) W with L2, + (λ/n) sgn W with L1)

where n is the number of training samples (the book's convention: the L2 term of the cost is
(λ/2n) Σ w², so each SGD step multiplies W by 1 − ηλ/n; biases are not decayed).

Everything else a run does (best epoch and restore-best, early stopping, checkpoints,
diagnostics, progress) is a callback (``deltaprop.callbacks``); the options are one validated
``TrainingConfig`` (``deltaprop.history``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from . import callbacks as _callbacks
from . import progress as _progress
from ._kernel import Workspace
from ._tables import table_arrays, training_arrays
from ._validation import DeltapropError, DeltapropTypeError
from .callbacks import Callback
from .history import History, TrainingConfig
from .io import load
from .network import Network, provide

__all__ = [
    "fit",
    "evaluate",
    "resume",
    "History",
    "TrainingConfig",
    "TrainingDiverged",
    "TrainingInterrupted",
    "Callback",
    "check_resume",
]


class TrainingDiverged(DeltapropError):
    """The cost or the gradient became NaN or infinite; the network keeps finite weights."""

    def __init__(self, message, history=None):
        super().__init__(message)
        self.history = history


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C during ``fit``: the network holds the weights of the last completed epoch."""

    def __init__(self, history=None):
        super().__init__("training interrupted")
        self.history = history


# ---------------------------------------------------------------------- targets and metrics
def _labels(Y):
    """Integer class labels of one-hot (or 0/1 single-column) targets, else None."""
    if Y.shape[1] == 1:
        col = Y[:, 0]
        return col.astype(np.int64) if np.all((col == 0) | (col == 1)) else None
    if np.all((Y == 0) | (Y == 1)) and np.all(Y.sum(axis=1) == 1):
        return np.argmax(Y, axis=1)
    return None


def _evaluate_checked(net, X, Y, labels, chunk=4096):
    """(mean cost, accuracy or None) for checked arrays, in chunks to bound memory."""
    total, correct = 0.0, 0
    out = net.output_activation
    for start in range(0, X.shape[0], chunk):
        zs, acts = net.forward_trace(X[start : start + chunk])
        Yc = Y[start : start + chunk]
        total += float(net.loss.sample_costs(zs[-1], acts[-1], Yc, out).sum())
        if labels is not None:
            pred = net.predicted_labels(acts[-1])
            correct += int((pred == labels[start : start + chunk]).sum())
        del zs, acts  # else a chunk's arrays stay alive while the next one is computed
    m = X.shape[0]
    return total / m, (correct / m if labels is not None else None)


def evaluate(net: Network, X: ArrayLike, Y: ArrayLike) -> tuple[float, float | None]:
    """Cost and accuracy of `net` on (X, Y).

    Parameters
    ----------
    X : array, shape (m, n_0)
    Y : array, shape (m, n_L), or m integer class labels

    Returns
    -------
    (cost, accuracy) : (float, float or None)
        The mean per-sample cost (without regularisation terms) and the fraction classified
        correctly by ``Network.predicted_labels`` (None when the targets are not class labels).

    Examples
    --------
    >>> net = Network([2, 1], activation="sigmoid", seed=0)
    >>> cost, acc = evaluate(net, [[0.0, 0.0]], [1])
    >>> round(cost, 6), acc          # a = σ(0) = 0.5: C = ½(1 − 0.5)², class 1 (a ≥ 0.5)
    (0.125, 1.0)
    """
    X, Y = table_arrays(net, X, Y)
    X, single = net.check_inputs(X)
    Y = net.check_targets(Y, X.shape[0], single)
    return _evaluate_checked(net, X, Y, _labels(Y))


# ---------------------------------------------------------------------- the run
class _Data:
    """Checked training and validation arrays with their class labels (or None)."""

    def __init__(self, net, X, Y, validation_data, validation_split):
        X, Y = training_arrays(net, X, Y)  # a table: through the model's preprocessor
        if validation_data is not None and len(validation_data) == 2:
            validation_data = table_arrays(net, *validation_data)
        X, single = net.check_inputs(X)  # a single sample comes back as one row already
        Y = net.check_targets(Y, X.shape[0], single)
        Xv = Yv = None
        if validation_split is not None:
            if validation_data is not None:
                raise DeltapropError(
                    "validation_split and validation_data were both given; expected one"
                )
            n_val = int(round(validation_split * X.shape[0]))
            if n_val < 1 or n_val >= X.shape[0]:
                raise DeltapropError(
                    f"validation_split={validation_split} leaves {X.shape[0] - n_val} training "
                    f"and {n_val} validation samples; expected at least one each"
                )
            X, Xv, Y, Yv = X[:-n_val], X[-n_val:], Y[:-n_val], Y[-n_val:]
        elif validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
                raise DeltapropTypeError("validation_data must be a pair (X_val, Y_val)")
            Xv, _ = net.check_inputs(validation_data[0], "validation_data[0]")
            Yv = net.check_targets(validation_data[1], Xv.shape[0], False, "validation_data[1]")
        self.X, self.Y, self.Xv, self.Yv = X, Y, Xv, Yv
        self.labels = _labels(Y)
        self.val_labels = _labels(Yv) if Yv is not None else None
        self.n = X.shape[0]


class _Run:
    """One ``fit`` run: its data, optimizer, schedule, generator, history and callbacks.

    Callbacks see it as ``self.run``: ``network``, ``optimizer``, ``history``, ``config``,
    ``epochs`` and ``stop_training`` (``stop(reason)`` sets it with the reason recorded).
    """

    def __init__(self, net, data, config, callbacks, state=None):
        self.network, self.data, self.config = net, data, config
        self.epochs = config.epochs
        self.rates = config.dropout_rates(net.num_layers - 1)
        self.monitor = self._effective_monitor(config.monitor)
        self.batch_size = min(config.batch_size, data.n)
        self.optimizer = config.make_optimizer()
        self.schedule = config.make_schedule()
        self.schedule.start(self.optimizer.lr, config.epochs)
        if getattr(self.optimizer, "params", None) is not net.parameters:
            # A fresh optimizer (or one used on other parameters) gets new state; the same
            # object passed to successive fit calls continues its momentum or moments.
            self.optimizer.init(net.parameters)
            self.optimizer.params = net.parameters
        seed = config.seed
        self.rng = np.random.default_rng(seed) if seed is not None else net.rng
        self.history = History(train_metrics=config.train_metrics or None)
        self.stop_training, self.start_epoch = False, 0
        # Running training metrics: each batch's z^L and a^L, kept in the epoch's order
        self.outputs = None
        if config.train_metrics == "running":
            shape = (data.n, net.sizes[-1])
            self.outputs = (np.empty(shape, net.dtype), np.empty(shape, net.dtype))
        self.best = _callbacks.BestWeights(
            self.monitor,
            config.restore_best,
            config.early_stopping is not None or config.restore_best,
        )
        self.callbacks = self._callbacks(callbacks)
        if state is not None:
            self._restore(state)
        self._workspaces = {}
        net.training_config = self._stored_config()

    def _effective_monitor(self, monitor):
        if self.data.Xv is None and monitor.startswith("val_"):
            monitor = monitor[4:]
        if monitor.endswith("accuracy") and self.data.labels is None:
            monitor = monitor.replace("accuracy", "cost")
        return monitor

    def _callbacks(self, user):
        cfg = self.config
        cbs = [_callbacks.Diagnostics(self.data.X, self.data.Y)] if cfg.diagnostics else []
        cbs += [self.best, *user]
        if cfg.verbose:
            cbs.append(_progress.progress(cfg.verbose))
        if cfg.early_stopping is not None:
            cbs.append(_callbacks.EarlyStopping(cfg.early_stopping, self.best))
        if cfg.checkpoint is not None:
            cbs.append(_callbacks.Checkpoint(cfg.checkpoint, cfg.checkpoint_every))
        for cb in cbs:
            if hasattr(cb, "set_run"):
                cb.set_run(self)
        return cbs

    def _hooks(self, name):
        """The callbacks' `name` methods that do something.

        A Callback's inherited no-op is skipped (so a batch hook costs nothing unless some
        callback watches batches); an object that is not a Callback may lack some hooks.
        """
        hooks = []
        for cb in self.callbacks:
            method = getattr(cb, name, None)
            inherited = isinstance(cb, Callback) and getattr(type(cb), name) is getattr(
                Callback, name
            )
            if method is not None and not inherited:
                hooks.append(method)
        return hooks

    def _stored_config(self):
        d = self.config.to_dict()
        d.update(
            batch_size=self.batch_size, dropout=self.rates, monitor=self.monitor,
            optimizer=self.optimizer.config(), schedule=self.schedule.config(),
            n_train=self.data.n, n_val=0 if self.data.Xv is None else int(self.data.Xv.shape[0]),
        )  # fmt: skip
        return d

    # ---- what callbacks may ask
    def stop(self, reason: str) -> None:
        """End the run after the current epoch, recording why."""
        self.stop_training = True
        self.history.stop_reason = reason

    def training_metric(self, name):
        """Training cost or accuracy now (for a monitor when ``train_metrics=False``)."""
        d = self.data
        return _evaluate_checked(self.network, d.X, d.Y, d.labels)[0 if name == "cost" else 1]

    def checkpoint_state(self, epoch):
        """(optimizer state, extra metadata) for a checkpoint after `epoch`."""
        state = {f"optimizer.{k}": v for k, v in self.optimizer.state_dict().items()}
        if self.best.weights is not None:
            state["best_theta"] = self.best.weights
        self.network.history = self.history
        extra = {
            "checkpoint": True, "epoch": epoch, "best_score": self.best.score,
            "wait": self.best.wait, "rng": self.rng.bit_generator.state,
            "schedule": self.schedule.state_dict(), "fit": self.network.training_config,
        }  # fmt: skip
        return state, extra

    def _restore(self, state):
        self.history = state["history"]
        self.optimizer.load_state_dict(state["optimizer"])
        self.schedule.load_state_dict(state["schedule"])
        self.rng.bit_generator.state = state["rng"]
        self.start_epoch = state["epoch"]
        self.best.score, self.best.wait = state["best_score"], state["wait"]
        self.best.weights = state.get("best_theta")

    # ---- the loop
    def train(self) -> History:
        net, n_batches = self.network, -(-self.data.n // self.batch_size)
        info = {"epochs": self.epochs, "n_train": self.data.n, "batch_size": self.batch_size,
                "start_epoch": self.start_epoch}  # fmt: skip
        for hook in self._hooks("on_train_begin"):
            hook(info)
        epoch_begin, epoch_end = self._hooks("on_epoch_begin"), self._hooks("on_epoch_end")
        self.epoch_start = net.parameters.copy()
        try:
            for epoch in range(self.start_epoch, self.epochs):
                self.optimizer.lr = self.schedule.lr(epoch)
                for hook in epoch_begin:
                    hook(epoch + 1, n_batches)
                logs = self._epoch(epoch, n_batches)
                self.history.record(logs)
                # The epoch is complete and in the history: from here on an interrupt keeps
                # its weights (and a divergence in the next epoch falls back to them).
                np.copyto(self.epoch_start, net.parameters)
                if self.schedule.end_epoch(epoch, logs):
                    self.stop("learning rate halved the maximum number of times")
                for hook in epoch_end:
                    hook(epoch + 1, logs)
                if self.stop_training:
                    break
        except KeyboardInterrupt:
            net.parameters[...] = self.epoch_start
            self.history.stop_reason = "interrupted"
            net.history = self.history
            raise TrainingInterrupted(self.history) from None
        for hook in self._hooks("on_train_end"):
            hook(self.history)
        net.history = self.history
        return self.history

    def _epoch(self, epoch, n_batches):
        """Train one epoch; returns its logs (lr, time, cost and accuracy measured after it)."""
        t0 = time.perf_counter()
        order = self.rng.permutation(self.data.n) if self.config.shuffle else np.arange(self.data.n)
        # Overflow and NaN are caught by the explicit finiteness checks, which stop the run
        # with a clear error instead of a warning per batch.
        with np.errstate(over="ignore", invalid="ignore"):
            self._batches(epoch, order, n_batches)
        elapsed = time.perf_counter() - t0
        net, d = self.network, self.data
        if not np.isfinite(net.parameters).all():
            self._diverged(epoch, n_batches - 1, "the weights")
        logs = {"epoch": epoch + 1, "lr": self.optimizer.lr, "time": elapsed}
        if self.outputs is not None:
            logs["cost"], logs["accuracy"] = self._running_metrics(order)
        elif self.config.train_metrics == "exact":
            logs["cost"], logs["accuracy"] = _evaluate_checked(net, d.X, d.Y, d.labels)
        if d.Xv is not None:
            logs["val_cost"], logs["val_accuracy"] = _evaluate_checked(
                net, d.Xv, d.Yv, d.val_labels
            )
        for key in ("cost", "val_cost"):
            if key in logs and not math.isfinite(logs[key]):
                self._diverged(epoch, n_batches - 1, f"the {key}")
        return logs

    def _running_metrics(self, order):
        """Mean cost and accuracy of the epoch's batches, from the outputs they recorded."""
        net, d = self.network, self.data
        Z, A = self.outputs
        costs = net.loss.sample_costs(Z, A, d.Y.take(order, axis=0), net.output_activation)
        accuracy = None
        if d.labels is not None:
            accuracy = float(np.mean(net.predicted_labels(A) == d.labels.take(order)))
        return float(costs.mean()), accuracy

    def _workspace(self, m):
        ws = self._workspaces.get(m)
        if ws is None:
            # One-hot rows (checked once) let softmax + cross-entropy use Δ^L = A − Y directly.
            one_hot = self.data.labels is not None and self.data.Y.shape[1] > 1
            ws = Workspace(self.network, m, self.rates, self.rng, one_hot=one_hot)
            self._workspaces[m] = ws
        return ws

    def _batches(self, epoch, order, n_batches):
        """One optimizer step per mini-batch of `order` (the hot loop: locals, no allocation)."""
        X, Y, n, bs = self.data.X, self.data.Y, self.data.n, self.batch_size
        opt, theta = self.optimizer, self.network.parameters
        l2, l1, n_w = self.config.l2, self.config.l1, self.network.num_weights
        theta_w = theta[:n_w]
        decay = np.empty_like(theta_w) if (l2 or l1) else None
        fold = opt.folds_lr  # SGD and momentum: the kernel folds η into Δ^L with 1/m
        # Only callbacks that watch batches are called per batch (and get the batch cost).
        batch_end = self._hooks("on_batch_end")
        cost_every = self.config.cost_every
        Z_rec, A_rec = self.outputs if self.outputs is not None else (None, None)
        for i in range(n_batches):
            idx = order[i * bs : (i + 1) * bs]
            ws = self._workspace(idx.size)
            # ndarray.take(indices, axis, out, mode): positional, it skips np.take's wrapper
            # (~1 µs at m = 10); "clip" because "raise" copies `out` twice.
            X.take(idx, 0, ws.X, "clip")
            Y.take(idx, 0, ws.Y, "clip")
            ws.forward()
            if Z_rec is not None:  # the running metrics' outputs, before the step
                np.copyto(Z_rec[i * bs : i * bs + idx.size], ws.Z[-1])
                np.copyto(A_rec[i * bs : i * bs + idx.size], ws.A[-1])
            ws.scale = opt.lr if fold else 1.0
            grad = ws.backward()
            if l2:  # + (λ/n) W, scaled like the gradient
                np.multiply(theta_w, ws.scale * l2 / n, out=decay)
                grad[:n_w] += decay
            if l1:  # + (λ/n) sgn W
                np.sign(theta_w, out=decay)
                decay *= ws.scale * l1 / n
                grad[:n_w] += decay
            # A few dot products per step guard every parameter against NaN and infinity.
            if not ws.gradient_is_finite():
                self._diverged(epoch, i, "the gradient")
            cost = None
            if batch_end and (i % cost_every == 0 or i == n_batches - 1):
                cost = ws.batch_cost()
                if not math.isfinite(cost):
                    self._diverged(epoch, i, "the cost")
            if fold:
                opt.update_scaled(theta, grad)
            else:
                opt.update(theta, grad)
            for hook in batch_end:
                hook(i + 1, cost)

    def _diverged(self, epoch, batch, what):
        """Stop with a clear error, keeping finite weights (the best ones with restore-best)."""
        net, lr = self.network, self.optimizer.lr
        if self.config.restore_best and self.best.weights is not None:
            net.parameters[...] = self.best.weights
            kept = f"the best weights (epoch {self.history.best_epoch})"
        elif np.isfinite(net.parameters).all():
            kept = "the weights of the last finite step"
        else:
            net.parameters[...] = self.epoch_start
            kept = f"the weights from the start of epoch {epoch + 1}"
        self.history.stop_reason = "diverged"
        net.history = self.history
        raise TrainingDiverged(
            f"training diverged: {what} became NaN or infinite at epoch {epoch + 1}, batch "
            f"{batch + 1} with learning rate {lr:g}; the network keeps {kept}. Expected a finite "
            f"cost: try a smaller learning rate (e.g. lr={lr / 10:g})",
            self.history,
        )


# ---------------------------------------------------------------------- the public entry points
def fit(
    net: Network,
    X: ArrayLike,
    Y: ArrayLike,
    *,
    epochs: int = 30,
    batch_size: int = 10,
    lr: float = 3.0,
    optimizer: Any = "sgd",
    l2: float = 0.0,
    l1: float = 0.0,
    dropout: float | Sequence[float] = 0.0,
    schedule: Any = None,
    validation_data: tuple[ArrayLike, ArrayLike] | None = None,
    validation_split: float | None = None,
    early_stopping: int | None = None,
    restore_best: bool | None = None,
    monitor: str = "val_accuracy",
    shuffle: bool = True,
    seed: Any = None,
    train_metrics: bool | str = "running",
    callbacks: Sequence[Callback] = (),
    cost_every: int = 50,
    diagnostics: bool = False,
    checkpoint: Any = None,
    checkpoint_every: int = 1,
    verbose: int = 0,
) -> History:
    """Train `net` by mini-batch gradient descent and return its History.

    Parameters
    ----------
    net : Network
    X : array, shape (n, n_0)
    Y : array, shape (n, n_L), or n integer class labels (one-hot encoded here)
    epochs : int
    batch_size : int
        m, the rows per mini-batch (the last batch of an epoch may be smaller).
    lr : float
        η, the learning rate (the optimizer's base rate).
    optimizer : str or Optimizer
        "sgd" (the textbook's rule), "momentum", "nesterov", "adam", or an object.
    l2, l1 : float
        λ of the L2 penalty (λ/2n) Σ w² or the L1 penalty (λ/n) Σ |w|; weights only.
    dropout : float or list of float
        Inverted-dropout rate of the hidden layers' activations, during training only.
    schedule : str, dict or Schedule, optional
        "constant", "step", "cosine", "plateau" (the book's halving rule).
    validation_data : (Xv, Yv), optional
    validation_split : float, optional
        Use the last fraction of (X, Y) as validation data instead.
    early_stopping : int, optional
        Stop when `monitor` has not improved for this many epochs.
    restore_best : bool, optional
        At the end, restore the weights of the epoch with the best `monitor`. Default: True
        with early stopping, False otherwise.
    monitor : str
        "val_accuracy", "val_cost", "accuracy" or "cost".
    seed : int, optional
        Seeds shuffling and dropout; default: the network's own generator.
    train_metrics : {"running", "exact", False}
        The training cost and accuracy in the history: "running" (the default; True means
        the same) averages each batch's cost and accuracy, taken from the forward pass the
        step already makes, before the step (as Keras reports them: no extra pass over the
        data); "exact" measures them with a separate pass over the training set after each
        epoch; False records none. Validation metrics are always exact.
    callbacks : sequence of Callback
        Called around every epoch and batch; a callback may stop training
        (``deltaprop.callbacks``).
    cost_every : int
        Callbacks receive the batch cost every this many batches.
    diagnostics : bool
        Record per-layer statistics each epoch in ``history.diagnostics``.
    checkpoint : path, optional
        Write the model and optimizer state there (atomically) every `checkpoint_every`
        epochs; ``resume`` continues from it.
    verbose : {0, 1, 2}
        0 prints nothing; 1 prints a line per epoch (cost, accuracy, validation cost and
        accuracy, η, time) and, when stdout is a terminal, a live bar for the current epoch;
        2 the lines only (``deltaprop.progress``; the ``deltaprop train`` command's display).

    Returns
    -------
    History

    Raises
    ------
    TrainingDiverged
        When the gradient or cost becomes NaN or infinite. The network keeps the weights of
        the last finite step (the best ones when ``restore_best``).
    TrainingInterrupted
        On Ctrl-C; the network keeps the weights of the last completed epoch.

    Examples
    --------
    >>> X, y = [[0, 0], [0, 1], [1, 0], [1, 1]], [0, 1, 1, 0]   # XOR
    >>> net = Network([2, 4, 1], seed=1)
    >>> h = fit(net, X, y, epochs=3000, batch_size=4, lr=3.0)
    >>> net.predict(X), h.accuracy[-1]
    (array([0, 1, 1, 0]), 1.0)
    """
    config = TrainingConfig(
        epochs=epochs, batch_size=batch_size, lr=lr, optimizer=optimizer, l2=l2, l1=l1,
        dropout=dropout, schedule=schedule, validation_split=validation_split,
        early_stopping=early_stopping, restore_best=restore_best, monitor=monitor,
        shuffle=shuffle, seed=seed, train_metrics=train_metrics, cost_every=cost_every,
        diagnostics=diagnostics, checkpoint=checkpoint, checkpoint_every=checkpoint_every,
        verbose=verbose,
    )  # fmt: skip
    return fit_config(net, X, Y, config, validation_data=validation_data, callbacks=callbacks)


def fit_config(
    net: Network, X: ArrayLike, Y: ArrayLike, config: TrainingConfig, *,
    validation_data: Any = None, callbacks: Sequence[Callback] = (),
) -> History:  # fmt: skip
    """``fit`` with its options as one ``TrainingConfig``."""
    config.validate()
    data = _Data(net, X, Y, validation_data, config.validation_split)
    return _Run(net, data, config, list(callbacks)).train()


def resume(path, X: ArrayLike, Y: ArrayLike, **kwargs: Any) -> tuple[Network, History]:
    """Continue a run from the checkpoint at `path`; returns (net, History).

    `X`, `Y` and the keyword arguments must be those of the interrupted ``fit`` call (the
    saved configuration fills in any that are left out). With the same data, the resumed run
    ends with exactly the weights an uninterrupted run would have had. A finished run (stopped
    early, or all its epochs done) trains nothing more: the network comes back as that run
    ended it. An interrupt or a divergence carries the network as ``exc.network``.
    """
    net, state, extra = load(path, return_state=True)
    if not extra or not extra.get("checkpoint"):
        raise DeltapropError(
            f"{path} is a model file without training state; expected a "
            f"checkpoint written by fit(..., checkpoint=PATH)"
        )
    validation_data = kwargs.pop("validation_data", None)
    if validation_data is not None:
        kwargs.setdefault("validation_split", None)
    callbacks = kwargs.pop("callbacks", ())
    kwargs.setdefault("checkpoint", path)
    saved = {k: v for k, v in extra.get("fit", {}).items() if k != "checkpoint"}
    config = TrainingConfig.from_dict(saved, **kwargs).validate()
    history = net.history
    if isinstance(history, dict):
        history = History.from_dict(history)
    history = history or History()
    if _finished(history.stop_reason, extra["epoch"], config.epochs):
        if config.restore_best and state.get("best_theta") is not None:
            net.parameters[...] = state["best_theta"]
        net.history = history
        return net, history
    prefix = "optimizer."
    run_state = {
        "history": history,
        "optimizer": {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)},
        "schedule": extra.get("schedule", {}), "rng": extra["rng"], "epoch": extra["epoch"],
        "best_score": extra.get("best_score", -math.inf), "wait": extra.get("wait", 0),
        "best_theta": state.get("best_theta"),
    }  # fmt: skip
    data = _Data(net, X, Y, validation_data, config.validation_split)
    try:
        history = _Run(net, data, config, list(callbacks), state=run_state).train()
    except (TrainingInterrupted, TrainingDiverged) as exc:
        setattr(exc, "network", net)  # noqa: B010
        raise
    return net, history


def _finished(stop_reason, done, epochs):
    """Whether a run that stopped for `stop_reason` after `done` of `epochs` is over."""
    return stop_reason not in (None, "completed", "interrupted") or done >= epochs


# Settings that a resumed run may change; any other must match the checkpoint's.
_RESUME_FREE = ("epochs", "checkpoint", "checkpoint_every", "diagnostics", "verbose", "cost_every")
# Settings of the network itself, compared with the checkpoint's network.
_ARCHITECTURE = ("sizes", "activation", "output_activation", "loss", "dtype")


def check_resume(path, **overrides: Any) -> dict:
    """Compare the settings given for resuming the checkpoint at `path` with its own.

    `overrides` are ``fit``'s keyword arguments and the network's (``sizes``, ``activation``,
    ``output_activation``, ``loss``, ``dtype``) that were given explicitly; ``epochs`` (to
    extend the run) and the checkpointing options may differ, any other setting must equal
    the checkpoint's. Returns ``{"epoch": epochs done, "epochs": the run's epochs,
    "stop_reason": ..., "finished": whether nothing is left to train, "fit": the saved fit
    settings, "network": the saved network's settings, "preprocessor": the network's
    preprocessing of a table, or None}``.

    Raises
    ------
    DeltapropError
        A conflicting setting, naming both values; a file that is not a checkpoint.
    """
    net, extra = load(path, return_state=True)[::2]
    if not extra or not extra.get("checkpoint"):
        raise DeltapropError(
            f"{path} is a model file without training state; expected a "
            f"checkpoint written by fit(..., checkpoint=PATH)"
        )
    fit_saved = extra.get("fit", {})
    layers = net.config()["activations"]
    arch = {"sizes": list(net.sizes), "activation": layers[0]["name"],
            "output_activation": layers[-1]["name"], "loss": net.config()["loss"]["name"],
            "dtype": np.dtype(net.dtype).name}  # fmt: skip
    for key, given in overrides.items():
        if given is None or key in _RESUME_FREE:
            continue
        saved = arch[key] if key in _ARCHITECTURE else fit_saved.get(key)
        if not _same_setting(given, saved):
            raise DeltapropError(
                f"{key}={_setting_text(given)} conflicts with the checkpoint's value "
                f"{_setting_text(saved)} ({path}); a resumed run keeps its checkpoint's "
                f"configuration (only epochs may grow)"
            )
    history = net.history
    stop_reason = history.get("stop_reason") if isinstance(history, dict) else history.stop_reason
    epochs = overrides.get("epochs") or fit_saved.get("epochs", extra["epoch"])
    done = int(extra["epoch"])
    return {"epoch": done, "epochs": int(epochs), "stop_reason": stop_reason,
            "finished": _finished(stop_reason, done, epochs), "fit": fit_saved,
            "network": arch, "preprocessor": net.preprocessor}  # fmt: skip


def _same_setting(given, saved):
    """Whether a given setting agrees with the stored one (names, numbers, per-layer lists)."""
    if hasattr(given, "config") and callable(given.config):
        given = given.config()
    if isinstance(saved, dict):
        given = given if isinstance(given, dict) else {"name": given}
        return all(_same_setting(v, saved.get(k)) for k, v in given.items())
    if isinstance(saved, (list, tuple)):
        given = given if isinstance(given, (list, tuple)) else [given] * len(saved)
        return len(given) == len(saved) and all(map(_same_setting, given, saved))
    if isinstance(given, (int, float)) and isinstance(saved, (int, float)):
        if isinstance(given, bool) or isinstance(saved, bool):
            return given == saved
        return math.isclose(given, saved, rel_tol=1e-9, abs_tol=0.0)
    return given == saved


def _setting_text(value):
    if isinstance(value, dict) and "name" in value:
        return value["name"]
    if isinstance(value, (list, tuple)):
        return "-".join(map(str, value))
    return str(value)


# Network.fit and Network.evaluate are this module's functions: provided to network.py, which
# sits below this module and so cannot import it.
provide("fit", fit)
provide("evaluate", evaluate)
