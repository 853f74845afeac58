"""The IDX file format of the MNIST distribution: a checked reader and a small writer.

An IDX file is a 4-byte magic number -- two zero bytes, a type code, the number of dimensions
d -- then d big-endian uint32 sizes, then the data in C order, big-endian. The MNIST images are
type 0x08 (unsigned byte) with d = 3 (magic 0x00000803), the labels type 0x08 with d = 1
(magic 0x00000801). Files may be gzip-compressed (detected from their first bytes).

Nothing is allocated from the header's word alone: the declared data size is checked against
`max_bytes` and against what the file on disk can hold before any buffer is created, and a
compressed payload is read in chunks, so a forged header cannot trigger a huge allocation.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import os
import struct
import zlib
from typing import TYPE_CHECKING

import numpy as np

from .._atomic import atomic_write_bytes, open_regular
from .._validation import DeltapropError, DeltapropTypeError
from ._base import ChecksumError, DatasetError, _fspath

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

__all__ = ["read_idx", "write_idx", "IDX_DTYPES", "MAX_IDX_BYTES"]

#: IDX type code -> numpy dtype of the data as stored (big-endian).
IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODE_NAMES = {
    0x08: "unsigned byte",
    0x09: "signed byte",
    0x0B: "int16",
    0x0C: "int32",
    0x0D: "float32",
    0x0E: "float64",
}
#: Default cap on the declared data size (1 GiB; the largest MNIST file holds 47 MB).
MAX_IDX_BYTES = 1 << 30
_MAX_NDIM = 16
# DEFLATE cannot expand data more than 1032:1, so a gzip file of N bytes holds < 1032·N bytes.
_DEFLATE_MAX_RATIO = 1032
_CHUNK = 1 << 20


def _describe(magic: int) -> str:
    """A magic number's type and dimensions in words, e.g. "unsigned byte, 3-D"."""
    code, ndim = (magic >> 8) & 0xFF, magic & 0xFF
    return f"{_CODE_NAMES.get(code, f'unknown type 0x{code:02X}')}, {ndim}-D"


def _read_exact(f, n: int, path: str, what: str) -> bytes:
    """Exactly n bytes of the header, `what` naming the part in the truncation message."""
    data = f.read(n)
    if len(data) != n:
        raise DatasetError(
            f"{path}: truncated IDX file: it ends inside the {what} "
            f"({len(data)} of {n} bytes); expected a complete IDX header"
        )
    return data


def _read_chunks(f, nbytes: int) -> bytearray:
    """Read up to nbytes in chunks, so memory grows with the data actually present."""
    buf = bytearray()
    while len(buf) < nbytes:
        chunk = f.read(min(_CHUNK, nbytes - len(buf)))
        if not chunk:
            break
        buf += chunk
    return buf


def read_idx(
    path: str | os.PathLike[str],
    *,
    magic: int | None = None,
    sha256: str | None = None,
    max_bytes: int = MAX_IDX_BYTES,
) -> np.ndarray:
    """Read an IDX file (plain or gzip-compressed) into a numpy array, checking it throughout.

    Parameters
    ----------
    path : str or os.PathLike
        The file. Gzip compression is recognised from the file's first two bytes.
    magic : int, optional
        Required magic number, e.g. 0x00000803 for MNIST images or 0x00000801 for labels.
        Default: any valid IDX magic number.
    sha256 : str, optional
        Hex SHA-256 the decompressed contents (header and data) must have.
    max_bytes : int
        Largest data size the header may declare.

    Returns
    -------
    ndarray
        Shape as declared by the header, dtype the type code's in native byte order
        (uint8 for MNIST).

    Raises
    ------
    DatasetError
        Missing or unreadable file, bad magic number or type code, a declared size above
        `max_bytes` or beyond what the file can hold, truncated data, trailing bytes, a corrupt
        gzip stream.
    ChecksumError
        The contents do not match `sha256`.

    Example
    -------
    >>> images = read_idx("train-images-idx3-ubyte.gz", magic=0x803)  # doctest: +SKIP
    >>> images.shape  # doctest: +SKIP
    (60000, 28, 28)
    """
    path = _fspath(path)
    try:
        f, file_size = open_regular(path, "an IDX file", DatasetError)
    except FileNotFoundError:
        raise DatasetError(f"{path}: no such file; expected an IDX file") from None
    except OSError as exc:
        raise DatasetError(
            f"{path}: cannot be opened ({exc.strerror or exc}); expected a readable IDX file"
        ) from None
    with f:
        compressed = f.read(2) == b"\x1f\x8b"
        f.seek(0)
        stream = gzip.GzipFile(fileobj=f, mode="rb") if compressed else f
        try:
            return _read_idx_stream(stream, path, file_size, compressed, magic, sha256, max_bytes)
        except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
            raise DatasetError(
                f"{path}: corrupt or truncated gzip data ({exc}); expected a "
                f"complete gzip-compressed IDX file"
            ) from None
        except OSError as exc:
            raise DatasetError(
                f"{path}: read error ({exc}); expected a readable IDX file"
            ) from None


