"""The preprocessing a model keeps: from a user's table to the network's inputs and back.

A `Preprocessor` is fitted on the training rows of a `Table` and then applied, unchanged, to
every other table the model meets (validation, test, evaluate, predict, explain, report):

- numeric columns are scaled (``scale="standard"``: (x − mean)/std; ``"minmax"``: into
  [0, 1]; ``"none"``); a constant column keeps scale 1, so nothing is divided by zero;
- text columns become one 0/1 input per category seen in training (one-hot);
- columns are found by name, so a file with its columns in another order reads the same; a
  column the model needs and the file lacks is an error naming it; the target column and
  other extra columns are ignored;
- an empty cell is an error naming its line and column, or filled (``impute="mean"`` or
  ``"most_frequent"``, with the training rows' value);
- the target keeps its own labels: class names (str or numbers) in ``classes``, or for
  regression the mean and standard deviation the network's targets were scaled by, so that
  predictions come back in the original units.

Everything is plain data: ``to_dict()`` is JSON and ``from_dict`` checks it, so a model file
stores the preprocessing beside the weights.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .._validation import DeltapropError, DeltapropTypeError, _short
from ._base import DatasetError
from .table import Table, normalize_text

__all__ = ["Preprocessor", "TASKS", "SCALES", "IMPUTES"]

SCALES = ("standard", "minmax", "none")
IMPUTES = (None, "mean", "most_frequent")
UNKNOWNS = ("error", "zeros")
TASKS = ("auto", "classification", "regression")
#: A numeric target with more distinct values than this is taken for regression.
MAX_AUTO_CLASSES = 20
#: A text column with more categories than this is refused (an identifier, not a category).
MAX_CATEGORIES = 1000


def _choice(value: Any, name: str, allowed: Sequence[Any]) -> Any:
    if value not in allowed:
        raise DeltapropError(
            f"{name}={_short(value)} is invalid; expected one of "
            f"{', '.join(repr(a) for a in allowed)}"
        )
    return value


class Preprocessor:
    """Scaling, one-hot encoding, column matching and label names, fitted on training rows.

    Parameters
    ----------
    target : str, optional
        The target column; None for a preprocessor of features only.
    features : sequence of str, optional
        The feature columns, in the order the network sees them. Default: every column of the
        table it is fitted on except the target.
    scale : {"standard", "minmax", "none"}
    impute : {None, "mean", "most_frequent"}
        How empty cells are filled (text columns always take their most frequent category).
        None: an empty cell is an error naming it.
    unknown : {"error", "zeros"}
        A category not seen in training: an error naming it, or all-zero inputs.
    task : {"auto", "classification", "regression"}
        "auto": a text target, or a numeric one with at most 20 distinct whole values, is
        classification; any other numeric target is regression.

    Examples
    --------
    >>> t = Table({"size": [1.0, 3.0, 5.0], "color": ["red", "blue", "red"],
    ...            "kind": ["a", "b", "a"]})
    >>> p = Preprocessor("kind").fit(t)
    >>> p.transform(t)
    array([[-1.22474487,  0.        ,  1.        ],
           [ 0.        ,  1.        ,  0.        ],
           [ 1.22474487,  0.        ,  1.        ]])
    >>> p.input_names, p.classes
    (['size', 'color=blue', 'color=red'], ['a', 'b'])
    >>> p.encode_target(t), p.labels([1, 0])
    (array([0, 1, 0]), array(['b', 'a'], dtype=object))
    """

    def __init__(
        self,
        target: str | None = None,
        *,
        features: Sequence[str] | None = None,
        scale: str = "standard",
        impute: str | None = None,
        unknown: str = "error",
        task: str = "auto",
    ) -> None:
        if target is not None and not isinstance(target, str):
            raise DeltapropTypeError(f"target={_short(target)} is invalid; expected a column name")
        if isinstance(features, str):
            raise DeltapropTypeError(
                f"features={features!r} is a string; expected a list of column names"
            )
        self.target = target
        self.features = None if features is None else [str(f) for f in features]
        self.scale = _choice(scale, "scale", SCALES)
        self.impute = _choice(impute, "impute", IMPUTES)
        self.unknown = _choice(unknown, "unknown", UNKNOWNS)
        self.task = _choice(task, "task", TASKS)
        self.columns: list[dict[str, Any]] = []
        self.classes: list[Any] | None = None
        self.target_center = 0.0
        self.target_scale = 1.0

    # ------------------------------------------------------------------ fitting
    @property
    def fitted(self) -> bool:
        return bool(self.columns)

    def fit(self, table: Any, *, labels_from: Any = None) -> Preprocessor:
        """Learn the columns' scaling and categories (and the target's) from `table`.

        Parameters
        ----------
        table : Table or pandas.DataFrame
            The training rows.
        labels_from : Table or DataFrame, optional
            Rows whose target values name the classes (e.g. the whole file, so that a class
            absent from the training split is still known); default `table`.
        """
        table = as_table(table)
        names = self.features
        if names is None:
            names = [n for n in table.names if n != self.target]
            if "" in names:
                # the header pandas' to_csv writes above a DataFrame's index
                j = table.names.index("")
                raise DatasetError(
                    f"{table.source}: column {j + 1} has no name (a DataFrame index written by "
                    f"to_csv?); expected a name for every feature column -- name it, or leave "
                    f"it out (to_csv(index=False), or features=)"
                )
        self._check_columns(table, names + ([self.target] if self.target else []))
        if not names:
            raise DatasetError(
                f"{table.source}: no feature columns (the table has "
                f"{', '.join(map(repr, table.names))}); expected at least one besides the target"
            )
        self.features = list(names)
        self.columns = [self._fit_column(table, n) for n in names]
        if self.target is not None:
            self._fit_target(table, as_table(labels_from) if labels_from is not None else table)
        return self

    def _fit_column(self, table: Table, name: str) -> dict[str, Any]:
        col, empty = table[name], table.missing(name)
        if empty.all():
            raise DatasetError(
                f"{table.source}: column {name!r} has no values; expected at least one"
            )
        if self.impute is None and empty.any():
            self._refuse_empty(table, name, empty)
        spec: dict[str, Any] = {"name": name}
        if table.kind(name) == "text":
            values, counts = np.unique(col[~empty].astype(str), return_counts=True)
            if len(values) > MAX_CATEGORIES:
                raise DatasetError(
                    f"{table.source}: column {name!r} has {len(values):,} distinct text values; "
                    f"expected a category column (at most {MAX_CATEGORIES:,} categories) -- "
                    f"leave an identifier column out with features="
                )
            spec.update(kind="text", categories=values.tolist())
            spec["fill"] = str(values[int(np.argmax(counts))])
            return spec
        x = col[~empty]
        mean, std = _moments(x)
        if self.impute == "most_frequent":
            values, counts = np.unique(x, return_counts=True)
            fill = float(values[int(np.argmax(counts))])
        else:
            fill = mean
        if self.scale == "standard":
            center, spread = mean, std
        elif self.scale == "minmax":
            center, spread = float(x.min()), 2.0 * (float(x.max()) / 2 - float(x.min()) / 2)
            if math.isinf(spread):
                raise DatasetError(
                    f"{table.source}: column {name!r} spans {x.min():g} to {x.max():g}, a range "
                    f"beyond float64's; expected values that scale='minmax' can subtract"
                )
        else:
            center, spread = 0.0, 1.0
        # a constant column: no division by zero, its inputs are all 0 after centring
        spread = spread if spread > 0 and math.isfinite(spread) else 1.0
        spec.update(kind="numeric", center=center, scale=spread, fill=fill)
        return spec

    def _fit_target(self, train: Table, every: Table) -> None:
        name = self.target
        assert name is not None
        for t in (train, every):
            self._check_columns(t, [name])
            empty = t.missing(name)
            if empty.any():
                rows = np.flatnonzero(empty)
                listed = ", ".join(t.where(int(i)) for i in rows[:5])
                more = f" and {len(rows) - 5} more" if len(rows) > 5 else ""
                raise DatasetError(
                    f"{t.source}: target column {name!r} is empty or NaN in {len(rows)} "
                    f"row(s) ({listed}{more}); expected a label or a number in every row"
                )
        task = self.task
        col = every[name]
        if task == "auto":
            task = "classification"
            if every.kind(name) == "numeric":
                whole = bool(np.all(col == np.round(col)))
                if not whole or len(np.unique(col)) > MAX_AUTO_CLASSES:
                    task = "regression"
        if task == "regression":
            if every.kind(name) != "numeric":
                bad = next(v for v in col if v is not None and not _is_number(v))
                raise DatasetError(
                    f"{every.source}: target column {name!r} holds text ({bad!r}); expected "
                    f"numbers for regression"
                )
            self.classes = None
            self.target_center, spread = _moments(train[name])
            self.target_scale = spread if spread > 0 else 1.0
        else:
            self.classes = _class_list(col, every.kind(name))
            if len(self.classes) < 2:
                raise DatasetError(
                    f"{every.source}: target column {name!r} has the one value "
                    f"{self.classes[0]!r} in every row; expected at least two classes "
                    f"(task='regression', --task regression, to fit a number)"
                )
        self.task = task

    # ------------------------------------------------------------------ applying
    @property
    def input_names(self) -> list[str]:
        """The network's inputs in order: a numeric column's name, or 'column=category'."""
        out = []
        for c in self.columns:
            if c["kind"] == "text":
                out += [f"{c['name']}={v}" for v in c["categories"]]
            else:
                out.append(c["name"])
        return out

    @property
    def n_inputs(self) -> int:
        return sum(len(c["categories"]) if c["kind"] == "text" else 1 for c in self.columns)

    @property
    def n_outputs(self) -> int:
        """Output neurons the task needs: 1 for regression and for two classes."""
        if self.classes is None:
            return 1
        return 1 if len(self.classes) == 2 else len(self.classes)

    def transform(self, table: Any) -> np.ndarray:
        """The network's inputs for every row of `table` (float64, shape (n, n_inputs))."""
        self._check_fitted()
        table = as_table(table)
        self._check_columns(table, [c["name"] for c in self.columns], for_model=True)
        out = np.zeros((len(table), self.n_inputs), dtype=np.float64)
        j = 0
        for c in self.columns:
            if c["kind"] == "text":
                width = len(c["categories"])
                out[:, j : j + width] = self._one_hot(table, c)
                j += width
            else:
                with np.errstate(over="ignore"):  # an overflow is refused just below
                    out[:, j] = (self._numbers(table, c) - c["center"]) / c["scale"]
                _check_scaled(table, c["name"], out[:, j])
                j += 1
        return out

    def fit_transform(self, table: Any) -> np.ndarray:
        return self.fit(table).transform(table)

    def _numbers(self, table: Table, c: dict[str, Any]) -> np.ndarray:
        name = c["name"]
        col = table[name]
        if table.kind(name) == "text":
            col = _text_as_numbers(table, name)
        empty = np.isnan(col)
        if empty.any():
            if self.impute is None:
                self._refuse_empty(table, name, empty)
            col = np.where(empty, c["fill"], col)
        return col

    def _one_hot(self, table: Table, c: dict[str, Any]) -> np.ndarray:
        name, categories = c["name"], c["categories"]
        col = table[name]
        if table.kind(name) == "numeric":  # categories written as numbers in this file
            col = np.array(
                [None if math.isnan(v) else normalize_text(repr(v)) for v in col.tolist()],
                dtype=object,
            )
        index = {v: i for i, v in enumerate(categories)}
        out = np.zeros((len(col), len(categories)))
        for i, v in enumerate(col.tolist()):
            if v is None:
                if self.impute is None:
                    self._refuse_empty(table, name, table.missing(name))
                v = c["fill"]
            k = index.get(v)
            if k is None:
                if self.unknown == "zeros":
                    continue
                raise DatasetError(
                    f"{table.source}: {table.where(i)}, column {name!r}: category {v!r} was not "
                    f"seen in training; expected one of {_short(categories, 200)} "
                    f"(unknown='zeros', --unknown zeros, maps unseen ones to all-zero inputs)"
                )
            out[i, k] = 1.0
        return out

    def encode_target(self, table: Any) -> np.ndarray:
        """The target column as the network is trained on it: class indices (int64), or for
        regression the values standardized with the training rows' mean and std (float64)."""
        self._check_fitted()
        if self.target is None:
            raise DeltapropError("this preprocessor has no target column")
        table = as_table(table)
        self._check_columns(table, [self.target], for_model=True)
        name = self.target
        empty = table.missing(name)
        if empty.any():
            i = int(np.argmax(empty))
            raise DatasetError(
                f"{table.source}: {table.where(i)}, column {name!r}: empty target value; "
                f"expected a label or a number"
            )
        col = table[name]
        if self.classes is None:
            if table.kind(name) != "numeric":
                col = _text_as_numbers(table, name)
            with np.errstate(over="ignore"):  # an overflow is refused just below
                y = (col - self.target_center) / self.target_scale
            _check_scaled(table, name, y)
            return y
        keys = _label_keys(col, table.kind(name))
        index = {k: i for i, k in enumerate(_label_keys(self.classes, None))}
        y = np.empty(len(col), dtype=np.int64)
        for i, k in enumerate(keys):
            j = index.get(k)
            if j is None:
                raise DatasetError(
                    f"{table.source}: {table.where(i)}, column {name!r}: label {col[i]!r} is "
                    f"not one of the model's classes {_short(self.classes, 200)}"
                )
            y[i] = j
        return y

    def labels(self, indices: Any) -> np.ndarray:
        """Class indices as the original labels (an object array of str or numbers)."""
        if self.classes is None:
            raise DeltapropError("a regression preprocessor has no class labels")
        classes = np.empty(len(self.classes), dtype=object)
        classes[:] = self.classes
        return classes[np.asarray(indices, dtype=np.int64)]

    def values(self, outputs: Any) -> np.ndarray:
        """Regression outputs (the network's standardized a^L) in the target's own units."""
        return np.asarray(outputs, dtype=np.float64) * self.target_scale + self.target_center

    def inverse_transform(self, X: Any) -> Table:
        """Network inputs back to a Table of the original columns (one-hot → the category
        with the largest input; an all-zero group → None)."""
        self._check_fitted()
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.n_inputs:
            raise DeltapropError(
                f"X has shape {X.shape}; expected (n, {self.n_inputs}) network inputs"
            )
        columns: dict[str, Any] = {}
        j = 0
        for c in self.columns:
            if c["kind"] == "text":
                block = X[:, j : j + len(c["categories"])]
                cats = np.array(c["categories"], dtype=object)
                col = cats[np.argmax(block, axis=1)]
                col[block.max(axis=1) <= 0] = None
                columns[c["name"]] = col
                j += len(c["categories"])
            else:
                columns[c["name"]] = X[:, j] * c["scale"] + c["center"]
                j += 1
        return Table(columns, source="inverse_transform")

    # ------------------------------------------------------------------ checks
    def _check_fitted(self) -> None:
        if not self.fitted:
            raise DeltapropError("the preprocessor is not fitted; call fit(table) first")

    def _check_columns(self, table: Table, names: Sequence[str], for_model: bool = False) -> None:
        absent = [n for n in names if n not in table]
        if absent:
            whose = "the model was trained on" if for_model else "expected"
            raise DatasetError(
                f"{table.source}: no column named {absent[0]!r}"
                + (f" (and {len(absent) - 1} more missing)" if len(absent) > 1 else "")
                + f"; the table has {_short(list(table.names), 300)}; {whose} "
                f"{_short(list(names), 300)}"
            )

    def _refuse_empty(self, table: Table, name: str, empty: np.ndarray) -> None:
        rows = np.flatnonzero(empty)
        more = f" (and {len(rows) - 1} more empty cells)" if len(rows) > 1 else ""
        raise DatasetError(
            f"{table.source}: {table.where(int(rows[0]))}, column {name!r}: empty value{more}; "
            f"expected a value; impute='mean' or 'most_frequent' (--impute) fills empty cells"
        )

    def __repr__(self) -> str:
        if not self.fitted:
            return f"Preprocessor(target={self.target!r}, scale={self.scale!r}, unfitted)"
        what = f"{len(self.classes)} classes" if self.classes is not None else "regression"
        return (
            f"Preprocessor(target={self.target!r}, {len(self.columns)} columns -> "
            f"{self.n_inputs} inputs, scale={self.scale!r}, {what})"
        )

    # ------------------------------------------------------------------ plain data
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description; ``Preprocessor.from_dict`` restores it."""
        return {
            "target": self.target,
            "scale": self.scale,
            "impute": self.impute,
            "unknown": self.unknown,
            "task": self.task,
            "columns": [dict(c) for c in self.columns],
            "classes": None if self.classes is None else list(self.classes),
            "target_center": self.target_center,
            "target_scale": self.target_scale,
        }

    @classmethod
    def from_dict(cls, d: Any) -> Preprocessor:
        """A fitted Preprocessor from ``to_dict()``'s data; DeltapropError when malformed."""
        try:
            return _from_dict(cls, d)
        except KeyError as exc:
            raise DeltapropError(f"preprocessor description is malformed: no {exc} entry") from None
        except (TypeError, ValueError, AttributeError) as exc:
            raise DeltapropError(f"preprocessor description is malformed: {exc}") from None


