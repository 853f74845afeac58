"""The Dataset container, the errors of the data loaders and `from_arrays`."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .._validation import DeltapropError, DeltapropTypeError, _short, check_dtype, check_int
from .preprocessing import _check_X, _check_y, _resolve_count, train_test_split

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, DTypeLike

__all__ = ["Dataset", "DatasetError", "ChecksumError", "from_arrays"]


class DatasetError(DeltapropError):
    """A data file is missing, unreadable or malformed, or a data set cannot be built.

    A ValueError (through DeltapropError), so callers may catch either.
    """


class ChecksumError(DatasetError):
    """A file's contents do not match the checksum of the file it claims to be."""


def _fspath(path: Any, name: str = "path") -> str:
    """str of a path-like argument, or a TypeError naming it."""
    try:
        return os.fspath(path)
    except TypeError:
        raise DeltapropTypeError(
            f"{name}={_short(path)} is not a path; expected a str or os.PathLike naming a file"
        ) from None


@dataclass(frozen=True, repr=False, eq=False)
class Dataset:
    """A classification data set split into training, validation and test parts.

    Attributes
    ----------
    name : str
        Registry name ("digits", "mnist", "moons", ...) or the name given to `from_arrays`.
    X_train, X_val, X_test : ndarray, shape (n, n_features)
        Features, floating point. `X_val`/`X_test` are None when the data set has no such part.
    y_train, y_val, y_test : ndarray, shape (n,)
        Class indices 0..n_classes-1 (int64), or float targets for regression data
        (then `n_classes` is None). None exactly where the matching X is None.
    n_classes : int or None
        Number of classes (the size of a classifier's output layer).
    feature_names : tuple of str or None
        One name per column of X.
    image_shape : tuple (rows, cols) or None
        For image data: each row of X is an image of this shape flattened row by row.
    classes : ndarray or None
        The original label of each class index when the labels were not 0..k-1 integers
        (e.g. the strings of a CSV target column), else None.
    description : str
        Where the data came from.

    Example
    -------
    >>> from deltaprop.datasets import load
    >>> ds = load("digits")
    >>> ds.X_train.shape, ds.n_classes
    ((1077, 64), 10)
    """

    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray | None
    y_val: np.ndarray | None
    X_test: np.ndarray | None
    y_test: np.ndarray | None
    n_classes: int | None
    feature_names: tuple | None = None
    image_shape: tuple | None = None
    classes: np.ndarray | None = None
    description: str = ""

    def __post_init__(self) -> None:
        n_features = None
        for part in ("train", "val", "test"):
            X, y = getattr(self, "X_" + part), getattr(self, "y_" + part)
            if X is None or y is None:
                if part == "train" or (X is None) != (y is None):
                    raise DatasetError(
                        f"Dataset {self.name!r}: X_{part} is "
                        f"{'None' if X is None else 'an array'} but y_{part} is "
                        f"{'None' if y is None else 'an array'}; expected both "
                        f"arrays (or, except for train, both None)"
                    )
                continue
            if not isinstance(X, np.ndarray) or X.ndim != 2:
                raise DatasetError(
                    f"Dataset {self.name!r}: X_{part} has shape "
                    f"{getattr(X, 'shape', None)}; expected a 2-D array"
                )
            if not isinstance(y, np.ndarray) or y.ndim not in (1, 2) or len(y) != len(X):
                raise DatasetError(
                    f"Dataset {self.name!r}: y_{part} has shape "
                    f"{getattr(y, 'shape', None)} but X_{part} has {len(X)} rows; "
                    f"expected one label per row"
                )
            if n_features is None:
                n_features = X.shape[1]
            elif X.shape[1] != n_features:
                raise DatasetError(
                    f"Dataset {self.name!r}: X_{part} has {X.shape[1]} columns but "
                    f"X_train has {n_features}; expected the same features"
                )
        if self.feature_names is not None and len(self.feature_names) != n_features:
            raise DatasetError(
                f"Dataset {self.name!r}: {len(self.feature_names)} feature_names "
                f"for {n_features} columns; expected one name per column"
            )

    @property
    def n_features(self) -> int:
        """Number of columns of X."""
        return self.X_train.shape[1]

    def parts(self) -> list[tuple[str, np.ndarray, np.ndarray]]:
        """The (name, X, y) triples of the parts present, in the order train, val, test."""
        return [
            (p, getattr(self, "X_" + p), getattr(self, "y_" + p))
            for p in ("train", "val", "test")
            if getattr(self, "X_" + p) is not None
        ]

    def __repr__(self) -> str:
        shapes = ", ".join(f"{p}={X.shape}" for p, X, _ in self.parts())
        return (
            f"Dataset({self.name!r}, {shapes}, n_classes={self.n_classes}, "
            f"dtype={self.X_train.dtype})"
        )


