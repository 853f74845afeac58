"""Weight initialisers. Each takes an np.random.Generator and a layer's shape (n_out, n_in).

Every initialiser fills W^l (shape (n_out, n_in)) and b^l (shape (n_out,)) in place, in the
network's dtype, drawing from the generator so that a seed reproduces the network exactly.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from ._validation import DeltapropError, _short

__all__ = ["INITIALIZERS", "Initializer", "get", "default_for"]


class Initializer(Protocol):
    """An initialiser: fills W (n_out, n_in) and b (n_out,) in place, drawing from `rng`."""

    def __call__(self, rng: np.random.Generator, W: np.ndarray, b: np.ndarray, /) -> None: ...


def normal(rng: np.random.Generator, W: np.ndarray, b: np.ndarray) -> None:
    """The book's chapter 1: w, b ~ N(0, 1)."""
    W[...] = rng.standard_normal(W.shape)
    b[...] = rng.standard_normal(b.shape)


def scaled_normal(rng: np.random.Generator, W: np.ndarray, b: np.ndarray) -> None:
    """The book's chapter 3: w ~ N(0, 1/n_in), b ~ N(0, 1) (LeCun normal for the weights)."""
    W[...] = rng.standard_normal(W.shape) / np.sqrt(W.shape[1])
    b[...] = rng.standard_normal(b.shape)


def glorot_uniform(rng: np.random.Generator, W: np.ndarray, b: np.ndarray) -> None:
    """Glorot/Xavier uniform: w ~ U(−r, r), r = √(6 / (n_in + n_out)); b = 0."""
    r = np.sqrt(6.0 / (W.shape[0] + W.shape[1]))
    W[...] = rng.uniform(-r, r, W.shape)
    b[...] = 0.0


def glorot_normal(rng: np.random.Generator, W: np.ndarray, b: np.ndarray) -> None:
    """Glorot/Xavier normal: w ~ N(0, 2 / (n_in + n_out)); b = 0."""
    W[...] = rng.standard_normal(W.shape) * np.sqrt(2.0 / (W.shape[0] + W.shape[1]))
    b[...] = 0.0


def he_normal(rng: np.random.Generator, W: np.ndarray, b: np.ndarray) -> None:
    """He normal: w ~ N(0, 2 / n_in); b = 0. Suited to ReLU layers."""
    W[...] = rng.standard_normal(W.shape) * np.sqrt(2.0 / W.shape[1])
    b[...] = 0.0


def he_uniform(rng: np.random.Generator, W: np.ndarray, b: np.ndarray) -> None:
    """He uniform: w ~ U(−r, r), r = √(6 / n_in); b = 0."""
    r = np.sqrt(6.0 / W.shape[1])
    W[...] = rng.uniform(-r, r, W.shape)
    b[...] = 0.0


INITIALIZERS: dict[str, Initializer] = {
    "normal": normal,
    "scaled_normal": scaled_normal,
    "glorot_uniform": glorot_uniform,
    "glorot_normal": glorot_normal,
    "he": he_normal,
    "he_normal": he_normal,
    "he_uniform": he_uniform,
}
_ALIASES = {
    "xavier": "glorot_uniform",
    "xavier_uniform": "glorot_uniform",
    "xavier_normal": "glorot_normal",
    "lecun": "scaled_normal",
    "book": "normal",
}


def default_for(activation) -> str:
    """The initialiser 'auto' picks for a layer: the activation's own ``default_init``."""
    return getattr(activation, "default_init", "glorot_uniform")


def get(init: str | Initializer) -> Initializer:
    """Return an initialiser function from its name (or the function itself)."""
    if callable(init):
        return init
    key = init.lower() if isinstance(init, str) else ""
    key = _ALIASES.get(key, key)
    if key not in INITIALIZERS:
        valid = ", ".join(sorted([*INITIALIZERS, "auto"]))
        raise DeltapropError(f"init={_short(init)} is unknown; expected one of: {valid}")
    return INITIALIZERS[key]
