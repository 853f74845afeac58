"""Optimizers: small objects with ``init(params)`` and ``update(params, grads)``, in place.

``params`` and ``grads`` are the network's flat parameter vector θ and the flat gradient
∂C/∂θ of the batch cost (the batch mean of the per-sample gradients). ``lr`` is an attribute
so that a learning-rate schedule can change it between epochs. Every update writes into
preallocated state; nothing is allocated per step.

Optimizers whose step is linear in η ∂C/∂θ (SGD, momentum, Nesterov) also have
``update_scaled(params, step)``, which takes ``step`` = η ∂C/∂θ already scaled: the training
kernel folds η into the output error Δ^L together with the batch mean 1/m, which saves a pass
over every parameter per step. ``folds_lr`` says whether an object supports it.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._validation import DeltapropError, _short, check_positive, check_probability

__all__ = ["Optimizer", "SGD", "Momentum", "Nesterov", "Adam", "OPTIMIZERS", "get"]


class Optimizer:
    """Base class. Subclasses implement ``init`` and ``update``."""

    name = "optimizer"

    def __init__(self, lr: float = 0.1):
        self.lr = check_positive(lr, "lr")

    def init(self, params: np.ndarray) -> None:
        """Create the state for a parameter vector shaped like `params`."""
        self._buf = np.empty_like(params)

    def update(self, params: np.ndarray, grads: np.ndarray) -> None:
        """Change `params` in place by one step; `grads` may be overwritten."""
        raise NotImplementedError

    def update_scaled(self, params: np.ndarray, step: np.ndarray) -> None:
        """The same step as ``update`` from ``step`` = lr · grads; `step` may be overwritten."""
        raise NotImplementedError

    @property
    def folds_lr(self) -> bool:
        """Whether ``update_scaled`` may replace ``update``.

        True only when the class that defines the ``update`` in use also defines
        ``update_scaled``, so that a subclass overriding ``update`` alone is never bypassed.
        """
        for klass in type(self).__mro__:
            if "update" in vars(klass):
                return "update_scaled" in vars(klass)
        return False

    def state_dict(self) -> dict[str, Any]:
        """Arrays and numbers that, with ``load_state_dict``, resume the optimizer exactly."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for key, value in state.items():
            current = getattr(self, key)
            if isinstance(current, np.ndarray):
                current[...] = value
            else:
                setattr(self, key, type(current)(value))

    def config(self) -> dict[str, Any]:
        return {"name": self.name, "lr": self.lr}

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in self.config().items() if k != "name")
        return f"{type(self).__name__}({inner})"


class SGD(Optimizer):
    r"""Plain gradient descent, the textbook's rule.

    θ ← θ − η ∂C/∂θ, with ∂C/∂θ the batch mean: W ← W − (η/m) Σ_x ∂C_x/∂W.
    """

    name = "sgd"

    def update(self, params: np.ndarray, grads: np.ndarray) -> None:
        grads *= self.lr
        self.update_scaled(params, grads)

    def update_scaled(self, params: np.ndarray, step: np.ndarray) -> None:
        params -= step


class Momentum(SGD):
    r"""Momentum (the book's chapter 3 form).

    v ← μ v − η ∂C/∂θ
    θ ← θ + v

    Parameters
    ----------
    lr : float
    momentum : float in [0, 1), default 0.9 (μ)
    """

    name = "momentum"

    def __init__(self, lr: float = 0.1, momentum: float = 0.9):
        super().__init__(lr)
        self.momentum = check_probability(momentum, "momentum")

    def init(self, params: np.ndarray) -> None:
        self.velocity = np.zeros_like(params)

    def update_scaled(self, params: np.ndarray, step: np.ndarray) -> None:
        v = self.velocity
        v *= self.momentum
        v -= step
        params += v

    def state_dict(self) -> dict[str, Any]:
        return {"velocity": self.velocity}

    def config(self) -> dict[str, Any]:
        return {**super().config(), "momentum": self.momentum}


