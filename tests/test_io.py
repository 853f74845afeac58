"""Model files: round trips, atomic writes, and every way a file can be damaged or forged."""

import io as stdio
import json
import os
import pickle
import time
import tracemalloc
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import deltaprop
from deltaprop import io as dio
from deltaprop.io import (
    ModelFileError,
    atomic_open,
    atomic_write_bytes,
    atomic_write_text,
    load,
    save,
)

ARCHITECTURES = [
    # sizes, hidden activations, output activation, loss, dtype
    ([4, 5, 3], ["tanh"], {"name": "leaky_relu", "alpha": 0.2}, "quadratic", "float32"),
    ([3, 2], [], {"name": "swish", "beta": 2.0}, "mse", "float64"),
    (
        [6, 8, 7, 4],
        [{"name": "leaky_relu", "alpha": 0.01}, "relu"],
        "softmax",
        "cross_entropy",
        "float64",
    ),
    ([2, 3, 1], ["sigmoid"], "sigmoid", "binary_cross_entropy", "float32"),
    ([5, 9, 9, 9, 2], ["softplus", "tanh", "linear"], "sigmoid", "quadratic", "float64"),
]


def make_net(
    sizes=(4, 5, 3), hidden=("tanh",), out="sigmoid", loss="quadratic", dtype="float64", seed=0
):
    return deltaprop.Network(
        list(sizes),
        activation=list(hidden),
        output_activation=out,
        loss=loss,
        dtype=dtype,
        seed=seed,
    )


@pytest.fixture
def model(tmp_path):
    """A saved model with optimizer state: (path, net)."""
    net = make_net()
    path = tmp_path / "model.npz"
    save(net, path, optimizer_state={"m": np.full(net.num_parameters, 0.5), "t": 3})
    return path, net


# ----------------------------------------------------------------------------- helpers that forge
def members_of(path):
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def write_zip(path, members, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)


def npy_bytes(arr, allow_pickle=False):
    buf = stdio.BytesIO()
    np.lib.format.write_array(buf, arr, allow_pickle=allow_pickle)
    return buf.getvalue()


def forge(path, *, arrays=None, drop=(), meta=None, fix_checksum=True):
    """Rewrite a model file with replaced members/metadata (checksum recomputed by default)."""
    members = members_of(path)
    metadata = json.loads(members["metadata.json"])
    for name, value in (arrays or {}).items():
        members[name + ".npy"] = npy_bytes(value) if isinstance(value, np.ndarray) else value
    for name in drop:
        members.pop(name)
    metadata.update(meta or {})
    if fix_checksum:
        loaded = {
            n[:-4]: dio._canonical(np.load(stdio.BytesIO(d)))
            for n, d in members.items()
            if n.endswith(".npy")
        }
        metadata["checksum"]["value"] = dio._checksum(loaded)
        if "metadata" in metadata.get("checksum", {}):
            metadata["checksum"]["metadata"] = dio.metadata_digest(metadata)
    if "metadata.json" in members:
        members["metadata.json"] = json.dumps(metadata).encode()
    write_zip(path, members)


def expect_error(path, *fragments):
    """load(path) raises ModelFileError naming the path and every fragment (case-insensitive)."""
    with pytest.raises(ModelFileError) as info:
        load(path)
    message = str(info.value)
    assert message.startswith(f"{path}: "), message
    problem = message[len(str(path)) :]  # the test's own file name must not satisfy a fragment
    for fragment in fragments:
        assert fragment.lower() in problem.lower(), message
    return problem


class CreatesFile:
    """Unpickling this object opens (creates) a file: a stand-in for arbitrary code."""

    def __init__(self, target):
        self.target = str(target)

    def __reduce__(self):
        return (open, (self.target, "w"))


