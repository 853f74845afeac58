"""Tests of deltaprop.diagnostics: values against an independent backprop, the saturation and
dead-unit rules on hand-built networks, the tables, and the vanishing-gradient effect on MNIST."""

import gzip
import importlib.resources
import json
import math
from pathlib import Path

import numpy as np
import pytest

from deltaprop import Network, activations
from deltaprop.diagnostics import (
    HEADERS,
    METRICS,
    Recorder,
    format_table,
    gradient_ratio,
    record,
    summarize,
)
from deltaprop.training import fit

REPO = Path(__file__).resolve().parents[1]
MNIST_CANDIDATES = [
    Path("/work/shared/datasets/mnist"),
    REPO.parent / "shared" / "datasets" / "mnist",
]
DIGITS_NPZ = Path(str(importlib.resources.files("deltaprop") / "datasets" / "data" / "digits.npz"))


# ---------------------------------------------------------------------- a reference backprop
def _ref_act(name, z):
    """(σ(z), σ'(z)) written out independently of deltaprop.activations."""
    if name == "sigmoid":
        a = 1.0 / (1.0 + np.exp(-z))
        return a, a * (1.0 - a)
    if name == "tanh":
        a = np.tanh(z)
        return a, 1.0 - a**2
    if name == "relu":
        return np.maximum(z, 0.0), (z > 0).astype(float)
    raise ValueError(name)


def _reference(Ws, bs, acts, X, Y):
    """Per-layer statistics of the quadratic cost C = mean_x ½‖a^L − y‖², loop by loop."""
    zs, As, ds = [], [X], []
    for W, b, name in zip(Ws, bs, acts):
        z = As[-1] @ W.T + b
        a, d = _ref_act(name, z)
        zs.append(z)
        As.append(a)
        ds.append(d)
    m = X.shape[0]
    deltas = [None] * len(Ws)
    deltas[-1] = (As[-1] - Y) * ds[-1]
    for l in range(len(Ws) - 2, -1, -1):
        deltas[l] = (deltas[l + 1] @ Ws[l + 1]) * ds[l]
    out = {k: [] for k in ("delta_mean_abs", "grad_w_norm", "grad_b_norm", "weight_norm")}
    for l in range(len(Ws)):
        gW = sum(np.outer(deltas[l][i], As[l][i]) for i in range(m)) / m
        gb = deltas[l].sum(axis=0) / m
        out["delta_mean_abs"].append(np.abs(deltas[l]).sum() / deltas[l].size)
        out["grad_w_norm"].append(math.sqrt(float((gW**2).sum())))
        out["grad_b_norm"].append(math.sqrt(float((gb**2).sum())))
        out["weight_norm"].append(math.sqrt(float((Ws[l] ** 2).sum())))
    out["cost"] = float(0.5 * ((As[-1] - Y) ** 2).sum() / m)
    return out


@pytest.mark.parametrize("hidden", [["sigmoid", "tanh"], ["relu", "tanh"], ["tanh", "relu"]])
def test_record_matches_reference_backprop(hidden, rng):
    net = Network(
        [6, 5, 4, 3],
        activation=hidden,
        output_activation="sigmoid",
        loss="quadratic",
        init="normal",
        seed=1,
    )
    X = rng.normal(size=(40, 6))
    Y = rng.uniform(size=(40, 3))
    rec = Recorder(net, X, Y).record(epoch=7)
    ref = _reference(
        [np.array(W) for W in net.weights],
        [np.array(b) for b in net.biases],
        hidden + ["sigmoid"],
        X,
        Y,
    )
    for key in ("delta_mean_abs", "grad_w_norm", "grad_b_norm", "weight_norm"):
        np.testing.assert_allclose(rec[key], ref[key], rtol=1e-10, err_msg=key)
    assert rec["cost"] == pytest.approx(ref["cost"], rel=1e-12)
    assert rec["epoch"] == 7 and rec["check_size"] == 40
    g = net.backprop(X, Y)
    np.testing.assert_allclose(
        rec["grad_w_norm"], [np.linalg.norm(w) for w in g.weights], rtol=1e-12
    )


def test_record_shapes_types_and_json():
    net = Network(
        [4, 6, 5, 3],
        activation=["relu", "tanh"],
        output_activation="softmax",
        loss="cross_entropy",
        seed=0,
    )
    X = np.random.default_rng(0).normal(size=(30, 4))
    rec = Recorder(net, X, np.arange(30) % 3).record(2)
    assert rec["sizes"] == [4, 6, 5, 3]
    assert rec["activations"] == ["relu", "tanh", "softmax"]
    for key in METRICS:
        assert len(rec[key]) == 3, key
    for key in ("delta_mean_abs", "grad_w_norm", "grad_b_norm", "weight_norm"):
        assert all(type(v) is float and v > 0 for v in rec[key]), key
    # saturation applies to sigmoid/tanh layers only, dead units to relu-like layers only
    assert rec["saturated"][0] is None and type(rec["saturated"][1]) is float
    assert rec["saturated"][2] is None
    assert type(rec["dead"][0]) is float and rec["dead"][1] is None and rec["dead"][2] is None
    assert json.loads(json.dumps(rec, allow_nan=False)) == rec


