"""User data files: CSV with a header row, and NPZ archives holding arrays X and y."""

from __future__ import annotations

import array
import itertools
import math
import operator
import os
import re
import struct
import tokenize
import zipfile
import zlib
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

import numpy as np

from .._atomic import atomic_open, open_regular
from .._validation import DeltapropError, DeltapropTypeError, _short
from ._base import DatasetError, _fspath
from .preprocessor import Preprocessor
from .table import Table, normalize_text, read_csv, read_header, row_chunks

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

__all__ = [
    "DataFile",
    "load_csv",
    "load_npz",
    "load_npy",
    "save_npz",
    "MAX_NPZ_BYTES",
    "MAX_CSV_BYTES",
]

#: Default cap on the total uncompressed size of the arrays in an NPZ file (4 GiB).
MAX_NPZ_BYTES = 4 << 30
#: Default cap on the size of a CSV file (4 GiB).
MAX_CSV_BYTES = 4 << 30
_MAX_DENSE_LABEL = 256
_DEFLATE_MAX_RATIO = 1032
_INT_RE = re.compile(r"^[+-]?\d+$")


class DataFile(tuple):
    """``(X, y)`` read from a user file, with the label mapping and column names as attributes.

    Unpacks like the toy generators (``X, y = load_csv(...)``).

    Attributes
    ----------
    X : ndarray of float64, shape (n, n_features)
    y : ndarray, shape (n,) or (n, k), or None
        Class indices (int64) -- or float targets when the target values are not whole
        numbers -- or None when there is no target.
    classes : ndarray or None
        The original label of each class index when labels were mapped (strings, negative
        numbers, or a `classes` argument); None when y holds the file's own class indices.
    feature_names : tuple of str
    path : str
    table : Table
        The file's feature and target columns as read (see `read_table`), with their lines.
    preprocessor : Preprocessor
        Standard scaling of the features and the target's labels (or its mean and standard
        deviation for regression), fitted on every row of the file; ``preprocessor.transform(
        data.table)`` gives the network's inputs. To fit on training rows only, use
        ``Preprocessor(target).fit(data.table.take(rows))`` or `load_table`.
    """

    classes: np.ndarray | None
    feature_names: tuple[str, ...]
    path: str
    target_name: str | None = None
    _target_texts: list[str] | None = None
    _lines: Any = None
    _preprocessor: Any = None

    def __new__(
        cls,
        X: np.ndarray,
        y: np.ndarray | None,
        classes: np.ndarray | None = None,
        feature_names: Iterable[str] = (),
        path: str = "",
        *,
        target_name: str | None = None,
        target_texts: list[str] | None = None,
        lines: Any = None,
    ) -> DataFile:
        self = super().__new__(cls, (X, y))
        self.classes = classes
        self.feature_names = tuple(feature_names)
        self.path = path
        self.target_name = target_name
        self._target_texts = target_texts
        self._lines = lines
        return self

    @property
    def X(self) -> np.ndarray:
        return self[0]

    @property
    def table(self) -> Table:
        columns: dict[str, Any] = {n: self.X[:, j] for j, n in enumerate(self.feature_names)}
        if self.target_name is not None:
            columns[self.target_name] = self._target_texts
        return Table(columns, self._lines, self.path)

    @property
    def preprocessor(self) -> Preprocessor:
        if self._preprocessor is None:
            self._preprocessor = Preprocessor(self.target_name).fit(self.table)
        return self._preprocessor

    @property
    def y(self) -> np.ndarray | None:
        return self[1]

    def __repr__(self) -> str:
        y = "None" if self.y is None else f"{self.y.shape} {self.y.dtype}"
        return (
            f"DataFile({self.path!r}, X={self.X.shape}, y={y}, "
            f"classes={None if self.classes is None else self.classes.tolist()})"
        )


