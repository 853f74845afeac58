"""Biases per layer: one per neuron, one shared by the layer, none, and frozen biases.

Checked against independent references: central finite differences (gradcheck), a per-sample
loop of the textbook's column-vector algorithm written out here, the training kernel against
``Network.backprop``, and worked examples computed by hand with the math module — Mazur's
weights-only step (C = 0.291027774 after it, as he publishes) and the one-hidden-layer network
without biases and with a linear output (E = ½(d − y)², ΔW_i = α(d − y)h_i,
ΔW_ij = α(d − y)W_j Φ′_j x_i) evaluated with those formulas scalar by scalar.
"""

import json
import math
import pickle
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest

import deltaprop as dp
from conftest import PAIRS
from conftest import targets as _targets
from deltaprop import DeltapropError, Network
from deltaprop._kernel import Workspace
from deltaprop.explain import (
    builtin_example,
    builtin_example_path,
    explain,
    gradient_table,
    load_example,
    nudge,
    render,
)
from deltaprop.gradcheck import gradcheck
from deltaprop.io import ModelFileError
from test_cli import run

DATA = Path(__file__).parent / "data"
MODES = [False, "shared", ["shared", True, False], [False, "shared", True]]
MODE_IDS = ["none", "shared", "shared-neuron-none", "none-shared-neuron"]


def _net(bias, hidden="tanh", output="sigmoid", loss="quadratic", seed=0, **kwargs):
    net = Network([4, 5, 3, 3], activation=hidden, output_activation=output, loss=loss,
                  init="scaled_normal", seed=seed, bias=bias, **kwargs)  # fmt: skip
    for b in net.biases:
        b[...] = 0.4 * net.rng.standard_normal(b.shape)
    return net


# --------------------------------------------------------------------------- the engine
def test_bias_shapes_and_parameter_count():
    net = Network([4, 5, 3, 3], bias=["shared", True, False])
    assert net.bias_modes == ["shared", "neuron", "none"]
    assert [b.shape for b in net.biases] == [(1,), (3,), (0,)]
    assert net.num_parameters == 20 + 15 + 9 + 1 + 3
    assert net.num_weights == 44
    # the views are the flat vector's: writing a bias writes the parameters
    net.biases[0] = [0.25]
    assert net.parameters[net.num_weights] == 0.25


@pytest.mark.parametrize("bias", MODES, ids=MODE_IDS)
def test_forward_adds_a_shared_bias_to_every_neuron_and_no_bias_at_all(bias):
    net = _net(bias)
    X = np.random.default_rng(1).normal(size=(6, 4))
    a = X
    for W, mode, act, b in zip(net.weights, net.bias_modes, net.layer_activations, net.biases):
        z = a @ W.T
        if mode == "shared":
            z = z + b[0]
        elif mode == "neuron":
            z = z + b
        a = act.forward(z)
    np.testing.assert_allclose(net.forward(X), a, rtol=0, atol=1e-14)


@pytest.mark.parametrize("bias", MODES, ids=MODE_IDS)
@pytest.mark.parametrize("output, loss", PAIRS[::3], ids=[f"{o}-{l}" for o, l in PAIRS[::3]])
def test_gradcheck_passes_for_absent_and_shared_biases(bias, output, loss):
    last = bias[-1] if isinstance(bias, list) else bias
    idle = output == "softmax" and last == "shared"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        net = _net(bias, hidden="tanh", output=output, loss=loss)
    said = [str(w.message) for w in caught if "shared bias has no effect" in str(w.message)]
    assert len(said) == idle  # softmax ignores a common shift: said when the net is built
    if idle:
        assert said[0].startswith("layer 3's shared bias has no effect: softmax")
    rng = np.random.default_rng(2)
    X = rng.normal(size=(5, 4))
    report = gradcheck(net, X, _targets(loss, rng, 5, 3))
    # Absolute differences: a shared bias before softmax has ∂C/∂b = 0 (softmax ignores a
    # shift common to all z_j), so its relative error is rounding noise over zero.
    for key, num in report.numerical.items():
        np.testing.assert_allclose(report.analytic[key], num, rtol=0, atol=1e-8, err_msg=key)
    if output == "softmax" and net.bias_modes[-1] == "shared":
        assert abs(report.analytic["b3"][0]) < 1e-15
    # a shared bias's gradient is not any one neuron's: it is the sum over the layer
    g = net.backprop(X, _targets(loss, np.random.default_rng(2), 5, 3))
    for gb, d, mode in zip(g.biases, g.deltas, net.bias_modes):
        assert gb.shape == {"neuron": (d.shape[1],), "shared": (1,), "none": (0,)}[mode]


