"""The benchmark's configurations, data and systems: one trainer class per system timed.

Every system trains the same network on the same data for whole epochs of shuffled mini-batches;
``warmup()`` runs once, then each ``run()`` returns (seconds, samples trained). See
`deltaprop.bench` for how they are measured and reported.
"""

from __future__ import annotations

import functools
import math
import random
import time
import warnings

import numpy as np

from ._validation import DeltapropError

__all__ = ["CONFIGS", "SYSTEMS", "TITLES", "load_data", "load_race_data", "book_network"]
__all__ += ["make_system", "why_not"]

#: Benchmark configurations: the book's network and a modern ReLU/softmax one. ``label`` heads
#: the speed table; ``short`` names the configuration in the other tables and notes.
CONFIGS = {
    "1": dict(
        label="(1) [784,30,10] sigmoid, quadratic, η=3.0, batch 10, float32",
        short="(1) [784,30,10] sigmoid, batch 10",
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
        short="(2) [784,256,128,10] ReLU, batch 64",
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
        short="(3) [784,256,128,10] ReLU, batch 256",
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
        short="(2) in float64",
        sizes=[784, 256, 128, 10],
        hidden="relu",
        output="softmax",
        loss="cross_entropy",
        lr=0.1,
        batch=64,
        dtype="float64",
    ),
}
#: The systems' names on the command line (``--systems``) and in the JSON report.
SYSTEMS = ("deltaprop", "pytorch", "sklearn", "jax", "book", "bound", "pytorch-bound")
#: What the printed tables and notes call each system.
TITLES = {
    "deltaprop": "deltaprop",
    "pytorch": "PyTorch",
    "sklearn": "scikit-learn",
    "jax": "JAX",
    "book": "book loop",
    "bound": "matmul bound",
    "pytorch-bound": "PyTorch's matmul bound",
    "onnxruntime": "ONNX Runtime",
}
_PACKAGES = {"pytorch": "torch", "pytorch-bound": "torch", "sklearn": "scikit-learn", "jax": "jax"}


# ---------------------------------------------------------------------- data
def load_data(dataset="auto", data_dir=None, n=None, seed=0):
    """The benchmark's data: (X float32 (n, 784) in [0, 1], y int64 (n,), description, note).

    Parameters
    ----------
    dataset : {"auto", "mnist", "random"}
        "mnist": MNIST's 60,000 training images, read and verified by
        `deltaprop.datasets.load_mnist` (downloaded when missing, as ``deltaprop train
        --dataset mnist`` does); "random": uniform numbers and labels of MNIST's shape; "auto":
        MNIST when its files are found locally (without downloading), else random data.
        With `data_dir` given, "auto" means "mnist".
    data_dir : str or os.PathLike, optional
        Directory holding the MNIST IDX files, searched before $DELTAPROP_DATA and the cache.
    n : int, optional
        Keep only the first `n` samples (random data: draw `n`). Default: 60,000.
    seed : int
        Seed of the random data.

    Returns
    -------
    X, y, description, note
        `note` says why "auto" fell back to random data (else None).
    """
    X, y, _, description, note = _load(dataset, data_dir, n, seed)
    return X, y, description, note