def _number(v: Any) -> bool:
    """A finite int or float stored in JSON (a bool is not a number here)."""
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _from_dict(cls: type[Preprocessor], d: dict[str, Any]) -> Preprocessor:
    if not isinstance(d, dict):
        raise ValueError(f"it is a {type(d).__name__}; expected an object")
    p = cls(d["target"], scale=d["scale"], impute=d["impute"], unknown=d["unknown"], task=d["task"])
    if p.task == "auto":
        raise ValueError("task is 'auto'; a fitted preprocessor has a task")
    columns = d["columns"]
    if not isinstance(columns, list) or not columns:
        raise ValueError("columns is not a non-empty list")
    for c in columns:
        if not isinstance(c, dict):
            raise ValueError(f"column {_short(c)} is not an object")
        if not isinstance(c["name"], str) or c["kind"] not in ("numeric", "text"):
            raise ValueError(f"column {_short(c)} is invalid")
        if c["kind"] == "text":
            cats = c["categories"]
            if not cats or not all(isinstance(v, str) for v in cats) or len(set(cats)) != len(cats):
                raise ValueError(f"column {c['name']!r} has invalid categories")
            if c["fill"] not in cats:
                raise ValueError(f"column {c['name']!r} has a fill value not among its categories")
        else:
            for key in ("center", "scale", "fill"):
                if not _number(c[key]):
                    raise ValueError(f"column {c['name']!r} has an invalid {key}")
            if c["scale"] <= 0:
                raise ValueError(f"column {c['name']!r} has scale {c['scale']}")
    names = [c["name"] for c in columns]
    if len(set(names)) != len(names) or p.target in names:
        raise ValueError(f"column names {_short(names)} repeat a name or hold the target")
    classes = d["classes"]
    if p.task == "classification":
        if not isinstance(classes, list) or len(classes) < 2:
            raise ValueError("classes is not a list of at least two labels")
        if not all(isinstance(v, str) or _number(v) for v in classes):
            raise ValueError("classes holds values that are not labels")
        if len(set(_label_keys(classes, None))) != len(classes):
            raise ValueError(f"classes {_short(classes)} names one class twice")
    for key in ("target_center", "target_scale"):
        if not _number(d[key]):
            raise ValueError(f"{key} is invalid")
    if d["target_scale"] <= 0:
        raise ValueError(f"target_scale is {d['target_scale']}; expected a positive number")
    p.columns = [dict(c) for c in columns]
    p.features = [c["name"] for c in columns]
    p.classes = None if p.task == "regression" else list(classes)
    p.target_center, p.target_scale = float(d["target_center"]), float(d["target_scale"])
    return p


