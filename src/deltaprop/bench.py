"""The benchmark suite: full training epochs, side by side, in one run.

Every system trains the same network on the same MNIST-shaped data (60,000 × 784, 10 classes;
the real MNIST training set, read and verified by `deltaprop.datasets.load_mnist`, when its IDX
files are found, else uniform random numbers of that shape) for whole epochs of shuffled
mini-batches:

- **deltaprop**: ``Network.fit(..., train_metrics=False)``, what a user runs; the whole call is
  timed, its argument checks included;
- **PyTorch** eager on the CPU: ``nn.Sequential`` of ``nn.Linear`` layers, ``torch.optim.SGD``,
  mini-batches gathered by ``index_select`` from a fresh ``randperm`` each epoch (no DataLoader);
- **scikit-learn**: ``MLPClassifier(solver="sgd", momentum=0, alpha=0)``, one epoch per
  ``fit`` call with ``warm_start=True, max_iter=1``. Its output layer is always softmax with
  log-loss, so on configuration (1) it computes softmax + cross-entropy where the others compute
  sigmoid + quadratic cost (the same matrix products, a slightly different output layer);
- **book loop**: the textbook's ``network.py`` (``update_mini_batch``/``backprop``, one column
  vector per sample), reimplemented faithfully (`book_network`) and timed on a fraction of an
  epoch, then extrapolated (configuration (1) only: the book's code is sigmoid + quadratic);
- **matmul bound**: only the matrix products an epoch needs, at the same shapes and dtype, in
  the same batch loop: per batch and layer A Wᵀ (forward), Δᵀ A (BP4) and, above the first
  layer, Δ W (BP2). A training step cannot be faster than its matrix products.

Systems alternate measurement by measurement (the order reversed every other round) after a
warm-up on a slice of the data; each reports the median of ``--repeats`` measurements of
``--epochs`` epochs. The run records the thread count (``--threads`` sets threadpoolctl's BLAS
and OpenMP limits and ``torch.set_num_threads`` alike), the BLAS libraries and kernels in use,
the machine's load before it starts (warning when other processes keep a core busy), and, in a
separate process, the peak memory of one full epoch of configuration (2) against the data's own
size. Results go to ``bench.json`` and ``bench.md`` in ``--out`` (``bench-quick.*`` with
``--quick``).

Timings are noisy on a busy machine: with two threads, a second core kept busy by another
process slows every BLAS call that waits for its partner thread. Read the load lines first.

This module holds the measurement loop (`run_suite`, `run_config`) and the ``deltaprop bench``
command (`command`; `main` runs it outside ``deltaprop``, as ``benchmarks/run.py`` does). The
systems and data live in ``_bench_systems``, the machine's state and the memory probe in
``_bench_machine``, the Markdown report in ``_bench_report``.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import platform
import shlex
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import click
import numpy as np

from ._bench_machine import (
    OthersMeter,
    blas_info,
    cpu_model,
    machine_load,
    mean_cores,
    measure_memory,
    thread_limits,
    torch_info,
)
from ._bench_report import targets, to_markdown
from ._bench_systems import CONFIGS, SYSTEMS, TITLES, book_network, load_data, make_system
from ._validation import DeltapropError

__all__ = ["command", "main", "run_suite", "Settings", "CONFIGS", "SYSTEMS", "load_data"]
__all__ += ["book_network", "to_markdown"]

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
    repeats: int = 5
    threads: int = 2
    quick: bool = False
    dataset: str = "auto"
    data_dir: str | None = None
    samples: int | None = None
    book_fraction: float = 0.05
    memory: bool = True
    seed: int = 0


# ---------------------------------------------------------------------- one configuration
def run_config(key, X, y, settings, log):
    """Warm up, then measure every system `settings.repeats` times, alternating; a result dict."""
    cfg = CONFIGS[key]
    Xc = X if X.dtype == np.dtype(cfg["dtype"]) else X.astype(cfg["dtype"])
    systems, skipped = [], {}
    for name in settings.systems:
        s = make_system(
            name,
            cfg,
            Xc,
            y,
            epochs=settings.epochs,
            threads=settings.threads,
            book_fraction=settings.book_fraction,
            seed=settings.seed,
        )
        if isinstance(s, str):
            skipped[name] = s
        else:
            systems.append(s)
    log(f"\n{cfg['label']}")
    for name, why in skipped.items():
        log(f"  {TITLES[name]:>13}: skipped, {why}")
    for s in systems:
        s.warmup()
    times, cpu, others, samples = _measure(systems, settings.repeats)
    result = {"config": key, **cfg, "systems": {}, "skipped": skipped}
    _load_warning(result, others, log)
    for s in systems:
        row = _summary(s, times[s.name], cpu[s.name], others[s.name], samples[s.name])
        result["systems"][s.name] = row
        _log_row(s.name, row, log)
    dp = result["systems"].get("deltaprop")
    if dp:
        result["ratios"] = {
            name: dp["samples_per_s"] / row["samples_per_s"]
            for name, row in result["systems"].items()
            if name != "deltaprop"
        }
        log(
            "  deltaprop ÷ "
            + ", ".join(f"{TITLES[k]} {v:.2f}×" for k, v in result["ratios"].items())
        )
    return result


def _measure(systems, repeats):
    """`repeats` rounds, one measurement per system each, the order reversed every other round."""
    times = {s.name: [] for s in systems}
    cpu = {s.name: [] for s in systems}
    others = {s.name: [] for s in systems}
    samples = {}
    for r in range(repeats):
        for s in systems if r % 2 == 0 else systems[::-1]:
            c0 = time.process_time()
            with OthersMeter() as meter:
                t, k = s.run()
            cpu[s.name].append(time.process_time() - c0)
            others[s.name].append((meter.seconds, meter.wall))
            times[s.name].append(t)
            samples[s.name] = k
    return times, cpu, others, samples


def _load_warning(result, others, log):
    """Record (and warn about) the cores other processes kept busy during the measurements."""
    busy_all = mean_cores([x for v in others.values() for x in v])
    worst = max(
        (mean_cores([x]) or 0.0 for v in others.values() for x in v if x[1] >= 0.5), default=None
    )
    result["others_cores"], result["others_cores_max"] = busy_all, worst
    if (busy_all or 0) > 0.1 or (worst or 0) > 0.3:
        result["warning"] = (
            f"other processes kept {busy_all:.2f} cores busy on average "
            f"(up to {worst or 0:.2f} in one measurement) during this "
            f"configuration: its numbers are unreliable"
        )
        log(f"  WARNING: {result['warning']}")


def _summary(system, times, cpu, others, samples):
    """One system's row of the report: the median and the spread of its measurements."""
    med = statistics.median(times)
    row = {
        "times_s": [round(t, 5) for t in times],
        "median_s": med,
        # CPU seconds per wall second: about 1 single-threaded; well below 1 means the
        # process waited for a core (another process ran), up to `threads` with busy BLAS.
        "cpu_per_wall": round(sum(cpu) / sum(times), 2),
        # cores other processes kept busy, on average over the measurements
        "others_cores": mean_cores(others),
        "samples_per_measurement": samples,
        "samples_per_s": samples / med,
        "note": system.note,
    }
    if system.name == "deltaprop":
        row["batch_loop_median_s"] = statistics.median(system.loop_times)
    return row


