"""Backpropagation against central finite differences, over every activation × loss pair that
makes sense, several depths and batch sizes; and the gradient checker itself."""

import zlib

import numpy as np
import pytest

import deltaprop
from conftest import HIDDEN, OUTPUTS, PAIRS, targets
from deltaprop import Network, activations, gradcheck, losses
from deltaprop.gradcheck import numerical_gradient

TOL = 1e-7

HIDDEN_WIDTHS = [4, 3, 5]


def test_pairs_cover_the_registries():
    assert len(HIDDEN) == 7 and "softmax" not in HIDDEN
    assert len(PAIRS) == 2 * len(OUTPUTS) + 4
    assert {loss for _, loss in PAIRS} == set(losses.LOSSES)


def well_posed_net(sizes, hidden, output, loss, m, seed, tries=300):
    """A network and a batch on which a finite-difference check to 1e-7 is meaningful.

    Parameters, inputs and targets are redrawn until
    - every weighted input satisfies |z| ≥ 1e-3, so no step of ±ε crosses a ReLU kink;
    - every tensor's largest gradient entry is at least 2e-3 · max(1, C). Rounding in the
      cost makes a central difference wrong by about k · ε_mach · C / ε (measured on these
      networks: up to 3.4e-10 · C at ε = 1e-5), and the error is taken relative to each
      tensor's own largest gradient, so a vanishing gradient (a deep sigmoid stack, ReLU
      outputs that are all dead) would measure rounding noise rather than backprop.
    """
    rng = np.random.default_rng(seed)
    for _ in range(tries):
        net = Network(
            sizes,
            activation=hidden,
            output_activation=output,
            loss=loss,
            init="scaled_normal",
            seed=rng,
        )
        for b in net.biases:
            b[...] = 0.5 * rng.standard_normal(b.shape)
        X = rng.normal(size=(m, sizes[0]))
        Y = targets(loss, rng, m, sizes[-1])
        g = net.backprop(X, Y)
        if min(np.abs(z).min() for z in g.zs) < 1e-3:
            continue
        smallest = min(np.abs(t).max() for t in [*g.weights, *g.biases])
        if smallest >= 2e-3 * max(1.0, g.cost):
            return net, X, Y
    raise AssertionError(
        f"no well-posed draw for {sizes} {hidden}/{output}/{loss} in {tries} tries"
    )


@pytest.mark.parametrize("m", [1, 3, 7])
@pytest.mark.parametrize("depth", [1, 2, 3])
@pytest.mark.parametrize("output, loss", PAIRS, ids=[f"{o}-{l}" for o, l in PAIRS])
@pytest.mark.parametrize("hidden", HIDDEN)
def test_backprop_matches_finite_differences(hidden, output, loss, depth, m):
    sizes = [3, *HIDDEN_WIDTHS[:depth], 3]
    seed = zlib.crc32(f"{hidden}-{output}-{loss}-{depth}-{m}".encode())
    net, X, Y = well_posed_net(sizes, hidden, output, loss, m, seed)
    report = gradcheck(net, X, Y)
    assert set(report.errors) == {f"{k}{l}" for l in range(1, depth + 2) for k in "Wb"}
    assert report.max_error <= TOL, str(report)
    # the check compares something: no tensor's gradient is zero
    assert min(np.abs(g).max() for g in report.analytic.values()) > 0


@pytest.mark.parametrize(
    "spec",
    [
        {"name": "leaky_relu", "alpha": 0.2},
        {"name": "leaky_relu", "alpha": 1.5},
        {"name": "swish", "beta": 2.5},
        {"name": "swish", "beta": 0.4},
    ],
    ids=lambda s: f"{s['name']}-{list(s.values())[1]}",
)
@pytest.mark.parametrize("where", ["hidden", "output"])
def test_parametrised_activations(spec, where):
    act = activations.get(dict(spec))
    hidden, output = (act, "identity") if where == "hidden" else ("tanh", act)
    net, X, Y = well_posed_net([3, 4, 4, 2], hidden, output, "quadratic", 5, 11)
    assert max(gradcheck(net, X, Y).errors.values()) <= TOL


@pytest.mark.parametrize(
    "output, loss",
    [
        ("softmax", "cross_entropy"),
        ("sigmoid", "binary_cross_entropy"),
        ("softmax", "quadratic"),
        ("identity", "mse"),
    ],
)
def test_one_activation_per_hidden_layer(output, loss):
    net, X, Y = well_posed_net([4, 5, 3, 4, 3], ["tanh", "relu", "swish"], output, loss, 6, 3)
    assert gradcheck(net, X, Y).max_error <= TOL


def test_softmax_cross_entropy_with_class_labels(rng):
    net, X, _ = well_posed_net([3, 5, 4], "sigmoid", "softmax", "cross_entropy", 7, 5)
    labels = rng.integers(0, 4, 7)
    report = gradcheck(net, X, labels)
    assert report.max_error <= TOL
    # labels and their one-hot rows give the same gradient
    onehot = np.eye(4)[labels]
    for key, g in gradcheck(net, X, onehot).analytic.items():
        np.testing.assert_array_equal(report.analytic[key], g)


def test_wide_output_and_input():
    net, X, Y = well_posed_net([9, 6, 8], "tanh", "softmax", "cross_entropy", 4, 8)
    assert gradcheck(net, X, Y).max_error <= TOL


