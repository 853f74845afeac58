"""The playground's state behind the page (deltaprop.web.session, views, config, data): numbers
checked against Network.backprop, finite differences and hand-written steps. No server here;
tests/test_playground_server.py drives the server and the page."""

import base64
import copy
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

from deltaprop import Network
from deltaprop.io import load
from deltaprop.web import Limits, Playground, PlaygroundConfig
from deltaprop.web.data import make_data
from deltaprop.web.session import dumps
from deltaprop.web.views import heatmaps, selected_point

SRC = Path(__file__).resolve().parents[1] / "src"


def _copy(net):
    return [W.copy() for W in net.weights], [b.copy() for b in net.biases]


def _decode(b64):
    return np.frombuffer(base64.b64decode(b64), dtype=np.uint8)


def test_selected_point_equals_backprop_and_finite_differences():
    p = Playground()
    p.train_epoch()
    net = p.net
    i = 7
    x, label = p.data.X_train[i], int(p.data.y_train[i])
    s = selected_point(net, x, label, lr=0.1)
    Y = np.zeros((1, 2))
    Y[0, label] = 1.0
    g = net.backprop(x[None, :], Y)
    for l in range(net.num_layers):
        np.testing.assert_array_equal(s["deltas"][l], g.deltas[l][0])
        np.testing.assert_array_equal(s["zs"][l], g.zs[l][0])
        np.testing.assert_array_equal(s["gradients"]["weights"][l], g.weights[l])
        np.testing.assert_array_equal(s["gradients"]["biases"][l], g.biases[l])
    # an independent reference: central differences of C_x for a few weights of every layer
    h = 1e-6
    for l in range(net.num_layers):
        for j, k in [(0, 0), (net.sizes[l + 1] - 1, net.sizes[l] - 1)]:
            W = net.weights[l]
            old = W[j, k]
            W[j, k] = old + h
            up = net.cost(x[None, :], Y)
            W[j, k] = old - h
            down = net.cost(x[None, :], Y)
            W[j, k] = old
            assert s["gradients"]["weights"][l][j][k] == pytest.approx(
                (up - down) / (2 * h), rel=1e-5, abs=1e-9
            )
    # the one-point step and the cost after it
    new = [W - 0.1 * dW for W, dW in zip(net.weights, g.weights)]
    np.testing.assert_allclose(s["new_weights"][0], new[0], rtol=0, atol=0)
    after = net.copy()
    after.weights = new
    after.biases = [b - 0.1 * db for b, db in zip(net.biases, g.biases)]
    assert s["cost_after"] == pytest.approx(after.cost(x[None, :], Y), rel=1e-12)
    assert s["cost_after"] < s["cost"]