# ----------------------------------------------------------------------------- round trips
@pytest.mark.parametrize("sizes, hidden, out, loss, dtype", ARCHITECTURES)
def test_round_trip_parameters_and_predictions(tmp_path, sizes, hidden, out, loss, dtype):
    net = make_net(sizes, hidden, out, loss, dtype, seed=7)
    path = save(net, tmp_path / "m.npz")
    assert path == tmp_path / "m.npz"
    back = load(path)
    assert back.config() == net.config()
    assert back.dtype == np.dtype(dtype) and back.get_flat().dtype == np.dtype(dtype)
    np.testing.assert_array_equal(back.get_flat(), net.get_flat())
    for W0, W1 in zip(net.weights, back.weights):
        assert W0.shape == W1.shape
        np.testing.assert_array_equal(W0, W1)
    X = np.random.default_rng(1).normal(size=(17, sizes[0])).astype(dtype)
    np.testing.assert_array_equal(back.predict_proba(X), net.predict_proba(X))
    np.testing.assert_array_equal(back.predict(X), net.predict(X))
    assert repr(back) == repr(net)
    assert back.seed == 7


def test_parametrised_activation_survives(tmp_path):
    net = make_net(
        [3, 4, 2], [{"name": "leaky_relu", "alpha": 0.3}], {"name": "swish", "beta": 1.5}
    )
    back = load(save(net, tmp_path / "m.npz"))
    assert back.layer_activations[0].alpha == 0.3
    assert back.layer_activations[1].beta == 1.5
    z = np.array([[-2.0, -1.0, 1.0, 2.0]])
    np.testing.assert_array_equal(back.layer_activations[0](z), net.layer_activations[0](z))


def test_metadata_state_and_extra_round_trip(tmp_path):
    net = make_net()
    net.history = {
        "cost": [1.5, 0.25, float("nan")],
        "accuracy": [0.5, 0.75, None],
        "val_cost": [float("inf")],
    }
    net.training_config = {"lr": np.float32(0.5), "epochs": np.int64(3), "layers": (4, 5, 3)}
    opt = {
        "name": "adam",
        "t": 12,
        "m": np.arange(net.num_parameters, dtype=np.float64),
        "per_layer": [np.ones((5, 4), np.float32), np.array([True, False])],
        "counts": np.array([[1, 2], [3, 4]], dtype=np.int64),
        "beta": 0.9,
    }
    rng = np.random.default_rng(3)
    rng.random(5)
    extra = {
        "epoch": 4,
        "rng": rng.bit_generator.state,
        "best_score": -float("inf"),
        "best_theta": net.get_flat() * 2,
    }
    path = save(net, tmp_path / "ckpt.npz", optimizer_state=opt, extra=extra)
    back, opt2, extra2 = load(path, return_state=True)

    hist = back.history.to_dict() if hasattr(back.history, "to_dict") else back.history
    assert hist["cost"][:2] == [1.5, 0.25] and np.isnan(hist["cost"][2])
    assert hist["accuracy"] == [0.5, 0.75, None] and hist["val_cost"] == [float("inf")]
    assert back.training_config == {"lr": float(np.float32(0.5)), "epochs": 3, "layers": [4, 5, 3]}
    assert opt2["name"] == "adam" and opt2["t"] == 12 and opt2["beta"] == 0.9
    np.testing.assert_array_equal(opt2["m"], opt["m"])
    assert opt2["m"].dtype == np.float64 and opt2["per_layer"][0].dtype == np.float32
    assert opt2["per_layer"][1].dtype == np.bool_
    np.testing.assert_array_equal(opt2["per_layer"][1], [True, False])
    np.testing.assert_array_equal(opt2["counts"], opt["counts"])
    assert opt2["counts"].dtype == np.int64
    assert extra2["epoch"] == 4 and extra2["best_score"] == -float("inf")
    np.testing.assert_array_equal(extra2["best_theta"], net.get_flat() * 2)
    resumed = np.random.default_rng()
    resumed.bit_generator.state = extra2["rng"]
    np.testing.assert_array_equal(resumed.random(4), rng.random(4))
    # The loaded optimizer arrays are writable, as an optimizer needs them to be.
    opt2["m"][0] = 1.0

    meta = dio.read_metadata(path)
    assert meta["format"] == "deltaprop-model" and meta["format_version"] == 1
    assert meta["library_version"] == deltaprop.__version__
    assert meta["sizes"] == [4, 5, 3] and meta["dtype"] == "float64"
    assert meta["loss"] == {"name": "quadratic"}
    assert meta["activations"] == [{"name": "tanh"}, {"name": "sigmoid"}]
    assert len(meta["checksum"]["value"]) == 64