def _log_row(name, row, log):
    times, busy = row["times_s"], row["others_cores"]
    log(
        f"  {TITLES[name]:>13}: {row['samples_per_s']:>12,.0f} samples/s"
        f"   (median {row['median_s']:.3f} s of {row['samples_per_measurement']:,} samples; "
        f"spread {min(times):.3f}–{max(times):.3f} s; "
        f"cpu/wall {row['cpu_per_wall']:.2f}; other processes "
        f"{busy if busy is not None else math.nan:.2f} cores)"
    )


# ---------------------------------------------------------------------- the whole run
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
        ``meta`` (machine, libraries, load), ``results`` (per configuration key),
        ``targets`` and ``memory``; `to_markdown` renders it.
    """
    load_start = machine_load(settings.threads, seconds=1.0 if settings.quick else 2.0)
    log(
        f"load before the run: {load_start['loadavg']} (1/5/15 min), "
        f"{load_start['busy_cores']} of {load_start['cores']} cores busy with other processes"
    )
    if load_start["warning"]:
        log(f"WARNING: {load_start['warning']}")
    X, y, source, note = load_data(
        settings.dataset, settings.data_dir, settings.samples, settings.seed
    )
    if note:
        log(f"note: {note}")
    log(f"data: {source}, X {X.shape} {X.dtype}")
    with thread_limits(settings.threads):
        libs = {"blas": blas_info()}
        libs["torch"] = torch_info(settings.threads) if "pytorch" in settings.systems else None
        _log_blas(libs["blas"], log)
        results = {key: run_config(key, X, y, settings, log) for key in settings.configs}
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
    meta = _meta(settings, command, source, X.shape[0], libs, load_start)
    if meta["env"]["OPENBLAS_CORETYPE"]:
        log(
            f"note: OPENBLAS_CORETYPE={meta['env']['OPENBLAS_CORETYPE']} overrides OpenBLAS's "
            f"own kernel choice"
        )
    return {"meta": meta, "results": results, "targets": targets(results), "memory": memory}


def _log_blas(blas, log):
    for lib in blas:
        if lib.get("user_api") == "blas":
            log(
                f"BLAS: {lib.get('internal_api')} {lib.get('version')} kernel "
                f"{lib.get('architecture')} threads {lib.get('num_threads')} ({lib['file']})"
            )


def _meta(settings, command, source, samples, libs, load_start):
    """The run's circumstances: command, data, machine, libraries, environment, load."""
    try:
        import sklearn

        sk_version = sklearn.__version__
    except ImportError:
        sk_version = None
    return {
        "date": _dt.datetime.now().isoformat(timespec="seconds"),
        "command": command,
        "data": source,
        "samples": int(samples),
        "epochs": settings.epochs,
        "repeats": settings.repeats,
        "threads": settings.threads,
        "quick": settings.quick,
        "seed": settings.seed,
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "sklearn": sk_version,
        "blas": libs["blas"],
        "torch": libs["torch"],
        "env": {k: os.environ.get(k) for k in _BLAS_ENV},
        "load_start": load_start,
        "load_end": {"loadavg": [round(x, 2) for x in os.getloadavg()]},
    }


