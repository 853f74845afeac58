"""MNIST from the four standard IDX files: found locally, or downloaded and verified.

The files (LeCun, Cortes and Burges, http://yann.lecun.com/exdb/mnist/) are looked for in

1. the directory given as ``path`` (or its ``mnist`` subdirectory),
2. each directory in the ``DELTAPROP_DATA`` environment variable (separated by ``os.pathsep``;
   the files may sit in it or in its ``mnist`` subdirectory),
3. the user cache ``$XDG_CACHE_HOME/deltaprop/mnist`` (default ``~/.cache/deltaprop/mnist``),

each as ``NAME.gz`` or uncompressed ``NAME``. When none holds all four and ``download=True``,
the missing files are fetched from `MNIST_MIRRORS` into the cache: each download goes to a
temporary file, is checked, and only then renamed into place.

Checksums are SHA-256 digests of the *decompressed* IDX contents, so a copy recompressed with
other gzip settings, or stored uncompressed, verifies as well as the original downloads. For
reference, the SHA-256 digests of the original .gz files as the mirrors serve them are:
train-images 440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609,
train-labels 3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c,
t10k-images 8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6,
t10k-labels f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from .._validation import DeltapropError, check_dtype, check_int
from ._base import ChecksumError, Dataset, DatasetError, _fspath
from .idx import read_idx

if TYPE_CHECKING:
    from numpy.typing import DTypeLike

__all__ = ["load_mnist", "MNIST_FILES", "MNIST_MIRRORS", "mnist_cache_dir"]


class MnistFile(NamedTuple):
    """One of the four MNIST files: its name without .gz, magic number and content SHA-256."""

    name: str
    magic: int
    sha256: str


MNIST_FILES = {
    "train_images": MnistFile(
        "train-images-idx3-ubyte",
        0x803,
        "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    ),
    "train_labels": MnistFile(
        "train-labels-idx1-ubyte",
        0x801,
        "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    ),
    "test_images": MnistFile(
        "t10k-images-idx3-ubyte",
        0x803,
        "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    ),
    "test_labels": MnistFile(
        "t10k-labels-idx1-ubyte",
        0x801,
        "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    ),
}
# Small files first, so that a bad label file is reported before 47 MB of images are read.
_READ_ORDER = ("test_labels", "train_labels", "test_images", "train_images")

#: Base URLs tried in order; each file is fetched as base + name + ".gz".
MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
_MAX_DOWNLOAD_BYTES = 64 << 20  # the largest file is 9.9 MB compressed
_TIMEOUT_S = 60


def mnist_cache_dir() -> Path:
    """The user cache directory: $XDG_CACHE_HOME/deltaprop/mnist or ~/.cache/deltaprop/mnist."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    root = Path(base) if base and os.path.isabs(base) else Path.home() / ".cache"
    return root / "deltaprop" / "mnist"


def _urlopen(url: str, timeout: float):
    """urllib's urlopen, imported only when a download happens (tests replace this function)."""
    import urllib.request

    return urllib.request.urlopen(url, timeout=timeout)


def _files_in(directory: Path) -> dict:
    """key -> path of each MNIST file present in directory (NAME.gz preferred over NAME)."""
    found = {}
    for key, spec in MNIST_FILES.items():
        for candidate in (directory / (spec.name + ".gz"), directory / spec.name):
            if candidate.is_file():
                found[key] = candidate
                break
    return found


def _candidates(path) -> list:
    """(directory, origin) pairs in search order."""
    out = []
    if path is not None:
        p = Path(_fspath(path))
        if not p.is_dir():
            raise DatasetError(
                f"path={str(p)!r} is not a directory; expected the directory "
                f"holding the four MNIST files ({_names()})"
            )
        out += [(p, "path argument"), (p / "mnist", "path argument")]
    for entry in os.environ.get("DELTAPROP_DATA", "").split(os.pathsep):
        if entry:
            out += [(Path(entry), "DELTAPROP_DATA"), (Path(entry) / "mnist", "DELTAPROP_DATA")]
    out.append((mnist_cache_dir(), "user cache"))
    return out


