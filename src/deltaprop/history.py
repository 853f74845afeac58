"""What a training run is told (TrainingConfig) and what it records (History).

Both are plain data: ``TrainingConfig`` validates every option of ``fit`` once, in one place,
and is what the model file stores as ``training_config`` and what ``resume`` reads back;
``History`` is the per-epoch record that ``fit`` returns and the model file keeps.
"""

from __future__ import annotations

import dataclasses
import numbers
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import optimizers as _optimizers
from . import schedules as _schedules
from ._provided import Provided
from ._validation import (
    DeltapropError,
    DeltapropTypeError,
    check_int,
    check_nonnegative,
    check_positive,
    check_probability,
)

__all__ = ["History", "TrainingConfig", "MONITORS"]

#: The quantities early stopping and restore-best can watch.
MONITORS = ("val_accuracy", "val_cost", "accuracy", "cost")


@dataclass
class History:
    """Per-epoch record of a ``fit`` run (epochs count from 1).

    ``cost``/``accuracy`` are the training data's: by default (``train_metrics="running"``,
    recorded in ``train_metrics``) the mean over the epoch's batches of each batch's cost and
    accuracy, taken from the forward pass the step makes anyway, before the step updates the
    weights (as Keras reports them); with ``train_metrics="exact"`` measured by a separate
    pass over the training set after the epoch; empty lists when ``train_metrics=False``.
    ``val_cost``/``val_accuracy`` are always exact, measured on the validation data after the
    epoch. ``lr`` is the rate used in the epoch and ``time`` the seconds its batches took.

    Examples
    --------
    >>> h = History()
    >>> h.record({"epoch": 1, "lr": 0.5, "time": 0.1, "cost": 0.25})
    >>> h.last()
    {'epoch': 1, 'cost': 0.25, 'lr': 0.5, 'time': 0.1}
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
    train_metrics: str | None = None

    def record(self, logs: dict) -> None:
        """Append one epoch's metrics (keys as in ``last``; missing metrics are skipped)."""
        self.epoch.append(logs["epoch"])
        self.lr.append(logs["lr"])
        self.time.append(logs["time"])
        for key in ("cost", "accuracy", "val_cost", "val_accuracy"):
            if key in logs:
                getattr(self, key).append(logs[key])

    def to_dict(self) -> dict:
        """The history as plain data (JSON-ready lists and numbers)."""
        return {k: (list(v) if isinstance(v, list) else v) for k, v in vars(self).items()}

    @classmethod
    def from_dict(cls, data: dict) -> History:
        """A History from ``to_dict``'s output (unknown keys are ignored)."""
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

    def plot(self, log: bool = False) -> Any:
        """The learning curves as a matplotlib Figure: cost and, where recorded, accuracy per
        epoch, training and validation, the best epoch marked (needs matplotlib).

        See ``deltaprop.plots.plot_history``; ``log`` draws the cost on a log scale.
        """
        return _provided("plot")(self, log=log)

    def _repr_html_(self) -> str | None:
        # Jupyter's rich display: the curves (or a table without matplotlib), drawn above.
        show = _PROVIDED.get("html")
        return None if show is None else show(self)


# History.plot and its notebook display are drawn by deltaprop.plots and deltaprop._notebook,
# which sit above this module (they import it) and hand their functions down here when they
# are imported, as ``import deltaprop`` does: so this module imports neither.
_PROVIDED = Provided("History")
#: Make a function the implementation of ``History.<name>`` ("plot", "html").
provide = _PROVIDED.provide
_provided = _PROVIDED


def _check_dropout(dropout) -> Any:
    if isinstance(dropout, (list, tuple)):
        return [check_probability(p, f"dropout[{i}]") for i, p in enumerate(dropout)]
    return check_probability(dropout, "dropout")


def _check_train_metrics(value):
    """ "running", "exact" or False; True means the default, "running"."""
    if value is True or (isinstance(value, np.bool_) and value):
        return "running"
    if value is False or (isinstance(value, np.bool_) and not value) or value is None:
        return False
    if value in ("running", "exact"):
        return value
    raise DeltapropError(
        f"train_metrics={value!r} is invalid; expected 'running' (the default: means over the "
        f"epoch's batches), 'exact' (a pass over the training set after each epoch) or False"
    )


def _check_optional_int(value, name):
    return None if value is None else check_int(value, name)


def _check_seed(seed):
    if seed is not None and not isinstance(seed, np.random.Generator):
        check_int(seed, "seed", minimum=0)
    return seed


