"""The fit loop: shuffled mini-batches, validation, schedules, early stopping, history.

One epoch visits every training sample once, in mini-batches of m rows drawn from a fresh
permutation. Each batch is one call of BP1–BP4 on the whole matrix (``_kernel.Workspace``),
then one optimizer step on the flat parameter vector:

    W ← W − η ∂C/∂W,   ∂C/∂W = (1/m) Σ_x ∂C_x/∂W   (+ (λ/n) W with L2, + (λ/n) sgn W with L1)

where n is the number of training samples (the book's convention: the L2 term of the cost is
(λ/2n) Σ w², so each SGD step multiplies W by 1 − ηλ/n; biases are not decayed).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from . import optimizers as _optimizers
from . import schedules as _schedules
from ._kernel import Workspace
from ._validation import (
    DeltapropError,
    DeltapropTypeError,
    check_int,
    check_nonnegative,
    check_positive,
    check_probability,
)

__all__ = [
    "fit",
    "evaluate",
    "resume",
    "History",
    "TrainingDiverged",
    "TrainingInterrupted",
    "Callback",
]


class TrainingDiverged(DeltapropError):
    """The cost or the gradient became NaN or infinite; the network keeps its last finite weights."""

    def __init__(self, message, history=None):
        super().__init__(message)
        self.history = history


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C during ``fit``: the network holds the weights of the last completed epoch."""

    def __init__(self, history=None):
        super().__init__("training interrupted")
        self.history = history


@dataclass
class History:
    """Per-epoch record of a ``fit`` run (epochs count from 1).

    ``cost``/``accuracy`` are measured on the training data after each epoch (empty lists when
    ``train_metrics=False``), ``val_cost``/``val_accuracy`` on the validation data when given,
    ``lr`` is the rate used in the epoch and ``time`` the seconds its batches took.
    """

    epoch: list = field(default_factory=list)
    cost: list = field(default_factory=list)
    accuracy: list = field(default_factory=list)
    val_cost: list = field(default_factory=list)
    val_accuracy: list = field(default_factory=list)
    lr: list = field(default_factory=list)
    time: list = field(default_factory=list)
    best_epoch: int | None = None
    stop_reason: str = "completed"
    diagnostics: list = field(default_factory=list)

    def to_dict(self) -> dict:
        return {k: (list(v) if isinstance(v, list) else v) for k, v in vars(self).items()}

    @classmethod
    def from_dict(cls, data: dict) -> History:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def __getitem__(self, key):
        return getattr(self, key)

    def last(self) -> dict:
        """The metrics of the last epoch as a dict."""
        out = {}
        for key in ("epoch", "cost", "accuracy", "val_cost", "val_accuracy", "lr", "time"):
            values = getattr(self, key)
            if values:
                out[key] = values[-1]
        return out


class Callback:
    """Hooks called by ``fit``; override the ones you need."""

    def on_train_begin(self, info: dict):
        pass

    def on_epoch_begin(self, epoch: int, n_batches: int):
        pass

    def on_batch_end(self, batch: int, cost: float | None):
        """`cost` is the batch's cost every ``cost_every`` batches, None otherwise."""

    def on_epoch_end(self, epoch: int, logs: dict):
        pass


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
    with np.errstate(over="ignore"):
        for start in range(0, X.shape[0], chunk):
            zs, acts = net.forward_trace(X[start : start + chunk])
            Yc = Y[start : start + chunk]
            total += float(net.loss.sample_costs(zs[-1], acts[-1], Yc, net.output_activation).sum())
            if labels is not None:
                pred = net.predicted_labels(acts[-1])
                correct += int((pred == labels[start : start + chunk]).sum())
            del zs, acts  # else a chunk's arrays stay alive while the next one is computed
    m = X.shape[0]
    return total / m, (correct / m if labels is not None else None)


