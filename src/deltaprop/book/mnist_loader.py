"""The book's mnist_loader, reading the MNIST IDX files that deltaprop finds (never a pickle).

``import deltaprop.book.mnist_loader as mnist_loader`` gives the book's two functions with the
book's return values:

- ``load_data()``: ``(training_data, validation_data, test_data)``, each a tuple
  ``(images, labels)``: images a float32 array of shape (n, 784) with pixels in [0, 1], labels
  an int64 array of shape (n,); n = 50,000, 10,000 and 10,000. Training and validation data
  are the first 50,000 and the last 10,000 images of MNIST's training file, as in the book.
- ``load_data_wrapper()``: the same as lists of pairs: training pairs of a (784, 1) image
  column and a (10, 1) one-hot column; validation and test pairs of a (784, 1) column and the
  integer label. Each column is a view of a row of one matrix, and each list knows the rows
  of its pairs (a ``RowPairs``, a list in every other way), so that SGD and evaluation
  gather mini-batches and blocks by rows; copies of the lists keep that.

The files are looked for where ``deltaprop.datasets.load_mnist`` looks: the `path` argument,
the ``DELTAPROP_DATA`` environment variable, the user cache (downloaded and checksum-verified
there when ``download`` is true and they are nowhere else). Pixels are the IDX bytes divided by
255, deltaprop's scaling.
"""

from __future__ import annotations

import numpy as np

from ..datasets import load_mnist
from ._engine import RowPairs

__all__ = ["load_data", "load_data_wrapper", "vectorized_result"]


def load_data(path=None, *, download=True):
    """Return MNIST as the book's ``(training_data, validation_data, test_data)`` tuples.

    Parameters
    ----------
    path : str or os.PathLike, optional
        A directory holding the four IDX files (.gz or not), searched first.
    download : bool, default True
        Fetch the files into the user cache when no directory has them.

    Returns
    -------
    tuple of three (images, labels) tuples
        images float32 of shape (n, 784), labels int64 of shape (n,), n = 50,000, 10,000 and
        10,000.
    """
    ds = load_mnist(path, download=download, validation=10000, dtype="float32")
    return ((ds.X_train, ds.y_train), (ds.X_val, ds.y_val), (ds.X_test, ds.y_test))


def load_data_wrapper(path=None, *, download=True):
    """Return ``(training_data, validation_data, test_data)`` as the book's lists of pairs.

    Parameters
    ----------
    path, download
        As for ``load_data``.

    Returns
    -------
    tuple of three lists
        training_data: 50,000 pairs (x, y), x of shape (784, 1) and y the (10, 1) one-hot
        column of the digit; validation_data and test_data: 10,000 pairs (x, label) each,
        label an integer.
    """
    tr_d, va_d, te_d = load_data(path, download=download)
    # Each x a view of a row of the image matrix and each y one of a one-hot matrix (the
    # book's vectorized_result, row by row), so that SGD can gather a mini-batch by rows.
    X = np.ascontiguousarray(tr_d[0])
    Y = np.zeros((X.shape[0], 10))
    Y[np.arange(X.shape[0]), tr_d[1]] = 1.0
    training_data = RowPairs(X, Y)
    validation_data = _labelled(va_d)
    test_data = _labelled(te_d)
    return (training_data, validation_data, test_data)


def _labelled(d):
    """(x, label) pairs, each x a view of a row of the image matrix (a RowPairs, so that
    evaluation gathers its rows)."""
    return RowPairs(np.ascontiguousarray(d[0]), d[1])


def vectorized_result(j):
    """A (10, 1) column with 1.0 at row j: the desired output for digit j."""
    e = np.zeros((10, 1))
    e[j] = 1.0
    return e