def load_race_data(dataset="auto", data_dir=None, n=None, seed=0):
    """`load_data`'s training data and a test set: (X, y, X_test, y_test, description, note).

    MNIST's test set is its 10,000 test images (whatever `n`); random data gets
    min(10,000, max(100, n // 6)) more random samples, drawn with seed ``seed + 1``.
    """
    X, y, ds, description, note = _load(dataset, data_dir, n, seed)
    if ds is not None:
        return X, y, ds.X_test, ds.y_test, description, note
    rng = np.random.default_rng(seed + 1)
    k = min(10000, max(100, X.shape[0] // 6))
    X_test, y_test = rng.random((k, 784), dtype=np.float32), rng.integers(0, 10, k)
    return X, y, X_test, y_test, description, note


def _load(dataset, data_dir, n, seed):
    """(X, y, the MNIST data set or None, description, note); see `load_data`."""
    from .datasets import DatasetError, load_mnist

    if dataset not in ("auto", "mnist", "random"):
        raise DeltapropError(
            f"dataset={dataset!r} is unknown; expected 'auto', 'mnist' or 'random'"
        )
    note = None
    if dataset != "random":
        required = dataset == "mnist" or data_dir is not None
        try:
            ds = load_mnist(data_dir, download=required, validation=0, dtype="float32")
        except DatasetError as exc:
            if required:
                raise
            note = _fallback_note(exc)
        else:
            X, y = ds.X_train[:n] if n else ds.X_train, ds.y_train[:n] if n else ds.y_train
            return X, y, ds, f"MNIST training set ({_source(ds)})", None
    rng = np.random.default_rng(seed)
    n = n or 60000
    X = rng.random((n, 784), dtype=np.float32)
    y = rng.integers(0, 10, n)
    why = " (MNIST files not found)" if note else ""
    return X, y, None, f"random uniform data of MNIST's shape{why}", note


def _fallback_note(exc):
    """Why "auto" uses random data, in a line."""
    message = str(exc).splitlines()[0]
    if message.startswith("MNIST files not found"):
        return (
            "MNIST files not found locally (point --data-dir or $DELTAPROP_DATA at them); "
            "using random data of MNIST's shape"
        )
    return f"MNIST not loaded ({message}); using random data of MNIST's shape"


def _source(ds):
    """The directory named in load_mnist's description ("... from DIR: ...")."""
    text = ds.description
    return text.split(" from ", 1)[-1].split(": ", 1)[0] if " from " in text else "MNIST"


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

    def __init__(self, cfg, X, y, epochs, seed=0):
        super().__init__(cfg, X, y, epochs)
        from .network import Network

        self.net = Network(
            cfg["sizes"],
            activation=cfg["hidden"],
            output_activation=cfg["output"],
            loss=cfg["loss"],
            dtype=cfg["dtype"],
            seed=seed,
        )
        self.X = X if X.dtype == self.net.dtype else X.astype(self.net.dtype)
        self.loop_times = []
        self.note = (
            "Network.fit with its defaults (training cost and accuracy accumulated from the "
            "batches' own forward passes, train_metrics='running'); the whole call timed"
            + calls_per_batch(self.net, cfg)
        )

    def _fit(self, X, y, epochs):
        return self.net.fit(
            X,
            y,
            epochs=epochs,
            batch_size=self.cfg["batch"],
            lr=self.cfg["lr"],
            optimizer="sgd",
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

    def __init__(self, cfg, X, y, epochs, threads, seed=0):
        super().__init__(cfg, X, y, epochs)
        import torch

        self.torch = torch
        torch.set_num_threads(threads)
        torch.manual_seed(seed)
        self.quadratic = cfg["loss"] == "quadratic"
        self.model = _torch_model(torch, cfg, self.quadratic)
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


def _torch_model(torch, cfg, quadratic):
    """nn.Sequential of Linear layers with the configuration's activations and dtype."""
    nn = torch.nn
    dtype = torch.float32 if cfg["dtype"] == "float32" else torch.float64
    act = {"sigmoid": nn.Sigmoid, "relu": nn.ReLU}[cfg["hidden"]]
    layers = []
    sizes = cfg["sizes"]
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(act())
    if quadratic:
        layers.append(nn.Sigmoid())
    return nn.Sequential(*layers).to(dtype)


class _Sklearn(_System):
    name = "sklearn"

    def __init__(self, cfg, X, y, epochs, seed=0):
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
            random_state=seed,
        )
        self.note = "MLPClassifier(solver='sgd', momentum=0, alpha=0), warm_start, max_iter=1"
        if cfg["loss"] == "quadratic":
            self.note += "; output softmax + log-loss (no quadratic cost in scikit-learn)"

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
            for j in range(epochs):  # noqa: B007 (the book's code, as written)
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

    def __init__(self, cfg, X, y, epochs, fraction, seed=0):
        super().__init__(cfg, X, y, epochs)
        dt = np.dtype(cfg["dtype"])
        self.net = book_network()(cfg["sizes"], dtype=dt, seed=seed)
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

    def __init__(self, cfg, X, y, epochs, seed=0):
        super().__init__(cfg, X, y, epochs)
        dt = np.dtype(cfg["dtype"])
        sizes, bs = cfg["sizes"], cfg["batch"]
        rng = np.random.default_rng(seed)
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


class _TorchBound(_Bound):
    """The bound's matrix products, multiplied by PyTorch's BLAS instead of numpy's.

    The same operands (shared memory, the same strides: Wᵀ and Δᵀ stay transposed views) and
    ``torch.mm(..., out=)``: how fast this machine's PyTorch multiplies what an epoch must. Set
    beside the matmul bound, it says whether numpy's BLAS or PyTorch's is the faster one here,
    which decides how far deltaprop can lead PyTorch at all.
    """

    name = "pytorch-bound"

    def __init__(self, cfg, X, y, epochs, threads, seed=0):
        super().__init__(cfg, X, y, epochs, seed)
        import torch

        torch.set_num_threads(threads)
        tensor = torch.from_numpy  # shares the memory and the strides: Wᵀ stays a view
        for m, prog in self.programs.items():
            self.programs[m] = [
                functools.partial(torch.mm, tensor(a), tensor(b), out=tensor(out))
                for a, b, out in (call.args for call in prog)
            ]
        self.note = "torch.mm(..., out=) of the same A Wᵀ, Δᵀ A and Δ W per batch, nothing else"


def calls_per_batch(net, cfg):
    """The note's "; N numpy calls per batch in the kernel's step", or "" if not known."""
    try:
        from ._kernel import Workspace

        kernel = Workspace(net, cfg["batch"], one_hot=True).calls_per_step
    except (ImportError, AttributeError, TypeError):  # the kernel is rebuilt independently
        return ""
    return f"; {kernel} numpy calls per batch in the kernel's step"


def why_not(name, cfg):
    """Why system `name` cannot run configuration `cfg` (not installed, not applicable), or None.

    Looks the packages up without importing them, so that no runner process is started for a
    system that would only say it cannot run.
    """
    import importlib.util

    if name not in SYSTEMS:
        raise DeltapropError(f"system={name!r} is unknown; expected one of {', '.join(SYSTEMS)}")
    if name == "book" and (cfg["hidden"] != "sigmoid" or cfg["loss"] != "quadratic"):
        return "not applicable (the book's code is sigmoid + quadratic only)"
    package = _PACKAGES.get(name)
    module = {"scikit-learn": "sklearn"}.get(package, package)
    if module and importlib.util.find_spec(module) is None:
        return f"not installed (pip install {package})"
    return None


def make_system(name, cfg, X, y, *, epochs=1, threads=1, book_fraction=0.05, seed=0):
    """The trainer for system `name` on configuration `cfg`, or a reason why there is none.

    Returns
    -------
    _System or str
        A string when the system does not apply to the configuration or its package is not
        installed; the string says which, in words.
    """
    try:
        if name == "deltaprop":
            return _Deltaprop(cfg, X, y, epochs, seed)
        if name == "pytorch":
            return _Torch(cfg, X, y, epochs, threads, seed)
        if name == "sklearn":
            return _Sklearn(cfg, X, y, epochs, seed)
        if name == "jax":
            from ._bench_jax import JaxSystem

            return JaxSystem(cfg, X, y, epochs, seed)
        if name == "book":
            if cfg["hidden"] != "sigmoid" or cfg["loss"] != "quadratic":
                return "not applicable (the book's code is sigmoid + quadratic only)"
            return _Book(cfg, X, y, epochs, book_fraction, seed)
        if name == "bound":
            return _Bound(cfg, X, y, epochs, seed)
        if name == "pytorch-bound":
            return _TorchBound(cfg, X, y, epochs, threads, seed)
    except ImportError as exc:
        return f"not installed (pip install {_PACKAGES.get(name, exc.name)})"
    raise DeltapropError(f"system={name!r} is unknown; expected one of {', '.join(SYSTEMS)}")