def evaluate(net, X, Y):
    """Cost and accuracy of `net` on (X, Y).

    Parameters
    ----------
    X : array, shape (m, n_0)
    Y : array, shape (m, n_L), or m integer class labels

    Returns
    -------
    (cost, accuracy) : (float, float or None)
        The mean per-sample cost (without regularisation terms) and the fraction classified
        correctly (None when the targets are not class labels).
    """
    X, single = net.check_inputs(X)
    Y = net.check_targets(Y, X.shape[0], single)
    return _evaluate_checked(net, X, Y, _labels(Y))


# ---------------------------------------------------------------------- the loop
def _dropout_rates(dropout, n_hidden):
    if isinstance(dropout, (list, tuple)):
        if len(dropout) != n_hidden:
            raise DeltapropError(
                f"dropout has {len(dropout)} rates but the network has {n_hidden} "
                f"hidden layers; expected one rate per hidden layer or one number"
            )
        rates = [check_probability(p, f"dropout[{i}]") for i, p in enumerate(dropout)]
    else:
        rates = [check_probability(dropout, "dropout")] * n_hidden
    return rates


def fit(
    net,
    X,
    Y,
    *,
    epochs=30,
    batch_size=10,
    lr=3.0,
    optimizer="sgd",
    l2=0.0,
    l1=0.0,
    dropout=0.0,
    schedule=None,
    validation_data=None,
    validation_split=None,
    early_stopping=None,
    restore_best=None,
    monitor="val_accuracy",
    shuffle=True,
    seed=None,
    train_metrics=True,
    callbacks=(),
    cost_every=50,
    diagnostics=False,
    checkpoint=None,
    checkpoint_every=1,
    _state=None,
):
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
    train_metrics : bool
        Measure cost and accuracy on the whole training set after each epoch.
    callbacks : sequence of Callback
    diagnostics : bool
        Record per-layer statistics each epoch in ``history.diagnostics``.
    checkpoint : path, optional
        Write the model and optimizer state there (atomically) every `checkpoint_every`
        epochs; ``resume`` continues from it.

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
    """
    epochs = check_int(epochs, "epochs")
    batch_size = check_int(batch_size, "batch_size")
    lr = check_positive(lr, "lr")
    l2 = check_nonnegative(l2, "l2")
    l1 = check_nonnegative(l1, "l1")
    checkpoint_every = check_int(checkpoint_every, "checkpoint_every")
    cost_every = check_int(cost_every, "cost_every")
    if seed is not None and not isinstance(seed, np.random.Generator):
        check_int(seed, "seed", minimum=0)
    rates = _dropout_rates(dropout, net.num_layers - 1)
    X, single = net.check_inputs(X)  # a single sample comes back as one row already
    Y = net.check_targets(Y, X.shape[0], single)
    if validation_split is not None:
        if validation_data is not None:
            raise DeltapropError(
                "validation_split and validation_data were both given; expected one"
            )
        frac = check_probability(validation_split, "validation_split")
        n_val = int(round(frac * X.shape[0]))
        if n_val < 1 or n_val >= X.shape[0]:
            raise DeltapropError(
                f"validation_split={validation_split} leaves {X.shape[0] - n_val} "
                f"training and {n_val} validation samples; expected at least one each"
            )
        X, Xv = X[:-n_val], X[-n_val:]
        Y, Yv = Y[:-n_val], Y[-n_val:]
    elif validation_data is not None:
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
            raise DeltapropTypeError("validation_data must be a pair (X_val, Y_val)")
        Xv, _ = net.check_inputs(validation_data[0], "validation_data[0]")
        Yv = net.check_targets(validation_data[1], Xv.shape[0], False, "validation_data[1]")
    else:
        Xv = Yv = None
    labels = _labels(Y)
    val_labels = _labels(Yv) if Yv is not None else None
    valid_monitors = ("val_accuracy", "val_cost", "accuracy", "cost")
    if monitor not in valid_monitors:
        raise DeltapropError(f"monitor={monitor!r} is unknown; expected one of {valid_monitors}")
    if Xv is None and monitor.startswith("val_"):
        monitor = monitor[4:]
    if monitor.endswith("accuracy") and labels is None:
        monitor = monitor.replace("accuracy", "cost")
    if early_stopping is not None:
        early_stopping = check_int(early_stopping, "early_stopping")
    if restore_best is None:
        restore_best = early_stopping is not None

    n = X.shape[0]
    batch_size = min(batch_size, n)
    opt = _optimizers.get(optimizer, lr=lr)
    sched = _schedules.get(schedule)
    sched.start(opt.lr, epochs)
    if getattr(opt, "params", None) is not net.parameters:
        # A fresh optimizer (or one used on other parameters) gets new state; passing the same
        # object to successive fit calls continues its momentum or moment estimates.
        opt.init(net.parameters)
        opt.params = net.parameters
    rng = np.random.default_rng(seed) if seed is not None else net.rng
    history = History()
    best_score, best_theta, wait, start_epoch = -math.inf, None, 0, 0
    if _state is not None:
        history = _state["history"]
        opt.load_state_dict(_state["optimizer"])
        sched.load_state_dict(_state["schedule"])
        rng.bit_generator.state = _state["rng"]
        best_score, wait, start_epoch = _state["best_score"], _state["wait"], _state["epoch"]
        best_theta = _state.get("best_theta")

    net.training_config = {
        "epochs": epochs,
        "batch_size": batch_size,
        "lr": lr,
        "optimizer": opt.config(),
        "l2": l2,
        "l1": l1,
        "dropout": rates,
        "schedule": sched.config(),
        "early_stopping": early_stopping,
        "restore_best": restore_best,
        "monitor": monitor,
        "seed": seed,
        "n_train": n,
        "n_val": 0 if Xv is None else int(Xv.shape[0]),
    }
    n_w = net.num_weights
    theta_w = net.parameters[:n_w]
    decay_buf = np.empty_like(theta_w) if (l2 or l1) else None
    workspaces = {}
    # SGD and momentum take the step η ∂C/∂θ: the kernel folds η into Δ^L with the batch mean.
    fold = opt.folds_lr
    # One-hot rows (checked once here) let softmax + cross-entropy use Δ^L = A − Y directly.
    one_hot = labels is not None and Y.shape[1] > 1

    def workspace(m):
        if m not in workspaces:
            workspaces[m] = Workspace(net, m, rates, rng, one_hot=one_hot)
        return workspaces[m]

    diag = None
    if diagnostics:
        from .diagnostics import Recorder

        diag = Recorder(net, X, Y)

    for cb in callbacks:
        cb.on_train_begin(
            {"epochs": epochs, "n_train": n, "batch_size": batch_size, "start_epoch": start_epoch}
        )
    n_batches = -(-n // batch_size)
    epoch_start_theta = net.parameters.copy()
    try:
        for epoch in range(start_epoch, epochs):
            opt.lr = sched.lr(epoch)
            for cb in callbacks:
                cb.on_epoch_begin(epoch + 1, n_batches)
            t0 = time.perf_counter()
            order = rng.permutation(n) if shuffle else np.arange(n)
            # Overflow and NaN are caught by the explicit finiteness checks below, which stop
            # the run with a clear error instead of a warning per batch.
            with np.errstate(over="ignore", invalid="ignore"):
                for i in range(n_batches):
                    idx = order[i * batch_size : (i + 1) * batch_size]
                    ws = workspace(idx.size)
                    # ndarray.take(indices, axis, out, mode): positional, it skips np.take's
                    # wrapper (~1 µs at m = 10); "clip" because "raise" copies `out` twice.
                    X.take(idx, 0, ws.X, "clip")
                    Y.take(idx, 0, ws.Y, "clip")
                    ws.forward()
                    ws.scale = opt.lr if fold else 1.0
                    grad = ws.backward()
                    if l2:
                        np.multiply(theta_w, ws.scale * l2 / n, out=decay_buf)
                        grad[:n_w] += decay_buf
                    if l1:
                        np.sign(theta_w, out=decay_buf)
                        decay_buf *= ws.scale * l1 / n
                        grad[:n_w] += decay_buf
                    # One dot product per step guards every parameter against NaN/inf.
                    if not math.isfinite(float(np.dot(grad, grad))):
                        _diverged(
                            net,
                            history,
                            epoch,
                            i,
                            opt.lr,
                            "the gradient",
                            best_theta,
                            restore_best,
                            epoch_start_theta,
                        )
                    batch_cost = None
                    if callbacks and (i % cost_every == 0 or i == n_batches - 1):
                        batch_cost = ws.batch_cost()
                        if not math.isfinite(batch_cost):
                            _diverged(
                                net,
                                history,
                                epoch,
                                i,
                                opt.lr,
                                "the cost",
                                best_theta,
                                restore_best,
                                epoch_start_theta,
                            )
                    if fold:
                        opt.update_scaled(net.parameters, grad)
                    else:
                        opt.update(net.parameters, grad)
                    for cb in callbacks:
                        cb.on_batch_end(i + 1, batch_cost)
            elapsed = time.perf_counter() - t0
            if not np.isfinite(net.parameters).all():
                _diverged(
                    net,
                    history,
                    epoch,
                    n_batches - 1,
                    opt.lr,
                    "the weights",
                    best_theta,
                    restore_best,
                    epoch_start_theta,
                )

            logs = {"epoch": epoch + 1, "lr": opt.lr, "time": elapsed}
            if train_metrics:
                logs["cost"], logs["accuracy"] = _evaluate_checked(net, X, Y, labels)
            if Xv is not None:
                logs["val_cost"], logs["val_accuracy"] = _evaluate_checked(net, Xv, Yv, val_labels)
            for key in ("cost", "val_cost"):
                if key in logs and not math.isfinite(logs[key]):
                    _diverged(
                        net,
                        history,
                        epoch,
                        n_batches - 1,
                        opt.lr,
                        f"the {key}",
                        best_theta,
                        restore_best,
                        epoch_start_theta,
                    )
            _record(history, logs)
            # The epoch is complete and in the history: from here on, an interrupt keeps its
            # weights (and a divergence in the next epoch falls back to them).
            np.copyto(epoch_start_theta, net.parameters)
            if diag is not None:
                history.diagnostics.append(diag.record(epoch + 1))

            current = logs.get(monitor)
            if (
                current is None
                and monitor in ("cost", "accuracy")
                and (early_stopping is not None or restore_best)
            ):
                # Only measured when early stopping or restore_best uses it, so that
                # train_metrics=False saves the pass over the training set.
                current = _evaluate_checked(net, X, Y, labels)[0 if monitor == "cost" else 1]
            if current is not None:
                score = -current if monitor.endswith("cost") else current
                if score > best_score:
                    best_score, wait, history.best_epoch = score, 0, epoch + 1
                    if restore_best:
                        if best_theta is None:
                            best_theta = net.parameters.copy()
                        else:
                            np.copyto(best_theta, net.parameters)  # reuse: no copy per improvement
                else:
                    wait += 1
            for cb in callbacks:
                cb.on_epoch_end(epoch + 1, logs)
            stop = sched.end_epoch(epoch, logs)
            if stop:
                history.stop_reason = "learning rate halved the maximum number of times"
            if early_stopping is not None and wait >= early_stopping:
                stop = True
                history.stop_reason = f"early stopping: {monitor} did not improve for {wait} epochs"
            if checkpoint is not None and (
                (epoch + 1) % checkpoint_every == 0 or stop or epoch + 1 == epochs
            ):
                _write_checkpoint(
                    checkpoint,
                    net,
                    opt,
                    sched,
                    rng,
                    history,
                    epoch + 1,
                    best_score,
                    wait,
                    best_theta,
                )
            if stop:
                break
    except KeyboardInterrupt:
        net.parameters[...] = epoch_start_theta
        history.stop_reason = "interrupted"
        net.history = history
        raise TrainingInterrupted(history) from None

    if restore_best and best_theta is not None:
        net.parameters[...] = best_theta
    net.history = history
    return history


def _record(history, logs):
    history.epoch.append(logs["epoch"])
    history.lr.append(logs["lr"])
    history.time.append(logs["time"])
    for key in ("cost", "accuracy", "val_cost", "val_accuracy"):
        if key in logs:
            getattr(history, key).append(logs[key])


def _diverged(net, history, epoch, batch, lr, what, best_theta, restore_best, epoch_start_theta):
    """Stop with a clear error, keeping finite weights (the best ones with ``restore_best``)."""
    if restore_best and best_theta is not None:
        net.parameters[...] = best_theta
        kept = f"the best weights (epoch {history.best_epoch})"
    elif np.isfinite(net.parameters).all():
        kept = "the weights of the last finite step"
    else:
        net.parameters[...] = epoch_start_theta
        kept = f"the weights from the start of epoch {epoch + 1}"
    history.stop_reason = "diverged"
    net.history = history
    raise TrainingDiverged(
        f"training diverged: {what} became NaN or infinite at epoch {epoch + 1}, batch "
        f"{batch + 1} with learning rate {lr:g}; the network keeps {kept}. Expected a finite "
        f"cost: try a smaller learning rate (e.g. lr={lr / 10:g})",
        history,
    )


# ---------------------------------------------------------------------- checkpoints
def _write_checkpoint(path, net, opt, sched, rng, history, epoch, best_score, wait, best_theta):
    from .io import save

    state = {f"optimizer.{k}": v for k, v in opt.state_dict().items()}
    if best_theta is not None:
        state["best_theta"] = best_theta
    net.history = history
    save(
        net,
        path,
        optimizer_state=state,
        extra={
            "checkpoint": True,
            "epoch": epoch,
            "best_score": best_score,
            "wait": wait,
            "rng": rng.bit_generator.state,
            "schedule": sched.state_dict(),
            "fit": net.training_config,
        },
    )


def resume(path, X, Y, **kwargs):
    """Continue a run from the checkpoint at `path`; returns (net, History).

    `X`, `Y` and the keyword arguments must be those of the interrupted ``fit`` call (the
    saved configuration fills in any that are left out). With the same data, the resumed run
    ends with exactly the weights an uninterrupted run would have had.
    """
    from .io import load

    net, state, extra = load(path, return_state=True)
    if not extra or not extra.get("checkpoint"):
        raise DeltapropError(
            f"{path} is a model file without training state; expected a "
            f"checkpoint written by fit(..., checkpoint=PATH)"
        )
    cfg = extra.get("fit", {})
    defaults = {
        "epochs": cfg.get("epochs"),
        "batch_size": cfg.get("batch_size"),
        "lr": cfg.get("lr"),
        "optimizer": cfg.get("optimizer", "sgd"),
        "l2": cfg.get("l2", 0.0),
        "l1": cfg.get("l1", 0.0),
        "dropout": cfg.get("dropout", 0.0),
        "schedule": cfg.get("schedule"),
        "early_stopping": cfg.get("early_stopping"),
        "restore_best": cfg.get("restore_best"),
        "monitor": cfg.get("monitor", "val_accuracy"),
        "seed": cfg.get("seed"),
    }
    defaults.update(kwargs)
    history = net.history
    if isinstance(history, dict):
        history = History.from_dict(history)
    opt_state = {k.split(".", 1)[1]: v for k, v in state.items() if k.startswith("optimizer.")}
    run_state = {
        "history": history or History(),
        "optimizer": opt_state,
        "schedule": extra.get("schedule", {}),
        "rng": extra["rng"],
        "epoch": extra["epoch"],
        "best_score": extra.get("best_score", -math.inf),
        "wait": extra.get("wait", 0),
        "best_theta": state.get("best_theta"),
    }
    defaults.setdefault("checkpoint", path)
    history = fit(net, X, Y, _state=run_state, **defaults)
    return net, history