@pytest.mark.parametrize("hidden", ["sigmoid", "relu", "softplus"])
def test_gradcheck_for_other_hidden_activations(hidden):
    net = _net(["shared", "shared", False], hidden=hidden, output="softmax", loss="cross_entropy")
    rng = np.random.default_rng(3)
    X = rng.normal(size=(4, 4))
    assert gradcheck(net, X, _targets("cross_entropy", rng, 4, 3)).max_error < 1e-6


def _loop_reference(net, X, Y):
    """The textbook's algorithm one column-vector sample at a time (tanh hidden, sigmoid
    output, quadratic cost), with the bias b_j, one b for all j, or none."""
    Ws = [np.array(W) for W in net.weights]
    bs = [np.array(b) for b in net.biases]
    gW = [np.zeros_like(W) for W in Ws]
    gb = [np.zeros_like(b) for b in bs]
    for x, y in zip(X, Y):
        a, acts, zs = x[:, None], [x[:, None]], []
        for l, (W, b) in enumerate(zip(Ws, bs)):
            z = W @ a + (b.reshape(-1, 1) if b.size else 0.0)
            a = 1 / (1 + np.exp(-z)) if l == len(Ws) - 1 else np.tanh(z)
            zs.append(z)
            acts.append(a)
        delta = (a - y[:, None]) * a * (1 - a)
        for l in range(len(Ws) - 1, -1, -1):
            gW[l] += delta @ acts[l].T
            if bs[l].size == 1 and net.bias_modes[l] == "shared":
                gb[l] += delta.sum()
            elif bs[l].size:
                gb[l] += delta[:, 0]
            if l:
                delta = (Ws[l].T @ delta) * (1 - acts[l] ** 2)
    m = X.shape[0]
    return [g / m for g in gW], [g / m for g in gb]


@pytest.mark.parametrize("bias", MODES, ids=MODE_IDS)
def test_backprop_equals_a_per_sample_loop(bias):
    net = _net(bias)
    rng = np.random.default_rng(4)
    X, Y = rng.normal(size=(7, 4)), rng.uniform(size=(7, 3))
    g = net.backprop(X, Y)
    gW, gb = _loop_reference(net, X, Y)
    for a, b in zip(g.weights + g.biases, gW + gb):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-14)


@pytest.mark.parametrize("m", [1, 4])
@pytest.mark.parametrize(
    "train", [True, False, [False, True, True]], ids=["trained", "frozen", "mixed"]
)
@pytest.mark.parametrize("bias", [True] + MODES, ids=["neuron"] + MODE_IDS)
def test_kernel_gradient_equals_backprop_with_frozen_biases_zero(bias, train, m):
    net = _net(bias, train_biases=train)
    rng = np.random.default_rng(5)
    X, Y = rng.normal(size=(m, 4)), rng.uniform(size=(m, 3))
    ws = Workspace(net, m)
    ws.X[...], ws.Y[...] = X, Y
    ws.forward()
    grad = ws.backward().copy()
    g = net.backprop(X, Y)
    trained = net.trained_biases
    expected = np.concatenate(
        [w.ravel() for w in g.weights] + [b * t for b, t in zip(g.biases, trained)]
    )
    np.testing.assert_allclose(grad, expected, rtol=0, atol=1e-13)
    assert ws.gradient_is_finite()


