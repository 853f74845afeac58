"""The benchmark's report: speed targets and the Markdown summary of a run.

Every label printed names systems and configurations in words (``TITLES``, the configurations'
``label`` and ``short``); the keys on the command line and in the JSON report stay short.
"""

from __future__ import annotations

from ._bench_systems import CONFIGS, TITLES

__all__ = ["TARGETS", "targets", "to_markdown"]

#: Speed targets: (system, metric, configurations, minimum median paired ratio). The metric is
#: deltaprop's rate ÷ the system's: ``samples_per_s`` for the whole ``fit`` call,
#: ``loop_samples_per_s`` for its batch loop (against the matmul bound: the fraction reached).
TARGETS = [
    ("pytorch", "samples_per_s", ("2", "3"), 1.3),
    ("pytorch", "samples_per_s", ("1",), 3.0),
    ("sklearn", "samples_per_s", ("1", "2", "3", "2d"), 1.5),
    ("jax", "samples_per_s", ("2",), 0.9),
    ("jax", "samples_per_s", ("3",), 1.0),
    ("book", "samples_per_s", ("1",), 10.0),
    ("bound", "loop_samples_per_s", ("3",), 0.85),
    ("bound", "loop_samples_per_s", ("2", "2d"), 0.8),
    ("bound", "loop_samples_per_s", ("1",), 0.6),
]
_MIB = 1 / 2**20


def _row(config, system, goal, ratio, strict=False):
    return {
        "config": config,
        "system": system,
        "target": goal,
        "strict": strict,
        "ratio": ratio["median"],
        "min": ratio["min"],
        "max": ratio["max"],
        "rounds": ratio["n"],
        "met": ratio["median"] > goal if strict else ratio["median"] >= goal,
        "margin": ratio["median"] / goal,
    }


def targets(results, race=None):
    """One row per target whose ratio was measured: median paired ratio, range, goal, met.

    The race's row (config ``"race"``): PyTorch's time to the target accuracy ÷ deltaprop's,
    which must exceed 1 (deltaprop's time below PyTorch's).
    """
    rows = []
    for system, metric, keys, goal in TARGETS:
        for key in keys:
            comp = results.get(key, {}).get("comparisons", {}).get(system)
            ratio = comp and comp["ratios"].get(metric)
            if ratio:
                rows.append(_row(key, system, goal, ratio))
    ratio = race and race["comparison"]["ratios"].get("speed")
    if ratio:
        rows.append(_row("race", "pytorch", 1.0, ratio, strict=True))
    return rows


def _short(key):
    return CONFIGS[key]["short"] if key in CONFIGS else key


def _rounds(n):
    return f"{n} round" + ("s" if n != 1 else "")


def _cores(values):
    return ", ".join("n/a" if v is None else f"{v:.2f}" for v in values)


def _machine_lines(meta):
    lines = [
        f"- command: `{meta['command']}`",
        f"- data: {meta['data']}, {meta['samples']:,} samples; {meta['epochs']} epoch(s) "
        f"per measurement, {meta['rounds']} paired rounds per comparison, every measurement "
        f"in a fresh process",
        f"- machine: {meta['cpu']}, {meta['cores']} cores; {meta['threads']} threads; "
        f"Python {meta['python']}, numpy {meta['numpy']}",
    ]
    for lib in meta["blas"]:
        if lib.get("user_api") == "blas":
            lines.append(
                f"- numpy/scipy BLAS: {lib.get('internal_api')} {lib.get('version')}, "
                f"kernel {lib.get('architecture') or lib.get('corename')}, "
                f"{lib.get('num_threads')} threads ({lib['file']})"
            )
    if meta.get("torch"):
        t = meta["torch"]
        lines.append(
            f"- PyTorch {t['version']}: BLAS {t['blas']} ({t['mkl']}), CPU capability "
            f"{t['cpu_capability']}, {t['threads']} threads"
        )
    for key, name in (("sklearn", "scikit-learn"), ("jax", "JAX")):
        if meta.get(key):
            lines.append(f"- {name} {meta[key]}")
    env = ", ".join(f"{k}={v}" for k, v in meta["env"].items() if v is not None) or "none set"
    lines.append(f"- BLAS environment: {env}")
    return lines


def _load_lines(report):
    meta = report["meta"]
    ld = meta["load_start"]
    lines = [
        f"- load before the run: {ld['loadavg']} (1/5/15 min), "
        f"{ld['busy_cores']} of {ld['cores']} cores busy with other processes; "
        f"load after: {meta['load_end']['loadavg']}"
    ]
    if ld["warning"]:
        lines.append(f"- **warning**: {ld['warning']}")
    busy = {k: r.get("others_cores") for k, r in report["results"].items()}
    if any(v is not None for v in busy.values()):
        lines.append(
            "- cores kept busy by other processes during the rounds (mean): "
            + "; ".join(f"{_short(k)}: {v:.2f}" for k, v in busy.items() if v is not None)
        )
    for k, r in report["results"].items():
        if r.get("warning"):
            lines.append(f"- **warning** ({_short(k)}): {r['warning']}")
    return lines


