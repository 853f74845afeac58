"""The fit loop, optimizers and schedules against hand-computed steps."""

import math

import numpy as np
import pytest

import deltaprop as dp
from deltaprop import optimizers, schedules
from deltaprop.training import TrainingDiverged, evaluate, fit

XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
XOR_y = np.array([0, 1, 1, 0])


def _data(seed=0, m=12, n_in=3, n_out=2):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(m, n_in))
    Y = rng.uniform(0.1, 0.9, size=(m, n_out))
    return X, Y


def test_xor_learned_by_small_sigmoid_network():
    net = dp.Network([2, 4, 1], seed=1)
    history = net.fit(XOR_X, XOR_y, epochs=3000, batch_size=4, lr=3.0)
    np.testing.assert_array_equal(net.predict(XOR_X), XOR_y)
    assert history.accuracy[-1] == 1.0
    assert history.cost[-1] < history.cost[0]


def _one_full_batch_step(net, X, Y, **kwargs):
    fit(net, X, Y, epochs=1, batch_size=X.shape[0], shuffle=False, train_metrics=False, **kwargs)


def test_sgd_step_is_w_minus_eta_times_batch_mean_gradient():
    X, Y = _data()
    net = dp.Network([3, 4, 2], seed=3)
    W0 = [w.copy() for w in net.weights]
    b0 = [b.copy() for b in net.biases]
    # Independent reference: the per-sample gradients averaged by hand.
    per_sample = [net.backprop(X[i], Y[i]) for i in range(X.shape[0])]
    eta = 0.7
    _one_full_batch_step(net, X, Y, lr=eta, optimizer="sgd")
    for l in range(2):
        gW = np.mean([g.weights[l] for g in per_sample], axis=0)
        gb = np.mean([g.biases[l] for g in per_sample], axis=0)
        np.testing.assert_allclose(net.weights[l], W0[l] - eta * gW, rtol=0, atol=1e-13)
        np.testing.assert_allclose(net.biases[l], b0[l] - eta * gb, rtol=0, atol=1e-13)


def test_minibatches_cover_every_sample_once_per_epoch():
    # With a linear model and quadratic cost, the order-independent part of one epoch of
    # non-shuffled batches is checked by replaying the batches by hand.
    X, Y = _data(m=10)
    net = dp.Network([3, 2], activation="identity", seed=0)
    ref = net.copy()
    fit(net, X, Y, epochs=1, batch_size=4, lr=0.1, shuffle=False, train_metrics=False)
    for start in (0, 4, 8):
        g = ref.backprop(X[start : start + 4], Y[start : start + 4])
        ref.weights[0] -= 0.1 * g.weights[0]
        ref.biases[0] -= 0.1 * g.biases[0]
    np.testing.assert_allclose(net.weights[0], ref.weights[0], atol=1e-13)
    np.testing.assert_allclose(net.biases[0], ref.biases[0], atol=1e-13)


def _grads_of_two_steps(make_net, X, Y, eta, update):
    """Replay two full-batch steps by hand with ``update(theta, g, state)``."""
    net = make_net()
    theta = net.get_flat()
    state = {}
    for _ in range(2):
        net.set_flat(theta)
        g = np.concatenate(
            [w.ravel() for w in net.backprop(X, Y).weights] + [b for b in net.backprop(X, Y).biases]
        )
        theta = update(theta, g, state)
    return theta


