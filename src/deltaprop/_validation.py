"""Argument and array checks shared by every public entry point.

Every error names the argument, the value it received and what was expected, so that a user
never has to read a traceback from deep inside numpy to find out what went wrong.
"""

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, DTypeLike

__all__ = [
    "DeltapropError",
    "DeltapropTypeError",
    "check_array",
    "check_dtype",
    "check_positive",
    "check_nonnegative",
    "check_probability",
    "check_int",
]


class DeltapropError(ValueError):
    """Base class of every error deltaprop raises on purpose: bad input, bad files, divergence.

    A ValueError, so that callers may catch either; the command turns these (and only these,
    click's and OSError) into one line and exit status 2: anything else is a bug.
    """


class DeltapropTypeError(DeltapropError, TypeError):
    """An argument of the wrong type (a TypeError too, so callers may catch either)."""


def _short(value: object, limit: int = 60) -> str:
    """repr() of a value cut to a readable length."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def check_dtype(dtype: DTypeLike) -> np.dtype:
    """Return float32 or float64 as a numpy dtype, or raise."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    # ``dt is None`` first: np.dtype('float64') == None is True, so ``None in (...)`` would pass.
    if dt is None or dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise DeltapropError(
            f"dtype={_short(dtype)} is not supported; expected 'float32' or 'float64'"
        )
    return dt


def check_array(
    value: ArrayLike,
    name: str,
    *,
    dtype: DTypeLike | None = np.float64,
    ndim: tuple[int, ...] = (2,),
    allow_empty: bool = False,
) -> np.ndarray:
    """Convert `value` to a finite floating array of `dtype`, or raise a clear error.

    Rejects object, string, complex and boolean arrays, NaN and infinity, the wrong number of
    dimensions and (unless allowed) empty arrays.
    """
    if value is None:
        raise DeltapropTypeError(f"{name} is None; expected an array of numbers")
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError) as exc:  # ragged nested lists
        raise DeltapropError(
            f"{name} could not be read as a numeric array ({exc}); "
            f"expected a rectangular array of numbers"
        ) from None
    kind = arr.dtype.kind
    if kind == "b":
        raise DeltapropTypeError(
            f"{name} has boolean dtype; expected numbers (cast with .astype(float) "
            f"if the booleans are meant as 0/1)"
        )
    if kind == "c":
        raise DeltapropTypeError(f"{name} has complex dtype {arr.dtype}; expected real numbers")
    if kind not in "iuf":
        raise DeltapropTypeError(
            f"{name} has dtype {arr.dtype} ({_short(arr.flat[0]) if arr.size else 'empty'}"
            f" ...); expected an array of real numbers"
        )
    if arr.ndim not in ndim:
        want = " or ".join(f"{d}-D" for d in ndim)
        raise DeltapropError(
            f"{name} has shape {arr.shape} ({arr.ndim}-D); expected a {want} array"
        )
    if not allow_empty and arr.size == 0:
        raise DeltapropError(f"{name} is empty (shape {arr.shape}); expected at least one sample")
    src = arr
    with np.errstate(over="ignore"):  # a value beyond the dtype's range is reported below
        arr = np.asarray(arr, dtype=dtype)
    # min and max propagate NaN and reach ±inf: no boolean temporary the size of the data.
    if arr.size and not (np.isfinite(arr.min()) and np.isfinite(arr.max())):
        bad = np.argwhere(~np.isfinite(arr))[0]
        where = tuple(int(i) for i in bad)
        if np.isfinite(src[where]):
            raise DeltapropError(
                f"{name} contains {src[where]} at index {where}, beyond the range of "
                f"{arr.dtype} (largest {np.finfo(arr.dtype).max:.4g}); expected "
                f"smaller numbers"
            )
        raise DeltapropError(
            f"{name} contains {arr[where]} at index {where}; expected finite numbers "
            f"(no NaN or infinity)"
        )
    return arr


def _is_real(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check_positive(value: Any, name: str) -> float:
    """A finite real number > 0."""
    if not _is_real(value) or not np.isfinite(value) or value <= 0:
        raise DeltapropError(f"{name}={_short(value)} is invalid; expected a finite number > 0")
    return float(value)


def check_nonnegative(value: Any, name: str) -> float:
    """A finite real number >= 0."""
    if not _is_real(value) or not np.isfinite(value) or value < 0:
        raise DeltapropError(f"{name}={_short(value)} is invalid; expected a finite number >= 0")
    return float(value)


def check_probability(value: Any, name: str, *, upper_open: bool = True) -> float:
    """A number in [0, 1) (or [0, 1] when upper_open is False)."""
    ok = (
        _is_real(value)
        and np.isfinite(value)
        and 0 <= value
        and (value < 1 if upper_open else value <= 1)
    )
    if not ok:
        rng = "[0, 1)" if upper_open else "[0, 1]"
        raise DeltapropError(f"{name}={_short(value)} is invalid; expected a number in {rng}")
    return float(value)


def check_int(value: Any, name: str, *, minimum: int = 1) -> int:
    """An integer >= minimum (numpy integers accepted, bools and floats rejected)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise DeltapropError(f"{name}={_short(value)} is invalid; expected an integer >= {minimum}")
    return int(value)
