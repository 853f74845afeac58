"""Hypothesis fuzzing of the data-file readers: IDX, CSV and NPZ.

Inputs are built structure-first (valid files of random shape and type, forged headers, CSV text
from a small grammar, NPZ archives of arbitrary arrays) and then optionally damaged byte by byte.
Every input must either load -- and then agree with an independent parse of the same bytes -- or
raise the reader's documented error, ``DatasetError``, within the hypothesis deadline. Any other
exception (zlib, zipfile, csv, numpy, UnicodeDecodeError, MemoryError) fails the test.

Outcome counts are printed by the last test and written to ``fuzz_reader_counts.json`` in pytest's
base temporary directory. The model loader is fuzzed in test_io.py.
"""

from __future__ import annotations

import collections
import csv
import gzip
import io
import math
import pickle
import struct
import tracemalloc
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import examples, save_and_print_counts
from deltaprop import datasets as ds
from deltaprop.datasets import DatasetError

COUNTS: collections.Counter = collections.Counter()
FUZZ = settings(
    max_examples=examples(250),
    deadline=2000,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
)


def record(reader, outcome):
    COUNTS[f"{reader}: {outcome}"] += 1


def _error_kind(exc):
    text = str(exc)
    for key in (
        "no data rows",
        "no feature columns",
        "beyond the 64-bit",
        "truncated",
        "magic",
        "type code",
        "dimensions",
        "unexpected bytes",
        "gzip",
        "max_bytes",
        "more than a",
        "no column",
        "non-numeric",
        "empty",
        "fields",
        "finite",
        "not UTF-8",
        "malformed",
        "twice",
        "not an NPZ",
        "no array",
        "objects",
        "declares",
        "shape",
        "dtype",
        "label",
        "not a valid .npy",
    ):
        if key in text:
            return key
    return "other"


# ----------------------------------------------------------------------------- byte damage
@st.composite
def damaged(draw, data: bytes):
    """`data` unchanged, or with bytes flipped, cut, inserted or appended."""
    b = bytearray(data)
    for _ in range(draw(st.integers(0, 3))):
        op = draw(st.sampled_from(["flip", "cut", "insert", "append", "zero-run"]))
        if op == "flip" and b:
            i = draw(st.integers(0, len(b) - 1))
            b[i] ^= draw(st.integers(1, 255))
        elif op == "cut" and b:
            b = b[: draw(st.integers(0, len(b) - 1))]
        elif op == "insert":
            i = draw(st.integers(0, len(b)))
            b[i:i] = draw(st.binary(min_size=1, max_size=8))
        elif op == "append":
            b += draw(st.binary(min_size=1, max_size=32))
        elif op == "zero-run" and b:
            i = draw(st.integers(0, len(b) - 1))
            b[i : i + draw(st.integers(1, 16))] = bytes(min(16, len(b) - i))
    return bytes(b)


