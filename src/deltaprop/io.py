"""Model files and checkpoints: save and load networks without pickle.

A model file is a zip archive in numpy's ``.npz`` layout, written without pickle:

``metadata.json``
    UTF-8 JSON: ``format`` ("deltaprop-model"), ``format_version`` (1), ``library_version``,
    the architecture (``sizes``, ``activations`` configs, ``loss``, ``dtype``, ``bias`` (per
    layer "neuron", "shared" or "none"; absent in older files: "neuron" throughout),
    ``train_biases`` (per layer; absent: all true), and ``seed``/
    ``init`` where they are plain data), ``training_config``, ``history``, ``extra``,
    ``optimizer_state``, ``preprocessor`` (the fitted table preprocessing, or null) and
    ``checksum``.
``W1.npy`` … ``WL.npy``, ``b1.npy`` … ``bL.npy``
    The parameters of layers 1..L, W^l of shape (n_l, n_{l−1}) and b^l of shape (n_l,) ((1,)
    for a shared bias, (0,) for a layer without bias), in the network's dtype.
``optimizer.<key>.npy``, ``extra.<key>.npy``
    Arrays found inside ``optimizer_state`` or ``extra``; in the JSON they are replaced by
    ``{"__ndarray__": "<member name without .npy>"}``.

The checksum is the SHA-256 over every array member in sorted name order; for each array it
hashes ``json.dumps([name, dtype.str, list(shape)])``, a newline, then the data in C order and
little-endian byte order. ``checksum.metadata`` is the SHA-256 of the rest of the metadata
(every key but ``checksum``) as ``json.dumps(..., sort_keys=True)``: the preprocessing's
scales, the class names and the configuration are covered too (files written before it was
added load without it). ``np.load(path, allow_pickle=False)`` reads the file too.

Loading never unpickles and never evaluates code: the zip directory is read with ``zipfile``,
every ``.npy`` header is parsed by ``numpy.lib.format`` after its length has been bounded, and
object, structured and sub-array dtypes are refused. Every size is checked before anything is
allocated: the metadata's length, the number of members, each array's declared size (exact for
the parameters, whose shapes follow from ``sizes``; capped for optimizer and extra arrays), and
the parameters' total size against the bytes the file actually holds. Any problem raises
:class:`ModelFileError` (a ``ValueError``) naming the file and what was wrong.

Writes go through ``deltaprop._atomic`` (re-exported here: :func:`atomic_open`,
:func:`atomic_write_bytes`): a temporary file in the target's directory, flushed, fsync'ed and
renamed over the target, so a crash or Ctrl-C leaves either the old file or the new one.
"""

from __future__ import annotations

import hashlib
import io as _stdio
import json
import math
import numbers
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np
from numpy.lib import format as _npy

from . import activations as _activations
from . import losses as _losses
from ._atomic import (
    atomic_open,
    atomic_write_bytes,
    atomic_write_text,
    check_path,
    open_regular,
)
from ._validation import DeltapropError, DeltapropTypeError
from ._version import __version__
from .datasets.preprocessor import Preprocessor
from .history import History
from .network import Network, check_memory, provide

__all__ = [
    "save",
    "load",
    "read_metadata",
    "atomic_open",
    "atomic_write_bytes",
    "atomic_write_text",
    "ModelFileError",
    "FORMAT_NAME",
    "FORMAT_VERSION",
]

FORMAT_NAME = "deltaprop-model"
FORMAT_VERSION = 1
METADATA_MEMBER = "metadata.json"

# Bounds that keep a forged file from making the loader allocate or loop without limit.
_MAX_METADATA_BYTES = 16 * 2**20
_MAX_NPY_HEADER = 10_000  # numpy's own default max_header_size
_MAX_MEMBERS = 100_000
_MAX_LAYERS = 10_000
_MAX_NDIM = 32
_MAX_DEFLATE_RATIO = 1100  # zlib cannot exceed ~1032:1
_ARRAY_PLACEHOLDER = "__ndarray__"
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # fixed, so that equal models give byte-identical files


class ModelFileError(DeltapropError):
    """A file that is not a valid deltaprop model: corrupt, truncated, forged or of another kind.

    A ``ValueError`` (through ``DeltapropError``); the message names the file and the problem.
    """