def test_history_object_with_to_dict_is_stored(tmp_path):
    class Hist:
        def to_dict(self):
            return {"cost": [3.0, 2.0], "epoch": [1, 2]}

    net = make_net()
    net.history = Hist()
    back = load(save(net, tmp_path / "m.npz"))
    hist = back.history.to_dict() if hasattr(back.history, "to_dict") else back.history
    assert hist["cost"] == [3.0, 2.0] and hist["epoch"] == [1, 2]


def test_defaults_without_state(tmp_path):
    net = make_net()
    back, opt, extra = load(save(net, tmp_path / "m.npz"), return_state=True)
    assert opt is None and extra == {} and back.history is None and back.training_config == {}


def test_file_is_plain_npz_and_deterministic(tmp_path, model):
    path, net = model
    with np.load(path, allow_pickle=False) as npz:
        assert {"W1", "b1", "W2", "b2"} <= set(npz.files)
        np.testing.assert_array_equal(npz["W1"], net.weights[0])
    state = {"m": np.full(net.num_parameters, 0.5), "t": 3}
    again = save(net, tmp_path / "again.npz", optimizer_state=state)
    assert again.read_bytes() == path.read_bytes()


def test_many_layers_member_order(tmp_path):
    sizes = [3] + [2] * 11 + [1]
    net = make_net(sizes, ["tanh"] * 11, "linear")
    back = load(save(net, tmp_path / "deep.npz"))
    np.testing.assert_array_equal(back.get_flat(), net.get_flat())


# ----------------------------------------------------------------------------- atomic writes
def test_failed_save_leaves_old_file_and_no_temp(tmp_path, monkeypatch):
    path = tmp_path / "m.npz"
    old = make_net(seed=1)
    save(old, path)
    before = path.read_bytes()
    calls = []

    def broken(zf, name, arr):
        calls.append(name)
        with zf.open(dio._zipinfo(name), "w") as m:
            m.write(b"\x93NUMPY partial")  # something already on disk when it fails
        raise OSError("disk full")

    monkeypatch.setattr(dio, "_write_array", broken)
    with pytest.raises(OSError, match="disk full"):
        save(make_net(seed=2), path)
    assert calls, "the patched writer was not reached"
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["m.npz"]
    np.testing.assert_array_equal(load(path).get_flat(), old.get_flat())


def test_failed_fsync_and_interrupt_leave_old_file(tmp_path, monkeypatch):
    path = tmp_path / "out.json"
    atomic_write_text(path, '{"old": true}')

    def no_fsync(fd):
        raise OSError("fsync failed")

    monkeypatch.setattr(os, "fsync", no_fsync)
    with pytest.raises(OSError, match="fsync failed"):
        atomic_write_bytes(path, b"new")
    monkeypatch.undo()
    with pytest.raises(KeyboardInterrupt):
        with atomic_open(path, "w") as f:
            f.write("half")
            raise KeyboardInterrupt
    assert path.read_text() == '{"old": true}'
    assert os.listdir(tmp_path) == ["out.json"]