# ----------------------------------------------------------------------------- IDX
IDX_CODES = {0x08: "u1", 0x09: "i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def parse_idx(raw: bytes):
    """An independent IDX parser (struct + frombuffer), or None when the bytes are not valid."""
    if len(raw) < 4 or raw[:2] != b"\0\0" or raw[2] not in IDX_CODES or not 1 <= raw[3] <= 16:
        return None
    ndim = raw[3]
    if len(raw) < 4 + 4 * ndim:
        return None
    shape = struct.unpack(f">{ndim}I", raw[4 : 4 + 4 * ndim])
    dtype = np.dtype(IDX_CODES[raw[2]])
    body = raw[4 + 4 * ndim :]
    if len(body) != math.prod(shape) * dtype.itemsize:
        return None
    return np.frombuffer(body, dtype=dtype).reshape(shape)


@st.composite
def idx_files(draw):
    """(file bytes, decompressed bytes or None when the gzip layer itself was damaged)."""
    code = draw(st.sampled_from(sorted(IDX_CODES)))
    ndim = draw(st.integers(1, 3))
    shape = tuple(draw(st.integers(0, 4)) for _ in range(ndim))
    dtype = np.dtype(IDX_CODES[code])
    n = math.prod(shape) * dtype.itemsize
    body = draw(st.binary(min_size=n, max_size=n))
    header = bytes([0, 0, code, ndim]) + struct.pack(f">{ndim}I", *shape)
    if draw(st.integers(0, 5)) == 0:  # a forged header: huge sizes over a small body
        dims = [draw(st.sampled_from([2**32 - 1, 2**31, 10**6, 60000])) for _ in range(ndim)]
        header = bytes([0, 0, code, ndim]) + struct.pack(f">{ndim}I", *dims)
    raw = header + body
    if draw(st.booleans()):
        raw = draw(damaged(raw))
    if draw(st.booleans()):
        compressed = gzip.compress(raw, mtime=0)
        if draw(st.booleans()):
            return draw(damaged(compressed)), None
        return compressed, raw
    return raw, raw


@FUZZ
@given(case=idx_files(), magic=st.sampled_from([None, None, 0x803, 0x801, 0x80D]))
def test_read_idx_loads_or_raises_dataset_error(tmp_path_factory, case, magic):
    blob, plain = case
    path = tmp_path_factory.getbasetemp() / "fuzz.idx"
    path.write_bytes(blob)
    try:
        arr = ds.read_idx(path, magic=magic)
    except DatasetError as exc:
        if plain is not None:
            ref = parse_idx(plain)
            assert ref is None or (
                magic is not None and int.from_bytes(plain[:4], "big") != magic
            ), f"a valid IDX file was refused: {exc}"
        record("read_idx", f"DatasetError ({_error_kind(exc)})")
        return
    if plain is None:
        plain = gzip.decompress(blob)  # damage that left a valid gzip stream
    ref = parse_idx(plain)
    assert ref is not None, "bytes that are not a valid IDX file were loaded"
    assert magic is None or int.from_bytes(plain[:4], "big") == magic
    assert arr.shape == ref.shape and arr.dtype == ref.dtype.newbyteorder("=")
    np.testing.assert_array_equal(arr, ref)
    record("read_idx", "loaded (equal to an independent parse)")


@pytest.mark.parametrize("compress", [False, True])
def test_forged_idx_header_allocates_nothing_large(tmp_path, compress):
    # 4 GiB declared in a file of a few bytes: refused before any buffer of that size exists.
    raw = bytes([0, 0, 0x08, 3]) + struct.pack(">3I", 65536, 256, 256) + bytes(100)
    path = tmp_path / ("forged.gz" if compress else "forged")
    path.write_bytes(gzip.compress(raw) if compress else raw)
    tracemalloc.start()
    try:
        with pytest.raises(DatasetError, match="max_bytes|more than|truncated"):
            ds.read_idx(path, max_bytes=2**33)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * 2**20, f"peak {peak} bytes"
    record("read_idx", "forged 4 GiB header refused, peak < 4 MiB")


# ----------------------------------------------------------------------------- CSV
CELL = st.one_of(
    st.integers(-5, 20).map(str),
    st.floats(-1e6, 1e6, allow_nan=False).map(repr),
    st.sampled_from(
        [
            "nan",
            "inf",
            "-inf",
            "",
            " ",
            "1e400",
            "0x10",
            "1_000",
            "+3",
            ".5",
            " 7 ",
            "３",
            "TRUE",
            "a",
            "cat",
            "é",
            '"4"',
            '"1,2"',
            '"x\ny"',
            "2.0",
            "-1",
            "1e-320",
            "1e300",
            "99999999999999999999",
            "-9223372036854775809",
        ]
    ),
)
NAME = st.one_of(
    st.sampled_from(["a", "b", "label", "x1", "", " a ", "é", "a,b", '"q"']),
    st.text(alphabet="abcxyz_ ", min_size=1, max_size=4),
)


@st.composite
def csv_texts(draw):
    """(text or bytes, target, features, delimiter)."""
    delim = draw(st.sampled_from([",", ",", ",", ";", "\t"]))
    tidy = draw(st.booleans())  # distinct names, full rows of numbers, a label column
    if tidy:
        header = [f"c{j}" for j in range(draw(st.integers(1, 4)))] + ["label"]
    else:
        header = draw(st.lists(NAME, min_size=1, max_size=5))
    width = len(header)
    label = draw(
        st.sampled_from(
            [
                st.integers(0, 4).map(str),
                st.integers(-3, 3).map(str),
                st.sampled_from(["cat", "dog", " cat"]),
                st.floats(-5, 5, allow_nan=False).map(repr),
                st.sampled_from(["1.0", "2", "3.0"]),
            ]
        )
    )
    rows = []
    for _ in range(draw(st.integers(1 if tidy else 0, 6))):
        if tidy:
            number = st.one_of(
                st.integers(-99, 99).map(str), st.floats(-1e3, 1e3, allow_nan=False).map(repr)
            )
            rows.append([draw(number) for _ in range(width - 1)] + [draw(label)])
            if draw(st.integers(0, 14)) == 0:
                rows[-1][draw(st.integers(0, width - 1))] = draw(CELL)
            continue
        k = width if draw(st.integers(0, 5)) else draw(st.integers(0, width + 2))
        rows.append([draw(CELL) for _ in range(k)])
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delim, lineterminator=draw(st.sampled_from(["\n", "\r\n"])))
    writer.writerow(header)
    for r in rows:
        if draw(st.integers(0, 9)) == 0:
            out.write("\n")  # blank line
        writer.writerow(r)
    text = out.getvalue()
    if draw(st.integers(0, 9)) == 0:
        text = "\ufeff" + text
    target = (
        "label"
        if tidy and draw(st.integers(0, 3))
        else draw(
            st.one_of(
                st.sampled_from(header), st.just("missing"), st.none(), st.sampled_from(header)
            )
        )
    )
    features = None
    if draw(st.integers(0, 4)) == 0:
        features = draw(st.lists(st.sampled_from(header + ["nope"]), max_size=3))
    data = text.encode("utf-8")
    if draw(st.integers(0, 4)) == 0:
        data = draw(damaged(data))
    if draw(st.integers(0, 19)) == 0:
        data = draw(st.binary(max_size=60))
    use_delim = delim if draw(st.integers(0, 19)) else draw(st.sampled_from(["", ",,", "\n"]))
    return data, target, features, use_delim