@pytest.mark.parametrize("bias", [True, False, "shared"])
def test_the_guard_sees_a_non_finite_error_without_a_trained_bias(bias):
    net = _net(bias, train_biases=False)
    ws = Workspace(net, 2)
    ws.X[...] = 1.0
    ws.Y[...] = 0.5
    ws.forward()
    ws.Y[0, 0] = np.nan  # Δ^L becomes NaN in one entry; no bias gradient shows it
    ws.backward()
    assert not ws.gradient_is_finite()


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "nesterov", "adam"])
def test_fit_leaves_frozen_biases_unchanged_and_trains_the_weights(optimizer):
    net = _net(["shared", True, True], train_biases=[False, True, False])
    before = [b.copy() for b in net.biases]
    W_before = [W.copy() for W in net.weights]
    rng = np.random.default_rng(6)
    net.fit(rng.normal(size=(40, 4)), rng.uniform(size=(40, 3)), epochs=2, batch_size=8,
            lr=0.1, optimizer=optimizer, l2=0.01, seed=0)  # fmt: skip
    np.testing.assert_array_equal(net.biases[0], before[0])
    np.testing.assert_array_equal(net.biases[2], before[2])
    assert np.abs(net.biases[1] - before[1]).max() > 1e-4
    assert all(np.abs(W - W0).max() > 1e-4 for W, W0 in zip(net.weights, W_before))


@pytest.mark.parametrize("bias", ["shared", False])
def test_one_fit_step_equals_a_hand_applied_step(bias):
    net = _net(bias)
    rng = np.random.default_rng(7)
    X, Y = rng.normal(size=(6, 4)), rng.uniform(size=(6, 3))
    g = net.backprop(X, Y)
    expected = [W - 0.5 * dW for W, dW in zip(net.weights, g.weights)]
    expected += [b - 0.5 * db for b, db in zip(net.biases, g.biases)]
    net.fit(X, Y, epochs=1, batch_size=6, lr=0.5, seed=0, shuffle=False)
    for a, b in zip(list(net.weights) + list(net.biases), expected):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-14)


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"bias": "maybe"}, "bias='maybe' is invalid; expected True"),
        ({"bias": [True]}, "bias has 1 entries but the network has 2 layers"),
        ({"bias": [True, 2]}, "bias[1]=2 is invalid"),
        (
            {"train_biases": "no"},
            "train_biases='no' is invalid; expected True, False or a list of 2",
        ),
        ({"train_biases": [True]}, "train_biases=[True] is invalid"),
    ],
)
def test_bad_bias_arguments_are_named(kwargs, words):
    with pytest.raises(DeltapropError, match=words.replace("[", r"\[").replace("]", r"\]")):
        Network([2, 3, 1], **kwargs)


def test_shared_bias_assignment_checks_the_shape():
    net = Network([2, 3, 1], bias="shared")
    with pytest.raises(DeltapropError, match=r"biases\[0\] has shape \(3,\); expected \(1,\)"):
        net.biases[0] = [1.0, 2.0, 3.0]


def test_copy_pickle_summary_and_repr_keep_the_modes():
    net = _net(["shared", False, True], train_biases=[False, True, True])
    for other in (net.copy(), pickle.loads(pickle.dumps(net))):
        assert other.bias_modes == net.bias_modes and other.train_biases == net.train_biases
        np.testing.assert_array_equal(other.parameters, net.parameters)
    lines = []
    net.summary(print_fn=lines.append)
    assert "biases: layer 1 one shared, frozen, layer 2 none, layer 3 one per neuron" in lines[0]
    assert "hidden 1        5  tanh        (5, 4)           21" in lines[0]
    assert "bias=['shared', 'none', 'neuron'], train_biases=[False, True, True]" in repr(net)


def test_a_network_pickled_before_bias_modes_unpickles_with_a_bias_per_neuron():
    net = Network([2, 3, 1], seed=0)
    state = net.__getstate__()
    del state["bias_modes"], state["_train_biases"]
    old = Network.__new__(Network)
    old.__setstate__(state)
    assert old.bias_modes == ["neuron", "neuron"] and old.train_biases == [True, True]
    np.testing.assert_array_equal(old.forward([[0.3, 0.7]]), net.forward([[0.3, 0.7]]))


