"""The benchmark suite: full training epochs, side by side, in one run.

Every system trains the same network on the same MNIST-shaped data (60,000 × 784, 10 classes;
the real MNIST training set when its IDX files are found, else uniform random numbers of that
shape) for whole epochs of shuffled mini-batches:

- **deltaprop**: ``Network.fit(..., train_metrics=False)``, what a user runs; the whole call is
  timed, its argument checks included;
- **PyTorch** eager on the CPU: ``nn.Sequential`` of ``nn.Linear`` layers, ``torch.optim.SGD``,
  mini-batches gathered by ``index_select`` from a fresh ``randperm`` each epoch (no DataLoader);
- **scikit-learn**: ``MLPClassifier(solver="sgd", momentum=0, alpha=0)``, one epoch per
  ``fit`` call with ``warm_start=True, max_iter=1``. Its output layer is always softmax with
  log-loss, so on configuration (1) it computes softmax + cross-entropy where the others compute
  sigmoid + quadratic cost (the same matrix products, a slightly different output layer);
- **book**: the textbook's ``network.py`` (``update_mini_batch``/``backprop``, one column vector
  per sample), reimplemented faithfully below and timed on a fraction of an epoch, then
  extrapolated (configuration (1) only: the book's code is sigmoid + quadratic);
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
"""

from __future__ import annotations

import argparse
import datetime as _dt
import functools
import gzip
import json
import math
import os
import platform
import random
import statistics
import struct
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from ._validation import DeltapropError

__all__ = ["main", "CONFIGS", "SYSTEMS", "load_data", "book_network"]

#: Benchmark configurations: the book's network and a modern ReLU/softmax one.
CONFIGS = {
    "1": dict(
        label="(1) [784,30,10] sigmoid, quadratic, η=3.0, batch 10, float32",
        sizes=[784, 30, 10],
        hidden="sigmoid",
        output="sigmoid",
        loss="quadratic",
        lr=3.0,
        batch=10,
        dtype="float32",
    ),
    "2": dict(
        label="(2) [784,256,128,10] ReLU, softmax+CE, η=0.1, batch 64, float32",
        sizes=[784, 256, 128, 10],
        hidden="relu",
        output="softmax",
        loss="cross_entropy",
        lr=0.1,
        batch=64,
        dtype="float32",
    ),
    "3": dict(
        label="(3) [784,256,128,10] ReLU, softmax+CE, η=0.1, batch 256, float32",
        sizes=[784, 256, 128, 10],
        hidden="relu",
        output="softmax",
        loss="cross_entropy",
        lr=0.1,
        batch=256,
        dtype="float32",
    ),
    "2d": dict(
        label="(2) in float64: [784,256,128,10] ReLU, softmax+CE, batch 64",
        sizes=[784, 256, 128, 10],
        hidden="relu",
        output="softmax",
        loss="cross_entropy",
        lr=0.1,
        batch=64,
        dtype="float64",
    ),
}
SYSTEMS = ("deltaprop", "pytorch", "sklearn", "book", "bound")
_TITLES = {
    "deltaprop": "deltaprop",
    "pytorch": "PyTorch",
    "sklearn": "scikit-learn",
    "book": "book loop",
    "bound": "matmul bound",
}

#: Issue 5's targets: (system, configurations, minimum ratio deltaprop / system, or, for the
#: bound, deltaprop's samples/s as a fraction of the bound's).
TARGETS = [
    ("pytorch", ("2", "3"), 1.3),
    ("pytorch", ("1",), 3.0),
    ("sklearn", ("1", "2", "3", "2d"), 1.5),
    ("book", ("1",), 10.0),
    ("bound", ("2", "3", "2d"), 0.85),
    ("bound", ("1",), 0.6),
]

_MNIST_TRAIN = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte")