def _float_or_none(text):
    try:
        v = float(text)
    except ValueError:
        return None
    return v if math.isfinite(v) else None


def _same_label(a, b):
    fa, fb = _float_or_none(a), _float_or_none(b)
    if fa is not None and fb is not None:
        return fa == fb
    # numpy's fixed-width str arrays (which hold the class names) drop trailing NUL characters.
    return a.strip().rstrip("\0") == b.strip().rstrip("\0")


@FUZZ
@given(case=csv_texts())
def test_load_csv_loads_or_raises_dataset_error(tmp_path_factory, case):
    data, target, features, delim = case
    path = tmp_path_factory.getbasetemp() / "fuzz.csv"
    path.write_bytes(data)
    try:
        result = ds.load_csv(path, target, delimiter=delim, features=features)
    except DatasetError as exc:
        record("load_csv", f"DatasetError ({_error_kind(exc)})")
        return
    except (ValueError, TypeError) as exc:
        # Documented for the arguments (not the file): a delimiter that is not one character,
        # features naming the target column.
        assert (len(delim) != 1 and "delimiter" in str(exc)) or (
            features is not None and "features" in str(exc)
        ), f"{type(exc).__name__}: {exc}"
        record("load_csv", f"{type(exc).__name__} naming the argument")
        return
    X, y = result
    # An independent parse of the same bytes with the csv module.
    text = data.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delim))
    header = [h.strip() for h in rows[0]]  # the first row, whatever it holds
    body = [r for r in rows[1:] if r and not (len(r) == 1 and not r[0].strip())]
    t = header.index(target) if target is not None else None
    cols = (
        [header.index(f) for f in features]
        if features is not None
        else [j for j in range(len(header)) if j != t]
    )
    expected = np.array([[_float_or_none(r[j]) for j in cols] for r in body], dtype=float)
    assert X.dtype == np.float64 and X.shape == (len(body), len(cols))
    assert np.isfinite(X).all()
    np.testing.assert_array_equal(X, expected)
    assert list(result.feature_names) == [header[j] for j in cols]
    if target is None:
        assert y is None
    else:
        assert len(y) == len(body)
        labels = [r[t] for r in body]
        if result.classes is not None:  # mapped labels: y indexes the distinct labels
            assert y.dtype.kind == "i"
            assert all(_same_label(str(result.classes[i]), lab) for i, lab in zip(y, labels))
            assert len(result.classes) == len({str(result.classes[i]) for i in y})
        elif y.dtype.kind == "i":  # the file's own class indices, kept as they are
            assert y.min() >= 0 and [float(lab) for lab in labels] == y.tolist()
        else:  # regression targets
            assert y.dtype == np.float64 and [float(lab) for lab in labels] == y.tolist()
    record("load_csv", "loaded (equal to csv module parse)")