# ---------------------------------------------------------------------- the command
def _names(valid, what):
    """A click callback: comma-separated names among `valid` -> a list (BadParameter if not)."""

    def parse(ctx, param, value):
        names = [v.strip() for v in value.split(",") if v.strip()]
        bad = [v for v in names if v not in valid]
        if bad or not names:
            raise click.BadParameter(
                f"{', '.join(map(repr, bad)) or 'nothing'} given; expected {what} among "
                f"{', '.join(valid)}, separated by commas"
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
    callback=_names(tuple(CONFIGS), "configurations"),
    help="Configurations, comma-separated: 1 ([784,30,10] sigmoid, batch 10), 2 "
    "([784,256,128,10] ReLU, batch 64), 3 (the same, batch 256), 2d ((2) in float64).",
)
@click.option(
    "--systems",
    default=",".join(SYSTEMS),
    show_default=True,
    callback=_names(SYSTEMS, "systems"),
    help="Systems, comma-separated: deltaprop, pytorch, sklearn (scikit-learn), book (the "
    "book's per-sample loop), bound (the matrix products alone).",
)
@click.option(
    "--epochs",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Epochs per measurement.",
)
@click.option(
    "--repeats",
    type=click.IntRange(min=1),
    default=5,
    show_default=True,
    help="Measurements per system; the median is reported.",
)
@click.option(
    "--threads",
    type=click.IntRange(min=1),
    default=2,
    show_default=True,
    help="Threads for BLAS, OpenMP and PyTorch alike.",
)
@click.option(
    "--quick", is_flag=True, help="A short run: 10,000 samples, 3 measurements, no memory probe."
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
@click.pass_context
def command(ctx, quiet, as_json, out, mnist_dir, **options):
    """Benchmark training speed: deltaprop against PyTorch, scikit-learn, the book's
    per-sample loop and the matrix-multiply bound, full epochs on MNIST-shaped data."""
    options["data_dir"] = options["data_dir"] or mnist_dir
    if options["quick"]:
        options["samples"] = options["samples"] or 10000
        options["repeats"] = min(options["repeats"], 3)
    if options["memory"] is None:
        options["memory"] = not options["quick"]
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
