"""Callbacks and the run configuration: hooks in order, stopping, restore-best, early stopping,
and one TrainingConfig that round-trips through the model file and reproduces a run."""

import numpy as np
import pytest

import deltaprop as dp
from deltaprop import callbacks as cb
from deltaprop.history import TrainingConfig


def _data(n=60, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    y = (X[:, 0] + X[:, 1] * X[:, 2] > 0).astype(int)
    return X, y


def _net(seed=1):
    return dp.Network([3, 5, 2], activation="tanh", output_activation="softmax",
                      loss="cross_entropy", seed=seed)  # fmt: skip


class Recorder(cb.Callback):
    def __init__(self):
        self.calls = []

    def on_train_begin(self, info):
        self.calls.append(("train_begin", info["epochs"], info["n_train"]))

    def on_epoch_begin(self, epoch, n_batches):
        self.calls.append(("epoch_begin", epoch, n_batches))

    def on_batch_end(self, batch, cost):
        self.calls.append(("batch", batch, cost is not None))

    def on_epoch_end(self, epoch, logs):
        self.calls.append(("epoch_end", epoch, sorted(logs)))

    def on_train_end(self, history):
        self.calls.append(("train_end", len(history.epoch)))


def test_hooks_are_called_in_order_with_the_epoch_and_batch_counts():
    X, y = _data(25)
    rec = Recorder()
    _net().fit(X, y, epochs=2, batch_size=10, lr=0.1, callbacks=[rec], cost_every=2)
    expected = [("train_begin", 2, 25)]
    for epoch in (1, 2):
        expected.append(("epoch_begin", epoch, 3))
        # the cost every 2nd batch and at the last batch of the epoch
        expected += [("batch", 1, True), ("batch", 2, False), ("batch", 3, True)]
        expected.append(("epoch_end", epoch, ["accuracy", "cost", "epoch", "lr", "time"]))
    expected.append(("train_end", 2))
    assert rec.calls == expected


class StopAt(cb.Callback):
    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs):
        if epoch == self.epoch:
            self.stop_training = True


def test_a_callback_stops_training_after_the_current_epoch():
    X, y = _data()
    stopped = _net()
    h = stopped.fit(X, y, epochs=20, batch_size=8, lr=0.2, seed=3, callbacks=[StopAt(4)])
    assert h.epoch == [1, 2, 3, 4]
    assert h.stop_reason == "stopped by a callback"
    # the same weights as a run of exactly four epochs
    ref = _net()
    ref.fit(X, y, epochs=4, batch_size=8, lr=0.2, seed=3)
    np.testing.assert_array_equal(stopped.parameters, ref.parameters)


