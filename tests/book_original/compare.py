"""The book's chapter-1 and chapter-3 runs, original code next to deltaprop.book.

Not part of the test suite (it takes minutes): run it by hand, e.g.

    OPENBLAS_NUM_THREADS=1 PYTHONPATH=src python tests/book_original/compare.py \\
        --data /work/shared/datasets/mnist --chapter 1 --epochs 3 --rounds 2

(On a shared 2-core machine OpenBLAS's two-thread mode made float64 products of this size
erratic, the same epoch taking anywhere from 0.5 to 10 s; one thread keeps both runs steady
and costs the original nothing: its products are matrix-vector ones.)

Each run is the book's own call, ``SGD(training_data, epochs, ...)`` once, after the same
``np.random.seed`` and ``random.seed``; the time of each epoch is read off the moments SGD
prints its "Epoch ..." lines (for chapter 1 the line comes after the test-set count; for
chapter 3 it comes before the monitors, so an epoch's time holds the previous epoch's
monitors, and the last one its own). Original and
deltaprop.book take turns for `rounds` rounds, so that both see the same load on a shared
machine; both the wall-clock and the CPU time of this process are measured (the latter is
what other processes on a shared machine disturb least). Prints every line each run printed
with its epoch times, then the median ratios.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import random
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from book_original import network as original1  # noqa: E402
from book_original import network2 as original2  # noqa: E402
from deltaprop.book import mnist_loader  # noqa: E402
from deltaprop.book import network as book1  # noqa: E402
from deltaprop.book import network2 as book2  # noqa: E402


class EpochClock(io.StringIO):
    """Captures what SGD prints, noting the time of every write that starts an epoch line."""

    def __init__(self):
        super().__init__()
        self.marks = [_now()]

    def write(self, text):
        if text.startswith("Epoch"):
            self.marks.append(_now())
        return super().write(text)


def _now():
    """(wall-clock, CPU) seconds: the CPU time of this process is what other processes on a
    shared machine disturb least."""
    return np.array([time.perf_counter(), time.process_time()])


def run(module, chapter, train, evaluation, epochs, seed):
    """(network, printed lines, per-epoch seconds) of the book's run with `module`."""
    np.random.seed(seed)
    random.seed(seed)
    data = list(train)
    clock = EpochClock()
    with contextlib.redirect_stdout(clock):
        if chapter == 1:
            net = module.Network([784, 30, 10])
            net.SGD(data, epochs, 10, 3.0, test_data=evaluation)
        else:
            net = module.Network([784, 30, 10], cost=module.CrossEntropyCost)
            net.SGD(data, epochs, 10, 0.5, lmbda=5.0, evaluation_data=evaluation,
                    monitor_evaluation_accuracy=True)  # fmt: skip
    end = _now()
    marks = clock.marks
    seconds = [b - a for a, b in zip(marks, marks[1:])]  # (wall, CPU) per epoch
    seconds[-1] = seconds[-1] + (end - marks[-1])  # chapter 3: the last epoch's monitors
    lines = [line for line in clock.getvalue().splitlines() if line]
    return net, lines, seconds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None, help="directory of the MNIST IDX files")
    parser.add_argument("--chapter", type=int, choices=(1, 3), default=1)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--seed", type=int, default=12345)
    args = parser.parse_args(argv)
    train, validation, test = mnist_loader.load_data_wrapper(args.data, download=False)
    evaluation = test if args.chapter == 1 else validation
    modules = {"original": original1, "deltaprop.book": book1}
    if args.chapter == 3:
        modules = {"original": original2, "deltaprop.book": book2}
    print(f"chapter {args.chapter}: {len(train)} training images, {args.epochs} epochs")
    times = {name: [] for name in modules}
    nets = {}
    for r in range(args.rounds):
        for name, module in modules.items():
            nets[name], lines, seconds = run(
                module, args.chapter, train, evaluation, args.epochs, args.seed
            )
            times[name] += seconds
            print(f"round {r}, {name}:")
            for line, s in zip(lines if args.chapter == 1 else lines[1::2], seconds):
                print(f"  {line:<40} [{s[0]:.2f} s, CPU {s[1]:.2f} s]")
    a, b = nets["original"], nets["deltaprop.book"]
    diff = max(np.abs(p - q).max() for p, q in zip(a.weights + a.biases, b.weights + b.biases))
    print(f"max |parameter difference| after {args.epochs} epochs: {diff:.3g}")
    for i, what in enumerate(("wall-clock", "CPU")):
        t_orig = statistics.median(s[i] for s in times["original"])
        t_book = statistics.median(s[i] for s in times["deltaprop.book"])
        print(f"median epoch ({what}): original {t_orig:.2f} s, deltaprop.book {t_book:.3f} s, "
              f"ratio {t_orig / t_book:.1f}x")  # fmt: skip


if __name__ == "__main__":
    main()
