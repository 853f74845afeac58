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
from deltaprop._bench_systems import CONFIGS, load_data
from deltaprop.datasets import DatasetError

MNIST_DIR = "/work/shared/datasets/mnist"
TINY = [
    "--quick",
    "--samples",
    "600",
    "--rounds",
    "2",
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
    assert meta["rounds"] == 2
    assert meta["command"].startswith("python -m deltaprop bench --configs 1 ")
    assert "--seed 3" in meta["command"] and "--memory" in meta["command"]
    assert "random" in meta["data"]
    assert set(res["systems"]) == {"deltaprop", "book", "bound"}
    assert set(res["comparisons"]) == set(res["ratios"]) == {"book", "bound"}
    for name, comp in res["comparisons"].items():
        rounds = comp["detail"]
        # Each round: both systems back to back, the order alternating.
        assert [r["order"] for r in rounds] == [["deltaprop", name], [name, "deltaprop"]]
        ratios = []
        for r in rounds:
            dp, other = r["results"]["deltaprop"], r["results"][name]
            assert dp["samples"] == 600  # a whole epoch, in its own process
            ratio = (dp["samples"] / dp["seconds"]) / (other["samples"] / other["seconds"])
            assert r["ratios"]["samples_per_s"] == pytest.approx(ratio)
            ratios.append(ratio)
            assert r["wall_s"] > dp["seconds"] + other["seconds"]
            assert r["others_cpu_s"] is None or r["others_cpu_s"] >= 0
        summary = comp["ratios"]["samples_per_s"]
        assert summary["median"] == pytest.approx(sum(ratios) / 2)  # two rounds
        assert (summary["min"], summary["max"], summary["n"]) == (min(ratios), max(ratios), 2)
        assert res["ratios"][name] == summary["median"]
        assert len(comp["others_cores"]) == 2
    # The book loop is timed on --book-fraction of the epoch: 0.1 · 600 = 6 batches of 10.
    assert res["comparisons"]["book"]["detail"][0]["results"]["book"]["samples"] == 60
    # Against the bound, the batch loop's fraction is paired too.
    bound = res["comparisons"]["bound"]["detail"][0]
    dp = bound["results"]["deltaprop"]
    assert bound["ratios"]["loop_samples_per_s"] == pytest.approx(
        (dp["samples"] / dp["loop_s"]) / bound["rates"]["bound"]["samples_per_s"]
    )
    # The memory probe (a separate process) saw the same data: 600 × 784 float32 and the labels.
    assert report["memory"]["X_bytes"] == 600 * 784 * 4
    assert report["memory"]["data_bytes"] == 600 * 784 * 4 + 600 * 8
    md = (out / "bench-quick.md").read_text()
    assert md in proc.stdout
    assert f"written: {out / 'bench-quick.json'}, {out / 'bench-quick.md'}" in proc.stdout
    book = res["comparisons"]["book"]
    r = book["ratios"]["samples_per_s"]
    assert (
        f"| {CONFIGS['1']['short']} | book loop | {r['median']:.2f} | {r['min']:.2f}–"
        f"{r['max']:.2f} | 2 | {book['rates']['deltaprop']['samples_per_s']:,.0f} | "
    ) in md
    assert "| (1) [784,30,10] sigmoid, batch 10 | matmul bound (batch loop) | ≥ 0.6 |" in md
    # Tables and notes name configurations and systems in words, never by their keys.
    assert "\n| 1 |" not in md and "issue" not in md.lower()
    assert "- (1) [784,30,10] sigmoid, batch 10 / matmul bound: np.matmul" in md
    assert "/ deltaprop: Network.fit with its defaults" in md
    for key in ("pytorch", "sklearn", "bound:"):
        assert key not in proc.stdout.replace("matmul bound:", "")


def test_json_prints_one_object_and_nothing_else(tmp_path):
    proc = _bench(
        *TINY, "--systems", "bound", "--rounds", "1", "--json", "--out", "", tmp_path=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)  # the whole of stdout is one JSON object
    assert proc.stdout.count("\n") == 1
    res = report["results"]["1"]
    # deltaprop is always measured: every other system is paired with it.
    assert set(res["systems"]) == {"deltaprop", "bound"} and res["skipped"] == {}
    assert report["memory"] is None and report["race"] is None  # --quick: no memory probe
    assert report["inference"] is None
    assert os.listdir(tmp_path) == ["cache"] or os.listdir(tmp_path) == []


def test_the_race_and_inference_through_the_command(tmp_path):
    # A toy target on random data: 1% test accuracy is reached after the first epoch.
    args = ["--quick", "--configs", "none", "--race", "--inference", "--race-target", "0.01"]
    args += ["--race-epochs", "3", "--race-rounds", "1", "--rounds", "1", "--samples", "600"]
    args += ["--dataset", "random", "--threads", "1", "--systems", "deltaprop"]
    proc = _bench(*args, "--out", str(tmp_path), tmp_path=tmp_path)
    assert proc.returncode == 0, proc.stderr
    report = json.loads((tmp_path / "bench-quick.json").read_text())
    assert report["results"] == {} and report["targets"] == []
    race, inf = report["race"], report["inference"]
    row = race["systems"]["deltaprop"]
    assert row["reached"] == [True] and row["epochs"] == [1] and row["accuracy"][0] >= 0.01
    detail = race["comparison"]["detail"][0]["results"]["deltaprop"]
    assert detail["seconds"] == detail["epoch_end_seconds"][0] > 0
    assert inf["batches"] == [1, 1024] and inf["calls"] == {"1": 1000, "1024": 10}
    rates = inf["comparison"]["rates"]["deltaprop"]
    assert rates["1"] > 0 and rates["1024"] > 0
    md = (tmp_path / "bench-quick.md").read_text()
    assert "Time to 1% test accuracy" in md and "| deltaprop | " in md
    assert f"| 1,024 | {rates['1024']:,.0f} | — | — | — |" in md


def test_the_race_pairs_the_times_to_the_target(monkeypatch):
    times = iter([10.0, 20.0, 30.0, 15.0])  # round 1: deltaprop, PyTorch; round 2 reversed

    def run(spec):
        t = next(times)
        return {"reached": True, "epochs": 2, "seconds": t, "accuracy": 0.99, "note": "n"}

    monkeypatch.setattr(bench, "why_not", lambda name, cfg: None)
    settings = bench.Settings(systems=["deltaprop", "pytorch"], race_rounds=2)
    race = bench.run_race(run, settings, log=lambda msg: None)
    assert race["systems"]["deltaprop"]["seconds_median"] == 12.5  # 10 and 15
    assert race["systems"]["pytorch"]["seconds_median"] == 25.0  # 20 and 30
    ratio = race["comparison"]["ratios"]["speed"]
    assert (ratio["median"], ratio["min"], ratio["max"]) == (pytest.approx(2.0), 2.0, 2.0)
    rows = bench.targets({}, race)
    assert rows[0]["config"] == "race" and rows[0]["met"]


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
        "--rounds",
        "--threads",
        "--memory / --no-memory",
        "--race",
        "--race-target",
        "--race-epochs",
        "--race-rounds",
        "--inference",
    ):
        assert option in proc.stdout, option
    assert "--mnist-dir" not in proc.stdout and "--data " not in proc.stdout
    assert "--repeats" not in proc.stdout  # the old spelling of --rounds still works, hidden


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--data-dir", "{tmp}/missing"], "Invalid value for '--data-dir'"),
        (["--configs", "1,7"], "'7' given; expected configurations among 1, 2, 3, 2d"),
        (["--systems", "tensorflow"], "expected systems among deltaprop, pytorch"),
        (["--rounds", "0"], "Invalid value for '--rounds'"),
        (["--configs", ""], "nothing given; expected configurations among 1, 2, 3, 2d, "),
        (["--race-target", "1.5"], "Invalid value for '--race-target'"),
        (["--configs", "none"], "--configs none measures nothing without --race or --inference"),
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
        [
            sys.executable,
            script,
            *TINY,
            "--systems",
            "deltaprop",
            "--rounds",
            "1",
            "--out",
            str(tmp_path),
            "-q",
        ],  # fmt: skip
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
    assert bench.main(["--repeats", "2", "--out", str(tmp_path / "f")]) == 2
    assert "warning: --repeats is deprecated; use --rounds" in capsys.readouterr().err


