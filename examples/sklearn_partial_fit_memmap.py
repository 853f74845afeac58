"""Train on a data set that stays on disk: partial_fit over chunks of a numpy memmap.

    python examples/sklearn_partial_fit_memmap.py [--rows 200000] [--chunk 5000]

The example writes a synthetic 10-class problem (Gaussian clusters in 50 dimensions) to a
float32 memmap on disk, chunk by chunk, so that it never sits in memory whole. Training then
reads one chunk at a time and calls ``partial_fit`` on it: one epoch over the chunk, with the
optimizer's state (Adam's moment estimates) carried from call to call. Only the chunk in hand
and the network occupy memory.
"""

import argparse
import tempfile
import warnings
from pathlib import Path

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from deltaprop.sklearn import MLPClassifier

warnings.simplefilter("ignore", ConvergenceWarning)

parser = argparse.ArgumentParser()
parser.add_argument("--rows", type=int, default=200_000)
parser.add_argument("--chunk", type=int, default=5_000)
parser.add_argument("--passes", type=int, default=2)
args = parser.parse_args()

n_features, n_classes = 50, 10
rng = np.random.default_rng(0)
centres = rng.normal(scale=0.3, size=(n_classes, n_features))

with tempfile.TemporaryDirectory() as tmp:
    X_path, y_path = Path(tmp) / "X.f32", Path(tmp) / "y.i64"
    X = np.memmap(X_path, dtype=np.float32, mode="w+", shape=(args.rows, n_features))
    y = np.memmap(y_path, dtype=np.int64, mode="w+", shape=(args.rows,))
    for start in range(0, args.rows, args.chunk):
        stop = min(start + args.chunk, args.rows)
        labels = rng.integers(n_classes, size=stop - start)
        X[start:stop] = centres[labels] + rng.normal(size=(stop - start, n_features))
        y[start:stop] = labels
    X.flush()
    y.flush()
    del X, y
    print(
        f"wrote {args.rows} x {n_features} float32 ({X_path.stat().st_size / 2**20:.0f} MiB) "
        f"to {X_path}"
    )

    # Read-only views of the files: slicing reads only the rows asked for.
    X = np.memmap(X_path, dtype=np.float32, mode="r", shape=(args.rows, n_features))
    y = np.memmap(y_path, dtype=np.int64, mode="r", shape=(args.rows,))
    n_test = args.chunk
    clf = MLPClassifier((64,), learning_rate_init=3e-3, random_state=0)
    for p in range(args.passes):
        for start in range(n_test, args.rows, args.chunk):
            stop = min(start + args.chunk, args.rows)
            clf.partial_fit(X[start:stop], y[start:stop], classes=np.arange(n_classes))
        acc = clf.score(X[:n_test], y[:n_test])
        print(
            f"pass {p + 1}: {clf.t_} samples seen, last chunk's loss {clf.loss_:.4f}, "
            f"held-out accuracy {acc:.3f}"
        )
    print(f"network: {clf.network_} ({clf.network_.dtype}: follows the memmap's float32)")
    # For comparison only (the demo data are small enough): fit on everything in memory, with
    # as many epochs as passes above.
    whole = MLPClassifier((64,), learning_rate_init=3e-3, max_iter=args.passes, random_state=0)
    whole.fit(np.asarray(X[n_test:]), np.asarray(y[n_test:]))
    print(
        f"fit on the whole array in memory: held-out accuracy "
        f"{whole.score(X[:n_test], y[:n_test]):.3f}"
    )
