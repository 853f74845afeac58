"""Encoding, scaling and splitting helpers: one_hot, standardize, minmax_scale, train_test_split.

The bottom of the data package: it imports only ``_validation``; ``_base`` (Dataset,
`from_arrays`) builds on the checks and the split defined here, never the reverse.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .._validation import (
    DeltapropError,
    DeltapropTypeError,
    _short,
    check_array,
    check_dtype,
    check_int,
)

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, DTypeLike

__all__ = ["one_hot", "standardize", "minmax_scale", "Scaling", "train_test_split"]


def _check_X(X: ArrayLike, name: str, *, dtype: DTypeLike | None = None) -> np.ndarray:
    """A finite 2-D float array; float32 input stays float32 unless dtype says otherwise."""
    if dtype is None:
        dtype = np.float32 if getattr(X, "dtype", None) == np.float32 else np.float64
    return check_array(X, name, dtype=dtype, ndim=(2,))


def _check_y(y: ArrayLike | None, name: str, n: int) -> np.ndarray:
    """Labels (n,) as int64 when whole numbers, else finite float targets (n,) or (n, k)."""
    if y is None:
        raise DeltapropTypeError(f"{name} is None; expected an array of {n} labels")
    arr = np.asarray(y)
    if arr.dtype.kind in "iu" and arr.ndim == 1:
        if len(arr) != n:
            raise DeltapropError(
                f"{name} has {len(arr)} labels but X has {n} rows; expected one label per row"
            )
        return arr.astype(np.int64, copy=False)
    arr = check_array(arr, name, ndim=(1, 2), allow_empty=True)
    if len(arr) != n:
        raise DeltapropError(f"{name} has {len(arr)} rows but X has {n} rows; expected one per row")
    return arr


def _labels(y: ArrayLike | None, name: str) -> np.ndarray:
    """1-D non-negative class indices as int64 (whole-number floats accepted)."""
    if y is None:
        raise DeltapropTypeError(f"{name} is None; expected a 1-D array of class indices")
    arr = np.asarray(y)
    if arr.dtype.kind == "b" or arr.dtype.kind not in "iuf":
        raise DeltapropTypeError(f"{name} has dtype {arr.dtype}; expected integer class indices")
    if arr.ndim != 1:
        raise DeltapropError(f"{name} has shape {arr.shape}; expected a 1-D array of class indices")
    if arr.dtype.kind == "f":
        bad = ~np.isfinite(arr) | (arr != np.round(arr))
        if bad.any():
            i = int(np.argmax(bad))
            raise DeltapropError(
                f"{name}[{i}] = {float(arr[i])!r} is not a class index; expected whole numbers >= 0"
            )
    if arr.size and arr.min() < 0:
        i = int(np.argmin(arr))
        raise DeltapropError(
            f"{name}[{i}] = {arr[i].item()!r} is negative; expected class indices >= 0"
        )
    return arr.astype(np.int64)


def one_hot(
    y: ArrayLike, n_classes: int | None = None, *, dtype: DTypeLike = "float64"
) -> np.ndarray:
    """Encode class indices as one-hot rows.

    Parameters
    ----------
    y : array_like of int, shape (n,)
        Class indices in 0..n_classes-1.
    n_classes : int, optional
        Number of columns; default ``max(y) + 1``.
    dtype : {"float32", "float64"}

    Returns
    -------
    ndarray, shape (n, n_classes)
        ``Y[i, y[i]] = 1``, every other entry 0.

    Example
    -------
    >>> one_hot([2, 0], 3)
    array([[0., 0., 1.],
           [1., 0., 0.]])
    """
    labels = _labels(y, "y")
    dt = check_dtype(dtype)
    if n_classes is None:
        if labels.size == 0:
            raise DeltapropError("y is empty and n_classes is None; expected labels or n_classes")
        n_classes = int(labels.max()) + 1
    n_classes = check_int(n_classes, "n_classes", minimum=1)
    if labels.size and labels.max() >= n_classes:
        i = int(np.argmax(labels))
        raise DeltapropError(
            f"y[{i}] = {labels[i]} is out of range for n_classes={n_classes}; "
            f"expected class indices in [0, {n_classes - 1}]"
        )
    Y = np.zeros((labels.size, n_classes), dtype=dt)
    Y[np.arange(labels.size), labels] = 1
    return Y


@dataclass(frozen=True, repr=False)
class Scaling:
    """A per-column affine map Z = (X - offset) / scale fitted on training data.

    `standardize` gives offset = column mean, scale = column standard deviation; `minmax_scale`
    gives the offset and scale that send each column's [min, max] onto the feature range.
    Columns that are constant in the training data get scale 1 (they are shifted, not scaled).
    """

    offset: np.ndarray
    scale: np.ndarray

    @property
    def mean(self) -> np.ndarray:
        """The offset (the column means, for `standardize`)."""
        return self.offset

    @property
    def std(self) -> np.ndarray:
        """The divisor (for `standardize`: the column standard deviations, 1 if constant)."""
        return self.scale

    def apply(self, X: ArrayLike) -> np.ndarray:
        """(X - offset) / scale, as a new array."""
        X = _check_X(X, "X")
        if X.shape[1] != self.offset.size:
            raise DeltapropError(
                f"X has {X.shape[1]} columns but the scaling was fitted on "
                f"{self.offset.size}; expected the same columns"
            )
        return ((X - self.offset) / self.scale).astype(X.dtype, copy=False)

    def invert(self, Z: ArrayLike) -> np.ndarray:
        """Z * scale + offset: undoes `apply`."""
        Z = _check_X(Z, "Z")
        if Z.shape[1] != self.offset.size:
            raise DeltapropError(
                f"Z has {Z.shape[1]} columns but the scaling was fitted on "
                f"{self.offset.size}; expected the same columns"
            )
        return (Z * self.scale + self.offset).astype(Z.dtype, copy=False)

    def __repr__(self) -> str:
        return f"Scaling(n_features={self.offset.size})"


def _fit_apply(
    X_train: ArrayLike,
    others: tuple[ArrayLike, ...],
    offset_scale: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]],
) -> tuple[Any, ...]:
    X = _check_X(X_train, "X_train")
    offset, scale = offset_scale(X.astype(np.float64, copy=False))
    stats = Scaling(offset=offset, scale=scale)
    out = [stats.apply(X)]
    for i, other in enumerate(others):
        arr = _check_X(other, f"others[{i}]")
        if arr.shape[1] != X.shape[1]:
            raise DeltapropError(
                f"others[{i}] has {arr.shape[1]} columns but X_train has "
                f"{X.shape[1]}; expected the same columns"
            )
        out.append(stats.apply(arr))
    return (*out, stats)


def standardize(X_train: ArrayLike, *others: ArrayLike) -> tuple[Any, ...]:
    """Scale columns to zero mean and unit variance, using statistics of the training data only.

    Parameters
    ----------
    X_train : array_like, shape (n, d)
        Data the mean and standard deviation are computed from.
    *others : array_like, shape (m, d)
        Further arrays (validation, test) transformed with the training statistics.

    Returns
    -------
    tuple
        ``(X_train_s, *others_s, stats)``: the scaled arrays (float32 input stays float32, other
        input becomes float64) and a `Scaling` whose ``mean`` and ``std`` are the statistics used.

    Notes
    -----
    Z = (X - μ) / σ per column with the population σ (ddof = 0). A column that is constant in
    X_train has σ = 0: it is shifted to 0 and not divided (its ``std`` is reported as 1).

    Example
    -------
    >>> Xs, stats = standardize([[1.0, 5.0], [3.0, 5.0]])
    >>> Xs
    array([[-1.,  0.],
           [ 1.,  0.]])
    """

    def fit(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        mean = X.mean(axis=0)
        std = X.std(axis=0)
        std[np.ptp(X, axis=0) == 0] = 1.0
        return mean, std

    return _fit_apply(X_train, others, fit)


def minmax_scale(
    X_train: ArrayLike, *others: ArrayLike, feature_range: tuple[float, float] = (0.0, 1.0)
) -> tuple[Any, ...]:
    """Map each column's training [min, max] linearly onto `feature_range`.

    Parameters
    ----------
    X_train : array_like, shape (n, d)
    *others : array_like, shape (m, d)
        Transformed with the training minimum and maximum (so they may fall outside the range).
    feature_range : (low, high)
        Target interval, low < high.

    Returns
    -------
    tuple
        ``(X_train_s, *others_s, stats)``; `stats` is a `Scaling`. Constant columns map to `low`.

    Notes
    -----
    Z = low + (X - min) (high - low) / (max - min), written as (X - offset) / scale with
    scale = (max - min) / (high - low) and offset = min - low · scale.

    Example
    -------
    >>> minmax_scale([[0.0], [5.0], [10.0]])[0].ravel()
    array([0. , 0.5, 1. ])
    """
    try:
        low, high = (float(v) for v in feature_range)
    except (TypeError, ValueError):
        raise DeltapropError(
            f"feature_range={_short(feature_range)} is invalid; expected a pair "
            f"(low, high) of numbers"
        ) from None
    if not (np.isfinite(low) and np.isfinite(high) and low < high):
        raise DeltapropError(
            f"feature_range={_short(feature_range)} is invalid; expected finite low < high"
        )

    def fit(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = X.min(axis=0), X.max(axis=0)
        span = hi - lo
        span[span == 0] = high - low
        scale = span / (high - low)
        return lo - low * scale, scale

    return _fit_apply(X_train, others, fit)


def _resolve_count(size: Any, n: int, name: str) -> int:
    """A part size as a fraction in [0, 1) or a count in [0, n) -> a count (fractions round up)."""
    if isinstance(size, (bool, np.bool_)) or not isinstance(
        size, (int, float, np.integer, np.floating)
    ):
        raise DeltapropTypeError(
            f"{name}={_short(size)} is invalid; expected a fraction in [0, 1) or a "
            f"whole number of samples"
        )
    if isinstance(size, (int, np.integer)):
        if not 0 <= size < n:
            raise DeltapropError(
                f"{name}={size} is invalid for {n} samples; expected a count in "
                f"[0, {n - 1}] (or a fraction in [0, 1))"
            )
        return int(size)
    if not (np.isfinite(size) and 0.0 <= size < 1.0):
        raise DeltapropError(
            f"{name}={_short(size)} is invalid; expected a fraction in [0, 1) "
            f"(or a whole number of samples)"
        )
    return int(np.ceil(round(float(size) * n, 9)))


def _stratified_counts(counts: np.ndarray, n_test: int) -> np.ndarray:
    """Split n_test over classes in proportion to `counts`.

    Largest remainder first; ties go to the lower class.
    """
    exact = counts * (n_test / counts.sum())
    take = np.floor(exact).astype(np.int64)
    rest = n_test - int(take.sum())
    order = np.lexsort((np.arange(counts.size), -(exact - take)))
    for c in order:
        if rest == 0:
            break
        if take[c] < counts[c]:
            take[c] += 1
            rest -= 1
    return take


def train_test_split(
    X: ArrayLike,
    y: ArrayLike,
    test_size: float = 0.25,
    *,
    seed: int = 0,
    stratify: bool | ArrayLike | None = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Shuffle and split (X, y) into a training and a test part.

    Parameters
    ----------
    X : array_like, shape (n, d)
    y : array_like, shape (n,) or (n, k)
    test_size : float or int
        Fraction of the n samples in (0, 1), rounded up, or a count in [1, n-1].
    seed : int
        Seed of the permutation (numpy's default Generator); same seed, same split.
    stratify : bool or array_like of shape (n,)
        True: keep the class proportions of y (labels, or one-hot rows) in both parts.
        An array: keep the proportions of these groups instead.

    Returns
    -------
    X_train, X_test, y_train, y_test
        Rows of each part in shuffled order. X keeps a float32 dtype, else becomes float64;
        integer labels become int64.

    Notes
    -----
    Stratified: each class c gets round(n_test · n_c / n) test rows by the largest-remainder
    rule, so the test part has exactly n_test rows.

    Example
    -------
    >>> X_tr, X_te, y_tr, y_te = train_test_split([[0.], [1.], [2.], [3.]], [0, 0, 1, 1], 0.5,
    ...                                           stratify=True)
    >>> sorted(y_te.tolist())
    [0, 1]
    """
    X = _check_X(X, "X")
    y = _check_y(y, "y", len(X))
    n = len(X)
    seed = check_int(seed, "seed", minimum=0)
    if n < 2:
        raise DeltapropError(f"X has {n} row(s); expected at least 2 to split")
    n_test = _resolve_count(test_size, n, "test_size")
    if n_test < 1:
        raise DeltapropError(
            f"test_size={test_size!r} gives no test samples out of {n}; expected a "
            f"fraction in (0, 1) or a count in [1, {n - 1}]"
        )
    rng = np.random.default_rng(seed)
    by_y = stratify is None or isinstance(stratify, (bool, np.bool_))
    if by_y and not stratify:
        perm = rng.permutation(n)
        test_idx, train_idx = perm[:n_test], perm[n_test:]
    else:
        if by_y:
            groups = y if y.ndim == 1 else np.argmax(y, axis=1)
            name = "y"
        else:
            groups = np.asarray(stratify)
            name = "stratify"
            if groups.ndim != 1 or len(groups) != n:
                raise DeltapropError(
                    f"stratify has shape {groups.shape}; expected True, False or "
                    f"one group label per row ({n},)"
                )
        try:
            values, inverse, counts = np.unique(groups, return_inverse=True, return_counts=True)
        except TypeError:
            raise DeltapropTypeError(
                f"{name} could not be sorted into groups; expected class labels"
            ) from None
        if name == "y" and values.dtype.kind == "f" and len(values) > n // 2:
            raise DeltapropError(
                f"y has {len(values)} distinct values for {n} rows, which look like "
                f"regression targets; stratify=True expects class labels"
            )
        take = _stratified_counts(counts, n_test)
        test_parts: list[np.ndarray] = []
        train_parts: list[np.ndarray] = []
        for c in range(len(values)):
            idx = rng.permutation(np.flatnonzero(inverse.ravel() == c))
            test_parts.append(idx[: take[c]])
            train_parts.append(idx[take[c] :])
        test_idx = rng.permutation(np.concatenate(test_parts))
        train_idx = rng.permutation(np.concatenate(train_parts))
    return X[train_idx], X[test_idx], y[train_idx], y[test_idx]