def test_atomic_helpers_write_and_replace(tmp_path):
    path = tmp_path / "a.bin"
    assert atomic_write_bytes(path, b"one") == path
    atomic_write_bytes(path, b"two")
    assert path.read_bytes() == b"two"
    with atomic_open(tmp_path / "t.txt", "w") as f:
        f.write("héllo\n")
    assert (tmp_path / "t.txt").read_text(encoding="utf-8") == "héllo\n"
    # An exception in the body of a first write leaves nothing behind.
    with pytest.raises(RuntimeError):
        with atomic_open(tmp_path / "never.bin") as f:
            f.write(b"x")
            raise RuntimeError("boom")
    assert not (tmp_path / "never.bin").exists()
    assert sorted(os.listdir(tmp_path)) == ["a.bin", "t.txt"]
    # Permissions follow the umask like an ordinary file, not mkstemp's 0600.
    plain = tmp_path / "plain"
    plain.write_bytes(b"")
    assert (path.stat().st_mode & 0o777) == (plain.stat().st_mode & 0o777)
    with pytest.raises(ValueError, match="mode"):
        with atomic_open(tmp_path / "x", "a"):
            pass


def test_save_refuses_bad_arguments(tmp_path):
    net = make_net()
    with pytest.raises(TypeError, match="net"):
        save(object(), tmp_path / "x.npz")
    with pytest.raises(TypeError, match="extra"):
        save(net, tmp_path / "x.npz", extra=[1, 2])
    with pytest.raises(TypeError, match="extra"):
        save(net, tmp_path / "x.npz", extra={"obj": object()})
    with pytest.raises(TypeError, match="optimizer_state"):
        save(net, tmp_path / "x.npz", optimizer_state={"a": np.array([object()])})
    with pytest.raises(ValueError, match="__ndarray__"):
        save(net, tmp_path / "x.npz", extra={"x": {"__ndarray__": "W1"}})
    net.parameters[0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        save(net, tmp_path / "x.npz")
    assert os.listdir(tmp_path) == []


# ----------------------------------------------------------------------------- damaged files
@pytest.mark.parametrize("keep", [0.5, 0.9, "minus1", 40])
def test_truncated_file(model, keep):
    path, _ = model
    data = path.read_bytes()
    if keep == "minus1":
        n = len(data) - 1
    else:
        n = keep if isinstance(keep, int) else int(len(data) * keep)
    path.write_bytes(data[:n])
    expect_error(path, "truncated")


def test_empty_file(tmp_path):
    path = tmp_path / "empty.npz"
    path.write_bytes(b"")
    expect_error(path, "empty")


def test_random_bytes(tmp_path):
    path = tmp_path / "random.npz"
    path.write_bytes(np.random.default_rng(0).bytes(4096))
    expect_error(path, "not a deltaprop model")


def test_missing_and_directory_paths(tmp_path):
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "nope.npz")
    with pytest.raises(ModelFileError, match="is a directory"):
        load(tmp_path)


def test_bit_flip_in_array_data(model):
    path, net = model
    data = bytearray(path.read_bytes())
    at = bytes(data).find(net.weights[1].tobytes())
    assert at > 0
    data[at + 5] ^= 0x10
    path.write_bytes(bytes(data))
    expect_error(path, "checksum mismatch")


def test_consistent_tampering_caught_by_sha256(model):
    # The zip's own CRC-32s are valid here; only the metadata's SHA-256 sees the change.
    path, net = model
    W = net.weights[0].copy()
    W[0, 0] += 1e-12
    forge(path, arrays={"W1": W}, fix_checksum=False)
    expect_error(path, "checksum mismatch", "SHA-256")


@pytest.mark.parametrize(
    "where", ["central_signature", "local_signature", "member_name", "end_record"]
)
def test_bit_flip_in_zip_structure(model, where):
    path, _ = model
    data = bytearray(path.read_bytes())
    if where == "central_signature":
        at = data.find(b"PK\x01\x02")
    elif where == "local_signature":
        at = data.find(b"PK\x03\x04", 10)  # the second member's local header
    elif where == "member_name":
        at = data.find(b"b2.npy", data.find(b"PK\x01\x02"))  # name in the central directory
    else:
        at = data.find(b"PK\x05\x06")
    assert at > 0
    data[at + 1] ^= 0x01
    path.write_bytes(bytes(data))
    expect_error(path)