# --------------------------------------------------------------------------- model files
def test_save_and_load_keep_bias_modes_and_frozen_biases(tmp_path):
    net = _net(["shared", False, True], train_biases=[False, True, True])
    net.save(tmp_path / "m.npz")
    back = dp.load(tmp_path / "m.npz")
    assert back.config() == net.config()
    assert back.bias_modes == ["shared", "none", "neuron"]
    assert back.train_biases == [False, True, True]
    np.testing.assert_array_equal(back.parameters, net.parameters)
    with zipfile.ZipFile(tmp_path / "m.npz") as zf:
        assert json.loads(zf.read("metadata.json"))["bias"] == ["shared", "none", "neuron"]


def test_a_model_file_written_before_bias_modes_loads_unchanged():
    path = DATA / "model_before_bias_modes.npz"
    with zipfile.ZipFile(path) as zf:
        meta = json.loads(zf.read("metadata.json"))
    assert "bias" not in meta and "train_biases" not in meta
    stored = np.load(path, allow_pickle=False)
    net = dp.load(path)
    assert net.bias_modes == ["neuron", "neuron"] and net.train_biases == [True, True]
    for l in range(2):
        np.testing.assert_array_equal(net.weights[l], stored[f"W{l + 1}"])
        np.testing.assert_array_equal(net.biases[l], stored[f"b{l + 1}"])
    X = np.random.default_rng(0).random((5, 3))
    z = np.tanh(X @ stored["W1"].T + stored["b1"]) @ stored["W2"].T + stored["b2"]
    expected = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(net.predict_proba(X), expected, rtol=0, atol=1e-15)


def _rewrite_metadata(src, dst, **changes):
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == "metadata.json":
                meta = json.loads(data)
                meta.update(changes)
                data = json.dumps(meta).encode()
            zout.writestr(info, data)


@pytest.mark.parametrize(
    "changes, words",
    [
        ({"bias": ["neuron", "maybe"]}, "metadata bias=.* is invalid; expected 2 of"),
        ({"bias": ["neuron"]}, "metadata bias=.* is invalid"),
        ({"train_biases": [1, 0]}, "metadata train_biases=.* is invalid; expected 2 booleans"),
        ({"bias": ["shared", "neuron"]}, "b1"),  # the stored b1 has 4 entries, not 1
    ],
)
def test_forged_bias_metadata_is_refused(tmp_path, changes, words):
    bad = tmp_path / "bad.npz"
    _rewrite_metadata(DATA / "model_before_bias_modes.npz", bad, **changes)
    with pytest.raises(ModelFileError, match=words):
        dp.load(bad)


# --------------------------------------------------------------------------- Mazur's step
# Matt Mazur, "A Step by Step Backpropagation Example": after his first update, which changes
# the eight weights and leaves b1 = 0.35 and b2 = 0.60 as they are, "the total error on the
# network is now 0.291027774" (down from 0.298371109). Recomputed by hand from the weights
# after the step (tests/test_worked_examples.py, W1_AFTER and W2_AFTER) and the unchanged
# biases: C = 0.29102777369359933.
MAZUR_AFTER = 0.291027774


def test_mazur_weights_only_step_in_python():
    net, x, y, lr = builtin_example("mazur")
    trace = explain(net, x, y, lr, freeze_biases=True)
    assert abs(trace.cost_after - MAZUR_AFTER) < 5e-10
    assert trace.biases_updated == [False, False]
    for p in trace.steps[0].biases + trace.steps[1].biases:
        assert p.new_value == p.value and not p.updated and p.grad != 0
    # without freezing, the biases move too and the cost is lower than Mazur's
    assert abs(explain(net, x, y, lr).cost_after - 0.280471447) < 5e-10


def test_mazur_weights_only_step_through_fit_with_frozen_biases():
    net, x, y, lr = builtin_example("mazur")
    net.train_biases = False
    net.fit([x], [y], epochs=1, batch_size=1, lr=lr, seed=0)
    assert abs(net.cost([x], [y]) - MAZUR_AFTER) < 5e-10
    np.testing.assert_array_equal(net.biases[0], [0.35, 0.35])