# ---------------------------------------------------------------------------- JSON helpers
def _to_json(value, where):
    """Plain JSON data from `value`: numpy scalars and arrays become numbers and lists."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.generic):
        return _to_json(value.item(), where)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, np.ndarray):
        if value.dtype.hasobject:
            raise DeltapropTypeError(f"{where} is an object array; expected numbers")
        return value.tolist()
    if isinstance(value, dict):
        return {_json_key(k, where): _to_json(v, f"{where}[{k!r}]") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_json(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if hasattr(value, "to_dict"):
        return _to_json(value.to_dict(), where)
    raise DeltapropTypeError(
        f"{where} is a {type(value).__name__} ({value!r:.60}); expected JSON-ready "
        f"data (numbers, strings, lists, dicts)"
    )


def _json_key(key, where):
    if isinstance(key, str):
        return key
    if isinstance(key, (bool, np.bool_)) or not isinstance(key, (numbers.Integral, np.integer)):
        raise DeltapropTypeError(f"{where} has key {key!r}; expected string keys")
    return str(int(key))


def _extract_arrays(value, prefix, arrays, where):
    """JSON data from `value` with each ndarray moved into `arrays` and replaced by a reference."""
    if isinstance(value, np.ndarray):
        if value.dtype.hasobject or value.dtype.kind not in "fiub" or value.dtype.fields:
            raise DeltapropTypeError(f"{where} has dtype {value.dtype}; expected a numeric array")
        name, i = prefix, len(arrays)
        while name in arrays or len(name) > 150:  # sanitised keys can collide; names stay short
            name, i = f"{prefix.split('.')[0]}.{i}", i + 1
        arrays[name] = value
        return {_ARRAY_PLACEHOLDER: name}
    if isinstance(value, dict):
        if set(value) == {_ARRAY_PLACEHOLDER}:
            raise DeltapropError(
                f"{where} is a dict whose only key is {_ARRAY_PLACEHOLDER!r}, which "
                f"model files reserve for array references"
            )
        return {
            _json_key(k, where): _extract_arrays(
                v, f"{prefix}.{_member_part(k)}", arrays, f"{where}[{k!r}]"
            )
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [
            _extract_arrays(v, f"{prefix}.{i}", arrays, f"{where}[{i}]")
            for i, v in enumerate(value)
        ]
    return _to_json(value, where)


def _member_part(key):
    """A piece of a member name: letters, digits, '_' and '-' only."""
    text = "".join(c if c.isascii() and (c.isalnum() or c in "_-") else "_" for c in str(key))
    return text[:60] or "_"


def _insert_arrays(value, arrays):
    """Inverse of ``_extract_arrays``: replace references by the arrays loaded from the file."""
    if isinstance(value, dict):
        if set(value) == {_ARRAY_PLACEHOLDER}:
            return arrays[value[_ARRAY_PLACEHOLDER]]
        return {k: _insert_arrays(v, arrays) for k, v in value.items()}
    if isinstance(value, list):
        return [_insert_arrays(v, arrays) for v in value]
    return value


def _array_references(value, out, path="", depth=0):
    """Member names referenced in JSON data, with a bound on nesting and count."""
    if depth > 100:
        raise DeltapropError(f"{path or 'value'} is nested more than 100 levels deep")
    if isinstance(value, dict):
        if set(value) == {_ARRAY_PLACEHOLDER}:
            name = value[_ARRAY_PLACEHOLDER]
            if not isinstance(name, str) or not _valid_member_name(name):
                raise DeltapropError(
                    f"{path} refers to an array named {name!r}; expected a plain member name"
                )
            if name in out:
                raise DeltapropError(
                    f"{path} refers to array {name!r}, which is already referenced"
                )
            out.append(name)
            return
        for k, v in value.items():
            _array_references(v, out, f"{path}[{k!r}]", depth + 1)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _array_references(v, out, f"{path}[{i}]", depth + 1)


def _valid_member_name(name):
    return (
        0 < len(name) <= 200
        and name.isascii()
        and all(c.isalnum() or c in "_-." for c in name)
        and not name.startswith(".")
    )


# ---------------------------------------------------------------------------- checksum
def _canonical(arr):
    """C-ordered little-endian copy (or the array itself) of an array, as stored and hashed."""
    return np.asarray(arr, dtype=arr.dtype.newbyteorder("<"), order="C")


def metadata_digest(meta):
    """SHA-256 of the metadata without its ``checksum`` entry, keys sorted."""
    rest = {k: v for k, v in meta.items() if k != "checksum"}
    text = json.dumps(rest, sort_keys=True, allow_nan=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _checksum(arrays):
    """SHA-256 over names, dtypes, shapes and data of canonical arrays, in sorted name order."""
    h = hashlib.sha256()
    for name in sorted(arrays):
        arr = arrays[name]
        h.update(json.dumps([name, arr.dtype.str, list(arr.shape)]).encode("ascii"))
        h.update(b"\n")
        if arr.size:
            h.update(arr.reshape(-1).view(np.uint8))
    return h.hexdigest()


# ---------------------------------------------------------------------------- save
def save(net, path, *, optimizer_state=None, extra=None) -> Path:
    """Write a network (and optionally optimizer state) to a model file, atomically.

    Parameters
    ----------
    net : Network
    path : str or os.PathLike
        The file to write (conventionally ``*.npz``; the name is used as given).
    optimizer_state : dict, optional
        The optimizer's state: ndarrays (stored as ``.npy`` members) and JSON-ready values
        (numbers, strings, lists, dicts), nested freely.
    extra : dict, optional
        Anything else to keep, e.g. the epoch counter and the generator state for resuming;
        arrays inside it are stored as members too.

    Returns
    -------
    pathlib.Path
        `path`.

    Notes
    -----
    The file is a zip of ``.npy`` members plus ``metadata.json`` (see the module docstring),
    written to a temporary file and renamed into place. The history is stored through its
    ``to_dict()`` when it has one. Parameters must be finite.

    Examples
    --------
    >>> net = Network([2, 3, 1], seed=0)            # doctest: +SKIP
    >>> save(net, "xor.npz"); load("xor.npz")       # doctest: +SKIP
    """
    if not isinstance(net, Network):
        raise DeltapropTypeError(f"net is a {type(net).__name__}; expected a deltaprop Network")
    if optimizer_state is not None and not isinstance(optimizer_state, dict):
        raise DeltapropTypeError(
            f"optimizer_state is a {type(optimizer_state).__name__}; expected a dict "
            f"of arrays and JSON-ready values"
        )
    if extra is not None and not isinstance(extra, dict):
        raise DeltapropTypeError(f"extra is a {type(extra).__name__}; expected a dict")
    if not np.isfinite(net.parameters).all():
        raise DeltapropError(
            "the network's parameters contain NaN or infinity; expected finite "
            "parameters (restore the last finite weights before saving)"
        )

    arrays = {}
    for l, (W, b) in enumerate(zip(net.weights, net.biases), start=1):
        arrays[f"W{l}"] = _canonical(W)
        arrays[f"b{l}"] = _canonical(b)
    side: dict = {}
    opt_json = (
        None
        if optimizer_state is None
        else _extract_arrays(optimizer_state, "optimizer", side, "optimizer_state")
    )
    extra_json = None if extra is None else _extract_arrays(extra, "extra", side, "extra")
    for name, arr in side.items():
        arrays[name] = _canonical(arr)

    history = net.history
    if history is not None and hasattr(history, "to_dict"):
        history = history.to_dict()
    meta = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "library_version": __version__,
        **net.config(),
        "seed": int(net.seed)
        if isinstance(net.seed, numbers.Integral) and not isinstance(net.seed, bool)
        else None,
        "init": net.init if isinstance(net.init, str) else None,
        "training_config": _to_json(net.training_config or {}, "net.training_config"),
        "history": _to_json(history, "net.history"),
        "optimizer_state": opt_json,
        "extra": extra_json,
        "preprocessor": None
        if net.preprocessor is None
        else _to_json(net.preprocessor.to_dict(), "net.preprocessor"),
        "checksum": {"algorithm": "sha256", "value": _checksum(arrays)},
    }
    meta["checksum"]["metadata"] = metadata_digest(meta)
    text = json.dumps(meta, indent=1, allow_nan=True).encode("utf-8")
    if len(text) > _MAX_METADATA_BYTES:
        raise DeltapropError(
            f"the metadata takes {len(text)} bytes as JSON; expected at most "
            f"{_MAX_METADATA_BYTES} (store large data as arrays in extra)"
        )

    with atomic_open(path, "wb") as f:
        with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
            _write_member(zf, METADATA_MEMBER, text)
            for name in sorted(arrays):
                _write_array(zf, name + ".npy", arrays[name])
    return Path(path)


def _zipinfo(name):
    info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
    info.compress_type = zipfile.ZIP_STORED
    info.external_attr = 0o644 << 16
    return info


def _write_member(zf, name, data):
    zf.writestr(_zipinfo(name), data)


def _write_array(zf, name, arr):
    with zf.open(_zipinfo(name), "w", force_zip64=arr.nbytes > 2**30) as m:
        _npy.write_array(m, arr, allow_pickle=False)


# ---------------------------------------------------------------------------- load
class _Reader:
    """Reads one model file, raising ModelFileError with the path on every problem."""

    def __init__(self, path):
        self.path = path
        self.file_size = 0

    def fail(self, problem):
        return ModelFileError(f"{self.path}: {problem}")

    def corrupt(self, exc):
        """The error for an exception raised by zipfile/zlib on a damaged archive."""
        text = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        if "CRC" in text:
            return self.fail(f"checksum mismatch: {text}; the file is corrupted")
        return self.fail(f"the file is corrupted or truncated ({type(exc).__name__}: {text})")

    # -- the container
    def check_kind(self, f):
        """Recognise non-zip files before zipfile guesses, and name what they are."""
        head = f.read(8)
        f.seek(0)
        if not head:
            raise self.fail("the file is empty; expected a deltaprop model file (a zip archive)")
        if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
            return
        if head[:1] == b"\x80":  # the PROTO opcode that starts every pickle of protocol >= 2
            raise self.fail(
                "this looks like a Python pickle, not a deltaprop model file; pickles "
                "are never loaded because unpickling can run arbitrary code"
            )
        if head.startswith(b"\x93NUMPY"):
            raise self.fail(
                "this is a single .npy array, not a deltaprop model file "
                "(a zip archive with metadata.json)"
            )
        if head.startswith(b"\x1f\x8b"):
            raise self.fail("this is a gzip file, not a deltaprop model file (a zip archive)")
        raise self.fail(
            f"not a deltaprop model file: it does not start like a zip archive "
            f"(first bytes {head[:8]!r})"
        )

    def open_zip(self, f):
        try:
            zf = zipfile.ZipFile(f, "r")
        except zipfile.BadZipFile as exc:
            raise self.fail(
                f"the file is truncated or not a deltaprop model file: it starts like "
                f"a zip archive but its directory cannot be read ({exc})"
            ) from None
        infos = zf.infolist()
        if len(infos) > _MAX_MEMBERS:
            raise self.fail(
                f"the archive lists {len(infos)} members; expected at most {_MAX_MEMBERS}"
            )
        names = [i.filename for i in infos]
        seen = set()
        for n in names:
            if n in seen:
                raise self.fail(f"the archive holds member {n!r} twice; expected unique names")
            seen.add(n)
        return zf

    def check_member_bounds(self, info, max_size):
        """Refuse members whose declared sizes exceed `max_size` or what the file can hold."""
        if info.flag_bits & 0x1:
            raise self.fail(f"member {info.filename!r} is encrypted; expected plain members")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise self.fail(
                f"member {info.filename!r} uses compression method "
                f"{info.compress_type}; expected stored or deflated"
            )
        if info.file_size > max_size:
            raise self.fail(
                f"member {info.filename!r} declares {info.file_size} bytes; expected "
                f"at most {max_size} for this model"
            )
        if info.header_offset + info.compress_size > self.file_size:
            raise self.fail(
                f"member {info.filename!r} declares {info.compress_size} bytes at "
                f"offset {info.header_offset} but the file has only {self.file_size} "
                f"bytes: the file is truncated or corrupted"
            )
        if info.compress_type == zipfile.ZIP_STORED and info.compress_size != info.file_size:
            raise self.fail(
                f"member {info.filename!r} is stored with {info.compress_size} bytes "
                f"but declares {info.file_size}: the zip directory is corrupted"
            )
        if (
            info.compress_type == zipfile.ZIP_DEFLATED
            and info.file_size > _MAX_DEFLATE_RATIO * info.compress_size + 1024
        ):
            raise self.fail(
                f"member {info.filename!r} declares {info.file_size} bytes from "
                f"{info.compress_size} compressed; no deflate stream expands that much"
            )

    def read_member(self, zf, info, limit):
        """All bytes of a member (at most `limit`), with zipfile's CRC-32 check."""
        with zf.open(info) as m:
            data = m.read(limit + 1)
        if len(data) != info.file_size:
            raise self.fail(
                f"member {info.filename!r} holds {len(data)} bytes but declares "
                f"{info.file_size}: the file is truncated or corrupted"
            )
        return data

    # -- metadata
    def read_metadata(self, zf):
        try:
            info = zf.getinfo(METADATA_MEMBER)
        except KeyError:
            raise self.fail(
                f"member {METADATA_MEMBER!r} is missing; this zip archive is not a "
                f"deltaprop model file"
            ) from None
        self.check_member_bounds(info, _MAX_METADATA_BYTES)
        raw = self.read_member(zf, info, _MAX_METADATA_BYTES)
        try:
            meta = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise self.fail(f"{METADATA_MEMBER} is not valid JSON ({str(exc)[:120]})") from None
        if not isinstance(meta, dict):
            raise self.fail(f"{METADATA_MEMBER} holds a {type(meta).__name__}; expected an object")
        if meta.get("format") != FORMAT_NAME:
            raise self.fail(
                f"{METADATA_MEMBER} has format={_brief(meta.get('format'))}; expected "
                f"{FORMAT_NAME!r}: not a deltaprop model file"
            )
        version = meta.get("format_version")
        if isinstance(version, bool) or not isinstance(version, int):
            raise self.fail(
                f"format_version={_brief(version)} is invalid; expected the integer "
                f"{FORMAT_VERSION}"
            )
        if version != FORMAT_VERSION:
            lib = meta.get("library_version")
            by = f" (written by deltaprop {lib})" if isinstance(lib, str) else ""
            newer = "newer than" if version > FORMAT_VERSION else "not"
            hint = "; upgrade deltaprop to load it" if version > FORMAT_VERSION else ""
            raise self.fail(
                f"model file format version {version}{by} is {newer} supported: this "
                f"deltaprop reads format version {FORMAT_VERSION} only{hint}"
            )
        return meta

    def check_architecture(self, meta):
        sizes = meta.get("sizes")
        if (
            not isinstance(sizes, list)
            or not 2 <= len(sizes) <= _MAX_LAYERS + 1
            or not all(
                isinstance(n, int) and not isinstance(n, bool) and 1 <= n <= 2**31 for n in sizes
            )
        ):
            raise self.fail(
                f"metadata sizes={_brief(sizes)} is invalid; expected a list of 2 to "
                f"{_MAX_LAYERS + 1} positive layer widths"
            )
        acts = meta.get("activations")
        if (
            not isinstance(acts, list)
            or len(acts) != len(sizes) - 1
            or not all(isinstance(a, (str, dict)) for a in acts)
        ):
            raise self.fail(
                f"metadata activations={_brief(acts)} is invalid; expected "
                f"{len(sizes) - 1} activation configs, one per layer"
            )
        if not isinstance(meta.get("loss"), (str, dict)):
            raise self.fail(
                f"metadata loss={_brief(meta.get('loss'))} is invalid; expected a loss config"
            )
        if meta.get("dtype") not in ("float32", "float64"):
            raise self.fail(
                f"metadata dtype={_brief(meta.get('dtype'))} is invalid; expected "
                f"'float32' or 'float64'"
            )
        checksum = meta.get("checksum")
        if (
            not isinstance(checksum, dict)
            or checksum.get("algorithm") != "sha256"
            or not isinstance(checksum.get("value"), str)
            or len(checksum["value"]) != 64
        ):
            raise self.fail(
                f"metadata checksum={_brief(checksum)} is invalid; expected "
                f"{{'algorithm': 'sha256', 'value': <64 hex digits>}}"
            )
        for key in ("training_config", "extra", "history"):
            if meta.get(key) is not None and not isinstance(meta[key], dict):
                raise self.fail(
                    f"metadata {key} is a {type(meta[key]).__name__}; expected an object or null"
                )
        if meta.get("optimizer_state") is not None and not isinstance(
            meta["optimizer_state"], dict
        ):
            raise self.fail("metadata optimizer_state is not an object; expected an object or null")
        self.check_biases(meta, len(sizes) - 1)
        return sizes, np.dtype(meta["dtype"])

    def check_biases(self, meta, L):
        """The optional ``bias`` modes and ``train_biases`` flags: L entries each."""
        modes, flags = meta.get("bias"), meta.get("train_biases")
        if modes is not None and (
            not isinstance(modes, list)
            or len(modes) != L
            or not all(m in ("neuron", "shared", "none") for m in modes)
        ):
            raise self.fail(
                f"metadata bias={_brief(modes)} is invalid; expected {L} of "
                f"'neuron', 'shared', 'none' (one per layer)"
            )
        if flags is not None and (
            not isinstance(flags, list)
            or len(flags) != L
            or not all(isinstance(f, bool) for f in flags)
        ):
            raise self.fail(
                f"metadata train_biases={_brief(flags)} is invalid; expected {L} "
                f"booleans (one per layer)"
            )

    # -- arrays
    def read_array(self, zf, info, *, dtype=None, shape=None, max_elements=None):
        """Parse one .npy member; exact dtype/shape when given, else an element cap."""
        name = info.filename
        with zf.open(info) as m:
            arr_shape, fortran, arr_dtype, offset = self._npy_header(m, name)
            self._check_npy_kind(name, arr_shape, arr_dtype)
            count = self._check_npy_fit(name, arr_shape, arr_dtype, dtype, shape, max_elements)
            nbytes = count * arr_dtype.itemsize
            if offset + nbytes != info.file_size:
                raise self.fail(
                    f"array {name[:-4]!r} declares {nbytes} bytes of data but its "
                    f"member holds {info.file_size - offset}: the file is truncated "
                    f"or corrupted"
                )
            data = m.read(nbytes)
            if len(data) != nbytes:
                raise self.fail(
                    f"array {name[:-4]!r} ends after {len(data)} of {nbytes} bytes: "
                    f"the file is truncated"
                )
            if m.read(1):
                raise self.fail(f"member {name!r} has bytes after its array data")
        arr = np.frombuffer(data, dtype=arr_dtype, count=count)
        arr = _canonical(arr.reshape(arr_shape, order="F" if fortran else "C"))
        # Optimizer state is updated in place after a resume, so hand out writable arrays.
        return arr if arr.flags.writeable else arr.copy()

    def _npy_header(self, m, name):
        """(shape, fortran order, dtype, data offset) from a .npy member's header, size-checked."""
        prefix = m.read(8)
        if len(prefix) < 8 or prefix[:6] != b"\x93NUMPY":
            raise self.fail(f"member {name!r} is not a .npy array (bad magic bytes)")
        major, minor = prefix[6], prefix[7]
        # 3.0 differs from 2.0 only by utf-8 field names, which numeric arrays never have.
        if (major, minor) not in ((1, 0), (2, 0)):
            raise self.fail(
                f"member {name!r} has .npy format version {major}.{minor}; expected 1.0 or 2.0"
            )
        len_fmt = "<H" if major == 1 else "<I"
        raw_len = m.read(struct.calcsize(len_fmt))
        if len(raw_len) != struct.calcsize(len_fmt):
            raise self.fail(f"member {name!r} ends inside its .npy header: truncated")
        (hlen,) = struct.unpack(len_fmt, raw_len)
        if hlen > _MAX_NPY_HEADER:
            raise self.fail(
                f"member {name!r} declares a {hlen}-byte .npy header; expected at "
                f"most {_MAX_NPY_HEADER}"
            )
        header = m.read(hlen)
        if len(header) != hlen:
            raise self.fail(f"member {name!r} ends inside its .npy header: truncated")
        try:
            buf = _stdio.BytesIO(prefix + raw_len + header)
            version = _npy.read_magic(buf)
            reader = _npy.read_array_header_1_0 if version == (1, 0) else _npy.read_array_header_2_0
            arr_shape, fortran, arr_dtype = reader(buf)
        except _BAD_HEADER as exc:
            raise self.fail(
                f"member {name!r} has an invalid .npy header ({str(exc).splitlines()[0][:120]})"
            ) from None
        return arr_shape, fortran, arr_dtype, 8 + len(raw_len) + hlen

    def _check_npy_kind(self, name, arr_shape, arr_dtype):
        """Plain numbers only (no objects, records or sub-arrays) in a bounded number of axes."""
        if arr_dtype.hasobject:
            raise self.fail(
                f"member {name!r} has object dtype {arr_dtype}; model files hold "
                f"numbers only (object arrays would need pickle)"
            )
        if (
            arr_dtype.fields is not None
            or arr_dtype.subdtype is not None
            or (arr_dtype.kind not in "fiub")
            or arr_dtype.itemsize > 16
        ):
            raise self.fail(
                f"member {name!r} has dtype {arr_dtype}; expected a plain numeric dtype"
            )
        if len(arr_shape) > _MAX_NDIM or any(d < 0 for d in arr_shape):
            raise self.fail(
                f"member {name!r} has shape {_brief(arr_shape)}; expected at most "
                f"{_MAX_NDIM} non-negative dimensions"
            )

    def _check_npy_fit(self, name, arr_shape, arr_dtype, dtype, shape, max_elements):
        """The element count, after checking the expected dtype, shape or size cap."""
        if dtype is not None and (arr_dtype.kind != "f" or arr_dtype.itemsize != dtype.itemsize):
            raise self.fail(
                f"array {name[:-4]!r} has dtype {arr_dtype}; expected {dtype.name} "
                f"(the model's dtype)"
            )
        if shape is not None and tuple(arr_shape) != tuple(shape):
            raise self.fail(
                f"array {name[:-4]!r} has shape {tuple(arr_shape)}; expected "
                f"{tuple(shape)} from the metadata's sizes"
            )
        count = math.prod(arr_shape)
        if max_elements is not None and count > max_elements:
            raise self.fail(
                f"array {name[:-4]!r} declares shape {tuple(arr_shape)} "
                f"({count} elements); expected at most {max_elements} for this "
                f"model"
            )
        return count


