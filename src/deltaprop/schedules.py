"""Learning-rate schedules: η for each epoch, and the book's plateau rule.

A schedule is asked ``lr(epoch)`` (epochs count from 0) before each epoch, and told the epoch's
metrics by ``end_epoch(epoch, metrics)`` afterwards; ``end_epoch`` returns True to stop
training (only the plateau rule ever does).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ._validation import (
    DeltapropError,
    _short,
    check_int,
    check_nonnegative,
    check_positive,
    check_probability,
)

__all__ = ["Schedule", "Constant", "StepDecay", "Cosine", "PlateauHalving", "SCHEDULES", "get"]


class Schedule:
    """Base class; ``start`` is called once with the base rate η₀ and the number of epochs."""

    name = "schedule"

    def start(self, lr0: float, epochs: int) -> None:
        self.lr0 = float(lr0)
        self.epochs = int(epochs)

    def lr(self, epoch: int) -> float:
        raise NotImplementedError

    def end_epoch(self, epoch: int, metrics: Mapping[str, Any]) -> bool:
        return False

    def config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            **{
                k: v
                for k, v in vars(self).items()
                if not k.startswith("_") and k not in ("lr0", "epochs")
            },
        }

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        for key, value in state.items():
            setattr(self, key, value)

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in self.config().items() if k != "name")
        return f"{type(self).__name__}({inner})"


class Constant(Schedule):
    """η_t = η₀."""

    name = "constant"

    def lr(self, epoch: int) -> float:
        return self.lr0


class StepDecay(Schedule):
    """η_t = η₀ · factor^⌊t / every⌋.

    Parameters
    ----------
    every : int, default 10
    factor : float in (0, 1], default 0.1
    """

    name = "step"

    def __init__(self, every: int = 10, factor: float = 0.1):
        self.every = check_int(every, "every")
        self.factor = check_positive(factor, "factor")

    def lr(self, epoch: int) -> float:
        return self.lr0 * self.factor ** (epoch // self.every)


class Cosine(Schedule):
    """η_t = η_min + ½(η₀ − η_min)(1 + cos(π t / T)), T the number of epochs.

    Parameters
    ----------
    min_lr : float, default 0.0
    """

    name = "cosine"

    def __init__(self, min_lr: float = 0.0):
        self.min_lr = check_nonnegative(min_lr, "min_lr")

    def lr(self, epoch: int) -> float:
        T = max(self.epochs, 1)
        return self.min_lr + 0.5 * (self.lr0 - self.min_lr) * (1 + math.cos(math.pi * epoch / T))


class PlateauHalving(Schedule):
    """The book's rule: halve η when the monitored metric has not improved for `patience` epochs;
    stop once η has been halved `max_halvings` times.

    The book uses the validation accuracy, patience 10 and 7 halvings (η down to η₀/128).

    Parameters
    ----------
    patience : int, default 10
    max_halvings : int, default 7
    factor : float, default 0.5
    monitor : str, default "val_accuracy" (falls back to "accuracy" without validation data)
    """

    name = "plateau"

    def __init__(
        self,
        patience: int = 10,
        max_halvings: int = 7,
        factor: float = 0.5,
        monitor: str = "val_accuracy",
    ):
        self.patience = check_int(patience, "patience")
        self.max_halvings = check_int(max_halvings, "max_halvings", minimum=0)
        self.factor = check_probability(factor, "factor")
        if self.factor == 0:
            raise DeltapropError("factor=0 is invalid; expected a number in (0, 1)")
        self.monitor = monitor

    def start(self, lr0: float, epochs: int) -> None:
        super().start(lr0, epochs)
        self._current = float(lr0)
        self._best = -math.inf
        self._wait = 0
        self._halvings = 0

    def lr(self, epoch: int) -> float:
        return self._current

    def end_epoch(self, epoch: int, metrics: Mapping[str, Any]) -> bool:
        value = metrics.get(self.monitor)
        if value is None and self.monitor.startswith("val_"):
            value = metrics.get(self.monitor[4:])
        if value is None:
            return False
        # Accuracy improves upward; a cost improves downward.
        score = -value if "cost" in self.monitor else value
        if score > self._best:
            self._best, self._wait = score, 0
            return False
        self._wait += 1
        if self._wait >= self.patience:
            self._wait = 0
            self._halvings += 1
            if self._halvings >= self.max_halvings:
                return True
            self._current *= self.factor
        return False

    def state_dict(self) -> dict[str, Any]:
        return {
            "_current": self._current,
            "_best": self._best,
            "_wait": self._wait,
            "_halvings": self._halvings,
        }


SCHEDULES: dict[str, type[Schedule]] = {
    cls.name: cls for cls in (Constant, StepDecay, Cosine, PlateauHalving)
}


def get(schedule: str | dict[str, Any] | Schedule | None) -> Schedule:
    """A Schedule from None (constant), a name, a dict config or a Schedule object."""
    if schedule is None:
        return Constant()
    if isinstance(schedule, Schedule):
        return schedule
    params: dict[str, Any] = {}
    if isinstance(schedule, dict):
        params = {k: v for k, v in schedule.items() if k != "name"}
        schedule = schedule.get("name")
    key = schedule.lower() if isinstance(schedule, str) else ""
    if key not in SCHEDULES:
        valid = ", ".join(sorted(SCHEDULES))
        raise DeltapropError(f"schedule={_short(schedule)} is unknown; expected one of: {valid}")
    try:
        return SCHEDULES[key](**params)
    except TypeError as exc:
        raise DeltapropError(
            f"schedule {key!r} got unexpected parameters {sorted(params)}: {exc}"
        ) from None
