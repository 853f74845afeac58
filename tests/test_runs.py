"""The train command's runs: interrupts, resuming, divergence, failing checkpoints, outputs."""

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import deltaprop as dp

SRC = str(Path(dp.__file__).resolve().parents[1])
ENV = dict(os.environ, PYTHONPATH=os.pathsep.join([SRC, os.environ.get("PYTHONPATH", "")]))
COMMAND = [sys.executable, "-m", "deltaprop"]


def run(*args, cwd=None):
    return subprocess.run(
        [*COMMAND, *args], capture_output=True, text=True, cwd=cwd, env=ENV, timeout=300
    )


def interrupt_after_epochs(args, cwd, sig, epochs=1):
    """Start `train`, send `sig` once `epochs` epoch lines are printed; (rc, stdout, stderr)."""
    proc = subprocess.Popen(
        [*COMMAND, "train", *args], cwd=cwd, env=ENV, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    seen, lines = 0, []
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line)
        if re.match(r"\s*\d+/\d+\s", line):  # an epoch line, e.g. "  3/100000  0.1622 ..."
            seen += 1
            if seen >= epochs:
                break
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=120)
    return proc.returncode, "".join(lines) + out, err


@pytest.fixture
def checkpoint(tmp_path):
    """A 2-epoch Adam checkpoint on the digits."""
    r = run("train", "--epochs", "2", "--optimizer", "adam", "--lr", "0.01",
            "--checkpoint", "ck.npz", "-q", cwd=tmp_path)  # fmt: skip
    assert r.returncode == 0, r.stderr
    return tmp_path / "ck.npz"


# ---- item 3: Ctrl-C and SIGTERM keep the last completed epoch
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_during_resume_writes_out(checkpoint, tmp_path, sig):
    rc, out, err = interrupt_after_epochs(
        ["--resume", "ck.npz", "--epochs", "100000", "--out", "out.npz"], tmp_path, sig
    )
    assert rc == 130, err
    assert "Traceback" not in err
    assert "saved to out.npz" in err
    net = dp.load(tmp_path / "out.npz")
    assert net.history.epoch[-1] >= 3


def test_sigterm_saves_last_epoch(tmp_path):
    rc, out, err = interrupt_after_epochs(
        ["--epochs", "100000", "--out", "out.npz"], tmp_path, signal.SIGTERM
    )
    assert rc == 130, err
    assert "saved to out.npz" in err
    assert dp.load(tmp_path / "out.npz").history.epoch[-1] >= 1