def test_wrong_version(model):
    path, _ = model
    forge(path, meta={"format_version": 2})
    message = expect_error(path, "format version 2", "version 1")
    assert "upgrade" in message
    forge(path, meta={"format_version": "1"})
    expect_error(path, "format_version", "integer")


def test_wrong_format_name(model):
    path, _ = model
    forge(path, meta={"format": "keras"})
    expect_error(path, "format", "not a deltaprop model")


@pytest.mark.parametrize(
    "name, array, fragments",
    [
        ("W1", np.zeros((6, 4)), ["W1", "shape (6, 4)", "expected (5, 4)"]),
        ("b2", np.zeros((3, 1)), ["b2", "shape"]),
        ("W2", np.zeros((3, 5), np.float32), ["W2", "dtype float32", "float64"]),
        ("b1", np.zeros(5, np.int64), ["b1", "dtype"]),
    ],
)
def test_wrong_shape_or_dtype(model, name, array, fragments):
    path, _ = model
    forge(path, arrays={name: array})
    expect_error(path, *fragments)


def test_missing_member(model):
    path, _ = model
    original = path.read_bytes()
    forge(path, drop=["b2.npy"])
    expect_error(path, "'b2.npy'", "missing")
    path.write_bytes(original)
    forge(path, drop=["optimizer.m.npy"])
    expect_error(path, "'optimizer.m.npy'", "missing")


def test_missing_metadata_and_unexpected_member(model, tmp_path):
    path, _ = model
    members = members_of(path)
    write_zip(path, {**members, "evil.npy": npy_bytes(np.zeros(2))})
    expect_error(path, "'evil.npy'", "unexpected")
    plain = tmp_path / "plain.npz"
    np.savez(plain, W1=np.zeros((2, 2)))
    expect_error(plain, "metadata.json", "missing")


def test_metadata_that_is_not_json_or_describes_nonsense(model):
    path, _ = model
    members = members_of(path)
    write_zip(path, {**members, "metadata.json": b"{not json"})
    expect_error(path, "metadata.json", "not valid JSON")
    meta = json.loads(members["metadata.json"])
    for bad, fragment in [
        ({"sizes": [4, -5, 3]}, "sizes"),
        ({"sizes": "4-5-3"}, "sizes"),
        ({"activations": ["tanh"]}, "activations"),
        ({"dtype": "int8"}, "dtype"),
        ({"activations": [{"name": "nope"}, "sigmoid"]}, "invalid network"),
        ({"checksum": "abc"}, "checksum"),
    ]:
        write_zip(path, {**members, "metadata.json": json.dumps({**meta, **bad}).encode()})
        expect_error(path, fragment)


def test_nonfinite_parameters_refused(model):
    path, _ = model
    W = np.zeros((3, 5))
    W[1, 1] = np.inf
    forge(path, arrays={"W2": W})
    expect_error(path, "W2", "NaN or infinity")


# ----------------------------------------------------------------------------- untrusted files
def test_payload_is_armed(tmp_path):
    # The object used below really does create its file when unpickled (so the tests can fail).
    target = tmp_path / "armed"
    pickle.loads(pickle.dumps(CreatesFile(target))).close()
    assert target.exists()


@pytest.mark.parametrize("protocol", [0, 2, pickle.HIGHEST_PROTOCOL])
def test_pickle_file_is_never_unpickled(tmp_path, protocol):
    target = tmp_path / "pwned"
    path = tmp_path / "model.npz"
    path.write_bytes(pickle.dumps(CreatesFile(target), protocol=protocol))
    message = expect_error(path, "not a deltaprop model")
    if protocol >= 2:
        assert "python pickle" in message.lower() and "never loaded" in message
    assert not target.exists()