def test_a_step_is_the_textbook_sgd_step_with_l2():
    cfg = PlaygroundConfig(l2=0.5, batch=7, optimizer="sgd", lr=0.3)
    p = Playground(config=cfg)
    Ws, bs = _copy(p.net)
    n = len(p.data.y_train)
    idx = copy.deepcopy(p.net.rng).permutation(n)[:7]  # the batch the step will draw
    ref = Network([2, 8, 8, 2], activation=["tanh", "tanh"], output_activation="softmax",
                  loss="cross_entropy")  # fmt: skip
    ref.weights, ref.biases = Ws, bs
    g = ref.backprop(p.data.X_train[idx], p.data.y_train[idx])
    p.train_step()
    for l in range(3):
        expected = Ws[l] - 0.3 * (g.weights[l] + (0.5 / n) * Ws[l])
        np.testing.assert_allclose(p.net.weights[l], expected, rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(p.net.biases[l], bs[l] - 0.3 * g.biases[l], rtol=1e-13)
    assert p.steps == 1 and p.epoch == pytest.approx(7 / n)


def test_playing_trains_and_the_cost_falls():
    p = Playground(config=PlaygroundConfig(dataset="circles", lr=0.3))
    first = p.frame()
    for _ in range(40):
        p.train_epoch()
    last = p.frame()
    assert last["epoch"] == 40
    assert last["cost"] < 0.5 * first["cost"]
    assert len(last["curve"]) == 40 and last["curve"][-1][0] == 40
    assert last["cost"] == pytest.approx(last["curve"][-1][1], rel=1e-12)
    assert last["accuracy"] > 0.9


def test_heatmaps_decode_to_the_activations_and_the_regions_to_the_predictions():
    p = Playground(config=PlaygroundConfig(layers=[5, 3], activations=["relu", "sigmoid"]))
    h = heatmaps(p.net, p.data)
    zs, acts = p.net.forward_trace(p.data.grid)
    res2 = p.data.resolution**2
    for l, layer in enumerate(h["layers"]):
        q = _decode(layer["data"]).reshape(acts[l].shape[1], res2).T
        back = (q.astype(float) - 127.5) / 127.5 * np.array(layer["scale"])
        step = np.array(layer["scale"]) / 127.5
        assert np.all(np.abs(back - np.clip(acts[l], -np.array(layer["scale"]), None)) <= step)
    labels = _decode(h["region"]["labels"])
    np.testing.assert_array_equal(labels, p.net.predict(p.data.grid))


@pytest.mark.parametrize(
    "change, field",
    [
        ({"layers": [8] * 7, "activations": ["tanh"] * 7}, "layers"),
        ({"layers": [17], "activations": ["tanh"]}, "layers[0]"),
        ({"points": 5000}, "points"),
        ({"lr": float("nan")}, "lr"),
        ({"lr": "0.1"}, "lr"),
        ({"dataset": "../etc/passwd"}, "dataset"),
        ({"activations": ["softmax", "tanh"]}, "activations[0]"),
        ({"batch": True}, "batch"),
        ({"path": "/tmp/x"}, "unknown fields"),
    ],
)
def test_bad_configurations_are_refused_by_name(change, field):
    p = Playground()
    before = p.config.to_dict()
    replies = p.handle({"type": "config", "config": change})
    assert [r["type"] for r in replies] == ["error"]
    assert field in replies[0]["message"]
    assert p.config.to_dict() == before


def test_malformed_messages_get_an_error_and_change_nothing():
    p = Playground()
    for message in [None, [], "play", {"type": 3}, {"type": "select", "index": 10**9},
                    {"type": "select", "index": "1"}, {"type": "nudge", "layer": 1},
                    {"type": "export", "what": "/etc/passwd"}, {"type": "_restart"}]:  # fmt: skip
        replies = p.handle(message)
        assert [r["type"] for r in replies] == ["error"], message
    assert p.steps == 0 and not p.playing and p.selected is None


def test_changing_the_learning_rate_keeps_the_weights_and_a_layer_rebuilds():
    p = Playground()
    p.train_epoch()
    Ws, _ = _copy(p.net)
    p.handle({"type": "config", "config": {"lr": 0.03, "optimizer": "sgd"}})
    np.testing.assert_array_equal(p.net.weights[0], Ws[0])
    assert p.epoch == 1
    p.handle({"type": "select", "index": 3})
    p.handle({"type": "config", "config": {"layers": [8, 8, 4], "activations": ["tanh"] * 3}})
    assert p.net.sizes == [2, 8, 8, 4, 2] and p.epoch == 0
    assert p.selected == 3  # the same points: the selection stays
    p.handle({"type": "config", "config": {"dataset": "xor"}})
    assert p.selected is None


def test_reset_and_reload_reproduce_the_same_weights():
    a = Playground(config=PlaygroundConfig(seed=5))
    b = Playground(config=PlaygroundConfig(seed=5))
    a.train_epoch()
    a.reset()
    np.testing.assert_array_equal(a.net.weights[1], b.net.weights[1])
    np.testing.assert_array_equal(a.data.X_train, b.data.X_train)


def test_apply_step_is_the_one_point_step():
    p = Playground()
    p.handle({"type": "select", "index": 11})
    s = p.frame()["selected"]
    assert p.handle({"type": "apply_step"}) == []
    for l in range(3):
        np.testing.assert_allclose(p.net.weights[l], s["new_weights"][l], rtol=1e-14, atol=1e-16)
    assert p.net.cost(p.data.X_train[11:12], p.data.y_train[11:12]) == pytest.approx(
        s["cost_after"], rel=1e-12
    )


def test_nudge_compares_delta_c_with_delta_times_nudge():
    p = Playground()
    p.handle({"type": "select", "index": 2})
    [r] = p.handle({"type": "nudge", "layer": 2, "neuron": 3, "delta": 1e-4})
    s = p.frame()["selected"]
    assert r["error"] == pytest.approx(s["deltas"][1][2], rel=1e-12)
    assert r["predicted"] == pytest.approx(1e-4 * s["deltas"][1][2], rel=1e-12)
    assert r["ratio"] == pytest.approx(1.0, abs=1e-2)


def test_exported_model_predicts_as_the_playground_network(tmp_path):
    p = Playground()
    for _ in range(3):
        p.train_epoch()
    [f] = p.handle({"type": "export", "what": "model"})
    path = tmp_path / f["name"]
    path.write_bytes(base64.b64decode(f["data"]))
    net = load(path)
    np.testing.assert_array_equal(net.predict(p.data.X_test), p.net.predict(p.data.X_test))
    csv = tmp_path / "x.csv"
    np.savetxt(csv, p.data.X_test[:5], delimiter=",")
    out = subprocess.run(
        [sys.executable, "-m", "deltaprop", "predict", str(path), "--input", str(csv)],
        capture_output=True, text=True, env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"},
        timeout=120,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert [int(v) for v in out.stdout.split()] == p.net.predict(p.data.X_test[:5]).tolist()


def test_exported_trace_is_the_selected_point_step():
    p = Playground()
    p.handle({"type": "select", "index": 4})
    s = p.frame()["selected"]
    [f] = p.handle({"type": "export", "what": "trace-json"})
    trace = json.loads(base64.b64decode(f["data"]))
    assert trace["cost"] == pytest.approx(s["cost"], rel=1e-12)
    np.testing.assert_allclose(trace["grad_weights"][2], s["gradients"]["weights"][2], rtol=1e-12)
    [md] = p.handle({"type": "export", "what": "trace-markdown"})
    assert "BP" in base64.b64decode(md["data"]).decode()


def test_divergence_pauses_with_a_message():
    p = Playground(config=PlaygroundConfig(lr=10.0, loss="quadratic", output="identity",
                                           activations=["relu", "relu"]))  # fmt: skip
    p.playing = True
    messages = []
    for _ in range(50):
        messages += p.advance()
        if not p.playing:
            break
    assert not p.playing
    assert messages and "diverged" in messages[-1]["message"]
    assert np.isfinite(p.net.parameters).all()
    json.loads(dumps(p.frame()))  # JSON, whatever overflowed


def test_data_sets_are_two_class_and_inside_their_domain():
    for name in ("xor", "moons", "circles", "spirals", "gaussians"):
        d = make_data(name, 200, 0.1, 0.7, 3, 10)
        assert d.classes == 2 and len(d.y_train) == 140 and len(d.y_test) == 60
        x0, x1, y0, y1 = d.domain
        X = np.vstack([d.X_train, d.X_test])
        assert (X[:, 0] > x0).all() and (X[:, 0] < x1).all()
        assert (X[:, 1] > y0).all() and (X[:, 1] < y1).all()
        assert x1 - x0 == pytest.approx(y1 - y0)


def test_the_frame_is_json_and_lays_out_weights_like_the_network():
    p = Playground(limits=Limits())
    p.handle({"type": "select", "index": 0})
    f = json.loads(json.dumps(p.frame(), allow_nan=False))
    assert f["sizes"] == [2, 8, 8, 2] and f["loss"] == "cross_entropy"
    assert f["layer_activations"] == ["tanh", "tanh", "softmax"]
    assert [np.shape(W) for W in f["weights"]] == [(8, 2), (8, 8), (2, 8)]
    assert set(f["selected"]) >= {"x", "y", "zs", "activations", "deltas", "gradients"}


def test_importing_deltaprop_and_its_command_imports_no_web_library():
    code = (
        "import sys, deltaprop, deltaprop.cli; "
        "print(sorted(m for m in ('starlette', 'uvicorn', 'websockets', 'deltaprop.web') "
        "if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
        env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"}, cwd=tempfile.gettempdir(),
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