def test_record_leaves_network_unchanged():
    net = Network([3, 4, 2], seed=0)
    before = net.get_flat()
    Recorder(net, np.ones((5, 3)), [0, 1, 0, 1, 1]).record(1)
    np.testing.assert_array_equal(net.get_flat(), before)


def test_check_batch_is_a_seeded_subset_of_the_rows():
    net = Network([2, 3, 2], seed=0)
    X = np.arange(400.0).reshape(200, 2)
    y = np.arange(200) % 2
    a = Recorder(net, X, y, check_size=50, seed=3)
    b = Recorder(net, X, y, check_size=50, seed=3)
    c = Recorder(net, X, y, check_size=50, seed=4)
    assert a.X.shape == (50, 2) and a.Y.shape == (50, 2)
    assert len(np.unique(a.indices)) == 50 and np.all(np.diff(a.indices) > 0)
    np.testing.assert_array_equal(a.X, X[a.indices])
    np.testing.assert_array_equal(a.Y.argmax(axis=1), y[a.indices])
    np.testing.assert_array_equal(a.indices, b.indices)
    assert not np.array_equal(a.indices, c.indices)
    small = Recorder(net, X[:20], y[:20], check_size=50)
    np.testing.assert_array_equal(small.indices, np.arange(20))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"check_size": 0},
        {"check_size": 2.5},
        {"saturation_threshold": 0.0},
        {"saturation_threshold": 1.5},
    ],
)
def test_bad_arguments(kwargs):
    net = Network([2, 3, 2], seed=0)
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        Recorder(net, np.ones((4, 2)), [0, 1, 0, 1], **kwargs)


# ---------------------------------------------------------------------- dead and saturated
def test_all_relus_dead_with_biases_minus_100():
    net = Network([3, 4, 5, 2], activation="relu", output_activation="sigmoid", seed=0)
    net.biases[0] = np.full(4, -100.0)
    X = np.random.default_rng(1).uniform(-1, 1, size=(25, 3))
    rec = Recorder(net, X, np.arange(25) % 2).record(0)
    assert rec["dead"][0] == 1.0
    # every unit of layer 2 then sees z = b^2 only; no gradient reaches layer 1
    assert rec["grad_w_norm"][0] == 0.0 and rec["delta_mean_abs"][0] == 0.0
    net.biases[0] = np.full(4, 100.0)
    net.weights[1] = np.zeros((5, 4))
    net.biases[1] = np.full(5, 100.0)
    rec = Recorder(net, X, np.arange(25) % 2).record(0)
    assert rec["dead"][:2] == [0.0, 0.0]


@pytest.mark.parametrize("act", ["relu", "leaky_relu"])
def test_dead_share_counts_units_negative_on_every_sample(act):
    net = Network([3, 4, 2], activation=act, output_activation="sigmoid", seed=0)
    net.weights[0] = np.array(
        [
            [0.0, 0.0, 0.0],  # z = −1 everywhere: dead
            [1.0, 0.0, 0.0],  # z > 0 on one sample only: alive
            [0.0, 0.0, 0.0],  # z = 0 everywhere: dead (z ≤ 0)
            [0.0, 0.0, 0.0],
        ]
    )  # z = +1 everywhere: alive
    net.biases[0] = np.array([-1.0, 0.0, 0.0, 1.0])
    X = np.array([[-1.0, 2.0, 3.0], [-2.0, 1.0, 0.0], [0.5, 0.0, 1.0], [-0.1, 5.0, 5.0]])
    rec = Recorder(net, X, [0, 1, 1, 0]).record(0)
    assert rec["dead"][0] == 0.5
    assert rec["dead"][1] is None and rec["saturated"][0] is None


def test_zero_weights_saturate_nothing_and_large_biases_saturate_everything():
    net = Network([4, 5, 3], activation="tanh", output_activation="sigmoid", seed=0)
    net.set_flat(np.zeros(net.num_parameters))
    X = np.random.default_rng(2).normal(size=(10, 4)) * 50
    rec = Recorder(net, X, np.arange(10) % 3).record(0)
    assert rec["saturated"] == [0.0, 0.0]
    net.biases[0] = np.array([100.0, -100.0, 100.0, -100.0, 100.0])
    net.biases[1] = np.array([-100.0, 100.0, 100.0])
    rec = Recorder(net, X, np.arange(10) % 3).record(0)
    assert rec["saturated"] == [1.0, 1.0]