def _encode_labels(
    values: list[str],
    classes: Sequence[Any] | np.ndarray | None,
    path: str,
    where: Callable[[int], str],
) -> tuple[np.ndarray, np.ndarray | None]:
    """Strings -> (y, classes). `where(i)` names the row of values[i] in error messages."""
    if classes is not None:
        known = [normalize_text(str(c)) for c in np.asarray(classes).ravel().tolist()]
        index = {label: i for i, label in enumerate(known)}
        if len(index) != len(known):
            raise DeltapropError(
                f"classes={_short(list(classes))} has repeated labels; expected distinct labels"
            )
        y = np.empty(len(values), dtype=np.int64)
        for i, v in enumerate(values):
            j = index.get(normalize_text(v))
            if j is None:
                raise DatasetError(
                    f"{path}: {where(i)}: label {v!r} is not one of the known "
                    f"classes {_short(known, 200)}; expected one of them"
                )
            y[i] = j
        return y, np.asarray(classes)
    stripped = [v.strip() for v in values]
    _refuse_nan_labels(stripped, path, where)
    if all(_INT_RE.match(v) for v in stripped):
        return _integer_labels(stripped, values, path, where)
    try:
        floats = np.array([float(v) for v in stripped], dtype=np.float64)
    except ValueError:
        floats = None
    if floats is not None:
        if not np.isfinite(floats).all():
            i = int(np.argmin(np.isfinite(floats)))
            raise DatasetError(
                f"{path}: {where(i)}: target {values[i]!r} is infinite; expected a "
                f"finite number or a label"
            )
        if np.all(floats == np.round(floats)):
            return _encode_labels([str(int(v)) for v in floats], None, path, where)
        return floats, None  # regression targets
    # mixed text and numbers: "1" and "1.0" are one label
    uniq, y = np.unique(
        np.array([normalize_text(v) for v in stripped], dtype=str), return_inverse=True
    )
    return y.astype(np.int64), uniq


def _refuse_nan_labels(stripped: list[str], path: str, where: Callable[[int], str]) -> None:
    """A NaN target is missing data, not a class: name the rows that hold one."""
    rows = [i for i, v in enumerate(stripped) if v.lower().lstrip("+-") == "nan"]
    if rows:
        listed = "; ".join(where(i) for i in rows[:5])
        more = f" and {len(rows) - 5} more" if len(rows) > 5 else ""
        raise DatasetError(
            f"{path}: {len(rows)} NaN target value(s) ({listed}{more}); expected a "
            f"label or a number in every row"
        )


def _integer_labels(
    stripped: list[str], values: list[str], path: str, where: Callable[[int], str]
) -> tuple[np.ndarray, np.ndarray | None]:
    """Whole-number labels: class indices when dense enough, else labels by value."""
    ints = [int(v) for v in stripped]
    for i, k in enumerate(ints):
        if not -(2**63) <= k < 2**63:
            raise DatasetError(
                f"{path}: {where(i)}: label {_short(values[i], 30)} is beyond "
                f"the 64-bit integer range; expected class labels that fit "
                f"in int64"
            )
    y = np.array(ints, dtype=np.int64)
    uniq, inverse = np.unique(y, return_inverse=True)
    # 0..k-1 with a few classes absent stays as is; 0 and 20000000 are two labels, not
    # twenty million outputs
    if y.size and y.min() >= 0 and y.max() < max(2 * len(uniq), _MAX_DENSE_LABEL):
        return y, None  # already class indices: keep them, never shift them
    return inverse.astype(np.int64), uniq