def test_mazur_weights_only_step_through_the_command():
    proc = run("explain", "--builtin", "mazur", "--freeze-biases", "--precision", "9")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "C = 0.291027774 (before: 0.298371109)" in out
    assert "Updated: the weights only; not updated (frozen): the biases of layers 1, 2" in out
    assert "0.350000000 (frozen)" in out and "w ← w − η ∂C/∂w" in out
    plain = run("explain", "--builtin", "mazur", "--precision", "9")
    assert "C = 0.280471447 (before: 0.298371109)" in plain.stdout
    assert "frozen" not in plain.stdout


# Mazur's network as he draws it, one bias per layer shared by its neurons (the shared-bias
# example): the same forward pass, and BP3 summed over the layer:
#   ∂C/∂b1 = δ_h1 + δ_h2 = 0.00877135468948693 + 0.009954254705217196,
#   b1 = 0.35 − 0.5 · 0.018725609394704126 = 0.3406371953026479
#   ∂C/∂b2 = δ_o1 + δ_o2 = 0.13849856162855695 − 0.038098236516556236,
#   b2 = 0.60 − 0.5 · 0.10040032511200071 = 0.5497998374439996
# and the cost after the step (weights as in the weights-only step) 0.2857508866992965.
def test_shared_bias_example_moves_each_bias_by_the_sum_of_its_layer_errors():
    net, x, y, lr = builtin_example("shared-bias")
    assert net.bias_modes == ["shared", "shared"]
    trace = explain(net, x, y, lr)
    assert abs(trace.cost - 0.2983711087600027) < 1e-12
    assert abs(trace.param("b^1").new_value - 0.3406371953026479) < 1e-12
    assert abs(trace.param("b^2").new_value - 0.5497998374439996) < 1e-12
    assert abs(trace.param("w^2_11").new_value - 0.35891647971788465) < 1e-12
    assert abs(trace.cost_after - 0.2857508866992965) < 1e-12
    assert abs(explain(net, x, y, lr, freeze_biases=True).cost_after - MAZUR_AFTER) < 5e-10
    text = render(trace, "text", 9)
    assert "Σⱼ δ¹ⱼ = 0.008771355 + 0.009954255 = 0.018725609" in text
    assert "One bias b¹ shared by every neuron of layer 1." in text


# --------------------------------------------------------------------------- no biases
# The one-hidden-layer network without biases (the no-bias example): inputs x = (1, 0.5),
# W_ij^1 from input i to hidden j = [[0.1, 0.3, −0.2], [0.4, −0.1, 0.2]], W^2 = (0.5, −0.3, 0.2),
# Φ = tanh, linear output, d = 1, α = 0.1. By the derivation's own formulas:
#   h'_j = Σ_i x_i W_ij = (0.30000000000000004, 0.25, −0.1)
#   h_j = tanh(h'_j) = (0.2913126124515909, 0.24491866240370913, −0.09966799462495582)
#   y = Σ_i h_i W_i = 0.052247108579691545;  E = ½(d − y)² = 0.44911777159777755
#   W_i^2 + α(d − y)h_i = (0.5276092370758199, −0.276787762954409, 0.19055393699121345)
#   Φ'_j = 1 − h_j² = (0.9151369618266292, 0.940014848806378, 0.9900662908474398)
#   W_ij^1 + α(d − y)W_j^2 Φ'_j x_i = [[0.14336618508083923, 0.2732729462719719,
#       −0.1812332362030312], [0.42168309254041964, −0.11336352686401403, 0.20938338189848443]]
#   E after the step = 0.3997481633586923
NB_H = [0.2913126124515909, 0.24491866240370913, -0.09966799462495582]
NB_Y, NB_E, NB_E_AFTER = 0.052247108579691545, 0.44911777159777755, 0.3997481633586923
NB_W2 = [0.5276092370758199, -0.276787762954409, 0.19055393699121345]
NB_W1_SEED = [[0.14336618508083923, 0.2732729462719719, -0.1812332362030312],
              [0.42168309254041964, -0.11336352686401403, 0.20938338189848443]]  # fmt: skip