# What numpy's .npy header parser raises on a forged header.
_BAD_HEADER = (
    ValueError,
    TypeError,
    SyntaxError,
    RecursionError,
    MemoryError,
    UnicodeDecodeError,
    struct.error,
    OverflowError,
)


def _brief(value, limit=60):
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# Errors that zipfile, zlib and struct raise on corrupt or forged archives.
_CORRUPT = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    zlib.error,
    EOFError,
    struct.error,
    OverflowError,
    NotImplementedError,
    RuntimeError,
    UnicodeDecodeError,
    ValueError,
    OSError,
)


def _open_regular(path, reader):
    """Open `path` for reading; refuse FIFOs, devices and directories before opening them."""
    f, reader.file_size = open_regular(path, "a deltaprop model file", ModelFileError)
    return f


def read_metadata(path) -> dict:
    """The metadata of a model file (architecture, history, ...), checked, without its arrays.

    The arrays and their checksum are not read; use :func:`load` for that.
    """

    def read(reader, zf):
        meta = reader.read_metadata(zf)
        reader.check_architecture(meta)
        return meta

    return _read_model_file(path, read)[1]


def _read_model_file(path, read):
    """(reader, read(reader, zf)) for the model file at `path`; damage raises ModelFileError."""
    path = Path(check_path(path))
    reader = _Reader(path)
    with _open_regular(path, reader) as f:
        reader.check_kind(f)
        try:
            with reader.open_zip(f) as zf:
                return reader, read(reader, zf)
        except ModelFileError:
            raise
        except _CORRUPT as exc:
            raise reader.corrupt(exc) from None


