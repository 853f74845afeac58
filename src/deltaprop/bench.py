"""The benchmark suite: full training epochs, side by side, in paired rounds of fresh processes.

Every system trains the same network on the same MNIST-shaped data (60,000 × 784, 10 classes;
the real MNIST training set, read and verified by `deltaprop.datasets.load_mnist`, when its IDX
files are found, else uniform random numbers of that shape) for whole epochs of shuffled
mini-batches:

- **deltaprop**: ``Network.fit`` with its defaults, as a user runs it: the training cost and
  accuracy of each epoch accumulated from the batches' own forward passes
  (``train_metrics="running"``); the whole call is timed, its argument checks included;
- **PyTorch** eager on the CPU: ``nn.Sequential`` of ``nn.Linear`` layers, ``torch.optim.SGD``,
  mini-batches gathered by ``index_select`` from a fresh ``randperm`` each epoch (no DataLoader);
- **scikit-learn**: ``MLPClassifier(solver="sgd", momentum=0, alpha=0)``, one epoch per
  ``fit`` call with ``warm_start=True, max_iter=1``. Its output layer is always softmax with
  log-loss, so on configuration (1) it computes softmax + cross-entropy where the others compute
  sigmoid + quadratic cost (the same matrix products, a slightly different output layer);
- **JAX** (optional, ``pip install jax``): ``jax.jit`` of a whole epoch, ``lax.scan`` over
  shuffled index batches with an SGD step on the same cost (see `deltaprop._bench_jax`);
- **book loop**: the textbook's ``network.py`` (``update_mini_batch``/``backprop``, one column
  vector per sample), reimplemented faithfully (`book_network`) and timed on a fraction of an
  epoch, then extrapolated (configuration (1) only: the book's code is sigmoid + quadratic);
- **matmul bound**: only the matrix products an epoch needs, at the same shapes and dtype, in
  the same batch loop: per batch and layer A Wᵀ (forward), Δᵀ A (BP4) and, above the first
  layer, Δ W (BP2). A training step cannot be faster than its matrix products;
- **PyTorch's matmul bound**: the same products on the same arrays, multiplied by PyTorch's BLAS
  (``torch.mm(..., out=)``). Beside the matmul bound it tells which library multiplies these
  shapes faster on the machine, and so how far deltaprop, whose products are numpy's, can lead
  PyTorch at all.

**Paired rounds.** Each comparison is ``--rounds`` rounds; a round runs deltaprop and the other
system back to back, each in a fresh process that loads the data, warms up on a slice of it and
times ``--epochs`` epochs; the order alternates between rounds. The report gives per comparison
the median of the paired ratios (deltaprop's samples/s ÷ the other's within the round; for the
matmul bound, the bound's time ÷ deltaprop's, the fraction of the bound reached) with their
range, the median rates, and per round the CPU time other processes used meanwhile
(`_bench_machine.OthersMeter`). See `deltaprop._bench_paired`.

``--race`` adds a time-to-accuracy race (the ``modern`` preset's recipe in deltaprop and in
PyTorch until a test accuracy, 98% by default) and ``--inference`` the throughput of
``Network.predict`` at batch 1 and 1,024 against PyTorch's; both in paired rounds too (see
`deltaprop._bench_race`).

The run records the thread count (``--threads`` sets threadpoolctl's BLAS and OpenMP limits and
``torch.set_num_threads`` alike in every runner; JAX's process is pinned to that many cores),
the BLAS libraries and kernels in use, the machine's load before it starts, and, in a separate
process, the peak memory of one full epoch of configuration (2) against the data's own size.
Results go to ``bench.json`` and ``bench.md`` in ``--out`` (``bench-quick.*`` with
``--quick``).

This module holds the suite (`run_suite`, `run_config`, `run_race`, `run_inference`) and the
``deltaprop bench`` command (`command`; `main` runs it outside ``deltaprop``, as
``benchmarks/run.py`` does). The systems and data live in ``_bench_systems`` (JAX in
``_bench_jax``, the race and inference in ``_bench_race``), the runner process in
``_bench_runner``, the pairing in ``_bench_paired``, the machine's state and the memory probe in
``_bench_machine``, the Markdown report in ``_bench_report``.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import shlex
import statistics
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import click
import numpy as np

from ._bench_machine import (
    blas_info,
    cpu_model,
    machine_load,
    mean_cores,
    measure_memory,
    thread_limits,
    torch_info,
)
from ._bench_paired import Runner, paired_rounds, summarize, write_data
from ._bench_report import targets, to_markdown
from ._bench_systems import (
    CONFIGS,
    SYSTEMS,
    TITLES,
    book_network,
    load_data,
    load_race_data,
    why_not,
)
from ._validation import DeltapropError

__all__ = ["command", "main", "run_suite", "Settings", "CONFIGS", "SYSTEMS", "load_data"]
__all__ += ["book_network", "to_markdown", "run_config", "run_race", "run_inference"]

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
_BLAS_ENV = (
    "OPENBLAS_CORETYPE",
    "OPENBLAS_L2_SIZE",
    "OPENBLAS_NUM_THREADS",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
)


@dataclass
class Settings:
    """What one run measures: the command's options after ``--quick`` has been applied."""

    configs: list = field(default_factory=lambda: list(CONFIGS))
    systems: list = field(default_factory=lambda: list(SYSTEMS))
    epochs: int = 1
    rounds: int = 5
    threads: int = 2
    quick: bool = False
    dataset: str = "auto"
    data_dir: str | None = None
    samples: int | None = None
    book_fraction: float = 0.05
    memory: bool = True
    seed: int = 0
    race: bool = False
    race_target: float = 0.98
    race_epochs: int = 10
    race_rounds: int = 3
    inference: bool = False


