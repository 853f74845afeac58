"""Where a training step's time goes: each call of the kernel's program timed on its own.

    python benchmarks/profile_step.py [--batch 64] [--sizes 784-256-128-10] [--repeat 2000]

Prints the mean microseconds per call, grouped by phase (forward, BP1, backward), then the
rest of a step as ``fit`` takes it: the gather of the batch, the finiteness guard and the
optimizer update. The matrix products are the ``matmul`` rows.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import deltaprop as dp
from deltaprop._kernel import Workspace


def _time(call, repeat):
    call()
    t0 = time.perf_counter()
    for _ in range(repeat):
        call()
    return (time.perf_counter() - t0) / repeat * 1e6


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--sizes", default="784-256-128-10")
    p.add_argument("--hidden", default="relu")
    p.add_argument("--repeat", type=int, default=2000)
    args = p.parse_args()
    sizes = [int(s) for s in args.sizes.split("-")]
    net = dp.Network(sizes, activation=args.hidden, output_activation="softmax",
                     loss="cross_entropy", dtype="float32", seed=0)  # fmt: skip
    rng = np.random.default_rng(0)
    n = 60000
    X = rng.random((n, sizes[0]), dtype=np.float32)
    Y = np.eye(sizes[-1], dtype=np.float32)[rng.integers(0, sizes[-1], n)]
    ws = Workspace(net, args.batch, one_hot=True, scale=0.1)
    idx = rng.permutation(n)[: args.batch]
    X.take(idx, 0, ws.X, "clip")
    Y.take(idx, 0, ws.Y, "clip")
    rows, total = [], 0.0
    with np.errstate(over="ignore", invalid="ignore"):
        for phase, name, call in ws.program():
            us = _time(call, args.repeat)
            rows.append((phase, name, us))
            total += us
        opt = dp.optimizers.get("sgd", lr=0.1)
        opt.init(net.parameters)
        zero = np.zeros_like(ws.grad)
        g = ws.grad
        extra = {
            "gather": lambda: (X.take(idx, 0, ws.X, "clip"), Y.take(idx, 0, ws.Y, "clip")),
            "guard": ws.gradient_is_finite,
            "update": lambda: opt.update_scaled(net.parameters, zero),
        }
        # for comparison only, not part of the step: a dot product over the whole gradient
        rows.append(("compare", "full dot", _time(lambda: float(np.dot(g, g)), args.repeat)))
        for name, call in extra.items():
            rows.append(("rest", name, _time(call, args.repeat)))
    products = sum(us for _, name, us in rows if name == "matmul")
    step = sum(us for phase, _, us in rows if phase != "compare")
    print(f"sizes {sizes}, batch {args.batch}: {step:.1f} µs per step "
          f"({products:.1f} µs in matrix products, {products / step:.0%})")  # fmt: skip
    for phase, name, us in rows:
        print(f"  {phase:9s} {name:14s} {us:8.2f} µs")


if __name__ == "__main__":
    main()
