"""User-defined parts, defined only here: an activation or a loss is one subclass, and the
whole library (backprop, gradcheck, the training kernel, explain, diagnostics) takes it as is.

Cube: σ(z) = z³, σ′ = 3z² from z; no saturation. Softsign: σ(z) = z/(1 + |z|), σ′ = (1 − |a|)²
from a, saturating with max σ′ = 1 at z = 0. Quartic: C_x = ¼ Σ_j (a_j − y_j)⁴, ∇_a C_x =
(a − y)³. Arctan and Bare: an activation and a loss with no formula text at all.
"""

import numpy as np
import pytest

import deltaprop
from deltaprop import Network, activations, losses
from deltaprop._kernel import Workspace
from deltaprop.diagnostics import record
from deltaprop.explain import explain, render


class Cube(activations.Activation):
    name = "cube"
    formula, derivative_formula = "σ(z) = z³", "σ′(z) = 3z²"
    forward_calls_into_buffers = 0  # calls with out=: the kernel's fast forms

    def forward(self, z, out=None):
        if out is not None:
            type(self).forward_calls_into_buffers += 1
        return np.power(z, 3, out=out)

    def derivative(self, z, a):
        return 3.0 * z * z


class Softsign(activations.Activation):
    name = "softsign"
    formula = "σ(z) = z/(1 + |z|)"
    derivative_formula = "σ′(z) = (1 − |a|)²"
    derivative_latex = r"\sigma'(z) = (1 - |a|)^2"
    max_derivative = 1.0  # σ′(0)

    def forward(self, z, out=None):
        result = z / (1.0 + np.abs(z))
        if out is None:
            return result
        np.copyto(out, result)
        return out

    def derivative(self, z, a):
        return (1.0 - np.abs(a)) ** 2


class Quartic(losses.Loss):
    name = "quartic"
    formula = "C_{x} = ¼ Σ_{j} (a^{L}_{j} − y_{j})⁴"
    share_formula = "¼(a_{j} − y_{j})⁴"
    gradient_formula = "(a_{j} − y_{j})³"
    formula_latex = r"C_x = \tfrac{1}{4} \sum_j (a^L_j - y_j)^4"

    def value(self, a, y):
        return 0.25 * ((a - y) ** 4).sum(axis=1)

    def gradient(self, a, y):
        return (a - y) ** 3

    def shares(self, a, y):
        return 0.25 * (a - y) ** 4


class Arctan(activations.Activation):
    name = "arctan"  # and no formula text

    def forward(self, z, out=None):
        return np.arctan(z, out=out)

    def derivative(self, z, a):
        return 1.0 / (1.0 + z * z)


class Bare(losses.Loss):
    name = "bare"

    def value(self, a, y):
        return 0.5 * ((a - y) ** 2).sum(axis=1)

    def gradient(self, a, y):
        return a - y


def _net(hidden=None, output=None, loss=None, sizes=(3, 4, 2), seed=0):
    return Network(
        list(sizes),
        activation=hidden or Cube(),
        output_activation=output or Softsign(),
        loss=loss or Quartic(),
        seed=seed,
    )


def _data(rng, m=5, n_in=3, n_out=2):
    return rng.uniform(-0.8, 0.8, (m, n_in)), rng.uniform(-0.9, 0.9, (m, n_out))


def _flat_backprop(net, X, Y):
    """Backprop's gradient laid out like ``net.parameters``."""
    g = net.backprop(X, Y)
    flat = np.empty_like(net.parameters)
    gW, gb = net.parameter_views(flat)
    for l in range(net.num_layers):
        gW[l][...] = g.weights[l]
        gb[l][...] = g.biases[l]
    return flat


def _kernel_gradient(net, X, Y):
    ws = Workspace(net, X.shape[0])
    ws.X[...] = X
    ws.Y[...] = Y
    ws.forward()
    ws.backward()
    return ws


