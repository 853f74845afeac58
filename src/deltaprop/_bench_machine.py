"""The machine a benchmark runs on: its load, BLAS libraries, thread limits and memory.

Timings mean little without the state of the machine: the load before the run and the CPU other
processes take during each measurement (from /proc/stat), the BLAS and OpenMP libraries and
kernels in use (threadpoolctl), PyTorch's build, and the peak memory of one epoch measured in a
separate process.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

__all__ = [
    "OthersMeter",
    "mean_cores",
    "machine_load",
    "blas_info",
    "torch_info",
    "cpu_model",
    "thread_limits",
    "measure_memory",
    "child_env",
]


def _busy_seconds():
    """CPU seconds all processes have spent outside idle, summed over cores (/proc/stat)."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        return (sum(v[:8]) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        return None


def _own_seconds():
    """CPU seconds of this process and of its children that have ended (os.times)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


class OthersMeter:
    """CPU used by other processes while a measurement runs: all busy time minus our own.

    "Our own" is this process's CPU time and that of the child processes it waited for during
    the measurement (``os.times``: the runner processes of a paired round); everything else
    /proc/stat counts as busy (user, nice, system, irq, softirq and steal time, summed over the
    cores) belongs to other processes (or, for steal, to other virtual machines). Without
    /proc/stat ``seconds`` and ``cores`` are None.
    """

    def __enter__(self):
        self.busy, self.cpu, self.wall = _busy_seconds(), _own_seconds(), time.perf_counter()
        return self

    def __exit__(self, *exc):
        busy = _busy_seconds()
        self.wall = time.perf_counter() - self.wall
        mine = _own_seconds() - self.cpu
        # /proc/stat counts in clock ticks (10 ms): meaningful summed over long stretches.
        self.seconds = (
            None if busy is None or self.busy is None else max(0.0, busy - self.busy - mine)
        )
        self.cores = None if self.seconds is None else self.seconds / max(self.wall, 1e-9)
        return False


def mean_cores(pairs):
    """Σ others' CPU seconds / Σ wall seconds over (seconds, wall) pairs, or None."""
    pairs = [(c, w) for c, w in pairs if c is not None]
    wall = sum(w for _, w in pairs)
    return round(sum(c for c, _ in pairs) / wall, 2) if pairs and wall > 0 else None


def machine_load(threads, seconds=2.0):
    """Load averages, cores kept busy by other processes over `seconds`, and a warning."""
    load = os.getloadavg() if hasattr(os, "getloadavg") else (math.nan,) * 3
    with OthersMeter() as meter:
        time.sleep(seconds)
    busy = meter.cores
    cores = os.cpu_count() or 1
    warn = None
    # The 1-minute load average lags (and counts this process's own threads once it runs), so
    # the busy cores measured just now decide; the load average decides only without /proc.
    if (busy is not None and busy > 0.2) or (busy is None and load[0] > 0.5):
        warn = (
            f"the machine is busy before the run ({busy if busy is not None else math.nan:.2f}"
            f" of {cores} cores busy over {seconds:g} s, load average {load[0]:.2f}): with "
            f"{threads} BLAS threads a busy core slows matrix products by large, erratic "
            f"factors; rerun on a quiet machine for numbers to compare"
        )
    return {
        "loadavg": [round(x, 2) for x in load],
        "busy_cores": None if busy is None else round(busy, 2),
        "cores": cores,
        "warning": warn,
    }


