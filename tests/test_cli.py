"""End-to-end tests of the ``deltaprop`` command through subprocess."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import deltaprop as dp

# This tree's package, whichever copy is installed (PYTHONPATH may be relative).
SRC = str(Path(dp.__file__).resolve().parents[1])
ENV = dict(os.environ, PYTHONPATH=os.pathsep.join([SRC, os.environ.get("PYTHONPATH", "")]))


def run(*args, cwd=None, env=None):
    return subprocess.run(
        [sys.executable, "-m", "deltaprop", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**ENV, **(env or {})},
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
        (["train", "--preset", "nope"], "'nope' is not one of default, nielsen-ch1"),
        (["train", "--activation", "nope"], "'nope' is not one of identity, sigmoid"),
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
    assert text.count("<svg") >= 6 and 'id="plot-confusion"' in text
    assert "http://" not in text and "https://" not in text
    # the title block names the command that trained the model and the data set
    assert (
        '<pre class="cmd" id="command"><code>deltaprop train --epochs 5 --json --out '
        f"{out} --seed 1</code></pre>"
    ) in text
    assert "data set digits" in text and "trained 20" in text


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


# ---------------------------------------------------------------------- help, choices, files
def test_bare_command_prints_the_help_and_exits_0():
    proc = run()
    assert proc.returncode == 0 and proc.stderr == ""
    assert proc.stdout.startswith("Usage: ") and "deltaprop [OPTIONS] [COMMAND]" in proc.stdout
    assert "train" in proc.stdout and "error" not in proc.stdout


def test_train_help_groups_the_options_and_shows_the_effective_defaults():
    proc = run("train", "--help", env={"COLUMNS": "100"})
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout
    sections = [line for line in text.splitlines() if line and not line.startswith(" ")]
    assert sections[-5:] == ["Data:", "Network:", "Training:", "Output:", "Other:"]
    # the default preset's values, which the options fall back to
    for option, default in [("--epochs", "30"), ("--lr", "3.0"), ("--batch-size", "10"),
                            ("--activation", "sigmoid"), ("--loss", "quadratic"),
                            ("--init", "normal"), ("--optimizer", "sgd")]:  # fmt: skip
        block = text[text.index(f"  {option} ") :]
        block = block[: block.index("]") + 1]
        assert f"[default: {default}]" in " ".join(block.split()), block
    assert "linear" not in text  # an alias is accepted, not offered


@pytest.mark.parametrize(
    "option, typo, valid, suggestion",
    [
        ("--activation", "relux", "identity, sigmoid, tanh, relu", "relu"),
        ("--output-activation", "sofmax", "swish, softplus, softmax;", "softmax"),
        ("--loss", "cross_entropi", "quadratic, mse, binary_cross_entropy", "cross_entropy"),
        ("--init", "he_norml", "normal, scaled_normal", "he_normal"),
        ("--optimizer", "adamm", "sgd, momentum, nesterov, adam", "adam"),
        ("--schedule", "cosin", "constant, step, cosine, plateau", "cosine"),
        ("--dataset", "moon", "digits, mnist, xor, moons", "moons"),
        ("--preset", "nielsen-ch4", "default, nielsen-ch1, nielsen-ch3, modern", None),
    ],
)
def test_a_typo_in_a_choice_lists_the_valid_values(tmp_path, option, typo, valid, suggestion):
    proc = run("train", option, typo, cwd=tmp_path)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert f"Invalid value for '{option}': '{typo}' is not one of " in lines[0]
    assert valid in lines[0]
    if suggestion:
        assert f"did you mean '{suggestion}'?" in lines[0]
    assert lines[0].endswith("(see `deltaprop train --help`)")
    assert os.listdir(tmp_path) == []


def test_choices_take_any_case_hyphens_and_aliases(tmp_path):
    proc = run("train", "--epochs", "1", "--json", "--activation", "ReLU", "--output-activation",
               "Softmax", "--loss", "Cross-Entropy", "--init", "xavier", "--optimizer", "ADAM",
               "--lr", "0.01", "--dataset", "Moons", cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    config = json.loads(proc.stdout)["config"]
    assert [a["name"] for a in config["activations"]] == ["relu", "softmax"]
    assert config["loss"]["name"] == "cross_entropy" and config["dataset"] == "moons"


def test_completion_offers_the_registry_names():
    env = {"_DELTAPROP_COMPLETE": "bash_complete", "COMP_WORDS": "deltaprop train --loss c",
           "COMP_CWORD": "3"}  # fmt: skip
    # as the installed `deltaprop` script runs it (completion keys on the program's name)
    script = "from deltaprop.cli import main; main(prog_name='deltaprop')"
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env={**ENV, **env}, timeout=60)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["plain,cross_entropy"]


def test_presets_prints_each_presets_values_as_options():
    proc = run("presets", env={"COLUMNS": "80"})
    assert proc.returncode == 0, proc.stderr
    blocks = proc.stdout.split("\n\n")
    assert [b.split(":")[0] for b in blocks] == list(dp.presets.PRESETS)
    ch3 = " ".join(blocks[2].split())
    for option in ("--layers 784-100-10", "--loss binary_cross_entropy", "--l2 5.0",
                   "--lr 0.1", "--epochs 60", "--restore-best"):  # fmt: skip
        assert option in ch3
    assert all(len(line) <= 80 for line in proc.stdout.splitlines())


def test_train_writes_no_model_without_out(tmp_path):
    proc = run("train", "--epochs", "1", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert os.listdir(tmp_path) == []
    assert "model not saved (--out FILE writes it)" in proc.stdout


def test_train_out_says_what_it_wrote_and_what_it_replaced(tmp_path):
    proc = run("train", "--epochs", "1", "--out", "m.npz", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert os.listdir(tmp_path) == ["m.npz"]
    size = (tmp_path / "m.npz").stat().st_size
    assert f"model written to m.npz ({size / 1000:.1f} kB)\n" in proc.stdout
    again = run("train", "--epochs", "1", "--out", "m.npz", cwd=tmp_path)
    assert "model written to m.npz" in again.stdout
    assert "replacing the file that was there" in again.stdout


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["train", "--plots", "{tmp}/file"], "--plots '{tmp}/file' is not a directory"),
        (["train", "--plots", "{tmp}/file/sub"], "'{tmp}/file' is not a directory"),
        (["train", "--out", "{tmp}/x", "--checkpoint", "{tmp}/x"], "two different files"),
        (["train", "--out", "{tmp}/link"], "is a link or a special file"),
        (["report", "{tmp}/none.npz", "--out", "{tmp}/no/dir/r.html"], "does not exist"),
    ],
)
def test_output_paths_are_checked_before_any_work(tmp_path, args, fragment):
    (tmp_path / "file").write_text("")
    (tmp_path / "link").symlink_to(tmp_path / "file")
    before = sorted(os.listdir(tmp_path))
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    proc = run(*args, *(["--epochs", "50"] if args[0] == "train" else []), cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stdout == ""  # not one epoch ran
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and fragment.replace("{tmp}", str(tmp_path)) in lines[0], lines
    assert sorted(os.listdir(tmp_path)) == before


def test_missing_mnist_names_the_commands_options(monkeypatch, capsys, tmp_path):
    from deltaprop import cli
    from deltaprop.datasets import mnist

    def offline(url, timeout):
        raise OSError("network is unreachable")

    monkeypatch.setattr(mnist, "_urlopen", offline)
    monkeypatch.delenv("DELTAPROP_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert cli.run(["train", "--dataset", "mnist", "--quiet"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and len(lines[0]) < 400, lines
    message = lines[0]
    assert message.startswith("error: MNIST files not found in $DELTAPROP_DATA (not set), ")
    assert "network is unreachable" in message
    assert "--data-dir DIR or $DELTAPROP_DATA" in message
    assert "load_mnist" not in message and "path=" not in message


def test_info_prints_the_layer_table(trained):
    out, _ = trained
    proc = run("info", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "hidden 1       30  sigmoid     (30, 64)       1,950" in proc.stdout
    assert "2,260 parameters (float32, 9.0 kB); loss quadratic" in proc.stdout
