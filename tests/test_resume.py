"""Runs that end early: divergence, interruption, and checkpoints that resume bit for bit.

An interrupted-and-resumed run must end with exactly the weights of an uninterrupted run with the
same seed: the checkpoint holds the parameters, the optimizer state (velocities, Adam moments and
step count), the schedule state, the shuffling/dropout generator and the early-stopping counters,
so the resumed epochs replay the same permutations, masks and steps. Weights are compared as
bytes, not with a tolerance.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time

import numpy as np
import pytest

import deltaprop as dp
from conftest import CLI
from deltaprop.datasets import load as load_dataset
from deltaprop.io import load, read_metadata
from deltaprop.training import Callback, TrainingDiverged, TrainingInterrupted, fit, resume


def _digits(n_train=200, n_val=100, dtype=np.float64):
    ds = load_dataset("digits")
    return (
        ds.X_train[:n_train].astype(dtype),
        ds.y_train[:n_train],
        ds.X_val[:n_val].astype(dtype),
        ds.y_val[:n_val],
    )


def same_bits(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


class Snapshots(Callback):
    """Copies of the parameters after every batch and at every epoch boundary."""

    def __init__(self, net):
        self.net = net
        self.after_batch = []
        self.epoch_begin = {}
        self.epoch_end = {}

    def on_train_begin(self, info):
        self.initial = self.net.get_flat()

    def on_epoch_begin(self, epoch, n_batches):
        self.epoch_begin[epoch] = self.net.get_flat()

    def on_batch_end(self, batch, cost):
        self.after_batch.append(self.net.get_flat())

    def on_epoch_end(self, epoch, logs):
        self.epoch_end[epoch] = self.net.get_flat()


# ----------------------------------------------------------------------------- divergence
@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "nesterov", "adam"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_diverging_run_keeps_the_last_finite_step(optimizer, dtype):
    # Adam's step is about η whatever the gradient, so it needs η near the square root of the
    # dtype's range before the cost (∝ output²) overflows.
    lr = {"float64": 1e150, "float32": 1e30}[dtype] if optimizer == "adam" else 1e4
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    Y = X @ np.array([[1.0], [-2.0], [0.5]]) + 0.1
    net = dp.Network(
        [3, 16, 1], activation="relu", output_activation="identity", seed=0, dtype=dtype
    )
    snaps = Snapshots(net)
    with pytest.raises(TrainingDiverged) as info:
        fit(net, X, Y, epochs=50, batch_size=4, lr=lr, optimizer=optimizer, callbacks=[snaps])
    message = str(info.value)
    assert "diverged" in message and "NaN or infinite" in message
    assert "smaller learning rate" in message and f"lr={lr / 10:g}" in message
    assert isinstance(info.value, ValueError)
    theta = net.get_flat()
    assert np.isfinite(theta).all()
    assert info.value.history.stop_reason == "diverged" and net.history is info.value.history
    # The divergence is caught before the step that would have made the weights non-finite is
    # applied, so the network holds exactly the parameters after the last completed batch.
    assert "the weights of the last finite step" in message
    last = snaps.after_batch[-1] if snaps.after_batch else snaps.initial
    assert same_bits(theta, last)
    assert snaps.after_batch, "expected at least one finite step before divergence"


def test_step_that_overflows_the_weights_falls_back_to_the_epoch_start():
    # η = 1e150 is not representable in float32: Adam's first step, η m̂/(√v̂ + ε), turns
    # the weights into ±inf although the gradient was finite. The next gradient is then
    # non-finite and the weights cannot be recovered from the step, so fit restores the copy
    # taken at the start of the epoch -- here also the last finite parameters.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    net = dp.Network(
        [3, 16, 1], activation="relu", output_activation="identity", seed=0, dtype="float32"
    )
    snaps = Snapshots(net)
    with pytest.raises(TrainingDiverged, match="from the start of epoch 1") as info:
        fit(net, X, X[:, :1], epochs=5, batch_size=4, lr=1e150, optimizer="adam", callbacks=[snaps])
    assert not np.isfinite(snaps.after_batch[0]).all()
    assert same_bits(net.get_flat(), snaps.initial)
    assert "smaller learning rate" in str(info.value)


def _diverging_later(**kwargs):
    """Fit a ReLU net on digits with η = 0.05 for two epochs, then 1e6 times that."""
    X, y, Xv, yv = _digits()
    net = dp.Network([64, 12, 10], activation="relu", output_activation="identity", seed=1)
    snaps = Snapshots(net)
    with pytest.raises(TrainingDiverged) as info:
        fit(
            net,
            X,
            y,
            epochs=10,
            batch_size=10,
            lr=0.05,
            validation_data=(Xv, yv),
            schedule={"name": "step", "every": 2, "factor": 1e6},
            callbacks=[snaps],
            **kwargs,
        )
    return net, snaps, info.value


def test_divergence_with_early_stopping_restores_the_best_weights():
    net, snaps, exc = _diverging_later(early_stopping=5)
    history = exc.history
    assert len(history.epoch) >= 2 and history.stop_reason == "diverged"
    best = history.best_epoch
    assert best == 1 + int(np.argmax(history.val_accuracy))
    assert f"the best weights (epoch {best})" in str(exc)
    assert same_bits(net.get_flat(), snaps.epoch_end[best])
    # The best epoch is not the last one here, so restoring it is visible.
    assert best < len(history.epoch)
    assert not same_bits(net.get_flat(), snaps.after_batch[-1])


def test_divergence_without_restore_best_keeps_last_step_not_best():
    net, snaps, exc = _diverging_later(restore_best=False)
    assert "the weights of the last finite step" in str(exc)
    assert same_bits(net.get_flat(), snaps.after_batch[-1])
    n_done = len(exc.history.epoch)
    assert len(snaps.after_batch) > n_done * 20  # whole epochs of 20 batches, then some


# ----------------------------------------------------------------------------- in-process resume
class Interrupt(Callback):
    """Raises `exc` at a chosen point: ("begin", e), ("end", e) or ("batch", e, b)."""

    def __init__(self, where, exc=KeyboardInterrupt):
        self.where, self.exc, self.epoch = where, exc, 0

    def _raise(self):
        raise self.exc() if self.exc is KeyboardInterrupt else self.exc(None)

    def on_epoch_begin(self, epoch, n_batches):
        self.epoch = epoch
        if self.where == ("begin", epoch):
            self._raise()

    def on_batch_end(self, batch, cost):
        if self.where == ("batch", self.epoch, batch):
            self._raise()

    def on_epoch_end(self, epoch, logs):
        if self.where == ("end", epoch):
            self._raise()


CONFIGS = {
    "sgd": dict(optimizer="sgd", lr=3.0),
    "momentum": dict(optimizer="momentum", lr=0.5),
    "nesterov": dict(optimizer="nesterov", lr=0.5, l2=1.0),
    "adam": dict(optimizer="adam", lr=0.01, l1=0.5),
    "dropout": dict(optimizer="sgd", lr=3.0, dropout=0.3),
    "dropout-adam": dict(optimizer="adam", lr=0.01, dropout=[0.2, 0.4], hidden=2),
    "plateau": dict(
        optimizer="sgd",
        lr=12.0,
        val=True,
        schedule={"name": "plateau", "patience": 1, "max_halvings": 6, "monitor": "val_cost"},
    ),
    "cosine": dict(optimizer="momentum", lr=0.5, schedule="cosine"),
    "early-stopping": dict(optimizer="sgd", lr=2.0, val=True, early_stopping=3),
    "float32-adam": dict(optimizer="adam", lr=0.01, dtype="float32"),
}


def _run(name, *, checkpoint=None, callbacks=(), checkpoint_every=1):
    cfg = dict(CONFIGS[name])
    X, y, Xv, yv = _digits(dtype=cfg.pop("dtype", "float64"))
    hidden = cfg.pop("hidden", 1)
    val = cfg.pop("val", False)
    net = dp.Network(
        [64] + [12] * hidden + [10], seed=5, dtype="float32" if X.dtype == np.float32 else "float64"
    )
    kwargs = dict(
        epochs=6, batch_size=10, seed=11, validation_data=(Xv, yv) if val else None, **cfg
    )
    history = fit(
        net,
        X,
        y,
        checkpoint=checkpoint,
        checkpoint_every=checkpoint_every,
        callbacks=list(callbacks),
        **kwargs,
    )
    return net, history, (X, y, Xv, yv, val)


_REFERENCE = {}


def reference(name):
    if name not in _REFERENCE:
        _REFERENCE[name] = _run(name)[:2]
    return _REFERENCE[name]


@pytest.mark.parametrize("name", list(CONFIGS))
@pytest.mark.parametrize(
    "where, exc",
    [
        (("begin", 4), KeyboardInterrupt),
        (("batch", 4, 7), KeyboardInterrupt),
        (("end", 3), TrainingInterrupted),
        (("begin", 6), KeyboardInterrupt),
    ],
)
def test_interrupted_then_resumed_equals_uninterrupted(tmp_path, name, where, exc):
    ref_net, ref_hist = reference(name)
    if name == "plateau":
        assert len(set(ref_hist.lr)) > 1, "the schedule should have changed η within 6 epochs"
    if name == "early-stopping":
        # The final weights are those of an earlier best epoch, restored at the end: a resume
        # after that epoch must carry the best weights over in the checkpoint.
        assert ref_hist.best_epoch < len(ref_hist.epoch)
    if name == "early-stopping" and len(ref_hist.epoch) < where[1]:
        pytest.skip("the reference run stopped before the interruption point")
    ckpt = tmp_path / "ckpt.npz"
    with pytest.raises(TrainingInterrupted) as info:
        _run(name, checkpoint=ckpt, callbacks=[Interrupt(where, exc)])
    # The last checkpoint: the epoch before the one interrupted at its start or in its middle;
    # 2 when interrupted in epoch 3's end-of-epoch hook (checkpoints come after the hooks).
    done = where[1] - 1
    assert info.value.history.stop_reason == "interrupted"
    meta = read_metadata(ckpt)
    assert meta["extra"]["checkpoint"] is True and meta["extra"]["epoch"] == done
    X, y, Xv, yv = _digits(dtype=CONFIGS[name].get("dtype", "float64"))
    extra = {"validation_data": (Xv, yv)} if CONFIGS[name].get("val") else {}
    net, history = resume(ckpt, X, y, **extra)
    assert same_bits(net.get_flat(), ref_net.get_flat()), (
        f"max |Δθ| = {np.abs(net.get_flat() - ref_net.get_flat()).max():.3g}"
    )
    assert history.epoch == ref_hist.epoch
    assert history.cost == ref_hist.cost and history.lr == ref_hist.lr
    assert history.val_accuracy == ref_hist.val_accuracy
    assert history.best_epoch == ref_hist.best_epoch
    # The checkpoint now records the finished run.
    assert read_metadata(ckpt)["extra"]["epoch"] == len(ref_hist.epoch)


def test_interrupt_keeps_the_weights_of_the_last_completed_epoch():
    X, y, _, _ = _digits()
    for where, done in ((("begin", 4), 3), (("batch", 4, 5), 3), (("end", 3), 3)):
        net = dp.Network([64, 12, 10], seed=5)
        snaps = Snapshots(net)
        with pytest.raises(TrainingInterrupted) as info:
            fit(
                net,
                X,
                y,
                epochs=6,
                batch_size=10,
                lr=3.0,
                seed=2,
                callbacks=[snaps, Interrupt(where)],
            )
        # History and weights agree: the epochs listed are exactly those whose weights we hold.
        assert info.value.history.epoch == list(range(1, done + 1))
        assert same_bits(net.get_flat(), snaps.epoch_end[done]), where


def test_checkpoint_every_n_and_resume_from_an_older_checkpoint(tmp_path):
    ref_net, ref_hist = reference("momentum")
    ckpt = tmp_path / "ckpt.npz"
    with pytest.raises(TrainingInterrupted):
        _run(
            "momentum", checkpoint=ckpt, checkpoint_every=2, callbacks=[Interrupt(("batch", 4, 3))]
        )
    assert read_metadata(ckpt)["extra"]["epoch"] == 2
    X, y, _, _ = _digits()
    net, history = resume(ckpt, X, y)
    assert same_bits(net.get_flat(), ref_net.get_flat())
    assert history.cost == ref_hist.cost


def test_checkpointing_does_not_change_the_run(tmp_path):
    ref_net, ref_hist = reference("adam")
    net, history, _ = _run("adam", checkpoint=tmp_path / "c.npz")
    assert same_bits(net.get_flat(), ref_net.get_flat()) and history.cost == ref_hist.cost


def test_resume_refuses_a_model_without_training_state(tmp_path):
    net = dp.Network([64, 12, 10], seed=0)
    net.save(tmp_path / "plain.npz")
    X, y, _, _ = _digits()
    with pytest.raises(ValueError, match="without training state"):
        resume(tmp_path / "plain.npz", X, y)


# ----------------------------------------------------------------------------- subprocesses
# Digits with one hidden layer of 512 and batch size 1: about a third of a second per epoch, so
# that a checkpoint of epoch 2 appears well before the run ends.
TRAIN = [
    "train",
    "--dataset",
    "digits",
    "--layers",
    "64-512-10",
    "--batch-size",
    "1",
    "--lr",
    "0.5",
    "--seed",
    "3",
    "--quiet",
]
# One BLAS thread, so that every run adds up its sums in the same order.
ENV = dict(
    os.environ,
    OPENBLAS_NUM_THREADS="1",
    OMP_NUM_THREADS="1",
    MKL_NUM_THREADS="1",
    PYTHONWARNINGS="ignore",
)


def _checkpoint_epoch(path):
    """The epoch recorded in a checkpoint, or 0 when there is none yet."""
    try:
        return read_metadata(path)["extra"]["epoch"]
    except FileNotFoundError:
        return 0
    # A ModelFileError propagates: a half-written checkpoint must never be visible.


def _start_and_wait(args, ckpt, min_epoch=2, timeout=120):
    proc = subprocess.Popen(
        [*CLI, *args], env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + timeout
    while _checkpoint_epoch(ckpt) < min_epoch:
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(
                f"training ended (exit {proc.returncode}) before a checkpoint of epoch "
                f"{min_epoch}: {err[-2000:]}"
            )
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("no checkpoint of epoch 2 in time")
        time.sleep(0.01)
    return proc


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """The reference: the same 8-epoch command run to the end."""
    out = tmp_path_factory.mktemp("ref") / "model.npz"
    proc = subprocess.run(
        [*CLI, *TRAIN, "--epochs", "8", "--out", str(out)],
        env=ENV,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return load(out)


@pytest.mark.slow
def test_sigkilled_cli_run_resumes_to_the_same_weights(tmp_path, uninterrupted):
    ckpt, out = tmp_path / "ckpt.npz", tmp_path / "model.npz"
    args = [
        *TRAIN,
        "--epochs",
        "8",
        "--checkpoint",
        str(ckpt),
        "--checkpoint-every",
        "1",
        "--out",
        str(out),
    ]
    proc = _start_and_wait(args, ckpt)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    killed_at = _checkpoint_epoch(ckpt)
    assert 2 <= killed_at < 8, f"killed after epoch {killed_at}"
    assert not out.exists()
    # A temporary file of a write in progress may remain after SIGKILL (nothing can remove
    # it), but the checkpoint itself is whole: it loads and its checksum matches.
    load(ckpt)
    saved = ckpt.read_bytes()

    # Resume through the command.
    proc = subprocess.run(
        [*CLI, *args, "--resume", str(ckpt)], env=ENV, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    resumed = load(out)
    assert same_bits(resumed.get_flat(), uninterrupted.get_flat()), (
        f"killed after epoch {killed_at}; max |Δθ| = "
        f"{np.abs(resumed.get_flat() - uninterrupted.get_flat()).max():.3g}"
    )
    assert resumed.history.epoch == list(range(1, 9))
    assert resumed.history.cost == uninterrupted.history.cost

    # Resume the same checkpoint in-process with training.resume.
    ckpt2 = tmp_path / "ckpt2.npz"
    ckpt2.write_bytes(saved)
    ds = load_dataset("digits")
    net, history = resume(ckpt2, ds.X_train, ds.y_train, validation_data=(ds.X_val, ds.y_val))
    assert same_bits(net.get_flat(), uninterrupted.get_flat())
    assert history.val_accuracy == uninterrupted.history.val_accuracy


def test_sigint_saves_the_last_completed_epoch_and_exits_130(tmp_path):
    ckpt, out = tmp_path / "ckpt.npz", tmp_path / "model.npz"
    args = [
        *TRAIN,
        "--epochs",
        "8",
        "--no-restore-best",
        "--checkpoint",
        str(ckpt),
        "--out",
        str(out),
    ]
    proc = _start_and_wait(args, ckpt)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err[-2000:]
    assert "Traceback" not in err
    assert "interrupted" in err.strip().splitlines()[-1]
    saved = load(out)
    done = saved.history.epoch
    assert saved.history.stop_reason == "interrupted"
    assert 2 <= len(done) < 8 and done == list(range(1, len(done) + 1))
    # The saved weights are those of the last completed epoch: the same as a run of exactly
    # that many epochs (constant η, so the first k epochs of both runs are the same steps).
    short = tmp_path / "short.npz"
    ref = subprocess.run(
        [*CLI, *TRAIN, "--epochs", str(len(done)), "--no-restore-best", "--out", str(short)],
        env=ENV,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert ref.returncode == 0, ref.stderr[-2000:]
    assert same_bits(saved.get_flat(), load(short).get_flat())
