"""What `deltaprop train` shows, watched as a user watches it: in an 80x24 pseudo-terminal,
emulated by pyte, and through a pipe, read line by line with timestamps while it runs."""

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

import deltaprop as dp

pyte = pytest.importorskip("pyte")

SRC = str(Path(dp.__file__).resolve().parents[1])
ROWS, COLS = 24, 80
# A permanent epoch line: "k/N", cost, accuracy, val cost, val accuracy, η, time, maybe "*".
EPOCH_LINE = re.compile(
    r"^\s*(\d+)/(\d+)\s+(\d+\.\d{4})\s+(\d+\.\d\d%)\s+(\d+\.\d{4})\s+(\d+\.\d\d%)\s+(\S+)"
    r"\s+(\d+(?:\.\d)? ms|\d+\.\d s|\d+:\d\d)(\s+\*)?$"
)
BAR = re.compile(r"^epoch (\d+)/(\d+)\s+\S+\s+(\d+)/(\d+)\s.*ETA (\d+:\d\d|-:--)$")


def _env(**extra):
    env = dict(os.environ, PYTHONPATH=SRC, **extra)
    for name in ("COLUMNS", "LINES", "NO_COLOR"):
        env.pop(name, None)
    return env


class Terminal:
    """The command on a pty of ROWS x COLS; `feed` reads what it wrote into a pyte screen."""

    def __init__(self, args, cwd):
        self.screen = pyte.Screen(COLS, ROWS)
        self.stream = pyte.ByteStream(self.screen)
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "deltaprop", *args], stdin=slave, stdout=slave,
            stderr=slave, cwd=cwd, env=_env(TERM="xterm-256color"), close_fds=True,
        )  # fmt: skip
        os.close(slave)
        self.raw = b""

    def feed(self, timeout=60.0):
        """Read one chunk into the screen; False at the end of the output."""
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            raise TimeoutError(f"no output for {timeout} s; screen:\n{self.text()}")
        try:
            data = os.read(self.master, 65536)
        except OSError:  # EIO: the command exited and closed the terminal
            return False
        self.raw += data
        self.stream.feed(data)
        return bool(data)

    def lines(self):
        return [line.rstrip() for line in self.screen.display]

    def text(self):
        return "\n".join(self.lines())

    def finish(self):
        while self.feed():
            pass
        os.close(self.master)
        return self.proc.wait(timeout=60)


def _last_epoch_line(lines):
    numbers = [int(m.group(1)) for m in map(EPOCH_LINE.match, lines) if m]
    return max(numbers) if numbers else 0


def test_the_current_epoch_stays_visible_in_a_terminal(tmp_path):
    # 100 epochs on the digits at batch 5 (1077 samples: 216 batches an epoch), watched until
    # 60 epochs have finished, while the command still runs.
    term = Terminal(["train", "--epochs", "100", "--batch-size", "5", "--lr", "1"], tmp_path)
    mid = None
    while term.feed():
        lines = term.lines()
        last = _last_epoch_line(lines)
        # (an epoch's line and the next epoch's bar are two writes: wait for both)
        bars = [int(m.group(1)) for m in map(BAR.match, lines) if m]
        if last >= 60 and bars == [last + 1] and term.proc.poll() is None:
            mid = lines
            break
    assert mid is not None, f"the run ended before epoch 60 was seen:\n{term.text()}"
    rc = term.finish()
    assert rc == 0, term.text()

    filled = [line for line in mid if line]
    # The screen's last line is the live bar of the epoch after the last finished one.
    bar = BAR.match(filled[-1])
    assert bar, "\n".join(mid)
    last = _last_epoch_line(mid)
    assert int(bar.group(1)) == last + 1 and int(bar.group(2)) == 100
    assert int(bar.group(4)) == 216 and 0 <= int(bar.group(3)) <= 216
    # Above it, the finished epochs' permanent lines in order, each with validation metrics.
    above = [EPOCH_LINE.match(line) for line in filled[-ROWS:-1]]
    assert all(above), "\n".join(mid)
    numbers = [int(m.group(1)) for m in above]
    assert numbers == list(range(last - len(numbers) + 1, last + 1))
    assert all(0 <= float(m.group(6)[:-1]) <= 100 for m in above)
    # One bar on the screen at a time, never wider than the terminal, and no elision.
    assert sum(bool(BAR.match(line)) for line in mid) == 1
    assert all(len(line) < COLS for line in mid if BAR.match(line))
    assert not any("…" in line for line in mid)

    final = term.lines()
    assert not any(BAR.match(line) for line in final), term.text()  # the bar is gone
    assert any(line.startswith("results (weights of epoch") for line in final)
    assert any("model not saved" in line for line in final)
    # Every epoch's line went to the terminal exactly once.
    text = re.sub(rb"\x1b\[[0-9;]*[A-Za-z]", b"", term.raw).decode()
    finished = [int(m.group(1)) for m in map(EPOCH_LINE.match, re.split(r"[\r\n]", text)) if m]
    assert finished == list(range(1, 101))