# ---------------------------------------------------------------------- the engine
@pytest.mark.parametrize(
    "hidden, output", [(Cube, Softsign), (Softsign, Cube), (Softsign, activations.Sigmoid)]
)
def test_gradcheck_passes(hidden, output, rng):
    net = _net(hidden(), output(), sizes=(3, 4, 3, 2))
    # Biases keep every z away from 0, where softsign's σ″ jumps and a central difference
    # of step ε is only first-order accurate.
    net.biases = [np.full(n, 0.5) for n in net.sizes[1:]]
    X, Y = _data(rng)
    report = deltaprop.gradcheck(net, X, Y)
    assert report.max_error < 1e-7, str(report)
    # and the cost really is the user's: ¼ Σ (a − y)⁴ averaged over the samples
    a = net.forward(X)
    assert net.cost(X, Y) == pytest.approx(np.mean(0.25 * ((a - Y) ** 4).sum(axis=1)), rel=1e-14)


@pytest.mark.parametrize("m", [1, 4])
def test_kernel_gradient_equals_backprop(m, rng):
    net = _net(sizes=(3, 5, 4, 2))
    X, Y = _data(rng, m=m)
    ws = _kernel_gradient(net, X, Y)
    np.testing.assert_allclose(ws.A[-1], net.forward(X), rtol=0, atol=1e-15)
    expected = _flat_backprop(net, X, Y)
    assert np.abs(expected).max() > 1e-3  # a gradient worth comparing
    np.testing.assert_allclose(ws.grad, expected, rtol=1e-12, atol=1e-15)


def test_fit_takes_the_fast_path_and_the_backprop_step(rng):
    net = _net()
    X, Y = _data(rng, m=6)
    eta = 0.3
    expected = net.parameters - eta * _flat_backprop(net, X, Y)
    Cube.forward_calls_into_buffers = 0
    net.fit(X, Y, epochs=1, batch_size=6, lr=eta, shuffle=False, train_metrics=False)
    # The kernel calls the generic fast form, σ written into its buffer, once per batch.
    assert Cube.forward_calls_into_buffers >= 1
    np.testing.assert_allclose(net.parameters, expected, rtol=0, atol=1e-13)


class SteepSigmoid(activations.Sigmoid):
    """σ(z) = 1/(1 + e^{−2z}): a Sigmoid subclass with its own σ and σ′ = 2a(1 − a)."""

    name = "steep_sigmoid"

    def forward(self, z, out=None):
        return super().forward(2.0 * z, out=out)

    def derivative(self, z, a):
        return 2.0 * a * (1.0 - a)


def test_subclass_with_its_own_forward_does_not_inherit_fast_forms(rng):
    net = Network([3, 4, 2], activation=SteepSigmoid(), loss="quadratic", seed=1)
    X, Y = _data(rng, m=4)
    ws = _kernel_gradient(net, X, Y)
    # Sigmoid's four-call fast form would give 1/(1 + e^{−z}) here, not the subclass's σ.
    np.testing.assert_allclose(ws.A[-1], net.forward(X), rtol=0, atol=1e-15)
    plain = Network([3, 4, 2], activation="sigmoid", loss="quadratic", seed=1)
    plain.parameters[...] = net.parameters
    assert np.abs(ws.A[-1] - plain.forward(X)).max() > 1e-2
    # σ′ = 2a(1 − a), not Sigmoid's a(1 − a): the whole gradient is the subclass's
    np.testing.assert_allclose(ws.grad, _flat_backprop(net, X, Y), rtol=1e-12, atol=1e-15)
    assert deltaprop.gradcheck(net, X, Y).max_error < 1e-7