def load(path, *, return_state=False):
    """Read a network from a model file written by :func:`save`; never executes code.

    Parameters
    ----------
    path : str or os.PathLike
    return_state : bool, default False
        Also return the optimizer state and the ``extra`` dict.

    Returns
    -------
    Network
        Same architecture, parameters, ``history`` (a dict, or the training module's History
        when it offers ``from_dict``) and ``training_config``.
    (Network, dict or None, dict)
        With ``return_state=True``: the optimizer state as saved (None when none was saved) and
        ``extra`` (an empty dict when none was saved); arrays are restored as ndarrays.

    Raises
    ------
    ModelFileError
        (a ValueError) when the file is not a valid deltaprop model: empty, truncated, not a zip
        archive, a pickle, an unsupported format version, a missing or unexpected member, an
        array of the wrong dtype or shape, a checksum mismatch, or sizes beyond the file's.
    FileNotFoundError, PermissionError, IsADirectoryError
        When the file cannot be opened.

    Examples
    --------
    >>> net = load("model.npz")                                       # doctest: +SKIP
    >>> net, opt_state, extra = load("ckpt.npz", return_state=True)   # doctest: +SKIP
    """
    reader, (meta, arrays) = _read_model_file(path, _read_all)
    net = _build(reader, meta, arrays)
    if not return_state:
        _verify_metadata(reader, meta)
        return net
    opt = meta.get("optimizer_state")
    opt = None if opt is None else _insert_arrays(opt, arrays)
    extra = meta.get("extra")
    extra = {} if extra is None else _insert_arrays(extra, arrays)
    _check_checkpoint(reader, opt, extra)
    _verify_metadata(reader, meta)
    return net, opt, extra