def test_data_is_not_a_bench_option(capsys):
    # `train --data FILE` reads a user's file; the bench has no option of that name.
    assert bench.main(["--data", "random"]) == 2
    assert "No such option '--data'" in capsys.readouterr().err


# ---------------------------------------------------------------------- paired rounds
def _fake_runner(seconds, calls, skip=()):
    """A runner that answers from `seconds` (system -> list, used in turn), recording calls."""
    used = {}

    def run(spec):
        name = spec["system"]
        calls.append(name)
        if name in skip:
            return {"skipped": f"{name} is not here"}
        k = used[name] = used.get(name, -1) + 1
        t = seconds[name][k % len(seconds[name])]
        out = {"seconds": t, "samples": 100, "cpu_s": t, "note": f"{name} note"}
        if name == "deltaprop":
            out["loop_s"] = t / 2
        return out

    return run


def test_a_comparison_is_the_median_of_ratios_taken_within_rounds():
    calls = []
    # Rounds of (deltaprop, bound): 1 s vs 2 s, 2 s vs 2 s, 0.5 s vs 2 s -> ratios 2, 1, 4.
    run = _fake_runner({"deltaprop": [1.0, 2.0, 0.5], "bound": [2.0]}, calls)
    settings = bench.Settings(systems=["deltaprop", "bound"], rounds=3)
    res = bench.run_config("2", run, settings, log=lambda msg: None)
    assert calls == ["deltaprop", "bound", "bound", "deltaprop", "deltaprop", "bound"]
    comp = res["comparisons"]["bound"]
    assert [r["order"][0] for r in comp["detail"]] == ["deltaprop", "bound", "deltaprop"]
    assert [r["ratios"]["samples_per_s"] for r in comp["detail"]] == [2.0, 1.0, 4.0]
    assert comp["ratios"]["samples_per_s"] == {"median": 2.0, "min": 1.0, "max": 4.0, "n": 3}
    # The batch loop took half of each fit call: twice the rate, twice the fraction of the bound.
    assert comp["ratios"]["loop_samples_per_s"]["median"] == 4.0
    assert comp["rates"]["deltaprop"]["samples_per_s"] == 100.0  # median of 100, 50, 200
    assert comp["rates"]["bound"]["samples_per_s"] == 50.0
    assert res["ratios"] == {"bound": 2.0}
    assert res["systems"]["deltaprop"]["batch_loop_samples_per_s"] == 200.0
    assert res["systems"]["bound"]["note"] == "bound note"
    assert len(comp["others_cores"]) == len(comp["wall_s"]) == 3
    # book does not apply to configuration (2): no runner is started for it.
    calls.clear()
    res = bench.run_config("2", run, bench.Settings(systems=["deltaprop", "book"], rounds=1), print)
    assert "sigmoid + quadratic only" in res["skipped"]["book"]
    assert calls == ["deltaprop"] and set(res["systems"]) == {"deltaprop"}  # measured alone