# ---------------------------------------------------------------------- helpers
def as_table(data: Any) -> Table:
    """A Table as it is, a pandas DataFrame as a Table, a 2-D array as columns x1, x2, ..."""
    if isinstance(data, Table):
        return data
    if hasattr(data, "columns") and hasattr(data, "dtypes"):
        return Table.from_frame(data)
    if isinstance(data, dict):
        return Table(data)
    return Table.from_arrays(data)


def _moments(x: np.ndarray) -> tuple[float, float]:
    """Mean and standard deviation of x computed on x / 2^k ≥ max|x| (exact), so that numbers
    near float64's largest (1e308) do not overflow the sum or the squares."""
    e = math.frexp(float(np.max(np.abs(x))))[1] if len(x) else 0
    scaled = np.ldexp(x, -e)
    return math.ldexp(float(scaled.mean()), e), math.ldexp(float(scaled.std()), e)


def _check_scaled(table: Table, name: str, values: np.ndarray) -> None:
    """A finite value whose scaled form overflows: an error naming the cell."""
    bad = ~np.isfinite(values)
    if bad.any():
        i = int(np.argmax(bad))
        given = table[name][i : i + 1].tolist()[0]
        raise DatasetError(
            f"{table.source}: {table.where(i)}, column {name!r}: {given!r} is too "
            f"far from the training values to scale in float64; expected a value of the "
            f"training rows' magnitude"
        )


