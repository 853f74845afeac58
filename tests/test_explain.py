"""Tests of deltaprop.explain: traces, renderers, the nudge test, gradient tables, example files.

The two worked examples below carry numbers derived outside this code: Matt Mazur's published
step-by-step example, and a ReLU/softmax network worked by hand in the comments.
"""

import html.parser
import json
import math
import re
import subprocess
import sys

import numpy as np
import pytest

from deltaprop import Network, _render, losses
from deltaprop._render import Alt, Sym, parse_markup
from deltaprop.activations import ACTIVATIONS
from deltaprop.explain import (
    FORMATS,
    GradientTable,
    NudgeResult,
    Trace,
    builtin_example,
    builtin_example_path,
    builtin_examples,
    explain,
    gradient_table,
    load_example,
    nudge,
    nudge_series,
    param_name,
    parse_nudge,
    render,
    to_rich,
)

MAZUR_SPEC = {
    "sizes": [2, 2, 2],
    "activation": "sigmoid",
    "loss": "quadratic",
    "weights": [[[0.15, 0.20], [0.25, 0.30]], [[0.40, 0.45], [0.50, 0.55]]],
    "biases": [[0.35, 0.35], [0.60, 0.60]],
    "input": [0.05, 0.10],
    "target": [0.01, 0.99],
    "learning_rate": 0.5,
}


def digits(value, printed: str):
    """value agrees with the printed number to every digit printed (rounded the same way)."""
    decimals = len(printed.split(".")[1]) if "." in printed else 0
    assert f"{value:.{decimals}f}" == printed, f"{value!r} does not print as {printed}"


# ---------------------------------------------------------------------------- Mazur's example
@pytest.fixture
def mazur():
    net, x, y, lr = builtin_example("mazur")
    return net, x, y, lr, explain(net, x, y, lr)


def test_mazur_forward_and_cost(mazur):
    # Mazur: net_h1 = 0.3775, out_h1 = 0.593269992, out_h2 = 0.596884378,
    # net_o1 = 1.105905967, out_o1 = 0.75136507, out_o2 = 0.772928465,
    # E_o1 = 0.274811083, E_o2 = 0.023560026, E_total = 0.298371109.
    *_, t = mazur
    s = t.samples[0]
    h, o = s.forward
    digits(h.neurons[0].z, "0.3775")
    digits(h.neurons[0].a, "0.593269992")
    digits(h.neurons[1].a, "0.596884378")
    digits(o.neurons[0].z, "1.105905967")
    digits(o.neurons[0].a, "0.75136507")
    digits(o.neurons[1].a, "0.772928465")
    digits(s.cost_terms[0].value, "0.274811083")
    digits(s.cost_terms[1].value, "0.023560026")
    digits(t.cost, "0.298371109")
    digits(s.cost, "0.298371109")
    assert [term.factor for term in h.neurons[0].terms] == [0.15, 0.20]
    assert [term.value for term in h.neurons[0].terms] == [0.05, 0.10]
    assert h.neurons[0].bias == 0.35


def test_mazur_deltas_and_gradients(mazur):
    # Mazur: dE/dout_o1 = 0.74136507, dout_o1/dnet_o1 = 0.186815602, so delta_o1 = 0.138498562
    # and dE/dw5 = 0.082167041; dE_total/dout_h1 = 0.036350306 (BP2's sum with the old
    # output weights), dout_h1/dnet_h1 = 0.241300709, dE/dw1 = 0.000438568.
    *_, t = mazur
    out, hid = t.samples[0].backward
    assert out.rule == "BP1" and out.l == 2 and hid.rule == "BP2" and hid.l == 1
    digits(out.neurons[0].dC_da, "0.74136507")
    digits(out.neurons[0].sigma_prime, "0.186815602")
    digits(out.neurons[0].delta, "0.138498562")
    digits(hid.neurons[0].weighted_sum, "0.036350306")
    assert [term.factor for term in hid.neurons[0].terms] == [0.40, 0.50]  # w^2_11, w^2_21
    digits(hid.neurons[0].sigma_prime, "0.241300709")
    digits(t.param("w^2_11").grad, "0.082167041")
    digits(t.param("w^1_11").grad, "0.000438568")


def test_mazur_updated_weights(mazur):
    # Mazur's w5..w8 are w^2_11, w^2_12, w^2_21, w^2_22 and w1..w4 are w^1_11 .. w^1_22.
    *_, t = mazur
    for name, printed in [
        ("w^2_11", "0.35891648"),
        ("w^2_12", "0.408666186"),
        ("w^2_21", "0.511301270"),
        ("w^2_22", "0.561370121"),
        ("w^1_11", "0.149780716"),
        ("w^1_12", "0.19956143"),
        ("w^1_21", "0.24975114"),
        ("w^1_22", "0.29950229"),
    ]:
        digits(t.param(name).new_value, printed)
    digits(t.new_weights[1][0, 0], "0.35891648")


def test_mazur_rendered_digits(mazur):
    *_, t = mazur
    text = render(t, precision=9)
    for printed in [
        "0.298371109",
        "0.751365070",
        "0.772928465",
        "0.593269992",
        "0.138498562",
        "0.036350306",
        "0.082167041",
        "0.358916480",
        "0.408666186",
        "0.511301270",
        "0.561370121",
        "0.149780716",
        "0.000438568",
        "w²₁₂",
        "δ²₁",
        "z¹ⱼ",
    ]:
        assert printed in text, printed
    text8 = render(t, precision=8)
    assert "0.75136507" in text8 and "0.35891648" in text8 and "0.75136507 " in text8 + " "
    assert "0.298371109" not in text8 and "0.29837111" in text8


