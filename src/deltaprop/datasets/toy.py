"""Two-dimensional toy problems generated from a seed: XOR, two moons, circles, spirals.

Each ``make_*`` returns ``(X, y)``: X float64 of shape (n, 2), y int64 class indices. The same
arguments (seed included) give the same arrays.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .._validation import DeltapropError, check_int, check_nonnegative
from ._base import Dataset, from_arrays

if TYPE_CHECKING:
    from numpy.typing import DTypeLike

__all__ = ["make_xor", "make_moons", "make_circles", "make_spirals"]

_XOR_CORNERS = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
_XOR_LABELS = np.array([0, 1, 1, 0], dtype=np.int64)


def make_xor(
    n_samples: int = 4, *, noise: float = 0.0, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """The XOR truth table, or a noisy sample around its four corners.

    Parameters
    ----------
    n_samples : int
        Number of points; row i sits at corner i mod 4, so the default 4 is the truth table
        (0,0)→0, (0,1)→1, (1,0)→1, (1,1)→0 in that order.
    noise : float
        Standard deviation of Gaussian noise added to each coordinate.
    seed : int

    Returns
    -------
    X : ndarray, shape (n_samples, 2)
    y : ndarray of int64, shape (n_samples,)
        x1 XOR x2 of the point's corner.

    Example
    -------
    >>> X, y = make_xor()
    >>> y
    array([0, 1, 1, 0])
    """
    n = check_int(n_samples, "n_samples", minimum=1)
    noise = check_nonnegative(noise, "noise")
    rng = np.random.default_rng(check_int(seed, "seed", minimum=0))
    corner = np.arange(n) % 4
    X = _XOR_CORNERS[corner] + noise * rng.standard_normal((n, 2))
    return X, _XOR_LABELS[corner].copy()


def make_moons(
    n_samples: int = 200, *, noise: float = 0.1, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved half circles.

    Parameters
    ----------
    n_samples : int
        Total number of points (class 0 gets n//2, class 1 the rest); at least 2.
    noise : float
        Standard deviation of Gaussian noise added to each coordinate.
    seed : int

    Returns
    -------
    X : ndarray, shape (n_samples, 2)
    y : ndarray of int64, shape (n_samples,)
        0 for the upper moon, 1 for the lower one. Rows are shuffled.

    Notes
    -----
    Class 0: (cos t, sin t), class 1: (1 − cos t, ½ − sin t), t evenly spaced in [0, π].

    Example
    -------
    >>> X, y = make_moons(100, seed=1)
    >>> X.shape, int(y.sum())
    ((100, 2), 50)
    """
    n = check_int(n_samples, "n_samples", minimum=2)
    noise = check_nonnegative(noise, "noise")
    rng = np.random.default_rng(check_int(seed, "seed", minimum=0))
    n0 = n // 2
    t0, t1 = np.linspace(0, np.pi, n0), np.linspace(0, np.pi, n - n0)
    X = np.concatenate(
        [
            np.column_stack([np.cos(t0), np.sin(t0)]),
            np.column_stack([1 - np.cos(t1), 0.5 - np.sin(t1)]),
        ]
    )
    y = np.repeat(np.array([0, 1], dtype=np.int64), [n0, n - n0])
    return _shuffle_noise(X, y, noise, rng)