def _cores(values):
    """Per-round core counts as text: "0.01, 0.35" (n/a without /proc/stat)."""
    return ", ".join("n/a" if v is None else f"{v:.2f}" for v in values)


# ---------------------------------------------------------------------- one configuration
def run_config(key, run, settings, log):
    """Every system of `settings` paired with deltaprop on configuration `key`; a result dict.

    Parameters
    ----------
    key : str
        A key of CONFIGS.
    run : callable
        Runs one spec in a fresh process (a `Runner`).
    settings : Settings
    log : callable
        Receives each progress line.

    Returns
    -------
    dict
        The configuration, ``comparisons`` (system → `summarize`'s summary), ``systems``
        (system → median samples/s and note), ``ratios`` (system → median paired ratio),
        ``skipped`` (system → why), and the other processes' load.
    """
    cfg = CONFIGS[key]
    result = {"config": key, **cfg, "comparisons": {}, "systems": {}, "ratios": {}, "skipped": {}}
    log(f"\n{cfg['label']}")
    spec = {"task": "train", "config": key, "epochs": settings.epochs}
    spec["book_fraction"] = settings.book_fraction
    others = [s for s in settings.systems if s != "deltaprop"]
    for name in others:
        why = why_not(name, cfg)
        if why:
            result["skipped"][name] = why
            log(f"  {TITLES[name]:>13}: skipped, {why}")
            continue
        rounds = paired_rounds(
            run, [{**spec, "system": "deltaprop"}, {**spec, "system": name}], settings.rounds
        )
        if isinstance(rounds, str):
            result["skipped"][name] = rounds
            log(f"  {TITLES[name]:>13}: skipped, {rounds}")
            continue
        comp = result["comparisons"][name] = summarize(rounds, ["deltaprop", name])
        result["ratios"][name] = comp["ratios"]["samples_per_s"]["median"]
        _log_comparison(name, comp, log)
    if not result["comparisons"]:  # deltaprop alone: still measured in fresh processes
        rounds = paired_rounds(run, [{**spec, "system": "deltaprop"}], settings.rounds)
        result["alone"] = summarize(rounds, ["deltaprop"])
    _system_rows(result)
    _load_warning(result, log)
    return result


