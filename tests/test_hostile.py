"""Hostile and broken files: special files, forged sizes, bad labels, stale temporaries.

One test per finding of the second robustness round (outputs and inputs the library owns).
"""

from __future__ import annotations

import json
import os
import stat
import time
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest

from conftest import rewrite_metadata
from deltaprop import Network, explain, io
from deltaprop._atomic import atomic_write_bytes, check_output_path
from deltaprop._validation import DeltapropError
from deltaprop.datasets import (
    DatasetError,
    load_csv,
    load_npy,
    load_npz,
    read_idx,
    save_npz,
    write_idx,
)
from deltaprop.examples import builtin_example_path, load_example

SRC = str(Path(__file__).resolve().parents[1] / "src")
MAZUR = json.loads(builtin_example_path("mazur").read_text())


def _net():
    return Network([2, 3, 2], seed=0)


def _special_files(tmp_path):
    """(kind, path) for a FIFO, a character device, a symlink to a FIFO, a directory."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    link = tmp_path / "link"
    link.symlink_to(fifo)
    (tmp_path / "dir").mkdir()
    return [
        ("FIFO", str(fifo)),
        ("character device", "/dev/null"),
        ("FIFO", str(link)),  # a link is followed for reading; its target is judged
        ("directory", str(tmp_path / "dir")),
    ]


READERS = {
    "model": lambda p: io.load(p),
    "checkpoint": lambda p: io.load(p, return_state=True),
    "metadata": io.read_metadata,
    "csv": lambda p: load_csv(p, target="y"),
    "npz": load_npz,
    "npy": load_npy,
    "idx": read_idx,
    "example": load_example,
}


# ---------------------------------------------------------------- item 11: special inputs
@pytest.mark.parametrize("reader", READERS)
def test_every_reader_refuses_special_files_without_blocking(tmp_path, reader):
    for kind, path in _special_files(tmp_path):
        with pytest.raises(ValueError) as info:
            READERS[reader](path)  # a FIFO would block forever if opened
        message = str(info.value)
        assert kind in message and path in message and "\n" not in message, message


# ---------------------------------------------------------------- items 1, 2, 10: writes
@pytest.mark.parametrize(
    "write",
    [
        lambda p: io.save(_net(), p),
        lambda p: atomic_write_bytes(p, b"x"),
        lambda p: save_npz(p, np.zeros((2, 2)), np.zeros(2, int)),
        lambda p: write_idx(p, np.zeros(3, np.uint8)),
    ],
    ids=["model", "bytes", "npz", "idx"],
)
def test_writes_refuse_special_files_and_leave_them_alone(tmp_path, write):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    target = tmp_path / "target"
    target.write_bytes(b"keep")
    link = tmp_path / "link"
    link.symlink_to(target)
    (tmp_path / "dir").mkdir()
    cases = [("FIFO", fifo), ("symbolic link", link), ("directory", tmp_path / "dir")]
    for kind, path in cases:
        with pytest.raises(DeltapropError, match=kind):
            write(path)
    with pytest.raises(DeltapropError, match="character device"):
        write("/dev/null")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and os.path.islink(link)
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    assert target.read_bytes() == b"keep"
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_check_output_path_names_option_path_and_kind(tmp_path):
    os.mkfifo(tmp_path / "f")
    with pytest.raises(DeltapropError) as info:
        check_output_path(tmp_path / "f", "--out")
    assert str(info.value).startswith(f"cannot write --out '{tmp_path / 'f'}': it is a FIFO")
    assert check_output_path(tmp_path / "new.npz", "--out") == str(tmp_path / "new.npz")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        check_output_path(tmp_path / "no" / "x.npz", "--out")


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o755])
def test_overwrite_keeps_the_targets_mode(tmp_path, mode):
    path = tmp_path / "m.npz"
    io.save(_net(), path)
    os.chmod(path, mode)
    io.save(_net(), path)
    assert stat.S_IMODE(os.stat(path).st_mode) == mode


def test_read_only_target_is_refused(tmp_path):
    path = tmp_path / "m.npz"
    path.write_bytes(b"old")
    os.chmod(path, 0o444)
    with pytest.raises(DeltapropError, match="read-only"):
        io.save(_net(), path)  # refused even as root, who could write it anyway
    assert path.read_bytes() == b"old"


def test_stale_temporaries_of_the_same_target_are_removed(tmp_path):
    dead = tmp_path / ".m.npz.999999999-0123456789ab.tmp"  # pid beyond pid_max: dead
    old = tmp_path / ".m.npz.0123456789ab.tmp"  # old-style name, two hours old
    live = tmp_path / f".m.npz.{os.getppid()}-aaaaaaaaaaaa.tmp"  # a live writer's file
    fresh_dead = tmp_path / ".m.npz.999999998-bbbbbbbbbbbb.tmp"  # maybe another machine's
    other = tmp_path / ".other.npz.999999999-0123456789ab.tmp"  # another target's
    for p in (dead, old, live, fresh_dead, other):
        p.write_bytes(b"partial")
    hours_ago = time.time() - 7200
    for p in (dead, old, other):
        os.utime(p, (hours_ago, hours_ago))
    os.utime(dead, (time.time() - 120, time.time() - 120))
    io.save(_net(), tmp_path / "m.npz")
    assert not dead.exists() and not old.exists()
    assert live.exists() and fresh_dead.exists() and other.exists()


# ---------------------------------------------------------------- items 12-15: sizes, headers
def test_npz_member_without_npy_suffix_is_refused_before_reading(tmp_path):
    path = tmp_path / "d.npz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("X", b"\0" * 10_000_000)  # 10 MB that would be read whole
        zf.writestr("y.npy", b"")
    tracemalloc.start()
    with pytest.raises(DatasetError, match="'X' is not a .npy array"):
        load_npz(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 2_000_000


def test_npz_forged_huge_declared_size_is_one_line(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, X=np.zeros((2, 2)), y=np.zeros(2))
    raw = path.read_bytes().replace(b"(2, 2)", b"(2**40,)"[:6])
    path.write_bytes(raw)
    with pytest.raises(DatasetError) as info:
        load_npz(path)
    assert "\n" not in str(info.value)


def _npy_bytes(arr):
    import io as stdio

    buf = stdio.BytesIO()
    np.save(buf, arr)
    return buf.getvalue()


def test_npy_header_that_breaks_the_tokenizer_is_one_line(tmp_path):
    raw = bytearray(_npy_bytes(np.zeros((2, 2))))
    raw[raw.index(b"{") + 1] = ord("(")  # unbalanced bracket: tokenize.TokenError in numpy
    (tmp_path / "bad.npy").write_bytes(bytes(raw))
    with pytest.raises(DatasetError, match="not a valid .npy array"):
        load_npy(tmp_path / "bad.npy")
    with zipfile.ZipFile(tmp_path / "bad.npz", "w") as zf:
        zf.writestr("X.npy", bytes(raw))
        zf.writestr("y.npy", _npy_bytes(np.zeros(2)))
    with pytest.raises(DatasetError, match="not a valid .npy array"):
        load_npz(tmp_path / "bad.npz")


# ---------------------------------------------------------------- item 16: .npy inputs
def test_npy_declaring_a_huge_shape_and_an_empty_npy(tmp_path):
    raw = _npy_bytes(np.zeros((1, 2))).replace(b"(1, 2)", b"(100000000000, 2)")
    (tmp_path / "huge.npy").write_bytes(raw)
    with pytest.raises(DatasetError, match="beyond max_bytes"):
        load_npy(tmp_path / "huge.npy")
    np.save(tmp_path / "empty.npy", np.zeros((0, 2)))
    with pytest.raises(DatasetError, match="is empty"):
        load_npy(tmp_path / "empty.npy")
    np.save(tmp_path / "ok.npy", np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(load_npy(tmp_path / "ok.npy"), np.arange(6.0).reshape(2, 3))


# ---------------------------------------------------------------- item 20: CSV targets
def _csv(tmp_path, labels):
    path = tmp_path / "t.csv"
    path.write_text("a,y\n" + "".join(f"{i},{v}\n" for i, v in enumerate(labels)))
    return path


def test_nan_targets_are_an_error_naming_the_rows(tmp_path):
    with pytest.raises(DatasetError, match=r"2 NaN target value\(s\) \(line 3.*; line 5"):
        load_csv(_csv(tmp_path, ["0", "NaN", "1", "nan"]), target="y")


def test_numeric_labels_compare_as_numbers(tmp_path):
    data = load_csv(_csv(tmp_path, ["1", "1.0", "0", "0.0"]), target="y")
    assert data.y.tolist() == [1, 1, 0, 0] and data.classes is None
    data = load_csv(_csv(tmp_path, ["1", "1.0", "cat"]), target="y")
    assert data.y.tolist() == [0, 0, 1] and data.classes.tolist() == ["1", "cat"]


@pytest.mark.parametrize("labels", [["0", "1e3"], ["0", "20000000"]])
def test_labels_with_huge_gaps_are_labels_by_value(tmp_path, labels):
    data = load_csv(_csv(tmp_path, labels), target="y")
    assert data.y.tolist() == [0, 1] and len(data.classes) == 2


# ---------------------------------------------------------------- item 22: CSV memory
def test_csv_peak_memory_stays_near_the_data(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40_000, 6)).round(5)
    path = tmp_path / "big.csv"
    lines = "\n".join(",".join(f"{v:.5f}" for v in row) + f",{i % 3}" for i, row in enumerate(X))
    path.write_text("a,b,c,d,e,f,y\n" + lines + "\n")
    tracemalloc.start()
    data = load_csv(path, target="y")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    np.testing.assert_allclose(data.X, X)
    # the whole-file reader held every row as Python strings: about 11 times the file
    assert peak < 4 * path.stat().st_size, (peak, path.stat().st_size)


# ---------------------------------------------------------------- item 19: network memory
def test_network_beyond_available_memory_is_refused_before_allocating():
    with pytest.raises(DeltapropError, match=r"need about [\d.]+ GiB but this process may use"):
        Network([3, 10**9])


def test_network_beyond_the_address_space_limit_is_refused(tmp_path):
    import subprocess
    import sys

    code = (
        "import resource; resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))\n"
        "from deltaprop import Network\n"
        "try:\n    Network([64, 3_000_000, 10])\n"
        "except ValueError as e:\n    print(e)\n"
    )
    env = dict(os.environ, PYTHONPATH=SRC)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env
    )
    assert "RLIMIT_AS" in out.stdout, out.stdout + out.stderr


# ---------------------------------------------------------------- item 18: explain
def test_example_nested_deeply_or_with_huge_integers_is_one_line(tmp_path):
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(DeltapropError, match="nested too deeply"):
        load_example(deep)
    digits = tmp_path / "digits.json"
    digits.write_text('{"input": ' + "7" * 5000 + "}")
    with pytest.raises(DeltapropError, match="thousands of digits") as info:
        load_example(digits)
    assert "sys.set_int_max_str_digits" not in str(info.value)
    spec = dict(MAZUR, input=[[[[0.5]]]] * 2)
    with pytest.raises(DeltapropError, match="nested"):
        load_example(spec)
    spec = dict(MAZUR, input=[0.05, json.loads("[" * 900 + "1" + "]" * 900)])
    with pytest.raises(DeltapropError, match="nested"):
        load_example(spec)


@pytest.mark.parametrize(
    "change",
    [
        {"weights": [[[1e308, 1e308], [1e308, 1e308]], [[1e308, 1e308], [1e308, 1e308]]]},
        {"input": [1.7e308, 1.7e308]},
    ],
)
def test_explain_overflow_is_a_clear_error(change):
    import importlib

    ex = load_example(dict(MAZUR, **change))
    explain_module = importlib.import_module("deltaprop.explain")
    try:
        trace = explain_module.explain(ex.net, ex.x, ex.y, ex.lr)
    except DeltapropError as exc:
        assert "overflows" in str(exc)
    else:
        explain_module.render(trace)


def test_gradient_table_honours_max_parameters():
    import importlib

    explain_module = importlib.import_module("deltaprop.explain")
    net = Network([20, 200, 10], seed=0)
    with pytest.raises(DeltapropError, match="max_parameters=2000"):
        explain_module.gradient_table(net, np.zeros(20), np.zeros(10))
    assert explain is not None


# ---------------------------------------------------------------- item 17: metadata schema
@pytest.mark.parametrize(
    "change, match",
    [
        (lambda m: m["history"].__setitem__("epoch", {"a": 1}), "history.epoch"),
        (lambda m: m["history"].__setitem__("cost", 5), "history.cost"),
        (lambda m: m["history"].__setitem__("stop_reason", [1]), "history.stop_reason"),
        (lambda m: m.__setitem__("optimizer_state", None), "without optimizer state"),
        (lambda m: m["extra"].pop("rng"), "extra.rng"),
        (lambda m: m["extra"].__setitem__("epoch", "1"), "extra.epoch"),
    ],
)
def test_metadata_schema_is_checked_and_names_the_file(tmp_path, change, match):
    net = _net()
    net.history = {"epoch": [1], "cost": [0.5], "stop_reason": "completed"}
    extra = {"checkpoint": True, "epoch": 1, "rng": {"bit_generator": "PCG64"}}
    io.save(net, tmp_path / "c.npz", optimizer_state={"t": 1}, extra=extra)
    io.load(tmp_path / "c.npz", return_state=True)
    rewrite_metadata(tmp_path / "c.npz", tmp_path / "bad.npz", change)
    with pytest.raises(io.ModelFileError, match=match) as info:
        io.load(tmp_path / "bad.npz", return_state=True)
    assert str(info.value).startswith(str(tmp_path / "bad.npz"))


def test_model_file_declaring_more_than_memory_allows_is_refused_before_decompressing(tmp_path):
    # A 1 MB deflated file whose metadata describe a network far beyond the address-space
    # limit: refused from the metadata alone, in a child process under RLIMIT_AS.
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent(
        f"""
        import json, os, resource, zipfile, zlib
        import numpy as np
        import deltaprop as dp
        from deltaprop import io as dio
        net = dp.Network([4, 3, 2], seed=0)
        path = {str(tmp_path / "bomb.npz")!r}
        net.save(path)
        # rewrite the metadata to declare a 20000 x 10000 first layer (800 MB of float32):
        # within what a 1 MB deflated file may hold, beyond the limit set below
        with zipfile.ZipFile(path) as zf:
            meta = json.loads(zf.read("metadata.json"))
        meta["sizes"] = [20000, 10000, 2]
        meta["dtype"] = "float32"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("metadata.json", json.dumps(meta))
            zf.writestr("W1.npy", os.urandom(1 << 20))  # incompressible: the file is 1 MB
        with open("/proc/self/status") as f:
            vm = [int(l.split()[1]) * 1024 for l in f if l.startswith("VmSize:")][0]
        resource.setrlimit(resource.RLIMIT_AS, (vm + (512 << 20), vm + (512 << 20)))
        try:
            dp.load(path)
        except dp.ModelFileError as exc:
            print("refused:", exc)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "refused:" in out.stdout and "bomb.npz" in out.stdout
    assert "address-space limit" in out.stdout
