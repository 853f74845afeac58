"""A table of named columns as read from a user's file: numbers as float64, words as text.

`Table` is what a user brings before any encoding: each column keeps its name and its kind
(a numeric column is float64 with NaN where a cell is empty; a text column holds str, with None
where a cell is empty), and every row remembers where it came from ("line 17" of a CSV file,
"row 15" of a DataFrame) so that an error about a cell can name it. The `Preprocessor` turns a
Table into the network's input matrix.

The CSV reader streams the file in chunks of rows and converts each column of a chunk at once,
so memory stays near the size of the numbers (8 bytes a cell) plus one chunk of text.
"""

from __future__ import annotations

import array
import csv
import io
import math
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from .._atomic import open_regular
from .._validation import DeltapropError, DeltapropTypeError, _short
from ._base import DatasetError, _fspath

__all__ = ["Table", "read_table"]

_CHUNK_ROWS = 8192
#: Default cap on the size of a CSV file (4 GiB).
MAX_TABLE_BYTES = 4 << 30


def normalize_text(text: str) -> str:
    """'3', '3.0', ' 3 ' -> '3' (one category); other text stripped as it is."""
    text = text.strip()
    try:
        value = float(text)
    except ValueError:
        return text
    if math.isfinite(value) and value == int(value) and abs(value) < 2**53:
        return str(int(value))
    return text


class Table:
    """Named columns of equal length: float64 arrays (numbers) or object arrays of str (text).

    Parameters
    ----------
    columns : mapping of str to 1-D array_like
        In order. A column of numbers (or of bools) becomes float64 with NaN for missing
        values; any other column becomes text, with None for missing values.
    where : sequence of str or int array, optional
        How to name each row in messages: names, or an array of a file's line numbers
        ("line 17"); default "row 0", "row 1", ....
    source : str
        The file or object the table came from, for messages.

    Examples
    --------
    >>> t = Table({"size": [1.0, 2.5], "color": ["red", "blue"]})
    >>> t.names, t.kind("size"), t.kind("color"), len(t)
    (('size', 'color'), 'numeric', 'text', 2)
    """

    def __init__(
        self,
        columns: Mapping[str, Any],
        where: Sequence[str] | None = None,
        source: str = "table",
    ) -> None:
        if not isinstance(columns, Mapping):
            raise DeltapropTypeError(
                f"columns is a {type(columns).__name__}; expected a mapping of names to columns"
            )
        self.columns: dict[str, np.ndarray] = {}
        n = None
        for name, values in columns.items():
            if not isinstance(name, str):
                raise DeltapropTypeError(f"column name {_short(name)} is not a str")
            col = _as_column(values, name)
            if n is not None and len(col) != n:
                raise DeltapropError(
                    f"column {name!r} has {len(col)} values but the first column has {n}; "
                    f"expected columns of equal length"
                )
            n = len(col)
            self.columns[name] = col
        if not self.columns:
            raise DatasetError(f"{source}: no columns; expected at least one")
        self.n_rows = int(n or 0)
        # line numbers of a CSV file (an int array), other row names (a list), or None
        self.row_names: Any = (
            None if where is None else where if isinstance(where, np.ndarray) else list(where)
        )
        self.source = source

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.columns)

    def __len__(self) -> int:
        return self.n_rows

    def __contains__(self, name: object) -> bool:
        return name in self.columns

    def __getitem__(self, name: str) -> np.ndarray:
        return self.columns[name]

    def kind(self, name: str) -> str:
        """'numeric' or 'text'."""
        return "numeric" if self.columns[name].dtype.kind == "f" else "text"

    def where(self, i: int) -> str:
        """How row i is named in messages: 'line 17' for a CSV file, else 'row i'."""
        names = self.row_names
        if names is None:
            return f"row {i}"
        return f"line {names[i]}" if isinstance(names, np.ndarray) else names[i]

    def missing(self, name: str) -> np.ndarray:
        """Boolean mask of the empty cells of a column."""
        col = self.columns[name]
        if col.dtype.kind == "f":
            return np.isnan(col)
        return np.array([v is None for v in col], dtype=bool)

    def take(self, rows: np.ndarray) -> Table:
        """The rows at these positions, in this order (a new Table)."""
        rows = np.asarray(rows)
        names = self.row_names
        out = Table.__new__(Table)
        out.columns = {k: v[rows] for k, v in self.columns.items()}
        out.n_rows = len(rows)
        if isinstance(names, np.ndarray):
            out.row_names = names[rows]
        else:
            out.row_names = [self.where(int(i)) for i in rows]
        out.source = self.source
        return out

    def drop(self, name: str) -> Table:
        """The table without one column."""
        return self.with_columns({k: v for k, v in self.columns.items() if k != name})

    def with_columns(self, columns: Mapping[str, Any]) -> Table:
        """A table of the same rows (and row names) with these columns."""
        return Table(columns, self.row_names, self.source)

    def __repr__(self) -> str:
        kinds = ", ".join(f"{k}:{self.kind(k)[0]}" for k in list(self.columns)[:8])
        more = ", ..." if len(self.columns) > 8 else ""
        return f"Table({self.source!r}, {self.n_rows} rows, [{kinds}{more}])"

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_frame(cls, frame: Any, source: str = "DataFrame") -> Table:
        """A Table from a pandas DataFrame (or anything with ``columns`` and ``__getitem__``)."""
        names = [str(c) for c in frame.columns]
        if len(set(names)) != len(names):
            raise DatasetError(f"{source}: repeated column names; expected distinct names")
        columns = {str(c): _frame_column(frame[c]) for c in frame.columns}
        index = getattr(frame, "index", None)
        where = None if index is None else [f"row {i!r}" for i in list(index)]
        return cls(columns, where, source)

    @classmethod
    def from_arrays(
        cls, X: Any, names: Iterable[str] | None = None, source: str = "array"
    ) -> Table:
        """A Table from a 2-D array; columns named `names` or x1, x2, ...."""
        X = np.asarray(X)
        if X.ndim == 1:
            X = X[None, :]
        if X.ndim != 2:
            raise DeltapropError(f"X has shape {X.shape}; expected a 2-D array of rows")
        names = [f"x{j + 1}" for j in range(X.shape[1])] if names is None else list(names)
        if len(names) != X.shape[1]:
            raise DeltapropError(
                f"{len(names)} names for {X.shape[1]} columns; expected one name per column"
            )
        return cls({n: X[:, j] for j, n in enumerate(names)}, None, source)