def test_mazur_from_dict_equals_builtin_file():
    a = explain(*load_example(MAZUR_SPEC))
    b = explain(*builtin_example("mazur"))
    assert a.to_dict() == b.to_dict()
    assert "mazur" in builtin_examples() and builtin_example_path("mazur").suffix == ".json"


# ---------------------------------------------------------------------------- a second example
# ReLU hidden layer (one dead unit), softmax output, cross-entropy (fused), worked by hand:
#   x = (1, 2); W^1 = [[0.5, -0.25], [-1, 0.25]], b^1 = (0.5, 0)
#   z^1_1 = 0.5*1 - 0.25*2 + 0.5 = 0.5;  z^1_2 = -1*1 + 0.25*2 + 0 = -0.5 (dead: a = 0, σ' = 0)
#   a^1 = (0.5, 0);  W^2 = [[2, 1], [0, -1]], b^2 = (0, 0)
#   z^2 = (2*0.5 + 1*0, 0*0.5 - 1*0) = (1, 0)
#   a^2 = (e/(e+1), 1/(e+1)) = (0.731058579, 0.268941421) with e = 2.718281828
#   y = (0, 1): C = -ln a^2_2 = ln(1 + e) = ln 3.718281828 = 1.313261688
#   δ^2 = a - y = (0.731058579, -0.731058579)                        (fused pair)
#   BP2 sums: Σ_k w^2_k1 δ^2_k = 2*0.731058579 + 0*(-0.731058579) = 1.462117157
#             Σ_k w^2_k2 δ^2_k = 1*0.731058579 + (-1)*(-0.731058579) = 1.462117157
#   δ^1 = (1.462117157 * 1, 1.462117157 * 0) = (1.462117157, 0)
#   BP4: ∂C/∂w^2_11 = a^1_1 δ^2_1 = 0.5*0.731058579 = 0.365529289, ∂C/∂w^2_21 = -0.365529289,
#        ∂C/∂w^2_12 = ∂C/∂w^2_22 = 0 (a^1_2 = 0); ∂C/∂w^1_11 = 1*1.462117157,
#        ∂C/∂w^1_12 = 2*1.462117157 = 2.924234315, row 2 of ∂C/∂W^1 = 0 (δ^1_2 = 0).
#   η = 0.1: w^2_11 = 2 - 0.0365529289 = 1.963447071, w^2_21 = 0 + 0.0365529289 = 0.036552929,
#            b^2 = (-0.073105858, 0.073105858), w^1_11 = 0.5 - 0.1462117157 = 0.353788284,
#            w^1_12 = -0.25 - 0.2924234315 = -0.542423431, b^1_1 = 0.353788284, rest unchanged.
def test_relu_softmax_by_hand():
    net, x, y, lr = builtin_example("relu-softmax")
    assert lr == 0.1
    t = explain(net, x, y, lr)
    s = t.samples[0]
    assert [n.z for n in s.forward[0].neurons] == [0.5, -0.5]
    assert [n.a for n in s.forward[0].neurons] == [0.5, 0.0]
    assert [n.z for n in s.forward[1].neurons] == [1.0, 0.0]
    digits(s.forward[1].neurons[0].a, "0.731058579")
    digits(s.forward[1].neurons[1].a, "0.268941421")
    digits(t.cost, "1.313261688")
    out, hid = s.backward
    assert out.rule == "fused" and t.output_rule == "fused"
    digits(out.neurons[0].delta, "0.731058579")
    digits(out.neurons[1].delta, "-0.731058579")
    digits(hid.neurons[0].weighted_sum, "1.462117157")
    digits(hid.neurons[1].weighted_sum, "1.462117157")
    assert [n.sigma_prime for n in hid.neurons] == [1.0, 0.0]
    digits(hid.neurons[0].delta, "1.462117157")
    assert hid.neurons[1].delta == 0.0
    expected = {  # name: (∂C/∂θ, θ − η ∂C/∂θ)
        "w^2_11": ("0.365529289", "1.963447071"),
        "w^2_12": ("0.000000000", "1.000000000"),
        "w^2_21": ("-0.365529289", "0.036552929"),
        "w^2_22": ("0.000000000", "-1.000000000"),
        "b^2_1": ("0.731058579", "-0.073105858"),
        "b^2_2": ("-0.731058579", "0.073105858"),
        "w^1_11": ("1.462117157", "0.353788284"),
        "w^1_12": ("2.924234315", "-0.542423431"),
        "w^1_21": ("0.000000000", "-1.000000000"),
        "w^1_22": ("0.000000000", "0.250000000"),
        "b^1_1": ("1.462117157", "0.353788284"),
        "b^1_2": ("0.000000000", "0.000000000"),
    }
    for name, (grad, new) in expected.items():
        digits(abs(t.param(name).grad) if grad.startswith("0.0000") else t.param(name).grad, grad)
        digits(t.param(name).new_value, new)
    text = render(t, precision=9)
    for printed in [
        "1.313261688",
        "0.731058579",
        "-0.731058579",
        "1.462117157",
        "2.924234315",
        "1.963447071",
        "-0.542423431",
        "fused",
    ]:
        assert printed in text, printed
    assert t.param("w^2_22").grad == 0 and "-0.000000000" not in text


def test_no_negative_zeros():
    r = NudgeResult(
        layer=1,
        neuron=1,
        delta=1e-3,
        cost_before=-1e-9,
        cost_after=-0.0,
        delta_cost=1e-9,
        error=1e-6,
        predicted=1e-9,
        ratio=-4e-7,
    )
    for fmt in FORMATS:
        doc = render(r, fmt, precision=6)
        assert "-0.000000" not in doc and doc.count("0.000000") >= 3


