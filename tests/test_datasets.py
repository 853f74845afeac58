"""Tests of deltaprop.datasets: IDX reader, MNIST lookup/download/checksums, the embedded digits,
toy sets, CSV/NPZ files, and the scaling/encoding/splitting helpers.

No test touches the network: an autouse fixture replaces the URL opener with one that fails
the test, and the download tests install their own fake opener (or a local http.server).
"""

from __future__ import annotations

import csv
import functools
import gzip
import hashlib
import http.server
import io
import os
import pickle
import struct
import threading
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest

from deltaprop import DeltapropError
from deltaprop import datasets as ds
from deltaprop.datasets import mnist as mnist_mod
from deltaprop.datasets.mnist import MnistFile

REPO = Path(__file__).resolve().parents[1]
SHARED_CANDIDATES = [
    Path("/work/shared/datasets/mnist"),
    REPO.parent / "shared" / "datasets" / "mnist",
]
REAL_URLOPEN = mnist_mod._urlopen  # saved before the autouse fixture replaces it
MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


# --------------------------------------------------------------------------------- fixtures


def _no_network(url, timeout):
    raise AssertionError(f"a test tried to open {url}")


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """No DELTAPROP_DATA, a private user cache, and no network for every test."""
    monkeypatch.delenv("DELTAPROP_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.setattr(mnist_mod, "_urlopen", _no_network)


def _shared_dir():
    for d in SHARED_CANDIDATES:
        if all((d / (spec.name + ".gz")).is_file() for spec in ds.MNIST_FILES.values()):
            return d
    return None


@pytest.fixture(scope="module")
def shared_mnist_dir():
    d = _shared_dir()
    if d is None:
        pytest.skip("the shared MNIST copy is absent")
    return d


@pytest.fixture(scope="module")
def real_mnist(shared_mnist_dir):
    return ds.load_mnist(shared_mnist_dir, download=False)


def _content_sha(path: Path) -> str:
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    return hashlib.sha256(data).hexdigest()


def make_tiny_mnist(directory: Path, n_train=30, n_test=10, seed=0, compress=True):
    """Four small MNIST-format files; returns (arrays, specs with their real checksums)."""
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    arrays = {
        "train_images": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train_labels": ((np.arange(n_train) + seed) % 10).astype(np.uint8),
        "test_images": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "test_labels": ((np.arange(n_test) * 3 + seed) % 10).astype(np.uint8),
    }
    specs = {}
    for key, arr in arrays.items():
        spec = ds.MNIST_FILES[key]
        path = directory / (spec.name + (".gz" if compress else ""))
        ds.write_idx(path, arr)
        specs[key] = MnistFile(spec.name, spec.magic, _content_sha(path))
    return arrays, specs


@pytest.fixture
def tiny_mnist(tmp_path, monkeypatch):
    """Tiny MNIST files in tmp_path/tiny, with MNIST_FILES' checksums pointed at them."""
    directory = tmp_path / "tiny"
    arrays, specs = make_tiny_mnist(directory)
    for key, spec in specs.items():
        monkeypatch.setitem(ds.MNIST_FILES, key, spec)
    return directory, arrays


class FakeOpener:
    """Stands in for urlopen: serves bytes (or raises) per URL and records the URLs asked for."""

    def __init__(self, serve):
        self.serve = serve
        self.urls = []

    def __call__(self, url, timeout):
        self.urls.append(url)
        result = self.serve(url)
        if isinstance(result, BaseException):
            raise result
        return io.BytesIO(result)


# ------------------------------------------------------------------------------ IDX reader


@pytest.mark.parametrize("dtype", ["u1", "i1", "i2", "i4", "f4", "f8"])
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_idx_roundtrip_every_type(tmp_path, dtype, suffix):
    arr = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    path = tmp_path / ("a-idx3" + suffix)
    ds.write_idx(path, arr)
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == (suffix == ".gz")
    out = ds.read_idx(path)
    assert out.shape == (2, 3, 4) and out.dtype == np.dtype(dtype).newbyteorder("=")
    np.testing.assert_array_equal(out, arr)


def test_idx_reads_hand_made_bytes(tmp_path):
    # Written without write_idx: magic 0x00000803, dims 2x3x4, then 24 bytes.
    raw = struct.pack(">IIII", 0x803, 2, 3, 4) + bytes(range(24))
    (tmp_path / "img").write_bytes(raw)
    out = ds.read_idx(tmp_path / "img", magic=0x803)
    assert out.dtype == np.uint8 and out.shape == (2, 3, 4)
    assert out[1, 2, 3] == 23 and out[0, 1, 0] == 4
    # big-endian int32 labels
    (tmp_path / "lab").write_bytes(struct.pack(">II", 0x0C01, 2) + struct.pack(">ii", 258, -1))
    np.testing.assert_array_equal(ds.read_idx(tmp_path / "lab"), [258, -1])


def test_idx_wrong_magic(tmp_path):
    ds.write_idx(tmp_path / "labels", np.arange(5, dtype=np.uint8))
    with pytest.raises(ds.DatasetError, match=r"0x00000801.*expected 0x00000803"):
        ds.read_idx(tmp_path / "labels", magic=0x803)
    (tmp_path / "png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(20))
    with pytest.raises(ds.DatasetError, match="two zero bytes"):
        ds.read_idx(tmp_path / "png")
    (tmp_path / "code").write_bytes(struct.pack(">II", 0x0A01, 1) + b"x")
    with pytest.raises(ds.DatasetError, match="unknown IDX type code 0x0A"):
        ds.read_idx(tmp_path / "code")
    (tmp_path / "ndim0").write_bytes(struct.pack(">I", 0x800))
    with pytest.raises(ds.DatasetError, match="0 dimensions"):
        ds.read_idx(tmp_path / "ndim0")


@pytest.mark.parametrize("compress", [False, True])
def test_idx_truncated_and_trailing(tmp_path, compress):
    raw = struct.pack(">IIII", 0x803, 3, 2, 2) + bytes(range(12))
    pack = (lambda b: gzip.compress(b)) if compress else (lambda b: b)
    (tmp_path / "short").write_bytes(pack(raw[:-1]))
    with pytest.raises(ds.DatasetError, match=r"truncated.*\(3, 2, 2\).*12 bytes.*only 11"):
        ds.read_idx(tmp_path / "short")
    (tmp_path / "long").write_bytes(pack(raw + b"\x00\x07"))
    with pytest.raises(ds.DatasetError, match=r"2 unexpected bytes after the 12 bytes"):
        ds.read_idx(tmp_path / "long")
    (tmp_path / "head").write_bytes(pack(raw[:10]))
    with pytest.raises(ds.DatasetError, match="truncated IDX file: it ends inside the 3 dim"):
        ds.read_idx(tmp_path / "head")
    (tmp_path / "empty").write_bytes(pack(b""))
    with pytest.raises(ds.DatasetError, match="truncated IDX file"):
        ds.read_idx(tmp_path / "empty")


def test_idx_corrupt_gzip(tmp_path):
    raw = struct.pack(">IIII", 0x803, 4, 28, 28) + np.random.default_rng(0).bytes(4 * 784)
    blob = bytearray(gzip.compress(raw))
    (tmp_path / "cut.gz").write_bytes(bytes(blob[: len(blob) // 2]))
    with pytest.raises(ds.DatasetError, match="cut.gz"):
        ds.read_idx(tmp_path / "cut.gz")
    blob[len(blob) // 2] ^= 0xFF
    (tmp_path / "flip.gz").write_bytes(bytes(blob))
    with pytest.raises(ds.DatasetError, match="flip.gz"):
        ds.read_idx(tmp_path / "flip.gz")


def _peak_bytes(fn):
    tracemalloc.start()
    try:
        fn()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


@pytest.mark.parametrize("compress", [False, True])
def test_idx_forged_header_fails_without_allocating(tmp_path, compress):
    pack = gzip.compress if compress else (lambda b: b)
    # 10^9 bytes declared (under the 1 GiB cap), 16 bytes present.
    forged = tmp_path / "forged"
    forged.write_bytes(pack(struct.pack(">IIII", 0x803, 100_000, 100, 100) + bytes(16)))

    def read():
        with pytest.raises(ds.DatasetError, match=r"\(100000, 100, 100\)") as info:
            ds.read_idx(forged)
        assert ("gzip file can hold" in str(info.value)) == compress

    assert _peak_bytes(read) < 2 << 20
    # Far beyond the cap: (2^32-1)^3 bytes.
    huge = tmp_path / "huge"
    huge.write_bytes(pack(struct.pack(">IIII", 0x803, *[2**32 - 1] * 3)))

    def read_huge():
        with pytest.raises(ds.DatasetError, match="max_bytes"):
            ds.read_idx(huge)

    assert _peak_bytes(read_huge) < 2 << 20
    ds.write_idx(tmp_path / "ok", np.zeros(200, np.uint8))
    with pytest.raises(ds.DatasetError, match="max_bytes=100"):
        ds.read_idx(tmp_path / "ok", max_bytes=100)


def test_idx_checksum(tmp_path):
    path = tmp_path / "x.gz"
    ds.write_idx(path, np.arange(10, dtype=np.uint8))
    good = _content_sha(path)
    np.testing.assert_array_equal(ds.read_idx(path, sha256=good), np.arange(10))
    with pytest.raises(ds.ChecksumError, match=f"x.gz: SHA-256 of the contents is {good}"):
        ds.read_idx(path, sha256="0" * 64)


def test_idx_missing_and_bad_path(tmp_path):
    with pytest.raises(ds.DatasetError, match="nope.*no such file"):
        ds.read_idx(tmp_path / "nope")
    with pytest.raises(ds.DatasetError, match="is a directory"):
        ds.read_idx(tmp_path)
    with pytest.raises(TypeError, match="path=3.5"):
        ds.read_idx(3.5)
    with pytest.raises(TypeError, match="dtype bool"):
        ds.write_idx(tmp_path / "b", np.zeros(3, bool))


# ------------------------------------------------------------------------------- MNIST real


def test_mnist_shared_copy_shapes_and_labels(real_mnist):
    m = real_mnist
    assert m.name == "mnist" and m.n_classes == 10 and m.image_shape == (28, 28)
    assert m.X_train.shape == (50_000, 784) and m.X_val.shape == (10_000, 784)
    assert m.X_test.shape == (10_000, 784) and len(m.feature_names) == 784
    for X in (m.X_train, m.X_val, m.X_test):
        assert X.dtype == np.float32 and X.min() == 0.0 and X.max() == 1.0
    for y in (m.y_train, m.y_val, m.y_test):
        assert y.dtype == np.int64
    counts = np.bincount(m.y_train, minlength=10) + np.bincount(m.y_val, minlength=10)
    assert counts.tolist() == MNIST_TRAIN_COUNTS
    assert np.bincount(m.y_test).tolist() == MNIST_TEST_COUNTS
    assert m.y_train[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert m.y_test[:5].tolist() == [7, 2, 1, 0, 4]
    # pixels are bytes / 255
    np.testing.assert_allclose(m.X_test[0] * 255, np.round(m.X_test[0] * 255), atol=1e-4)


def test_mnist_checksums_are_the_shared_files(shared_mnist_dir):
    for spec in ds.MNIST_FILES.values():
        assert _content_sha(shared_mnist_dir / (spec.name + ".gz")) == spec.sha256


def test_mnist_checksum_detects_modified_file(shared_mnist_dir, tmp_path):
    d = tmp_path / "modified"
    d.mkdir()
    for spec in ds.MNIST_FILES.values():
        if spec.name != "train-labels-idx1-ubyte":
            (d / (spec.name + ".gz")).symlink_to(shared_mnist_dir / (spec.name + ".gz"))
    raw = bytearray(gzip.decompress((shared_mnist_dir / "train-labels-idx1-ubyte.gz").read_bytes()))
    assert raw[8] == 5
    raw[8] = 3  # first training label 5 -> 3, the format stays valid
    (d / "train-labels-idx1-ubyte.gz").write_bytes(gzip.compress(bytes(raw)))
    with pytest.raises(
        ds.ChecksumError, match=r"train-labels-idx1-ubyte.gz: SHA-256.*verify=False"
    ):
        ds.load_mnist(d, download=False)
    # The format is still valid, so verify=False loads it (first label now 3).
    m = ds.load_mnist(d, download=False, verify=False, validation=0)
    assert m.y_train[0] == 3 and m.X_train.shape == (60_000, 784) and m.X_val is None


# ------------------------------------------------------------------------------- MNIST tiny


def test_mnist_tiny_split_and_scaling(tiny_mnist):
    directory, arrays = tiny_mnist
    m = ds.load_mnist(directory, validation=12, dtype="float64")
    assert (
        m.X_train.shape == (18, 784) and m.X_val.shape == (12, 784) and m.X_test.shape == (10, 784)
    )
    assert m.X_train.dtype == np.float64
    flat = arrays["train_images"].reshape(30, 784) / 255.0
    np.testing.assert_array_equal(m.X_train, flat[:18])
    np.testing.assert_array_equal(m.X_val, flat[18:])  # the *last* images of the file
    np.testing.assert_array_equal(m.y_val, arrays["train_labels"][18:])
    np.testing.assert_array_equal(m.y_test, arrays["test_labels"])
    with pytest.raises(ValueError, match="validation=30 is invalid for 30 training images"):
        ds.load_mnist(directory, validation=30)
    with pytest.raises(ValueError, match="validation=-1"):
        ds.load_mnist(directory, validation=-1)
    with pytest.raises(ValueError, match="dtype='int8'"):
        ds.load_mnist(directory, dtype="int8")


def test_mnist_uncompressed_files(tmp_path, monkeypatch):
    arrays, specs = make_tiny_mnist(tmp_path / "plain", compress=False)
    for key, spec in specs.items():
        monkeypatch.setitem(ds.MNIST_FILES, key, spec)
    m = ds.load_mnist(tmp_path / "plain", validation=0)
    np.testing.assert_array_equal(m.y_train, arrays["train_labels"])


def test_mnist_labels_images_mismatch(tmp_path, monkeypatch):
    make_tiny_mnist(tmp_path / "bad")
    ds.write_idx(tmp_path / "bad" / "t10k-labels-idx1-ubyte.gz", np.zeros(9, np.uint8))
    with pytest.raises(ds.DatasetError, match="9 labels for 10 images"):
        ds.load_mnist(tmp_path / "bad", verify=False)
    ds.write_idx(tmp_path / "bad" / "t10k-labels-idx1-ubyte.gz", np.full(10, 12, np.uint8))
    with pytest.raises(ds.DatasetError, match="label 12 at index 0; expected digits 0..9"):
        ds.load_mnist(tmp_path / "bad", verify=False)


def test_mnist_env_var_lookup(tiny_mnist, tmp_path, monkeypatch):
    directory, arrays = tiny_mnist
    root = tmp_path / "data-root"
    root.mkdir()
    directory.rename(root / "mnist")
    monkeypatch.setenv("DELTAPROP_DATA", str(root))  # files in DELTAPROP_DATA/mnist
    m = ds.load_mnist(download=False, validation=0)
    np.testing.assert_array_equal(m.y_test, arrays["test_labels"])
    monkeypatch.setenv(
        "DELTAPROP_DATA", os.pathsep.join([str(tmp_path / "missing"), str(root / "mnist")])
    )
    assert ds.load_mnist(download=False, validation=5).X_test.shape == (10, 784)


def test_mnist_path_argument_comes_before_env_and_cache(tmp_path, monkeypatch):
    make_tiny_mnist(tmp_path / "arg", seed=1)  # first training label = seed
    make_tiny_mnist(tmp_path / "env", seed=2)
    make_tiny_mnist(ds.mnist_cache_dir(), seed=3)
    monkeypatch.setenv("DELTAPROP_DATA", str(tmp_path / "env"))
    assert ds.load_mnist(tmp_path / "arg", verify=False, validation=0).y_train[0] == 1
    assert ds.load_mnist(verify=False, validation=0).y_train[0] == 2
    monkeypatch.delenv("DELTAPROP_DATA")
    assert ds.load_mnist(verify=False, validation=0).y_train[0] == 3


def test_mnist_cache_dir_follows_xdg(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert ds.mnist_cache_dir() == tmp_path / "x" / "deltaprop" / "mnist"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert ds.mnist_cache_dir() == tmp_path / "home" / ".cache" / "deltaprop" / "mnist"


def test_mnist_path_not_a_directory(tmp_path):
    with pytest.raises(ds.DatasetError, match=r"path=.*nowhere.*is not a directory"):
        ds.load_mnist(tmp_path / "nowhere")


def _serve_from(directory: Path, corrupt: str | None = None):
    def serve(url):
        name = url.rsplit("/", 1)[1]
        data = (directory / name).read_bytes()
        if corrupt and name.startswith(corrupt):
            raw = bytearray(gzip.decompress(data))
            raw[-1] ^= 1
            data = gzip.compress(bytes(raw))
        return data

    return serve


def test_mnist_download_with_fake_opener(tiny_mnist, monkeypatch):
    directory, arrays = tiny_mnist
    serve = _serve_from(directory)
    mirrors = ("https://first.invalid/mnist/", "https://second.invalid/mnist/")
    monkeypatch.setattr(mnist_mod, "MNIST_MIRRORS", mirrors)
    opener = FakeOpener(lambda url: OSError("first mirror down") if "first" in url else serve(url))
    monkeypatch.setattr(mnist_mod, "_urlopen", opener)
    m = ds.load_mnist(validation=10)
    np.testing.assert_array_equal(m.y_test, arrays["test_labels"])
    cache = ds.mnist_cache_dir()
    assert sorted(p.name for p in cache.iterdir()) == sorted(
        s.name + ".gz" for s in ds.MNIST_FILES.values()
    )  # no .part files left
    assert opener.urls[:2] == [
        mirrors[0] + "train-images-idx3-ubyte.gz",
        mirrors[1] + "train-images-idx3-ubyte.gz",
    ]
    # Second call: served from the cache, no download.
    monkeypatch.setattr(mnist_mod, "_urlopen", _no_network)
    assert ds.load_mnist(validation=10).X_train.shape == (20, 784)


def test_mnist_download_rejects_checksum_mismatch(tiny_mnist, monkeypatch):
    directory, _ = tiny_mnist
    monkeypatch.setattr(
        mnist_mod, "_urlopen", FakeOpener(_serve_from(directory, corrupt="t10k-labels"))
    )
    with pytest.raises(ds.DatasetError, match=r"t10k-labels-idx1-ubyte.gz.*SHA-256") as info:
        ds.load_mnist()
    assert "DELTAPROP_DATA" in str(info.value)
    cache = ds.mnist_cache_dir()
    names = sorted(p.name for p in cache.iterdir())
    assert "t10k-labels-idx1-ubyte.gz" not in names
    assert not [n for n in names if n.endswith(".part")]


def test_mnist_download_rejects_oversized_response(tiny_mnist, monkeypatch):
    monkeypatch.setattr(mnist_mod, "_MAX_DOWNLOAD_BYTES", 1000)
    monkeypatch.setattr(mnist_mod, "_urlopen", FakeOpener(lambda url: bytes(5000)))
    with pytest.raises(ds.DatasetError, match="more than 1,000 bytes"):
        ds.load_mnist()


def test_mnist_not_found_message(tmp_path, monkeypatch):
    monkeypatch.setattr(
        mnist_mod, "_urlopen", FakeOpener(lambda url: OSError("network unreachable"))
    )
    (tmp_path / "empty").mkdir()
    with pytest.raises(ds.DatasetError) as info:
        ds.load_mnist(tmp_path / "empty")
    msg = str(info.value)
    assert "network unreachable" in msg and "load_mnist(path=DIR)" in msg
    assert "DELTAPROP_DATA=DIR" in msg and "train-images-idx3-ubyte.gz" in msg
    assert str(tmp_path / "empty") in msg and "\n" not in msg
    with pytest.raises(ds.DatasetError, match="download=False, so nothing was downloaded"):
        ds.load_mnist(download=False)


def test_mnist_partial_directory_is_reported(tiny_mnist, monkeypatch):
    directory, _ = tiny_mnist
    (directory / "t10k-images-idx3-ubyte.gz").unlink()
    with pytest.raises(
        ds.DatasetError, match=r"only 3 of 4 files, missing t10k-images-idx3-ubyte.gz"
    ):
        ds.load_mnist(directory, download=False)


def test_mnist_corrupt_cache_file_hint(tiny_mnist, monkeypatch):
    directory, _ = tiny_mnist
    cache = ds.mnist_cache_dir()
    cache.parent.mkdir(parents=True)
    directory.rename(cache)
    (cache / "t10k-labels-idx1-ubyte.gz").write_bytes(
        gzip.compress(struct.pack(">II", 0x801, 10) + bytes(10))
    )
    with pytest.raises(ds.ChecksumError, match="delete it to download it again"):
        ds.load_mnist()


def test_mnist_download_through_local_http_server(tiny_mnist, monkeypatch):
    directory, arrays = tiny_mnist
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        monkeypatch.setattr(
            mnist_mod,
            "MNIST_MIRRORS",
            (f"http://127.0.0.1:{port}/missing/", f"http://127.0.0.1:{port}/"),
        )
        monkeypatch.setattr(mnist_mod, "_urlopen", REAL_URLOPEN)
        m = ds.load_mnist(validation=5)
    finally:
        server.shutdown()
        server.server_close()
    np.testing.assert_array_equal(m.y_train, arrays["train_labels"][:25])


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


# ---------------------------------------------------------------------------------- digits


def test_digits_shape_split_and_scaling():
    d = ds.load_digits()
    assert d.name == "digits" and d.n_classes == 10 and d.image_shape == (8, 8)
    assert (d.X_train.shape, d.X_val.shape, d.X_test.shape) == ((1077, 64), (360, 64), (360, 64))
    assert d.X_train.dtype == np.float32 and d.y_train.dtype == np.int64
    assert d.feature_names[:2] == ("pixel_0_0", "pixel_0_1") and len(d.feature_names) == 64
    allX = np.concatenate([d.X_train, d.X_val, d.X_test])
    assert allX.min() == 0.0 and allX.max() == 1.0
    np.testing.assert_array_equal(allX * 16, np.round(allX * 16))
    total = np.bincount(np.concatenate([d.y_train, d.y_val, d.y_test]))
    assert total.tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    # stratified: each part within one sample of its share of every class
    for y, share in ((d.y_val, 0.2), (d.y_test, 0.2), (d.y_train, 0.6)):
        assert np.all(np.abs(np.bincount(y, minlength=10) - share * total) <= 1.0)
    # the parts are a partition of the 1797 samples
    full = ds.load_digits(validation=0, test=0)
    key = lambda X, y: sorted(map(bytes, np.column_stack([X * 16, y]).astype(np.uint8)))
    assert key(allX, np.concatenate([d.y_train, d.y_val, d.y_test])) == key(
        full.X_train, full.y_train
    )


def test_digits_split_reproducible_and_seeded():
    a, b, c = ds.load_digits(), ds.load_digits(), ds.load_digits(seed=1)
    np.testing.assert_array_equal(a.X_test, b.X_test)
    np.testing.assert_array_equal(a.y_train, b.y_train)
    assert not np.array_equal(a.y_train, c.y_train)
    assert ds.load_digits(dtype="float64", validation=0.1, test=100).X_test.shape == (100, 64)


def test_digits_matches_sklearn():
    sk = pytest.importorskip("sklearn.datasets")
    ref = sk.load_digits()
    full = ds.load_digits(validation=0, test=0, dtype="float64")
    assert full.X_val is None and full.X_test is None
    np.testing.assert_array_equal(full.X_train * 16, ref.data)
    np.testing.assert_array_equal(full.y_train, ref.target)


def test_digits_package_has_no_heavy_imports():
    import subprocess
    import sys

    code = (
        "import sys, deltaprop.datasets as d; d.load('digits'); "
        "bad = [m for m in ('sklearn', 'pandas', 'urllib.request', 'scipy') if m in sys.modules];"
        "print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# ------------------------------------------------------------------------------- toy sets


def test_xor_truth_table_and_noisy_sample():
    X, y = ds.make_xor()
    np.testing.assert_array_equal(X, [[0, 0], [0, 1], [1, 0], [1, 1]])
    np.testing.assert_array_equal(y, [0, 1, 1, 0])
    Xn, yn = ds.make_xor(400, noise=0.1, seed=3)
    assert Xn.shape == (400, 2) and np.bincount(yn).tolist() == [200, 200]
    corners = np.round(Xn).clip(0, 1).astype(int)
    assert np.mean((corners[:, 0] ^ corners[:, 1]) == yn) > 0.99
    np.testing.assert_array_equal(Xn, ds.make_xor(400, noise=0.1, seed=3)[0])
    assert not np.array_equal(Xn, ds.make_xor(400, noise=0.1, seed=4)[0])


def test_moons_geometry_and_seed():
    X, y = ds.make_moons(101, noise=0.0, seed=0)
    assert X.shape == (101, 2) and y.dtype == np.int64 and np.bincount(y).tolist() == [50, 51]
    np.testing.assert_allclose(np.hypot(*X[y == 0].T), 1.0)
    np.testing.assert_allclose(np.hypot(X[y == 1, 0] - 1, X[y == 1, 1] - 0.5), 1.0)
    assert X[y == 0, 1].min() >= -1e-12 and X[y == 1, 1].max() <= 0.5 + 1e-12
    a, b = ds.make_moons(50, seed=7), ds.make_moons(50, seed=7)
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(a[0], ds.make_moons(50, seed=8)[0])


def test_circles_radii():
    X, y = ds.make_circles(40, noise=0.0, factor=0.3)
    r = np.hypot(X[:, 0], X[:, 1])
    np.testing.assert_allclose(r[y == 0], 1.0)
    np.testing.assert_allclose(r[y == 1], 0.3)
    with pytest.raises(ValueError, match=r"factor=1.5 is invalid; expected a number in \(0, 1\)"):
        ds.make_circles(factor=1.5)


def test_spirals_arms_follow_the_formula():
    X, y = ds.make_spirals(301, n_arms=4, noise=0.0, turns=0.75)
    assert np.bincount(y).tolist() == [76, 75, 75, 75]
    r = np.hypot(X[:, 0], X[:, 1])
    assert r.max() == pytest.approx(1.0)
    theta = np.arctan2(X[:, 1], X[:, 0])
    expected = 2 * np.pi * y / 4 + 2 * np.pi * 0.75 * r
    np.testing.assert_allclose(np.angle(np.exp(1j * (theta - expected))), 0.0, atol=1e-9)
    np.testing.assert_array_equal(ds.make_spirals(seed=2)[0], ds.make_spirals(seed=2)[0])


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: ds.make_moons(1), "n_samples=1"),
        (lambda: ds.make_moons(noise=-0.1), "noise=-0.1"),
        (lambda: ds.make_xor(0), "n_samples=0"),
        (lambda: ds.make_spirals(n_arms=1), "n_arms=1"),
        (lambda: ds.make_spirals(2, n_arms=3), "n_samples=2"),
        (lambda: ds.make_xor(seed=-1), "seed=-1"),
        (lambda: ds.make_circles(noise=float("nan")), "noise=nan"),
    ],
)
def test_toy_bad_arguments(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# ---------------------------------------------------------------------------------- registry


@pytest.mark.parametrize("name", ["digits", "xor", "moons", "circles", "spirals"])
def test_registry_loads_datasets(name):
    d = ds.load(name)
    assert isinstance(d, ds.Dataset) and d.name == name and d.X_train.dtype == np.float32
    assert d.y_train.max() < d.n_classes and repr(d).startswith(f"Dataset({name!r}, train=")


def test_registry_options_and_errors(tiny_mnist):
    directory, _ = tiny_mnist
    assert ds.load("mnist", path=directory, validation=3).X_val.shape == (3, 784)
    assert ds.load("moons", n_samples=100, noise=0.2, seed=1).X_train.shape == (60, 2)
    assert ds.load("spirals", n_arms=5).n_classes == 5
    assert ds.load("xor").X_val is None
    with pytest.raises(
        ValueError,
        match=r"unknown data set 'mnsit'; expected one of 'digits', 'mnist', 'xor', 'moons', "
        r"'circles', 'spirals'",
    ):
        ds.load("mnsit")
    with pytest.raises(
        TypeError, match=r"data set 'moons' has no option 'n_arms'; expected some of n_samples"
    ):
        ds.load("moons", n_arms=3)


def test_dataset_checks_consistency():
    X, y = np.zeros((4, 2)), np.zeros(4, np.int64)
    with pytest.raises(DeltapropError, match="y_train has shape"):
        ds.Dataset("d", X, y[:3], None, None, None, None, 1)
    with pytest.raises(DeltapropError, match="X_val is an array but y_val is None"):
        ds.Dataset("d", X, y, X, None, None, None, 1)
    with pytest.raises(DeltapropError, match="X_test has 3 columns but X_train has 2"):
        ds.Dataset("d", X, y, None, None, np.zeros((2, 3)), y[:2], 1)


# --------------------------------------------------------------------------------------- CSV


def _write_csv(path, header, rows, delimiter=","):
    with open(path, "w", newline="") as f:
        w = csv.writer(f, delimiter=delimiter)
        w.writerow(header)
        w.writerows(rows)
    return path


def test_csv_roundtrip_with_string_labels(tmp_path):
    rng = np.random.default_rng(0)
    X = np.round(rng.normal(size=(6, 3)), 6)
    labels = ["virginica", "setosa", "versicolor", "setosa", "virginica", "setosa"]
    rows = [[*X[i, :2], labels[i], X[i, 2]] for i in range(6)]
    path = _write_csv(tmp_path / "d.csv", ["a", "b", "species", "c"], rows)
    data = ds.load_csv(path, "species")
    np.testing.assert_array_equal(data.X, X)
    assert data.feature_names == ("a", "b", "c")
    assert data.classes.tolist() == ["setosa", "versicolor", "virginica"]
    assert data.y.tolist() == [2, 0, 1, 0, 2, 0]
    # a fixed class list (e.g. from a trained model) maps the same way, order as given
    again = ds.load_csv(path, "species", classes=["virginica", "setosa", "versicolor"])
    assert again.y.tolist() == [0, 1, 2, 1, 0, 1]
    sel = ds.load_csv(path, "species", features=["c", "a"])
    np.testing.assert_array_equal(sel.X, X[:, [2, 0]])
    X2, y2 = ds.load_csv(path, "species")  # unpacks like the toy generators
    np.testing.assert_array_equal(X2, X)
    assert y2.tolist() == data.y.tolist()
    no_target = ds.load_csv(path, features=["a", "b", "c"])
    assert no_target.y is None and no_target.classes is None
    np.testing.assert_array_equal(no_target.X, X)
    with pytest.raises(
        ds.DatasetError, match="line 2, column 'species': non-numeric value 'virginica'"
    ):
        ds.load_csv(path)  # without a target, every column is a feature


def test_csv_numeric_labels(tmp_path):
    p = _write_csv(tmp_path / "n.csv", ["x", "y"], [[1, 0], [2, 2], [3, "2.0"], [4, " 0 "]])
    data = ds.load_csv(p, "y")
    assert data.y.tolist() == [0, 2, 2, 0] and data.classes is None  # indices kept, not shifted
    p = _write_csv(tmp_path / "neg.csv", ["x", "y"], [[1, -1], [2, 1], [3, -1]])
    data = ds.load_csv(p, "y")
    assert data.y.tolist() == [0, 1, 0] and data.classes.tolist() == [-1, 1]
    p = _write_csv(tmp_path / "reg.csv", ["x", "t"], [[1, 0.5], [2, 1.25]])
    data = ds.load_csv(p, "t")
    assert data.y.dtype == np.float64 and data.y.tolist() == [0.5, 1.25] and data.classes is None
    p = _write_csv(tmp_path / "semi.csv", ["x", "y"], [[1.5, "a"], [2, "b"]], delimiter=";")
    assert ds.load_csv(p, "y", delimiter=";").X.ravel().tolist() == [1.5, 2.0]


def test_csv_bad_files(tmp_path):
    def write(name, text):
        (tmp_path / name).write_text(text)
        return tmp_path / name

    cases = [
        (
            write("word.csv", "a,b,y\n1,2,x\n3,four,y\n"),
            "y",
            r"word.csv: line 3, column 'b': non-numeric value 'four'; expected a number",
        ),
        (write("blank.csv", "a,b,y\n1,,x\n"), "y", r"line 2, column 'b': empty value"),
        (
            write("nan.csv", "a,b,y\n1,2,x\n1,nan,x\n"),
            "y",
            r"line 3, column 'b': 'nan'; expected a finite",
        ),
        (write("ragged.csv", "a,b,y\n1,2,x\n1,2\n"), "y", r"line 3: 2 fields; expected 3"),
        (write("empty.csv", ""), "y", r"empty.csv: the file is empty"),
        (write("header.csv", "a,b,y\n"), "y", r"a header but no data rows"),
        (write("dup.csv", "a,a,y\n1,2,x\n"), "y", r"column name 'a' appears twice"),
        (
            write("target.csv", "a,b,label\n1,2,x\n"),
            "y",
            r"no column named 'y' \(target\); the header has 'a', 'b', 'label'",
        ),
        (write("notarget.csv", "a,b,y\n1,2,\n"), "y", r"line 2, column 'y': empty target"),
        (write("quoted.csv", 'a,b,y\n1,2,"multi\nline"\n1,z,x\n'), "y", r"line 4, column 'b'"),
        (write("only.csv", "y\nx\n"), "y", r"no feature columns"),
    ]
    for path, target, message in cases:
        with pytest.raises(ds.DatasetError, match=message):
            ds.load_csv(path, target)
    (tmp_path / "bin.csv").write_bytes(b"a,b\n\xff\xfe\x00\x01\n")
    with pytest.raises(ds.DatasetError, match="not UTF-8"):
        ds.load_csv(tmp_path / "bin.csv")
    with pytest.raises(ds.DatasetError, match="no such file"):
        ds.load_csv(tmp_path / "absent.csv", "y")
    with pytest.raises(ds.DatasetError, match=r"label 'z' is not one of the known classes"):
        ds.load_csv(write("cls.csv", "a,y\n1,z\n"), "y", classes=["x", "y"])
    with pytest.raises(ValueError, match="delimiter"):
        ds.load_csv(tmp_path / "word.csv", "y", delimiter=";;")
    with pytest.raises(ValueError, match="features includes the target"):
        ds.load_csv(tmp_path / "word.csv", "y", features=["a", "y"])


# --------------------------------------------------------------------------------------- NPZ


def test_npz_roundtrip(tmp_path):
    X = np.arange(12.0).reshape(4, 3)
    ds.save_npz(tmp_path / "a.npz", X, np.array([0, 2, 1, 2]), feature_names=["p", "q", "r"])
    data = ds.load_npz(tmp_path / "a.npz")
    np.testing.assert_array_equal(data.X, X)
    assert data.y.tolist() == [0, 2, 1, 2] and data.classes is None
    assert data.feature_names == ("p", "q", "r")
    ds.save_npz(tmp_path / "s.npz", X, np.array(["no", "yes", "no", "no"]))
    s = ds.load_npz(tmp_path / "s.npz")
    assert s.y.tolist() == [0, 1, 0, 0] and s.classes.tolist() == ["no", "yes"]
    np.savez(tmp_path / "plain.npz", X=X.astype(np.float32), y=np.ones((4, 2)))
    np.savez(tmp_path / "xonly.npz", X=X)
    Xo, yo = ds.load_npz(tmp_path / "xonly.npz", require_y=False)
    assert yo is None and Xo.shape == (4, 3)
    with pytest.raises(ds.DatasetError, match="no array named 'y'"):
        ds.load_npz(tmp_path / "xonly.npz")
    p = ds.load_npz(tmp_path / "plain.npz")
    assert p.y.shape == (4, 2) and p.X.dtype == np.float64 and p.feature_names == ("x1", "x2", "x3")
    assert [f.name for f in tmp_path.iterdir() if f.name.endswith(".part")] == []


def test_npz_bad_files(tmp_path):
    np.savez(tmp_path / "noy.npz", X=np.zeros((2, 2)), labels=np.zeros(2))
    with pytest.raises(ds.DatasetError, match=r"no array named 'y'; the file has 'X', 'labels'"):
        ds.load_npz(tmp_path / "noy.npz")
    np.savez(tmp_path / "mis.npz", X=np.zeros((3, 2)), y=np.zeros(2, int))
    with pytest.raises(ds.DatasetError, match=r"y has shape \(2,\) but X has 3 rows"):
        ds.load_npz(tmp_path / "mis.npz")
    np.savez(tmp_path / "x1d.npz", X=np.zeros(3), y=np.zeros(3, int))
    with pytest.raises(ds.DatasetError, match=r"X has shape \(3,\).*expected a 2-D"):
        ds.load_npz(tmp_path / "x1d.npz")
    np.savez(tmp_path / "nan.npz", X=np.array([[1.0, np.inf]]), y=np.zeros(1, int))
    with pytest.raises(ds.DatasetError, match=r"X\[0, 1\] is inf"):
        ds.load_npz(tmp_path / "nan.npz")
    np.savez(tmp_path / "obj.npz", X=np.array([[1, None]], dtype=object), y=np.zeros(1, int))
    with pytest.raises(ds.DatasetError, match="Python objects"):
        ds.load_npz(tmp_path / "obj.npz")
    (tmp_path / "text.npz").write_text("X,y\n1,2\n")
    with pytest.raises(ds.DatasetError, match="not an NPZ"):
        ds.load_npz(tmp_path / "text.npz")
    with pytest.raises(ds.DatasetError, match="no such file"):
        ds.load_npz(tmp_path / "absent.npz")


class _Evil:
    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (open, (self.target, "w"))


def test_npz_pickle_never_executes(tmp_path):
    marker = tmp_path / "pwned"
    (tmp_path / "evil.npz").write_bytes(pickle.dumps(_Evil(str(marker))))
    with pytest.raises(ds.DatasetError):
        ds.load_npz(tmp_path / "evil.npz")
    with zipfile.ZipFile(tmp_path / "evil2.npz", "w") as z:
        z.writestr("X.npy", pickle.dumps(_Evil(str(marker))))
        z.writestr("y.npy", pickle.dumps(_Evil(str(marker))))
    with pytest.raises(ds.DatasetError):
        ds.load_npz(tmp_path / "evil2.npz")
    assert not marker.exists()


def _npz_with_forged_X(path, shape):
    """An NPZ whose X.npy header declares `shape` (float64) but holds 16 bytes of data."""
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buf, {"descr": "<f8", "fortran_order": False, "shape": shape}
    )
    ybuf = io.BytesIO()
    np.save(ybuf, np.zeros(2, int))
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("X.npy", buf.getvalue() + bytes(16))
        z.writestr("y.npy", ybuf.getvalue())


@pytest.mark.parametrize(
    "shape, message",
    [
        (
            (10**7, 10),
            r"declares shape \(10000000, 10\) of float64 \(800,000,000 bytes\) but holds 16",
        ),
        (
            (10**9, 10),
            r"declares shape \(1000000000, 10\) \(80,000,000,000 bytes\), beyond max_bytes",
        ),
    ],
)
def test_npz_forged_header_fails_without_allocating(tmp_path, shape, message):
    _npz_with_forged_X(tmp_path / "forged.npz", shape)

    def read():
        with pytest.raises(ds.DatasetError, match=message):
            ds.load_npz(tmp_path / "forged.npz")

    assert _peak_bytes(read) < 2 << 20


def test_npz_max_bytes(tmp_path):
    np.savez(tmp_path / "big.npz", X=np.zeros((100, 10)), y=np.zeros(100, int))
    with pytest.raises(ds.DatasetError, match="max_bytes=1,000"):
        ds.load_npz(tmp_path / "big.npz", max_bytes=1000)
    assert ds.load_npz(tmp_path / "big.npz", max_bytes=10_000).X.shape == (100, 10)


# ----------------------------------------------------------------------------------- helpers


def test_one_hot():
    np.testing.assert_array_equal(
        ds.one_hot([2, 0, 1, 2]), [[0, 0, 1], [1, 0, 0], [0, 1, 0], [0, 0, 1]]
    )
    Y = ds.one_hot(np.array([1.0, 0.0]), 4, dtype="float32")
    assert Y.dtype == np.float32 and Y.tolist() == [[0, 1, 0, 0], [1, 0, 0, 0]]
    with pytest.raises(ValueError, match=r"y\[1\] = 3 is out of range for n_classes=3"):
        ds.one_hot([0, 3], 3)
    with pytest.raises(ValueError, match=r"y\[0\] = -1 is negative"):
        ds.one_hot([-1, 0])
    with pytest.raises(ValueError, match=r"y\[1\] = 0.5 is not a class index"):
        ds.one_hot([1.0, 0.5])
    with pytest.raises(ValueError, match=r"shape \(2, 2\)"):
        ds.one_hot(np.zeros((2, 2), int))
    with pytest.raises(TypeError, match="dtype <U1"):
        ds.one_hot(["a"])
    with pytest.raises(ValueError, match="n_classes=0"):
        ds.one_hot([0], 0)


def test_standardize_hand_values():
    X = np.array([[1.0, 2.0, 5.0], [3.0, 6.0, 5.0]])
    Z, Zo, stats = ds.standardize(X, [[2.0, 8.0, 7.0]])
    np.testing.assert_array_equal(stats.mean, [2, 4, 5])
    np.testing.assert_array_equal(stats.std, [1, 2, 1])  # constant column: divisor 1
    np.testing.assert_array_equal(Z, [[-1, -1, 0], [1, 1, 0]])
    np.testing.assert_array_equal(Zo, [[0, 2, 2]])  # others use the training statistics
    np.testing.assert_allclose(stats.invert(Zo), [[2, 8, 7]])
    Z32, s32 = ds.standardize(X.astype(np.float32))
    assert Z32.dtype == np.float32
    with pytest.raises(ValueError, match="others.0. has 2 columns but X_train has 3"):
        ds.standardize(X, np.zeros((1, 2)))
    with pytest.raises(ValueError, match="X_train contains nan"):
        ds.standardize([[np.nan, 1.0]])


def test_minmax_hand_values():
    X = np.array([[0.0, 10.0, 4.0], [5.0, 20.0, 4.0], [10.0, 30.0, 4.0]])
    Z, Zo, stats = ds.minmax_scale(X, [[20.0, 0.0, 5.0]])
    np.testing.assert_allclose(Z, [[0, 0, 0], [0.5, 0.5, 0], [1, 1, 0]])
    np.testing.assert_allclose(Zo, [[2, -0.5, 1]])  # (0 - 10) / 20; constant column: 5 - 4
    Zr, _ = ds.minmax_scale(X, feature_range=(-1, 1))
    np.testing.assert_allclose(Zr, [[-1, -1, -1], [0, 0, -1], [1, 1, -1]])
    np.testing.assert_allclose(stats.invert(Z), X)
    with pytest.raises(ValueError, match=r"feature_range=\(1, 1\) is invalid"):
        ds.minmax_scale(X, feature_range=(1, 1))


def test_train_test_split_sizes_and_partition():
    X = np.arange(20.0).reshape(10, 2)
    y = np.arange(10)
    Xtr, Xte, ytr, yte = ds.train_test_split(X, y, 0.25, seed=3)
    assert len(Xte) == 3 and len(Xtr) == 7  # ceil(2.5)
    np.testing.assert_array_equal(Xtr[:, 0] / 2, ytr)  # rows stay aligned with labels
    assert sorted(np.concatenate([ytr, yte]).tolist()) == list(range(10))
    again = ds.train_test_split(X, y, 0.25, seed=3)
    np.testing.assert_array_equal(again[3], yte)
    assert not np.array_equal(ds.train_test_split(X, y, 0.25, seed=4)[3], yte)
    assert len(ds.train_test_split(X, y, 4)[1]) == 4
    for bad, message in [
        (0, "gives no test samples"),
        (10, r"count in \[0, 9\]"),
        (1.0, r"fraction in \[0, 1\)"),
        ("a", "test_size='a'"),
        (-0.5, "test_size=-0.5"),
    ]:
        with pytest.raises((ValueError, TypeError), match=message):
            ds.train_test_split(X, y, bad)
    with pytest.raises(ValueError, match="y has 9 labels but X has 10 rows"):
        ds.train_test_split(X, y[:9])


def test_train_test_split_stratified_counts():
    y = np.array([0] * 6 + [1] * 4)
    X = np.zeros((10, 1))
    _, _, ytr, yte = ds.train_test_split(X, y, 0.5, stratify=True)
    assert np.bincount(yte).tolist() == [3, 2] and np.bincount(ytr).tolist() == [3, 2]
    # largest remainder: shares 1.5, 0.9, 0.6 of 3 -> 1, 1, 1
    y = np.array([0] * 5 + [1] * 3 + [2] * 2)
    _, _, _, yte = ds.train_test_split(np.zeros((10, 1)), y, 3, stratify=True)
    assert np.bincount(yte, minlength=3).tolist() == [1, 1, 1]
    # one-hot rows stratify by their class
    Y = ds.one_hot(np.array([0] * 8 + [1] * 2))
    _, _, _, Yte = ds.train_test_split(np.zeros((10, 1)), Y, 5, stratify=True)
    assert Yte.sum(axis=0).tolist() == [4, 1]
    groups = np.array([0, 1] * 5)
    _, _, ytr, yte = ds.train_test_split(np.zeros((10, 1)), np.arange(10), 4, stratify=groups)
    assert np.bincount(yte % 2).tolist() == [2, 2]


def test_from_arrays():
    X = np.arange(40.0).reshape(20, 2)
    y = np.array([0, 1] * 10)
    d = ds.from_arrays(X, y, name="mine", validation=0.25, test=4, seed=1)
    assert (len(d.X_train), len(d.X_val), len(d.X_test)) == (11, 5, 4)
    assert d.n_classes == 2 and d.X_train.dtype == np.float32
    rows = np.concatenate([d.X_train, d.X_val, d.X_test])[:, 0]
    assert sorted(rows.tolist()) == X[:, 0].tolist()
    same = ds.from_arrays(X, y, seed=None)  # None means the default seed 0
    np.testing.assert_array_equal(same.y_test, ds.from_arrays(X, y).y_test)
    with pytest.raises(ValueError, match="leave no training samples out of 20"):
        ds.from_arrays(X, y, validation=10, test=10)
    with pytest.raises(ValueError, match="y has 3 labels"):
        ds.from_arrays(X, y[:3])


# -------------------------------------------------------------------------------------- fuzz


def test_readers_fuzzed_inputs_load_or_raise_dataset_error(tmp_path):
    """Byte flips, truncations, insertions and trailing junk: every outcome is a load or a
    DatasetError -- never another exception from zlib, zipfile, csv or numpy."""
    rng = np.random.default_rng(1234)
    ds.write_idx(tmp_path / "a.gz", rng.integers(0, 256, (3, 28, 28), dtype=np.uint8))
    ds.write_idx(tmp_path / "b", rng.integers(0, 256, (3, 5), dtype=np.uint8))
    ds.save_npz(tmp_path / "c.npz", rng.normal(size=(5, 3)), np.array(list("abacb")))
    (tmp_path / "d.csv").write_text('x,y,t\n1,2,a\n3,4,b\n5,6,"c"\n')
    readers = {
        "a.gz": ds.read_idx,
        "b": ds.read_idx,
        "c.npz": ds.load_npz,
        "d.csv": lambda p: ds.load_csv(p, "t"),
    }
    outcomes = {}
    for name, read in readers.items():
        base = (tmp_path / name).read_bytes()
        for _ in range(150):
            b = bytearray(base)
            kind = rng.integers(4)
            if kind == 0:
                for _ in range(rng.integers(1, 5)):
                    b[rng.integers(len(b))] = rng.integers(256)
            elif kind == 1:
                b = b[: rng.integers(len(b))]
            elif kind == 2:
                b += rng.bytes(int(rng.integers(1, 50)))
            else:
                pos = int(rng.integers(len(b) + 1))
                b[pos:pos] = rng.bytes(int(rng.integers(1, 8)))
            path = tmp_path / ("fuzz-" + name)
            path.write_bytes(bytes(b))
            try:
                read(path)
                result = "loaded"
            except ds.DatasetError:
                result = "DatasetError"
            outcomes[name, result] = outcomes.get((name, result), 0) + 1
    for name in readers:  # mostly rejected, and never anything but DatasetError
        assert outcomes.get((name, "DatasetError"), 0) >= 50, outcomes


def test_preprocessing_imports_nothing_above_it():
    # Imports flow one way: _base (Dataset, from_arrays) builds on preprocessing, never the
    # reverse, not even inside a function.
    import ast

    import deltaprop.datasets.preprocessing as prep

    tree = ast.parse(Path(prep.__file__).read_text(encoding="utf-8"))
    relative = {
        node.module
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.level > 0
    }
    assert relative == {"_validation"}, relative