def test_saturation_is_counted_per_unit_per_sample():
    net = Network([1, 2, 1], activation="sigmoid", seed=0)
    net.weights[0] = np.array([[1.0], [2.5]])
    net.biases[0] = np.zeros(2)
    net.weights[1] = np.zeros((1, 2))
    net.biases[1] = np.zeros(1)
    # σ'(z) < 0.01 · 1/4 ⇔ |z| > 5.99: unit 1 sees z = 0, 3, 5.5, 6.5 (one saturated),
    # unit 2 sees z = 0, 7.5, 13.75, 16.25 (three saturated): 4 of the 8 pairs. Unit 1's σ'
    # averaged over the samples (≈ 0.075) is far above the threshold; the rule counts pairs.
    X = np.array([[0.0], [3.0], [5.5], [6.5]])
    rec = Recorder(net, X, np.array([[0.0], [1.0], [1.0], [0.0]])).record(0)
    assert rec["saturated"] == [0.5, 0.0]
    rec = Recorder(net, X, np.zeros((4, 1)), saturation_threshold=0.1).record(0)
    # σ'(z) < 0.025 ⇔ |z| > 3.63: unit 1 two pairs, unit 2 three pairs
    assert rec["saturated"][0] == 5 / 8


def test_tanh_saturation_threshold():
    net = Network([1, 2, 1], activation="tanh", output_activation="sigmoid", seed=0)
    net.weights[0] = np.array([[1.0], [1.0]])
    net.biases[0] = np.array([2.9, 3.1])  # 1 − tanh²(2.9) = 0.0121, 1 − tanh²(3.1) = 0.0081
    rec = Recorder(net, np.zeros((3, 1)), np.zeros((3, 1))).record(0)
    assert rec["saturated"][0] == 0.5


def test_the_rules_come_from_the_activation_not_its_name():
    # Renamed parts keep their rules, and a part that declares none gets none: the recorder
    # asks each activation (max_derivative/saturated, can_die/dead_units), never its name.
    class Unsaturated(activations.Tanh):
        max_derivative = None

    class Rectifier(activations.ReLU):
        name = "rectifier"

    class Squashed(activations.Sigmoid):
        name = "squashed"

    net = Network(
        [1, 3, 2, 1], activation=[Rectifier(), Unsaturated()], output_activation=Squashed()
    )
    net.weights = [np.array([[1.0], [-1.0], [0.0]]), np.full((2, 3), 10.0), np.full((1, 2), 10.0)]
    net.biases = [np.zeros(3), np.zeros(2), np.zeros(1)]
    rec = Recorder(net, np.array([[1.0], [2.0]]), np.zeros((2, 1))).record(0)
    assert rec["activations"] == ["rectifier", "tanh", "squashed"]
    assert rec["dead"] == [2 / 3, None, None]  # units 2 (z = −x) and 3 (z = 0) are dead
    assert rec["saturated"] == [None, None, 1.0]  # the output's z = 20 tanh(10 x) > 5.99


def test_headers_name_every_metric():
    assert set(HEADERS) == set(METRICS)
    assert format_table([record(Network([2, 1], seed=0), [[0.0, 1.0]], [[1.0]])]).split()[4:10] == [
        HEADERS[m] for m in METRICS
    ]


# ---------------------------------------------------------------------- training and tables
def test_fit_records_one_entry_per_epoch():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(120, 5))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    net = Network([5, 8, 6, 2], activation="sigmoid", loss="binary_cross_entropy", seed=0)
    history = fit(net, X, y, epochs=3, batch_size=10, lr=0.5, diagnostics=True)
    assert [r["epoch"] for r in history.diagnostics] == [1, 2, 3]
    again = Recorder(net, X, y).record(3)
    for key in ("delta_mean_abs", "grad_w_norm", "grad_b_norm", "weight_norm", "cost"):
        assert history.diagnostics[-1][key] == pytest.approx(again[key], rel=1e-12), key
    assert history.diagnostics[-1]["saturated"] == again["saturated"]
    assert history.diagnostics[-1]["dead"] == [None, None, None]
    # the parameters changed between epochs, so did the gradients
    assert history.diagnostics[0]["grad_w_norm"] != history.diagnostics[-1]["grad_w_norm"]


def _two_records():
    net = Network([3, 4, 2], activation="relu", output_activation="sigmoid", seed=0)
    X = np.random.default_rng(0).normal(size=(20, 3))
    rec = Recorder(net, X, np.arange(20) % 2)
    r1 = rec.record(1)
    net.weights[1] = np.array(net.weights[1]) * 2
    r2 = rec.record(2)
    return [r1, r2]


