#!/usr/bin/env python3
"""Peak memory of training on the full MNIST set, and allocations per mini-batch once warm.

    python benchmarks/memory.py [--mnist DIR] [--epochs 2] [--json OUT] [--config NAME ...]

Each configuration runs in a fresh subprocess (so that its peak resident set size is its own):

1. import numpy and deltaprop, note the resident set size (RSS);
2. load MNIST with ``load_mnist(path=DIR, validation=0)`` in float32: 60,000 training and 10,000
   test images;
3. reset the peak RSS (``/proc/self/clear_refs``) and tracemalloc's peak, then ``fit`` for
   `--epochs` epochs;
4. report the peak of memory traced by tracemalloc (numpy reports every array buffer to it) and
   the peak RSS during training, against the bound below;
5. per batch, once warm: a callback reads tracemalloc's current and peak traced memory at batch
   k0 = 50 and k1 = k0 + N of the first epoch. (current(k1) − current(k0)) / N is the memory
   allocated and kept per batch; peak(k0..k1) − current(k0) is the largest transient working
   memory of a step (freed within the step). A second, short run compares tracemalloc
   snapshots at k0 and k1 and lists what allocated in between.

The bound (bytes), for n training rows, layer widths n_0..n_L, batch size m and itemsize s:

    D  the data as loaded: X_train, y_train, X_test, y_test (.nbytes; float32 X)
    T  fit's targets: n × n_L × s (labels one-hot encoded once)
    P  parameters × 6: θ, the gradient buffer, the epoch-start copy, the best-epoch copy and
       up to two optimizer state vectors (Adam's moments)
    E  the evaluation chunk: 4096 rows × Σ_{l≥1} n_l × s × 3 (Z^l, A^l and a temporary)
    W  the batch workspace: m × Σ_l n_l × s × 8
    S  the epoch's permutation n × 8, plus 2 MiB for Python objects

    bound = D + T + P + E + W + S

RSS adds the interpreter and shared libraries, so the RSS check is peak RSS during training
≤ RSS after the imports + bound + 32 MiB (allocator granularity and BLAS buffers).

Loading has its own, larger peak: the float32 data plus the uint8 pixels read from the IDX files
(70,000 × 784 bytes) while they are converted, plus 16 MiB for gzip buffers; it is reported
beside the training peak (load bound = D + pixels + 16 MiB).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

CONFIGS = {
    # name: (sizes, hidden activation, output activation, loss, optimizer, lr, batch size)
    "book-30": ([784, 30, 10], "sigmoid", "sigmoid", "quadratic", "sgd", 3.0, 10),
    "relu-256-128": ([784, 256, 128, 10], "relu", "softmax", "cross_entropy", "momentum", 0.05, 64),
}
DEFAULT_MNIST = "/work/shared/datasets/mnist"
K0, N_WINDOW = 50, 400


def _status(key):
    """A field of /proc/self/status in bytes (VmRSS, VmHWM), or None off Linux."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def _reset_peak_rss():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def child(name, mnist, epochs):
    import deltaprop as dp
    from deltaprop.datasets import load_mnist
    from deltaprop.training import Callback, TrainingInterrupted, fit

    sizes, act, out, loss, opt, lr, batch = CONFIGS[name]
    rss_imports = _status("VmRSS")
    tracemalloc.start()
    t0 = time.perf_counter()
    ds = load_mnist(path=mnist, validation=0, download=False, dtype="float32")
    load_s = time.perf_counter() - t0
    traced_load_peak = tracemalloc.get_traced_memory()[1]
    rss_load_peak = _status("VmHWM")
    data_bytes = sum(a.nbytes for a in (ds.X_train, ds.y_train, ds.X_test, ds.y_test))
    X, y = ds.X_train, ds.y_train
    n = X.shape[0]

    net = dp.Network(
        sizes, activation=act, output_activation=out, loss=loss, dtype="float32", seed=0
    )
    s = net.dtype.itemsize
    widths = sum(sizes[1:])
    bound = {
        "D data": data_bytes,
        "T targets": n * sizes[-1] * s,
        "P parameters x6": 6 * net.num_parameters * s,
        "E eval chunk": 4096 * widths * s * 3,
        "W batch workspace": batch * sum(sizes) * s * 8,
        "S permutation + objects": n * 8 + 2 * 2**20,
    }

    class Meter(Callback):
        """Traced memory at batches K0 and K0 + N of the first epoch."""

        def __init__(self):
            self.epoch = 0
            self.result = None

        def on_epoch_begin(self, epoch, n_batches):
            self.epoch = epoch

        def on_batch_end(self, b, cost):
            if self.epoch != 1:
                return
            if b == K0:
                cur, peak = tracemalloc.get_traced_memory()
                self.peak_before = peak
                tracemalloc.reset_peak()
                self.cur0 = tracemalloc.get_traced_memory()[0]
            elif b == K0 + N_WINDOW:
                cur, peak = tracemalloc.get_traced_memory()
                self.result = {
                    "net_bytes_per_batch": (cur - self.cur0) / N_WINDOW,
                    "net_bytes_window": cur - self.cur0,
                    "transient_peak_bytes": peak - self.cur0,
                }

    meter = Meter()
    gc_cur = tracemalloc.get_traced_memory()[0]
    tracemalloc.reset_peak()
    rss_reset = _reset_peak_rss()
    rss_before_fit = _status("VmRSS")
    t0 = time.perf_counter()
    history = fit(
        net,
        X,
        y,
        epochs=epochs,
        batch_size=batch,
        lr=lr,
        optimizer=opt,
        seed=0,
        callbacks=[meter],
        cost_every=10**9,
    )
    fit_s = time.perf_counter() - t0
    traced_train_peak = max(meter.peak_before, tracemalloc.get_traced_memory()[1])
    rss_train_peak = _status("VmHWM") if rss_reset else None

    # What allocates between K0 and K0 + N: snapshots in a separate, stopped run.
    class Snap(Callback):
        def on_batch_end(self, b, cost):
            if b == K0:
                self.s0 = tracemalloc.take_snapshot()
            elif b == K0 + N_WINDOW:
                self.s1 = tracemalloc.take_snapshot()
                raise KeyboardInterrupt

    snap = Snap()
    net2 = dp.Network(
        sizes, activation=act, output_activation=out, loss=loss, dtype="float32", seed=1
    )
    try:
        fit(
            net2,
            X,
            y,
            epochs=1,
            batch_size=batch,
            lr=lr,
            optimizer=opt,
            seed=0,
            callbacks=[snap],
            cost_every=10**9,
            train_metrics=False,
        )
    except TrainingInterrupted:
        pass
    filters = [tracemalloc.Filter(False, tracemalloc.__file__)]
    diff = snap.s1.filter_traces(filters).compare_to(snap.s0.filter_traces(filters), "lineno")
    allocators = [
        {"where": str(st.traceback), "size_diff": st.size_diff, "count_diff": st.count_diff}
        for st in diff
        if st.size_diff
    ][:8]
    tracemalloc.stop()

    bound_total = sum(bound.values())
    pixels = (ds.X_train.shape[0] + ds.X_test.shape[0]) * ds.X_train.shape[1]
    load_bound = data_bytes + pixels + 16 * 2**20
    return {
        "load_bound": load_bound,
        "traced_load_within_bound": traced_load_peak <= load_bound,
        "config": name,
        "sizes": sizes,
        "batch_size": batch,
        "optimizer": opt,
        "epochs": epochs,
        "n_train": n,
        "accuracy_last_epoch": history.accuracy[-1],
        "load_seconds": load_s,
        "fit_seconds": fit_s,
        "data_bytes": data_bytes,
        "bound_terms": bound,
        "bound_bytes": bound_total,
        "traced_load_peak": traced_load_peak,
        "traced_before_fit": gc_cur,
        "traced_train_peak": traced_train_peak,
        "traced_within_bound": traced_train_peak <= bound_total,
        "rss_after_imports": rss_imports,
        "rss_load_peak": rss_load_peak,
        "rss_before_fit": rss_before_fit,
        "rss_train_peak": rss_train_peak,
        "rss_bound": None if rss_imports is None else rss_imports + bound_total + 32 * 2**20,
        "rss_within_bound": (
            None
            if rss_train_peak is None
            else rss_train_peak <= rss_imports + bound_total + 32 * 2**20
        ),
        "per_batch": meter.result,
        "allocations_k0_k1": allocators,
    }