def test_a_callback_sets_the_learning_rate_for_each_epoch():
    # A callback that sets η in on_epoch_begin, against the step schedule that does the same.
    class Halve(cb.Callback):
        def on_epoch_begin(self, epoch, n_batches):
            self.run.optimizer.lr = 0.4 * 0.5 ** ((epoch - 1) // 2)

    X, y = _data()
    a, b = _net(), _net()
    ha = a.fit(X, y, epochs=5, batch_size=8, lr=0.4, seed=0, callbacks=[Halve()])
    hb = b.fit(X, y, epochs=5, batch_size=8, lr=0.4, seed=0,
               schedule={"name": "step", "every": 2, "factor": 0.5})  # fmt: skip
    assert ha.lr == hb.lr == [0.4, 0.4, 0.2, 0.2, 0.1]
    np.testing.assert_allclose(a.parameters, b.parameters, rtol=1e-12, atol=1e-14)


def test_restore_best_breaks_ties_by_the_cost_and_restores_the_weights():
    X, y = _data()
    net = _net()
    snapshots = []

    class Snap(cb.Callback):
        def on_epoch_end(self, epoch, logs):
            snapshots.append(net.parameters.copy())

    h = net.fit(X, y, epochs=8, batch_size=8, lr=0.3, seed=0, monitor="accuracy",
                restore_best=True, callbacks=[Snap()])  # fmt: skip
    acc, cost = np.array(h.accuracy), np.array(h.cost)
    tied = np.flatnonzero(acc == acc.max())
    assert len(tied) > 1  # the case in question: several epochs share the best accuracy
    best = int(tied[np.argmin(cost[tied])]) + 1  # of those, the one with the lowest cost
    assert h.best_epoch == best
    np.testing.assert_array_equal(net.parameters, snapshots[best - 1])


def test_ties_in_validation_accuracy_go_to_the_lowest_validation_cost():
    # Moons reach 100% validation accuracy early; the epoch kept is the one with the lowest
    # validation cost among those at 100%, not the first of them.
    ds = dp.datasets.load("moons", seed=0)
    net = dp.Network([2, 16, 16, 2], activation="tanh", output_activation="softmax",
                     loss="cross_entropy", seed=0)  # fmt: skip
    snapshots = []

    class Snap(cb.Callback):
        def on_epoch_end(self, epoch, logs):
            snapshots.append(net.parameters.copy())

    h = net.fit(ds.X_train, ds.y_train, epochs=60, batch_size=10, lr=0.01, optimizer="adam",
                validation_data=(ds.X_val, ds.y_val), restore_best=True, seed=0,
                callbacks=[Snap()])  # fmt: skip
    acc, cost = np.array(h.val_accuracy), np.array(h.val_cost)
    tied = np.flatnonzero(acc == acc.max())
    assert len(tied) > 3 and tied[0] + 1 != h.best_epoch
    assert h.best_epoch == int(tied[np.argmin(cost[tied])]) + 1
    np.testing.assert_array_equal(net.parameters, snapshots[h.best_epoch - 1])
    assert net.evaluate(ds.X_val, ds.y_val)[0] == pytest.approx(cost[tied].min(), rel=1e-12)


def test_early_stopping_stops_when_the_monitor_stalls():
    X, y = _data()
    net = _net()
    net.fit(X, y, epochs=3, batch_size=8, lr=0.5, seed=0)
    # η so small that accuracy cannot change: patience 2 stops after epoch 3
    h = net.fit(X, y, epochs=50, batch_size=8, lr=1e-12, seed=0, monitor="accuracy",
                early_stopping=2)  # fmt: skip
    assert h.epoch == [1, 2, 3]
    assert h.stop_reason == "early stopping: accuracy did not improve for 2 epochs"
    # The accuracies tie; the best epoch is the one with the lowest cost, yet a tie won on the
    # cost is not an improvement of the monitor, so early stopping still stops.
    assert len(set(h.accuracy)) == 1
    assert h.best_epoch == int(np.argmin(h.cost)) + 1


# ---------------------------------------------------------------------- the configuration
@pytest.mark.parametrize(
    "field, value, message",
    [
        ("epochs", 0, "epochs=0"),
        ("batch_size", -1, "batch_size=-1"),
        ("lr", 0.0, "lr=0.0"),
        ("l2", -1.0, "l2=-1.0"),
        ("dropout", 1.5, "dropout=1.5"),
        ("monitor", "loss", "monitor='loss' is unknown"),
        ("early_stopping", 0, "early_stopping=0"),
        ("shuffle", "yes", "shuffle='yes'"),
        ("validation_split", 2.0, "validation_split=2.0"),
    ],
)
def test_the_configuration_names_the_bad_option(field, value, message):
    with pytest.raises(dp.DeltapropError, match=message.replace("(", r"\(")):
        TrainingConfig(**{field: value}).validate()
    X, y = _data()
    with pytest.raises(dp.DeltapropError, match=message.replace("(", r"\(")):
        _net().fit(X, y, **{field: value})


def test_the_stored_configuration_reproduces_the_run(tmp_path):
    X, y = _data()
    net = _net()
    net.fit(X, y, epochs=4, batch_size=7, lr=0.05, optimizer="momentum", l2=0.5,
            schedule="cosine", seed=11, validation_split=0.2)  # fmt: skip
    path = net.save(tmp_path / "m.npz")
    stored = dp.load(path).training_config
    assert stored["optimizer"] == {"name": "momentum", "lr": 0.05, "momentum": 0.9}
    assert (stored["n_train"], stored["n_val"]) == (48, 12)
    again = _net()
    dp.training.fit_config(again, X, y, TrainingConfig.from_dict(stored))
    np.testing.assert_array_equal(again.parameters, net.parameters)


def test_fit_has_no_private_argument():
    import inspect

    params = inspect.signature(dp.fit).parameters
    assert not [p for p in params if p.startswith("_")]


# ---------------------------------------------------------------------- training metrics
def test_running_metrics_are_the_batch_means_before_each_step():
    # Reference: the same SGD steps one batch at a time, each batch's cost and accuracy
    # measured with the weights before its step, averaged with the batch sizes as weights.
    X, y = _data(47)
    net, ref = _net(), _net()
    h = net.fit(X, y, epochs=1, batch_size=10, lr=0.3, shuffle=False)
    assert h.train_metrics == "running"
    costs, correct = [], 0
    for start in range(0, 47, 10):
        Xb, yb = X[start : start + 10], y[start : start + 10]
        costs.append(ref.cost(Xb, yb) * len(yb))
        correct += int(np.sum(ref.predict(Xb) == yb))
        ref.fit(Xb, yb, epochs=1, batch_size=len(yb), lr=0.3, shuffle=False, train_metrics=False)
    np.testing.assert_array_equal(net.parameters, ref.parameters)
    assert h.cost[0] == pytest.approx(sum(costs) / 47, rel=1e-12)
    assert h.accuracy[0] == correct / 47


def test_running_metrics_follow_the_shuffled_order():
    # With η ≈ 0 the weights do not move, so the running metrics must equal the exact ones
    # on every epoch whatever the shuffled order: each recorded output meets its own target.
    X, y = _data(50)
    net = _net()
    net.fit(X, y, epochs=3, batch_size=8, lr=0.5, seed=1)  # a network that is right sometimes
    cost, acc = net.evaluate(X, y)
    assert 0.3 < acc < 1.0
    h = net.fit(X, y, epochs=3, batch_size=7, lr=1e-300, seed=4)
    np.testing.assert_allclose(h.cost, cost, rtol=1e-12)
    assert h.accuracy == [acc] * 3


def test_exact_metrics_are_a_pass_after_the_epoch():
    X, y = _data()
    net = _net()
    h = net.fit(X, y, epochs=2, batch_size=8, lr=0.3, seed=0, train_metrics="exact")
    assert h.train_metrics == "exact"
    cost, acc = net.evaluate(X, y)
    assert (h.cost[-1], h.accuracy[-1]) == (pytest.approx(cost, rel=1e-12), acc)


def test_no_training_metrics():
    X, y = _data()
    h = _net().fit(X, y, epochs=2, batch_size=8, lr=0.3, train_metrics=False)
    assert h.cost == [] and h.accuracy == [] and h.train_metrics is None


def test_train_metrics_rejects_other_values():
    X, y = _data()
    with pytest.raises(dp.DeltapropError, match="train_metrics='fast' is invalid"):
        _net().fit(X, y, train_metrics="fast")


def test_an_object_with_some_hooks_is_a_callback_too():
    # Duck typing: an object that is not a Callback and has only some of the hooks.
    class Epochs:
        def __init__(self):
            self.seen = []

        def on_epoch_end(self, epoch, logs):
            self.seen.append((epoch, round(logs["lr"], 3)))

    X, y = _data()
    watcher = Epochs()
    _net().fit(X, y, epochs=3, batch_size=8, lr=0.25, callbacks=[watcher])
    assert watcher.seen == [(1, 0.25), (2, 0.25), (3, 0.25)]


def test_the_command_trains_with_its_progress_display(tmp_path):
    # The display is a callback of fit: a plain `train` (no --quiet, no --json) through a pipe.
    import os
    import subprocess
    import sys
    from pathlib import Path

    src = str(Path(__file__).resolve().parents[1] / "src")
    env = dict(os.environ, PYTHONPATH=src)
    out = subprocess.run(
        [sys.executable, "-m", "deltaprop", "train", "--epochs", "2", "--out", "m.npz"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    assert (tmp_path / "m.npz").exists()