def test_object_dtype_member_is_never_unpickled(model, tmp_path):
    path, _ = model
    original = path.read_bytes()
    target = tmp_path / "pwned"
    evil = np.empty(1, dtype=object)
    evil[0] = CreatesFile(target)
    forge(path, arrays={"W1": npy_bytes(evil, allow_pickle=True)}, fix_checksum=False)
    expect_error(path, "W1", "object dtype")
    path.write_bytes(original)
    forge(path, arrays={"optimizer.m": npy_bytes(evil, allow_pickle=True)}, fix_checksum=False)
    expect_error(path, "optimizer.m", "object dtype")
    assert not target.exists()
    # An npz of pickled objects (what np.savez writes for object arrays) is refused too.
    other = tmp_path / "objects.npz"
    np.savez(other, W1=evil)
    expect_error(other, "metadata.json")
    assert not target.exists()


def _forged_header(shape, descr="<f8", payload=b"\0" * 64, version=1):
    header = repr({"descr": descr, "fortran_order": False, "shape": shape}).encode("latin1")
    header += b" " * (63 - (len(header) + 10) % 64) + b"\n"
    length = len(header).to_bytes(2 if version == 1 else 4, "little")
    return b"\x93NUMPY" + bytes([version, 0]) + length + header + payload


def _peak_during(fn):
    tracemalloc.start()
    try:
        start = time.perf_counter()
        fn()
        return tracemalloc.get_traced_memory()[1], time.perf_counter() - start
    finally:
        tracemalloc.stop()


def _raises_model_error(path, *fragments):
    def run():
        with pytest.raises(ModelFileError) as info:
            load(path)
        problem = str(info.value)[len(str(path)) :]
        for fragment in fragments:
            assert fragment.lower() in problem.lower(), str(info.value)

    return run


@pytest.mark.parametrize(
    "name, shape, fragments",
    [
        ("optimizer.m", (10**12,), ["optimizer.m", "at most"]),
        ("optimizer.m", (2**40, 2**40), ["optimizer.m", "at most"]),
        ("W1", (10**6, 10**6), ["W1", "shape"]),
    ],
)
def test_forged_npy_header_with_huge_shape(model, name, shape, fragments):
    path, _ = model
    forge(path, arrays={name: _forged_header(shape)}, fix_checksum=False)
    peak, seconds = _peak_during(_raises_model_error(path, *fragments))
    assert peak < 2 * 2**20, f"peak {peak} bytes"
    assert seconds < 2


def test_forged_header_length_and_version(model):
    path, _ = model
    forged = b"\x93NUMPY\x02\x00" + (2**31).to_bytes(4, "little") + b"{}"
    forge(path, arrays={"optimizer.m": forged}, fix_checksum=False)
    expect_error(path, "optimizer.m", "header")
    forge(path, arrays={"optimizer.m": b"\x93NUMPY\x09\x00" + b"\0" * 80}, fix_checksum=False)
    expect_error(path, "optimizer.m", "version 9.0")
    forge(
        path, arrays={"optimizer.m": _forged_header((3,), descr=[("a", "<f8")])}, fix_checksum=False
    )
    expect_error(path, "optimizer.m", "dtype")


def test_forged_sizes_do_not_allocate(model):
    path, _ = model
    forge(path, meta={"sizes": [100_000, 100_000, 3]}, fix_checksum=False)
    peak, seconds = _peak_during(_raises_model_error(path, "parameters", "bytes"))
    assert peak < 2 * 2**20 and seconds < 2


def test_forged_member_sizes_do_not_allocate(model):
    # A deflated member declaring 64 MiB (a zip bomb in miniature) and an oversized metadata
    # member are refused from the zip directory alone, before anything is decompressed.
    path, _ = model
    members = members_of(path)
    zeros = b"\0" * 2**20
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            if name != "optimizer.m.npy":
                zf.writestr(name, data)
        with zf.open("optimizer.m.npy", "w") as m:
            m.write(_forged_header((8 * 2**20,), payload=b""))
            for _ in range(64):
                m.write(zeros)
    assert path.stat().st_size < 2**20
    peak, seconds = _peak_during(_raises_model_error(path, "optimizer.m.npy", "declares"))
    assert peak < 2 * 2**20 and seconds < 2

    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        with zf.open("metadata.json", "w") as m:
            m.write(b'{"format": "deltaprop-model", "pad": "')
            for _ in range(17):
                m.write(b" " * 2**20)
            m.write(b'"}')
    peak, seconds = _peak_during(_raises_model_error(path, "metadata.json", "declares"))
    assert peak < 2 * 2**20 and seconds < 2