def _log_comparison(name, comp, log):
    r, rates = comp["ratios"]["samples_per_s"], comp["rates"]
    log(
        f"  deltaprop ÷ {TITLES[name]:<13} {r['median']:5.2f} (median of paired ratios, "
        f"{r['min']:.2f}–{r['max']:.2f}, {r['n']} round(s)); samples/s: deltaprop "
        f"{rates['deltaprop']['samples_per_s']:,.0f}, {TITLES[name]} "
        f"{rates[name]['samples_per_s']:,.0f}; other processes (cores per round): "
        f"{_cores(comp['others_cores'])}"
    )


def _system_rows(result):
    """Per system: the median samples/s over all its measurements in this configuration."""
    comps = list(result["comparisons"].values()) or [result["alone"]]
    samples = {}
    for comp in comps:
        for r in comp["detail"]:
            for name, rates in r["rates"].items():
                samples.setdefault(name, []).append(rates)
    for name, rates in samples.items():
        row = {
            "samples_per_s": statistics.median(x["samples_per_s"] for x in rates),
            "measurements": len(rates),
            "note": next(c["notes"][name] for c in comps if name in c["notes"]),
        }
        if name == "deltaprop":
            row["batch_loop_samples_per_s"] = statistics.median(
                x["loop_samples_per_s"] for x in rates
            )
        result["systems"][name] = row


def _all_rounds(result):
    comps = list(result["comparisons"].values()) + ([result["alone"]] if "alone" in result else [])
    return [r for c in comps for r in c["detail"]]


def _load_warning(result, log):
    """Record (and warn about) the cores other processes kept busy during the rounds."""
    pairs = [(r["others_cpu_s"], r["wall_s"]) for r in _all_rounds(result)]
    busy_all = mean_cores(pairs)
    worst = max((mean_cores([p]) or 0.0 for p in pairs if p[1] >= 0.5), default=None)
    result["others_cores"], result["others_cores_max"] = busy_all, worst
    if (busy_all or 0) > 0.1 or (worst or 0) > 0.3:
        result["warning"] = (
            f"other processes kept {busy_all:.2f} cores busy on average "
            f"(up to {worst or 0:.2f} in one round) during this configuration: "
            f"compare its paired ratios, not its rates"
        )
        log(f"  WARNING: {result['warning']}")


# ---------------------------------------------------------------------- race and inference
def run_race(run, settings, log):
    """The time-to-accuracy race, deltaprop against PyTorch, in paired rounds; a dict."""
    spec = {"task": "race", "target": settings.race_target, "epochs": settings.race_epochs}
    names = ["deltaprop"] + [s for s in ("pytorch",) if s in settings.systems]
    out = {"target": settings.race_target, "epochs": settings.race_epochs, "skipped": {}}
    why = why_not("pytorch", CONFIGS["2"]) if len(names) > 1 else None
    if why:
        out["skipped"]["pytorch"], names = why, ["deltaprop"]
    log(
        f"\nrace to {100 * settings.race_target:g}% test accuracy (the modern preset's recipe, "
        f"at most {settings.race_epochs} epochs), {settings.race_rounds} round(s)"
    )
    rounds = paired_rounds(run, [{**spec, "system": n} for n in names], settings.race_rounds)
    if isinstance(rounds, str):  # only PyTorch can be missing: rerun deltaprop alone
        out["skipped"]["pytorch"], names = rounds, ["deltaprop"]
        rounds = paired_rounds(run, [{**spec, "system": "deltaprop"}], settings.race_rounds)
    out["comparison"] = summarize(rounds, names)
    out["systems"] = {}
    for n in names:
        res = [r["results"][n] for r in rounds]
        row = out["systems"][n] = {
            "seconds_median": statistics.median(x["seconds"] for x in res),
            "epochs": [x["epochs"] for x in res],
            "reached": [x["reached"] for x in res],
            "accuracy": [x["accuracy"] for x in res],
            "note": out["comparison"]["notes"][n],
        }
        log(
            f"  {TITLES[n]:>13}: {row['seconds_median']:.2f} s (median), epochs "
            f"{row['epochs']}, reached {row['reached']}, test accuracy "
            f"{', '.join(f'{a:.4f}' for a in row['accuracy'])}"
        )
    ratio = out["comparison"]["ratios"].get("speed")
    if ratio:
        log(
            f"  PyTorch's time ÷ deltaprop's: {ratio['median']:.2f} (median of paired ratios, "
            f"{ratio['min']:.2f}–{ratio['max']:.2f}, {ratio['n']} round(s))"
        )
    return out


