"""What the `deltaprop train` display costs: quiet, piped and in a terminal (a pty).

Runs the command as a user would, in three ways, alternating them:

- quiet:    ``--json`` (no display at all; the JSON object gives the training time);
- piped:    stdout and stderr to a pipe that this script drains;
- terminal: stdout and stderr on a pseudo-terminal of 80x24 that this script drains (as a
  terminal emulator would, without drawing).

For each it reports the minimum and the median training time (the fit with its callbacks,
display included: ``metrics.wall_time`` of the JSON object, or the time the command prints
after training) and the minimum and median wall time of the whole process (Python's start-up,
data loading and the final table included). The display's cost on the training loop is a
mode's training time minus the quiet one, as a share of the quiet one; on a shared machine the
minimum is the better estimate.

On a shared machine the processes' times vary by more than the display costs; ``--in-process``
measures the training loop alone, in this process, with the same networks and data as the
command: ``fit`` without a display, with ``EpochLog`` writing into a pipe and with
``ProgressBar`` writing into an 80x24 pty (each drained by another process), alternated, the
minimum and the median of many runs; ``--per-epoch`` times the display's hooks alone. Usage::

    python benchmarks/display_cost.py                       # this tree's src/
    python benchmarks/display_cost.py --src /other/tree/src --repeat 7
    python benchmarks/display_cost.py --in-process --repeat 30
    python benchmarks/display_cost.py --per-epoch
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import pty
import re
import select
import statistics
import struct
import subprocess
import sys
import termios
import time
import tty
from pathlib import Path

RUNS = {
    "moons (200 epochs)": [
        "--dataset", "moons", "--layers", "2-16-16-2", "--activation", "tanh",
        "--output-activation", "softmax", "--loss", "cross_entropy", "--optimizer", "adam",
        "--lr", "0.01", "--epochs", "200",
    ],
    "digits (30 epochs)": [],
}  # fmt: skip


def _command(src, args):
    env = dict(os.environ, PYTHONPATH=src)
    env.pop("COLUMNS", None)
    env.pop("LINES", None)
    return [sys.executable, "-m", "deltaprop", "train", *args, "--out", ""], env


def _drain(fd):
    """Read `fd` until EOF (EIO on a pty whose other side closed); returns what it read."""
    chunks = []
    while True:
        ready, _, _ = select.select([fd], [], [], 60)
        if not ready:
            raise TimeoutError("no output for 60 s")
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            return b"".join(chunks)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


# The training time the command prints: "200 epochs in 453 ms" (or, before the display was
# a callback, a summary line ending in ", 1.2 s").
_PRINTED = re.compile(rb"(?:epochs? in ([\d.]+) (ms|s)\b|, ([\d.]+) (s)\s*$)", re.M)


def _printed_time(out):
    found = _PRINTED.findall(out)
    if not found:
        raise ValueError(f"no training time in the output: {out[-500:]!r}")
    a, unit_a, b, unit_b = found[-1]
    value, unit = (a, unit_a) if a else (b, unit_b)
    return float(value) / (1000 if unit == b"ms" else 1)


def run_quiet(src, args):
    cmd, env = _command(src, [*args, "--json"])
    t0 = time.perf_counter()
    out = subprocess.run(cmd, env=env, check=True, capture_output=True).stdout
    return time.perf_counter() - t0, json.loads(out)["metrics"]["wall_time"]


def run_piped(src, args):
    cmd, env = _command(src, args)
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = _drain(proc.stdout.fileno())
    proc.wait()
    return time.perf_counter() - t0, _printed_time(out)


def run_terminal(src, args, rows=24, cols=80):
    cmd, env = _command(src, args)
    env["TERM"] = "xterm-256color"
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdin=slave, stdout=slave, stderr=slave,
                            close_fds=True)  # fmt: skip
    os.close(slave)
    try:
        out = _drain(master)
    finally:
        os.close(master)
    proc.wait()
    text = re.sub(rb"\x1b\[[0-9;?]*[A-Za-z]", b"", out).replace(b"\r", b"\n")
    return time.perf_counter() - t0, _printed_time(text)


def in_process(src, repeat):
    """Training time without a display, piped and in a pty, measured inside this process."""
    sys.path.insert(0, src)
    from deltaprop import Network, datasets
    from deltaprop.history import TrainingConfig
    from deltaprop.progress import EpochLog, ProgressBar
    from deltaprop.training import fit_config

    runs = {
        "moons (200 epochs)": (
            "moons", dict(sizes=[2, 16, 16, 2], activation="tanh", output_activation="softmax",
                          loss="cross_entropy", init="normal"),
            dict(epochs=200, batch_size=10, lr=0.01, optimizer="adam", restore_best=True),
        ),
        "digits (30 epochs)": (
            "digits", dict(sizes=[64, 30, 10], init="normal"),
            dict(epochs=30, batch_size=10, lr=3.0, restore_best=True),
        ),
    }  # fmt: skip
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    tty.setraw(slave)  # no echo, no newline translation: bytes through, as to a terminal
    read_end, write_end = os.pipe()
    # The readers are other processes, as a terminal emulator or a log collector would be.
    readers = [subprocess.Popen(["cat"], stdin=fd, stdout=subprocess.DEVNULL) for fd in
               (master, read_end)]  # fmt: skip
    os.close(master)
    os.close(read_end)
    streams = {
        "quiet": None,
        "piped": open(write_end, "w", encoding="utf-8"),
        "terminal": open(slave, "w", encoding="utf-8"),
    }
    print(f"src: {src}; in-process training time, min / median of {repeat} runs, alternated")
    print("| run | quiet | piped (EpochLog) | terminal (ProgressBar) |")
    print("|---|---|---|---|")
    for name, (dataset, net_kwargs, fit_kwargs) in runs.items():
        kwargs = {"seed": 0} if dataset == "moons" else {}
        ds = datasets.load(dataset, **kwargs)
        times = {mode: [] for mode in streams}
        for _ in range(repeat):
            for mode, stream in streams.items():
                net = Network(net_kwargs["sizes"], dtype="float32", seed=0,
                              **{k: v for k, v in net_kwargs.items() if k != "sizes"})  # fmt: skip
                cbs = []
                if mode == "piped":
                    cbs = [EpochLog(stream)]
                elif mode == "terminal":
                    cbs = [ProgressBar(stream)]
                config = TrainingConfig(seed=0, **fit_kwargs)
                t0 = time.perf_counter()
                fit_config(net, ds.X_train, ds.y_train, config,
                           validation_data=(ds.X_val, ds.y_val), callbacks=cbs)  # fmt: skip
                times[mode].append(time.perf_counter() - t0)
        q = min(times["quiet"])
        cells = [f"{q * 1000:.1f} ms / {statistics.median(times['quiet']) * 1000:.1f} ms"]
        for mode in ("piped", "terminal"):
            lo, med = min(times[mode]), statistics.median(times[mode])
            cells.append(f"{lo * 1000:.1f} ms ({(lo - q) / q:+.1%}) / {med * 1000:.1f} ms")
        print(f"| {name} | {' | '.join(cells)} |", flush=True)
    for stream in streams.values():
        if stream is not None:
            stream.close()
    for reader in readers:
        reader.wait(timeout=10)


def per_epoch(src, n=20000):
    """The display's own time per epoch and per batch: its hooks called alone, writing to
    /dev/null (a pty's reader adds its wake-ups on top)."""
    sys.path.insert(0, src)
    from types import SimpleNamespace

    from deltaprop.history import History, TrainingConfig
    from deltaprop.progress import EpochLog, ProgressBar

    logs = {"epoch": 1, "lr": 0.01, "time": 0.001, "cost": 0.1, "accuracy": 0.9,
            "val_cost": 0.1, "val_accuracy": 0.9}  # fmt: skip
    info = {"epochs": 200, "n_train": 120, "batch_size": 10, "start_epoch": 0}
    print(f"src: {src}; hooks alone, mean of {n} calls")
    print("| display | per epoch (begin + end) | per batch |")
    print("|---|---|---|")
    for cls in (EpochLog, ProgressBar):
        display = cls(open(os.devnull, "w", encoding="utf-8"))
        display.set_run(SimpleNamespace(history=History(), config=TrainingConfig()))
        display.on_train_begin(info)
        t0 = time.perf_counter()
        for i in range(n):
            display.on_epoch_begin(i % 200 + 1, 12)
            display.on_epoch_end(i % 200 + 1, logs)
        epoch = (time.perf_counter() - t0) / n
        t0 = time.perf_counter()
        for i in range(n):
            display.on_batch_end(i % 12 + 1, None)
        batch = (time.perf_counter() - t0) / n
        print(f"| {cls.__name__} | {epoch * 1e6:.1f} µs | {batch * 1e6:.2f} µs |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_src = str(Path(__file__).resolve().parents[1] / "src")
    parser.add_argument("--src", default=default_src, help="the src/ directory to measure")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--in-process", action="store_true", help="the training loop alone")
    parser.add_argument("--per-epoch", action="store_true", help="the display's hooks alone")
    opts = parser.parse_args()
    if opts.per_epoch:
        per_epoch(opts.src)
        return
    if opts.in_process:
        in_process(opts.src, opts.repeat)
        return
    modes = {"quiet": run_quiet, "piped": run_piped, "terminal": run_terminal}
    print(f"src: {opts.src}; min / median of {opts.repeat} runs per mode, alternated")
    print("| run | training: quiet | piped | terminal | process: quiet | piped | terminal |")
    print("|---|---|---|---|---|---|---|")
    for name, args in RUNS.items():
        wall = {mode: [] for mode in modes}
        fit = {mode: [] for mode in modes}
        for _ in range(opts.repeat):
            for mode, fn in modes.items():
                w, f = fn(opts.src, args)
                wall[mode].append(w)
                fit[mode].append(f)
        q = min(fit["quiet"])
        cells = [f"{q:.3f} / {statistics.median(fit['quiet']):.3f} s"]
        for m in ("piped", "terminal"):
            lo = min(fit[m])
            cells.append(f"{lo:.3f} ({(lo - q) / q:+.0%}) / {statistics.median(fit[m]):.3f} s")
        cells += [f"{min(wall[m]):.2f} / {statistics.median(wall[m]):.2f} s" for m in modes]
        print(f"| {name} | {' | '.join(cells)} |", flush=True)


if __name__ == "__main__":
    main()
