"""What following a run with ``deltaprop train --dashboard`` costs the run.

Runs the same ``deltaprop train ... --json`` (a subprocess with this tree's ``src/``) three
ways and reads the training wall time the command reports (``metrics.wall_time``):

- plain;
- ``--diagnostics`` (the per-layer statistics the dashboard draws: one ``Network.backprop``
  on a check batch of at most 1,000 training rows after every epoch);
- ``--dashboard`` with one page connected (a websocket client that decodes every update, as
  the page does), so the server thread encodes and sends while the main thread trains.

The dashboard's own cost is the third against the second. Each is run ``--repeat`` times; the
median and the best are printed. On a shared machine the figures vary with the other load.
Usage::

    python benchmarks/dashboard_overhead.py
    python benchmarks/dashboard_overhead.py --repeat 5 -- --dataset digits --epochs 30
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from websockets.sync.client import connect

SRC = Path(__file__).resolve().parents[1] / "src"
DEFAULT = ["--dataset", "spirals", "--layers", "2-16-16-3", "--activation", "tanh",
           "--output-activation", "softmax", "--loss", "cross_entropy", "--lr", "0.05",
           "--batch-size", "2", "--epochs", "1000"]  # fmt: skip


def _page(url: str, seen: dict) -> None:
    """A page: read and decode every update until the server stops."""
    base, token = url.split("/?token=")
    try:
        with connect(f"ws://{base.removeprefix('http://')}/ws?token={token}", max_size=None) as ws:
            while True:
                text = ws.recv(timeout=120)
                m = json.loads(text)
                seen["updates"] += 1
                seen["bytes"] += len(text)
                seen["records"] += len(m["records"])
    except Exception:  # the server stopped with the command: the page's end
        pass


def run_once(args: list[str], how: str) -> tuple[float, dict]:
    """(training wall time in s, what the page saw) for one run."""
    extra = {"plain": [], "diagnostics": ["--diagnostics"], "dashboard": ["--dashboard"]}[how]
    env = {**os.environ, "PYTHONPATH": str(SRC), "PYTHONUNBUFFERED": "1"}
    seen = {"updates": 0, "bytes": 0, "records": 0}
    with tempfile.TemporaryFile("w+") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "deltaprop", "train", *args, *extra, "--json"],
            stdout=out, stderr=subprocess.PIPE, text=True, env=env,
        )  # fmt: skip
        page = None
        if how == "dashboard":
            url = proc.stderr.readline().split()[1]
            page = threading.Thread(target=_page, args=(url, seen))
            page.start()
        err = proc.communicate(timeout=600)[1]
        if page is not None:
            page.join(timeout=30)
        if proc.returncode != 0:
            raise SystemExit(f"deltaprop train failed: {err}")
        out.seek(0)
        return json.load(out)["metrics"]["wall_time"], seen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("train_args", nargs="*", help="deltaprop train's options (after --)")
    opts = parser.parse_args()
    args = opts.train_args or DEFAULT
    print("deltaprop train " + " ".join(args))
    for how in ("plain", "diagnostics", "dashboard"):
        times, seen = [], {}
        for _ in range(opts.repeat):
            t, seen = run_once(args, how)
            times.append(t)
        line = f"{how:12s} median {statistics.median(times):7.3f} s  best {min(times):7.3f} s"
        if how == "dashboard":
            kb = seen["bytes"] / 1024
            line += (
                f"  (last run: {seen['updates']} updates, {seen['records']} epochs, "
                f"{kb:.0f} kB to the page)"
            )
        print(line)


if __name__ == "__main__":
    main()
