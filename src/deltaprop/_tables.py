"""Tables given to fit and evaluate: raw columns through the model's preprocessor.

``net.fit(frame, "species")`` or ``net.fit(frame, frame_target)`` fits a `Preprocessor` on the
training table (unless the network already has one), keeps it in ``net.preprocessor`` and
trains on its output, so a notebook user gets what the command does. Arrays pass unchanged.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._validation import DeltapropError
from .datasets.preprocessor import Preprocessor, as_table
from .datasets.table import Table, _as_column


def is_table(X: Any) -> bool:
    """A pandas DataFrame or a deltaprop Table (not an array)."""
    return hasattr(X, "columns") and not isinstance(X, np.ndarray)


def _with_target(X: Any, Y: Any) -> tuple[Table, str]:
    """The table with its target column, and that column's name."""
    table = as_table(X)
    if isinstance(Y, str):
        return table, Y
    name = getattr(Y, "name", None)
    name = str(name) if name is not None else "target"
    columns = dict(table.columns)
    y = _as_column(np.asarray(Y, dtype=object if _is_text(Y) else None), name)
    if len(y) != table.n_rows:
        raise DeltapropError(
            f"y has {len(y)} values but the table has {table.n_rows} rows; "
            f"expected one target per row"
        )
    if name in columns and not _same(columns[name], y):
        raise DeltapropError(
            f"y is named {name!r} like a column of X with other values; expected a target "
            f"apart from the features (rename the Series, or pass the column's name as y)"
        )
    columns[name] = y
    return table.with_columns(columns), name


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    """Two columns of equal values (NaN and None equal to themselves)."""
    if a.dtype.kind == "f" and b.dtype.kind == "f":
        return bool(np.array_equal(a, b, equal_nan=True))
    return a.dtype == b.dtype and a.tolist() == b.tolist()


def _is_text(Y: Any) -> bool:
    return np.asarray(Y).dtype.kind not in "biuf"


def training_arrays(net: Any, X: Any, Y: Any) -> tuple[Any, Any]:
    """(a^0, targets) for fit: a table is encoded, fitting the preprocessor the first time."""
    if not is_table(X):
        return X, Y
    table, name = _with_target(X, Y)
    prep = net.preprocessor
    if prep is None:
        prep = Preprocessor(name).fit(table)
        check_widths(net, prep)
        net.preprocessor = prep
    return prep.transform(table), prep.encode_target(_renamed(table, name, prep.target))


def table_arrays(net: Any, X: Any, Y: Any) -> tuple[Any, Any]:
    """(a^0, targets) for evaluate and validation data, with the model's preprocessor."""
    if not is_table(X) or net.preprocessor is None:
        return X, Y
    table, name = _with_target(X, Y)
    prep = net.preprocessor
    return prep.transform(table), prep.encode_target(_renamed(table, name, prep.target))


def _renamed(table: Table, name: str, target: str | None) -> Table:
    """The table with its target column under the name the preprocessor knows it by."""
    if target is None or name == target or target in table:
        return table
    return table.with_columns({(target if k == name else k): v for k, v in table.columns.items()})


def check_widths(net: Any, prep: Preprocessor) -> None:
    """The network's first and last layers must match what the table encodes to."""
    n_in, n_out = prep.n_inputs, prep.n_outputs
    if net.sizes[0] != n_in or (prep.classes is not None and net.sizes[-1] != n_out):
        what = f"{len(prep.classes)} classes" if prep.classes is not None else "one value"
        raise DeltapropError(
            f"the table encodes to {n_in} inputs ({', '.join(prep.input_names[:12])}"
            f"{', ...' if n_in > 12 else ''}) and {what}, but the network has sizes "
            f"{list(net.sizes)}; expected Network([{n_in}, ..., {n_out}])"
        )