def test_a_system_whose_runner_says_skipped_is_reported_skipped(capsys):
    calls = []
    run = _fake_runner({"deltaprop": [1.0]}, calls, skip=("bound",))
    res = bench.run_config(
        "1", run, bench.Settings(systems=["deltaprop", "bound"], rounds=3), print
    )
    assert res["skipped"] == {"bound": "bound is not here"} and res["comparisons"] == {}
    assert "matmul bound: skipped, bound is not here" in capsys.readouterr().out


def test_a_missing_package_is_named_without_importing_it(monkeypatch):
    import importlib.util as iu

    from deltaprop._bench_systems import why_not

    real = iu.find_spec
    monkeypatch.setattr(iu, "find_spec", lambda name, *a: None if name == "jax" else real(name))
    assert why_not("jax", CONFIGS["2"]) == "not installed (pip install jax)"
    assert why_not("bound", CONFIGS["2"]) is None


def test_targets_are_met_or_missed_by_the_median():
    from deltaprop._bench_report import targets

    def comp(median, metric="samples_per_s"):
        return {"ratios": {metric: {"median": median, "min": 0.5, "max": 2.0, "n": 3}}}

    results = {
        "2": {"comparisons": {"pytorch": comp(1.3), "jax": comp(0.89)}},
        "3": {"comparisons": {"bound": comp(0.9, "loop_samples_per_s")}},
    }
    race = {"comparison": {"ratios": {"speed": {"median": 1.0, "min": 1, "max": 1, "n": 1}}}}
    rows = {(r["config"], r["system"]): r for r in targets(results, race)}
    assert set(rows) == {("2", "pytorch"), ("2", "jax"), ("3", "bound"), ("race", "pytorch")}
    assert rows["2", "pytorch"]["met"] and not rows["2", "jax"]["met"]
    assert rows["3", "bound"]["met"] and rows["3", "bound"]["target"] == 0.85
    assert not rows["race", "pytorch"]["met"]  # "below PyTorch's time": equal is not enough