def _read_idx_stream(f, path, file_size, compressed, magic, sha256, max_bytes):
    """Read and check the header, the data and the checksum of an open IDX stream."""
    header, shape, dtype = _read_idx_header(f, path, magic)
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes > max_bytes:
        raise DatasetError(
            f"{path}: the header declares shape {shape}, {nbytes:,} bytes of "
            f"data, more than max_bytes={max_bytes:,}; expected a smaller file "
            f"(or a larger max_bytes if the file is genuine)"
        )
    if compressed:
        buf = _read_gzip_data(f, path, file_size, shape, nbytes)
    else:
        buf = _read_plain_data(f, path, file_size - len(header), shape, nbytes)
    if sha256 is not None:
        digest = hashlib.sha256(header)
        digest.update(buf)
        if digest.hexdigest() != sha256.lower():
            raise ChecksumError(
                f"{path}: SHA-256 of the contents is {digest.hexdigest()}; "
                f"expected {sha256.lower()} (the file is corrupt or not the one "
                f"expected)"
            )
    arr = np.frombuffer(buf, dtype=dtype).reshape(shape)
    return arr.astype(dtype.newbyteorder("="), copy=False) if dtype.itemsize > 1 else arr


def _read_idx_header(f, path: str, magic: int | None) -> tuple[bytes, tuple[int, ...], np.dtype]:
    """(raw header bytes, shape, stored dtype) from the magic number and the dimension sizes."""
    head = _read_exact(f, 4, path, "4-byte magic number")
    found = int.from_bytes(head, "big")
    if head[:2] != b"\0\0":
        raise DatasetError(
            f"{path}: not an IDX file: magic number 0x{found:08X} does not start "
            f"with two zero bytes; expected e.g. 0x00000803 (images) or "
            f"0x00000801 (labels)"
        )
    if magic is not None and found != magic:
        raise DatasetError(
            f"{path}: magic number 0x{found:08X} ({_describe(found)}); expected "
            f"0x{magic:08X} ({_describe(magic)})"
        )
    code, ndim = head[2], head[3]
    if code not in IDX_DTYPES:
        raise DatasetError(
            f"{path}: unknown IDX type code 0x{code:02X} in magic number "
            f"0x{found:08X}; expected one of "
            f"{', '.join(f'0x{c:02X}' for c in IDX_DTYPES)}"
        )
    if not 1 <= ndim <= _MAX_NDIM:
        raise DatasetError(
            f"{path}: the header declares {ndim} dimensions; expected 1 to {_MAX_NDIM}"
        )
    dims_raw = _read_exact(f, 4 * ndim, path, f"{ndim} dimension sizes")
    return head + dims_raw, struct.unpack(f">{ndim}I", dims_raw), IDX_DTYPES[code]