def run_inference(run, settings, log):
    """``Network.predict`` against PyTorch at batch 1 and 1,024, in paired rounds; a dict."""
    spec = {"task": "infer", "singles": 1000 if settings.quick else 5000}
    spec["big_calls"] = 10 if settings.quick else 50
    names = ["deltaprop"] + [s for s in ("pytorch",) if s in settings.systems]
    out = {"batches": [1, 1024], "calls": {"1": spec["singles"], "1024": spec["big_calls"]}}
    out["skipped"] = {}
    why = why_not("pytorch", CONFIGS["2"]) if len(names) > 1 else None
    if why:
        out["skipped"]["pytorch"], names = why, ["deltaprop"]
    log(f"\ninference throughput (samples/s), {settings.rounds} round(s)")
    if len(names) > 1:  # beside PyTorch (the ratio's reference): the same network's ONNX export
        if _installed("onnx") and _installed("onnxruntime"):
            names.append("onnxruntime")
        else:
            out["skipped"]["onnxruntime"] = "not installed (pip install onnx onnxruntime)"
    rounds = paired_rounds(run, [{**spec, "system": n} for n in names], settings.rounds)
    if isinstance(rounds, str):
        out["skipped"]["pytorch"], names = rounds, ["deltaprop"]
        rounds = paired_rounds(run, [{**spec, "system": "deltaprop"}], settings.rounds)
    comp = out["comparison"] = summarize(rounds, names)
    if "onnxruntime" in names:
        comp["onnx_ratios"] = {
            b: statistics.median(
                r["rates"]["deltaprop"][b] / r["rates"]["onnxruntime"][b] for r in rounds
            )
            for b in ("1", "1024")
        }
    for b in ("1", "1024"):
        line = f"  batch {b:>4}: " + ", ".join(
            f"{TITLES[n]} {comp['rates'][n][b]:,.0f}" for n in names
        )
        r = comp["ratios"].get(b)
        if r:
            line += f"; ratio {r['median']:.2f} ({r['min']:.2f}–{r['max']:.2f})"
        if "onnx_ratios" in comp:
            line += f"; deltaprop ÷ ONNX Runtime {comp['onnx_ratios'][b]:.2f}"
        log(line)
    return out


def _installed(module):
    import importlib.util

    return importlib.util.find_spec(module) is not None


# ---------------------------------------------------------------------- the whole run
def _prepare_data(settings, tmp, log):
    """Load the data, write it where the runners read it; (description, samples, note)."""
    args = (settings.dataset, settings.data_dir, settings.samples, settings.seed)
    if settings.race:
        X, y, X_test, y_test, source, note = load_race_data(*args)
        write_data(tmp, X=X, y=y, X_test=X_test, y_test=y_test)
    else:
        X, y, source, note = load_data(*args)
        write_data(tmp, X=X, y=y)
    if note:
        log(f"note: {note}")
    log(f"data: {source}, X {X.shape} {X.dtype}")
    return source, X.shape[0], note


