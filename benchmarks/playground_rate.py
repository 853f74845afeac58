"""State updates per second that the playground sends to a page.

Starts ``deltaprop playground`` as a user would (a subprocess with this tree's ``src/``),
connects a websocket client that behaves like the page (acknowledges each frame once it has
it, as the page does after drawing it), asks for a configuration (default: [2, 8, 8, 2] on 500
points, 50 × 50 heatmaps, the page's defaults), presses play and counts the frames that
arrive in a window of ``--seconds``. Each frame carries one epoch of training by
``deltaprop.fit``, the training and test costs, every weight, the heatmap of every neuron, the
decision regions and the per-layer gradient norms; with ``--select`` also the selected point's
backward pass. The client decodes each frame's JSON, as the page must.

The server caps the rate at ``Limits.max_updates_per_second`` (60); on a shared machine the
figure varies with the other load: run it a few times and read the best and the median.
Usage::

    python benchmarks/playground_rate.py
    python benchmarks/playground_rate.py --seconds 10 --repeat 3 --select
    python benchmarks/playground_rate.py --layers 8,8,8,8 --points 1000
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from websockets.sync.client import connect

SRC = Path(__file__).resolve().parents[1] / "src"


def measure(url: str, seconds: float, config: dict, select: bool) -> tuple[float, float, int]:
    """(frames per second, mean frame size in kB, epochs trained) over one window."""
    base, token = url.split("/?token=")
    with connect(f"ws://{base.removeprefix('http://')}/ws?token={token}", max_size=None) as ws:
        ws.send(json.dumps({"type": "config", "config": config}))
        if select:
            ws.send(json.dumps({"type": "select", "index": 0}))
        ws.send(json.dumps({"type": "play"}))
        count, size, start, first_epoch, epoch = 0, 0, None, None, 0
        while True:
            text = ws.recv(timeout=30)
            m = json.loads(text)
            if m["type"] == "error":
                raise SystemExit(f"the server refused the configuration: {m['message']}")
            if m["type"] != "frame":
                continue
            ws.send('{"type": "ack"}')
            if not m["playing"]:
                continue
            now = time.perf_counter()
            if start is None:  # the clock starts at the first frame of training
                start, first_epoch = now, m["epoch"]
                continue
            count, size, epoch = count + 1, size + len(text), m["epoch"]
            if now - start >= seconds:
                break
        ws.send(json.dumps({"type": "pause"}))
    return count / (now - start), size / count / 1000, int(epoch - first_epoch)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--layers", default="8,8", help="hidden widths (default 8,8: [2, 8, 8, 2])")
    ap.add_argument("--points", type=int, default=500)
    ap.add_argument("--select", action="store_true", help="with a selected point")
    args = ap.parse_args()
    layers = [int(w) for w in args.layers.split(",") if w]
    config = {"layers": layers, "activations": ["tanh"] * len(layers), "points": args.points,
              "dataset": "moons", "batch": 10}  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "deltaprop", "playground", "--no-browser"],
        stdout=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        url = proc.stdout.readline().strip()
        time.sleep(1.0)
        rates = []
        for i in range(args.repeat):
            rate, kb, epochs = measure(url, args.seconds, config, args.select)
            rates.append(rate)
            print(f"run {i + 1}: {rate:.1f} updates/s ({kb:.0f} kB per frame, {epochs} epochs)")
        sizes = [2, *layers, 2]
        print(
            f"{sizes} on {args.points} points, 50x50 heatmaps"
            f"{', a point selected' if args.select else ''}: best {max(rates):.1f}, "
            f"median {statistics.median(rates):.1f} updates/s over {args.seconds:g} s windows"
        )
    finally:
        proc.terminate()
        proc.wait(timeout=20)


if __name__ == "__main__":
    main()