class Nesterov(Momentum):
    r"""Nesterov momentum, in the form that needs the gradient at θ only (Sutskever et al.).

    v ← μ v − η ∂C/∂θ
    θ ← θ + μ v − η ∂C/∂θ
    """

    name = "nesterov"

    def update_scaled(self, params: np.ndarray, step: np.ndarray) -> None:
        v = self.velocity
        v *= self.momentum
        v -= step
        params -= step
        np.multiply(v, self.momentum, out=step)
        params += step


class Adam(Optimizer):
    r"""Adam (Kingma and Ba), with bias correction.

    g = ∂C/∂θ;  t ← t + 1
    m ← β₁ m + (1 − β₁) g
    v ← β₂ v + (1 − β₂) g²
    θ ← θ − η (m / (1 − β₁ᵗ)) / (√(v / (1 − β₂ᵗ)) + ε)

    Parameters
    ----------
    lr : float, default 0.001
    beta1, beta2 : floats in [0, 1), defaults 0.9 and 0.999
    eps : float, default 1e-8
    """

    name = "adam"

    def __init__(
        self, lr: float = 0.001, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8
    ):
        super().__init__(lr)
        self.beta1 = check_probability(beta1, "beta1")
        self.beta2 = check_probability(beta2, "beta2")
        self.eps = check_positive(eps, "eps")

    def init(self, params: np.ndarray) -> None:
        self.m = np.zeros_like(params)
        self.v = np.zeros_like(params)
        self._buf = np.empty_like(params)
        self.t = 0

    def update(self, params: np.ndarray, grads: np.ndarray) -> None:
        self.t += 1
        b1, b2 = self.beta1, self.beta2
        m, v, buf = self.m, self.v, self._buf
        m *= b1
        np.multiply(grads, 1.0 - b1, out=buf)
        m += buf
        v *= b2
        np.multiply(grads, grads, out=buf)
        buf *= 1.0 - b2
        v += buf
        # The bias corrections are scalars: fold them into the step size and into ε. Python
        # floats: a numpy float64 operand would make every float32 operation run in float64.
        c1 = 1.0 - b1**self.t
        c2 = math.sqrt(1.0 - b2**self.t)
        np.sqrt(v, out=buf)
        buf += self.eps * c2
        np.divide(m, buf, out=buf)
        buf *= self.lr * c2 / c1
        params -= buf

    def state_dict(self) -> dict[str, Any]:
        return {"m": self.m, "v": self.v, "t": self.t}

    def config(self) -> dict[str, Any]:
        return {**super().config(), "beta1": self.beta1, "beta2": self.beta2, "eps": self.eps}


OPTIMIZERS: dict[str, type[Optimizer]] = {cls.name: cls for cls in (SGD, Momentum, Nesterov, Adam)}


def get(
    optimizer: str | dict[str, Any] | Optimizer, lr: float | None = None, **kwargs: Any
) -> Optimizer:
    """An Optimizer from a name (with `lr` and hyperparameters) or an Optimizer object.

    Examples
    --------
    >>> get("momentum", lr=0.5, momentum=0.8)
    Momentum(lr=0.5, momentum=0.8)
    """
    if isinstance(optimizer, Optimizer):
        if lr is not None:
            optimizer.lr = check_positive(lr, "lr")
        return optimizer
    name: object = optimizer
    if isinstance(optimizer, dict):
        kwargs = {**{k: v for k, v in optimizer.items() if k != "name"}, **kwargs}
        name = optimizer.get("name")
    key = name.lower() if isinstance(name, str) else ""
    if key not in OPTIMIZERS:
        valid = ", ".join(sorted(OPTIMIZERS))
        raise DeltapropError(f"optimizer={_short(name)} is unknown; expected one of: {valid}")
    cls = OPTIMIZERS[key]
    if lr is not None:
        kwargs["lr"] = lr
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise DeltapropError(
            f"optimizer {key!r} got unexpected parameters {sorted(kwargs)}: {exc}"
        ) from None