def test_nudge_by_hand_relu_softmax():
    # Nudging z^1_1 by Δ: a^1_1 = 0.5 + Δ, z^2 = (1 + 2Δ, 0), C = ln(1 + e^{1+2Δ}).
    net, x, y, _ = builtin_example("relu-softmax")
    for d in (1e-1, 1e-3):
        r = nudge(net, x, y, 1, 1, d)
        assert r.cost_after == pytest.approx(math.log1p(math.exp(1 + 2 * d)), rel=1e-14)
        assert r.delta_cost == pytest.approx(
            math.log1p(math.exp(1 + 2 * d)) - math.log1p(math.e), rel=1e-9
        )
        digits(r.error, "1.462117157")
    # The dead unit: z^1_2 = -0.5 stays negative, nothing changes, δ = 0, the ratio is undefined.
    r = nudge(net, x, y, 1, 2, 1e-3)
    assert r.delta_cost == 0.0 and r.error == 0.0 and math.isnan(r.ratio)
    assert "nan" in render(r)


# ---------------------------------------------------------------------------- against backprop
CASES = [
    ([3, 4, 2], "sigmoid", "sigmoid", "quadratic"),
    ([3, 4, 2], "tanh", "identity", "mse"),
    ([3, 4, 3], "relu", "softmax", "cross_entropy"),
    ([3, 4, 2], "leaky_relu", "sigmoid", "binary_cross_entropy"),
    ([3, 4, 3], "softplus", "softmax", "quadratic"),
    ([2, 3, 3, 2], "swish", "tanh", "quadratic"),
    ([3, 2], "sigmoid", "identity", "quadratic"),
]


def _random_net_and_data(sizes, act, out, loss, m, rng):
    net = Network(
        sizes, activation=act, output_activation=out, loss=loss, seed=int(rng.integers(1e6))
    )
    net.biases = [rng.normal(size=n) for n in sizes[1:]]
    X = rng.normal(size=(m, sizes[0]))
    if loss == "cross_entropy":
        Y = np.eye(sizes[-1])[rng.integers(sizes[-1], size=m)]
    elif loss == "binary_cross_entropy" or out == "sigmoid":
        Y = rng.uniform(size=(m, sizes[-1]))
    else:
        Y = rng.normal(size=(m, sizes[-1])) * (0.5 if out == "tanh" else 1)
        if out == "tanh":
            Y = np.clip(Y, -0.9, 0.9)
    return net, X, Y


def _close(a, b):
    assert a == pytest.approx(b, rel=1e-12, abs=1e-14)


@pytest.mark.parametrize("m", [1, 3])
@pytest.mark.parametrize("sizes,act,out,loss", CASES)
def test_trace_equals_backprop(sizes, act, out, loss, m, rng):
    net, X, Y = _random_net_and_data(sizes, act, out, loss, m, rng)
    theta, state = net.get_flat(), net.rng.bit_generator.state
    lr = 0.3
    t = explain(net, X, Y, lr)
    g = net.backprop(X, Y)
    L = net.num_layers
    assert np.array_equal(net.get_flat(), theta) and net.rng.bit_generator.state == state
    assert t.cost == g.cost and len(t.samples) == m
    _close(float(np.mean([s.cost for s in t.samples])), t.cost)
    expected_rule = "fused" if out in net.loss.fused else "jacobian" if out == "softmax" else "BP1"
    assert t.output_rule == expected_rule
    for s in t.samples:
        i = s.index - 1
        assert s.x == X[i].tolist()
        _close(math.fsum(c.value for c in s.cost_terms), s.cost)
        for lf in s.forward:
            for n in lf.neurons:
                assert n.z == g.zs[lf.l - 1][i, n.j - 1]
                assert n.a == g.activations[lf.l][i, n.j - 1]
                assert [tm.factor for tm in n.terms] == net.weights[lf.l - 1][n.j - 1].tolist()
                _close(n.explicit, n.z)
        assert [lb.l for lb in s.backward] == list(range(L, 0, -1))
        for lb in s.backward:
            for n in lb.neurons:
                assert n.delta == g.deltas[lb.l - 1][i, n.j - 1]
                _close(n.explicit, n.delta)
                if lb.rule == "BP2":
                    _close(math.fsum(tm.product for tm in n.terms), n.weighted_sum)
                    assert [tm.value for tm in n.terms] == g.deltas[lb.l][i].tolist()
                elif lb.rule == "jacobian":
                    a = g.activations[-1][i]
                    jac = [tm.factor for tm in n.terms]  # ∂a_i/∂z_j = a_i(1[i=j] − a_j)
                    ref = [a[k] * ((k == n.j - 1) - a[n.j - 1]) for k in range(len(a))]
                    np.testing.assert_allclose(jac, ref, rtol=1e-12, atol=1e-15)
    for step in t.steps:
        l = step.l - 1
        assert len(step.weights) == net.weights[l].size and len(step.biases) == net.sizes[l + 1]
        for p in step.weights:
            assert p.grad == g.weights[l][p.j - 1, p.k - 1]
            assert p.new_value == net.weights[l][p.j - 1, p.k - 1] - lr * p.grad
            assert p.name == param_name("w", step.l, p.j, p.k)
            _close(p.explicit, p.grad)
        for p in step.biases:
            assert p.grad == g.biases[l][p.j - 1]
            assert p.new_value == net.biases[l][p.j - 1] - lr * p.grad
            _close(p.explicit, p.grad)
    after = net.copy()
    after.weights, after.biases = t.new_weights, t.new_biases
    _close(t.cost_after, after.cost(X, Y))
    json.loads(json.dumps(t.to_dict()))