def test_summarize_tables_across_epochs():
    records = _two_records()
    s = summarize({"diagnostics": records})
    assert s["layers"] == 2 and s["activations"] == ["relu", "sigmoid"]
    np.testing.assert_array_equal(s["epoch"], [1, 2])
    for key in METRICS:
        assert s[key].shape == (2, 2), key
    np.testing.assert_array_equal(s["grad_w_norm"][1], records[1]["grad_w_norm"])
    assert np.isnan(s["saturated"][0, 0]) and np.isnan(s["dead"][:, 1]).all()
    assert s["weight_norm"][1, 1] == pytest.approx(2 * s["weight_norm"][0, 1])
    assert summarize([])["grad_w_norm"].shape == (0, 0)
    with pytest.raises(TypeError, match="record 0"):
        summarize([{"epoch": 1}])


def test_gradient_ratio_and_text_table():
    records = _two_records()
    r = records[-1]
    assert gradient_ratio(records) == pytest.approx(r["grad_w_norm"][0] / r["grad_w_norm"][-1])
    assert gradient_ratio(records, "grad_b_norm", epoch=0) == pytest.approx(
        records[0]["grad_b_norm"][0] / records[0]["grad_b_norm"][1]
    )
    text = format_table(records)
    lines = text.splitlines()
    assert lines[0].split()[:4] == ["epoch", "layer", "activation", "units"]
    assert f"{r['grad_w_norm'][0]:.3e}" in text
    assert f"= {gradient_ratio(records):.3g}" in text
    assert len([ln for ln in lines if ln.strip().startswith("2 ")]) == 2
    last = format_table(records, epochs="last")
    assert f"{records[0]['grad_w_norm'][0]:.3e}" not in last
    assert f"{r['grad_w_norm'][0]:.3e}" in last
    assert format_table([]) == "no diagnostics recorded\n"


# ---------------------------------------------------------------------- vanishing gradients
def _mnist_subset(n):
    """The first n MNIST training images (scaled to [0, 1]) and labels, read with gzip."""
    for d in MNIST_CANDIDATES:
        images, labels = d / "train-images-idx3-ubyte.gz", d / "train-labels-idx1-ubyte.gz"
        if images.is_file() and labels.is_file():
            with gzip.open(images) as f:
                X = np.frombuffer(f.read(16 + 784 * n), np.uint8, offset=16).reshape(n, 784)
            with gzip.open(labels) as f:
                y = np.frombuffer(f.read(8 + n), np.uint8, offset=8)
            return X / 255.0, y.astype(np.int64), "mnist"
    return None


def _training_data():
    data = _mnist_subset(3000)
    if data is not None:
        return data
    if not DIGITS_NPZ.is_file():
        pytest.skip("neither the shared MNIST copy nor the embedded digits are present")
    d = np.load(DIGITS_NPZ)
    return d["X"] / 16.0, d["y"].astype(np.int64), "digits"


def _ratios(hidden, init, X, y):
    """Records at initialisation and after one epoch of the book's chapter-5 network."""
    net = Network(
        [X.shape[1], 30, 30, 30, 30, 10],
        activation=hidden,
        output_activation="sigmoid",
        loss="binary_cross_entropy",
        init=init,
        seed=0,
    )
    rec = Recorder(net, X, y)
    r0 = rec.record(0)
    fit(net, X, y, epochs=1, batch_size=10, lr=0.1, train_metrics=False, seed=0)
    return [r0, rec.record(1)]


def test_vanishing_gradient_deep_sigmoid_vs_relu():
    X, y, name = _training_data()
    sig = _ratios("sigmoid", "scaled_normal", X, y)
    relu = _ratios("relu", "he_normal", X, y)
    print(
        f"\n{name}, {X.shape[0]} samples\nsigmoid:\n{format_table(sig)}relu:\n{format_table(relu)}"
    )
    for r_sig, r_relu in zip(sig, relu):
        s = gradient_ratio([r_sig])
        q = gradient_ratio([r_relu])
        # the first layer of the sigmoid network gets a tiny fraction of the last's gradient
        assert s < 0.1, (r_sig["epoch"], s)
        # with ReLU hidden layers the first layer's gradient is of the last's order
        assert q > 0.1, (r_relu["epoch"], q)
        assert q > 10 * s, (r_sig["epoch"], s, q)
    # BP2 shrinks δ by σ' ≤ 1/4 at each sigmoid layer: the hidden layers' ‖∂C/∂b^l‖ grow
    # layer by layer towards the output at initialisation (the book's "speed of learning")
    assert np.all(np.diff(sig[0]["grad_b_norm"]) > 0)
    assert sig[0]["grad_b_norm"][-1] > 50 * sig[0]["grad_b_norm"][0]


def test_record_function_is_one_recorder_call():
    net = Network([3, 4, 2], seed=0)
    X = np.random.default_rng(0).normal(size=(8, 3))
    y = np.arange(8) % 2
    assert record(net, X, y, epoch=4) == Recorder(net, X, y).record(4)
