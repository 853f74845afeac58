"""Safe writes: a file appears at its path complete or not at all.

Every file deltaprop writes (model files, checkpoints, reports, plots, traces) goes through
``atomic_open``: the data is written to a temporary file in the target's directory, flushed,
fsynced and renamed over the target, so a crash or Ctrl-C leaves the old file or the new one,
never a torn one.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from ._validation import DeltapropError, DeltapropTypeError, _short

__all__ = ["atomic_open", "atomic_write_bytes", "atomic_write_text", "check_path"]


def _fsync_directory(directory):
    """fsync a directory so that a rename in it survives a crash (POSIX only)."""
    flags = getattr(os, "O_DIRECTORY", None)
    if flags is None:
        return
    try:
        fd = os.open(directory, os.O_RDONLY | flags)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems refuse fsync on directories; the rename itself has happened
    finally:
        os.close(fd)


def _create_temp(directory, name):
    """A new file next to the target, created with 0o666 & ~umask like an ordinary file."""
    base = name[:200]
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"cannot write {name!r}: directory {directory!r} does not exist")
    for _ in range(100):
        tmp = os.path.join(directory, f".{base}.{secrets.token_hex(6)}.tmp")
        try:
            fd = os.open(
                tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666
            )
        except FileExistsError:
            continue
        return fd, tmp
    raise FileExistsError(f"could not create a temporary file next to {name!r} in {directory!r}")


@contextlib.contextmanager
def atomic_open(path, mode="wb", *, encoding=None, newline=None):
    """Open a file for writing so that it appears at `path` complete or not at all.

    Parameters
    ----------
    path : str or os.PathLike
        The target; its directory must exist. An existing file is replaced only when the
        ``with`` block finishes without an exception.
    mode : {"wb", "w", "wt"}
        Binary or text. Text defaults to UTF-8.
    encoding, newline : optional
        As for ``open`` in text mode.

    Yields
    ------
    file object
        Writing goes to a temporary file in the same directory.

    Notes
    -----
    On success: flush, ``os.fsync``, close, ``os.replace`` onto `path`, then fsync of the
    directory where the platform allows it. On any exception (including KeyboardInterrupt)
    the temporary file is removed, `path` is left untouched and the exception propagates.

    Examples
    --------
    >>> with atomic_open("results.json", "w") as f:   # doctest: +SKIP
    ...     f.write("{}")
    """
    if mode not in ("wb", "w", "wt"):
        raise DeltapropError(f"mode={mode!r} is not supported; expected 'wb', 'w' or 'wt'")
    path = check_path(path)
    if os.path.isdir(path):  # os.replace would fail only after the whole file was written
        raise IsADirectoryError(f"cannot write {path!r}: it is a directory; expected a file path")
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = _create_temp(directory, os.path.basename(path))
    try:
        if "b" in mode:
            f = os.fdopen(fd, "wb")
        else:
            f = os.fdopen(fd, "w", encoding=encoding or "utf-8", newline=newline)
    except BaseException:
        os.close(fd)
        _remove_quietly(tmp)
        raise
    try:
        with f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        _remove_quietly(tmp)
        raise
    _fsync_directory(directory)


def check_path(path):
    """os.fspath(path), or a TypeError that names the argument."""
    try:
        return os.fspath(path)
    except TypeError:
        raise DeltapropTypeError(
            f"path={_short(path)} is not a path; expected a str or os.PathLike naming a file"
        ) from None


def _remove_quietly(path):
    try:
        os.unlink(path)
    except OSError:
        pass


def atomic_write_bytes(path, data) -> Path:
    """Write `data` (bytes-like) to `path` atomically; see :func:`atomic_open`. Returns the path."""
    with atomic_open(path, "wb") as f:
        f.write(data)
    return Path(path)


def atomic_write_text(path, text, *, encoding="utf-8") -> Path:
    """Write `text` to `path` atomically; see :func:`atomic_open`. Returns the path."""
    with atomic_open(path, "w", encoding=encoding) as f:
        f.write(text)
    return Path(path)