def load_csv(
    path: str | os.PathLike[str],
    target: str | None = None,
    *,
    delimiter: str = ",",
    features: Sequence[str] | None = None,
    classes: Sequence[Any] | np.ndarray | None = None,
    max_bytes: int = MAX_CSV_BYTES,
) -> DataFile:
    r"""Read a CSV file with a header row: numeric feature columns and a target column.

    Parameters
    ----------
    path : str or os.PathLike
        UTF-8 text (a byte-order mark is ignored); blank lines are skipped.
    target : str, optional
        Name of the target column. None: no target (y is None), e.g. for prediction inputs.
    delimiter : str
        One character.
    features : sequence of str, optional
        Feature columns to use, in this order. Default: every column except the target.
    classes : sequence, optional
        Known labels in class-index order (e.g. those a model was trained with): each target
        value must be one of them and y holds its position. Default: labels that are whole
        numbers >= 0 are class indices already; otherwise (strings, negative numbers) the
        distinct labels are sorted and numbered 0..k-1, and returned as `classes`.
        Numeric labels are compared as numbers ("1" and "1.0" are one class); whole numbers
        with gaps far beyond their count (0 and 1000) are labels by value, not a range of
        outputs. A NaN or infinite target is an error naming its lines.
    max_bytes : int
        Largest file size accepted, checked before reading; the file is read row by row in
        chunks, so memory stays near the size of X.

    Returns
    -------
    DataFile
        Unpacks as ``(X, y)``: X float64 (n, n_features), y as described above (None without
        a target); attributes ``classes``, ``feature_names``, ``path``.

    Raises
    ------
    DatasetError
        Missing or undecodable file, empty file or no data rows, duplicate column names, a
        missing target or feature column (the message lists the columns there are), a row with
        the wrong number of fields, an empty, non-numeric or non-finite feature value (the
        message gives the line and column).

    Example
    -------
    >>> with open("iris.csv", "w") as f:
    ...     _ = f.write("length,width,species\n5.1,3.5,setosa\n7.0,3.2,versicolor\n"
    ...                 "6.3,3.3,virginica\n4.9,3.0,setosa\n")
    >>> data = load_csv("iris.csv", target="species")
    >>> data.X.shape, data.y, data.classes
    ((4, 2), array([0, 1, 2, 0]), array(['setosa', 'versicolor', 'virginica'], dtype='<U10'))
    """
    path = _fspath(path)
    header, t, feat, X, values, lines = _read_csv_file(path, delimiter, target, features, max_bytes)
    y = labels = None
    if t is not None:
        y, labels = _csv_target(values, lines, target, classes, path)
    return DataFile(
        X,
        y,
        labels,
        tuple(header[j] for j in feat),
        path,
        target_name=target if t is not None else None,
        target_texts=values if t is not None else None,
        lines=np.frombuffer(lines, dtype=np.int64) if len(lines) else None,
    )


def _read_csv_file(path, delimiter, target, features, max_bytes):
    """(header, target column, feature columns, X, target texts, line numbers) of a CSV file."""

    def read(reader, path):
        header = read_header(reader, path)
        t, feat = _csv_columns(header, target, features, path)
        X, values, lines = _stream_rows(reader, header, t, feat, path)
        return header, t, feat, X, values, lines

    return read_csv(path, delimiter, max_bytes, read)


def _csv_columns(
    header: list[str], target: str | None, features: Sequence[str] | None, path: str
) -> tuple[int | None, list[int]]:
    """Positions of the target column (None without one) and of the feature columns (the
    header's names are distinct: `read_header` checked them)."""
    columns = {name: j for j, name in enumerate(header)}
    t = None if target is None else _csv_column(target, "target", columns, header, path)
    if features is None:
        feat = [j for j in range(len(header)) if j != t]
    else:
        if isinstance(features, str):
            raise DeltapropTypeError(
                f"features={features!r} is a string; expected a list of column names"
            )
        feat = [_csv_column(name, "features", columns, header, path) for name in features]
        if t is not None and t in feat:
            raise DeltapropError(
                f"features includes the target column {target!r}; expected feature columns only"
            )
    if not feat:
        raise DatasetError(
            f"{path}: no feature columns (the header has {_column_list(header)}); expected "
            f"at least one besides the target"
        )
    return t, feat


def _csv_column(name: Any, what: str, columns: dict[str, int], header: list[str], path: str) -> int:
    """Position of the column `name` given as argument `what`; the message lists the header."""
    if not isinstance(name, str):
        raise DeltapropTypeError(f"{what}={_short(name)} is invalid; expected a column name (str)")
    if name not in columns:
        raise DatasetError(
            f"{path}: no column named {name!r} ({what}); the header has {_column_list(header)}"
        )
    return columns[name]


def _column_list(header: list[str]) -> str:
    """The header's column names, quoted, for error messages."""
    return ", ".join(repr(c) for c in header)


def _csv_features(
    rows: list[list[str]], lines: list[int], feat: list[int], header: list[str], path: str
) -> np.ndarray:
    """The feature columns as a float64 (n, n_features) array; a bad cell is named by line."""
    pick = operator.itemgetter(*feat)
    # itemgetter gives a tuple for several columns but the bare cell for one
    cells = itertools.chain.from_iterable(map(pick, rows)) if len(feat) > 1 else map(pick, rows)
    # one pass through C for the common all-good file; the slow search runs only on failure
    try:
        X = np.fromiter(map(float, cells), dtype=np.float64, count=len(rows) * len(feat))
    except ValueError:
        X = None
    if X is None or not np.isfinite(X).all():
        _raise_bad_cell(rows, lines, feat, header, path)
    return X.reshape(len(rows), len(feat))