def _names() -> str:
    return ", ".join(spec.name + ".gz" for spec in MNIST_FILES.values())


def _fetch_one(spec: MnistFile, cache: Path) -> Path:
    """Download one file into cache from the first mirror that serves verified contents."""
    import http.client

    target = cache / (spec.name + ".gz")
    errors = []
    for mirror in MNIST_MIRRORS:
        url = mirror + spec.name + ".gz"
        fd, tmp = tempfile.mkstemp(prefix=f".{spec.name}.", suffix=".part", dir=cache)
        try:
            with os.fdopen(fd, "wb") as out, _urlopen(url, timeout=_TIMEOUT_S) as response:
                size = 0
                while True:
                    chunk = response.read(1 << 20)
                    if not chunk:
                        break
                    size += len(chunk)
                    if size > _MAX_DOWNLOAD_BYTES:
                        raise DatasetError(
                            f"more than {_MAX_DOWNLOAD_BYTES:,} bytes; expected a file under 10 MB"
                        )
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            read_idx(tmp, magic=spec.magic, sha256=spec.sha256)
            os.replace(tmp, target)
            return target
        except (OSError, ValueError, http.client.HTTPException) as exc:
            errors.append(f"{url}: {exc}")
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    raise _DownloadFailed("; ".join(errors))


class _DownloadFailed(Exception):
    """Internal: every mirror failed for a file (the message lists why)."""


def _not_found(notes: list, download_error: str | None) -> DatasetError:
    looked = "; ".join(notes)
    if download_error is None:
        how = "download=False, so nothing was downloaded"
    else:
        how = f"downloading failed ({download_error})"
    return DatasetError(
        f"MNIST files not found (looked in: {looked}) and {how}. To use local copies, put the "
        f"four files ({_names()}, or uncompressed) in one directory DIR and pass "
        f"load_mnist(path=DIR), or set the environment variable DELTAPROP_DATA=DIR (DIR/mnist "
        f"works too)"
    )


def load_mnist(
    path: str | os.PathLike[str] | None = None,
    *,
    download: bool = True,
    validation: int = 10000,
    dtype: DTypeLike = "float32",
    verify: bool = True,
) -> Dataset:
    """Load MNIST with the textbook's split: 50,000 train, 10,000 validation, 10,000 test.

    Parameters
    ----------
    path : str or os.PathLike, optional
        Directory holding the four IDX files (.gz or uncompressed), searched first.
    download : bool
        Fetch missing files from `MNIST_MIRRORS` into the user cache when no directory has them.
    validation : int
        Number of images at the end of the 60,000-image training file held out for validation
        (the book: 10,000). 0 keeps all 60,000 for training and sets X_val, y_val to None.
    dtype : {"float32", "float64"}
        dtype of the X arrays.
    verify : bool
        Check each file's SHA-256 against the standard MNIST files. False accepts other data in
        the same format (e.g. Fashion-MNIST); the format itself is always checked.

    Returns
    -------
    Dataset
        X_* of shape (n, 784), pixel intensities scaled to [0, 1]; y_* int64 digits 0..9;
        image_shape (28, 28); X_train and X_val are views into one array.

    Raises
    ------
    DatasetError
        The files are nowhere to be found (the message says where it looked and how to point
        at local copies), malformed, or (ChecksumError) not the standard files.

    Example
    -------
    >>> ds = load_mnist()  # doctest: +SKIP
    >>> ds.X_train.shape, ds.X_val.shape, ds.X_test.shape  # doctest: +SKIP
    ((50000, 784), (10000, 784), (10000, 784))
    """
    dt = check_dtype(dtype)
    validation = check_int(validation, "validation", minimum=0)
    notes, files = [], None
    for directory, origin in _candidates(path):
        found = _files_in(directory)
        if len(found) == len(MNIST_FILES):
            files = found
            break
        if found:
            missing = [MNIST_FILES[k].name + ".gz" for k in MNIST_FILES if k not in found]
            notes.append(
                f"{directory} ({origin}): only {len(found)} of 4 files, missing "
                f"{', '.join(missing)}"
            )
        elif directory.name != "mnist" or origin == "user cache":
            state = "no MNIST files" if directory.is_dir() else "does not exist"
            notes.append(f"{directory} ({origin}): {state}")
    if not os.environ.get("DELTAPROP_DATA"):
        notes.append("DELTAPROP_DATA is not set")
    if files is None:
        if not download:
            raise _not_found(notes, None)
        cache = mnist_cache_dir()
        try:
            cache.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _not_found(notes, f"cannot create the cache directory {cache}: {exc}") from None
        files = _files_in(cache)
        for key, spec in MNIST_FILES.items():
            if key not in files:
                try:
                    files[key] = _fetch_one(spec, cache)
                except _DownloadFailed as exc:
                    raise _not_found(notes, f"{spec.name}.gz: {exc}") from None

    raw = {}
    for key in _READ_ORDER:
        spec = MNIST_FILES[key]
        try:
            raw[key] = read_idx(
                files[key], magic=spec.magic, sha256=spec.sha256 if verify else None
            )
        except DatasetError as exc:
            hints = []
            if Path(files[key]).parent == mnist_cache_dir():
                hints.append("delete it to download it again")
            if verify and isinstance(exc, ChecksumError):
                hints.append("pass verify=False to load other data in the MNIST format")
            if not hints:
                raise
            raise type(exc)(f"{exc}; {' or '.join(hints)}") from None
    return _build(raw, files, validation, dt)