def test_apply_writes_the_step(rng):
    net, X, Y = _random_net_and_data([3, 4, 2], "tanh", "sigmoid", "quadratic", 2, rng)
    t = explain(net, X, Y, lr=0.7, apply=True)
    assert t.applied
    for W, new in zip(net.weights, t.new_weights):
        np.testing.assert_array_equal(W, new)
    assert net.cost(X, Y) == pytest.approx(t.cost_after, rel=1e-12)


def test_float32_network_traces(rng):
    net = Network([2, 3, 2], dtype="float32", seed=3)
    t = explain(net, [0.3, -0.1], [0.2, 0.9])
    assert t.cost == net.backprop([0.3, -0.1], [0.2, 0.9]).cost
    assert isinstance(t.samples[0].forward[0].neurons[0].z, float)


def test_explain_bad_arguments():
    net, x, y, lr = builtin_example("mazur")
    with pytest.raises(ValueError, match="max_samples=8"):
        explain(net, np.zeros((9, 2)), np.zeros((9, 2)))
    with pytest.raises(ValueError, match="max_parameters=2000"):
        explain(Network([784, 30, 10], seed=0), np.zeros(784), np.zeros(10))
    with pytest.raises(ValueError, match="lr=-1"):
        explain(net, x, y, lr=-1)
    with pytest.raises(TypeError, match="Network"):
        explain("net", x, y)
    with pytest.raises(ValueError, match="x has 3 columns"):
        explain(net, [1, 2, 3], y)
    with pytest.raises(KeyError, match="w\\^3_11"):
        explain(net, x, y).param("w^3_11")


# ---------------------------------------------------------------------------- the nudge test
@pytest.mark.parametrize("layer,neuron", [(1, 1), (1, 2), (2, 1), (2, 2)])
def test_nudge_ratio_tends_to_one(layer, neuron):
    net, x, y, _ = builtin_example("mazur")
    theta = net.get_flat()
    results = nudge_series(net, x, y, layer, neuron, deltas=[1e-1, 1e-2, 1e-3, 1e-4, 1e-5])
    errors = [abs(r.ratio - 1) for r in results]
    assert all(a > b for a, b in zip(errors, errors[1:])), errors
    assert errors[-1] < 1e-3
    assert 5 < errors[2] / errors[3] < 20  # first-order: the error shrinks like Δ
    trace = explain(net, x, y)
    delta = trace.samples[0].backward[2 - layer].neurons[neuron - 1].delta
    assert results[2].error == delta and results[2].predicted == delta * 1e-3
    assert results[2].cost_before == trace.cost
    assert np.array_equal(net.get_flat(), theta)


def test_nudge_batch_and_negative_delta(rng):
    net, X, Y = _random_net_and_data([3, 4, 3, 2], "tanh", "sigmoid", "quadratic", 4, rng)
    for d in (1e-4, -1e-4):
        r = nudge(net, X, Y, 2, 3, d)
        assert r.samples == 4 and abs(r.ratio - 1) < 1e-2
    r = nudge(net, X, Y, 2, 3, 1e-6)
    assert r.error == pytest.approx(net.backprop(X, Y).biases[1][2], rel=1e-12)  # mean δ = ∂C/∂b
    assert abs(r.ratio - 1) < 1e-4


@pytest.mark.parametrize(
    "kwargs,message",
    [
        (dict(layer=0, neuron=1), "layer=0 is out of range; expected an integer from 1 to 2"),
        (dict(layer=3, neuron=1), "layer=3 is out of range"),
        (dict(layer=True, neuron=1), "layer=True"),
        (dict(layer=1, neuron=3), "neuron=3 is out of range; expected an integer from 1 to 2"),
        (dict(layer=1, neuron=1, delta=0), "delta=0 is invalid"),
        (dict(layer=1, neuron=1, delta=float("nan")), "delta=nan"),
    ],
)
def test_nudge_bad_arguments(kwargs, message):
    net, x, y, _ = builtin_example("mazur")
    with pytest.raises(ValueError, match=re.escape(message)):
        nudge(net, x, y, **kwargs)


def test_nudge_prints():
    net, x, y, _ = builtin_example("mazur")
    r = nudge(net, x, y, 1, 2, 1e-3)
    text = str(r)
    assert isinstance(r, NudgeResult)
    assert "z¹₂" in text and "δ¹₂" in text and f"{r.ratio:.6f}" in text
    assert f"{r.delta_cost:.6e}" in text and f"{r.cost_before:.6f}" in text


# ---------------------------------------------------------------------------- gradient table
def test_gradient_table_rows():
    net, x, y, _ = builtin_example("mazur")
    table = gradient_table(net, x, y)
    g = net.backprop(x, y)
    assert isinstance(table, GradientTable) and len(table.rows) == net.num_parameters
    assert [r.name for r in table.rows[:6]] == [
        "w^1_11",
        "w^1_12",
        "w^1_21",
        "w^1_22",
        "b^1_1",
        "b^1_2",
    ]
    row = next(r for r in table.rows if r.name == "w^2_12")
    assert row.backprop == g.weights[1][0, 1]
    assert row.numerical == pytest.approx(row.backprop, rel=1e-8) and row.rel_diff < 1e-8
    assert table.max_error < 1e-7
    text = str(table)
    assert "w²₁₂" in text and f"{row.backprop:.6f}" in text
    assert param_name("w", 3, 12, 4) == "w^3_12,4"