def _csv_target(
    values: list[str],
    lines: Sequence[int],
    target: str | None,
    classes: Sequence[Any] | np.ndarray | None,
    path: str,
) -> tuple[np.ndarray, np.ndarray | None]:
    """The target column as (y, classes), refusing empty values."""
    for i, v in enumerate(values):
        if not v.strip():
            raise DatasetError(
                f"{path}: line {lines[i]}, column {target!r}: empty target value; expected a label"
            )
    return _encode_labels(values, classes, path, lambda i: f"line {lines[i]}, column {target!r}")


def _stream_rows(reader, header, t, feat, path):
    """(X, target texts, line numbers), converting the rows chunk by chunk to keep memory low."""
    chunks, values, lines = [], [], array.array("q")
    for rows, chunk_lines in row_chunks(reader, len(header), path):
        if t is not None:
            values.extend(row[t] for row in rows)
        chunks.append(_csv_features(rows, chunk_lines, feat, header, path))
        lines.extend(chunk_lines)
    if not chunks:
        raise DatasetError(f"{path}: a header but no data rows; expected at least one row")
    X = chunks[0] if len(chunks) == 1 else np.concatenate(chunks)
    return X, values, lines


def _raise_bad_cell(
    rows: list[list[str]], lines: list[int], feat: list[int], header: list[str], path: str
) -> NoReturn:
    """Raise the DatasetError naming the first empty, non-numeric or non-finite feature cell."""
    for i, row in enumerate(rows):
        for j in feat:
            text = row[j]
            try:
                value = float(text)
            except ValueError:
                what = "empty value" if not text.strip() else f"non-numeric value {text!r}"
                hint = (
                    ""
                    if not text.strip()
                    else " (load_table and the command one-hot encode text columns)"
                )
                raise DatasetError(
                    f"{path}: line {lines[i]}, column {header[j]!r}: {what}; expected a "
                    f"number{hint}"
                ) from None
            if not math.isfinite(value):
                raise DatasetError(
                    f"{path}: line {lines[i]}, column {header[j]!r}: {text!r}; "
                    f"expected a finite number"
                ) from None
    raise DatasetError(f"{path}: a feature value could not be read; expected numbers")


# What numpy's .npy header parser raises on a forged header (tokenize.TokenError included).
_BAD_NPY_HEADER = (
    ValueError,
    TypeError,
    SyntaxError,
    RecursionError,
    MemoryError,
    OverflowError,
    UnicodeDecodeError,
    tokenize.TokenError,
    struct.error,
)
_ZIP_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    OSError,
    EOFError,
    zlib.error,
    struct.error,
    NotImplementedError,
    RuntimeError,  # "encrypted"
    ValueError,
    OverflowError,
)
_NPZ_ARRAYS = ("X", "y", "feature_names", "classes")
_CHUNK = 1 << 24


def _parse_npy_header(f, where: str) -> tuple[tuple[int, ...], bool, np.dtype, int]:
    """(shape, fortran order, dtype, data offset) of a .npy stream; forged headers are refused."""
    try:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
        else:
            raise ValueError(f".npy format version {version}; expected 1.0 or 2.0")
        offset = f.tell()
    except _BAD_NPY_HEADER as exc:
        text = (str(exc).splitlines() or [type(exc).__name__])[0][:120]
        raise DatasetError(
            f"{where} is not a valid .npy array ({text}); expected arrays written by numpy"
        ) from None
    if dtype.hasobject or dtype.fields is not None or dtype.subdtype is not None:
        raise DatasetError(
            f"{where} holds Python objects or records (dtype {dtype}); expected numeric "
            f"or string arrays (objects would need pickle)"
        )
    if len(shape) > 32:
        raise DatasetError(f"{where} declares {len(shape)} dimensions; expected at most 32")
    return shape, fortran, dtype, offset


def _read_npy_data(f, where, shape, fortran, dtype, nbytes) -> np.ndarray:
    """The data of a .npy stream whose header was checked, read in bounded chunks."""
    buf = bytearray(nbytes)
    view = memoryview(buf)
    done = 0
    while done < nbytes:
        n = f.readinto(view[done : done + _CHUNK])
        if not n:
            raise DatasetError(f"{where} ends after {done:,} of {nbytes:,} bytes: truncated")
        done += n
    if f.read(1):
        raise DatasetError(f"{where} has bytes after its array data; the file is corrupt")
    arr = np.frombuffer(buf, dtype=dtype, count=math.prod(shape))
    return arr.reshape(shape, order="F" if fortran else "C")