def make_circles(
    n_samples: int = 200, *, noise: float = 0.05, factor: float = 0.5, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """A small circle inside a large one.

    Parameters
    ----------
    n_samples : int
        Total number of points (outer circle n//2, inner the rest); at least 2.
    noise : float
        Standard deviation of Gaussian noise added to each coordinate.
    factor : float
        Radius of the inner circle relative to the outer one (radius 1), in (0, 1).
    seed : int

    Returns
    -------
    X : ndarray, shape (n_samples, 2)
    y : ndarray of int64, shape (n_samples,)
        0 for the outer circle, 1 for the inner one. Rows are shuffled.

    Example
    -------
    >>> X, y = make_circles(10, noise=0.0)
    >>> sorted(set(np.round(np.hypot(X[:, 0], X[:, 1]), 6).tolist()))
    [0.5, 1.0]
    """
    n = check_int(n_samples, "n_samples", minimum=2)
    noise = check_nonnegative(noise, "noise")
    if (
        isinstance(factor, bool)
        or not isinstance(factor, (int, float, np.floating))
        or not 0 < factor < 1
    ):
        raise DeltapropError(f"factor={factor!r} is invalid; expected a number in (0, 1)")
    rng = np.random.default_rng(check_int(seed, "seed", minimum=0))
    n0 = n // 2
    t0 = np.linspace(0, 2 * np.pi, n0, endpoint=False)
    t1 = np.linspace(0, 2 * np.pi, n - n0, endpoint=False)
    X = np.concatenate(
        [
            np.column_stack([np.cos(t0), np.sin(t0)]),
            factor * np.column_stack([np.cos(t1), np.sin(t1)]),
        ]
    )
    y = np.repeat(np.array([0, 1], dtype=np.int64), [n0, n - n0])
    return _shuffle_noise(X, y, noise, rng)


def make_spirals(
    n_samples: int = 300, *, n_arms: int = 3, noise: float = 0.02, turns: float = 1.0, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Interleaved spiral arms, one class per arm.

    Parameters
    ----------
    n_samples : int
        Total number of points, spread as evenly as possible over the arms.
    n_arms : int
        Number of arms (= classes), at least 2.
    noise : float
        Standard deviation of Gaussian noise added to each coordinate.
    turns : float
        How many full turns each arm makes from the centre to radius 1.
    seed : int

    Returns
    -------
    X : ndarray, shape (n_samples, 2)
    y : ndarray of int64, shape (n_samples,)
        The arm, 0..n_arms-1. Rows are shuffled.

    Notes
    -----
    Arm k: radius r evenly spaced in (0, 1], angle θ = 2πk/K + 2π · turns · r, point
    r (cos θ, sin θ).

    Example
    -------
    >>> X, y = make_spirals(300, n_arms=3)
    >>> np.bincount(y)
    array([100, 100, 100])
    """
    k = check_int(n_arms, "n_arms", minimum=2)
    n = check_int(n_samples, "n_samples", minimum=k)
    noise = check_nonnegative(noise, "noise")
    turns = check_nonnegative(turns, "turns")
    rng = np.random.default_rng(check_int(seed, "seed", minimum=0))
    counts = [n // k + (arm < n % k) for arm in range(k)]
    parts = []
    for arm, m in enumerate(counts):
        r = np.linspace(1.0 / m, 1.0, m)
        theta = 2 * np.pi * arm / k + 2 * np.pi * turns * r
        parts.append(r[:, None] * np.column_stack([np.cos(theta), np.sin(theta)]))
    y = np.repeat(np.arange(k, dtype=np.int64), counts)
    return _shuffle_noise(np.concatenate(parts), y, noise, rng)


def _shuffle_noise(
    X: np.ndarray, y: np.ndarray, noise: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    X = X + noise * rng.standard_normal(X.shape)
    perm = rng.permutation(len(X))
    return X[perm], y[perm]


def _toy(
    name: str,
    X_y: tuple[np.ndarray, np.ndarray],
    seed: int,
    validation: float,
    test: float,
    dtype: DTypeLike,
    description: str,
) -> Dataset:
    X, y = X_y
    return from_arrays(
        X,
        y,
        name=name,
        validation=validation,
        test=test,
        seed=seed,
        stratify=True,
        dtype=dtype,
        feature_names=("x1", "x2"),
        description=description,
    )


def load_xor(
    *,
    n_samples: int = 4,
    noise: float = 0.0,
    seed: int = 0,
    validation: float = 0,
    test: float = 0,
    dtype: DTypeLike = "float32",
) -> Dataset:
    """`make_xor` as a Dataset; by default all 4 points are training data (no val/test)."""
    return _toy(
        "xor",
        make_xor(n_samples, noise=noise, seed=seed),
        seed,
        validation,
        test,
        dtype,
        f"XOR: {n_samples} points at the corners of the unit square, noise {noise}",
    )


def load_moons(
    *,
    n_samples: int = 200,
    noise: float = 0.1,
    seed: int = 0,
    validation: float = 0.2,
    test: float = 0.2,
    dtype: DTypeLike = "float32",
) -> Dataset:
    """`make_moons` as a Dataset split 60/20/20."""
    return _toy(
        "moons",
        make_moons(n_samples, noise=noise, seed=seed),
        seed,
        validation,
        test,
        dtype,
        f"two moons, {n_samples} points, noise {noise}",
    )


def load_circles(
    *,
    n_samples: int = 200,
    noise: float = 0.05,
    factor: float = 0.5,
    seed: int = 0,
    validation: float = 0.2,
    test: float = 0.2,
    dtype: DTypeLike = "float32",
) -> Dataset:
    """`make_circles` as a Dataset split 60/20/20."""
    return _toy(
        "circles",
        make_circles(n_samples, noise=noise, factor=factor, seed=seed),
        seed,
        validation,
        test,
        dtype,
        f"circles, {n_samples} points, factor {factor}, noise {noise}",
    )


def load_spirals(
    *,
    n_samples: int = 300,
    n_arms: int = 3,
    noise: float = 0.02,
    turns: float = 1.0,
    seed: int = 0,
    validation: float = 0.2,
    test: float = 0.2,
    dtype: DTypeLike = "float32",
) -> Dataset:
    """`make_spirals` as a Dataset split 60/20/20."""
    return _toy(
        "spirals",
        make_spirals(n_samples, n_arms=n_arms, noise=noise, turns=turns, seed=seed),
        seed,
        validation,
        test,
        dtype,
        f"spirals, {n_arms} arms, {n_samples} points, {turns} turns, noise {noise}",
    )