def _tiny_data(tmp_path, n=600):
    from deltaprop._bench_paired import write_data

    rng = np.random.default_rng(0)
    X, y = rng.random((n, 784), dtype=np.float32), rng.integers(0, 10, n)
    write_data(tmp_path, X=X, y=y, X_test=X[:100], y_test=y[:100])
    return X, y


def test_the_runner_process_prints_its_measurement_as_json(tmp_path):
    from deltaprop._bench_paired import Runner, RunnerError

    _tiny_data(tmp_path)
    run = Runner(tmp_path, threads=1, seed=0)
    out = run({"task": "train", "system": "deltaprop", "config": "1", "epochs": 2})
    assert out["samples"] == 1200 and 0 < out["loop_s"] <= out["seconds"]
    assert out["cpu_s"] > 0 and "with its defaults" in out["note"]
    out = run({"task": "infer", "system": "deltaprop", "singles": 20, "big_calls": 2})
    assert out["1"] > 0 and out["1024"] > 0 and out["calls"] == {"1": 20, "1024": 2}
    assert run({"task": "train", "system": "book", "config": "2"}) == {
        "skipped": "not applicable (the book's code is sigmoid + quadratic only)"
    }
    with pytest.raises(RunnerError, match="the deltaprop runner .train. ended with exit status"):
        run({"task": "train", "system": "deltaprop", "config": "nope"})


def test_the_race_stops_at_the_first_epoch_that_reaches_the_target():
    from deltaprop._bench_race import race_deltaprop

    rng = np.random.default_rng(0)
    X, y = rng.random((300, 784), dtype=np.float32), rng.integers(0, 10, 300)
    out = race_deltaprop(X, y, X[:100], y[:100], target=0.01, epochs=4)
    assert out["reached"] and out["epochs"] == 1 and len(out["accuracies"]) == 1
    assert out["seconds"] == out["epoch_end_seconds"][0] > 0
    out = race_deltaprop(X, y, X[:100], y[:100], target=1.0 - 1e-9, epochs=3)
    assert not out["reached"] and out["epochs"] == 3 and len(out["accuracies"]) == 3
    assert out["seconds"] == out["epoch_end_seconds"][-1]
    assert out["epoch_end_seconds"] == sorted(out["epoch_end_seconds"])
    assert out["accuracy"] == out["accuracies"][-1] == pytest.approx(out["accuracies"][-1])


def test_the_race_clock_leaves_the_evaluations_out():
    import time

    from deltaprop._bench_race import _Clock

    accuracies = iter([0.5, 0.7, 0.9])

    def slow_accuracy():
        time.sleep(0.05)
        return next(accuracies)

    clock = _Clock(slow_accuracy, target=0.8)
    assert [clock.epoch_end(), clock.epoch_end(), clock.epoch_end()] == [False, False, True]
    out = clock.result()
    assert out["epochs"] == 3 and out["reached"] and out["accuracy"] == 0.9
    assert out["eval_seconds"] >= 0.15 and out["seconds"] < 0.05


def test_the_pytorch_race_and_inference():
    torch = pytest.importorskip("torch")
    from deltaprop._bench_race import infer_pytorch, race_pytorch

    threads = torch.get_num_threads()
    try:
        _torch_race_and_inference(race_pytorch, infer_pytorch)
    finally:
        torch.set_num_threads(threads)


