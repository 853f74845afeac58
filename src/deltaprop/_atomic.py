"""Safe writes and safe opens: a file appears at its path complete or not at all.

Every file deltaprop writes (model files, checkpoints, reports, plots, traces) goes through
``atomic_open``: the data is written to a temporary file in the target's directory, flushed,
fsynced and renamed over the target, so a crash or Ctrl-C leaves the old file or the new one,
never a torn one. The target must be absent or a regular, writable file: a FIFO, a device, a
symbolic link or a directory is refused before anything is written (renaming over /dev/null
would replace the device), and an existing file keeps its permission bits.

Temporaries are named ``.NAME.<pid>-<hex>.tmp``. A writer killed with SIGKILL leaves its
temporary behind; the next write of the same target removes those whose writer process is
gone (and that were last written over a minute ago, in case the directory is shared with
another machine, where the pid means nothing) and any older than an hour. A live writer
touches its file continually, so neither rule can remove a file still being written.

Readers open their files through :func:`open_regular`, which refuses anything but a regular
file before opening it (reading a FIFO blocks forever, /dev/zero never ends).
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import stat
import time
from pathlib import Path

from ._validation import DeltapropError, DeltapropTypeError, _short

__all__ = [
    "atomic_open",
    "atomic_write_bytes",
    "atomic_write_text",
    "check_path",
    "check_output_path",
    "open_regular",
]

_STALE_AGE = 3600.0  # seconds: a temporary untouched this long belongs to no live writer
_DEAD_WRITER_AGE = 60.0  # seconds: grace for a pid that may belong to another machine
_TEMP_RE = re.compile(r"^\.(?P<base>.*)\.(?:(?P<pid>\d+)-)?[0-9a-f]{12}\.tmp$")


def _kind(mode):
    """The kind of file a stat mode describes, in words."""
    for test, name in (
        (stat.S_ISLNK, "a symbolic link"),
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def check_output_path(path, option_name=None):
    """Check that `path` may be written: absent or a regular writable file, in a directory.

    Parameters
    ----------
    path : str or os.PathLike
    option_name : str, optional
        The option or argument that gave the path (e.g. ``"--out"``), named in the message.

    Returns
    -------
    str
        The path as a string.

    Raises
    ------
    DeltapropError
        When the path is a symbolic link, a directory, a FIFO, a device or a socket, or a
        read-only file (no write permission bit), or its directory is not a directory.
    FileNotFoundError
        When its directory does not exist.
    """
    p = check_path(path)
    label = f"{option_name} {p!r}" if option_name else repr(p)
    try:
        st = os.lstat(p)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise DeltapropError(f"cannot write {label}: {exc.strerror or exc}") from None
    if st is not None and not stat.S_ISREG(st.st_mode):
        raise DeltapropError(
            f"cannot write {label}: it is {_kind(st.st_mode)}; expected a regular file "
            f"or a new path"
        )
    if st is not None and not st.st_mode & 0o222:
        raise DeltapropError(
            f"cannot write {label}: the file is read-only (mode {stat.S_IMODE(st.st_mode):o}); "
            f"make it writable or choose another path"
        )
    directory = os.path.dirname(os.path.abspath(p))
    if not os.path.exists(directory):
        raise FileNotFoundError(
            f"cannot write {label}: directory {directory!r} does not exist; create it first"
        )
    if not os.path.isdir(directory):
        raise DeltapropError(f"cannot write {label}: {directory!r} is not a directory")
    return p


def open_regular(path, what, error=DeltapropError):
    """Open an existing regular file for binary reading; returns (file, size in bytes).

    The type is checked before opening (a FIFO would block, a device never end) and again on
    the open descriptor; symbolic links are followed. Anything else raises `error` naming the
    path, its kind and `what` the file should hold. A missing file raises FileNotFoundError.
    """
    p = check_path(path)
    try:
        st = os.stat(p)
    except FileNotFoundError:
        raise FileNotFoundError(f"{p}: no such file; expected {what}") from None
    except OSError as exc:
        raise error(f"{p}: cannot be read ({exc.strerror or exc}); expected {what}") from None
    if not stat.S_ISREG(st.st_mode):
        raise error(f"{p}: is {_kind(st.st_mode)}; expected a regular file holding {what}")
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(p, flags)
    except OSError as exc:
        raise error(f"{p}: cannot be read ({exc.strerror or exc}); expected {what}") from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):  # replaced between stat and open
        os.close(fd)
        raise error(f"{p}: is {_kind(st.st_mode)}; expected a regular file holding {what}")
    return os.fdopen(fd, "rb"), st.st_size


def _remove_stale_temporaries(directory, name):
    """Remove temporaries of target `name` left by writers that are gone; see the module doc."""
    now = time.time()
    try:
        entries = os.listdir(directory)
    except OSError:
        return
    for entry in entries:
        match = _TEMP_RE.match(entry)
        if match is None or match["base"] != name[:200]:
            continue
        full = os.path.join(directory, entry)
        try:
            st = os.lstat(full)
        except OSError:
            continue
        age = now - st.st_mtime
        pid = int(match["pid"]) if match["pid"] else None
        dead = pid is not None and pid != os.getpid() and not _alive(pid)
        if stat.S_ISREG(st.st_mode) and (age > _STALE_AGE or (dead and age > _DEAD_WRITER_AGE)):
            _remove_quietly(full)


def _alive(pid):
    """Whether a process `pid` exists on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True
    return True


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
        tmp = os.path.join(directory, f".{base}.{os.getpid()}-{secrets.token_hex(6)}.tmp")
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
    path = check_output_path(path)
    directory = os.path.dirname(os.path.abspath(path))
    _remove_stale_temporaries(directory, os.path.basename(path))
    fd, tmp = _create_temp(directory, os.path.basename(path))
    try:
        _keep_mode(fd, path)
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


def _keep_mode(fd, path):
    """Give the temporary the permission bits of the file it will replace, if there is one."""
    try:
        st = os.stat(path)
    except OSError:
        return
    os.fchmod(fd, stat.S_IMODE(st.st_mode))


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