def _read_gzip_data(f, path: str, file_size: int, shape: tuple[int, ...], nbytes: int) -> bytearray:
    """The nbytes of data that follow the header in a gzip stream; no fewer, no more."""
    # the decompressed size is unknown until read: bound it by DEFLATE's ratio first, then
    # read in chunks, so a lying header costs no more memory than the data actually present
    if nbytes > _DEFLATE_MAX_RATIO * file_size:
        raise DatasetError(
            f"{path}: the header declares shape {shape}, {nbytes:,} bytes of "
            f"data, more than a {file_size:,}-byte gzip file can hold; the "
            f"header is corrupt or forged"
        )
    buf = _read_chunks(f, nbytes)
    if len(buf) < nbytes:
        raise DatasetError(
            f"{path}: truncated: the header declares shape {shape} "
            f"({nbytes:,} bytes of data) but the file holds only "
            f"{len(buf):,}; expected the complete file"
        )
    # one more chunk proves trailing bytes without reading them all: "+" when it came back full
    extra = len(_read_chunks(f, _CHUNK))
    if extra:
        raise DatasetError(
            f"{path}: {extra:,}{'+' if extra == _CHUNK else ''} unexpected "
            f"bytes after the {nbytes:,} bytes of data declared by the header "
            f"(shape {shape}); expected the file to end there"
        )
    return buf


def _read_plain_data(f, path: str, actual: int, shape: tuple[int, ...], nbytes: int) -> bytearray:
    """The nbytes of data that follow the header in a plain file holding `actual` bytes of data."""
    # the file's size is known: refuse a wrong one before allocating the buffer
    if actual < nbytes:
        raise DatasetError(
            f"{path}: truncated: the header declares shape {shape} "
            f"({nbytes:,} bytes of data) but the file holds only "
            f"{actual:,}; expected the complete file"
        )
    if actual > nbytes:
        raise DatasetError(
            f"{path}: {actual - nbytes:,} unexpected bytes after the "
            f"{nbytes:,} bytes of data declared by the header (shape "
            f"{shape}); expected the file to end there"
        )
    buf = bytearray(nbytes)
    got = f.readinto(buf)
    if got != nbytes:
        raise DatasetError(
            f"{path}: the file changed while being read ({got:,} of "
            f"{nbytes:,} bytes); expected a stable file"
        )
    return buf


def write_idx(
    path: str | os.PathLike[str], array: ArrayLike, *, compress: bool | None = None
) -> None:
    """Write an array as an IDX file (gzip-compressed when `compress`, default: path ends in .gz).

    Parameters
    ----------
    path : str or os.PathLike
    array : array_like
        1 to 16 dimensions; dtype uint8, int8, int16, int32, float32 or float64.
    compress : bool, optional

    Example
    -------
    >>> write_idx("labels-idx1-ubyte.gz", np.array([5, 0, 4], dtype=np.uint8))
    >>> read_idx("labels-idx1-ubyte.gz", magic=0x801)
    array([5, 0, 4], dtype=uint8)
    """
    path = _fspath(path)
    arr = np.asarray(array)
    codes = {dt.newbyteorder("=") if dt.itemsize > 1 else dt: c for c, dt in IDX_DTYPES.items()}
    code = codes.get(arr.dtype.newbyteorder("=") if arr.dtype.itemsize > 1 else arr.dtype)
    if code is None:
        raise DeltapropTypeError(
            f"array has dtype {arr.dtype}; expected one of uint8, int8, int16, "
            f"int32, float32, float64"
        )
    if not 1 <= arr.ndim <= _MAX_NDIM:
        raise DeltapropError(f"array has {arr.ndim} dimensions; expected 1 to {_MAX_NDIM}")
    data = (
        bytes([0, 0, code, arr.ndim])
        + struct.pack(f">{arr.ndim}I", *arr.shape)
        + np.ascontiguousarray(arr, dtype=IDX_DTYPES[code]).tobytes()
    )
    if compress is None:
        compress = path.endswith(".gz")
    atomic_write_bytes(path, gzip.compress(data, mtime=0) if compress else data)