def test_no_bias_example_reproduces_the_hand_computed_step():
    net, x, y, lr = builtin_example("no-bias")
    assert net.bias_modes == ["none", "none"] and net.num_parameters == 9
    trace = explain(net, x, y, lr)
    np.testing.assert_allclose([n.a for n in trace.samples[0].forward[0].neurons], NB_H, atol=1e-15)
    assert all(n.bias is None for lf in trace.samples[0].forward for n in lf.neurons)
    assert abs(trace.samples[0].forward[1].neurons[0].a - NB_Y) < 1e-15
    assert abs(trace.cost - NB_E) < 1e-15
    np.testing.assert_allclose(trace.new_weights[1][0], NB_W2, rtol=0, atol=1e-15)
    # the textbook's w^1_ji is the derivation's W_ij: compare with the transpose
    np.testing.assert_allclose(trace.new_weights[0], np.array(NB_W1_SEED).T, rtol=0, atol=1e-15)
    assert abs(trace.cost_after - NB_E_AFTER) < 1e-15
    assert all(step.biases == [] for step in trace.steps)
    assert gradient_table(net, x, y).max_error < 1e-7


def test_no_bias_example_through_the_command():
    proc = run("explain", "--builtin", "no-bias", "--precision", "9")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert (
        "Layer 1 has no bias" in out and "Updated: the weights only; no bias in layers 1, 2" in out
    )
    assert "C = 0.449117772" in out and "C = 0.399748163 (before: 0.449117772)" in out
    assert "b¹" not in out and "b²" not in out


# --------------------------------------------------------------------------- example files
def test_example_files_take_bias_modes_and_frozen_biases(tmp_path):
    spec = json.loads(Path(builtin_example_path("mazur")).read_text())
    spec.update(bias=["shared", True], biases=[0.35, [0.6, 0.6]], train_biases=False)
    net, x, y, lr = load_example(spec)
    assert net.bias_modes == ["shared", "neuron"] and net.train_biases == [False, False]
    trace = explain(net, x, y, lr)  # the network's own frozen biases stay put
    assert abs(trace.cost_after - MAZUR_AFTER) < 5e-10
    path = tmp_path / "frozen.json"
    path.write_text(json.dumps(spec))
    proc = run("explain", str(path), "--precision", "9")
    assert "C = 0.291027774" in proc.stdout, proc.stderr


@pytest.mark.parametrize(
    "changes, words",
    [
        ({"bias": "shared"}, r"biases\[0\] has 2 entries; expected 1 for one bias shared"),
        ({"bias": [False, True]}, r"biases\[0\] is \[0.35, 0.35\] but layer 1 has no bias"),
        ({"bias": "sometimes"}, "bias='sometimes' is invalid"),
        ({"train_biases": 3}, "train_biases=3 is invalid"),
    ],
)
def test_bad_bias_keys_in_an_example_are_named(changes, words):
    spec = json.loads(Path(builtin_example_path("mazur")).read_text())
    spec.update(changes)
    with pytest.raises(DeltapropError, match=words):
        load_example(spec)


def test_an_example_without_biases_needs_bias_false():
    spec = json.loads(Path(builtin_example_path("mazur")).read_text())
    del spec["biases"]
    with pytest.raises(DeltapropError, match="missing key 'biases'.*bias = false"):
        load_example(spec)
    spec["bias"] = False
    assert load_example(spec).net.bias_modes == ["none", "none"]


@pytest.mark.parametrize("fmt", ["text", "markdown", "latex", "html"])
def test_a_batch_with_shared_frozen_and_absent_biases_renders_in_every_format(fmt):
    net = _net(["shared", False, True], train_biases=[True, True, False])
    rng = np.random.default_rng(8)
    trace = explain(net, rng.normal(size=(2, 4)), rng.uniform(size=(2, 3)), 0.5)
    p = trace.param("b^1")
    assert p.j is None and len(p.contributions) == 2
    assert abs(p.explicit - p.grad) < 1e-15
    out = render(trace, fmt, 6)
    assert "frozen" in out and "no bias" in out
    assert math.isfinite(trace.cost_after)