def _is_number(v: Any) -> bool:
    try:
        float(v)
    except (TypeError, ValueError):
        return False
    return True


def _text_as_numbers(table: Table, name: str) -> np.ndarray:
    """A column read as text where numbers are expected: the first non-number is an error."""
    col = table[name]
    out = np.empty(len(col), dtype=np.float64)
    for i, v in enumerate(col.tolist()):
        if v is None:
            out[i] = np.nan
            continue
        try:
            out[i] = float(v)
        except ValueError:
            raise DatasetError(
                f"{table.source}: {table.where(i)}, column {name!r}: non-numeric value {v!r}; "
                f"expected a number as in training"
            ) from None
        if not math.isfinite(out[i]):
            raise DatasetError(
                f"{table.source}: {table.where(i)}, column {name!r}: {v!r}; expected a finite "
                f"number"
            )
    return out


def _class_list(col: np.ndarray, kind: str) -> list[Any]:
    """The class labels in index order: the distinct labels sorted (numbers as numbers)."""
    if kind == "numeric":
        values = np.unique(col)
        if np.all(values == np.round(values)):
            return [int(v) for v in values]
        return [float(v) for v in values]
    return sorted({str(v) for v in col.tolist()})


def _label_keys(values: Any, kind: str | None) -> list[str]:
    """Labels compared as text, numbers written one way: 1, 1.0 and '1' are one class."""
    return [
        normalize_text(repr(float(v)) if isinstance(v, (float, np.floating)) else str(v))
        for v in values
    ]
