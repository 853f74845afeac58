"""A user's table as a split Dataset, with the preprocessing fitted on its training rows.

`load_table` reads a CSV file (or takes a Table or DataFrame), splits the rows into training,
validation and test parts (stratified by class for classification), fits a `Preprocessor` on
the training rows only (the class names on every row), and encodes all three parts with it.
`split_rows` is the split alone, so that ``evaluate --split test`` scores the rows a training
run held out.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from ._base import Dataset, DatasetError
from .preprocessing import _resolve_count, train_test_split
from .preprocessor import Preprocessor, as_table
from .table import Table, read_table

__all__ = ["load_table", "split_rows", "SPLITS"]

SPLITS = ("all", "train", "val", "test")


def _strata(table: Table, prep: Preprocessor) -> np.ndarray | None:
    """Class indices of every row for a stratified split, or None (regression)."""
    if prep.target is None or prep.classes is None:
        return None
    return prep.encode_target(table)


def split_rows(
    n: int, strata: np.ndarray | None, validation: float, test: float, seed: int
) -> dict[str, np.ndarray]:
    """Row positions of the train, val and test parts (the same rule as `from_arrays`)."""
    n_test = _resolve_count(test, n, "test")
    n_val = _resolve_count(validation, n, "validation")
    if n_test + n_val >= n:
        smallest = _smallest(validation, test)
        raise DatasetError(
            f"{n} row(s) cannot be split into training, validation ({_part(validation)}) and "
            f"test ({_part(test)}) rows; expected a table of at least {smallest} rows"
        )
    rows = np.arange(n, dtype=np.float64)[:, None]
    y = strata if strata is not None else np.zeros(n, dtype=np.int64)
    stratify = strata is not None and _can_stratify(strata, n_test, n_val)
    parts: dict[str, np.ndarray] = {"all": np.arange(n)}
    train, y_train = rows, y
    for name, count, offset in (("test", n_test, 0), ("val", n_val, 1)):
        if count:
            train, held, y_train, _ = train_test_split(
                train, y_train, count, seed=seed + offset, stratify=stratify
            )
            parts[name] = held[:, 0].astype(np.int64)
        else:
            parts[name] = np.arange(0)
    parts["train"] = train[:, 0].astype(np.int64)
    return parts


def _part(size: float) -> str:
    return f"{size:.0%}" if isinstance(size, float) and size < 1 else f"{size} rows"


def _smallest(validation: float, test: float) -> int:
    """The fewest rows that leave at least one training row after the held-out parts."""
    n = 1
    while _resolve_count(test, n, "test") + _resolve_count(validation, n, "validation") >= n:
        n += 1
    return n


def _can_stratify(y: np.ndarray, n_test: int, n_val: int) -> bool:
    """Stratify only when every class has at least two rows (else a plain shuffle)."""
    counts = np.bincount(y)
    return bool(counts[counts > 0].min() >= 2) and (n_test > 1 or n_val > 1)


def load_table(
    data: Any,
    target: str,
    *,
    features: list[str] | None = None,
    scale: str = "standard",
    impute: str | None = None,
    unknown: str = "error",
    task: str = "auto",
    validation: float = 0.2,
    test: float = 0.2,
    seed: int = 0,
    dtype: Any = "float32",
    delimiter: str = ",",
    fitted: Preprocessor | None = None,
) -> tuple[Dataset, Preprocessor]:
    """A Dataset of encoded inputs and targets, and the Preprocessor that encoded them.

    Parameters
    ----------
    data : str, os.PathLike, Table or pandas.DataFrame
        A CSV file with a header row, or a table already in memory.
    target : str
        The target column.
    features, scale, impute, unknown, task
        As `Preprocessor` takes them.
    validation, test : float or int
        Sizes of the held-out parts, fractions of all rows (rounded up) or counts.
    seed : int
        Seed of the split.
    dtype : {"float32", "float64"}
        dtype of the X arrays.
    fitted : Preprocessor, optional
        Encode with this fitted Preprocessor (a resumed run's, as its model file keeps it)
        instead of fitting one; the split is the same for the same rows and seed, its classes
        being those of every row when it was fitted.

    Returns
    -------
    (Dataset, Preprocessor)
        The Dataset's ``classes`` are the class labels (None for regression), its targets
        the encoded ones (class indices, or standardized values for regression), and its
        ``feature_names`` the network's inputs ("color=red" for a one-hot input).

    Examples
    --------
    >>> t = Table({"x": np.arange(10.0), "label": ["no"] * 5 + ["yes"] * 5})
    >>> ds, prep = load_table(t, "label", validation=0, test=0.2)
    >>> ds.X_train.shape, ds.X_test.shape, prep.classes
    ((8, 1), (2, 1), ['no', 'yes'])
    """
    if isinstance(data, (str, os.PathLike)):
        table = read_table(data, delimiter=delimiter)
        name = os.path.basename(os.fspath(data))
    else:
        table = as_table(data)
        name = os.path.basename(table.source)
    prep = fitted
    if prep is None:
        prep = Preprocessor(
            target, features=features, scale=scale, impute=impute, unknown=unknown, task=task
        )
    if fitted is None:  # the class names come from every row: the split stratifies by them
        prep.fit(table)
    parts = split_rows(len(table), _strata(table, prep), validation, test, seed)
    if fitted is None:
        prep.fit(table.take(parts["train"]), labels_from=table)
    arrays: dict[str, Any] = {}
    for part in ("train", "val", "test"):
        rows = parts[part]
        if part != "train" and not len(rows):
            arrays[part] = (None, None)
            continue
        sub = table.take(rows)
        X = prep.transform(sub)
        _check_range(X, dtype, prep.input_names, table.source)
        arrays[part] = (X.astype(dtype), prep.encode_target(sub))
    ds = Dataset(
        name=name,
        X_train=arrays["train"][0],
        y_train=arrays["train"][1],
        X_val=arrays["val"][0],
        y_val=arrays["val"][1],
        X_test=arrays["test"][0],
        y_test=arrays["test"][1],
        n_classes=None if prep.classes is None else len(prep.classes),
        feature_names=tuple(prep.input_names),
        classes=None if prep.classes is None else np.array(prep.classes, dtype=object),
        description=f"{table.source}: {len(table)} rows, target {target!r} ({prep.task})",
    )
    return ds, prep


def _check_range(X: np.ndarray, dtype: Any, names: Any, source: str) -> None:
    """Refuse inputs that `dtype` cannot hold (a cast would make them infinite)."""
    dt = np.dtype(dtype)
    if not np.issubdtype(dt, np.floating) or not X.size:
        return
    peak = np.abs(X).max(axis=0)
    over = np.flatnonzero(peak > np.finfo(dt).max)
    if over.size:
        j = int(over[0])
        raise DatasetError(
            f"{source}: input {names[j]!r} reaches {peak[j]:.4g} after preprocessing, beyond "
            f"{dt.name}'s range (±{np.finfo(dt).max:.4g}); expected scaled inputs "
            f"(scale='standard' or 'minmax', --scale) or dtype float64"
        )