@dataclass
class TrainingConfig:
    """Every option of a ``fit`` run, validated once.

    The fields are ``fit``'s keyword arguments (see ``deltaprop.training.fit`` for their
    meaning). ``validate`` (run by ``fit`` and ``resume``) checks each value and names the
    argument in its error; ``to_dict`` is the plain-data form stored in a model file as
    ``training_config`` and read back by ``from_dict``.

    Examples
    --------
    >>> cfg = TrainingConfig(epochs=5, lr=0.5).validate()
    >>> cfg.epochs, cfg.batch_size, cfg.optimizer
    (5, 10, 'sgd')
    >>> TrainingConfig(epochs=0).validate()
    Traceback (most recent call last):
    ...
    deltaprop._validation.DeltapropError: epochs=0 is invalid; expected an integer >= 1
    """

    epochs: int = 30
    batch_size: int = 10
    lr: float = 3.0
    optimizer: Any = "sgd"
    l2: float = 0.0
    l1: float = 0.0
    dropout: Any = 0.0
    schedule: Any = None
    validation_split: float | None = None
    early_stopping: int | None = None
    restore_best: bool | None = None
    monitor: str = "val_accuracy"
    shuffle: bool = True
    seed: Any = None
    train_metrics: Any = "running"
    cost_every: int = 50
    diagnostics: bool = False
    checkpoint: Any = None
    checkpoint_every: int = 1
    verbose: int = 0

    def validate(self) -> TrainingConfig:
        """Check every field (raising an error that names it); returns self."""
        self.epochs = check_int(self.epochs, "epochs")
        self.batch_size = check_int(self.batch_size, "batch_size")
        self.lr = check_positive(self.lr, "lr")
        self.l2 = check_nonnegative(self.l2, "l2")
        self.l1 = check_nonnegative(self.l1, "l1")
        self.dropout = _check_dropout(self.dropout)
        self.checkpoint_every = check_int(self.checkpoint_every, "checkpoint_every")
        self.cost_every = check_int(self.cost_every, "cost_every")
        self.early_stopping = _check_optional_int(self.early_stopping, "early_stopping")
        self.seed = _check_seed(self.seed)
        if self.validation_split is not None:
            self.validation_split = check_probability(self.validation_split, "validation_split")
        if self.monitor not in MONITORS:
            raise DeltapropError(f"monitor={self.monitor!r} is unknown; expected one of {MONITORS}")
        if self.restore_best is None:
            self.restore_best = self.early_stopping is not None
        self.train_metrics = _check_train_metrics(self.train_metrics)
        if isinstance(self.verbose, bool) or self.verbose not in (0, 1, 2):
            raise DeltapropError(
                f"verbose={self.verbose!r} is invalid; expected 0 (silent), 1 (a line per epoch "
                f"and, in a terminal, a live bar) or 2 (a line per epoch)"
            )
        for name in ("shuffle", "diagnostics", "restore_best"):
            value = getattr(self, name)
            if not isinstance(value, (bool, np.bool_, numbers.Integral)):
                raise DeltapropTypeError(f"{name}={value!r} is invalid; expected True or False")
        return self

    def dropout_rates(self, n_hidden: int) -> list:
        """One inverted-dropout rate per hidden layer."""
        if isinstance(self.dropout, list):
            if len(self.dropout) != n_hidden:
                raise DeltapropError(
                    f"dropout has {len(self.dropout)} rates but the network has {n_hidden} "
                    f"hidden layers; expected one rate per hidden layer or one number"
                )
            return list(self.dropout)
        return [self.dropout] * n_hidden

    def make_optimizer(self):
        """The optimizer object (a given object is used as it is, with its state)."""
        return _optimizers.get(self.optimizer, lr=self.lr)

    def make_schedule(self):
        return _schedules.get(self.schedule)

    def to_dict(self) -> dict:
        """Plain data: the optimizer and schedule as their configs, no paths or objects.

        ``verbose`` is left out: how a run was watched is not part of the run.
        """
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        del out["verbose"]
        out["optimizer"] = self.make_optimizer().config()
        out["schedule"] = self.make_schedule().config()
        out["checkpoint"] = None if self.checkpoint is None else str(self.checkpoint)
        if isinstance(self.seed, np.random.Generator):
            out["seed"] = None
        return out

    @classmethod
    def from_dict(cls, data: dict, **overrides) -> TrainingConfig:
        """A config from ``to_dict``'s output (or an older model file's), then `overrides`."""
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in known and v is not None}
        for key in ("restore_best", "seed", "early_stopping", "validation_split"):
            if key in data:
                values[key] = data[key]
        values.update(overrides)
        return cls(**values)