def test_piped_lines_arrive_while_the_command_runs(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-m", "deltaprop", "train", "--epochs", "30", "--batch-size", "2",
         "--lr", "0.5"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path, env=_env(),
    )  # fmt: skip
    arrivals = []  # (seconds since start, line, whether the command was still running)
    t0 = time.monotonic()
    for raw in proc.stdout:
        arrivals.append((time.monotonic() - t0, raw.decode().rstrip("\n"), proc.poll() is None))
    assert proc.wait(timeout=60) == 0, proc.stderr.read().decode()
    ended = time.monotonic() - t0

    epochs = [(t, EPOCH_LINE.match(line), alive) for t, line, alive in arrivals]
    epochs = [(t, m, alive) for t, m, alive in epochs if m]
    assert [int(m.group(1)) for _, m, _ in epochs] == list(range(1, 31))
    # The first epoch's line arrived while the command was still running, well before the end;
    # the lines came as the epochs finished: the time between the first and the last line
    # covers the training time of the epochs in between (buffered lines would arrive together;
    # a reader that the system schedules late sees a few together: hence 0.5).
    trained = sum(_seconds(m.group(8)) for _, m, _ in epochs[1:])
    assert epochs[0][2] and epochs[0][0] < ended - 0.5 * trained, (ended, arrivals)
    assert epochs[-1][0] - epochs[0][0] >= 0.5 * trained, (trained, arrivals)
    # Plain text only: no bar, no escape sequences, no carriage returns.
    text = "\n".join(line for _, line, _ in arrivals)
    assert "\x1b" not in text and "\r" not in text and "ETA" not in text
    assert arrivals[0][1].startswith("deltaprop: training 64-30-10")
    assert any(line.startswith("results (weights of epoch") for _, line, _ in arrivals)


def _seconds(text):
    value, unit = text.split()
    return float(value) / 1000 if unit == "ms" else float(value)


def test_early_stopping_and_restored_weights_are_announced(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "deltaprop", "train", "--dataset", "moons", "--epochs", "400",
         "--patience", "3", "--lr", "0.5"],
        capture_output=True, text=True, cwd=tmp_path, env=_env(), timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    stopped = [line for line in lines if line.startswith("stopped at epoch")]
    assert stopped and re.fullmatch(
        r"stopped at epoch (\d+): val_accuracy did not improve for 3 epochs", stopped[0]
    ), proc.stdout
    last = int(stopped[0].split()[3].rstrip(":"))
    restored = [line for line in lines if line.startswith(("restored epoch", "kept the last"))]
    assert restored, proc.stdout
    best = int(re.search(r"restored epoch (\d+)", restored[0]).group(1)) if (
        restored[0].startswith("restored")) else last  # fmt: skip
    assert f"results (weights of epoch {best})" in proc.stdout
    marked = [int(m.group(1)) for m in map(EPOCH_LINE.match, lines) if m and m.group(9)]
    assert marked[-1] == best