def _read_all(reader, zf):
    """Metadata and every array, with all sizes and the checksum verified."""
    meta = reader.read_metadata(zf)
    sizes, dtype = reader.check_architecture(meta)
    L = len(sizes) - 1
    expected = {}
    modes = meta.get("bias") or ["neuron"] * L
    for l in range(1, L + 1):
        expected[f"W{l}"] = (sizes[l], sizes[l - 1])
        expected[f"b{l}"] = ({"neuron": sizes[l], "shared": 1, "none": 0}[modes[l - 1]],)
    n_params = sum(math.prod(shape) for shape in expected.values())
    param_bytes = n_params * dtype.itemsize
    # Each parameter member holds its data plus a header; a stored member cannot be larger than
    # the file, a deflated one not more than ~1000 times its compressed size.
    if param_bytes > _MAX_DEFLATE_RATIO * reader.file_size:
        raise reader.fail(
            f"metadata sizes={_brief(sizes)} describe {n_params} parameters "
            f"({param_bytes} bytes) but the file has only {reader.file_size} bytes"
        )
    # A deflated member may still declare up to ~1000 times the file's size: before anything
    # is decompressed, the network it describes must fit in the memory this process may use.
    try:
        check_memory(sizes, n_params, dtype.itemsize)
    except DeltapropError as exc:
        raise reader.fail(str(exc)) from None

    side = _side_arrays(reader, meta, expected)
    members = _check_members(reader, zf, expected, side, L)
    side_cap = 16 * n_params + 2**16  # elements per optimizer/extra array
    _check_declared_sizes(reader, members, expected, side, side_cap, dtype)
    arrays = {}
    for name in sorted(expected, key=_layer_order):
        arrays[name] = reader.read_array(
            zf, members[name + ".npy"], dtype=dtype, shape=expected[name]
        )
    for name in side:
        arrays[name] = reader.read_array(zf, members[name + ".npy"], max_elements=side_cap)
    _verify_arrays(reader, meta, arrays, expected)
    return meta, arrays