# ---------------------------------------------------------------------------- renderers
class _Checker(html.parser.HTMLParser):
    VOID = {"meta", "br", "img", "hr", "link", "input"}

    def __init__(self):
        super().__init__()
        self.stack, self.errors, self.tags = [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack.pop() != tag:
            self.errors.append(tag)


def _check_html(doc):
    assert doc.startswith("<!DOCTYPE html>")
    p = _Checker()
    p.feed(doc)
    p.close()
    assert not p.errors and not p.stack, (p.errors, p.stack)
    return p.tags


def _check_latex(doc):
    assert doc.isascii() and "?" not in doc
    body = doc.replace("\\\\", "").replace("\\{", "").replace("\\}", "")
    depth = 0
    for c in body:
        depth += {"{": 1, "}": -1}.get(c, 0)
        assert depth >= 0
    assert depth == 0
    assert re.findall(r"\\begin\{(\w+)\}", doc) == re.findall(r"\\end\{(\w+)\}", doc)[
        ::-1
    ] or sorted(re.findall(r"\\begin\{(\w+)\}", doc)) == sorted(re.findall(r"\\end\{(\w+)\}", doc))
    assert doc.count("$") % 2 == doc.count("\\$") % 2
    assert doc.rstrip().endswith("\\end{document}")


def _check_markdown(doc):
    for block in doc.split("\n\n"):
        lines = block.strip().splitlines()
        if lines and lines[0].startswith("|"):
            widths = {len(re.findall(r"(?<!\\)\|", line)) for line in lines}
            assert len(widths) == 1, block


def _objects():
    net, x, y, lr = builtin_example("mazur")
    return [
        explain(net, x, y, lr),
        nudge(net, x, y, 1, 1),
        nudge_series(net, x, y, 2, 2),
        gradient_table(net, x, y),
    ]


@pytest.mark.parametrize("fmt", FORMATS)
def test_renderers_well_formed(fmt):
    for obj in _objects():
        doc = render(obj, fmt, precision=4)
        assert len(doc) > 200
        if fmt == "html":
            assert "table" in _check_html(doc)
        elif fmt == "latex":
            _check_latex(doc)
        elif fmt == "markdown":
            _check_markdown(doc)
            assert doc.startswith("# ")


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("precision", [2, 6, 9])
def test_renderers_print_the_digits(fmt, precision):
    net, x, y, lr = builtin_example("mazur")
    t = explain(net, x, y, lr)
    doc = render(t, fmt, precision=precision)
    for v in (
        t.cost,
        t.param("w^2_11").new_value,
        t.samples[0].backward[1].neurons[1].delta,
        t.samples[0].forward[1].neurons[1].a,
    ):
        assert f"{v:.{precision}f}" in doc
    assert f"{t.cost:.{precision + 1}f}" not in doc


def test_batch_trace_renders_each_sample(rng):
    net, X, Y = _random_net_and_data([3, 4, 3], "relu", "softmax", "quadratic", 3, rng)
    t = explain(net, X, Y)
    text = render(t, width=160)
    assert "Sample 3" in text and "mean(" in text and "softmax Jacobian" in text
    assert f"{t.cost:.6f}" in text
    _check_html(render(t, "html"))
    _check_latex(render(t, "latex"))
    _check_markdown(render(t, "markdown"))


def test_names_are_escaped():
    class Odd(losses.Quadratic):
        name = "odd<&>_{loss}$"

    net = Network([2, 2], activation="sigmoid", loss=Odd(), seed=0)
    t = explain(net, [0.1, 0.2], [0.3, 0.4])
    doc = render(t, "html")
    _check_html(doc)
    assert "odd&lt;&amp;&gt;_{loss}$" in doc and "odd<&>" not in doc
    tex = render(t, "latex")
    _check_latex(tex)
    assert r"odd\textless{}\&\textgreater{}\_\{loss\}\$" in tex
    assert "`odd<&>_{loss}$`" in render(t, "markdown")


def test_render_bad_arguments():
    net, x, y, lr = builtin_example("mazur")
    t = explain(net, x, y, lr)
    for p in (-1, 18, 2.5, True):
        with pytest.raises(ValueError, match="precision="):
            render(t, precision=p)
    with pytest.raises(ValueError, match="format='pdf' is unknown"):
        render(t, "pdf")
    with pytest.raises(TypeError, match="cannot render"):
        render({"a": 1})
    assert render(t, "md") == render(t, "markdown") and t.render("tex") == render(t, "latex")
    assert isinstance(t, Trace) and "sizes=[2, 2, 2]" in repr(t)


def test_narrow_text_keeps_numbers_whole():
    net, x, y, lr = builtin_example("mazur")
    t = explain(net, x, y, lr)
    text = render(t, width=72)
    assert max(len(line) for line in text.splitlines()) <= 72
    for step in t.steps:
        for p in step.weights + step.biases:
            assert f"{p.grad:.6f}" in text and f"{p.new_value:.6f}" in text, p.name


def test_to_rich_prints_through_a_console():
    import io

    from rich.console import Console

    net, x, y, lr = builtin_example("mazur")
    buf = io.StringIO()
    Console(file=buf, width=120, color_system=None).print(to_rich(explain(net, x, y, lr), 9))
    assert "0.298371109" in buf.getvalue() and "w²₁₁" in buf.getvalue()


def test_parse_nudge():
    assert parse_nudge("2,1") == (2, 1, None)
    assert parse_nudge(" 1, 2, -1e-4 ") == (1, 2, -1e-4)
    for bad in ("2", "a,1", "1,2,3,4", "1,2,x", "1,2,0", "1.5,2"):
        with pytest.raises(ValueError, match="nudge="):
            parse_nudge(bad)


def test_import_stays_numpy_only():
    # ``deltaprop.explain`` is also the top-level function, so the module is taken from
    # sys.modules.
    code = (
        "import sys, deltaprop, importlib; e = importlib.import_module('deltaprop.explain'); "
        "net, x, y, lr = e.builtin_example(); "
        "e.explain(net, x, y, lr); e.nudge(net, x, y, 1, 1); "
        "assert 'rich' not in sys.modules, 'rich imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# ---------------------------------------------------------------------------- example files
def _toml(spec):
    def val(v):
        if isinstance(v, str):
            return json.dumps(v)
        if isinstance(v, list):
            return "[" + ", ".join(val(i) for i in v) + "]"
        return repr(v)

    return "\n".join(f"{k} = {val(v)}" for k, v in spec.items()) + "\n"


def test_toml_file_and_aliases(tmp_path):
    spec = dict(MAZUR_SPEC)
    spec["x"], spec["y"] = spec.pop("input"), spec.pop("target")
    spec["lr"] = spec.pop("learning_rate")
    del spec["sizes"]  # inferred from the weights
    spec["activation"] = ["sigmoid", "sigmoid"]  # one per layer, output included
    path = tmp_path / "mazur.toml"
    path.write_text(_toml(spec))
    t = explain(*load_example(path))
    assert t.to_dict() == explain(*load_example(MAZUR_SPEC)).to_dict()
    spec2 = dict(MAZUR_SPEC, activation=["tanh"], output_activation="sigmoid")
    net = load_example(spec2).net
    assert [a.name for a in net.layer_activations] == ["tanh", "sigmoid"]
    batch = dict(MAZUR_SPEC, input=[[0.05, 0.1], [0.2, 0.3]], target=[[0.01, 0.99], [1, 0]])
    assert len(explain(*load_example(batch)).samples) == 2
    labels = dict(MAZUR_SPEC, input=[[0.05, 0.1], [0.2, 0.3]], target=[1, 0])
    np.testing.assert_array_equal(load_example(labels).y, [[0, 1], [1, 0]])


def _mutate(**changes):
    spec = json.loads(json.dumps(MAZUR_SPEC))
    for key, value in changes.items():
        if value is None:
            del spec[key]
        else:
            spec[key] = value
    return spec


BAD_SPECS = [
    (_mutate(weights=None), "missing key 'weights'; expected a list of per-layer weight matrices"),
    (_mutate(target=None), "missing key 'target'"),
    (
        _mutate(weights=[[[0.15, 0.2], [0.25, 0.3]], [[0.4, 0.45, 0.1], [0.5, 0.55, 0.1]]]),
        "weights[1] has shape (2, 3); expected (2, 2) for sizes [2, 2, 2]",
    ),
    (
        _mutate(weights=[[[0.15, 0.2], [0.25, 0.3]]]),
        "weights has 1 matrices; expected 2 (one per layer after the input) for sizes [2, 2, 2]",
    ),
    (
        _mutate(weights=[[[0.15, 0.2], [0.25, "x"]], [[0.4, 0.45], [0.5, 0.55]]]),
        "weights[0][1][1] is 'x'; expected a number",
    ),
    (
        _mutate(weights=[[[0.15, 0.2], [0.25]], [[0.4, 0.45], [0.5, 0.55]]]),
        "weights[0][1] has 1 entries; expected 2 entries like weights[0][0]",
    ),
    (
        _mutate(weights=[[0.15, 0.2], [0.4, 0.45]]),
        "weights[0] has shape (2,); expected a list of lists",
    ),
    (
        _mutate(biases=[[0.35, 0.35, 0.35], [0.6, 0.6]]),
        "biases[0] has 3 entries; expected 2 for sizes [2, 2, 2]",
    ),
    (_mutate(biases=[[0.35, 0.35]]), "biases has 1 vectors; expected a list of 2 vectors"),
    (_mutate(biases=[[0.35, True], [0.6, 0.6]]), "biases[0][1] is True; expected a number"),
    (_mutate(activation="sigmod"), "activation: activation='sigmod' is unknown; expected one of"),
    (_mutate(activation=["relu", "sigmod"]), "activation[1]: activation='sigmod' is unknown"),
    (
        _mutate(activation=["relu", "tanh", "sigmoid"]),
        "activation has 3 names; expected 2 (one per layer, output included)",
    ),
    (_mutate(activation=["softmax", "softmax"]), "softmax normalises a whole layer"),
    (_mutate(loss="hinge"), "loss='hinge' is unknown; expected one of"),
    (_mutate(activation="identity", loss="cross_entropy"), "loss/activation: loss='cross_entropy'"),
    (_mutate(input=[0.05, 0.1, 0.2]), "input has 3 columns (features) but the network's input"),
    (_mutate(input="0.05"), "input is '0.05'; expected a number"),
    (
        _mutate(target=[0.01]),
        "target has 1 entries; expected 2 (one per output neuron) for sizes [2, 2, 2]",
    ),
    (
        _mutate(input=[[0.05, 0.1], [0.2, 0.3]], target=[[0.01, 0.99, 0]] * 2),
        "target has shape (2, 3); expected (2, 2)",
    ),
    (_mutate(learning_rate="fast"), "learning_rate is 'fast'; expected a number >= 0"),
    (_mutate(learning_rate=-0.5), "learning_rate is -0.5"),
    (
        _mutate(sizes=[2, 0, 2]),
        "sizes is [2, 0, 2]; expected a list of at least 2 positive integers",
    ),
    (_mutate(sizes=[2, 3, 2]), "weights[0] has shape (2, 2); expected (3, 2) for sizes [2, 3, 2]"),
    (dict(_mutate(), weigths=1), "unknown key 'weigths' (did you mean 'weights'?)"),
    (dict(_mutate(), x=[1, 2]), "keys 'input' and 'x' both given"),
]


@pytest.mark.parametrize("spec,message", BAD_SPECS)
def test_malformed_examples(spec, message, tmp_path):
    with pytest.raises(ValueError) as info:
        load_example(spec)
    assert message in str(info.value) and "\n" not in str(info.value)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(spec))
    with pytest.raises(ValueError) as info:
        load_example(path)
    assert str(info.value).startswith("bad.json: ") and message in str(info.value)


@pytest.mark.parametrize(
    "name,text,message",
    [
        ("bad.json", '{"weights": [1, 2,]}', "bad.json: invalid JSON: Expecting value at line 1"),
        ("bad.toml", "weights = [[1, 2]\nbiases = 3\n", "bad.toml: invalid TOML:"),
        ("list.json", "[1, 2]", "list.json: the top level is a list; expected an object"),
        ("mazur.cfg", json.dumps(MAZUR_SPEC), None),  # sniffed as JSON
        (
            "nan.json",
            json.dumps(_mutate(input=[float("nan"), 0.1])),
            "nan.json: input[0] is nan; expected a finite number",
        ),
    ],
)
def test_example_file_syntax(name, text, message, tmp_path):
    path = tmp_path / name
    path.write_text(text)
    if message is None:
        assert load_example(path).lr == 0.5
        return
    with pytest.raises(ValueError) as info:
        load_example(path)
    assert str(info.value).startswith(message) and "\n" not in str(info.value)


def test_builtin_unknown_and_missing_file(tmp_path):
    with pytest.raises(ValueError, match="example 'nope' is unknown; expected one of: mazur"):
        builtin_example("nope")
    with pytest.raises(FileNotFoundError):
        load_example(tmp_path / "missing.json")
    with pytest.raises(TypeError, match="source=42"):
        load_example(42)


# ---------------------------------------------------------------------------- the parts' text
@pytest.mark.parametrize(
    "markup, parts",
    [
        ("a^{L}_{j} − y_{j}", [Sym("a", "L", "j"), " − ", Sym("y", "", "j")]),
        ("x_{i}^{2}", [Sym("x", "2", "i")]),  # either order, one base
        ("C_{x} = ½ Σ_{j}", [Sym("C", "", "x"), " = ½ ", Sym("Σ", "", "j")]),
        ("e^{z_{j}}", [Sym("e", "z_{j}")]),  # nested: parsed again where drawn
        ("(a − y)^{2}", ["(a − y)", Sym("", "2")]),  # no letter before: no base
        ("ln(1 − a_{j})", [Alt("ln", r"\ln"), "(1 − ", Sym("a", "", "j"), ")"]),
        ("σ′(z) = tanh z", ["σ′(z) = ", Alt("tanh", r"\tanh"), " z"]),
        ("a_{j", ["a_{j"]),  # unmatched brace: plain text
        ("a_j^2", ["a_j^2"]),  # scripts need braces
        ("", []),
    ],
)
def test_parse_markup(markup, parts):
    assert parse_markup(markup) == parts


def test_formula_substitutions_and_backends():
    (f,) = _render.formula("C_{x} = Σ_{j} a^{L}_{j}", r"C_x = \sum_j a^L_j", layer=3)
    assert _render._inline_unicode([f]) == "Cₓ = Σⱼ a³ⱼ"
    assert _render._inline_latex([f]) == r"$C_x = \sum_j a^{3}_j$"
    (g,) = _render.formula("−y_{j}/a_{j}", r"-\frac{y_j}{a_j}", rename=("j", "i"))
    assert _render._inline_unicode([g]) == "−yᵢ/aᵢ" and g.latex == r"-\frac{y_i}{a_i}"
    (h,) = _render.formula("a_{j} = e^{z_{j}}")  # no LaTeX text: the markup as math
    assert _render._inline_unicode([h]) == "aⱼ = e^{zⱼ}"
    assert (
        _render._inline_html([h])
        == "<i>a</i><sub>j</sub> = <i>e</i><sup><i>z</i><sub>j</sub></sup>"
    )
    assert _render._inline_latex([h]).replace(" ", "") == "$a_{j}=e^{z_{j}}$"
    assert _render._inline_unicode(_render.formula("e^{−z}")) == "e^{−z}"  # no ᶻ: kept as markup
    assert _render.formula("", "x") == []


def _part_net(act_name):
    act = ACTIVATIONS[act_name]()
    hidden = act if act.elementwise else "sigmoid"
    return Network([2, 2, 2], activation=hidden, output_activation=act, loss="quadratic", seed=0)


@pytest.mark.parametrize("name", sorted(n for n, cls in ACTIVATIONS.items() if cls.name == n))
def test_every_activation_formula_renders(name):
    net = _part_net(name)
    act = net.output_activation
    t = explain(net, [0.3, -0.2], [0.1, 0.4])
    assert t.activation_text[-1]["derivative_formula"] == act.derivative_formula
    text, html, latex = render(t), render(t, "html"), render(t, "latex")
    lead = act.derivative_formula.split("_{")[0].split("^{")[0]
    assert lead and lead in text
    assert act.derivative_latex in latex and latex.isascii() and "?" not in latex
    assert "_{" not in html and "^{" not in html
    _check_html(html)
    _check_latex(latex)


@pytest.mark.parametrize(
    "name, shown",
    [
        ("sigmoid", "activation sigmoid: σ′(z) = a(1 − a)."),
        ("tanh", "activation tanh: σ′(z) = 1 − a²."),
        ("softplus", "activation softplus: σ′(z) = 1/(1 + e^{−z})."),
        ("softmax", "becomes its Jacobian, ∂aᵢ/∂zⱼ = aᵢ(δᵢⱼ − aⱼ), and the error"),
    ],
)
def test_activation_formula_text(name, shown):
    t = explain(_part_net(name), [0.3, -0.2], [0.1, 0.4])
    assert shown in " ".join(render(t, width=400).split())


@pytest.mark.parametrize(
    "loss, out, shown",
    [
        (
            "quadratic",
            "sigmoid",
            ["Cₓ = ½ Σⱼ (aᴸⱼ − yⱼ)² with L = 2", "½(aⱼ − yⱼ)²", "∂C/∂aⱼ = aⱼ − yⱼ;"],
        ),
        (
            "mse",
            "identity",
            ["Cₓ = (1/n) Σⱼ (aᴸⱼ − yⱼ)² with L = 2", "(aⱼ − yⱼ)²/n", "= 2(aⱼ − yⱼ)/n;"],
        ),
        (
            "binary_cross_entropy",
            "sigmoid",
            [
                "Cₓ = −Σⱼ [yⱼ ln aᴸⱼ + (1 − yⱼ) ln(1 − aᴸⱼ)] with L = 2",
                "−[yⱼ ln aⱼ + (1 − yⱼ) ln(1 − aⱼ)]",
            ],
        ),
        ("cross_entropy", "softmax", ["Cₓ = −Σⱼ yⱼ ln aᴸⱼ with L = 2", "−yⱼ ln aⱼ"]),
        ("binary_cross_entropy", "softmax", ["with ∂C/∂aᵢ = (aᵢ − yᵢ)/(aᵢ(1 − aᵢ)) (loss"]),
    ],
)
def test_loss_formula_text(loss, out, shown):
    net = Network([2, 2, 2], activation="tanh", output_activation=out, loss=loss, seed=0)
    t = explain(net, [0.3, -0.2], [0.0, 1.0])
    text = " ".join(render(t, width=400).split())
    for s in shown:
        assert s in text, s
    latex = render(t, "latex")
    assert net.loss.formula_latex in latex  # the output layer written L, "with L = 2" after
    _check_latex(latex)


def test_fused_output_error_text():
    # binary cross-entropy keeps Loss.fused_delta, a − y; cross-entropy's is a Σy − y and says
    # so; a subclass that redefines fused_delta without its text shows no formula.
    t = explain(Network([2, 2], activation="sigmoid", loss="bce", seed=0), [0.1, 0.2], [0, 1])
    assert "Output error (BP1, fused): δ¹ⱼ = a¹ⱼ − yⱼ" in render(t)

    class Undocumented(losses.CrossEntropy):
        def fused_delta(self, a, y, out=None):
            return super().fused_delta(a, y, out)

    for loss, heading in [
        (Undocumented(), "Output error (BP1, fused)\n"),
        (losses.CrossEntropy(), "Output error (BP1, fused): δ¹ⱼ = a¹ⱼ Σₖ yₖ − yⱼ\n"),
    ]:
        net = Network([2, 2], activation="softmax", loss=loss, seed=0)
        text = render(explain(net, [0.1, 0.2], [0.0, 2.0]))
        assert heading in text and "computes δ¹ directly" in text


def test_explicit_fused_error_checks_the_fusion():
    # The fused error's explicit value is BP1's unfused product: it agrees for a correct
    # fusion and exposes a loss that declares one it does not have.
    class WronglyFused(losses.Quadratic):
        name = "wrongly_fused"
        fused = frozenset({"sigmoid"})  # quadratic + sigmoid is not δ = a − y

        def fused_value(self, z, y):
            return self.value(1.0 / (1.0 + np.exp(-z)), y)

    for loss, agrees in [("bce", True), (WronglyFused(), False)]:
        net = Network([2, 3, 2], activation="sigmoid", loss=loss, seed=4)
        t = explain(net, [0.5, -0.4], [0.2, 0.9])
        out = t.samples[0].backward[0]
        assert out.rule == "fused"
        same = [n.explicit == pytest.approx(n.delta, rel=1e-12) for n in out.neurons]
        assert all(same) if agrees else not any(same)
        for n in out.neurons:
            assert n.explicit == pytest.approx(n.dC_da * n.sigma_prime, rel=1e-15)


def test_trace_classes_live_in_trace_and_are_reexported():
    import deltaprop.trace as trace_mod

    explain_mod = sys.modules["deltaprop.explain"]
    for name in trace_mod.__all__:
        assert getattr(explain_mod, name) is getattr(trace_mod, name), name
        assert name in explain_mod.__all__
    net, x, y, lr = builtin_example("mazur")
    t = explain(net, x, y, lr)
    assert str(t) == render(t) and t.render("html") == render(t, "html")
    assert str(t.samples[0].cost_terms[0]).startswith("CostTerm(j=1")  # data: its repr


def test_imports_run_one_way():
    # trace → _render (lazily, for render()/str()), explain → trace and _render; _render imports
    # neither explain nor trace, so no cycle runs through them (functions' imports included).
    import ast
    from pathlib import Path

    import deltaprop

    root = Path(deltaprop.__file__).parent
    imports = {}
    for mod in ("explain", "_render", "trace", "diagnostics"):
        deps = set()
        for node in ast.walk(ast.parse((root / f"{mod}.py").read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                deps |= {node.module} if node.module else {a.name for a in node.names}
        imports[mod] = deps
    assert imports["trace"] <= {"_render"}
    assert not imports["_render"] & {"explain", "trace", "diagnostics"}
    assert not imports["diagnostics"] & {"explain", "trace", "_render"}
    assert {"trace", "_render"} <= imports["explain"]
