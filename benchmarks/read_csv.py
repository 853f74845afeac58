"""Time and peak memory of reading a ~100 MB numeric CSV file with deltaprop's readers.

    python benchmarks/read_csv.py [--rows 1000000] [--dir /tmp]

Writes the file once (10 float columns and an integer label), then in a fresh process per
reader prints the wall time and the process's peak resident memory as a multiple of the
file's size (the baseline of an interpreter with numpy imported is printed too).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

import numpy as np

READERS = {
    "read_table": "from deltaprop.datasets import read_table as r; t = r(PATH)",
    "load_csv": "from deltaprop.datasets import load_csv as r; t = r(PATH, 'label')",
    "load_table": "from deltaprop.datasets import load_table as r; t = r(PATH, 'label')",
    "numpy only": "import numpy",
}
# VmHWM (the peak resident size of this process's memory map) starts afresh at exec, unlike
# getrusage's maxrss, which a child inherits from the parent that forked it.
PROBE = """
import time
PATH = {path!r}
t0 = time.perf_counter()
{code}
took = time.perf_counter() - t0
hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM")][0].split()[1]
print(took, int(hwm) * 1024)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--dir", default="/tmp")
    args = parser.parse_args()
    path = os.path.join(args.dir, f"deltaprop-read-{args.rows}.csv")
    if not os.path.exists(path):
        rng = np.random.default_rng(0)
        X = rng.normal(size=(args.rows, 10)) * np.logspace(-1, 3, 10)
        with open(path, "w") as f:
            f.write(",".join(f"f{i}" for i in range(10)) + ",label\n")
            np.savetxt(f, np.column_stack([X, X[:, 0] > 0]), delimiter=",",
                       fmt=["%.6g"] * 10 + ["%d"])  # fmt: skip
    size = os.path.getsize(path)
    print(f"{path}: {size / 1e6:.1f} MB, {args.rows:,} rows")
    for name, code in READERS.items():
        out = subprocess.run([sys.executable, "-c", PROBE.format(path=path, code=code)],
                             capture_output=True, text=True, check=True).stdout  # fmt: skip
        took, peak = (float(v) for v in out.split())
        print(f"{name:12} {took:6.2f} s  peak {peak / 1e6:6.0f} MB = {peak / size:4.2f}x the file")


if __name__ == "__main__":
    main()
