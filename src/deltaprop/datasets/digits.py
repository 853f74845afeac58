"""The embedded default data set: 1,797 handwritten digits as 8×8 images, no download needed.

Source: the test part of the UCI Machine Learning Repository's "Optical Recognition of
Handwritten Digits" data set (E. Alpaydin and C. Kaynak, 1998;
https://archive.ics.uci.edu/ml/datasets/Optical+Recognition+of+Handwritten+Digits), which UCI
distributes under CC BY 4.0, as redistributed by scikit-learn (BSD-3-Clause) in
``sklearn.datasets.load_digits``. ``data/digits.npz`` was written once from that function:
X uint8 (1797, 64), pixel counts 0..16, rows of the 8×8 image one after the other; y uint8
(1797,), the digit. See ``data/README.md``.
"""

from __future__ import annotations

import hashlib
from importlib import resources
from typing import TYPE_CHECKING

import numpy as np

from .._validation import check_dtype
from ._base import Dataset, DatasetError, from_arrays

if TYPE_CHECKING:
    from numpy.typing import DTypeLike

__all__ = ["load_digits"]

# SHA-256 of X.tobytes() + y.tobytes(), to catch a damaged installation.
_DIGITS_SHA256 = "87ff0c9e40dc7e2c0e34e7257799c2e3f3aec1a016363bb11cad869ec428a826"


def _digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    """The raw (X uint8 (1797, 64), y uint8 (1797,)) arrays of the embedded file, verified."""
    ref = resources.files(__package__).joinpath("data").joinpath("digits.npz")
    try:
        with ref.open("rb") as f, np.load(f, allow_pickle=False) as npz:
            X, y = npz["X"], npz["y"]
    except (OSError, KeyError, ValueError) as exc:
        raise DatasetError(
            f"the embedded digits file {ref} cannot be read ({exc}); expected it "
            f"installed with the package (reinstall deltaprop)"
        ) from None
    digest = hashlib.sha256(X.tobytes())
    digest.update(y.tobytes())
    if (X.shape, y.shape, X.dtype, y.dtype) != (
        (1797, 64),
        (1797,),
        np.uint8,
        np.uint8,
    ) or digest.hexdigest() != _DIGITS_SHA256:
        raise DatasetError(
            f"the embedded digits file {ref} is damaged (shapes {X.shape}, "
            f"{y.shape}, SHA-256 {digest.hexdigest()}); expected the file "
            f"shipped with deltaprop (reinstall it)"
        )
    return X, y


def load_digits(
    *, validation: float = 0.2, test: float = 0.2, seed: int = 0, dtype: DTypeLike = "float32"
) -> Dataset:
    """The 8×8 handwritten digits (1,797 samples, 64 features, 10 classes), split and scaled.

    Parameters
    ----------
    validation, test : float or int
        Size of the validation and test parts, as a fraction of the 1,797 samples (rounded up)
        or a count; 0 for none. The default split is 1077 / 360 / 360 (60/20/20).
    seed : int
        Seed of the stratified shuffle; the default split is the same on every call.
    dtype : {"float32", "float64"}

    Returns
    -------
    Dataset
        X_* shape (n, 64), pixel counts divided by 16 so they lie in [0, 1]; y_* int64 digits;
        image_shape (8, 8). With validation=test=0 the samples keep the file's order.

    Example
    -------
    >>> ds = load_digits()
    >>> ds.X_train.shape, ds.X_val.shape, ds.X_test.shape
    ((1077, 64), (360, 64), (360, 64))
    """
    dt = check_dtype(dtype)
    X, y = _digits_arrays()
    return from_arrays(
        X.astype(dt) / dt.type(16),
        y.astype(np.int64),
        name="digits",
        validation=validation,
        test=test,
        seed=seed,
        stratify=True,
        dtype=dt,
        feature_names=[f"pixel_{r}_{c}" for r in range(8) for c in range(8)],
        image_shape=(8, 8),
        description="8x8 handwritten digits (UCI optdigits test set, via scikit-learn), "
        "pixel counts 0..16 scaled to [0, 1]",
    )