@pytest.mark.parametrize("name", ["sgd", "momentum", "nesterov", "adam"])
def test_two_steps_of_each_optimizer_match_the_update_rule(name):
    X, Y = _data(seed=5)

    def make_net():
        return dp.Network([3, 5, 2], activation="tanh", output_activation="sigmoid", seed=11)

    eta, mu, b1, b2, eps = 0.3, 0.8, 0.9, 0.999, 1e-8

    def sgd(theta, g, s):
        return theta - eta * g

    def momentum(theta, g, s):
        s["v"] = mu * s.get("v", 0.0) - eta * g
        return theta + s["v"]

    def nesterov(theta, g, s):
        s["v"] = mu * s.get("v", 0.0) - eta * g
        return theta + mu * s["v"] - eta * g

    def adam(theta, g, s):
        t = s["t"] = s.get("t", 0) + 1
        s["m"] = b1 * s.get("m", 0.0) + (1 - b1) * g
        s["v"] = b2 * s.get("v", 0.0) + (1 - b2) * g * g
        mhat = s["m"] / (1 - b1**t)
        vhat = s["v"] / (1 - b2**t)
        return theta - eta * mhat / (np.sqrt(vhat) + eps)

    rule = {"sgd": sgd, "momentum": momentum, "nesterov": nesterov, "adam": adam}[name]
    expected = _grads_of_two_steps(make_net, X, Y, eta, rule)
    net = make_net()
    kwargs = {"momentum": mu} if name in ("momentum", "nesterov") else {}
    opt = optimizers.get(name, lr=eta, **kwargs)
    fit(
        net,
        X,
        Y,
        epochs=2,
        batch_size=X.shape[0],
        shuffle=False,
        train_metrics=False,
        optimizer=opt,
        lr=eta,
    )
    np.testing.assert_allclose(net.get_flat(), expected, rtol=1e-10, atol=1e-12)


def test_l2_follows_the_book_convention():
    # cost + (λ/2n) Σ w²: one SGD step multiplies W by (1 − ηλ/n); biases are not decayed.
    X, Y = _data(m=8)
    lam, eta, n = 5.0, 0.1, 8
    net = dp.Network([3, 4, 2], seed=2)
    g = net.backprop(X, Y)
    W0 = [w.copy() for w in net.weights]
    b0 = [b.copy() for b in net.biases]
    _one_full_batch_step(net, X, Y, lr=eta, l2=lam)
    for l in range(2):
        np.testing.assert_allclose(
            net.weights[l], (1 - eta * lam / n) * W0[l] - eta * g.weights[l], atol=1e-13
        )
        np.testing.assert_allclose(net.biases[l], b0[l] - eta * g.biases[l], atol=1e-13)


def test_l1_subtracts_eta_lambda_over_n_times_sign():
    X, Y = _data(m=8)
    lam, eta, n = 0.5, 0.2, 8
    net = dp.Network([3, 4, 2], seed=2)
    g = net.backprop(X, Y)
    W0 = [w.copy() for w in net.weights]
    _one_full_batch_step(net, X, Y, lr=eta, l1=lam)
    for l in range(2):
        np.testing.assert_allclose(
            net.weights[l], W0[l] - eta * lam / n * np.sign(W0[l]) - eta * g.weights[l], atol=1e-13
        )


def test_same_seed_gives_bit_identical_weights_and_other_seed_differs():
    X, Y = _data(m=40)

    def run(seed):
        net = dp.Network([3, 6, 2], seed=seed)
        fit(net, X, Y, epochs=3, batch_size=7, lr=0.5, dropout=0.2)
        return net.get_flat()

    a, b, c = run(4), run(4), run(5)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_dropout_only_during_training():
    X, Y = _data(m=20)
    net = dp.Network([3, 30, 2], seed=0)
    fit(net, X, Y, epochs=2, batch_size=5, lr=0.5, dropout=0.5)
    # Prediction is deterministic: no dropout mask outside fit.
    np.testing.assert_array_equal(net.predict_proba(X), net.predict_proba(X))
    with pytest.raises(ValueError, match="dropout=1.5"):
        fit(net, X, Y, epochs=1, dropout=1.5)


def test_schedules_give_the_documented_rates():
    step = schedules.get({"name": "step", "every": 2, "factor": 0.5})
    step.start(1.0, 6)
    assert [step.lr(e) for e in range(6)] == [1.0, 1.0, 0.5, 0.5, 0.25, 0.25]
    cos = schedules.get("cosine")
    cos.start(2.0, 4)
    np.testing.assert_allclose(
        [cos.lr(e) for e in range(5)],
        [2.0, 1 + math.cos(math.pi / 4), 1.0, 1 - math.cos(math.pi / 4), 0.0],
        atol=1e-15,
    )
    const = schedules.get(None)
    const.start(0.3, 3)
    assert const.lr(2) == 0.3