def _side_arrays(reader, meta, expected):
    """Names of the optimizer-state and extra arrays the metadata refers to."""
    refs = []
    try:
        _array_references(meta.get("optimizer_state"), refs, "optimizer_state")
        _array_references(meta.get("extra"), refs, "extra")
    except (ValueError, RecursionError) as exc:
        raise reader.fail(f"metadata is invalid: {str(exc)[:160]}") from None
    side = [r for r in refs if r not in expected]
    if len(side) != len(refs):
        raise reader.fail(
            "metadata refers to a parameter array from optimizer_state or extra; "
            "expected separate arrays"
        )
    return side


def _check_members(reader, zf, expected, side, L):
    """The archive's members by name: exactly the metadata, the parameters and `side`."""
    members = {i.filename: i for i in zf.infolist()}
    wanted = {f"{n}.npy" for n in list(expected) + side} | {METADATA_MEMBER}
    missing = sorted(wanted - set(members), key=_layer_order)
    if missing:
        raise reader.fail(
            f"member {missing[0]!r} is missing ({len(missing)} missing in all); the "
            f"metadata's sizes and state require it"
        )
    unexpected = sorted(set(members) - wanted)
    if unexpected:
        raise reader.fail(
            f"member {unexpected[0]!r} is unexpected; a deltaprop model file holds "
            f"only metadata.json, W1..W{L}, b1..b{L} and the arrays its metadata "
            f"refers to"
        )
    return members


