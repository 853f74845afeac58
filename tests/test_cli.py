"""End-to-end tests of the ``deltaprop`` command through subprocess."""

import json
import subprocess
import sys

import numpy as np
import pytest

import deltaprop as dp


def run(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "deltaprop", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
    )


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "model.npz"
    proc = run("train", "--epochs", "5", "--json", "--out", str(out), "--seed", "1")
    assert proc.returncode == 0, proc.stderr
    return out, json.loads(proc.stdout)


def test_train_json_reports_config_history_and_test_metrics(trained):
    out, report = trained
    assert report["config"]["sizes"] == [64, 30, 10]
    assert report["history"]["epoch"] == [1, 2, 3, 4, 5]
    assert len(report["history"]["val_accuracy"]) == 5
    # The reported test accuracy is that of the saved model on the digits test split.
    net = dp.load(out)
    ds = dp.datasets.load("digits")
    cost, acc = net.evaluate(ds.X_test, ds.y_test)
    assert report["metrics"]["test_accuracy"] == pytest.approx(acc, abs=1e-12)
    assert report["metrics"]["test_cost"] == pytest.approx(cost, rel=1e-6)
    assert report["metrics"]["test_accuracy"] > 0.5


def test_default_run_reaches_a_good_test_accuracy(tmp_path):
    proc = run("train", "--json", "--out", "")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["metrics"]["test_accuracy"] >= 0.9


def test_info_evaluate_predict_round_trip(trained, tmp_path):
    out, report = trained
    info = run("info", str(out), "--json")
    assert info.returncode == 0, info.stderr
    meta = json.loads(info.stdout)
    assert meta["sizes"] == [64, 30, 10] and meta["parameters"] == 64 * 30 + 30 + 30 * 10 + 10
    assert meta["history"]["epoch"][-1] == 5

    ev = run("evaluate", str(out), "--dataset", "digits", "--json")
    assert ev.returncode == 0, ev.stderr
    assert json.loads(ev.stdout)["accuracy"] == pytest.approx(report["metrics"]["test_accuracy"])

    ds = dp.datasets.load("digits")
    rows = ds.X_test[:5]
    csv = tmp_path / "x.csv"
    np.savetxt(csv, rows, delimiter=",")
    pred = run("predict", str(out), "--input", str(csv))
    assert pred.returncode == 0, pred.stderr
    got = [int(line) for line in pred.stdout.split()]
    assert got == list(dp.load(out).predict(rows))


def test_explain_builtin_prints_the_worked_example():
    proc = run("explain", "--builtin", "mazur", "--precision", "9")
    assert proc.returncode == 0, proc.stderr
    assert "0.298371109" in proc.stdout  # the total cost of the hand-worked example
    assert "0.358916480" in proc.stdout  # w^2_11 after one step


def test_presets_lists_the_book_presets():
    proc = run("presets")
    assert proc.returncode == 0
    for name in ("nielsen-ch1", "nielsen-ch3", "modern"):
        assert name in proc.stdout


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["train", "--layers", "64-x-10"], "--layers '64-x-10' is malformed"),
        (["train", "--layers", "64-30-3"], "expected ...-10"),
        (["train", "--preset", "nope"], "preset='nope' is unknown"),
        (["train", "--activation", "nope"], "activation='nope' is unknown"),
        (["train", "--lr", "-1"], "--lr -1.0 is invalid"),
        (["train", "--patience", "0"], "--patience 0 is invalid"),
        (["train", "--checkpoint", "/nonexistent-dir/ck.npz"], "does not exist"),
        (["train", "--bogus"], "No such option"),
        (["evaluate", "missing.npz", "--dataset", "digits"], "does not exist"),
    ],
)
def test_bad_input_gives_one_line_and_exit_code_2(args, fragment, tmp_path):
    proc = run(*args, "--out", str(tmp_path / "m.npz")) if args[0] == "train" else run(*args)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "m.npz").exists()


def test_explain_from_a_saved_model_matches_backprop(trained):
    out, _ = trained
    net = dp.load(out)
    ds = dp.datasets.load("digits")
    x, label = ds.X_test[0], int(ds.y_test[0])
    values = ",".join(repr(float(v)) for v in x)
    proc = run(
        "explain",
        "--model",
        str(out),
        "--input",
        values,
        "--target",
        str(label),
        "--format",
        "markdown",
        "--precision",
        "9",
        "--max-parameters",
        "0",
    )
    assert proc.returncode == 0, proc.stderr
    cost = net.backprop(x[None, :].astype(np.float64), [label]).cost
    # The model is float32, so compare the printed cost to 6 significant digits.
    assert f"{cost:.6f}"[:7] in proc.stdout


