"""The benchmark's report: speed targets and the Markdown summary of a run.

Every label printed names systems and configurations in words (``TITLES``, the configurations'
``label`` and ``short``); the keys on the command line and in the JSON report stay short.
"""

from __future__ import annotations

from ._bench_systems import CONFIGS, SYSTEMS, TITLES

__all__ = ["TARGETS", "targets", "to_markdown"]

#: Speed targets: (system, configurations, minimum ratio deltaprop / system, or, for the bound,
#: deltaprop's samples/s as a fraction of the bound's).
TARGETS = [
    ("pytorch", ("2", "3"), 1.3),
    ("pytorch", ("1",), 3.0),
    ("sklearn", ("1", "2", "3", "2d"), 1.5),
    ("book", ("1",), 10.0),
    ("bound", ("2", "3", "2d"), 0.85),
    ("bound", ("1",), 0.6),
]
_MIB = 1 / 2**20


def targets(results):
    """One row per target whose ratio was measured: ratio, goal, met, margin."""
    rows = []
    for system, keys, goal in TARGETS:
        for key in keys:
            ratio = results.get(key, {}).get("ratios", {}).get(system)
            if ratio is None:
                continue
            rows.append(
                {
                    "config": key,
                    "system": system,
                    "target": goal,
                    "ratio": ratio,
                    "met": ratio >= goal,
                    "margin": ratio / goal,
                }
            )
    return rows


def _short(key):
    return CONFIGS[key]["short"] if key in CONFIGS else key


def _machine_lines(meta):
    lines = [
        f"- command: `{meta['command']}`",
        f"- data: {meta['data']}, {meta['samples']:,} samples; {meta['epochs']} "
        f"epoch(s) per measurement, median of {meta['repeats']}",
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
    if meta.get("sklearn"):
        lines.append(f"- scikit-learn {meta['sklearn']}")
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
            "- cores kept busy by other processes during the measurements (mean): "
            + "; ".join(f"{_short(k)}: {v:.2f}" for k, v in busy.items() if v is not None)
        )
    for k, r in report["results"].items():
        if r.get("warning"):
            lines.append(f"- **warning** ({_short(k)}): {r['warning']}")
    return lines


def _speed_table(results):
    head = (
        ["configuration"]
        + [TITLES[s] for s in SYSTEMS]
        + [f"÷ {TITLES[s]}" for s in SYSTEMS if s != "deltaprop"]
    )
    lines = [
        "Samples per second (higher is better) and deltaprop's ratio to each system:",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    for res in results.values():
        cells = [res["label"]]
        for s in SYSTEMS:
            row = res["systems"].get(s)
            cells.append(f"{row['samples_per_s']:,.0f}" if row else "—")
        for s in SYSTEMS[1:]:
            r = res.get("ratios", {}).get(s)
            cells.append(f"{r:.2f}" if r is not None else "—")
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _loop_table(results):
    loops = [
        (k, r)
        for k, r in results.items()
        if "batch_loop_median_s" in r["systems"].get("deltaprop", {})
    ]
    if not loops:
        return []
    lines = [
        "",
        "deltaprop's whole `fit` call (argument checks included: a finiteness pass "
        "over X each call) against its batch loop alone (`History.time`), and the "
        "loop's fraction of the matmul bound:",
        "",
        "| configuration | fit call, samples/s | batch loop, samples/s | "
        "checks and setup | loop ÷ bound |",
        "|---|---|---|---|---|",
    ]
    for key, res in loops:
        dp = res["systems"]["deltaprop"]
        loop_rate = dp["samples_per_measurement"] / dp["batch_loop_median_s"]
        bound = res["systems"].get("bound")
        frac = f"{loop_rate / bound['samples_per_s']:.2f}" if bound else "—"
        lines.append(
            f"| {_short(key)} | {dp['samples_per_s']:,.0f} | {loop_rate:,.0f} | "
            f"{100 * (1 - dp['batch_loop_median_s'] / dp['median_s']):.0f}% | "
            f"{frac} |"
        )
    return lines


def _targets_table(rows):
    if not rows:
        return []
    lines = [
        "",
        "Speed targets (deltaprop's samples/s ÷ the other system's; for the matmul bound, "
        "the fraction of it reached):",
        "",
        "| configuration | versus | target | measured | result |",
        "|---|---|---|---|---|",
    ]
    for t in rows:
        lines.append(
            f"| {_short(t['config'])} | {TITLES[t['system']]} | ≥ {t['target']:g} | "
            f"{t['ratio']:.2f} | {'met' if t['met'] else 'missed'} "
            f"({100 * (t['margin'] - 1):+.0f}%) |"
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


def _notes(results):
    notes = []
    for key, res in results.items():
        for s, row in res["systems"].items():
            notes.append(f"- {_short(key)} / {TITLES[s]}: {row['note']}")
        for s, why in res.get("skipped", {}).items():
            notes.append(f"- {_short(key)} / {TITLES[s]}: {why}")
    return ["", "<details><summary>How each system was run</summary>", "", *notes, "", "</details>"]


def to_markdown(report):
    """The run as Markdown: machine, load, speed table, fit against its loop, targets, memory."""
    results = report["results"]
    lines = [f"## Benchmark: {report['meta']['date']}", ""]
    lines += _machine_lines(report["meta"]) + _load_lines(report) + [""]
    lines += _speed_table(results) + _loop_table(results)
    lines += _targets_table(report.get("targets", []))
    lines += _memory_lines(report.get("memory")) + _notes(results) + [""]
    return "\n".join(lines)
