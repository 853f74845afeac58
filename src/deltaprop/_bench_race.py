"""The benchmark's end-to-end measurements: a time-to-accuracy race and inference throughput.

**Race.** deltaprop and PyTorch train the ``modern`` preset's recipe ([784, 256, 128, 10] ReLU,
softmax + cross-entropy, He-normal weights and zero biases, Adam with η = 10⁻³ and cosine decay
over the race's epochs, batch 64, float32, shuffled every epoch) on the same training data.
After each epoch the test accuracy is computed; the race stops at the first epoch whose
accuracy reaches the target, or after the last epoch. The clock starts just before training
(the data already in memory, the libraries imported, nothing warmed up: what a user's run
costs) and runs until the end of that epoch, **without** the time of the test evaluations,
which are excluded identically for both systems. deltaprop trains with ``Network.fit`` and its
defaults (a callback evaluates and stops it); PyTorch with ``nn.Sequential``,
``torch.optim.Adam``, ``CosineAnnealingLR`` stepped once per epoch (the same per-epoch rate as
deltaprop's ``cosine`` schedule) and ``index_select`` batches from a fresh ``randperm``.

**Inference.** ``Network.predict`` (class labels) against PyTorch's ``model(x).argmax(1)`` under
``torch.inference_mode()``, one call per batch: batch 1 (one row at a time) and batch 1,024,
on an untrained network of the same architecture in float32.

Each function here runs inside a runner process (``deltaprop._bench_runner``); the parent
process pairs them and computes the ratios.
"""

from __future__ import annotations

import time

import numpy as np

from ._validation import DeltapropError

__all__ = [
    "recipe",
    "race_deltaprop",
    "race_pytorch",
    "infer_deltaprop",
    "infer_pytorch",
    "infer_onnxruntime",
]

#: Inference batch sizes.
INFERENCE_BATCHES = (1, 1024)


def recipe():
    """The ``modern`` preset's training recipe (checked to be one PyTorch can follow)."""
    from .presets import get

    r = get("modern")
    expected = {
        "activation": "relu",
        "output_activation": "softmax",
        "loss": "cross_entropy",
        "init": "he_normal",
        "optimizer": "adam",
        "schedule": "cosine",
    }
    changed = {k: r.get(k) for k, v in expected.items() if r.get(k) != v}
    if changed:
        raise DeltapropError(
            f"the modern preset changed ({changed}); the race's PyTorch side follows "
            f"{expected} and needs updating"
        )
    return r


class _Clock:
    """Training time to each epoch's end, the test evaluations excluded; the stop rule."""

    def __init__(self, accuracy, target):
        self.accuracy, self.target = accuracy, target
        self.times, self.accuracies, self.evals = [], [], 0.0
        self.t0 = time.perf_counter()

    def start(self):
        self.t0 = time.perf_counter()

    def epoch_end(self):
        """Record the epoch; True when its test accuracy reached the target."""
        t = time.perf_counter()
        self.times.append(t - self.t0 - self.evals)
        self.accuracies.append(float(self.accuracy()))
        self.evals += time.perf_counter() - t
        return self.accuracies[-1] >= self.target

    def result(self):
        reached = [i for i, a in enumerate(self.accuracies) if a >= self.target]
        last = reached[0] if reached else len(self.times) - 1
        return {
            "reached": bool(reached),
            "epochs": last + 1,
            "seconds": self.times[last],
            "accuracy": self.accuracies[last],
            "epoch_end_seconds": self.times,
            "accuracies": self.accuracies,
            "eval_seconds": round(self.evals, 4),
        }


def race_deltaprop(X, y, X_test, y_test, *, target, epochs, seed=0):
    """Train the recipe with ``Network.fit`` until `target` test accuracy; the clock's result."""
    from .callbacks import Callback
    from .network import Network

    r = recipe()
    net = Network(
        r["layers"],
        activation=r["activation"],
        output_activation=r["output_activation"],
        loss=r["loss"],
        init=r["init"],
        dtype="float32",
        seed=seed,
    )
    clock = _Clock(lambda: np.mean(net.predict(X_test) == y_test), target)

    class Stop(Callback):
        def on_epoch_end(self, epoch, logs):
            if clock.epoch_end():
                self.stop_training = True

    clock.start()
    net.fit(
        X,
        y,
        epochs=epochs,
        batch_size=r["batch_size"],
        lr=r["lr"],
        optimizer=r["optimizer"],
        schedule=r["schedule"],
        seed=seed,
        callbacks=[Stop()],
    )
    out = clock.result()
    out["note"] = (
        f"Network.fit with its defaults, optimizer={r['optimizer']!r}, lr={r['lr']}, "
        f"schedule={r['schedule']!r}, batch_size={r['batch_size']}, init={r['init']!r}"
    )
    return out


def _torch_modern(torch, sizes):
    """nn.Sequential of Linear + ReLU, He-normal weights (kaiming_normal_, fan_in), zero biases."""
    nn = torch.nn
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        lin = nn.Linear(a, b)
        nn.init.kaiming_normal_(lin.weight, nonlinearity="relu")
        nn.init.zeros_(lin.bias)
        layers += [lin, nn.ReLU()] if i < len(sizes) - 2 else [lin]
    return nn.Sequential(*layers)