def blas_info():
    """The BLAS/OpenMP libraries threadpoolctl sees, with kernel (architecture) and threads."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return [{"note": "threadpoolctl is not installed"}]
    keep = (
        "user_api",
        "internal_api",
        "prefix",
        "version",
        "architecture",
        "corename",
        "threading_layer",
        "num_threads",
    )
    out = []
    for lib in threadpool_info():
        row = {k: lib[k] for k in keep if k in lib}
        row["file"] = os.path.basename(lib.get("filepath", ""))
        out.append(row)
    return out


def torch_info(threads):
    try:
        import torch
    except ImportError:
        return None
    cfg = torch.__config__.show()
    blas = next(
        (p.split("=")[1] for p in cfg.replace(",", "\n").split() if p.startswith("BLAS_INFO=")), "?"
    )
    mkl = next((ln.strip(" -") for ln in cfg.splitlines() if "Math Kernel Library" in ln), None)
    cap = next(
        (ln.split(":")[1].strip() for ln in cfg.splitlines() if "CPU capability" in ln), None
    )
    return {
        "version": torch.__version__,
        "blas": blas,
        "mkl": mkl,
        "cpu_capability": cap,
        "threads": torch.get_num_threads(),
        "requested_threads": threads,
    }


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _status_kb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return None


def _memory_probe(spec):
    """Run in a child process: peak memory of one epoch of configuration (2) with fit."""
    import tracemalloc

    from ._bench_systems import CONFIGS, load_data
    from .network import Network

    X, y, source, _ = load_data(spec["dataset"], spec["data_dir"], spec["samples"], spec["seed"])
    cfg = CONFIGS["2"]
    net = Network(
        cfg["sizes"],
        activation=cfg["hidden"],
        output_activation=cfg["output"],
        loss=cfg["loss"],
        dtype=cfg["dtype"],
        seed=spec["seed"],
    )
    out = {
        "data_bytes": int(X.nbytes + y.nbytes),
        "X_bytes": int(X.nbytes),
        "parameters_bytes": int(net.parameters.nbytes),
        "data": source,
    }
    hwm_load = _status_kb("VmHWM")
    out["peak_rss_loading_bytes"] = hwm_load * 1024 if hwm_load else None
    reset = False
    try:  # "5" resets the peak resident set size (Linux ≥ 4.0), so VmHWM measures fit alone.
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        reset = True
    except OSError:
        pass
    rss0 = _status_kb("VmRSS")
    fit_kw = dict(epochs=1, batch_size=cfg["batch"], lr=cfg["lr"])  # fit's defaults otherwise
    net.fit(X, y, **fit_kw)
    out["rss_before_fit_bytes"] = rss0 * 1024 if rss0 else None
    hwm = _status_kb("VmHWM")
    out["peak_rss_during_fit_bytes"] = hwm * 1024 if (hwm and reset) else None
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    net.fit(X, y, **fit_kw)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    out["tracemalloc_peak_fit_bytes"] = int(peak - base)
    return out


def measure_memory(*, dataset, data_dir, samples, threads, seed):
    """Peak memory of one fit epoch of configuration (2), measured in a fresh process.

    Returns the probe's measurements as a dict, or ``{"error": ...}`` when the probe failed.
    """
    spec = dict(dataset=dataset, data_dir=data_dir, samples=samples, threads=threads, seed=seed)
    code = "import sys; from deltaprop._bench_machine import memory_main; memory_main(sys.argv[1])"
    env = child_env()
    try:
        proc = subprocess.run(
            [sys.executable, "-c", code, json.dumps(spec)],
            capture_output=True,
            text=True,
            timeout=900,
            env=env,
        )
        return json.loads(proc.stdout.strip().splitlines()[-1])
    except (subprocess.SubprocessError, ValueError, IndexError) as exc:
        return {"error": f"memory probe failed: {exc}"}


def child_env():
    """The environment of a child process: it imports this package from where we found it."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(Path(__file__).resolve().parents[1])]
        + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])
    )
    return env


def memory_main(spec_json):
    """The probe process: measure under the thread limits and print one JSON line."""
    spec = json.loads(spec_json)
    with thread_limits(spec["threads"]):
        print(json.dumps(_memory_probe(spec)))


def thread_limits(threads):
    """threadpoolctl's limit on every BLAS and OpenMP pool, or nothing without threadpoolctl."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=threads)