def run_suite(settings, log=print, command="deltaprop bench"):
    """Run every configuration and system of `settings`; the report as a dict.

    Parameters
    ----------
    settings : Settings
    log : callable
        Receives each progress line.
    command : str
        The command line, recorded in the report.

    Returns
    -------
    dict
        ``meta`` (machine, libraries, load), ``results`` (per configuration key), ``race``
        and ``inference`` (None unless asked for), ``targets`` and ``memory``; `to_markdown`
        renders it.
    """
    load_start = machine_load(settings.threads, seconds=1.0 if settings.quick else 2.0)
    log(
        f"load before the run: {load_start['loadavg']} (1/5/15 min), "
        f"{load_start['busy_cores']} of {load_start['cores']} cores busy with other processes"
    )
    if load_start["warning"]:
        log(f"WARNING: {load_start['warning']}")
    with tempfile.TemporaryDirectory(prefix="deltaprop-bench-") as tmp:
        source, n, note = _prepare_data(settings, tmp, log)
        run = Runner(tmp, settings.threads, settings.seed)
        with thread_limits(settings.threads):
            libs = {"blas": blas_info()}
            libs["torch"] = torch_info(settings.threads) if "pytorch" in settings.systems else None
        _log_blas(libs["blas"], log)
        results = {key: run_config(key, run, settings, log) for key in settings.configs}
        race = run_race(run, settings, log) if settings.race else None
        inference = run_inference(run, settings, log) if settings.inference else None
    memory = None
    if settings.memory:
        log("\nmemory probe (configuration (2), one epoch, separate process) ...")
        memory = measure_memory(
            dataset="random" if settings.dataset == "random" or note else "mnist",
            data_dir=settings.data_dir,
            samples=settings.samples,
            threads=settings.threads,
            seed=settings.seed,
        )
    meta = _meta(settings, command, source, n, libs, load_start)
    if meta["env"]["OPENBLAS_CORETYPE"]:
        log(
            f"note: OPENBLAS_CORETYPE={meta['env']['OPENBLAS_CORETYPE']} overrides OpenBLAS's "
            f"own kernel choice"
        )
    report = {"meta": meta, "results": results, "race": race, "inference": inference}
    report.update(targets=targets(results, race), memory=memory)
    return report


def _log_blas(blas, log):
    for lib in blas:
        if lib.get("user_api") == "blas":
            log(
                f"BLAS: {lib.get('internal_api')} {lib.get('version')} kernel "
                f"{lib.get('architecture')} threads {lib.get('num_threads')} ({lib['file']})"
            )