def _check_npz_member(zf, info, file_size, budget, max_bytes, where) -> tuple:
    """(shape, fortran, dtype, offset, nbytes) of one member, every size checked first."""
    if not info.filename.endswith(".npy"):
        raise DatasetError(
            f"{where} is not a .npy array (no .npy suffix); expected arrays written "
            f"by numpy.savez or save_npz"
        )
    if info.file_size > _DEFLATE_MAX_RATIO * max(info.compress_size, 1) + 1024 or (
        info.compress_size > file_size
    ):
        raise DatasetError(
            f"{where} declares {info.file_size:,} bytes, more than its "
            f"stored data can hold; the archive is corrupt or forged"
        )
    with zf.open(info) as f:
        shape, fortran, dtype, offset = _parse_npy_header(f, where)
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes > budget:
        raise DatasetError(
            f"{where} declares shape {_short(shape)} ({nbytes:,} bytes), beyond "
            f"max_bytes={max_bytes:,} for all arrays; expected a smaller file"
        )
    if offset + nbytes != info.file_size:
        raise DatasetError(
            f"{where} declares shape {_short(shape)} of {dtype} ({nbytes:,} "
            f"bytes) but holds {info.file_size - offset:,} bytes; "
            f"the file is truncated or corrupt"
        )
    return shape, fortran, dtype, offset, nbytes


def _read_npz(path: str, require_y: bool, max_bytes: int) -> dict[str, np.ndarray]:
    """The arrays X, y, feature_names and classes of an NPZ file, sizes checked before reading."""
    try:
        f, file_size = open_regular(path, "an NPZ file", DatasetError)
    except FileNotFoundError:
        raise DatasetError(f"{path}: no such file; expected an NPZ file") from None
    with f:
        # numpy.load tells an NPZ from a pickle by its first bytes: the same rule here, so that
        # a zip behind leading junk (which zipfile would accept) is refused as numpy refuses it
        if f.read(4) not in (b"PK\x03\x04", b"PK\x05\x06"):
            raise DatasetError(
                f"{path}: not an NPZ (zip) archive (it does not start as one); expected a file "
                f"written by numpy.savez or save_npz"
            )
        f.seek(0)
        try:
            return _read_npz_zip(zipfile.ZipFile(f), path, file_size, require_y, max_bytes)
        except DatasetError:
            raise
        except _ZIP_ERRORS as exc:
            text = (str(exc).splitlines() or [type(exc).__name__])[0][:120]
            raise DatasetError(
                f"{path}: not an NPZ (zip) archive or unreadable ({text}); expected a file "
                f"written by numpy.savez or save_npz"
            ) from None


def _read_npz_zip(zf, path, file_size, require_y, max_bytes) -> dict[str, np.ndarray]:
    """The wanted arrays of an open NPZ archive; see `_read_npz`."""
    members: dict[str, zipfile.ZipInfo] = {}
    for info in zf.infolist():
        key = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
        if key in members:
            raise DatasetError(f"{path}: array {key!r} appears twice; expected unique names")
        members[key] = info
    missing = [k for k in (("X", "y") if require_y else ("X",)) if k not in members]
    if missing:
        keys = ", ".join(repr(k) for k in list(members)[:20]) or "no arrays"
        raise DatasetError(
            f"{path}: no array named {' or '.join(map(repr, missing))}; "
            f"the file has {keys}; expected arrays 'X' and 'y'"
        )
    checked, budget = {}, max_bytes
    for key in _NPZ_ARRAYS:
        if key in members:
            where = f"{path}: member {members[key].filename!r}"
            checked[key] = _check_npz_member(zf, members[key], file_size, budget, max_bytes, where)
            budget -= checked[key][4]
    arrays = {}
    for key, (shape, fortran, dtype, offset, nbytes) in checked.items():
        where = f"{path}: member {members[key].filename!r}"
        with zf.open(members[key]) as f:
            f.read(offset)
            arrays[key] = _read_npy_data(f, where, shape, fortran, dtype, nbytes)
    return arrays