def _build(raw, files, validation, dt) -> Dataset:
    for part in ("train", "test"):
        images, labels = raw[part + "_images"], raw[part + "_labels"]
        if len(images) != len(labels):
            raise DatasetError(
                f"{files[part + '_labels']}: {len(labels)} labels for "
                f"{len(images)} images in {files[part + '_images']}; expected one "
                f"label per image"
            )
        if labels.size and labels.max() > 9:
            i = int(np.argmax(labels))
            raise DatasetError(
                f"{files[part + '_labels']}: label {labels[i]} at index {i}; expected digits 0..9"
            )
    rows, cols = raw["train_images"].shape[1:]
    if raw["test_images"].shape[1:] != (rows, cols):
        raise DatasetError(
            f"{files['test_images']}: images of {raw['test_images'].shape[1:]} "
            f"pixels but the training images are {(rows, cols)}; expected the same"
        )
    n_train = len(raw["train_images"])
    if validation >= n_train:
        raise DeltapropError(
            f"validation={validation} is invalid for {n_train} training images; "
            f"expected 0 to {n_train - 1}"
        )

    def scaled(images):
        X = images.reshape(len(images), rows * cols).astype(dt)
        np.divide(X, 255, out=X)
        return X

    X_all, y_all = scaled(raw["train_images"]), raw["train_labels"].astype(np.int64)
    cut = n_train - validation
    has_val = validation > 0
    return Dataset(
        name="mnist",
        X_train=X_all[:cut],
        y_train=y_all[:cut],
        X_val=X_all[cut:] if has_val else None,
        y_val=y_all[cut:] if has_val else None,
        X_test=scaled(raw["test_images"]),
        y_test=raw["test_labels"].astype(np.int64),
        n_classes=10,
        feature_names=tuple(f"pixel_{r}_{c}" for r in range(rows) for c in range(cols)),
        image_shape=(rows, cols),
        description=(
            f"MNIST handwritten digits (LeCun, Cortes and Burges) from "
            f"{Path(files['train_images']).parent}: the first {cut} training images "
            f"for training, the last {validation} for validation, the "
            f"{len(raw['test_images'])} test images for test"
        ),
    )