def _torch_race_and_inference(race_pytorch, infer_pytorch):
    rng = np.random.default_rng(0)
    X, y = rng.random((300, 784), dtype=np.float32), rng.integers(0, 10, 300)
    out = race_pytorch(X, y, X[:100], y[:100], target=0.01, epochs=3, threads=1)
    assert out["reached"] and out["epochs"] == 1 and out["seconds"] > 0
    assert "CosineAnnealingLR(T_max=3)" in out["note"]
    out = race_pytorch(X, y, X[:100], y[:100], target=1.0 - 1e-9, epochs=2, threads=1)
    assert not out["reached"] and out["epochs"] == 2
    out = infer_pytorch(X, singles=30, big_calls=2, threads=1)
    assert out["1"] > 0 and out["1024"] > 0


def test_inference_throughput_is_positive_on_fewer_rows_than_a_batch():
    from deltaprop._bench_race import infer_deltaprop

    X = np.random.default_rng(0).random((300, 784), dtype=np.float32)
    out = infer_deltaprop(X, singles=30, big_calls=2)
    assert out["1"] > 0 and out["1024"] > 0


def test_jax_trains_the_same_network_as_well_as_deltaprop():
    pytest.importorskip("jax")
    from deltaprop import Network
    from deltaprop._bench_jax import JaxSystem

    rng = np.random.default_rng(0)
    y = rng.integers(0, 10, 1500)  # ten clusters of 784 pixels, noisy
    X = (rng.random((10, 784)) < 0.3)[y] * 0.8 + rng.random((1500, 784), dtype=np.float32) * 0.2
    X = X.astype(np.float32)
    cfg = dict(CONFIGS["3"], sizes=[784, 32, 10], batch=20)
    jax_sys = JaxSystem(cfg, X[:1000], y[:1000], epochs=2)
    jax_sys.warmup()
    assert jax_sys.run()[1] == 2000  # warm-up + 2 epochs
    net = Network(cfg["sizes"], activation="relu", output_activation="softmax",
                  loss="cross_entropy", dtype="float32", seed=0)  # fmt: skip
    net.fit(X[:1000], y[:1000], epochs=3, batch_size=20, lr=cfg["lr"])
    ours = float(np.mean(net.predict(X[1000:]) == y[1000:]))
    theirs = jax_sys.accuracy(X[1000:], y[1000:])
    assert theirs > 0.8 and abs(theirs - ours) < 0.1, (theirs, ours)


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


def test_pytorchs_matmul_bound_multiplies_the_bounds_own_operands():
    """Every call of the PyTorch bound writes what np.matmul writes for the same operands."""
    pytest.importorskip("torch")
    from deltaprop._bench_systems import CONFIGS, make_system

    cfg = dict(CONFIGS["2"], batch=8)
    X, y = np.zeros((20, 784), np.float32), np.zeros(20, np.int64)
    ours = make_system("bound", cfg, X, y, seed=3)
    theirs = make_system("pytorch-bound", cfg, X, y, threads=1, seed=3)
    assert "torch.mm" in theirs.note
    for m in (8, 4):  # the full batches and the last, shorter one (20 = 2 · 8 + 4)
        calls = theirs.programs[m]
        assert len(calls) == len(ours.programs[m]) == 8  # 3 forward, 3 BP4, 2 BP2
        for call in calls:
            a, b = (t.numpy() for t in call.args)
            out = call.keywords["out"].numpy()
            out[...] = np.nan
            call()
            np.testing.assert_allclose(out, a @ b, rtol=1e-5, atol=1e-6)
    assert theirs.run()[1] == 20


def test_the_report_sets_numpys_products_beside_pytorchs(monkeypatch):
    # The runs are faked: whether PyTorch is installed here does not matter.
    monkeypatch.setattr(bench, "why_not", lambda name, cfg: None)
    calls = []
    # deltaprop 1 s per round; numpy's bound 0.5 s, PyTorch's 0.25 s: numpy's products at half
    # PyTorch's speed.
    run = _fake_runner({"deltaprop": [1.0], "bound": [0.5], "pytorch-bound": [0.25]}, calls)
    settings = bench.Settings(systems=["deltaprop", "bound", "pytorch-bound"], rounds=1)
    res = bench.run_config("3", run, settings, log=lambda msg: None)
    from deltaprop._bench_report import _blas_table

    lines = _blas_table({"3": res})
    assert lines[-1] == "| (3) [784,256,128,10] ReLU, batch 256 | 0.50 |"
    assert _blas_table({"3": {"comparisons": {"bound": res["comparisons"]["bound"]}}}) == []