def test_plateau_rule_halves_then_stops():
    plateau = schedules.PlateauHalving(patience=2, max_halvings=2)
    plateau.start(1.0, 100)
    accs = [0.5, 0.6, 0.6, 0.6, 0.55, 0.6, 0.6]
    rates, stopped = [], None
    for e, acc in enumerate(accs):
        rates.append(plateau.lr(e))
        if plateau.end_epoch(e, {"val_accuracy": acc}):
            stopped = e
            break
    # Improvements at epochs 0, 1; no improvement at 2, 3 -> halve; 4, 5 -> second halving: stop.
    assert rates == [1.0, 1.0, 1.0, 1.0, 0.5, 0.5]
    assert stopped == 5


def test_early_stopping_restores_best_weights():
    X, Y = _data(m=30)
    Xv, Yv = _data(seed=9, m=10)
    net = dp.Network([3, 8, 2], seed=0)
    snapshots = {}

    class Snap(dp.training.Callback):
        def on_epoch_end(self, epoch, logs):
            snapshots[epoch] = net.get_flat()

    history = fit(
        net,
        X,
        Y,
        epochs=200,
        batch_size=5,
        lr=8.0,
        validation_data=(Xv, Yv),
        monitor="val_cost",
        early_stopping=3,
        callbacks=[Snap()],
    )
    best = history.best_epoch
    assert history.val_cost[best - 1] == min(history.val_cost)
    assert len(history.epoch) == best + 3 or history.epoch[-1] == 200
    np.testing.assert_array_equal(net.get_flat(), snapshots[best])


def test_validation_split_uses_the_last_rows():
    X, Y = _data(m=20)
    net = dp.Network([3, 4, 2], seed=0)
    history = fit(net, X, Y, epochs=1, batch_size=5, lr=0.1, validation_split=0.25)
    assert net.training_config["n_train"] == 15 and net.training_config["n_val"] == 5
    cost, _ = evaluate(net, X[15:], Y[15:])
    assert history.val_cost[-1] == pytest.approx(cost, rel=1e-12)


def test_diverging_run_stops_and_keeps_finite_weights():
    X, Y = _data(m=20, n_out=1)
    net = dp.Network([3, 16, 1], activation="relu", output_activation="identity", seed=0)
    with pytest.raises(TrainingDiverged, match="smaller learning rate") as info:
        fit(net, X * 1e3, Y * 1e3, epochs=50, batch_size=4, lr=1e6)
    assert np.isfinite(net.get_flat()).all()
    assert info.value.history.stop_reason == "diverged"


def test_evaluate_and_predict_on_a_classifier():
    net = dp.Network(
        [2, 3], activation="identity", output_activation="softmax", loss="cross_entropy", seed=0
    )
    net.weights[0] = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]])
    net.biases[0] = np.zeros(3)
    X = np.array([[2.0, 0.0], [0.0, 2.0], [-2.0, -2.0], [2.0, 0.1]])
    y = np.array([0, 1, 2, 1])
    np.testing.assert_array_equal(net.predict(X), [0, 1, 2, 0])
    cost, acc = evaluate(net, X, y)
    assert acc == 0.75
    a = net.predict_proba(X)
    assert cost == pytest.approx(-np.mean(np.log(a[np.arange(4), y])), rel=1e-12)


@pytest.mark.parametrize(
    "bad, match",
    [
        ({"epochs": 0}, "epochs=0"),
        ({"batch_size": -1}, "batch_size=-1"),
        ({"lr": float("nan")}, "lr=nan"),
        ({"lr": -0.1}, "lr=-0.1"),
        ({"l2": -1.0}, "l2=-1.0"),
        ({"optimizer": "rmsprop"}, "optimizer='rmsprop' is unknown"),
        ({"schedule": "linear"}, "schedule='linear' is unknown"),
        ({"validation_split": 1.5}, "validation_split=1.5"),
        ({"monitor": "loss"}, "monitor='loss'"),
    ],
)
def test_bad_hyperparameters_name_the_value(bad, match):
    X, Y = _data()
    net = dp.Network([3, 4, 2], seed=0)
    with pytest.raises(ValueError, match=match):
        fit(net, X, Y, **{"epochs": 1, **bad})


def test_labels_outside_output_layer_are_rejected():
    net = dp.Network([2, 3, 3], seed=0)
    with pytest.raises(ValueError, match="class label 3 .* 3 neurons"):
        net.fit(XOR_X, [0, 1, 2, 3], epochs=1)
