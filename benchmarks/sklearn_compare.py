"""deltaprop.sklearn.MLPClassifier against sklearn.neural_network.MLPClassifier, side by side.

Same data, same architecture, same optimiser settings (by default: one hidden layer of 100 ReLU
units, softmax output, Adam with η = 1e-3, batches of 200, alpha = 1e-4) and a fixed number of
epochs (tol = 0 and n_iter_no_change = inf, so that neither library stops early). For each
data set the script reports, per variant, the test accuracy (mean and spread over seeds) and
the median fit time, and the ratio of scikit-learn's fit time to deltaprop's.

    python benchmarks/sklearn_compare.py                      # digits and MNIST
    python benchmarks/sklearn_compare.py --datasets digits --repeats 5 --threads 1
    python benchmarks/sklearn_compare.py --json results.json

MNIST is read from the standard IDX files (``--mnist-dir``, default
/work/shared/datasets/mnist, or $DELTAPROP_MNIST): 60,000 training and 10,000 test images,
pixels scaled to [0, 1]. Digits is scikit-learn's 8×8 set, split 75/25 (stratified, seed 0),
pixels scaled to [0, 1].
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np


def load_digits_split():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16.0, y, test_size=0.25, random_state=0, stratify=y)


def load_mnist_split(directory):
    """MNIST's 60,000 training and 10,000 test images, read and verified by deltaprop."""
    from deltaprop.datasets import load_mnist

    ds = load_mnist(directory, download=False, validation=0, dtype="float64")
    return ds.X_train, ds.X_test, ds.y_train, ds.y_test


def variants(args):
    from sklearn.neural_network import MLPClassifier as SkMLP

    from deltaprop.sklearn import MLPClassifier as DpMLP

    common = dict(
        hidden_layer_sizes=tuple(args.hidden),
        activation="relu",
        solver="adam",
        alpha=args.alpha,
        batch_size=args.batch_size,
        learning_rate_init=args.learning_rate,
        tol=0.0,
        n_iter_no_change=np.inf,
    )
    return {
        "sklearn float64": (SkMLP, common, np.float64),
        "sklearn float32": (SkMLP, common, np.float32),
        "deltaprop float64": (DpMLP, {**common, "dtype": "float64"}, np.float64),
        "deltaprop float32": (DpMLP, {**common, "dtype": "float32"}, np.float32),
    }


def run_one(cls, params, dtype, data, epochs, seed):
    X_train, X_test, y_train, y_test = data
    Xtr = np.ascontiguousarray(X_train, dtype=dtype)
    Xte = np.ascontiguousarray(X_test, dtype=dtype)
    clf = cls(max_iter=epochs, random_state=seed, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: the epoch count is fixed on purpose
        t0 = time.perf_counter()
        clf.fit(Xtr, y_train)
        fit_time = time.perf_counter() - t0
    assert clf.n_iter_ == epochs, (cls, clf.n_iter_)
    return {
        "fit_time": fit_time,
        "accuracy": float(clf.score(Xte, y_test)),
        "final_loss": float(clf.loss_curve_[-1]),
    }


def bench(name, data, epochs, args):
    rows = {}
    for label, (cls, params, dtype) in variants(args).items():
        if args.only and not any(o in label for o in args.only):
            continue
        runs = [run_one(cls, params, dtype, data, epochs, seed) for seed in range(args.repeats)]
        acc = [r["accuracy"] for r in runs]
        times = [r["fit_time"] for r in runs]
        rows[label] = {
            "accuracy_mean": statistics.mean(acc),
            "accuracy_min": min(acc),
            "accuracy_max": max(acc),
            "fit_time_median": statistics.median(times),
            "fit_times": times,
            "final_loss_mean": statistics.mean(r["final_loss"] for r in runs),
        }
        print(
            f"  {label:<18} accuracy {100 * rows[label]['accuracy_mean']:6.2f} % "
            f"[{100 * min(acc):.2f}, {100 * max(acc):.2f}]   "
            f"fit {statistics.median(times):8.3f} s"
            f"   final loss {rows[label]['final_loss_mean']:.4f}",
            flush=True,
        )
    sk = rows.get("sklearn float64", {}).get("fit_time_median")
    for label, row in rows.items():
        if sk and label.startswith("deltaprop"):
            row["speedup_vs_sklearn_float64"] = sk / row["fit_time_median"]
            print(
                f"  sklearn float64 / {label}: {row['speedup_vs_sklearn_float64']:.2f}x "
                f"faster (fit time ratio)"
            )
    return {
        "dataset": name,
        "n_train": int(len(data[0])),
        "n_test": int(len(data[1])),
        "epochs": epochs,
        "results": rows,
    }


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--datasets", nargs="+", default=["digits", "mnist"], choices=["digits", "mnist"]
    )
    p.add_argument(
        "--mnist-dir", default=os.environ.get("DELTAPROP_MNIST", "/work/shared/datasets/mnist")
    )
    p.add_argument("--hidden", type=int, nargs="+", default=[100])
    p.add_argument("--alpha", type=float, default=1e-4)
    p.add_argument("--batch-size", type=int, default=200)
    p.add_argument("--learning-rate", type=float, default=1e-3)
    p.add_argument("--digits-epochs", type=int, default=50)
    p.add_argument("--mnist-epochs", type=int, default=10)
    p.add_argument("--repeats", type=int, default=3, help="seeds per variant")
    p.add_argument("--threads", type=int, default=None, help="BLAS threads (threadpoolctl)")
    p.add_argument("--only", nargs="*", default=None, help="run variants whose name contains this")
    p.add_argument("--json", default=None, help="write the results here")
    args = p.parse_args(argv)

    # Import both libraries (and every BLAS they load) before limiting the BLAS threads.
    import sklearn
    import sklearn.neural_network  # noqa: F401
    from threadpoolctl import threadpool_info, threadpool_limits

    import deltaprop.sklearn  # noqa: F401

    limiter = None
    if args.threads is not None:
        limiter = threadpool_limits(args.threads, user_api="blas")
    blas = [
        f"{i.get('internal_api')} {i.get('version')} threads={i.get('num_threads')}"
        for i in threadpool_info()
        if i.get("user_api") == "blas"
    ]
    env = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "sklearn": sklearn.__version__,
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "blas": blas,
    }
    print(f"environment: {env}")
    out = {
        "environment": env,
        "settings": {k: v for k, v in vars(args).items() if k not in ("json",)},
        "benchmarks": [],
    }
    for name in args.datasets:
        if name == "digits":
            data, epochs = load_digits_split(), args.digits_epochs
        else:
            data, epochs = load_mnist_split(args.mnist_dir), args.mnist_epochs
        print(
            f"{name}: {len(data[0])} train / {len(data[1])} test, {epochs} epochs, "
            f"hidden {args.hidden}, batch {args.batch_size}, alpha {args.alpha}",
            flush=True,
        )
        out["benchmarks"].append(bench(name, data, epochs, args))
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2))
    if limiter is not None:
        limiter.restore_original_limits()
    return 0


if __name__ == "__main__":
    sys.exit(main())
