"""Paired rounds in fresh processes: the benchmark's answer to a machine whose speed swings.

A round runs deltaprop and one other system back to back, each in a fresh runner process
(``python -m deltaprop._bench_runner``), the order alternating from round to round; within the
round the ratio deltaprop ÷ other is taken (both rates were measured minutes, not hours, apart,
under nearly the same load). A comparison reports the median of these paired ratios with their
minimum and maximum, the median rates, and per round the CPU time that other processes used
(all busy CPU time in /proc/stat minus this process's and its runners', see `OthersMeter`).

The data are written once to a temporary directory as ``.npy`` files; each runner loads them
before it starts its clock.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from pathlib import Path

import numpy as np

from ._bench_machine import OthersMeter, child_env

__all__ = ["Runner", "RunnerError", "write_data", "paired_rounds", "summarize", "rates_of"]


class RunnerError(RuntimeError):
    """A runner process failed: a bug or a crash (its standard error is in the message)."""


def write_data(directory, **arrays):
    """Each array to ``directory/NAME.npy``."""
    for name, a in arrays.items():
        np.save(Path(directory) / f"{name}.npy", np.ascontiguousarray(a))


class Runner:
    """Runs one measurement spec in a fresh process and returns its JSON result as a dict."""

    def __init__(self, data_dir, threads, seed, timeout=3600):
        self.common = {"data": str(data_dir), "threads": threads, "seed": seed}
        self.timeout = timeout

    def __call__(self, spec):
        spec = {**self.common, **spec}
        proc = subprocess.run(
            [sys.executable, "-m", "deltaprop._bench_runner", json.dumps(spec)],
            capture_output=True,
            text=True,
            timeout=self.timeout,
            env=child_env(),
        )
        lines = proc.stdout.strip().splitlines()
        if proc.returncode != 0 or not lines:
            tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
            raise RunnerError(
                f"the {spec['system']} runner ({spec['task']}) ended with exit status "
                f"{proc.returncode} and no result:\n{tail}"
            )
        return json.loads(lines[-1])


def rates_of(task, system, result):
    """The rates (higher is faster) a result gives, by metric; None where there is none."""
    if task == "train":
        rate = result["samples"] / result["seconds"]
        rates = {"samples_per_s": rate}
        if "loop_s" in result:
            rates["loop_samples_per_s"] = result["samples"] / result["loop_s"]
        elif system == "bound":  # the bound is nothing but a batch loop
            rates["loop_samples_per_s"] = rate
        return rates
    if task == "race":  # speed = 1 / time to the target; none when it was not reached
        return {"speed": 1.0 / result["seconds"] if result["reached"] else None}
    return {k: result[k] for k in ("1", "1024")}


def _ratios(rates, a, b):
    """a's rate ÷ b's, per metric b reports (None where either is missing)."""
    out = {}
    for key, rb in rates[b].items():
        ra = rates[a].get(key)
        out[key] = ra / rb if ra is not None and rb else None
    return out


def paired_rounds(run, specs, rounds):
    """`rounds` rounds of `specs` (deltaprop's first, then at most one other) back to back.

    The order alternates: deltaprop first in even rounds, last in odd ones. Returns the list of
    rounds, or the reason string of the first runner that reported ``{"skipped": ...}``.
    """
    names = [s["system"] for s in specs]
    out = []
    for r in range(rounds):
        order = specs if r % 2 == 0 else specs[::-1]
        results = {}
        with OthersMeter() as meter:
            for spec in order:
                res = run(spec)
                if "skipped" in res:
                    return res["skipped"]
                results[spec["system"]] = res
        rates = {n: rates_of(specs[0]["task"], n, results[n]) for n in names}
        out.append(
            {
                "order": [s["system"] for s in order],
                "results": {n: {k: v for k, v in results[n].items() if k != "note"} for n in names},
                "rates": rates,
                "ratios": _ratios(rates, names[0], names[1]) if len(names) > 1 else {},
                "wall_s": round(meter.wall, 3),
                "others_cpu_s": None if meter.seconds is None else round(meter.seconds, 3),
                "others_cores": None if meter.cores is None else round(meter.cores, 3),
            }
        )
    out[0]["notes"] = {n: results[n].get("note", "") for n in names}
    return out


def _spread(values):
    """median, min, max and the values, of the values that are not None (None if none are)."""
    v = [x for x in values if x is not None]
    if not v:
        return None
    return {"median": statistics.median(v), "min": min(v), "max": max(v), "n": len(v)}


def summarize(rounds, names):
    """A comparison's summary: the paired ratios' spread, the median rates, the load per round.

    Returns
    -------
    dict
        ``rounds`` (count), ``ratios`` (metric → median/min/max/n, or None), ``rates``
        (system → metric → median), ``notes``, ``others_cpu_s``, ``others_cores`` and
        ``wall_s`` (one entry per round), ``detail`` (the rounds themselves).
    """
    metrics = list(rounds[0]["ratios"])
    rates = {
        n: {k: _spread([r["rates"][n][k] for r in rounds]) for k in rounds[0]["rates"][n]}
        for n in names
    }
    return {
        "rounds": len(rounds),
        "ratios": {k: _spread([r["ratios"][k] for r in rounds]) for k in metrics},
        "rates": {n: {k: (v["median"] if v else None) for k, v in rates[n].items()} for n in names},
        "notes": rounds[0]["notes"],
        "others_cpu_s": [r["others_cpu_s"] for r in rounds],
        "others_cores": [r["others_cores"] for r in rounds],
        "wall_s": [r["wall_s"] for r in rounds],
        "detail": rounds,
    }
