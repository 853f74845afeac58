"""The dashboard's data (deltaprop.web.dashboard): the store a fit feeds and the pages read.

What a page is sent is compared with the History and the diagnostics the same fit records,
and with the network's own weights at each epoch; the callback must not change the run.
"""

import base64
import threading

import numpy as np
import pytest

import deltaprop as dp
from deltaprop.callbacks import Callback
from deltaprop.web.dashboard import (
    Cursor,
    DashboardCallback,
    RunStore,
    epoch_record,
    records_from_history,
    weights_view,
)

LOGGED = ("epoch", "cost", "accuracy", "val_cost", "val_accuracy", "lr", "time")


def _data(n=120, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    y = (X[:, 0] + 0.5 * X[:, 1] ** 2 > 0.3).astype(int) + (X[:, 2] > 1).astype(int)
    return X[:90], y[:90], X[90:], y[90:]


class _Watch(Callback):
    """After the dashboard's own hook: what a page at `cursor` would be sent, each epoch."""

    def __init__(self, store):
        self.store, self.cursor, self.seen = store, Cursor(), []

    def on_epoch_end(self, epoch, logs):
        message = self.store.update(self.cursor)
        weights = [W.astype(np.float64).tolist() for W in self.run.network.weights]
        self.seen.append((epoch, message, weights))


def _fit(callbacks, **kwargs):
    X, y, Xv, yv = _data()
    net = dp.Network([3, 6, 5, 3], activation=["tanh", "relu"],
                     output_activation="softmax", loss="cross_entropy", seed=3)  # fmt: skip
    options = dict(epochs=12, batch_size=10, lr=0.2, diagnostics=True, validation_data=(Xv, yv))
    options.update(kwargs)
    history = net.fit(X, y, callbacks=callbacks, **options)
    return net, history


def test_the_records_are_the_history_of_the_same_fit():
    store = RunStore("a title")
    net, history = _fit([DashboardCallback(store)], restore_best=True)
    records = store.records()
    assert len(records) == len(history.epoch) == 12
    for key in LOGGED:
        assert [r[key] for r in records] == history[key], key
    for key in ("grad_w_norm", "grad_b_norm", "delta_mean_abs", "saturated", "dead"):
        assert [r[key] for r in records] == [d[key] for d in history.diagnostics], key
    # the parts say which quantities apply: tanh saturates, ReLU units die, softmax neither
    assert records[-1]["saturated"][0] is not None and records[-1]["dead"][0] is None
    assert records[-1]["dead"][1] is not None and records[-1]["saturated"][2] is None
    message = store.update(Cursor())
    run = message["run"]
    assert run["title"] == "a title" and run["status"] == "finished"
    assert run["stop_reason"] == history.stop_reason == "completed"
    assert run["sizes"] == [3, 6, 5, 3] and run["layer_activations"] == ["tanh", "relu", "softmax"]
    assert (run["epochs"], run["n_train"], run["n_val"], run["batch_size"]) == (12, 90, 30, 10)
    # restore-best put the best epoch's weights back: those are the ones shown at the end
    assert run["kept_epoch"] == run["best_epoch"] == history.best_epoch
    assert message["weights"]["epoch"] == history.best_epoch
    for shown, W in zip(message["weights"]["values"], net.weights):
        np.testing.assert_array_equal(np.array(shown), W)


def test_each_epoch_a_page_gets_that_epoch_and_the_weights_after_it():
    store = RunStore()
    watch = _Watch(store)
    _fit([DashboardCallback(store), watch], restore_best=False)
    first = watch.seen[0][1]
    assert first["run"]["status"] == "training" and first["weights"]["mode"] == "edges"
    for epoch, message, weights in watch.seen:
        assert [r["epoch"] for r in message["records"]] == [epoch]
        assert message["weights"]["epoch"] == epoch
        assert message["weights"]["values"] == weights
    assert all("run" not in m for _, m, _ in watch.seen[1:])  # the run's state is sent once
    final = store.update(watch.cursor)
    assert final["records"] == [] and final["run"]["status"] == "finished"
    assert final["run"]["kept_epoch"] == 12
    assert store.update(watch.cursor) is None  # nothing new: nothing sent


def test_the_dashboard_does_not_change_the_run():
    _, plain = _fit([], restore_best=False)
    net_a, _ = _fit([], restore_best=False)
    net_b, watched = _fit([DashboardCallback(RunStore())], restore_best=False)
    np.testing.assert_array_equal(net_a.parameters, net_b.parameters)
    assert watched.cost == plain.cost and watched.val_accuracy == plain.val_accuracy


def test_a_history_gives_the_records_a_live_run_gave():
    store = RunStore()
    _, history = _fit([DashboardCallback(store)])
    assert records_from_history(history) == store.records()
    # a run recorded without diagnostics, and without validation data: None where absent
    _, bare = _fit([], diagnostics=False, validation_data=None, epochs=3)
    records = records_from_history(bare)
    assert [r["epoch"] for r in records] == [1, 2, 3]
    assert all(r["val_cost"] is None and "grad_w_norm" not in r for r in records)
    assert [r["cost"] for r in records] == bare.cost


def test_a_resumed_run_shows_its_earlier_epochs(tmp_path):
    X, y, Xv, yv = _data()
    net = dp.Network([3, 6, 3], seed=1)
    path = tmp_path / "run.ckpt"
    options = dict(batch_size=10, lr=0.5, diagnostics=True, validation_data=(Xv, yv))
    net.fit(X, y, epochs=4, checkpoint=path, **options)
    store = RunStore()
    _, history = dp.training.resume(path, X, y, epochs=7, callbacks=[DashboardCallback(store)],
                                    **options)  # fmt: skip
    records = store.records()
    assert [r["epoch"] for r in records] == history.epoch == list(range(1, 8))
    assert [r["val_cost"] for r in records] == history.val_cost
    assert store.update(Cursor())["run"]["start_epoch"] == 4


def test_a_large_network_is_drawn_as_quantised_matrices():
    rng = np.random.default_rng(0)
    matrices = [rng.normal(size=(40, 64)), rng.normal(size=(10, 40))]
    view = weights_view(matrices, 5)
    assert view["mode"] == "matrices" and view["epoch"] == 5
    for layer, W in zip(view["layers"], matrices):
        q = np.frombuffer(base64.b64decode(layer["data"]), dtype=np.uint8)
        assert (layer["rows"], layer["cols"]) == W.shape and layer["scale"] == np.abs(W).max()
        decoded = (q.reshape(W.shape) - 127.5) / 127.5 * layer["scale"]
        assert np.abs(decoded - W).max() <= layer["scale"] / 255 + 1e-12
    small = weights_view([np.eye(3)], 1)
    assert small["mode"] == "edges" and small["values"] == [np.eye(3).tolist()]


def test_a_reader_in_another_thread_sees_every_record_once_in_order():
    store = RunStore()
    store.begin({"sizes": [2, 2]}, [])
    n = 3000

    def write():
        for e in range(1, n + 1):
            store.add(epoch_record({"epoch": e, "lr": 0.1, "time": 0.0, "cost": 1.0 / e}),
                      [np.full((2, 2), float(e))])  # fmt: skip
        store.end("finished", "completed", kept_epoch=n)

    writer = threading.Thread(target=write)
    cursor, seen, last_weights = Cursor(), [], 0
    writer.start()
    while True:
        message = store.update(cursor)
        if message is not None:
            seen += [r["epoch"] for r in message["records"]]
            if "weights" in message:
                epoch = message["weights"]["epoch"]
                assert message["weights"]["values"] == [[[float(epoch)] * 2] * 2]
                assert epoch >= last_weights
                last_weights = epoch
            if message.get("run", {}).get("status") == "finished":
                break
    writer.join()
    assert seen == list(range(1, n + 1))


def test_an_ended_run_stays_ended():
    store = RunStore()
    store.begin({}, [])
    store.end("finished", "completed", kept_epoch=3)
    store.end("interrupted", "interrupted")  # the command's own end, after the fit's: ignored
    assert store.update(Cursor())["run"]["status"] == "finished"


@pytest.mark.parametrize("logs", [{"epoch": 2, "lr": np.float32(0.5), "time": 0.1}])
def test_a_record_is_plain_json_numbers(logs):
    record = epoch_record(logs)
    assert record == {"epoch": 2, "cost": None, "accuracy": None, "val_cost": None,
                      "val_accuracy": None, "lr": 0.5, "time": 0.1}  # fmt: skip
    assert type(record["lr"]) is float and type(record["epoch"]) is int


class _InterruptAfterHistory(Callback):
    """Ctrl-C at epoch 5's end, after the history has the epoch, before the dashboard's hook."""

    def on_epoch_end(self, epoch, logs):
        if epoch == 5:
            raise KeyboardInterrupt


def test_an_interrupt_between_the_history_and_the_page_loses_no_epoch():
    from types import SimpleNamespace

    from deltaprop.web.server import _end

    store = RunStore()
    dash = DashboardCallback(store)
    with pytest.raises(KeyboardInterrupt) as info:
        _fit([_InterruptAfterHistory(), dash])
    history = getattr(info.value, "history", None)
    assert history is not None and history.epoch[-1] == 5
    assert [r["epoch"] for r in store.records()] == [1, 2, 3, 4]  # the race, reproduced
    _end(store, dash if dash.run is not None else SimpleNamespace(run=None))
    assert store.records() == records_from_history(history)
    assert store.ended
