"""The training display as a callback: fit(verbose=...), the epoch lines, the live bar's text."""

import io
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import deltaprop as dp
from deltaprop import progress
from deltaprop.history import TrainingConfig

SRC = str(Path(dp.__file__).resolve().parents[1])


class FakeTerminal(io.StringIO):
    """A text stream that says it is a terminal."""

    encoding = "utf-8"

    def isatty(self):
        return True


def _data():
    ds = dp.datasets.load("digits")
    return ds


def _fit(verbose, epochs=3, **kwargs):
    ds = _data()
    net = dp.Network([64, 30, 10], init="normal", dtype="float32", seed=0)
    return net.fit(ds.X_train, ds.y_train, epochs=epochs, batch_size=10, lr=3.0, seed=0,
                   validation_data=(ds.X_val, ds.y_val), restore_best=True, verbose=verbose,
                   **kwargs)  # fmt: skip


def _without_time(lines):
    """The lines with the time column (the last field before an optional '*') removed."""
    return [re.sub(r"\s+(\d+(\.\d)? ms|\d+\.\d s)(?=(\s+\*)?$)", "", line) for line in lines]


def test_fit_is_silent_by_default(capsys):
    _fit(0, epochs=2)
    assert capsys.readouterr().out == ""


def test_fit_verbose_prints_the_commands_epoch_lines(capsys, tmp_path):
    h = _fit(1)
    ours = capsys.readouterr().out.splitlines()
    proc = subprocess.run(
        [sys.executable, "-m", "deltaprop", "train", "--epochs", "3"],
        capture_output=True, text=True, cwd=tmp_path, timeout=120,
        env=dict(os.environ, PYTHONPATH=SRC),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    theirs = proc.stdout.splitlines()
    start = theirs.index(ours[0])  # the command's header lines come first
    assert _without_time(theirs[start : start + len(ours)]) == _without_time(ours)
    # header, one line per epoch, the note on the weights kept
    assert len(ours) == 1 + 3 + 1
    assert ours[0].split() == ["epoch", "cost", "accuracy", "val", "cost", "val", "accuracy",
                               "η", "time"]  # fmt: skip
    # The '*' marks each new best: a higher val accuracy, or an equal one with a lower cost.
    best = (-1.0, np.inf)
    for epoch, line in enumerate(ours[1:4], start=1):
        cells = line.split()
        assert cells[0] == f"{epoch}/3"
        assert float(cells[1]) == pytest.approx(h.cost[epoch - 1], abs=5e-5)
        assert cells[2] == f"{h.accuracy[epoch - 1]:.2%}"
        assert float(cells[3]) == pytest.approx(h.val_cost[epoch - 1], abs=5e-5)
        assert cells[4] == f"{h.val_accuracy[epoch - 1]:.2%}"
        acc, cost = h.val_accuracy[epoch - 1], h.val_cost[epoch - 1]
        better = acc > best[0] or (acc == best[0] and cost < best[1])
        best = (acc, cost) if better else best
        assert (cells[-1] == "*") == better
    assert ours[-1].startswith(("kept the last epoch's weights", f"restored epoch {h.best_epoch}"))


def test_verbose_is_validated_and_not_stored():
    with pytest.raises(dp.DeltapropError, match="verbose=3 is invalid"):
        TrainingConfig(verbose=3).validate()
    with pytest.raises(dp.DeltapropError, match="verbose=True is invalid"):
        TrainingConfig(verbose=True).validate()
    assert "verbose" not in TrainingConfig(verbose=2).validate().to_dict()


def test_the_display_suits_the_stream(monkeypatch):
    monkeypatch.delenv("TERM", raising=False)
    assert type(progress.progress(1, io.StringIO())) is progress.EpochLog
    assert type(progress.progress(2, FakeTerminal())) is progress.EpochLog
    assert type(progress.progress(1, FakeTerminal())) is progress.ProgressBar
    monkeypatch.setenv("TERM", "dumb")
    assert type(progress.progress(1, FakeTerminal())) is progress.EpochLog


def test_the_bar_draws_over_itself_and_leaves_the_epoch_lines():
    ds = _data()
    tty, plain = FakeTerminal(), io.StringIO()
    # interval=0: a redraw at every batch (the default, 0.1 s, would skip most of them)
    for display in (progress.ProgressBar(tty, interval=0), progress.EpochLog(plain)):
        net = dp.Network([64, 30, 10], init="normal", seed=0)
        net.fit(ds.X_train, ds.y_train, epochs=3, batch_size=10, lr=3.0, seed=0,
                validation_data=(ds.X_val, ds.y_val), callbacks=[display])  # fmt: skip
    raw = tty.getvalue()
    # Each bar is drawn from the line's start and erased to its end; none ends a line.
    bars = re.findall(r"\r(epoch \d/3 [^\r\n]*?)\x1b\[K", raw)
    assert bars and all("ETA" in bar for bar in bars)
    assert {int(b.split()[1][0]) for b in bars} == {1, 2, 3}
    assert len(bars) == 3 * (1 + 108)  # at each epoch's start and after each of its batches
    # What stays on the screen: the same lines as without a terminal.
    screen = re.sub(r"\r[^\r\n]*\x1b\[K", "", raw.replace("\r\x1b[K", ""))
    screen = re.sub(r"\x1b\[[0-9;]*m", "", screen)
    assert _without_time(screen.splitlines()) == _without_time(plain.getvalue().splitlines())


@pytest.mark.parametrize("width", [20, 40, 60, 79, 119, 200])
def test_the_bar_fits_the_terminal(width):
    bar = progress.ProgressBar(FakeTerminal(), color=False)
    bar.on_train_begin({"epochs": 1000, "n_train": 60000, "batch_size": 10, "start_epoch": 0})
    bar.epoch_time = [12.5, 1]
    bar.epoch, bar.n_batches, bar.t_epoch = 617, 6000, 0.0
    bar.costs = [1.23456, 3]
    text = bar.bar(2345, 3.0, width)
    assert len(text) <= width and text.startswith("epoch 617/1000"[:width])
    if width >= 60:
        assert "2345/6000" in text and "ETA" in text
    if width >= 119:
        assert "cost 0.4115" in text and "7,817 samples/s" in text
        filled = text.count("━") + text.count("╸")
        assert filled == pytest.approx(40 * 2345 / 6000, abs=1)


def test_eta_counts_the_epochs_left():
    bar = progress.ProgressBar(FakeTerminal(), color=False)
    bar.on_train_begin({"epochs": 10, "n_train": 100, "batch_size": 10, "start_epoch": 0})
    bar.epoch, bar.n_batches = 4, 10
    bar.epoch_time = [6.0, 3]
    # 5 of 10 batches in 1 s: 1 s left in this epoch, then 6 epochs of 2 s
    assert bar._eta(5, 1.0) == pytest.approx(13.0)
    assert bar._eta(0, 0.0) == pytest.approx(2.0 + 12.0)


def test_the_notes_say_why_the_run_stopped():
    ds = _data()
    out = io.StringIO()
    net = dp.Network([64, 30, 10], seed=0)
    net.fit(ds.X_train, ds.y_train, epochs=3, batch_size=10, lr=3.0, seed=0)
    h = net.fit(ds.X_train, ds.y_train, epochs=50, batch_size=10, lr=1e-9, seed=0,
                validation_data=(ds.X_val, ds.y_val), early_stopping=2,
                callbacks=[progress.EpochLog(out)])  # fmt: skip
    lines = out.getvalue().splitlines()
    assert lines[-2] == "stopped at epoch 3: val_accuracy did not improve for 2 epochs"
    i = h.epoch.index(h.best_epoch)
    detail = f"val_accuracy {h.val_accuracy[i]:.2%} (val cost {h.val_cost[i]:.4f})"
    if h.best_epoch == 3:
        assert lines[-1] == f"kept the last epoch's weights, the best {detail}"
    else:
        assert lines[-1] == f"restored epoch {h.best_epoch} (*), the best {detail}"
    np.testing.assert_array_equal(h.epoch, [1, 2, 3])


def test_the_bar_writes_at_most_ten_times_a_second_and_loses_no_line():
    class Counting(FakeTerminal):
        flushes = 0

        def flush(self):
            self.flushes += 1

    ds = dp.datasets.load("moons", seed=0)
    out = Counting()
    net = dp.Network([2, 16, 2], activation="tanh", output_activation="softmax",
                     loss="cross_entropy", seed=0)  # fmt: skip
    bar = progress.ProgressBar(out)
    t0 = time.perf_counter()
    net.fit(ds.X_train, ds.y_train, epochs=300, batch_size=10, lr=0.01, optimizer="adam",
            validation_data=(ds.X_val, ds.y_val), callbacks=[bar])  # fmt: skip
    elapsed = time.perf_counter() - t0
    assert out.flushes <= 10 * elapsed + 3, (out.flushes, elapsed)
    text = re.sub(r"\r[^\r\n]*\x1b\[K", "", out.getvalue().replace("\r\x1b[K", ""))
    numbers = [int(line.split("/")[0]) for line in text.splitlines()[1:301]]
    assert numbers == list(range(1, 301))