def _check_declared_sizes(reader, members, expected, side, side_cap, dtype):
    """Every member's declared size, checked before any array is read."""
    total = 0
    for name, shape in expected.items():
        info = members[name + ".npy"]
        data = math.prod(shape) * dtype.itemsize
        reader.check_member_bounds(info, data + 12 + _MAX_NPY_HEADER)
        if info.file_size < data + 10:
            raise reader.fail(
                f"member {info.filename!r} declares {info.file_size} bytes; array "
                f"{name!r} of shape {shape} needs {data} bytes of data: the file is "
                f"truncated or the array has the wrong shape"
            )
        total += info.file_size
    for name in side:
        info = members[name + ".npy"]
        reader.check_member_bounds(info, side_cap * 16 + 12 + _MAX_NPY_HEADER)
        total += info.file_size
    if total > _MAX_DEFLATE_RATIO * reader.file_size + 2**20:
        raise reader.fail(
            f"members declare {total} bytes in all but the file has only {reader.file_size} bytes"
        )


def _verify_arrays(reader, meta, arrays, expected):
    """The checksum over every array, and finite parameters."""
    digest = _checksum(arrays)
    if digest != meta["checksum"]["value"]:
        raise reader.fail(
            f"checksum mismatch: the arrays' SHA-256 is {digest[:16]}... but the "
            f"metadata records {meta['checksum']['value'][:16]}...; the file is "
            f"corrupted or was modified"
        )
    for name in expected:
        if not np.isfinite(arrays[name]).all():
            raise reader.fail(
                f"array {name!r} contains NaN or infinity; expected finite parameters"
            )


def _verify_metadata(reader, meta):
    """The metadata's own checksum, when the file has one (after the schema's checks, whose
    messages say more about a file that is malformed rather than altered)."""
    recorded = meta["checksum"].get("metadata")
    if recorded is None:
        return
    if recorded != metadata_digest(meta):
        raise reader.fail(
            "checksum mismatch: the metadata's SHA-256 differs from the one it records; the "
            "file is corrupted or its metadata.json was modified"
        )


def _layer_order(name):
    """W1, b1, W2, b2, ... rather than W1, W10, W2."""
    stem = name[:-4] if name.endswith(".npy") else name
    if stem[:1] in "Wb" and stem[1:].isdigit():
        return (0, int(stem[1:]), stem[0])
    return (1, 0, stem)


