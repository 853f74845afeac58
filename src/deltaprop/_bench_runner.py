"""One benchmark measurement in a fresh process: ``python -m deltaprop._bench_runner SPEC``.

SPEC is a JSON object: ``task`` ("train", "race" or "infer"), ``system``, ``data`` (a directory
holding ``X.npy``, ``y.npy`` and, for the race, ``X_test.npy``, ``y_test.npy``), ``threads``,
``seed`` and the task's own fields. The process loads the data, sets the thread limits, builds
the system, warms it up (training only), measures, and prints one JSON object on its last line
of standard output: the measurement, or ``{"skipped": reason}`` when the system's package is not
installed or the system does not apply.

Training (``train``): ``{"seconds", "samples", "cpu_s", "note"}`` and, for deltaprop, ``loop_s``
(the batch loop alone, ``History.time``); only the ``run()`` call is timed. The race and
inference: see `deltaprop._bench_race`.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import numpy as np

__all__ = ["main", "run_spec"]


def _load(data, names):
    return [np.load(Path(data) / f"{name}.npy") for name in names]


def _pin_cores(threads):
    """Keep this process on `threads` cores: JAX sizes its thread pool from the cores it sees."""
    try:
        cores = sorted(os.sched_getaffinity(0))
        if len(cores) > threads:
            os.sched_setaffinity(0, cores[:threads])
        return f"pinned to {min(threads, len(cores))} of {len(cores)} cores"
    except (AttributeError, OSError):
        return f"all {os.cpu_count()} cores (no sched_setaffinity here)"


def _train(spec):
    from ._bench_systems import CONFIGS, make_system

    cfg = CONFIGS[spec["config"]]
    pinned = _pin_cores(spec["threads"]) if spec["system"] == "jax" else None
    X, y = _load(spec["data"], ("X", "y"))
    X = X.astype(cfg["dtype"], copy=False)
    system = make_system(
        spec["system"],
        cfg,
        X,
        y,
        epochs=spec.get("epochs", 1),
        threads=spec["threads"],
        book_fraction=spec.get("book_fraction", 0.05),
        seed=spec["seed"],
    )
    if isinstance(system, str):
        return {"skipped": system}
    system.warmup()
    c0 = time.process_time()
    seconds, samples = system.run()
    out = {
        "seconds": seconds,
        "samples": samples,
        "cpu_s": time.process_time() - c0,
        "note": system.note + (f"; {pinned}" if pinned else ""),
    }
    loop = getattr(system, "loop_times", None)
    if loop:
        out["loop_s"] = loop[-1]
    return out


def _race(spec):
    from . import _bench_race as race

    X, y, Xt, yt = _load(spec["data"], ("X", "y", "X_test", "y_test"))
    kw = dict(target=spec["target"], epochs=spec["epochs"], seed=spec["seed"])
    if spec["system"] == "deltaprop":
        return race.race_deltaprop(X, y, Xt, yt, **kw)
    try:
        return race.race_pytorch(X, y, Xt, yt, threads=spec["threads"], **kw)
    except ImportError:
        return {"skipped": "not installed (pip install torch)"}


def _infer(spec):
    from . import _bench_race as race

    (X,) = _load(spec["data"], ("X",))
    kw = dict(singles=spec["singles"], big_calls=spec["big_calls"], seed=spec["seed"])
    if spec["system"] == "deltaprop":
        return race.infer_deltaprop(X, **kw)
    if spec["system"] == "onnxruntime":
        try:
            return race.infer_onnxruntime(X, threads=spec["threads"], **kw)
        except ImportError:
            return {"skipped": "not installed (pip install onnx onnxruntime)"}
    try:
        return race.infer_pytorch(X, threads=spec["threads"], **kw)
    except ImportError:
        return {"skipped": "not installed (pip install torch)"}


TASKS = {"train": _train, "race": _race, "infer": _infer}


def run_spec(spec):
    """Measure what `spec` asks for, under its thread limits; the result as a dict."""
    from ._bench_machine import thread_limits

    with thread_limits(spec["threads"]):
        return TASKS[spec["task"]](spec)


def main(argv=None):
    """Print the measurement of the spec in ``argv[0]`` as the last line of stdout."""
    argv = sys.argv[1:] if argv is None else argv
    spec = json.loads(argv[0])
    out = run_spec(spec)
    sys.stdout.write(json.dumps(out, default=float) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