def _versions():
    """Versions of the optional systems' packages (None where not installed)."""
    from importlib import metadata

    out = {}
    for package in ("scikit-learn", "jax", "jaxlib"):
        try:
            out[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            out[package] = None
    return out


def _meta(settings, command, source, samples, libs, load_start):
    """The run's circumstances: command, data, machine, libraries, environment, load."""
    versions = _versions()
    return {
        "date": _dt.datetime.now().isoformat(timespec="seconds"),
        "command": command,
        "data": source,
        "samples": int(samples),
        "epochs": settings.epochs,
        "rounds": settings.rounds,
        "threads": settings.threads,
        "quick": settings.quick,
        "seed": settings.seed,
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "sklearn": versions["scikit-learn"],
        "jax": versions["jax"],
        "blas": libs["blas"],
        "torch": libs["torch"],
        "env": {k: os.environ.get(k) for k in _BLAS_ENV},
        "load_start": load_start,
        "load_end": {"loadavg": [round(x, 2) for x in os.getloadavg()]},
    }


# ---------------------------------------------------------------------- the command
def _names(valid, what, none=False):
    """A click callback: comma-separated names among `valid` -> a list (BadParameter if not).

    With `none`, the word "none" gives an empty list.
    """

    def parse(ctx, param, value):
        if none and value.strip() == "none":
            return []
        names = [v.strip() for v in value.split(",") if v.strip()]
        bad = [v for v in names if v not in valid]
        if bad or not names:
            raise click.BadParameter(
                f"{', '.join(map(repr, bad)) or 'nothing'} given; expected {what} among "
                f"{', '.join(valid)}, separated by commas" + (", or none" if none else "")
            )
        return names

    return parse


def _deprecated(new):
    """A click callback for an old option spelling: warn once, keep the value."""

    def warn(ctx, param, value):
        if value is not None:
            click.echo(f"warning: {param.opts[0]} is deprecated; use {new}", err=True)
        return value

    return warn


def _check_out(out):
    """The --out directory, checked before a run that may last minutes (None for '')."""
    if not out:
        return None
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise DeltapropError(f"--out {out!r} is a file; expected a directory")
    existing = next(p for p in [path, *path.absolute().parents] if p.exists())
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise DeltapropError(f"--out {out!r}: directory {str(existing)!r} is not writable")
    return path


def _command_line(ctx):
    """The command as typed, rebuilt from the options given on the command line."""
    from click.core import ParameterSource

    words = [ctx.command_path]
    for param in ctx.command.params:
        if ctx.get_parameter_source(param.name) is not ParameterSource.COMMANDLINE:
            continue
        value = ctx.params[param.name]
        if getattr(param, "is_flag", False):
            words.append(param.opts[0] if value else param.secondary_opts[0])
        else:
            value = ",".join(value) if isinstance(value, list) else value
            words += [param.opts[0], shlex.quote(str(value))]
    return " ".join(words)


def _write_report(report, out_dir, stem):
    """bench.json and bench.md (or bench-quick.*) into out_dir, atomically; their paths."""
    from .io import atomic_write_text

    out_dir.mkdir(parents=True, exist_ok=True)
    paths = out_dir / f"{stem}.json", out_dir / f"{stem}.md"
    atomic_write_text(paths[0], json.dumps(report, indent=2, default=float) + "\n")
    atomic_write_text(paths[1], to_markdown(report))
    return paths


@click.command(
    name="bench",
    short_help="Benchmark training speed against other systems.",
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.option(
    "--configs",
    default=",".join(CONFIGS),
    show_default=True,
    callback=_names(tuple(CONFIGS), "configurations", none=True),
    help="Configurations, comma-separated: 1 ([784,30,10] sigmoid, batch 10), 2 "
    "([784,256,128,10] ReLU, batch 64), 3 (the same, batch 256), 2d ((2) in float64); "
    "none for no training comparison (with --race or --inference).",
)
@click.option(
    "--systems",
    default=",".join(SYSTEMS),
    show_default=True,
    callback=_names(SYSTEMS, "systems"),
    help="Systems, comma-separated: deltaprop, pytorch, sklearn (scikit-learn), jax (optional: "
    "pip install jax), book (the book's per-sample loop), bound (the matrix products alone), "
    "pytorch-bound (the same products multiplied by PyTorch). "
    "deltaprop is always measured: every other system is paired with it.",
)
@click.option(
    "--epochs",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Epochs per measurement.",
)
@click.option(
    "--rounds",
    type=click.IntRange(min=1),
    default=None,
    help="Paired rounds per comparison (deltaprop and the other system back to back, each in "
    "a fresh process, the order alternating); the median of the paired ratios is reported. "
    "[default: 5; 3 with --quick]",
)
@click.option(
    "--threads",
    type=click.IntRange(min=1),
    default=2,
    show_default=True,
    help="Threads for BLAS, OpenMP and PyTorch alike.",
)
@click.option(
    "--quick",
    is_flag=True,
    help="A short run: 10,000 samples, 3 rounds unless --rounds says otherwise, no memory probe.",
)
@click.option(
    "--dataset",
    type=click.Choice(["auto", "mnist", "random"]),
    default="auto",
    show_default=True,
    help="mnist (downloaded if missing), random numbers of its shape, or auto: MNIST when "
    "found locally, else random.",
)
@click.option(
    "--data-dir",
    type=click.Path(exists=True, file_okay=False),
    default=None,
    help="Directory holding the MNIST IDX files (then MNIST is required); also searched: "
    "$DELTAPROP_DATA, the cache.",
)
@click.option(
    "--samples", type=click.IntRange(min=1), default=None, help="Use the first N training samples."
)
@click.option(
    "--book-fraction",
    type=click.FloatRange(0, 1, min_open=True),
    default=0.05,
    show_default=True,
    help="Fraction of an epoch the book's loop is timed on.",
)
@click.option(
    "--memory/--no-memory",
    default=None,
    help="Measure one epoch's peak memory in a separate process (default: on, off with --quick).",
)
@click.option(
    "--seed",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Seed of the initial weights and of the random data.",
)
@click.option(
    "--race",
    is_flag=True,
    help="Also race deltaprop against PyTorch to a test accuracy with the modern preset's "
    "recipe (Adam, cosine decay, batch 64), each in a fresh process.",
)
@click.option(
    "--race-target",
    type=click.FloatRange(0, 1, min_open=True),
    default=0.98,
    show_default=True,
    help="The race's test accuracy.",
)
@click.option(
    "--race-epochs",
    type=click.IntRange(min=1),
    default=10,
    show_default=True,
    help="The race's epochs at most (the cosine decay spans them; the recipe's: 10).",
)
@click.option(
    "--race-rounds",
    type=click.IntRange(min=1),
    default=3,
    show_default=True,
    help="Paired rounds of the race.",
)
@click.option(
    "--inference",
    is_flag=True,
    help="Also measure Network.predict's throughput at batch 1 and 1,024 against PyTorch's.",
)
@click.option(
    "--out",
    default="benchmarks/results",
    show_default=True,
    help="Directory for bench.json and bench.md ('' for nowhere).",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress lines or table.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
@click.option(
    "--mnist-dir",
    type=click.Path(exists=True, file_okay=False),
    hidden=True,
    callback=_deprecated("--data-dir"),
)
@click.option(
    "--repeats",
    type=click.IntRange(min=1),
    hidden=True,
    callback=_deprecated("--rounds"),
)
@click.pass_context
def command(ctx, quiet, as_json, out, mnist_dir, repeats, **options):
    """Benchmark training speed: deltaprop against PyTorch, scikit-learn, JAX, the book's
    per-sample loop and the matrix-multiply bound, full epochs on MNIST-shaped data, in paired
    rounds of fresh processes; optionally a race to a test accuracy and inference speed."""
    options["data_dir"] = options["data_dir"] or mnist_dir
    options["rounds"] = options["rounds"] or repeats or (3 if options["quick"] else 5)
    if options["quick"]:
        options["samples"] = options["samples"] or 10000
    if options["memory"] is None:
        options["memory"] = not options["quick"]
    options["systems"] = ["deltaprop"] + [s for s in options["systems"] if s != "deltaprop"]
    if not (options["configs"] or options["race"] or options["inference"]):
        raise click.UsageError("--configs none measures nothing without --race or --inference")
    settings = Settings(**options)
    out_dir = _check_out(out)
    log = (lambda msg: None) if quiet or as_json else (lambda msg: click.echo(msg))
    report = run_suite(settings, log, _command_line(ctx))
    stem = "bench-quick" if settings.quick else "bench"
    paths = _write_report(report, out_dir, stem) if out_dir is not None else None
    if as_json:
        click.echo(json.dumps(report, default=float))
        return
    log("\n" + to_markdown(report))
    if paths:
        log(f"written: {paths[0]}, {paths[1]}")


def main(argv=None, prog="deltaprop bench", **defaults) -> int:
    """Run the benchmark command outside ``deltaprop``; returns its exit status.

    Errors end as the ``deltaprop`` command's do: one line on stderr and status 2 for bad
    options, the library's errors and OSError; 130 for Ctrl-C; anything else propagates.

    Parameters
    ----------
    argv : list of str, optional
        Command-line arguments (default: ``sys.argv[1:]``).
    prog : str
        The program name shown in ``--help`` and recorded with the results.
    **defaults
        Option defaults by parameter name, e.g. ``out="benchmarks/results"``.
    """
    try:
        command.main(args=argv, prog_name=prog, standalone_mode=False, default_map=defaults or None)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except (click.exceptions.Abort, KeyboardInterrupt):
        click.echo("interrupted", err=True)
        return EXIT_INTERRUPTED
    except click.ClickException as exc:
        click.echo(f"error: {exc.format_message()} (see `{prog} --help`)", err=True)
        return EXIT_USAGE
    except (DeltapropError, OSError) as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        click.echo(f"error: {message}", err=True)
        return EXIT_USAGE
    return 0


if __name__ == "__main__":
    sys.exit(main())