# ---------------------------------------------------------------------- data
def _read_idx_gz(path):
    """An IDX file (gzip-compressed or not) as a numpy array, with gzip + numpy only."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    zero, code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or code != 0x08:
        raise DeltapropError(f"{path} is not an unsigned-byte IDX file (magic {data[:4].hex()})")
    shape = struct.unpack(f">{ndim}I", data[4 : 4 + 4 * ndim])
    arr = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if arr.size != math.prod(shape):
        raise DeltapropError(f"{path} holds {arr.size} values; its header declares {shape}")
    return arr.reshape(shape)


def _mnist_dirs(mnist_dir):
    dirs = []
    if mnist_dir:
        dirs.append(Path(mnist_dir))
    for d in os.environ.get("DELTAPROP_DATA", "").split(os.pathsep):
        if d:
            dirs += [Path(d), Path(d) / "mnist"]
    from .datasets.mnist import mnist_cache_dir

    dirs.append(mnist_cache_dir())
    return dirs


def _find_mnist(mnist_dir):
    for d in _mnist_dirs(mnist_dir):
        found = []
        for name in _MNIST_TRAIN:
            hits = [d / (name + ext) for ext in (".gz", "") if (d / (name + ext)).is_file()]
            if not hits:
                break
            found.append(hits[0])
        else:
            return found
    return None


def load_data(source="auto", mnist_dir=None, n=None, seed=0):
    """(X float32 (n, 784) in [0, 1], y int64 (n,), description) for the benchmark.

    ``source`` is "mnist" (the training set's IDX files, error when missing), "random" (uniform
    numbers and labels of MNIST's shape) or "auto" (MNIST when found, else random).
    """
    files = _find_mnist(mnist_dir) if source in ("auto", "mnist") else None
    if files is None and source == "mnist":
        searched = ", ".join(str(d) for d in _mnist_dirs(mnist_dir))
        raise FileNotFoundError(f"MNIST training files not found in: {searched}")
    if files is not None:
        images, labels = (_read_idx_gz(p) for p in files)
        images = images[:n] if n else images
        X = np.empty((images.shape[0], 784), dtype=np.float32)
        np.multiply(images.reshape(-1, 784), np.float32(1 / 255), out=X)
        y = labels[: X.shape[0]].astype(np.int64)
        return X, y, f"MNIST training set ({files[0].parent})"
    rng = np.random.default_rng(seed)
    n = n or 60000
    X = rng.random((n, 784), dtype=np.float32)
    y = rng.integers(0, 10, n)
    return X, y, "random uniform data of MNIST's shape (MNIST files not found)"


def _one_hot(y, dtype):
    Y = np.zeros((y.size, 10), dtype=dtype)
    Y[np.arange(y.size), y] = 1
    return Y


# ---------------------------------------------------------------------- systems
class _System:
    """One trainer: ``warmup()`` once, then ``run()`` -> (seconds, samples trained)."""

    name = "?"
    note = ""

    def __init__(self, cfg, X, y, epochs):
        self.cfg, self.X, self.y, self.epochs = cfg, X, y, epochs
        self.n = X.shape[0]
        # Warm-up: a twentieth of the data, at least 20 batches.
        self.warm_n = min(self.n, max(self.n // 20, 20 * cfg["batch"]))

    def _epoch(self, n):
        """Train on the first `n` samples' worth of batches (systems that time whole epochs)."""
        raise NotImplementedError

    def warmup(self):
        self._epoch(self.warm_n)

    def run(self):
        t0 = time.perf_counter()
        for _ in range(self.epochs):
            self._epoch(self.n)
        return time.perf_counter() - t0, self.epochs * self.n


class _Deltaprop(_System):
    name = "deltaprop"

    def __init__(self, cfg, X, y, epochs):
        super().__init__(cfg, X, y, epochs)
        from .network import Network

        self.net = Network(
            cfg["sizes"],
            activation=cfg["hidden"],
            output_activation=cfg["output"],
            loss=cfg["loss"],
            dtype=cfg["dtype"],
            seed=0,
        )
        self.X = X if X.dtype == self.net.dtype else X.astype(self.net.dtype)
        self.loop_times = []
        self.note = f"Network.fit(train_metrics=False); {calls_per_batch(self.net, cfg)}"

    def _fit(self, X, y, epochs):
        return self.net.fit(
            X,
            y,
            epochs=epochs,
            batch_size=self.cfg["batch"],
            lr=self.cfg["lr"],
            optimizer="sgd",
            train_metrics=False,
        )

    def warmup(self):
        k = self.warm_n
        self._fit(self.X[:k], self.y[:k], 1)

    def run(self):
        t0 = time.perf_counter()
        history = self._fit(self.X, self.y, self.epochs)
        elapsed = time.perf_counter() - t0
        self.loop_times.append(sum(history.time))
        return elapsed, self.epochs * self.n


class _Torch(_System):
    name = "pytorch"

    def __init__(self, cfg, X, y, epochs, threads):
        super().__init__(cfg, X, y, epochs)
        import torch
        from torch import nn

        self.torch = torch
        torch.set_num_threads(threads)
        torch.manual_seed(0)
        dtype = torch.float32 if cfg["dtype"] == "float32" else torch.float64
        act = {"sigmoid": nn.Sigmoid, "relu": nn.ReLU}[cfg["hidden"]]
        layers = []
        sizes = cfg["sizes"]
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(nn.Linear(a, b))
            if i < len(sizes) - 2:
                layers.append(act())
        self.quadratic = cfg["loss"] == "quadratic"
        if self.quadratic:
            layers.append(nn.Sigmoid())
        self.model = nn.Sequential(*layers).to(dtype)
        self.opt = torch.optim.SGD(self.model.parameters(), lr=cfg["lr"], momentum=0.0)
        self.Xt = torch.from_numpy(np.ascontiguousarray(X, dtype=cfg["dtype"]))
        self.yt = (
            torch.from_numpy(_one_hot(y, cfg["dtype"])) if self.quadratic else torch.from_numpy(y)
        )
        self.note = "nn.Sequential + torch.optim.SGD, index_select batches from randperm; " + (
            "loss ½‖a−y‖² (mse_loss sum · 0.5/m)" if self.quadratic else "F.cross_entropy on logits"
        )

    def _epoch(self, n):
        torch, F = self.torch, self.torch.nn.functional
        model, opt, Xt, yt, bs = self.model, self.opt, self.Xt, self.yt, self.cfg["batch"]
        perm = torch.randperm(n)
        for start in range(0, n, bs):
            idx = perm[start : start + bs]
            xb = Xt.index_select(0, idx)
            yb = yt.index_select(0, idx)
            opt.zero_grad(set_to_none=True)
            out = model(xb)
            if self.quadratic:
                loss = F.mse_loss(out, yb, reduction="sum") * (0.5 / idx.numel())
            else:
                loss = F.cross_entropy(out, yb)
            loss.backward()
            opt.step()


class _Sklearn(_System):
    name = "sklearn"

    def __init__(self, cfg, X, y, epochs):
        super().__init__(cfg, X, y, epochs)
        from sklearn.neural_network import MLPClassifier

        self.X = np.ascontiguousarray(X, dtype=cfg["dtype"])
        self.clf = MLPClassifier(
            hidden_layer_sizes=tuple(cfg["sizes"][1:-1]),
            activation={"sigmoid": "logistic", "relu": "relu"}[cfg["hidden"]],
            solver="sgd",
            learning_rate="constant",
            learning_rate_init=cfg["lr"],
            momentum=0.0,
            nesterovs_momentum=False,
            alpha=0.0,
            batch_size=cfg["batch"],
            max_iter=1,
            shuffle=True,
            warm_start=True,
            early_stopping=False,
            tol=0.0,
            n_iter_no_change=10**9,
            random_state=0,
        )
        self.note = "MLPClassifier(solver='sgd', momentum=0, alpha=0), warm_start, max_iter=1"
        if cfg["loss"] == "quadratic":
            self.note += "; output softmax + log-loss (no quadratic cost in sklearn)"

    def _fit(self, X, y):
        from sklearn.exceptions import ConvergenceWarning

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            self.clf.fit(X, y)

    def warmup(self):
        k = self.warm_n
        self._fit(self.X[:k], self.y[:k])

    def run(self):
        t0 = time.perf_counter()
        for _ in range(self.epochs):
            self._fit(self.X, self.y)
        return time.perf_counter() - t0, self.epochs * self.n


def book_network():
    """The textbook's ``Network`` class (network.py, chapter 1), kept as written.

    The only change: arrays take the benchmark's dtype (``np.zeros(b.shape, b.dtype)``) instead
    of numpy's default float64, so that the float32 configuration compares like with like.
    """

    def sigmoid(z):
        return 1.0 / (1.0 + np.exp(-z))

    def sigmoid_prime(z):
        return sigmoid(z) * (1 - sigmoid(z))

    class Network:
        def __init__(self, sizes, dtype=np.float64, seed=0):
            rng = np.random.default_rng(seed)
            self.num_layers = len(sizes)
            self.sizes = sizes
            self.biases = [rng.standard_normal((y, 1)).astype(dtype) for y in sizes[1:]]
            self.weights = [
                rng.standard_normal((y, x)).astype(dtype) for x, y in zip(sizes[:-1], sizes[1:])
            ]

        def feedforward(self, a):
            for b, w in zip(self.biases, self.weights):
                a = sigmoid(np.dot(w, a) + b)
            return a

        def SGD(self, training_data, epochs, mini_batch_size, eta, max_batches=None):
            n = len(training_data)
            for j in range(epochs):
                random.shuffle(training_data)
                mini_batches = [
                    training_data[k : k + mini_batch_size] for k in range(0, n, mini_batch_size)
                ]
                for mini_batch in mini_batches[:max_batches]:
                    self.update_mini_batch(mini_batch, eta)

        def update_mini_batch(self, mini_batch, eta):
            nabla_b = [np.zeros(b.shape, b.dtype) for b in self.biases]
            nabla_w = [np.zeros(w.shape, w.dtype) for w in self.weights]
            for x, y in mini_batch:
                delta_nabla_b, delta_nabla_w = self.backprop(x, y)
                nabla_b = [nb + dnb for nb, dnb in zip(nabla_b, delta_nabla_b)]
                nabla_w = [nw + dnw for nw, dnw in zip(nabla_w, delta_nabla_w)]
            self.weights = [
                w - (eta / len(mini_batch)) * nw for w, nw in zip(self.weights, nabla_w)
            ]
            self.biases = [b - (eta / len(mini_batch)) * nb for b, nb in zip(self.biases, nabla_b)]

        def backprop(self, x, y):
            nabla_b = [np.zeros(b.shape, b.dtype) for b in self.biases]
            nabla_w = [np.zeros(w.shape, w.dtype) for w in self.weights]
            activation = x
            activations = [x]
            zs = []
            for b, w in zip(self.biases, self.weights):
                z = np.dot(w, activation) + b
                zs.append(z)
                activation = sigmoid(z)
                activations.append(activation)
            delta = self.cost_derivative(activations[-1], y) * sigmoid_prime(zs[-1])
            nabla_b[-1] = delta
            nabla_w[-1] = np.dot(delta, activations[-2].transpose())
            for l in range(2, self.num_layers):
                z = zs[-l]
                sp = sigmoid_prime(z)
                delta = np.dot(self.weights[-l + 1].transpose(), delta) * sp
                nabla_b[-l] = delta
                nabla_w[-l] = np.dot(delta, activations[-l - 1].transpose())
            return (nabla_b, nabla_w)

        def cost_derivative(self, output_activations, y):
            return output_activations - y

    return Network


class _Book(_System):
    name = "book"

    def __init__(self, cfg, X, y, epochs, fraction):
        super().__init__(cfg, X, y, epochs)
        dt = np.dtype(cfg["dtype"])
        self.net = book_network()(cfg["sizes"], dtype=dt)
        Y = _one_hot(y, dt)
        # The book's data: a list of (784×1, 10×1) column-vector pairs.
        self.data = [
            (X[i].reshape(784, 1).astype(dt, copy=False), Y[i].reshape(10, 1))
            for i in range(self.n)
        ]
        bs = cfg["batch"]
        self.batches = max(1, int(round(fraction * self.n / bs)))
        self.note = (
            f"textbook network.py (column vectors, a loop over samples); "
            f"timed on {self.batches * bs} samples per measurement "
            f"({100 * self.batches * bs / self.n:.1f}% of an epoch), extrapolated"
        )

    def warmup(self):
        self.net.SGD(self.data, 1, self.cfg["batch"], self.cfg["lr"], max_batches=5)

    def run(self):
        bs = self.cfg["batch"]
        t0 = time.perf_counter()
        self.net.SGD(self.data, 1, bs, self.cfg["lr"], max_batches=self.batches)
        return time.perf_counter() - t0, self.batches * bs


class _Bound(_System):
    """Only the matrix products of an epoch, in the kernel's batch loop."""

    name = "bound"

    def __init__(self, cfg, X, y, epochs):
        super().__init__(cfg, X, y, epochs)
        dt = np.dtype(cfg["dtype"])
        sizes, bs = cfg["sizes"], cfg["batch"]
        rng = np.random.default_rng(0)
        self.Ws = [
            (rng.standard_normal((b, a)) / math.sqrt(a)).astype(dt)
            for a, b in zip(sizes[:-1], sizes[1:])
        ]
        self.gWs = [np.empty_like(W) for W in self.Ws]
        self.programs = {}
        for m in {bs, self.n % bs} - {0}:
            A = [rng.random((m, sizes[0])).astype(dt)]
            A += [np.empty((m, k), dtype=dt) for k in sizes[1:]]
            D = [(0.01 * rng.standard_normal((m, k))).astype(dt) for k in sizes[1:]]
            prog = []
            L = len(self.Ws)
            for l in range(L):
                prog.append((A[l], self.Ws[l].T, A[l + 1]))  # Z = A Wᵀ
            for l in range(L - 1, -1, -1):
                prog.append((D[l].T, A[l], self.gWs[l]))  # BP4: Δᵀ A
                if l > 0:
                    prog.append((D[l], self.Ws[l], D[l - 1]))  # BP2: Δ W
            # Bound calls, as the kernel's are: the loop costs no more than the kernel's.
            self.programs[m] = [functools.partial(np.matmul, *args) for args in prog]
        self.note = "np.matmul(..., out=) of A Wᵀ, Δᵀ A and Δ W per batch, nothing else"

    def _epoch(self, n):
        bs = self.cfg["batch"]
        full, rest = divmod(n, bs)
        for m, count in ((bs, full), (rest, 1 if rest else 0)):
            prog = self.programs.get(m) or self.programs[bs]
            for _ in range(count):
                for op in prog:
                    op()


def calls_per_batch(net, cfg):
    """A sentence with the number of numpy calls ``fit`` makes per full batch."""
    from ._kernel import Workspace

    ws = Workspace(net, cfg["batch"], one_hot=True)
    kernel = ws.calls_per_step
    # fit's loop: two np.take, the finiteness dot product, the update.
    return f"{kernel + 4} numpy calls per batch ({kernel} in the kernel)"


# ---------------------------------------------------------------------- machine state
def _busy_seconds():
    """CPU seconds all processes have spent outside idle, summed over cores (/proc/stat)."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        return (sum(v[:8]) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        return None


class _OthersMeter:
    """CPU used by other processes while a measurement runs: all busy time minus our own."""

    def __enter__(self):
        self.busy, self.cpu, self.wall = _busy_seconds(), time.process_time(), time.perf_counter()
        return self

    def __exit__(self, *exc):
        busy = _busy_seconds()
        self.wall = time.perf_counter() - self.wall
        mine = time.process_time() - self.cpu
        # /proc/stat counts in clock ticks (10 ms): meaningful summed over long stretches.
        self.seconds = (
            None if busy is None or self.busy is None else max(0.0, busy - self.busy - mine)
        )
        self.cores = None if self.seconds is None else self.seconds / max(self.wall, 1e-9)
        return False


def _mean_cores(pairs):
    """Σ others' CPU seconds / Σ wall seconds over (seconds, wall) pairs, or None."""
    pairs = [(c, w) for c, w in pairs if c is not None]
    wall = sum(w for _, w in pairs)
    return round(sum(c for c, _ in pairs) / wall, 2) if pairs and wall > 0 else None


def machine_load(threads, seconds=2.0):
    """Load averages, cores kept busy by other processes over `seconds`, and a warning."""
    load = os.getloadavg() if hasattr(os, "getloadavg") else (math.nan,) * 3
    with _OthersMeter() as meter:
        time.sleep(seconds)
    busy = meter.cores
    cores = os.cpu_count() or 1
    warn = None
    # The 1-minute load average lags (and counts this process's own threads once it runs), so
    # the busy cores measured just now decide; the load average decides only without /proc.
    if (busy is not None and busy > 0.2) or (busy is None and load[0] > 0.5):
        warn = (
            f"the machine is busy before the run ({busy if busy is not None else math.nan:.2f}"
            f" of {cores} cores busy over {seconds:g} s, load average {load[0]:.2f}): with "
            f"{threads} BLAS threads a busy core slows matrix products by large, erratic "
            f"factors; rerun on a quiet machine for numbers to compare"
        )
    return {
        "loadavg": [round(x, 2) for x in load],
        "busy_cores": None if busy is None else round(busy, 2),
        "cores": cores,
        "warning": warn,
    }


def blas_info():
    """The BLAS/OpenMP libraries threadpoolctl sees, with kernel (architecture) and threads."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return [{"note": "threadpoolctl is not installed"}]
    keep = (
        "user_api",
        "internal_api",
        "prefix",
        "version",
        "architecture",
        "corename",
        "threading_layer",
        "num_threads",
    )
    out = []
    for lib in threadpool_info():
        row = {k: lib[k] for k in keep if k in lib}
        row["file"] = os.path.basename(lib.get("filepath", ""))
        out.append(row)
    return out


def _torch_info(threads):
    try:
        import torch
    except ImportError:
        return None
    cfg = torch.__config__.show()
    blas = next(
        (p.split("=")[1] for p in cfg.replace(",", "\n").split() if p.startswith("BLAS_INFO=")), "?"
    )
    mkl = next((ln.strip(" -") for ln in cfg.splitlines() if "Math Kernel Library" in ln), None)
    cap = next(
        (ln.split(":")[1].strip() for ln in cfg.splitlines() if "CPU capability" in ln), None
    )
    return {
        "version": torch.__version__,
        "blas": blas,
        "mkl": mkl,
        "cpu_capability": cap,
        "threads": torch.get_num_threads(),
        "requested_threads": threads,
    }


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


# ---------------------------------------------------------------------- memory
def _status_kb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return None


def _memory_probe(args):
    """Run in a child process: peak memory of one epoch of configuration (2) with fit."""
    import tracemalloc

    from .network import Network

    X, y, source = load_data(args.data, args.mnist_dir, args.samples)
    cfg = CONFIGS["2"]
    net = Network(
        cfg["sizes"],
        activation=cfg["hidden"],
        output_activation=cfg["output"],
        loss=cfg["loss"],
        dtype=cfg["dtype"],
        seed=0,
    )
    out = {
        "data_bytes": int(X.nbytes + y.nbytes),
        "X_bytes": int(X.nbytes),
        "parameters_bytes": int(net.parameters.nbytes),
        "data": source,
    }
    hwm_load = _status_kb("VmHWM")
    out["peak_rss_loading_bytes"] = hwm_load * 1024 if hwm_load else None
    reset = False
    try:  # "5" resets the peak resident set size (Linux ≥ 4.0), so VmHWM measures fit alone.
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        reset = True
    except OSError:
        pass
    rss0 = _status_kb("VmRSS")
    fit_kw = dict(epochs=1, batch_size=cfg["batch"], lr=cfg["lr"], train_metrics=False)
    net.fit(X, y, **fit_kw)
    out["rss_before_fit_bytes"] = rss0 * 1024 if rss0 else None
    hwm = _status_kb("VmHWM")
    out["peak_rss_during_fit_bytes"] = hwm * 1024 if (hwm and reset) else None
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    net.fit(X, y, **fit_kw)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    out["tracemalloc_peak_fit_bytes"] = int(peak - base)
    print(json.dumps(out))


def measure_memory(args):
    cmd = [
        sys.executable,
        "-c",
        "import sys; from deltaprop.bench import _memory_main; "
        "sys.exit(_memory_main(sys.argv[1:]))",
        "--data",
        args.data,
        "--threads",
        str(args.threads),
    ]
    if args.mnist_dir:
        cmd += ["--mnist-dir", str(args.mnist_dir)]
    if args.samples:
        cmd += ["--samples", str(args.samples)]
    env = dict(os.environ)
    # The child imports this package from where this process found it (also from a checkout).
    env["PYTHONPATH"] = os.pathsep.join(
        [str(Path(__file__).resolve().parents[1])]
        + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])
    )
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900, env=env)
        return json.loads(proc.stdout.strip().splitlines()[-1])
    except (subprocess.SubprocessError, ValueError, IndexError) as exc:
        return {"error": f"memory probe failed: {exc}"}


def _memory_main(argv):
    args = _parser().parse_args(argv)
    with _thread_limits(args.threads):
        _memory_probe(args)
    return 0


def _thread_limits(threads):
    """threadpoolctl's limit on every BLAS and OpenMP pool, or nothing without threadpoolctl."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        import contextlib

        return contextlib.nullcontext()
    return threadpool_limits(limits=threads)


# ---------------------------------------------------------------------- the run
def _parser(prog="deltaprop bench"):
    p = argparse.ArgumentParser(
        prog=prog,
        description="Full training epochs on MNIST-shaped data: deltaprop, PyTorch, "
        "scikit-learn, the book's per-sample loop and the matrix-multiply bound.",
    )
    p.add_argument(
        "--configs",
        default="1,2,3,2d",
        help="comma-separated configurations among 1, 2, 3, 2d (default: all)",
    )
    p.add_argument(
        "--systems",
        default=",".join(SYSTEMS),
        help="comma-separated systems among " + ", ".join(SYSTEMS),
    )
    p.add_argument("--epochs", type=int, default=1, help="epochs per measurement (default 1)")
    p.add_argument(
        "--repeats",
        type=int,
        default=5,
        help="measurements per system; the median is reported (default 5)",
    )
    p.add_argument(
        "--threads",
        type=int,
        default=2,
        help="threads for BLAS, OpenMP and torch alike (default 2)",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="a short run: 10,000 samples, 3 measurements, no memory probe",
    )
    p.add_argument(
        "--data",
        choices=("auto", "mnist", "random"),
        default="auto",
        help="MNIST if found (auto), require it (mnist), or random data",
    )
    p.add_argument(
        "--mnist-dir",
        default=None,
        help="directory holding train-images-idx3-ubyte(.gz) and "
        "train-labels-idx1-ubyte(.gz); also searched: $DELTAPROP_DATA, the cache",
    )
    p.add_argument(
        "--samples", type=int, default=None, help="use only the first N training samples"
    )
    p.add_argument(
        "--book-fraction",
        type=float,
        default=0.05,
        help="fraction of an epoch the book loop is timed on (default 0.05)",
    )
    p.add_argument("--no-memory", action="store_true", help="skip the memory probe")
    p.add_argument(
        "--out",
        default="benchmarks/results",
        help="directory for bench.json and bench.md (default benchmarks/results)",
    )
    return p


def _make(name, cfg, X, y, args):
    if name == "deltaprop":
        return _Deltaprop(cfg, X, y, args.epochs)
    if name == "pytorch":
        return _Torch(cfg, X, y, args.epochs, args.threads)
    if name == "sklearn":
        return _Sklearn(cfg, X, y, args.epochs)
    if name == "book":
        if cfg["hidden"] != "sigmoid" or cfg["loss"] != "quadratic":
            return None
        return _Book(cfg, X, y, args.epochs, args.book_fraction)
    if name == "bound":
        return _Bound(cfg, X, y, args.epochs)
    raise DeltapropError(f"unknown system {name!r}; expected one of {', '.join(SYSTEMS)}")


def run_config(key, X, y, args, log):
    cfg = CONFIGS[key]
    Xc = X if X.dtype == np.dtype(cfg["dtype"]) else X.astype(cfg["dtype"])
    systems, skipped = [], {}
    for name in args.systems:
        try:
            s = _make(name, cfg, Xc, y, args)
        except ImportError as exc:
            skipped[name] = f"not installed ({exc.name})"
            continue
        if s is None:
            skipped[name] = "not applicable (the book's code is sigmoid + quadratic only)"
            continue
        systems.append(s)
    log(f"\n{cfg['label']}")
    for s in systems:
        s.warmup()
    times = {s.name: [] for s in systems}
    cpu = {s.name: [] for s in systems}
    others = {s.name: [] for s in systems}
    samples = {}
    for r in range(args.repeats):
        for s in systems if r % 2 == 0 else systems[::-1]:
            c0 = time.process_time()
            with _OthersMeter() as meter:
                t, k = s.run()
            cpu[s.name].append(time.process_time() - c0)
            others[s.name].append((meter.seconds, meter.wall))
            times[s.name].append(t)
            samples[s.name] = k
    busy_all = _mean_cores([x for v in others.values() for x in v])
    worst = max(
        (_mean_cores([x]) or 0.0 for v in others.values() for x in v if x[1] >= 0.5), default=None
    )
    result = {
        "config": key,
        **cfg,
        "systems": {},
        "skipped": skipped,
        "others_cores": busy_all,
        "others_cores_max": worst,
    }
    if (busy_all or 0) > 0.1 or (worst or 0) > 0.3:
        result["warning"] = (
            f"other processes kept {busy_all:.2f} cores busy on average "
            f"(up to {worst or 0:.2f} in one measurement) during this "
            f"configuration: its numbers are unreliable"
        )
        log(f"  WARNING: {result['warning']}")
    for s in systems:
        med = statistics.median(times[s.name])
        # CPU seconds per wall second: about 1 single-threaded; well below 1 means the
        # process waited for a core (another process ran), up to `threads` with busy BLAS.
        busy = _mean_cores(others[s.name])
        row = {
            "times_s": [round(t, 5) for t in times[s.name]],
            "median_s": med,
            "cpu_per_wall": round(sum(cpu[s.name]) / sum(times[s.name]), 2),
            # cores other processes kept busy, on average over the measurements
            "others_cores": busy,
            "samples_per_measurement": samples[s.name],
            "samples_per_s": samples[s.name] / med,
            "note": s.note,
        }
        if s.name == "deltaprop":
            row["batch_loop_median_s"] = statistics.median(s.loop_times)
        result["systems"][s.name] = row
        log(
            f"  {_TITLES[s.name]:>13}: {row['samples_per_s']:>12,.0f} samples/s"
            f"   (median {med:.3f} s of {samples[s.name]:,} samples; "
            f"spread {min(times[s.name]):.3f}–{max(times[s.name]):.3f} s; "
            f"cpu/wall {row['cpu_per_wall']:.2f}; other processes "
            f"{busy if busy is not None else math.nan:.2f} cores)"
        )
    dp = result["systems"].get("deltaprop")
    if dp:
        result["ratios"] = {
            name: dp["samples_per_s"] / row["samples_per_s"]
            for name, row in result["systems"].items()
            if name != "deltaprop"
        }
        log(
            "  deltaprop ÷ "
            + ", ".join(f"{_TITLES[k]} {v:.2f}×" for k, v in result["ratios"].items())
        )
    return result


def _targets(results):
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


def to_markdown(report):
    meta = report["meta"]
    lines = [f"## Benchmark: {meta['date']}", ""]
    lines.append(f"- command: `{meta['command']}`")
    lines.append(
        f"- data: {meta['data']}, {meta['samples']:,} samples; {meta['epochs']} "
        f"epoch(s) per measurement, median of {meta['repeats']}"
    )
    lines.append(
        f"- machine: {meta['cpu']}, {meta['cores']} cores; {meta['threads']} threads; "
        f"Python {meta['python']}, numpy {meta['numpy']}"
    )
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
    ld = meta["load_start"]
    lines.append(
        f"- load before the run: {ld['loadavg']} (1/5/15 min), "
        f"{ld['busy_cores']} of {ld['cores']} cores busy with other processes; "
        f"load after: {meta['load_end']['loadavg']}"
    )
    if ld["warning"]:
        lines.append(f"- **warning**: {ld['warning']}")
    busy = {k: r.get("others_cores") for k, r in report["results"].items()}
    if any(v is not None for v in busy.values()):
        lines.append(
            "- cores kept busy by other processes during the measurements (mean): "
            + ", ".join(f"({k}) {v:.2f}" for k, v in busy.items() if v is not None)
        )
    for k, r in report["results"].items():
        if r.get("warning"):
            lines.append(f"- **warning** ({k}): {r['warning']}")
    lines += ["", "Samples per second (higher is better) and deltaprop's ratio to each system:", ""]
    head = (
        ["configuration"]
        + [_TITLES[s] for s in SYSTEMS]
        + [f"÷ {_TITLES[s]}" for s in SYSTEMS if s != "deltaprop"]
    )
    lines.append("| " + " | ".join(head) + " |")
    lines.append("|" + "---|" * len(head))
    for key, res in report["results"].items():
        cells = [res["label"]]
        for s in SYSTEMS:
            row = res["systems"].get(s)
            cells.append(f"{row['samples_per_s']:,.0f}" if row else "—")
        for s in SYSTEMS[1:]:
            r = res.get("ratios", {}).get(s)
            cells.append(f"{r:.2f}" if r is not None else "—")
        lines.append("| " + " | ".join(cells) + " |")
    loops = [
        (k, r)
        for k, r in report["results"].items()
        if "batch_loop_median_s" in r["systems"].get("deltaprop", {})
    ]
    if loops:
        lines += [
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
                f"| {key} | {dp['samples_per_s']:,.0f} | {loop_rate:,.0f} | "
                f"{100 * (1 - dp['batch_loop_median_s'] / dp['median_s']):.0f}% | "
                f"{frac} |"
            )
    tg = report.get("targets", [])
    if tg:
        lines += [
            "",
            "Targets (issue 5):",
            "",
            "| config | versus | target | measured | |",
            "|---|---|---|---|---|",
        ]
        for t in tg:
            lines.append(
                f"| {t['config']} | {_TITLES[t['system']]} | ≥ {t['target']:g} | "
                f"{t['ratio']:.2f} | {'met' if t['met'] else 'missed'} "
                f"({100 * (t['margin'] - 1):+.0f}%) |"
            )
    mem = report.get("memory")
    if mem and "error" not in mem:
        mb = 1 / 2**20
        peak = mem.get("peak_rss_during_fit_bytes")
        lines += [
            "",
            f"Memory, one epoch of configuration (2) with `fit` (separate process): "
            f"data {mem['data_bytes'] * mb:.0f} MiB (X {mem['X_bytes'] * mb:.0f} MiB); "
            f"resident before fit {mem['rss_before_fit_bytes'] * mb:.0f} MiB, "
            f"peak during the epoch "
            + (
                f"{peak * mb:.0f} MiB (+{(peak - mem['rss_before_fit_bytes']) * mb:.0f} MiB)"
                if peak
                else "n/a"
            )
            + f"; numpy/Python allocations during fit peak at "
            f"{mem['tracemalloc_peak_fit_bytes'] * mb:.1f} MiB (tracemalloc).",
        ]
    elif mem:
        lines += ["", f"Memory: {mem['error']}"]
    notes = []
    for res in report["results"].values():
        for s, row in res["systems"].items():
            notes.append(f"- {res['config']} / {_TITLES[s]}: {row['note']}")
        for s, why in res.get("skipped", {}).items():
            notes.append(f"- {res['config']} / {_TITLES[s]}: {why}")
    lines += [
        "",
        "<details><summary>How each system was run</summary>",
        "",
        *notes,
        "",
        "</details>",
        "",
    ]
    return "\n".join(lines)


def main(argv=None, prog="deltaprop bench") -> int:
    """Run the benchmark suite; returns an exit status. See ``--help`` for the options.

    Parameters
    ----------
    argv : list of str, optional
        Command-line arguments (default: ``sys.argv[1:]``).
    prog : str
        How the suite was invoked, recorded with the results.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    args = _parser(prog).parse_args(argv)
    if args.quick:
        args.samples = args.samples or 10000
        args.repeats = min(args.repeats, 3)
        args.no_memory = True
    args.configs = [c.strip() for c in args.configs.split(",") if c.strip()]
    args.systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    bad = [c for c in args.configs if c not in CONFIGS] + [
        s for s in args.systems if s not in SYSTEMS
    ]
    if bad or args.epochs < 1 or args.repeats < 1 or args.threads < 1:
        print(
            f"invalid option value(s): {bad or 'epochs/repeats/threads must be >= 1'}; "
            f"configurations: {', '.join(CONFIGS)}; systems: {', '.join(SYSTEMS)}",
            file=sys.stderr,
        )
        return 2

    def log(msg):
        print(msg, flush=True)

    load_start = machine_load(args.threads, seconds=1.0 if args.quick else 2.0)
    log(
        f"load before the run: {load_start['loadavg']} (1/5/15 min), "
        f"{load_start['busy_cores']} of {load_start['cores']} cores busy with other processes"
    )
    if load_start["warning"]:
        log(f"WARNING: {load_start['warning']}")
    X, y, source = load_data(args.data, args.mnist_dir, args.samples)
    log(f"data: {source}, X {X.shape} {X.dtype}")

    results = {}
    with _thread_limits(args.threads):
        blas = blas_info()
        torch_info = _torch_info(args.threads) if "pytorch" in args.systems else None
        for lib in blas:
            if lib.get("user_api") == "blas":
                log(
                    f"BLAS: {lib.get('internal_api')} {lib.get('version')} kernel "
                    f"{lib.get('architecture')} threads {lib.get('num_threads')} ({lib['file']})"
                )
        for key in args.configs:
            results[key] = run_config(key, X, y, args, log)
    memory = None
    if not args.no_memory:
        log("\nmemory probe (configuration (2), one epoch, separate process) ...")
        memory = measure_memory(args)
    try:
        import sklearn

        sk_version = sklearn.__version__
    except ImportError:
        sk_version = None
    meta = {
        "date": _dt.datetime.now().isoformat(timespec="seconds"),
        "command": " ".join([prog] + argv),
        "data": source,
        "samples": int(X.shape[0]),
        "epochs": args.epochs,
        "repeats": args.repeats,
        "threads": args.threads,
        "quick": args.quick,
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "sklearn": sk_version,
        "blas": blas,
        "torch": torch_info,
        "env": {
            k: os.environ.get(k)
            for k in (
                "OPENBLAS_CORETYPE",
                "OPENBLAS_L2_SIZE",
                "OPENBLAS_NUM_THREADS",
                "OMP_NUM_THREADS",
                "MKL_NUM_THREADS",
            )
        },
        "load_start": load_start,
        "load_end": {"loadavg": [round(x, 2) for x in os.getloadavg()]},
    }
    if meta["env"]["OPENBLAS_CORETYPE"]:
        log(
            f"note: OPENBLAS_CORETYPE={meta['env']['OPENBLAS_CORETYPE']} overrides OpenBLAS's "
            f"own kernel choice"
        )
    report = {"meta": meta, "results": results, "targets": _targets(results), "memory": memory}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = "bench-quick" if args.quick else "bench"
    md = to_markdown(report)
    (out / f"{stem}.json").write_text(json.dumps(report, indent=2, default=float) + "\n")
    (out / f"{stem}.md").write_text(md)
    log("\n" + md)
    log(f"written: {out / (stem + '.json')}, {out / (stem + '.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
