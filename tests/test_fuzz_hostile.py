"""Byte-mutation fuzzing of every reader in a child process under memory and time limits.

The child (``_fuzz_child`` below, run with ``python -c``) builds a valid file for each reader
(model, checkpoint, NPZ, NPY, CSV, IDX, example JSON and TOML), then feeds each reader mutated
copies: flipped bytes, truncations, insertions and forged sizes. Each input must load or raise
the reader's documented error (a ValueError subclass: ModelFileError, DatasetError,
DeltapropError) within the time limit, under RLIMIT_AS; anything else is counted as a bug.
The counts and the largest traced peak are printed and asserted.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SRC = str(Path(__file__).resolve().parents[1] / "src")

_CHILD = r"""
import collections, io, json, os, random, resource, signal, sys, tracemalloc, zipfile
import numpy as np
resource.setrlimit(resource.RLIMIT_AS, (MEMCAP, MEMCAP))
from deltaprop import Network, io as dio
from deltaprop.datasets import load_csv, load_npy, load_npz, read_idx, save_npz, write_idx
from deltaprop.examples import builtin_example_path, load_example

work, n = sys.argv[1], int(sys.argv[2])
rng = random.Random(0)
net = Network([3, 4, 2], seed=0)
dio.save(net, f"{work}/model.npz")
dio.save(net, f"{work}/ckpt.npz", optimizer_state={"v": np.zeros(3)},
         extra={"checkpoint": True, "epoch": 1, "rng": {"bit_generator": "PCG64"}})
save_npz(f"{work}/data.npz", np.arange(12.0).reshape(4, 3), np.array([0, 1, 0, 1]))
np.save(f"{work}/x.npy", np.arange(6.0).reshape(2, 3))
with open(f"{work}/data.csv", "w") as f:
    f.write("a,b,y\n1,2,0\n3,4.5,1\n5,6,cat\n")
write_idx(f"{work}/img.idx", np.arange(24, dtype=np.uint8).reshape(2, 3, 4))
write_idx(f"{work}/img.idx.gz", np.arange(24, dtype=np.uint8).reshape(2, 3, 4))
ex = builtin_example_path("mazur").read_bytes()
with open(f"{work}/ex.json", "wb") as f:
    f.write(ex)
toml = b'weights = [[[0.15, 0.2], [0.25, 0.3]], [[0.4, 0.45], [0.5, 0.55]]]\n' \
       b'biases = [[0.35, 0.35], [0.6, 0.6]]\ninput = [0.05, 0.1]\ntarget = [0.01, 0.99]\n'
with open(f"{work}/ex.toml", "wb") as f:
    f.write(toml)
READERS = {
    "model": ("model.npz", dio.load), "checkpoint": ("ckpt.npz",
        lambda p: dio.load(p, return_state=True)),
    "npz": ("data.npz", load_npz), "npy": ("x.npy", load_npy),
    "csv": ("data.csv", lambda p: load_csv(p, target="y")),
    "idx": ("img.idx", read_idx), "idx.gz": ("img.idx.gz", read_idx),
    "example-json": ("ex.json", load_example), "example-toml": ("ex.toml", load_example),
}

def mutate(raw):
    b = bytearray(raw)
    kind = rng.randrange(5)
    if kind == 0 and b:
        for _ in range(rng.randint(1, 4)):
            b[rng.randrange(len(b))] = rng.randrange(256)
    elif kind == 1:
        b = b[: rng.randrange(len(b) + 1)]
    elif kind == 2:
        i = rng.randrange(len(b) + 1)
        b[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
    elif kind == 3 and len(b) > 8:  # forge a 4- or 8-byte size field with a huge value
        i = rng.randrange(len(b) - 8)
        b[i:i + 4] = rng.choice([b"\xff\xff\xff\x7f", b"\x00\x00\x00\x80", b"\xff\xff\xff\xff"])
    else:
        text = bytes(b)
        for a, c in ((b"2", b"99999999"), (b"(", b"(("), (b"[", b"[" * 50), (b"0.", b"1e308")):
            if a in text and rng.random() < 0.5:
                text = text.replace(a, c, 1)
        b = bytearray(text)
    return bytes(b)

class Timeout(BaseException):
    pass

def alarm(*_):
    raise Timeout

signal.signal(signal.SIGALRM, alarm)
counts, worst = collections.Counter(), (0, "")
for name, (file, read) in READERS.items():
    raw = open(f"{work}/{file}", "rb").read()
    path = f"{work}/fuzz-{file}"
    for i in range(n):
        data = mutate(raw)
        with open(path, "wb") as f:
            f.write(data)
        tracemalloc.start()
        signal.alarm(SECONDS)
        try:
            read(path)
            outcome = "loaded"
        except Timeout:
            outcome = "BUG timeout"
        except ValueError as exc:
            outcome = "error" if "\n" not in str(exc) else "BUG multi-line message"
        except BaseException as exc:
            outcome = f"BUG {type(exc).__name__}: {str(exc)[:80]}"
        finally:
            signal.alarm(0)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        if peak > worst[0]:
            worst = (peak, f"{name} #{i} ({outcome})")
        counts[f"{name}: {outcome}"] += 1
print(json.dumps({"counts": counts, "worst_peak": worst}))
"""


def run_fuzz(tmp_path, n, limit=1 << 30, seconds=10):
    code = _CHILD.replace("MEMCAP", str(limit)).replace("SECONDS", str(seconds))
    env = dict(os.environ, PYTHONPATH=SRC)
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path), str(n)],
        capture_output=True,
        text=True,
        timeout=60 + n * 3,
        env=env,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    print("\n".join(f"{v:6d}  {k}" for k, v in sorted(result["counts"].items())))
    print("worst traced peak:", result["worst_peak"])
    return result


def _check(result, n):
    bugs = {k: v for k, v in result["counts"].items() if "BUG" in k}
    assert not bugs, bugs
    assert sum(result["counts"].values()) == 9 * n
    assert result["worst_peak"][0] < 64 * 2**20, result["worst_peak"]


def test_every_reader_loads_or_raises_under_limits(tmp_path):
    _check(run_fuzz(tmp_path, 40), 40)


@pytest.mark.slow
def test_every_reader_loads_or_raises_under_limits_long(tmp_path):
    _check(run_fuzz(tmp_path, 2000), 2000)