def _mb(x):
    return "-" if x is None else f"{x / 2**20:8.1f} MiB"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mnist", default=os.environ.get("DELTAPROP_MNIST", DEFAULT_MNIST))
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--config", action="append", choices=sorted(CONFIGS))
    parser.add_argument("--json", default=None, help="Write the results here.")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.mnist, args.epochs)))
        return 0
    results = []
    for name in args.config or list(CONFIGS):
        env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
        proc = subprocess.run(
            [
                sys.executable,
                __file__,
                "--child",
                name,
                "--mnist",
                args.mnist,
                "--epochs",
                str(args.epochs),
            ],
            capture_output=True,
            text=True,
            env=env,
        )
        if proc.returncode != 0:
            print(proc.stderr, file=sys.stderr)
            return proc.returncode
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        results.append(r)
        print(
            f"\n== {name}: {r['sizes']} batch {r['batch_size']} {r['optimizer']}, "
            f"{r['epochs']} epochs on {r['n_train']} images (float32) "
            f"in {r['fit_seconds']:.1f} s, accuracy {r['accuracy_last_epoch']:.4f}"
        )
        print(f"   data as loaded            {_mb(r['data_bytes'])}")
        for term, value in r["bound_terms"].items():
            print(f"     bound term {term:24s} {_mb(value)}")
        print(f"   bound                     {_mb(r['bound_bytes'])}")
        print(
            f"   traced peak, loading      {_mb(r['traced_load_peak'])}   load bound "
            f"{_mb(r['load_bound'])}, within: {r['traced_load_within_bound']}"
        )
        print(
            f"   traced peak, training     {_mb(r['traced_train_peak'])}   "
            f"within bound: {r['traced_within_bound']}"
        )
        print(f"   RSS after imports         {_mb(r['rss_after_imports'])}")
        print(f"   RSS peak, loading         {_mb(r['rss_load_peak'])}")
        print(
            f"   RSS peak, training        {_mb(r['rss_train_peak'])}   bound "
            f"{_mb(r['rss_bound'])}, within: {r['rss_within_bound']}"
        )
        pb = r["per_batch"]
        print(
            f"   per batch after warm-up (batches {K0}..{K0 + N_WINDOW}): "
            f"{pb['net_bytes_per_batch']:.2f} B kept per batch "
            f"({pb['net_bytes_window']} B over {N_WINDOW}), transient peak "
            f"{pb['transient_peak_bytes']} B"
        )
        for a in r["allocations_k0_k1"]:
            print(f"     {a['size_diff']:+8d} B {a['count_diff']:+5d}  {a['where']}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    ok = all(
        r["traced_within_bound"]
        and r["traced_load_within_bound"]
        and r["rss_within_bound"] is not False
        for r in results
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