def from_arrays(
    X: ArrayLike,
    y: ArrayLike,
    *,
    name: str = "data",
    validation: float = 0.2,
    test: float = 0.2,
    seed: int | None = 0,
    stratify: bool | None = None,
    dtype: DTypeLike = "float32",
    classes: np.ndarray | None = None,
    feature_names: Iterable[str] | None = None,
    image_shape: tuple[int, int] | None = None,
    description: str = "",
) -> Dataset:
    """Split arrays into a `Dataset` with training, validation and test parts.

    Parameters
    ----------
    X : array_like, shape (n, n_features)
        Numeric features.
    y : array_like, shape (n,) or (n, n_outputs)
        Class indices (integers >= 0) for classification, or float targets.
    name : str
        Name stored in the Dataset.
    validation, test : float or int
        Size of the validation and test parts: a fraction of all n samples in [0, 1)
        (rounded up) or a count. 0 gives no such part (X_val/X_test None).
    seed : int or None
        Seed of the shuffle; the same seed gives the same split. None means 0.
    stratify : bool or None
        Keep the class proportions in every part. None: when y holds class indices.
    dtype : {"float32", "float64"}
        dtype of the X arrays.
    classes, feature_names, image_shape, description
        Stored in the Dataset as given.

    Returns
    -------
    Dataset
        With no split at all (validation=test=0) the rows keep their order.

    Example
    -------
    >>> import numpy as np
    >>> ds = from_arrays(np.arange(20.0).reshape(10, 2), np.arange(10) % 2, test=0.2,
    ...                  validation=0)
    >>> ds.X_train.shape, ds.X_test.shape
    ((8, 2), (2, 2))
    """
    dt = check_dtype(dtype)
    seed = 0 if seed is None else check_int(seed, "seed", minimum=0)
    X = _check_X(X, "X", dtype=dt)
    y = _check_y(y, "y", len(X))
    n = len(X)
    n_test = _resolve_count(test, n, "test")
    n_val = _resolve_count(validation, n, "validation")
    if n_test + n_val >= n:
        raise DeltapropError(
            f"validation={validation!r} and test={test!r} leave no training samples "
            f"out of {n}; expected them to sum to less than {n} samples"
        )
    is_labels = y.ndim == 1 and y.dtype.kind in "iu"
    if stratify is None:
        stratify = is_labels
    n_classes = None
    if is_labels:
        n_classes = int(len(classes)) if classes is not None else int(y.max()) + 1
    X_val: np.ndarray | None = None
    y_val: np.ndarray | None = None
    X_test: np.ndarray | None = None
    y_test: np.ndarray | None = None
    X_train, y_train = X, y
    if n_test:
        X_train, X_test, y_train, y_test = train_test_split(
            X_train, y_train, n_test, seed=seed, stratify=stratify
        )
    if n_val:
        X_train, X_val, y_train, y_val = train_test_split(
            X_train, y_train, n_val, seed=seed + 1, stratify=stratify
        )
    return Dataset(
        name=name,
        X_train=X_train,
        y_train=y_train,
        X_val=X_val,
        y_val=y_val,
        X_test=X_test,
        y_test=y_test,
        n_classes=n_classes,
        feature_names=None if feature_names is None else tuple(feature_names),
        image_shape=image_shape,
        classes=classes,
        description=description,
    )