# ---------------------------------------------------------------------- explain
def test_explain_shows_the_parts_and_their_formulas(rng):
    net = _net()
    X, Y = _data(rng, m=1)
    t = explain(net, X[0], Y[0], 0.1)
    text = t.render("text")
    for name in ("cube", "softsign", "quartic"):
        assert name in text, name
    for shown in (
        "Cₓ = ¼ Σⱼ (aᴸⱼ − yⱼ)⁴ with L = 2",  # the loss's formula, L named as the output layer 2
        "¼(aⱼ − yⱼ)⁴",  # the share column's heading
        "∂C/∂aⱼ = (aⱼ − yⱼ)³",
        "activation softsign: σ′(z) = (1 − |a|)²",
        "Activation cube: σ′(z) = 3z²",
    ):
        assert shown in text, shown
    assert t.output_rule == "BP1"
    s = t.samples[0]
    # the shares are the loss's own, and add up to the cost
    a = net.forward(X[0])
    values = [c.value for c in s.cost_terms]
    np.testing.assert_allclose(values, 0.25 * (a - Y[0]) ** 4, rtol=1e-14)
    assert sum(values) == pytest.approx(s.cost, rel=1e-12)
    for lb in s.backward:
        for n in lb.neurons:
            assert n.explicit == pytest.approx(n.delta, rel=1e-12, abs=1e-15)
    out = s.backward[0].neurons[0]
    assert out.dC_da == pytest.approx((a[0] - Y[0, 0]) ** 3, rel=1e-14)
    assert out.sigma_prime == pytest.approx((1 - abs(a[0])) ** 2, rel=1e-14)


def test_explain_renders_every_format(rng):
    net = _net()
    X, Y = _data(rng, m=2)
    t = explain(net, X, Y)
    latex = render(t, "latex")
    assert latex.isascii() and "?" not in latex
    # LaTeX takes the part's own text where it has one, else writes the markup as math
    assert r"$C_x = \tfrac{1}{4} \sum_j (a^L_j - y_j)^4$ with $L = 2$" in latex
    assert r"\sigma'(z) = (1 - |a|)^2" in latex
    assert r"\sigma'(z) = 3z^{2}" in latex
    html = render(t, "html")
    assert "<i>a</i><sup>2</sup><sub>j</sub>" in html and "quartic" in html
    assert "_{" not in html and "^{" not in html
    md = render(t, "markdown")
    assert "`quartic`" in md and "¼(aⱼ − yⱼ)⁴" in md


def test_parts_without_formula_text_render_by_name(rng):
    net = _net(hidden=Arctan(), output=Arctan(), loss=Bare())
    X, Y = _data(rng, m=1)
    t = explain(net, X, Y)
    assert t.loss_text["formula"] == "" and t.activation_text[1]["derivative_formula"] == ""
    assert all(c.value is None for c in t.samples[0].cost_terms)  # the loss gives no shares
    for fmt in ("text", "markdown", "latex", "html"):
        doc = render(t, fmt)
        assert "bare" in doc and "arctan" in doc, fmt
    text = render(t)
    assert "loss bare; learning rate" in text  # no formula after the name
    assert "activation arctan." in text and "Activation arctan." in text  # σ′ has no text
    assert "∂C/∂aⱼ =" not in text  # nor ∇_a C
    assert "share of" not in text and f"C = {t.samples[0].cost:.6f}" in text
    assert all(
        n.explicit == pytest.approx(n.delta, rel=1e-12) for n in t.samples[0].backward[0].neurons
    )


# ---------------------------------------------------------------------- diagnostics
def test_diagnostics_ask_the_activation():
    # One input x = 1 and weights w = (0, 5, 20, −20) give z = w: Softsign's σ′ = (1 − |a|)²
    # = 1/(1 + |z|)² is below 0.01 · max σ′ = 0.01 for |z| > 9, so 2 of 4 units saturate.
    net = _net(hidden=Softsign(), output=Cube(), sizes=(1, 4, 1))
    net.weights = [np.array([[0.0], [5.0], [20.0], [-20.0]]), np.zeros((1, 4))]
    net.biases = [np.zeros(4), np.zeros(1)]
    rec = record(net, np.ones((1, 1)), np.zeros((1, 1)))
    assert rec["activations"] == ["softsign", "cube"]
    assert rec["saturated"] == [0.5, None]  # Cube declares no max_derivative
    assert rec["dead"] == [None, None]  # neither can die
    assert all(type(v) is float for v in rec["grad_w_norm"])