def test_early_ctrl_c_is_one_line(tmp_path):
    for delay in (0.1, 0.2, 0.35):
        proc = subprocess.Popen(
            [*COMMAND, "train", "--epochs", "100000"], cwd=tmp_path, env=ENV, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        time.sleep(delay)
        proc.send_signal(signal.SIGINT)
        try:
            _, err = proc.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
            pytest.fail(f"Ctrl-C after {delay} s did not stop the command; stderr: {err}")
        assert proc.returncode == 130, err
        assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err


# ---- item 4: resume uses the checkpoint's configuration
def test_resume_adam_without_repeating_optimizer(checkpoint, tmp_path):
    r = run("train", "--resume", "ck.npz", "--epochs", "3", "--out", "m.npz", "-q", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    net = dp.load(tmp_path / "m.npz")
    assert net.history.epoch == [1, 2, 3]
    assert net.training_config["optimizer"]["name"] == "adam"
    assert net.training_config["lr"] == pytest.approx(0.01)


@pytest.mark.parametrize(
    "args, given, saved",
    [
        (["--lr", "0.5"], "--lr 0.5", "0.01"),
        (["--batch-size", "7"], "--batch-size 7", "10"),
        (["--optimizer", "sgd"], "sgd", "adam"),
        (["--layers", "64-20-10"], "64-20-10", "64-30-10"),
        (["--dtype", "float64"], "float64", "float32"),
    ],
)
def test_resume_conflicting_option(checkpoint, tmp_path, args, given, saved):
    r = run("train", "--resume", "ck.npz", "--epochs", "4", *args, cwd=tmp_path)
    assert r.returncode == 2
    assert "conflicts" in r.stderr and given in r.stderr and saved in r.stderr
    assert "Traceback" not in r.stderr


def test_resume_same_options_is_fine(checkpoint, tmp_path):
    r = run("train", "--resume", "ck.npz", "--epochs", "3", "--lr", "0.01", "--optimizer",
            "adam", "--dtype", "float32", "-q", cwd=tmp_path)  # fmt: skip
    assert r.returncode == 0, r.stderr


def test_resume_epochs_below_done(checkpoint, tmp_path):
    r = run("train", "--resume", "ck.npz", "--epochs", "1", cwd=tmp_path)
    assert r.returncode == 2
    assert "--epochs 1 is below the 2 epochs done" in r.stderr


def test_check_resume_library(checkpoint):
    from deltaprop.training import check_resume

    info = check_resume(checkpoint, epochs=5, lr=0.01, optimizer="adam")
    assert (info["epoch"], info["epochs"], info["finished"]) == (2, 5, False)
    with pytest.raises(dp.DeltapropError, match="lr=0.2 conflicts.*0.01"):
        check_resume(checkpoint, lr=0.2)


# ---- item 5: a finished run resumes to nothing to do
def test_resume_finished_run_nothing_to_do(checkpoint, tmp_path):
    r = run("train", "--resume", "ck.npz", "--out", "m.npz", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "nothing to do" in r.stdout
    assert dp.load(tmp_path / "m.npz").history.epoch == [1, 2]


def test_resume_early_stopped_run_trains_nothing(tmp_path):
    r = run("train", "--epochs", "200", "--patience", "1", "--lr", "0.001",
            "--checkpoint", "ck.npz", "-q", cwd=tmp_path)  # fmt: skip
    assert r.returncode == 0, r.stderr
    done = dp.load(tmp_path / "ck.npz").history.epoch[-1]
    assert done < 200
    r = run("train", "--resume", "ck.npz", "--epochs", "300", "--out", "m.npz", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "nothing to do" in r.stdout
    assert dp.load(tmp_path / "m.npz").history.epoch[-1] == done
    X, y = np.zeros((4, 64)), np.zeros(4, int)
    net, history = dp.training.resume(tmp_path / "ck.npz", X, y)
    assert history.epoch[-1] == done


# ---- item 6: a diverging run writes the kept weights
def test_diverged_run_writes_out(tmp_path):
    r = run("train", "--dtype", "float64", "--activation", "tanh", "--output-activation",
            "identity", "--init", "glorot_uniform", "--lr", "0.2", "--epochs", "20",
            "--out", "div.npz", cwd=tmp_path)  # fmt: skip
    assert r.returncode == 2
    assert "diverged" in r.stderr and "saved to div.npz" in r.stderr
    assert np.isfinite(dp.load(tmp_path / "div.npz").parameters).all()


# ---- item 7: outputs onto the checkpoint refused
def test_out_onto_checkpoint_or_resume_refused(checkpoint, tmp_path):
    before = checkpoint.read_bytes()
    for args in (["--checkpoint", "ck.npz"], ["--resume", "ck.npz", "--epochs", "3"]):
        r = run("train", *args, "--out", "ck.npz", cwd=tmp_path)
        assert r.returncode == 2 and "both 'ck.npz'" in r.stderr
    assert checkpoint.read_bytes() == before


# ---- item 8: a checkpoint that cannot be written
@pytest.mark.skipif(os.name != "posix", reason="directory permissions")
def test_failing_checkpoint_warns_and_out_is_saved(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    script = (
        "import os, sys\n"
        "from deltaprop import io, callbacks\n"
        "def full(*a, **k):\n"
        "    raise OSError(28, 'No space left on device')\n"
        "callbacks.save = full\n"
        "from deltaprop.cli import run\n"
        "sys.exit(run(sys.argv[1:]))\n"
    )
    r = subprocess.run(
        [sys.executable, "-c", script, "train", "--epochs", "3", "--checkpoint", "ck.npz",
         "--out", "m.npz"], cwd=tmp_path, env=ENV, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "checkpoint 'ck.npz' not written after epoch 1 (No space left on device)" in r.stderr
    assert "training continues" in r.stderr and "Traceback" not in r.stderr
    assert "model written to m.npz" in r.stdout
    assert dp.load(tmp_path / "m.npz").history.epoch == [1, 2, 3]


# ---- item 9: every output checked before training
def test_outputs_checked_before_training(tmp_path):
    (tmp_path / "f").write_text("x")
    for args, message in ((["--plots", "f"], "not a directory"),
                          (["--out", "newdir/"], "names a directory")):  # fmt: skip
        t0 = time.perf_counter()
        r = run("train", "--epochs", "100000", *args, cwd=tmp_path)
        assert r.returncode == 2 and message in r.stderr
        assert "epoch" not in r.stdout
        assert time.perf_counter() - t0 < 60
    assert not (tmp_path / "newdir").exists()


# ---- items 16 and 21: predict's inputs, info's JSON
@pytest.fixture
def model(tmp_path):
    net = dp.Network([3, 4, 2], seed=0)
    net.save(tmp_path / "m.npz")
    return tmp_path / "m.npz"


def test_predict_npy_huge_and_empty(model, tmp_path):
    huge = tmp_path / "huge.npy"
    with open(huge, "wb") as f:
        np.lib.format.write_array_header_1_0(
            f, {"descr": "<f8", "fortran_order": False, "shape": (10**11, 2)}
        )
    np.save(tmp_path / "empty.npy", np.zeros((0, 3)))
    (tmp_path / "zero.npy").write_bytes(b"")
    for name in ("huge.npy", "empty.npy", "zero.npy"):
        r = run("predict", str(model), "--input", name, cwd=tmp_path)
        assert r.returncode == 2, (name, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr
        assert "interrupted" not in r.stderr and "Traceback" not in r.stderr


def test_predict_empty_csv_no_warnings(model, tmp_path):
    (tmp_path / "empty.csv").write_text("")
    r = run("predict", str(model), "--input", "empty.csv", cwd=tmp_path)
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [
        "error: --input 'empty.csv' holds no values; expected rows of numbers"
    ]


def test_info_json_has_no_nan(tmp_path):
    net = dp.Network([3, 4, 2], seed=0)
    net.history = dp.History(epoch=[1], cost=[float("nan")], val_cost=[float("inf")])
    net.save(tmp_path / "m.npz")
    r = run("info", "m.npz", "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "NaN" not in r.stdout and "Infinity" not in r.stdout
    data = json.loads(r.stdout, parse_constant=lambda c: pytest.fail(c))
    assert data["history"]["cost"] == [None]


def test_checkpoint_callback_failure_warns_and_training_continues(tmp_path, monkeypatch):
    from deltaprop import callbacks

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(callbacks, "save", full)
    X = np.random.default_rng(0).normal(size=(20, 3))
    y = (X[:, 0] > 0).astype(int)
    net = dp.Network([3, 4, 2], seed=0)
    with pytest.warns(RuntimeWarning) as record:
        history = dp.training.fit(net, X, y, epochs=3, lr=0.5, checkpoint=tmp_path / "ck.npz")
    assert history.epoch == [1, 2, 3]
    messages = [str(w.message) for w in record]
    assert len(messages) == 2
    assert "ck.npz' not written after epoch 1 (No space left on device)" in messages[0]
    assert "not written after 3 epoch(s), the last 3; the last written: none" in messages[1]


def test_a_ctrl_c_swallowed_by_a_finalizer_is_delivered_again():
    """Python ignores an exception raised in a __del__ (printing it): the command's hook sends
    a KeyboardInterrupt from there to the main flow again, so that Ctrl-C still stops it."""
    from deltaprop._launch import _unraisable_hook

    seen = []
    hook = _unraisable_hook(seen.append)

    class Unraisable:
        exc_value = KeyboardInterrupt()

    class Other:
        exc_value = ValueError("other")

    hook(Other())
    assert len(seen) == 1  # anything else goes to the previous hook
    with pytest.raises(KeyboardInterrupt):
        hook(Unraisable())
        for _ in range(1000):  # the interrupt is taken between two bytecodes of this loop
            time.sleep(0.001)
    assert len(seen) == 1
