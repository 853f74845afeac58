"""One page's playground: its data, network, optimizer and training, driven by messages.

A ``Playground`` is owned by one websocket connection and touched by one thread at a time. The
page sends messages (plain dicts); ``handle`` answers each with a list of messages, and
``frame`` is the state the page draws: costs, weights, heatmaps, gradient norms and the
selected point's backward pass. Training is deltaprop's own: ``fit`` for one epoch per frame
while playing, ``Network.backprop`` and the optimizer's ``update`` for a single step.
"""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from .. import optimizers as _optimizers
from .._validation import DeltapropError, _short
from ..explain import explain as explain_step
from ..explain import nudge, render
from ..io import save
from ..network import Network
from ..training import TrainingDiverged, evaluate, fit
from .config import ConfigError, Limits, PlaygroundConfig, choices
from .data import make_data
from .views import formulas, gradient_norms, heatmaps, selected_point

__all__ = ["Playground", "dumps"]

_DATA_FIELDS = ("dataset", "noise", "points", "train", "seed")
_NETWORK_FIELDS = ("layers", "activations", "output", "loss")
_MAX_CURVE = 4000  # cost points kept; older ones are thinned to every other one


class Playground:
    """The state behind one page.

    Parameters
    ----------
    limits : Limits
    config : PlaygroundConfig, optional

    Examples
    --------
    >>> p = Playground()
    >>> _ = p.handle({"type": "step"})
    >>> f = p.frame()
    >>> f["sizes"], f["epoch"] > 0
    ([2, 8, 8, 2], True)
    """

    def __init__(self, limits: Limits | None = None, config: PlaygroundConfig | None = None):
        self.limits = limits or Limits()
        self.config = config or PlaygroundConfig()
        self.playing = False
        self.selected: int | None = None
        self.data = self._make_data(self.config)
        self.net = self._make_network(self.config, self.data.classes)
        self._restart()

    # ---------------------------------------------------------------- building
    def _make_data(self, cfg):
        return make_data(
            cfg.dataset, cfg.points, cfg.noise, cfg.train, cfg.seed, self.limits.resolution
        )

    @staticmethod
    def _make_network(cfg, classes):
        try:
            return Network(
                [2, *cfg.layers, classes], activation=list(cfg.activations),
                output_activation=cfg.output, loss=cfg.loss, seed=cfg.seed,
            )  # fmt: skip
        except DeltapropError as exc:
            raise ConfigError(str(exc)) from None

    def _restart(self):
        """Fresh optimizer state, counters and cost curve (the network as built)."""
        self.optimizer = _optimizers.get(self.config.optimizer, lr=self.config.lr)
        self.optimizer.init(self.net.parameters)
        self.optimizer.params = self.net.parameters  # fit continues this state
        self.samples_seen = 0
        self.steps = 0
        self._order = np.empty(0, dtype=np.int64)
        self._cursor = 0
        self.curve: list = []
        self._curve_sent = 0
        self._curve_reset = True
        self._record()

    def set_config(self, data: Any) -> None:
        """Apply a configuration from the page: rebuild what it changes, keep the rest."""
        new = PlaygroundConfig.from_dict(data, self.limits, base=self.config)
        old = self.config
        changed = {f for f in new.to_dict() if getattr(new, f) != getattr(old, f)}
        data_set = self._make_data(new) if changed & set(_DATA_FIELDS) else self.data
        if changed & set(_DATA_FIELDS + _NETWORK_FIELDS):
            net = self._make_network(new, data_set.classes)
            if data_set is not self.data:
                self.selected = None  # other points: the old index means nothing
            self.config, self.data, self.net = new, data_set, net
            self._restart()
        elif "optimizer" in changed:
            self.config = new
            self.optimizer = _optimizers.get(new.optimizer, lr=new.lr)
            self.optimizer.init(self.net.parameters)
            self.optimizer.params = self.net.parameters
        else:
            self.config = new

    def reset(self) -> None:
        """New weights drawn from the configuration's seed: the run starts again."""
        self.net = self._make_network(self.config, self.data.classes)
        self._restart()

    # ---------------------------------------------------------------- training
    @property
    def epoch(self) -> float:
        """Passes over the training data so far (fractional after single steps)."""
        return self.samples_seen / len(self.data.y_train)

    def train_epoch(self) -> None:
        """One epoch of mini-batch training by ``deltaprop.fit`` with this optimizer."""
        d, cfg = self.data, self.config
        fit(
            self.net, d.X_train, d.y_train, epochs=1, batch_size=min(cfg.batch, len(d.y_train)),
            lr=cfg.lr, optimizer=self.optimizer, l2=cfg.l2, train_metrics=False,
        )  # fmt: skip
        self.samples_seen += len(d.y_train)
        self.steps += -(-len(d.y_train) // cfg.batch)
        self._record()

    def train_step(self) -> None:
        """One mini-batch step: BP1–BP4 by ``Network.backprop``, then the optimizer's update."""
        d, cfg, net = self.data, self.config, self.net
        n = len(d.y_train)
        if self._cursor >= self._order.size:
            self._order, self._cursor = net.rng.permutation(n), 0
        idx = self._order[self._cursor : self._cursor + cfg.batch]
        self._cursor += idx.size
        g = net.backprop(d.X_train[idx], d.y_train[idx])
        grad = np.concatenate([w.ravel() for w in g.weights] + list(g.biases))
        if cfg.l2:  # ∂/∂w of (λ/2n) Σ w² is (λ/n) w, on the weights only
            grad[: net.num_weights] += (cfg.l2 / n) * net.parameters[: net.num_weights]
        self.optimizer.lr = cfg.lr
        self.optimizer.update(net.parameters, grad)
        if not np.isfinite(net.parameters).all():
            raise TrainingDiverged(f"training diverged at step {self.steps + 1}", None)
        self.samples_seen += idx.size
        self.steps += 1
        self._record()

    def apply_point_step(self) -> None:
        """The step-through's update: w ← w − η ∂C_x/∂w for the selected point alone."""
        if self.selected is None:
            raise ConfigError("no point is selected; expected a selected training point")
        x, y = self._point(self.selected)
        explain_step(self.net, x, y, lr=self.config.lr, apply=True)
        self.steps += 1
        self.samples_seen += 1
        self._record()

    def _point(self, i):
        y = self.net.one_hot(self.data.y_train[i : i + 1])[0]
        return self.data.X_train[i], y

    def _record(self) -> None:
        d = self.data
        cost = self.net.cost(d.X_train, d.y_train)
        test_cost = self.net.cost(d.X_test, d.y_test)
        self.curve.append([round(self.epoch, 6), _finite(cost), _finite(test_cost)])
        if len(self.curve) > _MAX_CURVE:
            self.curve = self.curve[::2]
            self._curve_reset = True

    # ---------------------------------------------------------------- messages
    def hello(self) -> dict:
        """The first message to a page: the configuration, the choices and the limits."""
        lim = self.limits
        return {
            "type": "hello",
            "config": self.config.to_dict(),
            "choices": choices(),
            "limits": {
                "max_hidden_layers": lim.max_hidden_layers, "max_width": lim.max_width,
                "min_points": lim.min_points, "max_points": lim.max_points,
            },
        }  # fmt: skip

    def handle(self, message: Any) -> list:
        """Act on one message from the page; the messages to send back (errors included).

        Messages are ``{"type": ...}`` objects: ``config`` (with ``config``), ``play``,
        ``pause``, ``step``, ``reset``, ``select`` (with ``index``, an integer or null),
        ``apply_step``, ``nudge`` (``layer``, ``neuron``, ``delta``) and ``export``
        (``what``: "model", "trace-json" or "trace-markdown").
        """
        kind = message.get("type") if isinstance(message, dict) else None
        handler = getattr(self, f"_on_{kind}", None) if isinstance(kind, str) else None
        if handler is None:
            return [_error(f"message type={_short(kind)} is unknown; expected one of {_TYPES}")]
        return self._answer(handler, message)

    def advance(self) -> list:
        """While playing, train one epoch; the messages to send back (a divergence's error)."""
        return self._answer(lambda m: self.train_epoch(), None) if self.playing else []

    def _answer(self, handler, message) -> list:
        try:
            return handler(message) or []
        except TrainingDiverged as exc:
            self.playing = False
            return [_error(str(exc).split(";")[0] + "; training paused")]
        except DeltapropError as exc:
            return [_error(str(exc))]

    def _on_config(self, m):
        self.set_config(m.get("config"))
        return [{"type": "config", "config": self.config.to_dict()}, self.points()]

    def _on_play(self, m):
        self.playing = True

    def _on_pause(self, m):
        self.playing = False

    def _on_step(self, m):
        self.playing = False
        self.train_step()

    def _on_reset(self, m):
        self.playing = False
        self.reset()

    def _on_apply_step(self, m):
        self.playing = False
        self.apply_point_step()

    def _on_select(self, m):
        index = m.get("index")
        n = len(self.data.y_train)
        if index is not None and (
            isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < n
        ):
            raise ConfigError(f"index={_short(index)} is invalid; expected 0..{n - 1} or null")
        self.selected = index

    def _on_nudge(self, m):
        if self.selected is None:
            raise ConfigError("no point is selected; select a training point to nudge")
        x, y = self._point(self.selected)
        result = nudge(
            self.net, x, y, _int_field(m, "layer"), _int_field(m, "neuron"), m.get("delta")
        )
        return [{"type": "nudge", "index": self.selected, **result.to_dict()}]

    def _on_export(self, m):
        what = m.get("what")
        if what == "model":
            return [self._export_model()]
        if what in ("trace-json", "trace-markdown"):
            return [self._export_trace(what)]
        raise ConfigError(
            f"what={_short(what)} is unknown; expected 'model', 'trace-json' or 'trace-markdown'"
        )

    def _export_model(self) -> dict:
        """The network as a model file (``deltaprop.io.save``), written in a private folder."""
        net = self.net.copy()
        net.history = None
        with tempfile.TemporaryDirectory(prefix="deltaprop-playground-") as tmp:
            data = save(net, Path(tmp) / "model.npz").read_bytes()
        return _file("playground-model.npz", "application/octet-stream", data)

    def _export_trace(self, what: str) -> dict:
        """One gradient step for the selected point (or point 0) traced by ``explain``."""
        x, y = self._point(self.selected if self.selected is not None else 0)
        trace = explain_step(self.net, x, y, lr=self.config.lr, max_parameters=None)
        if what == "trace-json":
            text = json.dumps(trace.to_dict(), indent=1, default=_json_number)
            return _file("playground-trace.json", "application/json", text.encode())
        text = render(trace, "markdown")
        return _file("playground-trace.md", "text/markdown", text.encode())

    def points(self) -> dict:
        return {"type": "data", **self.data.points()}

    # ---------------------------------------------------------------- the frame
    def frame(self) -> dict:
        """The state the page draws (and ``window.deltaprop.state()`` returns)."""
        net, d = self.net, self.data
        with np.errstate(over="ignore", invalid="ignore"):  # near divergence: inf, not warnings
            g = net.backprop(d.X_train, d.y_train)
            test_acc = evaluate(net, d.X_test, d.y_test)[1]
        acc = float(np.mean(net.predicted_labels(g.activations[-1]) == d.y_train))
        curve = self.curve[self._curve_sent :] if not self._curve_reset else self.curve
        out = {
            "type": "frame", "epoch": self.epoch, "step": self.steps, "playing": self.playing,
            "cost": _finite(g.cost), "test_cost": self.curve[-1][2], "accuracy": acc,
            "test_accuracy": test_acc, "sizes": list(net.sizes),
            "layer_activations": [a.name for a in net.layer_activations], "loss": net.loss.name,
            "weights": [W.tolist() for W in net.weights],
            "biases": [b.tolist() for b in net.biases],
            "grad_norms": gradient_norms(g.weights), "curve": curve,
            "curve_reset": self._curve_reset, "heatmaps": heatmaps(net, d), "selected": None,
            "formulas": formulas(net),
        }  # fmt: skip
        self._curve_sent, self._curve_reset = len(self.curve), False
        if self.selected is not None:
            x, label = d.X_train[self.selected], int(d.y_train[self.selected])
            with np.errstate(over="ignore", invalid="ignore"):
                point = selected_point(net, x, label, self.config.lr)
            out["selected"] = {"index": self.selected, **point}
        return out


_TYPES = ["config", "play", "pause", "step", "reset", "select", "apply_step", "nudge", "export"]


def _int_field(m: dict, name: str) -> int:
    value = m.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{name}={_short(value)} is invalid; expected an integer")
    return value


def _finite(v: float) -> float | None:
    return float(v) if math.isfinite(v) else None


def _json_number(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else str(v)


def _error(text: str) -> dict:
    return {"type": "error", "message": text}


def _file(name: str, mime: str, data: bytes) -> dict:
    import base64

    return {"type": "file", "name": name, "mime": mime, "data": base64.b64encode(data).decode()}


def dumps(message: dict) -> str:
    """A message as JSON text; NaN and infinities (not JSON) become null."""
    try:
        return json.dumps(message, allow_nan=False)
    except ValueError:
        return json.dumps(_json_safe(message), allow_nan=False)


def _json_safe(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return value