# --------------------------------------------------------------------------- the checker itself
def test_numerical_gradient_of_a_one_weight_network():
    # a = w x + b, C = ½(a − y)²: with w = 2, b = 0.5, x = 3, y = 1: a = 6.5, a − y = 5.5,
    # ∂C/∂w = 5.5 · 3 = 16.5, ∂C/∂b = 5.5
    net = Network([1, 1], activation="identity", loss="quadratic")
    net.weights[0] = [[2.0]]
    net.biases[0] = [0.5]
    g = numerical_gradient(net, [[3.0]], [[1.0]])
    np.testing.assert_allclose(g, [16.5, 5.5], rtol=1e-9)
    report = gradcheck(net, [[3.0]], [[1.0]])
    np.testing.assert_allclose(report.analytic["W1"], [[16.5]], rtol=1e-15)
    np.testing.assert_allclose(report.analytic["b1"], [5.5], rtol=1e-15)
    np.testing.assert_allclose(report.numerical["W1"], [[16.5]], rtol=1e-9)


def test_numerical_gradient_is_laid_out_like_get_flat():
    net, X, Y = well_posed_net([2, 3, 2], "tanh", "identity", "quadratic", 3, 1)
    g = numerical_gradient(net, X, Y)
    grads = net.backprop(X, Y)
    flat = np.concatenate([w.ravel() for w in grads.weights] + list(grads.biases))
    assert g.shape == net.get_flat().shape
    np.testing.assert_allclose(g, flat, rtol=1e-6, atol=1e-9)


def test_report_contents_and_printing():
    net, X, Y = well_posed_net([3, 4, 2], "tanh", "sigmoid", "binary_cross_entropy", 3, 2)
    # ε ≈ ε_mach^(1/3) ≈ 1e-5 balances truncation (ε²) and rounding (ε_mach · C / ε)
    assert gradcheck(net, X, Y).eps == 1e-5
    report = gradcheck(net, X, Y, eps=1e-4)
    assert isinstance(report, deltaprop.GradcheckReport)
    assert list(report.errors) == ["W1", "b1", "W2", "b2"]
    assert report.max_error == max(report.errors.values())
    assert report.eps == 1e-4
    for key, shape in (("W1", (4, 3)), ("b1", (4,)), ("W2", (2, 4)), ("b2", (2,))):
        assert report.numerical[key].shape == shape == report.analytic[key].shape
    text = str(report)
    assert "eps=0.0001" in text and "overall" in text
    for key in report.errors:
        assert key in text
    assert report.passed() and report.passed(1e-7)
    assert not report.passed(0.0) or report.max_error == 0.0


def test_relative_error_is_scaled_by_the_tensor():
    from deltaprop.gradcheck import _relative_error

    num = np.array([1.0, 2.0, -4.0])
    ana = np.array([1.0, 2.0, -4.0 + 4e-6])
    assert _relative_error(num, ana) == pytest.approx(1e-6, rel=1e-9)
    assert _relative_error(np.zeros(3), np.zeros(3)) == 0.0
    assert _relative_error(np.zeros(0), np.zeros(0)) == 0.0


def test_parameters_restored_after_check():
    net, X, Y = well_posed_net([3, 4, 2], "relu", "softmax", "cross_entropy", 3, 4)
    before = net.get_flat()
    out_before = net.forward(X)
    gradcheck(net, X, Y)
    np.testing.assert_array_equal(net.get_flat(), before)
    np.testing.assert_array_equal(net.forward(X), out_before)


class _WrongTanh(activations.Tanh):
    """tanh with σ' = 1 − a instead of 1 − a²: a deliberately broken backward pass."""

    def derivative(self, z, a):
        return 1.0 - a


class _WrongQuadratic(losses.Quadratic):
    """½‖y − a‖² with the gradient doubled."""

    def gradient(self, a, y):
        return 2.0 * (a - y)


def test_detects_a_wrong_activation_derivative():
    net, X, Y = well_posed_net([3, 4, 2], _WrongTanh(), "identity", "quadratic", 4, 6)
    report = gradcheck(net, X, Y)
    assert report.max_error > 1e-2
    assert not report.passed()
    # the output layer does not involve σ' of the hidden layer: only W1, b1 are wrong
    assert report.errors["W2"] <= TOL and report.errors["b2"] <= TOL
    assert report.errors["W1"] > 1e-2


def test_detects_a_wrong_loss_gradient():
    net, X, Y = well_posed_net([3, 4, 2], "tanh", "identity", "quadratic", 4, 6)
    net.loss = _WrongQuadratic()
    report = gradcheck(net, X, Y)
    # every gradient is doubled: the relative error is |g − 2g| / |2g| = 1/2 on every tensor
    for err in report.errors.values():
        assert err == pytest.approx(0.5, rel=1e-5)


@pytest.mark.parametrize("eps", [0, -1e-6, float("nan"), "small"])
def test_invalid_eps(eps):
    net = Network([2, 2], seed=0)
    with pytest.raises(ValueError, match=r"eps=.*expected a finite number > 0"):
        gradcheck(net, [[0.1, 0.2]], [[0.0, 1.0]], eps=eps)


def test_bad_data_is_rejected_before_checking():
    net = Network([2, 2], seed=0)
    with pytest.raises(ValueError, match="X has 3 columns"):
        gradcheck(net, [[0.1, 0.2, 0.3]], [[0.0, 1.0]])
    with pytest.raises(ValueError, match=r"Y has shape \(2, 2\); expected \(1, 2\)"):
        gradcheck(net, [[0.1, 0.2]], [[0.0, 1.0], [1.0, 0.0]])