def load_npz(
    path: str | os.PathLike[str],
    *,
    classes: Sequence[Any] | np.ndarray | None = None,
    require_y: bool = True,
    max_bytes: int = MAX_NPZ_BYTES,
) -> DataFile:
    """Read arrays X and y from an NPZ file, without pickle.

    Parameters
    ----------
    path : str or os.PathLike
        Archive from ``numpy.savez``/``savez_compressed`` or `save_npz` with arrays ``X``
        (n, n_features) and ``y`` (n,) -- integer class indices, string labels or float
        targets -- or (n, k) float targets. Optional arrays ``feature_names`` and ``classes``.
    classes : sequence, optional
        Known labels in class-index order; string labels are mapped through it.
        Default: the file's ``classes`` array if present, else the sorted distinct labels.
    require_y : bool
        False: a file without ``y`` is accepted (y is None), e.g. inputs to predict.
    max_bytes : int
        Cap on the total size the array headers may declare; checked before any allocation.

    Returns
    -------
    DataFile
        Unpacks as ``(X, y)`` (X float64); attributes ``classes``, ``feature_names`` (from the
        file, else x1, x2, ...), ``path``.

    Raises
    ------
    DatasetError
        Missing file, not an NPZ archive, pickled or object arrays, a header declaring more
        data than the archive holds, missing ``X`` or ``y`` (the message lists the arrays
        present), X not 2-D numeric and finite, y not one label per row of X.

    Example
    -------
    >>> save_npz("data.npz", np.ones((100, 4)), np.arange(100) % 3)
    >>> X, y = load_npz("data.npz")
    >>> X.shape, np.bincount(y)
    ((100, 4), array([34, 33, 33]))
    """
    path = _fspath(path)
    arrays = _read_npz(path, require_y, max_bytes)
    X = _npz_features(arrays["X"], path)
    names = tuple(f"x{j + 1}" for j in range(X.shape[1]))
    if "feature_names" in arrays and arrays["feature_names"].size == X.shape[1]:
        names = tuple(str(s) for s in arrays["feature_names"].ravel().tolist())
    y = arrays.get("y")
    if y is None:
        return DataFile(X, None, None, names, path)
    y, labels = _npz_targets(y, len(X), classes, arrays, path)
    return DataFile(X, y, labels, names, path)


def _npz_features(X: np.ndarray, path: str) -> np.ndarray:
    """X as float64, refusing anything but a 2-D array of finite real numbers."""
    if X.dtype.kind not in "iuf" or X.ndim != 2:
        raise DatasetError(
            f"{path}: X has shape {X.shape} and dtype {X.dtype}; expected a 2-D "
            f"array of real numbers (n_samples, n_features)"
        )
    X = X.astype(np.float64)
    if not np.isfinite(X).all():
        where = tuple(int(i) for i in np.argwhere(~np.isfinite(X))[0])
        raise DatasetError(f"{path}: X{list(where)} is {X[where]}; expected finite numbers")
    return X


def _npz_targets(
    y: np.ndarray,
    n_rows: int,
    classes: Sequence[Any] | np.ndarray | None,
    arrays: dict[str, np.ndarray],
    path: str,
) -> tuple[np.ndarray, np.ndarray | None]:
    """y as (class indices, their labels) or (float targets, None), checked against X's rows."""
    if y.ndim not in (1, 2) or len(y) != n_rows:
        raise DatasetError(
            f"{path}: y has shape {y.shape} but X has {n_rows} rows; expected "
            f"one label per row of X: shape ({n_rows},) or ({n_rows}, k)"
        )
    file_classes = classes is None and "classes" in arrays
    if file_classes:
        classes = arrays["classes"]
    if y.ndim == 2 or y.dtype.kind == "f":
        if y.dtype.kind not in "iuf" or not np.isfinite(y.astype(np.float64)).all():
            raise DatasetError(
                f"{path}: y has dtype {y.dtype} with non-finite values; expected finite targets"
            )
        # whole-number floats are class labels that were stored as floats
        if y.ndim == 1 and np.all(y == np.round(y)):
            texts = [str(int(v)) for v in y]
            return _encode_npz_labels(texts, classes, file_classes, path)
        return y.astype(np.float64), None
    if y.dtype.kind in "iuUS":
        return _encode_npz_labels(_npz_label_texts(y, path), classes, file_classes, path)
    raise DatasetError(
        f"{path}: y has dtype {y.dtype}; expected integer labels, strings or float targets"
    )


