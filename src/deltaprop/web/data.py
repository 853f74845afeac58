"""The playground's data: a generated two-dimensional set split into training and test points,
the square of the input plane it is drawn on, and the grid the heatmaps are computed over.

The sets are the toy problems of ``deltaprop.datasets.toy`` (xor, moons, circles, spirals) and a
mix of two Gaussian blobs, all with two classes; the same configuration (seed included) gives
the same points.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..datasets.toy import make_circles, make_moons, make_spirals, make_xor

__all__ = ["DATASETS", "PlaneData", "make_data"]


def _gaussians(n: int, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Two round blobs centred at (±1, ±1), standard deviation 0.25 + noise."""
    rng = np.random.default_rng(seed)
    y = np.arange(n, dtype=np.int64) % 2
    centres = np.array([[-1.0, -1.0], [1.0, 1.0]])
    X = centres[y] + (0.25 + noise) * rng.standard_normal((n, 2))
    perm = rng.permutation(n)
    return X[perm], y[perm]


# name → (generator(n, noise, seed) → (X, y), the noise a fresh page starts with)
DATASETS = {
    "xor": (lambda n, noise, seed: make_xor(n, noise=noise, seed=seed), 0.15),
    "moons": (lambda n, noise, seed: make_moons(n, noise=noise, seed=seed), 0.1),
    "circles": (lambda n, noise, seed: make_circles(n, noise=noise, seed=seed), 0.05),
    "spirals": (lambda n, noise, seed: make_spirals(n, n_arms=2, noise=noise, seed=seed), 0.02),
    "gaussians": (_gaussians, 0.1),
}


@dataclass
class PlaneData:
    """Training and test points of a two-class problem in the plane, and the heatmap grid.

    Attributes
    ----------
    X_train, X_test : ndarray, shape (n, 2)
    y_train, y_test : ndarray of int64, shape (n,)
    classes : int
    domain : (x_min, x_max, y_min, y_max), a square holding every point with a margin
    grid : ndarray, shape (resolution², 2)
        Cell centres row by row from the top (y_max) down, x from left to right: the order of
        a canvas's pixels.
    resolution : int
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    classes: int
    domain: tuple[float, float, float, float]
    grid: np.ndarray
    resolution: int

    def points(self) -> dict:
        """The points as plain data for the page: [x1, x2, label] rows and the domain."""
        return {
            "train": np.column_stack([self.X_train, self.y_train]).tolist(),
            "test": np.column_stack([self.X_test, self.y_test]).tolist(),
            "domain": list(self.domain),
            "classes": self.classes,
            "resolution": self.resolution,
        }


def make_data(
    name: str, n: int, noise: float, train_fraction: float, seed: int, resolution: int
) -> PlaneData:
    """Generate data set `name` and split it (a stratified-free random split by `seed`).

    Examples
    --------
    >>> d = make_data("moons", 100, 0.1, 0.6, 0, 20)
    >>> d.X_train.shape, d.X_test.shape, d.grid.shape
    ((60, 2), (40, 2), (400, 2))
    """
    X, y = DATASETS[name][0](n, noise, seed)
    rng = np.random.default_rng(seed + 1)
    order = rng.permutation(n)
    n_train = min(max(1, int(round(train_fraction * n))), n - 1)
    tr, te = order[:n_train], order[n_train:]
    return PlaneData(
        X_train=X[tr], y_train=y[tr], X_test=X[te], y_test=y[te],
        classes=int(y.max()) + 1, domain=_domain(X), grid=_grid(_domain(X), resolution),
        resolution=resolution,
    )  # fmt: skip


def _domain(X: np.ndarray) -> tuple[float, float, float, float]:
    """A square around the points with a 15 % margin, so that regions show beyond the data."""
    lo, hi = X.min(axis=0), X.max(axis=0)
    centre, half = (lo + hi) / 2, max(float((hi - lo).max()) / 2, 1e-3) * 1.15
    return (
        float(centre[0] - half), float(centre[0] + half),
        float(centre[1] - half), float(centre[1] + half),
    )  # fmt: skip


def _grid(domain: tuple[float, float, float, float], res: int) -> np.ndarray:
    x0, x1, y0, y1 = domain
    xs = x0 + (np.arange(res) + 0.5) * (x1 - x0) / res
    ys = y1 - (np.arange(res) + 0.5) * (y1 - y0) / res  # top row first, as a canvas
    gx, gy = np.meshgrid(xs, ys)
    return np.column_stack([gx.ravel(), gy.ravel()])