# ----------------------------------------------------------------------------- fuzzing
_FUZZ_NET = make_net([3, 4, 2], ["tanh"], "sigmoid", seed=5)


@pytest.fixture(scope="module")
def valid_bytes(tmp_path_factory):
    path = tmp_path_factory.mktemp("fuzz") / "valid.npz"
    save(
        _FUZZ_NET,
        path,
        optimizer_state={"v": np.ones(_FUZZ_NET.num_parameters), "t": 1},
        extra={"epoch": 2},
    )
    return path.read_bytes()


@settings(
    max_examples=200, deadline=2000, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    flips=st.lists(st.tuples(st.integers(0, 10**6), st.integers(1, 255)), max_size=6),
    cut=st.one_of(st.none(), st.integers(0, 10**6)),
    insert=st.one_of(
        st.none(), st.tuples(st.integers(0, 10**6), st.binary(min_size=1, max_size=16))
    ),
)
def test_fuzz_mutated_model_files(tmp_path, valid_bytes, flips, cut, insert):
    data = bytearray(valid_bytes)
    for at, mask in flips:
        data[at % len(data)] ^= mask
    if insert is not None:
        at, chunk = insert
        data[at % len(data) : at % len(data)] = chunk
    if cut is not None:
        del data[cut % (len(data) + 1) :]
    path = tmp_path / "fuzzed.npz"
    path.write_bytes(bytes(data))
    try:
        net = load(path)
    except ModelFileError as exc:
        assert str(path) in str(exc)
        return
    # Whatever loads must carry exactly the saved parameters: any change to them is caught by
    # the CRC-32s or the SHA-256.
    np.testing.assert_array_equal(net.get_flat(), _FUZZ_NET.get_flat())


_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True)
    | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
_META_KEYS = [
    "format",
    "format_version",
    "sizes",
    "activations",
    "loss",
    "dtype",
    "seed",
    "init",
    "training_config",
    "history",
    "optimizer_state",
    "extra",
    "checksum",
]


@pytest.mark.slow
@settings(
    max_examples=150, deadline=2000, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(key=st.sampled_from(_META_KEYS), value=_JSON, data=st.data())
def test_fuzz_forged_metadata_values(tmp_path, valid_bytes, key, value, data):
    # Valid zip, valid CRCs, valid JSON: only the values are hostile, so every semantic check runs.
    path = tmp_path / "forged.npz"
    path.write_bytes(valid_bytes)
    members = members_of(path)
    meta = json.loads(members["metadata.json"])
    if data.draw(st.booleans()) and isinstance(meta.get(key), list) and meta[key]:
        meta[key][data.draw(st.integers(0, len(meta[key]) - 1))] = value
    else:
        meta[key] = value
    write_zip(path, {**members, "metadata.json": json.dumps(meta).encode()})
    try:
        net = load(path, return_state=True)[0]
    except ModelFileError as exc:
        assert str(path) in str(exc)
        return
    np.testing.assert_array_equal(net.get_flat(), _FUZZ_NET.get_flat())


def test_non_regular_file_and_missing_directory(tmp_path):
    if os.path.exists("/dev/null"):
        with pytest.raises(ModelFileError, match="character device"):
            load("/dev/null")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        save(make_net(), tmp_path / "no" / "such" / "m.npz")


def test_history_of_wrong_type_is_refused(model):
    path, _ = model
    forge(path, meta={"history": [1, 2, 3]})
    expect_error(path, "history")