def _as_column(values: Any, name: str) -> np.ndarray:
    """float64 for numbers and bools, else an object array of stripped str (None when empty)."""
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise DeltapropError(f"column {name!r} has shape {arr.shape}; expected one value per row")
    if arr.dtype.kind in "biuf":
        return arr.astype(np.float64)
    out = np.empty(len(arr), dtype=object)
    for i, v in enumerate(arr.tolist()):
        if v is None or (isinstance(v, float) and math.isnan(v)):
            out[i] = None
        else:
            text = normalize_text(str(v))
            # "nan" is how spreadsheets and pandas write a missing value
            out[i] = text if text and text.lower() not in ("nan", "+nan", "-nan") else None
    return out


def _frame_column(series: Any) -> np.ndarray:
    """A pandas column as numbers (NaN for missing) when it is numeric, else as objects."""
    dtype = getattr(series, "dtype", None)
    if getattr(dtype, "kind", "O") in "mM":  # one-hot of dates would make each day a category
        raise DatasetError(
            f"column {getattr(series, 'name', '?')!r} holds dates or durations ({dtype}); "
            f"expected numbers or categories (convert it, e.g. to days as numbers)"
        )
    if dtype is not None and getattr(dtype, "kind", "O") in "biuf":
        try:
            return np.asarray(series.to_numpy(dtype=np.float64, na_value=np.nan))
        except (TypeError, ValueError, AttributeError):
            pass
    return np.asarray(series, dtype=object)


# ---------------------------------------------------------------------- CSV
def read_table(
    path: str | os.PathLike[str],
    *,
    delimiter: str = ",",
    max_bytes: int = MAX_TABLE_BYTES,
) -> Table:
    """Read a CSV file with a header row into a `Table`.

    A column whose every non-empty cell is a number is numeric (float64, NaN for an empty
    cell); any other column is text (each cell stripped; a number written "1.0" reads as
    "1"). An infinite number is an error naming its line and column.

    Parameters
    ----------
    path : str or os.PathLike
        UTF-8 text (a byte-order mark is ignored); blank lines are skipped.
    delimiter : str
        One character.
    max_bytes : int
        Largest file size accepted, checked before reading.

    Examples
    --------
    >>> with open("fruit.csv", "w") as f:
    ...     _ = f.write("weight,color,kind\\n120,red,apple\\n,yellow,banana\\n")
    >>> t = read_table("fruit.csv")
    >>> t["weight"], t["color"].tolist(), t.where(1)
    (array([120.,  nan]), ['red', 'yellow'], 'line 3')
    """
    return read_csv(path, delimiter, max_bytes, _read_rows)


