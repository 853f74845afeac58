"""Data for deltaprop: MNIST, an embedded default, 2-D toy sets, user files and helpers.

Named data sets come as a `Dataset` (X/y for train, validation and test) through
``load(name, **options)``:

=========  ==================================================================================
digits     1,797 8×8 handwritten digits shipped inside the package (no download), 60/20/20
mnist      the four standard MNIST IDX files, found locally or downloaded and verified,
           50,000 / 10,000 / 10,000 like the textbook
xor        the XOR truth table (4 points), or a noisy sample of it
moons      two interleaved half circles
circles    a small circle inside a large one
spirals    k interleaved spiral arms
=========  ==================================================================================

User data: `load_csv` (header row, target column by name) and `load_npz` (arrays X and y);
`read_table` reads a CSV file as named columns (numbers and text), `Preprocessor` turns a
table into network inputs (scaling, one-hot categories, label names) and `load_table` splits a
table and fits the preprocessing on its training rows.
Helpers: `one_hot`, `standardize`, `minmax_scale`, `train_test_split`, `from_arrays`.
The package imports numpy and the standard library only.

Example
-------
>>> from deltaprop import datasets
>>> ds = datasets.load("digits")
>>> ds
Dataset('digits', train=(1077, 64), val=(360, 64), test=(360, 64), n_classes=10, dtype=float32)
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from .._validation import DeltapropError, DeltapropTypeError, _short
from ._base import ChecksumError, Dataset, DatasetError, from_arrays
from .digits import load_digits
from .files import DataFile, load_csv, load_npy, load_npz, save_npz
from .idx import read_idx, write_idx
from .mnist import MNIST_FILES, MNIST_MIRRORS, load_mnist, mnist_cache_dir
from .preprocessing import Scaling, minmax_scale, one_hot, standardize, train_test_split
from .preprocessor import Preprocessor
from .table import Table, read_table
from .tabular import load_table
from .toy import (
    load_circles,
    load_moons,
    load_spirals,
    load_xor,
    make_circles,
    make_moons,
    make_spirals,
    make_xor,
)

__all__ = [
    "load",
    "DATASETS",
    "Dataset",
    "DatasetError",
    "ChecksumError",
    "from_arrays",
    "load_digits",
    "load_mnist",
    "mnist_cache_dir",
    "MNIST_FILES",
    "MNIST_MIRRORS",
    "make_xor",
    "make_moons",
    "make_circles",
    "make_spirals",
    "load_csv",
    "load_npz",
    "load_npy",
    "save_npz",
    "DataFile",
    "read_idx",
    "write_idx",
    "one_hot",
    "standardize",
    "minmax_scale",
    "Scaling",
    "train_test_split",
    "Table",
    "read_table",
    "Preprocessor",
    "load_table",
]

#: Registry of named data sets: name -> loader returning a Dataset.
DATASETS: dict[str, Callable[..., Dataset]] = {
    "digits": load_digits,
    "mnist": load_mnist,
    "xor": load_xor,
    "moons": load_moons,
    "circles": load_circles,
    "spirals": load_spirals,
}


def load(name: str, **options: Any) -> Dataset:
    """Load a named data set as a `Dataset`.

    Parameters
    ----------
    name : str
        One of the keys of `DATASETS`: "digits", "mnist", "xor", "moons", "circles", "spirals".
    **options
        Passed to the loader: ``load_digits(validation, test, seed, dtype)``,
        ``load_mnist(path, download, validation, dtype, verify)``, and for the toy sets their
        ``make_*`` options (n_samples, noise, seed, ...) plus validation, test, dtype.

    Returns
    -------
    Dataset

    Raises
    ------
    ValueError
        Unknown name (the message lists the valid names).
    TypeError
        An option the loader does not take (the message lists those it takes).

    Example
    -------
    >>> load("moons", n_samples=100, noise=0.2).X_train.shape
    (60, 2)
    """
    loader = DATASETS.get(name) if isinstance(name, str) else None
    if loader is None:
        raise DeltapropError(
            f"unknown data set {_short(name)}; expected one of "
            f"{', '.join(repr(k) for k in DATASETS)}"
        )
    accepted = [p.name for p in inspect.signature(loader).parameters.values()]
    unknown = [k for k in options if k not in accepted]
    if unknown:
        raise DeltapropTypeError(
            f"data set {name!r} has no option {', '.join(map(repr, unknown))}; "
            f"expected some of {', '.join(accepted)}"
        )
    return loader(**options)