def test_nudge_and_the_command_on_a_saved_model_with_frozen_and_absent_biases(tmp_path):
    net, x, y, _ = builtin_example("no-bias")
    assert abs(nudge(net, x, y, layer=1, neuron=2, delta=1e-6).ratio - 1) < 1e-4
    net = _net(["shared", False, True], train_biases=[False, True, True])
    net.save(tmp_path / "m.npz")
    proc = run("explain", "--model", str(tmp_path / "m.npz"), "--input", "0.1,0.2,0.3,0.4",
               "--target", "0.2,0.5,0.9", "--format", "markdown")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "not updated (frozen): the biases of layer 1; no bias in layer 2" in proc.stdout
    assert "| b¹ |" in proc.stdout and "(frozen)" in proc.stdout


def test_the_weights_only_step_in_a_terminal(tmp_path):
    """What a person sees in an 80-column terminal (rich's drawing, emulated by pyte)."""
    pytest.importorskip("pyte")
    from test_cli_terminal import Terminal

    term = Terminal(["explain", "--builtin", "mazur", "--freeze-biases", "--precision", "9"],
                    tmp_path)  # fmt: skip
    assert term.finish() == 0
    screen = " ".join(" ".join(term.lines()).split())
    assert "b¹₁ 0.350000000 δ¹₁ = 0.008771355 0.350000000 (frozen)" in screen
    assert "after the step: C = 0.291027774 (before: 0.298371109); weights only" in screen
    assert "\x1b[" in term.raw.decode()  # drawn by rich, with its styles


# --------------------------------------------------------------------------- the command
def _train_cli(capsys, *args):
    from deltaprop.cli import run as cli_run

    code = cli_run(["train", "--epochs", "2", "-q", *map(str, args)])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_train_bias_sets_the_mode_per_layer(tmp_path, capsys):
    model = tmp_path / "m.npz"
    code, _, err = _train_cli(capsys, "--bias", "shared-none", "--out", model)
    assert code == 0, err
    from deltaprop.cli import run as cli_run

    assert cli_run(["train", "--bias", "shared-none", "--epochs", "1"]) == 0
    title = capsys.readouterr().out.splitlines()[0]
    assert title.startswith("deltaprop: training 64-30-10 (sigmoid/sigmoid, quadratic cost; "
                            "biases: layer 1 one shared, layer 2 none) on digits")  # fmt: skip
    net = dp.load(model)
    assert net.bias_modes == ["shared", "none"] and [b.shape for b in net.biases] == [(1,), (0,)]
    # the output is σ(σ(x W¹ᵀ + b¹) W²ᵀ), computed here by hand: no bias enters layer 2
    X = np.random.default_rng(0).random((3, 64))
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    by_hand = sig(sig(X @ net.weights[0].T + net.biases[0][0]) @ net.weights[1].T)
    np.testing.assert_allclose(net.forward(X), by_hand, rtol=1e-5)
    code, _, err = _train_cli(capsys, "--bias", "none", "--out", model)
    assert code == 0, err
    assert dp.load(model).bias_modes == ["none", "none"]


@pytest.mark.parametrize(
    "value, why",
    [("per", "'per' is not a mode"), ("shared-none-none", "it names 3 layers, not 2")],
)
def test_train_bias_refuses_a_bad_value_naming_it(capsys, value, why):
    code, _, err = _train_cli(capsys, "--bias", value)
    assert code == 2
    assert f"--bias {value} is invalid: {why}; expected one of neuron, shared, none" in err


def test_train_says_when_a_shared_bias_cannot_learn(capsys):
    code, _, err = _train_cli(
        capsys, "--bias", "shared", "--output-activation", "softmax", "--loss", "cross_entropy"
    )
    assert code == 0, err
    assert "warning: layer 2's shared bias has no effect: softmax" in err


def test_train_bias_has_no_effect_with_resume(tmp_path, capsys):
    ck = tmp_path / "ck.npz"
    assert _train_cli(capsys, "--checkpoint", ck)[0] == 0
    code, _, err = _train_cli(capsys, "--resume", ck, "--epochs", "4", "--bias", "none")
    assert code == 2 and "--bias none has no effect with --resume" in err