# ----------------------------------------------------------------------------- NPZ
class _Payload:
    """Unpickling this object would create the file named in it."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


ARRAYS = st.one_of(
    st.builds(
        lambda n, k, s: np.random.default_rng(s).normal(size=(n, k)),
        st.integers(0, 5),
        st.integers(0, 4),
        st.integers(0, 99),
    ),
    st.builds(
        lambda n, s: np.random.default_rng(s).integers(-2, 5, n),
        st.integers(0, 6),
        st.integers(0, 99),
    ),
    st.builds(lambda n: np.array(list("abcab"[:n])), st.integers(0, 5)),
    st.builds(lambda n: np.array([b"a", b"\xff\xfe", b"b"][:n]), st.integers(0, 3)),
    st.sampled_from(
        [
            np.array(1.5),
            np.zeros((2, 2, 2)),
            np.array([[np.nan, 1.0]]),
            np.array([[np.inf, 0.0]]),
            np.array([True, False]),
            np.array([1 + 2j, 3j]),
            np.zeros((3, 2), dtype=np.float16),
            np.zeros((2, 0)),
            np.zeros(3, dtype=[("a", "f4")]),
            np.array([[1e308, -1e308]]),
            np.arange(3, dtype=np.uint64) * 2**62,
            np.array([1e300, 0.0, 2.0]),
            np.array(["a", "a", "b"]),
        ]
    ),
)


@st.composite
def good_arrays(draw):
    """X (n, k) and y of n labels that load_npz documents as valid, with optional extras."""
    n, k = draw(st.integers(1, 6)), draw(st.integers(1, 4))
    seed = draw(st.integers(0, 999))
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, k)).astype(draw(st.sampled_from(["f8", "f4", "i8", "u1"])))
    kind = draw(st.sampled_from(["int", "str", "float", "neg", "2d"]))
    y = {
        "int": rng.integers(0, 4, n),
        "str": np.array(list("xyz"))[rng.integers(0, 3, n)],
        "float": rng.normal(size=n),
        "neg": rng.integers(-3, 2, n),
        "2d": rng.normal(size=(n, 2)),
    }[kind]
    arrays = {"X": X, "y": y}
    if draw(st.booleans()):
        arrays["feature_names"] = np.array([f"f{j}" for j in range(k)])
    if kind == "str" and draw(st.booleans()):
        arrays["classes"] = np.array(["z", "y", "x"])
    return arrays


@st.composite
def npz_files(draw, payload_path):
    if draw(st.booleans()):
        arrays = draw(good_arrays())
    else:
        arrays = {}
        for key in ("X", "y", "feature_names", "classes", "extra"):
            if draw(st.integers(0, 4)) or key in ("X", "y") and draw(st.booleans()):
                arrays[key] = draw(ARRAYS)
    if draw(st.integers(0, 9)) == 0:
        arrays[draw(st.sampled_from(["X", "y"]))] = np.array([_Payload(payload_path)], dtype=object)
    buf = io.BytesIO()
    saver = np.savez_compressed if draw(st.booleans()) else np.savez
    saver(buf, **arrays)
    data = buf.getvalue()
    if draw(st.integers(0, 3)) == 0:
        data = draw(damaged(data))
    return data, arrays


@FUZZ
@given(data=st.data())
def test_load_npz_loads_or_raises_dataset_error(tmp_path_factory, data):
    base = tmp_path_factory.getbasetemp()
    payload = base / "PWNED"
    blob, arrays = data.draw(npz_files(str(payload)))
    path = base / "fuzz.npz"
    path.write_bytes(blob)
    try:
        result = ds.load_npz(path)
    except DatasetError as exc:
        record("load_npz", f"DatasetError ({_error_kind(exc)})")
        assert not payload.exists(), "an object array was unpickled"
        return
    assert not payload.exists(), "an object array was unpickled"
    X, y = result
    # Loaded: the archive was intact enough to hold the X and y that were saved.
    with np.load(path, allow_pickle=False) as npz:
        X0, y0 = npz["X"], npz["y"]
    assert X0.ndim == 2 and X0.dtype.kind in "iuf"
    np.testing.assert_array_equal(X, X0.astype(np.float64))
    assert X.dtype == np.float64 and np.isfinite(X).all()
    assert len(y) == len(X)
    if y.dtype.kind == "i" and result.classes is None:
        np.testing.assert_array_equal(y, y0.astype(np.int64))
    elif result.classes is not None:
        assert len(result.classes) > int(y.max()) if len(y) else True
    record("load_npz", "loaded (equal to numpy's own read)")


def test_npz_pickle_payload_in_y_is_never_unpickled(tmp_path):
    target = tmp_path / "created-by-unpickling"
    np.savez(
        tmp_path / "p.npz", X=np.zeros((2, 2)), y=np.array([_Payload(str(target))], dtype=object)
    )
    with pytest.raises(DatasetError, match="object|pickle"):
        ds.load_npz(tmp_path / "p.npz")
    assert not target.exists()
    # The payload is armed: unpickling the member really would create the file.
    with zipfile.ZipFile(tmp_path / "p.npz") as zf, zf.open("y.npy") as f:
        np.lib.format.read_magic(f)
        np.lib.format.read_array_header_1_0(f)
        pickle.load(f)
    assert target.exists()


@pytest.mark.parametrize("label", ["99999999999999999999", "-9223372036854775809", "1e300"])
def test_csv_labels_beyond_int64_are_a_dataset_error(tmp_path, label):
    path = tmp_path / "big.csv"
    path.write_text(f"a,label\n1,{label}\n2,0\n")
    with pytest.raises(DatasetError, match="line 2, column 'label'.*beyond the 64-bit"):
        ds.load_csv(path, "label")


@pytest.mark.parametrize(
    "arrays, match",
    [
        ({"y": np.array([1e300, 0.0])}, r"y\[0\].*beyond the 64-bit"),
        ({"y": np.array([b"a", b"\xff"])}, "not UTF-8"),
        ({"y": np.array(["a", "b"]), "classes": np.array(["a", "a", "b"])}, "'classes'.*repeated"),
    ],
)
def test_npz_label_problems_are_a_dataset_error(tmp_path, arrays, match):
    np.savez(tmp_path / "d.npz", X=np.zeros((2, 1)), **arrays)
    with pytest.raises(DatasetError, match=match):
        ds.load_npz(tmp_path / "d.npz")


def test_npz_member_flagged_encrypted_is_a_dataset_error(tmp_path):
    # Bit 0 of a zip entry's flags marks it encrypted; zipfile then raises RuntimeError.
    buf = io.BytesIO()
    np.savez(buf, X=np.zeros((2, 2)), y=np.array([0, 1]))
    data = bytearray(buf.getvalue())
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = data.find(signature)
        while at >= 0:
            data[at + offset] |= 1
            at = data.find(signature, at + 4)
    (tmp_path / "enc.npz").write_bytes(bytes(data))
    with pytest.raises(DatasetError, match="encrypted"):
        ds.load_npz(tmp_path / "enc.npz")


# ----------------------------------------------------------------------------- the counts
def test_zz_report_counts(tmp_path_factory, capsys):
    path = tmp_path_factory.getbasetemp() / "fuzz_reader_counts.json"
    save_and_print_counts(COUNTS, path, "reader fuzz examples", capsys)
    for reader in ("read_idx", "load_csv", "load_npz"):
        loaded = sum(n for k, n in COUNTS.items() if k.startswith(reader) and "loaded" in k)
        refused = sum(n for k, n in COUNTS.items() if k.startswith(reader) and "Error" in k)
        if loaded + refused:
            assert loaded >= 10 and refused >= 10, f"{reader}: {loaded} loaded, {refused} refused"
