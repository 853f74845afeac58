"""The benchmark suite behind ``deltaprop bench``: its command line, data and report.

Nothing here asserts a time: the runs are tiny and only the report's structure and values that
do not depend on speed are checked.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from deltaprop import bench
from deltaprop._bench_systems import CONFIGS, TITLES, load_data
from deltaprop.datasets import DatasetError

MNIST_DIR = "/work/shared/datasets/mnist"
TINY = [
    "--quick",
    "--samples",
    "600",
    "--repeats",
    "1",
    "--configs",
    "1",
    "--systems",
    "deltaprop,book,bound",
    "--dataset",
    "random",
    "--threads",
    "1",
    "--book-fraction",
    "0.1",
]


# The package under test, found from any working directory (PYTHONPATH may be relative).
_PATH = os.pathsep.join(
    [str(Path(bench.__file__).resolve().parents[1])]
    + os.environ.get("PYTHONPATH", "").split(os.pathsep)
)


def _env(tmp_path=None):
    env = dict(os.environ, PYTHONPATH=_PATH, COLUMNS="100")
    if tmp_path is not None:
        # No MNIST anywhere: "auto" falls back to random data and nothing is downloaded.
        env.update(DELTAPROP_DATA=str(tmp_path / "nowhere"), XDG_CACHE_HOME=str(tmp_path / "cache"))
    return env


def _bench(*args, tmp_path):
    return subprocess.run(
        [sys.executable, "-m", "deltaprop", "bench", *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=_env(tmp_path),
        timeout=120,
    )


def test_a_quick_run_writes_its_report_and_prints_human_labels(tmp_path):
    out = tmp_path / "results"
    proc = _bench(*TINY, "--memory", "--seed", "3", "--out", str(out), tmp_path=tmp_path)
    assert proc.returncode == 0, proc.stderr
    report = json.loads((out / "bench-quick.json").read_text())
    meta, res = report["meta"], report["results"]["1"]
    assert meta["samples"] == 600 and meta["threads"] == 1 and meta["seed"] == 3
    assert meta["command"].startswith("python -m deltaprop bench --configs 1 ")
    assert "--seed 3" in meta["command"] and "--memory" in meta["command"]
    assert "random" in meta["data"]
    assert set(res["systems"]) == {"deltaprop", "book", "bound"}
    assert set(res["ratios"]) == {"book", "bound"}
    rates = {k: row["samples_per_s"] for k, row in res["systems"].items()}
    for name, row in res["systems"].items():
        assert len(row["times_s"]) == 1 and row["median_s"] == pytest.approx(
            row["times_s"][0], abs=1e-5
        )
        assert rates[name] == pytest.approx(row["samples_per_measurement"] / row["median_s"])
    assert res["systems"]["deltaprop"]["samples_per_measurement"] == 600
    # The book loop is timed on --book-fraction of the epoch: 0.1 · 600 = 6 batches of 10.
    assert res["systems"]["book"]["samples_per_measurement"] == 60
    assert res["ratios"]["bound"] == pytest.approx(rates["deltaprop"] / rates["bound"])
    # The memory probe (a separate process) saw the same data: 600 × 784 float32 and the labels.
    assert report["memory"]["X_bytes"] == 600 * 784 * 4
    assert report["memory"]["data_bytes"] == 600 * 784 * 4 + 600 * 8
    md = (out / "bench-quick.md").read_text()
    assert md in proc.stdout
    assert f"written: {out / 'bench-quick.json'}, {out / 'bench-quick.md'}" in proc.stdout
    head = next(line for line in md.splitlines() if line.startswith("| configuration | deltaprop"))
    assert head.split(" | ")[1:6] == [TITLES[s] for s in bench.SYSTEMS]
    # Tables and notes name configurations and systems in words, never by their keys.
    assert f"| {CONFIGS['1']['short']} | " in md and "\n| 1 |" not in md
    assert "issue" not in md.lower()
    assert "- (1) [784,30,10] sigmoid, batch 10 / matmul bound: np.matmul" in md
    for key in ("pytorch", "sklearn", "bound:"):
        assert key not in proc.stdout.replace("matmul bound:", "")


def test_json_prints_one_object_and_nothing_else(tmp_path):
    proc = _bench(
        *TINY, "--systems", "deltaprop,pytorch,sklearn", "--json", "--out", "", tmp_path=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)  # the whole of stdout is one JSON object
    assert proc.stdout.count("\n") == 1
    res = report["results"]["1"]
    assert set(res["systems"]) | set(res["skipped"]) == {"deltaprop", "pytorch", "sklearn"}
    assert report["memory"] is None  # --quick: no memory probe
    assert os.listdir(tmp_path) == ["cache"] or os.listdir(tmp_path) == []


def test_help_lists_the_options():
    proc = subprocess.run(
        [sys.executable, "-m", "deltaprop", "bench", "--help"],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=120,
    )
    assert proc.returncode == 0
    for option in (
        "--data-dir",
        "--dataset",
        "--seed",
        "--json",
        "--out",
        "--quick",
        "--configs",
        "--systems",
        "--repeats",
        "--threads",
        "--memory / --no-memory",
    ):
        assert option in proc.stdout, option
    assert "--mnist-dir" not in proc.stdout and "--data " not in proc.stdout


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--data-dir", "{tmp}/missing"], "Invalid value for '--data-dir'"),
        (["--configs", "1,7"], "'7' given; expected configurations among 1, 2, 3, 2d"),
        (["--systems", "tensorflow"], "expected systems among deltaprop, pytorch"),
        (["--repeats", "0"], "Invalid value for '--repeats'"),
        (["--dataset", "cifar"], "Invalid value for '--dataset'"),
        (["--out", "{tmp}/file"], "is a file; expected a directory"),
        (["--mnist-dir", "{tmp}/missing"], "Invalid value for '--mnist-dir'"),
    ],
)
def test_bad_options_give_one_line_and_exit_2(tmp_path, args, fragment):
    (tmp_path / "file").write_text("")
    proc = _bench(*[a.replace("{tmp}", str(tmp_path)) for a in args], tmp_path=tmp_path)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and fragment in lines[0], lines
    assert "Traceback" not in proc.stderr
    assert "(see `deltaprop bench --help`)" in lines[0] or "--out" in args


def test_benchmarks_run_py_works(tmp_path):
    script = os.path.join(os.path.dirname(__file__), "..", "benchmarks", "run.py")
    proc = subprocess.run(
        [sys.executable, script, "--help"], capture_output=True, text=True, env=_env(), timeout=120
    )
    assert proc.returncode == 0 and "Usage: python benchmarks/run.py [OPTIONS]" in proc.stdout
    assert "--data-dir" in proc.stdout
    proc = subprocess.run(
        [sys.executable, script, *TINY, "--systems", "deltaprop", "--out", str(tmp_path), "-q"],
        capture_output=True,
        text=True,
        env=_env(tmp_path),
        timeout=120,
    )
    assert proc.returncode == 0 and proc.stdout == "", proc.stderr
    report = json.loads((tmp_path / "bench-quick.json").read_text())
    assert report["meta"]["command"].startswith("python benchmarks/run.py --configs 1")
    proc = subprocess.run(
        [sys.executable, script, "--data-dir", str(tmp_path / "missing")],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=120,
    )
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    assert "(see `python benchmarks/run.py --help`)" in proc.stderr


def test_main_maps_errors_like_the_command(capsys, tmp_path):
    assert bench.main(["--help"]) == 0
    assert "Usage: deltaprop bench" in capsys.readouterr().out
    assert bench.main(["--threads", "0"]) == 2
    assert capsys.readouterr().err.startswith("error: Invalid value for '--threads'")
    (tmp_path / "f").write_text("")
    assert bench.main(["--out", str(tmp_path / "f")]) == 2
    assert "is a file" in capsys.readouterr().err


def test_old_mnist_dir_spelling_still_works_with_a_warning(capsys, tmp_path):
    (tmp_path / "f").write_text("")
    args = ["--mnist-dir", str(tmp_path), "--dataset", "random", "--out", str(tmp_path / "f")]
    assert bench.main(args) == 2  # --out is a file: refused before the run
    err = capsys.readouterr().err
    assert "warning: --mnist-dir is deprecated; use --data-dir" in err


def test_data_is_not_a_bench_option(capsys):
    # `train --data FILE` reads a user's file; the bench has no option of that name.
    assert bench.main(["--data", "random"]) == 2
    assert "No such option '--data'" in capsys.readouterr().err


# ---------------------------------------------------------------------- data
@pytest.fixture
def no_mnist(tmp_path, monkeypatch):
    import deltaprop.datasets.mnist as mnist

    monkeypatch.setenv("DELTAPROP_DATA", str(tmp_path / "nowhere"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))

    def offline(url, timeout):
        raise OSError("no network in the tests")

    monkeypatch.setattr(mnist, "_urlopen", offline)
    return tmp_path


def test_auto_falls_back_to_random_data_and_says_why(no_mnist):
    X, y, description, note = load_data("auto", n=50, seed=1)
    assert X.shape == (50, 784) and X.dtype == np.float32 and y.shape == (50,)
    assert 0 <= X.min() and X.max() < 1 and set(np.unique(y)) <= set(range(10))
    assert "random" in description and "not found" in description
    assert "MNIST files not found locally" in note and "--data-dir" in note
    X2, y2, _, _ = load_data("random", n=50, seed=1)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)


def test_a_directory_without_mnist_is_an_error_not_a_fallback(no_mnist):
    (no_mnist / "empty").mkdir()
    with pytest.raises(DatasetError, match="MNIST files not found"):
        load_data("auto", data_dir=no_mnist / "empty", n=50)
    with pytest.raises(DatasetError, match="MNIST files not found"):
        load_data("mnist", n=50)


@pytest.mark.skipif(not os.path.isdir(MNIST_DIR), reason="MNIST files not available")
def test_mnist_is_read_by_the_datasets_reader():
    from deltaprop.datasets import read_idx

    X, y, description, note = load_data("auto", data_dir=MNIST_DIR, n=100)
    assert note is None and description == f"MNIST training set ({MNIST_DIR})"
    assert X.shape == (100, 784) and X.dtype == np.float32 and y.dtype == np.int64
    images = read_idx(os.path.join(MNIST_DIR, "train-images-idx3-ubyte.gz"))[:100]
    labels = read_idx(os.path.join(MNIST_DIR, "train-labels-idx1-ubyte.gz"))[:100]
    np.testing.assert_allclose(X, images.reshape(100, 784) / 255, rtol=1e-6)
    np.testing.assert_array_equal(y, labels)
