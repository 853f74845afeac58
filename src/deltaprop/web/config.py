"""The playground's configuration: what the page may ask for, checked against fixed limits.

Every value a page sends is checked here before any work is done: names against the
library's registries, numbers against ranges that keep one page from exhausting the machine
(at most 6 hidden layers of 16 neurons, 1,000 points, a 50 × 50 heatmap grid). A bad value
raises ``ConfigError`` naming the field, the value and what was expected.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from .. import activations as _activations
from .. import losses as _losses
from .. import optimizers as _optimizers
from .._validation import DeltapropError, _short
from .data import DATASETS

__all__ = ["ConfigError", "Limits", "PlaygroundConfig", "choices"]


class ConfigError(DeltapropError):
    """A configuration value from the page that is not allowed."""


@dataclass(frozen=True)
class Limits:
    """Bounds on what one page may ask of the server."""

    max_hidden_layers: int = 6
    max_width: int = 16
    min_points: int = 20
    max_points: int = 1000
    resolution: int = 50
    max_updates_per_second: float = 60.0
    max_messages_per_second: float = 200.0
    max_message_bytes: int = 64 * 1024
    max_connections: int = 4


def choices() -> dict[str, list[str]]:
    """The names the page offers: data sets, activations, losses, optimizers."""
    acts = sorted({a.name for a in map(_activations.get, _activations.ACTIVATIONS)})
    hidden = [n for n in acts if _activations.get(n).elementwise]
    return {
        "dataset": list(DATASETS),
        "activation": hidden,
        "output": acts,
        "loss": sorted({_losses.get(n).name for n in _losses.LOSSES}),
        "optimizer": list(_optimizers.OPTIMIZERS),
    }


@dataclass
class PlaygroundConfig:
    """Everything that defines a playground run; the page keeps it in its URL.

    ``layers`` are the hidden layers' widths (the input has 2 neurons, the output one per
    class) and ``activations`` their activations, one per hidden layer.
    """

    dataset: str = "moons"
    noise: float = 0.1
    points: int = 500
    train: float = 0.5
    seed: int = 0
    layers: list = field(default_factory=lambda: [8, 8])
    activations: list = field(default_factory=lambda: ["tanh", "tanh"])
    output: str = "softmax"
    loss: str = "cross_entropy"
    lr: float = 0.1
    batch: int = 10
    optimizer: str = "sgd"
    l2: float = 0.0

    @classmethod
    def from_dict(cls, data: Any, limits: Limits, base: PlaygroundConfig | None = None):
        """A checked configuration: `base` (or the defaults) with the fields of `data`."""
        if not isinstance(data, dict):
            raise ConfigError(f"config={_short(data)} is invalid; expected an object")
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ConfigError(
                f"config has unknown fields {unknown}; expected some of {sorted(names)}"
            )
        merged = {**asdict(base if base is not None else cls()), **data}
        cfg = cls(**merged)
        cfg.check(limits)
        return cfg

    def to_dict(self) -> dict:
        return asdict(self)

    def check(self, limits: Limits) -> None:
        """Check (and normalise) every field against the choices and `limits`."""
        menu = choices()
        for name in ("dataset", "output", "loss", "optimizer"):
            _one_of(name, getattr(self, name), menu[name])
        self.noise = _number("noise", self.noise, 0.0, 1.0)
        self.points = _integer("points", self.points, limits.min_points, limits.max_points)
        self.train = _number("train", self.train, 0.1, 0.9)
        self.seed = _integer("seed", self.seed, 0, 2**31 - 1)
        self.lr = _number("lr", self.lr, 1e-6, 10.0)
        self.l2 = _number("l2", self.l2, 0.0, 10.0)
        self.batch = _integer("batch", self.batch, 1, limits.max_points)
        if not isinstance(self.layers, list) or len(self.layers) > limits.max_hidden_layers:
            raise ConfigError(
                f"layers={_short(self.layers)} is invalid; expected a list of at most "
                f"{limits.max_hidden_layers} hidden-layer widths"
            )
        self.layers = [
            _integer(f"layers[{i}]", w, 1, limits.max_width) for i, w in enumerate(self.layers)
        ]
        if not isinstance(self.activations, list) or len(self.activations) != len(self.layers):
            raise ConfigError(
                f"activations={_short(self.activations)} is invalid; expected a list of "
                f"{len(self.layers)} names, one per hidden layer"
            )
        for i, name in enumerate(self.activations):
            _one_of(f"activations[{i}]", name, menu["activation"])


def _one_of(name: str, value: Any, allowed: list[str]) -> None:
    if not isinstance(value, str) or value not in allowed:
        raise ConfigError(f"{name}={_short(value)} is unknown; expected one of {allowed}")


def _number(name: str, value: Any, lo: float, hi: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f"{name}={_short(value)} is invalid; expected a number in [{lo}, {hi}]")
    if not lo <= value <= hi:
        raise ConfigError(f"{name}={value} is out of range; expected a number in [{lo}, {hi}]")
    return float(value)


def _integer(name: str, value: Any, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ConfigError(f"{name}={_short(value)} is invalid; expected an integer in [{lo}, {hi}]")
    return value