def _build(reader, meta, arrays):
    """A Network from checked metadata and arrays."""
    sizes = meta["sizes"]
    acts = meta["activations"]
    _check_parts_known(reader, acts, meta["loss"])
    seed = meta.get("seed")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        seed = None
    try:
        net = Network(
            sizes,
            activation=acts[:-1],
            output_activation=acts[-1],
            loss=meta["loss"],
            dtype=meta["dtype"],
            seed=seed,
            bias=meta.get("bias") or True,
            train_biases=meta.get("train_biases") or True,
        )
    except (ValueError, TypeError) as exc:
        raise reader.fail(f"metadata describes an invalid network: {exc}") from None
    for l in range(1, len(sizes)):
        net.weights[l - 1] = arrays[f"W{l}"]
        net.biases[l - 1] = arrays[f"b{l}"]
    if isinstance(meta.get("init"), str):
        net.init = meta["init"]
    net.training_config = dict(meta.get("training_config") or {})
    net.history = _restore_history(reader, meta.get("history"))
    net.preprocessor = _restore_preprocessor(reader, meta.get("preprocessor"), sizes)
    return net


def _restore_preprocessor(reader, data, sizes):
    """The stored preprocessing, checked against the network's input and output widths."""
    if data is None:
        return None
    try:
        prep = Preprocessor.from_dict(data)
    except DeltapropError as exc:
        raise reader.fail(f"the stored {exc}") from None
    if prep.n_inputs != sizes[0] or (prep.classes is not None and prep.n_outputs != sizes[-1]):
        raise reader.fail(
            f"the stored preprocessor gives {prep.n_inputs} inputs and {prep.n_outputs} "
            f"outputs but the network has sizes {_brief(sizes)}"
        )
    return prep


_HISTORY_LISTS = ("epoch", "cost", "accuracy", "val_cost", "val_accuracy", "lr", "time")


def _check_history(reader, history):
    """The stored history's schema: lists of numbers (null for a missing value) and scalars."""
    for key in _HISTORY_LISTS:
        values = history.get(key, [])
        if not isinstance(values, list) or not all(
            v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)) for v in values
        ):
            raise reader.fail(
                f"metadata history.{key}={_brief(values)} is invalid; expected a list of numbers"
            )
    best = history.get("best_epoch")
    if best is not None and (isinstance(best, bool) or not isinstance(best, int)):
        raise reader.fail(f"metadata history.best_epoch={_brief(best)} is not an integer or null")
    for key, kinds in (("stop_reason", (str,)), ("train_metrics", (str, bool))):
        if history.get(key) is not None and not isinstance(history[key], kinds):
            raise reader.fail(f"metadata history.{key}={_brief(history[key])} is invalid")
    if not isinstance(history.get("diagnostics", []), list):
        raise reader.fail("metadata history.diagnostics is not a list")


def _check_checkpoint(reader, opt, extra):
    """A checkpoint's training state: everything resuming reads, of the right type."""
    if not extra.get("checkpoint"):
        return
    if not isinstance(opt, dict):
        raise reader.fail("checkpoint without optimizer state; expected optimizer_state")
    rng = extra.get("rng")
    if not isinstance(rng, dict) or not isinstance(rng.get("bit_generator"), str):
        raise reader.fail(
            f"checkpoint extra.rng={_brief(rng)} is invalid; expected the generator state"
        )
    epoch = extra.get("epoch")
    if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
        raise reader.fail(f"checkpoint extra.epoch={_brief(epoch)} is invalid; expected an int")
    for key in ("fit", "schedule"):
        if not isinstance(extra.get(key, {}), dict):
            raise reader.fail(f"checkpoint extra.{key} is not an object")
    wait, best = extra.get("wait", 0), extra.get("best_score", 0.0)
    if isinstance(wait, bool) or not isinstance(wait, int):
        raise reader.fail(f"checkpoint extra.wait={_brief(wait)} is not an integer")
    if isinstance(best, bool) or not isinstance(best, (int, float)):
        raise reader.fail(f"checkpoint extra.best_score={_brief(best)} is not a number")


def _check_parts_known(reader, activations, loss):
    """Every part the file names is built in or registered: only looked up, never imported."""
    named = [("activation", f"layer {l}'s activation", a) for l, a in enumerate(activations, 1)]
    for kind, where, config in [*named, ("loss", "the loss", loss)]:
        name = config.get("name") if isinstance(config, dict) else config
        module = _activations if kind == "activation" else _losses
        if isinstance(name, str) and not module.is_known(name):
            base = "Activation" if kind == "activation" else "Loss"
            where_to = "activations" if kind == "activation" else "losses"
            raise reader.fail(
                f"metadata describes an invalid network: {where} is {name!r}, which is "
                f"neither a built-in {kind} nor a registered one. If it is a class of yours "
                f"(a {base} subclass with name = {name!r}), define it and register it before "
                f"loading: put @deltaprop.{where_to}.register above its class statement (or "
                f"call deltaprop.{where_to}.register(YourClass)). Loading only looks names up and "
                f"never imports code named by a file"
            )


def _restore_history(reader, history):
    if history is None:
        return None
    _check_history(reader, history)
    try:
        return History.from_dict(history)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise reader.fail(f"the stored training history is invalid: {exc}") from None


# Network.save is this module's ``save``: provided to network.py, which sits below this module.
provide("save", save)