def _paired_table(results):
    rows = [(k, s, c) for k, r in results.items() for s, c in r.get("comparisons", {}).items()]
    if not rows:
        return []
    lines = [
        "Training speed in paired rounds: each round runs deltaprop and the other system back "
        "to back, each in a fresh process, the order alternating between rounds. The ratio is "
        "deltaprop's samples/s ÷ the other system's in the same round (against the matmul "
        "bound: the bound's time ÷ deltaprop's, the fraction of the bound its whole `fit` call "
        "reaches); higher is better for deltaprop. Other processes: the CPU they used during "
        "each round, in cores (CPU seconds per second).",
        "",
        "| configuration | versus | deltaprop ÷ other (median of paired ratios) | range | "
        "rounds | deltaprop, samples/s | other, samples/s | other processes, cores per round |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for key, system, comp in rows:
        r, rates = comp["ratios"]["samples_per_s"], comp["rates"]
        lines.append(
            f"| {_short(key)} | {TITLES[system]} | {r['median']:.2f} | "
            f"{r['min']:.2f}–{r['max']:.2f} | {r['n']} | "
            f"{rates['deltaprop']['samples_per_s']:,.0f} | {rates[system]['samples_per_s']:,.0f} "
            f"| {_cores(comp['others_cores'])} |"
        )
    return lines


def _loop_table(results):
    loops = [(k, r) for k, r in results.items() if "deltaprop" in r["systems"]]
    if not loops:
        return []
    lines = [
        "",
        "deltaprop's whole `fit` call (argument checks, setup and the running training metrics "
        "included) against its batch loop alone (`History.time`), and the loop's fraction of "
        "the matmul bound (median of paired ratios, range):",
        "",
        "| configuration | fit call, samples/s | batch loop, samples/s | outside the loop | "
        "loop ÷ bound |",
        "|---|---|---|---|---|",
    ]
    for key, res in loops:
        dp = res["systems"]["deltaprop"]
        fit, loop = dp["samples_per_s"], dp["batch_loop_samples_per_s"]
        comp = res["comparisons"].get("bound")
        r = comp and comp["ratios"].get("loop_samples_per_s")
        frac = f"{r['median']:.2f} ({r['min']:.2f}–{r['max']:.2f})" if r else "—"
        lines.append(
            f"| {_short(key)} | {fit:,.0f} | {loop:,.0f} | {100 * (1 - fit / loop):.0f}% | {frac} |"
        )
    return lines


def _blas_table(results):
    """numpy's matrix products against PyTorch's, where both bounds were measured."""
    rows = []
    for key, res in results.items():
        comps = res.get("comparisons", {})
        if "bound" in comps and "pytorch-bound" in comps:
            ours = comps["bound"]["ratios"]["samples_per_s"]["median"]
            theirs = comps["pytorch-bound"]["ratios"]["samples_per_s"]["median"]
            rows.append(f"| {_short(key)} | {theirs / ours:.2f} |")
    if not rows:
        return []
    return [
        "",
        "The matrix products alone, numpy's against PyTorch's on the same arrays: the matmul "
        "bound's speed ÷ PyTorch's matmul bound's (each from its median paired ratio with "
        "deltaprop). Below 1, PyTorch's BLAS multiplies these shapes faster on this machine, and "
        "deltaprop's lead over PyTorch can be no larger than its lead in everything else.",
        "",
        "| configuration | numpy's products ÷ PyTorch's (speed) |",
        "|---|---|",
        *rows,
    ]


def _race_lines(race):
    if not race:
        return []
    comp = race["comparison"]
    lines = [
        "",
        f"Time to {100 * race['target']:g}% test accuracy, the modern preset's recipe (at most "
        f"{race['epochs']} epochs; the test accuracy is computed after each epoch and its time "
        f"is left out for both systems; each run in a fresh process, nothing warmed up):",
        "",
        "| system | time, median of rounds | epochs per round | reached | test accuracy "
        "when stopped |",
        "|---|---|---|---|---|",
    ]
    for name, row in race["systems"].items():
        reached = ", ".join("yes" if x else "no" for x in row["reached"])
        lines.append(
            f"| {TITLES[name]} | {row['seconds_median']:.2f} s | "
            f"{', '.join(map(str, row['epochs']))} | {reached} | "
            f"{', '.join(f'{a:.4f}' for a in row['accuracy'])} |"
        )
    r = comp["ratios"].get("speed")
    if "pytorch" in race["systems"]:
        ratio = "—"
        if r:
            ratio = f"{r['median']:.2f} ({r['min']:.2f}–{r['max']:.2f}, {_rounds(r['n'])})"
        lines += [
            "",
            "PyTorch's time ÷ deltaprop's (median of paired ratios, rounds where both reached "
            f"the target): {ratio}; other processes, cores per round: "
            f"{_cores(comp['others_cores'])}.",
        ]
    return lines + [f"- {TITLES[k]}: {why}" for k, why in race["skipped"].items()]


def _inference_lines(inf):
    if not inf:
        return []
    comp = inf["comparison"]
    names = list(comp["rates"])
    lines = [
        "",
        f"Inference throughput, samples/s: `Network.predict` against PyTorch's `model(x)` "
        f"under `torch.inference_mode()` and the same network's ONNX export in ONNX Runtime, "
        f"one call per batch ({inf['calls']['1']:,} calls at "
        f"batch 1, {inf['calls']['1024']} at batch 1,024), each system in a fresh process:",
        "",
        "| batch | "
        + " | ".join(f"{TITLES[n]}, samples/s" for n in names)
        + " | deltaprop ÷ PyTorch (median of paired ratios) | range | rounds |",
        "|---|" + "---|" * len(names) + "---|---|---|",
    ]
    for b in ("1", "1024"):
        r = comp["ratios"].get(b)
        cells = [f"{comp['rates'][n][b]:,.0f}" for n in names]
        tail = [f"{r['median']:.2f}", f"{r['min']:.2f}–{r['max']:.2f}", str(r["n"])] if r else []
        lines.append(f"| {int(b):,} | " + " | ".join(cells + (tail or ["—"] * 3)) + " |")
    if "onnx_ratios" in comp:
        ratios = ", ".join(f"batch {int(b):,}: {v:.2f}" for b, v in comp["onnx_ratios"].items())
        lines.append(f"\ndeltaprop ÷ ONNX Runtime (median of paired ratios): {ratios}.")
    lines.append(f"\nOther processes, cores per round: {_cores(comp['others_cores'])}.")
    return lines + [f"- {TITLES[k]}: {why}" for k, why in inf["skipped"].items()]


def _targets_table(rows):
    if not rows:
        return []
    lines = [
        "",
        "Speed targets (median of the paired ratios: deltaprop's samples/s ÷ the other "
        "system's; for the matmul bound, the fraction of it deltaprop's batch loop reaches; "
        "for the race, PyTorch's time ÷ deltaprop's):",
        "",
        "| configuration | versus | target | measured | range | result |",
        "|---|---|---|---|---|---|",
    ]
    for t in rows:
        config = "time to accuracy" if t["config"] == "race" else _short(t["config"])
        versus = TITLES[t["system"]] + (" (batch loop)" if t["system"] == "bound" else "")
        lines.append(
            f"| {config} | {versus} | {'>' if t['strict'] else '≥'} {t['target']:g} | "
            f"{t['ratio']:.2f} | {t['min']:.2f}–{t['max']:.2f} | "
            f"{'met' if t['met'] else 'missed'} ({100 * (t['margin'] - 1):+.0f}%) |"
        )
    return lines


def _memory_lines(mem):
    if not mem:
        return []
    if "error" in mem:
        return ["", f"Memory: {mem['error']}"]
    peak = mem.get("peak_rss_during_fit_bytes")
    before = mem["rss_before_fit_bytes"]
    during = f"{peak * _MIB:.0f} MiB (+{(peak - before) * _MIB:.0f} MiB)" if peak else "n/a"
    return [
        "",
        f"Memory, one epoch of configuration (2) with `fit` (separate process): "
        f"data {mem['data_bytes'] * _MIB:.0f} MiB (X {mem['X_bytes'] * _MIB:.0f} MiB); "
        f"resident before fit {before * _MIB:.0f} MiB, peak during the epoch {during}; "
        f"numpy/Python allocations during fit peak at "
        f"{mem['tracemalloc_peak_fit_bytes'] * _MIB:.1f} MiB (tracemalloc).",
    ]


def _notes(report):
    notes = []
    for key, res in report["results"].items():
        for s, row in res["systems"].items():
            notes.append(f"- {_short(key)} / {TITLES[s]}: {row['note']}")
        for s, why in res.get("skipped", {}).items():
            notes.append(f"- {_short(key)} / {TITLES[s]}: {why}")
    for part, title in (("race", "race"), ("inference", "inference")):
        for s, note in ((report.get(part) or {}).get("comparison") or {}).get("notes", {}).items():
            notes.append(f"- {title} / {TITLES[s]}: {note}")
    return ["", "<details><summary>How each system was run</summary>", "", *notes, "", "</details>"]


def to_markdown(report):
    """The run as Markdown: machine, load, paired table, fit against its loop, race, inference,
    targets, memory."""
    results = report["results"]
    lines = [f"## Benchmark: {report['meta']['date']}", ""]
    lines += _machine_lines(report["meta"]) + _load_lines(report) + [""]
    lines += _paired_table(results) + _blas_table(results) + _loop_table(results)
    lines += _race_lines(report.get("race")) + _inference_lines(report.get("inference"))
    lines += _targets_table(report.get("targets", []))
    lines += _memory_lines(report.get("memory")) + _notes(report) + [""]
    return "\n".join(lines)