def test_explain_example_file_to_html(tmp_path):
    spec = {
        "sizes": [2, 2, 1],
        "weights": [[[0.5, -0.25], [0.1, 0.3]], [[1.0, -1.0]]],
        "biases": [[0.0, 0.1], [0.2]],
        "activation": "tanh",
        "output_activation": "identity",
        "input": [1.0, 2.0],
        "target": [0.5],
        "learning_rate": 0.1,
    }
    path = tmp_path / "ex.json"
    path.write_text(json.dumps(spec))
    html = tmp_path / "trace.html"
    proc = run("explain", str(path), "--format", "html", "--out", str(html))
    assert proc.returncode == 0, proc.stderr
    text = html.read_text()
    # z^1_1 = 0.5·1 − 0.25·2 + 0 = 0 and z^1_2 = 0.1·1 + 0.3·2 + 0.1 = 0.8 (hand computed).
    assert text.startswith("<!DOCTYPE html>") or text.lstrip().lower().startswith("<!doctype")
    assert "0.800000" in text


@pytest.mark.slow
def test_report_command_writes_a_self_contained_page(trained, tmp_path):
    out, _ = trained
    html = tmp_path / "report.html"
    proc = run("report", str(out), "--dataset", "digits", "--out", str(html))
    assert proc.returncode == 0, proc.stderr
    text = html.read_text()
    assert text.count("<img") >= 3 and "data:image/png;base64," in text
    assert "http://" not in text and "https://" not in text


# ---------------------------------------------------------------------- errors by type
@pytest.fixture
def model_file(tmp_path):
    path = tmp_path / "m.npz"
    dp.Network([4, 3, 2], seed=0).save(path)
    return path


def _load_raising(monkeypatch, exc):
    """Make the library's model loader raise `exc` (the command imports it at call time)."""
    import deltaprop.io

    def load(*args, **kwargs):
        raise exc

    monkeypatch.setattr(deltaprop.io, "load", load)


@pytest.mark.parametrize(
    "exc",
    [
        dp.DeltapropError("the model is bad; expected a good one"),
        PermissionError(13, "Permission denied"),
    ],
    ids=["DeltapropError", "OSError"],
)
def test_library_and_system_errors_give_one_line_and_exit_2(monkeypatch, capsys, model_file, exc):
    from deltaprop import cli

    _load_raising(monkeypatch, exc)
    assert cli.run(["info", str(model_file)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"error: {str(exc).splitlines()[0]}"]


@pytest.mark.parametrize(
    "exc", [ValueError("bug"), TypeError("bug"), KeyError("bug"), AttributeError("bug")]
)
def test_a_bug_is_not_turned_into_exit_2(monkeypatch, capsys, model_file, exc):
    # A plain ValueError (or any exception that is not deltaprop's, click's or the system's)
    # from the library is a bug: it propagates as itself.
    from deltaprop import cli

    _load_raising(monkeypatch, exc)
    with pytest.raises(type(exc)) as info:
        cli.run(["info", str(model_file)])
    assert info.value is exc
    assert "error:" not in capsys.readouterr().err


def test_a_bug_under_click_testing_keeps_its_exception(monkeypatch, model_file):
    from click.testing import CliRunner

    from deltaprop import cli

    _load_raising(monkeypatch, ValueError("bug"))
    result = CliRunner().invoke(cli.main, ["info", str(model_file)])
    assert result.exit_code == 1 and isinstance(result.exception, ValueError)
    assert result.exc_info[0] is ValueError


def test_ctrl_c_exits_130(monkeypatch, capsys, model_file):
    from deltaprop import cli

    _load_raising(monkeypatch, KeyboardInterrupt())
    assert cli.run(["info", str(model_file)]) == 130
    assert capsys.readouterr().err.strip() == "interrupted"


_BUG_SCRIPT = """
import sys
import deltaprop.io
def load(*args, **kwargs):
    raise ValueError("a bug in the library")
deltaprop.io.load = load
from deltaprop.cli import entry
sys.argv = ["deltaprop", "info", sys.argv[1]]
entry()
"""


def test_a_bug_prints_a_traceback_and_exits_1(model_file):
    proc = subprocess.run(
        [sys.executable, "-c", _BUG_SCRIPT, str(model_file)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1, proc.stderr
    assert "Traceback (most recent call last)" in proc.stderr
    assert "ValueError: a bug in the library" in proc.stderr
    assert "error:" not in proc.stderr