def _npz_label_texts(y: np.ndarray, path: str) -> list[str]:
    """The labels of an integer or string y as text, byte strings decoded as UTF-8."""
    try:
        return [v.decode() if isinstance(v, bytes) else str(v) for v in y.tolist()]
    except UnicodeDecodeError as exc:
        raise DatasetError(
            f"{path}: y holds byte strings that are not UTF-8 ({exc.reason} "
            f"at byte {exc.start}); expected numbers or UTF-8 labels"
        ) from None


def _encode_npz_labels(
    texts: list[str],
    classes: Sequence[Any] | np.ndarray | None,
    file_classes: bool,
    path: str,
) -> tuple[np.ndarray, np.ndarray | None]:
    """`_encode_labels` for y, naming the file's own classes array when that is what is bad."""
    try:
        return _encode_labels(texts, classes, path, lambda i: f"y[{i}]")
    except DatasetError:
        raise
    except ValueError as exc:  # the classes array is the file's, not an argument
        if not file_classes:
            raise
        raise DatasetError(f"{path}: the array 'classes' is invalid: {exc}") from None


def load_npy(path: str | os.PathLike[str], *, max_bytes: int = MAX_NPZ_BYTES) -> np.ndarray:
    """Read one numeric array from a .npy file without pickle, its declared size checked first.

    Parameters
    ----------
    path : str or os.PathLike
    max_bytes : int
        Largest data size the header may declare.

    Returns
    -------
    ndarray
        As stored (numeric dtypes only), with at least one element.

    Raises
    ------
    DatasetError
        Not a regular file, a forged or truncated header, a declared size beyond `max_bytes`
        or different from the file's, object or record dtypes, an empty array.
    """
    path = _fspath(path)
    try:
        f, size = open_regular(path, "a .npy file", DatasetError)
    except FileNotFoundError:
        raise DatasetError(f"{path}: no such file; expected a .npy file") from None
    with f:
        shape, fortran, dtype, offset = _parse_npy_header(f, path)
        nbytes = math.prod(shape) * dtype.itemsize
        if dtype.kind not in "biuf":
            raise DatasetError(f"{path}: holds dtype {dtype}; expected numbers")
        if nbytes > max_bytes:
            raise DatasetError(
                f"{path}: declares shape {_short(shape)} ({nbytes:,} bytes), beyond "
                f"max_bytes={max_bytes:,}; expected a smaller array"
            )
        if offset + nbytes != size:
            raise DatasetError(
                f"{path}: declares shape {_short(shape)} of {dtype} ({nbytes:,} bytes) but "
                f"holds {size - offset:,}; the file is truncated or corrupt"
            )
        if math.prod(shape) == 0:
            raise DatasetError(f"{path}: the array of shape {shape} is empty; expected data")
        try:
            return _read_npy_data(f, path, shape, fortran, dtype, nbytes)
        except OSError as exc:
            raise DatasetError(f"{path}: cannot be read ({exc.strerror or exc})") from None


def save_npz(
    path: str | os.PathLike[str],
    X: ArrayLike,
    y: ArrayLike,
    *,
    feature_names: Iterable[str] | None = None,
    classes: Sequence[Any] | np.ndarray | None = None,
) -> None:
    """Write X, y (and optional feature_names, classes) to a compressed NPZ file atomically.

    The archive is written to a temporary file in the same directory and renamed into place,
    so a crash never leaves a partial file under `path`.

    Example
    -------
    >>> save_npz("data.npz", np.zeros((3, 2)), np.array([0, 1, 0]), feature_names=["a", "b"])
    >>> load_npz("data.npz")
    DataFile('data.npz', X=(3, 2), y=(3,) int64, classes=None)
    """
    path = _fspath(path)
    arrays: dict[str, Any] = {"X": np.asarray(X), "y": np.asarray(y)}
    if feature_names is not None:
        arrays["feature_names"] = np.asarray(list(feature_names), dtype=str)
    if classes is not None:
        arrays["classes"] = np.asarray(classes)
    for name, arr in arrays.items():
        if arr.dtype.hasobject:
            raise DeltapropTypeError(
                f"{name} has dtype object; expected numbers or strings (object "
                f"arrays would need pickle)"
            )
    with atomic_open(path, "wb") as f:
        np.savez_compressed(f, **arrays)