def race_pytorch(X, y, X_test, y_test, *, target, epochs, threads, seed=0):
    """The same recipe in PyTorch eager; the clock's result."""
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    r = recipe()
    model = _torch_model_for(torch, r)
    opt = torch.optim.Adam(model.parameters(), lr=r["lr"])
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    Xt, yt = torch.from_numpy(np.ascontiguousarray(X, np.float32)), torch.from_numpy(y)
    Xv, yv = torch.from_numpy(np.ascontiguousarray(X_test, np.float32)), torch.from_numpy(y_test)

    def accuracy():
        with torch.inference_mode():
            return (model(Xv).argmax(1) == yv).float().mean().item()

    clock, n, bs = _Clock(accuracy, target), Xt.shape[0], r["batch_size"]
    clock.start()
    for _ in range(epochs):
        perm = torch.randperm(n)
        for start in range(0, n, bs):
            idx = perm[start : start + bs]
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(Xt.index_select(0, idx)), yt.index_select(0, idx))
            loss.backward()
            opt.step()
        sched.step()
        if clock.epoch_end():
            break
    out = clock.result()
    out["note"] = (
        f"nn.Sequential, kaiming_normal_ weights and zero biases, torch.optim.Adam(lr={r['lr']}), "
        f"CosineAnnealingLR(T_max={epochs}) per epoch, F.cross_entropy on logits, "
        f"index_select batches of {bs} from randperm"
    )
    return out


def _torch_model_for(torch, r):
    return _torch_modern(torch, r["layers"]).float()


def _blocks(X, batch, count):
    """Up to `count` distinct (batch, n_0) blocks of X's rows (wrapping around when X is short)."""
    n = X.shape[0]
    k = max(1, min(count, -(-n // batch)))
    return [np.ascontiguousarray(X[np.arange(j * batch, (j + 1) * batch) % n]) for j in range(k)]


def _throughput(call, X, *, singles, big_calls):
    """Samples per second of `call` at batch 1 (`singles` calls) and 1,024 (`big_calls`)."""
    rows = [X[i % X.shape[0] : i % X.shape[0] + 1] for i in range(singles)]
    blocks = _blocks(X, INFERENCE_BATCHES[1], 8)
    for i in range(min(50, singles)):  # warm-up
        call(rows[i])
    call(blocks[0])
    t0 = time.perf_counter()
    for row in rows:
        call(row)
    t1 = time.perf_counter()
    for j in range(big_calls):
        call(blocks[j % len(blocks)])
    t2 = time.perf_counter()
    return {
        "1": singles / (t1 - t0),
        "1024": big_calls * INFERENCE_BATCHES[1] / (t2 - t1),
        "calls": {"1": singles, "1024": big_calls},
    }


def _inference_network(seed):
    """The untrained float32 network of the race's recipe, the same for every system."""
    from .network import Network

    r = recipe()
    return Network(
        r["layers"],
        activation=r["activation"],
        output_activation=r["output_activation"],
        loss=r["loss"],
        init=r["init"],
        dtype="float32",
        seed=seed,
    )


def infer_deltaprop(X, *, singles, big_calls, seed=0):
    """``Network.predict``'s throughput at batch 1 and 1,024 (samples/s) and a note."""
    net = _inference_network(seed)
    X = np.ascontiguousarray(X, dtype=np.float32)
    out = _throughput(net.predict, X, singles=singles, big_calls=big_calls)
    out["note"] = "Network.predict(X) (class labels), one call per batch"
    return out


def infer_onnxruntime(X, *, singles, big_calls, threads, seed=0):
    """The same network exported to ONNX, run by ONNX Runtime: ``session.run(["label"], x)``."""
    import onnxruntime as ort

    from .export.onnx import onnx_model

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    model = onnx_model(_inference_network(seed)).SerializeToString()
    sess = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])

    def call(x):
        return sess.run(["label"], {"x": x})[0]

    X = np.ascontiguousarray(X, dtype=np.float32)
    out = _throughput(call, X, singles=singles, big_calls=big_calls)
    out["note"] = (
        f"Network.to_onnx's graph in onnxruntime {ort.__version__} (CPU, {threads} thread(s)), "
        f"session.run(['label'], {{'x': x}}), one call per batch"
    )
    return out


def infer_pytorch(X, *, singles, big_calls, threads, seed=0):
    """PyTorch's ``model(x).argmax(1)`` under ``inference_mode``: the same measurements."""
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    model = _torch_model_for(torch, recipe()).eval()

    def call(x):
        with torch.inference_mode():
            return model(torch.from_numpy(x)).argmax(1)

    X = np.ascontiguousarray(X, dtype=np.float32)
    out = _throughput(call, X, singles=singles, big_calls=big_calls)
    out["note"] = (
        "model(torch.from_numpy(x)).argmax(1) in torch.inference_mode(), one call per batch"
    )
    return out