def read_csv(path: Any, delimiter: str, max_bytes: int, read: Callable[[Any, str], Any]) -> Any:
    """``read(reader, path)`` on a csv reader of a CSV file, with every failure one message.

    The file must be a regular file of at most `max_bytes`; it is decoded as UTF-8 (a
    byte-order mark ignored). A missing or special file, a decoding or parsing error and a
    failing read become a DatasetError naming the file.
    """
    path = _fspath(path)
    if not isinstance(delimiter, str) or len(delimiter) != 1:
        raise DeltapropError(f"delimiter={_short(delimiter)} is invalid; expected one character")
    try:
        f, size = open_regular(path, "a CSV file", DatasetError)
    except FileNotFoundError:
        raise DatasetError(f"{path}: no such file; expected a CSV file") from None
    with f:
        if size > max_bytes:
            raise DatasetError(
                f"{path}: {size:,} bytes, beyond max_bytes={max_bytes:,}; expected a smaller file"
            )
        try:
            text = io.TextIOWrapper(f, encoding="utf-8-sig", newline="")
            return read(csv.reader(text, delimiter=delimiter), path)
        except UnicodeDecodeError as exc:
            raise DatasetError(
                f"{path}: not UTF-8 text (byte {exc.start}: {exc.reason}); expected a CSV text file"
            ) from None
        except csv.Error as exc:
            raise DatasetError(f"{path}: malformed CSV ({exc}); expected a CSV text file") from None
        except OSError as exc:
            raise DatasetError(
                f"{path}: cannot be read ({exc.strerror or exc}); expected a readable CSV file"
            ) from None


def read_header(reader: Any, path: str) -> list[str]:
    """The stripped column names of the first row; a name given twice is an error."""
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise DatasetError(
            f"{path}: the file is empty; expected a header row of column names and data rows"
        ) from None
    seen: dict[str, int] = {}
    for j, name in enumerate(header):
        if name in seen:
            raise DatasetError(
                f"{path}: line 1: column name {name!r} appears twice (columns "
                f"{seen[name] + 1} and {j + 1}); expected distinct names"
            )
        seen[name] = j
    return header


def row_chunks(reader: Any, width: int, path: str) -> Iterable[tuple[list[list[str]], list[int]]]:
    """The data rows of a CSV reader after its header, in chunks of up to ``_CHUNK_ROWS``:
    (rows, their line numbers). Blank lines are skipped; a row of another width than the
    header's is an error naming its line. The two lists are emptied for the next chunk, so
    that only one chunk of Python strings is ever held: use them before asking for it."""
    rows: list[list[str]] = []
    lines: list[int] = []
    for row in reader:
        if not row or (len(row) == 1 and not row[0].strip()):
            continue  # blank line
        if len(row) != width:
            raise DatasetError(
                f"{path}: line {reader.line_num}: {len(row)} fields; expected "
                f"{width} like the header"
            )
        rows.append(row)
        lines.append(reader.line_num)
        if len(rows) == _CHUNK_ROWS:
            yield rows, lines
            rows.clear()  # the caller's names for them would keep the chunk alive
            lines.clear()
    if rows:
        yield rows, lines


def _read_rows(reader: Any, path: str) -> Table:
    """The rows of a CSV reader after its header, column by column, chunk by chunk."""
    header = read_header(reader, path)
    parts: list[list[np.ndarray]] = [[] for _ in header]
    text = [False] * len(header)
    lines = array.array("q")
    for rows, chunk_lines in row_chunks(reader, len(header), path):
        for j, cells in enumerate(zip(*rows)):
            _add_cells(parts, text, j, cells, chunk_lines, header[j], path)
        lines.extend(chunk_lines)
    if not lines:
        raise DatasetError(f"{path}: a header but no data rows; expected at least one row")
    columns = {name: (np.concatenate(p) if len(p) > 1 else p[0]) for name, p in zip(header, parts)}
    table = Table.__new__(Table)
    table.columns = columns
    table.n_rows = len(lines)
    table.row_names = np.asarray(lines, dtype=np.int64)
    table.source = path
    return table


def _add_cells(
    parts: list[list[np.ndarray]],
    text: list[bool],
    j: int,
    cells: tuple[str, ...],
    lines: list[int],
    name: str,
    path: str,
) -> None:
    """Convert one column of a chunk; a first non-number turns the whole column to text."""
    if not text[j]:
        values: np.ndarray | None
        try:
            values = np.fromiter(map(float, cells), dtype=np.float64, count=len(cells))
        except ValueError:
            values = _numbers_or_none(cells)
        if values is not None:
            bad = np.isinf(values)
            if bad.any():
                i = int(np.argmax(bad))
                raise DatasetError(
                    f"{path}: line {lines[i]}, column {name!r}: {cells[i].strip()!r}; "
                    f"expected a finite number"
                )
            parts[j].append(values)
            return
        text[j] = True
        parts[j] = [_floats_as_text(p) for p in parts[j]]
    parts[j].append(_as_column(cells, name))


def _numbers_or_none(cells: Sequence[str]) -> np.ndarray | None:
    """The cells as floats with NaN for empty ones, or None when one is not a number."""
    out = np.empty(len(cells), dtype=np.float64)
    for i, cell in enumerate(cells):
        cell = cell.strip()
        if not cell:
            out[i] = np.nan
            continue
        try:
            out[i] = float(cell)
        except ValueError:
            return None
    return out


def _floats_as_text(values: np.ndarray) -> np.ndarray:
    """Numbers read before a column turned out to be text, written as text again."""
    out = np.empty(len(values), dtype=object)
    for i, v in enumerate(values.tolist()):
        out[i] = None if math.isnan(v) else normalize_text(repr(v))
    return out
